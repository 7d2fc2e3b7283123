//! `/scim/v2/Users`: the portal's users as SCIM resources. Every write goes through the same
//! operations as the screens (`ops::users`, `ops::access`), in one transaction per request.

use actix_web::http::{StatusCode, header};
use actix_web::{HttpRequest, HttpResponse, web};
use chrono::NaiveDate;
use diesel::prelude::*;
use serde_json::{Map, Value, json};

use super::filter::{self, Filter, Op};
use super::schemas::{CONCIERGE, ENTERPRISE, USER};
use super::{
    ListParams, ScimError, answer, base, bearer, body_json, created, etag, get, id_of, ids, if_match, list_response,
    patch, plain, project, text, timestamp,
};
use crate::db::schema::{account_access, accounts, building_access, buildings, groups, users};
use crate::db::sql::{Bind, Number, Sql, like_escaped};
use crate::db::user_access::Access;
use crate::db::{DbConnection, users as users_db};
use crate::domain::user_form::{UserInfo, UserInfoForm};
use crate::domain::{FieldErrors, Permission, UserStatus};
use crate::error::AppError;
use crate::ops::users::{Entry, StatusChange};
use crate::ops::{self, Actor};
use crate::state::AppState;

/// A user with what the representation shows of their group and access.
pub struct Loaded {
    pub user: users_db::User,
    pub group: String,
    /// Whether the group is Customer, the default: then the representation names none.
    pub default_group: bool,
    pub grants: Vec<Grant>,
}

pub struct Grant {
    pub kind: &'static str,
    pub id: i64,
    pub name: String,
    pub ends_on: Option<NaiveDate>,
}

/// The users with these ids, in that order, leaving out those there are none of and the deleted
/// (SCIM shows deleted users as gone): three statements, however many users.
pub fn load_many(conn: &mut DbConnection, ids: &[i64]) -> Result<Vec<Loaded>, AppError> {
    let rows: Vec<(users_db::User, String, Option<String>)> = users::table
        .inner_join(groups::table)
        .filter(users::id.eq_any(ids))
        .filter(users::status.ne(UserStatus::Deleted.as_str()))
        .select((users::all_columns, groups::name, groups::builtin_key))
        .load(conn)?;
    let buildings: Vec<(i64, i64, String, Option<NaiveDate>)> = building_access::table
        .inner_join(buildings::table)
        .filter(building_access::user_id.eq_any(ids))
        .select((building_access::user_id, building_access::building_id, buildings::name, building_access::ends_on))
        .order(building_access::building_id)
        .load(conn)?;
    let accounts: Vec<(i64, i64, String, Option<NaiveDate>)> = account_access::table
        .inner_join(accounts::table)
        .filter(account_access::user_id.eq_any(ids))
        .select((account_access::user_id, account_access::account_id, accounts::name, account_access::ends_on))
        .order(account_access::account_id)
        .load(conn)?;
    let grants = |user: i64| -> Vec<Grant> {
        let of = |kind: &'static str, rows: &[(i64, i64, String, Option<NaiveDate>)]| -> Vec<Grant> {
            rows.iter()
                .filter(|r| r.0 == user)
                .map(|(_, id, name, ends_on)| Grant { kind, id: *id, name: name.clone(), ends_on: *ends_on })
                .collect()
        };
        let mut all = of("building", &buildings);
        all.extend(of("account", &accounts));
        all
    };
    let mut loaded: Vec<Loaded> = rows
        .into_iter()
        .map(|(user, group, key)| Loaded {
            grants: grants(user.id),
            user,
            group,
            default_group: key.as_deref() == Some("customer"),
        })
        .collect();
    loaded.sort_by_key(|l| ids.iter().position(|i| *i == l.user.id));
    Ok(loaded)
}

/// The user, unless there is none or they are deleted.
pub fn load(conn: &mut DbConnection, id: i64) -> Result<Option<Loaded>, AppError> {
    Ok(load_many(conn, &[id])?.pop())
}

/// Whether a request asks for the grants and end date (returned only on request).
fn wants_access(params: &ListParams) -> bool {
    params.asks_for(USER).iter().any(|a| a.ends_with("grants") || a.ends_with("endson"))
}

