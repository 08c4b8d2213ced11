//! Settings, layered: built-in defaults → TOML file (`--config`) → `YINGJI_*` environment
//! variables → command-line flags.

use std::fmt;
use std::path::{Path, PathBuf};

use figment::Figment;
use figment::providers::{Env, Format, Serialized, Toml};
use serde::{Deserialize, Serialize};

/// Top-level keys of [`Settings`], for picking our variables out of the environment.
const SECTIONS: [&str; 12] = [
    "db",
    "bind",
    "data_dir",
    "log",
    "auth",
    "map",
    "import",
    "monitor",
    "demo",
    "dualprev",
    "warning",
    "dissemination",
];

#[derive(Clone, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct Settings {
    /// `sqlite://path/to/file.db` (embedded) or `postgres://user@host/db`.
    pub db: String,
    /// Address the HTTP server listens on.
    pub bind: String,
    /// Where uploaded files and other runtime data live.
    pub data_dir: PathBuf,
    pub log: LogSettings,
    pub auth: AuthSettings,
    pub map: MapSettings,
    pub import: ImportSettings,
    pub monitor: MonitorSettings,
    pub demo: DemoSettings,
    pub dualprev: DualPrevSettings,
    pub warning: WarningSettings,
    pub dissemination: DisseminationSettings,
}

/// Early warning: who we are in CAP, how long a town has to acknowledge a relay.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct WarningSettings {
    /// CAP `sender`: an address that identifies the issuing office.
    pub sender: String,
    /// CAP `senderName`.
    pub sender_name: String,
    /// The 3-digit organisation code in the GB/T 35965.1 identifier (after 120114).
    pub org_code: String,
    /// A relay not acknowledged by its town this many minutes after publishing escalates to
    /// the duty officer.
    pub relay_ack_minutes: i64,
    /// Public address of this platform (CAP `web`, Atom links); empty: links are relative.
    pub public_url: String,
}

impl Default for WarningSettings {
    fn default() -> Self {
        WarningSettings {
            sender: "yjj@wuqing.tj.gov.cn".into(),
            sender_name: "天津市武清区应急管理局".into(),
            org_code: "000".into(),
            relay_ack_minutes: 15,
            public_url: String::new(),
        }
    }
}

/// Dissemination of published warnings: the dispatcher's pace, retries and the channels'
/// endpoints (`src/warning/dispatch`, docs/warnings.md "Dissemination internals").
#[derive(Clone, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct DisseminationSettings {
    /// How often the dispatcher looks for due deliveries, milliseconds; 0: no dispatcher in
    /// this process (another instance sends, or a test drives `run_once`).
    pub tick_ms: u64,
    /// Deliveries claimed per round.
    pub batch_size: i64,
    /// A claimed delivery not finished within this many seconds is due again (crash mid-send).
    pub lease_s: i64,
    /// Timeout of one webhook or SMS-gateway request, seconds.
    pub http_timeout_s: u64,
    /// Retry after a transient failure: base × 2^(attempt-1), at most max, seconds.
    pub retry_base_s: i64,
    pub retry_max_s: i64,
    /// After this many attempts a delivery is dead.
    pub max_attempts: i64,
    /// Sends in flight at once, per channel.
    pub webhook_concurrency: usize,
    pub email_concurrency: usize,
    pub sms_concurrency: usize,
    /// Webhook body: `cap` (the frozen CAP XML, application/cap+xml) or `json`.
    pub webhook_format: String,
    /// Key of the `X-Yingji-Signature` HMAC-SHA256; empty: posts are unsigned.
    pub webhook_secret: String,
    /// SMTP server; empty: e-mail deliveries wait queued.
    pub smtp_host: String,
    pub smtp_port: u16,
    /// `none` (plain, e.g. a local relay), `starttls` or `tls`.
    pub smtp_security: String,
    pub smtp_user: String,
    pub smtp_password: String,
    pub smtp_from: String,
    /// HTTP SMS gateway; empty: SMS deliveries wait queued.
    pub sms_url: String,
    pub sms_method: String,
    /// Extra request headers (API keys of the gateway or relay).
    pub sms_headers: std::collections::BTreeMap<String, String>,
    /// Body with the placeholders {phone} {text} {sign} {id}.
    pub sms_body_template: String,
    /// `json` (values JSON-escaped) or `form` (values form-encoded).
    pub sms_format: String,
    /// Where the gateway's answer says OK (JSON pointer, e.g. `/Code`) and what it must be
    /// (e.g. `OK`); empty pointer: any 2xx is success.
    pub sms_success_json_pointer: String,
    pub sms_success_value: String,
    /// Where its answer holds the message id (e.g. `/BizId`), kept as the receipt.
    pub sms_receipt_json_pointer: String,
    /// The SMS signature (签名), e.g. 【武清应急】.
    pub sms_sign: String,
    /// Put the signature in front of {text} (off when the gateway adds it from {sign}).
    pub sms_sign_in_text: bool,
}

