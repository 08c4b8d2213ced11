//! Accounts, roles, scopes and the one mechanism every route uses to check them.
//!
//! A handler that takes a [`CurrentUser`] is authenticated (cookie or bearer token); one that
//! does not is public, and public routes are listed in `app::PUBLIC_ROUTES`. Role checks go
//! through [`CurrentUser::require`] (403 when the role lacks the permission); scope checks go
//! through [`Scope`]: list queries get a scope filter, single records out of scope are 404.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use base64::Engine;
use rand::RngCore;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use utoipa::ToSchema;

use crate::app::AppState;
use crate::db::Sql;
use crate::error::ApiError;

pub mod password;
pub mod routes;
pub mod store;

pub const SESSION_COOKIE: &str = "yingji_session";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Admin,
    Duty,
    Supervisor,
    Leader,
    Town,
    Enterprise,
}

impl Role {
    pub const ALL: [Role; 6] = [
        Role::Admin,
        Role::Duty,
        Role::Supervisor,
        Role::Leader,
        Role::Town,
        Role::Enterprise,
    ];

    pub fn key(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Duty => "duty",
            Role::Supervisor => "supervisor",
            Role::Leader => "leader",
            Role::Town => "town",
            Role::Enterprise => "enterprise",
        }
    }

    pub fn zh(self) -> &'static str {
        match self {
            Role::Admin => "系统管理员",
            Role::Duty => "值班员",
            Role::Supervisor => "安全监管人员",
            Role::Leader => "领导",
            Role::Town => "镇街园区工作人员",
            Role::Enterprise => "企业安全管理员",
        }
    }

    pub fn en(self) -> &'static str {
        match self {
            Role::Admin => "Administrator",
            Role::Duty => "Duty officer",
            Role::Supervisor => "Safety supervisor",
            Role::Leader => "Leader",
            Role::Town => "Town staff",
            Role::Enterprise => "Enterprise safety manager",
        }
    }

    pub fn parse(s: &str) -> Option<Role> {
        Role::ALL.into_iter().find(|r| r.key() == s.trim())
    }

    /// What each role may do. Scope (which records) is checked separately.
    pub fn has(self, p: Permission) -> bool {
        use Permission::*;
        // Early warning is one workflow with its own rules (crate::warning::model).
        match p {
            WarningCompose => return crate::warning::model::may_compose(self),
            WarningApprove => return crate::warning::model::may_approve(self),
            WarningRelay => return crate::warning::model::may_relay(self),
            SubscriberManage => return crate::warning::model::may_manage_subscribers(self),
            _ => {}
        }
        match self {
            Role::Admin => true,
            Role::Supervisor => matches!(
                p,
                RegistryRead
                    | RegistryWrite
                    | AuditRead
                    | AlarmHandle
                    | RiskWrite
                    | HiddenDangerReport
            ),
            // The duty officer turns a monitoring alarm into a hidden danger.
            Role::Duty => matches!(p, RegistryRead | AlarmHandle | HiddenDangerReport),
            // Leaders watch; they do not handle alarms themselves.
            Role::Leader => matches!(p, RegistryRead),
            // Town staff and grid workers report hidden dangers; risks are graded by the
            // enterprises and the supervisors.
            Role::Town => matches!(
                p,
                RegistryRead | RegistryWrite | AlarmHandle | HiddenDangerReport
            ),
            // An enterprise edits its own record; creating records is refused by its scope.
            Role::Enterprise => matches!(
                p,
                RegistryRead
                    | RegistryWrite
                    | AlarmHandle
                    | RiskWrite
                    | HiddenDangerReport
                    | CommitmentFile
            ),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Permission {
    RegistryRead,
    RegistryWrite,
    /// Replace administrative boundaries (reference data).
    BoundariesWrite,
    ManageUsers,
    AuditRead,
    /// Acknowledge, dispose and assign monitoring alarms (within scope).
    AlarmHandle,
    /// Create, edit and assess risk points; manage their check tasks (within scope).
    RiskWrite,
    /// Report hidden dangers and record checks (within scope). Who may move a hidden danger
    /// from state to state is decided by `dualprev::rules::role_may`.
    HiddenDangerReport,
    /// File the daily safety commitment of one's own enterprise.
    CommitmentFile,
    /// Draft, edit and submit warnings; start an update.
    WarningCompose,
    /// Approve (签发), reject, publish and cancel warnings; relay imported ones.
    WarningApprove,
    /// Acknowledge a warning relayed to one's town and report its onward dissemination.
    WarningRelay,
    /// Manage warning subscribers (a town user: own town).
    SubscriberManage,
}

/// Which records a user may see.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Scope {
    District,
    Town(String),
    Enterprise(String),
}

impl Scope {
    /// Whether a record belonging to `town_code` (and, if it belongs to one, `enterprise_id`)
    /// is visible.
    pub fn allows(&self, town_code: &str, enterprise_id: Option<&str>) -> bool {
        match self {
            Scope::District => true,
            Scope::Town(t) => t == town_code,
            Scope::Enterprise(e) => enterprise_id == Some(e.as_str()),
        }
    }

    /// Appends ` AND <condition>` restricting a query to this scope. `enterprise_col` is
    /// `None` for tables whose rows belong to no enterprise: an enterprise user sees none of them.
    pub fn filter(&self, sql: &mut Sql, town_col: &str, enterprise_col: Option<&str>) {
        match self {
            Scope::District => {}
            Scope::Town(t) => {
                let p = sql.arg(t.as_str());
                sql.push(&format!(" AND {town_col} = {p}"));
            }
            Scope::Enterprise(e) => match enterprise_col {
                Some(col) => {
                    let p = sql.arg(e.as_str());
                    sql.push(&format!(" AND {col} = {p}"));
                }
                None => {
                    sql.push(" AND 1 = 0");
                }
            },
        }
    }
}

/// The authenticated user of a request.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CurrentUser {
    pub id: String,
    pub username: String,
    pub display_name: String,
    pub role: Role,
    pub town_code: Option<String>,
    pub enterprise_id: Option<String>,
    #[serde(skip)]
    pub token_hash: String,
}

