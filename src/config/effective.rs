//! The effective configuration as `VARIABLE=value` lines, secrets redacted (the `config` command).

use std::time::Duration;

use super::{Config, ShutdownMode};
use crate::secret::Secret;

impl Config {
    /// The effective settings as `(variable, value)` lines, secrets redacted.
    pub fn effective(&self) -> Vec<(&'static str, String)> {
        let opt = |v: &Option<String>| v.clone().unwrap_or_else(|| "(not set)".into());
        let sec = |v: &Option<Secret>| {
            if v.is_some() {
                "[redacted]".to_string()
            } else {
                "(not set)".to_string()
            }
        };
        let d = |d: Duration| humantime::format_duration(d).to_string();
        vec![
            ("HUAWEICLOUD_SDK_AK", sec(&self.access_key)),
            ("HUAWEICLOUD_SDK_SK", sec(&self.secret_key)),
            ("HUAWEICLOUD_SDK_DOMAIN_ID", opt(&self.domain_id)),
            ("HUAWEICLOUD_SITE", self.site.as_str().into()),
            ("HUAWEICLOUD_BSS_ENDPOINT", self.bss_endpoint.to_string()),
            (
                "FREE_RESOURCE_IDS",
                if self.free_resource_ids.is_empty() {
                    "(not set)".into()
                } else {
                    self.free_resource_ids.join(",")
                },
            ),
            ("SERVER_NAME", self.server_name.clone()),
            ("THRESHOLD_LEVEL_1", format!("{} GB", self.thresholds.t1)),
            ("THRESHOLD_LEVEL_2", format!("{} GB", self.thresholds.t2)),
            ("THRESHOLD_LEVEL_3", format!("{} GB", self.thresholds.t3)),
            ("TELEGRAM_BOT_TOKEN", sec(&self.telegram_bot_token)),
            ("TELEGRAM_CHAT_ID", opt(&self.telegram_chat_id)),
            ("DEBUG_MODE", self.debug_mode.to_string()),
            ("POLL_INTERVAL", d(self.poll_interval)),
            ("HTTP_TIMEOUT", d(self.http_timeout)),
            ("READING_MAX_AGE", d(self.reading_max_age)),
            ("LISTEN_ADDR", self.listen_addr.to_string()),
            ("STATE_DIR", self.state_dir.display().to_string()),
            ("WEBHOOK_TOKEN", sec(&self.webhook_token)),
            ("TELEGRAM_API_URL", self.telegram_api_url.to_string()),
            (
                "TELEGRAM_THREAD_ID",
                self.telegram_thread_id
                    .map(|t| t.to_string())
                    .unwrap_or_else(|| "(not set)".into()),
            ),
            ("NOTIFY_WEBHOOK_URL", sec(&self.channels.webhook_url)),
            ("NOTIFY_WEBHOOK_SECRET", sec(&self.channels.webhook_secret)),
            ("FEISHU_WEBHOOK_URL", sec(&self.channels.feishu_webhook_url)),
            ("FEISHU_SECRET", sec(&self.channels.feishu_secret)),
            (
                "DINGTALK_WEBHOOK_URL",
                sec(&self.channels.dingtalk_webhook_url),
            ),
            ("DINGTALK_SECRET", sec(&self.channels.dingtalk_secret)),
            ("WECOM_WEBHOOK_URL", sec(&self.channels.wecom_webhook_url)),
            ("SERVERCHAN_SENDKEY", sec(&self.channels.serverchan_sendkey)),
            (
                "SERVERCHAN_API_URL",
                self.channels
                    .serverchan_api_url
                    .as_ref()
                    .map_or_else(|| "(not set)".into(), ToString::to_string),
            ),
            ("PUSHPLUS_TOKEN", sec(&self.channels.pushplus_token)),
            (
                "PUSHPLUS_API_URL",
                self.channels.pushplus_api_url.to_string(),
            ),
            ("BARK_URL", sec(&self.channels.bark_url)),
            (
                "MESSAGE_LANG",
                format!("{:?}", self.message_lang).to_lowercase(),
            ),
            ("LEVEL3_REPEAT", d(self.cadence.level3_repeat)),
            ("LEVEL2_REPEAT", d(self.cadence.level2_repeat)),
            ("DAILY_REPORT", self.cadence.daily_report.to_string()),
            (
                "SHUTDOWN_MODE",
                match self.shutdown_mode {
                    ShutdownMode::Command => "command".into(),
                    ShutdownMode::HuaweiApi => "huawei-api".into(),
                    ShutdownMode::Off => "off".into(),
                },
            ),
            (
                "SHUTDOWN_COMMAND",
                shell_words::join(&self.shutdown_command),
            ),
            ("SHUTDOWN_DELAY", d(self.shutdown_delay)),
            ("SHUTDOWN_COMMAND_TIMEOUT", d(self.shutdown_command_timeout)),
            (
                "SHUTDOWN_REPEAT_AFTER_BOOT",
                self.shutdown_repeat_after_boot.to_string(),
            ),
            ("DRY_RUN", self.dry_run.to_string()),
            ("FALLBACK", format!("{:?}", self.fallback).to_lowercase()),
            ("WATCHDOG_TIMEOUT", d(self.watchdog_timeout)),
            (
                "POLL_FAILURES_BEFORE_ALERT",
                self.poll_failures_before_alert.to_string(),
            ),
            ("HUAWEICLOUD_REGION", opt(&self.region)),
            ("HUAWEICLOUD_PROJECT_ID", opt(&self.project_id)),
            ("ECS_SERVER_ID", {
                let mut ids: Vec<&str> = self
                    .targets
                    .values()
                    .map(|t| t.server_id.as_str())
                    .collect();
                ids.sort_unstable();
                ids.dedup();
                if ids.is_empty() {
                    "(not set)".into()
                } else {
                    ids.join(",")
                }
            }),
            (
                "FLEXUS_INSTANCES",
                if self.targets.is_empty() {
                    "(not set)".into()
                } else {
                    self.targets
                        .iter()
                        .map(|(p, t)| {
                            format!(
                                "{p}:{}:{}:{}:{}",
                                t.server_id, t.name, t.region, t.project_id
                            )
                        })
                        .collect::<Vec<_>>()
                        .join(",")
                },
            ),
            ("HUAWEICLOUD_ECS_ENDPOINT", self.ecs_endpoint.clone()),
            ("HUAWEICLOUD_RMS_ENDPOINT", self.rms_endpoint.to_string()),
            (
                "ECS_STOP_TYPE",
                if self.ecs_hard_stop {
                    "HARD".into()
                } else {
                    "SOFT".into()
                },
            ),
            (
                "ECS_HARD_STOP_AFTER",
                self.ecs_hard_stop_after
                    .map(d)
                    .unwrap_or_else(|| "(not set)".into()),
            ),
            ("ECS_JOB_TIMEOUT", d(self.ecs_job_timeout)),
            ("AUTO_START", self.auto_start.to_string()),
        ]
    }
}