impl Default for DisseminationSettings {
    fn default() -> Self {
        DisseminationSettings {
            tick_ms: 1000,
            batch_size: 500,
            lease_s: 60,
            http_timeout_s: 10,
            retry_base_s: 30,
            retry_max_s: 3600,
            max_attempts: 10,
            webhook_concurrency: 64,
            email_concurrency: 4,
            sms_concurrency: 16,
            webhook_format: "cap".into(),
            webhook_secret: String::new(),
            smtp_host: String::new(),
            smtp_port: 25,
            smtp_security: "none".into(),
            smtp_user: String::new(),
            smtp_password: String::new(),
            smtp_from: "yjj@wuqing.tj.gov.cn".into(),
            sms_url: String::new(),
            sms_method: "POST".into(),
            sms_headers: Default::default(),
            sms_body_template: r#"{"phone":"{phone}","text":"{text}"}"#.into(),
            sms_format: "json".into(),
            sms_success_json_pointer: String::new(),
            sms_success_value: String::new(),
            sms_receipt_json_pointer: String::new(),
            sms_sign: "【武清应急】".into(),
            sms_sign_in_text: true,
        }
    }
}

/// Secrets (webhook key, SMTP password, gateway headers) are never printed.
impl fmt::Debug for DisseminationSettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let hidden = |s: &str| if s.is_empty() { "" } else { "***" };
        f.debug_struct("DisseminationSettings")
            .field("tick_ms", &self.tick_ms)
            .field("batch_size", &self.batch_size)
            .field("lease_s", &self.lease_s)
            .field("http_timeout_s", &self.http_timeout_s)
            .field("retry_base_s", &self.retry_base_s)
            .field("retry_max_s", &self.retry_max_s)
            .field("max_attempts", &self.max_attempts)
            .field("webhook_concurrency", &self.webhook_concurrency)
            .field("email_concurrency", &self.email_concurrency)
            .field("sms_concurrency", &self.sms_concurrency)
            .field("webhook_format", &self.webhook_format)
            .field("webhook_secret", &hidden(&self.webhook_secret))
            .field("smtp_host", &self.smtp_host)
            .field("smtp_port", &self.smtp_port)
            .field("smtp_security", &self.smtp_security)
            .field("smtp_user", &self.smtp_user)
            .field("smtp_password", &hidden(&self.smtp_password))
            .field("smtp_from", &self.smtp_from)
            .field("sms_url", &redact_url(&self.sms_url))
            .field("sms_method", &self.sms_method)
            .field("sms_headers", &self.sms_headers.keys().collect::<Vec<_>>())
            .field("sms_body_template", &self.sms_body_template)
            .field("sms_format", &self.sms_format)
            .field("sms_success_json_pointer", &self.sms_success_json_pointer)
            .field("sms_success_value", &self.sms_success_value)
            .field("sms_receipt_json_pointer", &self.sms_receipt_json_pointer)
            .field("sms_sign", &self.sms_sign)
            .field("sms_sign_in_text", &self.sms_sign_in_text)
            .finish()
    }
}

/// Dual prevention: the colour bands of risk grading, the daily commitment deadline, photos.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct DualPrevSettings {
    /// LEC: D above this is red (重大风险).
    pub lec_red_above: f64,
    /// LEC: D above this is orange (较大风险).
    pub lec_orange_above: f64,
    /// LEC: D above this is yellow (一般风险); at or below, blue (低风险).
    pub lec_yellow_above: f64,
    /// LS: R at least this is red.
    pub ls_red_min: u32,
    /// LS: R at least this is orange.
    pub ls_orange_min: u32,
    /// LS: R at least this is yellow; below, blue.
    pub ls_yellow_min: u32,
    /// Asia/Shanghai time of day by which hazardous-chemical enterprises file their daily
    /// safety commitment, `HH:MM`.
    pub commitment_deadline: String,
    /// Largest hidden-danger photo accepted, bytes.
    pub photo_max_bytes: usize,
}

impl Default for DualPrevSettings {
    fn default() -> Self {
        let b = crate::dualprev::rules::Bands::default();
        DualPrevSettings {
            lec_red_above: b.lec_red_above,
            lec_orange_above: b.lec_orange_above,
            lec_yellow_above: b.lec_yellow_above,
            ls_red_min: b.ls_red_min,
            ls_orange_min: b.ls_orange_min,
            ls_yellow_min: b.ls_yellow_min,
            commitment_deadline: "10:00".into(),
            photo_max_bytes: 10 * 1024 * 1024,
        }
    }
}

