//! Configuration: environment variables (and an optional `.env`) turned once into a validated
//! [`Config`].
//!
//! Two stages, as ripgrep does with its arguments: [`RawConfig`] is what the environment says, as
//! strings; [`Config::from_raw`] checks every value and reports *all* mistakes at once, each naming
//! the variable and the fix. Later modules trust a `Config`. This module reads no files other than
//! through the loader in `main` and performs no network I/O.

mod channels;
mod cloud;
mod effective;
mod raw;
mod validate;

pub use channels::ChannelSettings;
pub use raw::RawConfig;
pub use validate::{parse_bool, parse_duration, DEFAULT_LISTEN_ADDR};

use std::collections::BTreeMap;
use std::fmt;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use serde::Serialize;
use url::Url;

use crate::huawei::Site;
use crate::messages::Lang;
use crate::policy::Cadence;
use crate::secret::Secret;

/// The three thresholds, in GB: `t1 < t2 < t3`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Thresholds {
    /// Below it: shutdown (level 1).
    pub t1: f64,
    /// Below it: high-frequency alerts (level 2).
    pub t2: f64,
    /// Below it: normal alerts (level 3).
    pub t3: f64,
}

impl Default for Thresholds {
    fn default() -> Self {
        Self {
            t1: 200.0,
            t2: 300.0,
            t3: 500.0,
        }
    }
}

/// How the shutdown guard acts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ShutdownMode {
    /// Run `SHUTDOWN_COMMAND`.
    Command,
    /// Stop the instance through the ECS API (`os-stop`), so it can be started again.
    HuaweiApi,
    /// Notify only.
    Off,
}

/// A Flexus L instance as the ECS API knows it: what `SHUTDOWN_MODE=huawei-api` stops and
/// `AUTO_START` starts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct Target {
    /// Shown in messages and in the `server` label.
    pub name: String,
    pub server_id: String,
    pub region: String,
    pub project_id: String,
}

/// Who evaluates readings when Prometheus may be alive.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum FallbackMode {
    /// Evaluate unless the watchdog heartbeat arrived within `WATCHDOG_TIMEOUT`.
    Auto,
    Always,
    Never,
}

/// The validated configuration.
#[derive(Debug, Clone, Serialize)]
pub struct Config {
    pub access_key: Option<Secret>,
    pub secret_key: Option<Secret>,
    pub domain_id: Option<String>,
    pub free_resource_ids: Vec<String>,
    pub telegram_bot_token: Option<Secret>,
    pub telegram_chat_id: Option<String>,
    pub server_name: String,
    pub thresholds: Thresholds,
    pub debug_mode: bool,
    pub site: Site,
    pub bss_endpoint: Url,
    #[serde(with = "humantime_serde_compat")]
    pub poll_interval: Duration,
    #[serde(with = "humantime_serde_compat")]
    pub http_timeout: Duration,
    #[serde(with = "humantime_serde_compat")]
    pub reading_max_age: Duration,
    pub listen_addr: SocketAddr,
    pub state_dir: PathBuf,
    pub webhook_token: Option<Secret>,
    pub telegram_api_url: Url,
    pub telegram_thread_id: Option<i64>,
    /// Channels besides Telegram.
    pub channels: ChannelSettings,
    pub message_lang: Lang,
    pub cadence: Cadence,
    pub shutdown_mode: ShutdownMode,
    /// argv, run without a shell.
    pub shutdown_command: Vec<String>,
    #[serde(with = "humantime_serde_compat")]
    pub shutdown_delay: Duration,
    #[serde(with = "humantime_serde_compat")]
    pub shutdown_command_timeout: Duration,
    /// After the guard acted, shut down again on a later boot in the same cycle (the original did).
    pub shutdown_repeat_after_boot: bool,
    pub dry_run: bool,
    pub fallback: FallbackMode,
    #[serde(with = "humantime_serde_compat")]
    pub watchdog_timeout: Duration,
    pub poll_failures_before_alert: u32,
    /// Package id → the instance it belongs to (`FLEXUS_INSTANCES`, or `ECS_SERVER_ID` with
    /// `HUAWEICLOUD_REGION` and `HUAWEICLOUD_PROJECT_ID` for every package).
    pub targets: BTreeMap<String, Target>,
    pub region: Option<String>,
    pub project_id: Option<String>,
    /// ECS endpoint; `{region}` is replaced by the instance's region.
    pub ecs_endpoint: String,
    pub rms_endpoint: Url,
    /// Stop with `HARD` (power off) instead of `SOFT` (OS shutdown).
    pub ecs_hard_stop: bool,
    /// After a `SOFT` stop that has not finished in this time, stop with `HARD`.
    pub ecs_hard_stop_after: Option<Duration>,
    #[serde(with = "humantime_serde_compat")]
    pub ecs_job_timeout: Duration,
    pub auto_start: bool,
}

/// One configuration mistake.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    pub variable: String,
    pub value: String,
    pub problem: String,
    pub fix: String,
}

