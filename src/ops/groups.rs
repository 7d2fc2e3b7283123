//! Custom groups: create, change and delete. Changing a group's permissions is acting on every
//! member of it, so the rules look at the members too; built-in groups never change.

use diesel::prelude::*;

use super::Actor;
use crate::db::audit::{self, Target as Event};
use crate::db::groups::{self, Group};
use crate::db::schema::{group_permissions, groups as groups_table, users};
use crate::db::{DbConnection, now, users as users_db};
use crate::domain::rules::{self, Person};
use crate::domain::{Permission, PermissionSet};
use crate::error::AppError;

/// A group as a form gives it, parsed.
pub struct GroupInput {
    pub name: String,
    pub description: String,
    pub permissions: PermissionSet,
}

/// Another group has the name already (compared without case).
#[derive(Debug)]
pub struct NameTaken;

fn name_taken(conn: &mut DbConnection, name: &str, except: Option<i64>) -> Result<bool, AppError> {
    Ok(groups::list(conn)?.iter().any(|g| g.name.to_lowercase() == name.to_lowercase() && Some(g.id) != except))
}

fn set_permissions(conn: &mut DbConnection, id: i64, permissions: &PermissionSet) -> Result<(), AppError> {
    diesel::delete(group_permissions::table.filter(group_permissions::group_id.eq(id))).execute(conn)?;
    for p in permissions.iter() {
        diesel::insert_into(group_permissions::table)
            .values((group_permissions::group_id.eq(id), group_permissions::permission.eq(p.key())))
            .execute(conn)?;
    }
    Ok(())
}

fn keys(p: &PermissionSet) -> Vec<&'static str> {
    p.iter().map(Permission::key).collect()
}

/// Whether the actor may change `group` (from `before` to `after`), judged with its members.
fn may_change(
    conn: &mut DbConnection,
    actor: &Actor,
    group: Option<&Group>,
    before: Option<&PermissionSet>,
    after: &PermissionSet,
) -> Result<(), AppError> {
    let members: Vec<(i64, bool)> = match group {
        Some(g) => users::table
            .filter(users::group_id.eq(g.id))
            .filter(users::status.ne("deleted"))
            .select((users::id, users::is_owner))
            .load(conn)?,
        None => Vec::new(),
    };
    let empty = PermissionSet::default();
    let people: Vec<Person<'_>> =
        members.iter().map(|&(id, is_owner)| Person { id, is_owner, permissions: before.unwrap_or(&empty) }).collect();
    let builtin = group.is_some_and(Group::is_builtin);
    rules::may_edit_group(&actor.person(), builtin, before, after, &people).map_err(AppError::Refused)
}

pub fn create(conn: &mut DbConnection, actor: &Actor, input: &GroupInput) -> Result<Result<i64, NameTaken>, AppError> {
    may_change(conn, actor, None, None, &input.permissions)?;
    if name_taken(conn, &input.name, None)? {
        return Ok(Err(NameTaken));
    }
    let at = now();
    let id: i64 = diesel::insert_into(groups_table::table)
        .values((
            groups_table::name.eq(&input.name),
            groups_table::description.eq(&input.description),
            groups_table::created_at.eq(at),
            groups_table::updated_at.eq(at),
        ))
        .returning(groups_table::id)
        .get_result(conn)?;
    set_permissions(conn, id, &input.permissions)?;
    audit::record(
        conn,
        &actor.audit,
        "group.created",
        Event::new("group", id, &input.name),
        serde_json::json!({ "name": input.name, "permissions": keys(&input.permissions) }),
    )?;
    Ok(Ok(id))
}

