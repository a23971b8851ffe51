//! The report around a reset (a day before it, after it), the daily digest and `/report`: what
//! it says ([`CycleReport`]) and its text in both languages.
//!
//! Pure. A figure that is not known is a `None` here and reads "unknown" / "未知", never 0 (a
//! report that always says 0 B is a known failure of other tools); a figure older than
//! `READING_MAX_AGE` says how old it is. Deciding when a report is due and gathering its figures
//! is `report`'s job.

use chrono::{DateTime, NaiveDate, Utc};
use serde::Serialize;

use super::{action_name, escape, Lang};
use crate::actions::Action;
use crate::level::Level;

/// Which report.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ReportKind {
    /// About a day before the cycle ends.
    BeforeReset,
    /// After the reset: the final figures of the cycle that ended, and the new one.
    AfterReset,
    /// The daily digest (`DAILY_DIGEST_AT`).
    Daily,
    /// Asked for with `/report`.
    OnRequest,
}

impl ReportKind {
    /// The name used in dedupe keys and logs.
    pub fn label(self) -> &'static str {
        match self {
            Self::BeforeReset => "before_reset",
            Self::AfterReset => "after_reset",
            Self::Daily => "daily",
            Self::OnRequest => "on_request",
        }
    }
}

/// One reading's figures, as a report shows them.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ReportFigures {
    pub total_gb: f64,
    pub used_gb: f64,
    /// As the bill says.
    pub remaining_gb: f64,
    pub read_at: DateTime<Utc>,
    /// How old the figures were when the report was made, in seconds, when that is more than
    /// `READING_MAX_AGE` (`None`: fresh).
    pub stale_secs: Option<i64>,
    pub cycle_start: Option<DateTime<Utc>>,
    pub cycle_end: Option<DateTime<Utc>>,
}

/// What is expected at the reset, at the rate of recent use.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum ReportForecast {
    /// Too few readings (or no known reset).
    Unknown,
    /// About `remaining_gb` left at the reset, using `gb_per_day`.
    AtReset { remaining_gb: f64, gb_per_day: f64 },
    /// At `gb_per_day` it runs out at `at`, before the reset.
    RunsOut { at: DateTime<Utc>, gb_per_day: f64 },
}

/// Something in force because of the traffic.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum InForce {
    /// A gentler action (throttle, fence, command) put in force at `since` for `level`.
    Action {
        action: Action,
        level: Level,
        since: DateTime<Utc>,
        dry_run: bool,
    },
    /// The server was shut down at `at` in this cycle; `auto_start`: it is started again after
    /// the reset (`AUTO_START`), else by hand.
    ShutDown { at: DateTime<Utc>, auto_start: bool },
}

/// A report about one package.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CycleReport {
    pub kind: ReportKind,
    pub server: String,
    pub free_resource_id: String,
    pub package_name: String,
    /// When the report was made (ages and "resets in" count from it).
    pub at: DateTime<Utc>,
    /// The latest figures of the current cycle (`None`: never read).
    pub figures: Option<ReportFigures>,
    /// The live estimate of the remaining traffic (`None`: not known).
    pub live_remaining_gb: Option<f64>,
    pub forecast: ReportForecast,
    /// The day of this cycle with the most traffic used, and how many GB (`None`: not known).
    pub busiest_day: Option<(NaiveDate, f64)>,
    /// What is in force; it lifts at the reset, once a fresh reading shows the traffic back.
    pub in_force: Vec<InForce>,
    /// After a reset: the final figures of the cycle that ended (the last reading before it).
    pub previous: Option<ReportFigures>,
}

fn unknown(lang: Lang) -> &'static str {
    match lang {
        Lang::Zh => "未知",
        Lang::En => "unknown",
    }
}

fn gb(lang: Lang, v: Option<f64>) -> String {
    v.map_or_else(|| unknown(lang).to_string(), |x| format!("{x:.2} GB"))
}

fn date(lang: Lang, t: Option<DateTime<Utc>>) -> String {
    t.map_or_else(
        || unknown(lang).to_string(),
        |t| t.format("%Y-%m-%d %H:%M").to_string(),
    )
}

/// A time with its zone, or "unknown".
fn utc(lang: Lang, t: Option<DateTime<Utc>>) -> String {
    t.map_or_else(
        || unknown(lang).to_string(),
        |t| format!("{} UTC", t.format("%Y-%m-%d %H:%M")),
    )
}

