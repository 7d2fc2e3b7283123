//! Import CSV: upload a file, see every row with its problems before anything is written, then
//! import all rows or none. Imported users are invited (the invitation mails are queued with them).

use std::collections::HashSet;

use actix_web::http::StatusCode;
use actix_web::http::header::CONTENT_TYPE;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use serde::Deserialize;

use crate::auth::Require;
use crate::auth::current_user::ManageUsers;
use crate::db::{DbConnection, groups, users};
use crate::domain::FieldErrors;
use crate::domain::user_form::UserInfoForm;
use crate::error::AppError;
use crate::ops;
use crate::state::AppState;
use crate::web::layout::{Layout, Tab};
use crate::web::{render, see_other};

/// At most this many rows at a time (the preview carries the file forward in a form).
pub const MAX_ROWS: usize = 2000;
pub const COLUMNS: &str = "email,first_name,last_name,phone,title,job_function,company,group";

pub struct RowView {
    pub line: usize,
    pub email: String,
    pub name: String,
    pub group: String,
    pub problems: Vec<String>,
}

#[derive(Template)]
#[template(path = "users/import.html")]
struct ImportPage {
    layout: Layout,
    error: String,
    rows: Vec<RowView>,
    csv: String,
    valid: bool,
}

pub async fn page(user: Require<ManageUsers>) -> Result<HttpResponse, AppError> {
    let page = ImportPage {
        layout: user.layout("Import CSV", Tab::Users),
        error: String::new(),
        rows: Vec::new(),
        csv: String::new(),
        valid: false,
    };
    render(StatusCode::OK, &page)
}

/// The `file` part of a multipart form.
fn file_part(content_type: &str, body: &[u8]) -> Option<String> {
    let boundary = content_type.split(';').find_map(|p| p.trim().strip_prefix("boundary="))?.trim_matches('"');
    let text = String::from_utf8_lossy(body);
    let delimiter = format!("--{boundary}");
    text.split(&delimiter).find_map(|part| {
        let (head, content) = part.split_once("\r\n\r\n")?;
        head.contains("name=\"file\"").then(|| content.strip_suffix("\r\n").unwrap_or(content).to_owned())
    })
}

/// A parsed row ready to insert, or its problems.
struct Parsed {
    info: Option<crate::domain::user_form::UserInfo>,
    view: RowView,
}

fn parse(
    conn: &mut DbConnection,
    acting: &crate::ops::Actor,
    csv_text: &str,
) -> Result<Result<Vec<Parsed>, String>, AppError> {
    let mut reader = csv::ReaderBuilder::new().flexible(true).trim(csv::Trim::All).from_reader(csv_text.as_bytes());
    let headers = match reader.headers() {
        Ok(h) => h.iter().map(|h| h.to_lowercase()).collect::<Vec<_>>(),
        Err(_) => return Ok(Err("The file is not CSV.".into())),
    };
    for needed in COLUMNS.split(',').filter(|c| *c != "company") {
        if !headers.iter().any(|h| h == needed) {
            return Ok(Err(format!("The first line must name the columns: {COLUMNS} (\"{needed}\" is missing).")));
        }
    }
    let groups = groups::list_with_permissions(conn)?;
    let actor = acting.person();
    let mut seen = HashSet::new();
    let mut out = Vec::new();
    for (i, record) in reader.records().enumerate() {
        if i >= MAX_ROWS {
            return Ok(Err(format!("Import at most {MAX_ROWS} rows at a time.")));
        }
        let record = match record {
            Ok(r) => r,
            Err(e) => return Ok(Err(format!("Line {}: {e}", i + 2))),
        };
        let get =
            |name: &str| headers.iter().position(|h| h == name).and_then(|p| record.get(p)).unwrap_or("").to_owned();
        let group_name = get("group");
        let group = groups.iter().find(|(g, _)| g.name.eq_ignore_ascii_case(&group_name));
        let job = get("job_function");
        let job_key = crate::domain::JobFunction::ALL
            .into_iter()
            .find(|j| j.key() == job || j.label().eq_ignore_ascii_case(&job))
            .map_or(job.clone(), |j| j.key().to_owned());
        let form = UserInfoForm {
            first_name: get("first_name"),
            last_name: get("last_name"),
            email: get("email"),
            phone: get("phone"),
            title: get("title"),
            job_function: job_key,
            company: get("company"),
            group_id: group.map(|(g, _)| g.id.to_string()).unwrap_or_default(),
        };
        let mut errors = FieldErrors::new();
        let info = form.parse(&mut errors);
        let mut problems: Vec<String> = errors
            .iter()
            .map(|(field, m)| {
                if field == "group_id" {
                    format!("group: no group is called \"{group_name}\"")
                } else {
                    format!("{field}: {m}")
                }
            })
            .collect();
        if let Some((_, permissions)) = group
            && let Err(m) = crate::domain::rules::may_assign(&actor, permissions)
        {
            problems.push(format!("group: {m}"));
        }
        if let Some(info) = &info {
            if !seen.insert(info.email.as_str().to_owned()) {
                problems.push("email: appears twice in this file".into());
            } else if users::find_by_email(conn, info.email.as_str())?.is_some() {
                problems.push("email: a user with this address exists already".into());
            }
        }
        out.push(Parsed {
            view: RowView {
                line: i + 2,
                email: form.email.clone(),
                name: format!("{} {}", form.first_name, form.last_name),
                group: group_name,
                problems,
            },
            info,
        });
    }
    if out.is_empty() {
        return Ok(Err("The file has no rows under its header.".into()));
    }
    Ok(Ok(out))
}

