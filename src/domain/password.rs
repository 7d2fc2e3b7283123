//! A new password that is long enough and hard to guess. Checked by zxcvbn, which also
//! knows the person's own name and email.

use std::fmt;

/// The message when the confirmation differs (it goes beside the confirmation field).
pub const NOT_THE_SAME: &str = "The two passwords are not the same.";

pub struct Password(String);

impl Password {
    pub const MIN_CHARS: usize = 12;
    /// bcrypt reads at most 72 bytes; more would be silently ignored.
    pub const MAX_BYTES: usize = 72;

    /// `personal` holds what the password must not be built from (name, email).
    pub fn parse(raw: &str, confirm: &str, personal: &[&str]) -> Result<Password, &'static str> {
        if raw.chars().count() < Self::MIN_CHARS {
            return Err("Use at least 12 characters.");
        }
        if raw.len() > Self::MAX_BYTES {
            return Err("Use at most 72 bytes (about 72 letters).");
        }
        let mut inputs: Vec<&str> = Vec::new();
        for p in personal {
            inputs.push(p);
            inputs.extend(p.split(['@', '.', ' ', '-', '_']).filter(|s| s.len() >= 3));
        }
        let score = u8::from(zxcvbn::zxcvbn(raw, &inputs).score());
        if score < 3 || Self::built_from(raw, &inputs) {
            return Err("This password is too easy to guess. Add more unrelated words, avoid your name and email.");
        }
        if raw != confirm {
            return Err(NOT_THE_SAME);
        }
        Ok(Password(raw.to_owned()))
    }

    /// Whether the password is the person's own details plus something weak: zxcvbn scores
    /// "AnnabelLee2024" well (each part counts as at least 50 guesses), so the parts taken from
    /// `personal` are removed and what is left must be strong on its own.
    fn built_from(raw: &str, personal: &[&str]) -> bool {
        let lowered = raw.to_lowercase();
        let mut parts: Vec<String> =
            personal.iter().map(|p| p.to_lowercase()).filter(|p| p.chars().count() >= 3).collect();
        parts.sort_by_key(|p| std::cmp::Reverse(p.len()));
        let rest = parts.iter().fold(lowered.clone(), |rest, part| rest.replace(part.as_str(), ""));
        rest.len() < lowered.len() && u8::from(zxcvbn::zxcvbn(&rest, personal).score()) < 3
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Password {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Password(…)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_long_unusual_password_is_accepted() {
        let p = "violet-tractor-harbour-42";
        assert!(Password::parse(p, p, &["Ann", "Lee", "ann@example.com"]).is_ok());
    }

    #[test]
    fn short_common_and_personal_passwords_are_refused() {
        for p in ["short", "password1234", "123456789012", "qwertyuiopas"] {
            assert!(Password::parse(p, p, &[]).is_err(), "{p:?} was accepted");
        }
        let own = "annabel.lee@example.com";
        assert!(Password::parse(own, own, &["Annabel", "Lee", own]).is_err());
    }

    #[test]
    fn a_password_built_from_ones_own_name_is_refused() {
        let p = "AnnabelLee2024";
        assert!(Password::parse(p, p, &["Annabel", "Lee", "annabel.lee@example.com"]).is_err());
    }

    #[test]
    fn the_confirmation_must_match() {
        assert!(Password::parse("violet-tractor-harbour-42", "violet-tractor-harbour-43", &[]).is_err());
    }

    #[test]
    fn more_than_bcrypt_reads_is_refused() {
        let p = "x".repeat(73);
        assert!(Password::parse(&p, &p, &[]).is_err());
    }
}
