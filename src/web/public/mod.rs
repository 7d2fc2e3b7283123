//! The public pages, for visitors without a session: sign in and out, first-run owner setup,
//! and every page a one-time link opens (invitation, password reset, self-signup, email change).

pub mod account;
pub mod invitation;
pub mod provider;
pub mod sign_in;
pub mod two_step;

pub use sign_in::LinkProblemPage;