/// The upload: parse and show the preview; nothing is written.
pub async fn preview(
    state: web::Data<AppState>,
    user: Require<ManageUsers>,
    req: HttpRequest,
    body: web::Bytes,
) -> Result<HttpResponse, AppError> {
    let content_type = req.headers().get(CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("").to_owned();
    let csv_text = if content_type.starts_with("multipart/form-data") {
        file_part(&content_type, &body).unwrap_or_default()
    } else {
        String::new()
    };
    show(state, user, csv_text, false).await
}

#[derive(Deserialize)]
pub struct ConfirmForm {
    #[serde(default)]
    csv: String,
}

/// Imports every row of the previewed file, or none.
pub async fn confirm(
    state: web::Data<AppState>,
    user: Require<ManageUsers>,
    form: web::Form<ConfirmForm>,
) -> Result<HttpResponse, AppError> {
    show(state, user, form.into_inner().csv, true).await
}

async fn show(
    state: web::Data<AppState>,
    user: Require<ManageUsers>,
    csv_text: String,
    write: bool,
) -> Result<HttpResponse, AppError> {
    let acting = user.acting();
    let public_url = state.config.public_url.clone();
    let text = csv_text.clone();
    let outcome = state
        .db
        .transaction(move |conn| {
            let parsed = match parse(conn, &acting, &text)? {
                Ok(rows) => rows,
                Err(message) => return Ok(Err((message, Vec::new()))),
            };
            let valid = parsed.iter().all(|p| p.view.problems.is_empty() && p.info.is_some());
            if !write || !valid {
                return Ok(Err((String::new(), parsed.into_iter().map(|p| p.view).collect())));
            }
            let mut count = 0;
            for p in parsed {
                let (errors, access) = (FieldErrors::new(), Default::default());
                let entry = ops::users::Entry::Import;
                // All or nothing: a row the preview passed but the rules refuse now ends the
                // whole import, with nothing written.
                if let Err(refused) = ops::users::create(conn, &acting, &public_url, p.info, errors, &access, entry)? {
                    let problems = refused.errors.iter().map(|(f, m)| format!("{f}: {m}")).collect::<Vec<_>>();
                    return Err(AppError::Unfit(format!("A row can no longer be imported: {}", problems.join("; "))));
                }
                count += 1;
            }
            Ok(Ok(count))
        })
        .await?;
    match outcome {
        Ok(count) => {
            state.mail_queued.notify_one();
            user.session.success(format!("{count} users were imported and invited."));
            Ok(see_other("/users"))
        }
        Err((error, rows)) => {
            let valid = error.is_empty() && !rows.is_empty() && rows.iter().all(|r| r.problems.is_empty());
            let status = if valid || (error.is_empty() && rows.is_empty()) {
                StatusCode::OK
            } else {
                StatusCode::UNPROCESSABLE_ENTITY
            };
            let error = if error.is_empty() && rows.is_empty() { "Choose a CSV file.".into() } else { error };
            let page = ImportPage { layout: user.layout("Import CSV", Tab::Users), error, rows, csv: csv_text, valid };
            render(if write && !valid { StatusCode::UNPROCESSABLE_ENTITY } else { status }, &page)
        }
    }
}