pub fn update(
    conn: &mut DbConnection,
    actor: &Actor,
    id: i64,
    input: &GroupInput,
) -> Result<Result<(), NameTaken>, AppError> {
    let (group, before) = groups::with_permissions(conn, id)?.ok_or(AppError::NotFound)?;
    may_change(conn, actor, Some(&group), Some(&before), &input.permissions)?;
    if name_taken(conn, &input.name, Some(id))? {
        return Ok(Err(NameTaken));
    }
    diesel::update(groups_table::table.find(id))
        .set((
            groups_table::name.eq(&input.name),
            groups_table::description.eq(&input.description),
            groups_table::updated_at.eq(now()),
        ))
        .execute(conn)?;
    if before != input.permissions {
        set_permissions(conn, id, &input.permissions)?;
        // Members' permissions changed: their sessions start afresh.
        diesel::update(users::table.filter(users::group_id.eq(id)))
            .set(users::security_stamp.eq(users_db::new_security_stamp()))
            .execute(conn)?;
    }
    audit::record(
        conn,
        &actor.audit,
        "group.updated",
        Event::new("group", id, &input.name),
        serde_json::json!({
            "before": { "name": group.name, "permissions": keys(&before) },
            "after": { "name": input.name, "permissions": keys(&input.permissions) },
        }),
    )?;
    Ok(Ok(()))
}

/// Gives a group another name, its description and permissions kept.
pub fn rename(conn: &mut DbConnection, actor: &Actor, id: i64, name: &str) -> Result<Result<(), NameTaken>, AppError> {
    let (group, permissions) = groups::with_permissions(conn, id)?.ok_or(AppError::NotFound)?;
    if group.name == name {
        return Ok(Ok(()));
    }
    update(conn, actor, id, &GroupInput { name: name.to_owned(), description: group.description, permissions })
}

/// Deletes an empty custom group; returns its name.
pub fn delete(conn: &mut DbConnection, actor: &Actor, id: i64) -> Result<String, AppError> {
    let (group, before) = groups::with_permissions(conn, id)?.ok_or(AppError::NotFound)?;
    may_change(conn, actor, Some(&group), Some(&before), &before)?;
    let count: i64 = users::table.filter(users::group_id.eq(id)).count().get_result(conn)?;
    if count > 0 {
        return Err(AppError::Unfit(format!(
            "{} can't be deleted: {count} user{} in it (deleted users included). Move them to another group first.",
            group.name,
            if count == 1 { " is" } else { "s are" }
        )));
    }
    let adding: Vec<String> =
        crate::db::oidc::list(conn)?.into_iter().filter(|p| p.create_in_group_id == Some(id)).map(|p| p.name).collect();
    if !adding.is_empty() {
        return Err(AppError::Unfit(format!(
            "{} can't be deleted: {} adds new users to it. Choose another group for that on Organization → Sign-in providers first.",
            group.name,
            adding.join(", ")
        )));
    }
    diesel::delete(group_permissions::table.filter(group_permissions::group_id.eq(id))).execute(conn)?;
    diesel::delete(groups_table::table.find(id)).execute(conn)?;
    audit::record(
        conn,
        &actor.audit,
        "group.deleted",
        Event::new("group", id, &group.name),
        serde_json::json!({ "name": group.name, "permissions": keys(&before) }),
    )?;
    Ok(group.name)
}

/// The group's members who are not deleted, by id.
pub fn member_ids(conn: &mut DbConnection, id: i64) -> Result<Vec<i64>, AppError> {
    Ok(users::table
        .filter(users::group_id.eq(id))
        .filter(users::status.ne("deleted"))
        .select(users::id)
        .order(users::id)
        .load(conn)?)
}

/// The members (not deleted) of each of these groups: (group, user) pairs, in one statement.
pub fn members_of(conn: &mut DbConnection, ids: &[i64]) -> Result<Vec<(i64, i64)>, AppError> {
    Ok(users::table
        .filter(users::group_id.eq_any(ids))
        .filter(users::status.ne("deleted"))
        .select((users::group_id, users::id))
        .order(users::id)
        .load(conn)?)
}

