//! A user's history as sentences: who did what, with names ("Yusuf Fischer changed Title:
//! Technician → Senior technician"); the recorded details stay behind a disclosure.

use serde_json::Value;

/// One event as the user page shows it.
pub struct EventView {
    pub at: String,
    pub sentence: String,
    pub details: String,
}

/// What `actor` did, in words, from an event's action and recorded details.
pub fn sentence(actor: &str, action: &str, details: &str) -> String {
    let details: Value = serde_json::from_str(details).unwrap_or(Value::Null);
    let what = match action {
        "user.created" => match details["entry"].as_str() {
            Some("invitation") => "added the user and sent an invitation".to_owned(),
            Some("password") => "added the user with a password".to_owned(),
            Some("import") => "added the user by a CSV import".to_owned(),
            _ => "added the user".to_owned(),
        },
        "user.updated" | "user.profile_updated" => match changes(&details) {
            changes if changes.is_empty() => "saved the details without a change".to_owned(),
            changes => format!("changed {changes}"),
        },
        "user.disable" => "disabled the user".to_owned(),
        "user.enable" => "enabled the user".to_owned(),
        "user.delete" => "deleted the user".to_owned(),
        "user.restore" => "restored the user".to_owned(),
        "user.access_changed" => access(&details),
        "user.password_changed" => "changed the password".to_owned(),
        "user.email_change_requested" => "asked to change the email address".to_owned(),
        "user.email_changed" => "confirmed a new email address".to_owned(),
        "user.email_verified" => "confirmed the email address".to_owned(),
        "user.signed_up" => "signed up".to_owned(),
        "invite.sent" => "sent an invitation".to_owned(),
        "invite.resent" => "sent a new invitation, replacing the one before".to_owned(),
        "invite.revoked" => "revoked an invitation".to_owned(),
        "invite.accepted" => "accepted the invitation and set up the account".to_owned(),
        "impersonation.started" => "signed in as the user".to_owned(),
        "impersonation.stopped" => "stopped signing in as the user".to_owned(),
        "sign_in" => "signed in".to_owned(),
        other => return format!("{actor}: {}.", other.replace(['.', '_'], " ")),
    };
    format!("{actor} {what}.")
}

/// "Title: Technician → Senior technician; Phone: (none) → +1 702 555 0100", from
/// `{"before": {...}, "after": {...}}`.
fn changes(details: &Value) -> String {
    let Some(after) = details["after"].as_object() else { return String::new() };
    after
        .iter()
        .filter(|(field, value)| details["before"][field.as_str()] != **value)
        .map(|(field, value)| {
            format!("{}: {} → {}", label(field), shown(&details["before"][field.as_str()]), shown(value))
        })
        .collect::<Vec<_>>()
        .join("; ")
}

/// A recorded field's name as the forms call it.
fn label(field: &str) -> String {
    match field {
        "first_name" => "First name".to_owned(),
        "last_name" => "Last name".to_owned(),
        "job_function" => "Job function".to_owned(),
        "notification_preference" => "Mail".to_owned(),
        other => {
            let words = other.replace('_', " ");
            let mut chars = words.chars();
            chars.next().map(|c| c.to_uppercase().chain(chars).collect()).unwrap_or_default()
        }
    }
}

fn shown(value: &Value) -> String {
    match value {
        Value::String(s) if s.is_empty() => "(none)".to_owned(),
        Value::String(s) => s.clone(),
        Value::Null => "(none)".to_owned(),
        other => other.to_string(),
    }
}

/// "changed Property Access: 2 buildings granted, 1 account revoked".
fn access(details: &Value) -> String {
    let count = |key: &str| details[key].as_array().map_or(0, Vec::len);
    let parts: Vec<String> = [
        ("buildings_added", "building", "granted"),
        ("accounts_added", "whole account", "granted"),
        ("buildings_removed", "building", "revoked"),
        ("accounts_removed", "whole account", "revoked"),
    ]
    .iter()
    .filter(|(key, ..)| count(key) > 0)
    .map(|(key, what, done)| {
        let n = count(key);
        format!("{n} {what}{} {done}", if n == 1 { "" } else { "s" })
    })
    .collect();
    match parts.is_empty() {
        true => "changed Property Access".to_owned(),
        false => format!("changed Property Access: {}", parts.join(", ")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_change_reads_as_a_sentence() {
        let details =
            r#"{"before":{"title":"Technician","phone":""},"after":{"title":"Senior technician","phone":"+1 702"}}"#;
        assert_eq!(
            sentence("Yusuf Fischer", "user.updated", details),
            "Yusuf Fischer changed Phone: (none) → +1 702; Title: Technician → Senior technician."
        );
        let access = r#"{"buildings_added":[1,2],"buildings_removed":[],"accounts_added":[],"accounts_removed":[3]}"#;
        assert_eq!(
            sentence("Ava", "user.access_changed", access),
            "Ava changed Property Access: 2 buildings granted, 1 whole account revoked."
        );
        assert_eq!(sentence("System", "password_reset.completed", "{}"), "System: password reset completed.");
    }
}
