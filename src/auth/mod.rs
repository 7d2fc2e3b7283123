//! Who is asking, and what they may do: sessions, the signed-in user, permissions, CSRF,
//! password hashing and the secrets behind tokens.

pub mod client;
pub mod csrf;
pub mod current_user;
pub mod oidc;
pub mod passkey;
pub mod password;
pub mod sealed;
pub mod secret;
pub mod session;
pub mod two_step;

pub use current_user::{CurrentUser, MaybeUser, Require};
pub use session::SessionState;
