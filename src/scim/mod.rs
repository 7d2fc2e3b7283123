//! SCIM 2.0 (RFC 7643/7644) at `/scim/v2`: one more door onto the same operations as the screens.
//! A request names an API token (`Authorization: Bearer`), acts as the token's maker within the
//! token's scopes, and gets JSON in SCIM's shapes, errors included (`scimType`).

pub mod filter;
pub mod groups;
pub mod patch;
pub mod schemas;
pub mod users;

use std::collections::{BTreeSet, HashMap};
use std::fmt;
use std::sync::Mutex;
use std::time::Instant;

use actix_web::http::{StatusCode, header};
use actix_web::{HttpRequest, HttpResponse, ResponseError, web};
use serde_json::{Value, json};

use crate::auth::secret;
use crate::db::audit::AuditContext;
use crate::domain::Permission;
use crate::domain::person_name::short_text;
use crate::error::AppError;
use crate::ops::api_tokens::{self, Bearer, Refusal};
use crate::state::AppState;

pub const ERROR: &str = "urn:ietf:params:scim:api:messages:2.0:Error";
pub const LIST: &str = "urn:ietf:params:scim:api:messages:2.0:ListResponse";
const CONTENT_TYPE: &str = "application/scim+json";
/// The largest request body: a group of a few thousand members fits.
pub const BODY_LIMIT: usize = 1024 * 1024;
/// The most resources one page answers.
pub const MAX_COUNT: i64 = 500;

/// An answer in the SCIM error schema.
#[derive(Debug)]
pub struct ScimError {
    status: StatusCode,
    scim_type: Option<&'static str>,
    detail: String,
    retry_after: Option<u64>,
}

impl ScimError {
    pub fn new(status: StatusCode, scim_type: Option<&'static str>, detail: impl Into<String>) -> ScimError {
        ScimError { status, scim_type, detail: detail.into(), retry_after: None }
    }
    pub fn syntax(detail: &str) -> ScimError {
        ScimError::new(StatusCode::BAD_REQUEST, Some("invalidSyntax"), detail)
    }
    pub fn invalid_value(detail: &str) -> ScimError {
        ScimError::new(StatusCode::BAD_REQUEST, Some("invalidValue"), detail)
    }
    pub fn invalid_filter(detail: &str) -> ScimError {
        ScimError::new(StatusCode::BAD_REQUEST, Some("invalidFilter"), detail)
    }
    pub fn invalid_path(detail: &str) -> ScimError {
        ScimError::new(StatusCode::BAD_REQUEST, Some("invalidPath"), detail)
    }
    pub fn no_target(detail: &str) -> ScimError {
        ScimError::new(StatusCode::BAD_REQUEST, Some("noTarget"), detail)
    }
    pub fn mutability(detail: &str) -> ScimError {
        ScimError::new(StatusCode::BAD_REQUEST, Some("mutability"), detail)
    }
    pub fn uniqueness(detail: &str) -> ScimError {
        ScimError::new(StatusCode::CONFLICT, Some("uniqueness"), detail)
    }
    pub fn not_found() -> ScimError {
        ScimError::new(StatusCode::NOT_FOUND, None, "No such resource.")
    }
    pub fn stale() -> ScimError {
        ScimError::new(StatusCode::PRECONDITION_FAILED, None, "The resource changed since that version (If-Match).")
    }
}

impl fmt::Display for ScimError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.status.as_u16(), self.detail)
    }
}

impl ResponseError for ScimError {
    fn status_code(&self) -> StatusCode {
        self.status
    }

    fn error_response(&self) -> HttpResponse {
        let mut body = json!({ "schemas": [ERROR], "status": self.status.as_u16().to_string(), "detail": self.detail });
        if let Some(t) = self.scim_type {
            body["scimType"] = t.into();
        }
        let mut res = HttpResponse::build(self.status);
        res.content_type(CONTENT_TYPE);
        if self.status == StatusCode::UNAUTHORIZED {
            res.insert_header((header::WWW_AUTHENTICATE, "Bearer realm=\"scim\""));
        }
        if let Some(secs) = self.retry_after {
            res.insert_header((header::RETRY_AFTER, secs.to_string()));
        }
        res.body(body.to_string())
    }
}

