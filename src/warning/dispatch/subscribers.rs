//! Subscribers: people (and loudspeakers, groups, systems) registered by town to receive
//! warnings by SMS, e-mail or webhook; entered by staff or self-registered on the public page,
//! always with consent, and able to unsubscribe with the token they got once.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::audit::Actor;
use crate::auth::Scope;
use crate::db::{Db, DbError, Sql, Tx};
use crate::error::ApiError;

pub const SUBSCRIBER_CHANNELS: [&str; 3] = ["sms", "email", "webhook"];
/// The most people one address may claim to reach (a typo guard).
pub const MAX_REACH: i64 = 1_000_000;
pub const DEFAULT_CONSENT_TEXT: &str =
    "本人同意接收武清区应急管理局发布的突发事件预警信息，可随时退订。";

#[derive(Debug, Clone, Serialize, ToSchema, sqlx::FromRow)]
pub struct SubscriberRow {
    pub id: String,
    pub town_code: String,
    pub name: String,
    pub channel: String,
    pub address: String,
    pub reach: i64,
    pub audience: String,
    pub consent_at: i64,
    pub consent_text: String,
    pub source: String,
    pub unsubscribed_at: Option<i64>,
    pub created_at: i64,
    pub updated_at: i64,
}

/// A subscriber as the API shows it (times RFC 3339 UTC).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Subscriber {
    pub id: String,
    pub town_code: String,
    pub name: String,
    /// `sms`, `email` or `webhook`.
    pub channel: String,
    pub address: String,
    /// People served by this address.
    pub reach: i64,
    /// `public`, or `staff` (also gets restricted warnings).
    pub audience: String,
    pub consent_at: String,
    pub consent_text: String,
    /// `staff-entered` or `public`.
    pub source: String,
    pub unsubscribed_at: Option<String>,
    pub active: bool,
    pub created_at: String,
    pub updated_at: String,
}

impl From<SubscriberRow> for Subscriber {
    fn from(r: SubscriberRow) -> Self {
        Subscriber {
            active: r.unsubscribed_at.is_none(),
            id: r.id,
            town_code: r.town_code,
            name: r.name,
            channel: r.channel,
            address: r.address,
            reach: r.reach,
            audience: r.audience,
            consent_at: crate::time::rfc3339(r.consent_at),
            consent_text: r.consent_text,
            source: r.source,
            unsubscribed_at: r.unsubscribed_at.map(crate::time::rfc3339),
            created_at: crate::time::rfc3339(r.created_at),
            updated_at: crate::time::rfc3339(r.updated_at),
        }
    }
}

const COLUMNS: &str = "id, town_code, name, channel, address, reach, audience, consent_at, \
    consent_text, source, unsubscribed_at, created_at, updated_at";

/// A subscriber from staff (`POST`/`PUT /subscribers`). Every field is optional in the JSON so
/// that a missing one is a 422 naming it, not a parse error.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(default)]
pub struct SubscriberInput {
    pub town_code: Option<String>,
    pub name: Option<String>,
    pub channel: Option<String>,
    pub address: Option<String>,
    pub reach: Option<i64>,
    pub audience: Option<String>,
    /// Must be true: the person agreed (in writing, by phone…) to receive warnings.
    pub consent: Option<bool>,
    pub consent_text: Option<String>,
}

/// Self-registration on the public page (`POST /public/subscribe`).
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(default)]
pub struct PublicSubscribe {
    pub town_code: Option<String>,
    /// `sms` or `email`.
    pub channel: Option<String>,
    pub address: Option<String>,
    pub name: Option<String>,
    /// Must be true.
    pub consent: Option<bool>,
    /// The consent wording the page showed; the default wording when absent.
    pub consent_text: Option<String>,
}

/// Checked fields of a subscriber.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Valid {
    pub town_code: String,
    pub name: String,
    pub channel: String,
    pub address: String,
    pub reach: i64,
    pub audience: String,
    pub consent_text: String,
}

/// A Chinese mobile number (11 digits, 1[3-9]…), with `+86`/`86`, spaces and dashes dropped.
pub fn normalise_phone(s: &str) -> Option<String> {
    let digits: String = s
        .trim()
        .chars()
        .filter(|c| !matches!(c, ' ' | '-'))
        .collect();
    let digits = digits
        .strip_prefix("+86")
        .or_else(|| digits.strip_prefix("0086"))
        .unwrap_or(&digits);
    let digits = if digits.len() == 13 && digits.starts_with("86") {
        &digits[2..]
    } else {
        digits
    };
    let b = digits.as_bytes();
    (b.len() == 11
        && b[0] == b'1'
        && (b'3'..=b'9').contains(&b[1])
        && b.iter().all(u8::is_ascii_digit))
    .then(|| digits.to_string())
}

