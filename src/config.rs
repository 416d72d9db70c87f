//! Typed settings. Sources, later ones winning: built-in defaults, an optional
//! TOML file (path in `NAERVAER_CONFIG` or `--config`), environment variables.
//!
//! | variable | file key | default | meaning |
//! |---|---|---|---|
//! | `NAERVAER_DATABASE_URL` | `database_url` | `sqlite://naervaer.db` | `sqlite://PATH` or `postgres://…`; the scheme picks the backend |
//! | `NAERVAER_BIND` | `bind` | `127.0.0.1:8080` | address the web service listens on |
//! | `NAERVAER_BASE_URL` | `base_url` | `http://localhost:8080` | public address used in e-mailed links |
//! | `NAERVAER_MIN_GROUP_SIZE` | `min_group_size` | `5` | k, the smallest group whose results are shown; never below 3 |
//! | `NAERVAER_LANG` | `lang` | `nb` | default interface language: `nb`, `nn` or `en` |
//! | `NAERVAER_POOL_SIZE` | `pool_size` | `8` | database connections per process |
//! | `NAERVAER_SMTP_URL` | `smtp_url` | unset | mail relay, e.g. `smtp://user:pass@host:587?tls=required` (secret) |
//! | `NAERVAER_MAIL_FROM` | `mail_from` | `naervaer <noreply@localhost>` | sender address |
//! | `NAERVAER_OUTBOX_DIR` | `outbox_dir` | unset | write e-mails as `.eml` files (and SMS as `.sms` files) here instead of sending |
//! | `NAERVAER_SMS_URL` | `sms_url` | unset | SMS provider, e.g. `twilio://ACCOUNT_SID:AUTH_TOKEN@api.twilio.com?from=Kommunen` (secret) |
//! | `NAERVAER_SMS_RATE` | `sms_rate` | `10` | SMS per second at most, per process |
//! | `NAERVAER_OIDC_ISSUER` | `oidc_issuer` | unset | the identity provider's issuer (Entra ID: `https://login.microsoftonline.com/TENANT-ID/v2.0`); sign-in through it beside the e-mailed link |
//! | `NAERVAER_OIDC_CLIENT_ID` | `oidc_client_id` | unset | the application (client) id registered with the provider |
//! | `NAERVAER_OIDC_CLIENT_SECRET` | `oidc_client_secret` | unset | its client secret (secret) |
//! | `NAERVAER_OIDC_CLAIM` | `oidc_claim` | `email` | the ID-token claim matched to an employee's e-mail address (`email`, `preferred_username`, `upn` …) |
//! | `NAERVAER_LOG_FORMAT` | `log_format` | `text` | `text` or `json` |
//! | `NAERVAER_SECRET_KEY` | `secret_key` | unset | ≥ 32 characters; derives survey links and paper codes (secret) |
//! | `NAERVAER_CONTACT` | `contact` | `HR-avdelingen` | who to ask, printed in e-mails and letters |
//! | `NAERVAER_MAIL_RATE` | `mail_rate` | `50` | e-mails per second at most, per process |
//! | `NAERVAER_MAIL_WORKERS` | `mail_workers` | `16` | parallel SMTP connections per process |
//! | `NAERVAER_MAIL_CLAIM_TIMEOUT_SECS` | `mail_claim_timeout_secs` | `120` | a claimed e-mail not marked sent by then is sent again (its sender died) |
//! | `NAERVAER_REMINDER_MAX` | `reminder_max` | `2` | reminders per person per round at most |
//! | `NAERVAER_REMINDER_INTERVAL_HOURS` | `reminder_interval_hours` | `72` | least time between two reminders to one person |
//! | `NAERVAER_RETENTION_DAYS` | `retention_days` | `0` | days after closing before invitations are reduced to counts |
//! | `NAERVAER_RESPONSE_RETENTION_DAYS` | `response_retention_days` | unset | days after closing before a round's (coarsened) responses are deleted; unset: kept |
//! | `NAERVAER_EMPLOYEE_RETENTION_DAYS` | `employee_retention_days` | `180` | days after a person leaves the employees file before they are deleted (or pseudonymised where a round still names them) |
//! | `NAERVAER_ABSENCE_RETENTION_YEARS` | `absence_retention_years` | `5` | years after a period ends before its absence rows are deleted; 0: kept |
//! | `NAERVAER_GROUP_COMMIT` | `group_commit` | `true` | acknowledge several answers with one durable commit (`false`: one commit per answer) |
//! | `NAERVAER_TRUSTED_PROXIES` | `trusted_proxies` | unset | addresses or CIDRs of reverse proxies whose `Forwarded` / `X-Forwarded-For` names the client; from any other peer those headers are ignored |
//! | `NAERVAER_METRICS_BIND` | `metrics_bind` | unset | serve Prometheus metrics at `/metrics` on this address of its own (keep it internal) |
//! | `NAERVAER_METRICS_TOKEN` | `metrics_token` | unset | ≥ 32 characters: serve `/metrics` on the main address to `Authorization: Bearer` this token (secret) |
//! | `NAERVAER_ACCOUNT_DAYS` | `account_days` | `21` | days a leader has for the written account of a unit above its absence target (two reminders: a week before and on the day) |
//! | `NAERVAER_LOG` | – | `info` | log filter (tracing `EnvFilter` syntax) |

