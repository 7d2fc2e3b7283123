//! The Audit log tab (`audit.view`): every event, newest first, in words with the names people
//! had then and links to them as they are now; filters by who acted, whom it was about, the
//! kind of action, dates and "while signed in as someone else"; one event's before and after
//! on its own page; the current filter as CSV, streamed.

use actix_web::http::{StatusCode, header};
use actix_web::{HttpResponse, web};
use askama::Template;
use chrono::{NaiveDate, NaiveDateTime};
use futures_util::stream;
use serde::Deserialize;
use serde_json::Value;

use crate::auth::Require;
use crate::auth::current_user::ViewAudit;
use crate::db::audit::{self, CATEGORIES, Cursor, Event, Filter};
use crate::db::{DbConnection, users};
use crate::domain::FieldErrors;
use crate::error::AppError;
use crate::state::AppState;
use crate::web::layout::{Layout, Tab};
use crate::web::users::history::{About, name_in, sentence_about};
use crate::web::users::when;
use crate::web::{render, urlencode};

const PER_PAGE: i64 = 50;

/// The filter as typed (every field text, so nothing typed is refused before it is read).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct AuditParams {
    actor: String,
    user: String,
    category: String,
    from: String,
    to: String,
    impersonated: String,
    before: String,
    after: String,
}

impl AuditParams {
    /// What was typed, bounded and without control characters, as the form shows it again.
    fn cleaned(mut self) -> AuditParams {
        for field in [&mut self.actor, &mut self.user, &mut self.category, &mut self.from, &mut self.to] {
            *field = field.chars().filter(|c| !c.is_control()).take(320).collect::<String>().trim().to_owned();
        }
        self
    }

    /// The filter's part of a link (no page position).
    fn query(&self) -> String {
        [
            ("actor", &self.actor),
            ("user", &self.user),
            ("category", &self.category),
            ("from", &self.from),
            ("to", &self.to),
            ("impersonated", &self.impersonated),
        ]
        .iter()
        .filter(|(_, v)| !v.is_empty())
        .map(|(k, v)| format!("{k}={}", urlencode(v)))
        .collect::<Vec<_>>()
        .join("&")
    }

    fn href(&self, cursor: Option<(&str, i64)>) -> String {
        let mut query = self.query();
        if let Some((key, id)) = cursor {
            if !query.is_empty() {
                query.push('&');
            }
            query.push_str(&format!("{key}={id}"));
        }
        if query.is_empty() { "/audit".to_owned() } else { format!("/audit?{query}") }
    }

    fn cursor(&self) -> Cursor {
        match (self.before.parse::<i64>(), self.after.parse::<i64>()) {
            (Ok(id), _) if id > 0 => Cursor::Before(id),
            (_, Ok(id)) if id > 0 => Cursor::After(id),
            _ => Cursor::Newest,
        }
    }

    fn filtered(&self) -> bool {
        !self.query().is_empty()
    }
}

/// The first day of a typed date range, or the day after its last, in UTC as events are kept.
fn day(typed: &str, zone: chrono_tz::Tz, after: bool) -> Result<Option<NaiveDateTime>, &'static str> {
    if typed.is_empty() {
        return Ok(None);
    }
    let date = NaiveDate::parse_from_str(typed, "%Y-%m-%d").map_err(|_| "A date like 2026-12-03.")?;
    let date = if after { date.succ_opt().ok_or("A date like 2026-12-03.")? } else { date };
    Ok(Some(crate::domain::time_zone::start_of_day(date, zone)))
}