impl ConfigError {
    fn new(
        variable: &str,
        value: &str,
        problem: impl Into<String>,
        fix: impl Into<String>,
    ) -> Self {
        Self {
            variable: variable.into(),
            value: value.into(),
            problem: problem.into(),
            fix: fix.into(),
        }
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.value.is_empty() {
            write!(f, "{}: {}; fix: {}", self.variable, self.problem, self.fix)
        } else {
            write!(
                f,
                "{}={:?}: {}; fix: {}",
                self.variable, self.value, self.problem, self.fix
            )
        }
    }
}

/// All mistakes found, so the user can fix them in one go.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigErrors(pub Vec<ConfigError>);

impl fmt::Display for ConfigErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "invalid configuration ({} problem{}):",
            self.0.len(),
            if self.0.len() == 1 { "" } else { "s" }
        )?;
        for e in &self.0 {
            writeln!(f, "  - {e}")?;
        }
        Ok(())
    }
}

impl std::error::Error for ConfigErrors {}

impl Config {
    /// Reads the process environment (after `.env` was loaded by the caller).
    ///
    /// # Errors
    /// See [`Self::from_raw`].
    pub fn from_env() -> Result<Self, ConfigErrors> {
        Self::from_raw(&RawConfig::from_pairs(std::env::vars())?)
    }

    /// The credentials, or an error naming what is missing.
    ///
    /// # Errors
    /// When AK or SK is not set.
    pub fn credentials(&self) -> Result<crate::huawei::transport::Credentials, ConfigErrors> {
        let mut errors = Vec::new();
        if self.access_key.is_none() {
            errors.push(ConfigError::new(
                "HUAWEICLOUD_SDK_AK",
                "",
                "is not set",
                "put your Access Key ID in .env (it needs BSS ReadonlyAccess)",
            ));
        }
        if self.secret_key.is_none() {
            errors.push(ConfigError::new(
                "HUAWEICLOUD_SDK_SK",
                "",
                "is not set",
                "put your Secret Access Key in .env",
            ));
        }
        match (&self.access_key, &self.secret_key) {
            (Some(ak), Some(sk)) => Ok(crate::huawei::transport::Credentials {
                access_key: ak.clone(),
                secret_key: sk.clone(),
            }),
            _ => Err(ConfigErrors(errors)),
        }
    }

    /// Checks what a polling command (`serve`, `check`) needs beyond [`Self::from_raw`].
    ///
    /// # Errors
    /// Missing credentials or ids.
    pub fn require_polling(&self) -> Result<(), ConfigErrors> {
        let mut errors = match self.credentials() {
            Ok(_) => Vec::new(),
            Err(e) => e.0,
        };
        if self.free_resource_ids.is_empty() {
            errors.push(ConfigError::new("FREE_RESOURCE_IDS", "", "is not set", "list your traffic package ids, comma-separated; `flexus-traffic-monitor discover` prints a ready line"));
        }
        if errors.is_empty() {
            Ok(())
        } else {
            Err(ConfigErrors(errors))
        }
    }

    /// Checks what `serve` needs: a webhook token whenever the address is reachable from elsewhere.
    ///
    /// # Errors
    /// A non-loopback `LISTEN_ADDR` without `WEBHOOK_TOKEN`.
    pub fn require_serving(&self) -> Result<(), ConfigErrors> {
        if !self.listen_addr.ip().is_loopback() && self.webhook_token.is_none() {
            return Err(ConfigErrors(vec![ConfigError::new(
                "WEBHOOK_TOKEN",
                "",
                format!("is required because LISTEN_ADDR={} is reachable from other machines (anyone could post alerts)", self.listen_addr),
                "set WEBHOOK_TOKEN to a long random value and give Alertmanager the same token, or listen on 127.0.0.1",
            )]));
        }
        Ok(())
    }

    /// The server name of a package: its instance's name when known, else `SERVER_NAME`.
    pub fn server_for(&self, free_resource_id: &str) -> &str {
        self.targets
            .get(free_resource_id)
            .map_or(self.server_name.as_str(), |t| t.name.as_str())
    }

    /// Settings that are valid but probably unwise, as sentences for the log and `config`.
    pub fn warnings(&self) -> Vec<String> {
        let mut w = Vec::new();
        if validate::in_temp_dir(&self.state_dir) {
            w.push(format!(
                "STATE_DIR={} is inside the temp directory, which many systems wipe at reboot (alert cadence and shutdown records would be lost); use a persistent directory such as /var/lib/flexus-traffic-monitor",
                self.state_dir.display()
            ));
        }
        if !self.telegram_enabled() && self.channels.configured().is_empty() {
            w.push("TELEGRAM_BOT_TOKEN or TELEGRAM_CHAT_ID is not set and no other channel is configured: messages are only printed on standard error".into());
        }
        w
    }

    /// Whether Telegram is configured.
    pub fn telegram_enabled(&self) -> bool {
        self.telegram_bot_token.is_some() && self.telegram_chat_id.is_some()
    }
}

/// Serializes durations as human text (`10m`) in JSON output.
mod humantime_serde_compat {
    use std::time::Duration;
    pub fn serialize<S: serde::Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&humantime::format_duration(*d).to_string())
    }
}

#[cfg(test)]
mod tests;
