//! The text of every user-facing message, in Chinese (default, as the original) or English
//! (`MESSAGE_LANG=en`), formatted for Telegram's HTML parse mode.
//!
//! Pure: a [`Message`] and a language in, text out. Every value that comes from outside (server
//! name, package names, error texts) is HTML-escaped here, so a server called `my_server*1` cannot
//! break the message (the original used unescaped Markdown and lost such messages).

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::actions::{Action, ActionError, Installed, Key, NoShutdown};
use crate::forecast::Forecast;
use crate::huawei::bss::PollProblem;
use crate::huawei::ecs::EcsFailure;
use crate::level::{Level, Thresholds};
use crate::outcome::{How, ShutdownError, Stopped};
use crate::policy::{CancelReason, HoldEnd};
use crate::reading::Reading;

mod describe;
#[cfg(test)]
pub(crate) mod lang_check;
pub mod language;
mod readings;
mod report;

pub use describe::{quoted, span, Localize};
pub use report::{
    age, render_report, CycleReport, InForce, ReportFigures, ReportForecast, ReportKind,
};

/// Message language.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Lang {
    Zh,
    En,
}

impl Lang {
    /// `MESSAGE_LANG` from the process environment (after `.env` was loaded), Chinese by default
    /// or when it does not parse: the language of what commands print, also before (or without)
    /// a valid configuration.
    pub fn from_env() -> Self {
        std::env::var("MESSAGE_LANG")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(Self::Zh)
    }

    /// The `MESSAGE_LANG` value.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Zh => "zh",
            Self::En => "en",
        }
    }
}

impl std::str::FromStr for Lang {
    /// How to write a supported value.
    type Err = &'static str;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "zh" | "zh-cn" | "zh_cn" | "cn" => Ok(Self::Zh),
            "en" | "en-us" | "en_us" => Ok(Self::En),
            _ => Err("use zh (Chinese, default) or en (English)"),
        }
    }
}

/// The figures of one package as a message shows them.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Facts {
    pub server: String,
    pub free_resource_id: String,
    pub package_name: String,
    pub usage_type: String,
    pub total_gb: Option<f64>,
    pub used_gb: Option<f64>,
    pub remaining_gb: Option<f64>,
    /// What is left now by the server's own counter (see `egress`), when known.
    pub estimate_gb: Option<f64>,
    pub cycle_start: Option<DateTime<Utc>>,
    pub cycle_end: Option<DateTime<Utc>>,
    /// Extra text from an alert (its summary), when figures of our own are missing.
    pub note: Option<String>,
}

impl Facts {
    /// Facts from a reading.
    pub fn from_reading(server: &str, r: &Reading) -> Self {
        Self {
            server: server.to_string(),
            free_resource_id: r.free_resource_id.clone(),
            package_name: r.package_name.clone(),
            usage_type: r.usage_type.clone(),
            total_gb: Some(r.total_gb),
            used_gb: Some(r.used_gb()),
            remaining_gb: Some(r.remaining_gb),
            estimate_gb: None,
            cycle_start: r.cycle_start,
            cycle_end: r.cycle_end,
            note: None,
        }
    }
}

/// Every message the program sends.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub enum Message {
    Alert {
        level: Level,
        facts: Facts,
        /// Why level 1 does not shut down (`None`: it does).
        no_shutdown: Option<NoShutdown>,
        /// The gentler actions this level puts in force on this package's server (none for a
        /// package of another server, or what was lifted by hand).
        actions: Vec<Action>,
    },
    Recovery {
        from: Level,
        to: Level,
        facts: Facts,
    },
    Report {
        facts: Facts,
    },
    /// A report around a reset (a day before it, after it) or the daily digest.
    CycleReport {
        report: CycleReport,
    },
    /// The guard started its countdown.
    ShutdownCountdown {
        facts: Facts,
        seconds: u64,
        dry_run: bool,
    },
    /// A reminder during the countdown.
    ShutdownWarning {
        server: String,
        seconds_left: u64,
    },
    ShutdownCancelled {
        server: String,
        free_resource_id: String,
        reason: CancelReason,
    },
    /// The executor is about to run.
    ShuttingDown {
        server: String,
        dry_run: bool,
        #[serde(serialize_with = "crate::logging::as_text")]
        executor: How,
    },
    ShutdownDone {
        server: String,
        dry_run: bool,
        #[serde(serialize_with = "crate::logging::as_text")]
        outcome: Stopped,
    },
    ShutdownFailed {
        server: String,
        #[serde(serialize_with = "crate::logging::as_text")]
        error: ShutdownError,
    },
    /// A shutdown cancelled with `/cancel` is enabled again.
    ShutdownResumed {
        server: String,
        free_resource_id: String,
        why: HoldEnd,
    },
    /// Polling has failed repeatedly or cannot work until the user fixes something.
    MonitoringFailing {
        server: String,
        failures: u32,
        #[serde(serialize_with = "crate::logging::as_text")]
        error: PollProblem,
        configuration: bool,
        /// The failing account, with several accounts (the others are read as usual).
        #[serde(skip_serializing_if = "Option::is_none")]
        account: Option<String>,
    },
    MonitoringRecovered {
        server: String,
    },
    /// The server's own egress counter cannot be read: decisions go by the bill alone.
    EgressCounterLost {
        server: String,
        error: String,
    },
    /// A generic alert from Alertmanager (stale data, forecast, ...).
    ExternalAlert {
        server: String,
        alertname: String,
        firing: bool,
        summary: String,
    },
    StateReset {
        server: String,
        moved_to: String,
    },
    /// `AUTO_START` started an instance this process had stopped (`id`), with ECS job `job`.
    InstanceStarted {
        server: String,
        id: String,
        job: String,
    },
    InstanceStartFailed {
        server: String,
        id: String,
        #[serde(serialize_with = "crate::logging::as_text")]
        failure: EcsFailure,
    },
    Test {
        server: String,
    },
    /// What a webhook delivery held beyond the messages sent one by one (see `engine`).
    MoreAlerts {
        server: String,
        /// Alerts folded into this message.
        count: usize,
        /// The first few of their names.
        names: Vec<String>,
    },
    /// A gentler action was put in force (throttle, fence, command).
    ActionApplied {
        server: String,
        level: Level,
        installed: Installed,
        /// The commands that undo it by hand.
        undo: Vec<String>,
        /// Under `DRY_RUN`: the commands that would have run.
        would_run: Vec<String>,
        dry_run: bool,
    },
    /// It was lifted: the package is back at or above its level, or the settings dropped it.
    ActionLifted {
        server: String,
        level: Level,
        action: Action,
        dry_run: bool,
    },
    ActionFailed {
        server: String,
        level: Level,
        action: Action,
        error: ActionError,
    },
    /// `flexus-traffic-monitor lift` removed every action of ours by hand; `lifted` are those the
    /// state had in force (they stay off until their level has recovered once).
    ActionsLiftedByHand {
        server: String,
        lifted: Vec<Key>,
        dry_run: bool,
    },
    /// A package's reading is not acted on: unreadable, refused as impossible, or held until the
    /// next reading confirms it (see `plausibility`). Told once per distinct problem.
    ReadingNotUsed {
        server: String,
        free_resource_id: String,
        #[serde(serialize_with = "crate::logging::as_text")]
        error: crate::huawei::wire::ReadingError,
        /// The remaining traffic of the last reading acted on, if any.
        last_good_gb: Option<f64>,
    },
    /// The package's readings are acted on again.
    ReadingUsable {
        server: String,
        free_resource_id: String,
        remaining_gb: f64,
    },
}

/// How many names a [`Message::MoreAlerts`] lists, and how long each may be.
pub const FOLDED_NAMES: usize = 10;
pub const FOLDED_NAME_CHARS: usize = 60;

/// The most characters of one outside value (a label, an error text, a command's output) a
/// message shows; the rest is cut and marked with `…`. With it, one message fits Telegram's 4096
/// characters whatever an alert carries (a 1 MiB label once became 257 messages).
pub const MAX_VALUE_CHARS: usize = 300;