/// The SCIM representation of a user; the grants with their end dates only when `with_access`.
pub fn to_json(l: &Loaded, base: &str, with_access: bool) -> Value {
    let u = &l.user;
    let mut r = json!({
        "schemas": [USER, ENTERPRISE, CONCIERGE],
        "id": u.id.to_string(),
        "userName": u.user_name.clone().unwrap_or_else(|| u.email.clone()),
        "name": { "givenName": u.first_name, "familyName": u.last_name },
        "displayName": u.full_name(),
        "active": matches!(u.status(), UserStatus::Active | UserStatus::Invited),
        "emails": [{ "value": u.email, "type": "work" }],
        "meta": {
            "resourceType": "User",
            "created": timestamp(u.created_at),
            "lastModified": timestamp(u.updated_at),
            "location": format!("{base}/Users/{}", u.id),
            "version": etag(u.version),
        },
    });
    if let Some(x) = &u.external_id {
        r["externalId"] = x.as_str().into();
    }
    if !u.phone.is_empty() {
        r["phoneNumbers"] = json!([{ "value": u.phone, "type": "work" }]);
    }
    if !u.title.is_empty() {
        r["title"] = u.title.as_str().into();
    }
    if !u.company.is_empty() {
        r[ENTERPRISE] = json!({ "organization": u.company });
    }
    let ids =
        |kind: &str| -> Vec<String> { l.grants.iter().filter(|g| g.kind == kind).map(|g| g.id.to_string()).collect() };
    let mut concierge = Map::new();
    if !l.default_group {
        concierge.insert("group".into(), l.group.as_str().into());
    }
    if !u.job_function.is_empty() {
        concierge.insert("jobFunction".into(), u.job_function.as_str().into());
    }
    let (b, a) = (ids("building"), ids("account"));
    if !b.is_empty() {
        concierge.insert("buildings".into(), b.into());
    }
    if !a.is_empty() {
        concierge.insert("accounts".into(), a.into());
    }
    if with_access && !l.grants.is_empty() {
        let grants: Vec<Value> = l
            .grants
            .iter()
            .map(|g| {
                let mut v = json!({ "type": g.kind, "value": g.id.to_string(), "display": g.name });
                if let Some(d) = g.ends_on {
                    v["endsOn"] = d.to_string().into();
                }
                v
            })
            .collect();
        concierge.insert("grants".into(), grants.into());
    }
    if let (true, Some(d)) = (with_access, u.ends_on) {
        concierge.insert("endsOn".into(), d.to_string().into());
    }
    if !concierge.is_empty() {
        r[CONCIERGE] = Value::Object(concierge);
    }
    r
}

/// A boolean as Entra ID and Okta send it: `false`, or `"False"`.
fn boolean(value: &Value, name: &str) -> Result<bool, ScimError> {
    match value {
        Value::Bool(b) => Ok(*b),
        Value::String(s) if s.eq_ignore_ascii_case("true") => Ok(true),
        Value::String(s) if s.eq_ignore_ascii_case("false") => Ok(false),
        _ => Err(ScimError::invalid_value(&format!("\"{name}\" is true or false."))),
    }
}

/// One value of a multi-valued attribute: the primary, else the work one, else the first.
fn chosen(object: &Value, name: &str) -> Result<String, ScimError> {
    let Some(values) = get(object, name) else { return Ok(String::new()) };
    let Value::Array(items) = values else {
        return Err(ScimError::invalid_value(&format!("\"{name}\" is a list.")));
    };
    let primary = items.iter().find(|i| get(i, "primary").is_some_and(|p| boolean(p, "primary").unwrap_or(false)));
    let work =
        items.iter().find(|i| get(i, "type").and_then(Value::as_str).is_some_and(|t| t.eq_ignore_ascii_case("work")));
    match primary.or(work).or(items.first()) {
        None => Ok(String::new()),
        Some(item) => text(item, "value"),
    }
}

