//! Users: reading them, creating them, and the few writes that sign-in needs.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::schema::{groups, users};
use super::{DbConnection, now};
use crate::domain::{PermissionSet, UserStatus};
use crate::error::AppError;

#[derive(Debug, Clone, Queryable, Identifiable)]
#[diesel(table_name = users)]
pub struct User {
    pub id: i64,
    pub email: String,
    pub first_name: String,
    pub last_name: String,
    pub phone: String,
    pub title: String,
    pub job_function: String,
    pub company: String,
    pub group_id: i64,
    pub status: String,
    pub is_owner: bool,
    pub password_hash: Option<String>,
    pub must_change_password: bool,
    pub totp_secret: Option<String>,
    pub totp_last_step: Option<i64>,
    pub notification_preference: String,
    pub security_stamp: String,
    pub last_sign_in_at: Option<NaiveDateTime>,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
    pub version: i32,
    /// Buildings reached (kept by the database; `directory::REACHES_ALL` for every building).
    pub building_count: i64,
    /// An IANA time zone the user reads dates in; empty: the organization's.
    pub time_zone: String,
    /// The last day the account holds: the day after, it is disabled by itself.
    pub ends_on: Option<chrono::NaiveDate>,
    /// Whether the mail a week before that day was sent.
    pub end_warned: bool,
    /// The identifier a provisioning client (SCIM) keeps for the user.
    pub external_id: Option<String>,
    /// The name the user signs in with at the provisioning client (SCIM userName); none: the email.
    pub user_name: Option<String>,
    /// `user_name` lower-cased, to find it and keep it one whatever its case.
    pub user_name_key: Option<String>,
}

impl User {
    pub fn status(&self) -> UserStatus {
        UserStatus::parse(&self.status).unwrap_or(UserStatus::Disabled)
    }

    pub fn full_name(&self) -> String {
        format!("{} {}", self.first_name, self.last_name)
    }
}

#[derive(Debug, Insertable)]
#[diesel(table_name = users, treat_none_as_default_value = false)]
pub struct NewUser {
    pub email: String,
    pub first_name: String,
    pub last_name: String,
    pub phone: String,
    pub title: String,
    pub job_function: String,
    pub company: String,
    pub group_id: i64,
    pub status: String,
    pub is_owner: bool,
    pub password_hash: Option<String>,
    pub must_change_password: bool,
    pub notification_preference: String,
    pub security_stamp: String,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
    pub version: i32,
    pub user_name: Option<String>,
    pub user_name_key: Option<String>,
    pub external_id: Option<String>,
    /// The account's last day, when it has one.
    pub ends_on: Option<chrono::NaiveDate>,
}

impl NewUser {
    /// A user being made now: version 1, a fresh security stamp, all mail, no password yet, and
    /// the rest of the profile empty.
    pub fn new(email: String, first_name: String, last_name: String, group_id: i64, status: UserStatus) -> NewUser {
        let at = super::now();
        NewUser {
            email,
            first_name,
            last_name,
            phone: String::new(),
            title: String::new(),
            job_function: String::new(),
            company: String::new(),
            group_id,
            status: status.as_str().to_owned(),
            is_owner: false,
            password_hash: None,
            must_change_password: false,
            notification_preference: "all".into(),
            security_stamp: new_security_stamp(),
            created_at: at,
            updated_at: at,
            version: 1,
            user_name: None,
            user_name_key: None,
            external_id: None,
            ends_on: None,
        }
    }

    /// A user from the Info part of the user form (Add New User, Import CSV).
    pub fn from_info(info: &crate::domain::user_form::UserInfo, status: UserStatus) -> NewUser {
        NewUser {
            phone: info.phone.as_str().to_owned(),
            title: info.title.clone(),
            job_function: info.job_key().to_owned(),
            company: info.company.clone(),
            user_name: info.user_name.clone(),
            user_name_key: info.user_name.as_deref().map(str::to_lowercase),
            external_id: info.external_id.clone(),
            ..NewUser::new(
                info.email.as_str().to_owned(),
                info.first_name.as_str().to_owned(),
                info.last_name.as_str().to_owned(),
                info.group_id,
                status,
            )
        }
    }
}

/// A fresh security stamp: changing it ends every session of the user.
pub fn new_security_stamp() -> String {
    crate::auth::secret::to_hex(&crate::auth::secret::random_bytes::<16>())
}

pub fn find(conn: &mut DbConnection, id: i64) -> Result<Option<User>, AppError> {
    Ok(users::table.find(id).first::<User>(conn).optional()?)
}

pub fn find_by_email(conn: &mut DbConnection, email: &str) -> Result<Option<User>, AppError> {
    Ok(users::table.filter(users::email.eq(email.to_lowercase())).first::<User>(conn).optional()?)
}

