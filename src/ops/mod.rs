//! Operations: every change to users, their access and groups, whichever door asks for it (the
//! screens, the CLI, later SCIM and the API). Each takes the actor, the target and parsed input,
//! asks `domain::rules` whether the actor may, writes, records the audit event and queues the
//! mail, all on the connection of one transaction the caller opened. A refusal is
//! `AppError::Refused` and rolls the transaction back.

pub mod access;
pub mod access_ends;
pub mod accounts;
pub mod api_tokens;
pub mod buildings;
pub mod dormant;
pub mod groups;
pub mod housekeeping;
pub mod import;
pub mod invitations;
pub mod links;
pub mod oidc;
pub mod organization;
pub mod ownership;
pub mod passkeys;
pub mod profile;
pub mod sessions;
pub mod two_step;
pub mod users;

use crate::db::Db;
use crate::db::audit::AuditContext;
use crate::db::{DbConnection, users as users_db};
use crate::domain::PermissionSet;
use crate::domain::rules::{self, Action, Person};
use crate::error::AppError;

/// Runs an operation (or, for bulk and import, several that stand or fall together) in one
/// transaction, off the async threads: a refusal or an error leaves nothing written. The only
/// way the screens change anything.
pub async fn apply<T, F>(db: &Db, operation: F) -> Result<T, AppError>
where
    T: Send + 'static,
    F: FnOnce(&mut DbConnection) -> Result<T, AppError> + Send + 'static,
{
    db.transaction(operation).await
}

/// Who acts: what the rules need of them, and where they act from (for the audit log).
#[derive(Debug, Clone)]
pub struct Actor {
    pub id: i64,
    pub is_owner: bool,
    pub email: String,
    pub permissions: PermissionSet,
    pub audit: AuditContext,
}

impl Actor {
    pub fn person(&self) -> Person<'_> {
        Person { id: self.id, is_owner: self.is_owner, permissions: &self.permissions }
    }

    /// Whether the rules let this actor do `action` to `target`.
    pub fn may(&self, action: Action<'_>, target: &Target) -> Result<(), AppError> {
        rules::may(&self.person(), action, &target.person()).map_err(AppError::Refused)
    }

    /// Refuses what only the user themself may do (`what`: "changes their password or email")
    /// to an administrator signed in as them.
    pub fn not_impersonated(&self, what: &str) -> Result<(), AppError> {
        match self.audit.impersonator_id {
            Some(_) => Err(AppError::Unfit(format!("Only the user themself {what}."))),
            None => Ok(()),
        }
    }

    /// Whether the rules let this actor do `action` to `target`, as a yes or no for a page that
    /// shows or hides a button.
    pub fn can(&self, action: Action<'_>, target: &Target) -> bool {
        self.may(action, target).is_ok()
    }
}

impl Actor {
    /// The owner, acting from the server's command line (`concierge import-users`): whoever
    /// runs commands on the server holds the owner's keys anyway.
    pub fn owner(conn: &mut DbConnection) -> Result<Actor, AppError> {
        use diesel::prelude::*;
        let owner: users_db::User = crate::db::schema::users::table
            .filter(crate::db::schema::users::is_owner.eq(true))
            .first(conn)
            .optional()?
            .ok_or_else(|| AppError::Unfit("There is no owner yet: run `concierge create-owner` first.".into()))?;
        let target = Target::load(conn, owner.id)?;
        Ok(Actor {
            id: owner.id,
            is_owner: true,
            email: owner.email,
            permissions: target.permissions,
            audit: AuditContext::system().as_actor(owner.id),
        })
    }
}

impl Actor {
    /// An active user with this address, acting from the server's command line.
    pub fn by_email(conn: &mut DbConnection, email: &str) -> Result<Actor, AppError> {
        let user = users_db::find_by_email(conn, &email.trim().to_lowercase())?
            .filter(|u| u.status() == crate::domain::UserStatus::Active)
            .ok_or_else(|| AppError::Unfit(format!("There is no active user {email}.")))?;
        let target = Target::load(conn, user.id)?;
        Ok(Actor {
            id: user.id,
            is_owner: user.is_owner,
            email: user.email,
            permissions: target.permissions,
            audit: AuditContext::system().as_actor(user.id),
        })
    }
}

/// A user with their group's name and permissions, ready for the rules.
pub struct Target {
    pub user: users_db::User,
    pub permissions: PermissionSet,
    pub group_name: String,
}

impl Target {
    pub fn load(conn: &mut DbConnection, id: i64) -> Result<Target, AppError> {
        let (user, group_name, permissions) = users_db::find_with_group(conn, id)?.ok_or(AppError::NotFound)?;
        Ok(Target { user, permissions, group_name })
    }

    pub fn person(&self) -> Person<'_> {
        Person { id: self.user.id, is_owner: self.user.is_owner, permissions: &self.permissions }
    }
}
