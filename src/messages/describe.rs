//! What went wrong and what was done, in the user's language: every error and outcome kind a
//! message carries, described by its kind. The raw detail (the system's or the HTTP client's
//! English words, error bodies) stays in the logs; a message shows only names, ids, codes and HTTP
//! statuses, and text the cloud or a command wrote, quoted as such (`「…」` in Chinese).
//!
//! Every match here is exhaustive: a new kind does not build until it is described in both
//! languages.

use std::time::Duration;

use super::{escape, Lang};
use crate::actions::ActionError;
use crate::huawei::bss::PollProblem;
use crate::huawei::ecs::{EcsFailure, EcsOp};
use crate::huawei::wire::{ReadingError, MAX_PLAUSIBLE_GB};
use crate::huawei::{HuaweiError, Site};
use crate::outcome::{How, ShutdownError, Stopped};

/// A kind described in the user's language, as Telegram HTML (outside values escaped).
pub trait Localize {
    fn localize(&self, lang: Lang) -> String;
}

/// Text written by someone else (the cloud, a command), shown as a quote: it is data, not ours
/// to translate.
pub fn quoted(lang: Lang, s: &str) -> String {
    match lang {
        Lang::Zh => format!("「{}」", escape(s.trim())),
        Lang::En => format!("\"{}\"", escape(s.trim())),
    }
}

/// Whether `s` holds a Chinese character or full-width punctuation.
pub fn has_cjk(s: &str) -> bool {
    s.chars().any(|c| {
        ('\u{4e00}'..='\u{9fff}').contains(&c)
            || ('\u{3000}'..='\u{303f}').contains(&c)
            || ('\u{ff00}'..='\u{ffef}').contains(&c)
    })
}

fn code(s: &str) -> String {
    format!("<code>{}</code>", escape(s))
}

/// A duration the way people say it: seconds, or whole minutes.
pub fn span(lang: Lang, d: Duration) -> String {
    let s = d.as_secs_f64().ceil() as u64;
    match (lang, s >= 120 && s.is_multiple_of(60)) {
        (Lang::Zh, true) => format!("{} 分钟", s / 60),
        (Lang::Zh, false) => format!("{s} 秒"),
        (Lang::En, true) => format!("{} min", s / 60),
        (Lang::En, false) => format!("{s} s"),
    }
}

/// The cloud's own explanation (`error_msg`), quoted, when it gave one.
fn cloud_says(lang: Lang, msg: &str) -> String {
    match lang {
        _ if msg.trim().is_empty() => String::new(),
        Lang::Zh => format!("，华为云的说明：{}", quoted(lang, msg)),
        Lang::En => format!("; Huawei Cloud says: {}", quoted(lang, msg)),
    }
}

/// The codes of an answer in parentheses: the HTTP status (when it says something the code
/// does not), the error code and the request id a user can quote to Huawei support.
fn codes(lang: Lang, status: Option<u16>, code: &str, request_id: &Option<String>) -> String {
    let mut parts = Vec::new();
    if let Some(st) = status {
        if code != format!("HTTP {st}") {
            parts.push(format!("HTTP {st}"));
        }
    }
    if !code.is_empty() {
        parts.push(escape(code));
    }
    if let Some(id) = request_id {
        parts.push(match lang {
            Lang::Zh => format!("请求 ID {}", escape(id)),
            Lang::En => format!("request id {}", escape(id)),
        });
    }
    match lang {
        _ if parts.is_empty() => String::new(),
        Lang::Zh => format!("（{}）", parts.join("，")),
        Lang::En => format!(" ({})", parts.join(", ")),
    }
}

fn other_sites(lang: Lang, site: Site) -> &'static str {
    match (lang, site) {
        (Lang::Zh, Site::Cn) => "intl（国际站账号）或 eu（欧洲站）",
        (Lang::Zh, Site::Intl) => "cn（中国站账号）或 eu（欧洲站）",
        (Lang::Zh, Site::Eu) => "cn（中国站账号）或 intl（国际站账号）",
        (Lang::En, site) => site.other_sites_hint(),
    }
}

