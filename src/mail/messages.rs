//! The account mails other than the invitation: one plain layout (a greeting, a few lines, at
//! most one link), as text and HTML.

use askama::Template;

use super::Message;
use crate::db::settings::Settings;
use crate::error::AppError;

#[derive(Template)]
#[template(path = "email/notice/body.txt")]
struct Text<'a> {
    org_name: &'a str,
    greeting: &'a str,
    lines: &'a [String],
    link: Option<(&'a str, &'a str)>,
}

#[derive(Template)]
#[template(path = "email/notice/body.html")]
struct Html<'a> {
    org_name: &'a str,
    greeting: &'a str,
    lines: &'a [String],
    link: Option<(&'a str, &'a str)>,
}

struct Notice<'a> {
    kind: &'static str,
    to: &'a str,
    subject: String,
    greeting: String,
    lines: Vec<String>,
    link: Option<(&'a str, &'a str)>,
}

fn render(settings: &Settings, n: Notice<'_>) -> Result<Message, AppError> {
    let org_name = settings.org_name.as_str();
    Ok(Message {
        kind: n.kind,
        to: n.to.to_owned(),
        bcc: None,
        subject: n.subject,
        text: Text { org_name, greeting: &n.greeting, lines: &n.lines, link: n.link }.render()?,
        html: Html { org_name, greeting: &n.greeting, lines: &n.lines, link: n.link }.render()?,
    })
}

pub fn password_reset(
    settings: &Settings,
    to: &str,
    first_name: &str,
    link: &str,
    minutes: i64,
) -> Result<Message, AppError> {
    render(
        settings,
        Notice {
            kind: "password_reset",
            to,
            subject: format!("Reset your {} password", settings.org_name),
            greeting: format!("Hello {first_name},"),
            lines: vec![
                "Someone asked to reset the password of your account. If it was you, choose a new password here:"
                    .into(),
                format!(
                    "The link works once, for {minutes} minutes. If you did not ask, ignore this mail: your password stays as it is."
                ),
            ],
            link: Some(("Choose a new password", link)),
        },
    )
}

pub fn password_changed(settings: &Settings, to: &str, first_name: &str) -> Result<Message, AppError> {
    render(
        settings,
        Notice {
            kind: "password_changed",
            to,
            subject: format!("Your {} password was changed", settings.org_name),
            greeting: format!("Hello {first_name},"),
            lines: vec![
                "The password of your account was just changed, and every other session was signed out.".into(),
                "If this was not you, ask your administrator to disable the account at once.".into(),
            ],
            link: None,
        },
    )
}

/// Tells a user that an administrator signed in as them: who, when, why.
pub fn impersonated(
    settings: &Settings,
    to: &str,
    first_name: &str,
    administrator: &str,
    when: &str,
    reason: &str,
) -> Result<Message, AppError> {
    render(
        settings,
        Notice {
            kind: "impersonation",
            to,
            subject: format!("{administrator} signed in to {} as you", settings.org_name),
            greeting: format!("Hello {first_name},"),
            lines: vec![
                format!("{administrator} signed in as you on {when}, for {} minutes at most.", settings.impersonation_minutes),
                format!("The reason they gave: “{reason}”"),
                "Everything they do meanwhile is recorded under both names. If you did not expect this, ask your administrator about it.".into(),
            ],
            link: None,
        },
    )
}

/// A plain notice with nothing to click: that access ends soon, that the ownership moved, which
/// administrators are dormant.
pub fn notice(
    settings: &Settings,
    kind: &'static str,
    to: &str,
    first_name: &str,
    subject: String,
    lines: Vec<String>,
) -> Result<Message, AppError> {
    render(settings, Notice { kind, to, subject, greeting: format!("Hello {first_name},"), lines, link: None })
}

pub fn verify_email(settings: &Settings, to: &str, first_name: &str, link: &str) -> Result<Message, AppError> {
    render(
        settings,
        Notice {
            kind: "email_verify",
            to,
            subject: format!("Confirm your email for {}", settings.org_name),
            greeting: format!("Hello {first_name},"),
            lines: vec![
                "Thanks for signing up. Confirm this is your address to activate the account:".into(),
                "If you did not sign up, ignore this mail.".into(),
            ],
            link: Some(("Confirm my email", link)),
        },
    )
}

pub fn signup_exists(settings: &Settings, to: &str, sign_in: &str) -> Result<Message, AppError> {
    render(
        settings,
        Notice {
            kind: "signup_exists",
            to,
            subject: format!("Someone tried to sign up to {} with your address", settings.org_name),
            greeting: "Hello,".into(),
            lines: vec![
                "Someone tried to sign up with this address, but it already has an account.".into(),
                "If it was you, sign in instead (or use \"Forgot your password?\"). If not, you can ignore this mail."
                    .into(),
            ],
            link: Some(("Sign in", sign_in)),
        },
    )
}

pub fn email_change_confirm(settings: &Settings, to: &str, first_name: &str, link: &str) -> Result<Message, AppError> {
    render(
        settings,
        Notice {
            kind: "email_change",
            to,
            subject: format!("Confirm your new email for {}", settings.org_name),
            greeting: format!("Hello {first_name},"),
            lines: vec![
                "You asked to use this address to sign in. Confirm it here; until then your old address stays in use:"
                    .into(),
                format!("The link works once, for {} hours.", settings.email_change_ttl_hours),
            ],
            link: Some(("Confirm my new email", link)),
        },
    )
}

/// To the old address: the sign-in address is changing (`by_administrator`: it has changed).
pub fn email_change_notice(
    settings: &Settings,
    to: &str,
    first_name: &str,
    new_address: &str,
    by_administrator: bool,
) -> Result<Message, AppError> {
    let (subject, lines) = if by_administrator {
        (
            format!("Your {} sign-in address was changed", settings.org_name),
            vec![
                format!("An administrator changed the sign-in address of your account to {new_address}."),
                "If you did not expect this, tell your administrator.".into(),
            ],
        )
    } else {
        (
            format!("Your {} email is about to change", settings.org_name),
            vec![
                format!(
                    "Someone asked to change the sign-in address of your account to {new_address}. It changes when the link sent there is followed."
                ),
                "If this was not you, change your password and tell your administrator.".into(),
            ],
        )
    };
    let greeting = format!("Hello {first_name},");
    render(settings, Notice { kind: "email_change_notice", to, subject, greeting, lines, link: None })
}

pub fn test_email(settings: &Settings, to: &str) -> Result<Message, AppError> {
    render(
        settings,
        Notice {
            kind: "test",
            to,
            subject: format!("Test email from {}", settings.org_name),
            greeting: "Hello,".into(),
            lines: vec!["This is a test email from the Organization settings. If you can read it, mail works.".into()],
            link: None,
        },
    )
}