/// Escapes an outside value for Telegram's HTML mode (`&`, `<`, `>`, `"`), after cutting it to
/// [`MAX_VALUE_CHARS`] and writing its control characters visibly (`\n`, `\u{1b}`), so that a
/// value cannot add lines or terminal escapes to a message (nor to the console sink's output).
pub fn escape(s: &str) -> String {
    let s = bounded(s, MAX_VALUE_CHARS);
    crate::logging::escape(&s)
        .replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// Escapes text for Telegram's HTML mode, as it is.
fn html(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// `s` cut to `max` characters, with `…` when cut.
pub fn bounded(s: &str, max: usize) -> std::borrow::Cow<'_, str> {
    match s.char_indices().nth(max) {
        None => std::borrow::Cow::Borrowed(s),
        Some((at, _)) => std::borrow::Cow::Owned(format!("{}…", &s[..at])),
    }
}

/// Text someone else wrote (an alert's summary), already escaped: as it is when it is in `lang`,
/// else quoted, as text that is not ours to translate.
fn outside_text(lang: Lang, escaped: &str) -> String {
    match (lang, describe::has_cjk(escaped)) {
        (Lang::Zh, false) => format!("「{escaped}」"),
        (Lang::En, true) => format!("\"{escaped}\""),
        _ => escaped.to_string(),
    }
}

/// The plain-text twin of a rendered HTML message: tags removed, entities decoded.
pub fn to_plain(html: &str) -> String {
    let mut out = String::with_capacity(html.len());
    let mut in_tag = false;
    for ch in html.chars() {
        match ch {
            '<' => in_tag = true,
            '>' if in_tag => in_tag = false,
            c if !in_tag => out.push(c),
            _ => {}
        }
    }
    out.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&amp;", "&")
}

fn gb(v: Option<f64>) -> String {
    v.map(|x| format!("{x:.2} GB"))
        .unwrap_or_else(|| "?".into())
}

fn date(t: Option<DateTime<Utc>>) -> String {
    t.map(|t| t.format("%Y-%m-%d %H:%M").to_string())
        .unwrap_or_else(|| "?".into())
}

/// Why a countdown was cancelled, in `lang` (Telegram HTML).
pub fn cancel_reason(r: &CancelReason, lang: Lang) -> String {
    match (r, lang) {
        (CancelReason::ReadingRecovered { remaining_gb }, Lang::En) => format!("a fresh reading shows {remaining_gb:.2} GB, at or above the level-1 threshold"),
        (CancelReason::ReadingRecovered { remaining_gb }, Lang::Zh) => format!("最新读数为 {remaining_gb:.2} GB，已不低于 1 级阈值"),
        (CancelReason::AlertResolved, Lang::En) => "the level-1 alert was resolved".into(),
        (CancelReason::AlertResolved, Lang::Zh) => "1 级告警已解除".into(),
        (CancelReason::FreshReadingAboveT1 { remaining_gb, t1_gb }, Lang::En) => format!("a fresh reading shows {remaining_gb:.2} GB, at or above the level-1 threshold {t1_gb} GB"),
        (CancelReason::FreshReadingAboveT1 { remaining_gb, t1_gb }, Lang::Zh) => format!("重新读取的流量为 {remaining_gb:.2} GB，不低于 1 级阈值 {t1_gb} GB"),
        (CancelReason::FreshPollFailed { error }, Lang::En) => format!("the fresh reading failed, so nothing is done: {}", error.localize(lang)),
        (CancelReason::FreshPollFailed { error }, Lang::Zh) => format!("重新读取流量失败，因此不执行任何操作：{}", error.localize(lang)),
        (CancelReason::NotPolled, Lang::En) => "the package is not among the polled ids".into(),
        (CancelReason::NotPolled, Lang::Zh) => "该流量包不在读取列表中".into(),
        (CancelReason::FreshReadingUnusable { error }, Lang::En) => format!("the fresh reading of this package is unusable, so nothing is done: {}", error.localize(lang)),
        (CancelReason::FreshReadingUnusable { error }, Lang::Zh) => format!("该流量包的最新读数不可用，因此不执行任何操作：{}", error.localize(lang)),
        (CancelReason::Stopping, Lang::En) => "the monitor is stopping, so nothing is done; after it starts again, a new countdown starts only from a fresh reading below the level-1 threshold".into(),
        (CancelReason::Stopping, Lang::Zh) => "监控程序正在停止，因此不执行任何操作；重新启动后，只有新的读数仍低于 1 级阈值才会重新开始倒计时".into(),
        (CancelReason::ByCommand { until }, Lang::En) => format!("cancelled with /cancel in Telegram; traffic beyond the free package is billed. Shutdown is back at {} (UTC), at the package's next level change, or with /resume", date(Some(*until))),
        (CancelReason::ByCommand { until }, Lang::Zh) => format!("已在 Telegram 中通过 /cancel 取消；超出免费流量包的流量将按量计费。自动关机将在 {}（UTC）、流量包级别下次变化时或发送 /resume 后恢复", date(Some(*until))),
    }
}

struct Text<'a> {
    lang: Lang,
    /// What level 1 does under the current settings (see [`render_for`]).
    level1: &'a [Action],
}

impl Text<'_> {
    fn t<'b>(&self, zh: &'b str, en: &'b str) -> &'b str {
        match self.lang {
            Lang::Zh => zh,
            Lang::En => en,
        }
    }

    /// The level's name; level 1 is named by what it does under the current settings.
    fn level_name(&self, l: Level) -> String {
        let does = if self.level1.contains(&Action::Shutdown) {
            vec![action_name(self.lang, Action::Shutdown)]
        } else {
            self.level1
                .iter()
                .map(|a| action_name(self.lang, *a))
                .collect()
        };
        match (self.lang, l) {
            (Lang::Zh, Level::Ok) => "正常".into(),
            (Lang::Zh, Level::L3) => "3 级（普通告警）".into(),
            (Lang::Zh, Level::L2) => "2 级（高频告警）".into(),
            (Lang::Zh, Level::L1) if does.is_empty() => "1 级（仅告警）".into(),
            (Lang::Zh, Level::L1) => format!("1 级（{}）", does.join("、")),
            (Lang::En, Level::Ok) => "ok".into(),
            (Lang::En, Level::L3) => "level 3 (normal alert)".into(),
            (Lang::En, Level::L2) => "level 2 (high-frequency alert)".into(),
            (Lang::En, Level::L1) if does.is_empty() => "level 1 (alerts only)".into(),
            (Lang::En, Level::L1) => format!("level 1 ({})", does.join(", ")),
        }
    }

    fn facts(&self, f: &Facts, level: Level) -> String {
        let mut lines = vec![
            format!(
                "{}<b>{}</b>",
                self.t("服务器：", "Server: "),
                escape(&f.server)
            ),
            format!(
                "{}{} (<code>{}</code>)",
                self.t("流量包：", "Package: "),
                escape(if f.package_name.is_empty() {
                    "-"
                } else {
                    &f.package_name
                }),
                escape(&f.free_resource_id)
            ),
            format!(
                "{}{}",
                self.t("流量类型：", "Traffic type: "),
                escape(if f.usage_type.is_empty() {
                    "-"
                } else {
                    &f.usage_type
                })
            ),
            format!("{}{}", self.t("总量：", "Quota: "), gb(f.total_gb)),
            format!("{}{}", self.t("已用：", "Used: "), gb(f.used_gb)),
            match f.estimate_gb.filter(|e| Some(*e) != f.remaining_gb) {
                None => format!(
                    "{}<b>{}</b>",
                    self.t("剩余：", "Remaining: "),
                    gb(f.remaining_gb)
                ),
                Some(now) => format!(
                    "{}{} · {}<b>{}</b>",
                    self.t("剩余（账单）：", "Remaining (bill): "),
                    gb(f.remaining_gb),
                    self.t("本机计数估算现在约 ", "now ≈ "),
                    gb(Some(now))
                ),
            },
            format!(
                "{}{} ~ {} (UTC)",
                self.t("周期：", "Cycle: "),
                date(f.cycle_start),
                date(f.cycle_end)
            ),
            format!("{}{}", self.t("级别：", "Level: "), self.level_name(level)),
        ];
        if let Some(note) = &f.note {
            // Multi-line and bounded where it is taken from an alert (`engine`).
            lines.push(outside_text(
                self.lang,
                &html(&crate::logging::escape_keep_lines(note)),
            ));
        }
        lines.join("\n")
    }
}

/// Renders a message as Telegram HTML, level 1 named as the default settings have it (it shuts
/// down); [`render_for`] names it by what it does under given settings.
pub fn render(m: &Message, lang: Lang, th: &Thresholds) -> String {
    render_for(m, lang, th, &[Action::Shutdown])
}

