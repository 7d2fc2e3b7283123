//! The signed-in user, loaded and checked against the database on every request, and
//! `Require<P>`, which hands a handler the user only if their group grants permission `P`.

use std::future::Future;
use std::marker::PhantomData;
use std::ops::Deref;
use std::pin::Pin;

use actix_session::SessionExt;
use actix_web::{FromRequest, HttpRequest, dev::Payload, http::Method, web};

use super::session::{Flash, SessionState};
use crate::db;
use crate::db::audit::AuditContext;
use crate::domain::{Permission, PermissionSet, UserStatus, rules};
use crate::error::AppError;
use crate::ops::Actor;
use crate::state::AppState;
use crate::web::layout::{Layout, Tab};

pub struct CurrentUser {
    pub id: i64,
    pub email: String,
    pub first_name: String,
    pub last_name: String,
    pub is_owner: bool,
    pub group_id: i64,
    pub group_name: String,
    pub permissions: PermissionSet,
    pub must_change_password: bool,
    /// The recorded session this request comes in (the row's id).
    pub session_id: i64,
    /// Where this user reads dates: their own choice, else the organization's.
    pub time_zone: chrono_tz::Tz,
    /// The group requires two-step sign-in, which this user has not set up: by when.
    pub two_step_due: Option<chrono::NaiveDateTime>,
    /// Set while an administrator is signed in as this user.
    pub impersonator_id: Option<i64>,
    /// Who that administrator is ("Olive Owner (owner@example.com)"), and when it ends (UTC).
    pub impersonator_label: String,
    pub impersonation_ends: Option<chrono::NaiveDateTime>,
    pub impersonation_seconds_left: i64,
    pub org_name: String,
    pub audit: AuditContext,
    pub session: SessionState,
    /// What the session cookie says (who, since when, and who is behind it).
    pub cookie: super::session::SessionUser,
}

impl CurrentUser {
    /// The signed-in user as the operations' actor. A session in which an administrator acts as
    /// someone holds no permission: it sees what the user sees and changes nothing of others.
    pub fn acting(&self) -> Actor {
        Actor {
            id: self.id,
            is_owner: self.is_owner && self.impersonator_id.is_none(),
            email: self.email.clone(),
            permissions: if self.impersonator_id.is_some() {
                PermissionSet::default()
            } else {
                self.permissions.clone()
            },
            audit: self.audit.clone(),
        }
    }

    /// Whether the user's group grants `p`; never in a session in which an administrator acts
    /// as this user.
    pub fn can(&self, p: Permission) -> bool {
        self.impersonator_id.is_none() && self.permissions.has(p)
    }

    pub fn is_admin(&self) -> bool {
        self.permissions.is_admin()
    }

    pub fn full_name(&self) -> String {
        format!("{} {}", self.first_name, self.last_name)
    }

    /// The page frame for this user with `tab` selected; takes the pending flash message.
    pub fn layout(&self, title: impl Into<String>, tab: Tab) -> Layout {
        Layout::signed_in(self, title.into(), tab)
    }

    pub fn csrf_token(&self) -> String {
        self.session.csrf_token()
    }

    pub fn take_flash(&self) -> Option<Flash> {
        self.session.take_flash()
    }
}

/// Paths a user whose group requires two-step sign-in, past the days to set it up, may reach.
fn allowed_before_two_step(path: &str) -> bool {
    path.starts_with("/profile/two-step") || path == "/sign-out" || path == "/profile/password"
}

/// Paths a user who must choose a new password may still reach.
fn allowed_before_new_password(path: &str) -> bool {
    path == "/profile/password" || path == "/sign-out"
}

