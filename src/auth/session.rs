//! The typed session: what the cookie holds, and nothing else touches the raw session.

use std::future::{Ready, ready};

use actix_session::{Session, SessionExt};
use actix_web::{FromRequest, HttpRequest, dev::Payload};
use serde::{Deserialize, Serialize};

use super::secret;
use crate::error::AppError;

const USER_ID: &str = "uid";
const KEY: &str = "sid";
const STAMP: &str = "stamp";
const CSRF: &str = "csrf";
const STARTED: &str = "started";
const SEEN: &str = "seen";
const FLASH: &str = "flash";
const IMPERSONATOR: &str = "imp";
const IMPERSONATOR_STAMP: &str = "imp_stamp";
const IMPERSONATION_STARTED: &str = "imp_at";
const IMPERSONATOR_KEY: &str = "imp_sid";
const SECOND_STEP: &str = "second_step";
const NEW_TWO_STEP_SECRET: &str = "new_totp";
const PASSKEY_CEREMONY: &str = "passkey";
const PROVIDER_FLOW: &str = "oidc";

/// A sign-in whose password was right, waiting for its second step: who, under which stamp,
/// since when, and where to go after.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SecondStep {
    pub user_id: i64,
    pub stamp: String,
    pub at: i64,
    pub next: String,
    /// The keys of the sessions this browser was in before (they end when this one begins).
    #[serde(default)]
    pub before: Vec<String>,
}

/// A one-time message shown on the next page (post / redirect / get).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Flash {
    pub kind: FlashKind,
    pub message: String,
    /// What to do next, as (address, words): "Restore them" after a delete.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub link: Option<(String, String)>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum FlashKind {
    Success,
    Error,
}

impl Flash {
    pub fn is_error(&self) -> bool {
        self.kind == FlashKind::Error
    }
}

/// Who the cookie says is signed in; checked against the database on each request.
#[derive(Debug, Clone)]
pub struct SessionUser {
    pub user_id: i64,
    pub security_stamp: String,
    /// The key of the session the server records (the row must still be there).
    pub key: String,
    pub started: i64,
    pub seen: i64,
    pub impersonator_id: Option<i64>,
    /// The impersonator's own security stamp, as it was when they began: their session ends
    /// this one when it ends.
    pub impersonator_stamp: Option<String>,
    /// The key of the impersonator's own session, which this one returns to.
    pub impersonator_key: Option<String>,
    /// When the impersonation began (it lasts at most the organization's `impersonation_minutes`).
    pub impersonation_started: Option<i64>,
}

/// The session, and the clock its times are written by (the app's, which tests move).
pub struct SessionState(Session, crate::config::Clock);

impl SessionState {
    pub fn new(session: Session) -> Self {
        SessionState(session, crate::config::Clock::default())
    }

    /// The request's session, on the app's clock.
    pub fn of(req: &HttpRequest) -> Self {
        let clock = req
            .app_data::<actix_web::web::Data<crate::state::AppState>>()
            .map(|s| s.config.clock.clone())
            .unwrap_or_default();
        SessionState(req.get_session(), clock)
    }

    pub fn user(&self) -> Option<SessionUser> {
        let get = |k| self.0.get::<i64>(k).ok().flatten();
        Some(SessionUser {
            user_id: get(USER_ID)?,
            security_stamp: self.0.get::<String>(STAMP).ok().flatten()?,
            key: self.0.get::<String>(KEY).ok().flatten()?,
            started: get(STARTED)?,
            seen: get(SEEN)?,
            impersonator_id: get(IMPERSONATOR),
            impersonator_stamp: self.0.get::<String>(IMPERSONATOR_STAMP).ok().flatten(),
            impersonator_key: self.0.get::<String>(IMPERSONATOR_KEY).ok().flatten(),
            impersonation_started: get(IMPERSONATION_STARTED),
        })
    }

