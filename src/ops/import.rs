//! Import of users from CSV: every row parsed and judged (the same rules as Add New User)
//! before anything is written, then all rows or none, each one invited. The Users tab's Import
//! CSV and the `import-users` command both call it.
//!
//! Judging, drawing the invite links and rendering the mails read only, so they happen before
//! the write begins (`ready`); the transaction (`write`) checks again what others may have
//! changed meanwhile, in one query per kind, and then only inserts, many rows a statement: at a
//! million users it holds the turn to write for about 200 ms for 2,000 rows (docs/BENCHMARKS.md).

use std::collections::{HashMap, HashSet};

use chrono::{Duration, NaiveDateTime};
use diesel::prelude::*;

use crate::db::audit::{self, Target};
use crate::db::settings::Settings;
use crate::db::tokens::{self, NewToken, Purpose};
use crate::db::user_access::AccessChange;
use crate::db::{DbConnection, groups, outbox, users};
use crate::domain::user_form::UserInfoForm;
use crate::domain::{FieldErrors, Permission, UserStatus};
use crate::error::AppError;
use crate::mail::Message;

use super::Actor;

/// At most this many rows at a time (the preview carries the file forward in a form).
pub const MAX_ROWS: usize = 2000;
pub const COLUMNS: &str = "email,first_name,last_name,phone,title,job_function,company,group";
/// Columns a file may add: `ends_on`, the last day of the account (YYYY-MM-DD).
pub const OPTIONAL_COLUMNS: &str = "ends_on";

pub struct RowView {
    pub line: usize,
    pub email: String,
    pub name: String,
    pub group: String,
    pub problems: Vec<String>,
}

/// A parsed row ready to insert, or its problems.
pub struct Parsed {
    pub info: Option<crate::domain::user_form::UserInfo>,
    /// The account's last day, when the row gives one.
    pub ends_on: Option<chrono::NaiveDate>,
    pub view: RowView,
}

pub fn parse(
    conn: &mut DbConnection,
    acting: &crate::ops::Actor,
    csv_text: &str,
) -> Result<Result<Vec<Parsed>, String>, AppError> {
    let mut reader = csv::ReaderBuilder::new().flexible(true).trim(csv::Trim::All).from_reader(csv_text.as_bytes());
    let headers = match reader.headers() {
        Ok(h) => h.iter().map(|h| h.to_lowercase()).collect::<Vec<_>>(),
        Err(_) => return Ok(Err("The file is not CSV.".into())),
    };
    let today = super::access_ends::today(&crate::db::settings::Settings::load(conn)?, crate::db::now());
    for needed in COLUMNS.split(',').filter(|c| *c != "company") {
        if !headers.iter().any(|h| h == needed) {
            return Ok(Err(format!("The first line must name the columns: {COLUMNS} (\"{needed}\" is missing).")));
        }
    }
    let groups = groups::list_with_permissions(conn)?;
    let actor = acting.person();
    let mut seen = HashSet::new();
    let mut out = Vec::new();
    for (i, record) in reader.records().enumerate() {
        if i >= MAX_ROWS {
            return Ok(Err(format!("Import at most {MAX_ROWS} rows at a time.")));
        }
        let record = match record {
            Ok(r) => r,
            Err(e) => return Ok(Err(format!("Line {}: {e}", i + 2))),
        };
        let get =
            |name: &str| headers.iter().position(|h| h == name).and_then(|p| record.get(p)).unwrap_or("").to_owned();
        let group_name = get("group");
        let group = groups.iter().find(|(g, _)| g.name.eq_ignore_ascii_case(&group_name));
        let job = get("job_function");
        let job_key = crate::domain::JobFunction::ALL
            .into_iter()
            .find(|j| j.key() == job || j.label().eq_ignore_ascii_case(&job))
            .map_or(job.clone(), |j| j.key().to_owned());
        let form = UserInfoForm {
            first_name: get("first_name"),
            last_name: get("last_name"),
            email: get("email"),
            phone: get("phone"),
            title: get("title"),
            job_function: job_key,
            company: get("company"),
            group_id: group.map(|(g, _)| g.id.to_string()).unwrap_or_default(),
        };
        let mut errors = FieldErrors::new();
        let info = form.parse(&mut errors);
        let mut problems: Vec<String> = errors
            .iter()
            .map(|(field, m)| {
                if field == "group_id" {
                    format!("group: no group is called \"{group_name}\"")
                } else {
                    format!("{field}: {m}")
                }
            })
            .collect();
        if let Some((_, permissions)) = group
            && let Err(m) = crate::domain::rules::may_assign(&actor, permissions)
        {
            problems.push(format!("group: {m}"));
        }
        let ends_on = match get("ends_on").as_str() {
            "" => None,
            typed => match chrono::NaiveDate::parse_from_str(typed, "%Y-%m-%d") {
                Ok(day) if day < today => {
                    problems.push("ends_on: the last day of the account, from today on".into());
                    None
                }
                Ok(day) => Some(day),
                Err(_) => {
                    problems.push("ends_on: a date like 2026-12-31 (the last day of the account)".into());
                    None
                }
            },
        };
        if let Some(info) = &info {
            if !seen.insert(info.email.as_str().to_owned()) {
                problems.push("email: appears twice in this file".into());
            } else if users::find_by_email(conn, info.email.as_str())?.is_some() {
                problems.push("email: a user with this address exists already".into());
            }
        }
        out.push(Parsed {
            view: RowView {
                line: i + 2,
                email: form.email.clone(),
                name: format!("{} {}", form.first_name, form.last_name),
                group: group_name,
                problems,
            },
            info,
            ends_on,
        });
    }
    if out.is_empty() {
        return Ok(Err("The file has no rows under its header.".into()));
    }
    Ok(Ok(out))
}

