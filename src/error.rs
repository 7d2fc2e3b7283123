//! One error type for every handler: it logs the cause chain and renders a page that tells
//! the person what they can do. Nothing about the cause reaches the browser.

use actix_web::http::StatusCode;
use actix_web::http::header::{self, ContentType};
use actix_web::{HttpResponse, ResponseError};
use askama::Template;

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error("not found")]
    NotFound,
    #[error("forbidden")]
    Forbidden,
    #[error("sign-in required")]
    SignInRequired { next: Option<String> },
    #[error("a new password is required")]
    PasswordChangeRequired,
    #[error("two-step sign-in is required")]
    TwoStepRequired,
    #[error("missing or wrong CSRF token")]
    Csrf,
    #[error("the request body is too large")]
    PayloadTooLarge,
    #[error("the request was not understood: {0}")]
    BadRequest(String),
    /// The rules of who may act on whom said no; nothing was changed.
    #[error("refused: {0}")]
    Refused(crate::domain::rules::Refusal),
    /// The user or thing acted on is not in a state for this (say, already deleted); the message
    /// says so in words.
    #[error("not in a state for this: {0}")]
    Unfit(String),
    /// Too much work is waiting (password checks, or another writer holding the database):
    /// nothing was changed; try again in a few seconds.
    #[error("busy")]
    Busy,
    #[error("the database is unavailable")]
    Unavailable(#[source] anyhow::Error),
    #[error("internal error")]
    Internal(#[source] anyhow::Error),
}

impl From<diesel::result::Error> for AppError {
    fn from(e: diesel::result::Error) -> Self {
        use diesel::result::{DatabaseErrorKind, Error};
        match &e {
            Error::NotFound => AppError::NotFound,
            Error::DatabaseError(DatabaseErrorKind::ClosedConnection | DatabaseErrorKind::UnableToSendCommand, _) => {
                AppError::Unavailable(e.into())
            }
            Error::DatabaseError(_, info) if is_unavailable_message(info.message()) => AppError::Unavailable(e.into()),
            // Another writer held SQLite's lock past the busy timeout: nothing was written.
            Error::DatabaseError(_, info) if info.message().contains("database is locked") => AppError::Busy,
            // Every check that a value is free ran before its write; a unique index that still
            // refuses it means another request took the value in between (two SCIM creates of
            // one userName, two administrators adding one address).
            Error::DatabaseError(DatabaseErrorKind::UniqueViolation, _) => AppError::Unfit(
                "Someone else saved the same value at the same moment, so nothing was changed. Try again.".into(),
            ),
            _ => AppError::Internal(e.into()),
        }
    }
}

/// SQLite reports a file that can't be read or written through plain messages.
fn is_unavailable_message(message: &str) -> bool {
    const SIGNS: [&str; 6] = [
        "unable to open database",
        "disk I/O error",
        "readonly database",
        "database disk image is malformed",
        "file is not a database",
        "terminating connection",
    ];
    SIGNS.iter().any(|s| message.contains(s))
}

impl From<askama::Error> for AppError {
    fn from(e: askama::Error) -> Self {
        AppError::Internal(e.into())
    }
}

impl From<anyhow::Error> for AppError {
    fn from(e: anyhow::Error) -> Self {
        AppError::Internal(e)
    }
}

#[derive(Template)]
#[template(path = "errors/page.html")]
struct ErrorPage<'a> {
    status: u16,
    title: &'a str,
    message: &'a str,
}

impl AppError {
    /// The page's title and message; None for the errors answered by a redirect (to sign in, or
    /// to choose a new password).
    pub fn words(&self) -> Option<(&str, &str)> {
        Some(match self {
            AppError::SignInRequired { .. } | AppError::PasswordChangeRequired | AppError::TwoStepRequired => {
                return None;
            }
            AppError::NotFound => {
                ("Page not found", "There is nothing at this address. Check the link, or go back to Settings.")
            }
            AppError::Forbidden => {
                ("Not allowed", "Your group does not allow this. Ask an administrator if you need it.")
            }
            AppError::Refused(refusal) => ("Not allowed", refusal.message()),
            AppError::Unfit(message) => ("Nothing was changed", message.as_str()),
            AppError::Csrf => (
                "This form has expired",
                "For your safety the form could not be accepted. Go back, reload the page and try again.",
            ),
            AppError::PayloadTooLarge => {
                ("Too much at once", "The form sent more than this page accepts. Send less and try again.")
            }
            AppError::BadRequest(_) => {
                ("Request not understood", "The request was not understood. Go back and try again.")
            }
            AppError::Busy => (
                "Busy for a moment",
                "Concierge is busy for a moment. Nothing was changed. Try again in a few seconds.",
            ),
            AppError::Unavailable(_) => (
                "Temporarily unavailable",
                "Concierge cannot reach its database right now. Nothing was changed. Try again in a minute.",
            ),
            AppError::Internal(_) => (
                "Something went wrong",
                "Nothing was changed. Try again; if it keeps happening, tell your administrator.",
            ),
        })
    }
}

impl ResponseError for AppError {
    fn status_code(&self) -> StatusCode {
        match self {
            AppError::NotFound => StatusCode::NOT_FOUND,
            AppError::Forbidden | AppError::Csrf | AppError::Refused(_) => StatusCode::FORBIDDEN,
            AppError::Unfit(_) => StatusCode::CONFLICT,
            AppError::SignInRequired { .. } | AppError::PasswordChangeRequired | AppError::TwoStepRequired => {
                StatusCode::SEE_OTHER
            }
            AppError::BadRequest(_) => StatusCode::BAD_REQUEST,
            AppError::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            AppError::Unavailable(_) | AppError::Busy => StatusCode::SERVICE_UNAVAILABLE,
            AppError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        match self {
            AppError::Unavailable(cause) => tracing::error!(error = ?cause, "database unavailable"),
            AppError::Internal(cause) => tracing::error!(error = ?cause, "internal error"),
            _ => {}
        }
        let location = match self {
            AppError::SignInRequired { next: Some(next) } => format!("/sign-in?next={}", crate::web::urlencode(next)),
            AppError::SignInRequired { next: None } => "/sign-in".to_owned(),
            AppError::PasswordChangeRequired => "/profile/password".to_owned(),
            AppError::TwoStepRequired => "/profile/two-step".to_owned(),
            _ => String::new(),
        };
        let Some((title, message)) = self.words() else {
            return HttpResponse::SeeOther().insert_header((header::LOCATION, location)).finish();
        };
        let page = ErrorPage { status: self.status_code().as_u16(), title, message };
        let status = self.status_code();
        let mut response = HttpResponse::build(status);
        response.content_type(ContentType::html());
        if status == StatusCode::SERVICE_UNAVAILABLE {
            response.insert_header((header::RETRY_AFTER, if matches!(self, AppError::Busy) { "5" } else { "30" }));
        }
        response.body(page.render().unwrap_or_else(|_| message.to_owned()))
    }
}

#[cfg(test)]
mod tests {
    use super::AppError;
    use diesel::result::{DatabaseErrorKind, Error};

    #[test]
    fn a_value_taken_meanwhile_is_a_conflict_not_a_fault() {
        let taken = Error::DatabaseError(DatabaseErrorKind::UniqueViolation, Box::new("duplicate key".to_owned()));
        assert!(matches!(AppError::from(taken), AppError::Unfit(_)));
        let other = Error::DatabaseError(DatabaseErrorKind::CheckViolation, Box::new("check".to_owned()));
        assert!(matches!(AppError::from(other), AppError::Internal(_)));
    }
}
