//! Changes to one user: their info, group, status, links and sessions.

use diesel::prelude::*;

use super::invitations::{self, InviteOptions};
use super::{Actor, Target};
use crate::db::audit::{self, Target as Event};
use crate::db::schema::users;
use crate::db::settings::Settings;
use crate::db::{DbConnection, now, outbox, tokens, users as users_db};
use crate::domain::rules::Action;
use crate::domain::user_form::{UserInfo, UserInfoForm};
use crate::domain::{FieldErrors, UserStatus};
use crate::error::AppError;
use crate::mail::messages;

/// A change of status, as an administrator names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StatusChange {
    Disable,
    Enable,
    Delete,
    Restore,
}

impl StatusChange {
    pub fn parse(s: &str) -> Option<StatusChange> {
        match s {
            "disable" => Some(StatusChange::Disable),
            "enable" => Some(StatusChange::Enable),
            "delete" => Some(StatusChange::Delete),
            "restore" => Some(StatusChange::Restore),
            _ => None,
        }
    }

    fn action(self) -> Action<'static> {
        match self {
            StatusChange::Disable => Action::Disable,
            StatusChange::Enable => Action::Enable,
            StatusChange::Delete => Action::Delete,
            StatusChange::Restore => Action::Restore,
        }
    }

    fn audit_action(self) -> &'static str {
        match self {
            StatusChange::Disable => "user.disable",
            StatusChange::Enable => "user.enable",
            StatusChange::Delete => "user.delete",
            StatusChange::Restore => "user.restore",
        }
    }

    /// Whether a user in `status` can take this change.
    pub fn fits(self, status: UserStatus) -> bool {
        match self {
            StatusChange::Disable => matches!(status, UserStatus::Active | UserStatus::Invited),
            StatusChange::Enable => status == UserStatus::Disabled,
            StatusChange::Delete => status != UserStatus::Deleted,
            StatusChange::Restore => status == UserStatus::Deleted,
        }
    }

    /// The status a user ends in: enabling someone who never set a password makes them
    /// invited again; a restored user comes back disabled, to be enabled deliberately.
    fn outcome(self, user: &users_db::User) -> UserStatus {
        match self {
            StatusChange::Disable => UserStatus::Disabled,
            StatusChange::Enable if user.password_hash.is_some() => UserStatus::Active,
            StatusChange::Enable => UserStatus::Invited,
            StatusChange::Delete => UserStatus::Deleted,
            StatusChange::Restore => UserStatus::Disabled,
        }
    }

    /// What the page says after it happened to `name`.
    pub fn done(self, name: &str) -> String {
        match self {
            StatusChange::Disable => format!("{name} is disabled and was signed out everywhere."),
            StatusChange::Enable => format!("{name} is enabled."),
            StatusChange::Delete => {
                format!("{name} was deleted. Their history is kept, and they can be restored.")
            }
            StatusChange::Restore => {
                format!("{name} was restored as disabled: enable them when they should sign in again.")
            }
        }
    }
}

/// A security event for the user: every session ends (a new stamp) and every pending link of
/// theirs dies (reset, email change, verification; and the invitation too when `invites`).
pub fn security_event(conn: &mut DbConnection, id: i64, invites: bool) -> Result<(), AppError> {
    diesel::update(users::table.find(id))
        .set(users::security_stamp.eq(users_db::new_security_stamp()))
        .execute(conn)?;
    tokens::revoke_pending(conn, id, invites)?;
    Ok(())
}

/// Disables a user by itself (`why`: "account end date", "dormant"), as the system, while their
/// status is one of `from`, ending their sessions; false when it was not (another process came
/// first, or someone changed it).
pub fn disable_by_itself(conn: &mut DbConnection, id: i64, from: &[UserStatus], why: &str) -> Result<bool, AppError> {
    let from: Vec<&str> = from.iter().map(|s| s.as_str()).collect();
    let disabled = diesel::update(users::table.find(id).filter(users::status.eq_any(from)))
        .set((
            users::status.eq(UserStatus::Disabled.as_str()),
            users::updated_at.eq(now()),
            users::version.eq(users::version + 1),
        ))
        .execute(conn)?;
    if disabled != 1 {
        return Ok(false);
    }
    security_event(conn, id, true)?;
    let email: String = users::table.find(id).select(users::email).first(conn)?;
    let details = serde_json::json!({ "why": why });
    audit::record(conn, &audit::AuditContext::system(), "user.disable", Event::user(id, &email), details)?;
    Ok(true)
}

