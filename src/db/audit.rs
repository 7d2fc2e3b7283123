//! The audit log: one row for every change and every sign-in event. Never edited; deleted only
//! by the retention setting, and never younger than 90 days.

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
    /// The API token other software acted through, by name (kept in each event's details).
    pub api_token: Option<String>,
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
            api_token: None,
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

/// The groups of actions the Audit log filters by: (key, label). `category_of` sorts an action.
pub const CATEGORIES: [(&str, &str); 9] = [
    ("sign_ins", "Sign-ins"),
    ("users", "User changes"),
    ("access", "Property Access"),
    ("groups", "Groups"),
    ("buildings", "Accounts and buildings"),
    ("settings", "Settings"),
    ("tokens", "Invitations and links"),
    ("impersonation", "Signing in as someone"),
    ("api", "API tokens and SCIM"),
];

/// The group of an action (the migration that added groups sorts older events the same way).
pub fn category_of(action: &str) -> &'static str {
    let starts = |prefix: &str| action.starts_with(prefix);
    match action {
        "sign_in" | "sign_in.failed" | "sign_in.locked" | "sign_out" => "sign_ins",
        _ if starts("sign_out.") => "sign_ins",
        "user.access_changed" | "building.access_changed" => "access",
        _ if starts("impersonation.") => "impersonation",
        _ if starts("api_token.") || starts("api.") => "api",
        _ if starts("user.") || starts("users.") || starts("owner.") || starts("signup.") || starts("two_step.") => {
            "users"
        }
        _ if starts("group.") => "groups",
        _ if starts("building.") || starts("account.") => "buildings",
        _ if starts("settings.") => "settings",
        _ if starts("invite.") || starts("password_reset.") || starts("owner_setup.") => "tokens",
        _ => "other",
    }
}

/// How an event names a person: "Olive Owner (owner@example.com)", or the address alone.
pub fn person_label(first_name: &str, last_name: &str, email: &str) -> String {
    let name = format!("{first_name} {last_name}");
    match name.trim() {
        "" => email.to_owned(),
        name => format!("{name} ({email})"),
    }
}

/// A user's label as they are now ("" when there is no such user).
pub fn label_of(conn: &mut DbConnection, id: Option<i64>) -> Result<String, AppError> {
    use super::schema::users;
    let Some(id) = id else { return Ok(String::new()) };
    let found: Option<(String, String, String)> =
        users::table.find(id).select((users::first_name, users::last_name, users::email)).first(conn).optional()?;
    Ok(found.map(|(first, last, email)| person_label(&first, &last, &email)).unwrap_or_default())
}

/// Writes one event, naming the people in it as they are at this moment.
pub fn record(
    conn: &mut DbConnection,
    ctx: &AuditContext,
    action: &str,
    target: Target,
    details: serde_json::Value,
) -> Result<(), AppError> {
    // Read once each: a person acting on themselves (a sign-in, a profile edit) is one lookup.
    let actor_label = label_of(conn, ctx.actor_id)?;
    let target_label = match (target.kind, target.id) {
        ("user", Some(id)) if Some(id) == ctx.actor_id && !actor_label.is_empty() => actor_label.clone(),
        ("user", Some(id)) => Some(label_of(conn, Some(id))?).filter(|l| !l.is_empty()).unwrap_or(target.label),
        _ => target.label,
    };
    let impersonator_label = label_of(conn, ctx.impersonator_id)?;
    let event = (action, Target { label: target_label, ..target }, details);
    insert(conn, ctx, (&actor_label, &impersonator_label), [event])
}

/// Writes the events of what this transaction has just made, whose labels the caller knows
/// (an import's new users): the people acting are looked up once for them all.
pub fn record_made<'a>(
    conn: &mut DbConnection,
    ctx: &AuditContext,
    events: impl IntoIterator<Item = (&'a str, Target, serde_json::Value)>,
) -> Result<(), AppError> {
    let (actor_label, impersonator_label) = (label_of(conn, ctx.actor_id)?, label_of(conn, ctx.impersonator_id)?);
    insert(conn, ctx, (&actor_label, &impersonator_label), events)
}

/// Events a statement, at most (13 parameters each).
const EVENTS_A_STATEMENT: usize = 500;

