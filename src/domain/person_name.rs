//! A first or last name, and the other short free-text fields of a profile.

use std::fmt;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PersonName(String);

impl PersonName {
    pub const MAX_LEN: usize = 100;

    pub fn parse(raw: &str) -> Result<PersonName, &'static str> {
        let name = raw.trim();
        if name.is_empty() {
            return Err("This is required.");
        }
        if name.chars().count() > Self::MAX_LEN {
            return Err("At most 100 characters.");
        }
        if name.chars().any(|c| c.is_control() || "<>\"{}".contains(c)) {
            return Err("Use letters, spaces, apostrophes and hyphens.");
        }
        Ok(PersonName(name.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn into_inner(self) -> String {
        self.0
    }
}

impl fmt::Display for PersonName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Optional or required free text of bounded length (title, company): trimmed, no control
/// characters.
pub fn short_text(raw: &str, max: usize, required: bool) -> Result<String, String> {
    let text = raw.trim();
    if required && text.is_empty() {
        return Err("This is required.".into());
    }
    if text.chars().count() > max {
        return Err(format!("At most {max} characters."));
    }
    if text.chars().any(char::is_control) {
        return Err("Use plain text on one line.".into());
    }
    Ok(text.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_trimmed() {
        assert_eq!(PersonName::parse("  Zoë ").unwrap().as_str(), "Zoë");
    }

    #[test]
    fn empty_overlong_and_markup_names_are_refused() {
        assert!(PersonName::parse("   ").is_err());
        assert!(PersonName::parse(&"a".repeat(101)).is_err());
        assert!(PersonName::parse("<script>").is_err());
        assert!(PersonName::parse("a\u{0}b").is_err());
    }

    #[test]
    fn short_text_bounds_length() {
        assert_eq!(short_text(" Manager ", 10, true).unwrap(), "Manager");
        assert!(short_text("", 10, true).is_err());
        assert_eq!(short_text("", 10, false).unwrap(), "");
        assert!(short_text("abcdefghijk", 10, false).is_err());
    }
}
