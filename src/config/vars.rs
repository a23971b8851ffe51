//! The one table of configuration variables: name, section, default and help of each.
//!
//! It drives `--help`, the `config` listing ([`Config::effective`]), the defaults the section
//! constructors fall back to, and the check that `.env.example` and the README document every
//! variable. Adding a variable: one row here, plus its parse in its section's constructor.

use std::time::Duration;

use super::Config;
use crate::level::Level;
use crate::secret::Secret;

/// The part of [`Config`] a variable belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Section {
    /// Credentials, site and endpoints of Huawei Cloud.
    Huawei,
    /// Which packages are watched, on which servers, and how often they are read.
    Watch,
    /// Levels, cadence and who evaluates readings.
    Alerting,
    /// Where messages go and in which language.
    Notify,
    /// How the server is stopped (and started again).
    Shutdown,
    /// The HTTP server (`/metrics`, `/alertmanager`, `/api/v1/status`).
    Http,
    /// Gentler actions than a shutdown: throttle, fence, commands.
    Actions,
    /// Settings used by every part.
    General,
}

impl Section {
    /// The heading of the section in `--help`.
    pub fn title(self) -> &'static str {
        match self {
            Self::Huawei => "Huawei Cloud",
            Self::Watch => "Packages and polling",
            Self::Alerting => "Alerting",
            Self::Notify => "Notifications",
            Self::Shutdown => "Shutdown and start",
            Self::Http => "HTTP server",
            Self::Actions => "Actions per level (throttle, fence, command)",
            Self::General => "General",
        }
    }
}

/// One configuration variable.
pub struct Var {
    pub name: &'static str,
    pub section: Section,
    /// What applies when the variable is unset or blank: a value, parsed like a given one, or a
    /// description in parentheses (`(not set)`, `(3 × POLL_INTERVAL, at least 1h)`).
    pub default: &'static str,
    /// One line for `--help`.
    pub help: &'static str,
    /// The value in effect, as `config` prints it (secrets redacted).
    pub show: fn(&Config) -> String,
}

impl Var {
    /// The default as a value to parse, when it is one.
    pub fn default_value(&self) -> Option<&'static str> {
        (!self.default.starts_with('(')).then_some(self.default)
    }
}

/// Set by systemd's `StateDirectory=`, read as the default of `STATE_DIR`; not set by users.
pub const SYSTEMD_STATE_DIRECTORY: &str = "STATE_DIRECTORY";

/// The variable called `name`.
///
/// # Panics
/// When `name` is not in [`VARS`] (a programming error, caught by the unit tests).
pub fn var(name: &str) -> &'static Var {
    VARS.iter()
        .find(|v| v.name == name)
        .unwrap_or_else(|| panic!("{name} is not in the configuration table"))
}

fn not_set() -> String {
    "(not set)".into()
}

fn opt(v: &Option<String>) -> String {
    v.clone().unwrap_or_else(not_set)
}

fn sec(v: &Option<Secret>) -> String {
    if v.is_some() {
        "[redacted]".into()
    } else {
        not_set()
    }
}

fn email(c: &Config, show: impl Fn(&super::EmailSettings) -> String) -> String {
    c.notify.channels.email.as_ref().map_or_else(not_set, show)
}

fn levels_of(c: &Config, level: Level) -> String {
    let list: Vec<&str> = c
        .actions
        .levels
        .get(&level)
        .into_iter()
        .flatten()
        .map(|a| a.label())
        .collect();
    if list.is_empty() {
        "(none)".into()
    } else {
        list.join(",")
    }
}

fn ports(p: &[u16]) -> String {
    if p.is_empty() {
        "(none)".into()
    } else {
        p.iter().map(u16::to_string).collect::<Vec<_>>().join(",")
    }
}

fn cmd(argv: &[String]) -> String {
    if argv.is_empty() {
        not_set()
    } else {
        shell_words::join(argv)
    }
}

fn dur(d: Duration) -> String {
    humantime::format_duration(d).to_string()
}

/// Whether an account that does not set a per-account variable takes the global one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Inherit {
    /// It takes the global value (or the default).
    Global,
    /// It belongs to one account only (keys, packages, instances): never inherited, and with
    /// `ACCOUNTS` the global variable is an error.
    Never,
}

/// A variable of [`VARS`] that an account of `ACCOUNTS` may set as `ACCOUNT_<NAME>_<name>`.
pub struct PerAccount {
    pub name: &'static str,
    pub inherit: Inherit,
}

const fn own(name: &'static str) -> PerAccount {
    PerAccount {
        name,
        inherit: Inherit::Never,
    }
}

const fn shared(name: &'static str) -> PerAccount {
    PerAccount {
        name,
        inherit: Inherit::Global,
    }
}

