//! From raw strings to a [`Config`]: every value checked, every mistake collected with the
//! variable's name and the fix.

use std::path::{Path, PathBuf};
use std::time::Duration;

use url::Url;

use super::{Config, ConfigError, ConfigErrors, FallbackMode, RawConfig, ShutdownMode, Thresholds};
use crate::huawei::Site;
use crate::messages::Lang;
use crate::policy::Cadence;
use crate::secret::Secret;

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
pub(super) fn present(v: &Option<String>) -> Option<&str> {
    v.as_deref().map(str::trim).filter(|s| !s.is_empty())
}

/// Is `path` inside the system temp directory (wiped at reboot on many systems)?
pub(super) fn in_temp_dir(path: &Path) -> bool {
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

pub(super) struct Checker {
    errors: Vec<ConfigError>,
}

impl Checker {
    pub(super) fn error(
        &mut self,
        var: &str,
        value: &str,
        problem: impl Into<String>,
        fix: impl Into<String>,
    ) {
        self.errors.push(ConfigError::new(var, value, problem, fix));
    }

    pub(super) fn duration(
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

    pub(super) fn boolean(&mut self, var: &str, raw: &Option<String>, default: bool) -> bool {
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

        let mut free_resource_ids = free_resource_ids;
        let cloud = super::cloud::settings(
            &mut c,
            raw,
            &mut free_resource_ids,
            shutdown_mode,
            &domain_id,
        );

        let channels = super::channels::settings(&mut c, raw);

        if !c.errors.is_empty() {
            return Err(ConfigErrors(c.errors));
        }
        Ok(Self {
            channels,
            targets: cloud.targets,
            region: cloud.region,
            project_id: cloud.project_id,
            ecs_endpoint: cloud.ecs_endpoint,
            rms_endpoint: cloud.rms_endpoint,
            ecs_hard_stop: cloud.ecs_hard_stop,
            ecs_hard_stop_after: cloud.ecs_hard_stop_after,
            ecs_job_timeout: cloud.ecs_job_timeout,
            auto_start: cloud.auto_start,
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
}
