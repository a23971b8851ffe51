//! HTML of the status page from a [`PageView`]. Pure: every text exists in Chinese and English
//! side by side (`t(zh, en)`), every value from outside is escaped, times are shown in the server's
//! time zone (named in the footer).

use std::fmt::Write;

use chrono::{DateTime, Local, Utc};

use super::chart::{self, ChartInput};
use super::{InCharge, PackageView, PageView, Problem, Program};
use crate::actions::Action;
use crate::config::{FallbackMode, ShutdownMode};
use crate::forecast::Forecast;
use crate::history::HistoryProblem;
use crate::level::Level;
use crate::messages::{no_shutdown_text, Lang, Localize};

/// Escapes text for HTML.
pub fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;")
}

struct R {
    lang: Lang,
    now: DateTime<Utc>,
}

impl R {
    fn t<'a>(&self, zh: &'a str, en: &'a str) -> &'a str {
        match self.lang {
            Lang::Zh => zh,
            Lang::En => en,
        }
    }

    fn zh(&self) -> bool {
        self.lang == Lang::Zh
    }

    /// A time in the server's zone: `2026-12-01 08:00`.
    fn time(&self, at: DateTime<Utc>) -> String {
        at.with_timezone(&Local)
            .format("%Y-%m-%d %H:%M")
            .to_string()
    }

    fn date(&self, at: DateTime<Utc>) -> String {
        at.with_timezone(&Local).format("%Y-%m-%d").to_string()
    }

    /// A span in words: `3 天 5 小时` / `3 days 5 h`.
    fn span(&self, d: chrono::Duration) -> String {
        let secs = d.num_seconds().max(0);
        let (days, hours, mins) = (secs / 86_400, secs % 86_400 / 3600, secs % 3600 / 60);
        match (self.zh(), days, hours) {
            (true, 0, 0) if mins == 0 => format!("{secs} 秒"),
            (true, 0, 0) => format!("{mins} 分钟"),
            (true, 0, h) => format!("{h} 小时 {mins} 分钟"),
            (true, d, h) => format!("{d} 天 {h} 小时"),
            (false, 0, 0) if mins == 0 => format!("{secs} s"),
            (false, 0, 0) => format!("{mins} min"),
            (false, 0, h) => format!("{h} h {mins} min"),
            (false, d, h) => format!("{d} day{} {h} h", if d == 1 { "" } else { "s" }),
        }
    }

    /// `5 分钟前` / `5 min ago`, or `5 分钟后` / `in 5 min`.
    fn relative(&self, at: DateTime<Utc>) -> String {
        let d = at.signed_duration_since(self.now);
        if d.num_seconds().abs() < 5 {
            return self.t("刚刚", "just now").to_string();
        }
        if d.num_seconds() >= 0 {
            match self.lang {
                Lang::Zh => format!("{}后", self.span(d)),
                Lang::En => format!("in {}", self.span(d)),
            }
        } else {
            match self.lang {
                Lang::Zh => format!("{}前", self.span(-d)),
                Lang::En => format!("{} ago", self.span(-d)),
            }
        }
    }

    fn when(&self, at: DateTime<Utc>) -> String {
        format!("{} ({})", self.time(at), self.relative(at))
    }

    fn level(&self, l: Level) -> &'static str {
        match (self.lang, l) {
            (Lang::Zh, Level::Ok) => "正常",
            (Lang::Zh, Level::L3) => "3 级（普通告警）",
            (Lang::Zh, Level::L2) => "2 级（高频告警）",
            (Lang::Zh, Level::L1) => "1 级（关机线）",
            (Lang::En, Level::Ok) => "OK",
            (Lang::En, Level::L3) => "level 3 (normal alert)",
            (Lang::En, Level::L2) => "level 2 (high-frequency alert)",
            (Lang::En, Level::L1) => "level 1 (shutdown line)",
        }
    }
}

fn gb(v: f64) -> String {
    format!("{v:.2}")
}

/// The level's CSS class.
fn lc(l: Option<Level>) -> &'static str {
    match l {
        Some(Level::Ok) => "ok",
        Some(Level::L3) => "l3",
        Some(Level::L2) => "l2",
        Some(Level::L1) => "l1",
        None => "none",
    }
}

