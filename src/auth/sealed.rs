//! Secrets kept in the database sealed with the session key (AES-256-GCM, as the session cookie
//! is): a table dump, a page or a log never shows them. Someone holding both the database and
//! the key (kept in the same database unless `SESSION_KEY` is set) can open them.

use actix_web::cookie::{Cookie, CookieJar, Key};

/// Bound to what the secret is for, so that a sealed value never passes as a session cookie.
const PURPOSE: &str = "concierge.oidc_client_secret";

pub fn seal(key: &Key, secret: &str) -> String {
    let mut jar = CookieJar::new();
    jar.private_mut(key).add(Cookie::new(PURPOSE, secret.to_owned()));
    jar.get(PURPOSE).map(|c| c.value().to_owned()).unwrap_or_default()
}

/// The secret, or None when it was sealed with another key (the session key changed).
pub fn open(key: &Key, sealed: &str) -> Option<String> {
    CookieJar::new().private(key).decrypt(Cookie::new(PURPOSE, sealed.to_owned())).map(|c| c.value().to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sealed_secret_opens_with_its_key_only() {
        let (key, other) = (Key::generate(), Key::generate());
        let sealed = seal(&key, "s3cret value");
        assert!(!sealed.contains("s3cret"));
        assert_eq!(open(&key, &sealed).as_deref(), Some("s3cret value"));
        assert_eq!(open(&other, &sealed), None);
        assert_eq!(open(&key, "not sealed"), None);
    }
}
