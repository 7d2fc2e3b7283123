//! The screens: one module per screen, all routes listed in `router`.

pub mod accounts;
pub mod api_tokens;
pub mod assets;
pub mod audit;
pub mod buildings;
pub mod errors;
pub mod groups;
pub mod health;
pub mod invites;
pub mod layout;
pub mod organization;
pub mod passkeys;
pub mod profile;
pub mod providers;
pub mod public;
pub mod router;
pub mod sessions;
pub mod two_step;
pub mod users;

use actix_web::HttpResponse;
use actix_web::http::header;

/// A 303 redirect: what every successful POST answers (post / redirect / get). A location that
/// is no valid header value (it never should be: every one passes `safe_next` or is built
/// here) goes to Settings rather than failing after the change was committed.
pub fn see_other(location: &str) -> HttpResponse {
    let location = header::HeaderValue::from_str(location).unwrap_or(header::HeaderValue::from_static("/settings"));
    HttpResponse::SeeOther().insert_header((header::LOCATION, location)).finish()
}

/// Begins a session of user `id` under `stamp` in this browser: the server records it (and
/// mails the user about a browser not seen before), then the cookie names it.
pub async fn begin_session(
    state: &crate::state::AppState,
    session: &crate::auth::session::SessionState,
    req: &actix_web::HttpRequest,
    id: i64,
    stamp: &str,
) -> Result<(), crate::error::AppError> {
    begin_session_via(state, session, req, id, stamp, None).await
}

/// Begins a session as `begin_session` does, recording the OpenID provider it came through.
pub async fn begin_session_via(
    state: &crate::state::AppState,
    session: &crate::auth::session::SessionState,
    req: &actix_web::HttpRequest,
    id: i64,
    stamp: &str,
    provider: Option<i64>,
) -> Result<(), crate::error::AppError> {
    let ctx = crate::db::audit::AuditContext::from_request(req, Some(id), None);
    let (at, owned) = (state.config.clock.now(), stamp.to_owned());
    // The sessions this browser was in before (signing in again from a second tab) end.
    let before = session.recorded_keys();
    let key = crate::ops::apply(&state.db, move |conn| {
        crate::ops::sessions::start(conn, &ctx, (id, &owned), (None, provider), at, &before)
    })
    .await?;
    state.mail_queued.notify_one();
    session.sign_in(id, stamp, &key)
}

/// For a page only the user themself may use (`what`: "changes their password or email"): back
/// to My Profile with that said, when an administrator is signed in as them.
pub fn refuse_impersonated(user: &crate::auth::current_user::CurrentUser, what: &str) -> Option<HttpResponse> {
    user.impersonator_id.map(|_| {
        user.session.error(format!("Only the user themself {what}."));
        see_other("/profile")
    })
}

/// Shows an operation's outcome as a flash message: what happened, or why it was refused (the
/// rules' refusal or the target's state). Other errors pass on. Returns whether it happened.
pub fn flash_outcome(
    session: &crate::auth::session::SessionState,
    outcome: Result<String, crate::error::AppError>,
) -> Result<bool, crate::error::AppError> {
    use crate::error::AppError;
    match outcome {
        Ok(message) => Ok(session.outcome(Ok(message))),
        Err(AppError::Refused(refusal)) => Ok(session.outcome(Err(refusal.message().to_owned()))),
        Err(AppError::Unfit(message)) => Ok(session.outcome(Err(message))),
        Err(e) => Err(e),
    }
}

/// Percent-encodes a value for a query string.
pub fn urlencode(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for b in value.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' | b'/' => out.push(b as char),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

/// A `next` target after sign-in: only a path on this site. Browsers drop tabs and line breaks
/// from a URL and read a backslash as a slash, so `/\t/evil.example` would leave the site:
/// a path of visible ASCII only, without backslashes, not beginning with two slashes.
pub fn safe_next(next: Option<&str>) -> &str {
    match next {
        Some(n)
            if n.starts_with('/')
                && !n.starts_with("//")
                && n.len() <= 2048
                && n.bytes().all(|b| b.is_ascii_graphic() && b != b'\\') =>
        {
            n
        }
        _ => "/settings",
    }
}

/// What a search box sent, as the search uses it: trimmed, at most 100 characters, without
/// control characters (a NUL byte is no text to PostgreSQL, nor to a full-text query).
pub fn search_text(raw: &str) -> String {
    raw.trim().chars().filter(|c| !c.is_control()).take(100).collect()
}

/// A new password, typed twice.
#[derive(Debug, Default, serde::Deserialize)]
#[serde(default)]
pub struct NewPasswordForm {
    pub password: String,
    pub password_confirm: String,
}

/// A rendered page with its status.
pub fn render(
    status: actix_web::http::StatusCode,
    page: &impl askama::Template,
) -> Result<HttpResponse, crate::error::AppError> {
    Ok(HttpResponse::build(status).content_type(actix_web::http::header::ContentType::html()).body(page.render()?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn next_stays_on_this_site() {
        assert_eq!(safe_next(Some("/users?page=2")), "/users?page=2");
        assert_eq!(safe_next(Some("//evil.example")), "/settings");
        assert_eq!(safe_next(Some("https://evil.example")), "/settings");
        assert_eq!(safe_next(Some("/\\evil.example")), "/settings");
        for bad in ["/\t/evil.example", "/\r\nSet-Cookie: a=b", "/x\u{0}", "/ /evil", "/a\\b", "/é"] {
            assert_eq!(safe_next(Some(bad)), "/settings", "{bad:?}");
        }
        assert_eq!(safe_next(None), "/settings");
    }

    #[test]
    fn urlencode_escapes_reserved_characters() {
        assert_eq!(urlencode("/users?q=a b&x"), "/users%3Fq%3Da%20b%26x");
    }
}
