//! Configuration: environment variables (and an optional `.env`) turned once into a validated
//! [`Config`].
//!
//! Two stages, as ripgrep does with its arguments: [`RawConfig`] is what the environment says, as
//! strings; [`Config::from_raw`] checks every value and reports *all* mistakes at once, each naming
//! the variable and the fix. Later modules trust a `Config`. This module reads no files other than
//! through the loader in `main` and performs no network I/O.

use std::collections::BTreeMap;
use std::fmt;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::{Deserialize, Serialize};
use url::Url;

use crate::huawei::Site;
use crate::messages::Lang;
use crate::policy::Cadence;
use crate::secret::Secret;

/// Every variable the program reads, as given.
#[derive(Debug, Default, Deserialize)]
pub struct RawConfig {
    // The original program's variables (same names, same meaning).
    pub huaweicloud_sdk_ak: Option<String>,
    pub huaweicloud_sdk_sk: Option<String>,
    pub free_resource_ids: Option<String>,
    pub telegram_bot_token: Option<String>,
    pub telegram_chat_id: Option<String>,
    pub server_name: Option<String>,
    pub threshold_level_1: Option<String>,
    pub threshold_level_2: Option<String>,
    pub threshold_level_3: Option<String>,
    pub debug_mode: Option<String>,
    // New ones.
    pub huaweicloud_site: Option<String>,
    pub huaweicloud_bss_endpoint: Option<String>,
    pub huaweicloud_sdk_domain_id: Option<String>,
    pub poll_interval: Option<String>,
    pub http_timeout: Option<String>,
    pub reading_max_age: Option<String>,
    pub listen_addr: Option<String>,
    pub state_dir: Option<String>,
    /// Set by systemd's `StateDirectory=`.
    pub state_directory: Option<String>,
    pub webhook_token: Option<String>,
    pub telegram_api_url: Option<String>,
    pub telegram_thread_id: Option<String>,
    pub message_lang: Option<String>,
    pub level3_repeat: Option<String>,
    pub level2_repeat: Option<String>,
    pub daily_report: Option<String>,
    pub shutdown_mode: Option<String>,
    pub shutdown_command: Option<String>,
    pub shutdown_delay: Option<String>,
    pub shutdown_command_timeout: Option<String>,
    pub shutdown_repeat_after_boot: Option<String>,
    pub dry_run: Option<String>,
    pub fallback: Option<String>,
    pub watchdog_timeout: Option<String>,
    pub poll_failures_before_alert: Option<String>,
    pub huaweicloud_region: Option<String>,
    pub huaweicloud_project_id: Option<String>,
    pub ecs_server_id: Option<String>,
    pub flexus_instances: Option<String>,
    pub huaweicloud_ecs_endpoint: Option<String>,
    pub huaweicloud_rms_endpoint: Option<String>,
    pub ecs_stop_type: Option<String>,
    pub ecs_hard_stop_after: Option<String>,
    pub ecs_job_timeout: Option<String>,
    pub auto_start: Option<String>,
}

impl RawConfig {
    /// Reads the variables from `(name, value)` pairs (the process environment in production).
    ///
    /// # Errors
    /// Only when a value is not valid UTF-8 text; values are checked by [`Config::from_raw`].
    pub fn from_pairs(
        pairs: impl IntoIterator<Item = (String, String)>,
    ) -> Result<Self, ConfigErrors> {
        envy::from_iter(pairs).map_err(|e| {
            ConfigErrors(vec![ConfigError::new(
                "environment",
                "",
                e.to_string(),
                "check the variables' values",
            )])
        })
    }
}

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

/// Parses one `FLEXUS_INSTANCES` entry: `PACKAGE_ID:ECS_SERVER_ID:NAME[:REGION:PROJECT_ID]`.
fn parse_instance(
    entry: &str,
    region: Option<&str>,
    project: Option<&str>,
) -> Result<(String, Target), &'static str> {
    let parts: Vec<&str> = entry.split(':').map(str::trim).collect();
    let ok_id = |s: &str| {
        !s.is_empty()
            && s.chars()
                .all(|ch| ch.is_ascii_alphanumeric() || ch == '-' || ch == '_')
    };
    let (package, server, name) = match parts.as_slice() {
        [p, s, n] | [p, s, n, _, _] => (*p, *s, *n),
        _ => return Err("does not have 3 or 5 fields"),
    };
    if !ok_id(package) || !ok_id(server) || name.is_empty() {
        return Err("has an empty or malformed field");
    }
    let (region, project) = match parts.as_slice() {
        [_, _, _, r, p] => (Some(*r), Some(*p)),
        _ => (region, project),
    };
    match (region, project) {
        (Some(r), Some(p)) if ok_id(r) && ok_id(p) => Ok((
            package.to_string(),
            Target { name: name.to_string(), server_id: server.to_string(), region: r.to_string(), project_id: p.to_string() },
        )),
        _ => Err("has no region and project id (give them in the entry, or set HUAWEICLOUD_REGION and HUAWEICLOUD_PROJECT_ID)"),
    }
}

/// Default listening address: loopback only.
pub const DEFAULT_LISTEN_ADDR: &str = "127.0.0.1:9184";

/// Parses a duration such as `90s`, `10m`, `1h`, `24h` (or a bare number of seconds).
pub fn parse_duration(s: &str) -> Option<Duration> {
    let s = s.trim();
    if let Ok(secs) = s.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    humantime::parse_duration(s).ok()
}