impl From<AppError> for ScimError {
    fn from(e: AppError) -> ScimError {
        match e {
            AppError::NotFound => ScimError::not_found(),
            AppError::Forbidden => ScimError::new(StatusCode::FORBIDDEN, None, "The token's maker may not do this."),
            AppError::Refused(r) => ScimError::new(StatusCode::FORBIDDEN, None, r.message()),
            AppError::Unfit(m) => ScimError::new(StatusCode::CONFLICT, None, m),
            AppError::BadRequest(m) => ScimError::invalid_value(&m),
            AppError::PayloadTooLarge => ScimError::new(StatusCode::PAYLOAD_TOO_LARGE, None, "The body is too large."),
            AppError::Busy => {
                let mut e = ScimError::new(StatusCode::SERVICE_UNAVAILABLE, None, "Busy: try again in a few seconds.");
                e.retry_after = Some(5);
                e
            }
            other => {
                tracing::error!(error = ?other, "a SCIM request failed");
                ScimError::new(StatusCode::INTERNAL_SERVER_ERROR, None, "The server failed; nothing was changed.")
            }
        }
    }
}

/// A SCIM JSON answer.
pub fn answer(status: StatusCode, body: &Value) -> HttpResponse {
    HttpResponse::build(status).content_type(CONTENT_TYPE).body(body.to_string())
}

/// A time as SCIM writes it (`meta.created`, `meta.lastModified`).
pub fn timestamp(t: chrono::NaiveDateTime) -> String {
    t.and_utc().format("%Y-%m-%dT%H:%M:%SZ").to_string()
}

/// A weak ETag (and `meta.version`) of a version.
pub fn etag(version: impl fmt::Display) -> String {
    format!("W/\"{version}\"")
}

/// Where SCIM lives, for `meta.location`.
pub fn base(state: &AppState) -> String {
    format!("{}/scim/v2", state.config.public_url)
}

/// Requests left per token in this process: a bucket that holds a minute's worth and refills
/// evenly. Kept in memory: N processes allow N times the rate.
#[derive(Default)]
pub struct RateLimits(Mutex<HashMap<String, (f64, Instant)>>);

impl RateLimits {
    /// Takes one request from the token's bucket; Err: seconds until one is free.
    fn take(&self, key: &str, per_minute: u32) -> Result<(), u64> {
        let now = Instant::now();
        let capacity = f64::from(per_minute);
        let per_second = capacity / 60.0;
        let mut buckets = self.0.lock().unwrap_or_else(|e| e.into_inner());
        if buckets.len() > 10_000 {
            buckets.retain(|_, (left, at)| *left + now.duration_since(*at).as_secs_f64() * per_second < capacity);
        }
        let (left, at) = buckets.entry(key.to_owned()).or_insert((capacity, now));
        *left = (*left + now.duration_since(*at).as_secs_f64() * per_second).min(capacity);
        *at = now;
        if *left >= 1.0 {
            *left -= 1.0;
            Ok(())
        } else {
            Err(((1.0 - *left) / per_second).ceil().max(1.0) as u64)
        }
    }
}

/// The token of this request, if it stands and may use `needs` (None: any SCIM token).
pub async fn bearer(state: &AppState, req: &HttpRequest, needs: Option<Permission>) -> Result<Bearer, ScimError> {
    let unknown = || ScimError::new(StatusCode::UNAUTHORIZED, None, Refusal::Unknown.message());
    let header = req.headers().get(header::AUTHORIZATION).and_then(|v| v.to_str().ok()).ok_or_else(unknown)?;
    let (scheme, secret) = header.trim().split_once(' ').ok_or_else(unknown)?;
    let secret = secret.trim();
    if !scheme.eq_ignore_ascii_case("bearer") || secret.is_empty() || secret.len() > 200 {
        return Err(unknown());
    }
    if let Err(wait) = state.api_limits.take(&secret::digest(secret), state.config.api_requests_per_minute) {
        let mut e = ScimError::new(
            StatusCode::TOO_MANY_REQUESTS,
            None,
            format!("Too many requests with this token: try again in {wait} s."),
        );
        e.retry_after = Some(wait);
        return Err(e);
    }
    let audit = AuditContext::from_request(req, None, None);
    let at = state.config.clock.now();
    let secret = secret.to_owned();
    let request = format!("{} {}", req.method(), req.path());
    let found = state
        .db
        .run(move |conn| {
            // No transaction: a token that stands is only read (its last use written at most once
            // a minute), so SCIM reads do not queue behind SQLite's write lock.
            {
                let found = api_tokens::authenticate(conn, &secret, api_tokens::SCIM, &audit, at)?;
                let refusal = match &found {
                    Err((r, Some(token))) => Some((*r, token.clone())),
                    Ok(b) if needs.is_some_and(|p| !b.allows(p)) => Some((Refusal::Scope, b.token.clone())),
                    _ => None,
                };
                if let Some((r, token)) = refusal {
                    api_tokens::record_refusal(conn, &audit, &token, r.key(), &request)?;
                    return Ok(Err(r));
                }
                Ok(found.map_err(|(r, _)| r))
            }
        })
        .await?;
    match found {
        Ok(bearer) => Ok(bearer),
        Err(r @ Refusal::Scope) => Err(ScimError::new(StatusCode::FORBIDDEN, Some("insufficientScope"), r.message())),
        Err(r) => Err(ScimError::new(StatusCode::UNAUTHORIZED, None, r.message())),
    }
}