/// A span of time in whole minutes, hours or days.
pub fn age(lang: Lang, secs: i64) -> String {
    let s = secs.max(0);
    let (n, zh, en) = if s < 2 * 3600 {
        ((s / 60).max(1), "分钟", "min")
    } else if s < 2 * 86_400 {
        (s / 3600, "小时", "h")
    } else {
        (s / 86_400, "天", "days")
    };
    match lang {
        Lang::Zh => format!("{n} {zh}"),
        Lang::En => format!("{n} {en}"),
    }
}

fn t<'a>(lang: Lang, zh: &'a str, en: &'a str) -> &'a str {
    match lang {
        Lang::Zh => zh,
        Lang::En => en,
    }
}

/// "as of …", and how old when stale.
fn as_of(lang: Lang, f: &ReportFigures) -> String {
    let when = date(lang, Some(f.read_at));
    match (lang, f.stale_secs) {
        (Lang::Zh, None) => format!("（读数时间 {when} UTC）"),
        (Lang::En, None) => format!(" (read {when} UTC)"),
        (Lang::Zh, Some(s)) => format!("（⚠️ 读数已过时：{when} UTC，{}前）", age(lang, s)),
        (Lang::En, Some(s)) => format!(" (⚠️ stale: read {when} UTC, {} ago)", age(lang, s)),
    }
}

fn heading(r: &CycleReport, lang: Lang) -> String {
    let end = r.figures.as_ref().and_then(|f| f.cycle_end);
    match r.kind {
        ReportKind::BeforeReset => {
            let left = end.map(|e| e.signed_duration_since(r.at).num_seconds());
            match (lang, left) {
                (Lang::Zh, Some(s)) => format!("流量周期即将重置（约 {}后）", age(lang, s)),
                (Lang::En, Some(s)) => format!("Traffic cycle resets in about {}", age(lang, s)),
                (_, None) => t(lang, "流量周期即将重置", "Traffic cycle resets soon").into(),
            }
        }
        ReportKind::AfterReset => t(lang, "流量周期已重置", "Traffic cycle has reset").into(),
        ReportKind::Daily => t(lang, "每日流量摘要", "Daily traffic digest").into(),
        ReportKind::OnRequest => t(lang, "流量报告", "Traffic report").into(),
    }
}

fn forecast(lang: Lang, f: &ReportForecast) -> String {
    match (lang, f) {
        (_, ReportForecast::Unknown) => unknown(lang).into(),
        (
            Lang::Zh,
            ReportForecast::AtReset {
                remaining_gb,
                gb_per_day,
            },
        ) => {
            format!("约剩 {remaining_gb:.2} GB（每天约 {gb_per_day:.2} GB）")
        }
        (
            Lang::En,
            ReportForecast::AtReset {
                remaining_gb,
                gb_per_day,
            },
        ) => {
            format!("about {remaining_gb:.2} GB left ({gb_per_day:.2} GB/day)")
        }
        (Lang::Zh, ReportForecast::RunsOut { at, gb_per_day }) => format!(
            "⚠️ 按每天约 {gb_per_day:.2} GB，将在重置前的 {} UTC 用完",
            date(lang, Some(*at))
        ),
        (Lang::En, ReportForecast::RunsOut { at, gb_per_day }) => format!(
            "⚠️ at {gb_per_day:.2} GB/day it runs out at {} UTC, before the reset",
            date(lang, Some(*at))
        ),
    }
}

fn level_name(lang: Lang, l: Level) -> &'static str {
    match (lang, l) {
        (Lang::Zh, Level::Ok) => "正常",
        (Lang::Zh, Level::L3) => "3 级",
        (Lang::Zh, Level::L2) => "2 级",
        (Lang::Zh, Level::L1) => "1 级",
        (Lang::En, Level::Ok) => "ok",
        (Lang::En, Level::L3) => "level 3",
        (Lang::En, Level::L2) => "level 2",
        (Lang::En, Level::L1) => "level 1",
    }
}

