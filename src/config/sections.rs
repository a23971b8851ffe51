//! The sections of [`super::Config`], each built and validated by its own constructor from the
//! variables of its section in the table.

use std::net::SocketAddr;
use std::time::Duration;

use serde::Serialize;
use url::Url;

use super::validate::{original_bool, Checker, Said};
use super::{humantime_serde_compat, FallbackMode, ShutdownMode, StopType};
use crate::huawei::Site;
use crate::level::Thresholds;
use crate::messages::Lang;
use crate::policy::Cadence;
use crate::report::ReportSettings;
use crate::secret::Secret;

/// Huawei Cloud: credentials, site and endpoints.
#[derive(Debug, Clone, Serialize)]
pub struct HuaweiConfig {
    pub access_key: Option<Secret>,
    pub secret_key: Option<Secret>,
    pub domain_id: Option<String>,
    pub site: Site,
    pub bss_endpoint: Url,
    /// Region and project of `ECS_SERVER_ID` (and of `FLEXUS_INSTANCES` entries without them).
    pub region: Option<String>,
    pub project_id: Option<String>,
    /// ECS endpoint; `{region}` is replaced by the instance's region.
    pub ecs_endpoint: String,
    pub rms_endpoint: Url,
}

impl HuaweiConfig {
    pub(super) fn check(c: &mut Checker) -> Self {
        let site: Site = c.choice(
            "HUAWEICLOUD_SITE",
            ("is not a known site", "不是已知的站点"),
        );
        let builtin =
            || Url::parse(site.bss_endpoint()).expect("built-in endpoints are valid URLs");
        let bss_endpoint = c
            .parse_optional("HUAWEICLOUD_BSS_ENDPOINT", ("is not an http(s) base URL", "不是 http(s) 基础地址"), |s| {
                Url::parse(s)
                    .ok()
                    .filter(|u| {
                        matches!(u.scheme(), "http" | "https")
                            && u.host_str().is_some()
                            && u.query().is_none()
                    })
                    .ok_or_else(|| {
                        Said::from(("write e.g. https://bss.myhuaweicloud.com, or unset it to use HUAWEICLOUD_SITE", "写成 https://bss.myhuaweicloud.com 这样的地址，或删除它以使用 HUAWEICLOUD_SITE"))
                    })
            })
            .unwrap_or_else(builtin);
        let domain_id = c.text("HUAWEICLOUD_SDK_DOMAIN_ID");
        if let Some(id) = &domain_id {
            if !id.chars().all(|ch| ch.is_ascii_alphanumeric()) {
                c.error(
                    "HUAWEICLOUD_SDK_DOMAIN_ID",
                    id,
                    (
                        "is not an account id (32 hex characters)",
                        "不是账号 ID（32 个十六进制字符）",
                    ),
                    (
                        "copy the account ID from My Credentials in the console, or unset it",
                        "从控制台“我的凭证”复制账号 ID，或删除它",
                    ),
                );
            }
        }
        let region = c.text("HUAWEICLOUD_REGION");
        let project_id = c.text("HUAWEICLOUD_PROJECT_ID");
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
                        (
                            "has characters an id cannot have",
                            "含有 ID 中不可能出现的字符",
                        ),
                        (
                            "copy it from the console (My Credentials → API Credentials)",
                            "从控制台复制（我的凭证 → API 凭证）",
                        ),
                    );
                }
            }
        }
        let ecs_endpoint = c.parse(
            "HUAWEICLOUD_ECS_ENDPOINT",
            ("is not an http(s) URL", "不是 http(s) 地址"),
            |s| match Url::parse(&s.replace("{region}", "region")) {
                Ok(u) if matches!(u.scheme(), "http" | "https") => Ok(s.to_string()),
                _ => Err(Said::from((
                    "unset it to use https://ecs.{region}.myhuaweicloud.com",
                    "删除它以使用 https://ecs.{region}.myhuaweicloud.com",
                ))),
            },
        );
        let rms_endpoint = c.http_url(
            "HUAWEICLOUD_RMS_ENDPOINT",
            ("is not an http(s) URL", "不是 http(s) 地址"),
            (
                "unset it to use https://rms.myhuaweicloud.com",
                "删除它以使用 https://rms.myhuaweicloud.com",
            ),
        );
        Self {
            access_key: c.secret("HUAWEICLOUD_SDK_AK"),
            secret_key: c.secret("HUAWEICLOUD_SDK_SK"),
            domain_id,
            site,
            bss_endpoint,
            region,
            project_id,
            ecs_endpoint,
            rms_endpoint,
        }
    }
}

