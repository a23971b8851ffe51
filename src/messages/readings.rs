//! The messages about readings that are not acted on (see `plausibility` and `huawei::wire`):
//! what BSS answered, that automatic action waits for this package, what to check and what to do
//! by hand; and the message when its readings are usable again.

use super::describe::Localize;
use super::{escape, Lang};
use crate::huawei::wire::ReadingError;

fn header(lang: Lang, title: (&str, &str), server: &str, id: &str) -> String {
    let (zh, en) = title;
    match lang {
        Lang::Zh => format!(
            "{zh}\n服务器：<b>{}</b>（<code>{}</code>）",
            escape(server),
            escape(id)
        ),
        Lang::En => format!(
            "{en}\nServer: <b>{}</b> (<code>{}</code>)",
            escape(server),
            escape(id)
        ),
    }
}

/// A reading not acted on.
pub fn not_used(
    lang: Lang,
    server: &str,
    id: &str,
    error: &ReadingError,
    last_good_gb: Option<f64>,
) -> String {
    let held = matches!(error, ReadingError::Doubtful(d) if d.is_hold());
    let title = if held {
        ("⏸ <b>读数暂缓采用</b>", "⏸ <b>Reading held</b>")
    } else {
        ("⚠️ <b>读数不可用</b>", "⚠️ <b>Reading not used</b>")
    };
    let mut out = header(lang, title, server, id);
    out.push_str(&match lang {
        Lang::Zh => format!("\nBSS 的应答：{}", error.localize(lang)),
        Lang::En => format!("\nBSS answered: {}", error.localize(lang)),
    });
    let last = last_good_gb.map(|gb| match lang {
        Lang::Zh => format!("上次可用读数：剩余 {gb:.2} GB。"),
        Lang::En => format!(" Last usable reading: {gb:.2} GB remaining."),
    });
    out.push('\n');
    out.push_str(&match (lang, held) {
        (Lang::Zh, true) => "这可能是一次偶发错误：在下一次读数确认之前不据此做任何操作（作为服务运行时约 1 分钟后重新读取）；若得到确认，告警和自动关机将随之进行。".to_string(),
        (Lang::En, true) => "It may be a glitch: nothing is done on it until the next reading confirms it (read about a minute later when running as a service); if it does, alerts and the automatic shutdown follow it.".to_string(),
        (Lang::Zh, false) => format!("在得到可用读数之前，这个流量包不会有任何自动操作：不会自动关机，不会限速或隔离。{}", last.unwrap_or_default()),
        (Lang::En, false) => format!("Until a usable reading arrives, nothing automatic happens for this package: no automatic shutdown, no throttle or fence.{}", last.unwrap_or_default()),
    });
    out.push('\n');
    out.push_str(match (lang, held) {
        (Lang::Zh, true) => "请在华为云控制台核对剩余流量（Flexus L 实例 → 流量包）；若下降属实且经常被暂缓，请把 MAX_EGRESS_RATE 调到服务器的峰值带宽。",
        (Lang::En, true) => "Check the remaining traffic in the Huawei Cloud console (Flexus L instance → data package); if such drops are real and often held, set MAX_EGRESS_RATE to the server's peak bandwidth.",
        (Lang::Zh, false) => "请在华为云控制台查看这个流量包（Flexus L 实例 → 流量包）；若流量确实即将用完，请手动关机或限速。",
        (Lang::En, false) => "Watch this package in the Huawei Cloud console (Flexus L instance → data package); if its traffic really is running out, stop the server or limit its traffic by hand.",
    });
    out
}

/// The package's readings are acted on again.
pub fn usable(lang: Lang, server: &str, id: &str, remaining_gb: f64) -> String {
    let mut out = header(
        lang,
        ("✅ <b>读数恢复可用</b>", "✅ <b>Readings usable again</b>"),
        server,
        id,
    );
    out.push_str(&match lang {
        Lang::Zh => format!("\n剩余 {remaining_gb:.2} GB；告警和自动操作重新依据读数进行。"),
        Lang::En => format!("\n{remaining_gb:.2} GB remaining; alerts and automatic actions follow the readings again."),
    });
    out
}