fn in_force(lang: Lang, i: &InForce) -> String {
    let zh = lang == Lang::Zh;
    match i {
        InForce::Action {
            action,
            level,
            since,
            dry_run,
        } => {
            let (action, level, since) = (
                action_name(lang, *action),
                level_name(lang, *level),
                date(lang, Some(*since)),
            );
            let dry = match (*dry_run, zh) {
                (false, _) => "",
                (true, true) => "，演练",
                (true, false) => ", dry run",
            };
            if zh {
                format!("{action}（{level}，自 {since} UTC{dry}）")
            } else {
                format!("{action} ({level}, since {since} UTC{dry})")
            }
        }
        InForce::ShutDown { at, auto_start } => {
            let at = date(lang, Some(*at));
            let then = match (*auto_start, zh) {
                (true, true) => "重置后自动开机",
                (false, true) => "重置后需手动开机",
                (true, false) => "started again automatically after the reset",
                (false, false) => "start it by hand after the reset",
            };
            if zh {
                format!("已关机（{at} UTC，{then}）")
            } else {
                format!("shut down ({at} UTC, {then})")
            }
        }
    }
}

/// The report as Telegram HTML: the same text on every channel and for `/report`.
pub fn render_report(r: &CycleReport, lang: Lang) -> String {
    let f = r.figures.as_ref();
    let mut lines = vec![
        format!("📋 <b>{}</b>", heading(r, lang)),
        format!(
            "{}<b>{}</b>",
            t(lang, "服务器：", "Server: "),
            escape(&r.server)
        ),
        format!(
            "{}{} (<code>{}</code>)",
            t(lang, "流量包：", "Package: "),
            escape(if r.package_name.is_empty() {
                "-"
            } else {
                &r.package_name
            }),
            escape(&r.free_resource_id)
        ),
    ];
    if let Some(p) = &r.previous {
        lines.push(format!(
            "{}{} ~ {}",
            t(lang, "上一周期：", "Last cycle: "),
            utc(lang, p.cycle_start),
            utc(lang, p.cycle_end)
        ));
        let before_end = p
            .cycle_end
            .map(|e| e.signed_duration_since(p.read_at).num_seconds());
        lines.push(match lang {
            Lang::Zh => format!(
                "  最终读数：已用 {:.2} GB / 共 {:.2} GB，剩余 {:.2} GB（{} UTC 读取{}）",
                p.used_gb,
                p.total_gb,
                p.remaining_gb,
                date(lang, Some(p.read_at)),
                match before_end {
                    Some(s) if s > 3600 => format!("，重置前 {}", age(lang, s)),
                    _ => String::new(),
                }
            ),
            Lang::En => format!(
                "  Final figures: used {:.2} GB of {:.2} GB, {:.2} GB left (read {} UTC{})",
                p.used_gb,
                p.total_gb,
                p.remaining_gb,
                date(lang, Some(p.read_at)),
                match before_end {
                    Some(s) if s > 3600 => format!(", {} before the reset", age(lang, s)),
                    _ => String::new(),
                }
            ),
        });
        lines.push(t(lang, "新周期：", "New cycle:").to_string());
    }
    lines.push(format!(
        "{}{} ~ {}",
        t(lang, "周期：", "Cycle: "),
        utc(lang, f.and_then(|f| f.cycle_start)),
        utc(lang, f.and_then(|f| f.cycle_end))
    ));
    lines.push(format!(
        "{}{}",
        t(lang, "总量：", "Quota: "),
        gb(lang, f.map(|f| f.total_gb))
    ));
    lines.push(format!(
        "{}{}",
        t(lang, "已用（账单）：", "Used (bill): "),
        gb(lang, f.map(|f| f.used_gb))
    ));
    lines.push(format!(
        "{}<b>{}</b>{}",
        t(lang, "剩余（账单）：", "Remaining (bill): "),
        gb(lang, f.map(|f| f.remaining_gb)),
        f.map(|f| as_of(lang, f)).unwrap_or_default()
    ));
    lines.push(format!(
        "{}{}",
        t(lang, "剩余（实时估算）：", "Remaining (live estimate): "),
        gb(lang, r.live_remaining_gb)
    ));
    lines.push(format!(
        "{}{}",
        t(lang, "重置时预计：", "At the reset: "),
        forecast(lang, &r.forecast)
    ));
    lines.push(format!(
        "{}{}",
        t(lang, "用量最多的一天：", "Busiest day: "),
        r.busiest_day.map_or_else(
            || unknown(lang).to_string(),
            |(d, used)| format!("{} ({used:.2} GB)", d.format("%Y-%m-%d"))
        )
    ));
    if r.in_force.is_empty() {
        lines.push(t(lang, "生效中的措施：无", "In force: nothing").to_string());
    } else {
        let list: Vec<String> = r.in_force.iter().map(|i| in_force(lang, i)).collect();
        lines.push(format!(
            "{}{}",
            t(lang, "生效中的措施：", "In force: "),
            list.join(t(lang, "；", "; "))
        ));
        let end = f.and_then(|f| f.cycle_end);
        lines.push(match (lang, r.previous.is_some()) {
            (Lang::Zh, true) => "  解除时间：流量已重置，最新读数确认流量恢复后解除".to_string(),
            (Lang::En, true) => {
                "  Lifts: the cycle has reset; lifted once a fresh reading shows the traffic back"
                    .to_string()
            }
            (Lang::Zh, _) => format!(
                "  解除时间：流量重置后（{}），最新读数确认流量恢复时",
                utc(lang, end)
            ),
            (Lang::En, _) => format!(
                "  Lifts: at the reset ({}), once a fresh reading shows the traffic back",
                utc(lang, end)
            ),
        });
    }
    lines.join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_800_000_000 + s, 0).unwrap()
    }

    fn empty(kind: ReportKind) -> CycleReport {
        CycleReport {
            kind,
            server: "web-1".into(),
            free_resource_id: "fr-1".into(),
            package_name: String::new(),
            at: at(0),
            figures: None,
            live_remaining_gb: None,
            forecast: ReportForecast::Unknown,
            busiest_day: None,
            in_force: Vec::new(),
            previous: None,
        }
    }

    #[test]
    fn a_report_without_figures_says_unknown_and_never_zero() {
        for lang in [Lang::En, Lang::Zh] {
            let text = render_report(&empty(ReportKind::OnRequest), lang);
            assert!(!text.contains("0.00"), "{text}");
            assert!(text.matches(unknown(lang)).count() >= 6, "{text}");
        }
    }

    #[test]
    fn stale_figures_say_how_old_they_are() {
        let mut r = empty(ReportKind::BeforeReset);
        r.figures = Some(ReportFigures {
            total_gb: 200.0,
            used_gb: 150.0,
            remaining_gb: 50.0,
            read_at: at(-6 * 3600),
            stale_secs: Some(6 * 3600),
            cycle_start: None,
            cycle_end: Some(at(20 * 3600)),
        });
        let en = render_report(&r, Lang::En);
        assert!(en.contains("stale: read") && en.contains("6 h ago"), "{en}");
        assert!(en.contains("resets in about 20 h"), "{en}");
        let zh = render_report(&r, Lang::Zh);
        assert!(zh.contains("已过时") && zh.contains("6 小时前"), "{zh}");
    }

    #[test]
    fn ages_read_as_minutes_hours_or_days() {
        assert_eq!(age(Lang::En, 30), "1 min");
        assert_eq!(age(Lang::En, 90 * 60), "90 min");
        assert_eq!(age(Lang::En, 23 * 3600 + 59), "23 h");
        assert_eq!(age(Lang::Zh, 3 * 86_400), "3 天");
    }
}

#[cfg(test)]
mod in_force_tests {
    use super::*;

    #[test]
    fn what_is_in_force_reads_the_same_in_both_languages() {
        let at = DateTime::from_timestamp(1_800_000_000, 0).unwrap();
        let fence = InForce::Action {
            action: Action::Fence,
            level: Level::L1,
            since: at,
            dry_run: true,
        };
        let stopped = InForce::ShutDown {
            at,
            auto_start: false,
        };
        let en = in_force(Lang::En, &fence);
        assert!(
            en.starts_with("fence (level 1, since ") && en.ends_with(" UTC, dry run)"),
            "{en}"
        );
        let zh = in_force(Lang::Zh, &fence);
        assert!(
            zh.starts_with("封闭入站（1 级，自 ") && zh.ends_with(" UTC，演练）"),
            "{zh}"
        );
        let en = in_force(Lang::En, &stopped);
        assert!(
            en.starts_with("shut down (")
                && en.ends_with(" UTC, start it by hand after the reset)"),
            "{en}"
        );
        let zh = in_force(Lang::Zh, &stopped);
        assert!(
            zh.starts_with("已关机（") && zh.ends_with(" UTC，重置后需手动开机）"),
            "{zh}"
        );
    }
}
