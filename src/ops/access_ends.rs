//! Access that ends by itself. A building or account grant, or a person's whole account, may
//! carry its last day. `access_end_warning_days` before it (7 by default) the user and the
//! administrator who granted it get one mail; the day after it the grant is revoked or the
//! person disabled (their sessions end), recorded as done by the system.
//!
//! Every process runs `run` now and then. Each warning and each end is claimed by a conditional
//! write (the mark "warned" set only where it was not; the grant deleted only while it exists,
//! the person disabled only while active), so two processes never act twice on the same thing.

use chrono::{NaiveDate, NaiveDateTime, TimeZone};
use diesel::prelude::*;

use super::{Actor, Target};
use crate::db::audit::{self, AuditContext, Target as Event};
use crate::db::schema::{account_access, accounts, building_access, buildings, users};
use crate::db::settings::Settings;
use crate::db::user_access::{self, Grant};
use crate::db::{DbConnection, outbox, users as users_db};
use crate::domain::rules::Action;
use crate::domain::{UserStatus, day_text};
use crate::error::AppError;

/// The organization's date at `at`.
pub fn today(settings: &Settings, at: NaiveDateTime) -> NaiveDate {
    settings.time_zone.from_utc_datetime(&at).date_naive()
}

const IN_THE_PAST: &str = "An end date from today on (the last day access holds).";

/// Sets the last days of grants the user has (`None`: until revoked), each within the actor's
/// reach; how many changed.
pub fn set_grant_ends(
    conn: &mut DbConnection,
    actor: &Actor,
    id: i64,
    ends: &[(Grant, Option<NaiveDate>)],
    at: NaiveDateTime,
) -> Result<usize, AppError> {
    let target = Target::load(conn, id)?;
    actor.may(Action::ChangeAccess, &target)?;
    let today = today(&Settings::load(conn)?, at);
    if ends.iter().any(|(_, day)| day.is_some_and(|d| d < today)) {
        return Err(AppError::Unfit(IN_THE_PAST.into()));
    }
    // Changing when a grant ends is changing the grant: every one must be within reach (judged
    // once for them all, as if they were revoked).
    let current = user_access::of_user(conn, id)?;
    let mut without = current.clone();
    for (grant, _) in ends {
        match grant {
            Grant::Building(b) => without.buildings.remove(b),
            Grant::Account(a) => without.accounts.remove(a),
        };
    }
    super::access::within_reach(conn, actor, &current, &without)?;
    let mut changed = Vec::new();
    for (grant, day) in ends {
        if user_access::set_end(conn, id, *grant, *day)? {
            changed.push(serde_json::json!({ "grant": grant, "ends_on": day }));
        }
    }
    if !changed.is_empty() {
        let details = serde_json::json!({ "ends": changed });
        audit::record(conn, &actor.audit, "user.access_ends_set", Event::user(id, &target.user.email), details)?;
    }
    Ok(changed.len())
}

/// Sets the last day of a person's account (`None`: no end): the day after, they are disabled.
pub fn set_account_end(
    conn: &mut DbConnection,
    actor: &Actor,
    id: i64,
    day: Option<NaiveDate>,
    at: NaiveDateTime,
) -> Result<Target, AppError> {
    let target = Target::load(conn, id)?;
    actor.may(Action::Disable, &target)?;
    if target.user.status() == UserStatus::Deleted {
        return Err(AppError::NotFound);
    }
    let today = today(&Settings::load(conn)?, at);
    if day.is_some_and(|d| d < today) {
        return Err(AppError::Unfit(IN_THE_PAST.into()));
    }
    if target.user.ends_on != day {
        diesel::update(users::table.find(id))
            .set((users::ends_on.eq(day), users::end_warned.eq(false)))
            .execute(conn)?;
        let details =
            serde_json::json!({ "before": { "Account ends": target.user.ends_on }, "after": { "Account ends": day } });
        audit::record(conn, &actor.audit, "user.updated", Event::user(id, &target.user.email), details)?;
    }
    Ok(target)
}

/// What one run did.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Done {
    pub warned: usize,
    pub revoked: usize,
    pub disabled: usize,
}

/// A grant as a round reads it: user, building or account, last day, granted by, what it is
/// called, whether its warning was sent.
type GrantRow = (i64, i64, Option<NaiveDate>, Option<i64>, String, bool);