impl DualPrevSettings {
    pub fn bands(&self) -> crate::dualprev::rules::Bands {
        crate::dualprev::rules::Bands {
            lec_red_above: self.lec_red_above,
            lec_orange_above: self.lec_orange_above,
            lec_yellow_above: self.lec_yellow_above,
            ls_red_min: self.ls_red_min,
            ls_orange_min: self.ls_orange_min,
            ls_yellow_min: self.ls_yellow_min,
        }
    }

    /// The commitment deadline as a time of day (validated at load).
    pub fn commitment_deadline_time(&self) -> chrono::NaiveTime {
        chrono::NaiveTime::parse_from_str(self.commitment_deadline.trim(), "%H:%M")
            .unwrap_or(chrono::NaiveTime::MIN)
    }
}

/// `yingji demo` only: the simulated readings that keep the demo district alive.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct DemoSettings {
    /// Feed every monitored enterprise's sensors with simulated readings while the demo runs.
    pub simulate: bool,
    /// Seconds between two simulated readings of a sensor.
    pub interval_s: u64,
    /// Hours of history simulated at start, so trend charts have data; a reused demo store
    /// only gets the gap since its last reading.
    pub history_hours: u64,
    /// Seconds between two readings of the simulated history.
    pub history_step_s: u64,
}

impl Default for DemoSettings {
    fn default() -> Self {
        // 24 h at 5 minutes: about 5,000 sensors × 288 = 1.4 M readings, written in a few
        // seconds and a whole daily cycle on the charts. 1-minute steps would be 7 M readings:
        // several times longer and more than the default memtable holds.
        DemoSettings {
            simulate: true,
            interval_s: 10,
            history_hours: 24,
            history_step_s: 300,
        }
    }
}

#[derive(Clone, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct MonitorSettings {
    /// Readings are kept this many days, then purged.
    pub retention_days: u64,
    /// Most readings in one ingest batch (HTTP or MQTT); a larger batch is refused (413).
    pub max_batch: usize,
    /// Readings held in memory before they are compacted into per-sensor blocks (20 bytes each).
    pub memtable_readings: usize,
    /// MQTT broker to take readings from, `mqtt://[USER:PASSWORD@]HOST[:PORT]`; none: HTTP only.
    pub mqtt_url: Option<String>,
    /// MQTT client id, stable across restarts so the broker queues messages while the instance
    /// is down; default `yingji-HOSTNAME-HTTPPORT`. Must differ between instances.
    pub mqtt_client_id: Option<String>,
    /// Shared-subscription group: the instances of one group split the messages between them.
    pub mqtt_group: String,
    /// Minutes an alarm may stay unacknowledged before it is raised to its town.
    pub escalate_to_town_min: u64,
    /// Minutes an alarm may stay unacknowledged before it is raised to the district duty officer.
    pub escalate_to_district_min: u64,
    /// Seconds without a reading from any sensor of an enterprise before it is offline.
    pub enterprise_offline_timeout_s: u64,
    /// How often offline and escalation deadlines are checked, milliseconds (0: never, for tests
    /// that drive the clock themselves).
    pub tick_ms: u64,
}

impl fmt::Debug for MonitorSettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The broker URL may carry a password.
        f.debug_struct("MonitorSettings")
            .field("retention_days", &self.retention_days)
            .field("max_batch", &self.max_batch)
            .field("memtable_readings", &self.memtable_readings)
            .field("mqtt_url", &self.mqtt_url.as_deref().map(redact_url))
            .field("mqtt_client_id", &self.mqtt_client_id)
            .field("mqtt_group", &self.mqtt_group)
            .field("escalate_to_town_min", &self.escalate_to_town_min)
            .field("escalate_to_district_min", &self.escalate_to_district_min)
            .field(
                "enterprise_offline_timeout_s",
                &self.enterprise_offline_timeout_s,
            )
            .field("tick_ms", &self.tick_ms)
            .finish()
    }
}

impl Default for MonitorSettings {
    fn default() -> Self {
        MonitorSettings {
            retention_days: 400,
            max_batch: 10_000,
            memtable_readings: 2_000_000,
            mqtt_url: None,
            mqtt_client_id: None,
            mqtt_group: "yingji".into(),
            escalate_to_town_min: 5,
            escalate_to_district_min: 15,
            enterprise_offline_timeout_s: 600,
            tick_ms: 1000,
        }
    }
}

impl MonitorSettings {
    pub fn store_config(&self) -> crate::monitor::readings::StoreConfig {
        crate::monitor::readings::StoreConfig {
            memtable_limit: self.memtable_readings.max(1),
            retention: std::time::Duration::from_secs(self.retention_days.saturating_mul(86_400)),
            ..Default::default()
        }
    }

