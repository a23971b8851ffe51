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

/// An error a command prints: in English the raw error (with `en`, what failed, before it when
/// given); in Chinese what failed (`zh`), then the raw detail quoted as outside text.
pub fn failed(lang: Lang, en: Option<&str>, zh: &str, raw: &dyn std::fmt::Display) -> String {
    match (lang, en) {
        (Lang::Zh, _) => format!("错误：{zh}：「{raw}」"),
        (Lang::En, Some(what)) => format!("error: {what}: {raw}"),
        (Lang::En, None) => format!("error: {raw}"),
    }
}

/// The heading of one account's packages in `discover` with several accounts.
pub fn account_heading(lang: Lang, name: &str) -> String {
    match lang {
        Lang::Zh => format!("账号 {name}"),
        Lang::En => format!("account {name}"),
    }
}

/// `discover`: no package at all.
pub fn no_packages(lang: Lang, site: &str) -> String {
    match lang {
        Lang::Zh => format!("这个账号下没有找到免费资源包（站点 {site}）。"),
        Lang::En => format!("No free resource packages found on this account (site {site})."),
    }
}

/// `discover`: a package's status.
pub fn package_status(lang: Lang, in_effect: bool, status: &str) -> String {
    match (lang, in_effect) {
        (Lang::Zh, true) => "生效中".into(),
        (Lang::Zh, false) => format!("状态 {status}"),
        (Lang::En, true) => "in effect".into(),
        (Lang::En, false) => format!("status {status}"),
    }
}

/// `discover`: what to do with the `FREE_RESOURCE_IDS=` line below.
pub fn put_ids_line(lang: Lang) -> &'static str {
    match lang {
        Lang::Zh => "把这一行写进 .env（只列出生效中的资源包；保留你要监控的流量包）：",
        Lang::En => "Put this line in your .env (packages in effect only; keep the traffic packages you want watched):",
    }
}

/// `discover`: instances are listed only with the account id.
pub fn set_domain_id(lang: Lang) -> &'static str {
    match lang {
        Lang::Zh => "设置 HUAWEICLOUD_SDK_DOMAIN_ID（账号 ID）后，还会列出 Flexus L 实例及其 ECS 服务器 ID。",
        Lang::En => "Set HUAWEICLOUD_SDK_DOMAIN_ID (your account id) to also list the Flexus L instances and their ECS server ids.",
    }
}

/// `discover`: RMS knows no instance.
pub fn no_instances(lang: Lang) -> &'static str {
    match lang {
        Lang::Zh => "通过 RMS 没有找到 Flexus L 实例。",
        Lang::En => "No Flexus L instances found through RMS.",
    }
}

/// `discover`: what to do with the lines below.
pub fn put_instance_lines(lang: Lang) -> &'static str {
    match lang {
        Lang::Zh => "如果用 SHUTDOWN_MODE=huawei-api（通过 API 停止和启动），把下面几行写进 .env：",
        Lang::En => "For SHUTDOWN_MODE=huawei-api (stop and start through the API), put these lines in your .env:",
    }
}

/// `lift`: a command run (or that a dry run would run).
pub fn lift_ran(lang: Lang, dry_run: bool, command: &str) -> String {
    match (lang, dry_run) {
        (Lang::Zh, true) => format!("演练，将运行：`{command}`"),
        (Lang::Zh, false) => format!("已运行：`{command}`"),
        (Lang::En, true) => format!("would run: {command}"),
        (Lang::En, false) => format!("ran: {command}"),
    }
}

/// `lift`: an action recorded as lifted.
pub fn lifted(lang: Lang, id: &str) -> String {
    match lang {
        Lang::Zh => format!("已解除：{id}"),
        Lang::En => format!("lifted: {id}"),
    }
}

/// `lift`: the end of a lift without errors.
pub fn lift_done(lang: Lang) -> &'static str {
    match lang {
        Lang::Zh => "完成：flexus-traffic-monitor 的限速、隔离和命令动作都已不再生效",
        Lang::En => {
            "done: no throttle, fence or command action of flexus-traffic-monitor is in force"
        }
    }
}

/// `lift`: the running service took the request.
pub fn lift_taken(lang: Lang) -> &'static str {
    match lang {
        Lang::Zh => "正在运行的服务已记录这次解除并会通知主人；这些动作在其级别恢复一次之前不会再启用",
        Lang::En => "the running service recorded the lift and tells the owner; the actions stay off until their level has recovered once",
    }
}