/// The JSON of a request body, at most `BODY_LIMIT` bytes.
pub fn body_json(body: &web::Bytes) -> Result<Value, ScimError> {
    if body.len() > BODY_LIMIT {
        return Err(ScimError::new(StatusCode::PAYLOAD_TOO_LARGE, None, "The body is larger than 1 MiB."));
    }
    let value: Value = serde_json::from_slice(body).map_err(|_| ScimError::syntax("The body is not JSON."))?;
    if !value.is_object() {
        return Err(ScimError::syntax("The body is a JSON object."));
    }
    Ok(value)
}

/// An attribute of an object, its name matched without regard to case.
pub fn get<'a>(object: &'a Value, name: &str) -> Option<&'a Value> {
    object.as_object()?.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v).filter(|v| !v.is_null())
}

pub fn text(object: &Value, name: &str) -> Result<String, ScimError> {
    match get(object, name) {
        None => Ok(String::new()),
        Some(Value::String(s)) => Ok(s.clone()),
        Some(_) => Err(ScimError::invalid_value(&format!("\"{name}\" is a string."))),
    }
}

/// Plain text on one line, at most `max` characters (`short_text`), its message named.
pub fn plain(value: &str, name: &str, max: usize) -> Result<String, ScimError> {
    short_text(value, max, false).map_err(|m| ScimError::invalid_value(&format!("{name}: {m}")))
}

/// Ids, as strings, numbers or `{"value": id}`; none when absent.
pub fn ids(value: Option<&Value>, name: &str) -> Result<BTreeSet<i64>, ScimError> {
    let bad = || ScimError::invalid_value(&format!("\"{name}\" is a list of ids."));
    match value {
        None => Ok(BTreeSet::new()),
        Some(Value::Array(items)) => items
            .iter()
            .map(|i| match i {
                Value::String(s) => s.trim().parse::<i64>().map_err(|_| bad()),
                Value::Number(n) => n.as_i64().ok_or_else(bad),
                Value::Object(_) => get(i, "value")
                    .and_then(|v| v.as_str().map(str::to_owned).or(v.as_i64().map(|n| n.to_string())))
                    .and_then(|s| s.trim().parse::<i64>().ok())
                    .ok_or_else(bad),
                _ => Err(bad()),
            })
            .collect(),
        Some(_) => Err(bad()),
    }
}

/// The paging, sorting and attribute choices of a list (from the query, or a `.search` body).
#[derive(Debug, Default, serde::Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ListParams {
    pub filter: Option<String>,
    pub start_index: Option<String>,
    pub count: Option<String>,
    pub sort_by: Option<String>,
    pub sort_order: Option<String>,
    pub attributes: Option<String>,
    pub excluded_attributes: Option<String>,
}

impl ListParams {
    /// From the query string.
    pub fn of(req: &HttpRequest) -> Result<ListParams, ScimError> {
        web::Query::<ListParams>::from_query(req.query_string())
            .map(web::Query::into_inner)
            .map_err(|_| ScimError::invalid_value("The query string is not understood."))
    }

    /// The filter, parsed; none when absent or blank.
    pub fn filter(&self) -> Result<Option<filter::Filter>, ScimError> {
        match self.filter.as_deref().map(str::trim).filter(|f| !f.is_empty()) {
            Some(f) => filter::parse(f).map(Some).map_err(|e| ScimError::invalid_filter(&e)),
            None => Ok(None),
        }
    }

    /// From a `.search` body, whose lists of attributes are arrays.
    pub fn from_search(body: &Value) -> ListParams {
        let text = |k: &str| match body.get(k) {
            Some(Value::String(s)) => Some(s.clone()),
            Some(Value::Number(n)) => Some(n.to_string()),
            Some(Value::Array(items)) => Some(items.iter().filter_map(Value::as_str).collect::<Vec<_>>().join(",")),
            _ => None,
        };
        ListParams {
            filter: text("filter"),
            start_index: text("startIndex"),
            count: text("count"),
            sort_by: text("sortBy"),
            sort_order: text("sortOrder"),
            attributes: text("attributes"),
            excluded_attributes: text("excludedAttributes"),
        }
    }

