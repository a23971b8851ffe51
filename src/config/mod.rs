//! Configuration: environment variables (and an optional `.env`) turned once into a validated
//! [`Config`] made of sections.
//!
//! Two stages, as ripgrep does with its arguments: [`RawConfig`] is what the environment says, as
//! strings; [`Config::from_raw`] checks every value and reports *all* mistakes at once, each naming
//! the variable and the fix. Later modules trust a `Config`. This module reads no files other than
//! through the loader in `main` and performs no network I/O.
//!
//! - [`vars`]: the one table of variables (name, section, default, help, how `config` shows it).
//!   It drives `--help`, `config`, the defaults, and the `.env.example`/README check.
//! - `sections`, `watch`: one struct per section, each built by its own constructor through a
//!   [`Checker`], which reads a variable or its default from the table and collects mistakes.
//!
//! Adding a variable: a row in [`vars::VARS`], a field in its section and its parse in that
//! section's constructor (then `.env.example` and both READMEs, which a test checks).
//!
//! Configuration depends on the domain modules (`level`, `policy`, `messages`, `huawei`,
//! `target`), never the reverse.

pub mod accounts;
mod actions;
mod channels;
mod cloudeye;
mod email;
mod raw;
mod sections;
mod unknown;
mod validate;
pub mod vars;
mod vars_zh;
mod watch;

pub use accounts::Account;
pub use channels::ChannelSettings;
pub use cloudeye::CloudEyeConfig;
pub use email::{EmailSettings, SmtpTls};
pub use raw::RawConfig;
pub use sections::{
    AlertingConfig, HttpConfig, HuaweiConfig, NotifyConfig, ShutdownConfig, TelegramConfig,
};
pub use unknown::{unknown_variables, unknown_variables_in};
pub use validate::{parse_bool, parse_duration, Checker, Choice, Said};
pub use watch::WatchConfig;

use std::fmt;
use std::path::PathBuf;
use std::str::FromStr;
use std::time::Duration;

use serde::Serialize;

/// Default listening address: loopback only.
pub const DEFAULT_LISTEN_ADDR: &str = "127.0.0.1:9184";

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

impl ShutdownMode {
    /// The `SHUTDOWN_MODE` value.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Command => "command",
            Self::HuaweiApi => "huawei-api",
            Self::Off => "off",
        }
    }
}

impl FromStr for ShutdownMode {
    /// How to write a valid value.
    type Err = &'static str;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "command" => Ok(Self::Command),
            "off" | "none" => Ok(Self::Off),
            "huawei-api" => Ok(Self::HuaweiApi),
            _ => Err("use command (default), huawei-api or off"),
        }
    }
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

impl FallbackMode {
    /// The `FALLBACK` value.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Auto => "auto",
            Self::Always => "always",
            Self::Never => "never",
        }
    }
}

impl FromStr for FallbackMode {
    /// How to write a valid value.
    type Err = &'static str;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "auto" => Ok(Self::Auto),
            "always" => Ok(Self::Always),
            "never" => Ok(Self::Never),
            _ => Err("use auto (default), always or never"),
        }
    }
}

/// `ECS_STOP_TYPE`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StopType {
    /// OS shutdown.
    Soft,
    /// Power off.
    Hard,
}

impl FromStr for StopType {
    /// How to write a valid value.
    type Err = &'static str;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_uppercase().as_str() {
            "SOFT" => Ok(Self::Soft),
            "HARD" => Ok(Self::Hard),
            _ => Err("use SOFT (OS shutdown, default) or HARD (power off)"),
        }
    }
}

impl Choice for ShutdownMode {
    const ZH_FIX: &'static str = "可选 command（默认）、huawei-api 或 off";
}
impl Choice for FallbackMode {
    const ZH_FIX: &'static str = "可选 auto（默认）、always 或 never";
}
impl Choice for StopType {
    const ZH_FIX: &'static str = "可选 SOFT（操作系统关机，默认）或 HARD（强制断电）";
}
impl Choice for crate::logging::LogFormat {
    const ZH_FIX: &'static str = "可选 text（默认）或 json（每行一个 JSON 对象）";
}
impl Choice for crate::messages::Lang {
    const ZH_FIX: &'static str = "可选 zh（中文，默认）或 en（英文）";
}
impl Choice for crate::actions::FenceBackendChoice {
    const ZH_FIX: &'static str = "可选 auto、nft 或 iptables";
}
impl Choice for crate::huawei::Site {
    const ZH_FIX: &'static str = "可选 cn（中国站）、intl（国际站）或 eu（欧洲站）";
}
impl Choice for crate::report::Zone {
    const ZH_FIX: &'static str = "写 local（系统时区）、UTC，或 +08:00 这样的偏移";
}
impl Choice for SmtpTls {
    const ZH_FIX: &'static str =
        "可选 starttls（端口 587）、tls（隐式 TLS，端口 465）或 none（仅限本机的中继）";
}