/// The typed filter as the database reads it, or the messages for the fields that are wrong.
fn filter_of(
    conn: &mut DbConnection,
    params: &AuditParams,
    zone: chrono_tz::Tz,
) -> Result<Result<Filter, FieldErrors>, AppError> {
    let mut errors = FieldErrors::new();
    let mut person = |conn: &mut DbConnection, field: &'static str, typed: &str| -> Result<Option<i64>, AppError> {
        if typed.is_empty() {
            return Ok(None);
        }
        let found = users::find_by_email(conn, &typed.to_lowercase())?;
        if found.is_none() {
            errors.add(field, "Nobody has this email address.");
        }
        Ok(found.map(|u| u.id))
    };
    let actor_id = person(conn, "actor", &params.actor)?;
    let target_user_id = person(conn, "user", &params.user)?;
    let category = match params.category.as_str() {
        "" => None,
        typed => {
            let found = CATEGORIES.iter().find(|(key, _)| *key == typed).map(|(key, _)| *key);
            if found.is_none() {
                errors.add("category", "Choose a kind of action from the list.");
            }
            found
        }
    };
    let from = day(&params.from, zone, false).unwrap_or_else(|m| {
        errors.add("from", m);
        None
    });
    let until = day(&params.to, zone, true).unwrap_or_else(|m| {
        errors.add("to", m);
        None
    });
    if let (Some(from), Some(until)) = (from, until)
        && until <= from
    {
        errors.add("to", "The last day comes on or after the first.");
    }
    if !errors.is_empty() {
        return Ok(Err(errors));
    }
    Ok(Ok(Filter { actor_id, target_user_id, category, from, until, impersonated: params.impersonated == "1" }))
}

/// Who acted, as an event names them.
fn actor_name(e: &Event) -> String {
    match (e.actor_label.as_str(), e.action.as_str()) {
        ("", "sign_in.failed" | "sign_in.locked") => "Someone".to_owned(),
        ("", _) => "The system".to_owned(),
        (label, _) => name_in(label).to_owned(),
    }
}

/// What an event is about, named as it was then, and where it is now.
fn about(e: &Event) -> (Option<String>, Option<String>) {
    let label = (!e.target_label.is_empty()).then(|| e.target_label.clone());
    let href = match (e.target_type.as_deref(), e.target_id) {
        (Some("user"), Some(id)) => Some(format!("/users/{id}")),
        (Some("group"), Some(id)) => Some(format!("/groups/{id}")),
        (Some("building"), Some(id)) => Some(format!("/buildings/{id}")),
        (Some("account"), Some(id)) => Some(format!("/accounts/{id}")),
        _ => None,
    };
    (label, href)
}

fn sentence(e: &Event) -> String {
    let (label, _) = about(e);
    let user = e.target_type.as_deref() == Some("user");
    let about = match label.as_deref() {
        _ if user && e.target_id.is_some() && e.target_id == e.actor_id => About::Themselves,
        Some(label) if user => About::Named(name_in(label)),
        Some(label) => About::Named(label),
        None => About::Nothing,
    };
    sentence_about(&actor_name(e), &e.action, &e.details, about)
}

struct Row {
    id: i64,
    at: String,
    sentence: String,
    actor: String,
    actor_href: Option<String>,
    impersonator: String,
    impersonator_href: Option<String>,
    about: Option<String>,
    about_href: Option<String>,
}

fn row(e: Event, zone: chrono_tz::Tz) -> Row {
    let (about, about_href) = about(&e);
    Row {
        id: e.id,
        at: when(Some(e.at), zone),
        sentence: sentence(&e),
        actor: e.actor_label.clone(),
        actor_href: e.actor_id.map(|id| format!("/users/{id}")),
        impersonator: e.impersonator_label.clone(),
        impersonator_href: e.impersonator_id.map(|id| format!("/users/{id}")),
        about,
        about_href,
    }
}

#[derive(Template)]
#[template(path = "audit/list.html")]
struct ListPage {
    layout: Layout,
    params: AuditParams,
    errors: FieldErrors,
    categories: &'static [(&'static str, &'static str)],
    rows: Vec<Row>,
    filtered: bool,
    newer_href: Option<String>,
    older_href: Option<String>,
    newest_href: Option<String>,
    export_href: String,
}