async fn load(req: HttpRequest) -> Result<CurrentUser, AppError> {
    let session = SessionState::of(&req);
    let sign_in_required = || AppError::SignInRequired {
        next: (req.method() == Method::GET).then(|| match req.query_string() {
            "" => req.path().to_owned(),
            q => format!("{}?{q}", req.path()),
        }),
    };
    let Some(cookie) = session.user() else {
        return Err(sign_in_required());
    };
    let state = req
        .app_data::<web::Data<AppState>>()
        .ok_or_else(|| AppError::Internal(anyhow::anyhow!("no app state")))?
        .clone();
    let (user_id, impersonator) = (cookie.user_id, cookie.impersonator_id);
    let (key, impersonator_key) = (cookie.key.clone(), cookie.impersonator_key.clone());
    let now = state.config.clock.timestamp();
    // The recorded session's last use is written when the cookie's is, at most once a minute.
    let seen = (now - cookie.seen >= 60).then(|| {
        (state.config.clock.now(), crate::auth::client::of_request(&req).map(|ip| ip.to_string()).unwrap_or_default())
    });
    let (row, (recorded, own), settings, impersonator, two_step_due) = state
        .db
        .run(move |conn| {
            // The session the cookie names, and, while an administrator acts as this user, their
            // own session this one returns to: both must still be recorded.
            let recorded =
                db::sessions::find(conn, &key)?.filter(|s| s.user_id == user_id && s.impersonator_id == impersonator);
            let own = match impersonator_key.filter(|_| recorded.is_some()) {
                Some(key) => db::sessions::find(conn, &key)?.filter(|s| Some(s.user_id) == impersonator),
                None => None,
            };
            let recorded = recorded.filter(|_| impersonator.is_none() || own.is_some());
            let row = db::users::find_with_group(conn, user_id)?;
            // When the group requires two-step sign-in of someone who has none: by when. Not of
            // a session through a sign-in provider, whose own second factor stands for ours.
            let through_provider = recorded.as_ref().is_some_and(|s| s.provider_id.is_some());
            let two_step_due = match &row {
                Some((u, _, _)) if u.totp_secret.is_none() && !through_provider => {
                    db::groups::find(conn, u.group_id)?.and_then(|g| g.two_step_due())
                }
                _ => None,
            };
            let settings = db::settings::Settings::load(conn)?;
            let impersonator = match impersonator {
                Some(id) => db::users::find_with_group(conn, id)?,
                None => None,
            };
            Ok((row, (recorded, own), settings, impersonator, two_step_due))
        })
        .await?;

    // By the cookie's times (the row's are written with them). An impersonation past its
    // minutes is not refused here: it returns the administrator to their own session below.
    let time = |secs: i64| chrono::DateTime::from_timestamp(secs, 0).map_or_else(Default::default, |t| t.naive_utc());
    let expired =
        !db::sessions::Lifetime::of(&settings).stands(time(cookie.started), time(cookie.seen), false, time(now));
    let valid = recorded.is_some()
        && row.as_ref().is_some_and(|(u, _, _)| {
            u.status() == UserStatus::Active
                && super::secret::constant_time_eq(u.security_stamp.as_bytes(), cookie.security_stamp.as_bytes())
        });
    let impersonation_holds =
        cookie.impersonator_id.is_none() || impersonation_holds(&cookie, impersonator.as_ref(), row.as_ref(), now);
    let ends = cookie.impersonation_started.map(|started| started + settings.impersonation_minutes * 60);
    let Some((user, group_name, permissions)) = row.filter(|_| valid && !expired && impersonation_holds) else {
        // The recorded session ends with the cookie (an expired one no longer lists).
        if recorded.is_some() {
            let ended = cookie.key.clone();
            state.db.run(move |conn| db::sessions::end_by_key(conn, &ended)).await?;
        }
        session.forget();
        return Err(sign_in_required());
    };
    // Its last use is written when the cookie's is (at most once a minute), once it stood.
    if let Some((at, ip)) = seen {
        let ids: Vec<i64> = recorded.iter().chain(own.iter()).map(|s| s.id).collect();
        state.db.run(move |conn| ids.iter().try_for_each(|&id| db::sessions::seen(conn, id, &ip, at))).await?;
    }
    // The time is up: the administrator is back in their own session (which the checks above
    // found standing), and the event says why.
    if cookie.impersonator_id.is_some() && ends.is_some_and(|ends| now > ends) {
        let (admin_id, ctx) =
            (cookie.impersonator_id.unwrap_or_default(), AuditContext::from_request(&req, None, None));
        let (name, session_id) = (user.full_name(), recorded.as_ref().map_or(0, |s| s.id));
        crate::ops::apply(&state.db, move |conn| {
            crate::ops::sessions::impersonation_stopped(conn, &ctx, (admin_id, &user, session_id), "time limit")
        })
        .await?;
        session.resume(&cookie)?;
        session.success(format!("Your time signed in as {name} ended: you are back in your own account."));
        return Err(AppError::SignInRequired { next: Some("/settings".into()) });
    }
    session.touch(now, cookie.seen);
    // Someone signed in as this user is never held to the user's forced password change.
    if user.must_change_password && cookie.impersonator_id.is_none() && !allowed_before_new_password(req.path()) {
        return Err(AppError::PasswordChangeRequired);
    }
    // Nor to the group's two-step requirement: that is the user's own to meet.
    let two_step_due = two_step_due.filter(|_| cookie.impersonator_id.is_none());
    if two_step_due.is_some_and(|due| now > due.and_utc().timestamp()) && !allowed_before_two_step(req.path()) {
        return Err(AppError::TwoStepRequired);
    }
    let audit = AuditContext::from_request(&req, Some(user.id), cookie.impersonator_id);
    Ok(CurrentUser {
        id: user.id,
        email: user.email,
        first_name: user.first_name,
        last_name: user.last_name,
        is_owner: user.is_owner,
        group_id: user.group_id,
        group_name,
        permissions,
        must_change_password: user.must_change_password,
        session_id: recorded.map_or(0, |s| s.id),
        two_step_due,
        time_zone: crate::domain::time_zone(&user.time_zone).unwrap_or(settings.time_zone),
        impersonator_id: cookie.impersonator_id,
        impersonator_label: impersonator
            .as_ref()
            .map(|(admin, _, _)| db::audit::person_label(&admin.first_name, &admin.last_name, &admin.email))
            .unwrap_or_default(),
        impersonation_ends: ends
            .filter(|_| cookie.impersonator_id.is_some())
            .and_then(|t| chrono::DateTime::from_timestamp(t, 0))
            .map(|t| t.naive_utc()),
        impersonation_seconds_left: ends.filter(|_| cookie.impersonator_id.is_some()).map_or(0, |t| t - now),
        cookie: cookie.clone(),
        org_name: settings.org_name,
        audit,
        session,
    })
}

