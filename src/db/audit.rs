//! The audit log: one row for every change and every sign-in event. Never edited or deleted.

use actix_web::HttpRequest;
use diesel::prelude::*;

use super::schema::audit_events;
use super::{DbConnection, now};
use crate::error::AppError;

/// Who acts, from where: taken from the request once, handed to every `record`.
#[derive(Debug, Clone, Default)]
pub struct AuditContext {
    pub actor_id: Option<i64>,
    pub impersonator_id: Option<i64>,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
}

impl AuditContext {
    pub fn from_request(req: &HttpRequest, actor_id: Option<i64>, impersonator_id: Option<i64>) -> Self {
        AuditContext {
            actor_id,
            impersonator_id,
            ip: crate::auth::client::of_request(req).map(|ip| ip.to_string()),
            user_agent: req
                .headers()
                .get(actix_web::http::header::USER_AGENT)
                .and_then(|v| v.to_str().ok())
                .map(|s| s.chars().take(300).collect()),
        }
    }

    /// The same place, acting as someone else (a person who just signed in or signed up).
    pub fn as_actor(&self, actor_id: i64) -> Self {
        AuditContext { actor_id: Some(actor_id), ..self.clone() }
    }

    /// For commands run on the server itself.
    pub fn system() -> Self {
        AuditContext::default()
    }
}

/// What an event is about.
pub struct Target {
    pub kind: &'static str,
    pub id: Option<i64>,
    pub label: String,
}

impl Target {
    pub fn user(id: i64, email: &str) -> Self {
        Target { kind: "user", id: Some(id), label: email.to_owned() }
    }

    pub fn new(kind: &'static str, id: i64, label: impl Into<String>) -> Self {
        Target { kind, id: Some(id), label: label.into() }
    }

    pub fn none() -> Self {
        Target { kind: "", id: None, label: String::new() }
    }
}

pub fn record(
    conn: &mut DbConnection,
    ctx: &AuditContext,
    action: &str,
    target: Target,
    details: serde_json::Value,
) -> Result<(), AppError> {
    diesel::insert_into(audit_events::table)
        .values((
            audit_events::at.eq(now()),
            audit_events::actor_id.eq(ctx.actor_id),
            audit_events::impersonator_id.eq(ctx.impersonator_id),
            audit_events::action.eq(action),
            audit_events::target_type.eq((!target.kind.is_empty()).then_some(target.kind)),
            audit_events::target_id.eq(target.id),
            audit_events::target_label.eq(target.label),
            audit_events::details.eq(details.to_string()),
            audit_events::ip.eq(&ctx.ip),
            audit_events::user_agent.eq(&ctx.user_agent),
        ))
        .execute(conn)?;
    Ok(())
}

/// An event as the audit views show it.
#[derive(Debug, Clone, Queryable)]
pub struct EventRow {
    pub id: i64,
    pub at: chrono::NaiveDateTime,
    pub actor_email: Option<String>,
    pub actor_first_name: Option<String>,
    pub actor_last_name: Option<String>,
    pub action: String,
    pub details: String,
}

/// The latest events about one target.
pub fn for_target(conn: &mut DbConnection, kind: &str, id: i64, limit: i64) -> Result<Vec<EventRow>, AppError> {
    use super::schema::users;
    Ok(audit_events::table
        .left_join(users::table.on(users::id.nullable().eq(audit_events::actor_id)))
        .filter(audit_events::target_type.eq(kind))
        .filter(audit_events::target_id.eq(id))
        .order(audit_events::id.desc())
        .limit(limit)
        .select((
            audit_events::id,
            audit_events::at,
            users::email.nullable(),
            users::first_name.nullable(),
            users::last_name.nullable(),
            audit_events::action,
            audit_events::details,
        ))
        .load(conn)?)
}