impl Localize for HuaweiError {
    fn localize(&self, lang: Lang) -> String {
        use HuaweiError as E;
        let zh = lang == Lang::Zh;
        match self {
            E::Transport(_) if zh => "连接华为云时网络出错（详情见日志）".into(),
            E::Transport(_) => "network error talking to Huawei Cloud (details in the log)".into(),
            E::Timeout(d) if zh => format!("华为云在 {}内没有应答（请检查网络，或调大 HTTP_TIMEOUT）", span(lang, *d)),
            E::Timeout(d) => format!("Huawei Cloud did not answer within {} (check the network, or raise HTTP_TIMEOUT)", span(lang, *d)),
            E::Throttled { code: c, request_id: r } if zh => format!("华为云限流{}，稍后重试", codes(lang, None, c, r)),
            E::Throttled { code: c, request_id: r } => format!("throttled by Huawei Cloud{}; will retry later", codes(lang, None, c, r)),
            E::BadCredentials { code: c, request_id: r, .. } if zh => format!(
                "华为云拒绝了访问密钥或签名{}：请检查 HUAWEICLOUD_SDK_AK 和 HUAWEICLOUD_SDK_SK（连续失败 5 次会锁定密钥 5 分钟）",
                codes(lang, None, c, r)
            ),
            E::BadCredentials { code: c, request_id: r, .. } => format!(
                "Huawei Cloud rejected the access key or signature{}: check HUAWEICLOUD_SDK_AK and HUAWEICLOUD_SDK_SK (five failures in a row lock the key for 5 minutes)",
                codes(lang, None, c, r)
            ),
            E::ClockSkew { code: c, request_id: r } if zh => format!(
                "华为云认为请求签名已过期{}：本机时钟偏差超过 15 分钟，请同步时间（例如用 {} 启用 NTP）",
                codes(lang, None, c, r), code("timedatectl set-ntp true")
            ),
            E::ClockSkew { code: c, request_id: r } => format!(
                "Huawei Cloud says the request signature expired{}: this machine's clock is more than 15 minutes off; sync it (e.g. enable NTP with {})",
                codes(lang, None, c, r), code("timedatectl set-ntp true")
            ),
            E::PermissionDenied { code: c, request_id: r, .. } if zh => format!(
                "访问密钥没有权限{}：请为 IAM 用户授予 {}（操作 {}）",
                codes(lang, None, c, r), code("BSS ReadonlyAccess"), code("bss:order:view")
            ),
            E::PermissionDenied { code: c, request_id: r, .. } => format!(
                "the access key lacks permission{}: grant the IAM user {} (action {})",
                codes(lang, None, c, r), code("BSS ReadonlyAccess"), code("bss:order:view")
            ),
            E::WrongSite { code: c, site, request_id: r } if zh => format!(
                "账号不属于 {} 站点{}：请将 HUAWEICLOUD_SITE 设为 {}",
                site.as_str(), codes(lang, None, c, r), other_sites(lang, *site)
            ),
            E::WrongSite { code: c, site, request_id: r } => format!(
                "the account does not belong to the {} site{}: set HUAWEICLOUD_SITE to {}",
                site.as_str(), codes(lang, None, c, r), other_sites(lang, *site)
            ),
            E::Server { status, code: c, request_id: r, .. } if zh => format!("华为云服务端出错{}，将重试", codes(lang, Some(*status), c, r)),
            E::Server { status, code: c, request_id: r, .. } => format!("Huawei Cloud server error{}; will retry", codes(lang, Some(*status), c, r)),
            E::Api { status, code: c, msg, request_id: r } if zh => format!("华为云拒绝了请求{}{}", codes(lang, Some(*status), c, r), cloud_says(lang, msg)),
            E::Api { status, code: c, msg, request_id: r } => format!("Huawei Cloud refused the request{}{}", codes(lang, Some(*status), c, r), cloud_says(lang, msg)),
            E::BadResponse { request_id: r, .. } if zh => format!("华为云的应答无法读取{}，详情见日志", codes(lang, None, "", r)),
            E::BadResponse { request_id: r, .. } => format!("Huawei Cloud sent an answer that cannot be read{}; details in the log", codes(lang, None, "", r)),
        }
    }
}

