//! Add New User: the Info part, the Buildings part, and how the person gets in — an
//! invitation (the default) or a password set now. The portal never emails a password.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use askama::Template;

use super::{AccessScope, AccountChoice, GroupChoice, access_choices, access_from_form, field, group_choices};
use crate::auth::Require;
use crate::auth::current_user::ManageUsers;
use crate::db::buildings;
use crate::db::user_access::{Access, Grant};
use crate::domain::user_form::UserInfoForm;
use crate::domain::{FieldErrors, JobFunction, UserStatus};
use crate::error::AppError;
use crate::ops;
use crate::ops::invitations::InviteOptions;
use crate::ops::users::{Entry, NotAdded};
use crate::state::AppState;
use crate::web::layout::{Layout, Tab};
use crate::web::{render, see_other};

pub struct JobChoice {
    pub key: &'static str,
    pub label: &'static str,
    pub selected: bool,
}

pub fn job_choices(selected: &str) -> Vec<JobChoice> {
    JobFunction::ALL
        .into_iter()
        .map(|j| JobChoice { key: j.key(), label: j.label(), selected: j.key() == selected })
        .collect()
}

/// A user who already has the address typed.
pub struct Existing {
    pub id: i64,
    pub deleted: bool,
}

#[derive(Template)]
#[template(path = "users/new.html")]
struct NewPage {
    layout: Layout,
    form: UserInfoForm,
    errors: FieldErrors,
    groups: Vec<GroupChoice>,
    jobs: Vec<JobChoice>,
    accounts: Vec<AccountChoice>,
    access: AccessScope,
    errors_ends_new: String,
    invite: bool,
    subject: String,
    bcc_me: bool,
    require_new_password: bool,
    existing: Option<Existing>,
}

pub async fn new(state: web::Data<AppState>, user: Require<ManageUsers>) -> Result<HttpResponse, AppError> {
    let acting = user.acting();
    let (groups, (accounts, access)) = state
        .db
        .run(move |conn| {
            let groups = group_choices(conn, &acting, "")?;
            Ok((groups, access_choices(conn, &Access::default())?))
        })
        .await?;
    let page = NewPage {
        layout: user.layout("Add New User", Tab::Users),
        form: UserInfoForm::default(),
        errors: FieldErrors::new(),
        groups,
        jobs: job_choices(""),
        accounts,
        access,
        errors_ends_new: String::new(),
        invite: true,
        subject: String::new(),
        bcc_me: false,
        require_new_password: true,
        existing: None,
    };
    render(StatusCode::OK, &page)
}

pub async fn create(
    state: web::Data<AppState>,
    user: Require<ManageUsers>,
    form: web::Form<Vec<(String, String)>>,
) -> Result<HttpResponse, AppError> {
    let user = user.into_user();
    let pairs = form.into_inner();
    let info_form = UserInfoForm {
        first_name: field(&pairs, "first_name"),
        last_name: field(&pairs, "last_name"),
        email: field(&pairs, "email"),
        phone: field(&pairs, "phone"),
        title: field(&pairs, "title"),
        job_function: field(&pairs, "job_function"),
        company: field(&pairs, "company"),
        group_id: field(&pairs, "group_id"),
    };
    let invite = field(&pairs, "entry") != "password";
    let subject = field(&pairs, "subject").trim().chars().filter(|c| !c.is_control()).take(200).collect::<String>();
    let bcc_me = field(&pairs, "bcc_me") == "on";
    let require_new_password = field(&pairs, "require_new_password") == "on";

    let mut errors = FieldErrors::new();
    let info = info_form.parse(&mut errors);
    let typed_ends_new = field(&pairs, "ends_new").chars().filter(|c| !c.is_control()).take(20).collect::<String>();
    let ends_new = match super::end_date(&typed_ends_new) {
        // A day before yesterday is past in every time zone; today's date is checked again as
        // the organization reads it.
        Ok(Some(day)) if day < chrono::Utc::now().date_naive() - chrono::Duration::days(1) => {
            errors.add("ends_new", "An end date from today on (the last day access holds).");
            None
        }
        Ok(day) => day,
        Err(_) => {
            errors.add("ends_new", "An end date like 2026-12-31 (the last day access holds).");
            None
        }
    };
    let password = if invite {
        None
    } else {
        let personal = [info_form.first_name.as_str(), info_form.last_name.as_str(), info_form.email.as_str()];
        let (raw, confirm) = (field(&pairs, "password"), field(&pairs, "password_confirm"));
        state.hasher.judge_fields(&raw, &confirm, &personal, &mut errors).await?
    };

    let hash = match (&password, errors.is_empty()) {
        (Some(p), true) => Some(state.hasher.hash(p.expose().to_owned()).await?),
        _ => None,
    };
    let public_url = state.config.public_url.clone();
    let acting = user.acting();
    let kept_subject = subject.clone();
    let entry = match hash {
        Some(hash) => Entry::Password { hash, must_change: require_new_password },
        None => Entry::Invitation(InviteOptions {
            subject: Some(subject).filter(|s| !s.is_empty()),
            bcc: bcc_me.then(|| acting.email.clone()),
        }),
    };
    let outcome = ops::apply(&state.db, move |conn| {
        let access = access_from_form(&pairs, &buildings::building_ids(conn)?);
        let info = info.filter(|_| invite || password.is_some());
        match ops::users::create(conn, &acting, &public_url, info, errors, &access, entry)? {
            Ok(created) => {
                if let Some(day) = ends_new {
                    let grants = access.buildings.iter().map(|id| Grant::Building(*id));
                    let grants = grants.chain(access.accounts.iter().map(|id| Grant::Account(*id)));
                    let ends: Vec<_> = grants.map(|grant| (grant, Some(day))).collect();
                    ops::access_ends::set_grant_ends(conn, &acting, created.id, &ends, crate::db::now())?;
                }
                Ok(Ok(created))
            }
            Err(NotAdded { errors, existing }) => Ok(Err(Refused {
                groups: group_choices(conn, &acting, &info_form.group_id)?,
                accounts: access_choices(conn, &access)?,
                existing: existing.map(|u| Existing { id: u.id, deleted: u.status() == UserStatus::Deleted }),
                errors,
                form: info_form,
            })),
        }
    })
    .await?;
    match outcome {
        Ok(created) => {
            state.mail_queued.notify_one();
            user.session.success(if invite {
                format!("{} was added and an invitation is on its way to {}.", created.full_name(), created.email)
            } else {
                format!("{} was added and can sign in with the password you set.", created.full_name())
            });
            Ok(see_other(&format!("/users/{}", created.id)))
        }
        Err(refused) => {
            let ends_new_error = refused.errors.get("ends_new").to_owned();
            let page = NewPage {
                layout: user.layout("Add New User", Tab::Users),
                jobs: job_choices(&refused.form.job_function),
                form: refused.form,
                errors: refused.errors,
                groups: refused.groups,
                accounts: refused.accounts.0,
                access: AccessScope { ends_new: typed_ends_new, ..refused.accounts.1 },
                errors_ends_new: ends_new_error,
                invite,
                subject: kept_subject,
                bcc_me,
                require_new_password,
                existing: refused.existing,
            };
            render(StatusCode::UNPROCESSABLE_ENTITY, &page)
        }
    }
}

/// A refused form, with what it needs to be shown again.
struct Refused {
    form: UserInfoForm,
    errors: FieldErrors,
    groups: Vec<GroupChoice>,
    /// The accounts and buildings to show, and what they are.
    accounts: (Vec<AccountChoice>, AccessScope),
    existing: Option<Existing>,
}
