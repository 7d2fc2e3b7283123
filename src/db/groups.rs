//! Groups and the permissions they grant.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::DbConnection;
use super::schema::{group_permissions, groups};
use crate::domain::PermissionSet;
use crate::error::AppError;

/// The built-in group every permission belongs to, whatever its rows say.
pub const ADMIN_KEY: &str = "admin";
/// The built-in group for self-signup.
pub const CUSTOMER_KEY: &str = "customer";

#[derive(Debug, Clone, Queryable, Identifiable)]
#[diesel(table_name = groups)]
pub struct Group {
    pub id: i64,
    pub name: String,
    pub description: String,
    pub builtin_key: Option<String>,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
    /// Since when members must use two-step sign-in (none: they may choose).
    pub two_step_required_at: Option<NaiveDateTime>,
    /// Days a member has from then to set it up.
    pub two_step_grace_days: i32,
    /// A provisioning client's identifier for the group (SCIM externalId).
    pub external_id: Option<String>,
    /// The OpenID provider members must sign in through (none: any way they have).
    pub sign_in_provider_id: Option<i64>,
}

impl Group {
    pub fn is_builtin(&self) -> bool {
        self.builtin_key.is_some()
    }

    /// The moment after which a member without two-step sign-in is sent to set it up.
    pub fn two_step_due(&self) -> Option<NaiveDateTime> {
        self.two_step_required_at.map(|at| at + chrono::Duration::days(i64::from(self.two_step_grace_days)))
    }
}

pub fn permissions(
    conn: &mut DbConnection,
    group_id: i64,
    builtin_key: Option<&str>,
) -> Result<PermissionSet, AppError> {
    if builtin_key == Some(ADMIN_KEY) {
        return Ok(PermissionSet::all());
    }
    let keys: Vec<String> = group_permissions::table
        .filter(group_permissions::group_id.eq(group_id))
        .select(group_permissions::permission)
        .load(conn)?;
    Ok(PermissionSet::from_keys(keys.iter().map(String::as_str)))
}

pub fn find(conn: &mut DbConnection, id: i64) -> Result<Option<Group>, AppError> {
    Ok(groups::table.find(id).first(conn).optional()?)
}

/// A group with the permissions it grants.
pub fn with_permissions(conn: &mut DbConnection, id: i64) -> Result<Option<(Group, PermissionSet)>, AppError> {
    let Some(group) = find(conn, id)? else {
        return Ok(None);
    };
    let permissions = permissions(conn, group.id, group.builtin_key.as_deref())?;
    Ok(Some((group, permissions)))
}

pub fn find_builtin(conn: &mut DbConnection, key: &str) -> Result<Group, AppError> {
    Ok(groups::table.filter(groups::builtin_key.eq(key)).first(conn)?)
}

pub fn list(conn: &mut DbConnection) -> Result<Vec<Group>, AppError> {
    Ok(groups::table.order((groups::builtin_key.is_null(), groups::id)).load(conn)?)
}

/// Every group with the permissions it grants, built-in first.
pub fn list_with_permissions(conn: &mut DbConnection) -> Result<Vec<(Group, PermissionSet)>, AppError> {
    let groups = list(conn)?;
    let rows: Vec<(i64, String)> =
        group_permissions::table.select((group_permissions::group_id, group_permissions::permission)).load(conn)?;
    Ok(groups
        .into_iter()
        .map(|g| {
            let permissions = if g.builtin_key.as_deref() == Some(ADMIN_KEY) {
                PermissionSet::all()
            } else {
                PermissionSet::from_keys(rows.iter().filter(|(id, _)| *id == g.id).map(|(_, p)| p.as_str()))
            };
            (g, permissions)
        })
        .collect())
}