impl Localize for ReadingError {
    fn localize(&self, lang: Lang) -> String {
        use ReadingError as E;
        let zh = lang == Lang::Zh;
        let discover = code("flexus-traffic-monitor discover");
        match self {
            E::MissingFromAnswer if zh => format!("应答中没有这个流量包 ID 的条目（请检查 FREE_RESOURCE_IDS，或运行 {discover}）"),
            E::MissingFromAnswer => format!("the answer has no entry for this free resource id (check FREE_RESOURCE_IDS, or run {discover})"),
            E::MissingField(f) if zh => format!("应答中缺少 {}", code(f)),
            E::MissingField(f) => format!("the answer has no {}", code(f)),
            E::BadAmount { field, value } if zh => format!("{} 不是有效的非负数：{}", code(field), quoted(lang, value)),
            E::BadAmount { field, value } => format!("{} is not a valid non-negative number: {}", code(field), quoted(lang, value)),
            E::UnknownUnit(u) if zh => format!("未知的单位 measure_id={}（只认识 10 = GB 和 11 = MB）", escape(u)),
            E::UnknownUnit(u) => format!("unknown unit measure_id={} (only 10 = GB and 11 = MB are known)", escape(u)),
            E::BadTime { field, value } if zh => format!("{} 不是形如 2025-01-07T16:00:00Z 的时间：{}", code(field), quoted(lang, value)),
            E::BadTime { field, value } => format!("{} is not a time like 2025-01-07T16:00:00Z: {}", code(field), quoted(lang, value)),
            E::Implausible { field, gb } if zh => format!("{} 为 {gb:e} GB，超出任何真实的流量包（大于 {MAX_PLAUSIBLE_GB} GB）", code(field)),
            E::Implausible { field, gb } => format!("{} is {gb:e} GB, beyond any real package (more than {MAX_PLAUSIBLE_GB} GB)", code(field)),
            E::ConflictingDuplicates(n) if zh => format!("应答中这个 ID 出现了 {n} 次且数字各不相同，都不可信"),
            E::ConflictingDuplicates(n) => format!("the answer lists this id {n} times with different figures; none of them is trusted"),
            E::Doubtful(d) => d.localize(lang),
            E::AccountFailed { account, error } if zh => format!("账号 {} 的读取失败：{}", escape(account), error.localize(lang)),
            E::AccountFailed { account, error } => format!("the call of account {} failed: {}", escape(account), error.localize(lang)),
        }
    }
}

fn when(t: &chrono::DateTime<chrono::Utc>) -> String {
    t.format("%Y-%m-%d %H:%M").to_string()
}