    /// Starts a signed-in session under a fresh cookie (no fixation), with a fresh CSRF token,
    /// naming the session the server recorded by its `key`.
    pub fn sign_in(&self, user_id: i64, security_stamp: &str, key: &str) -> Result<(), AppError> {
        self.0.renew();
        let flash = self.0.remove(FLASH);
        self.0.clear();
        let now = self.1.timestamp();
        self.insert(USER_ID, user_id)?;
        self.insert(STAMP, security_stamp)?;
        self.insert(KEY, key)?;
        self.insert(STARTED, now)?;
        self.insert(SEEN, now)?;
        self.insert(CSRF, secret::new_token())?;
        if let Some(flash) = flash {
            self.0.insert(FLASH, flash).ok();
        }
        Ok(())
    }

    /// Starts a session as `user_id` for the signed-in `impersonator`, keeping what ends it:
    /// the impersonator's stamp and the start of their own session (whose absolute lifetime
    /// goes on counting).
    pub fn impersonate(
        &self,
        (user_id, security_stamp, key): (i64, &str, &str),
        impersonator: &SessionUser,
        now: i64,
    ) -> Result<(), AppError> {
        self.sign_in(user_id, security_stamp, key)?;
        self.insert(STARTED, impersonator.started)?;
        self.insert(IMPERSONATOR, impersonator.user_id)?;
        self.insert(IMPERSONATOR_STAMP, &impersonator.security_stamp)?;
        self.insert(IMPERSONATOR_KEY, &impersonator.key)?;
        self.insert(IMPERSONATION_STARTED, now)
    }

    /// Back to the impersonator's own session, as it was: same stamp, same start.
    pub fn resume(&self, session: &SessionUser) -> Result<(), AppError> {
        let (Some(id), Some(stamp), Some(key)) =
            (session.impersonator_id, session.impersonator_stamp.as_deref(), session.impersonator_key.as_deref())
        else {
            self.sign_out();
            return Ok(());
        };
        self.sign_in(id, stamp, key)?;
        self.insert(STARTED, session.started)
    }

    /// The password was right and a second step is due: a fresh cookie holds only that (no
    /// one is signed in until the code is given).
    pub fn await_second_step(&self, mut step: SecondStep) -> Result<(), AppError> {
        step.before = self.recorded_keys();
        self.0.renew();
        self.0.clear();
        self.insert(SECOND_STEP, step)?;
        self.insert(CSRF, secret::new_token())
    }

    /// The keys of the recorded sessions this cookie names: its own, the impersonator's own,
    /// and those a second step waiting here will replace.
    pub fn recorded_keys(&self) -> Vec<String> {
        let mut keys = match self.user() {
            Some(user) => [Some(user.key), user.impersonator_key].into_iter().flatten().collect(),
            None => Vec::new(),
        };
        keys.extend(self.second_step().map(|s| s.before).unwrap_or_default());
        keys
    }

    pub fn second_step(&self) -> Option<SecondStep> {
        self.0.get::<SecondStep>(SECOND_STEP).ok().flatten()
    }

    pub fn forget_second_step(&self) {
        self.0.remove(SECOND_STEP);
    }

    /// The secret offered while two-step sign-in is being set up (kept in the encrypted cookie
    /// until a code proves the app has it).
    pub fn new_two_step_secret(&self) -> String {
        if let Ok(Some(secret)) = self.0.get::<String>(NEW_TWO_STEP_SECRET) {
            return secret;
        }
        let secret = super::two_step::new_secret();
        self.0.insert(NEW_TWO_STEP_SECRET, &secret).ok();
        secret
    }

    pub fn forget_two_step_secret(&self) {
        self.0.remove(NEW_TWO_STEP_SECRET);
    }

    /// Names the passkey ceremony under way (its state is kept on the server).
    pub fn begin_passkey_ceremony(&self, key: &str) -> Result<(), AppError> {
        self.insert(PASSKEY_CEREMONY, key)
    }