/// The signed-in user of a request whose handler has answered (an error page framed in the
/// layout), when the session still stands.
pub async fn signed_in(req: HttpRequest) -> Option<CurrentUser> {
    load(req).await.ok()
}

/// Whether a session in which an administrator acts as someone still stands: it ends with the
/// administrator's own session (their stamp and status), when they lose `users.impersonate` or
/// may no longer sign in as this user. (Its time limit is checked after: the administrator
/// then returns to their own session.)
fn impersonation_holds(
    cookie: &super::session::SessionUser,
    impersonator: Option<&(db::users::User, String, PermissionSet)>,
    user: Option<&(db::users::User, String, PermissionSet)>,
    now: i64,
) -> bool {
    let (Some((admin, _, admin_permissions)), Some((user, _, user_permissions))) = (impersonator, user) else {
        return false;
    };
    let stamp = cookie.impersonator_stamp.as_deref().unwrap_or_default();
    let started = cookie.impersonation_started.unwrap_or_default();
    let actor = rules::Person { id: admin.id, is_owner: admin.is_owner, permissions: admin_permissions };
    let target = rules::Person { id: user.id, is_owner: user.is_owner, permissions: user_permissions };
    admin.status() == UserStatus::Active
        && super::secret::constant_time_eq(admin.security_stamp.as_bytes(), stamp.as_bytes())
        && rules::may(&actor, rules::Action::Impersonate, &target).is_ok()
        && now >= started
}

