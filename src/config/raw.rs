//! The environment as given: every variable the program reads, as optional strings.

use serde::Deserialize;

use super::{ConfigError, ConfigErrors};

/// Every variable the program reads, as given.
#[derive(Debug, Default, Deserialize)]
pub struct RawConfig {
    // The original program's variables (same names, same meaning).
    pub huaweicloud_sdk_ak: Option<String>,
    pub huaweicloud_sdk_sk: Option<String>,
    pub free_resource_ids: Option<String>,
    pub telegram_bot_token: Option<String>,
    pub telegram_chat_id: Option<String>,
    pub server_name: Option<String>,
    pub threshold_level_1: Option<String>,
    pub threshold_level_2: Option<String>,
    pub threshold_level_3: Option<String>,
    pub debug_mode: Option<String>,
    // New ones.
    pub huaweicloud_site: Option<String>,
    pub huaweicloud_bss_endpoint: Option<String>,
    pub huaweicloud_sdk_domain_id: Option<String>,
    pub poll_interval: Option<String>,
    pub http_timeout: Option<String>,
    pub reading_max_age: Option<String>,
    pub listen_addr: Option<String>,
    pub state_dir: Option<String>,
    /// Set by systemd's `StateDirectory=`.
    pub state_directory: Option<String>,
    pub webhook_token: Option<String>,
    pub telegram_api_url: Option<String>,
    pub telegram_thread_id: Option<String>,
    pub message_lang: Option<String>,
    pub level3_repeat: Option<String>,
    pub level2_repeat: Option<String>,
    pub daily_report: Option<String>,
    pub shutdown_mode: Option<String>,
    pub shutdown_command: Option<String>,
    pub shutdown_delay: Option<String>,
    pub shutdown_command_timeout: Option<String>,
    pub shutdown_repeat_after_boot: Option<String>,
    pub dry_run: Option<String>,
    pub fallback: Option<String>,
    pub watchdog_timeout: Option<String>,
    pub poll_failures_before_alert: Option<String>,
    pub huaweicloud_region: Option<String>,
    pub huaweicloud_project_id: Option<String>,
    pub ecs_server_id: Option<String>,
    pub flexus_instances: Option<String>,
    pub huaweicloud_ecs_endpoint: Option<String>,
    pub huaweicloud_rms_endpoint: Option<String>,
    pub ecs_stop_type: Option<String>,
    pub ecs_hard_stop_after: Option<String>,
    pub ecs_job_timeout: Option<String>,
    pub auto_start: Option<String>,
    // Notification channels besides Telegram.
    pub notify_webhook_url: Option<String>,
    pub notify_webhook_secret: Option<String>,
    pub feishu_webhook_url: Option<String>,
    pub feishu_secret: Option<String>,
    pub dingtalk_webhook_url: Option<String>,
    pub dingtalk_secret: Option<String>,
    pub wecom_webhook_url: Option<String>,
    pub serverchan_sendkey: Option<String>,
    pub serverchan_api_url: Option<String>,
    pub pushplus_token: Option<String>,
    pub pushplus_api_url: Option<String>,
    pub bark_url: Option<String>,
}

impl RawConfig {
    /// Reads the variables from `(name, value)` pairs (the process environment in production).
    ///
    /// # Errors
    /// Only when a value is not valid UTF-8 text; values are checked by [`Config::from_raw`].
    pub fn from_pairs(
        pairs: impl IntoIterator<Item = (String, String)>,
    ) -> Result<Self, ConfigErrors> {
        envy::from_iter(pairs).map_err(|e| {
            ConfigErrors(vec![ConfigError::new(
                "environment",
                "",
                e.to_string(),
                "check the variables' values",
            )])
        })
    }
}