/// What a request asks a user to be.
pub struct Incoming {
    pub form: UserInfoForm,
    pub user_name: String,
    pub external_id: Option<String>,
    pub active: bool,
    /// The group by name when the Concierge extension is sent ("": the default, Customer).
    pub group: Option<String>,
    /// Property Access, when the Concierge extension is sent.
    pub access: Option<Access>,
}

/// Reads a representation. What it leaves out of the core is cleared; without the Concierge
/// extension, the group and Property Access stay as they are.
pub fn incoming(r: &Value) -> Result<Incoming, ScimError> {
    let user_name = plain(&text(r, "userName")?, "userName", 256)?;
    if user_name.is_empty() {
        return Err(ScimError::invalid_value("\"userName\" is required."));
    }
    let external_id = Some(plain(&text(r, "externalId")?, "externalId", 256)?).filter(|x| !x.is_empty());
    let name = get(r, "name").cloned().unwrap_or(Value::Null);
    let mut email = chosen(r, "emails")?;
    if email.trim().is_empty() && crate::domain::Email::parse(&user_name).is_ok() {
        email = user_name.clone();
    }
    if email.trim().is_empty() {
        return Err(ScimError::invalid_value("\"emails\": the user needs an address."));
    }
    let active = match get(r, "active") {
        None => true,
        Some(v) => boolean(v, "active")?,
    };
    let company = match get(r, ENTERPRISE) {
        Some(e) => text(e, "organization")?,
        None => String::new(),
    };
    let (group, job_function, access) = match get(r, CONCIERGE) {
        Some(c) => {
            // Present without a group: the default group.
            let group = Some(text(c, "group")?);
            let access = Access {
                buildings: ids(get(c, "buildings"), "buildings")?,
                accounts: ids(get(c, "accounts"), "accounts")?,
            };
            (group, text(c, "jobFunction")?, Some(access))
        }
        None => (None, String::new(), None),
    };
    Ok(Incoming {
        form: UserInfoForm {
            first_name: text(&name, "givenName")?,
            last_name: text(&name, "familyName")?,
            email,
            phone: chosen(r, "phoneNumbers")?,
            title: text(r, "title")?,
            job_function,
            company,
            group_id: String::new(),
        },
        user_name,
        external_id,
        active,
        group,
        access,
    })
}