/// The validated configuration, in sections (see [`vars::VARS`] for which variable goes where).
#[derive(Debug, Clone, Serialize)]
pub struct Config {
    pub huawei: HuaweiConfig,
    pub watch: WatchConfig,
    pub alerting: AlertingConfig,
    pub notify: NotifyConfig,
    pub shutdown: ShutdownConfig,
    pub http: HttpConfig,
    /// What each level does beyond messages (`LEVELn_ACTIONS`, `THROTTLE_*`, `SSH_PORTS`, ...).
    pub actions: crate::actions::ActionSettings,
    pub state_dir: PathBuf,
    /// Timeout of every outgoing HTTP call (Huawei Cloud, Telegram).
    #[serde(with = "humantime_serde_compat")]
    pub http_timeout: Duration,
    /// `LOG_FORMAT`: text lines or JSON lines.
    pub log_format: crate::logging::LogFormat,
    /// The Huawei accounts: those of `ACCOUNTS`, or the one implicit account (named ``) of the
    /// single-account variables. Every watched package belongs to exactly one.
    pub accounts: Vec<Account>,
}

/// One configuration mistake.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    pub variable: String,
    pub value: String,
    pub problem: String,
    pub fix: String,
    /// The problem and the fix in Chinese, where written (`MESSAGE_LANG=zh`, the default); the
    /// others are shown in English.
    pub zh: Option<(String, String)>,
}