    pub fn alarm_options(&self) -> crate::monitor::ingest::AlarmOptions {
        let min = |m: u64| i64::try_from(m.saturating_mul(60_000)).unwrap_or(i64::MAX);
        crate::monitor::ingest::AlarmOptions {
            escalation: crate::monitor::alarms::rules::EscalationPolicy {
                to_town_ms: min(self.escalate_to_town_min),
                to_district_ms: min(self.escalate_to_district_min),
            },
            enterprise_offline_timeout: std::time::Duration::from_secs(
                self.enterprise_offline_timeout_s.max(1),
            ),
        }
    }

    pub fn ingest_limits(&self) -> crate::monitor::ingest::IngestLimits {
        crate::monitor::ingest::IngestLimits {
            max_batch: self.max_batch.max(1),
            ..Default::default()
        }
    }
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct LogSettings {
    /// A `tracing` filter, e.g. `info` or `yingji=debug,tower_http=info`.
    pub level: String,
    /// `text` or `json`.
    pub format: LogFormat,
}

#[derive(Clone, Copy, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    Text,
    Json,
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct AuthSettings {
    /// Lifetime of a login session or bearer token, in hours.
    pub session_hours: i64,
    /// Failed logins in a row after which each further attempt is slowed down.
    pub slow_after_failures: i64,
    /// Failed logins in a row after which the account is locked.
    pub lock_after_failures: i64,
    /// How long a locked account stays locked, in minutes.
    pub lock_minutes: i64,
    /// Mark the session cookie `Secure` (set when served over HTTPS).
    pub secure_cookie: bool,
}

#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct MapSettings {
    /// Optional external MapLibre style URL; without it the UI draws its own offline basemap.
    pub style_url: Option<String>,
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct ImportSettings {
    /// Largest accepted import file, in bytes.
    pub max_bytes: usize,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            db: "sqlite://yingji.db".into(),
            bind: "127.0.0.1:8080".into(),
            data_dir: PathBuf::from("yingji-data"),
            log: LogSettings::default(),
            auth: AuthSettings::default(),
            map: MapSettings::default(),
            import: ImportSettings::default(),
            monitor: MonitorSettings::default(),
            demo: DemoSettings::default(),
            dualprev: DualPrevSettings::default(),
            warning: WarningSettings::default(),
            dissemination: DisseminationSettings::default(),
        }
    }
}

impl Default for LogSettings {
    fn default() -> Self {
        LogSettings {
            level: "info".into(),
            format: LogFormat::Text,
        }
    }
}

impl Default for AuthSettings {
    fn default() -> Self {
        AuthSettings {
            session_hours: 12,
            slow_after_failures: 3,
            lock_after_failures: 5,
            lock_minutes: 15,
            secure_cookie: false,
        }
    }
}

impl Default for ImportSettings {
    fn default() -> Self {
        ImportSettings {
            max_bytes: 20 * 1024 * 1024,
        }
    }
}

/// Database URLs may carry passwords: never print them whole.
pub fn redact_url(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme_end), Some(at)) if at > scheme_end => {
            let userinfo = &url[scheme_end + 3..at];
            let user = userinfo.split(':').next().unwrap_or_default();
            format!("{}://{}:***@{}", &url[..scheme_end], user, &url[at + 1..])
        }
        _ => url.to_string(),
    }
}

impl fmt::Debug for Settings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Settings")
            .field("db", &redact_url(&self.db))
            .field("bind", &self.bind)
            .field("data_dir", &self.data_dir)
            .field("log", &self.log)
            .field("auth", &self.auth)
            .field("map", &self.map)
            .field("import", &self.import)
            .field("monitor", &self.monitor)
            .field("demo", &self.demo)
            .field("dualprev", &self.dualprev)
            .field("warning", &self.warning)
            .field("dissemination", &self.dissemination)
            .finish()
    }
}

/// Values given on the command line; `None` leaves the lower layers in force.
#[derive(Debug, Default, Clone, Serialize)]
pub struct Overrides {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub db: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bind: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub data_dir: Option<PathBuf>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub monitor: Option<MonitorOverrides>,
}

/// `[monitor]` keys settable on the command line.
#[derive(Debug, Default, Clone, Serialize)]
pub struct MonitorOverrides {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mqtt_url: Option<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("configuration file {0} does not exist")]
    MissingFile(PathBuf),
    #[error("invalid configuration: {0}")]
    Invalid(String),
}

