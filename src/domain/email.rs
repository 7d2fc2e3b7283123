//! An email address: the login. Trimmed, lower-cased, and checked once.

use std::fmt;
use validator::ValidateEmail;

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Email(String);

impl Email {
    pub const MAX_LEN: usize = 254;

    /// Parses what a person typed. Addresses are compared case-insensitively, so they are
    /// kept lower-cased.
    pub fn parse(raw: &str) -> Result<Email, &'static str> {
        let email = raw.trim().to_lowercase();
        if email.is_empty() {
            return Err("Enter an email address.");
        }
        if email.len() > Self::MAX_LEN {
            return Err("An email address has at most 254 characters.");
        }
        if !email.validate_email() || !email.contains('.') || email.chars().any(char::is_control) {
            return Err("Enter an email address like name@example.com.");
        }
        Ok(Email(email))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn domain(&self) -> &str {
        self.0.rsplit_once('@').map(|(_, d)| d).unwrap_or_default()
    }

    pub fn into_inner(self) -> String {
        self.0
    }
}

impl fmt::Display for Email {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl AsRef<str> for Email {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_are_trimmed_and_lower_cased() {
        assert_eq!(Email::parse("  Ann.Lee@Example.COM ").unwrap().as_str(), "ann.lee@example.com");
    }

    #[test]
    fn malformed_addresses_are_refused() {
        for bad in ["", "ann", "ann@", "@example.com", "ann@@example.com", "ann lee@example.com", "ann@localhost"] {
            assert!(Email::parse(bad).is_err(), "{bad:?} was accepted");
        }
    }

    #[test]
    fn overlong_addresses_are_refused() {
        let long = format!("{}@example.com", "a".repeat(250));
        assert!(Email::parse(&long).is_err());
    }

    #[test]
    fn the_domain_is_the_part_after_the_at() {
        assert_eq!(Email::parse("a@b.example.org").unwrap().domain(), "b.example.org");
    }
}
