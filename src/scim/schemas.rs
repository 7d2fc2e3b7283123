//! What the server says of itself: ServiceProviderConfig, ResourceTypes and Schemas. Only
//! attributes that are kept and answered back are declared.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use serde_json::{Value, json};

use super::{ScimError, answer, base, bearer, list_response};
use crate::state::AppState;

pub const USER: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
pub const ENTERPRISE: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";
/// The user's group, job function and Property Access: ids that can be written, and (read
/// only, on request) each grant with its name and end date, and the day the account ends.
pub const CONCIERGE: &str = "urn:concierge:params:scim:schemas:extension:2.0:User";
pub const GROUP: &str = "urn:ietf:params:scim:schemas:core:2.0:Group";
const SPC: &str = "urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig";
const RESOURCE_TYPE: &str = "urn:ietf:params:scim:schemas:core:2.0:ResourceType";
const SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:Schema";

fn attr(name: &str, kind: &str, description: &str) -> Value {
    json!({
        "name": name, "type": kind, "multiValued": false, "description": description, "required": false,
        "caseExact": false, "mutability": "readWrite", "returned": "default", "uniqueness": "none",
    })
}

fn with(mut a: Value, changes: Value) -> Value {
    if let (Value::Object(a), Value::Object(c)) = (&mut a, changes) {
        a.extend(c);
    }
    a
}

fn user_schema() -> Value {
    json!({
        "id": USER, "name": "User", "description": "A person of the portal.",
        "attributes": [
            with(attr("userName", "string", "The name the user signs in with at the identity provider; by default their email."),
                json!({ "required": true, "uniqueness": "server" })),
            with(attr("name", "complex", "The user's name."), json!({ "required": true, "subAttributes": [
                with(attr("givenName", "string", "First name."), json!({ "required": true })),
                with(attr("familyName", "string", "Last name."), json!({ "required": true })),
            ]})),
            with(attr("displayName", "string", "First and last name."), json!({ "mutability": "readOnly" })),
            attr("title", "string", "Title."),
            with(attr("active", "boolean", "False: disabled."), json!({ "required": true })),
            with(attr("emails", "complex", "The address the portal mails and signs in with; one."),
                json!({ "multiValued": true, "required": true, "subAttributes": [
                    with(attr("value", "string", "The address."), json!({ "required": true })),
                    with(attr("type", "string", "Always work."), json!({ "canonicalValues": ["work"] })),
                ]})),
            with(attr("phoneNumbers", "complex", "The user's phone; one."),
                json!({ "multiValued": true, "subAttributes": [
                    with(attr("value", "string", "7 to 15 digits, with + ( ) - . and spaces."), json!({ "required": true })),
                    with(attr("type", "string", "Always work."), json!({ "canonicalValues": ["work"] })),
                ]})),
        ],
        "meta": { "resourceType": "Schema", "location": format!("/Schemas/{USER}") },
    })
}

fn enterprise_schema() -> Value {
    json!({
        "id": ENTERPRISE, "name": "EnterpriseUser", "description": "Enterprise user.",
        "attributes": [ attr("organization", "string", "The user's company.") ],
        "meta": { "resourceType": "Schema", "location": format!("/Schemas/{ENTERPRISE}") },
    })
}

/// What may be written: the group (by name), the job function, and Property Access by id.
/// `canonicalValues` list what exists now.
fn concierge_schema(groups: &[String], buildings: &[i64], accounts: &[i64]) -> Value {
    let ids = |v: &[i64]| v.iter().map(|i| i.to_string()).collect::<Vec<_>>();
    let jobs: Vec<&str> = crate::domain::JobFunction::ALL.iter().map(|j| j.key()).collect();
    let read_only = json!({ "mutability": "readOnly", "returned": "request" });
    json!({
        "id": CONCIERGE, "name": "ConciergeUser", "description": "The user's group, job function and Property Access.",
        "attributes": [
            with(attr("group", "string", "The name of the user's group; none: Customer, the default. Lists the groups this token may give."),
                json!({ "canonicalValues": groups })),
            with(attr("jobFunction", "string", "One of the portal's job functions."), json!({ "canonicalValues": jobs })),
            with(attr("buildings", "string", "Ids of the buildings granted one by one."),
                json!({ "multiValued": true, "canonicalValues": ids(buildings) })),
            with(attr("accounts", "string", "Ids of the accounts granted whole."),
                json!({ "multiValued": true, "canonicalValues": ids(accounts) })),
            with(attr("grants", "complex", "Each building or account granted (asked for by attributes)."), json!({
                "multiValued": true, "mutability": "readOnly", "returned": "request", "subAttributes": [
                    with(attr("type", "string", "building or account."), json!({ "mutability": "readOnly", "returned": "request", "canonicalValues": ["building", "account"] })),
                    with(attr("value", "string", "Its id."), read_only.clone()),
                    with(attr("display", "string", "Its name."), read_only.clone()),
                    with(attr("endsOn", "string", "The last day of the grant (YYYY-MM-DD), if it ends."), read_only.clone()),
                ],
            })),
            with(attr("endsOn", "string", "The last day of the account (YYYY-MM-DD), if it ends (asked for by attributes)."), read_only),
        ],
        "meta": { "resourceType": "Schema", "location": format!("/Schemas/{CONCIERGE}") },
    })
}