/// Makes exactly `wanted` the group's members, as a provisioning client (SCIM) lists them: a
/// user is in one group, so each newcomer moves in and each member no longer listed moves to
/// Customer, the default group. Every move is a change of group under its own rule.
pub fn set_members(conn: &mut DbConnection, actor: &Actor, id: i64, wanted: &[i64]) -> Result<(), AppError> {
    let current = member_ids(conn, id)?;
    let arriving: Vec<i64> = wanted.iter().copied().filter(|m| !current.contains(m)).collect();
    let leaving: Vec<i64> = current.iter().copied().filter(|m| !wanted.contains(m)).collect();
    let leaving_none = leaving.is_empty();
    if !leaving_none {
        let fallback = groups::find_builtin(conn, "customer")?.id;
        if fallback == id {
            return Err(AppError::BadRequest(
                "A user is always in one group: add them to another group instead.".into(),
            ));
        }
        for m in leaving {
            super::users::change_group(conn, actor, m, fallback)?;
        }
    }
    for &m in &arriving {
        let known = users_db::find(conn, m)?.is_some_and(|u| u.status() != crate::domain::UserStatus::Deleted);
        if !known {
            return Err(AppError::BadRequest(format!("members: there is no user {m}.")));
        }
        super::users::change_group(conn, actor, m, id)?;
    }
    if !(arriving.is_empty() && leaving_none) {
        // The group's version (its `updated_at`) moves with its members.
        diesel::update(groups_table::table.find(id)).set(groups_table::updated_at.eq(now())).execute(conn)?;
    }
    Ok(())
}

/// Keeps a provisioning client's id for the group, under the rule for editing it.
pub fn set_external_id(
    conn: &mut DbConnection,
    actor: &Actor,
    id: i64,
    external_id: Option<&str>,
) -> Result<(), AppError> {
    let (group, permissions) = groups::with_permissions(conn, id)?.ok_or(AppError::NotFound)?;
    if group.external_id.as_deref() == external_id {
        return Ok(());
    }
    may_change(conn, actor, Some(&group), Some(&permissions), &permissions)?;
    diesel::update(groups_table::table.find(id))
        .set((groups_table::external_id.eq(external_id), groups_table::updated_at.eq(now())))
        .execute(conn)?;
    audit::record(
        conn,
        &actor.audit,
        "group.updated",
        Event::new("group", id, &group.name),
        serde_json::json!({ "before": { "External id": group.external_id }, "after": { "External id": external_id } }),
    )
}

/// Deletes a custom group as a provisioning client does: its members move to Customer first.
/// Judged as deleting the group before anyone moves.
pub fn delete_with_members(conn: &mut DbConnection, actor: &Actor, id: i64) -> Result<String, AppError> {
    let (group, permissions) = groups::with_permissions(conn, id)?.ok_or(AppError::NotFound)?;
    may_change(conn, actor, Some(&group), Some(&permissions), &permissions)?;
    set_members(conn, actor, id, &[])?;
    delete(conn, actor, id)
}

/// Members of a group who must and do not yet use two-step sign-in: active, without a secret.
pub fn without_two_step(conn: &mut DbConnection, id: i64, limit: i64) -> Result<(i64, Vec<users_db::User>), AppError> {
    let query = || {
        users::table
            .filter(users::group_id.eq(id))
            .filter(users::status.eq("active"))
            .filter(users::totp_secret.is_null())
    };
    let count = query().count().get_result(conn)?;
    let some = query().order((users::last_name, users::first_name, users::id)).limit(limit).load(conn)?;
    Ok((count, some))
}

/// Mails each member who has not set up two-step sign-in that the group requires it, by when.
fn tell_the_unenrolled(conn: &mut DbConnection, group: &Group, due: chrono::NaiveDateTime) -> Result<i64, AppError> {
    let settings = crate::db::settings::Settings::load(conn)?;
    let (_, people) = without_two_step(conn, group.id, i64::MAX)?;
    for person in &people {
        let zone = crate::domain::time_zone(&person.time_zone).unwrap_or(settings.time_zone);
        let by = crate::domain::when_in(Some(due), zone);
        let lines = vec![
            format!(
                "Everyone in the group {} is asked to use two-step sign-in: a code from an app on your phone after your password.",
                group.name
            ),
            format!(
                "Set it up on My Profile by {by}. After that, signing in leads to the set-up page until it is done."
            ),
        ];
        let subject = format!("Set up two-step sign-in by {by}");
        let message = crate::mail::messages::notice(
            &settings,
            "two_step_required",
            &person.email,
            &person.first_name,
            subject,
            lines,
        )?;
        crate::db::outbox::enqueue(conn, &message)?;
    }
    Ok(people.len() as i64)
}