/// Renders a message as Telegram HTML; `level1` is what level 1 does under the current settings
/// (`Config::level1_does`), which names it ("level 1 (fence)").
pub fn render_for(m: &Message, lang: Lang, th: &Thresholds, level1: &[Action]) -> String {
    let x = Text { lang, level1 };
    match m {
        Message::Alert { level, facts, no_shutdown, actions } => {
            let (emoji, zh, en, limit) = match level {
                Level::L3 => ("🟡", "流量告警（普通）", "Traffic alert (normal)", th.t3),
                Level::L2 => ("🟠", "流量告警（高频）", "Traffic alert (high-frequency)", th.t2),
                _ => ("‼️", "流量即将耗尽", "Free traffic almost used up", th.t1),
            };
            let mut s = format!(
                "{emoji} <b>{}</b>\n{}\n{}",
                x.t(zh, en),
                x.facts(facts, *level),
                match lang {
                    Lang::Zh => format!("剩余流量低于 {limit} GB。"),
                    Lang::En => format!("Remaining traffic is below {limit} GB."),
                }
            );
            let names = actions.iter().map(|a| action_name(lang, *a)).collect::<Vec<_>>();
            let in_force = match lang {
                Lang::Zh => names.join("、"),
                Lang::En => names.join(", "),
            };
            if *level == Level::L1 {
                s.push('\n');
                s.push_str(&match (no_shutdown, actions.is_empty(), lang) {
                    (None, true, _) => x.t("将在确认最新读数后关机。", "The server will be shut down after a fresh reading confirms it.").to_string(),
                    (None, false, Lang::Zh) => format!("将在确认最新读数后关机；在此之前已生效：{in_force}。"),
                    (None, false, Lang::En) => format!("The server will be shut down after a fresh reading confirms it; until then in force: {in_force}."),
                    (Some(why), true, Lang::Zh) => format!("不会自动关机（{}），也没有其他动作：请手动处理。", no_shutdown_text(lang, *why)),
                    (Some(why), true, Lang::En) => format!("No automatic shutdown ({}) and no other action: act by hand.", no_shutdown_text(lang, *why)),
                    (Some(why), false, Lang::Zh) => format!("已生效：{in_force}。不会自动关机（{}）。", no_shutdown_text(lang, *why)),
                    (Some(why), false, Lang::En) => format!("In force: {in_force}. No automatic shutdown ({}).", no_shutdown_text(lang, *why)),
                });
            } else if !actions.is_empty() {
                s.push('\n');
                s.push_str(&match lang {
                    Lang::Zh => format!("已生效：{in_force}。"),
                    Lang::En => format!("In force: {in_force}."),
                });
            }
            s
        }
        Message::Recovery { from, to, facts } => format!(
            "✅ <b>{}</b>\n{}\n{}{} → {}",
            x.t("流量已恢复", "Traffic recovered"),
            x.facts(facts, *to),
            x.t("级别变化：", "Level change: "),
            x.level_name(*from),
            x.level_name(*to)
        ),
        Message::Report { facts } => format!("🟢 <b>{}</b>\n{}", x.t("流量报告", "Traffic report"), x.facts(facts, Level::Ok)),
        Message::CycleReport { report } => render_report(report, lang),
        Message::ShutdownCountdown { facts, seconds, dry_run } => format!(
            "‼️ <b>{}</b>\n{}\n{}",
            if *dry_run { x.t("关机倒计时（演练，DRY_RUN）", "Shutdown countdown (dry run)") } else { x.t("关机倒计时", "Shutdown countdown") },
            x.facts(facts, Level::L1),
            match lang {
                Lang::Zh => format!("{seconds} 秒后将重新读取流量，若仍低于 {} GB 则关机。", th.t1),
                Lang::En => format!("In {seconds} s the traffic is read again; if it is still below {} GB the server shuts down.", th.t1),
            }
        ),
        Message::ShutdownWarning { server, seconds_left } => match lang {
            Lang::Zh => format!("‼️ <b>{}</b> 将在 {seconds_left} 秒后关机（流量低于 1 级阈值）。", escape(server)),
            Lang::En => format!("‼️ <b>{}</b> shuts down in {seconds_left} s (traffic below level 1).", escape(server)),
        },
        Message::ShutdownCancelled { server, free_resource_id, reason } => format!(
            "✅ <b>{}</b>\n{}<b>{}</b> (<code>{}</code>)\n{}{}",
            x.t("已取消关机", "Shutdown cancelled"),
            x.t("服务器：", "Server: "),
            escape(server),
            escape(free_resource_id),
            x.t("原因：", "Reason: "),
            cancel_reason(reason, lang)
        ),
        Message::ShuttingDown { server, dry_run, executor } => match (lang, dry_run) {
            (Lang::Zh, false) => format!("‼️ <b>{}</b> 正在关机（{}）。", escape(server), executor.localize(lang)),
            (Lang::En, false) => format!("‼️ <b>{}</b> is shutting down ({}).", escape(server), executor.localize(lang)),
            (Lang::Zh, true) => format!("🧪 <b>{}</b> 演练模式（DRY_RUN）：此时会关机，但不会执行。", escape(server)),
            (Lang::En, true) => format!("🧪 <b>{}</b> dry run (DRY_RUN): would shut down now; nothing is done.", escape(server)),
        },
        Message::ShutdownDone { server, dry_run, outcome } => format!(
            "{} <b>{}</b>{}{}",
            if *dry_run { "🧪" } else { "⏹" },
            escape(server),
            x.t("：", ": "),
            match (lang, dry_run) {
                (Lang::Zh, false) => format!("已执行关机：{}", outcome.localize(lang)),
                (Lang::En, false) => format!("shutdown executed: {}", outcome.localize(lang)),
                (Lang::Zh, true) => format!("演练完成，未关机：{}", outcome.localize(lang)),
                (Lang::En, true) => format!("dry run done, nothing shut down: {}", outcome.localize(lang)),
            }
        ),
        Message::ShutdownFailed { server, error } => format!(
            "❌ <b>{}</b>\n{}<b>{}</b>\n{}",
            x.t("关机失败", "Shutdown failed"),
            x.t("服务器：", "Server: "),
            escape(server),
            error.localize(lang)
        ),
        Message::ShutdownResumed { server, free_resource_id, why } => format!(
            "‼️ <b>{}</b>\n{}<b>{}</b> (<code>{}</code>)\n{}",
            x.t("自动关机已恢复", "Automatic shutdown is enabled again"),
            x.t("服务器：", "Server: "),
            escape(server),
            escape(free_resource_id),
            match why {
                HoldEnd::Resumed => x.t("已通过 /resume 恢复；流量仍低于 1 级阈值时，下一次读数将重新开始关机倒计时。", "Resumed with /resume; if the traffic is still below level 1, the next reading starts the shutdown countdown again."),
                HoldEnd::Expired => x.t("通过 /cancel 取消关机的期限已到；流量仍低于 1 级阈值时，下一次读数将重新开始关机倒计时。", "The cancellation made with /cancel has run out; if the traffic is still below level 1, the next reading starts the shutdown countdown again."),
                HoldEnd::LevelChanged => x.t("流量包级别已变化，通过 /cancel 的取消随之结束。", "The package's level changed, which ends the cancellation made with /cancel."),
            }
        ),
        Message::MonitoringFailing { server, failures, error, configuration, account: None } => format!(
            "⚠️ <b>{}</b>\n{}<b>{}</b>\n{}\n{}",
            x.t("流量监控失败", "Traffic monitoring is failing"),
            x.t("服务器：", "Server: "),
            escape(server),
            match (lang, configuration) {
                (Lang::Zh, true) => "配置错误，修复前无法读取流量：".to_string(),
                (Lang::En, true) => "A configuration problem stops all readings until it is fixed:".to_string(),
                (Lang::Zh, false) => format!("连续 {failures} 次读取失败，最后的错误："),
                (Lang::En, false) => format!("{failures} polls in a row failed; last error:"),
            },
            error.localize(lang)
        ),
        Message::MonitoringFailing { server, failures, error, configuration, account: Some(account) } => format!(
            "⚠️ <b>{}</b>\n{}<b>{}</b>\n{}<b>{}</b>\n{}\n{}",
            x.t("流量监控失败", "Traffic monitoring is failing"),
            x.t("服务器：", "Server: "),
            escape(server),
            x.t("账号：", "Account: "),
            escape(account),
            match (lang, configuration) {
                (Lang::Zh, true) => "配置错误，修复前无法读取这个账号的流量（其他账号照常读取）：".to_string(),
                (Lang::En, true) => "A configuration problem stops this account's readings until it is fixed (the other accounts are read as usual):".to_string(),
                (Lang::Zh, false) => format!("这个账号连续 {failures} 次读取失败（其他账号照常读取），最后的错误："),
                (Lang::En, false) => format!("{failures} polls of this account in a row failed (the other accounts are read as usual); last error:"),
            },
            // The variables the error names are the account's own.
            error.localize(lang).replace(
                "HUAWEICLOUD_",
                &format!("ACCOUNT_{}_HUAWEICLOUD_", escape(&account.to_ascii_uppercase())),
            )
        ),
        Message::MonitoringRecovered { server } => match lang {
            Lang::Zh => format!("✅ <b>{}</b> 流量监控已恢复。", escape(server)),
            Lang::En => format!("✅ <b>{}</b> traffic monitoring works again.", escape(server)),
        },
        Message::EgressCounterLost { server, error } => format!(
            "⚠️ <b>{}</b>\n{}<b>{}</b>\n{}\n{}",
            x.t("无法读取本机出站流量计数器", "This server's egress counter cannot be read"),
            x.t("服务器：", "Server: "),
            escape(server),
            outside_text(lang, &escape(error)),
            x.t(
                "在恢复之前，只按账单的读数判断（账单有延迟，实时估算暂停）。",
                "Until it can be read again, decisions go by the bill alone (the bill lags; the live estimate is paused)."
            )
        ),
        Message::ExternalAlert { server, alertname, firing, summary } => format!(
            "{} <b>{}</b> {}\n{}<b>{}</b>\n{}",
            if *firing { "⚠️" } else { "✅" },
            escape(alertname),
            if *firing { x.t("告警", "firing") } else { x.t("已解除", "resolved") },
            x.t("服务器：", "Server: "),
            escape(server),
            outside_text(lang, &escape(summary))
        ),
        Message::StateReset { server, moved_to } => match lang {
            Lang::Zh => format!("⚠️ <b>{}</b> 状态文件损坏，已另存为 {} 并重新开始。", escape(server), escape(moved_to)),
            Lang::En => format!("⚠️ <b>{}</b> state file was unreadable; kept as {} and started fresh.", escape(server), escape(moved_to)),
        },
        Message::InstanceStarted { server, id, job } => match lang {
            Lang::Zh => format!(
                "▶️ <b>{}</b>：新周期流量已恢复，实例已重新启动。\n开机（ECS os-start）成功：实例 <code>{}</code>，任务 <code>{}</code>",
                escape(server), escape(id), escape(job)
            ),
            Lang::En => format!(
                "▶️ <b>{}</b>: the traffic cycle reset; the instance was started again.\nstart (ECS os-start) succeeded: instance <code>{}</code>, job <code>{}</code>",
                escape(server), escape(id), escape(job)
            ),
        },
        Message::InstanceStartFailed { server, id, failure } => match lang {
            Lang::Zh => format!(
                "❌ <b>{}</b>：自动开机失败，将稍后重试。\n实例 <code>{}</code>：{}",
                escape(server), escape(id), failure.localize(lang)
            ),
            Lang::En => format!(
                "❌ <b>{}</b>: automatic start failed; it will be tried again later.\nInstance <code>{}</code>: {}",
                escape(server), escape(id), failure.localize(lang)
            ),
        },
        Message::ActionApplied { server, level, installed, undo, would_run, dry_run } => {
            let a = action_name(lang, installed_action(installed));
            let mut out = match (lang, dry_run) {
                (Lang::Zh, false) => format!("🚦 <b>{}</b>：{}已生效（{}）", escape(server), a, x.level_name(*level)),
                (Lang::En, false) => format!("🚦 <b>{}</b>: {a} is in force ({})", escape(server), x.level_name(*level)),
                (Lang::Zh, true) => format!("🧪 <b>{}</b>：演练模式（DRY_RUN），{}未执行（{}）", escape(server), a, x.level_name(*level)),
                (Lang::En, true) => format!("🧪 <b>{}</b>: dry run (DRY_RUN), {a} not done ({})", escape(server), x.level_name(*level)),
            };
            out.push('\n');
            out.push_str(&installed_text(lang, installed));
            if *dry_run && !would_run.is_empty() {
                out.push_str(x.t("\n将会运行：\n", "\nWould run:\n"));
                out.push_str(&code_lines(would_run));
            }
            out.push_str(&match lang {
                Lang::Zh => format!("\n解除：当最新读数显示流量回到 {} 以上（新周期或续费）时自动解除；手动解除：<code>flexus-traffic-monitor lift</code>", x.level_name(*level)),
                Lang::En => format!("\nUndo: lifted automatically when a fresh reading shows the package back above {} (new cycle or renewal); by hand: <code>flexus-traffic-monitor lift</code>", x.level_name(*level)),
            });
            if !undo.is_empty() {
                out.push_str(x.t("，或运行：\n", ", or run:\n"));
                out.push_str(&code_lines(undo));
            }
            out
        }
        Message::ActionLifted { server, level, action, dry_run } => {
            let a = action_name(lang, *action);
            match (lang, dry_run) {
                (Lang::Zh, false) => format!("✅ <b>{}</b>：{a}已解除（{}）。", escape(server), x.level_name(*level)),
                (Lang::En, false) => format!("✅ <b>{}</b>: {a} lifted ({}).", escape(server), x.level_name(*level)),
                (Lang::Zh, true) => format!("🧪 <b>{}</b>：演练模式（DRY_RUN），会解除{a}（{}）。", escape(server), x.level_name(*level)),
                (Lang::En, true) => format!("🧪 <b>{}</b>: dry run (DRY_RUN), would lift {a} ({}).", escape(server), x.level_name(*level)),
            }
        }
        Message::ActionFailed { server, level, action, error } => format!(
            "❌ <b>{}</b>\n{}<b>{}</b>\n{}\n{}",
            match lang {
                Lang::Zh => format!("{}失败（{}）", action_name(lang, *action), x.level_name(*level)),
                Lang::En => format!("{} failed ({})", action_name(lang, *action), x.level_name(*level)),
            },
            x.t("服务器：", "Server: "),
            escape(server),
            error.localize(lang),
            x.t("已撤销未完成的部分；将在稍后重试。", "What was half done was removed; it will be tried again later."),
        ),
        Message::ActionsLiftedByHand { server, lifted, dry_run } => {
            let names: Vec<String> = lifted
                .iter()
                .map(|k| match lang {
                    Lang::Zh => format!("{}（{} 级）", action_name(lang, k.action), k.level.label()),
                    Lang::En => format!("{} (level {})", action_name(lang, k.action), k.level.label()),
                })
                .collect();
            let head = match (lang, dry_run) {
                (Lang::Zh, false) => format!("✋ <b>{}</b>：已手动解除（<code>flexus-traffic-monitor lift</code>）", escape(server)),
                (Lang::En, false) => format!("✋ <b>{}</b>: lifted by hand (<code>flexus-traffic-monitor lift</code>)", escape(server)),
                (Lang::Zh, true) => format!("🧪 <b>{}</b>：演练模式（DRY_RUN），<code>flexus-traffic-monitor lift</code> 只打印了命令", escape(server)),
                (Lang::En, true) => format!("🧪 <b>{}</b>: dry run (DRY_RUN), <code>flexus-traffic-monitor lift</code> only printed its commands", escape(server)),
            };
            match (lang, names.is_empty()) {
                (Lang::Zh, false) => format!("{head}：{}。\n在流量包级别恢复一次之前不会再次施加（重启也不会）；新周期或续费后照常生效。", names.join("、")),
                (Lang::En, false) => format!("{head}: {}.\nThey stay off until the package's level has recovered once (a restart does not put them back); after a new cycle or renewal they act again as configured.", names.join(", ")),
                (Lang::Zh, true) => format!("{head}。\n状态中没有生效的动作；本程序的规则（如有）已移除。"),
                (Lang::En, true) => format!("{head}.\nNo action was recorded as in force; any rules of ours were removed."),
            }
        }
        Message::MoreAlerts { server, count, names } => {
            let listed: Vec<String> = names.iter().take(FOLDED_NAMES).map(|n| escape(&bounded(n, FOLDED_NAME_CHARS))).collect();
            let more = if *count > listed.len() { "…" } else { "" };
            match lang {
                Lang::Zh => format!("⚠️ <b>另有 {count} 条告警</b>（同一次投递，合并为一条消息）\n服务器：<b>{}</b>\n{}{more}", escape(server), listed.join("、")),
                Lang::En => format!("⚠️ <b>{count} more alerts</b> (one delivery, folded into one message)\nServer: <b>{}</b>\n{}{more}", escape(server), listed.join(", ")),
            }
        }
        Message::ReadingNotUsed { server, free_resource_id, error, last_good_gb } => {
            readings::not_used(lang, server, free_resource_id, error, *last_good_gb)
        }
        Message::ReadingUsable { server, free_resource_id, remaining_gb } => {
            readings::usable(lang, server, free_resource_id, *remaining_gb)
        }
        Message::Test { server } => match lang {
            Lang::Zh => format!("🔔 <b>{}</b> 测试消息：flexus-traffic-monitor 可以通过此渠道发送通知。", escape(server)),
            Lang::En => format!("🔔 <b>{}</b> test message: flexus-traffic-monitor can send notifications here.", escape(server)),
        },
    }
}

