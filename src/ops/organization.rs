//! The organization's settings (name, self-signup and its domains, link and session
//! lifetimes, the mail sender), and the test email.

use super::Actor;
use crate::db::audit::{self, Target};
use crate::db::settings::{self, Settings};
use crate::db::{DbConnection, outbox};
use crate::domain::Permission;
use crate::error::AppError;

fn need(actor: &Actor) -> Result<(), AppError> {
    if actor.permissions.has(Permission::SettingsManage) { Ok(()) } else { Err(AppError::Forbidden) }
}

/// Saves the settings that changed (`values` are parsed and valid), with one audit event
/// holding each one's before and after.
pub fn update(conn: &mut DbConnection, actor: &Actor, values: &[(&'static str, String)]) -> Result<(), AppError> {
    need(actor)?;
    let mut before = serde_json::Map::new();
    let mut after = serde_json::Map::new();
    for (key, value) in values {
        let old = settings::get(conn, key)?;
        if old.as_deref() != Some(value.as_str()) {
            settings::set(conn, key, value)?;
            before.insert((*key).into(), old.map_or(serde_json::Value::Null, Into::into));
            after.insert((*key).into(), value.clone().into());
        }
    }
    if !after.is_empty() {
        let details = serde_json::json!({ "before": before, "after": after });
        audit::record(conn, &actor.audit, "settings.updated", Target::none(), details)?;
    }
    Ok(())
}

/// Queues a test email to the actor; returns the mail's id, whose delivery the page shows.
pub fn test_email(conn: &mut DbConnection, actor: &Actor) -> Result<i64, AppError> {
    need(actor)?;
    let settings = Settings::load(conn)?;
    let message = crate::mail::messages::test_email(&settings, &actor.email)?;
    let id = outbox::enqueue(conn, &message)?;
    let details = serde_json::json!({ "to": actor.email, "mail_id": id });
    audit::record(conn, &actor.audit, "settings.test_email", Target::none(), details)?;
    Ok(id)
}

/// Records that the audit log (under `filter`, a query string) was exported.
pub fn record_audit_export(conn: &mut DbConnection, actor: &Actor, filter: &str) -> Result<(), AppError> {
    if !actor.permissions.has(Permission::AuditView) {
        return Err(AppError::Forbidden);
    }
    audit::record(conn, &actor.audit, "audit.exported", Target::none(), serde_json::json!({ "filter": filter }))
}