const CSS: &str = r#"
:root{--bg:#f4f5f7;--card:#fff;--fg:#1d2330;--muted:#5f6b7a;--line:#dde1e7;--ok:#1e9e5a;--l3:#c99a06;--l2:#e06a10;--l1:#d3263a;--accent:#2f6fdb;--bad-bg:#fde8ea;--warn-bg:#fff4d6;--info-bg:#e8f0fd}
@media (prefers-color-scheme:dark){:root{--bg:#12151b;--card:#1c2029;--fg:#e6e9ef;--muted:#9aa4b2;--line:#323846;--ok:#39c27a;--l3:#e6b629;--l2:#f08a3c;--l1:#f0566a;--accent:#6b9cf0;--bad-bg:#3a1c22;--warn-bg:#3a3118;--info-bg:#1b2a44}}
*{box-sizing:border-box}
body{margin:0;background:var(--bg);color:var(--fg);font:15px/1.5 -apple-system,"Segoe UI","PingFang SC","Hiragino Sans GB","Microsoft YaHei","Noto Sans CJK SC",sans-serif}
main{max-width:960px;margin:0 auto;padding:12px}
header{display:flex;flex-wrap:wrap;align-items:baseline;gap:4px 12px;margin:4px 2px 12px}
h1{font-size:19px;margin:0;flex:1 1 auto}
nav a{color:var(--accent);margin-left:8px;text-decoration:none}nav a.on{color:var(--fg);font-weight:600}
.upd{width:100%;margin:0;color:var(--muted);font-size:13px}.upd.off{color:var(--l1)}
.card{background:var(--card);border-radius:10px;padding:14px 16px;margin:0 0 12px;box-shadow:0 1px 2px rgba(0,0,0,.08)}
h2{font-size:17px;margin:0 0 6px}h2 small{color:var(--muted);font-weight:400;font-size:13px}
h3{font-size:15px;margin:14px 0 6px}
.big{display:flex;flex-wrap:wrap;align-items:baseline;gap:4px 10px;margin:6px 0}
.num{font-size:34px;font-weight:700;letter-spacing:-.5px}.of{color:var(--muted)}
.badge{display:inline-block;padding:1px 9px;border-radius:99px;color:#fff;font-size:13px;font-weight:600;white-space:nowrap}
.badge.ok{background:var(--ok)}.badge.l3{background:var(--l3)}.badge.l2{background:var(--l2)}.badge.l1{background:var(--l1)}.badge.none{background:var(--muted)}
.bar{position:relative;height:16px;border-radius:8px;background:var(--line);overflow:hidden;margin:8px 0 4px}
.fill{position:absolute;left:0;top:0;bottom:0;border-radius:8px 0 0 8px}
.fill.ok{background:var(--ok)}.fill.l3{background:var(--l3)}.fill.l2{background:var(--l2)}.fill.l1{background:var(--l1)}.fill.none{background:var(--muted)}
.tick{position:absolute;top:0;bottom:0;width:3px;margin-left:-1px;background:var(--fg);opacity:.8;border-left:1px solid var(--card)}.tick.l3{background:var(--l3)}.tick.l2{background:var(--l2)}.tick.l1{background:var(--l1)}
.legend{font-size:13px;color:var(--muted);display:flex;flex-wrap:wrap;gap:2px 14px}
.dot{display:inline-block;width:9px;height:9px;border-radius:50%;margin-right:4px}.dot.l3{background:var(--l3)}.dot.l2{background:var(--l2)}.dot.l1{background:var(--l1)}
dl{display:grid;grid-template-columns:max-content 1fr;gap:3px 12px;margin:10px 0}dt{color:var(--muted)}dd{margin:0}
.fc{padding:8px 10px;border-radius:8px;background:var(--info-bg);margin:10px 0}.fc.bad{background:var(--bad-bg)}.fc.good{background:transparent;border:1px solid var(--line)}
figure{margin:12px 0 4px}.plot{position:relative;height:170px;border-left:1px solid var(--line);border-bottom:1px solid var(--line)}
.chart{position:absolute;inset:0;width:100%;height:100%}
.chart .line{fill:none;stroke:var(--accent);stroke-width:2}.chart .area{fill:var(--accent);opacity:.12}
.chart .th{stroke-width:1;stroke-dasharray:4 4}.chart .th.l3{stroke:var(--l3)}.chart .th.l2{stroke:var(--l2)}.chart .th.l1{stroke:var(--l1)}
.chart .cycle{stroke:var(--muted);stroke-width:1;stroke-dasharray:2 3}.chart .forecast{stroke:var(--accent);stroke-width:2;stroke-dasharray:6 5;opacity:.8}
.ylab{position:absolute;right:2px;font-size:11px;color:var(--muted);transform:translateY(-100%);background:var(--card);padding:0 2px;line-height:1.3}
.ylab.top{top:0;transform:none;left:2px;right:auto}
.clab{position:absolute;top:2px;font-size:11px;color:var(--muted);padding-left:3px}
.xl{display:flex;justify-content:space-between;font-size:12px;color:var(--muted);margin-top:2px}
figcaption{font-size:12px;color:var(--muted)}
.empty{color:var(--muted);font-size:13px}
.next{border-top:1px solid var(--line);margin-top:12px;padding-top:4px}
.next ul{margin:4px 0;padding-left:20px}.next li{margin:2px 0}
.cd{border-radius:8px;padding:10px 12px;background:var(--bad-bg);border-left:5px solid var(--l1);margin:8px 0;font-size:16px}
.cd b.sec{font-size:28px;color:var(--l1)}
.problem{border-radius:10px;padding:10px 14px;margin:0 0 10px;border-left:5px solid var(--l1);background:var(--bad-bg)}
.problem.info{border-color:var(--accent);background:var(--info-bg)}.problem.warn{border-color:var(--l3);background:var(--warn-bg)}
.problem p{margin:3px 0}.problem .fix{font-size:14px}
.dry{border-radius:10px;padding:8px 14px;margin:0 0 10px;background:var(--warn-bg);border-left:5px solid var(--l3)}
.id,.muted{color:var(--muted);font-size:12px;word-break:break-all}
code{font-family:ui-monospace,Menlo,Consolas,monospace;font-size:.92em;word-break:break-all}
footer{color:var(--muted);font-size:12px;margin:14px 2px}footer a{color:var(--accent)}
@media (max-width:520px){main{padding:8px}.card{padding:12px}.num{font-size:30px}dl{gap:2px 10px}}
"#;

/// A few lines of plain JS: the countdown ticks every second, and the page replaces its content
/// with a fresh copy every `data-refresh` ms (no flash, no scroll jump); if that fails the update
/// line turns red.
const JS: &str = r#"(function(){
function tick(){var n=Date.now();document.querySelectorAll('[data-deadline]').forEach(function(e){e.textContent=Math.max(0,Math.ceil((+e.getAttribute('data-deadline')-n)/1000));});}
setInterval(tick,1000);tick();
var ms=+document.body.getAttribute('data-refresh')||10000;
setInterval(function(){fetch(location.href,{cache:'no-store'}).then(function(r){if(!r.ok)throw r;return r.text();}).then(function(h){var d=new DOMParser().parseFromString(h,'text/html');var m=d.querySelector('main');if(m){document.querySelector('main').replaceWith(m);document.title=d.title;tick();}}).catch(function(){var u=document.getElementById('upd');if(u)u.className='upd off';});},ms);
})();"#;

/// The page.
pub fn html(v: &PageView) -> String {
    let r = R {
        lang: v.lang,
        now: v.now,
    };
    let mut o = String::with_capacity(16 * 1024);
    let title = match v
        .packages
        .iter()
        .find_map(|p| p.reading.as_ref().filter(|_| !p.stale))
    {
        Some(x) => format!(
            "{} {} GB · {}",
            r.t("剩余", "Left"),
            gb(x.remaining_gb),
            v.server
        ),
        None => v.server.clone(),
    };
    let _ = write!(
        o,
        "<!doctype html><html lang=\"{}\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">\
         <meta name=\"color-scheme\" content=\"light dark\">\
         <title>{} — {}</title><noscript><meta http-equiv=\"refresh\" content=\"{}\"></noscript>\
         <style>{CSS}</style></head><body data-refresh=\"{}\"><main>",
        r.t("zh-CN", "en"),
        esc(&title),
        r.t("流量监控", "traffic monitor"),
        v.refresh.as_secs(),
        v.refresh.as_millis()
    );
    let _ = write!(
        o,
        "<header><h1>{} · {}</h1><nav><a href=\"?lang=zh\"{}>中文</a><a href=\"?lang=en\"{}>English</a></nav>\
         <p id=\"upd\" class=\"upd\">{} {} · {}</p></header>",
        r.t("免费流量", "Free traffic"),
        esc(&v.server),
        if r.zh() { " class=\"on\"" } else { "" },
        if r.zh() { "" } else { " class=\"on\"" },
        r.t("页面更新于", "Page updated"),
        v.now.with_timezone(&Local).format("%H:%M:%S"),
        match r.lang {
            Lang::Zh => format!("每 {} 秒自动刷新", v.refresh.as_secs()),
            Lang::En => format!("refreshes every {} s", v.refresh.as_secs()),
        }
    );
    for p in &v.problems {
        problem(&mut o, &r, p);
    }
    if v.program.dry_run {
        let _ = write!(
            o,
            "<div class=\"dry\"><b>{}</b> {}</div>",
            r.t("演练模式（DRY_RUN）：", "Dry run (DRY_RUN):"),
            r.t(
                "到达 1 级时只演练一遍，不会真的关机。",
                "at level 1 everything happens except the shutdown itself."
            )
        );
    }
    for p in &v.packages {
        if let Some(c) = &p.countdown {
            countdown(&mut o, &r, v, p, c);
        }
    }
    for p in &v.packages {
        package(&mut o, &r, v, p);
    }
    program(&mut o, &r, &v.program);
    let offset = v.now.with_timezone(&Local).format("%:z");
    let _ = write!(
        o,
        "<footer>{} UTC{offset} · flexus-traffic-monitor {} · \
         <a href=\"/api/v1/status?pretty\">/api/v1/status</a> · <a href=\"/api/v1/history\">/api/v1/history</a> · \
         <a href=\"/metrics\">/metrics</a></footer></main><script>{JS}</script></body></html>",
        r.t("时间为服务器时区", "Times in the server's time zone"),
        esc(&v.version)
    );
    o
}

fn problem(o: &mut String, r: &R, p: &Problem) {
    let (class, title, detail, fix): (&str, String, String, String) = match p {
        Problem::NoPollYet => (
            "info",
            r.t("正在第一次读取流量…", "Reading the traffic for the first time…").into(),
            String::new(),
            r.t("几秒后页面会自动更新。", "The page updates itself in a few seconds.").into(),
        ),
        Problem::PollFailed {
            account,
            error,
            configuration,
            last_success,
        } => (
            "",
            {
                let title: String = if *configuration {
                    r.t("华为云拒绝了凭据或权限，无法读取流量", "Huawei Cloud refused the credentials or permission: traffic cannot be read").into()
                } else {
                    r.t("上次读取流量失败", "The last traffic reading failed").into()
                };
                match account {
                    Some(a) => format!("{}{} · {title}", r.t("账号 ", "Account "), esc(a)),
                    None => title,
                }
            },
            format!(
                "{}{}{}",
                r.t("原因：", "Reason: "),
                match account {
                    // The variables the reason names are the account's own.
                    Some(a) => error.localize(r.lang).replace(
                        "HUAWEICLOUD_",
                        &format!("ACCOUNT_{}_HUAWEICLOUD_", esc(&a.to_ascii_uppercase())),
                    ),
                    None => error.localize(r.lang),
                },
                match last_success {
                    Some(t) => format!(" · {}{}", r.t("上次成功：", "last success: "), r.when(*t)),
                    None => String::new(),
                }
            ),
            if let (true, Some(a)) = (*configuration, account) {
                let g = format!("ACCOUNT_{}_", esc(&a.to_ascii_uppercase()));
                match r.lang {
                    crate::messages::Lang::Zh => format!("检查 {g}HUAWEICLOUD_SDK_AK / {g}HUAWEICLOUD_SDK_SK、{g}HUAWEICLOUD_SITE 和服务器时钟，然后运行 flexus-traffic-monitor check 查看详细原因。修好之前不会为这个账号发告警，也不会关机；其他账号照常。"),
                    crate::messages::Lang::En => format!("Check {g}HUAWEICLOUD_SDK_AK / {g}HUAWEICLOUD_SDK_SK, {g}HUAWEICLOUD_SITE and the server clock, then run flexus-traffic-monitor check for the details. Until fixed, no alert is sent and nothing is shut down for this account; the other accounts go on."),
                }
            } else if *configuration {
                r.t(
                    "检查 HUAWEICLOUD_SDK_AK / HUAWEICLOUD_SDK_SK、HUAWEICLOUD_SITE 和服务器时钟，然后运行 flexus-traffic-monitor check 查看详细原因。修好之前不会发告警，也不会关机。",
                    "Check HUAWEICLOUD_SDK_AK / HUAWEICLOUD_SDK_SK, HUAWEICLOUD_SITE and the server clock, then run flexus-traffic-monitor check for the details. Until fixed, no alert is sent and nothing is shut down.",
                )
                .into()
            } else {
                r.t(
                    "程序会自动重试；一直失败时检查网络，或运行 flexus-traffic-monitor check。读取失败不会导致关机。",
                    "It retries by itself; if it keeps failing, check the network or run flexus-traffic-monitor check. A failed reading never shuts the server down.",
                )
                .into()
            },
        ),
        Problem::PackageFailed { package, error } => (
            "",
            format!("{} {}", r.t("无法读取流量包", "Cannot read package"), esc(package)),
            format!("{}{}", r.t("原因：", "Reason: "), error.localize(r.lang)),
            r.t(
                "用 flexus-traffic-monitor discover 列出账号下的流量包，核对 FREE_RESOURCE_IDS。",
                "List the account's packages with flexus-traffic-monitor discover and check FREE_RESOURCE_IDS.",
            )
            .into(),
        ),
        Problem::Stale { package, read_at } => (
            "warn",
            format!("{} {}", r.t("数据过期：", "Stale data:"), esc(package)),
            format!(
                "{}{}{}",
                r.t("最后一次成功读取在 ", "The last good reading is from "),
                r.when(*read_at),
                r.t("，太旧了，不作为当前数值，也不会据此关机。", "; too old to count as current, and never used to shut down.")
            ),
            r.t("看上面的读取错误；恢复后自动更新。", "See the reading error above; it updates by itself once polls succeed.").into(),
        ),
        Problem::OutboxStalled {
            pending,
            oldest,
            last_error,
            channel,
        } => (
            "",
            match (r.lang, channel) {
                (Lang::Zh, Some(c)) => format!("{pending} 条消息发不出去（最早一条卡在 {c}）"),
                (Lang::Zh, None) => format!("{pending} 条消息发不出去"),
                (Lang::En, Some(c)) => format!("{pending} message(s) cannot be delivered (the oldest waits for {c})"),
                (Lang::En, None) => format!("{pending} message(s) cannot be delivered"),
            },
            format!(
                "{}{}{}",
                r.t("最早一条排队于 ", "The oldest was queued "),
                r.when(*oldest),
                last_error
                    .as_ref()
                    .map(|e| format!(" · {}", send_failure(r, e)))
                    .unwrap_or_default()
            ),
            if *channel == Some("telegram") {
                r.t(
                    "运行 flexus-traffic-monitor notify-test 查看 Telegram 的回复；检查 TELEGRAM_BOT_TOKEN、TELEGRAM_CHAT_ID 和网络（国内服务器需要 HTTPS_PROXY）。消息不会丢，连通后按顺序发出。",
                    "Run flexus-traffic-monitor notify-test to see Telegram's answer; check TELEGRAM_BOT_TOKEN, TELEGRAM_CHAT_ID and the network (HTTPS_PROXY where Telegram is blocked). Nothing is lost: they go out in order once it works.",
                )
            } else {
                r.t(
                    "运行 flexus-traffic-monitor notify-test 查看每个渠道的回复，并检查该渠道的设置和网络。消息不会丢，连通后按顺序发出；其他渠道不受影响。",
                    "Run flexus-traffic-monitor notify-test to see each channel's answer, and check that channel's settings and network. Nothing is lost: they go out in order once it works, and other channels are not held up.",
                )
            }
            .into(),
        ),
        Problem::DeadMessages { count, channels } => (
            "warn",
            match r.lang {
                Lang::Zh => format!("{count} 条消息被永久拒绝（{}）", channels.join("、")),
                Lang::En => format!("{count} message(s) refused for good ({})", channels.join(", ")),
            },
            String::new(),
            r.t(
                "它们保存在该渠道发件箱的 dead 目录中（Telegram 为 STATE_DIR/outbox/dead，其他渠道为 STATE_DIR/outbox/<渠道>/dead）；运行 flexus-traffic-monitor notify-test 查看原因。",
                "They are kept in the channel's dead folder (STATE_DIR/outbox/dead for Telegram, STATE_DIR/outbox/<channel>/dead for the others); run flexus-traffic-monitor notify-test to see why.",
            )
            .into(),
        ),
        Problem::History(HistoryProblem::Corrupt { moved_to, error }) => (
            "warn",
            r.t("历史数据文件已损坏，已重新开始记录", "The history file was damaged; a new history was started").into(),
            {
                // The parser's own words stay in the log line written when it happened.
                let _ = error;
                format!(
                    "{}<code>{}</code>{}",
                    r.t("旧文件保留在 ", "The old file is kept at "),
                    esc(moved_to),
                    r.t("（无法解析的原因见日志）", " (why it could not be read is in the log)")
                )
            },
            r.t("无需操作；告警和关机不依赖历史数据。", "Nothing to do: alerts and the shutdown do not depend on the history.").into(),
        ),
        Problem::History(HistoryProblem::Unreadable { error } | HistoryProblem::WriteFailed { error }) => (
            "warn",
            r.t("无法读写历史数据文件", "The history file cannot be read or written").into(),
            {
                let _ = error;
                r.t("系统给出的原因见日志。", "The system's reason is in the log.").to_string()
            },
            r.t("检查 STATE_DIR 的磁盘空间和权限。告警和关机不受影响。", "Check STATE_DIR's free space and permissions. Alerts and the shutdown are not affected.").into(),
        ),
    };
    let _ = write!(
        o,
        "<div class=\"problem {class}\"><b>{title}</b>{}<p class=\"fix\">{}{fix}</p></div>",
        if detail.is_empty() {
            String::new()
        } else {
            format!("<p>{detail}</p>")
        },
        if class == "info" {
            ""
        } else {
            r.t("怎么办：", "What to do: ")
        }
    );
}

fn package(o: &mut String, r: &R, v: &PageView, p: &PackageView) {
    let th = v.thresholds;
    let _ = write!(
        o,
        "<section class=\"card pkg\" data-package=\"{}\">",
        esc(&p.id)
    );
    let Some(x) = &p.reading else {
        let _ = write!(
            o,
            "<h2>{}</h2><p class=\"empty\">{}</p><p class=\"id\">{} {}</p></section>",
            esc(&p.server),
            r.t("还没有读数。", "No reading yet."),
            r.t("流量包 ID：", "Package id:"),
            esc(&p.id)
        );
        return;
    };
    let mut sub = vec![x.package_name.clone()];
    if !x.usage_type.is_empty() {
        sub.push(x.usage_type.clone());
    }
    let _ = write!(
        o,
        "<h2>{} <small>{}</small></h2>",
        esc(&p.server),
        esc(&sub.join(" · "))
    );
    let level_class = lc(p.level);
    let _ = write!(
        o,
        "<div class=\"big\"><span><span class=\"num\" data-k=\"remaining\">{}</span> GB</span>\
         <span class=\"of\">/ {} GB {}</span><span class=\"badge {level_class}\" data-k=\"level\">{}</span></div>",
        gb(x.remaining_gb),
        gb(x.total_gb),
        r.t("剩余", "left"),
        match p.level {
            Some(l) => r.level(l).to_string(),
            None => r.t("数据过期", "stale").to_string(),
        }
    );
    if let Some(e) = &p.estimate {
        // "bill 412 GB, read 14:00 · now ≈ 398 GB": both figures and the gap.
        let _ = write!(
            o,
            "<p class=\"live\" data-k=\"live\">{} {} GB{} {} · <b>{} <span class=\"num\" data-k=\"estimate\">{}</span> GB</b></p>",
            r.t("账单", "bill"),
            gb(e.bill_gb),
            r.t("，读取于", ", read"),
            r.time(e.bill_read_at),
            r.t("现在约", "now ≈"),
            gb(e.remaining_gb)
        );
    }
    let pct = |g: f64| {
        if x.total_gb > 0.0 {
            (g / x.total_gb * 100.0).clamp(0.0, 100.0)
        } else {
            0.0
        }
    };
    let _ = write!(
        o,
        "<div class=\"bar\" role=\"img\" aria-label=\"{:.0}%\"><div class=\"fill {level_class}\" style=\"width:{:.2}%\"></div>",
        pct(x.remaining_gb),
        pct(x.remaining_gb)
    );
    for (t, l) in [(th.t1, "l1"), (th.t2, "l2"), (th.t3, "l3")] {
        if t < x.total_gb {
            let _ = write!(
                o,
                "<i class=\"tick {l}\" style=\"left:{:.2}%\"></i>",
                pct(t)
            );
        }
    }
    let _ = write!(
        o,
        "</div><div class=\"legend\"><span><i class=\"dot l3\"></i>{} {} GB</span>\
         <span><i class=\"dot l2\"></i>{} {} GB</span><span><i class=\"dot l1\"></i>{} {} GB</span></div>",
        r.t("3 级", "level 3"),
        th.t3,
        r.t("2 级", "level 2"),
        th.t2,
        level1_name(r, v, p),
        th.t1
    );
    let _ = write!(
        o,
        "<dl><dt>{}</dt><dd>{} GB ({:.0}%)</dd>",
        r.t("已用", "Used"),
        gb(x.used_gb()),
        100.0 - pct(x.remaining_gb)
    );
    match (x.cycle_start, x.cycle_end) {
        (start, Some(end)) => {
            let _ = write!(
                o,
                "<dt>{}</dt><dd>{}{}</dd><dt>{}</dt><dd data-k=\"reset\"><b>{}</b> · {}</dd>",
                r.t("本周期", "This cycle"),
                start
                    .map(|s| format!("{} → ", r.date(s)))
                    .unwrap_or_default(),
                r.date(end),
                r.t("重置", "Resets"),
                r.relative(end),
                r.time(end)
            );
        }
        _ => {
            let _ = write!(
                o,
                "<dt>{}</dt><dd>{}</dd>",
                r.t("本周期", "This cycle"),
                r.t("华为云没有给出周期", "Huawei Cloud did not say")
            );
        }
    }
    let _ = write!(
        o,
        "<dt>{}</dt><dd>{}</dd></dl>",
        r.t("读取时间", "Read at"),
        r.when(x.read_at)
    );
    forecast(o, r, v, p);
    history_chart(o, r, v, p);
    next(o, r, v, p);
    let _ = write!(
        o,
        "<p class=\"id\">{} {}</p></section>",
        r.t("流量包 ID：", "Package id:"),
        esc(&p.id)
    );
}

fn forecast(o: &mut String, r: &R, v: &PageView, p: &PackageView) {
    let t1 = v.thresholds.t1;
    let (class, text) = match p.forecast {
        Forecast::NoData => (
            "",
            r.t(
                "预测：数据还不够（需要几次读数），稍后会显示用完的日期。",
                "Forecast: not enough readings yet; the date appears after a few polls.",
            )
            .to_string(),
        ),
        Forecast::AlreadyBelow => (
            "bad",
            match r.lang {
                Lang::Zh => format!("已低于 1 级阈值 {t1} GB。"),
                Lang::En => format!("Already below the level-1 threshold of {t1} GB."),
            },
        ),
        Forecast::NotFalling { .. } => (
            "good",
            r.t(
                "预测：最近没有消耗流量，按现在的速度不会降到 1 级阈值。",
                "Forecast: no traffic used lately; at this rate it never reaches level 1.",
            )
            .to_string(),
        ),
        Forecast::Reaches {
            gb_per_day,
            at,
            before_reset,
            at_reset_gb,
        } => {
            let when = r.when(at);
            let reset_gb = at_reset_gb.map(|g| gb(g.max(0.0))).unwrap_or_default();
            match (r.lang, before_reset) {
                (Lang::Zh, Some(true)) => ("bad", format!("预测：按最近每天约 {} GB 的速度，将在 <b>{when}</b> 降到 1 级阈值 {t1} GB —— <b>早于周期重置</b>，届时会关机（除非关机已关闭）。", gb(gb_per_day))),
                (Lang::Zh, Some(false)) => ("good", format!("预测：按最近每天约 {} GB 的速度，重置前不会降到 1 级阈值（重置时约剩 {reset_gb} GB）。", gb(gb_per_day))),
                (Lang::Zh, None) => ("", format!("预测：按最近每天约 {} GB 的速度，将在 {when} 降到 1 级阈值 {t1} GB。", gb(gb_per_day))),
                (Lang::En, Some(true)) => ("bad", format!("Forecast: at the recent rate of about {} GB a day, it reaches the level-1 threshold of {t1} GB on <b>{when}</b> — <b>before the cycle resets</b>; the server would then be shut down (unless shutdown is off).", gb(gb_per_day))),
                (Lang::En, Some(false)) => ("good", format!("Forecast: at the recent rate of about {} GB a day, it stays above level 1 until the reset (about {reset_gb} GB left then).", gb(gb_per_day))),
                (Lang::En, None) => ("", format!("Forecast: at the recent rate of about {} GB a day, it reaches the level-1 threshold of {t1} GB on {when}.", gb(gb_per_day))),
            }
        }
    };
    let _ = write!(o, "<p class=\"fc {class}\" data-k=\"forecast\">{text}</p>");
}

fn history_chart(o: &mut String, r: &R, v: &PageView, p: &PackageView) {
    let Some(x) = &p.reading else { return };
    let rate = match p.forecast {
        Forecast::Reaches { gb_per_day, .. } => Some(gb_per_day),
        _ => None,
    };
    let c = chart::chart(&ChartInput {
        points: &p.history,
        total_gb: x.total_gb,
        thresholds: v.thresholds,
        cycle_start: x.cycle_start,
        cycle_end: x.cycle_end,
        now: v.now,
        gb_per_day: rate,
    });
    let _ = write!(o, "<h3>{}</h3>", r.t("剩余流量历史", "Remaining over time"));
    let Some(c) = c else {
        let _ = write!(
            o,
            "<p class=\"empty\">{}</p>",
            r.t(
                "历史图需要至少两次读数。",
                "The chart needs at least two readings."
            )
        );
        return;
    };
    let _ = write!(
        o,
        "<figure><div class=\"plot\">{}<span class=\"ylab top\">{:.0} GB</span>",
        c.svg, c.y_max
    );
    // From T1 up; a label too close to the one below it is left out (the legend has them all).
    let mut last_pct: Option<f64> = None;
    for (pct, g, _) in c.marks.iter().rev() {
        if last_pct.is_some_and(|l| l - pct < 9.0) || *pct < 9.0 {
            continue;
        }
        let _ = write!(
            o,
            "<span class=\"ylab\" style=\"top:{pct:.2}%\">{g} GB</span>"
        );
        last_pct = Some(*pct);
    }
    if let Some(pct) = c.cycle_start_pct {
        if pct < 80.0 {
            let _ = write!(
                o,
                "<span class=\"clab\" style=\"left:{pct:.2}%\">{}</span>",
                r.t("本周期开始", "cycle start")
            );
        }
    }
    let span = c.x_end - c.x_start;
    let label = |t: DateTime<Utc>| {
        if span < chrono::Duration::days(2) {
            t.with_timezone(&Local).format("%m-%d %H:%M:%S").to_string()
        } else {
            r.date(t)
        }
    };
    let _ = write!(
        o,
        "</div><div class=\"xl\"><span>{}</span><span>{}</span></div><figcaption>{}</figcaption></figure>",
        label(c.x_start),
        label(c.x_end),
        r.t(
            "实线：剩余流量；虚线横线：三个阈值；竖虚线：本周期开始；斜虚线：按最近速度的预测。",
            "Line: remaining; dashed lines: the three thresholds; dotted vertical: this cycle's start; dashed slope: the forecast at the recent rate."
        )
    );
}

/// A running countdown, shown at the top of the page: it is the one thing that cannot wait.
fn countdown(o: &mut String, r: &R, v: &PageView, p: &PackageView, c: &super::CountdownView) {
    let left = (c.deadline - v.now).num_milliseconds().max(0);
    let secs = (left + 999) / 1000;
    let _ = write!(
        o,
        "<div class=\"cd\" data-k=\"countdown\"><b>{}</b> {} <b class=\"sec\" data-deadline=\"{}\">{secs}</b> {}{}</div>",
        esc(&p.server),
        r.t("关机倒计时：", "shutdown countdown:"),
        c.deadline.timestamp_millis(),
        match r.lang {
            Lang::Zh => format!("秒后重新读取流量，若仍低于 {} GB 就关机。", v.thresholds.t1),
            Lang::En => format!("s, then it reads the traffic again and shuts down if still below {} GB.", v.thresholds.t1),
        },
        if v.program.dry_run {
            r.t("（演练模式：不会真的关机）", " (Dry run: nothing is shut down.)")
        } else {
            ""
        }
    );
}

/// Level 1 in the legend, named by what it does under the settings.
fn level1_name(r: &R, v: &PageView, p: &PackageView) -> String {
    if v.program.no_shutdown.is_none() {
        return r.t("1 级（关机线）", "level 1 (shutdown)").to_string();
    }
    let names: Vec<&str> = p
        .actions
        .at_level_1
        .iter()
        .map(|a| action_name(r.lang, *a))
        .collect();
    match (names.is_empty(), r.lang) {
        (true, _) => r.t("1 级（仅告警）", "level 1 (alerts only)").to_string(),
        (false, Lang::Zh) => format!("1 级（{}）", names.join("、")),
        (false, Lang::En) => format!("level 1 ({})", names.join(", ")),
    }
}

fn next(o: &mut String, r: &R, v: &PageView, p: &PackageView) {
    let pr = &v.program;
    let _ = write!(
        o,
        "<div class=\"next\"><h3>{}</h3>",
        r.t("接下来会发生什么", "What happens next")
    );
    let _ = write!(o, "<ul>");
    let acts = &p.actions;
    let names = |list: &[Action]| {
        list.iter()
            .map(|a| action_name(r.lang, *a))
            .collect::<Vec<_>>()
            .join(r.t("、", ", "))
    };
    let l1_actions = names(&acts.at_level_1);
    let why_not = pr.no_shutdown.map(|w| no_shutdown_text(r.lang, w));
    let at_t1 = match (why_not, acts.at_level_1.is_empty(), r.lang) {
        (None, true, _) => r
            .t("开始关机倒计时", "the shutdown countdown starts")
            .to_string(),
        (None, false, Lang::Zh) => format!("{l1_actions}生效并开始关机倒计时"),
        (None, false, Lang::En) => {
            format!("{l1_actions} comes into force and the shutdown countdown starts")
        }
        (Some(w), true, Lang::Zh) => format!("只告警（不会自动关机：{w}）"),
        (Some(w), true, Lang::En) => format!("alerts only (no automatic shutdown: {w})"),
        (Some(w), false, Lang::Zh) => format!("{l1_actions}生效（不会自动关机：{w}）"),
        (Some(w), false, Lang::En) => {
            format!("{l1_actions} comes into force (no automatic shutdown: {w})")
        }
    };
    let what = match (p.level, p.countdown.is_some()) {
        (_, true) => Some(r.t(
            "关机倒计时进行中（见页面顶部）；流量回到 1 级阈值以上会自动取消。",
            "The shutdown countdown is running (see the top of the page); a reading back above level 1 cancels it.",
        ).to_string()),
        (None, _) => Some(r.t(
            "没有新的读数，不做任何决定（不会因旧数据关机）。",
            "No fresh reading: nothing is decided (old data never shuts the server down).",
        ).to_string()),
        (Some(Level::Ok), _) => Some(r.t("流量充足，不需要做什么。", "Plenty left; nothing to do.").to_string()),
        (Some(Level::L3), _) => Some(match r.lang {
            Lang::Zh => format!("低于 {} GB：发普通告警，之后最多每 {} 提醒一次。", v.thresholds.t3, r.span(chrono::Duration::from_std(level_repeat(v, Level::L3)).unwrap_or_default())),
            Lang::En => format!("Below {} GB: a normal alert, repeated at most every {}.", v.thresholds.t3, r.span(chrono::Duration::from_std(level_repeat(v, Level::L3)).unwrap_or_default())),
        }),
        (Some(Level::L2), _) => Some(match r.lang {
            Lang::Zh => format!("低于 {} GB：每 {} 提醒一次；低于 {} GB 时{at_t1}。", v.thresholds.t2, r.span(chrono::Duration::from_std(level_repeat(v, Level::L2)).unwrap_or_default()), v.thresholds.t1),
            Lang::En => format!("Below {} GB: reminders every {}; below {} GB {at_t1}.", v.thresholds.t2, r.span(chrono::Duration::from_std(level_repeat(v, Level::L2)).unwrap_or_default()), v.thresholds.t1),
        }),
        (Some(Level::L1), _) => Some(match (why_not, acts.at_level_1.is_empty(), r.lang) {
            (Some(w), true, Lang::Zh) => format!("低于 1 级阈值，但不会自动关机（{w}），也没有其他动作：只发告警，请手动处理。"),
            (Some(w), true, Lang::En) => format!("Below level 1, but no automatic shutdown ({w}) and no other action: alerts only; act by hand."),
            (Some(w), false, Lang::Zh) => format!("低于 1 级阈值：{l1_actions}生效；不会自动关机（{w}）。"),
            (Some(w), false, Lang::En) => format!("Below level 1: {l1_actions} in force; no automatic shutdown ({w})."),
            (None, _, _) if p.last_shutdown.is_some() => r.t("低于 1 级阈值：本周期已经处理过关机（见下方记录）。", "Below level 1: the shutdown was already handled this cycle (see the record below).").to_string(),
            (None, true, _) => r.t("低于 1 级阈值：关机守卫会重新读取流量，确认后关机。", "Below level 1: the shutdown guard re-reads the traffic and shuts down if confirmed.").to_string(),
            (None, false, Lang::Zh) => format!("低于 1 级阈值：{l1_actions}生效；关机守卫会重新读取流量，确认后关机。"),
            (None, false, Lang::En) => format!("Below level 1: {l1_actions} in force; the shutdown guard re-reads the traffic and shuts down if confirmed."),
        }),
    };
    if let Some(w) = what {
        let _ = write!(o, "<li data-k=\"plan\">{w}</li>");
    }
    actions_items(o, r, acts);
    if let Some(until) = p.cancelled_until {
        let _ = write!(
            o,
            "<li data-k=\"cancelled\">{}{}{}</li>",
            r.t("自动关机已通过 Telegram /cancel 取消，直到 ", "Automatic shutdown cancelled with /cancel in Telegram until "),
            r.when(until),
            r.t("，或流量包级别下次变化（/resume 可提前恢复）；超出免费流量包的流量将按量计费。", ", or the package's next level change (/resume ends it sooner); traffic beyond the free package is billed."),
        );
    }
    match (&p.last_alert, p.next_repeat) {
        (Some((l, at)), next) => {
            let _ = write!(
                o,
                "<li>{}{} · {}{}</li>",
                r.t("上次告警：", "Last alert: "),
                r.level(*l),
                r.when(*at),
                next.map(|n| format!(" · {}{}", r.t("下次重复：", "next repeat: "), r.when(n)))
                    .unwrap_or_default()
            );
        }
        (None, _) => {
            let _ = write!(
                o,
                "<li>{}</li>",
                r.t("还没有发过告警。", "No alert sent yet.")
            );
        }
    }
    if let Some(s) = &p.last_shutdown {
        let _ = write!(
            o,
            "<li data-k=\"last-shutdown\">{}{} · {}</li>",
            r.t("上次关机：", "Last shutdown: "),
            r.when(s.at),
            // The outcome's raw words (a command's output, the cloud's answer) are in the log.
            match (s.success, s.outcome.starts_with("would ")) {
                (true, true) => r.t("演练（没有真的关机）", "dry run (nothing was shut down)"),
                (true, false) => r.t("成功", "succeeded"),
                (false, _) => r.t(
                    "失败（原因见日志和当时的消息）",
                    "failed (the reason is in the log and in the message sent then)",
                ),
            }
        );
    }
    if let Some(at) = p.last_start {
        let _ = write!(
            o,
            "<li>{}{}</li>",
            r.t("上次自动启动：", "Last automatic start: "),
            r.when(at)
        );
    }
    let _ = write!(o, "</ul></div>");
}

/// The gentler actions of one package: what is in force, what was lifted by hand, or that the
/// package is another server's.
fn actions_items(o: &mut String, r: &R, a: &super::PackageActions) {
    if !a.acts_here {
        if a.configured {
            let _ = write!(
                o,
                "<li data-k=\"actions\">{}</li>",
                r.t(
                    "这个流量包属于另一台服务器：限速、封闭入站和自定义命令只按本机自己的流量包（LOCAL_FREE_RESOURCE_IDS）在本机生效。",
                    "This package is another server's: throttle, fence and command act on this machine only for its own package (LOCAL_FREE_RESOURCE_IDS)."
                )
            );
        }
        return;
    }
    if !a.in_force.is_empty() {
        let list = a
            .in_force
            .iter()
            .map(|(k, since)| match r.lang {
                Lang::Zh => format!(
                    "{}（{} 级，自 {}）",
                    action_name(r.lang, k.action),
                    k.level.label(),
                    r.when(*since)
                ),
                Lang::En => format!(
                    "{} (level {}, since {})",
                    action_name(r.lang, k.action),
                    k.level.label(),
                    r.when(*since)
                ),
            })
            .collect::<Vec<_>>()
            .join(r.t("、", ", "));
        let _ = write!(
            o,
            "<li data-k=\"actions\">{}{list}{}</li>",
            r.t("本机已生效：", "In force on this server: "),
            r.t(
                "。最新读数显示流量回到该级别以上时自动解除；手动解除：<code>flexus-traffic-monitor lift</code>。",
                ". Lifted when a fresh reading shows the package back above the level; by hand: <code>flexus-traffic-monitor lift</code>."
            )
        );
    }
    if !a.lifted_by_hand.is_empty() {
        let list = a
            .lifted_by_hand
            .iter()
            .map(|k| match r.lang {
                Lang::Zh => format!(
                    "{}（{} 级）",
                    action_name(r.lang, k.action),
                    k.level.label()
                ),
                Lang::En => format!(
                    "{} (level {})",
                    action_name(r.lang, k.action),
                    k.level.label()
                ),
            })
            .collect::<Vec<_>>()
            .join(r.t("、", ", "));
        let _ = write!(
            o,
            "<li data-k=\"lifted\">{}{list}{}</li>",
            r.t(
                "已手动解除（flexus-traffic-monitor lift）：",
                "Lifted by hand (flexus-traffic-monitor lift): "
            ),
            r.t(
                "；在流量包级别恢复一次之前不会再次施加。",
                "; off until the package's level has recovered once."
            )
        );
    }
}

fn action_name(lang: Lang, a: Action) -> &'static str {
    crate::messages::action_name(lang, a)
}

fn level_repeat(v: &PageView, l: Level) -> std::time::Duration {
    match l {
        Level::L3 => v.cadence.level3_repeat,
        _ => v.cadence.level2_repeat,
    }
}

fn program(o: &mut String, r: &R, p: &Program) {
    let _ = write!(
        o,
        "<section class=\"card\" id=\"program\"><h2>{}</h2><dl>",
        r.t("程序状态", "The program")
    );
    if let Some(until) = p.muted_until {
        let _ = write!(
            o,
            "<dt>{}</dt><dd data-k=\"muted\">{}{}</dd>",
            r.t("重复提醒", "Repeats"),
            r.t("已通过 /mute 暂停至 ", "muted with /mute until "),
            r.when(until)
        );
    }
    let _ = write!(
        o,
        "<dt>{}</dt><dd data-k=\"dry-run\">{}</dd>",
        r.t("演练模式", "Dry run"),
        if p.dry_run {
            r.t(
                "开启（DRY_RUN=true）：不会真的关机",
                "on (DRY_RUN=true): nothing is shut down",
            )
        } else {
            r.t(
                "关闭：到达 1 级并确认后会真的关机",
                "off: at level 1, once confirmed, the server is shut down",
            )
        }
    );
    let mode = |m: ShutdownMode| match m {
        ShutdownMode::Command => r.t("在本机执行关机命令", "the shutdown command on this machine"),
        ShutdownMode::HuaweiApi => r.t(
            "通过华为云 API 停止实例",
            "stop the instance through the Huawei Cloud API",
        ),
        ShutdownMode::Off => r.t("关闭（只告警）", "off (alerts only)"),
    };
    let shutdown = if p.account_modes.is_empty() {
        mode(p.shutdown_mode).to_string()
    } else {
        // Each account has its own.
        p.account_modes
            .iter()
            .map(|(a, m)| {
                format!(
                    "{}{}{}{}",
                    r.t("账号 ", "account "),
                    esc(a),
                    r.t("：", ": "),
                    mode(*m)
                )
            })
            .collect::<Vec<_>>()
            .join(r.t("；", "; "))
    };
    let _ = write!(
        o,
        "<dt>{}</dt><dd data-k=\"shutdown-mode\">{shutdown}</dd>",
        r.t("关机方式", "Shutdown"),
    );
    let in_charge = match p.in_charge {
        InCharge::Prometheus => format!(
            "{}{}",
            r.t(
                "Prometheus + Alertmanager（心跳正常）",
                "Prometheus + Alertmanager (their watchdog arrives)"
            ),
            p.last_heartbeat
                .map(|h| format!(
                    " · {}{}",
                    r.t("最近心跳：", "last heartbeat: "),
                    r.relative(h)
                ))
                .unwrap_or_default()
        ),
        InCharge::Fallback => match p.fallback {
            FallbackMode::Always => r
                .t(
                    "本程序自己判断（FALLBACK=always）",
                    "this program itself (FALLBACK=always)",
                )
                .into(),
            _ => r
                .t(
                    "本程序自己判断（没有收到 Prometheus 心跳）",
                    "this program itself (no Prometheus watchdog arriving)",
                )
                .into(),
        },
        InCharge::Nobody => r
            .t("无（只导出指标）", "nobody (exporting metrics only)")
            .into(),
    };
    let _ = write!(
        o,
        "<dt>{}</dt><dd data-k=\"in-charge\">{in_charge}</dd>",
        r.t("告警由谁负责", "Alerts decided by")
    );
    let _ = write!(
        o,
        "<dt>{}</dt><dd>{}</dd>",
        r.t("上次读取", "Last poll"),
        match p.last_poll_at {
            None => r.t("还没有", "not yet").to_string(),
            Some(t) => format!(
                "{} · {}{}",
                r.when(t),
                if p.last_poll_ok {
                    r.t("成功", "succeeded")
                } else {
                    r.t("失败", "failed")
                },
                p.next_poll_at
                    .map(|n| format!(" · {}{}", r.t("下次：", "next: "), r.relative(n)))
                    .unwrap_or_default()
            ),
        }
    );
    let _ = write!(
        o,
        "<dt>{}</dt><dd>{}</dd></dl></section>",
        r.t("待发消息", "Messages waiting"),
        if p.channels.is_empty() {
            r.t(
                "没有配置消息渠道（如 Telegram）：消息只写在日志里",
                "No message channel (such as Telegram) is set up: messages only go to the log",
            )
            .to_string()
        } else {
            let channels = esc(&p.channels.join(", "));
            match (r.lang, p.outbox.pending) {
                (Lang::Zh, 0) => format!("0（都已送达 {channels}）"),
                (Lang::En, 0) => format!("0 (all delivered to {channels})"),
                (Lang::Zh, n) => format!("{n} 条，正在重试（{channels}）"),
                (Lang::En, n) => format!("{n}, retrying ({channels})"),
            }
        }
    );
}

/// What a channel's last failed delivery was, in the page's language, from its raw error (which
/// stays in the log line written when it failed).
fn send_failure(r: &R, raw: &str) -> String {
    let e = raw.to_ascii_lowercase();
    let kind = if e.contains("timed out") || e.contains("timeout") {
        r.t("超时", "timed out")
    } else if e.contains("dns") || e.contains("resolve") || e.contains("lookup") {
        r.t("域名解析失败", "name resolution failed")
    } else if e.contains("connect") || e.contains("refused") || e.contains("unreachable") {
        r.t("无法连接", "could not connect")
    } else if e.contains("http 4") || e.contains("http 5") || e.contains("status") {
        r.t("服务拒绝了请求", "the service refused the request")
    } else {
        r.t("发送失败", "sending failed")
    };
    match r.lang {
        Lang::Zh => format!("最近一次失败：{kind}（原始信息见日志）"),
        Lang::En => format!("last failure: {kind} (the raw error is in the log)"),
    }
}
