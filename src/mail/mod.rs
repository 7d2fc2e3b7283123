//! Mail: the messages the portal sends. Every message goes through the outbox
//! (`db::outbox::enqueue`) in the transaction of the action that causes it.

pub mod invite;
pub mod messages;
pub mod transport;
pub mod worker;

/// A rendered message, ready for the outbox.
#[derive(Debug, Clone)]
pub struct Message {
    /// What kind of mail this is (`invite`, `password_reset`, …), for the delivery views.
    pub kind: &'static str,
    pub to: String,
    pub bcc: Option<String>,
    pub subject: String,
    pub text: String,
    pub html: String,
}