/// One package as `/status` shows it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PackageStatus {
    pub server: String,
    /// The package's account, with several accounts (`ACCOUNTS`).
    pub account: Option<String>,
    pub free_resource_id: String,
    pub package_name: String,
    pub remaining_gb: Option<f64>,
    pub total_gb: Option<f64>,
    /// What is left now by the live estimate built on that reading (see `egress`), when there is one.
    pub estimate_gb: Option<f64>,
    /// From a fresh reading only.
    pub level: Option<Level>,
    pub cycle_end: Option<DateTime<Utc>>,
    pub forecast: Forecast,
    /// When a running countdown acts.
    pub countdown_until: Option<DateTime<Utc>>,
    /// When a `/cancel` ends at the latest.
    pub cancelled_until: Option<DateTime<Utc>>,
}

/// What the Telegram bot answers in the chat (sent directly, not through the outbox).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub enum BotReply {
    Help,
    /// A command the bot does not know.
    Unknown,
    Status {
        server: String,
        packages: Vec<PackageStatus>,
        muted_until: Option<DateTime<Utc>>,
    },
    /// `/cancel` during a countdown: asks for confirmation (with a button).
    CancelAsk {
        servers: Vec<String>,
        until: DateTime<Utc>,
    },
    /// The label of the confirmation button.
    CancelButton,
    /// `/cancel` (or its button) with no countdown running.
    NothingRunning {
        shutdown_enabled: bool,
    },
    /// The confirmation button is too old.
    ButtonExpired,
    /// The button's short answer after cancelling (the outcome goes to every channel).
    CancelConfirmed,
    /// The button came after the guard began to act: the shutdown goes on.
    TooLate {
        servers: Vec<String>,
    },
    /// `/resume`: how many cancellations ended.
    Resumed {
        count: usize,
    },
    NothingToResume,
    /// `/start` outside `SHUTDOWN_MODE=huawei-api`.
    StartUnsupported,
    /// `/start` with nothing this program stopped.
    NothingStopped,
    /// `/start`: the instances being started, and those whose traffic is not back yet.
    Starting {
        started: Vec<String>,
        not_due: Vec<String>,
    },
    Muted {
        until: DateTime<Utc>,
    },
    Unmuted,
    MuteUsage,
    /// A button pressed by a user or in a chat that may not command: answered (so the client
    /// stops spinning, as the Bot API asks of every callback), nothing done.
    NotAllowed,
    /// `/report`: the report of every watched package.
    Report {
        reports: Vec<CycleReport>,
    },
}