impl Settings {
    /// Loads the layers in order; a later layer wins. Environment variables are
    /// `YINGJI_DB`, `YINGJI_BIND`, `YINGJI_LOG__LEVEL`, `YINGJI_AUTH__LOCK_MINUTES`, ...
    /// (double underscore between a section and its key).
    pub fn load(
        config_file: Option<&Path>,
        overrides: &Overrides,
    ) -> Result<Settings, ConfigError> {
        let mut figment = Figment::from(Serialized::defaults(Settings::default()));
        if let Some(path) = config_file {
            if !path.exists() {
                return Err(ConfigError::MissingFile(path.to_path_buf()));
            }
            figment = figment.merge(Toml::file(path));
        }
        figment = figment
            .merge(
                // Only our own sections: other YINGJI_* variables (YINGJI_TEST_PG for the
                // test suite, YINGJI_SKIP_WEB_BUILD for build.rs) are not settings.
                Env::prefixed("YINGJI_")
                    .filter(|key| {
                        let key = key.as_str().to_ascii_lowercase();
                        let section = key.split("__").next().unwrap_or_default();
                        SECTIONS.contains(&section)
                    })
                    .split("__"),
            )
            .merge(Serialized::defaults(overrides));
        let settings: Settings = figment
            .extract()
            .map_err(|e| ConfigError::Invalid(e.to_string()))?;
        settings.validate()?;
        Ok(settings)
    }

    fn validate(&self) -> Result<(), ConfigError> {
        if !(self.db.starts_with("sqlite:")
            || self.db.starts_with("postgres://")
            || self.db.starts_with("postgresql://"))
        {
            return Err(ConfigError::Invalid(format!(
                "db must be a sqlite:// or postgres:// URL, got {}",
                redact_url(&self.db)
            )));
        }
        if self.bind.parse::<std::net::SocketAddr>().is_err() {
            return Err(ConfigError::Invalid(format!(
                "bind must be an address like 127.0.0.1:8080, got {}",
                self.bind
            )));
        }
        if self.auth.session_hours <= 0
            || self.auth.lock_after_failures <= 0
            || self.auth.lock_minutes <= 0
        {
            return Err(ConfigError::Invalid(
                "auth.session_hours, auth.lock_after_failures and auth.lock_minutes must be positive".into(),
            ));
        }
        self.dualprev
            .bands()
            .validate()
            .map_err(ConfigError::Invalid)?;
        if chrono::NaiveTime::parse_from_str(self.dualprev.commitment_deadline.trim(), "%H:%M")
            .is_err()
        {
            return Err(ConfigError::Invalid(format!(
                "dualprev.commitment_deadline must be HH:MM, got {}",
                self.dualprev.commitment_deadline
            )));
        }
        if self.warning.org_code.len() != 3
            || !self.warning.org_code.bytes().all(|b| b.is_ascii_digit())
        {
            return Err(ConfigError::Invalid(format!(
                "warning.org_code must be 3 digits (GB/T 35965.1), got {}",
                self.warning.org_code
            )));
        }
        if self.warning.relay_ack_minutes <= 0 {
            return Err(ConfigError::Invalid(
                "warning.relay_ack_minutes must be at least 1".into(),
            ));
        }
        if self.warning.sender.trim().is_empty()
            || self.warning.sender.contains([' ', ',', '<', '&'])
        {
            return Err(ConfigError::Invalid(
                "warning.sender must be a non-empty address without spaces, commas, < or &".into(),
            ));
        }
        self.validate_dissemination()?;
        if let Some(url) = self.monitor.mqtt_url.as_deref().filter(|u| !u.is_empty()) {
            crate::monitor::mqtt::parse_url(url)
                .map_err(|e| ConfigError::Invalid(format!("monitor.mqtt_url: {e}")))?;
        }
        // The group is a topic level of `$share/GROUP/...`: no separators or wildcards.
        if self.monitor.mqtt_group.is_empty() || self.monitor.mqtt_group.contains(['/', '+', '#']) {
            return Err(ConfigError::Invalid(
                "monitor.mqtt_group must be a non-empty name without /, + or #".into(),
            ));
        }
        if self.demo.interval_s == 0 || self.demo.history_step_s == 0 {
            return Err(ConfigError::Invalid(
                "demo.interval_s and demo.history_step_s must be at least 1".into(),
            ));
        }
        if self.monitor.mqtt_client_id.as_deref() == Some("") {
            return Err(ConfigError::Invalid(
                "monitor.mqtt_client_id must not be empty (leave it out for the default)".into(),
            ));
        }
        Ok(())
    }
}