/// Disables, enables, deletes or restores a user.
pub fn change_status(
    conn: &mut DbConnection,
    actor: &Actor,
    id: i64,
    change: StatusChange,
) -> Result<Target, AppError> {
    let target = Target::load(conn, id)?;
    actor.may(change.action(), &target)?;
    if !change.fits(target.user.status()) {
        return Err(AppError::Unfit(format!(
            "{} is {}; nothing was done.",
            target.user.full_name(),
            target.user.status().label().to_lowercase()
        )));
    }
    let to = change.outcome(&target.user);
    users_db::set_status(conn, id, to)?;
    security_event(conn, id, matches!(to, UserStatus::Disabled | UserStatus::Deleted))?;
    audit::record(
        conn,
        &actor.audit,
        change.audit_action(),
        Event::user(id, &target.user.email),
        serde_json::json!({ "before": { "status": target.user.status }, "after": { "status": to.as_str() } }),
    )?;
    Ok(target)
}

/// Puts a user into another group.
pub fn change_group(conn: &mut DbConnection, actor: &Actor, id: i64, group_id: i64) -> Result<Target, AppError> {
    let target = Target::load(conn, id)?;
    if target.user.status() == UserStatus::Deleted {
        return Err(AppError::Unfit(format!("{} is deleted; restore them first.", target.user.full_name())));
    }
    if target.user.group_id == group_id {
        return Ok(target);
    }
    let group = crate::db::groups::with_permissions(conn, group_id)?.ok_or(AppError::NotFound)?;
    actor.may(Action::ChangeGroup(&group.1), &target)?;
    diesel::update(users::table.find(id))
        .set((users::group_id.eq(group_id), users::updated_at.eq(now()), users::version.eq(users::version + 1)))
        .execute(conn)?;
    security_event(conn, id, false)?;
    audit::record(
        conn,
        &actor.audit,
        "user.updated",
        Event::user(id, &target.user.email),
        serde_json::json!({ "before": { "Group": target.group_name }, "after": { "Group": group.0.name } }),
    )?;
    Ok(target)
}

