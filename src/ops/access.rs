//! Property Access: granting and revoking a user's buildings and whole accounts. The actor may
//! act on the user (the rules' row 2) and reaches what changes: a building directly or through
//! its account, an account as a whole grant; `buildings.view_all` reaches everything.

use diesel::prelude::*;

use super::{Actor, Target};
use crate::db::audit::{self, Target as Event};
use crate::db::schema::buildings;
use crate::db::user_access::{self, Access, AccessChange};
use crate::db::{DbConnection, buildings as buildings_db};
use crate::domain::rules::{self, Action};
use crate::domain::{Permission, UserStatus};
use crate::error::AppError;

/// What the actor reaches, to judge each building or account a change touches.
struct Reach {
    all: bool,
    own: Access,
}

impl Reach {
    fn of(conn: &mut DbConnection, actor: &Actor) -> Result<Reach, AppError> {
        let all = actor.permissions.has(Permission::BuildingsViewAll);
        let own = if all { Access::default() } else { user_access::of_user(conn, actor.id)? };
        Ok(Reach { all, own })
    }

    fn building(&self, conn: &mut DbConnection, id: i64) -> Result<bool, AppError> {
        if self.all || self.own.buildings.contains(&id) {
            return Ok(true);
        }
        let account: Option<i64> = buildings::table.find(id).select(buildings::account_id).first(conn).optional()?;
        Ok(account.is_some_and(|a| self.own.accounts.contains(&a)))
    }

    fn account(&self, id: i64) -> bool {
        self.all || self.own.accounts.contains(&id)
    }
}

/// Makes a user's access exactly `wanted`; every building and account that changes must be in
/// the actor's own reach, or nothing changes.
pub fn set(
    conn: &mut DbConnection,
    actor: &Actor,
    id: i64,
    wanted: &Access,
) -> Result<(Target, AccessChange), AppError> {
    let target = Target::load(conn, id)?;
    if target.user.status() == UserStatus::Deleted {
        return Err(AppError::NotFound);
    }
    actor.may(Action::ChangeAccess, &target)?;
    let current = user_access::of_user(conn, id)?;
    within_reach(conn, actor, &current, wanted)?;
    let change = user_access::set(conn, id, wanted, actor.id)?;
    if !change.is_empty() {
        audit::record(
            conn,
            &actor.audit,
            "user.access_changed",
            Event::user(id, &target.user.email),
            serde_json::json!(change),
        )?;
    }
    Ok((target, change))
}

/// Whether every building and account that differs between `current` and `wanted` is within the
/// actor's own reach.
pub fn within_reach(conn: &mut DbConnection, actor: &Actor, current: &Access, wanted: &Access) -> Result<(), AppError> {
    let reach = Reach::of(conn, actor)?;
    for b in current.buildings.symmetric_difference(&wanted.buildings) {
        if !reach.building(conn, *b)? {
            return Err(AppError::Refused(rules::Refusal::BuildingOutOfReach));
        }
    }
    for a in current.accounts.symmetric_difference(&wanted.accounts) {
        if !reach.account(*a) {
            return Err(AppError::Refused(rules::Refusal::BuildingOutOfReach));
        }
    }
    Ok(())
}

/// Grants (or revokes) one building to a user, leaving the rest of their access as it is.
pub fn building(
    conn: &mut DbConnection,
    actor: &Actor,
    id: i64,
    building: i64,
    grant: bool,
) -> Result<(Target, AccessChange), AppError> {
    buildings_db::find(conn, building)?.ok_or(AppError::NotFound)?;
    let mut wanted = user_access::of_user(conn, id)?;
    if grant {
        wanted.buildings.insert(building);
    } else {
        wanted.buildings.remove(&building);
    }
    set(conn, actor, id, &wanted)
}