impl Settings {
    fn validate_dissemination(&self) -> Result<(), ConfigError> {
        let d = &self.dissemination;
        let bad = |m: &str| Err(ConfigError::Invalid(format!("dissemination.{m}")));
        if d.batch_size < 1 || d.lease_s < 1 || d.http_timeout_s == 0 {
            return bad("batch_size, lease_s and http_timeout_s must be at least 1");
        }
        if d.lease_s <= d.http_timeout_s as i64 {
            return bad(
                "lease_s must be longer than http_timeout_s, or sends still running would be claimed again",
            );
        }
        if d.retry_base_s < 1 || d.retry_max_s < d.retry_base_s || d.max_attempts < 1 {
            return bad(
                "retry_base_s and max_attempts must be at least 1 and retry_max_s at least retry_base_s",
            );
        }
        if d.webhook_concurrency == 0 || d.email_concurrency == 0 || d.sms_concurrency == 0 {
            return bad("the *_concurrency settings must be at least 1");
        }
        if !matches!(d.webhook_format.as_str(), "cap" | "json") {
            return bad("webhook_format must be cap or json");
        }
        if !matches!(d.smtp_security.as_str(), "none" | "starttls" | "tls") {
            return bad("smtp_security must be none, starttls or tls");
        }
        if !d.smtp_host.is_empty() && d.smtp_from.parse::<lettre::message::Mailbox>().is_err() {
            return bad("smtp_from must be an e-mail address");
        }
        if !matches!(d.sms_format.as_str(), "json" | "form") {
            return bad("sms_format must be json or form");
        }
        if !d.sms_url.is_empty() {
            if reqwest::Url::parse(&d.sms_url).is_err() {
                return bad("sms_url must be an http(s) URL");
            }
            if reqwest::Method::from_bytes(d.sms_method.as_bytes()).is_err() {
                return bad("sms_method must be an HTTP method");
            }
        }
        Ok(())
    }
}

