//! A user's history as sentences: who did what, with names ("Yusuf Fischer changed Title:
//! Technician → Senior technician"); the recorded details stay behind a disclosure.

use serde_json::Value;

/// One event as the user page shows it.
pub struct EventView {
    pub at: String,
    pub sentence: String,
    pub details: String,
}

/// What `actor` did, in words, from an event's action and recorded details, on the page of the
/// user it is about.
pub fn sentence(actor: &str, action: &str, details: &str) -> String {
    sentence_about(actor, action, details, About::ThisUser)
}

/// What an event is about, as its sentence names it.
#[derive(Debug, Clone, Copy)]
pub enum About<'a> {
    /// The user whose page this is.
    ThisUser,
    /// The one who acted.
    Themselves,
    /// Someone or something else, by its name then.
    Named(&'a str),
    Nothing,
}

/// The same, naming what the event is about as the Audit log does: "Olive Owner changed Ivy
/// Invitee's Group: Regular → Support."
pub fn sentence_about(actor: &str, action: &str, details: &str, about: About) -> String {
    let details: Value = serde_json::from_str(details).unwrap_or(Value::Null);
    let (who, whose, thing) = match about {
        About::ThisUser => ("the user".to_owned(), String::new(), ""),
        About::Themselves => ("themselves".to_owned(), "their ".to_owned(), ""),
        About::Named(name) => (name.to_owned(), format!("{name}'s "), name),
        About::Nothing => ("them".to_owned(), String::new(), ""),
    };
    let them = match about {
        About::Named(name) => name,
        _ => "them",
    };
    let changed = |what: &str| match changes(&details) {
        changes if changes.is_empty() => format!("saved {what} without a change"),
        changes => format!("changed {what}: {changes}"),
    };
    let what = match action {
        "user.created" => match details["entry"].as_str() {
            Some("invitation") => format!("added {who} and sent an invitation"),
            Some("password") => format!("added {who} with a password"),
            Some("import") => format!("added {who} by a CSV import"),
            _ => format!("added {who}"),
        },
        "user.updated" | "user.profile_updated" => match changes(&details) {
            changes if changes.is_empty() => format!("saved {whose}details without a change"),
            changes => format!("changed {whose}{changes}"),
        },
        "user.disable" => format!("disabled {who}"),
        "user.enable" => format!("enabled {who}"),
        "user.delete" => format!("deleted {who}"),
        "user.restore" => format!("restored {who}"),
        "user.access_changed" => match details["ended"].as_str() {
            Some(ended) => format!("ended {whose}access to {ended}, past its last day"),
            None => access(&details, &whose),
        },
        "user.access_ends_set" => format!("set when {whose}access ends"),
        "user.password_changed" => "changed the password".to_owned(),
        "user.email_change_requested" => "asked to change the email address".to_owned(),
        "user.email_changed" => "confirmed a new email address".to_owned(),
        "user.email_verified" => "confirmed the email address".to_owned(),
        "user.signed_up" => "signed up".to_owned(),
        "users.exported" => "exported users as CSV".to_owned(),
        "audit.exported" => "exported the audit log as CSV".to_owned(),
        "invite.sent" => format!("sent {them} an invitation"),
        "invite.resent" => format!("sent {them} a new invitation, replacing the one before"),
        "invite.revoked" => format!("revoked {whose}invitation"),
        "invite.accepted" => "accepted the invitation and set up the account".to_owned(),
        "password_reset.sent" => format!("sent {them} a password-reset link"),
        "password_reset.completed" => "reset the password from an emailed link".to_owned(),
        "impersonation.started" => match details["reason"].as_str() {
            Some(reason) => format!("signed in as {who}, saying why: “{reason}”"),
            None => format!("signed in as {who}"),
        },
        "impersonation.stopped" => format!("stopped signing in as {who}"),
        "sign_in" => match details["provider"].as_str() {
            Some(provider) => format!("signed in with {provider}"),
            None => "signed in".to_owned(),
        },
        "user.provider_linked" => {
            format!("linked {whose}account to {}", details["provider"].as_str().unwrap_or_default())
        }
        "sign_out" => "signed out".to_owned(),
        "sign_out.session" => "signed out one of their other sessions".to_owned(),
        "sign_out.elsewhere" => "signed out everywhere else".to_owned(),
        "sign_out.everywhere" => format!("ended every session of {who}"),
        "sign_in.failed" => {
            if let Some(provider) = details["provider"].as_str().filter(|_| details["reason"] != "provider required") {
                let email = details["email"].as_str().unwrap_or("no verified address");
                return format!("A sign-in with {provider} (“{email}”) was refused.");
            }
            return match details["email"].as_str() {
                Some(email) => format!("A sign-in as “{email}” failed."),
                None => "A sign-in with a passkey failed.".to_owned(),
            };
        }
        "sign_in.locked" => {
            let email = details["email"].as_str().unwrap_or_default();
            let minutes = details["minutes"].as_i64().unwrap_or_default();
            return format!("Sign-ins as “{email}” were locked for {minutes} minutes after repeated failures.");
        }
        "group.created" => format!("created the group {thing}"),
        "group.updated" => changed(&format!("the group {thing}")),
        "group.deleted" => format!("deleted the group {thing}"),
        "building.created" => format!("added the building {thing}"),
        "building.updated" => changed(&format!("the building {thing}")),
        "building.deleted" => format!("deleted the building {thing}"),
        "account.created" => format!("added the account {thing}"),
        "account.updated" => changed(&format!("the account {thing}")),
        "account.deleted" => format!("deleted the account {thing}"),
        "settings.updated" => changed("the organization's settings"),
        "settings.test_email" => "sent a test email".to_owned(),
        "settings.provider_added" => format!("added the sign-in provider {thing}"),
        "settings.provider_changed" => match details["secret_changed"].as_bool() {
            Some(true) => format!("changed the sign-in provider {thing} and its client secret"),
            _ => format!("changed the sign-in provider {thing}"),
        },
        "settings.provider_removed" => format!("removed the sign-in provider {thing}"),
        "group.provider_required" => match details["provider"].as_str() {
            Some(provider) => format!("held the group {thing} to signing in with {provider}"),
            None => format!("let the group {thing} sign in any way they have"),
        },
        "owner.created" => "set up the owner's account".to_owned(),
        "owner.handed_over" => format!("handed the ownership to {who}"),
        "owner_setup.link_issued" => "issued a one-time owner-setup link".to_owned(),
        "signup.requested" => "asked to sign up".to_owned(),
        "two_step.turned_on" => "turned on two-step sign-in".to_owned(),
        "two_step.turned_off" => "turned off two-step sign-in".to_owned(),
        "two_step.codes_renewed" => "renewed the recovery codes".to_owned(),
        "two_step.recovery_code_used" => "signed in with a recovery code".to_owned(),
        "two_step.reset" => format!("reset {whose}two-step sign-in"),
        "two_step.passkey_added" => format!("added the passkey “{}”", details["name"].as_str().unwrap_or_default()),
        "two_step.passkey_removed" => format!("removed the passkey “{}”", details["name"].as_str().unwrap_or_default()),
        "two_step.passkey_used" => match details["alone"].as_bool() {
            Some(true) => {
                format!("signed in with the passkey “{}” alone", details["name"].as_str().unwrap_or_default())
            }
            _ => format!("used the passkey “{}” to sign in", details["name"].as_str().unwrap_or_default()),
        },
        other => return format!("{actor}: {}.", other.replace(['.', '_'], " ")),
    };
    format!("{actor} {}.", what.trim_end())
}

/// The name in a person's label ("Ivy Invitee (ivy@example.com)" → "Ivy Invitee").
pub fn name_in(label: &str) -> &str {
    match label.rsplit_once(" (") {
        Some((name, rest)) if rest.ends_with(')') && rest.contains('@') => name,
        _ => label,
    }
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
fn access(details: &Value, whose: &str) -> String {
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
        true => format!("changed {whose}Property Access"),
        false => format!("changed {whose}Property Access: {}", parts.join(", ")),
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
        assert_eq!(sentence("Ava", "user.bulk_frobbed", "{}"), "Ava: user bulk frobbed.");
        let group = r#"{"before":{"Group":"Regular"},"after":{"Group":"Support"}}"#;
        assert_eq!(
            sentence_about("Olive Owner", "user.updated", group, About::Named("Ivy Invitee")),
            "Olive Owner changed Ivy Invitee's Group: Regular → Support."
        );
    }
}
