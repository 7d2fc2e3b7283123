//! Work no request asks for, done now and then by every process: the warnings and ends of access
//! that ends by itself, dormant accounts, deleting the sessions that can no longer be used and
//! the audit events the retention setting no longer keeps.
//! Each step is safe to run twice or in two processes at once.

use chrono::NaiveDateTime;

use crate::db::settings::Settings;
use crate::db::{Db, DbConnection, audit};
use crate::error::AppError;

/// How often the work is done.
const EVERY: std::time::Duration = std::time::Duration::from_secs(60 * 60);

/// One round at `at`: how many audit events were deleted.
pub fn run_once(conn: &mut DbConnection, at: NaiveDateTime) -> Result<usize, AppError> {
    super::access_ends::run(conn, at)?;
    super::dormant::run(conn, at)?;
    super::api_tokens::warn_ending(conn, at)?;
    let settings = Settings::load(conn)?;
    let (idle_before, started_before) = crate::db::sessions::Lifetime::of(&settings).dead_before(at);
    crate::db::sessions::delete_dead(conn, idle_before, started_before)?;
    crate::db::passkeys::delete_stale(conn, at - chrono::Duration::hours(1))?;
    if settings.audit_retention_days == 0 {
        return Ok(0);
    }
    let deleted = audit::delete_older_than(conn, settings.audit_retention_days, at)?;
    if deleted > 0 {
        tracing::info!(deleted, days = settings.audit_retention_days, "old audit events deleted");
    }
    Ok(deleted)
}

/// Rounds until `stopped` turns true: one at start, then one every hour.
pub async fn run(db: Db, mut stopped: tokio::sync::watch::Receiver<bool>) {
    loop {
        let round = db.clone();
        if let Err(e) = round.run(|conn| run_once(conn, crate::db::now())).await {
            tracing::warn!(error = ?e, "housekeeping failed; trying again later");
        }
        tokio::select! {
            _ = tokio::time::sleep(EVERY) => {}
            changed = stopped.changed() => if changed.is_err() || *stopped.borrow() {
                return;
            },
        }
    }
}