    /// 1-based start and count, as RFC 7644 §3.4.2.4 reads them (below 1 is 1, a negative count 0).
    pub fn window(&self) -> Result<(i64, i64), ScimError> {
        let number = |s: &Option<String>, default: i64| match s {
            None => Ok(default),
            Some(s) => {
                s.trim().parse::<i64>().map_err(|_| ScimError::invalid_value("startIndex and count are integers."))
            }
        };
        let start = number(&self.start_index, 1)?.max(1);
        let count = number(&self.count, 100)?.clamp(0, MAX_COUNT);
        Ok((start, count))
    }

    /// The top-level attributes `attributes` names (see `attribute_names`).
    pub fn asks_for(&self, core: &str) -> Vec<String> {
        attribute_names(self.attributes.as_deref(), core)
    }

    /// Whether the answer leaves out `attribute` (lower case), by `attributes` or `excludedAttributes`.
    pub fn leaves_out(&self, attribute: &str, core: &str) -> bool {
        let keep = self.asks_for(core);
        (!keep.is_empty() && !keep.iter().any(|a| a == attribute))
            || attribute_names(self.excluded_attributes.as_deref(), core).iter().any(|a| a == attribute)
    }

    pub fn descending(&self) -> bool {
        self.sort_order.as_deref().is_some_and(|o| o.eq_ignore_ascii_case("descending"))
    }
}

/// The top-level attributes a list of `attributes` names, in lower case: `name.givenName` is
/// `name`, the core schema's prefix is taken off, an extension's name is kept whole.
fn attribute_names(list: Option<&str>, core: &str) -> Vec<String> {
    let core = format!("{}:", core.to_ascii_lowercase());
    list.unwrap_or("")
        .split(',')
        .map(|a| {
            let a = a.trim().to_lowercase();
            let a = a.strip_prefix(&core).map(str::to_owned).unwrap_or(a);
            if a.starts_with("urn:") { a } else { a.split('.').next().unwrap_or("").to_owned() }
        })
        .filter(|a| !a.is_empty())
        .collect()
}

/// Keeps or drops attributes of a resource as `attributes` / `excludedAttributes` ask; `id`,
/// `schemas` and `meta` always stay.
pub fn project(resource: &mut Value, params: &ListParams, core: &str) {
    let Value::Object(fields) = resource else { return };
    let keep = attribute_names(params.attributes.as_deref(), core);
    let drop = attribute_names(params.excluded_attributes.as_deref(), core);
    let always = ["id", "schemas", "meta"];
    fields.retain(|k, _| {
        let k = k.to_ascii_lowercase();
        if always.contains(&k.as_str()) {
            return true;
        }
        if !keep.is_empty() {
            return keep.iter().any(|a| *a == k || (k.starts_with("urn:") && a.starts_with(&k)));
        }
        !drop.contains(&k)
    });
}

/// A ListResponse.
pub fn list_response(total: i64, start: i64, resources: Vec<Value>) -> HttpResponse {
    let body = json!({
        "schemas": [LIST],
        "totalResults": total,
        "startIndex": start,
        "itemsPerPage": resources.len(),
        "Resources": resources,
    });
    answer(StatusCode::OK, &body)
}

/// The version in an `If-Match` header (`W/"7"`, `"7"`; none for `*` or no header).
pub fn if_match(req: &HttpRequest) -> Option<String> {
    let v = req.headers().get(header::IF_MATCH)?.to_str().ok()?.trim();
    Some(v.trim_start_matches("W/").trim_matches('"').to_owned()).filter(|v| v != "*")
}

/// A resource id from the path: a positive number, else there is no such resource.
pub fn id_of(path: &str) -> Result<i64, ScimError> {
    path.parse::<i64>().ok().filter(|i| *i > 0).ok_or_else(ScimError::not_found)
}

/// A 201 for a resource just made, with its `Location`.
pub fn created(body: &Value, location: &str) -> HttpResponse {
    let mut res = answer(StatusCode::CREATED, body);
    if let Ok(value) = header::HeaderValue::from_str(location) {
        res.headers_mut().insert(header::LOCATION, value);
    }
    res
}

/// Any request under `/scim/v2` that no route takes: a known endpoint asked with another method
/// (405), or no endpoint at all (404).
pub async fn unknown(req: HttpRequest) -> Result<HttpResponse, ScimError> {
    let path = req.path().trim_start_matches("/scim/v2").trim_matches('/');
    let first = path.split('/').next().unwrap_or("");
    if path == ".search" {
        return Err(ScimError::new(StatusCode::NOT_IMPLEMENTED, None, "Search each resource type: /Users/.search."));
    }
    let known = ["ServiceProviderConfig", "ResourceTypes", "Schemas", "Users", "Groups"];
    if known.contains(&first) {
        return Err(ScimError::new(StatusCode::METHOD_NOT_ALLOWED, None, "This endpoint does not take this method."));
    }
    Err(ScimError::not_found())
}
