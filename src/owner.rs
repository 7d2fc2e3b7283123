//! The owner: the one-time setup link printed at first start and by `create-owner`.

use chrono::Duration;

use crate::db::tokens::{self, NewToken, Purpose};
use crate::db::{DbConnection, audit, users};
use crate::error::AppError;

pub const SETUP_LINK_TTL: Duration = Duration::hours(24);

/// When there is no owner yet: supersedes earlier setup links and returns a new one.
pub fn setup_link(conn: &mut DbConnection, public_url: &str) -> Result<Option<String>, AppError> {
    crate::db::transaction(conn, |conn| {
        if users::owner_exists(conn)? {
            return Ok(None);
        }
        tokens::supersede_unused(conn, Purpose::OwnerSetup, None)?;
        let (token, secret) = tokens::issue(
            conn,
            NewToken {
                purpose: Purpose::OwnerSetup,
                user_id: None,
                email: None,
                details: serde_json::json!({}),
                created_by: None,
                ttl: SETUP_LINK_TTL,
            },
        )?;
        audit::record(
            conn,
            &audit::AuditContext::system(),
            "owner_setup.link_issued",
            audit::Target::new("token", token.id, "owner setup"),
            serde_json::json!({ "expires_at": token.expires_at }),
        )?;
        Ok(Some(format!("{public_url}/setup/{secret}")))
    })
}
