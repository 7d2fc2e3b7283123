//! The invitation mail.

use askama::Template;
use chrono::NaiveDateTime;

use super::Message;
use crate::db::settings::Settings;
use crate::error::AppError;

pub struct Invite<'a> {
    pub to: &'a str,
    pub first_name: &'a str,
    pub inviter: Option<&'a str>,
    pub link: &'a str,
    pub expires_at: NaiveDateTime,
    pub subject: Option<&'a str>,
    pub bcc: Option<&'a str>,
}

#[derive(Template)]
#[template(path = "email/invite/body.txt")]
struct Text<'a> {
    org_name: &'a str,
    first_name: &'a str,
    inviter: &'a str,
    link: &'a str,
    expires: String,
}

#[derive(Template)]
#[template(path = "email/invite/body.html")]
struct Html<'a> {
    org_name: &'a str,
    first_name: &'a str,
    inviter: &'a str,
    link: &'a str,
    expires: String,
}

pub fn message(settings: &Settings, invite: &Invite<'_>) -> Result<Message, AppError> {
    let org_name = settings.org_name.as_str();
    let inviter = invite.inviter.unwrap_or("An administrator");
    let expires = format!("{} UTC", invite.expires_at.format("%-d %B %Y, %H:%M"));
    let subject = match invite.subject.map(str::trim).filter(|s| !s.is_empty()) {
        Some(own) => own.to_owned(),
        None => format!("You're invited to {org_name}"),
    };
    Ok(Message {
        kind: "invite",
        to: invite.to.to_owned(),
        bcc: invite.bcc.map(str::to_owned),
        subject,
        text: Text { org_name, first_name: invite.first_name, inviter, link: invite.link, expires: expires.clone() }
            .render()?,
        html: Html { org_name, first_name: invite.first_name, inviter, link: invite.link, expires }.render()?,
    })
}