/// The first message of a refused form, named by its SCIM attribute.
fn refused(errors: &FieldErrors) -> ScimError {
    fn attribute(field: &'static str) -> &'static str {
        match field {
            "first_name" => "name.givenName",
            "last_name" => "name.familyName",
            "email" => "emails",
            "phone" => "phoneNumbers",
            "job_function" => "jobFunction",
            "company" => "organization",
            "group_id" => "group",
            "buildings" => "buildings",
            other => other,
        }
    }
    let detail: Vec<String> = errors.iter().map(|(f, m)| format!("{}: {m}", attribute(f))).collect();
    ScimError::invalid_value(&detail.join(" "))
}

/// The group's id, by name: none named is `kept` (or Customer for a new user), an empty name
/// is Customer.
fn group_id(
    conn: &mut DbConnection,
    name: Option<&str>,
    kept: Option<i64>,
) -> Result<Result<i64, ScimError>, AppError> {
    let name = match (name.map(str::trim), kept) {
        (None, Some(id)) => return Ok(Ok(id)),
        (None | Some(""), _) => return Ok(Ok(crate::db::groups::find_builtin(conn, "customer")?.id)),
        (Some(name), _) => name,
    };
    let found = crate::db::groups::list(conn)?.into_iter().find(|g| g.name.eq_ignore_ascii_case(name.trim()));
    Ok(found
        .map(|g| g.id)
        .ok_or_else(|| ScimError::invalid_value(&format!("group: there is no group named \"{name}\"."))))
}

fn set_active(conn: &mut DbConnection, actor: &Actor, id: i64, active: bool) -> Result<(), AppError> {
    let status = users_db::find(conn, id)?.ok_or(AppError::NotFound)?.status();
    let change = match (active, status) {
        (false, UserStatus::Active | UserStatus::Invited) => StatusChange::Disable,
        (true, UserStatus::Disabled) => StatusChange::Enable,
        _ => return Ok(()),
    };
    ops::users::change_status(conn, actor, id, change)?;
    Ok(())
}

/// Whether every building and account named exists: one count each.
fn check_access(conn: &mut DbConnection, access: &Access) -> Result<Result<(), ScimError>, AppError> {
    use crate::db::schema::{accounts, buildings};
    if access.buildings.is_empty() && access.accounts.is_empty() {
        return Ok(Ok(()));
    }
    let found: i64 = buildings::table.filter(buildings::id.eq_any(&access.buildings)).count().get_result(conn)?;
    if found != access.buildings.len() as i64 {
        return Ok(Err(ScimError::invalid_value("buildings: one of the ids is no building.")));
    }
    let found: i64 = accounts::table.filter(accounts::id.eq_any(&access.accounts)).count().get_result(conn)?;
    if found != access.accounts.len() as i64 {
        return Ok(Err(ScimError::invalid_value("accounts: one of the ids is no account.")));
    }
    Ok(Ok(()))
}

/// Adds a user as the representation says: invited by mail, then disabled when not active.
fn create(
    conn: &mut DbConnection,
    actor: &Actor,
    inc: Incoming,
    url: &str,
) -> Result<Result<i64, ScimError>, AppError> {
    let mut form = inc.form.clone();
    form.group_id = match group_id(conn, inc.group.as_deref(), None)? {
        Ok(id) => id.to_string(),
        Err(e) => return Ok(Err(e)),
    };
    let mut errors = FieldErrors::new();
    let info = form.parse_provisioned(&mut errors).map(|info| UserInfo {
        user_name: (!inc.user_name.eq_ignore_ascii_case(info.email.as_str())).then(|| inc.user_name.clone()),
        external_id: inc.external_id.clone(),
        ..info
    });
    if !errors.is_empty() {
        return Ok(Err(refused(&errors)));
    }
    if users_db::user_name_taken(conn, &inc.user_name, None)? {
        return Ok(Err(ScimError::uniqueness("Another user has this userName.")));
    }
    let access = inc.access.clone().unwrap_or_default();
    if let Err(e) = check_access(conn, &access)? {
        return Ok(Err(e));
    }
    let entry = Entry::Invitation(Default::default());
    let created = match ops::users::create(conn, actor, url, info, errors, &access, entry)? {
        Ok(u) => u,
        Err(not_added) if not_added.existing.is_some() => {
            return Ok(Err(ScimError::uniqueness("A user with this address exists already (perhaps deleted).")));
        }
        Err(not_added) => return Ok(Err(refused(&not_added.errors))),
    };
    set_active(conn, actor, created.id, inc.active)?;
    Ok(Ok(created.id))
}

/// Makes the user what the representation says, under the same rules as the screens.
fn replace(
    conn: &mut DbConnection,
    actor: &Actor,
    current: &Loaded,
    inc: Incoming,
    url: &str,
) -> Result<Result<(), ScimError>, AppError> {
    let id = current.user.id;
    let mut form = inc.form.clone();
    form.group_id = match group_id(conn, inc.group.as_deref(), Some(current.user.group_id))? {
        Ok(g) => g.to_string(),
        Err(e) => return Ok(Err(e)),
    };
    let mut errors = FieldErrors::new();
    let Some(info) = form.parse_provisioned(&mut errors) else { return Ok(Err(refused(&errors))) };
    if users_db::user_name_taken(conn, &inc.user_name, Some(id))? {
        return Ok(Err(ScimError::uniqueness("Another user has this userName.")));
    }
    if let Some(access) = &inc.access
        && let Err(e) = check_access(conn, access)?
    {
        return Ok(Err(e));
    }
    // A user being disabled is disabled first, so no other change is refused for their status.
    if !inc.active {
        set_active(conn, actor, id, false)?;
    }
    if let Err(errors) = ops::users::update_provisioned(conn, actor, id, &info, url)? {
        // An error, not an answer: the disabling above is rolled back with it.
        return Err(AppError::BadRequest(refused(&errors).detail));
    }
    if let Some(access) = &inc.access
        && *access != crate::db::user_access::of_user(conn, id)?
    {
        ops::access::set(conn, actor, id, access)?;
    }
    ops::users::set_provisioned_names(conn, actor, id, &inc.user_name, inc.external_id.as_deref())?;
    if inc.active {
        set_active(conn, actor, id, true)?;
    }
    Ok(Ok(()))
}

/// The answer with a user's representation as `params` choose it, and its version as the ETag.
async fn respond(
    state: &AppState,
    id: i64,
    status: StatusCode,
    params: &ListParams,
) -> Result<HttpResponse, ScimError> {
    let loaded = state.db.run(move |conn| load(conn, id)).await?.ok_or_else(ScimError::not_found)?;
    let mut body = to_json(&loaded, &base(state), wants_access(params));
    project(&mut body, params, USER);
    let mut res = if status == StatusCode::CREATED {
        created(&body, &format!("{}/Users/{id}", base(state)))
    } else {
        answer(status, &body)
    };
    res.headers_mut().insert(header::ETAG, etag(loaded.user.version).parse().expect("a valid header"));
    Ok(res)
}

/// Whether an `If-Match` names a version older than the user's.
fn stale(if_match: Option<&str>, current: &Loaded) -> bool {
    if_match.is_some_and(|v| v != current.user.version.to_string())
}

pub async fn get_one(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
) -> Result<HttpResponse, ScimError> {
    bearer(&state, &req, Some(Permission::UsersView)).await?;
    respond(&state, id_of(&path)?, StatusCode::OK, &ListParams::of(&req)?).await
}

pub async fn create_one(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: web::Bytes,
) -> Result<HttpResponse, ScimError> {
    let bearer = bearer(&state, &req, Some(Permission::UsersManage)).await?;
    let inc = incoming(&body_json(&body)?)?;
    let url = state.config.public_url.clone();
    let actor = bearer.actor;
    let id = ops::apply(&state.db, move |conn| create(conn, &actor, inc, &url)).await??;
    state.mail_queued.notify_one();
    respond(&state, id, StatusCode::CREATED, &ListParams::default()).await
}

async fn write(
    state: &AppState,
    req: &HttpRequest,
    id: i64,
    actor: Actor,
    change: impl FnOnce(&Loaded) -> Result<Incoming, ScimError> + Send + 'static,
) -> Result<HttpResponse, ScimError> {
    let url = state.config.public_url.clone();
    let if_match = if_match(req);
    ops::apply(&state.db, move |conn| {
        let current = load(conn, id)?.ok_or(AppError::NotFound)?;
        if stale(if_match.as_deref(), &current) {
            return Ok(Err(ScimError::stale()));
        }
        let inc = match change(&current) {
            Ok(inc) => inc,
            Err(e) => return Ok(Err(e)),
        };
        replace(conn, &actor, &current, inc, &url)
    })
    .await??;
    state.mail_queued.notify_one();
    respond(state, id, StatusCode::OK, &ListParams::default()).await
}

pub async fn replace_one(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
    body: web::Bytes,
) -> Result<HttpResponse, ScimError> {
    let bearer = bearer(&state, &req, Some(Permission::UsersManage)).await?;
    let id = id_of(&path)?;
    let inc = incoming(&body_json(&body)?)?;
    write(&state, &req, id, bearer.actor, move |_| Ok(inc)).await
}

pub async fn patch_one(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
    body: web::Bytes,
) -> Result<HttpResponse, ScimError> {
    let bearer = bearer(&state, &req, Some(Permission::UsersManage)).await?;
    let id = id_of(&path)?;
    let ops = patch::operations(&body_json(&body)?)?;
    let base = base(&state);
    write(&state, &req, id, bearer.actor, move |current| {
        let mut r = to_json(current, &base, false);
        patch::apply(&mut r, &ops, USER, &[ENTERPRISE, CONCIERGE])?;
        incoming(&r)
    })
    .await
}

pub async fn delete_one(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
) -> Result<HttpResponse, ScimError> {
    let bearer = bearer(&state, &req, Some(Permission::UsersManage)).await?;
    let id = id_of(&path)?;
    let actor = bearer.actor;
    let if_match = if_match(&req);
    ops::apply(&state.db, move |conn| {
        let current = load(conn, id)?.ok_or(AppError::NotFound)?;
        if stale(if_match.as_deref(), &current) {
            return Ok(Err(ScimError::stale()));
        }
        ops::users::change_status(conn, &actor, id, StatusChange::Delete)?;
        Ok(Ok(()))
    })
    .await??;
    Ok(HttpResponse::NoContent().finish())
}

pub async fn list(state: web::Data<AppState>, req: HttpRequest) -> Result<HttpResponse, ScimError> {
    bearer(&state, &req, Some(Permission::UsersView)).await?;
    search(&state, ListParams::of(&req)?).await
}

pub async fn search_post(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: web::Bytes,
) -> Result<HttpResponse, ScimError> {
    bearer(&state, &req, Some(Permission::UsersView)).await?;
    let params = ListParams::from_search(&body_json(&body)?);
    search(&state, params).await
}

async fn search(state: &AppState, params: ListParams) -> Result<HttpResponse, ScimError> {
    let filter = params.filter()?;
    let order = sort_key(params.sort_by.as_deref())?;
    let (start, count) = params.window()?;
    let descending = params.descending();
    let (total, users) = state
        .db
        .run(move |conn| {
            let mut counting = Sql::new(conn);
            counting.push("SELECT COUNT(*) AS n FROM users WHERE ");
            if let Err(e) = where_users(&mut counting, filter.as_ref()) {
                return Ok(Err(e));
            }
            let total = counting.load::<Number>(conn)?.first().map_or(0, |n| n.n);
            let mut page = Sql::new(conn);
            let dir = if descending { "DESC" } else { "ASC" };
            page.push("SELECT id AS n FROM users WHERE ");
            if let Err(e) = where_users(&mut page, filter.as_ref()) {
                return Ok(Err(e));
            }
            page.push(&format!(" ORDER BY {order} {dir}, id {dir} LIMIT ")).bind(Bind::Int(count));
            page.push(" OFFSET ").bind(Bind::Int(start - 1));
            let ids: Vec<i64> =
                if count == 0 { Vec::new() } else { page.load::<Number>(conn)?.into_iter().map(|n| n.n).collect() };
            Ok(Ok((total, load_many(conn, &ids)?)))
        })
        .await??;
    let base = base(state);
    let resources = users
        .iter()
        .map(|l| {
            let mut r = to_json(l, &base, wants_access(&params));
            project(&mut r, &params, USER);
            r
        })
        .collect();
    Ok(list_response(total, start, resources))
}

/// The users a list shows: not deleted, and matching the filter.
fn where_users(sql: &mut Sql, filter: Option<&Filter>) -> Result<(), ScimError> {
    sql.push("status <> 'deleted'");
    if let Some(f) = filter {
        sql.push(" AND ");
        condition(sql, f, None)?;
    }
    Ok(())
}

/// The column a `sortBy` names.
fn sort_key(sort_by: Option<&str>) -> Result<&'static str, ScimError> {
    let Some(s) = sort_by.map(str::trim).filter(|s| !s.is_empty()) else { return Ok("id") };
    Ok(match attribute(s).as_str() {
        "username" => "COALESCE(user_name_key, email)",
        "emails" | "emails.value" => "email",
        "name.givenname" => "first_name",
        "name.familyname" | "displayname" => "last_name",
        "meta.created" => "created_at",
        "meta.lastmodified" => "updated_at",
        "externalid" => "external_id",
        "title" => "title",
        "id" => "id",
        _ => return Err(ScimError::invalid_value(&format!("sortBy: \"{s}\" is not sortable."))),
    })
}