/// Levels, cadence and who evaluates readings.
#[derive(Debug, Clone, Serialize)]
pub struct AlertingConfig {
    pub thresholds: Thresholds,
    /// Includes `DEBUG_MODE` (`cadence.debug`).
    pub cadence: Cadence,
    pub fallback: FallbackMode,
    #[serde(with = "humantime_serde_compat")]
    pub watchdog_timeout: Duration,
    /// The reports around each reset and the daily digest.
    pub reports: ReportSettings,
}

impl AlertingConfig {
    pub(super) fn check(c: &mut Checker) -> Self {
        let threshold = |c: &mut Checker, name: &str| {
            c.parse(
                name,
                ("is not a non-negative number of GB", "不是非负的 GB 数"),
                |s| match s.parse::<f64>() {
                    Ok(x) if x.is_finite() && x >= 0.0 => Ok(x),
                    _ => Err(Said::from((
                        "write a number such as 200 or 12.5",
                        "写一个数，例如 200 或 12.5",
                    ))),
                },
            )
        };
        let t1 = threshold(c, "THRESHOLD_LEVEL_1");
        let t2 = threshold(c, "THRESHOLD_LEVEL_2");
        let t3 = threshold(c, "THRESHOLD_LEVEL_3");
        if !(t1 < t2 && t2 < t3) {
            c.error(
                "THRESHOLD_LEVEL_1/2/3",
                &format!("{t1}/{t2}/{t3}"),
                ("must satisfy THRESHOLD_LEVEL_1 < THRESHOLD_LEVEL_2 < THRESHOLD_LEVEL_3 (shutdown < high-frequency alert < normal alert)", "必须满足 THRESHOLD_LEVEL_1 < THRESHOLD_LEVEL_2 < THRESHOLD_LEVEL_3（关机 < 高频告警 < 普通告警）"),
                ("e.g. THRESHOLD_LEVEL_1=200, THRESHOLD_LEVEL_2=300, THRESHOLD_LEVEL_3=500", "例如 THRESHOLD_LEVEL_1=200、THRESHOLD_LEVEL_2=300、THRESHOLD_LEVEL_3=500"),
            );
        }
        let reports = ReportSettings {
            reset_reports: c.boolean("RESET_REPORTS"),
            digest_at: c.parse_optional(
                "DAILY_DIGEST_AT",
                ("is not a time of day", "不是一天中的时刻"),
                crate::report::parse_time_of_day,
            ),
            zone: c.choice("REPORT_TIMEZONE", ("is not a time zone", "不是时区")),
        };
        let cadence = Cadence {
            level3_repeat: c.duration("LEVEL3_REPEAT", Duration::from_secs(1)),
            level2_repeat: c.duration("LEVEL2_REPEAT", Duration::from_secs(1)),
            // The digest takes the place of the rolling daily report: both would say the same.
            daily_report: c.boolean("DAILY_REPORT") && reports.digest_at.is_none(),
            // The original's lenient reading: anything else is false, never an error.
            debug: c.given("DEBUG_MODE").is_some_and(original_bool),
        };
        Self {
            thresholds: Thresholds { t1, t2, t3 },
            cadence,
            fallback: c.choice("FALLBACK", ("is not a fallback mode", "不是兜底评估模式")),
            watchdog_timeout: c.duration("WATCHDOG_TIMEOUT", Duration::from_secs(1)),
            reports,
        }
    }
}

/// The longest `TELEGRAM_CANCEL_FOR`.
pub const MAX_CANCEL_FOR: Duration = Duration::from_secs(31 * 24 * 3600);

/// Telegram.
#[derive(Debug, Clone, Serialize)]
pub struct TelegramConfig {
    pub bot_token: Option<Secret>,
    pub chat_id: Option<String>,
    pub api_url: Url,
    pub thread_id: Option<i64>,
    /// `TELEGRAM_COMMANDS`: answer commands in the chat (long polling `getUpdates`).
    pub commands: bool,
    /// `TELEGRAM_ALLOWED_USERS`: only these user ids may command (empty: anyone in the chat).
    pub allowed_users: Vec<i64>,
    /// `TELEGRAM_CANCEL_FOR`: how long a `/cancel` lasts at most.
    #[serde(with = "humantime_serde_compat")]
    pub cancel_for: Duration,
}

/// Where messages go and in which language.
#[derive(Debug, Clone, Serialize)]
pub struct NotifyConfig {
    pub lang: Lang,
    pub telegram: TelegramConfig,
    /// The channels besides Telegram.
    pub channels: super::ChannelSettings,
}