impl Localize for crate::plausibility::Doubt {
    fn localize(&self, lang: Lang) -> String {
        use crate::plausibility::Doubt as D;
        let zh = lang == Lang::Zh;
        match self {
            D::ZeroTotal if zh => "流量包总量（original_amount）为 0".into(),
            D::ZeroTotal => "the package's quota (original_amount) is 0".into(),
            D::RemainingAboveTotal { remaining_gb, total_gb } if zh => format!("剩余 {remaining_gb:.2} GB 大于总量 {total_gb:.2} GB"),
            D::RemainingAboveTotal { remaining_gb, total_gb } => format!("remaining {remaining_gb:.2} GB is above the quota {total_gb:.2} GB"),
            D::EndBeforeStart { start, end } if zh => format!("周期结束（{}）早于开始（{}）", when(end), when(start)),
            D::EndBeforeStart { start, end } => format!("the cycle ends ({}) before it starts ({})", when(end), when(start)),
            D::CycleTooShort { start, end } if zh => format!("周期 {} ~ {} 短于 1 小时", when(start), when(end)),
            D::CycleTooShort { start, end } => format!("the cycle {} ~ {} is shorter than an hour", when(start), when(end)),
            D::CycleTooLong { start, end } if zh => format!("周期 {} ~ {} 长于 1 年", when(start), when(end)),
            D::CycleTooLong { start, end } => format!("the cycle {} ~ {} is longer than a year", when(start), when(end)),
            D::CycleOver { end } if zh => format!("周期已于 {}（UTC）结束", when(end)),
            D::CycleOver { end } => format!("the cycle ended at {} (UTC)", when(end)),
            D::CycleNotBegun { start } if zh => format!("周期在 {}（UTC）才开始，尚未开始", when(start)),
            D::CycleNotBegun { start } => format!("the cycle starts at {} (UTC), in the future", when(start)),
            D::CycleBackwards { end, accepted_end } if zh => format!("周期结束时间从 {} 倒退到 {}", when(accepted_end), when(end)),
            D::CycleBackwards { end, accepted_end } => format!("the cycle end moved back from {} to {}", when(accepted_end), when(end)),
            D::StartMovedEndDidNot { start, accepted_start, end } if zh => format!("周期开始从 {} 变为 {}，结束（{}）却没有变", when(accepted_start), when(start), when(end)),
            D::StartMovedEndDidNot { start, accepted_start, end } => format!("the cycle start moved from {} to {} but its end ({}) did not", when(accepted_start), when(start), when(end)),
            D::NewCycleDoesNotFollow { start, end, accepted_end } if zh => format!("新周期（{} ~ {}）没有接在当前周期（{} 结束）之后", start.as_ref().map_or_else(|| "?".into(), when), when(end), when(accepted_end)),
            D::NewCycleDoesNotFollow { start, end, accepted_end } => format!("a new cycle ({} ~ {}) that does not follow the current one (ending {})", start.as_ref().map_or_else(|| "?".into(), when), when(end), when(accepted_end)),
            D::FastDrop { from_gb, to_gb, minutes, max_gb } if zh => format!("剩余在 {minutes} 分钟内从 {from_gb:.2} GB 降到 {to_gb:.2} GB，超过实例最多能发送的 {max_gb:.2} GB（MAX_EGRESS_RATE，含账单结算延迟）"),
            D::FastDrop { from_gb, to_gb, minutes, max_gb } => format!("remaining fell from {from_gb:.2} to {to_gb:.2} GB in {minutes} min, more than the {max_gb:.2} GB the instance can send (MAX_EGRESS_RATE, with the bill's settlement delay)"),
            D::NearEndAgainstTrend { from_gb, to_gb, end } if zh => format!("临近周期结束（{}），剩余从 {from_gb:.2} GB 变为 {to_gb:.2} GB，与此前的用量趋势不符", when(end)),
            D::NearEndAgainstTrend { from_gb, to_gb, end } => format!("near the cycle end ({}), remaining moved from {from_gb:.2} to {to_gb:.2} GB, against the trend", when(end)),
        }
    }
}

impl Localize for PollProblem {
    fn localize(&self, lang: Lang) -> String {
        match (self, lang) {
            (Self::Call(e), _) => e.localize(lang),
            (Self::Package { id, error }, _) => format!("{}: {}", code(id), error.localize(lang)),
            (Self::Unknown, Lang::Zh) => "原因不明（详情见日志）".into(),
            (Self::Unknown, Lang::En) => "unknown error (details in the log)".into(),
        }
    }
}

impl Localize for How {
    fn localize(&self, lang: Lang) -> String {
        match (self, lang) {
            (Self::Command(line), Lang::Zh) => format!("命令 {}", code(line)),
            (Self::Command(line), Lang::En) => format!("command {}", code(line)),
            (Self::EcsStop { hard: false }, Lang::Zh) => {
                "ECS os-stop SOFT，正常关闭操作系统".into()
            }
            (Self::EcsStop { hard: false }, Lang::En) => "ECS os-stop SOFT, an OS shutdown".into(),
            (Self::EcsStop { hard: true }, Lang::Zh) => "ECS os-stop HARD，强制断电".into(),
            (Self::EcsStop { hard: true }, Lang::En) => "ECS os-stop HARD, a power-off".into(),
        }
    }
}

fn instance(lang: Lang, name: &str, id: &str) -> String {
    match lang {
        Lang::Zh => format!("实例 <b>{}</b>（{}）", escape(name), code(id)),
        Lang::En => format!("instance <b>{}</b> ({})", escape(name), code(id)),
    }
}