fn forecast_text(f: &Forecast, lang: Lang) -> String {
    match (f, lang) {
        (Forecast::NoData, Lang::En) => "not enough readings yet".into(),
        (Forecast::NoData, Lang::Zh) => "读数不足，暂无预测".into(),
        (Forecast::AlreadyBelow, Lang::En) => "already below level 1".into(),
        (Forecast::AlreadyBelow, Lang::Zh) => "已低于 1 级阈值".into(),
        (Forecast::NotFalling { .. }, Lang::En) => {
            "not falling: level 1 is not reached at this rate".into()
        }
        (Forecast::NotFalling { .. }, Lang::Zh) => "流量未减少：按当前速度不会降到 1 级".into(),
        (
            Forecast::Reaches {
                gb_per_day,
                at,
                before_reset,
                ..
            },
            Lang::En,
        ) => format!(
            "{gb_per_day:.2} GB/day; level 1 at {} (UTC){}",
            date(Some(*at)),
            match before_reset {
                Some(true) => ", before the reset",
                Some(false) => ", after the reset",
                None => "",
            }
        ),
        (
            Forecast::Reaches {
                gb_per_day,
                at,
                before_reset,
                ..
            },
            Lang::Zh,
        ) => format!(
            "每天 {gb_per_day:.2} GB；预计 {}（UTC）降到 1 级{}",
            date(Some(*at)),
            match before_reset {
                Some(true) => "，早于流量重置",
                Some(false) => "，晚于流量重置",
                None => "",
            }
        ),
    }
}

/// Renders a bot answer as Telegram HTML.
pub fn render_reply(r: &BotReply, lang: Lang, th: &Thresholds) -> String {
    render_reply_for(r, lang, th, &[Action::Shutdown])
}