impl NotifyConfig {
    pub(super) fn check(c: &mut Checker) -> Self {
        let chat_id = c.text("TELEGRAM_CHAT_ID");
        if let Some(id) = &chat_id {
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
                    ("is not a chat id", "不是聊天 ID"),
                    ("use the numeric id (e.g. 123456789, or -100... for groups) or @channelname", "写数字 ID（例如 123456789，群组为 -100...）或 @频道名"),
                );
            }
        }
        let api_url = c.http_url(
            "TELEGRAM_API_URL",
            ("is not an http(s) URL", "不是 http(s) 地址"),
            (
                "unset it to use https://api.telegram.org",
                "删除它以使用 https://api.telegram.org",
            ),
        );
        let thread_id = c.parse_optional(
            "TELEGRAM_THREAD_ID",
            ("is not a number", "不是数字"),
            |s| {
                s.parse::<i64>().map_err(|_| {
                    Said::from((
                        "use the forum topic's numeric id, or unset it",
                        "写论坛话题的数字 ID，或删除它",
                    ))
                })
            },
        );
        let lang = c.choice(
            "MESSAGE_LANG",
            ("is not a supported language", "不是支持的语言"),
        );
        let bot_token = c.secret("TELEGRAM_BOT_TOKEN");
        let commands = c.boolean("TELEGRAM_COMMANDS");
        if commands && (bot_token.is_none() || chat_id.is_none()) {
            c.error(
                "TELEGRAM_COMMANDS",
                "true",
                ("needs TELEGRAM_BOT_TOKEN and TELEGRAM_CHAT_ID (the bot answers only in that chat)", "需要 TELEGRAM_BOT_TOKEN 和 TELEGRAM_CHAT_ID（机器人只在该聊天中应答）"),
                ("set TELEGRAM_BOT_TOKEN and TELEGRAM_CHAT_ID, or TELEGRAM_COMMANDS=false", "设置 TELEGRAM_BOT_TOKEN 和 TELEGRAM_CHAT_ID，或设 TELEGRAM_COMMANDS=false"),
            );
        }
        let allowed_users = c
            .parse_optional("TELEGRAM_ALLOWED_USERS", ("is not a list of user ids", "不是用户 ID 列表"), |s| {
                s.split(',')
                    .map(str::trim)
                    .filter(|u| !u.is_empty())
                    .map(|u| u.parse::<i64>().ok().filter(|n| *n > 0))
                    .collect::<Option<Vec<i64>>>()
                    .ok_or_else(|| {
                        Said::from(("write numeric Telegram user ids, comma-separated (e.g. 123456789,987654321)", "写 Telegram 数字用户 ID，用逗号分隔（例如 123456789,987654321）"))
                    })
            })
            .unwrap_or_default();
        let cancel_for = c.duration("TELEGRAM_CANCEL_FOR", Duration::from_secs(60));
        if cancel_for > MAX_CANCEL_FOR {
            c.error(
                "TELEGRAM_CANCEL_FOR",
                &humantime::format_duration(cancel_for).to_string(),
                (
                    "is longer than 31 days (a cancellation must end)",
                    "超过 31 天（取消必须有结束的时候）",
                ),
                ("use at most 31d; 24h is the default", "最多 31d；默认 24h"),
            );
        }
        Self {
            lang,
            channels: super::ChannelSettings::check(c),
            telegram: TelegramConfig {
                bot_token,
                chat_id,
                api_url,
                thread_id,
                commands,
                allowed_users,
                cancel_for: cancel_for.min(MAX_CANCEL_FOR),
            },
        }
    }

    /// Whether Telegram is configured.
    pub fn telegram_enabled(&self) -> bool {
        self.telegram.bot_token.is_some() && self.telegram.chat_id.is_some()
    }

    /// Turns every channel off, so messages are only printed (`check --no-send`, which the
    /// installer runs: trying a configuration must not flood the owner's chats).
    pub fn print_only(&mut self) {
        self.telegram.bot_token = None;
        self.telegram.commands = false;
        self.channels = super::ChannelSettings::none(self.channels.pushplus_api_url.clone());
    }
}

/// How the server is stopped, and started again.
#[derive(Debug, Clone, Serialize)]
pub struct ShutdownConfig {
    pub mode: ShutdownMode,
    /// argv, run without a shell.
    pub command: Vec<String>,
    #[serde(with = "humantime_serde_compat")]
    pub delay: Duration,
    #[serde(with = "humantime_serde_compat")]
    pub command_timeout: Duration,
    /// After the guard acted, shut down again on a later boot in the same cycle (the original did).
    pub repeat_after_boot: bool,
    pub dry_run: bool,
    /// `SHUTDOWN_IN_CONTAINER`: the owner says a stock power-off inside this container reaches
    /// the host, so it is not refused.
    pub in_container_ok: bool,
    /// Stop with `HARD` (power off) instead of `SOFT` (OS shutdown).
    pub ecs_hard_stop: bool,
    /// After a `SOFT` stop that has not finished in this time, stop with `HARD`.
    pub ecs_hard_stop_after: Option<Duration>,
    #[serde(with = "humantime_serde_compat")]
    pub ecs_job_timeout: Duration,
    pub auto_start: bool,
}