/// The variables one account of `ACCOUNTS` can set for itself (`ACCOUNT_CN_HUAWEICLOUD_SDK_AK`);
/// every other variable is shared by all accounts. An account that sets `HUAWEICLOUD_SITE` but
/// not `HUAWEICLOUD_BSS_ENDPOINT` uses its site's endpoint, never the global endpoint.
pub static PER_ACCOUNT: &[PerAccount] = &[
    own("HUAWEICLOUD_SDK_AK"),
    own("HUAWEICLOUD_SDK_SK"),
    own("HUAWEICLOUD_SDK_DOMAIN_ID"),
    shared("HUAWEICLOUD_SITE"),
    shared("HUAWEICLOUD_BSS_ENDPOINT"),
    own("FREE_RESOURCE_IDS"),
    shared("SERVER_NAME"),
    shared("SHUTDOWN_MODE"),
    shared("LEVEL1_ACTIONS"),
    shared("LEVEL2_ACTIONS"),
    shared("LEVEL3_ACTIONS"),
    shared("HUAWEICLOUD_REGION"),
    own("HUAWEICLOUD_PROJECT_ID"),
    own("ECS_SERVER_ID"),
    own("FLEXUS_INSTANCES"),
    shared("HUAWEICLOUD_ECS_ENDPOINT"),
    shared("HUAWEICLOUD_RMS_ENDPOINT"),
];

/// The per-account variable called `name`, if it is one.
pub fn per_account(name: &str) -> Option<&'static PerAccount> {
    PER_ACCOUNT.iter().find(|p| p.name == name)
}

fn account_names(c: &Config) -> String {
    let named: Vec<&str> = c
        .accounts
        .iter()
        .map(|a| a.name.as_str())
        .filter(|n| !n.is_empty())
        .collect();
    if named.is_empty() {
        not_set()
    } else {
        named.join(",")
    }
}

