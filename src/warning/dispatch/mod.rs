//! Dissemination of published warnings: subscribers, the recipients of a message, the
//! persistent delivery queue (`deliveries`), the channels (webhook, e-mail, SMS, the live event
//! stream), the dispatcher task, coverage and the dissemination benchmark.
//!
//! The queue is the table: publishing inserts one row per recipient and channel in the
//! publishing transaction ([`enqueue_for_warning`]); the [`Dispatcher`] claims due rows with a
//! lease, sends them and records the outcome. See docs/warnings.md, "Dissemination internals".

use crate::db::{DbError, Sql, Tx};

pub mod bench;
pub mod channels;
pub mod coverage;
pub mod dispatcher;
pub mod routes;
pub mod subscribers;

pub use channels::{Channel, Outgoing, Receipt, SendError};
pub use dispatcher::Dispatcher;

/// Delivery states: `failed` means "failed, will be retried"; `dead` is final.
pub const DELIVERY_STATES: [&str; 5] = ["queued", "sending", "delivered", "failed", "dead"];
pub const DELIVERY_CHANNELS: [&str; 4] = ["webhook", "email", "sms", "live"];
/// Staff who get every warning of the district on the live stream; town users get their towns'.
const DISTRICT_STAFF_ROLES: &str = "'admin', 'duty', 'supervisor', 'leader'";

#[derive(Debug, sqlx::FromRow)]
struct Target {
    scope: String,
    status: String,
    town_codes: String,
}

/// Queues the deliveries of warning `warning_id` inside the caller's transaction (the publish,
/// update, cancel or relay that makes it go out): the staff on the live stream (district roles
/// always, town users of the target towns), the enterprises of the target towns by SMS to their
/// safety phone, and the active subscribers of the target towns over their own channel. A
/// restricted warning, or one whose CAP status is not `Actual` (an exercise or a test), reaches
/// staff, enterprises and `staff`-audience subscribers only: the public never gets drills.
///
/// Set-based (`INSERT … SELECT`, one statement per recipient kind), so 100,000 subscribers cost
/// three statements, not 100,000. Idempotent: a recipient already queued for this message over
/// the same channel is skipped (`ON CONFLICT DO NOTHING`). Returns the rows added.
pub async fn enqueue_for_warning(
    tx: &mut Tx,
    warning_id: &str,
    now_ms: i64,
) -> Result<u64, DbError> {
    let Some(t) = tx
        .fetch_optional::<Target>(
            &Sql::new("SELECT scope, status, town_codes FROM warnings WHERE id = $1")
                .bind(warning_id),
        )
        .await?
    else {
        return Ok(0);
    };
    let towns: Vec<String> = serde_json::from_str(&t.town_codes).unwrap_or_default();
    let public = t.scope == "public" && t.status == "Actual";
    let cols = "INSERT INTO deliveries (warning_id, recipient_kind, recipient_id, town_code, channel, \
                address, reach, state, attempts, next_attempt_at, created_at, updated_at) ";
    let conflict = " ON CONFLICT (warning_id, recipient_kind, recipient_id, channel) DO NOTHING";
    let mut added = 0;

    // Staff: the live stream.
    let mut sql = Sql::new(cols);
    let w = sql.arg(warning_id);
    let now = sql.arg(now_ms);
    let disabled = sql.arg(false);
    sql.push(&format!(
        "SELECT {w}, 'staff', u.id, u.town_code, 'live', '', 1, 'queued', 0, {now}, {now}, {now} \
         FROM users u WHERE u.disabled = {disabled} AND (u.role IN ({DISTRICT_STAFF_ROLES})"
    ));
    if !towns.is_empty() {
        let list = in_list(&mut sql, &towns);
        sql.push(&format!(
            " OR (u.role = 'town' AND u.town_code IN ({list}))"
        ));
    }
    sql.push(")");
    sql.push(conflict);
    added += tx.execute(&sql).await?;
    if towns.is_empty() {
        return Ok(added);
    }

    // Enterprises of the target towns: SMS to the safety phone on record.
    let mut sql = Sql::new(cols);
    let w = sql.arg(warning_id);
    let now = sql.arg(now_ms);
    let list = in_list(&mut sql, &towns);
    sql.push(&format!(
        "SELECT {w}, 'enterprise', e.id, e.town_code, 'sms', e.safety_phone, 1, 'queued', 0, {now}, {now}, {now} \
         FROM enterprises e WHERE e.town_code IN ({list}) AND e.safety_phone <> ''{conflict}"
    ));
    added += tx.execute(&sql).await?;

    // Subscribers of the target towns over their own channel.
    let mut sql = Sql::new(cols);
    let w = sql.arg(warning_id);
    let now = sql.arg(now_ms);
    let list = in_list(&mut sql, &towns);
    sql.push(&format!(
        "SELECT {w}, 'subscriber', s.id, s.town_code, s.channel, s.address, s.reach, 'queued', 0, {now}, {now}, {now} \
         FROM subscribers s WHERE s.unsubscribed_at IS NULL AND s.town_code IN ({list})"
    ));
    if !public {
        sql.push(" AND s.audience = 'staff'");
    }
    sql.push(conflict);
    added += tx.execute(&sql).await?;
    Ok(added)
}

/// A message that was cancelled or superseded: its deliveries not yet sent become `dead`
/// ("superseded") instead of going out late; the cancel or update message has deliveries of
/// its own. Sends already in flight finish and are recorded. Returns the rows stopped.
pub async fn cancel_pending(tx: &mut Tx, warning_id: &str, now_ms: i64) -> Result<u64, DbError> {
    tx.execute(
        &Sql::new(
            "UPDATE deliveries SET state = 'dead', last_error = 'superseded', updated_at = $2 \
             WHERE warning_id = $1 AND state IN ('queued', 'failed')",
        )
        .bind(warning_id)
        .bind(now_ms),
    )
    .await
}

/// `$a, $b, …` for the values, appended to the arguments.
fn in_list(sql: &mut Sql, values: &[String]) -> String {
    values
        .iter()
        .map(|v| sql.arg(v.as_str()))
        .collect::<Vec<_>>()
        .join(", ")
}
