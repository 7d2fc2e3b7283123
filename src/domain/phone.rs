//! A phone number: digits with the usual separators, an optional leading +.

use std::fmt;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Phone(String);

impl Phone {
    pub fn parse(raw: &str) -> Result<Phone, &'static str> {
        let phone = raw.trim();
        if phone.is_empty() {
            return Err("Enter a phone number.");
        }
        let body = phone.strip_prefix('+').unwrap_or(phone);
        let allowed = |c: char| c.is_ascii_digit() || " -().".contains(c);
        let digits = body.chars().filter(char::is_ascii_digit).count();
        if !body.chars().all(allowed) || !(7..=15).contains(&digits) {
            return Err("Enter a phone number like +1 702 555 0100 (7 to 15 digits).");
        }
        Ok(Phone(phone.split_whitespace().collect::<Vec<_>>().join(" ")))
    }

    /// No phone: only for a user provisioned without one (SCIM).
    pub fn none() -> Phone {
        Phone(String::new())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn into_inner(self) -> String {
        self.0
    }
}

impl fmt::Display for Phone {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn common_formats_parse() {
        for ok in ["+1 (702) 997-7672", "0044 20 7946 0958", "555.0100.12"] {
            assert!(Phone::parse(ok).is_ok(), "{ok:?} was refused");
        }
    }

    #[test]
    fn letters_and_short_numbers_are_refused() {
        for bad in ["", "call me", "123", "+1 702 CALL NOW", "1234567890123456"] {
            assert!(Phone::parse(bad).is_err(), "{bad:?} was accepted");
        }
    }
}
