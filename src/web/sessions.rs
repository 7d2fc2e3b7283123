//! Where someone is signed in: the sessions the server records, listed on My Profile (each can
//! be signed out, or all but this one) and on a user's page for an administrator who may end
//! them all.

use actix_web::{HttpResponse, web};

use crate::auth::current_user::ManageUsers;
use crate::auth::{CurrentUser, Require};
use crate::db::DbConnection;
use crate::db::settings::Settings;
use crate::domain::device;
use crate::error::AppError;
use crate::ops;
use crate::state::AppState;
use crate::web::{flash_outcome, see_other};

/// One session as its list shows it.
pub struct SessionView {
    pub id: i64,
    /// "Firefox on Linux".
    pub device: String,
    /// "198.51.100.7", "10.0.0.3 (a private network)".
    pub place: String,
    pub started: String,
    pub last_seen: String,
    /// The session this page is shown in.
    pub this_one: bool,
    /// Who is signed in as the user in it, when an administrator is ("" otherwise).
    pub behind: String,
    /// The OpenID provider it came through ("" for none).
    pub via: String,
}

/// The sessions of user `id` that still stand, the latest used first; `current` is the one
/// the page is shown in.
pub fn of_user(
    conn: &mut DbConnection,
    id: i64,
    current: i64,
    zone: chrono_tz::Tz,
    now: chrono::NaiveDateTime,
) -> Result<Vec<SessionView>, AppError> {
    let lifetime = crate::db::sessions::Lifetime::of(&Settings::load(conn)?);
    let mut views = Vec::new();
    // Who is behind a session, looked up once per administrator, not once per session.
    let mut labels = std::collections::HashMap::new();
    let providers = crate::db::oidc::list(conn)?;
    for s in crate::db::sessions::of_user(conn, id)? {
        if !lifetime.stands(s.started_at, s.last_seen_at, s.impersonator_id.is_some(), now) {
            continue;
        }
        views.push(SessionView {
            id: s.id,
            device: device::describe(&s.user_agent),
            place: device::place(&s.ip),
            started: crate::domain::when_in(Some(s.started_at), zone),
            last_seen: crate::domain::when_in(Some(s.last_seen_at), zone),
            this_one: s.id == current,
            behind: match s.impersonator_id {
                Some(admin) if !labels.contains_key(&admin) => {
                    let label = crate::db::audit::label_of(conn, Some(admin))?;
                    labels.entry(admin).or_insert(label).clone()
                }
                Some(admin) => labels[&admin].clone(),
                None => String::new(),
            },
            via: providers.iter().find(|p| Some(p.id) == s.provider_id).map(|p| p.name.clone()).unwrap_or_default(),
        });
    }
    Ok(views)
}

/// Signs out one of the user's own sessions (another device's).
pub async fn end_mine(
    state: web::Data<AppState>,
    user: CurrentUser,
    path: web::Path<i64>,
) -> Result<HttpResponse, AppError> {
    let (id, current, acting) = (path.into_inner(), user.session_id, user.acting());
    let outcome = ops::apply(&state.db, move |conn| ops::sessions::end_mine(conn, &acting, id, current)).await;
    flash_outcome(&user.session, outcome.map(|()| "That session is signed out.".to_owned()))?;
    Ok(see_other("/profile#sessions"))
}

/// Signs out every session of the user's but this one.
pub async fn end_my_others(state: web::Data<AppState>, user: CurrentUser) -> Result<HttpResponse, AppError> {
    let (acting, current) = (user.acting(), user.session_id);
    let outcome = ops::apply(&state.db, move |conn| ops::sessions::end_my_others(conn, &acting, current)).await;
    let outcome = outcome.map(|n| match n {
        0 => "You were signed in nowhere else.".to_owned(),
        1 => "Your other session is signed out.".to_owned(),
        n => format!("Your {n} other sessions are signed out."),
    });
    flash_outcome(&user.session, outcome)?;
    Ok(see_other("/profile#sessions"))
}

/// An administrator ends every session of a user.
pub async fn end_all(
    state: web::Data<AppState>,
    user: Require<ManageUsers>,
    path: web::Path<i64>,
) -> Result<HttpResponse, AppError> {
    let id = path.into_inner();
    let acting = user.acting();
    let outcome = ops::apply(&state.db, move |conn| ops::sessions::end_all_of(conn, &acting, id)).await;
    let outcome = outcome.map(|target| format!("{} is signed out everywhere.", target.user.full_name()));
    flash_outcome(&user.session, outcome)?;
    Ok(see_other(&format!("/users/{id}#sessions")))
}
