//! The screens: one module per screen, all routes listed in `router`.

pub mod account;
pub mod assets;
pub mod buildings;
pub mod groups;
pub mod health;
pub mod invitation;
pub mod invites;
pub mod layout;
pub mod organization;
pub mod profile;
pub mod public;
pub mod router;
pub mod users;

use actix_web::HttpResponse;
use actix_web::http::header;

/// A 303 redirect: what every successful POST answers (post / redirect / get).
pub fn see_other(location: &str) -> HttpResponse {
    HttpResponse::SeeOther().insert_header((header::LOCATION, location)).finish()
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

/// A `next` target after sign-in: only a path on this site.
pub fn safe_next(next: Option<&str>) -> &str {
    match next {
        Some(n) if n.starts_with('/') && !n.starts_with("//") && !n.starts_with("/\\") => n,
        _ => "/settings",
    }
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
        assert_eq!(safe_next(None), "/settings");
    }

    #[test]
    fn urlencode_escapes_reserved_characters() {
        assert_eq!(urlencode("/users?q=a b&x"), "/users%3Fq%3Da%20b%26x");
    }
}