/// Every variable the program reads, in the order `config` and `--help` list them.
pub static VARS: &[Var] = &[
    Var {
        name: "ACCOUNTS",
        section: Section::Huawei,
        default: "(not set: one account)",
        help: "several accounts, e.g. cn,intl; each sets ACCOUNT_<NAME>_<VARIABLE> (keys, site, packages, shutdown)",
        show: account_names,
    },
    Var {
        name: "HUAWEICLOUD_SDK_AK",
        section: Section::Huawei,
        default: "(not set)",
        help: "Access Key ID; the IAM user needs BSS ReadonlyAccess",
        show: |c| sec(&c.huawei.access_key),
    },
    Var {
        name: "HUAWEICLOUD_SDK_SK",
        section: Section::Huawei,
        default: "(not set)",
        help: "Secret Access Key",
        show: |c| sec(&c.huawei.secret_key),
    },
    Var {
        name: "HUAWEICLOUD_SDK_DOMAIN_ID",
        section: Section::Huawei,
        default: "(not set)",
        help: "account (domain) id; sent as X-Domain-Id, lets RMS find the instances",
        show: |c| opt(&c.huawei.domain_id),
    },
    Var {
        name: "HUAWEICLOUD_SITE",
        section: Section::Huawei,
        default: "cn",
        help: "cn (China), intl (international) or eu (Europe); picks the BSS endpoint",
        show: |c| c.huawei.site.as_str().into(),
    },
    Var {
        name: "HUAWEICLOUD_BSS_ENDPOINT",
        section: Section::Huawei,
        default: "(the site's endpoint)",
        help: "full BSS base URL; overrides HUAWEICLOUD_SITE",
        show: |c| c.huawei.bss_endpoint.to_string(),
    },
    Var {
        name: "FREE_RESOURCE_IDS",
        section: Section::Watch,
        default: "(not set)",
        help: "traffic package ids to watch, comma-separated (`discover` prints them)",
        show: |c| {
            if c.watch.free_resource_ids.is_empty() {
                not_set()
            } else {
                c.watch.free_resource_ids.join(",")
            }
        },
    },
    Var {
        name: "SERVER_NAME",
        section: Section::Watch,
        default: "flexus",
        help: "shown in every message and in the metrics' server label",
        show: |c| c.watch.server_name.clone(),
    },
    Var {
        name: "THRESHOLD_LEVEL_1",
        section: Section::Alerting,
        default: "200",
        help: "GB; below it the server is shut down",
        show: |c| format!("{} GB", c.alerting.thresholds.t1),
    },
    Var {
        name: "THRESHOLD_LEVEL_2",
        section: Section::Alerting,
        default: "300",
        help: "GB; below it alerts repeat every LEVEL2_REPEAT",
        show: |c| format!("{} GB", c.alerting.thresholds.t2),
    },
    Var {
        name: "THRESHOLD_LEVEL_3",
        section: Section::Alerting,
        default: "500",
        help: "GB; below it alerts repeat every LEVEL3_REPEAT",
        show: |c| format!("{} GB", c.alerting.thresholds.t3),
    },
    Var {
        name: "TELEGRAM_BOT_TOKEN",
        section: Section::Notify,
        default: "(not set)",
        help: "bot token from @BotFather",
        show: |c| sec(&c.notify.telegram.bot_token),
    },
    Var {
        name: "TELEGRAM_CHAT_ID",
        section: Section::Notify,
        default: "(not set)",
        help: "chat to send messages to (numeric id or @channel)",
        show: |c| opt(&c.notify.telegram.chat_id),
    },
    Var {
        name: "DEBUG_MODE",
        section: Section::Alerting,
        default: "false",
        help: "true|1|t: verbose logs and no cadence gates; never disables safety",
        show: |c| c.alerting.cadence.debug.to_string(),
    },
    Var {
        name: "POLL_INTERVAL",
        section: Section::Watch,
        default: "10m",
        help: "how often BSS is called; scrapes never call BSS",
        show: |c| dur(c.watch.poll_interval),
    },
    Var {
        name: "EGRESS_COUNTER",
        section: Section::Watch,
        default: "on",
        help: "read this server's own egress counter and act on the estimate anchored to the bill (on/off)",
        show: |c| if c.watch.egress.enabled { "on".into() } else { "off".into() },
    },
    Var {
        name: "EGRESS_INTERFACE",
        section: Section::Watch,
        default: "(the default route's interface)",
        help: "the public interface whose transmitted bytes are counted (never lo, docker*, veth*, br-*)",
        show: |c| opt(&c.watch.egress.interface),
    },
    Var {
        name: "EGRESS_SAMPLE_INTERVAL",
        section: Section::Watch,
        default: "2s",
        help: "how often the counter is read (at most 2s; the margin of level 1 is this times the peak rate)",
        show: |c| dur(c.watch.egress.interval),
    },
    Var {
        name: "EGRESS_BILL_LAG",
        section: Section::Watch,
        default: "2h",
        help: "how late the bill is assumed to be until the lag is learned from the data (at most 6h)",
        show: |c| dur(c.watch.egress.default_lag),
    },
    Var {
        name: "EGRESS_PACKAGE",
        section: Section::Watch,
        default: "(the only watched package)",
        help: "the package whose bill the counter is anchored to when several are watched",
        show: |c| opt(&c.watch.egress.package),
    },
    Var {
        name: "CLOUDEYE_EIPS",
        section: Section::Watch,
        default: "(not set)",
        help: "servers guarded through the API: read their EIP's outbound traffic from Cloud Eye live, PACKAGE_ID:PUBLICIP_ID[:REGION:PROJECT_ID],...",
        show: |c| {
            if c.watch.cloudeye.eips.is_empty() {
                not_set()
            } else {
                c.watch
                    .cloudeye
                    .eips
                    .iter()
                    .map(|e| format!("{}:{}:{}:{}", e.package, e.publicip_id, e.region, e.project_id))
                    .collect::<Vec<_>>()
                    .join(",")
            }
        },
    },
    Var {
        name: "CLOUDEYE_INTERVAL",
        section: Section::Watch,
        default: "1m",
        help: "how often Cloud Eye is read for each EIP (its raw data has one point a minute; longer after throttling)",
        show: |c| dur(c.watch.cloudeye.interval),
    },
    Var {
        name: "HTTP_TIMEOUT",
        section: Section::General,
        default: "15s",
        help: "timeout of every outgoing HTTP call",
        show: |c| dur(c.http_timeout),
    },
    Var {
        name: "LOG_FORMAT",
        section: Section::General,
        default: "text",
        help: "text (lines; colour only on a terminal, never with NO_COLOR) or json (one object per line)",
        show: |c| c.log_format.as_str().into(),
    },
    Var {
        name: "READING_MAX_AGE",
        section: Section::Watch,
        default: "(3 × POLL_INTERVAL, at least 1h)",
        help: "after failed polls, the last good readings are kept this long",
        show: |c| dur(c.watch.reading_max_age),
    },
    Var {
        name: "LISTEN_ADDR",
        section: Section::Http,
        default: super::DEFAULT_LISTEN_ADDR,
        help: "address of /metrics, /alertmanager and /api/v1/status",
        show: |c| c.http.listen_addr.to_string(),
    },
    Var {
        name: "STATE_DIR",
        section: Section::General,
        default: "($STATE_DIRECTORY, else ./state)",
        help: "where state, the outbox and the lock are kept; never the temp directory",
        show: |c| c.state_dir.display().to_string(),
    },
    Var {
        name: "WEBHOOK_TOKEN",
        section: Section::Http,
        default: "(not set)",
        help: "token Alertmanager sends to POST /alertmanager; required off loopback",
        show: |c| sec(&c.http.webhook_token),
    },
    Var {
        name: "STATUS_TOKEN",
        section: Section::Http,
        default: "(not set)",
        help: "read-only token the status page and the read APIs (/api/v1/*) ask for when set",
        show: |c| sec(&c.http.status_token),
    },
    Var {
        name: "WEB_CONFIG_FILE",
        section: Section::Http,
        default: "(not set)",
        help: "web configuration file (exporter-toolkit format: TLS, basic auth, headers); serve --web.config.file overrides it",
        show: |c| c.http.web_config_file.as_ref().map_or_else(|| "(not set)".to_string(), |p| p.display().to_string()),
    },
    Var {
        name: "TELEGRAM_API_URL",
        section: Section::Notify,
        default: "https://api.telegram.org",
        help: "Telegram Bot API base URL",
        show: |c| c.notify.telegram.api_url.to_string(),
    },
    Var {
        name: "TELEGRAM_THREAD_ID",
        section: Section::Notify,
        default: "(not set)",
        help: "forum topic to post in",
        show: |c| {
            c.notify
                .telegram
                .thread_id
                .map_or_else(not_set, |t| t.to_string())
        },
    },
    Var {
        name: "TELEGRAM_COMMANDS",
        section: Section::Notify,
        default: "false",
        help: "answer /status, /cancel, /resume, /start, /mute in TELEGRAM_CHAT_ID (long polling, no public address)",
        show: |c| c.notify.telegram.commands.to_string(),
    },
    Var {
        name: "TELEGRAM_ALLOWED_USERS",
        section: Section::Notify,
        default: "(anyone in the chat)",
        help: "Telegram user ids allowed to command, comma-separated",
        show: |c| {
            let u = &c.notify.telegram.allowed_users;
            if u.is_empty() {
                "(anyone in the chat)".into()
            } else {
                u.iter().map(i64::to_string).collect::<Vec<_>>().join(",")
            }
        },
    },
    Var {
        name: "TELEGRAM_CANCEL_FOR",
        section: Section::Notify,
        default: "24h",
        help: "a /cancel lasts at most this long (and ends at the package's next level change)",
        show: |c| dur(c.notify.telegram.cancel_for),
    },
    Var {
        name: "NOTIFY_WEBHOOK_URL",
        section: Section::Notify,
        default: "(not set)",
        help: "generic JSON webhook URL (documented body, optional HMAC signature)",
        show: |c| sec(&c.notify.channels.webhook_url),
    },
    Var {
        name: "NOTIFY_WEBHOOK_SECRET",
        section: Section::Notify,
        default: "(not set)",
        help: "signs the webhook body: X-Flexus-Signature: sha256=HMAC",
        show: |c| sec(&c.notify.channels.webhook_secret),
    },
    Var {
        name: "FEISHU_WEBHOOK_URL",
        section: Section::Notify,
        default: "(not set)",
        help: "Feishu custom bot hook URL",
        show: |c| sec(&c.notify.channels.feishu_webhook_url),
    },
    Var {
        name: "FEISHU_SECRET",
        section: Section::Notify,
        default: "(not set)",
        help: "Feishu signing secret (when signature verification is on)",
        show: |c| sec(&c.notify.channels.feishu_secret),
    },
    Var {
        name: "DINGTALK_WEBHOOK_URL",
        section: Section::Notify,
        default: "(not set)",
        help: "DingTalk custom robot URL with access_token",
        show: |c| sec(&c.notify.channels.dingtalk_webhook_url),
    },
    Var {
        name: "DINGTALK_SECRET",
        section: Section::Notify,
        default: "(not set)",
        help: "DingTalk signing secret SEC... (when signing is on)",
        show: |c| sec(&c.notify.channels.dingtalk_secret),
    },
    Var {
        name: "WECOM_WEBHOOK_URL",
        section: Section::Notify,
        default: "(not set)",
        help: "WeCom group robot URL with key",
        show: |c| sec(&c.notify.channels.wecom_webhook_url),
    },
    Var {
        name: "SERVERCHAN_SENDKEY",
        section: Section::Notify,
        default: "(not set)",
        help: "ServerChan Turbo SendKey",
        show: |c| sec(&c.notify.channels.serverchan_sendkey),
    },
    Var {
        name: "SERVERCHAN_API_URL",
        section: Section::Notify,
        default: "(https://sctapi.ftqq.com, or the sctp key's host)",
        help: "ServerChan base URL, only to use a relay",
        show: |c| {
            c.notify
                .channels
                .serverchan_api_url
                .as_ref()
                .map_or_else(not_set, ToString::to_string)
        },
    },
    Var {
        name: "PUSHPLUS_TOKEN",
        section: Section::Notify,
        default: "(not set)",
        help: "PushPlus token",
        show: |c| sec(&c.notify.channels.pushplus_token),
    },
    Var {
        name: "PUSHPLUS_API_URL",
        section: Section::Notify,
        default: "https://www.pushplus.plus",
        help: "PushPlus base URL, only to use a relay",
        show: |c| c.notify.channels.pushplus_api_url.to_string(),
    },
    Var {
        name: "BARK_URL",
        section: Section::Notify,
        default: "(not set)",
        help: "Bark device URL as the app shows it (https://api.day.app/KEY)",
        show: |c| sec(&c.notify.channels.bark_url),
    },
    Var {
        name: "SMTP_HOST",
        section: Section::Notify,
        default: "(not set)",
        help: "SMTP server of the email channel (e.g. smtp.qq.com); email is on when set",
        show: |c| email(c, |e| e.host.clone()),
    },
    Var {
        name: "SMTP_PORT",
        section: Section::Notify,
        default: "(587 for starttls, 465 for tls, 25 for none)",
        help: "SMTP port",
        show: |c| email(c, |e| e.port.to_string()),
    },
    Var {
        name: "SMTP_TLS",
        section: Section::Notify,
        default: "starttls",
        help: "starttls (port 587 or 25), tls (implicit, port 465; the default with SMTP_PORT=465) or none (only for a relay on this machine); a mode that does not fit SMTP_PORT is refused",
        show: |c| email(c, |e| e.tls.as_str().into()),
    },
    Var {
        name: "SMTP_USERNAME",
        section: Section::Notify,
        default: "(not set)",
        help: "SMTP login (usually the address); unset for a relay without login",
        show: |c| email(c, |e| opt(&e.username)),
    },
    Var {
        name: "SMTP_PASSWORD",
        section: Section::Notify,
        default: "(not set)",
        help: "SMTP password (often an app password or authorisation code)",
        show: |c| email(c, |e| sec(&e.password)),
    },
    Var {
        name: "SMTP_FROM",
        section: Section::Notify,
        default: "(SMTP_USERNAME when it is an address)",
        help: "sender: alerts@example.com or Name <alerts@example.com>",
        show: |c| email(c, |e| e.from.clone()),
    },
    Var {
        name: "SMTP_TO",
        section: Section::Notify,
        default: "(not set)",
        help: "recipients, comma-separated",
        show: |c| email(c, |e| e.to.join(",")),
    },
    Var {
        name: "SMTP_TIMEOUT",
        section: Section::Notify,
        default: "30s",
        help: "bounds one email delivery (connect, TLS, login, send) up to the server's reply to the message",
        show: |c| email(c, |e| dur(e.timeout)),
    },
    Var {
        name: "SMTP_CA_FILE",
        section: Section::Notify,
        default: "(not set)",
        help: "PEM file of extra root certificates to trust (a relay with its own CA); read when the configuration is checked",
        show: |c| email(c, |e| e.ca_file.as_ref().map_or_else(not_set, |p| p.display().to_string())),
    },
    Var {
        name: "MESSAGE_LANG",
        section: Section::Notify,
        default: "zh",
        help: "zh (Chinese) or en (English)",
        show: |c| c.notify.lang.as_str().into(),
    },
    Var {
        name: "LEVEL3_REPEAT",
        section: Section::Alerting,
        default: "24h",
        help: "level 3 alerts at most this often",
        show: |c| dur(c.alerting.cadence.level3_repeat),
    },
    Var {
        name: "LEVEL2_REPEAT",
        section: Section::Alerting,
        default: "1h",
        help: "level 2 (and level 1 while it lasts) alerts this often",
        show: |c| dur(c.alerting.cadence.level2_repeat),
    },
    Var {
        name: "DAILY_REPORT",
        section: Section::Alerting,
        default: "true",
        help: "a daily report while the package is above THRESHOLD_LEVEL_3 (replaced by the digest when DAILY_DIGEST_AT is set)",
        show: |c| c.alerting.cadence.daily_report.to_string(),
    },
    Var {
        name: "RESET_REPORTS",
        section: Section::Alerting,
        default: "true",
        help: "a report about 24 hours before each cycle resets and one after it, on every channel",
        show: |c| c.alerting.reports.reset_reports.to_string(),
    },
    Var {
        name: "DAILY_DIGEST_AT",
        section: Section::Alerting,
        default: "(not set)",
        help: "a daily digest (the full report) at this local time, HH:MM, e.g. 09:00; replaces DAILY_REPORT",
        show: |c| c.alerting.reports.digest_at.map_or_else(not_set, |t| t.format("%H:%M").to_string()),
    },
    Var {
        name: "REPORT_TIMEZONE",
        section: Section::Alerting,
        default: "local",
        help: "time zone of DAILY_DIGEST_AT and of the days in reports: local (the system's, TZ), UTC, or an offset such as +08:00",
        show: |c| c.alerting.reports.zone.as_text(),
    },
    Var {
        name: "SHUTDOWN_MODE",
        section: Section::Shutdown,
        default: "command",
        help: "command (run SHUTDOWN_COMMAND), huawei-api (ECS stop) or off (notify only)",
        show: |c| c.shutdown.mode.as_str().into(),
    },
    Var {
        name: "SHUTDOWN_COMMAND",
        section: Section::Shutdown,
        default: "shutdown -h now",
        help: "program and arguments, run without a shell",
        show: |c| shell_words::join(&c.shutdown.command),
    },
    Var {
        name: "SHUTDOWN_DELAY",
        section: Section::Shutdown,
        default: "60s",
        help: "countdown with warnings before a fresh re-check and the shutdown",
        show: |c| dur(c.shutdown.delay),
    },
    Var {
        name: "SHUTDOWN_COMMAND_TIMEOUT",
        section: Section::Shutdown,
        default: "60s",
        help: "a shutdown command still running after this is stopped and reported",
        show: |c| dur(c.shutdown.command_timeout),
    },
    Var {
        name: "SHUTDOWN_REPEAT_AFTER_BOOT",
        section: Section::Shutdown,
        default: "true",
        help: "shut down again after a boot in the same cycle (the original did)",
        show: |c| c.shutdown.repeat_after_boot.to_string(),
    },
    Var {
        name: "SHUTDOWN_IN_CONTAINER",
        section: Section::Shutdown,
        default: "false",
        help: "true: take SHUTDOWN_MODE=command with a stock power-off inside a container (only where it really powers off the host)",
        show: |c| c.shutdown.in_container_ok.to_string(),
    },
    Var {
        name: "DRY_RUN",
        section: Section::Shutdown,
        default: "false",
        help: "do everything except the shutdown itself",
        show: |c| c.shutdown.dry_run.to_string(),
    },
    Var {
        name: "FALLBACK",
        section: Section::Alerting,
        default: "auto",
        help: "auto (judge here unless the watchdog alert arrived), always or never",
        show: |c| c.alerting.fallback.as_str().into(),
    },
    Var {
        name: "WATCHDOG_TIMEOUT",
        section: Section::Alerting,
        default: "10m",
        help: "how long a watchdog heartbeat keeps the fallback evaluator quiet",
        show: |c| dur(c.alerting.watchdog_timeout),
    },
    Var {
        name: "MAX_EGRESS_RATE",
        section: Section::Watch,
        default: "300mbit",
        help: "the fastest the server can send (tc units); a faster drop of the remaining traffic is held until the next reading confirms it",
        show: |c| c.watch.max_egress_rate.clone(),
    },
    Var {
        name: "POLL_FAILURES_BEFORE_ALERT",
        section: Section::Watch,
        default: "3",
        help: "failed polls in a row before a message is sent",
        show: |c| c.watch.poll_failures_before_alert.to_string(),
    },
    Var {
        name: "HUAWEICLOUD_REGION",
        section: Section::Huawei,
        default: "(not set)",
        help: "region of ECS_SERVER_ID, e.g. ap-southeast-1",
        show: |c| opt(&c.huawei.region),
    },
    Var {
        name: "HUAWEICLOUD_PROJECT_ID",
        section: Section::Huawei,
        default: "(not set)",
        help: "project id of that region",
        show: |c| opt(&c.huawei.project_id),
    },
    Var {
        name: "ECS_SERVER_ID",
        section: Section::Watch,
        default: "(not set)",
        help: "the ECS server of every watched package (one server)",
        show: |c| {
            let mut ids: Vec<&str> = c
                .watch
                .targets
                .values()
                .map(|t| t.server_id.as_str())
                .collect();
            ids.sort_unstable();
            ids.dedup();
            if ids.is_empty() {
                not_set()
            } else {
                ids.join(",")
            }
        },
    },
    Var {
        name: "FLEXUS_INSTANCES",
        section: Section::Watch,
        default: "(not set)",
        help: "several servers: PACKAGE_ID:ECS_SERVER_ID:NAME[:REGION:PROJECT_ID],...",
        show: |c| {
            if c.watch.targets.is_empty() {
                not_set()
            } else {
                c.watch
                    .targets
                    .iter()
                    .map(|(p, t)| {
                        format!(
                            "{p}:{}:{}:{}:{}",
                            t.server_id, t.name, t.region, t.project_id
                        )
                    })
                    .collect::<Vec<_>>()
                    .join(",")
            }
        },
    },
    Var {
        name: "HUAWEICLOUD_ECS_ENDPOINT",
        section: Section::Huawei,
        default: "https://ecs.{region}.myhuaweicloud.com",
        help: "ECS endpoint; {region} is replaced by the instance's region",
        show: |c| c.huawei.ecs_endpoint.clone(),
    },
    Var {
        name: "HUAWEICLOUD_CES_ENDPOINT",
        section: Section::Huawei,
        default: "https://ces.{region}.myhuaweicloud.com",
        help: "Cloud Eye endpoint; {region} is replaced by the EIP's region",
        show: |c| c.watch.cloudeye.endpoint.clone(),
    },
    Var {
        name: "HUAWEICLOUD_RMS_ENDPOINT",
        section: Section::Huawei,
        default: "https://rms.myhuaweicloud.com",
        help: "RMS endpoint (finds instances by package)",
        show: |c| c.huawei.rms_endpoint.to_string(),
    },
    Var {
        name: "ECS_STOP_TYPE",
        section: Section::Shutdown,
        default: "SOFT",
        help: "SOFT (OS shutdown) or HARD (power off)",
        show: |c| {
            if c.shutdown.ecs_hard_stop {
                "HARD"
            } else {
                "SOFT"
            }
            .into()
        },
    },
    Var {
        name: "ECS_HARD_STOP_AFTER",
        section: Section::Shutdown,
        default: "(not set)",
        help: "stop with HARD after a SOFT stop that has not finished in this time",
        show: |c| c.shutdown.ecs_hard_stop_after.map_or_else(not_set, dur),
    },
    Var {
        name: "ECS_JOB_TIMEOUT",
        section: Section::Shutdown,
        default: "10m",
        help: "how long a stop or start job is followed",
        show: |c| dur(c.shutdown.ecs_job_timeout),
    },
    Var {
        name: "AUTO_START",
        section: Section::Shutdown,
        default: "false",
        help: "start what this program stopped once the cycle has reset (huawei-api)",
        show: |c| c.shutdown.auto_start.to_string(),
    },
    Var {
        name: "LEVEL1_ACTIONS",
        section: Section::Actions,
        default: "shutdown",
        help: "what level 1 does, comma-separated: shutdown, throttle, fence, command (empty: notify only)",
        show: |c| levels_of(c, Level::L1),
    },
    Var {
        name: "LEVEL2_ACTIONS",
        section: Section::Actions,
        default: "(none)",
        help: "what level 2 does: throttle, fence, command; in force at level 1 too",
        show: |c| levels_of(c, Level::L2),
    },
    Var {
        name: "LEVEL3_ACTIONS",
        section: Section::Actions,
        default: "(none)",
        help: "what level 3 does: throttle, fence, command; in force at levels 2 and 1 too",
        show: |c| levels_of(c, Level::L3),
    },
    Var {
        name: "LOCAL_FREE_RESOURCE_IDS",
        section: Section::Actions,
        default: "(the watched package, when there is one)",
        help: "the package(s) of the server this program runs on: only their level moves throttle, fence and command here; none for no package",
        show: |c| if c.actions.local_packages.is_empty() { "(none)".into() } else { c.actions.local_packages.join(",") },
    },
    Var {
        name: "THROTTLE_RATE",
        section: Section::Actions,
        default: "1mbit",
        help: "egress limit of throttle, in tc units (kbit, mbit, ...)",
        show: |c| c.actions.throttle_rate.clone(),
    },
    Var {
        name: "THROTTLE_INTERFACE",
        section: Section::Actions,
        default: "(the default route's interface)",
        help: "interface whose egress throttle limits",
        show: |c| opt(&c.actions.throttle_interface),
    },
    Var {
        name: "SSH_PORTS",
        section: Section::Actions,
        default: "22",
        help: "SSH ports, comma-separated: never throttled, never fenced",
        show: |c| ports(&c.actions.ssh_ports),
    },
    Var {
        name: "FENCE_ALLOW_PORTS",
        section: Section::Actions,
        default: "(none)",
        help: "more inbound ports the fence leaves open: 443 or tcp/443, udp/51820 (LISTEN_ADDR's port always is)",
        show: |c| {
            let mut all: Vec<String> = c.actions.fence_allow_ports.iter().map(u16::to_string).collect();
            all.extend(c.actions.fence_allow_udp_ports.iter().map(|p| format!("udp/{p}")));
            if all.is_empty() { "(none)".into() } else { all.join(",") }
        },
    },
    Var {
        name: "FENCE_BACKEND",
        section: Section::Actions,
        default: "auto",
        help: "auto (nft if installed, else iptables), nft or iptables",
        show: |c| c.actions.fence_backend.as_str().into(),
    },
    Var {
        name: "ACTION_ENTER_COMMAND",
        section: Section::Actions,
        default: "(not set)",
        help: "command run on entering a level with `command` (no shell; FLEXUS_LEVEL set)",
        show: |c| cmd(&c.actions.enter_command),
    },
    Var {
        name: "ACTION_LEAVE_COMMAND",
        section: Section::Actions,
        default: "(not set)",
        help: "command run when that level is lifted",
        show: |c| cmd(&c.actions.leave_command),
    },
    Var {
        name: "ACTION_TIMEOUT",
        section: Section::Actions,
        default: "30s",
        help: "each tc, nft, iptables or action command is stopped after this",
        show: |c| dur(c.actions.timeout),
    },
];

