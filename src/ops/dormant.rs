//! Dormant accounts: with the organization's `dormant_disable` on (off by default), an active
//! account without a sign-in for `dormant_days` is disabled by itself, as the system. The owner
//! and administrators never are: the owner gets a report of the dormant administrators instead,
//! at most once a week. Every process runs this; each disabling is a conditional write, and the
//! week's report is claimed by one.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::db::audit;
use crate::db::schema::{settings as settings_table, users};
use crate::db::settings::{Settings, keys};
use crate::db::{DbConnection, groups, outbox};
use crate::domain::UserStatus;
use crate::error::AppError;

/// What one round did: how many were disabled, and whether the report went out.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Done {
    pub disabled: usize,
    pub reported: bool,
}

pub fn run(conn: &mut DbConnection, at: NaiveDateTime) -> Result<Done, AppError> {
    let settings = Settings::load(conn)?;
    let mut done = Done::default();
    if !settings.dormant_disable {
        return Ok(done);
    }
    let since = at - chrono::Duration::days(settings.dormant_days);
    let admin_groups: Vec<i64> = groups::list_with_permissions(conn)?
        .into_iter()
        .filter(|(_, permissions)| permissions.is_admin())
        .map(|(g, _)| g.id)
        .collect();
    let dormant: Vec<(i64, String, String, String, i64, bool)> = users::table
        .filter(users::status.eq(UserStatus::Active.as_str()))
        .filter(users::last_sign_in_at.lt(since).or(users::last_sign_in_at.is_null().and(users::created_at.lt(since))))
        .order(users::id)
        .select((users::id, users::first_name, users::last_name, users::email, users::group_id, users::is_owner))
        .load(conn)?;
    let mut kept = Vec::new();
    for (id, first, last, email, group_id, is_owner) in dormant {
        if is_owner || admin_groups.contains(&group_id) {
            kept.push(audit::person_label(&first, &last, &email));
        } else if crate::db::transaction(conn, |conn| {
            super::users::disable_by_itself(conn, id, &[UserStatus::Active], "dormant")
        })? {
            done.disabled += 1;
        }
    }
    if !kept.is_empty() {
        // The date of the last report, there to be claimed (another process may add it first).
        if crate::db::settings::get(conn, keys::DORMANT_REPORTED_AT)?.is_none() {
            let _ = diesel::insert_into(settings_table::table)
                .values((settings_table::key.eq(keys::DORMANT_REPORTED_AT), settings_table::value.eq("1970-01-01")))
                .execute(conn);
        }
        done.reported = crate::db::transaction(conn, |conn| report(conn, &settings, &kept, at))?;
    }
    if done != Done::default() {
        tracing::info!(?done, "dormant accounts");
    }
    Ok(done)
}

/// Mails the owner the dormant administrators, unless this week's report was claimed already.
fn report(conn: &mut DbConnection, settings: &Settings, kept: &[String], at: NaiveDateTime) -> Result<bool, AppError> {
    let week_ago = (at - chrono::Duration::days(7)).format("%Y-%m-%d %H:%M:%S").to_string();
    let now = at.format("%Y-%m-%d %H:%M:%S").to_string();
    // Claimed by whoever moves the date on.
    let claimed = diesel::update(
        settings_table::table
            .filter(settings_table::key.eq(keys::DORMANT_REPORTED_AT))
            .filter(settings_table::value.lt(&week_ago)),
    )
    .set(settings_table::value.eq(&now))
    .execute(conn)?;
    if claimed != 1 {
        return Ok(false);
    }
    let owner: Option<(String, String)> = users::table
        .filter(users::is_owner.eq(true))
        .select((users::email, users::first_name))
        .first(conn)
        .optional()?;
    let Some((to, first_name)) = owner else { return Ok(false) };
    let mut lines = vec![format!(
        "These administrators have not signed in for {} days. They are not disabled by themselves; disable them on their pages if they no longer need the portal:",
        settings.dormant_days
    )];
    lines.extend(kept.iter().map(|label| format!("– {label}")));
    let subject = format!("Dormant administrators in {}", settings.org_name);
    let mail = crate::mail::messages::notice(settings, "dormant_report", &to, &first_name, subject, lines)?;
    outbox::enqueue(conn, &mail)?;
    Ok(true)
}
