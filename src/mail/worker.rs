//! Delivers the outbox: claims due mail (so several processes never send the same mail twice),
//! sends it, and records the result; a failed send is retried with growing back-off, and after
//! the last try the mail is marked failed.

use std::sync::Arc;
use std::time::Duration;

use chrono::NaiveDateTime;
use diesel::prelude::*;
use lettre::message::{Mailbox, MultiPart};
use tokio::sync::Notify;

use super::transport::Transport;
use crate::db::schema::outbox;
use crate::db::settings::Settings;
use crate::db::{Db, DbConnection, now};
use crate::error::AppError;

/// Tries before a mail is marked failed.
pub const MAX_ATTEMPTS: i32 = 8;
/// How long a claimed mail is reserved for the process that claimed it.
const CLAIM: chrono::Duration = chrono::Duration::seconds(120);
const BATCH: i64 = 20;
const IDLE_POLL: Duration = Duration::from_secs(2);

#[derive(Debug, Clone, Queryable)]
pub struct Mail {
    pub id: i64,
    pub kind: String,
    pub to_address: String,
    pub bcc_address: Option<String>,
    pub subject: String,
    pub body_text: String,
    pub body_html: String,
    pub attempts: i32,
    pub next_attempt_at: NaiveDateTime,
    pub claimed_until: Option<NaiveDateTime>,
    pub last_error: Option<String>,
    pub sent_at: Option<NaiveDateTime>,
    pub failed_at: Option<NaiveDateTime>,
    pub created_at: NaiveDateTime,
}

/// The wait before try `attempt + 1`: base × 3^(attempt − 1), at most an hour.
pub fn back_off(base: Duration, attempt: i32) -> chrono::Duration {
    let factor = 3u32.saturating_pow(attempt.clamp(1, 10) as u32 - 1);
    let wait = base.saturating_mul(factor).min(Duration::from_secs(3600));
    chrono::Duration::from_std(wait).unwrap_or(chrono::Duration::hours(1))
}

/// Reserves up to `BATCH` due mails for this process: on PostgreSQL rows locked by another
/// process are skipped; SQLite takes the write lock first, so claims never overlap.
pub fn claim(conn: &mut DbConnection) -> Result<Vec<Mail>, AppError> {
    let at = now();
    macro_rules! due {
        () => {
            outbox::table
                .filter(outbox::sent_at.is_null())
                .filter(outbox::failed_at.is_null())
                .filter(outbox::next_attempt_at.le(at))
                .filter(outbox::claimed_until.is_null().or(outbox::claimed_until.lt(at)))
                .order(outbox::id)
                .limit(BATCH)
                .select(outbox::id)
        };
    }
    macro_rules! reserve {
        ($conn:expr, $ids:expr) => {{
            diesel::update(outbox::table.filter(outbox::id.eq_any($ids)))
                .set(outbox::claimed_until.eq(at + CLAIM))
                .execute($conn)?;
            outbox::table.filter(outbox::id.eq_any($ids)).order(outbox::id).load::<Mail>($conn)
        }};
    }
    let mails = match conn {
        DbConnection::Postgresql(pg) => pg.transaction(|pg| {
            let ids: Vec<i64> = due!().for_update().skip_locked().load(pg)?;
            reserve!(pg, &ids)
        })?,
        DbConnection::Sqlite(sqlite) => sqlite.immediate_transaction(|sqlite| {
            let ids: Vec<i64> = due!().load(sqlite)?;
            reserve!(sqlite, &ids)
        })?,
    };
    Ok(mails)
}

/// Records a delivery. The body goes: it may hold a one-time link, and a sent mail is kept
/// only to show who was sent what, and when.
pub fn mark_sent(conn: &mut DbConnection, id: i64) -> Result<(), AppError> {
    diesel::update(outbox::table.find(id))
        .set((
            outbox::body_text.eq(""),
            outbox::body_html.eq(""),
            outbox::sent_at.eq(now()),
            outbox::attempts.eq(outbox::attempts + 1),
            outbox::claimed_until.eq(None::<NaiveDateTime>),
            outbox::last_error.eq(None::<String>),
        ))
        .execute(conn)?;
    Ok(())
}