/// Whether the actor may set the group's two-step requirement (the rules' own judgement, with
/// the group's members).
fn may_require(conn: &mut DbConnection, actor: &Actor, id: i64) -> Result<Group, AppError> {
    let (group, permissions) = groups::with_permissions(conn, id)?.ok_or(AppError::NotFound)?;
    let members: Vec<(i64, bool)> = users::table
        .filter(users::group_id.eq(id))
        .filter(users::status.ne("deleted"))
        .select((users::id, users::is_owner))
        .load(conn)?;
    let people: Vec<Person<'_>> =
        members.iter().map(|&(id, is_owner)| Person { id, is_owner, permissions: &permissions }).collect();
    rules::may_require_two_step(&actor.person(), &permissions, &people).map_err(AppError::Refused)?;
    Ok(group)
}

/// Requires two-step sign-in of the group's members, with `days` to set it up (from now, or from
/// when it was first required), or stops requiring it. Returns how many members were mailed.
pub fn require_two_step(
    conn: &mut DbConnection,
    actor: &Actor,
    id: i64,
    required: bool,
    days: i32,
) -> Result<i64, AppError> {
    let group = may_require(conn, actor, id)?;
    if !(0..=90).contains(&days) {
        return Err(AppError::Unfit("Give 0 to 90 days.".into()));
    }
    let since = if required { Some(group.two_step_required_at.unwrap_or_else(now)) } else { None };
    diesel::update(groups_table::table.find(id))
        .set((
            groups_table::two_step_required_at.eq(since),
            groups_table::two_step_grace_days.eq(days),
            groups_table::updated_at.eq(now()),
        ))
        .execute(conn)?;
    let details = serde_json::json!({ "required": required, "days": days });
    audit::record(conn, &actor.audit, "group.two_step_required", Event::new("group", id, &group.name), details)?;
    match since {
        Some(since) if group.two_step_required_at.is_none() => {
            tell_the_unenrolled(conn, &group, since + chrono::Duration::days(i64::from(days)))
        }
        _ => Ok(0),
    }
}

/// Makes the group's members sign in through `provider` (their password and passkey alone are
/// refused then; the owner's never are), or lets them sign in any way they have again.
pub fn require_provider(
    conn: &mut DbConnection,
    actor: &Actor,
    id: i64,
    provider: Option<i64>,
) -> Result<(), AppError> {
    let group = may_require(conn, actor, id)?;
    let name = match provider {
        Some(p) => {
            Some(crate::db::oidc::find(conn, p)?.ok_or_else(|| AppError::Unfit("Choose a provider.".into()))?.name)
        }
        None => None,
    };
    diesel::update(groups_table::table.find(id))
        .set((groups_table::sign_in_provider_id.eq(provider), groups_table::updated_at.eq(now())))
        .execute(conn)?;
    let details = serde_json::json!({ "provider": name });
    audit::record(conn, &actor.audit, "group.provider_required", Event::new("group", id, &group.name), details)
}

/// One more mail to each member who has not set it up yet; how many.
pub fn remind_two_step(conn: &mut DbConnection, actor: &Actor, id: i64) -> Result<i64, AppError> {
    let group = may_require(conn, actor, id)?;
    let Some(due) = group.two_step_due() else {
        return Err(AppError::Unfit(format!("The group {} does not require two-step sign-in.", group.name)));
    };
    let mailed = tell_the_unenrolled(conn, &group, due)?;
    let details = serde_json::json!({ "mailed": mailed });
    audit::record(conn, &actor.audit, "group.two_step_reminded", Event::new("group", id, &group.name), details)?;
    Ok(mailed)
}