/// `true|1|t` (any case), as the original's `DEBUG_MODE`.
fn original_bool(s: &str) -> bool {
    matches!(s.trim().to_ascii_lowercase().as_str(), "true" | "1" | "t")
}

/// Strict booleans for new variables.
pub fn parse_bool(s: &str) -> Option<bool> {
    match s.trim().to_ascii_lowercase().as_str() {
        "true" | "1" | "t" | "yes" | "y" | "on" => Some(true),
        "false" | "0" | "f" | "no" | "n" | "off" | "" => Some(false),
        _ => None,
    }
}

/// A value that is set and not blank.
fn present(v: &Option<String>) -> Option<&str> {
    v.as_deref().map(str::trim).filter(|s| !s.is_empty())
}

/// Is `path` inside the system temp directory (wiped at reboot on many systems)?
fn in_temp_dir(path: &Path) -> bool {
    let temp = std::env::temp_dir();
    let candidates = [
        temp.as_path(),
        Path::new("/tmp"),
        Path::new("/var/tmp"),
        Path::new("/dev/shm"),
    ];
    let abs = if path.is_absolute() {
        path.to_path_buf()
    } else {
        std::env::current_dir().unwrap_or_default().join(path)
    };
    candidates.iter().any(|t| abs.starts_with(t))
}

struct Checker {
    errors: Vec<ConfigError>,
}

impl Checker {
    fn error(
        &mut self,
        var: &str,
        value: &str,
        problem: impl Into<String>,
        fix: impl Into<String>,
    ) {
        self.errors.push(ConfigError::new(var, value, problem, fix));
    }

    fn duration(
        &mut self,
        var: &str,
        raw: &Option<String>,
        default: Duration,
        min: Duration,
    ) -> Duration {
        let Some(s) = present(raw) else {
            return default;
        };
        match parse_duration(s) {
            Some(d) if d >= min => d,
            Some(_) => {
                self.error(
                    var,
                    s,
                    format!("must be at least {}", humantime::format_duration(min)),
                    "use a longer duration",
                );
                default
            }
            None => {
                self.error(
                    var,
                    s,
                    "is not a duration",
                    "write a number with a unit, e.g. 90s, 10m, 1h or 24h",
                );
                default
            }
        }
    }

    fn boolean(&mut self, var: &str, raw: &Option<String>, default: bool) -> bool {
        let Some(s) = present(raw) else {
            return default;
        };
        parse_bool(s).unwrap_or_else(|| {
            self.error(var, s, "is not a boolean", "write true or false");
            default
        })
    }

    fn threshold(&mut self, var: &str, raw: &Option<String>, default: f64) -> f64 {
        let Some(s) = present(raw) else {
            return default;
        };
        match s.parse::<f64>() {
            Ok(x) if x.is_finite() && x >= 0.0 => x,
            _ => {
                self.error(
                    var,
                    s,
                    "is not a non-negative number of GB",
                    "write a number such as 200 or 12.5",
                );
                default
            }
        }
    }
}