/// Every row of a file judged fine, each with its invitation made: the link's secret drawn and
/// the mail rendered.
pub struct Ready {
    users: Vec<users::NewUser>,
    /// Each user's invitation: the link's secret and its mail.
    invites: Vec<(String, Message)>,
    issued_at: NaiveDateTime,
    ttl: Duration,
}

/// Users added in one statement, at most (each takes 21 parameters; SQLite allows 32,766).
const USERS_A_STATEMENT: usize = 500;

/// Judges every row of `csv`. When `write` and every row is fine, makes each invitation ready
/// for `write`; otherwise returns what to show: a message about the whole file, or every row
/// with its problems. Reads only.
pub fn ready(
    conn: &mut DbConnection,
    acting: &Actor,
    public_url: &str,
    csv: &str,
    write: bool,
) -> Result<Result<Ready, (String, Vec<RowView>)>, AppError> {
    let parsed = match parse(conn, acting, csv)? {
        Ok(rows) => rows,
        Err(message) => return Ok(Err((message, Vec::new()))),
    };
    let valid = parsed.iter().all(|p| p.view.problems.is_empty() && p.info.is_some());
    if !write || !valid {
        return Ok(Err((String::new(), parsed.into_iter().map(|p| p.view).collect())));
    }
    let settings = Settings::load(conn)?;
    let inviter = match acting.audit.actor_id {
        Some(id) => users::find(conn, id)?.map(|u| u.full_name()),
        None => None,
    };
    let (issued_at, ttl) = (crate::db::now(), Duration::hours(settings.invite_ttl_hours));
    let (mut new_users, mut invites) = (Vec::with_capacity(parsed.len()), Vec::with_capacity(parsed.len()));
    for (info, ends_on) in parsed.into_iter().filter_map(|p| Some((p.info?, p.ends_on))) {
        let user = users::NewUser { ends_on, ..users::NewUser::from_info(&info, UserStatus::Invited) };
        let secret = crate::auth::secret::new_token();
        let invite = crate::mail::invite::Invite {
            to: &user.email,
            first_name: &user.first_name,
            inviter: inviter.as_deref(),
            link: &format!("{public_url}/invite/{secret}"),
            expires_at: issued_at + ttl,
            subject: None,
            bcc: None,
        };
        let mail = crate::mail::invite::message(&settings, &invite)?;
        invites.push((secret, mail));
        new_users.push(user);
    }
    Ok(Ok(Ready { users: new_users, invites, issued_at, ttl }))
}