fn insert<'a>(
    conn: &mut DbConnection,
    ctx: &AuditContext,
    (actor_label, impersonator_label): (&str, &str),
    events: impl IntoIterator<Item = (&'a str, Target, serde_json::Value)>,
) -> Result<(), AppError> {
    let at = now();
    let mut rows: Vec<_> = events
        .into_iter()
        .map(|(action, target, mut details)| {
            if let Some(token) = &ctx.api_token {
                match &mut details {
                    serde_json::Value::Object(fields) => {
                        fields.insert("api_token".into(), token.as_str().into());
                    }
                    other => *other = serde_json::json!({ "api_token": token, "details": other.take() }),
                }
            }
            (
                audit_events::at.eq(at),
                audit_events::actor_id.eq(ctx.actor_id),
                audit_events::actor_label.eq(actor_label),
                audit_events::impersonator_id.eq(ctx.impersonator_id),
                audit_events::impersonator_label.eq(impersonator_label),
                audit_events::action.eq(action),
                audit_events::category.eq(category_of(action)),
                audit_events::target_type.eq((!target.kind.is_empty()).then_some(target.kind)),
                audit_events::target_id.eq(target.id),
                audit_events::target_label.eq(target.label),
                audit_events::details.eq(details.to_string()),
                audit_events::ip.eq(&ctx.ip),
                audit_events::user_agent.eq(&ctx.user_agent),
            )
        })
        .collect();
    // One event is one row: a statement prepared once per connection (a list of rows is not).
    if let [_] = rows[..]
        && let Some(row) = rows.pop()
    {
        diesel::insert_into(audit_events::table).values(row).execute(conn)?;
    }
    for some in rows.chunks(EVENTS_A_STATEMENT) {
        let query = diesel::insert_into(audit_events::table).values(some);
        on_either!(&mut *conn, |c| query.execute(c))?;
    }
    Ok(())
}

/// An event whole, as the Audit log shows it.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = audit_events)]
pub struct Event {
    pub id: i64,
    pub at: chrono::NaiveDateTime,
    pub actor_id: Option<i64>,
    pub actor_label: String,
    pub impersonator_id: Option<i64>,
    pub impersonator_label: String,
    pub action: String,
    pub category: String,
    pub target_type: Option<String>,
    pub target_id: Option<i64>,
    pub target_label: String,
    pub details: String,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
}

/// Which events the Audit log shows. Each condition can walk an index by id.
#[derive(Debug, Clone, Default)]
pub struct Filter {
    pub actor_id: Option<i64>,
    pub target_user_id: Option<i64>,
    pub category: Option<&'static str>,
    /// From this moment on.
    pub from: Option<chrono::NaiveDateTime>,
    /// Before this moment.
    pub until: Option<chrono::NaiveDateTime>,
    /// Only what was done while someone was signed in as someone else.
    pub impersonated: bool,
}

/// Where a page of events starts: the newest, older than an event, or newer than one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cursor {
    Newest,
    Before(i64),
    After(i64),
}

macro_rules! filtered {
    ($filter:expr) => {{
        let f = $filter;
        let mut q = audit_events::table.select(Event::as_select()).into_boxed();
        if let Some(id) = f.actor_id {
            q = q.filter(audit_events::actor_id.eq(id));
        }
        if let Some(id) = f.target_user_id {
            q = q.filter(audit_events::target_type.eq("user")).filter(audit_events::target_id.eq(id));
        }
        if let Some(category) = f.category {
            q = q.filter(audit_events::category.eq(category));
        }
        if let Some(from) = f.from {
            q = q.filter(audit_events::at.ge(from));
        }
        if let Some(until) = f.until {
            q = q.filter(audit_events::at.lt(until));
        }
        if f.impersonated {
            q = q.filter(audit_events::impersonator_id.is_not_null());
        }
        q
    }};
}