impl Config {
    /// The effective settings as `(variable, value)` lines, secrets redacted.
    ///
    /// With `ACCOUNTS`, each account's own values follow as `ACCOUNT_<NAME>_...` lines.
    pub fn effective(&self) -> Vec<(String, String)> {
        let mut out: Vec<(String, String)> = VARS
            .iter()
            .map(|v| (v.name.to_string(), (v.show)(self)))
            .collect();
        for a in self.accounts.iter().filter(|a| !a.name.is_empty()) {
            for p in PER_ACCOUNT {
                out.push((a.var(p.name), account_value(self, a, p.name)));
            }
        }
        out
    }

    /// [`Self::effective`] for a person in `lang`: a value that is a description (`(not set)`)
    /// is written in `lang`.
    pub fn effective_in(&self, lang: crate::messages::Lang) -> Vec<(String, String)> {
        let mut out = self.effective();
        if lang == crate::messages::Lang::Zh {
            for (_, value) in &mut out {
                *value = super::vars_zh::default(value).to_string();
            }
        }
        out
    }
}

/// The value of per-account variable `name` in effect for account `a`, secrets redacted.
fn account_value(c: &Config, a: &super::Account, name: &str) -> String {
    let h = &a.huawei;
    let level = |l: Level| {
        let list: Vec<&str> = a
            .levels
            .get(&l)
            .into_iter()
            .flatten()
            .map(|x| x.label())
            .collect();
        if list.is_empty() {
            "(none)".to_string()
        } else {
            list.join(",")
        }
    };
    let target = |f: &dyn Fn(&crate::target::Target) -> String| {
        let list: Vec<String> = a.targets.values().map(f).collect();
        if list.is_empty() {
            not_set()
        } else {
            list.join(",")
        }
    };
    match name {
        "HUAWEICLOUD_SDK_AK" => sec(&h.access_key),
        "HUAWEICLOUD_SDK_SK" => sec(&h.secret_key),
        "HUAWEICLOUD_SDK_DOMAIN_ID" => opt(&h.domain_id),
        "HUAWEICLOUD_SITE" => h.site.as_str().into(),
        "HUAWEICLOUD_BSS_ENDPOINT" => h.bss_endpoint.to_string(),
        "FREE_RESOURCE_IDS" => a.free_resource_ids.join(","),
        "SERVER_NAME" => a.server_name.clone(),
        "SHUTDOWN_MODE" => a.shutdown_mode.as_str().into(),
        "LEVEL1_ACTIONS" => level(Level::L1),
        "LEVEL2_ACTIONS" => level(Level::L2),
        "LEVEL3_ACTIONS" => level(Level::L3),
        "HUAWEICLOUD_REGION" => opt(&h.region),
        "HUAWEICLOUD_PROJECT_ID" => opt(&h.project_id),
        "ECS_SERVER_ID" => target(&|t| t.server_id.clone()),
        "FLEXUS_INSTANCES" => target(&|t| format!("{}:{}", t.server_id, t.name)),
        "HUAWEICLOUD_ECS_ENDPOINT" => h.ecs_endpoint.clone(),
        "HUAWEICLOUD_RMS_ENDPOINT" => h.rms_endpoint.to_string(),
        _ => {
            let _ = c;
            not_set()
        }
    }
}