impl CurrentUser {
    pub fn scope(&self) -> Scope {
        match (self.role, &self.town_code, &self.enterprise_id) {
            (Role::Town, Some(t), _) => Scope::Town(t.clone()),
            (Role::Enterprise, _, Some(e)) => Scope::Enterprise(e.clone()),
            // A town or enterprise account without its unit sees nothing rather than everything.
            (Role::Town, None, _) => Scope::Town(String::new()),
            (Role::Enterprise, _, None) => Scope::Enterprise(String::new()),
            _ => Scope::District,
        }
    }

    /// 403 unless the user's role grants `p`.
    pub fn require(&self, p: Permission) -> Result<(), ApiError> {
        if self.role.has(p) {
            Ok(())
        } else {
            Err(ApiError::forbidden(format!(
                "the {} role may not do this",
                self.role.key()
            )))
        }
    }

    /// The actor recorded in the audit log.
    pub fn actor(&self) -> crate::audit::Actor {
        crate::audit::Actor {
            user_id: Some(self.id.clone()),
            username: self.username.clone(),
        }
    }
}

/// A fresh random token (256 bits, URL-safe). Only its hash is stored.
pub fn random_token() -> String {
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

pub fn token_hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// The token of a request: `Authorization: Bearer …` first, else the session cookie.
fn request_token(parts: &Parts) -> Option<String> {
    if let Some(v) = parts
        .headers
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        && let Some(t) = v
            .strip_prefix("Bearer ")
            .or_else(|| v.strip_prefix("bearer "))
    {
        return Some(t.trim().to_string());
    }
    let jar = axum_extra::extract::cookie::CookieJar::from_headers(&parts.headers);
    jar.get(SESSION_COOKIE).map(|c| c.value().to_string())
}

impl FromRequestParts<AppState> for CurrentUser {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let token = request_token(parts).ok_or(ApiError::Unauthorized)?;
        let user = store::user_by_token(&state.db, &token_hash(&token), crate::db::now_ms())
            .await?
            .ok_or(ApiError::Unauthorized)?;
        Ok(user)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_admins_manage_users_and_leaders_only_read() {
        for r in Role::ALL {
            assert_eq!(r.has(Permission::ManageUsers), r == Role::Admin);
        }
        assert!(Role::Leader.has(Permission::RegistryRead));
        assert!(!Role::Leader.has(Permission::RegistryWrite));
        assert!(!Role::Duty.has(Permission::RegistryWrite));
    }

    #[test]
    fn a_town_scope_sees_only_its_town() {
        let s = Scope::Town("120114001".into());
        assert!(s.allows("120114001", None));
        assert!(!s.allows("120114002", None));
        let e = Scope::Enterprise("e1".into());
        assert!(e.allows("120114002", Some("e1")));
        assert!(!e.allows("120114002", Some("e2")));
        assert!(!e.allows("120114002", None));
    }

    #[test]
    fn a_scope_filter_binds_its_value() {
        let mut sql = Sql::new("SELECT * FROM t WHERE 1 = 1");
        Scope::Town("120114001".into()).filter(&mut sql, "town_code", None);
        assert_eq!(sql.text, "SELECT * FROM t WHERE 1 = 1 AND town_code = $1");
        let mut sql = Sql::new("SELECT * FROM t WHERE 1 = 1");
        Scope::Enterprise("e".into()).filter(&mut sql, "town_code", None);
        assert!(sql.text.ends_with("AND 1 = 0"));
    }
}