/// Up to `limit` events the filter finds from `cursor`, newest first, and whether there are
/// more beyond them in the direction read.
pub fn page(
    conn: &mut DbConnection,
    filter: &Filter,
    cursor: Cursor,
    limit: i64,
) -> Result<(Vec<Event>, bool), AppError> {
    let (lo, hi) = id_bounds(conn, filter)?;
    let mut q = filtered!(filter);
    if let Some(lo) = lo {
        q = q.filter(audit_events::id.ge(lo));
    }
    if let Some(hi) = hi {
        q = q.filter(audit_events::id.le(hi));
    }
    let mut rows: Vec<Event> = match cursor {
        Cursor::Newest => q.order(audit_events::id.desc()).limit(limit + 1).load(conn)?,
        Cursor::Before(id) => {
            q.filter(audit_events::id.lt(id)).order(audit_events::id.desc()).limit(limit + 1).load(conn)?
        }
        Cursor::After(id) => {
            q.filter(audit_events::id.gt(id)).order(audit_events::id.asc()).limit(limit + 1).load(conn)?
        }
    };
    let more = rows.len() as i64 > limit;
    rows.truncate(limit as usize);
    if matches!(cursor, Cursor::After(_)) {
        rows.reverse();
    }
    Ok((rows, more))
}

/// The ids a date range spans, so that every filter's index is read only within the range.
/// Events are numbered in about the order they happen; two written at once by different
/// processes may swap, so the bounds are taken a minute wider (the dates are checked too).
fn id_bounds(conn: &mut DbConnection, filter: &Filter) -> Result<(Option<i64>, Option<i64>), AppError> {
    let slack = chrono::Duration::minutes(1);
    let lo = match filter.from.map(|from| from - slack) {
        Some(from) => Some(
            audit_events::table
                .filter(audit_events::at.ge(from))
                .order((audit_events::at.asc(), audit_events::id.asc()))
                .select(audit_events::id)
                .first::<i64>(conn)
                .optional()?
                .unwrap_or(i64::MAX),
        ),
        None => None,
    };
    let hi = match filter.until.map(|until| until + slack) {
        Some(until) => Some(
            audit_events::table
                .filter(audit_events::at.lt(until))
                .order((audit_events::at.desc(), audit_events::id.desc()))
                .select(audit_events::id)
                .first::<i64>(conn)
                .optional()?
                .unwrap_or(0),
        ),
        None => None,
    };
    Ok((lo, hi))
}

/// The events the filter finds, oldest first, `chunk` at a time, each chunk handed to `sink`
/// until it returns false (the reader went away).
pub fn each_chunk(
    conn: &mut DbConnection,
    filter: &Filter,
    chunk: i64,
    mut sink: impl FnMut(Vec<Event>) -> bool,
) -> Result<(), AppError> {
    let mut after = 0i64;
    loop {
        let rows: Vec<Event> = filtered!(filter)
            .filter(audit_events::id.gt(after))
            .order(audit_events::id.asc())
            .limit(chunk)
            .load(conn)?;
        let Some(last) = rows.last() else { return Ok(()) };
        after = last.id;
        let full = rows.len() as i64 == chunk;
        if !sink(rows) || !full {
            return Ok(());
        }
    }
}

pub fn find(conn: &mut DbConnection, id: i64) -> Result<Option<Event>, AppError> {
    Ok(audit_events::table.find(id).select(Event::as_select()).first(conn).optional()?)
}

/// Events are kept at least this long, whatever the retention setting says.
pub const KEPT_AT_LEAST_DAYS: i64 = 90;

/// Deletes the events older than `days` (never younger than `KEPT_AT_LEAST_DAYS`), a few
/// thousand at a time so that writers wait little; how many.
pub fn delete_older_than(conn: &mut DbConnection, days: i64, at: chrono::NaiveDateTime) -> Result<usize, AppError> {
    const BATCH: i64 = 5000;
    let cutoff = at - chrono::Duration::days(days.max(KEPT_AT_LEAST_DAYS));
    let mut deleted = 0;
    loop {
        let ids: Vec<i64> = audit_events::table
            .filter(audit_events::at.lt(cutoff))
            .order(audit_events::at.asc())
            .select(audit_events::id)
            .limit(BATCH)
            .load(conn)?;
        if ids.is_empty() {
            return Ok(deleted);
        }
        deleted += diesel::delete(audit_events::table.filter(audit_events::id.eq_any(&ids))).execute(conn)?;
        if (ids.len() as i64) < BATCH {
            return Ok(deleted);
        }
    }
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