/// What an edit of a user's info came to.
pub enum InfoSaved {
    /// Saved; `reinvited` when a new address of an invited user got a fresh invitation.
    Saved { reinvited: bool },
    /// Nothing was saved: the messages beside the fields, and (when someone saved in between)
    /// the fields where the saved user differs from what was typed.
    Rejected { errors: FieldErrors, conflicts: Vec<(&'static str, String, String)>, version: i32 },
}

/// The form as the user is saved now.
pub fn form_of(u: &users_db::User) -> UserInfoForm {
    UserInfoForm {
        first_name: u.first_name.clone(),
        last_name: u.last_name.clone(),
        email: u.email.clone(),
        phone: u.phone.clone(),
        title: u.title.clone(),
        job_function: u.job_function.clone(),
        company: u.company.clone(),
        group_id: u.group_id.to_string(),
    }
}

/// Saves the pencil's form: info, and the group and email when they changed, each under its
/// own rule. `version` is the one the form was opened at: a save over a newer edit is refused.
pub fn update_info(
    conn: &mut DbConnection,
    actor: &Actor,
    id: i64,
    typed: &UserInfoForm,
    version: i32,
    public_url: &str,
) -> Result<InfoSaved, AppError> {
    let target = Target::load(conn, id)?;
    if target.user.status() == UserStatus::Deleted {
        return Err(AppError::NotFound);
    }
    actor.may(Action::EditInfo, &target)?;
    let mut errors = FieldErrors::new();
    let info = typed.parse(&mut errors);
    let before = form_of(&target.user);
    if let Some(info) = &info {
        check_changes(conn, actor, &target, info, &mut errors)?;
    }
    let stale = target.user.version != version;
    if stale {
        errors.add("version", "Someone else saved changes to this user after you opened the form.");
    }
    let (Some(info), true) = (info, errors.is_empty()) else {
        let conflicts = if stale { readable_differences(conn, &before, typed)? } else { Vec::new() };
        return Ok(InfoSaved::Rejected { errors, conflicts, version: target.user.version });
    };
    save_info(conn, actor, &target, &info, public_url)
}

/// Whether the actor may make the group and email changes of `info`: a message beside the
/// field for each they may not.
fn check_changes(
    conn: &mut DbConnection,
    actor: &Actor,
    target: &Target,
    info: &UserInfo,
    errors: &mut FieldErrors,
) -> Result<(), AppError> {
    if info.group_id != target.user.group_id {
        match crate::db::groups::with_permissions(conn, info.group_id)? {
            None => errors.add("group_id", "Choose a group."),
            Some((_, permissions)) => {
                if let Err(refusal) = actor.may(Action::ChangeGroup(&permissions), target) {
                    errors.add("group_id", refusal_message(&refusal));
                }
            }
        }
    }
    if info.email.as_str() != target.user.email {
        if let Err(refusal) = actor.may(Action::ChangeEmail, target) {
            errors.add("email", refusal_message(&refusal));
        } else if users_db::find_by_email(conn, info.email.as_str())?.is_some() {
            errors.add("email", "Another user has this address.");
        }
    }
    Ok(())
}

/// Saves a user's info as other software sent it (SCIM), under the same rules as the pencil's
/// form; nothing is saved when a field is refused.
pub fn update_provisioned(
    conn: &mut DbConnection,
    actor: &Actor,
    id: i64,
    info: &UserInfo,
    public_url: &str,
) -> Result<Result<(), FieldErrors>, AppError> {
    let target = Target::load(conn, id)?;
    if target.user.status() == UserStatus::Deleted {
        return Err(AppError::NotFound);
    }
    let before = form_of(&target.user);
    let unchanged = before.first_name == info.first_name.as_str()
        && before.last_name == info.last_name.as_str()
        && before.email == info.email.as_str()
        && before.phone == info.phone.as_str()
        && before.title == info.title
        && before.job_function == info.job_key()
        && before.company == info.company
        && target.user.group_id == info.group_id;
    if unchanged {
        return Ok(Ok(()));
    }
    actor.may(Action::EditInfo, &target)?;
    let mut errors = FieldErrors::new();
    check_changes(conn, actor, &target, info, &mut errors)?;
    if !errors.is_empty() {
        return Ok(Err(errors));
    }
    save_info(conn, actor, &target, info, public_url)?;
    Ok(Ok(()))
}

/// Keeps what a provisioning client (SCIM) calls the user: its id for them (externalId) and the
/// name they sign in with there (userName; none when it is the email). Under the rule for
/// editing the user's info.
pub fn set_provisioned_names(
    conn: &mut DbConnection,
    actor: &Actor,
    id: i64,
    user_name: &str,
    external_id: Option<&str>,
) -> Result<(), AppError> {
    let target = Target::load(conn, id)?;
    let user = &target.user;
    let user_name = (!user_name.eq_ignore_ascii_case(&user.email)).then_some(user_name);
    if user.user_name.as_deref() == user_name && user.external_id.as_deref() == external_id {
        return Ok(());
    }
    actor.may(Action::EditInfo, &target)?;
    diesel::update(users::table.find(id))
        .set((
            users::user_name.eq(user_name),
            users::user_name_key.eq(user_name.map(str::to_lowercase)),
            users::external_id.eq(external_id),
            users::updated_at.eq(now()),
            users::version.eq(users::version + 1),
        ))
        .execute(conn)?;
    let details = serde_json::json!({
        "before": { "User name": user.user_name, "External id": user.external_id },
        "after": { "User name": user_name, "External id": external_id },
    });
    audit::record(conn, &actor.audit, "user.updated", Event::user(id, &user.email), details)
}

fn refusal_message(e: &AppError) -> &'static str {
    match e {
        AppError::Refused(r) => r.message(),
        _ => "You can't make this change.",
    }
}

fn save_info(
    conn: &mut DbConnection,
    actor: &Actor,
    target: &Target,
    info: &UserInfo,
    public_url: &str,
) -> Result<InfoSaved, AppError> {
    let id = target.user.id;
    let email_changed = info.email.as_str() != target.user.email;
    let group_changed = info.group_id != target.user.group_id;
    let saved_rows = diesel::update(users::table.find(id).filter(users::version.eq(target.user.version)))
        .set((
            users::first_name.eq(info.first_name.as_str()),
            users::last_name.eq(info.last_name.as_str()),
            users::email.eq(info.email.as_str()),
            users::phone.eq(info.phone.as_str()),
            users::title.eq(&info.title),
            users::job_function.eq(info.job_key()),
            users::company.eq(&info.company),
            users::group_id.eq(info.group_id),
            users::updated_at.eq(now()),
            users::version.eq(users::version + 1),
        ))
        .execute(conn)?;
    if saved_rows != 1 {
        // Another save came in between the check and this write: nothing of this one stays.
        return Err(AppError::Unfit("Someone else saved changes to this user meanwhile; open the form again.".into()));
    }
    if group_changed || email_changed {
        // A new group or address ends the user's sessions and their pending links.
        security_event(conn, id, email_changed)?;
    }
    let saved = users_db::find(conn, id)?.ok_or(AppError::NotFound)?;
    let after = form_of(&saved);
    let (b, a) = changed(conn, &form_of(&target.user), &after)?;
    audit::record(
        conn,
        &actor.audit,
        "user.updated",
        Event::user(id, info.email.as_str()),
        serde_json::json!({ "before": b, "after": a }),
    )?;
    let reinvite = email_changed && target.user.status() == UserStatus::Invited;
    if email_changed {
        // The old address hears of it: a change it did not ask for is noticed.
        let settings = Settings::load(conn)?;
        let (old, first_name, new) = (&target.user.email, &target.user.first_name, info.email.as_str());
        let notice = messages::email_change_notice(&settings, old, first_name, new, true)?;
        outbox::enqueue(conn, &notice)?;
    }
    if reinvite {
        invitations::send(conn, &actor.audit, public_url, id, &InviteOptions::default())?;
    }
    Ok(InfoSaved::Saved { reinvited: reinvite })
}

/// The fields where the saved user differs from what was typed: (field, saved, typed).
pub fn differences(saved: &UserInfoForm, typed: &UserInfoForm) -> Vec<(&'static str, String, String)> {
    let pairs = [
        ("First name", &saved.first_name, &typed.first_name),
        ("Last name", &saved.last_name, &typed.last_name),
        ("Email", &saved.email, &typed.email),
        ("Phone", &saved.phone, &typed.phone),
        ("Title", &saved.title, &typed.title),
        ("Job function", &saved.job_function, &typed.job_function),
        ("Company", &saved.company, &typed.company),
        ("Group", &saved.group_id, &typed.group_id),
    ];
    pairs.into_iter().filter(|(_, a, b)| a.trim() != b.trim()).map(|(f, a, b)| (f, a.clone(), b.clone())).collect()
}

/// The same, each value as people read it: a group by its name, a job function by its label.
fn readable_differences(
    conn: &mut DbConnection,
    saved: &UserInfoForm,
    typed: &UserInfoForm,
) -> Result<Vec<(&'static str, String, String)>, AppError> {
    let mut readable = |field: &str, value: String| -> Result<String, AppError> {
        Ok(match field {
            "Group" => match value.parse::<i64>() {
                Ok(id) => crate::db::groups::find(conn, id)?.map_or(value, |g| g.name),
                Err(_) => value,
            },
            "Job function" => crate::domain::JobFunction::label_of(&value).to_owned(),
            _ => value,
        })
    };
    differences(saved, typed)
        .into_iter()
        .map(|(field, a, b)| Ok((field, readable(field, a)?, readable(field, b)?)))
        .collect()
}

/// Before and after of the fields that changed, for the audit log.
fn changed(
    conn: &mut DbConnection,
    before: &UserInfoForm,
    after: &UserInfoForm,
) -> Result<(serde_json::Value, serde_json::Value), AppError> {
    let mut b = serde_json::Map::new();
    let mut a = serde_json::Map::new();
    for (field, x, y) in readable_differences(conn, before, after)? {
        b.insert(field.to_owned(), x.into());
        a.insert(field.to_owned(), y.into());
    }
    Ok((b.into(), a.into()))
}

/// Sends an invited user a fresh invitation; earlier links stop working.
pub fn resend_invite(conn: &mut DbConnection, actor: &Actor, id: i64, public_url: &str) -> Result<Target, AppError> {
    let target = Target::load(conn, id)?;
    actor.may(Action::ResendInvite, &target)?;
    if target.user.status() != UserStatus::Invited {
        return Err(AppError::Unfit(format!("{} is not waiting for an invitation.", target.user.full_name())));
    }
    invitations::send(conn, &actor.audit, public_url, id, &InviteOptions::default())?;
    Ok(target)
}

/// Withdraws every invitation link of an invited user that was not used yet; how many.
pub fn revoke_open_invites(conn: &mut DbConnection, actor: &Actor, id: i64) -> Result<usize, AppError> {
    let target = Target::load(conn, id)?;
    actor.may(Action::ResendInvite, &target)?;
    if target.user.status() != UserStatus::Invited {
        return Err(AppError::Unfit(format!("{} is not waiting for an invitation.", target.user.full_name())));
    }
    let open: Vec<i64> =
        tokens::invites_of_user(conn, id)?.into_iter().filter(|t| t.state() == "Open").map(|t| t.id).collect();
    let mut revoked = 0;
    for token in open {
        if tokens::revoke(conn, token)? {
            revoked += 1;
        }
    }
    if revoked == 0 {
        return Err(AppError::Unfit(format!("{} has no open invitation.", target.user.full_name())));
    }
    audit::record(
        conn,
        &actor.audit,
        "invite.revoked",
        Event::user(id, &target.user.email),
        serde_json::json!({ "links": revoked }),
    )?;
    Ok(revoked)
}

/// Withdraws an invitation link that was not used yet.
pub fn revoke_invite(conn: &mut DbConnection, actor: &Actor, token_id: i64) -> Result<Target, AppError> {
    let token = tokens::find(conn, token_id)?.filter(|t| t.purpose == tokens::Purpose::Invite.as_str());
    let token = token.ok_or(AppError::NotFound)?;
    let target = Target::load(conn, token.user_id.ok_or(AppError::NotFound)?)?;
    actor.may(Action::ResendInvite, &target)?;
    if !tokens::revoke(conn, token_id)? {
        return Err(AppError::Unfit("This invitation was already used, replaced or revoked.".into()));
    }
    audit::record(
        conn,
        &actor.audit,
        "invite.revoked",
        Event::user(target.user.id, &target.user.email),
        serde_json::json!({ "token_id": token_id }),
    )?;
    Ok(target)
}

/// Sends an active user a password-reset link (never a password).
pub fn send_password_reset(
    conn: &mut DbConnection,
    actor: &Actor,
    id: i64,
    public_url: &str,
) -> Result<Target, AppError> {
    let target = Target::load(conn, id)?;
    actor.may(Action::SendPasswordReset, &target)?;
    if target.user.status() != UserStatus::Active {
        return Err(AppError::Unfit("Only an active user can be sent a password-reset link.".into()));
    }
    super::links::queue_password_reset(conn, &actor.audit, public_url, &target.user)?;
    Ok(target)
}

/// Checks and records the start of a session as `id` for `reason` (already checked: a short
/// line), and mails the user unless the organization turned that off; the caller switches the
/// cookie. Returns the user and how many minutes it lasts at most.
pub fn start_impersonation(
    conn: &mut DbConnection,
    actor: &Actor,
    id: i64,
    reason: &str,
) -> Result<(Target, i64), AppError> {
    let target = Target::load(conn, id)?;
    actor.may(Action::Impersonate, &target)?;
    if target.user.status() != UserStatus::Active {
        return Err(AppError::Unfit("Only an active user can be signed in as.".into()));
    }
    let length = reason.chars().count();
    if !(3..=300).contains(&length) || reason.chars().any(char::is_control) {
        return Err(AppError::Unfit("Say why you sign in as them, in one line of 3 to 300 characters.".into()));
    }
    let settings = crate::db::settings::Settings::load(conn)?;
    let mailed = settings.impersonation_mail;
    if mailed {
        let zone = crate::domain::time_zone(&target.user.time_zone).unwrap_or(settings.time_zone);
        let who = audit::label_of(conn, Some(actor.id))?;
        let when = crate::domain::when_in(Some(crate::db::now()), zone);
        let message = crate::mail::messages::impersonated(
            &settings,
            &target.user.email,
            &target.user.first_name,
            &who,
            &when,
            reason,
        )?;
        crate::db::outbox::enqueue(conn, &message)?;
    }
    audit::record(
        conn,
        &actor.audit,
        "impersonation.started",
        Event::user(id, &target.user.email),
        serde_json::json!({ "reason": reason, "minutes": settings.impersonation_minutes, "user_mailed": mailed }),
    )?;
    Ok((target, settings.impersonation_minutes))
}

/// How a new user gets in.
pub enum Entry {
    /// An emailed invitation (the default).
    Invitation(InviteOptions),
    /// A password the actor set now (already hashed); never emailed.
    Password { hash: String, must_change: bool },
}

/// Why a new user was not added: the messages beside the fields, and the user who already has
/// the address, if one does (the form offers to open or restore them).
pub struct NotAdded {
    pub errors: FieldErrors,
    pub existing: Option<users_db::User>,
}

/// Adds a user (Add New User, an import's row): the actor needs `users.manage`, may hand out
/// the group, and reaches every building and account granted. `errors` holds what parsing the
/// form found already; nothing is written unless there are none.
pub fn create(
    conn: &mut DbConnection,
    actor: &Actor,
    public_url: &str,
    info: Option<UserInfo>,
    mut errors: FieldErrors,
    access: &crate::db::user_access::Access,
    entry: Entry,
) -> Result<Result<users_db::User, NotAdded>, AppError> {
    use crate::domain::rules;
    if !actor.permissions.has(crate::domain::Permission::UsersManage) {
        return Err(AppError::Forbidden);
    }
    if let Some(info) = &info {
        match crate::db::groups::with_permissions(conn, info.group_id)? {
            None => errors.add("group_id", "Choose a group."),
            Some((_, group)) => {
                if let Err(refusal) = rules::may_assign(&actor.person(), &group) {
                    errors.add("group_id", refusal.message());
                }
            }
        }
    }
    if super::access::within_reach(conn, actor, &Default::default(), access).is_err() {
        errors.add("buildings", rules::Refusal::BuildingOutOfReach.message());
    }
    let existing = match &info {
        Some(info) => users_db::find_by_email(conn, info.email.as_str())?,
        None => None,
    };
    if let Some(existing) = &existing {
        errors.add(
            "email",
            if existing.status() == UserStatus::Deleted {
                "A deleted user has this address. Restore them instead of adding a new user."
            } else {
                "A user with this address exists already."
            },
        );
    }
    let (Some(info), true) = (info, errors.is_empty()) else {
        return Ok(Err(NotAdded { errors, existing }));
    };
    let (status, hash, must_change) = match &entry {
        Entry::Password { hash, must_change } => (UserStatus::Active, Some(hash.clone()), *must_change),
        Entry::Invitation(_) => (UserStatus::Invited, None, false),
    };
    let created = users_db::insert(
        conn,
        &users_db::NewUser {
            password_hash: hash,
            must_change_password: must_change,
            ..users_db::NewUser::from_info(&info, status)
        },
    )?;
    let change = crate::db::user_access::set(conn, created.id, access, actor.id)?;
    let how = match entry {
        Entry::Invitation(_) => "invitation",
        Entry::Password { .. } => "password",
    };
    audit::record(
        conn,
        &actor.audit,
        "user.created",
        Event::user(created.id, &created.email),
        serde_json::json!({
            "email": created.email, "first_name": created.first_name, "last_name": created.last_name,
            "phone": created.phone, "title": created.title, "job_function": created.job_function,
            "company": created.company, "group_id": created.group_id, "status": created.status,
            "entry": how, "must_change_password": created.must_change_password, "access": change,
            "user_name": created.user_name, "external_id": created.external_id,
        }),
    )?;
    match entry {
        Entry::Invitation(options) => {
            invitations::send(conn, &actor.audit, public_url, created.id, &options)?;
        }
        Entry::Password { .. } => {}
    }
    Ok(Ok(created))
}

/// Records an export of the user list (every user, or the current results of `search`). An
/// export shows users, so it needs `users.view` as well as `users.export`.
pub fn record_export(conn: &mut DbConnection, actor: &Actor, only_results: bool, search: &str) -> Result<(), AppError> {
    use crate::domain::Permission::{UsersExport, UsersView};
    if !(actor.permissions.has(UsersExport) && actor.permissions.has(UsersView)) {
        return Err(AppError::Forbidden);
    }
    let details = serde_json::json!({ "scope": if only_results { "results" } else { "all" }, "search": search });
    audit::record(conn, &actor.audit, "users.exported", Event::none(), details)
}