/// The commented example printed by `yingji print-default-config`.
pub fn default_config_toml() -> String {
    let d = Settings::default();
    format!(
        r#"# Yingji settings. Every key is optional; the values shown are the defaults.
# Layers, later wins: these defaults -> this file (--config) -> YINGJI_* environment
# variables (YINGJI_DB, YINGJI_BIND, YINGJI_LOG__LEVEL, ...) -> command-line flags.

# Database: sqlite://FILE (embedded, WAL) or postgres://USER:PASSWORD@HOST:PORT/DB
db = "{db}"
# Address the HTTP server listens on.
bind = "{bind}"
# Uploaded files and other runtime data.
data_dir = "{data_dir}"

[log]
# tracing filter: error, warn, info, debug, trace, or per module (yingji=debug,tower_http=info)
level = "{level}"
# text or json
format = "text"

[auth]
# Lifetime of a login session or API token, hours.
session_hours = {session_hours}
# After this many failed logins in a row, each further attempt is delayed.
slow_after_failures = {slow}
# After this many failed logins in a row the account is locked ...
lock_after_failures = {lock}
# ... for this many minutes.
lock_minutes = {lock_minutes}
# Send the session cookie only over HTTPS.
secure_cookie = false

[map]
# Optional MapLibre style URL for an external basemap (intranet tile server).
# Without it the UI draws its own offline basemap from the district's GeoJSON.
# style_url = "http://tiles.example.gov.cn/styles/basic/style.json"

[import]
# Largest accepted import file, bytes.
max_bytes = {max_bytes}

[monitor]
# Sensor readings are kept this many days, then purged.
retention_days = {retention_days}
# Most readings in one ingest batch; a larger batch is refused with 413.
max_batch = {max_batch}
# Readings held in memory before compaction into per-sensor blocks (20 bytes each).
memtable_readings = {memtable_readings}
# MQTT broker to take readings from (topic yingji/CREDIT_CODE/readings, QoS 1); without it
# readings come over HTTP only. Also `yingji serve --mqtt URL`.
# mqtt_url = "mqtt://USER:PASSWORD@127.0.0.1:1883"
# Client id: stable across restarts, so the broker queues readings while this instance is
# down; different for every instance. Default yingji-HOSTNAME-HTTPPORT.
# mqtt_client_id = "yingji-web1"
# Shared-subscription group ($share/GROUP/yingji/+/readings): the instances of one group
# split the messages between them.
mqtt_group = "{mqtt_group}"
# An alarm nobody at the enterprise acknowledged within this many minutes is raised to its
# town, and after the second figure to the district duty officer.
escalate_to_town_min = {to_town}
escalate_to_district_min = {to_district}
# No reading from any sensor of an enterprise for this many seconds: enterprise offline.
enterprise_offline_timeout_s = {ent_offline}
# How often offline and escalation deadlines are checked, milliseconds.
tick_ms = {tick_ms}

[demo]
# `yingji demo` only. Feed the demo's sensors with simulated readings (also --no-simulate).
simulate = true
# Seconds between two simulated readings of each sensor.
interval_s = {demo_interval_s}
# Hours of history simulated at start (a reused demo database only gets the gap) ...
history_hours = {demo_history_hours}
# ... at this many seconds between readings.
history_step_s = {demo_history_step_s}

[dualprev]
# Colour bands of risk grading (STANDARDS.md §2; some enterprises use 400/200/70).
# LEC, D = L x E x C: above the red edge red (重大), above orange orange (较大), above yellow
# yellow (一般), otherwise blue (低).
lec_red_above = {lec_red:?}
lec_orange_above = {lec_orange:?}
lec_yellow_above = {lec_yellow:?}
# LS matrix, R = L x S (1-25): at least the red edge red, and so on.
ls_red_min = {ls_red}
ls_orange_min = {ls_orange}
ls_yellow_min = {ls_yellow}
# Time of day (Asia/Shanghai) by which hazardous-chemical enterprises file the daily
# safety commitment; after it a missing commitment is flagged.
commitment_deadline = "{commitment_deadline}"
# Largest hidden-danger photo accepted (JPEG, PNG or WebP), bytes.
photo_max_bytes = {photo_max_bytes}

[warning]
# CAP sender (an address naming the issuing office) and senderName.
sender = "{w_sender}"
sender_name = "{w_sender_name}"
# 3-digit organisation code in the GB/T 35965.1 identifier 120114DDD00000_YYYYMMDDhhmmss_N.
org_code = "{w_org}"
# Minutes a town has to acknowledge a relayed warning before it escalates to the duty officer.
relay_ack_minutes = {w_ack}
# Public address of this platform, e.g. "https://yj.wuqing.gov.cn" (CAP <web>, Atom links).
public_url = "{w_public_url}"

[dissemination]
# The dispatcher sends queued deliveries every tick_ms milliseconds (0: not in this process).
tick_ms = {d_tick}
# Deliveries claimed per round, and how long a claim lasts before a send that never finished
# (a crash) is tried again, seconds.
batch_size = {d_batch}
lease_s = {d_lease}
# Timeout of one webhook or SMS-gateway request, seconds.
http_timeout_s = {d_http}
# Retries after a transient failure wait retry_base_s x 2^(attempt-1), at most retry_max_s;
# after max_attempts the delivery is dead. A permanent refusal (4xx, bad address) is dead at once.
retry_base_s = {d_base}
retry_max_s = {d_max}
max_attempts = {d_attempts}
# Sends in flight at once, per channel.
webhook_concurrency = {d_wc}
email_concurrency = {d_ec}
sms_concurrency = {d_sc}
# Webhooks: "cap" (the CAP 1.2 XML) or "json"; signed X-Yingji-Signature: sha256=HMAC(secret,
# timestamp + "." + body) when a secret is set.
webhook_format = "{d_wf}"
webhook_secret = ""
# E-mail over SMTP; without a host e-mail deliveries wait queued. smtp_security: none, starttls, tls.
smtp_host = ""
smtp_port = {d_port}
smtp_security = "{d_sec}"
smtp_user = ""
smtp_password = ""
smtp_from = "{d_from}"
# SMS through an HTTP gateway (or a relay in front of a provider, see docs/warnings.md);
# without a URL SMS deliveries wait queued. Placeholders: {{phone}} {{text}} {{sign}} {{id}}.
sms_url = ""
sms_method = "{d_method}"
sms_body_template = '{d_tpl}'
# json (values JSON-escaped) or form (values form-encoded)
sms_format = "{d_fmt}"
# How the gateway says OK (JSON pointer and value; empty pointer: any 2xx), and its message id.
sms_success_json_pointer = ""
sms_success_value = ""
sms_receipt_json_pointer = ""
sms_sign = "{d_sign}"
# Prefix the text with the signature (turn off when the gateway adds it from {{sign}}).
sms_sign_in_text = {d_sign_in}
# Extra headers of the gateway request.
[dissemination.sms_headers]
# X-Api-Key = "..."
"#,
        d_tick = d.dissemination.tick_ms,
        d_batch = d.dissemination.batch_size,
        d_lease = d.dissemination.lease_s,
        d_http = d.dissemination.http_timeout_s,
        d_base = d.dissemination.retry_base_s,
        d_max = d.dissemination.retry_max_s,
        d_attempts = d.dissemination.max_attempts,
        d_wc = d.dissemination.webhook_concurrency,
        d_ec = d.dissemination.email_concurrency,
        d_sc = d.dissemination.sms_concurrency,
        d_wf = d.dissemination.webhook_format,
        d_port = d.dissemination.smtp_port,
        d_sec = d.dissemination.smtp_security,
        d_from = d.dissemination.smtp_from,
        d_method = d.dissemination.sms_method,
        d_tpl = d.dissemination.sms_body_template,
        d_fmt = d.dissemination.sms_format,
        d_sign = d.dissemination.sms_sign,
        d_sign_in = d.dissemination.sms_sign_in_text,
        w_sender = d.warning.sender,
        w_sender_name = d.warning.sender_name,
        w_org = d.warning.org_code,
        w_ack = d.warning.relay_ack_minutes,
        w_public_url = d.warning.public_url,
        db = d.db,
        bind = d.bind,
        lec_red = d.dualprev.lec_red_above,
        lec_orange = d.dualprev.lec_orange_above,
        lec_yellow = d.dualprev.lec_yellow_above,
        ls_red = d.dualprev.ls_red_min,
        ls_orange = d.dualprev.ls_orange_min,
        ls_yellow = d.dualprev.ls_yellow_min,
        commitment_deadline = d.dualprev.commitment_deadline,
        photo_max_bytes = d.dualprev.photo_max_bytes,
        data_dir = d.data_dir.display(),
        level = d.log.level,
        session_hours = d.auth.session_hours,
        slow = d.auth.slow_after_failures,
        lock = d.auth.lock_after_failures,
        lock_minutes = d.auth.lock_minutes,
        max_bytes = d.import.max_bytes,
        retention_days = d.monitor.retention_days,
        max_batch = d.monitor.max_batch,
        memtable_readings = d.monitor.memtable_readings,
        mqtt_group = d.monitor.mqtt_group,
        to_town = d.monitor.escalate_to_town_min,
        to_district = d.monitor.escalate_to_district_min,
        ent_offline = d.monitor.enterprise_offline_timeout_s,
        tick_ms = d.monitor.tick_ms,
        demo_interval_s = d.demo.interval_s,
        demo_history_hours = d.demo.history_hours,
        demo_history_step_s = d.demo.history_step_s,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_printed_default_config_parses_back_to_the_defaults() {
        let parsed: Settings = Figment::from(Serialized::defaults(Settings::default()))
            .merge(Toml::string(&default_config_toml()))
            .extract()
            .expect("default config parses");
        assert_eq!(parsed, Settings::default());
    }

    #[test]
    fn a_database_password_is_never_printed() {
        let s = redact_url("postgres://yingji:secret@db.local:5432/yingji");
        assert_eq!(s, "postgres://yingji:***@db.local:5432/yingji");
        assert!(
            !format!(
                "{:?}",
                Settings {
                    db: "postgres://u:pw@h/d".into(),
                    ..Default::default()
                }
            )
            .contains("pw")
        );
    }

    #[test]
    fn flags_win_over_the_file() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("y.toml");
        std::fs::write(&path, "bind = \"127.0.0.1:9000\"\ndb = \"sqlite://a.db\"\n")
            .expect("write");
        let s = Settings::load(
            Some(&path),
            &Overrides {
                bind: Some("127.0.0.1:9100".into()),
                ..Default::default()
            },
        )
        .expect("load");
        assert_eq!(s.bind, "127.0.0.1:9100");
        assert_eq!(s.db, "sqlite://a.db");
    }

    #[test]
    // figment's Jail API returns its own large error type.
    #[allow(clippy::result_large_err)]
    fn environment_variables_sit_between_the_file_and_the_flags() {
        figment::Jail::expect_with(|jail| {
            jail.create_file(
                "y.toml",
                "bind = \"127.0.0.1:9000\"\n[log]\nlevel = \"debug\"\n",
            )?;
            jail.set_env("YINGJI_LOG__LEVEL", "warn");
            jail.set_env("YINGJI_BIND", "127.0.0.1:9001");
            jail.set_env("YINGJI_TEST_PG", "postgres://not-a-setting");
            let s = Settings::load(Some(Path::new("y.toml")), &Overrides::default())
                .map_err(|e| e.to_string())?;
            assert_eq!(s.log.level, "warn");
            assert_eq!(s.bind, "127.0.0.1:9001");
            let s = Settings::load(
                Some(Path::new("y.toml")),
                &Overrides {
                    bind: Some("127.0.0.1:9002".into()),
                    ..Default::default()
                },
            )
            .map_err(|e| e.to_string())?;
            assert_eq!(s.bind, "127.0.0.1:9002");
            Ok(())
        });
    }

    #[test]
    fn the_mqtt_flag_sets_the_broker_and_keeps_the_other_monitor_keys_of_the_file() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("y.toml");
        std::fs::write(&path, "[monitor]\nmax_batch = 500\nmqtt_group = \"east\"\n")
            .expect("write");
        let s = Settings::load(
            Some(&path),
            &Overrides {
                monitor: Some(MonitorOverrides {
                    mqtt_url: Some("mqtt://u:pw@broker:1883".into()),
                }),
                ..Default::default()
            },
        )
        .expect("load");
        assert_eq!(
            s.monitor.mqtt_url.as_deref(),
            Some("mqtt://u:pw@broker:1883")
        );
        assert_eq!(s.monitor.max_batch, 500);
        assert_eq!(s.monitor.mqtt_group, "east");
        assert!(!format!("{s:?}").contains("pw@"), "{s:?}");
        let bad = Overrides {
            monitor: Some(MonitorOverrides {
                mqtt_url: Some("mqtts://broker:8883".into()),
            }),
            ..Default::default()
        };
        assert!(Settings::load(None, &bad).is_err());
    }

    #[test]
    fn an_unknown_key_is_an_error_not_silently_ignored() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("y.toml");
        std::fs::write(&path, "bnid = \"x\"\n").expect("write");
        assert!(Settings::load(Some(&path), &Overrides::default()).is_err());
    }
}
