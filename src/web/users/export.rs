//! Export CSV: every user (or just the current results), streamed from the blocking pool in
//! chunks, so a million users go out without holding them in memory.

use actix_web::http::header;
use actix_web::{HttpResponse, web};
use futures_util::stream;
use serde::Deserialize;

use super::list::{ListParams, list_query};
use crate::auth::Require;
use crate::auth::current_user::ExportUsers;
use crate::error::AppError;
use crate::state::AppState;

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct Scope {
    results: String,
}

pub async fn export(
    state: web::Data<AppState>,
    user: Require<ExportUsers>,
    scope: web::Query<Scope>,
    params: web::Query<ListParams>,
) -> Result<HttpResponse, AppError> {
    let only_results = !scope.results.is_empty();
    let query = list_query(&params);
    let (acting, search) = (user.acting(), query.search.clone());
    state.db.run(move |conn| crate::ops::users::record_export(conn, &acting, only_results, &search)).await?;

    let (tx, rx) = tokio::sync::mpsc::channel::<Vec<u8>>(4);
    let db = state.db.clone();
    actix_web::rt::task::spawn_blocking(move || {
        let result = db.get().and_then(|mut conn| {
            let sink = |chunk: Vec<u8>| tx.blocking_send(chunk).is_ok();
            if only_results {
                crate::export::results(&mut conn, &query, sink)
            } else {
                crate::export::all_users(&mut conn, sink)
            }
        });
        if let Err(e) = result {
            tracing::error!(error = ?e, "the export stopped");
        }
    });
    let body = stream::unfold(rx, |mut rx| async move {
        rx.recv().await.map(|chunk| (Ok::<_, actix_web::Error>(web::Bytes::from(chunk)), rx))
    });
    let name = format!("users-{}.csv", chrono::Utc::now().format("%Y%m%d-%H%M%S"));
    Ok(HttpResponse::Ok()
        .content_type("text/csv; charset=utf-8")
        .insert_header((header::CONTENT_DISPOSITION, format!("attachment; filename=\"{name}\"")))
        .streaming(body))
}
