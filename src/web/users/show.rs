//! A user's page: their info (the pencil edits it, with optimistic locking), Property Access,
//! the invitations sent, and their audit trail.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use askama::Template;

use super::history::EventView;
use super::new::{JobChoice, job_choices};
use super::{
    AccessScope, AccountChoice, GroupChoice, access_from_form, access_view, access_within_form, group_choices, when,
};
use crate::auth::Require;
use crate::auth::current_user::{ManageUsers, ViewUsers};
use crate::db::audit;
use crate::db::{buildings, tokens, user_access};
use crate::domain::rules::Action;
use crate::domain::user_form::UserInfoForm;
use crate::domain::{FieldErrors, JobFunction, Permission, UserStatus};
use crate::error::AppError;
use crate::ops::users::{InfoSaved, form_of};
use crate::ops::{self, Target};
use crate::state::AppState;
use crate::web::layout::{Layout, Tab};
use crate::web::{render, see_other};

pub struct InviteView {
    pub sent_at: String,
    pub sent_by: String,
    pub to: String,
    pub expires_at: String,
    pub state: &'static str,
    pub delivery: String,
}

#[derive(Template)]
#[template(path = "users/show.html")]
struct ShowPage {
    layout: Layout,
    id: i64,
    name: String,
    email: String,
    phone: String,
    title: String,
    job_function: &'static str,
    company: String,
    group: String,
    status: &'static str,
    status_class: &'static str,
    is_owner: bool,
    last_sign_in: String,
    created_at: String,
    /// The account's last day ("YYYY-MM-DD"), or "".
    ends_on: String,
    ends_on_text: String,
    accounts: Vec<AccountChoice>,
    access: AccessScope,
    /// Property Access here reports its mistakes in the flash, not beside a field.
    errors_ends_new: &'static str,
    reaches_all: bool,
    invites: Vec<InviteView>,
    events: Vec<EventView>,
    can_edit: bool,
    can_access: bool,
    can_disable: bool,
    can_enable: bool,
    can_delete: bool,
    can_restore: bool,
    can_resend: bool,
    can_reset: bool,
    /// Whether the user signs in in two steps.
    two_step: bool,
    can_reset_two_step: bool,
    can_impersonate: bool,
    /// Where the user is signed in, for an administrator who may end their sessions.
    sessions: Vec<crate::web::sessions::SessionView>,
    can_end_sessions: bool,
    /// How many passkeys stand in for the user's codes.
    passkeys: i64,
    /// The sign-in providers the user is linked to: "Test IdP (ann@example.com, since 3 Dec 2026)".
    links: Vec<String>,
}

#[derive(Debug, Default, serde::Deserialize)]
#[serde(default)]
pub struct ShowParams {
    /// A search for buildings to grant, when there are too many to list.
    buildings_q: String,
}