pub async fn list(
    state: web::Data<AppState>,
    user: Require<ViewAudit>,
    params: web::Query<AuditParams>,
) -> Result<HttpResponse, AppError> {
    let params = params.into_inner().cleaned();
    let zone = user.time_zone;
    let cursor = params.cursor();
    let typed = params.clone();
    let found = state
        .db
        .run(move |conn| {
            Ok(match filter_of(conn, &typed, zone)? {
                Ok(filter) => Ok(audit::page(conn, &filter, cursor, PER_PAGE)?),
                Err(errors) => Err(errors),
            })
        })
        .await?;
    let (rows, more, errors) = match found {
        Ok((rows, more)) => (rows, more, FieldErrors::new()),
        Err(errors) => (Vec::new(), false, errors),
    };
    // Older pages exist when reading older found more, or when reading newer started from one.
    let (newest, oldest) = (rows.first().map(|e| e.id), rows.last().map(|e| e.id));
    let older = match cursor {
        Cursor::After(_) => true,
        _ => more,
    };
    let newer = match cursor {
        Cursor::Newest => false,
        Cursor::Before(_) => true,
        Cursor::After(_) => more,
    };
    let status = if errors.is_empty() { StatusCode::OK } else { StatusCode::UNPROCESSABLE_ENTITY };
    let page = ListPage {
        layout: user.layout("Audit log", Tab::Audit),
        categories: &CATEGORIES,
        filtered: params.filtered(),
        newer_href: newest.filter(|_| newer).map(|id| params.href(Some(("after", id)))),
        older_href: oldest.filter(|_| older).map(|id| params.href(Some(("before", id)))),
        newest_href: (cursor != Cursor::Newest).then(|| params.href(None)),
        export_href: match params.query() {
            q if q.is_empty() => "/audit/export.csv".to_owned(),
            q => format!("/audit/export.csv?{q}"),
        },
        rows: rows.into_iter().map(|e| row(e, zone)).collect(),
        params,
        errors,
    };
    render(status, &page)
}

/// One changed field: its name, before, after.
struct Change {
    field: String,
    before: String,
    after: String,
}

#[derive(Template)]
#[template(path = "audit/show.html")]
struct ShowPage {
    layout: Layout,
    row: Row,
    action: String,
    ip: String,
    user_agent: String,
    changes: Vec<Change>,
    details: Vec<(String, String)>,
    raw: String,
}

/// A recorded value as text ("(none)" for nothing).
fn shown(value: &Value) -> String {
    match value {
        Value::Null => "(none)".to_owned(),
        Value::String(s) if s.is_empty() => "(none)".to_owned(),
        Value::String(s) => s.clone(),
        Value::Array(items) if items.is_empty() => "(none)".to_owned(),
        Value::Array(items) => items.iter().map(shown).collect::<Vec<_>>().join(", "),
        other => other.to_string(),
    }
}

pub async fn show(
    state: web::Data<AppState>,
    user: Require<ViewAudit>,
    path: web::Path<i64>,
) -> Result<HttpResponse, AppError> {
    let id = path.into_inner();
    let zone = user.time_zone;
    let event = state.db.run(move |conn| audit::find(conn, id)).await?.ok_or(AppError::NotFound)?;
    let details: Value = serde_json::from_str(&event.details).unwrap_or(Value::Null);
    let mut changes = Vec::new();
    if let (Some(before), Some(after)) = (details["before"].as_object(), details["after"].as_object()) {
        let mut fields: Vec<&String> = before.keys().chain(after.keys()).collect();
        fields.sort();
        fields.dedup();
        for field in fields {
            let (b, a) = (before.get(field).unwrap_or(&Value::Null), after.get(field).unwrap_or(&Value::Null));
            if b != a {
                changes.push(Change { field: field.replace('_', " "), before: shown(b), after: shown(a) });
            }
        }
    }
    let others = details
        .as_object()
        .map(|o| {
            o.iter()
                .filter(|(k, _)| k.as_str() != "before" && k.as_str() != "after")
                .map(|(k, v)| (k.replace('_', " "), shown(v)))
                .collect()
        })
        .unwrap_or_default();
    let page = ShowPage {
        layout: user.layout(format!("Event {id}"), Tab::Audit),
        action: event.action.clone(),
        ip: event.ip.clone().unwrap_or_else(|| "—".into()),
        user_agent: event.user_agent.clone().unwrap_or_else(|| "—".into()),
        changes,
        details: others,
        raw: event.details.clone(),
        row: row(event, zone),
    };
    render(StatusCode::OK, &page)
}