/// [`render_reply`] with level 1 named by what it does (see [`render_for`]).
pub fn render_reply_for(r: &BotReply, lang: Lang, th: &Thresholds, level1: &[Action]) -> String {
    let x = Text { lang, level1 };
    match r {
        BotReply::Help => x.t(
            "<b>可用命令</b>\n/status — 各流量包的剩余流量、级别、重置日期和预测\n/report — 流量报告（与重置前后的报告相同）\n/cancel — 取消正在进行的关机倒计时（需按按钮确认；超出免费流量包的流量将按量计费）\n/resume — 恢复自动关机\n/start — 启动本程序关闭的实例（仅 SHUTDOWN_MODE=huawei-api，流量已重置时）\n/mute 6h — 暂停重复提醒（进入新级别、关机倒计时和关机消息照常发送）；/mute off 取消\n/help — 本帮助",
            "<b>Commands</b>\n/status — every package: remaining, level, reset date, forecast\n/report — the traffic report (the same as around each reset)\n/cancel — cancel a running shutdown countdown (confirm with the button; traffic beyond the free package is billed)\n/resume — enable the automatic shutdown again\n/start — start an instance this program stopped (SHUTDOWN_MODE=huawei-api, once the traffic has reset)\n/mute 6h — silence repeats (entering a level, the countdown and shutdown messages still come); /mute off ends it\n/help — this help",
        ).to_string(),
        BotReply::Unknown => x.t("未知命令。发送 /help 查看可用命令。", "Unknown command. Send /help for the list.").to_string(),
        BotReply::Status { server, packages, muted_until } => {
            let mut out = format!("📊 <b>{}</b> <b>{}</b>", x.t("流量状态", "Traffic status"), escape(server));
            for p in packages {
                out.push_str(&format!(
                    "\n\n<b>{}</b> (<code>{}</code>)\n{}{} / {}{}\n{}{}\n{}{} (UTC)\n{}{}",
                    escape(if p.package_name.is_empty() { &p.server } else { &p.package_name }),
                    escape(&p.free_resource_id),
                    match p.estimate_gb.filter(|e| Some(*e) != p.remaining_gb) {
                        None => x.t("剩余：", "Remaining: "),
                        Some(_) => x.t("剩余（账单）：", "Remaining (bill): "),
                    },
                    gb(p.remaining_gb),
                    gb(p.total_gb),
                    p.estimate_gb
                        .filter(|e| Some(*e) != p.remaining_gb)
                        .map_or_else(String::new, |e| format!(" · {}<b>{}</b>", x.t("现在约 ", "now ≈ "), gb(Some(e)))),
                    x.t("级别：", "Level: "),
                    p.level.map_or_else(|| x.t("无最新读数", "no fresh reading").to_string(), |l| x.level_name(l).to_string()),
                    x.t("重置：", "Resets: "),
                    date(p.cycle_end),
                    x.t("预测：", "Forecast: "),
                    forecast_text(&p.forecast, lang),
                ));
                if let Some(a) = &p.account {
                    out.push_str(&format!("\n{}{}", x.t("账号：", "Account: "), escape(a)));
                }
                if let Some(t) = p.countdown_until {
                    out.push_str(&match lang {
                        Lang::Zh => format!("\n‼️ 关机倒计时进行中，{}（UTC）重新读取后决定是否关机；发送 /cancel 可取消", date(Some(t))),
                        Lang::En => format!("\n‼️ Shutdown countdown running: decided by a fresh reading at {} (UTC); /cancel cancels it", date(Some(t))),
                    });
                }
                if let Some(t) = p.cancelled_until {
                    out.push_str(&match lang {
                        Lang::Zh => format!("\n⏸ 自动关机已通过 /cancel 取消，至 {}（UTC）或级别变化为止", date(Some(t))),
                        Lang::En => format!("\n⏸ Automatic shutdown cancelled with /cancel until {} (UTC) or the next level change", date(Some(t))),
                    });
                }
            }
            if packages.is_empty() {
                out.push_str(x.t("\n尚无读数。", "\nNo reading yet."));
            }
            if let Some(t) = muted_until {
                out.push_str(&match lang {
                    Lang::Zh => format!("\n\n🔕 重复提醒已暂停至 {}（UTC）", date(Some(*t))),
                    Lang::En => format!("\n\n🔕 Repeats muted until {} (UTC)", date(Some(*t))),
                });
            }
            out
        }
        BotReply::CancelAsk { servers, until } => {
            let names: Vec<String> = servers.iter().map(|s| format!("<b>{}</b>", escape(s))).collect();
            match lang {
                Lang::Zh => format!("‼️ 确定取消 {} 的关机吗？\n取消后服务器继续运行，<b>超出免费流量包的流量将按量计费</b>。\n取消持续到 {}（UTC）或流量包级别下次变化为止；发送 /resume 可随时恢复。\n请在 10 分钟内按下面的按钮确认。", names.join("、"), date(Some(*until))),
                Lang::En => format!("‼️ Cancel the shutdown of {}?\nThe server keeps running and <b>traffic beyond the free package is billed</b>.\nThe cancellation lasts until {} (UTC) or the package's next level change; /resume ends it at any time.\nPress the button below within 10 minutes to confirm.", names.join(", "), date(Some(*until))),
            }
        }
        BotReply::CancelButton => x.t("确认取消关机（超出部分计费）", "Cancel the shutdown (overage is billed)").to_string(),
        BotReply::NothingRunning { shutdown_enabled } => if *shutdown_enabled {
            x.t("当前没有正在进行的关机倒计时，无需取消。", "No shutdown countdown is running; nothing to cancel.")
        } else {
            x.t("自动关机未启用（SHUTDOWN_MODE=off 或 LEVEL1_ACTIONS 不含 shutdown），无需取消。", "Automatic shutdown is not enabled (SHUTDOWN_MODE=off, or LEVEL1_ACTIONS without shutdown); nothing to cancel.")
        }.to_string(),
        BotReply::ButtonExpired => x.t("此按钮已过期，请重新发送 /cancel。", "This button has expired; send /cancel again.").to_string(),
        BotReply::CancelConfirmed => x.t("关机已取消。", "Shutdown cancelled.").to_string(),
        BotReply::TooLate { servers } => {
            let names = servers.iter().map(|s| escape(s)).collect::<Vec<_>>();
            match lang {
                Lang::Zh => format!("太晚了：{} 已经开始关机，无法取消。", names.join("、")),
                Lang::En => format!("Too late: {} is already shutting down; it cannot be cancelled.", names.join(", ")),
            }
        }
        BotReply::Resumed { count } => match lang {
            Lang::Zh => format!("✅ 已恢复 {count} 个流量包的自动关机。"),
            Lang::En => format!("✅ Automatic shutdown enabled again for {count} package(s)."),
        },
        BotReply::NothingToResume => x.t("没有通过 /cancel 取消的关机，自动关机本就处于启用状态。", "No shutdown was cancelled with /cancel; nothing to resume.").to_string(),
        BotReply::StartUnsupported => x.t("只有 SHUTDOWN_MODE=huawei-api 时才能通过 /start 启动实例；由命令关机的服务器无法从这里启动。", "/start works only with SHUTDOWN_MODE=huawei-api; a server shut down by a command cannot be started from here.").to_string(),
        BotReply::NothingStopped => x.t("没有由本程序关闭的实例。本程序只启动自己关闭的实例。", "No instance stopped by this program. It only starts instances it stopped itself.").to_string(),
        BotReply::Starting { started, not_due } => {
            let list = |v: &[String]| v.iter().map(|s| format!("<b>{}</b>", escape(s))).collect::<Vec<_>>().join(", ");
            let mut out = Vec::new();
            if !started.is_empty() {
                out.push(match lang {
                    Lang::Zh => format!("▶️ 正在启动 {}，结果将另行通知。", list(started)),
                    Lang::En => format!("▶️ Starting {}; the outcome follows in a separate message.", list(started)),
                });
            }
            if !not_due.is_empty() {
                out.push(match lang {
                    Lang::Zh => format!("⏸ 暂不启动 {}：流量周期尚未重置、剩余流量仍低于 {} GB，或刚刚尝试过（稍后再试）。", list(not_due), th.t1),
                    Lang::En => format!("⏸ Not starting {}: its cycle has not reset, the remaining traffic is still below {} GB, or a start was just tried (try again later).", list(not_due), th.t1),
                });
            }
            out.join("\n")
        }
        BotReply::Muted { until } => match lang {
            Lang::Zh => format!("🔕 重复提醒已暂停至 {}（UTC）。进入新级别、关机倒计时和关机消息照常发送。/mute off 可取消。", date(Some(*until))),
            Lang::En => format!("🔕 Repeats muted until {} (UTC). Entering a level, the shutdown countdown and shutdown messages still come. /mute off ends it.", date(Some(*until))),
        },
        BotReply::Unmuted => x.t("🔔 重复提醒已恢复。", "🔔 Repeats are sent again.").to_string(),
        BotReply::NotAllowed => x.t("你无权使用此按钮，未执行任何操作。", "You may not use this button; nothing was done.").to_string(),
        BotReply::MuteUsage => x.t("用法：/mute 6h（最长 7 天），或 /mute off。", "Usage: /mute 6h (at most 7 days), or /mute off.").to_string(),
        BotReply::Report { reports } if reports.is_empty() => x.t("尚无读数。", "No reading yet.").to_string(),
        BotReply::Report { reports } => reports.iter().map(|r| render_report(r, lang)).collect::<Vec<_>>().join("\n\n"),
    }
}

/// Commands of our own, one `<code>` a line, whole: they are built by this program (names from
/// validated settings, quoted for the shell) and must work when pasted, so they are not cut to
/// [`MAX_VALUE_CHARS`]; control characters would still be shown visibly.
fn code_lines(lines: &[String]) -> String {
    lines
        .iter()
        .map(|l| format!("<code>{}</code>", html(&crate::logging::escape(l))))
        .collect::<Vec<_>>()
        .join("\n")
}

fn ports(p: &[u16]) -> String {
    p.iter().map(u16::to_string).collect::<Vec<_>>().join(", ")
}

/// The name of an action in `lang`.
pub fn action_name(lang: Lang, a: Action) -> &'static str {
    match (lang, a) {
        (Lang::Zh, Action::Shutdown) => "关机",
        (Lang::Zh, Action::Throttle) => "限速",
        (Lang::Zh, Action::Fence) => "封闭入站",
        (Lang::Zh, Action::Command) => "自定义命令",
        (Lang::En, a) => a.label(),
    }
}

fn installed_text(lang: Lang, i: &Installed) -> String {
    match (lang, i) {
        (Lang::Zh, Installed::Throttle { interface, rate, ports: p, queue, .. }) => format!(
            "网卡 <code>{}</code> 的出站流量已限速为 <b>{}</b>；端口 {}（SSH 和本程序的监听端口）发出的流量和本程序的 API 调用不限速。{}",
            escape(interface), escape(rate), ports(p), queue_note(lang, queue.as_deref())
        ),
        (Lang::En, Installed::Throttle { interface, rate, ports: p, queue, .. }) => format!(
            "Egress on <code>{}</code> is limited to <b>{}</b>; traffic from ports {} (SSH and this program's listen port) and this program's API calls are not limited.{}",
            escape(interface), escape(rate), ports(p), queue_note(lang, queue.as_deref())
        ),
        (Lang::Zh, Installed::Fence { backend, ports: p, udp_ports, .. }) => format!(
            "新的入站连接已被丢弃（{}），只保留 TCP 端口 {}{}；已打开的连接（包括 SSH 会话）、本机发起的连接、本机回环和 ping 不受影响。",
            backend_name(*backend),
            ports(p),
            if udp_ports.is_empty() { "（UDP 全部关闭）".to_string() } else { format!(" 和 UDP 端口 {}", ports(udp_ports)) }
        ),
        (Lang::En, Installed::Fence { backend, ports: p, udp_ports, .. }) => format!(
            "New inbound connections are dropped ({}) except to TCP ports {}{}; connections already open (SSH sessions too), the server's own outbound ones, loopback and ping go on.",
            backend_name(*backend),
            ports(p),
            if udp_ports.is_empty() { " (no UDP port)".to_string() } else { format!(" and UDP ports {}", ports(udp_ports)) }
        ),
        (Lang::Zh, Installed::Command { .. }) => "已运行进入命令（ACTION_ENTER_COMMAND）。".into(),
        (Lang::En, Installed::Command { .. }) => "The enter command (ACTION_ENTER_COMMAND) ran.".into(),
    }
}