/// Adds every user of a ready file and queues their invitations, all or none; returns how many.
/// Call inside the transaction. What may have changed since the file was judged (an address
/// taken, a group no longer the actor's to give) is checked again here, and refuses the whole
/// file.
pub fn write(conn: &mut DbConnection, acting: &Actor, ready: Ready) -> Result<usize, AppError> {
    if !acting.permissions.has(Permission::UsersManage) {
        return Err(AppError::Forbidden);
    }
    let refused = |problem: String| AppError::Unfit(format!("A row can no longer be imported: {problem}"));
    let groups = groups::list_with_permissions(conn)?;
    for user in &ready.users {
        let Some((group, permissions)) = groups.iter().find(|(g, _)| g.id == user.group_id) else {
            return Err(refused("group: it no longer exists".into()));
        };
        if let Err(refusal) = crate::domain::rules::may_assign(&acting.person(), permissions) {
            return Err(refused(format!("group {}: {}", group.name, refusal.message())));
        }
    }
    let emails: Vec<&str> = ready.users.iter().map(|u| u.email.as_str()).collect();
    let taken: Option<String> = crate::db::schema::users::table
        .filter(crate::db::schema::users::email.eq_any(&emails))
        .select(crate::db::schema::users::email)
        .first(conn)
        .optional()?;
    if let Some(email) = taken {
        return Err(refused(format!("email: a user with the address {email} exists already")));
    }
    // Each new user's id, invite mail and invite link, by address (unique in the file).
    let mut ids = HashMap::with_capacity(ready.users.len());
    for some in ready.users.chunks(USERS_A_STATEMENT) {
        ids.extend(users::insert_many(conn, some)?.into_iter().map(|(id, email)| (email, id)));
    }
    let mails: HashMap<String, i64> = outbox::enqueue_all(conn, ready.invites.iter().map(|(_, mail)| mail))?
        .into_iter()
        .map(|(id, to)| (to, id))
        .collect();
    let lost = |what: &str, email: &str| AppError::Internal(anyhow::anyhow!("the import lost the {what} of {email}"));
    let mut links = Vec::with_capacity(ready.users.len());
    for (user, (secret, _)) in ready.users.iter().zip(&ready.invites) {
        let link = NewToken {
            purpose: Purpose::Invite,
            user_id: Some(*ids.get(&user.email).ok_or_else(|| lost("id", &user.email))?),
            email: Some(&user.email),
            details: serde_json::json!({ "subject": null, "bcc": null }),
            created_by: acting.audit.actor_id,
            ttl: ready.ttl,
        };
        let mail_id = *mails.get(&user.email).ok_or_else(|| lost("invite mail", &user.email))?;
        links.push((link, secret.as_str(), Some(mail_id)));
    }
    let tokens: HashMap<String, tokens::Token> = tokens::store_all(conn, &links, ready.issued_at)?
        .into_iter()
        .filter_map(|token| Some((token.email.clone()?, token)))
        .collect();
    let mut events = Vec::with_capacity(3 * tokens.len());
    for (user, (_, mail)) in ready.users.iter().zip(&ready.invites) {
        let token = tokens.get(&user.email).ok_or_else(|| lost("invite link", &user.email))?;
        let id = token.user_id.ok_or_else(|| lost("id", &user.email))?;
        let target = || Target::new("user", id, audit::person_label(&user.first_name, &user.last_name, &user.email));
        let details = serde_json::json!({
            "email": user.email, "first_name": user.first_name, "last_name": user.last_name,
            "phone": user.phone, "title": user.title, "job_function": user.job_function,
            "company": user.company, "group_id": user.group_id, "status": user.status,
            "entry": "import", "must_change_password": false, "access": AccessChange::default(),
            "user_name": user.user_name, "external_id": user.external_id,
        });
        events.push(("user.created", target(), details));
        // As the Users tab records a last day given after the user was added.
        if let Some(day) = user.ends_on {
            let details = serde_json::json!({ "before": { "Account ends": null }, "after": { "Account ends": day } });
            events.push(("user.updated", target(), details));
        }
        let details = serde_json::json!({
            "token_id": token.id, "mail_id": token.mail_id, "expires_at": token.expires_at, "superseded": 0,
            "subject": mail.subject, "bcc": null,
        });
        events.push(("invite.sent", target(), details));
    }
    audit::record_made(conn, &acting.audit, events)?;
    Ok(ready.users.len())
}