fn op_name(lang: Lang, op: EcsOp) -> String {
    match (lang, op) {
        (Lang::Zh, EcsOp::StopSoft) => "关机（ECS os-stop SOFT）".into(),
        (Lang::Zh, EcsOp::StopHard) => "强制关机（ECS os-stop HARD）".into(),
        (Lang::Zh, EcsOp::Start) => "开机（ECS os-start）".into(),
        (Lang::En, EcsOp::StopSoft) => "stop (ECS os-stop SOFT)".into(),
        (Lang::En, EcsOp::StopHard) => "hard stop (ECS os-stop HARD)".into(),
        (Lang::En, EcsOp::Start) => "start (ECS os-start)".into(),
    }
}

impl Localize for EcsFailure {
    fn localize(&self, lang: Lang) -> String {
        let zh = lang == Lang::Zh;
        match self {
            Self::Request(e) if zh => format!("请求失败：{}", e.localize(lang)),
            Self::Request(e) => format!("the request failed: {}", e.localize(lang)),
            Self::JobFailed {
                job,
                reason: Some(r),
            } if zh => format!(
                "任务 {} 失败，华为云给出的原因：{}",
                code(job),
                quoted(lang, r)
            ),
            Self::JobFailed {
                job,
                reason: Some(r),
            } => format!(
                "job {} failed; Huawei Cloud's reason: {}",
                code(job),
                quoted(lang, r)
            ),
            Self::JobFailed { job, reason: None } if zh => {
                format!("任务 {} 失败，华为云没有给出原因", code(job))
            }
            Self::JobFailed { job, reason: None } => {
                format!("job {} failed; Huawei Cloud gave no reason", code(job))
            }
            Self::Unfollowable { job, error } if zh => {
                format!("无法跟踪任务 {}：{}", code(job), error.localize(lang))
            }
            Self::Unfollowable { job, error } => {
                format!("cannot follow job {}: {}", code(job), error.localize(lang))
            }
            Self::Unfinished { job, waited, last } => {
                let last = match (last, lang) {
                    (Ok(status), Lang::Zh) => format!("最后状态 {}", escape(status)),
                    (Ok(status), Lang::En) => format!("last status {}", escape(status)),
                    (Err(e), Lang::Zh) => format!("最后一次查询出错：{}", e.localize(lang)),
                    (Err(e), Lang::En) => format!("the last query failed: {}", e.localize(lang)),
                };
                match lang {
                    Lang::Zh => format!(
                        "任务 {} 在 {}内没有结束（{last}）",
                        code(job),
                        span(lang, *waited)
                    ),
                    Lang::En => format!(
                        "job {} not finished within {} ({last})",
                        code(job),
                        span(lang, *waited)
                    ),
                }
            }
        }
    }
}

impl Localize for Stopped {
    fn localize(&self, lang: Lang) -> String {
        match (self, lang) {
            (Self::WouldRun { how, target: None }, Lang::Zh) => {
                format!("本来会执行{}", how.localize(lang))
            }
            (Self::WouldRun { how, target: None }, Lang::En) => {
                format!("would run {}", how.localize(lang))
            }
            (
                Self::WouldRun {
                    how,
                    target: Some((name, id)),
                },
                Lang::Zh,
            ) => format!(
                "本来会对{}执行{}",
                instance(lang, name, id),
                how.localize(lang)
            ),
            (
                Self::WouldRun {
                    how,
                    target: Some((name, id)),
                },
                Lang::En,
            ) => format!(
                "would run {} on {}",
                how.localize(lang),
                instance(lang, name, id)
            ),
            (Self::Command { said }, Lang::Zh) if said.is_empty() => {
                "命令已成功退出（退出码 0）".into()
            }
            (Self::Command { said }, Lang::En) if said.is_empty() => {
                "the command exited successfully (exit status 0)".into()
            }
            (Self::Command { said }, Lang::Zh) => {
                format!("命令已成功退出（退出码 0），输出：{}", quoted(lang, said))
            }
            (Self::Command { said }, Lang::En) => format!(
                "the command exited successfully (exit status 0), saying: {}",
                quoted(lang, said)
            ),
            (
                Self::Ecs {
                    hard,
                    name,
                    id,
                    job,
                    after_soft,
                },
                _,
            ) => {
                let op = op_name(
                    lang,
                    if *hard {
                        EcsOp::StopHard
                    } else {
                        EcsOp::StopSoft
                    },
                );
                let mut s = match lang {
                    Lang::Zh => format!(
                        "{}已成功{}（任务 {}）",
                        instance(lang, name, id),
                        op,
                        code(job)
                    ),
                    Lang::En => format!(
                        "{}: {op} succeeded (job {})",
                        instance(lang, name, id),
                        code(job)
                    ),
                };
                if let Some(soft) = after_soft {
                    s.push_str(&match lang {
                        Lang::Zh => format!("；此前的正常关机没有完成：{}", soft.localize(lang)),
                        Lang::En => format!(
                            "; the soft stop before it did not finish: {}",
                            soft.localize(lang)
                        ),
                    });
                }
                s
            }
        }
    }
}