/// What the throttle's fair queue fell back to, when the kernel has no `fq_codel` (empty
/// otherwise, and when it is unknown).
fn queue_note(lang: Lang, queue: Option<&str>) -> String {
    match queue {
        Some(q) if q != crate::actions::throttle::FAIR_QUEUE => match lang {
            Lang::Zh => format!("本机内核没有 fq_codel，限速内的流量改用 <code>{}</code> 队列，公平性较差：一个大下载会更多地拖慢其他连接。", escape(q)),
            Lang::En => format!(" This kernel has no fq_codel: the limited traffic shares a <code>{}</code> queue instead, which is less fair (a big download delays the other connections more).", escape(q)),
        },
        _ => String::new(),
    }
}

/// Why there is no automatic shutdown, naming the setting that says so.
pub fn no_shutdown_text(lang: Lang, why: NoShutdown) -> &'static str {
    match (lang, why) {
        (Lang::Zh, NoShutdown::NotInLevel1Actions) => "LEVEL1_ACTIONS 不含 shutdown",
        (Lang::En, NoShutdown::NotInLevel1Actions) => "shutdown is not in LEVEL1_ACTIONS",
        (Lang::Zh, NoShutdown::ModeOff) => "SHUTDOWN_MODE=off",
        (Lang::En, NoShutdown::ModeOff) => "SHUTDOWN_MODE=off",
    }
}

fn backend_name(b: crate::actions::FenceBackend) -> &'static str {
    match b {
        crate::actions::FenceBackend::Nft => "nftables",
        crate::actions::FenceBackend::Iptables => "iptables",
    }
}

fn installed_action(i: &Installed) -> Action {
    match i {
        Installed::Throttle { .. } => Action::Throttle,
        Installed::Fence { .. } => Action::Fence,
        Installed::Command { .. } => Action::Command,
    }
}

/// Cuts one long line of Telegram HTML into parts of at most `max` characters, never inside a tag
/// or an entity (`&amp;`); tags open at a cut are closed there and opened again in the next part,
/// so each part parses on its own.
fn cut_line(line: &str, max: usize) -> Vec<String> {
    // The line as units: a whole tag, a whole entity, or one character.
    let mut units: Vec<String> = Vec::new();
    let mut token = String::new();
    for ch in line.chars() {
        if token.is_empty() && ch != '<' && ch != '&' {
            units.push(ch.to_string());
            continue;
        }
        token.push(ch);
        let done = (token.starts_with('<') && ch == '>')
            || (token.starts_with('&') && (ch == ';' || token.chars().count() > 10));
        if done {
            units.push(std::mem::take(&mut token));
        }
    }
    if !token.is_empty() {
        units.push(token);
    }
    let closing = |open: &[(String, String)]| -> String {
        open.iter().rev().map(|(n, _)| format!("</{n}>")).collect()
    };
    let mut parts = Vec::new();
    let mut open: Vec<(String, String)> = Vec::new(); // (name, opening tag)
    let mut cur = String::new();
    let mut cur_len = 0;
    for unit in units {
        let unit_len = unit.chars().count();
        let mut after = open.clone();
        if let Some(name) = unit.strip_prefix("</") {
            let name = name.trim_end_matches('>').trim();
            if let Some(at) = after.iter().rposition(|(n, _)| n == name) {
                after.remove(at);
            }
        } else if let Some(tag) = unit.strip_prefix('<') {
            let name: String = tag
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric())
                .collect();
            after.push((name, unit.clone()));
        }
        if cur_len > 0 && cur_len + unit_len + closing(&after).chars().count() > max {
            cur.push_str(&closing(&open));
            parts.push(std::mem::take(&mut cur));
            cur = open.iter().map(|(_, t)| t.as_str()).collect();
            cur_len = cur.chars().count();
        }
        cur.push_str(&unit);
        cur_len += unit_len;
        open = after;
    }
    parts.push(cur);
    parts
}

/// Splits a message into parts of at most `max` characters, on line boundaries where possible
/// (Telegram's limit is 4096 characters).
pub fn split(text: &str, max: usize) -> Vec<String> {
    let mut parts = Vec::new();
    let mut current = String::new();
    let mut len = 0;
    for line in text.split_inclusive('\n') {
        let mut line = line.to_string();
        let mut line_len = line.chars().count();
        if len + line_len > max && len > 0 {
            parts.push(
                std::mem::take(&mut current)
                    .trim_end_matches('\n')
                    .to_string(),
            );
            len = 0;
        }
        // A single line longer than `max` is cut where no tag or entity is open, each part
        // closing the tags still open and the next opening them again.
        if line_len > max {
            let mut pieces = cut_line(&line, max);
            line = pieces.pop().unwrap_or_default();
            line_len = line.chars().count();
            parts.extend(pieces);
        }
        current.push_str(&line);
        len += line_len;
    }
    if !current.trim().is_empty() || parts.is_empty() {
        parts.push(current.trim_end_matches('\n').to_string());
    }
    parts
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_chinese_dry_run_message_has_no_english_sentence() {
        let m = super::Message::ShutdownDone {
            server: "sg-1".into(),
            dry_run: true,
            outcome: super::Stopped::WouldRun {
                how: super::How::Command("shutdown -h now".into()),
                target: None,
            },
        };
        let text = super::render(&m, super::Lang::Zh, &super::Thresholds::default());
        assert!(
            text.contains("本来会执行命令 <code>shutdown -h now</code>"),
            "{text}"
        );
        assert!(!text.contains("would run"), "{text}");
    }

    use super::*;

    fn facts() -> Facts {
        Facts {
            server: "my_server*1 <b>".into(),
            free_resource_id: "id-1".into(),
            package_name: "Lightweight BGP data package".into(),
            usage_type: "Uplink traffic".into(),
            total_gb: Some(1200.0),
            used_gb: Some(346.734),
            remaining_gb: Some(853.266),
            estimate_gb: None,
            cycle_start: DateTime::from_timestamp(1_736_265_600, 0),
            cycle_end: DateTime::from_timestamp(1_738_944_000, 0),
            note: None,
        }
    }

    #[test]
    fn outside_values_are_bounded_and_cannot_add_lines_or_escapes() {
        let th = Thresholds::default();
        let huge = "x".repeat(1024 * 1024);
        let m = Message::ExternalAlert {
            server: "evil\n‼️ <b>forged</b>\u{1b}[2J".into(),
            alertname: huge.clone(),
            firing: true,
            summary: huge,
        };
        for lang in [Lang::Zh, Lang::En] {
            let s = render(&m, lang, &th);
            assert!(s.chars().count() < 4096, "one Telegram message");
            assert_eq!(split(&s, 4096).len(), 1);
            assert!(s.contains(&format!("{}…", "x".repeat(MAX_VALUE_CHARS))));
            assert_eq!(s.lines().count(), 3, "{s}");
            assert!(!s.contains('\u{1b}'));
            assert!(
                s.contains("evil\\n‼️ &lt;b&gt;forged&lt;/b&gt;\\u{1b}[2J"),
                "{s}"
            );
        }
        assert_eq!(bounded("abc", 3), "abc");
        assert_eq!(bounded("abcd", 3), "abc…");
        assert_eq!(bounded("流量告警", 2), "流量…");
    }

    #[test]
    fn alerts_carry_every_figure_with_two_decimals() {
        let th = Thresholds::default();
        for lang in [Lang::Zh, Lang::En] {
            let s = render(
                &Message::Alert {
                    level: Level::L3,
                    facts: facts(),
                    no_shutdown: None,
                    actions: vec![],
                },
                lang,
                &th,
            );
            for want in [
                "1200.00 GB",
                "346.73 GB",
                "853.27 GB",
                "Uplink traffic",
                "2025-01-07 16:00",
                "2025-02-07 16:00",
                "id-1",
            ] {
                assert!(s.contains(want), "{lang:?}: {want} missing in {s}");
            }
        }
        let zh = render(
            &Message::Alert {
                level: Level::L2,
                facts: facts(),
                no_shutdown: None,
                actions: vec![],
            },
            Lang::Zh,
            &th,
        );
        assert!(zh.contains("🟠") && zh.contains("高频"), "{zh}");
        let en = render(
            &Message::Alert {
                level: Level::L1,
                facts: facts(),
                no_shutdown: Some(NoShutdown::ModeOff),
                actions: vec![],
            },
            Lang::En,
            &th,
        );
        assert!(
            en.contains("‼️") && en.contains("SHUTDOWN_MODE=off") && en.contains("act by hand"),
            "{en}"
        );
    }

    #[test]
    fn a_level_1_alert_says_what_acts_and_why_nothing_shuts_down() {
        let th = Thresholds::default();
        let fence_only = Message::Alert {
            level: Level::L1,
            facts: facts(),
            no_shutdown: Some(NoShutdown::NotInLevel1Actions),
            actions: vec![Action::Throttle, Action::Fence],
        };
        let en = render(&fence_only, Lang::En, &th);
        assert!(
            en.contains("In force: throttle, fence. No automatic shutdown (shutdown is not in LEVEL1_ACTIONS)."),
            "{en}"
        );
        assert!(
            !en.contains("SHUTDOWN_MODE") && !en.contains("act by hand"),
            "{en}"
        );
        let zh = render(&fence_only, Lang::Zh, &th);
        assert!(
            zh.contains("已生效：限速、封闭入站。不会自动关机（LEVEL1_ACTIONS 不含 shutdown）"),
            "{zh}"
        );
        let both = Message::Alert {
            level: Level::L1,
            facts: facts(),
            no_shutdown: None,
            actions: vec![Action::Fence],
        };
        assert!(render(&both, Lang::En, &th)
            .contains("shut down after a fresh reading confirms it; until then in force: fence."));
    }

    #[test]
    fn names_are_escaped_for_html() {
        let s = render(
            &Message::Report { facts: facts() },
            Lang::En,
            &Thresholds::default(),
        );
        assert!(s.contains("my_server*1 &lt;b&gt;"), "{s}");
        assert!(!s.contains("my_server*1 <b>"));
        assert!(to_plain(&s).contains("my_server*1 <b>"));
    }

    #[test]
    fn a_long_line_is_cut_outside_tags_and_entities_and_each_part_closes_its_tags() {
        let line = format!(
            "<b>{}</b> <code>{}</code>",
            "a&amp;b ".repeat(700),
            "x&lt;y ".repeat(700)
        );
        let parts = split(&line, 4096);
        assert!(parts.len() >= 3, "{}", parts.len());
        for p in &parts {
            assert!(p.chars().count() <= 4096, "{}", p.chars().count());
            // Every part parses alone: tags balanced, no entity cut.
            for tag in ["b", "code"] {
                assert_eq!(
                    p.matches(&format!("<{tag}>")).count(),
                    p.matches(&format!("</{tag}>")).count(),
                    "{tag} in {p}"
                );
            }
            let cut_entity = p
                .rsplit('&')
                .next()
                .is_some_and(|tail| p.contains('&') && !tail.contains(';'));
            assert!(!cut_entity, "an entity cut at the end of {p}");
        }
        assert_eq!(
            to_plain(
                &parts
                    .concat()
                    .replace("</b><b>", "")
                    .replace("</code><code>", "")
            ),
            to_plain(&line)
        );
    }

    #[test]
    fn plain_text_drops_tags_only() {
        assert_eq!(to_plain("<b>a &lt;b&gt; &amp; c</b>"), "a <b> & c");
    }

    #[test]
    fn long_messages_split_on_line_boundaries() {
        let line = "x".repeat(100);
        let text = vec![line.clone(); 100].join("\n");
        let parts = split(&text, 4096);
        assert!(parts.len() == 3, "{}", parts.len());
        assert!(parts.iter().all(|p| p.chars().count() <= 4096));
        assert!(parts.iter().all(|p| p.split('\n').all(|l| l == line)));
        assert_eq!(parts.join("\n"), text);
        let long = "y".repeat(9000);
        let parts = split(&long, 4096);
        assert_eq!(
            parts.iter().map(|p| p.len()).collect::<Vec<_>>(),
            [4096, 4096, 808]
        );
        assert_eq!(split("short", 4096), ["short"]);
    }
}

