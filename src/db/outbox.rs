//! The outbox: mail written in the same transaction as the action that causes it, and
//! delivered later by the mail worker.

use diesel::prelude::*;

use super::schema::outbox;
use super::{DbConnection, now};
use crate::error::AppError;
use crate::mail::Message;

/// Queues a message; returns its id (to show its delivery status later).
pub fn enqueue(conn: &mut DbConnection, message: &Message) -> Result<i64, AppError> {
    let queued = enqueue_all(conn, [message])?.into_iter().next();
    Ok(queued.ok_or(diesel::result::Error::NotFound)?.0)
}

/// Messages a statement, at most (8 parameters each).
const MESSAGES_A_STATEMENT: usize = 500;

/// Queues messages, many a statement; returns each one's id and address, in no given order.
pub fn enqueue_all<'a>(
    conn: &mut DbConnection,
    messages: impl IntoIterator<Item = &'a Message>,
) -> Result<Vec<(i64, String)>, AppError> {
    let at = now();
    let mut rows: Vec<_> = messages
        .into_iter()
        .map(|message| {
            (
                outbox::kind.eq(message.kind),
                outbox::to_address.eq(&message.to),
                outbox::bcc_address.eq(&message.bcc),
                outbox::subject.eq(&message.subject),
                outbox::body_text.eq(&message.text),
                outbox::body_html.eq(&message.html),
                outbox::next_attempt_at.eq(at),
                outbox::created_at.eq(at),
            )
        })
        .collect();
    let mut queued = Vec::with_capacity(rows.len());
    // One message: a statement prepared once per connection (a list of rows is not).
    if let [_] = rows[..]
        && let Some(row) = rows.pop()
    {
        let query = diesel::insert_into(outbox::table).values(row).returning((outbox::id, outbox::to_address));
        queued.push(query.get_result(conn)?);
    }
    for some in rows.chunks(MESSAGES_A_STATEMENT) {
        let query = diesel::insert_into(outbox::table).values(some).returning((outbox::id, outbox::to_address));
        queued.extend(on_either!(&mut *conn, |c| query.get_results::<(i64, String)>(c))?);
    }
    Ok(queued)
}