/// The sudoers advice, for a command that wants a password.
fn sudo_fix(lang: Lang) -> String {
    let line = code("USER ALL=(root) NOPASSWD: /usr/sbin/shutdown");
    let setting = code("SHUTDOWN_COMMAND=\"sudo -n /usr/sbin/shutdown -h now\"");
    match lang {
        Lang::Zh => format!("请允许无密码运行该命令，例如在 /etc/sudoers.d/flexus-traffic-monitor 中加入一行 {line}，并设置 {setting}（或以 root 运行服务）"),
        Lang::En => format!("allow the command without one, e.g. a line {line} in /etc/sudoers.d/flexus-traffic-monitor, and use {setting} (or run the service as root)"),
    }
}

impl Localize for ShutdownError {
    fn localize(&self, lang: Lang) -> String {
        use ShutdownError as E;
        let zh = lang == Lang::Zh;
        match self {
            E::NoTarget if zh => "不知道这个流量包对应哪台实例：请设置 ECS_SERVER_ID 或 FLEXUS_INSTANCES".into(),
            E::NoTarget => "no instance is known for this package: set ECS_SERVER_ID or FLEXUS_INSTANCES".into(),
            E::CommandEmpty if zh => "SHUTDOWN_COMMAND 为空".into(),
            E::CommandEmpty => "SHUTDOWN_COMMAND is empty".into(),
            E::CommandMissing { program } if zh => format!("SHUTDOWN_COMMAND：找不到 {}，请安装它或写出完整路径", code(program)),
            E::CommandMissing { program } => format!("SHUTDOWN_COMMAND: {} was not found; install it or give its full path", code(program)),
            E::CommandNotExecutable { program } if zh => format!("SHUTDOWN_COMMAND：当前用户无权执行 {}", code(program)),
            E::CommandNotExecutable { program } => format!("SHUTDOWN_COMMAND: {} is not executable by this user", code(program)),
            E::CommandNotStarted { program, .. } if zh => format!("SHUTDOWN_COMMAND：无法启动 {}（详情见日志）", code(program)),
            E::CommandNotStarted { program, .. } => format!("SHUTDOWN_COMMAND: cannot start {} (details in the log)", code(program)),
            E::CommandTimedOut { after } if zh => format!("SHUTDOWN_COMMAND 在 {}内没有结束，已被终止；如果是 sudo 在等待输入密码：{}", span(lang, *after), sudo_fix(lang)),
            E::CommandTimedOut { after } => format!("SHUTDOWN_COMMAND did not finish within {} and was stopped; if it is sudo waiting for a password: {}", span(lang, *after), sudo_fix(lang)),
            E::CommandWaitFailed { .. } if zh => "SHUTDOWN_COMMAND：等待命令结束时出错（详情见日志）".into(),
            E::CommandWaitFailed { .. } => "SHUTDOWN_COMMAND: waiting for it failed (details in the log)".into(),
            E::CommandFailed { status, stderr, wants_password } => {
                let mut s = match (lang, status) {
                    (Lang::Zh, Some(c)) => format!("SHUTDOWN_COMMAND 执行失败（退出码 {c}）"),
                    (Lang::Zh, None) => "SHUTDOWN_COMMAND 执行失败（被信号终止）".to_string(),
                    (Lang::En, Some(c)) => format!("SHUTDOWN_COMMAND failed (exit status {c})"),
                    (Lang::En, None) => "SHUTDOWN_COMMAND failed (killed by a signal)".to_string(),
                };
                if !stderr.trim().is_empty() {
                    s.push_str(if zh { "，错误输出：" } else { ", saying: " });
                    s.push_str(&quoted(lang, stderr));
                }
                if *wants_password {
                    s.push_str(if zh {
                        "；sudo 在索要密码，但这里没有人能输入："
                    } else {
                        "; sudo asks for a password, which nobody can type here: "
                    });
                    s.push_str(&sudo_fix(lang));
                }
                s
            }
            E::Ecs { op, name, id, failure, after_soft } => {
                let mut s = match lang {
                    Lang::Zh => format!("{}{}失败：{}", instance(lang, name, id), op_name(lang, *op), failure.localize(lang)),
                    Lang::En => format!("{}: {} failed: {}", instance(lang, name, id), op_name(lang, *op), failure.localize(lang)),
                };
                if let Some(soft) = after_soft {
                    s.push_str(&match lang {
                        Lang::Zh => format!("；此前的正常关机也没有完成：{}", soft.localize(lang)),
                        Lang::En => format!("; the soft stop before it did not finish either: {}", soft.localize(lang)),
                    });
                }
                s
            }
        }
    }
}