/// The user check of a state-changing request, made by `check_first`.
struct Checked(Option<Result<CurrentUser, AppError>>);

/// Checks the session of a state-changing request before its handler reads the form, so a
/// session that ended is sent to sign in rather than told its form was wrong.
pub async fn check_first(
    req: actix_web::dev::ServiceRequest,
    next: actix_web::middleware::Next<impl actix_web::body::MessageBody + 'static>,
) -> Result<actix_web::dev::ServiceResponse<impl actix_web::body::MessageBody + 'static>, actix_web::Error> {
    use actix_web::HttpMessage;
    let safe = matches!(*req.method(), Method::GET | Method::HEAD | Method::OPTIONS);
    if !safe && SessionState::new(req.get_session()).user().is_some() {
        let checked = load(req.request().clone()).await;
        req.extensions_mut().insert(Checked(Some(checked)));
    }
    next.call(req).await
}

/// The user `check_first` found for this request, or a fresh check.
async fn checked_or_load(req: HttpRequest) -> Result<CurrentUser, AppError> {
    use actix_web::HttpMessage;
    let checked = req.extensions_mut().get_mut::<Checked>().and_then(|c| c.0.take());
    match checked {
        Some(result) => result,
        None => load(req).await,
    }
}

impl FromRequest for CurrentUser {
    type Error = AppError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, AppError>>>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        Box::pin(checked_or_load(req.clone()))
    }
}

/// The signed-in user when there is one (public pages use it to send a signed-in visitor on).
pub struct MaybeUser(pub Option<CurrentUser>);

impl FromRequest for MaybeUser {
    type Error = AppError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, AppError>>>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let req = req.clone();
        Box::pin(async move {
            match checked_or_load(req).await {
                Ok(user) => Ok(MaybeUser(Some(user))),
                Err(AppError::SignInRequired { .. } | AppError::PasswordChangeRequired) => Ok(MaybeUser(None)),
                Err(e) => Err(e),
            }
        })
    }
}

/// A permission a handler can require in its signature.
pub trait Capability {
    const PERMISSION: Permission;
}

/// The signed-in user, given to the handler only when their group grants `C`. A session in
/// which an administrator is signed in as someone else reaches no such screen.
pub struct Require<C: Capability> {
    user: CurrentUser,
    _capability: PhantomData<C>,
}

impl<C: Capability> Require<C> {
    pub fn into_user(self) -> CurrentUser {
        self.user
    }
}

impl<C: Capability> Deref for Require<C> {
    type Target = CurrentUser;
    fn deref(&self) -> &CurrentUser {
        &self.user
    }
}

impl<C: Capability + 'static> FromRequest for Require<C> {
    type Error = AppError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, AppError>>>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let req = req.clone();
        Box::pin(async move {
            let user = checked_or_load(req).await?;
            if user.impersonator_id.is_some() || !user.can(C::PERMISSION) {
                return Err(AppError::Forbidden);
            }
            Ok(Require { user, _capability: PhantomData })
        })
    }
}

macro_rules! capabilities {
    ($($name:ident => $permission:ident),* $(,)?) => {
        $(
            #[doc = concat!("Requires `", stringify!($permission), "`.")]
            pub struct $name;
            impl Capability for $name {
                const PERMISSION: Permission = Permission::$permission;
            }
        )*
    };
}

capabilities! {
    ViewUsers => UsersView,
    ManageUsers => UsersManage,
    ExportUsers => UsersExport,
    ImpersonateUsers => UsersImpersonate,
    ResetPasswords => UsersResetPassword,
    SendInvites => InvitesSend,
    ViewAllBuildings => BuildingsViewAll,
    ManageBuildings => BuildingsManage,
    EditBuildings => BuildingsEdit,
    ManageGroups => GroupsManage,
    ViewAudit => AuditView,
    ManageSettings => SettingsManage,
    ManageApi => ApiManage,
}
