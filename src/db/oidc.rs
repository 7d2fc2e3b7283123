//! The organization's OpenID Connect providers, and which provider subject is which user.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::DbConnection;
use super::schema::{groups, oidc_links, oidc_providers, sessions, users};
use crate::error::AppError;

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = oidc_providers)]
pub struct Provider {
    pub id: i64,
    /// Shown on the button: "Sign in with NAME".
    pub name: String,
    pub issuer: String,
    pub client_id: String,
    /// The client secret, sealed with the session key (`auth::sealed`).
    pub client_secret_sealed: String,
    /// Space-separated; `openid` is always asked for besides.
    pub scopes: String,
    /// The claim that holds the email (`email` for most providers).
    pub email_claim: String,
    /// Whether a verified email of an allowed domain that matches no user makes one.
    pub create_users: bool,
    pub create_in_group_id: Option<i64>,
    /// The domains whose people may be made, space-separated, lower case.
    pub create_domains: String,
    /// Whether a user with two-step sign-in is asked for a code after the provider.
    pub ask_second_factor: bool,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

impl Provider {
    /// Whether people of this address's domain may be made on their first sign-in.
    pub fn creates(&self, email: &str) -> bool {
        let domain = email.rsplit_once('@').map(|(_, d)| d.to_ascii_lowercase()).unwrap_or_default();
        self.create_users && self.create_domains.split_whitespace().any(|d| d == domain)
    }
}

/// What a provider is made or changed into (its secret already sealed).
#[derive(Debug, Clone, AsChangeset, Insertable)]
#[diesel(table_name = oidc_providers)]
pub struct ProviderRow {
    pub name: String,
    pub issuer: String,
    pub client_id: String,
    pub client_secret_sealed: String,
    pub scopes: String,
    pub email_claim: String,
    pub create_users: bool,
    #[diesel(treat_none_as_null = true)]
    pub create_in_group_id: Option<i64>,
    pub create_domains: String,
    pub ask_second_factor: bool,
    pub updated_at: NaiveDateTime,
}

pub fn list(conn: &mut DbConnection) -> Result<Vec<Provider>, AppError> {
    Ok(oidc_providers::table.order(oidc_providers::name).select(Provider::as_select()).load(conn)?)
}

pub fn find(conn: &mut DbConnection, id: i64) -> Result<Option<Provider>, AppError> {
    Ok(oidc_providers::table.find(id).select(Provider::as_select()).first(conn).optional()?)
}

pub fn name_taken(conn: &mut DbConnection, name: &str, other_than: Option<i64>) -> Result<bool, AppError> {
    let found: Vec<i64> =
        oidc_providers::table.filter(oidc_providers::name.eq(name)).select(oidc_providers::id).load(conn)?;
    Ok(found.iter().any(|id| Some(*id) != other_than))
}

pub fn insert(conn: &mut DbConnection, row: &ProviderRow, at: NaiveDateTime) -> Result<i64, AppError> {
    Ok(diesel::insert_into(oidc_providers::table)
        .values((row, oidc_providers::created_at.eq(at)))
        .returning(oidc_providers::id)
        .get_result(conn)?)
}

pub fn update(conn: &mut DbConnection, id: i64, row: &ProviderRow) -> Result<(), AppError> {
    diesel::update(oidc_providers::table.find(id)).set(row).execute(conn)?;
    Ok(())
}

/// The provider a user must sign in through, by their group (never for the owner).
pub fn required_of(conn: &mut DbConnection, user_id: i64) -> Result<Option<Provider>, AppError> {
    Ok(users::table
        .inner_join(
            groups::table
                .inner_join(oidc_providers::table.on(groups::sign_in_provider_id.eq(oidc_providers::id.nullable()))),
        )
        .filter(users::id.eq(user_id))
        .filter(users::is_owner.eq(false))
        .select(Provider::as_select())
        .first(conn)
        .optional()?)
}

/// Deletes the provider, its links, and the mention of it on groups and sessions.
pub fn delete(conn: &mut DbConnection, id: i64) -> Result<(), AppError> {
    diesel::update(sessions::table.filter(sessions::provider_id.eq(id)))
        .set(sessions::provider_id.eq(None::<i64>))
        .execute(conn)?;
    diesel::update(groups::table.filter(groups::sign_in_provider_id.eq(id)))
        .set(groups::sign_in_provider_id.eq(None::<i64>))
        .execute(conn)?;
    diesel::delete(oidc_links::table.filter(oidc_links::provider_id.eq(id))).execute(conn)?;
    diesel::delete(oidc_providers::table.find(id)).execute(conn)?;
    Ok(())
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = oidc_links)]
pub struct Link {
    pub provider_id: i64,
    pub subject: String,
    pub user_id: i64,
    /// The address the link was made by.
    pub email: String,
    pub linked_at: NaiveDateTime,
    pub last_used_at: NaiveDateTime,
}

/// The user a provider's subject was linked to.
pub fn linked_user(conn: &mut DbConnection, provider_id: i64, subject: &str) -> Result<Option<i64>, AppError> {
    Ok(oidc_links::table.find((provider_id, subject)).select(oidc_links::user_id).first(conn).optional()?)
}

pub fn link(
    conn: &mut DbConnection,
    provider_id: i64,
    subject: &str,
    user_id: i64,
    email: &str,
    at: NaiveDateTime,
) -> Result<(), AppError> {
    diesel::insert_into(oidc_links::table)
        .values((
            oidc_links::provider_id.eq(provider_id),
            oidc_links::subject.eq(subject),
            oidc_links::user_id.eq(user_id),
            oidc_links::email.eq(email),
            oidc_links::linked_at.eq(at),
            oidc_links::last_used_at.eq(at),
        ))
        .execute(conn)?;
    Ok(())
}

pub fn touch(conn: &mut DbConnection, provider_id: i64, subject: &str, at: NaiveDateTime) -> Result<(), AppError> {
    diesel::update(oidc_links::table.find((provider_id, subject)))
        .set(oidc_links::last_used_at.eq(at))
        .execute(conn)?;
    Ok(())
}

/// A user's links, with their provider's name, oldest first.
pub fn links_of(conn: &mut DbConnection, user_id: i64) -> Result<Vec<(Link, String)>, AppError> {
    Ok(oidc_links::table
        .inner_join(oidc_providers::table)
        .filter(oidc_links::user_id.eq(user_id))
        .order(oidc_links::linked_at)
        .select((Link::as_select(), oidc_providers::name))
        .load(conn)?)
}