impl Localize for ActionError {
    fn localize(&self, lang: Lang) -> String {
        use ActionError as E;
        let zh = lang == Lang::Zh;
        match self {
            E::NoDefaultRoute if zh => {
                "没有默认路由，无法确定要限速的网卡：请设置 THROTTLE_INTERFACE".into()
            }
            E::NoDefaultRoute => {
                "no default route, so the interface to throttle is unknown: set THROTTLE_INTERFACE"
                    .into()
            }
            E::NoFirewall if zh => {
                "没有安装 nft 或 iptables（FENCE_BACKEND）：请安装 nftables".into()
            }
            E::NoFirewall => {
                "neither nft nor iptables is installed (FENCE_BACKEND): install nftables".into()
            }
            E::GuardOwnsShutdown if zh => "关机由关机守护负责，不是动作".into(),
            E::GuardOwnsShutdown => {
                "shutdown belongs to the shutdown guard, not to an action".into()
            }
            E::Empty if zh => "命令为空".into(),
            E::Empty => "the command is empty".into(),
            E::Missing { program } if zh => format!(
                "找不到 {}，请安装它（Debian：iproute2、nftables 或 iptables）",
                code(program)
            ),
            E::Missing { program } => format!(
                "{} was not found; install it (Debian: iproute2, nftables or iptables)",
                code(program)
            ),
            E::NotStarted { line, .. } if zh => format!("无法启动 {}（详情见日志）", code(line)),
            E::NotStarted { line, .. } => {
                format!("cannot start {} (details in the log)", code(line))
            }
            E::InputFailed { line, .. } if zh => {
                format!("无法向 {} 写入输入（详情见日志）", code(line))
            }
            E::InputFailed { line, .. } => format!(
                "cannot write the input of {} (details in the log)",
                code(line)
            ),
            E::TimedOut { line, after } if zh => format!(
                "{} 在 {}内没有结束，已被终止",
                code(line),
                span(lang, *after)
            ),
            E::TimedOut { line, after } => format!(
                "{} did not finish within {} and was stopped",
                code(line),
                span(lang, *after)
            ),
            E::WaitFailed { line, .. } if zh => {
                format!("等待 {} 结束时出错（详情见日志）", code(line))
            }
            E::WaitFailed { line, .. } => {
                format!("waiting for {} failed (details in the log)", code(line))
            }
            E::Failed { line, said } if said.trim().is_empty() && zh => {
                format!("{} 执行失败", code(line))
            }
            E::Failed { line, said } if said.trim().is_empty() => format!("{} failed", code(line)),
            E::Failed { line, said } if zh => {
                format!("{} 执行失败，输出：{}", code(line), quoted(lang, said))
            }
            E::Failed { line, said } => {
                format!("{} failed, saying: {}", code(line), quoted(lang, said))
            }
        }
    }
}
