//! Import of users from CSV: every row parsed and judged (the same rules as Add New User)
//! before anything is written, then all rows or none. The Users tab's Import CSV and the
//! `import-users` command both call it.

use std::collections::HashSet;

use crate::db::{DbConnection, groups, users};
use crate::domain::FieldErrors;
use crate::domain::user_form::UserInfoForm;
use crate::error::AppError;

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

/// Judges every row of `csv`, and when `write` and every row is fine, adds them all (each one
/// invited). Returns how many were added, or what to show: a message about the whole file, or
/// every row with its problems.
pub fn users(
    conn: &mut DbConnection,
    acting: &Actor,
    public_url: &str,
    csv: &str,
    write: bool,
) -> Result<Result<usize, (String, Vec<RowView>)>, AppError> {
    let parsed = match parse(conn, acting, csv)? {
        Ok(rows) => rows,
        Err(message) => return Ok(Err((message, Vec::new()))),
    };
    let valid = parsed.iter().all(|p| p.view.problems.is_empty() && p.info.is_some());
    if !write || !valid {
        return Ok(Err((String::new(), parsed.into_iter().map(|p| p.view).collect())));
    }
    let mut count = 0;
    for p in parsed {
        let (errors, access) = (FieldErrors::new(), Default::default());
        let entry = super::users::Entry::Import;
        // All or nothing: a row the preview passed but the rules refuse now ends the whole
        // import, with nothing written.
        match super::users::create(conn, acting, public_url, p.info, errors, &access, entry)? {
            Ok(created) => {
                if let Some(day) = p.ends_on {
                    super::access_ends::set_account_end(conn, acting, created.id, Some(day), crate::db::now())?;
                }
            }
            Err(refused) => {
                let problems = refused.errors.iter().map(|(f, m)| format!("{f}: {m}")).collect::<Vec<_>>();
                return Err(AppError::Unfit(format!("A row can no longer be imported: {}", problems.join("; "))));
            }
        }
        count += 1;
    }
    Ok(Ok(count))
}