/// An e-mail address as SMTP takes it, the domain lower-cased.
pub fn normalise_email(s: &str) -> Option<String> {
    let s = s.trim();
    if s.len() > 254 {
        return None;
    }
    let a: lettre::Address = s.parse().ok()?;
    // lettre accepts dotless domains (user@localhost); a subscriber's address needs a real one.
    if !a.domain().contains('.') {
        return None;
    }
    Some(format!("{}@{}", a.user(), a.domain().to_lowercase()))
}

/// An http(s) URL.
pub fn normalise_url(s: &str) -> Option<String> {
    let u = reqwest::Url::parse(s.trim()).ok()?;
    (matches!(u.scheme(), "http" | "https") && u.host().is_some()).then(|| u.to_string())
}

pub fn normalise_address(channel: &str, address: &str) -> Result<String, ApiError> {
    let (ok, what) = match channel {
        "sms" => (normalise_phone(address), "a mobile number like 13800000000"),
        "email" => (normalise_email(address), "an e-mail address"),
        _ => (normalise_url(address), "an http(s) URL"),
    };
    ok.ok_or_else(|| ApiError::validation("address", format!("address must be {what}")))
}

fn text(field: &str, v: &Option<String>, max: usize) -> Result<String, ApiError> {
    Ok(crate::input::optional_text(field, v, max)?.unwrap_or_default())
}

/// Checks a staff input (pure, but for the town's existence, checked by the caller).
pub fn validate(input: &SubscriberInput) -> Result<Valid, ApiError> {
    let town_code =
        crate::input::required_text("town_code", input.town_code.as_deref().unwrap_or(""), 20)?;
    let channel = input.channel.as_deref().unwrap_or("").trim().to_string();
    if !SUBSCRIBER_CHANNELS.contains(&channel.as_str()) {
        return Err(ApiError::validation(
            "channel",
            "channel must be sms, email or webhook",
        ));
    }
    let address = normalise_address(&channel, input.address.as_deref().unwrap_or(""))?;
    let reach = input.reach.unwrap_or(1);
    if !(1..=MAX_REACH).contains(&reach) {
        return Err(ApiError::validation(
            "reach",
            format!("reach must be between 1 and {MAX_REACH}"),
        ));
    }
    let audience = input
        .audience
        .as_deref()
        .map(str::trim)
        .unwrap_or("public")
        .to_string();
    if !matches!(audience.as_str(), "public" | "staff") {
        return Err(ApiError::validation(
            "audience",
            "audience must be public or staff",
        ));
    }
    if input.consent != Some(true) {
        return Err(ApiError::validation(
            "consent",
            "consent must be true: warnings go only to those who agreed to receive them",
        ));
    }
    let consent_text = text("consent_text", &input.consent_text, 2000)?;
    Ok(Valid {
        town_code,
        name: text("name", &input.name, 100)?,
        channel,
        address,
        reach,
        audience,
        consent_text: if consent_text.is_empty() {
            DEFAULT_CONSENT_TEXT.into()
        } else {
            consent_text
        },
    })
}

/// Checks a self-registration: SMS or e-mail only, one person, public audience.
pub fn validate_public(input: &PublicSubscribe) -> Result<Valid, ApiError> {
    let channel = input.channel.as_deref().unwrap_or("").trim();
    if !matches!(channel, "sms" | "email") {
        return Err(ApiError::validation(
            "channel",
            "channel must be sms or email",
        ));
    }
    validate(&SubscriberInput {
        town_code: input.town_code.clone(),
        name: input.name.clone(),
        channel: Some(channel.to_string()),
        address: input.address.clone(),
        reach: Some(1),
        audience: Some("public".into()),
        consent: input.consent,
        consent_text: input.consent_text.clone(),
    })
}

/// 422 on `town_code` unless it names a town, street or park of the district.
pub async fn check_town(db: &Db, town_code: &str) -> Result<(), ApiError> {
    let n: i64 = db
        .fetch_scalar(
            &Sql::new("SELECT COUNT(*) FROM admin_units WHERE code = $1 AND kind <> 'district'")
                .bind(town_code),
        )
        .await?;
    if n == 0 {
        return Err(ApiError::validation(
            "town_code",
            "town_code is not a town of the district",
        ));
    }
    Ok(())
}

fn conflict(e: DbError) -> ApiError {
    match e.unique_violation() {
        Some(c) if c.contains("unsubscribe") => {
            ApiError::Internal(anyhow::anyhow!("unsubscribe token collision"))
        }
        Some(_) => ApiError::Conflict {
            field: Some("address".into()),
            message: "this address is already subscribed for the town over this channel".into(),
        },
        None => e.into(),
    }
}