use crate::crypto::mask_url;
pub use crate::crypto::Secret;
use crate::lang::Lang;
use crate::AppError;
use serde::Deserialize;
use std::collections::HashMap;
use std::path::{Path, PathBuf};

/// The lowest minimum group size the installation accepts (ANONYMITY.md §3).
pub const MIN_GROUP_SIZE_FLOOR: u32 = 3;

/// Which database a URL names; the database layer opens it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    /// The backend named by the URL's scheme. An unknown scheme is an error,
    /// never a silently created SQLite file named after a typo.
    pub fn from_url(url: &str) -> Result<Backend, AppError> {
        if let Some(path) = url.strip_prefix("sqlite://") {
            if path.is_empty() {
                return Err(AppError::config(
                    "the SQLite URL has no file path: use sqlite://PATH",
                ));
            }
            Ok(Backend::Sqlite)
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Ok(Backend::Postgres)
        } else {
            Err(AppError::config(format!(
                "database URL must start with sqlite:// or postgres:// (got '{}')",
                mask_url(url)
            )))
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Backend::Sqlite => "sqlite",
            Backend::Postgres => "postgres",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    Text,
    Json,
}

#[derive(Debug, Clone)]
pub struct Settings {
    pub database_url: Secret,
    pub bind: String,
    pub base_url: String,
    pub min_group_size: u32,
    pub lang: Lang,
    pub pool_size: u32,
    pub smtp_url: Option<Secret>,
    pub mail_from: String,
    pub outbox_dir: Option<PathBuf>,
    /// The SMS provider (see [`crate::mail::sms`]).
    pub sms_url: Option<Secret>,
    pub sms_rate: f64,
    /// Sign-in through the identity provider (see [`crate::auth::oidc`]).
    pub oidc_issuer: Option<String>,
    pub oidc_client_id: Option<String>,
    pub oidc_client_secret: Option<Secret>,
    pub oidc_claim: String,
    pub log_format: LogFormat,
    pub secret_key: Option<Secret>,
    pub contact: String,
    pub mail_rate: f64,
    pub mail_workers: u32,
    pub mail_claim_timeout_secs: u32,
    pub reminder_max: u32,
    pub reminder_interval_hours: u32,
    pub retention_days: u32,
    pub response_retention_days: Option<u32>,
    pub employee_retention_days: u32,
    pub absence_retention_years: u32,
    pub group_commit: bool,
    /// Reverse proxies whose forwarding headers are believed.
    pub trusted_proxies: Vec<ipnet::IpNet>,
    /// `/metrics` on an address of its own.
    pub metrics_bind: Option<String>,
    /// `/metrics` on the main address, to this bearer token.
    pub metrics_token: Option<Secret>,
    /// Days a leader has for the account of a unit above its target.
    pub account_days: u32,
}

/// Every key is optional in the file and in the environment.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct Partial {
    database_url: Option<String>,
    bind: Option<String>,
    base_url: Option<String>,
    min_group_size: Option<String>,
    lang: Option<String>,
    pool_size: Option<String>,
    smtp_url: Option<String>,
    mail_from: Option<String>,
    outbox_dir: Option<String>,
    sms_url: Option<String>,
    sms_rate: Option<String>,
    oidc_issuer: Option<String>,
    oidc_client_id: Option<String>,
    oidc_client_secret: Option<String>,
    oidc_claim: Option<String>,
    log_format: Option<String>,
    secret_key: Option<String>,
    contact: Option<String>,
    mail_rate: Option<String>,
    mail_workers: Option<String>,
    mail_claim_timeout_secs: Option<String>,
    reminder_max: Option<String>,
    reminder_interval_hours: Option<String>,
    retention_days: Option<String>,
    response_retention_days: Option<String>,
    employee_retention_days: Option<String>,
    absence_retention_years: Option<String>,
    group_commit: Option<String>,
    trusted_proxies: Option<String>,
    metrics_bind: Option<String>,
    metrics_token: Option<String>,
    account_days: Option<String>,
}

