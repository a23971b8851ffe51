//! What the commands say to a person besides tables and settings, in `MESSAGE_LANG` (Chinese by
//! default): verdicts, notes and headings. Raw details (the system's English words) stay in the
//! log lines printed above them. The configuration's own problems are written by
//! [`crate::config::ConfigErrors::render`].

use std::path::Path;

use crate::messages::Lang;

/// `config`: the heading of the settings, naming where they were read from.
pub fn settings_heading(lang: Lang, source: Option<&Path>) -> String {
    match (lang, source) {
        (Lang::Zh, Some(f)) => format!("# 生效的设置（读取自 {}）", f.display()),
        (Lang::Zh, None) => "# 生效的设置（来自环境变量，未读取配置文件）".into(),
        (Lang::En, Some(f)) => format!("# settings in effect (read from {})", f.display()),
        (Lang::En, None) => "# settings in effect (from the environment; no env file read)".into(),
    }
}

/// `config`: the label of a warning.
pub fn warning(lang: Lang) -> &'static str {
    match lang {
        Lang::Zh => "警告：",
        Lang::En => "warning: ",
    }
}

/// `config`: the last line.
pub fn verdict(lang: Lang, problems: usize) -> String {
    match (lang, problems) {
        (Lang::Zh, 0) => "配置有效：serve 和 check 都会接受".into(),
        (Lang::Zh, n) => format!("配置无效：上面列出了 {n} 处问题"),
        (Lang::En, 0) => "configuration is valid: `serve` and `check` accept it".into(),
        (Lang::En, n) => format!(
            "configuration is not valid: {n} problem{} listed above",
            if n == 1 { "" } else { "s" }
        ),
    }
}

/// `check`: messages that stay queued.
pub fn undelivered(lang: Lang, n: usize) -> String {
    match lang {
        Lang::Zh => format!("注意：{n} 条消息暂未送达，留在队列中，下次运行时再发送"),
        Lang::En => {
            format!("note: {n} message(s) could not be delivered yet; they stay queued for the next run")
        }
    }
}

/// `check`: the poll failed; `what` is the failure described in `lang`.
pub fn poll_failed(lang: Lang, what: &str) -> String {
    match lang {
        Lang::Zh => format!("错误：{what}"),
        Lang::En => format!("error: {what}"),
    }
}

/// `check`: the evaluation could not be saved.
pub fn not_recorded(lang: Lang) -> &'static str {
    match lang {
        Lang::Zh => "错误：无法保存本次评估（STATE_DIR 不可用，详情见上面的日志）",
        Lang::En => "error: cannot record the evaluation (STATE_DIR unusable; the log above has the details)",
    }
}

/// `notify-test`: nothing to test.
pub fn no_channel(lang: Lang) -> &'static str {
    match lang {
        Lang::Zh => "没有配置任何通知渠道；改法：设置 TELEGRAM_BOT_TOKEN 和 TELEGRAM_CHAT_ID（令牌来自 @BotFather，聊天 ID 来自 @userinfobot 或 getUpdates），或 FEISHU_WEBHOOK_URL、DINGTALK_WEBHOOK_URL、WECOM_WEBHOOK_URL、SERVERCHAN_SENDKEY、PUSHPLUS_TOKEN、BARK_URL、NOTIFY_WEBHOOK_URL、SMTP_HOST 等渠道",
        Lang::En => "no notification channel is configured; fix: set TELEGRAM_BOT_TOKEN and TELEGRAM_CHAT_ID (the token from @BotFather, the chat id from @userinfobot or getUpdates), or a channel such as FEISHU_WEBHOOK_URL, DINGTALK_WEBHOOK_URL, WECOM_WEBHOOK_URL, SERVERCHAN_SENDKEY, PUSHPLUS_TOKEN, BARK_URL, NOTIFY_WEBHOOK_URL or SMTP_HOST in .env",
    }
}

/// `check`: a package's bill and the live estimate built on it ("bill 412.00 GB, read 14:00 UTC ·
/// now ≈ 398.00 GB"), under the table.
pub fn bill_and_now(lang: Lang, id: &str, bill_gb: f64, read_at: &str, now_gb: f64) -> String {
    match lang {
        Lang::Zh => {
            format!("{id}：账单剩余 {bill_gb:.2} GB，读取于 {read_at} · 现在约 {now_gb:.2} GB")
        }
        Lang::En => format!("{id}: bill {bill_gb:.2} GB, read {read_at} · now ≈ {now_gb:.2} GB"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::messages::language::{english_runs, has_cjk};

    /// Every text above, in `lang`, with realistic values.
    fn samples(lang: Lang) -> Vec<String> {
        let file = Path::new("/etc/flexus-traffic-monitor/env");
        vec![
            settings_heading(lang, Some(file)),
            settings_heading(lang, None),
            format!("{}TELEGRAM_BOT_TOKEN", warning(lang)),
            verdict(lang, 0),
            verdict(lang, 1),
            verdict(lang, 3),
            undelivered(lang, 2),
            poll_failed(lang, "华为云在 2 秒内没有应答"),
            not_recorded(lang).to_string(),
            no_channel(lang).to_string(),
            bill_and_now(lang, "fr-0a1b2c", 412.0, "2026-12-05 14:00 UTC", 398.0),
        ]
    }

    #[test]
    fn what_the_commands_say_follows_the_message_language() {
        for text in samples(Lang::Zh) {
            assert!(
                english_runs(&text).is_empty(),
                "{text}: {:?}",
                english_runs(&text)
            );
        }
        for text in samples(Lang::En) {
            let text = text.replace("华为云在 2 秒内没有应答", "");
            assert!(!has_cjk(&text), "{text}");
        }
    }
}