/// A user with their group's name and permissions.
pub fn find_with_group(conn: &mut DbConnection, id: i64) -> Result<Option<(User, String, PermissionSet)>, AppError> {
    let row = users::table
        .inner_join(groups::table)
        .filter(users::id.eq(id))
        .select((users::all_columns, groups::name, groups::builtin_key))
        .first::<(User, String, Option<String>)>(conn)
        .optional()?;
    let Some((user, group_name, builtin_key)) = row else {
        return Ok(None);
    };
    let permissions = super::groups::permissions(conn, user.group_id, builtin_key.as_deref())?;
    Ok(Some((user, group_name, permissions)))
}

/// Whether another user than `except` has this userName (theirs, or their email when they have
/// none), whatever the case.
pub fn user_name_taken(conn: &mut DbConnection, user_name: &str, except: Option<i64>) -> Result<bool, AppError> {
    use super::sql::{Bind, Number, Sql};
    let mut sql = Sql::new(conn);
    let lower = user_name.to_lowercase();
    sql.push("SELECT COUNT(*) AS n FROM users WHERE (user_name_key = ").bind(Bind::Text(lower.clone()));
    sql.push(" OR (user_name IS NULL AND email = ").bind(Bind::Text(lower)).push("))");
    if let Some(id) = except {
        sql.push(" AND id <> ").bind(Bind::Int(id));
    }
    Ok(sql.load::<Number>(conn)?.first().is_some_and(|n| n.n > 0))
}

pub fn owner_exists(conn: &mut DbConnection) -> Result<bool, AppError> {
    Ok(diesel::select(diesel::dsl::exists(users::table.filter(users::is_owner.eq(true)))).get_result(conn)?)
}

pub fn insert(conn: &mut DbConnection, new: &NewUser) -> Result<User, AppError> {
    Ok(diesel::insert_into(users::table).values(new).returning(users::all_columns).get_result::<User>(conn)?)
}

/// Adds many users in one statement; returns each one's id and address. On SQLite the search
/// index takes them in one go: FTS5 writes out what it holds at every statement of a
/// transaction, so one statement a user cost 0.6 ms a user at a million users (2,000 users: 1.2 s
/// against 0.1 s).
pub fn insert_many(conn: &mut DbConnection, new: &[NewUser]) -> Result<Vec<(i64, String)>, AppError> {
    let query = diesel::insert_into(users::table).values(new).returning((users::id, users::email));
    Ok(on_either!(conn, |c| query.get_results(c))?)
}

pub fn record_sign_in(conn: &mut DbConnection, id: i64) -> Result<(), AppError> {
    diesel::update(users::table.find(id)).set(users::last_sign_in_at.eq(now())).execute(conn)?;
    Ok(())
}

/// Stores a new password hash and a new security stamp (ending every other session), and
/// revokes the user's pending links (a security event); returns the stamp for the session that
/// made the change.
pub fn set_password(conn: &mut DbConnection, id: i64, hash: &str) -> Result<String, AppError> {
    let stamp = new_security_stamp();
    diesel::update(users::table.find(id))
        .set((
            users::password_hash.eq(hash),
            users::must_change_password.eq(false),
            users::security_stamp.eq(&stamp),
            users::updated_at.eq(now()),
            users::version.eq(users::version + 1),
        ))
        .execute(conn)?;
    super::tokens::revoke_pending(conn, id, false)?;
    Ok(stamp)
}

/// Sets a user's status; leaving `active` ends every session of the user.
pub fn set_status(conn: &mut DbConnection, id: i64, status: UserStatus) -> Result<(), AppError> {
    diesel::update(users::table.find(id))
        .set((
            users::status.eq(status.as_str()),
            users::security_stamp.eq(new_security_stamp()),
            users::updated_at.eq(now()),
            users::version.eq(users::version + 1),
        ))
        .execute(conn)?;
    Ok(())
}

/// Holds the user's row until the transaction ends, on PostgreSQL, so that two requests about
/// one user take turns (SQLite's write lock already does this).
pub fn lock(conn: &mut DbConnection, id: i64) -> Result<(), AppError> {
    if let DbConnection::Postgresql(_) = conn {
        diesel::sql_query("SELECT id FROM users WHERE id = $1 FOR UPDATE")
            .bind::<diesel::sql_types::BigInt, _>(id)
            .execute(conn)?;
    }
    Ok(())
}

/// Ends every session of the user (a new security stamp, which every cookie is checked against).
pub fn end_sessions(conn: &mut DbConnection, id: i64) -> Result<(), AppError> {
    diesel::update(users::table.find(id))
        .set((users::security_stamp.eq(new_security_stamp()), users::updated_at.eq(now())))
        .execute(conn)?;
    Ok(())
}