/// Records a failed try: retried later, or failed for good after the last try (and then its
/// body goes, as a sent one's does).
pub fn mark_failed_try(conn: &mut DbConnection, mail: &Mail, error: &str, base: Duration) -> Result<(), AppError> {
    let attempts = mail.attempts + 1;
    let at = now();
    let error: String = error.chars().take(500).collect();
    if attempts >= MAX_ATTEMPTS {
        diesel::update(outbox::table.find(mail.id))
            .set((outbox::body_text.eq(""), outbox::body_html.eq("")))
            .execute(conn)?;
    }
    diesel::update(outbox::table.find(mail.id))
        .set((
            outbox::attempts.eq(attempts),
            outbox::last_error.eq(error),
            outbox::claimed_until.eq(None::<NaiveDateTime>),
            outbox::next_attempt_at.eq(at + back_off(base, attempts)),
            outbox::failed_at.eq((attempts >= MAX_ATTEMPTS).then_some(at)),
        ))
        .execute(conn)?;
    Ok(())
}

/// Builds the message to send: plain text and HTML, From the organization's sender.
pub fn compose(mail: &Mail, settings: &Settings) -> Result<lettre::Message, String> {
    let from: Mailbox = settings
        .mail_from
        .parse()
        .or_else(|_| "Concierge <concierge@localhost>".parse())
        .map_err(|e| format!("sender: {e}"))?;
    let to: Mailbox = mail.to_address.parse().map_err(|e| format!("recipient {}: {e}", mail.to_address))?;
    let mut builder = lettre::Message::builder().from(from).to(to).subject(&mail.subject);
    if let Some(bcc) = &mail.bcc_address {
        builder = builder.bcc(bcc.parse().map_err(|e| format!("bcc {bcc}: {e}"))?);
    }
    builder
        .multipart(MultiPart::alternative_plain_html(mail.body_text.clone(), mail.body_html.clone()))
        .map_err(|e| e.to_string())
}

/// Runs until the process ends: delivers due mail, then waits for new mail or the next poll.
/// Delivers mail until `stop` turns true; a batch under way is finished first (what is not
/// sent stays in the outbox for the next start).
pub async fn run(
    db: Db,
    transport: Transport,
    queued: Arc<Notify>,
    retry_base: Duration,
    metrics: Arc<crate::metrics::Metrics>,
    mut stop: tokio::sync::watch::Receiver<bool>,
) {
    while !*stop.borrow() {
        let pause = match deliver_due(&db, &transport, retry_base, &metrics, &stop).await {
            Ok(0) => IDLE_POLL,
            Ok(_) => Duration::ZERO,
            Err(e) => {
                tracing::warn!(error = ?e, "mail delivery paused");
                IDLE_POLL
            }
        };
        if pause > Duration::ZERO {
            tokio::select! {
                _ = tokio::time::sleep(pause) => {}
                _ = queued.notified() => {}
                _ = stop.changed() => {}
            }
        }
    }
}

/// Delivers one batch; returns how many mails it tried. Once `stop` turns true it tries no
/// more (what it claimed goes to the next process when the claim runs out).
pub async fn deliver_due(
    db: &Db,
    transport: &Transport,
    retry_base: Duration,
    metrics: &crate::metrics::Metrics,
    stop: &tokio::sync::watch::Receiver<bool>,
) -> Result<usize, AppError> {
    let (mails, settings) = db.run(|conn| Ok((claim(conn)?, Settings::load(conn)?))).await?;
    let tried = mails.len();
    for mail in mails {
        if *stop.borrow() {
            break;
        }
        let result = match compose(&mail, &settings) {
            Ok(message) => transport.send(message).await,
            Err(e) => Err(e),
        };
        match result {
            Ok(()) => {
                if matches!(transport, Transport::Folder(_)) {
                    for link in mail.body_text.split_whitespace().filter(|w| w.starts_with("http")) {
                        tracing::info!(to = %mail.to_address, kind = %mail.kind, %link, "mail written to the mail folder");
                    }
                }
                db.run(move |conn| mark_sent(conn, mail.id)).await?;
                metrics.mail_sent.inc();
            }
            Err(error) => {
                tracing::warn!(to = %mail.to_address, kind = %mail.kind, %error, "mail not delivered; will retry");
                let last = mail.attempts + 1 >= MAX_ATTEMPTS;
                db.run(move |conn| mark_failed_try(conn, &mail, &error, retry_base)).await?;
                if last { metrics.mail_failed.inc() } else { metrics.mail_retries.inc() }
            }
        }
    }
    Ok(tried)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn back_off_grows_and_is_capped() {
        let base = Duration::from_secs(10);
        assert_eq!(back_off(base, 1), chrono::Duration::seconds(10));
        assert_eq!(back_off(base, 2), chrono::Duration::seconds(30));
        assert_eq!(back_off(base, 3), chrono::Duration::seconds(90));
        assert_eq!(back_off(base, 9), chrono::Duration::hours(1));
    }
}