/// File values may be numbers or strings; both become strings here so that a
/// file and the environment go through the same validation.
fn file_partial(path: &Path) -> Result<Partial, AppError> {
    let text = std::fs::read_to_string(path).map_err(|e| {
        AppError::config(format!("cannot read config file {}: {e}", path.display()))
    })?;
    let value: toml::Table = text
        .parse()
        .map_err(|e| AppError::config(format!("config file {}: {e}", path.display())))?;
    let mut map = toml::Table::new();
    for (k, v) in value {
        let s = match v {
            toml::Value::String(s) => s,
            toml::Value::Integer(i) => i.to_string(),
            other => {
                return Err(AppError::config(format!(
                    "config file {}: `{k}` must be a string or a number, not {}",
                    path.display(),
                    other.type_str()
                )))
            }
        };
        map.insert(k, toml::Value::String(s));
    }
    toml::Value::Table(map)
        .try_into()
        .map_err(|e| AppError::config(format!("config file {}: {e}", path.display())))
}

/// Every setting's file key; its environment variable is `NAERVAER_` and
/// the key in upper case. Must list the fields of `Partial`.
const KEYS: [&str; 32] = [
    "database_url",
    "bind",
    "base_url",
    "min_group_size",
    "lang",
    "pool_size",
    "smtp_url",
    "mail_from",
    "outbox_dir",
    "sms_url",
    "sms_rate",
    "oidc_issuer",
    "oidc_client_id",
    "oidc_client_secret",
    "oidc_claim",
    "log_format",
    "secret_key",
    "contact",
    "mail_rate",
    "mail_workers",
    "mail_claim_timeout_secs",
    "reminder_max",
    "reminder_interval_hours",
    "retention_days",
    "response_retention_days",
    "employee_retention_days",
    "absence_retention_years",
    "group_commit",
    "trusted_proxies",
    "metrics_bind",
    "metrics_token",
    "account_days",
];

fn env_name(key: &str) -> String {
    format!("NAERVAER_{}", key.to_ascii_uppercase())
}

/// The known variables of the environment, through the same
/// deserialisation as the file (so `KEYS` and `Partial` cannot drift apart
/// unnoticed: an unknown key is an error there).
fn env_partial(env: &HashMap<String, String>) -> Result<Partial, AppError> {
    let mut map = toml::Table::new();
    for key in KEYS {
        if let Some(v) = env.get(&env_name(key)).filter(|v| !v.trim().is_empty()) {
            map.insert(key.to_string(), toml::Value::String(v.clone()));
        }
    }
    toml::Value::Table(map)
        .try_into()
        .map_err(|e| AppError::config(format!("environment: {e}")))
}

impl Settings {
    /// Settings from the process environment and, when given or named by
    /// `NAERVAER_CONFIG`, a config file.
    pub fn load(config_file: Option<&Path>) -> Result<Settings, AppError> {
        let env: HashMap<String, String> = std::env::vars().collect();
        Settings::from_sources(&env, config_file)
    }