/// `lift`: the request could not be left for the running service.
pub fn lift_not_left(lang: Lang, state_dir: &Path, raw: &dyn std::fmt::Display) -> String {
    match lang {
        Lang::Zh => format!("注意：STATE_DIR={}：无法给正在运行的服务留下解除请求（「{raw}」）；在该级别持续期间，服务重启后会重新启用这些动作：请先停止服务（`systemctl stop flexus-traffic-monitor`），或修改 LEVELn_ACTIONS 让它们保持关闭", state_dir.display()),
        Lang::En => format!("note: STATE_DIR={}: cannot leave the lift request for the running service ({raw}); it puts the actions back only after a restart while the level lasts: stop it first (systemctl stop flexus-traffic-monitor) or change LEVELn_ACTIONS to keep them off", state_dir.display()),
    }
}

/// `lift`: the running service did not take the request in time.
pub fn lift_not_taken(lang: Lang, state_dir: &Path, secs: u64) -> String {
    match lang {
        Lang::Zh => format!("注意：STATE_DIR={} 被正在运行的服务占用，它在 {secs} 秒内没有接收解除请求；它接收时会记录这次解除（请求留在 STATE_DIR 中）", state_dir.display()),
        Lang::En => format!("note: STATE_DIR={} is held by a running service that did not take the lift request within {secs}s; it records the lift when it does (the request stays in STATE_DIR)", state_dir.display()),
    }
}

/// `lift`: the message about the lift stays queued.
pub fn lift_message_queued(lang: Lang) -> &'static str {
    match lang {
        Lang::Zh => "注意：关于这次解除的消息留在发件箱中，服务运行时会发送",
        Lang::En => "note: the message about this lift waits in the outbox; the service sends it when it runs",
    }
}

/// `notify-test`: what a channel answered (the body is the service's own text).
pub fn answered(lang: Lang, name: &str, protocol: &str, status: &str, body: &str) -> String {
    match lang {
        Lang::Zh => format!("[{name}] 应答 {protocol} {status}：\n「{body}」"),
        Lang::En => format!("[{name}] answered {protocol} {status}:\n{body}"),
    }
}

/// `notify-test`: the verdict of one channel; `failure` is the raw reason it was not delivered.
pub fn delivered(lang: Lang, name: &str, failure: Option<&dyn std::fmt::Display>) -> String {
    match (lang, failure) {
        (Lang::Zh, None) => format!("[{name}] 成功：消息已送达"),
        (Lang::Zh, Some(e)) => format!("[{name}] 未送达：「{e}」"),
        (Lang::En, None) => format!("[{name}] ok: the message was delivered"),
        (Lang::En, Some(e)) => format!("[{name}] not delivered: {e}"),
    }
}

/// `notify-test`: a channel could not be reached at all.
pub fn send_failed(lang: Lang, name: &str, raw: &dyn std::fmt::Display) -> String {
    match lang {
        Lang::Zh => format!("[{name}] 错误：「{raw}」"),
        Lang::En => format!("[{name}] error: {raw}"),
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
            failed(lang, Some("cannot list"), "无法列出", &"dns error"),
            no_packages(lang, "cn"),
            account_heading(lang, "intl"),
            package_status(lang, true, ""),
            package_status(lang, false, "2"),
            put_ids_line(lang).to_string(),
            set_domain_id(lang).to_string(),
            no_instances(lang).to_string(),
            put_instance_lines(lang).to_string(),
            lift_ran(lang, true, "tc qdisc del dev eth0 root"),
            lift_ran(lang, false, "tc qdisc del dev eth0 root"),
            lifted(lang, "fence"),
            lift_done(lang).to_string(),
            lift_taken(lang).to_string(),
            lift_not_left(lang, file, &"permission denied"),
            lift_not_taken(lang, file, 15),
            lift_message_queued(lang).to_string(),
            answered(lang, "telegram", "HTTP", "200", "ok true"),
            delivered(lang, "telegram", None),
            delivered(lang, "telegram", Some(&"chat not found")),
            send_failed(lang, "telegram", &"timed out"),
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
            let text = text
                .replace("华为云在 2 秒内没有应答", "")
                .replace("无法列出", "");
            assert!(!has_cjk(&text), "{text}");
        }
    }
}