const HEADER: [&str; 14] = [
    "id",
    "at",
    "actor_id",
    "actor",
    "impersonator_id",
    "impersonator",
    "action",
    "category",
    "target_type",
    "target_id",
    "target",
    "what",
    "ip",
    "details",
];

fn encode(rows: &[Event], header: bool) -> Result<Vec<u8>, AppError> {
    let mut w = csv::Writer::from_writer(Vec::with_capacity(rows.len() * 200));
    let err = |e: csv::Error| AppError::Internal(e.into());
    if header {
        w.write_record(HEADER).map_err(err)?;
    }
    let id = |v: Option<i64>| v.map(|n| n.to_string()).unwrap_or_default();
    for e in rows {
        let cell = crate::export::cell;
        w.write_record([
            e.id.to_string(),
            e.at.format("%Y-%m-%dT%H:%M:%SZ").to_string(),
            id(e.actor_id),
            cell(&e.actor_label),
            id(e.impersonator_id),
            cell(&e.impersonator_label),
            e.action.clone(),
            e.category.clone(),
            e.target_type.clone().unwrap_or_default(),
            id(e.target_id),
            cell(&e.target_label),
            cell(&sentence(e)),
            e.ip.clone().unwrap_or_default(),
            cell(&e.details),
        ])
        .map_err(err)?;
    }
    w.into_inner().map_err(|e| AppError::Internal(anyhow::anyhow!("{e}")))
}

pub async fn export(
    state: web::Data<AppState>,
    user: Require<ViewAudit>,
    params: web::Query<AuditParams>,
) -> Result<HttpResponse, AppError> {
    let params = params.into_inner().cleaned();
    let zone = user.time_zone;
    let acting = user.acting();
    let typed = params.clone();
    let filter = state
        .db
        .run(move |conn| {
            let filter = filter_of(conn, &typed, zone)?;
            if filter.is_ok() {
                crate::ops::organization::record_audit_export(conn, &acting, &typed.query())?;
            }
            Ok(filter)
        })
        .await?;
    let Ok(filter) = filter else {
        return Ok(crate::web::see_other(&params.href(None)));
    };
    let (tx, rx) = tokio::sync::mpsc::channel::<Vec<u8>>(4);
    let db = state.db.clone();
    actix_web::rt::task::spawn_blocking(move || {
        let result = db.get().and_then(|mut conn| {
            if tx.blocking_send(encode(&[], true)?).is_err() {
                return Ok(());
            }
            audit::each_chunk(&mut conn, &filter, 2000, |rows| {
                encode(&rows, false).is_ok_and(|chunk| tx.blocking_send(chunk).is_ok())
            })
        });
        if let Err(e) = result {
            tracing::error!(error = ?e, "the audit export stopped");
        }
    });
    let body = stream::unfold(rx, |mut rx| async move {
        rx.recv().await.map(|chunk| (Ok::<_, actix_web::Error>(web::Bytes::from(chunk)), rx))
    });
    let name = format!("audit-{}.csv", chrono::Utc::now().format("%Y%m%d-%H%M%S"));
    Ok(HttpResponse::Ok()
        .content_type("text/csv; charset=utf-8")
        .insert_header((header::CONTENT_DISPOSITION, format!("attachment; filename=\"{name}\"")))
        .streaming(body))
}
