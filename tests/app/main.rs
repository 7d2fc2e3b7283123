//! HTTP tests: the real app on a random port, a fresh database per test (SQLite by default,
//! PostgreSQL when TEST_DATABASE_URL is set), driven like a browser.

mod helpers;

mod access_ends;
mod account;
mod audit;
mod authorization;
mod backup;
mod buildings;
mod directory;
mod faults;
mod first_week;
mod foundation;
mod impersonation;
mod invitations;
mod matrix;
mod oidc;
mod operations;
mod ownership;
mod passkeys;
mod rules;
mod scim;
mod sessions;
mod settings_tabs;
mod sign_in;
mod smtp;
mod two_step;
mod users;