    pub fn from_sources(
        env: &HashMap<String, String>,
        config_file: Option<&Path>,
    ) -> Result<Settings, AppError> {
        let file_path = config_file.map(Path::to_path_buf).or_else(|| {
            env.get("NAERVAER_CONFIG")
                .filter(|s| !s.is_empty())
                .map(PathBuf::from)
        });
        let file = match &file_path {
            Some(p) => file_partial(p)?,
            None => Partial::default(),
        };
        let env = env_partial(env)?;
        // Environment wins over the file.
        macro_rules! pick {
            ($f:ident) => {
                env.$f.clone().or(file.$f.clone())
            };
        }

        let bind = pick!(bind).unwrap_or_else(|| "127.0.0.1:8080".into());
        let min_group_size = match pick!(min_group_size) {
            None => 5,
            Some(s) => s.trim().parse::<u32>().map_err(|_| {
                AppError::config(format!(
                    "NAERVAER_MIN_GROUP_SIZE must be a whole number, got '{s}'"
                ))
            })?,
        };
        if min_group_size < MIN_GROUP_SIZE_FLOOR {
            return Err(AppError::config(format!(
                "NAERVAER_MIN_GROUP_SIZE is {min_group_size}, but it may never be below {MIN_GROUP_SIZE_FLOOR}: \
                 smaller groups make answers identifiable"
            )));
        }
        let pool_size = match pick!(pool_size) {
            None => 8,
            Some(s) => match s.trim().parse::<u32>() {
                Ok(n) if n >= 1 => n,
                _ => {
                    return Err(AppError::config(format!(
                        "NAERVAER_POOL_SIZE must be a whole number of at least 1, got '{s}'"
                    )))
                }
            },
        };
        let lang = match pick!(lang) {
            None => Lang::Nb,
            Some(s) => s
                .parse()
                .map_err(|e| AppError::config(format!("NAERVAER_LANG: {e}")))?,
        };
        let log_format = match pick!(log_format).as_deref().map(str::trim) {
            None | Some("text") => LogFormat::Text,
            Some("json") => LogFormat::Json,
            Some(other) => {
                return Err(AppError::config(format!(
                    "NAERVAER_LOG_FORMAT must be 'text' or 'json', got '{other}'"
                )))
            }
        };
        let database_url = pick!(database_url).unwrap_or_else(|| "sqlite://naervaer.db".into());
        Backend::from_url(&database_url)?;
        let base_url = pick!(base_url)
            .unwrap_or_else(|| "http://localhost:8080".into())
            .trim_end_matches('/')
            .to_string();
        if !(base_url.starts_with("http://") || base_url.starts_with("https://")) {
            return Err(AppError::config(format!(
                "NAERVAER_BASE_URL must start with http:// or https://, got '{base_url}'"
            )));
        }
        let number =
            |name: &str, value: Option<String>, default: u32, min: u32| -> Result<u32, AppError> {
                match value {
                    None => Ok(default),
                    Some(v) => match v.trim().parse::<u32>() {
                        Ok(n) if n >= min => Ok(n),
                        _ => Err(AppError::config(format!(
                            "{name} must be a whole number of at least {min}, got '{v}'"
                        ))),
                    },
                }
            };
        let mail_rate = match pick!(mail_rate) {
            None => 50.0,
            Some(v) => match v.trim().parse::<f64>() {
                Ok(r) if r > 0.0 && r.is_finite() => r,
                _ => {
                    return Err(AppError::config(format!(
                        "NAERVAER_MAIL_RATE must be a positive number, got '{v}'"
                    )))
                }
            },
        };
        let sms_rate = match pick!(sms_rate) {
            None => 10.0,
            Some(v) => match v.trim().parse::<f64>() {
                Ok(r) if r > 0.0 && r.is_finite() => r,
                _ => {
                    return Err(AppError::config(format!(
                        "NAERVAER_SMS_RATE must be a positive number, got '{v}'"
                    )))
                }
            },
        };
        let sms_url = pick!(sms_url).map(|u| u.trim().to_string());
        if let Some(u) = &sms_url {
            crate::config::check_sms_url(u)?;
        }
        let oidc_issuer = pick!(oidc_issuer)
            .map(|u| u.trim().to_string())
            .filter(|u| !u.is_empty());
        let oidc_client_id = pick!(oidc_client_id).map(|u| u.trim().to_string());
        let oidc_client_secret = pick!(oidc_client_secret).map(|u| u.trim().to_string());
        if let Some(issuer) = &oidc_issuer {
            if !(issuer.starts_with("https://") || issuer.starts_with("http://")) {
                return Err(AppError::config(format!(
                    "NAERVAER_OIDC_ISSUER must be the provider's issuer URL (https://login.microsoftonline.com/TENANT-ID/v2.0), got '{issuer}'"
                )));
            }
            if issuer.ends_with('/') {
                return Err(AppError::config(
                    "NAERVAER_OIDC_ISSUER must be written exactly as the provider's discovery document names it, without a trailing slash",
                ));
            }
            if issuer.contains("/common/") || issuer.contains("/organizations/") {
                return Err(AppError::config(
                    "NAERVAER_OIDC_ISSUER must name the municipality's own tenant (its id), not common or organizations",
                ));
            }
            if oidc_client_id.as_deref().unwrap_or("").is_empty()
                || oidc_client_secret.as_deref().unwrap_or("").is_empty()
            {
                return Err(AppError::config(
                    "NAERVAER_OIDC_ISSUER is set: set NAERVAER_OIDC_CLIENT_ID and NAERVAER_OIDC_CLIENT_SECRET too (from the app registration)",
                ));
            }
        }
        let metrics_token = pick!(metrics_token).map(|t| t.trim().to_string());
        if let Some(t) = &metrics_token {
            if t.len() < 32 {
                return Err(AppError::config(
                    "NAERVAER_METRICS_TOKEN must be at least 32 characters (`naervaer secret` prints one)",
                ));
            }
        }
        let secret_key = pick!(secret_key).map(Secret::new);
        if let Some(k) = &secret_key {
            crate::crypto::SecretKey::new(k.expose())?;
        }
        Ok(Settings {
            secret_key,
            contact: pick!(contact).unwrap_or_else(|| "HR-avdelingen".into()),
            mail_rate,
            mail_workers: number("NAERVAER_MAIL_WORKERS", pick!(mail_workers), 16, 1)?,
            mail_claim_timeout_secs: number(
                "NAERVAER_MAIL_CLAIM_TIMEOUT_SECS",
                pick!(mail_claim_timeout_secs),
                120,
                1,
            )?,
            reminder_max: number("NAERVAER_REMINDER_MAX", pick!(reminder_max), 2, 0)?,
            reminder_interval_hours: number(
                "NAERVAER_REMINDER_INTERVAL_HOURS",
                pick!(reminder_interval_hours),
                72,
                1,
            )?,
            retention_days: number("NAERVAER_RETENTION_DAYS", pick!(retention_days), 0, 0)?,
            response_retention_days: match pick!(response_retention_days) {
                None => None,
                Some(v) => Some(number("NAERVAER_RESPONSE_RETENTION_DAYS", Some(v), 0, 0)?),
            },
            employee_retention_days: number(
                "NAERVAER_EMPLOYEE_RETENTION_DAYS",
                pick!(employee_retention_days),
                180,
                1,
            )?,
            absence_retention_years: number(
                "NAERVAER_ABSENCE_RETENTION_YEARS",
                pick!(absence_retention_years),
                5,
                0,
            )?,
            group_commit: match pick!(group_commit).as_deref().map(str::trim) {
                None | Some("true") | Some("1") | Some("yes") => true,
                Some("false") | Some("0") | Some("no") => false,
                Some(v) => {
                    return Err(AppError::config(format!(
                        "NAERVAER_GROUP_COMMIT must be true or false, got '{v}'"
                    )))
                }
            },
            trusted_proxies: match pick!(trusted_proxies) {
                None => Vec::new(),
                Some(v) => parse_proxies(&v)?,
            },
            metrics_bind: pick!(metrics_bind).map(|b| b.trim().to_string()),
            metrics_token: metrics_token.map(Secret::new),
            account_days: number("NAERVAER_ACCOUNT_DAYS", pick!(account_days), 21, 1)?,
            database_url: Secret::new(database_url),
            bind,
            base_url,
            min_group_size,
            lang,
            pool_size,
            smtp_url: pick!(smtp_url).map(Secret::new),
            mail_from: pick!(mail_from).unwrap_or_else(|| "naervaer <noreply@localhost>".into()),
            outbox_dir: pick!(outbox_dir).map(PathBuf::from),
            sms_url: sms_url.map(Secret::new),
            sms_rate,
            oidc_issuer,
            oidc_client_id,
            oidc_client_secret: oidc_client_secret.map(Secret::new),
            oidc_claim: pick!(oidc_claim)
                .map(|c| c.trim().to_string())
                .filter(|c| !c.is_empty())
                .unwrap_or_else(|| "email".into()),
            log_format,
        })
    }

