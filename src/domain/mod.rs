//! Newtypes and rules of the domain: parsed once at the edge, trusted afterwards.
//! No actix, no diesel here.

pub mod device;
pub mod email;
pub mod fields;
pub mod password;
pub mod permission;
pub mod person_name;
pub mod phone;
pub mod rules;
pub mod time_zone;
pub mod user;
pub mod user_form;

pub use email::Email;
pub use fields::FieldErrors;
pub use password::Password;
pub use permission::{Permission, PermissionSet};
pub use person_name::PersonName;
pub use phone::Phone;
pub use time_zone::{day_text, time_zone, when_in};
pub use user::{Activity, JobFunction, UserStatus};