pub async fn show(
    state: web::Data<AppState>,
    user: Require<ViewUsers>,
    path: web::Path<i64>,
    params: web::Query<ShowParams>,
) -> Result<HttpResponse, AppError> {
    let id = path.into_inner();
    let acting = user.acting();
    let zone = user.time_zone;
    let search = params.into_inner().buildings_q;
    let (now, looking) = (state.config.clock.now(), acting.clone());
    let (target, (accounts, access), invites, events, (sessions, passkeys, links)) = state
        .db
        .run(move |conn| {
            let target = Target::load(conn, id)?;
            let sessions = match looking.can(Action::EndSessions, &target) {
                true => crate::web::sessions::of_user(conn, id, 0, zone, now)?,
                false => Vec::new(),
            };
            let access = user_access::of_user(conn, id)?;
            let ends = user_access::ends_of(conn, id)?;
            let (accounts, access) = access_view(conn, &access, &ends, &search)?;
            let invites = tokens::invites_of_user(conn, id)?;
            let events = audit::for_target(conn, "user", id, 50)?;
            let passkeys = crate::db::passkeys::count_of(conn, id)?;
            let links = crate::db::oidc::links_of(conn, id)?;
            Ok((target, (accounts, access), invites, events, (sessions, passkeys, links)))
        })
        .await?;
    let allowed = |action| acting.can(action, &target);
    let status = target.user.status();
    let u = &target.user;
    let page = ShowPage {
        layout: user.layout(u.full_name(), Tab::Users),
        id: u.id,
        name: u.full_name(),
        email: u.email.clone(),
        phone: u.phone.clone(),
        title: u.title.clone(),
        job_function: JobFunction::label_of(&u.job_function),
        company: u.company.clone(),
        group: target.group_name.clone(),
        status: status.label(),
        status_class: super::list::status_class(status.as_str()),
        is_owner: u.is_owner,
        last_sign_in: when(u.last_sign_in_at, zone),
        created_at: when(Some(u.created_at), zone),
        ends_on: u.ends_on.map(|d| d.to_string()).unwrap_or_default(),
        ends_on_text: u.ends_on.map(|d| d.format("%-d %b %Y").to_string()).unwrap_or_default(),
        reaches_all: target.permissions.has(Permission::BuildingsViewAll),
        accounts,
        access,
        errors_ends_new: "",
        invites: invites
            .iter()
            .map(|i| InviteView {
                sent_at: when(Some(i.created_at), zone),
                sent_by: i.sent_by.clone().unwrap_or_else(|| "—".into()),
                to: i.email.clone().unwrap_or_default(),
                expires_at: when(Some(i.expires_at), zone),
                state: i.state(),
                delivery: i.delivery(),
            })
            .collect(),
        events: events
            .into_iter()
            .map(|e| {
                let actor = match (e.actor_first_name, e.actor_last_name, e.actor_email) {
                    // The address too: names are the people's own to change, and need not be unique.
                    (Some(first), Some(last), Some(email)) if !(first.is_empty() && last.is_empty()) => {
                        format!("{} ({email})", format!("{first} {last}").trim())
                    }
                    (_, _, Some(email)) => email,
                    _ => "The system".to_owned(),
                };
                EventView {
                    at: when(Some(e.at), zone),
                    sentence: super::history::sentence(&actor, &e.action, &e.details),
                    details: if e.details == "{}" { String::new() } else { e.details },
                }
            })
            .collect(),
        can_edit: status != UserStatus::Deleted && allowed(Action::EditInfo),
        can_access: status != UserStatus::Deleted && allowed(Action::ChangeAccess),
        can_disable: matches!(status, UserStatus::Active | UserStatus::Invited) && allowed(Action::Disable),
        can_enable: status == UserStatus::Disabled && allowed(Action::Enable),
        can_delete: status != UserStatus::Deleted && allowed(Action::Delete),
        can_restore: status == UserStatus::Deleted && allowed(Action::Restore),
        can_resend: status == UserStatus::Invited && allowed(Action::ResendInvite),
        can_impersonate: status == UserStatus::Active && allowed(Action::Impersonate),
        can_reset: status == UserStatus::Active && allowed(Action::SendPasswordReset),
        two_step: u.totp_secret.is_some(),
        links: links
            .iter()
            .map(|(l, provider)| format!("{provider} ({}, since {})", l.email, when(Some(l.linked_at), zone)))
            .collect(),
        can_reset_two_step: u.totp_secret.is_some() && allowed(Action::ResetSecondFactor),
        can_end_sessions: allowed(Action::EndSessions),
        passkeys,
        sessions,
    };
    render(StatusCode::OK, &page)
}