/// One round at `at`: the warnings due and the ends past.
pub fn run(conn: &mut DbConnection, at: NaiveDateTime) -> Result<Done, AppError> {
    let settings = Settings::load(conn)?;
    let today = today(&settings, at);
    let warn_from = today + chrono::Duration::days(settings.access_end_warning_days);
    let mut done = Done::default();

    // Grants: (user, grant, last day, granted by, what it is called).
    let building_grants: Vec<GrantRow> = building_access::table
        .inner_join(buildings::table)
        .filter(building_access::ends_on.le(warn_from))
        .select((
            building_access::user_id,
            building_access::building_id,
            building_access::ends_on,
            building_access::granted_by,
            buildings::name,
            building_access::end_warned,
        ))
        .load(conn)?;
    let account_grants: Vec<GrantRow> = account_access::table
        .inner_join(accounts::table)
        .filter(account_access::ends_on.le(warn_from))
        .select((
            account_access::user_id,
            account_access::account_id,
            account_access::ends_on,
            account_access::granted_by,
            accounts::name,
            account_access::end_warned,
        ))
        .load(conn)?;
    let grants =
        building_grants.into_iter().map(|(u, b, d, by, name, w)| (u, Grant::Building(b), d, by, name, w)).chain(
            account_grants
                .into_iter()
                .map(|(u, a, d, by, name, w)| (u, Grant::Account(a), d, by, format!("all of {name}"), w)),
        );
    for (user_id, grant, day, granted_by, name, warned) in grants {
        let Some(day) = day else { continue };
        if day < today {
            if crate::db::transaction(conn, |conn| end_grant(conn, user_id, grant, &name))? {
                done.revoked += 1;
            }
        } else if !warned
            && crate::db::transaction(conn, |conn| warn_grant(conn, &settings, user_id, grant, day, granted_by, &name))?
        {
            done.warned += 1;
        }
    }

    // People whose account ends.
    let people: Vec<(i64, Option<NaiveDate>, bool)> = users::table
        .filter(users::ends_on.le(warn_from))
        .filter(users::status.eq_any([UserStatus::Active.as_str(), UserStatus::Invited.as_str()]))
        .select((users::id, users::ends_on, users::end_warned))
        .load(conn)?;
    for (user_id, day, warned) in people {
        let Some(day) = day else { continue };
        if day < today {
            if crate::db::transaction(conn, |conn| end_account(conn, user_id))? {
                done.disabled += 1;
            }
        } else if !warned && crate::db::transaction(conn, |conn| warn_account(conn, &settings, user_id, day))? {
            done.warned += 1;
        }
    }
    if done != Done::default() {
        tracing::info!(?done, "access ends: warned and ended");
    }
    Ok(done)
}

/// The mail that access ends soon.
fn ending(
    settings: &Settings,
    to: &str,
    first_name: &str,
    lines: Vec<String>,
) -> Result<crate::mail::Message, AppError> {
    let subject = format!("Access to {} ends soon", settings.org_name);
    crate::mail::messages::notice(settings, "access_ending", to, first_name, subject, lines)
}

/// Claims and sends the warning of one grant; false when another process did.
fn warn_grant(
    conn: &mut DbConnection,
    settings: &Settings,
    user_id: i64,
    grant: Grant,
    day: NaiveDate,
    granted_by: Option<i64>,
    name: &str,
) -> Result<bool, AppError> {
    let claimed = match grant {
        Grant::Building(b) => {
            diesel::update(building_access::table.find((user_id, b)).filter(building_access::end_warned.eq(false)))
                .set(building_access::end_warned.eq(true))
                .execute(conn)?
        }
        Grant::Account(a) => {
            diesel::update(account_access::table.find((user_id, a)).filter(account_access::end_warned.eq(false)))
                .set(account_access::end_warned.eq(true))
                .execute(conn)?
        }
    };
    if claimed != 1 {
        return Ok(false);
    }
    let Some(user) = users_db::find(conn, user_id)? else { return Ok(true) };
    let when = day_text(day);
    let mail = ending(
        settings,
        &user.email,
        &user.first_name,
        vec![
            format!("Your access to {name} ends after {when}."),
            "Ask your administrator if you still need it.".into(),
        ],
    )?;
    outbox::enqueue(conn, &mail)?;
    if let Some(admin) = granted_by.map(|id| users_db::find(conn, id)).transpose()?.flatten()
        && admin.status() == UserStatus::Active
        && admin.id != user.id
    {
        let mail = ending(
            settings,
            &admin.email,
            &admin.first_name,
            vec![
                format!("{}'s access to {name}, which you granted, ends after {when}.", user.full_name()),
                "Change the end date on their page if they still need it.".into(),
            ],
        )?;
        outbox::enqueue(conn, &mail)?;
    }
    Ok(true)
}

/// Revokes one grant past its last day, as the system; false when it was gone already.
fn end_grant(conn: &mut DbConnection, user_id: i64, grant: Grant, name: &str) -> Result<bool, AppError> {
    let removed = match grant {
        Grant::Building(b) => diesel::delete(building_access::table.find((user_id, b))).execute(conn)?,
        Grant::Account(a) => diesel::delete(account_access::table.find((user_id, a))).execute(conn)?,
    };
    if removed != 1 {
        return Ok(false);
    }
    let email: String = users::table.find(user_id).select(users::email).first(conn)?;
    let details = match grant {
        Grant::Building(b) => serde_json::json!({ "buildings_removed": [b], "ended": name }),
        Grant::Account(a) => serde_json::json!({ "accounts_removed": [a], "ended": name }),
    };
    audit::record(conn, &AuditContext::system(), "user.access_changed", Event::user(user_id, &email), details)?;
    Ok(true)
}

/// Claims and sends the warning of an account's end.
fn warn_account(conn: &mut DbConnection, settings: &Settings, user_id: i64, day: NaiveDate) -> Result<bool, AppError> {
    let claimed = diesel::update(users::table.find(user_id).filter(users::end_warned.eq(false)))
        .set(users::end_warned.eq(true))
        .execute(conn)?;
    if claimed != 1 {
        return Ok(false);
    }
    let Some(user) = users_db::find(conn, user_id)? else { return Ok(true) };
    let mail = ending(
        settings,
        &user.email,
        &user.first_name,
        vec![
            format!("Your {} account ends after {}: it is disabled by itself then.", settings.org_name, day_text(day)),
            "Ask your administrator if you still need it.".into(),
        ],
    )?;
    outbox::enqueue(conn, &mail)?;
    Ok(true)
}

/// Disables one person past their account's last day, as the system, ending their sessions;
/// false when they were not active or invited any more.
fn end_account(conn: &mut DbConnection, user_id: i64) -> Result<bool, AppError> {
    super::users::disable_by_itself(conn, user_id, &[UserStatus::Active, UserStatus::Invited], "account end date")
}