/// Inserts a subscriber and its audit entry; returns it and the unsubscribe token (shown once).
pub async fn create(
    db: &Db,
    actor: &Actor,
    v: &Valid,
    source: &str,
    created_by: Option<&str>,
    now_ms: i64,
) -> Result<(Subscriber, String), ApiError> {
    let id = crate::db::new_id();
    let token = crate::auth::random_token();
    let mut tx = db.begin().await?;
    tx.execute(
        &Sql::new(
            "INSERT INTO subscribers (id, town_code, name, channel, address, reach, audience, \
             consent_at, consent_text, source, unsubscribe_token_hash, created_by, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $8, $8)",
        )
        .bind(id.as_str())
        .bind(v.town_code.as_str())
        .bind(v.name.as_str())
        .bind(v.channel.as_str())
        .bind(v.address.as_str())
        .bind(v.reach)
        .bind(v.audience.as_str())
        .bind(now_ms)
        .bind(v.consent_text.as_str())
        .bind(source)
        .bind(crate::auth::token_hash(&token))
        .bind(created_by.map(str::to_string)),
    )
    .await
    .map_err(conflict)?;
    let s = get_tx(&mut tx, &id).await?.ok_or(ApiError::NotFound)?;
    crate::audit::record(
        &mut tx,
        actor,
        "subscriber",
        &id,
        "create",
        None,
        Some(&audit_view(&s)),
    )
    .await?;
    tx.commit().await?;
    Ok((s.into(), token))
}

/// The audit entry of a subscriber: the address is personal data, so only its channel and a
/// masked form are kept in the log.
fn audit_view(s: &SubscriberRow) -> serde_json::Value {
    serde_json::json!({
        "town_code": s.town_code, "channel": s.channel, "address": mask(&s.address),
        "reach": s.reach, "audience": s.audience, "source": s.source,
        "unsubscribed": s.unsubscribed_at.is_some(),
    })
}

/// `138****0000`, `z***@example.com`, a URL's host only.
pub fn mask(address: &str) -> String {
    if let Some((user, domain)) = address.split_once('@') {
        let first: String = user.chars().take(1).collect();
        return format!("{first}***@{domain}");
    }
    if let Ok(u) = reqwest::Url::parse(address) {
        return format!("{}://{}/…", u.scheme(), u.host_str().unwrap_or(""));
    }
    let chars: Vec<char> = address.chars().collect();
    if chars.len() >= 7 {
        let head: String = chars[..3].iter().collect();
        let tail: String = chars[chars.len() - 4..].iter().collect();
        format!("{head}****{tail}")
    } else {
        "****".into()
    }
}

async fn get_tx(tx: &mut Tx, id: &str) -> Result<Option<SubscriberRow>, DbError> {
    tx.fetch_optional(
        &Sql::new(format!("SELECT {COLUMNS} FROM subscribers WHERE id = $1")).bind(id),
    )
    .await
}

pub async fn get(db: &Db, id: &str) -> Result<Option<SubscriberRow>, DbError> {
    db.fetch_optional(
        &Sql::new(format!("SELECT {COLUMNS} FROM subscribers WHERE id = $1")).bind(id),
    )
    .await
}

#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListParams {
    pub town_code: Option<String>,
    pub channel: Option<String>,
    /// Name or address contains.
    pub q: Option<String>,
    /// Also list unsubscribed ones (default false).
    pub include_unsubscribed: Option<bool>,
}

pub async fn list(
    db: &Db,
    scope: &Scope,
    p: &ListParams,
    paging: crate::paging::Paging,
) -> Result<(Vec<SubscriberRow>, i64), DbError> {
    let mut filter = Sql::new(" WHERE 1 = 1");
    scope.filter(&mut filter, "town_code", None);
    if let Some(t) = crate::input::non_empty(&p.town_code) {
        let a = filter.arg(t);
        filter.push(&format!(" AND town_code = {a}"));
    }
    if let Some(c) = crate::input::non_empty(&p.channel) {
        let a = filter.arg(c);
        filter.push(&format!(" AND channel = {a}"));
    }
    if let Some(q) = crate::input::non_empty(&p.q) {
        filter.push_contains(q, &["name", "address"]);
    }
    if p.include_unsubscribed != Some(true) {
        filter.push(" AND unsubscribed_at IS NULL");
    }
    db.fetch_page(
        "FROM subscribers",
        &format!("SELECT {COLUMNS} FROM subscribers"),
        filter,
        "ORDER BY created_at DESC, id",
        Some(paging),
    )
    .await
}

