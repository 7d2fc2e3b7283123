//! The outbox: mail written in the same transaction as the action that causes it, and
//! delivered later by the mail worker.

use diesel::prelude::*;

use super::schema::outbox;
use super::{DbConnection, now};
use crate::error::AppError;
use crate::mail::Message;

/// Queues a message; returns its id (to show its delivery status later).
pub fn enqueue(conn: &mut DbConnection, message: &Message) -> Result<i64, AppError> {
    let at = now();
    Ok(diesel::insert_into(outbox::table)
        .values((
            outbox::kind.eq(message.kind),
            outbox::to_address.eq(&message.to),
            outbox::bcc_address.eq(&message.bcc),
            outbox::subject.eq(&message.subject),
            outbox::body_text.eq(&message.text),
            outbox::body_html.eq(&message.html),
            outbox::next_attempt_at.eq(at),
            outbox::created_at.eq(at),
        ))
        .returning(outbox::id)
        .get_result(conn)?)
}