    /// The key of the passkey ceremony under way, taken: an answer is looked at once.
    pub fn take_passkey_ceremony(&self) -> String {
        self.0.remove_as::<String>(PASSKEY_CEREMONY).and_then(Result::ok).unwrap_or_default()
    }

    /// Keeps what a sign-in through a provider must find again when the browser comes back.
    pub fn begin_provider_flow(&self, flow: &ProviderFlow) -> Result<(), AppError> {
        self.insert(PROVIDER_FLOW, flow)
    }

    /// The sign-in through a provider under way, taken: its answer is looked at once.
    pub fn take_provider_flow(&self) -> Option<ProviderFlow> {
        self.0.remove_as::<ProviderFlow>(PROVIDER_FLOW).and_then(Result::ok)
    }

    /// Keeps the idle clock running; writes the cookie at most once a minute.
    pub fn touch(&self, now: i64, seen: i64) {
        if now - seen >= 60 {
            self.0.insert(SEEN, now).ok();
        }
    }

    /// Updates the stamp after the person changed their own password (their session goes on).
    pub fn set_security_stamp(&self, stamp: &str) -> Result<(), AppError> {
        self.0.renew();
        self.insert(STAMP, stamp)
    }

    pub fn sign_out(&self) {
        self.0.purge();
    }

    /// Forgets a session that no longer stands (expired, or its user's sessions ended) and goes
    /// on with an empty one under a new cookie: the page answered now (the sign-in form, say)
    /// can still keep its CSRF token. A purged session keeps nothing written after the purge.
    pub fn forget(&self) {
        self.0.clear();
        self.0.renew();
    }

    /// The CSRF token for forms, created on first use.
    pub fn csrf_token(&self) -> String {
        if let Ok(Some(token)) = self.0.get::<String>(CSRF) {
            return token;
        }
        let token = secret::new_token();
        self.0.insert(CSRF, &token).ok();
        token
    }

    /// The stored token, without creating one.
    pub fn existing_csrf_token(&self) -> Option<String> {
        self.0.get::<String>(CSRF).ok().flatten()
    }

    pub fn flash(&self, kind: FlashKind, message: impl Into<String>) {
        self.0.insert(FLASH, Flash { kind, message: message.into(), link: None }).ok();
    }

    /// A success message with a link to what may follow (an undo).
    pub fn success_with_link(&self, message: impl Into<String>, href: String, label: impl Into<String>) {
        let flash = Flash { kind: FlashKind::Success, message: message.into(), link: Some((href, label.into())) };
        self.0.insert(FLASH, flash).ok();
    }

    pub fn success(&self, message: impl Into<String>) {
        self.flash(FlashKind::Success, message)
    }

    pub fn error(&self, message: impl Into<String>) {
        self.flash(FlashKind::Error, message)
    }

    /// Shows what an action came to: its message as a success, or its refusal as an error.
    /// Returns whether it succeeded.
    pub fn outcome(&self, outcome: Result<String, String>) -> bool {
        match outcome {
            Ok(message) => {
                self.success(message);
                true
            }
            Err(refusal) => {
                self.error(refusal);
                false
            }
        }
    }

    pub fn take_flash(&self) -> Option<Flash> {
        self.0.remove_as::<Flash>(FLASH).and_then(Result::ok)
    }

    fn insert(&self, key: &str, value: impl Serialize) -> Result<(), AppError> {
        self.0.insert(key, value).map_err(|e| AppError::Internal(anyhow::anyhow!("session write failed: {e}")))
    }
}

impl FromRequest for SessionState {
    type Error = AppError;
    type Future = Ready<Result<Self, AppError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(Ok(SessionState::of(req)))
    }
}

/// A sign-in through an OpenID provider under way: which provider, the `state` and `nonce` sent
/// and the PKCE verifier, when it began (seconds), and where to go after.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ProviderFlow {
    pub provider_id: i64,
    pub state: String,
    pub nonce: String,
    pub verifier: String,
    pub at: i64,
    pub next: String,
}
