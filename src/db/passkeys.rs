//! Passkeys as stored (each credential as JSON), and the ceremonies under way (a challenge's
//! state, taken once).

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::DbConnection;
use super::schema::{passkey_ceremonies, passkeys};
use crate::auth::secret;
use crate::error::AppError;

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = passkeys)]
pub struct StoredPasskey {
    pub id: i64,
    pub user_id: i64,
    pub user_handle: String,
    pub credential_id: String,
    pub credential: String,
    pub name: String,
    pub created_at: NaiveDateTime,
    pub last_used_at: Option<NaiveDateTime>,
}

pub fn of_user(conn: &mut DbConnection, user_id: i64) -> Result<Vec<StoredPasskey>, AppError> {
    Ok(passkeys::table
        .filter(passkeys::user_id.eq(user_id))
        .order(passkeys::id)
        .select(StoredPasskey::as_select())
        .load(conn)?)
}

/// How many passkeys the user has.
pub fn count_of(conn: &mut DbConnection, user_id: i64) -> Result<i64, AppError> {
    Ok(passkeys::table.filter(passkeys::user_id.eq(user_id)).count().get_result(conn)?)
}

/// Whether any user has a passkey with this credential id.
pub fn credential_taken(conn: &mut DbConnection, credential_id: &str) -> Result<bool, AppError> {
    let n: i64 = passkeys::table.filter(passkeys::credential_id.eq(credential_id)).count().get_result(conn)?;
    Ok(n > 0)
}

pub struct NewPasskey<'a> {
    pub user_id: i64,
    pub user_handle: &'a str,
    pub credential_id: &'a str,
    pub credential: &'a str,
    pub name: &'a str,
    pub at: NaiveDateTime,
}

pub fn insert(conn: &mut DbConnection, new: &NewPasskey<'_>) -> Result<(), AppError> {
    diesel::insert_into(passkeys::table)
        .values((
            passkeys::user_id.eq(new.user_id),
            passkeys::user_handle.eq(new.user_handle),
            passkeys::credential_id.eq(new.credential_id),
            passkeys::credential.eq(new.credential),
            passkeys::name.eq(new.name),
            passkeys::created_at.eq(new.at),
        ))
        .execute(conn)?;
    Ok(())
}

/// The passkey with this credential id (as the library writes it), whoever's it is.
pub fn by_credential(conn: &mut DbConnection, credential_id: &str) -> Result<Option<StoredPasskey>, AppError> {
    Ok(passkeys::table
        .filter(passkeys::credential_id.eq(credential_id))
        .select(StoredPasskey::as_select())
        .first(conn)
        .optional()?)
}

/// Removes one of the user's passkeys; its name when it was theirs.
pub fn remove(conn: &mut DbConnection, user_id: i64, id: i64) -> Result<Option<String>, AppError> {
    let name = passkeys::table
        .find(id)
        .filter(passkeys::user_id.eq(user_id))
        .select(passkeys::name)
        .first::<String>(conn)
        .optional()?;
    diesel::delete(passkeys::table.find(id).filter(passkeys::user_id.eq(user_id))).execute(conn)?;
    Ok(name)
}

pub fn remove_all(conn: &mut DbConnection, user_id: i64) -> Result<usize, AppError> {
    Ok(diesel::delete(passkeys::table.filter(passkeys::user_id.eq(user_id))).execute(conn)?)
}

/// The passkey was used now; `credential` is its state after (a new counter).
pub fn used(conn: &mut DbConnection, id: i64, credential: &str, at: NaiveDateTime) -> Result<(), AppError> {
    diesel::update(passkeys::table.find(id))
        .set((passkeys::credential.eq(credential), passkeys::last_used_at.eq(at)))
        .execute(conn)?;
    Ok(())
}

/// Keeps a ceremony's state; returns the key the cookie will hold.
pub fn begin(
    conn: &mut DbConnection,
    user_id: Option<i64>,
    purpose: &str,
    state: &str,
    at: NaiveDateTime,
) -> Result<String, AppError> {
    let key = secret::new_token();
    diesel::insert_into(passkey_ceremonies::table)
        .values((
            passkey_ceremonies::key_digest.eq(secret::digest(&key)),
            passkey_ceremonies::user_id.eq(user_id),
            passkey_ceremonies::purpose.eq(purpose),
            passkey_ceremonies::state.eq(state),
            passkey_ceremonies::created_at.eq(at),
        ))
        .execute(conn)?;
    Ok(key)
}

/// Takes the ceremony `key` names, once: its state, when it is `user_id`'s (None: a sign-in by
/// passkey alone), for `purpose`, and begun after `since`.
pub fn take(
    conn: &mut DbConnection,
    key: &str,
    user_id: Option<i64>,
    purpose: &str,
    since: NaiveDateTime,
) -> Result<Option<String>, AppError> {
    let digest = secret::digest(key);
    let found: Option<(Option<i64>, String, String, NaiveDateTime)> = passkey_ceremonies::table
        .find(&digest)
        .select((
            passkey_ceremonies::user_id,
            passkey_ceremonies::purpose,
            passkey_ceremonies::state,
            passkey_ceremonies::created_at,
        ))
        .first(conn)
        .optional()?;
    // Taken only by the one who deletes it: of two answers at once, one finds it gone.
    let deleted = diesel::delete(passkey_ceremonies::table.find(&digest)).execute(conn)?;
    Ok(found
        .filter(|(owner, kind, _, at)| deleted == 1 && *owner == user_id && kind == purpose && *at >= since)
        .map(|(_, _, state, _)| state))
}

/// Ends every ceremony of the user's under way (their two-step sign-in was turned off).
pub fn end_ceremonies(conn: &mut DbConnection, user_id: i64) -> Result<(), AppError> {
    diesel::delete(passkey_ceremonies::table.filter(passkey_ceremonies::user_id.eq(user_id))).execute(conn)?;
    Ok(())
}

/// Deletes ceremonies begun before `before` (never finished).
pub fn delete_stale(conn: &mut DbConnection, before: NaiveDateTime) -> Result<usize, AppError> {
    Ok(diesel::delete(passkey_ceremonies::table.filter(passkey_ceremonies::created_at.lt(before))).execute(conn)?)
}