/// An attribute path in lower case, the core schema's prefix taken off and an extension's kept
/// short (`enterprise:organization`, `concierge:group`).
fn attribute(path: &str) -> String {
    let lower = path.trim().to_ascii_lowercase();
    for (urn, short) in [(USER, ""), (ENTERPRISE, "enterprise:"), (CONCIERGE, "concierge:")] {
        if let Some(rest) = lower.strip_prefix(&urn.to_ascii_lowercase()) {
            return format!("{short}{}", rest.trim_start_matches(':'));
        }
    }
    lower
}

/// The SQL condition of a filter over the users table, its values bound.
fn condition(sql: &mut Sql, f: &Filter, within: Option<&str>) -> Result<(), ScimError> {
    match f {
        Filter::And(a, b) | Filter::Or(a, b) => {
            sql.push("(");
            condition(sql, a, within)?;
            sql.push(if matches!(f, Filter::And(..)) { " AND " } else { " OR " });
            condition(sql, b, within)?;
            sql.push(")");
        }
        Filter::Not(a) => {
            sql.push("NOT (");
            condition(sql, a, within)?;
            sql.push(")");
        }
        Filter::Each(path, inner) => {
            let path = attribute(path);
            if !matches!(path.as_str(), "emails" | "phonenumbers") {
                return Err(ScimError::invalid_filter(&format!("\"{path}\" has no values to filter.")));
            }
            condition(sql, inner, Some(&path))?;
        }
        Filter::Present(path) => {
            let path = qualified(path, within);
            // Every user has a name, an address, a status and dates: only a text column may be empty.
            match column(&path)? {
                Column::Text(c) | Column::Exact(c) => sql.push(&format!("({c} IS NOT NULL AND {c} <> '')")),
                _ => sql.push("1 = 1"),
            };
        }
        Filter::Compare(path, op, value) => compare(sql, &qualified(path, within), *op, value)?,
    }
    Ok(())
}