    /// Whether SMS can be sent: to a provider, or into the outbox folder.
    pub fn sms_ready(&self) -> bool {
        self.sms_url.is_some() || self.outbox_dir.is_some()
    }

    /// The key that derives survey links and paper codes; required by every
    /// command that opens rounds, sends mail or accepts answers.
    pub fn key(&self) -> Result<crate::crypto::SecretKey, AppError> {
        match &self.secret_key {
            Some(k) => crate::crypto::SecretKey::new(k.expose()),
            None => Err(AppError::config(
                "NAERVAER_SECRET_KEY is not set; `naervaer secret` prints a new one. Keep it: \
                 survey links already sent stop working if it changes",
            )),
        }
    }

    /// The effective settings as `KEY=value` lines, secrets masked.
    pub fn describe(&self) -> String {
        let lines = [
            (
                "NAERVAER_DATABASE_URL",
                mask_url(self.database_url.expose()),
            ),
            ("NAERVAER_BIND", self.bind.clone()),
            ("NAERVAER_BASE_URL", self.base_url.clone()),
            ("NAERVAER_MIN_GROUP_SIZE", self.min_group_size.to_string()),
            ("NAERVAER_LANG", self.lang.to_string()),
            ("NAERVAER_POOL_SIZE", self.pool_size.to_string()),
            (
                "NAERVAER_SMTP_URL",
                self.smtp_url
                    .as_ref()
                    .map(|s| mask_url(s.expose()))
                    .unwrap_or_else(|| "(unset)".into()),
            ),
            ("NAERVAER_MAIL_FROM", self.mail_from.clone()),
            (
                "NAERVAER_OUTBOX_DIR",
                self.outbox_dir
                    .as_ref()
                    .map(|p| p.display().to_string())
                    .unwrap_or_else(|| "(unset)".into()),
            ),
            (
                "NAERVAER_SMS_URL",
                self.sms_url
                    .as_ref()
                    .map(|s| mask_url(s.expose()))
                    .unwrap_or_else(|| "(unset)".into()),
            ),
            ("NAERVAER_SMS_RATE", self.sms_rate.to_string()),
            (
                "NAERVAER_OIDC_ISSUER",
                self.oidc_issuer.clone().unwrap_or_else(|| "(unset)".into()),
            ),
            (
                "NAERVAER_OIDC_CLIENT_ID",
                self.oidc_client_id
                    .clone()
                    .unwrap_or_else(|| "(unset)".into()),
            ),
            (
                "NAERVAER_OIDC_CLIENT_SECRET",
                self.oidc_client_secret
                    .as_ref()
                    .map(|_| "***".to_string())
                    .unwrap_or_else(|| "(unset)".into()),
            ),
            ("NAERVAER_OIDC_CLAIM", self.oidc_claim.clone()),
            (
                "NAERVAER_LOG_FORMAT",
                match self.log_format {
                    LogFormat::Text => "text".into(),
                    LogFormat::Json => "json".into(),
                },
            ),
            (
                "NAERVAER_SECRET_KEY",
                self.secret_key
                    .as_ref()
                    .map(|_| "***".to_string())
                    .unwrap_or_else(|| "(unset)".into()),
            ),
            ("NAERVAER_CONTACT", self.contact.clone()),
            ("NAERVAER_MAIL_RATE", self.mail_rate.to_string()),
            ("NAERVAER_MAIL_WORKERS", self.mail_workers.to_string()),
            (
                "NAERVAER_MAIL_CLAIM_TIMEOUT_SECS",
                self.mail_claim_timeout_secs.to_string(),
            ),
            ("NAERVAER_REMINDER_MAX", self.reminder_max.to_string()),
            (
                "NAERVAER_REMINDER_INTERVAL_HOURS",
                self.reminder_interval_hours.to_string(),
            ),
            ("NAERVAER_RETENTION_DAYS", self.retention_days.to_string()),
            (
                "NAERVAER_RESPONSE_RETENTION_DAYS",
                self.response_retention_days
                    .map_or("(unset)".into(), |d| d.to_string()),
            ),
            (
                "NAERVAER_EMPLOYEE_RETENTION_DAYS",
                self.employee_retention_days.to_string(),
            ),
            (
                "NAERVAER_ABSENCE_RETENTION_YEARS",
                self.absence_retention_years.to_string(),
            ),
            ("NAERVAER_GROUP_COMMIT", self.group_commit.to_string()),
            (
                "NAERVAER_TRUSTED_PROXIES",
                if self.trusted_proxies.is_empty() {
                    "(unset)".into()
                } else {
                    self.trusted_proxies
                        .iter()
                        .map(ToString::to_string)
                        .collect::<Vec<_>>()
                        .join(",")
                },
            ),
            (
                "NAERVAER_METRICS_BIND",
                self.metrics_bind
                    .clone()
                    .unwrap_or_else(|| "(unset)".into()),
            ),
            (
                "NAERVAER_METRICS_TOKEN",
                self.metrics_token
                    .as_ref()
                    .map(|_| "***".to_string())
                    .unwrap_or_else(|| "(unset)".into()),
            ),
            ("NAERVAER_ACCOUNT_DAYS", self.account_days.to_string()),
        ];
        debug_assert_eq!(lines.len(), KEYS.len());
        lines.iter().map(|(k, v)| format!("{k}={v}\n")).collect()
    }
}