impl Config {
    /// Validates the raw values.
    ///
    /// # Errors
    /// Every mistake found, each naming its variable and the fix.
    pub fn from_raw(raw: &RawConfig) -> Result<Self, ConfigErrors> {
        let mut c = Checker { errors: Vec::new() };

        let secret = |v: &Option<String>| present(v).map(Secret::new);
        let free_resource_ids: Vec<String> = present(&raw.free_resource_ids)
            .map(|s| {
                s.split(',')
                    .map(str::trim)
                    .filter(|s| !s.is_empty())
                    .map(str::to_string)
                    .collect()
            })
            .unwrap_or_default();
        for id in &free_resource_ids {
            if !id
                .chars()
                .all(|ch| ch.is_ascii_alphanumeric() || ch == '-' || ch == '_')
            {
                c.error(
                    "FREE_RESOURCE_IDS",
                    id,
                    "is not a free resource id (letters, digits and '-' only)",
                    "separate ids with commas; run `flexus-traffic-monitor discover` to list yours",
                );
            }
        }
        let mut seen = std::collections::HashSet::new();
        for id in &free_resource_ids {
            if !seen.insert(id) {
                c.error(
                    "FREE_RESOURCE_IDS",
                    id,
                    "is listed twice",
                    "list each id once",
                );
            }
        }

        let t1 = c.threshold("THRESHOLD_LEVEL_1", &raw.threshold_level_1, 200.0);
        let t2 = c.threshold("THRESHOLD_LEVEL_2", &raw.threshold_level_2, 300.0);
        let t3 = c.threshold("THRESHOLD_LEVEL_3", &raw.threshold_level_3, 500.0);
        if !(t1 < t2 && t2 < t3) {
            c.error(
                "THRESHOLD_LEVEL_1/2/3",
                &format!("{t1}/{t2}/{t3}"),
                "must satisfy THRESHOLD_LEVEL_1 < THRESHOLD_LEVEL_2 < THRESHOLD_LEVEL_3 (shutdown < high-frequency alert < normal alert)",
                "e.g. THRESHOLD_LEVEL_1=200, THRESHOLD_LEVEL_2=300, THRESHOLD_LEVEL_3=500",
            );
        }

        let site = match present(&raw.huaweicloud_site) {
            None => Site::Cn,
            Some(s) => Site::parse(s).unwrap_or_else(|| {
                c.error(
                    "HUAWEICLOUD_SITE",
                    s,
                    "is not a known site",
                    "use cn (China), intl (international) or eu (Europe)",
                );
                Site::Cn
            }),
        };
        let bss_endpoint = match present(&raw.huaweicloud_bss_endpoint) {
            None => Url::parse(site.bss_endpoint()).expect("built-in endpoints are valid URLs"),
            Some(s) => match Url::parse(s) {
                Ok(u)
                    if matches!(u.scheme(), "http" | "https")
                        && u.host_str().is_some()
                        && u.query().is_none() =>
                {
                    u
                }
                _ => {
                    c.error("HUAWEICLOUD_BSS_ENDPOINT", s, "is not an http(s) base URL", "write e.g. https://bss.myhuaweicloud.com, or unset it to use HUAWEICLOUD_SITE");
                    Url::parse(site.bss_endpoint()).expect("built-in endpoints are valid URLs")
                }
            },
        };
        let domain_id = present(&raw.huaweicloud_sdk_domain_id).map(str::to_string);
        if let Some(id) = &domain_id {
            if !id.chars().all(|ch| ch.is_ascii_alphanumeric()) {
                c.error(
                    "HUAWEICLOUD_SDK_DOMAIN_ID",
                    id,
                    "is not an account id (32 hex characters)",
                    "copy the account ID from My Credentials in the console, or unset it",
                );
            }
        }

        let poll_interval = c.duration(
            "POLL_INTERVAL",
            &raw.poll_interval,
            Duration::from_secs(600),
            Duration::from_secs(1),
        );
        let http_timeout = c.duration(
            "HTTP_TIMEOUT",
            &raw.http_timeout,
            Duration::from_secs(15),
            Duration::from_millis(100),
        );
        let default_max_age = (poll_interval * 3).max(Duration::from_secs(3600));
        let reading_max_age = c.duration(
            "READING_MAX_AGE",
            &raw.reading_max_age,
            default_max_age,
            Duration::from_secs(1),
        );
        if reading_max_age < poll_interval {
            c.error("READING_MAX_AGE", &humantime::format_duration(reading_max_age).to_string(), "is shorter than POLL_INTERVAL, so every reading would be dropped before the next poll", "make it at least POLL_INTERVAL (default: 3 × POLL_INTERVAL, at least 1h)");
        }

        let listen_addr = match present(&raw.listen_addr) {
            None => DEFAULT_LISTEN_ADDR
                .parse()
                .expect("the default address parses"),
            Some(s) => s.parse().unwrap_or_else(|_| {
                c.error(
                    "LISTEN_ADDR",
                    s,
                    "is not an address:port",
                    "write e.g. 127.0.0.1:9184 (or 0.0.0.0:9184 with WEBHOOK_TOKEN set)",
                );
                DEFAULT_LISTEN_ADDR
                    .parse()
                    .expect("the default address parses")
            }),
        };

        let state_dir = present(&raw.state_dir)
            .or(present(&raw.state_directory).map(|s| s.split(':').next().unwrap_or(s)))
            .map(PathBuf::from)
            .unwrap_or_else(|| PathBuf::from("state"));

        let server_name = present(&raw.server_name)
            .map(str::to_string)
            .unwrap_or_else(|| "flexus".to_string());
        let telegram_chat_id = present(&raw.telegram_chat_id).map(str::to_string);
        if let Some(id) = &telegram_chat_id {
            let ok = id
                .strip_prefix('-')
                .unwrap_or(id)
                .chars()
                .all(|ch| ch.is_ascii_digit())
                || id.starts_with('@');
            if !ok || id == "-" {
                c.error(
                    "TELEGRAM_CHAT_ID",
                    id,
                    "is not a chat id",
                    "use the numeric id (e.g. 123456789, or -100... for groups) or @channelname",
                );
            }
        }

        let webhook_token = present(&raw.webhook_token).map(Secret::new);
        if webhook_token
            .as_ref()
            .is_some_and(|t| t.expose().len() < 16)
        {
            c.error(
                "WEBHOOK_TOKEN",
                "[redacted]",
                "is shorter than 16 characters",
                "use a long random value, e.g. `openssl rand -hex 24`",
            );
        }
        let telegram_api_url = match present(&raw.telegram_api_url) {
            None => Url::parse("https://api.telegram.org").expect("valid"),
            Some(s) => match Url::parse(s) {
                Ok(u) if matches!(u.scheme(), "http" | "https") && u.host_str().is_some() => u,
                _ => {
                    c.error(
                        "TELEGRAM_API_URL",
                        s,
                        "is not an http(s) URL",
                        "unset it to use https://api.telegram.org",
                    );
                    Url::parse("https://api.telegram.org").expect("valid")
                }
            },
        };
        let telegram_thread_id = present(&raw.telegram_thread_id).and_then(|s| {
            s.parse::<i64>()
                .map_err(|_| {
                    c.error(
                        "TELEGRAM_THREAD_ID",
                        s,
                        "is not a number",
                        "use the forum topic's numeric id, or unset it",
                    )
                })
                .ok()
        });
        let message_lang = match present(&raw.message_lang) {
            None => Lang::Zh,
            Some(s) => Lang::parse(s).unwrap_or_else(|| {
                c.error(
                    "MESSAGE_LANG",
                    s,
                    "is not a supported language",
                    "use zh (Chinese, default) or en (English)",
                );
                Lang::Zh
            }),
        };
        let debug_mode = present(&raw.debug_mode).is_some_and(original_bool);
        let cadence = Cadence {
            level3_repeat: c.duration(
                "LEVEL3_REPEAT",
                &raw.level3_repeat,
                Duration::from_secs(24 * 3600),
                Duration::from_secs(1),
            ),
            level2_repeat: c.duration(
                "LEVEL2_REPEAT",
                &raw.level2_repeat,
                Duration::from_secs(3600),
                Duration::from_secs(1),
            ),
            daily_report: c.boolean("DAILY_REPORT", &raw.daily_report, true),
            debug: debug_mode,
        };
        let shutdown_mode = match present(&raw.shutdown_mode)
            .map(str::to_ascii_lowercase)
            .as_deref()
        {
            None | Some("command") => ShutdownMode::Command,
            Some("off") | Some("none") => ShutdownMode::Off,
            Some("huawei-api") => ShutdownMode::HuaweiApi,
            Some(other) => {
                c.error(
                    "SHUTDOWN_MODE",
                    other,
                    "is not a shutdown mode",
                    "use command (default), huawei-api or off",
                );
                ShutdownMode::Off
            }
        };
        let shutdown_command = match present(&raw.shutdown_command) {
            None => vec!["shutdown".to_string(), "-h".to_string(), "now".to_string()],
            Some(s) => match shell_words::split(s) {
                Ok(argv) if !argv.is_empty() => argv,
                _ => {
                    c.error(
                        "SHUTDOWN_COMMAND",
                        s,
                        "cannot be split into a program and its arguments",
                        "write e.g. `sudo -n shutdown -h now` (no shell: no pipes or `;`)",
                    );
                    Vec::new()
                }
            },
        };
        let shutdown_delay = c.duration(
            "SHUTDOWN_DELAY",
            &raw.shutdown_delay,
            Duration::from_secs(60),
            Duration::ZERO,
        );
        let shutdown_command_timeout = c.duration(
            "SHUTDOWN_COMMAND_TIMEOUT",
            &raw.shutdown_command_timeout,
            Duration::from_secs(60),
            Duration::from_secs(1),
        );
        let shutdown_repeat_after_boot = c.boolean(
            "SHUTDOWN_REPEAT_AFTER_BOOT",
            &raw.shutdown_repeat_after_boot,
            true,
        );
        let dry_run = c.boolean("DRY_RUN", &raw.dry_run, false);
        let fallback = match present(&raw.fallback)
            .map(str::to_ascii_lowercase)
            .as_deref()
        {
            None | Some("auto") => FallbackMode::Auto,
            Some("always") => FallbackMode::Always,
            Some("never") => FallbackMode::Never,
            Some(other) => {
                c.error(
                    "FALLBACK",
                    other,
                    "is not a fallback mode",
                    "use auto (default), always or never",
                );
                FallbackMode::Auto
            }
        };
        let watchdog_timeout = c.duration(
            "WATCHDOG_TIMEOUT",
            &raw.watchdog_timeout,
            Duration::from_secs(600),
            Duration::from_secs(1),
        );
        let poll_failures_before_alert = match present(&raw.poll_failures_before_alert) {
            None => 3,
            Some(s) => match s.parse::<u32>() {
                Ok(n) if n >= 1 => n,
                _ => {
                    c.error(
                        "POLL_FAILURES_BEFORE_ALERT",
                        s,
                        "is not a whole number of at least 1",
                        "write e.g. 3",
                    );
                    3
                }
            },
        };

        let region = present(&raw.huaweicloud_region).map(str::to_string);
        let project_id = present(&raw.huaweicloud_project_id).map(str::to_string);
        for (var, v) in [
            ("HUAWEICLOUD_REGION", &region),
            ("HUAWEICLOUD_PROJECT_ID", &project_id),
        ] {
            if let Some(v) = v {
                if !v
                    .chars()
                    .all(|ch| ch.is_ascii_alphanumeric() || ch == '-' || ch == '_')
                {
                    c.error(
                        var,
                        v,
                        "has characters an id cannot have",
                        "copy it from the console (My Credentials → API Credentials)",
                    );
                }
            }
        }
        let server_id = present(&raw.ecs_server_id).map(str::to_string);
        let mut targets = BTreeMap::new();
        if let Some(list) = present(&raw.flexus_instances) {
            for entry in list.split(',').map(str::trim).filter(|e| !e.is_empty()) {
                match parse_instance(entry, region.as_deref(), project_id.as_deref()) {
                    Ok((package, target)) => {
                        if targets.insert(package.clone(), target).is_some() {
                            c.error("FLEXUS_INSTANCES", &package, "lists this package twice", "give each package one instance");
                        }
                    }
                    Err(why) => c.error("FLEXUS_INSTANCES", entry, why, "write PACKAGE_ID:ECS_SERVER_ID:NAME[:REGION:PROJECT_ID], entries separated by commas; `discover` prints a ready line"),
                }
            }
        }
        let mut free_resource_ids = free_resource_ids;
        for package in targets.keys() {
            if !free_resource_ids.contains(package) {
                free_resource_ids.push(package.clone());
            }
        }
        let server_name_default = present(&raw.server_name)
            .map(str::to_string)
            .unwrap_or_else(|| "flexus".to_string());
        if let Some(server_id) = &server_id {
            match (&region, &project_id) {
                (Some(r), Some(p)) => {
                    for id in &free_resource_ids {
                        targets.entry(id.clone()).or_insert_with(|| Target {
                            name: server_name_default.clone(),
                            server_id: server_id.clone(),
                            region: r.clone(),
                            project_id: p.clone(),
                        });
                    }
                }
                _ => c.error("ECS_SERVER_ID", server_id, "needs HUAWEICLOUD_REGION and HUAWEICLOUD_PROJECT_ID too", "set both (the region, e.g. ap-southeast-1, and its project id from My Credentials)"),
            }
        }
        let ecs_endpoint = present(&raw.huaweicloud_ecs_endpoint)
            .map(str::to_string)
            .unwrap_or_else(|| "https://ecs.{region}.myhuaweicloud.com".into());
        if Url::parse(&ecs_endpoint.replace("{region}", "region"))
            .map(|u| !matches!(u.scheme(), "http" | "https"))
            .unwrap_or(true)
        {
            c.error(
                "HUAWEICLOUD_ECS_ENDPOINT",
                &ecs_endpoint,
                "is not an http(s) URL",
                "unset it to use https://ecs.{region}.myhuaweicloud.com",
            );
        }
        let rms_endpoint = match present(&raw.huaweicloud_rms_endpoint) {
            None => Url::parse("https://rms.myhuaweicloud.com").expect("valid"),
            Some(s) => Url::parse(s)
                .ok()
                .filter(|u| matches!(u.scheme(), "http" | "https"))
                .unwrap_or_else(|| {
                    c.error(
                        "HUAWEICLOUD_RMS_ENDPOINT",
                        s,
                        "is not an http(s) URL",
                        "unset it to use https://rms.myhuaweicloud.com",
                    );
                    Url::parse("https://rms.myhuaweicloud.com").expect("valid")
                }),
        };
        let ecs_hard_stop = match present(&raw.ecs_stop_type)
            .map(str::to_ascii_uppercase)
            .as_deref()
        {
            None | Some("SOFT") => false,
            Some("HARD") => true,
            Some(other) => {
                c.error(
                    "ECS_STOP_TYPE",
                    other,
                    "is not a stop type",
                    "use SOFT (OS shutdown, default) or HARD (power off)",
                );
                false
            }
        };
        let ecs_hard_stop_after = present(&raw.ecs_hard_stop_after).map(|_| {
            c.duration(
                "ECS_HARD_STOP_AFTER",
                &raw.ecs_hard_stop_after,
                Duration::from_secs(300),
                Duration::from_secs(1),
            )
        });
        let ecs_job_timeout = c.duration(
            "ECS_JOB_TIMEOUT",
            &raw.ecs_job_timeout,
            Duration::from_secs(600),
            Duration::from_secs(1),
        );
        let auto_start = c.boolean("AUTO_START", &raw.auto_start, false);
        if shutdown_mode == ShutdownMode::HuaweiApi {
            let unmapped: Vec<&String> = free_resource_ids
                .iter()
                .filter(|id| !targets.contains_key(*id))
                .collect();
            if !unmapped.is_empty() && domain_id.is_none() {
                c.error(
                    "ECS_SERVER_ID",
                    "",
                    format!("is needed with SHUTDOWN_MODE=huawei-api: no instance is known for {}", unmapped.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(", ")),
                    "set ECS_SERVER_ID, HUAWEICLOUD_REGION and HUAWEICLOUD_PROJECT_ID, or FLEXUS_INSTANCES, or HUAWEICLOUD_SDK_DOMAIN_ID to find them through RMS (`discover` prints the lines)",
                );
            }
        }
        if auto_start && shutdown_mode != ShutdownMode::HuaweiApi {
            c.error("AUTO_START", "true", "only works with SHUTDOWN_MODE=huawei-api (a server shut down by a command cannot be started from here)", "set SHUTDOWN_MODE=huawei-api, or AUTO_START=false");
        }

        if !c.errors.is_empty() {
            return Err(ConfigErrors(c.errors));
        }
        Ok(Self {
            targets,
            region,
            project_id,
            ecs_endpoint,
            rms_endpoint,
            ecs_hard_stop,
            ecs_hard_stop_after,
            ecs_job_timeout,
            auto_start,
            access_key: secret(&raw.huaweicloud_sdk_ak),
            secret_key: secret(&raw.huaweicloud_sdk_sk),
            domain_id,
            free_resource_ids,
            telegram_bot_token: secret(&raw.telegram_bot_token),
            telegram_chat_id,
            server_name,
            thresholds: Thresholds { t1, t2, t3 },
            debug_mode,
            site,
            bss_endpoint,
            poll_interval,
            http_timeout,
            reading_max_age,
            listen_addr,
            state_dir,
            webhook_token,
            telegram_api_url,
            telegram_thread_id,
            message_lang,
            cadence,
            shutdown_mode,
            shutdown_command,
            shutdown_delay,
            shutdown_command_timeout,
            shutdown_repeat_after_boot,
            dry_run,
            fallback,
            watchdog_timeout,
            poll_failures_before_alert,
        })
    }

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
        if in_temp_dir(&self.state_dir) {
            w.push(format!(
                "STATE_DIR={} is inside the temp directory, which many systems wipe at reboot (alert cadence and shutdown records would be lost); use a persistent directory such as /var/lib/flexus-traffic-monitor",
                self.state_dir.display()
            ));
        }
        if !self.telegram_enabled() {
            w.push("TELEGRAM_BOT_TOKEN or TELEGRAM_CHAT_ID is not set: messages are only printed on standard error".into());
        }
        w
    }

    /// Whether Telegram is configured.
    pub fn telegram_enabled(&self) -> bool {
        self.telegram_bot_token.is_some() && self.telegram_chat_id.is_some()
    }

    /// The effective settings as `(variable, value)` lines, secrets redacted.
    pub fn effective(&self) -> Vec<(&'static str, String)> {
        let opt = |v: &Option<String>| v.clone().unwrap_or_else(|| "(not set)".into());
        let sec = |v: &Option<Secret>| {
            if v.is_some() {
                "[redacted]".to_string()
            } else {
                "(not set)".to_string()
            }
        };
        let d = |d: Duration| humantime::format_duration(d).to_string();
        vec![
            ("HUAWEICLOUD_SDK_AK", sec(&self.access_key)),
            ("HUAWEICLOUD_SDK_SK", sec(&self.secret_key)),
            ("HUAWEICLOUD_SDK_DOMAIN_ID", opt(&self.domain_id)),
            ("HUAWEICLOUD_SITE", self.site.as_str().into()),
            ("HUAWEICLOUD_BSS_ENDPOINT", self.bss_endpoint.to_string()),
            (
                "FREE_RESOURCE_IDS",
                if self.free_resource_ids.is_empty() {
                    "(not set)".into()
                } else {
                    self.free_resource_ids.join(",")
                },
            ),
            ("SERVER_NAME", self.server_name.clone()),
            ("THRESHOLD_LEVEL_1", format!("{} GB", self.thresholds.t1)),
            ("THRESHOLD_LEVEL_2", format!("{} GB", self.thresholds.t2)),
            ("THRESHOLD_LEVEL_3", format!("{} GB", self.thresholds.t3)),
            ("TELEGRAM_BOT_TOKEN", sec(&self.telegram_bot_token)),
            ("TELEGRAM_CHAT_ID", opt(&self.telegram_chat_id)),
            ("DEBUG_MODE", self.debug_mode.to_string()),
            ("POLL_INTERVAL", d(self.poll_interval)),
            ("HTTP_TIMEOUT", d(self.http_timeout)),
            ("READING_MAX_AGE", d(self.reading_max_age)),
            ("LISTEN_ADDR", self.listen_addr.to_string()),
            ("STATE_DIR", self.state_dir.display().to_string()),
            ("WEBHOOK_TOKEN", sec(&self.webhook_token)),
            ("TELEGRAM_API_URL", self.telegram_api_url.to_string()),
            (
                "TELEGRAM_THREAD_ID",
                self.telegram_thread_id
                    .map(|t| t.to_string())
                    .unwrap_or_else(|| "(not set)".into()),
            ),
            (
                "MESSAGE_LANG",
                format!("{:?}", self.message_lang).to_lowercase(),
            ),
            ("LEVEL3_REPEAT", d(self.cadence.level3_repeat)),
            ("LEVEL2_REPEAT", d(self.cadence.level2_repeat)),
            ("DAILY_REPORT", self.cadence.daily_report.to_string()),
            (
                "SHUTDOWN_MODE",
                match self.shutdown_mode {
                    ShutdownMode::Command => "command".into(),
                    ShutdownMode::HuaweiApi => "huawei-api".into(),
                    ShutdownMode::Off => "off".into(),
                },
            ),
            (
                "SHUTDOWN_COMMAND",
                shell_words::join(&self.shutdown_command),
            ),
            ("SHUTDOWN_DELAY", d(self.shutdown_delay)),
            ("SHUTDOWN_COMMAND_TIMEOUT", d(self.shutdown_command_timeout)),
            (
                "SHUTDOWN_REPEAT_AFTER_BOOT",
                self.shutdown_repeat_after_boot.to_string(),
            ),
            ("DRY_RUN", self.dry_run.to_string()),
            ("FALLBACK", format!("{:?}", self.fallback).to_lowercase()),
            ("WATCHDOG_TIMEOUT", d(self.watchdog_timeout)),
            (
                "POLL_FAILURES_BEFORE_ALERT",
                self.poll_failures_before_alert.to_string(),
            ),
        ]
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
mod tests {
    use super::*;

    fn cfg(pairs: &[(&str, &str)]) -> Result<Config, ConfigErrors> {
        let raw = RawConfig::from_pairs(pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())))
            .unwrap();
        Config::from_raw(&raw)
    }

    #[test]
    fn defaults_match_the_original_and_the_design() {
        let c = cfg(&[]).unwrap();
        assert_eq!(
            c.thresholds,
            Thresholds {
                t1: 200.0,
                t2: 300.0,
                t3: 500.0
            }
        );
        assert_eq!(c.poll_interval, Duration::from_secs(600));
        assert_eq!(c.listen_addr.to_string(), "127.0.0.1:9184");
        assert_eq!(c.bss_endpoint.as_str(), "https://bss.myhuaweicloud.com/");
        assert_eq!(c.state_dir, PathBuf::from("state"));
        assert!(!c.debug_mode);
    }

    #[test]
    fn thresholds_out_of_order_are_refused_naming_the_variables() {
        let e = cfg(&[("THRESHOLD_LEVEL_1", "300"), ("THRESHOLD_LEVEL_2", "200")]).unwrap_err();
        assert!(
            e.to_string()
                .contains("THRESHOLD_LEVEL_1 < THRESHOLD_LEVEL_2"),
            "{e}"
        );
        assert!(cfg(&[("THRESHOLD_LEVEL_2", "200"), ("THRESHOLD_LEVEL_1", "200")]).is_err());
        assert!(cfg(&[("THRESHOLD_LEVEL_3", "lots")])
            .unwrap_err()
            .to_string()
            .contains("THRESHOLD_LEVEL_3=\"lots\""));
    }

    #[test]
    fn every_mistake_is_reported_at_once() {
        let e = cfg(&[
            ("POLL_INTERVAL", "often"),
            ("HUAWEICLOUD_SITE", "mars"),
            ("LISTEN_ADDR", "x"),
            ("HUAWEICLOUD_BSS_ENDPOINT", "ftp://x"),
        ])
        .unwrap_err();
        let vars: Vec<_> = e.0.iter().map(|e| e.variable.as_str()).collect();
        assert_eq!(
            vars,
            [
                "HUAWEICLOUD_SITE",
                "HUAWEICLOUD_BSS_ENDPOINT",
                "POLL_INTERVAL",
                "LISTEN_ADDR"
            ]
        );
        assert!(e.to_string().contains("e.g. 90s, 10m, 1h"));
    }

    #[test]
    fn sites_pick_their_endpoint_and_the_override_wins() {
        assert_eq!(
            cfg(&[("HUAWEICLOUD_SITE", "intl")])
                .unwrap()
                .bss_endpoint
                .as_str(),
            "https://bss-intl.myhuaweicloud.com/"
        );
        assert_eq!(
            cfg(&[("HUAWEICLOUD_SITE", "EU")])
                .unwrap()
                .bss_endpoint
                .as_str(),
            "https://bss.myhuaweicloud.eu/"
        );
        let c = cfg(&[
            ("HUAWEICLOUD_SITE", "intl"),
            ("HUAWEICLOUD_BSS_ENDPOINT", "http://127.0.0.1:8080"),
        ])
        .unwrap();
        assert_eq!(c.bss_endpoint.as_str(), "http://127.0.0.1:8080/");
    }

    #[test]
    fn durations_accept_the_documented_forms() {
        for (s, secs) in [
            ("90s", 90),
            ("10m", 600),
            ("1h", 3600),
            ("24h", 86400),
            ("45", 45),
        ] {
            assert_eq!(parse_duration(s), Some(Duration::from_secs(secs)));
        }
        assert_eq!(parse_duration("soon"), None);
    }

    #[test]
    fn ids_are_split_trimmed_and_checked() {
        let c = cfg(&[("FREE_RESOURCE_IDS", " a-1, b_2 ,,")]).unwrap();
        assert_eq!(c.free_resource_ids, ["a-1", "b_2"]);
        assert!(cfg(&[("FREE_RESOURCE_IDS", "a;b")]).is_err());
        assert!(cfg(&[("FREE_RESOURCE_IDS", "a,a")]).is_err());
    }

    #[test]
    fn state_dir_in_tmp_is_warned_about_and_systemd_dir_is_used() {
        let c = cfg(&[("STATE_DIR", "/tmp/flexus")]).unwrap();
        assert!(c
            .warnings()
            .iter()
            .any(|w| w.contains("STATE_DIR=/tmp/flexus")));
        let c = cfg(&[("STATE_DIRECTORY", "/var/lib/flexus-traffic-monitor")]).unwrap();
        assert_eq!(
            c.state_dir,
            PathBuf::from("/var/lib/flexus-traffic-monitor")
        );
    }

    #[test]
    fn debug_mode_reads_like_the_original() {
        for v in ["true", "1", "t", "TRUE"] {
            assert!(cfg(&[("DEBUG_MODE", v)]).unwrap().debug_mode);
        }
        assert!(!cfg(&[("DEBUG_MODE", "yes")]).unwrap().debug_mode);
    }

    #[test]
    fn secrets_never_print() {
        let c = cfg(&[
            ("HUAWEICLOUD_SDK_AK", "AKVALUE"),
            ("HUAWEICLOUD_SDK_SK", "SKVALUE"),
            ("TELEGRAM_BOT_TOKEN", "123:BOTVALUE"),
        ])
        .unwrap();
        let all = format!(
            "{c:?} {} {:?}",
            serde_json::to_string(&c).unwrap(),
            c.effective()
        );
        for s in ["AKVALUE", "SKVALUE", "BOTVALUE"] {
            assert!(!all.contains(s), "{s} leaked");
        }
        assert!(all.contains("[redacted]"));
    }

    #[test]
    fn alerting_defaults_follow_the_original() {
        let c = cfg(&[]).unwrap();
        assert_eq!(c.cadence, Cadence::default());
        assert_eq!(c.shutdown_command, ["shutdown", "-h", "now"]);
        assert_eq!(c.shutdown_delay, Duration::from_secs(60));
        assert_eq!(c.shutdown_mode, ShutdownMode::Command);
        assert!(c.shutdown_repeat_after_boot && !c.dry_run);
        assert_eq!(c.fallback, FallbackMode::Auto);
        assert_eq!(c.message_lang, Lang::Zh);
        assert_eq!(c.telegram_api_url.as_str(), "https://api.telegram.org/");
    }

    #[test]
    fn shutdown_command_is_split_without_a_shell() {
        let c = cfg(&[("SHUTDOWN_COMMAND", "sudo -n '/usr/sbin/shutdown' -h now")]).unwrap();
        assert_eq!(
            c.shutdown_command,
            ["sudo", "-n", "/usr/sbin/shutdown", "-h", "now"]
        );
        assert!(cfg(&[("SHUTDOWN_COMMAND", "shutdown 'unclosed")]).is_err());
        assert!(cfg(&[("SHUTDOWN_MODE", "reboot")])
            .unwrap_err()
            .to_string()
            .contains("SHUTDOWN_MODE"));
        assert!(cfg(&[("DRY_RUN", "maybe")])
            .unwrap_err()
            .to_string()
            .contains("DRY_RUN"));
    }

    #[test]
    fn a_public_listen_address_needs_a_webhook_token() {
        let c = cfg(&[("LISTEN_ADDR", "0.0.0.0:9184")]).unwrap();
        assert!(c
            .require_serving()
            .unwrap_err()
            .to_string()
            .contains("WEBHOOK_TOKEN"));
        let c = cfg(&[
            ("LISTEN_ADDR", "0.0.0.0:9184"),
            ("WEBHOOK_TOKEN", "0123456789abcdef0123"),
        ])
        .unwrap();
        assert!(c.require_serving().is_ok());
        assert!(cfg(&[]).unwrap().require_serving().is_ok());
        assert!(cfg(&[("WEBHOOK_TOKEN", "short")]).is_err());
    }

    #[test]
    fn instances_map_packages_to_servers() {
        let c = cfg(&[
            ("SHUTDOWN_MODE", "huawei-api"),
            ("HUAWEICLOUD_REGION", "ap-southeast-1"),
            ("HUAWEICLOUD_PROJECT_ID", "p0"),
            (
                "FLEXUS_INSTANCES",
                "pkg-a:srv-a:sg-a, pkg-b:srv-b:hk-b:ap-southeast-3:p1",
            ),
        ])
        .unwrap();
        assert_eq!(
            c.free_resource_ids,
            ["pkg-a", "pkg-b"],
            "packages of instances are watched"
        );
        assert_eq!(
            c.targets["pkg-a"],
            Target {
                name: "sg-a".into(),
                server_id: "srv-a".into(),
                region: "ap-southeast-1".into(),
                project_id: "p0".into()
            }
        );
        assert_eq!(c.targets["pkg-b"].region, "ap-southeast-3");
        assert_eq!(c.server_for("pkg-b"), "hk-b");
        assert_eq!(c.server_for("other"), "flexus");
        for bad in ["pkg-a:srv-a", "pkg-a::name", "pkg-a:srv-a:n:r"] {
            assert!(
                cfg(&[
                    ("FLEXUS_INSTANCES", bad),
                    ("HUAWEICLOUD_REGION", "r"),
                    ("HUAWEICLOUD_PROJECT_ID", "p")
                ])
                .is_err(),
                "{bad}"
            );
        }
    }

    #[test]
    fn one_server_id_covers_every_package() {
        let c = cfg(&[
            ("FREE_RESOURCE_IDS", "a,b"),
            ("ECS_SERVER_ID", "srv"),
            ("HUAWEICLOUD_REGION", "r"),
            ("HUAWEICLOUD_PROJECT_ID", "p"),
            ("SERVER_NAME", "box"),
        ])
        .unwrap();
        assert_eq!(c.targets.len(), 2);
        assert_eq!(c.targets["b"].server_id, "srv");
        assert_eq!(c.server_for("a"), "box");
        assert!(cfg(&[("ECS_SERVER_ID", "srv")])
            .unwrap_err()
            .to_string()
            .contains("HUAWEICLOUD_REGION"));
    }

    #[test]
    fn api_mode_and_auto_start_need_what_they_use() {
        let e = cfg(&[("SHUTDOWN_MODE", "huawei-api"), ("FREE_RESOURCE_IDS", "a")])
            .unwrap_err()
            .to_string();
        assert!(e.contains("ECS_SERVER_ID"), "{e}");
        assert!(
            cfg(&[
                ("SHUTDOWN_MODE", "huawei-api"),
                ("FREE_RESOURCE_IDS", "a"),
                ("HUAWEICLOUD_SDK_DOMAIN_ID", "abc123")
            ])
            .is_ok(),
            "found through RMS at start-up"
        );
        assert!(cfg(&[("AUTO_START", "true")])
            .unwrap_err()
            .to_string()
            .contains("SHUTDOWN_MODE=huawei-api"));
        assert!(cfg(&[("ECS_STOP_TYPE", "gentle")]).is_err());
    }

    #[test]
    fn polling_commands_name_what_is_missing() {
        let e = cfg(&[]).unwrap().require_polling().unwrap_err().to_string();
        for v in [
            "HUAWEICLOUD_SDK_AK",
            "HUAWEICLOUD_SDK_SK",
            "FREE_RESOURCE_IDS",
        ] {
            assert!(e.contains(v), "{e}");
        }
    }
}
