//! Import CSV: upload a file, see every row with its problems before anything is written, then
//! import all rows or none. Imported users are invited (the invitation mails are queued with them).

use actix_web::http::StatusCode;
use actix_web::http::header::CONTENT_TYPE;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use serde::Deserialize;

use crate::auth::Require;
use crate::auth::current_user::ManageUsers;
use crate::error::AppError;
use crate::ops;
use crate::ops::import::RowView;
use crate::state::AppState;
use crate::web::layout::{Layout, Tab};
use crate::web::{render, see_other};

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
    // The preview carries the file forward in a form, and forms are read up to 256 KB.
    if csv_text.len() > MAX_FILE_BYTES {
        let page = ImportPage {
            layout: user.layout("Import CSV", Tab::Users),
            error: format!("The file is larger than {} KB: import it in parts.", MAX_FILE_BYTES / 1024),
            rows: Vec::new(),
            csv: String::new(),
            valid: false,
        };
        return render(StatusCode::UNPROCESSABLE_ENTITY, &page);
    }
    show(state, user, csv_text, false).await
}

/// The largest file the preview takes: what its confirmation can carry back.
const MAX_FILE_BYTES: usize = 240 * 1024;

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
    // Users are shown here (names, addresses, whether one exists): seeing them needs users.view.
    if !user.can(crate::domain::Permission::UsersView) {
        return Err(AppError::Forbidden);
    }
    let acting = user.acting();
    let public_url = state.config.public_url.clone();
    let text = csv_text.clone();
    // Judging a file of 2,000 rows and rendering its mails only reads: it happens before the
    // turn to write, so no one saving meanwhile waits for it. The write checks again.
    let judge = {
        let acting = acting.clone();
        move |conn: &mut crate::db::DbConnection| ops::import::ready(conn, &acting, &public_url, &text, write)
    };
    let began = std::time::Instant::now();
    let outcome = match state.db.run(judge).await? {
        Ok(ready) => {
            let judged = began.elapsed();
            let (count, writing) = ops::apply(&state.db, move |conn| {
                let began = std::time::Instant::now();
                ops::import::write(conn, &acting, ready).map(|count| (count, began.elapsed()))
            })
            .await?;
            let (judging, writing, in_all) = (judged.as_millis(), writing.as_millis(), began.elapsed().as_millis());
            tracing::info!(count, judging, writing, in_all, "users imported (milliseconds)");
            Ok(count)
        }
        Err(shown) => Err(shown),
    };
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