impl ConfigError {
    pub fn new(
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
            zh: None,
        }
    }

    /// The same mistake with its problem and fix in Chinese.
    #[must_use]
    pub fn zh(mut self, problem: impl Into<String>, fix: impl Into<String>) -> Self {
        self.zh = Some((problem.into(), fix.into()));
        self
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

impl ConfigErrors {
    /// The problems for a person, in `lang`, with the file they were read from named in the
    /// heading and in each fix that says ".env" (an installed service reads
    /// `/etc/flexus-traffic-monitor/env`, so ".env" would send the user to the wrong file). A
    /// problem without a Chinese text is shown in English.
    pub fn render(&self, source: Option<&std::path::Path>, lang: crate::messages::Lang) -> String {
        let zh = lang == crate::messages::Lang::Zh;
        let n = self.0.len();
        let file = source.map(|f| f.display().to_string());
        let mut out = match (&file, zh) {
            (Some(f), true) => format!("配置有误（{n} 处问题），读取自 {f}：\n"),
            (None, true) => format!("配置有误（{n} 处问题）：\n"),
            (Some(f), false) => format!(
                "invalid configuration in {f} ({n} problem{}):\n",
                if n == 1 { "" } else { "s" }
            ),
            (None, false) => format!(
                "invalid configuration ({n} problem{}):\n",
                if n == 1 { "" } else { "s" }
            ),
        };
        for e in &self.0 {
            let (problem, fix) = match (&e.zh, zh) {
                (Some((p, f)), true) => (p.as_str(), f.as_str()),
                _ => (e.problem.as_str(), e.fix.as_str()),
            };
            let fix = match &file {
                Some(f) => fix.replace(" .env", &format!(" {f}")),
                None => fix.to_string(),
            };
            let name = if e.value.is_empty() {
                e.variable.clone()
            } else {
                format!("{}={:?}", e.variable, e.value)
            };
            if zh {
                out.push_str(&format!("  - {name}：{problem}；改法：{fix}\n"));
            } else {
                out.push_str(&format!("  - {name}: {problem}; fix: {fix}\n"));
            }
        }
        out
    }
}

/// The state directory of an installed service whose env file is `env_file`: the installer and
/// the Debian package put the env file in `PREFIX/etc/flexus-traffic-monitor/env` and the state in
/// `PREFIX/var/lib/flexus-traffic-monitor` (which systemd's `StateDirectory=` and the cron line
/// pass to the service). A command run by hand with that env file uses the same state, so alert
/// memory is not split and an alert does not go out twice. `None` for any other file, or when the
/// directory does not exist.
pub fn installed_state_dir(env_file: &std::path::Path) -> Option<PathBuf> {
    let conf_dir = env_file.parent()?;
    let etc = conf_dir.parent()?;
    let laid_out = env_file.file_name()? == "env"
        && conf_dir.file_name()? == "flexus-traffic-monitor"
        && etc.file_name()? == "etc";
    let state = etc.parent()?.join("var/lib/flexus-traffic-monitor");
    (laid_out && state.is_dir()).then_some(state)
}

impl Config {
    /// Validates the raw values, section by section.
    ///
    /// # Errors
    /// Every mistake found, each naming its variable and the fix.
    pub fn from_raw(raw: &RawConfig) -> Result<Self, ConfigErrors> {
        let mut c = Checker::new(raw);
        let named = accounts::check(raw, &mut c);
        // With ACCOUNTS, the shared checks (live meter, local packages) see every account's
        // packages as the watched ones.
        let mut merged;
        let raw = if named.is_empty() {
            raw
        } else {
            merged = raw.clone();
            let ids: Vec<&str> = named
                .iter()
                .flat_map(|a| &a.free_resource_ids)
                .map(String::as_str)
                .collect();
            merged.set("FREE_RESOURCE_IDS", ids.join(","));
            for v in ["FLEXUS_INSTANCES", "ECS_SERVER_ID"] {
                merged.unset(v);
            }
            &merged
        };
        let errors = std::mem::take(&mut c.errors);
        let mut c = Checker::new(raw);
        c.errors = errors;
        let huawei = HuaweiConfig::check(&mut c);
        let mut watch = WatchConfig::check(&mut c, &huawei);
        for a in &named {
            watch
                .targets
                .extend(a.targets.iter().map(|(k, v)| (k.clone(), v.clone())));
        }
        let alerting = AlertingConfig::check(&mut c);
        let http_timeout = c.duration("HTTP_TIMEOUT", Duration::from_millis(100));
        let log_format = c.choice("LOG_FORMAT", ("is not a log format", "不是日志格式"));
        let http = HttpConfig::check(&mut c);
        let state_dir = c
            .given("STATE_DIR")
            .or(raw
                .get(vars::SYSTEMD_STATE_DIRECTORY)
                .map(|s| s.split(':').next().unwrap_or(s)))
            .map_or_else(|| PathBuf::from("state"), PathBuf::from);
        let notify = NotifyConfig::check(&mut c);
        let shutdown = ShutdownConfig::check(&mut c);
        let mut actions = actions::check(&mut c, http.listen_addr.port(), &watch.free_resource_ids);
        let accounts = if named.is_empty() {
            vec![Account {
                name: String::new(),
                huawei: huawei.clone(),
                free_resource_ids: watch.free_resource_ids.clone(),
                server_name: watch.server_name.clone(),
                targets: watch.targets.clone(),
                shutdown_mode: shutdown.mode,
                levels: actions.levels.clone(),
            }]
        } else {
            named
        };
        // This machine's actions (throttle, fence, command) follow the level actions of the
        // account its own packages belong to.
        if let Some(local) = accounts.iter().find(|a| {
            !a.name.is_empty()
                && actions
                    .local_packages
                    .iter()
                    .any(|p| a.free_resource_ids.contains(p))
        }) {
            actions.levels = local.levels.clone();
        }
        let api_accounts: Vec<&str> = accounts
            .iter()
            .filter(|a| !a.name.is_empty() && a.shutdown_mode == ShutdownMode::HuaweiApi)
            .map(|a| a.name.as_str())
            .collect();
        if shutdown.auto_start && api_accounts.len() > 1 {
            c.error_zh(
                ConfigError::new(
                    "AUTO_START",
                    "true",
                    format!("starts instances with one account's keys, but several accounts stop through the API ({})", api_accounts.join(", ")),
                    "set AUTO_START=false and start them with /start or the console, or let one account use SHUTDOWN_MODE=huawei-api",
                )
                .zh(
                    format!("只能用一个账号的密钥启动实例，但有多个账号通过 API 关机（{}）", api_accounts.join("、")),
                    "设置 AUTO_START=false，用 /start 或控制台启动；或只让一个账号使用 SHUTDOWN_MODE=huawei-api",
                ),
            );
        }
        for a in &accounts {
            let unmapped: Vec<&str> = a
                .free_resource_ids
                .iter()
                .filter(|id| !watch.targets.contains_key(*id))
                .map(String::as_str)
                .collect();
            // With several accounts the instances are listed, not looked up through RMS.
            if a.shutdown_mode == ShutdownMode::HuaweiApi
                && !unmapped.is_empty()
                && (a.huawei.domain_id.is_none() || !a.name.is_empty())
            {
                let (rms, rms_zh) = if a.name.is_empty() {
                    let d = a.var("HUAWEICLOUD_SDK_DOMAIN_ID");
                    (
                        format!(", or {d} to find them through RMS"),
                        format!("，或设置 {d} 以便通过 RMS 查找"),
                    )
                } else {
                    (String::new(), String::new())
                };
                let (id, project, list) = (
                    a.var("ECS_SERVER_ID"),
                    a.var("HUAWEICLOUD_PROJECT_ID"),
                    a.var("FLEXUS_INSTANCES"),
                );
                c.error(
                    &id,
                    "",
                    (
                        format!("is needed with SHUTDOWN_MODE=huawei-api: no instance is known for {}", unmapped.join(", ")),
                        format!("SHUTDOWN_MODE=huawei-api 时必须设置：不知道 {} 属于哪台实例", unmapped.join("、")),
                    ),
                    (
                        format!("set {id}, HUAWEICLOUD_REGION and {project}, or {list}{rms} (`discover` prints the lines)"),
                        format!("设置 {id}、HUAWEICLOUD_REGION 和 {project}，或 {list}{rms_zh}（`discover` 会打印这几行）"),
                    ),
                );
            }
        }
        if !c.errors.is_empty() {
            return Err(ConfigErrors(c.errors));
        }
        Ok(Self {
            huawei,
            watch,
            alerting,
            notify,
            shutdown,
            http,
            actions,
            state_dir,
            http_timeout,
            log_format,
            accounts,
        })
    }

    /// Whether several accounts are watched (`ACCOUNTS`): then messages, the page and the
    /// metrics name the account.
    pub fn several_accounts(&self) -> bool {
        self.accounts.iter().any(|a| !a.name.is_empty())
    }

    /// The account whose keys start instances again (`AUTO_START`, `/start`): the first that
    /// stops through the API, else the first.
    pub fn ecs_account(&self) -> &Account {
        self.accounts
            .iter()
            .find(|a| a.shutdown_mode == ShutdownMode::HuaweiApi)
            .unwrap_or(&self.accounts[0])
    }

    /// The account package `free_resource_id` belongs to.
    pub fn account_of(&self, free_resource_id: &str) -> Option<&Account> {
        self.accounts
            .iter()
            .find(|a| a.free_resource_ids.iter().any(|id| id == free_resource_id))
    }

    /// The name of the account of a package, empty with one account.
    pub fn account_name(&self, free_resource_id: &str) -> &str {
        self.account_of(free_resource_id)
            .map_or("", |a| a.name.as_str())
    }

    /// The server of a package as messages and the page name it: [`Self::server_for`], followed
    /// by the account in brackets when there are several (`flexus [intl]`).
    pub fn shown_server(&self, free_resource_id: &str) -> String {
        let server = self.server_for(free_resource_id);
        match self.account_name(free_resource_id) {
            "" => server.to_string(),
            account => format!("{server} [{account}]"),
        }
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
        if self.several_accounts() {
            // The first account's (`discover`, RMS); each account's client uses its own keys.
            let a = &self.accounts[0];
            return match (&a.huawei.access_key, &a.huawei.secret_key) {
                (Some(ak), Some(sk)) => Ok(crate::huawei::transport::Credentials {
                    access_key: ak.clone(),
                    secret_key: sk.clone(),
                }),
                _ => Err(ConfigErrors(accounts::require_polling(&self.accounts[..1]))),
            };
        }
        let mut errors = Vec::new();
        if self.huawei.access_key.is_none() {
            errors.push(
                ConfigError::new(
                    "HUAWEICLOUD_SDK_AK",
                    "",
                    "is not set",
                    "put your Access Key ID in .env (it needs BSS ReadonlyAccess)",
                )
                .zh(
                    "未设置",
                    "在 .env 中填写访问密钥 ID（AK，该 IAM 用户需要 BSS ReadonlyAccess 权限）",
                ),
            );
        }
        if self.huawei.secret_key.is_none() {
            errors.push(
                ConfigError::new(
                    "HUAWEICLOUD_SDK_SK",
                    "",
                    "is not set",
                    "put your Secret Access Key in .env",
                )
                .zh("未设置", "在 .env 中填写秘密访问密钥（SK）"),
            );
        }
        match (&self.huawei.access_key, &self.huawei.secret_key) {
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
        let mut errors = if self.several_accounts() {
            accounts::require_polling(&self.accounts)
        } else {
            match self.credentials() {
                Ok(_) => Vec::new(),
                Err(e) => e.0,
            }
        };
        if !self.several_accounts() && self.watch.free_resource_ids.is_empty() {
            errors.push(ConfigError::new("FREE_RESOURCE_IDS", "", "is not set", "list your traffic package ids, comma-separated; `flexus-traffic-monitor discover` prints a ready line").zh("未设置", "填写流量包 ID，多个用逗号分隔；`flexus-traffic-monitor discover` 会打印现成的一行"));
        }
        if errors.is_empty() {
            Ok(())
        } else {
            Err(ConfigErrors(errors))
        }
    }

    /// Checks what `serve` needs: a webhook token whenever the address is reachable from elsewhere
    /// (the webhook keeps its own token even behind the web configuration's basic auth, since
    /// Alertmanager sends one `Authorization` header), and a web configuration file that loads.
    ///
    /// # Errors
    /// A non-loopback `LISTEN_ADDR` without `WEBHOOK_TOKEN`; a web configuration file that cannot
    /// be used.
    pub fn require_serving(&self) -> Result<(), ConfigErrors> {
        let mut errors = Vec::new();
        if !self.http.listen_addr.ip().is_loopback() && self.http.webhook_token.is_none() {
            errors.push(ConfigError::new(
                "WEBHOOK_TOKEN",
                "",
                format!("is required because LISTEN_ADDR={} is reachable from other machines (anyone could post alerts)", self.http.listen_addr),
                "set WEBHOOK_TOKEN to a long random value and give Alertmanager the same token, or listen on 127.0.0.1",
            ).zh(
                format!("必须设置：LISTEN_ADDR={} 可从其他机器访问（任何人都能提交告警）", self.http.listen_addr),
                "把 WEBHOOK_TOKEN 设为一个足够长的随机值，并在 Alertmanager 中配置同一令牌；或只监听 127.0.0.1",
            ));
        }
        if let Some(path) = &self.http.web_config_file {
            if let Err(p) = crate::webconfig::load(path) {
                errors.push(web_config_problem(path, p));
            }
        }
        if errors.is_empty() {
            Ok(())
        } else {
            Err(ConfigErrors(errors))
        }
    }

    /// Every check `serve` makes of its configuration before it starts: [`Self::require_polling`]
    /// and [`Self::require_serving`], all problems at once. `config` runs exactly these.
    ///
    /// # Errors
    /// Every problem found.
    pub fn require_for_serve(&self) -> Result<(), ConfigErrors> {
        let mut errors = Vec::new();
        for check in [self.require_polling(), self.require_serving()] {
            if let Err(e) = check {
                errors.extend(e.0);
            }
        }
        if errors.is_empty() {
            Ok(())
        } else {
            Err(ConfigErrors(errors))
        }
    }

    /// The server name of a package: its instance's name when known, else `SERVER_NAME`.
    pub fn server_for(&self, free_resource_id: &str) -> &str {
        match self.account_of(free_resource_id) {
            // An account's own SERVER_NAME (`ACCOUNT_<NAME>_SERVER_NAME`) names its packages.
            Some(a) if !a.name.is_empty() => a
                .targets
                .get(free_resource_id)
                .map_or(a.server_name.as_str(), |t| t.name.as_str()),
            _ => self.watch.server_for(free_resource_id),
        }
    }

    /// What level 1 does under these settings (`LEVEL1_ACTIONS`, without `shutdown` when
    /// `SHUTDOWN_MODE=off`): messages name level 1 by it.
    pub fn level1_does(&self) -> Vec<crate::actions::Action> {
        let off = self.shutdown.mode == ShutdownMode::Off;
        self.actions
            .levels
            .get(&crate::level::Level::L1)
            .into_iter()
            .flatten()
            .copied()
            .filter(|a| !(off && *a == crate::actions::Action::Shutdown))
            .collect()
    }

    /// Why level 1 does not shut down, if it does not.
    pub fn no_shutdown(&self) -> Option<crate::actions::NoShutdown> {
        crate::actions::NoShutdown::of(&self.actions, self.shutdown.mode == ShutdownMode::Off)
    }

    /// Why level 1 of package `id` does not shut down, if it does not: with several accounts,
    /// by its account's `SHUTDOWN_MODE` and `LEVEL1_ACTIONS`.
    pub fn no_shutdown_for(&self, id: &str) -> Option<crate::actions::NoShutdown> {
        use crate::actions::NoShutdown;
        match self.account_of(id) {
            Some(a) if self.several_accounts() => {
                let l1 = a
                    .levels
                    .get(&crate::level::Level::L1)
                    .is_some_and(|x| x.contains(&crate::actions::Action::Shutdown));
                if !l1 {
                    Some(NoShutdown::NotInLevel1Actions)
                } else if a.shutdown_mode == ShutdownMode::Off {
                    Some(NoShutdown::ModeOff)
                } else {
                    None
                }
            }
            _ => self.no_shutdown(),
        }
    }

    /// Settings that are valid but probably unwise, as sentences for the log (in English).
    pub fn warnings(&self) -> Vec<String> {
        self.warnings_in(crate::messages::Lang::En)
    }

    /// [`Self::warnings`] for a person, in `lang` (`config` prints them). A warning written in
    /// English only is shown in English.
    pub fn warnings_in(&self, lang: crate::messages::Lang) -> Vec<String> {
        let zh = lang == crate::messages::Lang::Zh;
        self.warnings_said()
            .into_iter()
            .map(|w| match (zh, w.zh) {
                (true, Some(text)) => text,
                _ => w.en,
            })
            .collect()
    }

    fn warnings_said(&self) -> Vec<Said> {
        let mut w: Vec<Said> = Vec::new();
        if validate::in_temp_dir(&self.state_dir) {
            w.push(Said::from((format!(
                "STATE_DIR={} is inside the temp directory, which many systems wipe at reboot (alert cadence and shutdown records would be lost); use a persistent directory such as /var/lib/flexus-traffic-monitor",
                self.state_dir.display()
            ), format!(
                "STATE_DIR={} 在临时目录中，很多系统重启时会清空它（告警节奏和关机记录会丢失）；请改用 /var/lib/flexus-traffic-monitor 这样的持久目录",
                self.state_dir.display()
            ))));
        }
        if !self.telegram_enabled() && self.notify.channels.configured().is_empty() {
            w.push(Said::from(("TELEGRAM_BOT_TOKEN or TELEGRAM_CHAT_ID is not set and no other channel is configured: messages are only printed on standard error", "TELEGRAM_BOT_TOKEN 或 TELEGRAM_CHAT_ID 没有设置，也没有配置其他渠道：消息只会打印在标准错误上")));
        }
        if self
            .notify
            .channels
            .dingtalk_secret
            .as_ref()
            .is_some_and(|s| !s.expose().trim().starts_with("SEC"))
        {
            w.push(Said::from(("DINGTALK_SECRET does not start with SEC, as the signing secret DingTalk shows does: a cut or wrong secret makes DingTalk refuse every message (sign not match); copy the whole secret from the robot's security settings", "DINGTALK_SECRET 不是以 SEC 开头，而钉钉显示的加签密钥是以 SEC 开头的：密钥不全或有误时钉钉会拒收每条消息（「sign not match」）；请从机器人的安全设置中复制完整的密钥")));
        }
        let tg = &self.notify.telegram;
        let group = tg.chat_id.as_deref().is_some_and(|c| c.starts_with('-'));
        if tg.commands && group && tg.allowed_users.is_empty() {
            w.push(Said::from(("TELEGRAM_COMMANDS=true in a group without TELEGRAM_ALLOWED_USERS: every member of the group can cancel a shutdown (/cancel); list the user ids that may", "群组中设置了 TELEGRAM_COMMANDS=true 却没有 TELEGRAM_ALLOWED_USERS：群里每个成员都能取消关机（/cancel）；请列出允许操作的用户 ID")));
        }
        w
    }

    /// Whether Telegram is configured.
    pub fn telegram_enabled(&self) -> bool {
        self.notify.telegram_enabled()
    }
}

/// Serializes durations as human text (`10m`) in JSON output.
pub(crate) mod humantime_serde_compat {
    use std::time::Duration;
    pub fn serialize<S: serde::Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&humantime::format_duration(*d).to_string())
    }
}

#[cfg(test)]
mod tests;

/// A problem of the web configuration file as a configuration problem: `WEB_CONFIG_FILE` (or the
/// flag), the file, and the key inside it.
pub fn web_config_problem(path: &std::path::Path, p: crate::webconfig::Problem) -> ConfigError {
    ConfigError::new(
        "WEB_CONFIG_FILE",
        &path.display().to_string(),
        format!("{}: {}", p.key, p.problem),
        p.fix,
    )
    .zh(format!("{}：{}", p.key, p.zh.0), p.zh.1)
}