/// `--help`'s list of every variable with its default, by section.
pub fn help() -> String {
    help_in(crate::messages::Lang::En)
}

/// [`help`] in `lang`: in Chinese the titles, the defaults that are descriptions and each
/// variable's line ([`super::vars_zh`]); a variable without a Chinese line shows its English one.
pub fn help_in(lang: crate::messages::Lang) -> String {
    let zh = lang == crate::messages::Lang::Zh;
    let mut out = if zh {
        String::from("配置变量（环境变量或 .env）、默认值和用途：\n")
    } else {
        String::from("Configuration variables (environment or .env), their defaults and use:\n")
    };
    let mut sections: Vec<Section> = VARS.iter().map(|v| v.section).collect();
    sections.sort_unstable();
    sections.dedup();
    for section in sections {
        if zh {
            out.push_str(&format!("\n{}：\n", super::vars_zh::title(section)));
        } else {
            out.push_str(&format!("\n{}:\n", section.title()));
        }
        for v in VARS.iter().filter(|v| v.section == section) {
            let (default, help) = if zh {
                (
                    super::vars_zh::default(v.default),
                    super::vars_zh::help(v.name).unwrap_or(v.help),
                )
            } else {
                (v.default, v.help)
            };
            out.push_str(&format!(
                "  {:<28} {}\n  {:<28}   {}\n",
                v.name, default, "", help
            ));
        }
    }
    out
}
