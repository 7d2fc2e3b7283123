//! CSRF protection for every state-changing request: the form's `csrf_token` field must
//! equal the token in the session. Checked in one middleware so no handler can forget it.
//! Multipart forms (file uploads) carry the token in the action's query string instead.

use actix_session::SessionExt;
use actix_web::HttpMessage;
use actix_web::body::{EitherBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::{Method, header};
use actix_web::middleware::Next;
use actix_web::web::{Bytes, BytesMut};
use futures_util::StreamExt;

use super::secret::constant_time_eq;
use crate::error::AppError;

pub const FIELD: &str = "csrf_token";
/// Forms are small; CSV uploads are multipart and are not read here.
const FORM_LIMIT: usize = 256 * 1024;

/// Paths that authenticate with a bearer token instead of a cookie, and so need no CSRF token.
fn exempt(path: &str) -> bool {
    path.starts_with("/scim/") || path.starts_with("/api/")
}

pub async fn check<B: MessageBody + 'static>(
    mut req: ServiceRequest,
    next: Next<B>,
) -> Result<ServiceResponse<EitherBody<B>>, actix_web::Error> {
    let safe = matches!(*req.method(), Method::GET | Method::HEAD | Method::OPTIONS);
    if safe || exempt(req.path()) {
        return next.call(req).await.map(ServiceResponse::map_into_left_body);
    }
    let expected = req.get_session().get::<String>("csrf").ok().flatten();
    let content_type =
        req.headers().get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("").to_ascii_lowercase();

    let supplied = if content_type.starts_with("application/x-www-form-urlencoded") {
        let mut payload = req.take_payload();
        let mut body = BytesMut::new();
        while let Some(chunk) = payload.next().await {
            let chunk = chunk?;
            if body.len() + chunk.len() > FORM_LIMIT {
                return Ok(refuse(req, AppError::PayloadTooLarge));
            }
            body.extend_from_slice(&chunk);
        }
        let body: Bytes = body.freeze();
        let token = field_of(&body);
        req.set_payload(actix_web::dev::Payload::from(body));
        token
    } else {
        field_of(req.query_string().as_bytes())
    };

    match (expected, supplied) {
        (Some(expected), Some(supplied)) if constant_time_eq(expected.as_bytes(), supplied.as_bytes()) => {
            next.call(req).await.map(ServiceResponse::map_into_left_body)
        }
        _ => {
            tracing::warn!(
                route = req.match_pattern().as_deref().unwrap_or("?"),
                "refused a request without a valid CSRF token"
            );
            Ok(refuse(req, AppError::Csrf))
        }
    }
}

/// Answers the request with the error's page (not an error, so the outer middlewares add their
/// headers to it).
fn refuse<B>(req: ServiceRequest, error: AppError) -> ServiceResponse<EitherBody<B>> {
    use actix_web::ResponseError;
    req.into_response(error.error_response()).map_into_right_body()
}

fn field_of(encoded: &[u8]) -> Option<String> {
    serde_urlencoded::from_bytes::<Vec<(String, String)>>(encoded)
        .ok()?
        .into_iter()
        .find(|(k, _)| k == FIELD)
        .map(|(_, v)| v)
}