#[derive(Template)]
#[template(path = "users/edit.html")]
struct EditPage {
    layout: Layout,
    id: i64,
    name: String,
    version: i32,
    form: UserInfoForm,
    errors: FieldErrors,
    groups: Vec<GroupChoice>,
    jobs: Vec<JobChoice>,
    conflicts: Vec<(&'static str, String, String)>,
}

pub async fn edit(
    state: web::Data<AppState>,
    user: Require<ManageUsers>,
    path: web::Path<i64>,
) -> Result<HttpResponse, AppError> {
    // Users are shown here (names, addresses, whether one exists): seeing them needs users.view.
    if !user.can(crate::domain::Permission::UsersView) {
        return Err(AppError::Forbidden);
    }
    let id = path.into_inner();
    let acting = user.acting();
    let (acting, target, groups) = state
        .db
        .run(move |conn| {
            let target = Target::load(conn, id)?;
            let groups = group_choices(conn, &acting, &target.user.group_id.to_string())?;
            Ok((acting, target, groups))
        })
        .await?;
    acting.may(Action::EditInfo, &target)?;
    if target.user.status() == UserStatus::Deleted {
        return Err(AppError::NotFound);
    }
    let form = form_of(&target.user);
    let page = EditPage {
        layout: user.layout(format!("Edit {}", target.user.full_name()), Tab::Users),
        id,
        name: target.user.full_name(),
        version: target.user.version,
        jobs: job_choices(&form.job_function),
        groups: with_current_group(groups, &target),
        form,
        errors: FieldErrors::new(),
        conflicts: Vec::new(),
    };
    render(StatusCode::OK, &page)
}

/// The user's own group stays a choice even when the editor couldn't assign it.
fn with_current_group(mut groups: Vec<GroupChoice>, target: &Target) -> Vec<GroupChoice> {
    if !groups.iter().any(|g| g.id == target.user.group_id) {
        groups.insert(0, GroupChoice { id: target.user.group_id, name: target.group_name.clone(), selected: true });
    }
    groups
}

/// Every field has a default, so a form missing fields never answers before the permission check.
#[derive(serde::Deserialize)]
#[serde(default)]
pub struct UpdateForm {
    #[serde(flatten)]
    info: UserInfoForm,
    version: i32,
}

impl Default for UpdateForm {
    fn default() -> Self {
        UpdateForm { info: UserInfoForm::default(), version: -1 }
    }
}

pub async fn update(
    state: web::Data<AppState>,
    user: Require<ManageUsers>,
    path: web::Path<i64>,
    form: web::Form<UpdateForm>,
) -> Result<HttpResponse, AppError> {
    let id = path.into_inner();
    let user = user.into_user();
    let UpdateForm { info: typed, version } = form.into_inner();
    let public_url = state.config.public_url.clone();
    let acting = user.acting();
    let outcome = crate::ops::apply(&state.db, move |conn| {
        let saved = ops::users::update_info(conn, &acting, id, &typed, version, &public_url)?;
        Ok(match saved {
            InfoSaved::Saved { reinvited } => Ok(reinvited),
            InfoSaved::Rejected { errors, conflicts, version } => {
                let target = Target::load(conn, id)?;
                let groups = with_current_group(group_choices(conn, &acting, &typed.group_id)?, &target);
                Err((errors, groups, conflicts, typed, version, target.user.full_name()))
            }
        })
    })
    .await?;
    match outcome {
        Ok(reinvited) => {
            state.mail_queued.notify_one();
            user.session.success(if reinvited {
                "Changes saved. The invitation was sent again to the new address."
            } else {
                "Changes saved."
            });
            Ok(see_other(&format!("/users/{id}")))
        }
        Err((errors, groups, conflicts, typed, current_version, name)) => {
            let page = EditPage {
                layout: user.layout(format!("Edit {name}"), Tab::Users),
                id,
                name,
                // A refused save over a newer edit offers the newer version: saving again
                // deliberately keeps what is typed now.
                version: current_version,
                jobs: job_choices(&typed.job_function),
                form: typed,
                errors,
                groups,
                conflicts,
            };
            let status = if page.errors.get("version").is_empty() {
                StatusCode::UNPROCESSABLE_ENTITY
            } else {
                StatusCode::CONFLICT
            };
            render(status, &page)
        }
    }
}

/// Property Access: the whole desired set, saved at once.
pub async fn update_access(
    state: web::Data<AppState>,
    user: Require<ManageUsers>,
    path: web::Path<i64>,
    form: web::Form<Vec<(String, String)>>,
) -> Result<HttpResponse, AppError> {
    let id = path.into_inner();
    let user = user.into_user();
    let pairs = form.into_inner();
    let acting = user.acting();
    let at = crate::db::now();
    let change = crate::ops::apply(&state.db, move |conn| {
        let current = user_access::of_user(conn, id)?;
        let wanted = access_from_form(&pairs, &buildings::building_ids(conn)?);
        let wanted = access_within_form(&pairs, &current, wanted);
        let ends = super::ends_from_form(&pairs, &current, &wanted)?;
        let (_, change) = ops::access::set(conn, &acting, id, &wanted)?;
        let ends_changed = ops::access_ends::set_grant_ends(conn, &acting, id, &ends, at)?;
        Ok(change.is_empty() && ends_changed == 0)
    })
    .await;
    let message = change.map(|unchanged| {
        if unchanged { "Property Access was already so; nothing changed." } else { "Property Access saved." }.to_owned()
    });
    crate::web::flash_outcome(&user.session, message)?;
    Ok(see_other(&format!("/users/{id}")))
}

#[derive(Debug, Default, serde::Deserialize)]
#[serde(default)]
pub struct EndForm {
    ends_on: String,
}

/// Sets (or clears) the last day of a user's account: the day after, they are disabled.
pub async fn set_end(
    state: web::Data<AppState>,
    user: Require<ManageUsers>,
    path: web::Path<i64>,
    form: web::Form<EndForm>,
) -> Result<HttpResponse, AppError> {
    let id = path.into_inner();
    let acting = user.acting();
    let outcome = match super::end_date(&form.ends_on) {
        Ok(day) => {
            ops::apply(&state.db, move |conn| {
                ops::access_ends::set_account_end(conn, &acting, id, day, crate::db::now())?;
                Ok(match day {
                    Some(day) => format!("The account ends after {}.", day.format("%-d %b %Y")),
                    None => "The account no longer ends by itself.".to_owned(),
                })
            })
            .await
        }
        Err(e) => Err(e),
    };
    crate::web::flash_outcome(&user.session, outcome)?;
    Ok(see_other(&format!("/users/{id}")))
}
