//! Handing over ownership: the owner chooses an active administrator and the owner mark moves
//! in one transaction, both are mailed, and it is audited. Only the owner can hand it over (the
//! new owner can hand it back); at most one owner exists at any moment (a unique index), and of
//! two hand-overs at once exactly one happens.

use diesel::prelude::*;

use super::Actor;
use crate::db::audit::{self, Target};
use crate::db::schema::users;
use crate::db::settings::Settings;
use crate::db::{DbConnection, groups, outbox, users as users_db};
use crate::domain::UserStatus;
use crate::error::AppError;

/// Who can become the owner: the active administrators (in a group holding every permission)
/// other than the owner, by name.
pub fn candidates(conn: &mut DbConnection, owner_id: i64) -> Result<Vec<users_db::User>, AppError> {
    let admin_groups: Vec<i64> = groups::list_with_permissions(conn)?
        .into_iter()
        .filter(|(_, permissions)| permissions.is_admin())
        .map(|(g, _)| g.id)
        .collect();
    Ok(users::table
        .filter(users::group_id.eq_any(&admin_groups))
        .filter(users::status.eq(UserStatus::Active.as_str()))
        .filter(users::id.ne(owner_id))
        .order((users::first_name, users::last_name, users::id))
        .load::<users_db::User>(conn)?)
}

/// Moves the owner mark from `actor` to `to` (in the caller's transaction); the new owner.
pub fn hand_over(conn: &mut DbConnection, actor: &Actor, to: i64) -> Result<users_db::User, AppError> {
    if !actor.is_owner {
        return Err(AppError::Forbidden);
    }
    let Some(new_owner) = candidates(conn, actor.id)?.into_iter().find(|u| u.id == to) else {
        return Err(AppError::Unfit("Choose an active administrator.".into()));
    };
    // Whoever comes second finds the mark gone and changes nothing.
    let unmarked = diesel::update(users::table.find(actor.id).filter(users::is_owner.eq(true)))
        .set(users::is_owner.eq(false))
        .execute(conn)?;
    if unmarked != 1 {
        return Err(AppError::Unfit("You are no longer the owner: ownership was handed over meanwhile.".into()));
    }
    diesel::update(users::table.find(to)).set(users::is_owner.eq(true)).execute(conn)?;
    let old_owner = users_db::find(conn, actor.id)?.ok_or(AppError::NotFound)?;
    let (from_label, to_label) = (audit::label_of(conn, Some(actor.id))?, audit::label_of(conn, Some(to))?);
    let settings = Settings::load(conn)?;
    let org = &settings.org_name;
    for (user, lines) in [
        (
            &new_owner,
            vec![
                format!("{from_label} handed the ownership of {org} to you."),
                "As the owner you alone can change other administrators, make new ones, and hand the ownership on."
                    .to_owned(),
            ],
        ),
        (
            &old_owner,
            vec![
                format!("You handed the ownership of {org} to {to_label}."),
                "You stay an administrator; only the new owner can hand the ownership back.".to_owned(),
            ],
        ),
    ] {
        let subject = format!("The ownership of {} was handed over", settings.org_name);
        let message =
            crate::mail::messages::notice(&settings, "ownership", &user.email, &user.first_name, subject, lines)?;
        outbox::enqueue(conn, &message)?;
    }
    audit::record(
        conn,
        &actor.audit,
        "owner.handed_over",
        Target::user(to, &new_owner.email),
        serde_json::json!({ "from": from_label, "to": to_label }),
    )?;
    Ok(new_owner)
}