fn group_schema() -> Value {
    json!({
        "id": GROUP, "name": "Group", "description": "A group: its members share its permissions.",
        "attributes": [
            with(attr("displayName", "string", "The group's name."), json!({ "required": true, "uniqueness": "server" })),
            with(attr("members", "complex", "The users in the group; a user is in one group."), json!({
                "multiValued": true, "subAttributes": [
                    with(attr("value", "string", "The user's id."), json!({ "mutability": "immutable" })),
                    with(attr("$ref", "reference", "The user's location."), json!({ "mutability": "immutable", "referenceTypes": ["User"] })),
                    with(attr("type", "string", "User."), json!({ "mutability": "immutable", "canonicalValues": ["User"] })),
                ],
            })),
        ],
        "meta": { "resourceType": "Schema", "location": format!("/Schemas/{GROUP}") },
    })
}

/// Every schema; the groups offered are those `actor` may give (Customer, the default, goes
/// without saying).
fn all_schemas(
    conn: &mut crate::db::DbConnection,
    actor: &crate::ops::Actor,
) -> Result<Vec<Value>, crate::error::AppError> {
    let groups: Vec<String> = crate::db::groups::list_with_permissions(conn)?
        .into_iter()
        .filter(|(g, p)| {
            g.builtin_key.as_deref() != Some("customer") && crate::domain::rules::may_assign(&actor.person(), p).is_ok()
        })
        .map(|(g, _)| g.name)
        .collect();
    let buildings = crate::db::buildings::building_ids(conn)?;
    let accounts = crate::db::buildings::account_ids(conn)?;
    Ok(vec![user_schema(), enterprise_schema(), concierge_schema(&groups, &buildings, &accounts), group_schema()])
}

fn resource_types(base: &str) -> Vec<Value> {
    vec![
        json!({
            "schemas": [RESOURCE_TYPE], "id": "User", "name": "User", "endpoint": "/Users", "schema": USER,
            "description": "The portal's users.",
            "schemaExtensions": [
                { "schema": ENTERPRISE, "required": false },
                { "schema": CONCIERGE, "required": false },
            ],
            "meta": { "resourceType": "ResourceType", "location": format!("{base}/ResourceTypes/User") },
        }),
        json!({
            "schemas": [RESOURCE_TYPE], "id": "Group", "name": "Group", "endpoint": "/Groups", "schema": GROUP,
            "description": "The portal's groups.",
            "meta": { "resourceType": "ResourceType", "location": format!("{base}/ResourceTypes/Group") },
        }),
    ]
}

pub async fn service_provider_config(state: web::Data<AppState>, req: HttpRequest) -> Result<HttpResponse, ScimError> {
    bearer(&state, &req, None).await?;
    let body = json!({
        "schemas": [SPC],
        "documentationUri": format!("{}/scim/v2", state.config.public_url),
        "patch": { "supported": true },
        "bulk": { "supported": false, "maxOperations": 0, "maxPayloadSize": 0 },
        "filter": { "supported": true, "maxResults": super::MAX_COUNT },
        "changePassword": { "supported": false },
        "sort": { "supported": true },
        "etag": { "supported": true },
        "authenticationSchemes": [{
            "type": "oauthbearertoken", "name": "API token",
            "description": "A token from the portal's API tokens tab, with the scim scope, as Authorization: Bearer.",
            "primary": true,
        }],
        "meta": { "resourceType": "ServiceProviderConfig", "location": format!("{}/ServiceProviderConfig", base(&state)) },
    });
    Ok(answer(StatusCode::OK, &body))
}

pub async fn resource_types_list(state: web::Data<AppState>, req: HttpRequest) -> Result<HttpResponse, ScimError> {
    bearer(&state, &req, None).await?;
    let types = resource_types(&base(&state));
    Ok(list_response(types.len() as i64, 1, types))
}

pub async fn resource_type(
    state: web::Data<AppState>,
    req: HttpRequest,
    id: web::Path<String>,
) -> Result<HttpResponse, ScimError> {
    bearer(&state, &req, None).await?;
    let found = resource_types(&base(&state)).into_iter().find(|t| t["id"] == id.as_str());
    found.map(|t| answer(StatusCode::OK, &t)).ok_or_else(ScimError::not_found)
}

fn located(mut schema: Value, base: &str) -> Value {
    schema["schemas"] = json!([SCHEMA]);
    let id = schema["id"].as_str().unwrap_or_default().to_owned();
    schema["meta"]["location"] = format!("{base}/Schemas/{id}").into();
    schema
}

pub async fn schemas_list(state: web::Data<AppState>, req: HttpRequest) -> Result<HttpResponse, ScimError> {
    let actor = bearer(&state, &req, None).await?.actor;
    let schemas = state.db.run(move |conn| all_schemas(conn, &actor)).await?;
    let base = base(&state);
    let schemas: Vec<Value> = schemas.into_iter().map(|s| located(s, &base)).collect();
    Ok(list_response(schemas.len() as i64, 1, schemas))
}

pub async fn schema(
    state: web::Data<AppState>,
    req: HttpRequest,
    id: web::Path<String>,
) -> Result<HttpResponse, ScimError> {
    let actor = bearer(&state, &req, None).await?.actor;
    let schemas = state.db.run(move |conn| all_schemas(conn, &actor)).await?;
    let found = schemas.into_iter().find(|s| s["id"] == id.as_str());
    found.map(|s| answer(StatusCode::OK, &located(s, &base(&state)))).ok_or_else(ScimError::not_found)
}
