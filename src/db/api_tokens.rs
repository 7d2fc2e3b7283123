//! API tokens as stored: only the SHA-256 of the secret, the maker, the scopes and the dates.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::DbConnection;
use super::schema::{api_tokens, users};
use crate::error::AppError;

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = api_tokens)]
pub struct ApiToken {
    pub id: i64,
    pub name: String,
    pub created_by: i64,
    /// Space-separated: permission keys and `scim`.
    pub scopes: String,
    pub created_at: NaiveDateTime,
    pub expires_at: NaiveDateTime,
    pub last_used_at: Option<NaiveDateTime>,
    pub last_used_ip: Option<String>,
    pub revoked_at: Option<NaiveDateTime>,
}

impl ApiToken {
    pub fn scopes(&self) -> impl Iterator<Item = &str> {
        self.scopes.split_whitespace()
    }

    pub fn has_scope(&self, scope: &str) -> bool {
        self.scopes().any(|s| s == scope)
    }
}

pub struct NewToken<'a> {
    pub name: &'a str,
    pub secret_hash: &'a str,
    pub created_by: i64,
    pub scopes: &'a str,
    pub created_at: NaiveDateTime,
    pub expires_at: NaiveDateTime,
}

pub fn insert(conn: &mut DbConnection, new: &NewToken<'_>) -> Result<i64, AppError> {
    Ok(diesel::insert_into(api_tokens::table)
        .values((
            api_tokens::name.eq(new.name),
            api_tokens::secret_hash.eq(new.secret_hash),
            api_tokens::created_by.eq(new.created_by),
            api_tokens::scopes.eq(new.scopes),
            api_tokens::created_at.eq(new.created_at),
            api_tokens::expires_at.eq(new.expires_at),
            api_tokens::expiry_warned.eq(false),
        ))
        .returning(api_tokens::id)
        .get_result(conn)?)
}

pub fn find(conn: &mut DbConnection, id: i64) -> Result<Option<ApiToken>, AppError> {
    Ok(api_tokens::table.find(id).select(ApiToken::as_select()).first(conn).optional()?)
}

/// The token whose secret has this digest.
pub fn by_secret(conn: &mut DbConnection, secret_hash: &str) -> Result<Option<ApiToken>, AppError> {
    Ok(api_tokens::table
        .filter(api_tokens::secret_hash.eq(secret_hash))
        .select(ApiToken::as_select())
        .first(conn)
        .optional()?)
}

/// Tokens with their maker's name and address, newest first: every token, or one maker's.
pub fn list(conn: &mut DbConnection, maker: Option<i64>) -> Result<Vec<(ApiToken, String, String, String)>, AppError> {
    let mut query = api_tokens::table
        .inner_join(users::table)
        .select((ApiToken::as_select(), users::first_name, users::last_name, users::email))
        .order(api_tokens::id.desc())
        .into_boxed();
    if let Some(maker) = maker {
        query = query.filter(api_tokens::created_by.eq(maker));
    }
    Ok(query.load(conn)?)
}

pub fn revoke(conn: &mut DbConnection, id: i64, by: i64, at: NaiveDateTime) -> Result<bool, AppError> {
    let n = diesel::update(api_tokens::table.find(id).filter(api_tokens::revoked_at.is_null()))
        .set((api_tokens::revoked_at.eq(at), api_tokens::revoked_by.eq(by)))
        .execute(conn)?;
    Ok(n == 1)
}

/// Records a use (at most once a minute, so a busy client does not write on every request).
pub fn touch(conn: &mut DbConnection, id: i64, ip: Option<&str>, at: NaiveDateTime) -> Result<(), AppError> {
    let stale = at - chrono::Duration::minutes(1);
    diesel::update(
        api_tokens::table.find(id).filter(api_tokens::last_used_at.is_null().or(api_tokens::last_used_at.lt(stale))),
    )
    .set((api_tokens::last_used_at.eq(at), api_tokens::last_used_ip.eq(ip)))
    .execute(conn)?;
    Ok(())
}

/// Live tokens that end before `before` and whose maker was not yet warned.
pub fn ending_unwarned(
    conn: &mut DbConnection,
    at: NaiveDateTime,
    before: NaiveDateTime,
) -> Result<Vec<ApiToken>, AppError> {
    Ok(api_tokens::table
        .filter(api_tokens::revoked_at.is_null())
        .filter(api_tokens::expiry_warned.eq(false))
        .filter(api_tokens::expires_at.gt(at))
        .filter(api_tokens::expires_at.le(before))
        .select(ApiToken::as_select())
        .load(conn)?)
}

/// Marks the warning sent; false when another process sent it first.
pub fn mark_warned(conn: &mut DbConnection, id: i64) -> Result<bool, AppError> {
    let n = diesel::update(api_tokens::table.find(id).filter(api_tokens::expiry_warned.eq(false)))
        .set(api_tokens::expiry_warned.eq(true))
        .execute(conn)?;
    Ok(n == 1)
}