fn qualified(path: &str, within: Option<&str>) -> String {
    match within {
        Some(w) => format!("{w}.{}", attribute(path)),
        None => attribute(path),
    }
}

enum Column {
    Text(&'static str),
    /// Compared as written (RFC 7643 §3.1: `externalId` is case-exact), so `eq` is an index lookup.
    Exact(&'static str),
    UserName,
    Email,
    Group,
    Active,
    Id,
    Time(&'static str),
    /// A sub-attribute that every user's one value has (`emails.type` is work).
    Constant(&'static str),
}

fn column(path: &str) -> Result<Column, ScimError> {
    Ok(match path {
        "username" => Column::UserName,
        "emails" | "emails.value" => Column::Email,
        "emails.type" | "phonenumbers.type" => Column::Constant("work"),
        "name.givenname" => Column::Text("first_name"),
        "name.familyname" => Column::Text("last_name"),
        "displayname" => Column::Text("(first_name || ' ' || last_name)"),
        "title" => Column::Text("title"),
        "externalid" => Column::Exact("external_id"),
        "phonenumbers" | "phonenumbers.value" => Column::Text("phone"),
        "enterprise:organization" => Column::Text("company"),
        "concierge:jobfunction" => Column::Text("job_function"),
        "concierge:group" => Column::Group,
        "active" => Column::Active,
        "id" => Column::Id,
        "meta.lastmodified" => Column::Time("updated_at"),
        "meta.created" => Column::Time("created_at"),
        other => return Err(ScimError::invalid_filter(&format!("\"{other}\" cannot be filtered on."))),
    })
}

fn compare(sql: &mut Sql, path: &str, op: Op, value: &Value) -> Result<(), ScimError> {
    let exact = || {
        value
            .as_str()
            .map(str::to_owned)
            .ok_or_else(|| ScimError::invalid_filter(&format!("\"{path}\" is compared with a string.")))
    };
    let string = || exact().map(|v| v.to_lowercase());
    match column(path)? {
        Column::Text(c) => text_compare(sql, &format!("lower({c})"), Some(c), op, string()?),
        Column::Exact(c) => text_compare(sql, c, Some(c), op, exact()?),
        Column::Email => {
            if op == Op::Eq {
                sql.push("email = ").bind(Bind::Text(string()?));
                Ok(())
            } else {
                text_compare(sql, "email", Some("email"), op, string()?)
            }
        }
        Column::UserName => {
            let v = string()?;
            if op == Op::Eq {
                // Each side an index lookup: users_user_name and the email's.
                sql.push("(user_name_key = ").bind(Bind::Text(v.clone()));
                sql.push(" OR (user_name IS NULL AND email = ").bind(Bind::Text(v)).push("))");
                Ok(())
            } else {
                text_compare(sql, "COALESCE(user_name_key, email)", None, op, v)
            }
        }
        Column::Group => {
            sql.push("group_id IN (SELECT id FROM groups WHERE ");
            text_compare(sql, "lower(name)", Some("name"), op, string()?)?;
            sql.push(")");
            Ok(())
        }
        Column::Constant(k) => {
            let v = string()?;
            let holds = filter::matches(&Filter::Compare("v".into(), op, Value::String(v)), &json!({ "v": k }));
            sql.push(if holds { "1 = 1" } else { "1 = 0" });
            Ok(())
        }
        Column::Active => {
            let wanted = boolean(value, "active")
                .map_err(|_| ScimError::invalid_filter("active is compared with true or false."))?;
            let positive = match op {
                Op::Eq => wanted,
                Op::Ne => !wanted,
                _ => return Err(ScimError::invalid_filter("active is compared with eq or ne.")),
            };
            sql.push(if positive { "status IN ('active', 'invited')" } else { "status = 'disabled'" });
            Ok(())
        }
        Column::Id => {
            let id = value.as_str().and_then(|s| s.trim().parse::<i64>().ok());
            match (op, id) {
                (Op::Eq, Some(id)) => sql.push("id = ").bind(Bind::Int(id)),
                (Op::Ne, Some(id)) => sql.push("id <> ").bind(Bind::Int(id)),
                (Op::Eq, None) => sql.push("1 = 0"),
                (Op::Ne, None) => sql.push("1 = 1"),
                _ => return Err(ScimError::invalid_filter("id is compared with eq or ne.")),
            };
            Ok(())
        }
        Column::Time(c) => {
            let at = value
                .as_str()
                .and_then(|s| chrono::DateTime::parse_from_rfc3339(s.trim()).ok())
                .ok_or_else(|| {
                    ScimError::invalid_filter(&format!("\"{path}\" is compared with a date like 2026-12-01T00:00:00Z."))
                })?
                .naive_utc();
            let sign = match op {
                Op::Eq => "=",
                Op::Ne => "<>",
                Op::Gt => ">",
                Op::Ge => ">=",
                Op::Lt => "<",
                Op::Le => "<=",
                _ => return Err(ScimError::invalid_filter("Dates are compared with eq, ne, gt, ge, lt or le.")),
            };
            sql.push(&format!("{c} {sign} ")).bind(Bind::Time(at));
            Ok(())
        }
    }
}

/// A case-blind comparison of a text expression (`raw`: the column itself, for `pr`-like tests).
fn text_compare(sql: &mut Sql, expr: &str, raw: Option<&str>, op: Op, v: String) -> Result<(), ScimError> {
    match op {
        Op::Eq => {
            sql.push(&format!("{expr} = ")).bind(Bind::Text(v));
        }
        Op::Ne => {
            let null = raw.map(|r| format!("{r} IS NULL OR ")).unwrap_or_default();
            sql.push(&format!("({null}{expr} <> ")).bind(Bind::Text(v)).push(")");
        }
        Op::Co => {
            sql.push(&format!("{expr} LIKE ")).bind(Bind::Text(format!("%{}%", like_escaped(&v)))).push(" ESCAPE '\\'");
        }
        Op::Sw => {
            sql.push(&format!("{expr} LIKE ")).bind(Bind::Text(format!("{}%", like_escaped(&v)))).push(" ESCAPE '\\'");
        }
        Op::Ew => {
            sql.push(&format!("{expr} LIKE ")).bind(Bind::Text(format!("%{}", like_escaped(&v)))).push(" ESCAPE '\\'");
        }
        Op::Gt | Op::Ge | Op::Lt | Op::Le => {
            let sign = match op {
                Op::Gt => ">",
                Op::Ge => ">=",
                Op::Lt => "<",
                _ => "<=",
            };
            sql.push(&format!("{expr} {sign} ")).bind(Bind::Text(v));
        }
    }
    Ok(())
}