/// Replaces the fields of an active subscriber (its consent time stays that of the first
/// consent unless the consent text changes).
pub async fn update(
    db: &Db,
    actor: &Actor,
    before: &SubscriberRow,
    v: &Valid,
    now_ms: i64,
) -> Result<Subscriber, ApiError> {
    let mut tx = db.begin().await?;
    let consent_at = if v.consent_text == before.consent_text {
        before.consent_at
    } else {
        now_ms
    };
    tx.execute(
        &Sql::new(
            "UPDATE subscribers SET town_code = $2, name = $3, channel = $4, address = $5, \
             reach = $6, audience = $7, consent_text = $8, consent_at = $9, updated_at = $10 \
             WHERE id = $1",
        )
        .bind(before.id.as_str())
        .bind(v.town_code.as_str())
        .bind(v.name.as_str())
        .bind(v.channel.as_str())
        .bind(v.address.as_str())
        .bind(v.reach)
        .bind(v.audience.as_str())
        .bind(v.consent_text.as_str())
        .bind(consent_at)
        .bind(now_ms),
    )
    .await
    .map_err(conflict)?;
    let after = get_tx(&mut tx, &before.id)
        .await?
        .ok_or(ApiError::NotFound)?;
    crate::audit::record(
        &mut tx,
        actor,
        "subscriber",
        &before.id,
        "update",
        Some(&audit_view(before)),
        Some(&audit_view(&after)),
    )
    .await?;
    tx.commit().await?;
    Ok(after.into())
}

/// Ends a subscription (kept as history; queued deliveries to it still go out, since they were
/// addressed while it was active). Returns false when it had already ended.
pub async fn unsubscribe(db: &Db, actor: &Actor, id: &str, now_ms: i64) -> Result<bool, ApiError> {
    let mut tx = db.begin().await?;
    let n = tx
        .execute(
            &Sql::new(
                "UPDATE subscribers SET unsubscribed_at = $2, updated_at = $2 \
                 WHERE id = $1 AND unsubscribed_at IS NULL",
            )
            .bind(id)
            .bind(now_ms),
        )
        .await?;
    if n > 0 {
        crate::audit::record(&mut tx, actor, "subscriber", id, "unsubscribe", None, None).await?;
    }
    tx.commit().await?;
    Ok(n > 0)
}

/// The subscriber an unsubscribe token belongs to.
pub async fn by_token(db: &Db, token: &str) -> Result<Option<SubscriberRow>, DbError> {
    db.fetch_optional(
        &Sql::new(format!(
            "SELECT {COLUMNS} FROM subscribers WHERE unsubscribe_token_hash = $1"
        ))
        .bind(crate::auth::token_hash(token.trim())),
    )
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mobile_numbers_are_normalised_and_checked() {
        assert_eq!(
            normalise_phone("138 0000-0000").as_deref(),
            Some("13800000000")
        );
        assert_eq!(
            normalise_phone("+8613912345678").as_deref(),
            Some("13912345678")
        );
        assert_eq!(
            normalise_phone("8613912345678").as_deref(),
            Some("13912345678")
        );
        assert_eq!(normalise_phone("12812345678"), None, "1[3-9] only");
        assert_eq!(normalise_phone("1381234567"), None, "10 digits");
        assert_eq!(normalise_phone("022-29345678"), None, "a landline");
    }

    #[test]
    fn e_mail_addresses_and_urls_are_checked() {
        assert_eq!(
            normalise_email(" Li.Si@Example.COM ").as_deref(),
            Some("Li.Si@example.com")
        );
        assert_eq!(normalise_email("no-at-sign"), None);
        assert_eq!(normalise_email("a@localhost"), None);
        assert!(normalise_url("https://hook.example.cn/yj").is_some());
        assert_eq!(normalise_url("ftp://x.cn/"), None);
    }

    #[test]
    fn consent_is_required_and_named() {
        let mut input = SubscriberInput {
            town_code: Some("120114001".into()),
            channel: Some("sms".into()),
            address: Some("13800000000".into()),
            consent: Some(false),
            ..Default::default()
        };
        let e = validate(&input).expect_err("no consent");
        assert_eq!(e.body().error.field.as_deref(), Some("consent"));
        input.consent = Some(true);
        let v = validate(&input).expect("valid");
        assert_eq!(v.consent_text, DEFAULT_CONSENT_TEXT);
        assert_eq!((v.reach, v.audience.as_str()), (1, "public"));
        input.channel = Some("webhook".into());
        let public = PublicSubscribe {
            town_code: input.town_code.clone(),
            channel: Some("webhook".into()),
            address: Some("https://x.cn/".into()),
            consent: Some(true),
            ..Default::default()
        };
        let e = validate_public(&public).expect_err("webhooks are for staff to enter");
        assert_eq!(e.body().error.field.as_deref(), Some("channel"));
    }

    #[test]
    fn addresses_are_masked_for_logs() {
        assert_eq!(mask("13812345678"), "138****5678");
        assert_eq!(mask("zhang@example.com"), "z***@example.com");
        assert_eq!(
            mask("https://hook.example.cn/secret-path"),
            "https://hook.example.cn/…"
        );
    }
}