impl ShutdownConfig {
    pub(super) fn check(c: &mut Checker) -> Self {
        let mode: ShutdownMode =
            c.choice("SHUTDOWN_MODE", ("is not a shutdown mode", "不是关机方式"));
        let command = c.parse(
            "SHUTDOWN_COMMAND",
            (
                "cannot be split into a program and its arguments",
                "无法拆分成程序和参数",
            ),
            |s| match shell_words::split(s) {
                Ok(argv) if !argv.is_empty() => Ok(argv),
                _ => Err(Said::from((
                    "write e.g. `sudo -n shutdown -h now` (no shell: no pipes or `;`)",
                    "写成 `sudo -n shutdown -h now` 这样（不经过 shell：不能用管道或 `;`）",
                ))),
            },
        );
        let stop_type: StopType = c.choice("ECS_STOP_TYPE", ("is not a stop type", "不是停止方式"));
        let auto_start = c.boolean("AUTO_START");
        let s = Self {
            mode,
            command,
            delay: c.duration("SHUTDOWN_DELAY", Duration::ZERO),
            command_timeout: c.duration("SHUTDOWN_COMMAND_TIMEOUT", Duration::from_secs(1)),
            repeat_after_boot: c.boolean("SHUTDOWN_REPEAT_AFTER_BOOT"),
            dry_run: c.boolean("DRY_RUN"),
            in_container_ok: c.boolean("SHUTDOWN_IN_CONTAINER"),
            ecs_hard_stop: stop_type == StopType::Hard,
            ecs_hard_stop_after: c.optional_duration("ECS_HARD_STOP_AFTER", Duration::from_secs(1)),
            ecs_job_timeout: c.duration("ECS_JOB_TIMEOUT", Duration::from_secs(1)),
            auto_start,
        };
        if s.auto_start && s.mode != ShutdownMode::HuaweiApi {
            c.error("AUTO_START", "true", ("only works with SHUTDOWN_MODE=huawei-api (a server shut down by a command cannot be started from here)", "只能与 SHUTDOWN_MODE=huawei-api 一起用（用命令关掉的服务器无法从这里启动）"), ("set SHUTDOWN_MODE=huawei-api, or AUTO_START=false", "设 SHUTDOWN_MODE=huawei-api，或 AUTO_START=false"));
        }
        s
    }
}

/// The HTTP server.
#[derive(Debug, Clone, Serialize)]
pub struct HttpConfig {
    pub listen_addr: SocketAddr,
    pub webhook_token: Option<Secret>,
    /// When set, the page and the read APIs ask for it (Bearer, or as the Basic password).
    pub status_token: Option<Secret>,
    /// The web configuration file (exporter-toolkit format): TLS, basic auth, response headers.
    /// Read and checked by `serve` (see [`crate::webconfig`]), not here.
    pub web_config_file: Option<std::path::PathBuf>,
}

impl HttpConfig {
    pub(super) fn check(c: &mut Checker) -> Self {
        let listen_addr = c.parse(
            "LISTEN_ADDR",
            ("is not an address:port", "不是“地址:端口”"),
            |s| {
                s.parse::<SocketAddr>().map_err(|_| {
                    Said::from((
                        "write e.g. 127.0.0.1:9184 (or 0.0.0.0:9184 with WEBHOOK_TOKEN set, and a WEB_CONFIG_FILE with TLS and basic_auth_users)",
                        "写成 127.0.0.1:9184 这样（或在设置了 WEBHOOK_TOKEN、并有带 TLS 和 basic_auth_users 的 WEB_CONFIG_FILE 时写 0.0.0.0:9184）",
                    ))
                })
            },
        );
        let webhook_token = c.secret("WEBHOOK_TOKEN");
        if webhook_token
            .as_ref()
            .is_some_and(|t| t.expose().len() < 16)
        {
            c.error(
                "WEBHOOK_TOKEN",
                "[redacted]",
                ("is shorter than 16 characters", "短于 16 个字符"),
                (
                    "use a long random value, e.g. `openssl rand -hex 24`",
                    "用一个足够长的随机值，例如 `openssl rand -hex 24` 的输出",
                ),
            );
        }
        let status_token = c.secret("STATUS_TOKEN");
        if status_token.as_ref().is_some_and(|t| t.expose().len() < 16) {
            c.error(
                "STATUS_TOKEN",
                "[redacted]",
                ("is shorter than 16 characters", "短于 16 个字符"),
                (
                    "use a long random value, e.g. `openssl rand -hex 24`",
                    "用一个足够长的随机值，例如 `openssl rand -hex 24` 的输出",
                ),
            );
        }
        let web_config_file = c.text("WEB_CONFIG_FILE").map(std::path::PathBuf::from);
        Self {
            listen_addr,
            webhook_token,
            status_token,
            web_config_file,
        }
    }
}