#[cfg(test)]
mod action_message_tests {
    use super::*;
    use crate::actions::FenceBackend;

    fn applied(dry_run: bool) -> Message {
        Message::ActionApplied {
            server: "web<1>".into(),
            level: Level::L2,
            installed: Installed::Throttle {
                interface: "eth0".into(),
                rate: "1mbit".into(),
                ports: vec![22, 9184],
                endpoints: vec![],
                queue: None,
            },
            undo: vec!["tc qdisc del dev eth0 root handle f7f1:".into()],
            would_run: vec!["tc qdisc add dev eth0 root handle f7f1: htb default 20".into()],
            dry_run,
        }
    }

    #[test]
    fn level_1_is_named_by_what_it_does_under_the_settings() {
        let th = Thresholds::default();
        let m = applied(false);
        let lifted = |level1: &[Action], lang| {
            let Message::ActionApplied { server, .. } = &m else {
                unreachable!()
            };
            render_for(
                &Message::ActionLifted {
                    server: server.clone(),
                    level: Level::L1,
                    action: Action::Fence,
                    dry_run: false,
                },
                lang,
                &th,
                level1,
            )
        };
        let en = lifted(&[Action::Fence], Lang::En);
        assert!(
            en.contains("(level 1 (fence))") && !en.contains("shutdown"),
            "{en}"
        );
        let zh = lifted(&[Action::Fence, Action::Throttle], Lang::Zh);
        assert!(
            zh.contains("1 级（限速、封闭入站）") || zh.contains("1 级（封闭入站、限速）"),
            "{zh}"
        );
        assert!(!zh.contains("关机"), "{zh}");
        let en = lifted(&[], Lang::En);
        assert!(en.contains("level 1 (alerts only)"), "{en}");
        let en = lifted(&[Action::Fence, Action::Shutdown], Lang::En);
        assert!(en.contains("level 1 (shutdown)"), "{en}");
    }

    #[test]
    fn a_throttle_without_fq_codel_says_which_queue_the_kernel_took() {
        let th = Thresholds::default();
        let with = |queue: Option<&str>| {
            let mut m = applied(false);
            if let Message::ActionApplied {
                installed: Installed::Throttle { queue: q, .. },
                ..
            } = &mut m
            {
                *q = queue.map(str::to_string);
            }
            m
        };
        let en = render(&with(Some("sfq")), Lang::En, &th);
        assert!(
            en.contains("no fq_codel") && en.contains("<code>sfq</code>"),
            "{en}"
        );
        let zh = render(&with(Some("pfifo")), Lang::Zh, &th);
        assert!(
            zh.contains("fq_codel") && zh.contains("<code>pfifo</code>"),
            "{zh}"
        );
        for fine in [Some("fq_codel"), None] {
            let en = render(&with(fine), Lang::En, &th);
            assert!(!en.contains("no fq_codel"), "{en}");
        }
    }

    #[test]
    fn action_messages_say_what_was_done_and_how_to_undo_it_in_both_languages() {
        let th = Thresholds::default();
        let en = render(&applied(false), Lang::En, &th);
        assert!(
            en.contains("limited to <b>1mbit</b>")
                && en.contains("from ports 22, 9184 (SSH and this program's listen port)"),
            "{en}"
        );
        assert!(
            en.contains("flexus-traffic-monitor lift")
                && en.contains("tc qdisc del dev eth0 root handle f7f1:"),
            "{en}"
        );
        assert!(
            en.contains("web&lt;1&gt;") && !en.contains("Would run"),
            "{en}"
        );
        let zh = render(&applied(false), Lang::Zh, &th);
        assert!(
            zh.contains("限速")
                && zh.contains("自动解除")
                && zh.contains("flexus-traffic-monitor lift"),
            "{zh}"
        );
        // A dry run shows the exact commands it did not run.
        let dry = render(&applied(true), Lang::En, &th);
        assert!(
            dry.contains("dry run") && dry.contains("Would run") && dry.contains("htb default 20"),
            "{dry}"
        );
        let fence = Message::ActionApplied {
            server: "s".into(),
            level: Level::L1,
            installed: Installed::Fence {
                backend: FenceBackend::Nft,
                ports: vec![22, 9184],
                udp_ports: vec![51820],
                ipv6: false,
            },
            undo: vec![],
            would_run: vec![],
            dry_run: false,
        };
        assert!(render(&fence, Lang::En, &th)
            .contains("except to TCP ports 22, 9184 and UDP ports 51820"));
        assert!(
            render(&fence, Lang::Zh, &th).contains("只保留 TCP 端口 22, 9184 和 UDP 端口 51820")
        );
        for (m, en_text, zh_text) in [
            (
                Message::ActionLifted {
                    server: "s".into(),
                    level: Level::L2,
                    action: Action::Throttle,
                    dry_run: false,
                },
                "throttle lifted",
                "限速已解除",
            ),
            (
                Message::ActionFailed {
                    server: "s".into(),
                    level: Level::L1,
                    action: Action::Fence,
                    error: ActionError::Missing {
                        program: "nft".into(),
                    },
                },
                "fence failed",
                "封闭入站失败",
            ),
        ] {
            assert!(render(&m, Lang::En, &th).contains(en_text));
            assert!(
                render(&m, Lang::Zh, &th).contains(zh_text),
                "{}",
                render(&m, Lang::Zh, &th)
            );
        }
    }
}