/// An SMS provider's URL in its parts: `twilio://ACCOUNT_SID:AUTH_TOKEN@host?from=SENDER`
/// (https), or `twilio+http://…` (plain HTTP, for a local proxy). Read when
/// the settings are, so that a typo is found at start, not at the first
/// message; the provider takes its parts from here.
#[derive(Debug, Clone)]
pub struct SmsUrl {
    /// `https://host[:port]` or `http://…`.
    pub endpoint: String,
    pub account: String,
    pub token: Secret,
    pub from: String,
}

impl SmsUrl {
    pub fn parse(url: &str) -> Result<SmsUrl, String> {
        let parsed = url::Url::parse(url).map_err(|e| format!("not a URL: {e}"))?;
        let scheme = match parsed.scheme() {
            "twilio" => "https",
            "twilio+http" => "http",
            other => return Err(format!("unknown SMS provider «{other}»")),
        };
        let host = parsed
            .host_str()
            .filter(|h| !h.is_empty())
            .ok_or("the URL names no host (api.twilio.com)")?;
        let endpoint = match parsed.port() {
            Some(p) => format!("{scheme}://{host}:{p}"),
            None => format!("{scheme}://{host}"),
        };
        let decode = |s: &str| {
            percent_encoding::percent_decode_str(s)
                .decode_utf8_lossy()
                .into_owned()
        };
        let account = decode(parsed.username());
        let token = decode(parsed.password().unwrap_or(""));
        if account.is_empty() || token.is_empty() {
            return Err("the account SID and auth token are missing".into());
        }
        let from = parsed
            .query_pairs()
            .find(|(k, _)| k == "from")
            .map(|(_, v)| v.into_owned())
            .filter(|v| !v.trim().is_empty())
            .ok_or("?from= (the sender: a number, an 11-character name, or a messaging service MG…) is missing")?;
        Ok(SmsUrl {
            endpoint,
            account,
            token: Secret::new(token),
            from,
        })
    }
}

/// [`SmsUrl::parse`] as a configuration error.
pub fn check_sms_url(url: &str) -> Result<(), AppError> {
    SmsUrl::parse(url).map(|_| ()).map_err(|why| {
        AppError::config(format!(
            "NAERVAER_SMS_URL '{}': {why}; use twilio://ACCOUNT_SID:AUTH_TOKEN@api.twilio.com?from=SENDER",
            mask_url(url)
        ))
    })
}

/// `10.0.0.5, 10.1.0.0/16, ::1`: addresses (as /32 or /128) and networks,
/// separated by commas or spaces.
fn parse_proxies(v: &str) -> Result<Vec<ipnet::IpNet>, AppError> {
    v.split([',', ' '])
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .map(|p| {
            p.parse::<ipnet::IpNet>()
                .or_else(|_| p.parse::<std::net::IpAddr>().map(ipnet::IpNet::from))
                .map_err(|_| {
                    AppError::config(format!(
                        "NAERVAER_TRUSTED_PROXIES: '{p}' is neither an address nor a network like 10.0.0.0/8"
                    ))
                })
        })
        .collect()
}
