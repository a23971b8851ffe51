//! The settings of the notification channels besides Telegram: each optional, each enabled by its
//! URL, key or token. Values holding keys are secrets: errors name the variable, never the value.

use serde::Serialize;
use url::Url;

use super::validate::{Checker, Said};
use super::ConfigError;
use crate::secret::Secret;

/// The validated channel settings (part of the notify section).
#[derive(Debug, Clone, Serialize)]
pub struct ChannelSettings {
    /// Generic JSON webhook (`NOTIFY_WEBHOOK_URL`) and its HMAC signing secret.
    pub webhook_url: Option<Secret>,
    pub webhook_secret: Option<Secret>,
    pub feishu_webhook_url: Option<Secret>,
    pub feishu_secret: Option<Secret>,
    pub dingtalk_webhook_url: Option<Secret>,
    pub dingtalk_secret: Option<Secret>,
    pub wecom_webhook_url: Option<Secret>,
    pub serverchan_sendkey: Option<Secret>,
    /// Replaces the ServerChan host (relays, tests).
    pub serverchan_api_url: Option<Url>,
    pub pushplus_token: Option<Secret>,
    pub pushplus_api_url: Url,
    /// The device URL the Bark app shows (`https://api.day.app/KEY`).
    pub bark_url: Option<Secret>,
    /// Email over SMTP (`SMTP_HOST` and the rest).
    pub email: Option<super::EmailSettings>,
}

impl ChannelSettings {
    /// No channel configured.
    pub fn none(pushplus_api_url: Url) -> Self {
        Self {
            webhook_url: None,
            webhook_secret: None,
            feishu_webhook_url: None,
            feishu_secret: None,
            dingtalk_webhook_url: None,
            dingtalk_secret: None,
            wecom_webhook_url: None,
            serverchan_sendkey: None,
            serverchan_api_url: None,
            pushplus_token: None,
            pushplus_api_url,
            bark_url: None,
            email: None,
        }
    }

    /// Names of the channels configured (Telegram not included).
    pub fn configured(&self) -> Vec<&'static str> {
        [
            ("webhook", self.webhook_url.is_some()),
            ("feishu", self.feishu_webhook_url.is_some()),
            ("dingtalk", self.dingtalk_webhook_url.is_some()),
            ("wecom", self.wecom_webhook_url.is_some()),
            ("serverchan", self.serverchan_sendkey.is_some()),
            ("pushplus", self.pushplus_token.is_some()),
            ("bark", self.bark_url.is_some()),
            ("email", self.email.is_some()),
        ]
        .into_iter()
        .filter_map(|(n, on)| on.then_some(n))
        .collect()
    }

    pub(super) fn check(c: &mut Checker) -> Self {
        let s = Self {
            webhook_url: secret_url(c, "NOTIFY_WEBHOOK_URL", "https://example.com/hooks/flexus"),
            webhook_secret: c.secret("NOTIFY_WEBHOOK_SECRET"),
            feishu_webhook_url: secret_url(
                c,
                "FEISHU_WEBHOOK_URL",
                "https://open.feishu.cn/open-apis/bot/v2/hook/...",
            ),
            feishu_secret: c.secret("FEISHU_SECRET"),
            dingtalk_webhook_url: secret_url(
                c,
                "DINGTALK_WEBHOOK_URL",
                "https://oapi.dingtalk.com/robot/send?access_token=...",
            ),
            dingtalk_secret: c.secret("DINGTALK_SECRET"),
            wecom_webhook_url: secret_url(
                c,
                "WECOM_WEBHOOK_URL",
                "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=...",
            ),
            serverchan_sendkey: c.secret("SERVERCHAN_SENDKEY"),
            serverchan_api_url: c.parse_optional(
                "SERVERCHAN_API_URL",
                ("is not an http(s) base URL", "不是 http(s) 基础地址"),
                public_url,
            ),
            pushplus_token: c.secret("PUSHPLUS_TOKEN"),
            pushplus_api_url: c.http_url(
                "PUSHPLUS_API_URL",
                ("is not an http(s) base URL", "不是 http(s) 基础地址"),
                (
                    "unset it to use https://www.pushplus.plus",
                    "删除它以使用 https://www.pushplus.plus",
                ),
            ),
            bark_url: secret_url(c, "BARK_URL", "https://api.day.app/YOUR_DEVICE_KEY"),
            email: super::email::check(c),
        };
        if let Some(k) = &s.serverchan_sendkey {
            if let Err(why) =
                crate::channels::serverchan::send_url(k.expose(), s.serverchan_api_url.as_ref())
            {
                let why_zh = match why.as_str() {
                    "has characters a SendKey cannot have" => "含有 SendKey 中不可能出现的字符",
                    "starts with sctp but has no uid" => "以 sctp 开头却没有 uid",
                    _ => "不是有效的 SendKey",
                };
                c.error(
                    "SERVERCHAN_SENDKEY",
                    "[redacted]",
                    (why, why_zh),
                    (
                        "copy the SendKey from the ServerChan SendKey page",
                        "从 Server酱 的 SendKey 页面复制 SendKey",
                    ),
                );
            }
        }
        for (var, secret, url_var) in [
            (
                "NOTIFY_WEBHOOK_SECRET",
                &s.webhook_secret,
                "NOTIFY_WEBHOOK_URL",
            ),
            ("FEISHU_SECRET", &s.feishu_secret, "FEISHU_WEBHOOK_URL"),
            (
                "DINGTALK_SECRET",
                &s.dingtalk_secret,
                "DINGTALK_WEBHOOK_URL",
            ),
        ] {
            if secret.is_some() && c.given(url_var).is_none() {
                c.error(
                    var,
                    "[redacted]",
                    (
                        format!("is set but {url_var} is not"),
                        format!("已设置，但 {url_var} 没有设置"),
                    ),
                    (
                        format!("set {url_var} too, or unset {var}"),
                        format!("同时设置 {url_var}，或删除 {var}"),
                    ),
                );
            }
        }
        s
    }
}

fn public_url(s: &str) -> Result<Url, Said> {
    Url::parse(s)
        .ok()
        .filter(|u| matches!(u.scheme(), "http" | "https") && u.host_str().is_some())
        .ok_or_else(|| {
            Said::from((
                "unset it to use the service's own address",
                "删除它以使用服务自己的地址",
            ))
        })
}

/// What a channel URL lacks that the service needs (a key, a token, a hook id), as the problem
/// and the fix; `None` when it has what the service needs. The facts are the services' documented
/// addresses: DingTalk `…/robot/send?access_token=T`, WeCom `…/cgi-bin/webhook/send?key=K`, Bark
/// `https://api.day.app/DEVICE_KEY`, Feishu/Lark `…/open-apis/bot/v2/hook/HOOK_ID`. Without them
/// every send fails (and is retried forever); refusing here names the variable at once.
pub(super) fn missing_part(var: &str, url: &url::Url) -> Option<[&'static str; 4]> {
    let query = |key: &str| {
        url.query_pairs()
            .any(|(k, v)| k == key && !v.trim().is_empty())
    };
    let segments: Vec<&str> = url
        .path_segments()
        .into_iter()
        .flatten()
        .filter(|s| !s.is_empty())
        .collect();
    match var {
        "DINGTALK_WEBHOOK_URL" if !query("access_token") => Some([
            "has no access_token (the robot's token in the query)",
            "copy the robot's whole Webhook address from the DingTalk group settings: https://oapi.dingtalk.com/robot/send?access_token=...",
            "缺少 access_token（机器人的令牌，在地址的查询参数中）",
            "从钉钉群设置中复制机器人完整的 Webhook 地址：https://oapi.dingtalk.com/robot/send?access_token=...",
        ]),
        "WECOM_WEBHOOK_URL" if !query("key") => Some([
            "has no key (the robot's key in the query)",
            "copy the robot's whole Webhook address from the WeCom group: https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=...",
            "缺少 key（机器人的密钥，在地址的查询参数中）",
            "从企业微信群中复制机器人完整的 Webhook 地址：https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=...",
        ]),
        "BARK_URL" if segments.is_empty() => Some([
            "has no device key (the path after the server)",
            "copy the address the Bark app shows, with the device key: https://api.day.app/YOUR_DEVICE_KEY",
            "缺少设备 key（服务器地址后面的路径）",
            "复制 Bark 应用中显示的带设备 key 的地址：https://api.day.app/设备key",
        ]),
        "FEISHU_WEBHOOK_URL"
            if segments
                .iter()
                .position(|s| *s == "hook")
                .is_none_or(|i| i + 1 >= segments.len()) =>
        {
            Some([
                "has no hook id (the part after /hook/)",
                "copy the bot's whole webhook address from the Feishu group: https://open.feishu.cn/open-apis/bot/v2/hook/...",
                "缺少 hook ID（/hook/ 后面的部分）",
                "从飞书群中复制机器人完整的 webhook 地址：https://open.feishu.cn/open-apis/bot/v2/hook/...",
            ])
        }
        _ => None,
    }
}

/// A secret URL: must be http(s) with a host and what its service needs; errors never show it.
fn secret_url(c: &mut Checker, var: &str, example: &str) -> Option<Secret> {
    let s = c.given(var)?;
    if let Ok(url) = public_url(s) {
        if let Some([problem, fix, problem_zh, fix_zh]) = missing_part(var, &url) {
            c.error_zh(ConfigError::new(var, "[redacted]", problem, fix).zh(problem_zh, fix_zh));
            return None;
        }
        Some(Secret::new(s))
    } else {
        c.error(
            var,
            "[redacted]",
            ("is not an http(s) URL", "不是 http(s) 地址"),
            (
                format!("paste the whole URL the service shows, e.g. {example}"),
                format!("粘贴服务显示的完整地址，例如 {example}"),
            ),
        );
        None
    }
}

#[cfg(test)]
mod tests {
    use crate::config::{Config, RawConfig};

    #[test]
    fn channel_urls_are_checked_without_showing_them() {
        let mut raw = RawConfig::default();
        raw.set(
            "DINGTALK_WEBHOOK_URL",
            "oapi.dingtalk.com/robot/send?access_token=SECRETTOKEN1",
        );
        raw.set("FEISHU_SECRET", "feishu-signing-secret");
        let err = Config::from_raw(&raw).unwrap_err().to_string();
        assert!(
            err.contains("DINGTALK_WEBHOOK_URL") && err.contains("FEISHU_SECRET"),
            "{err}"
        );
        assert!(
            !err.contains("SECRETTOKEN1") && !err.contains("feishu-signing-secret"),
            "{err}"
        );
        let mut raw = RawConfig::default();
        raw.set(
            "WECOM_WEBHOOK_URL",
            "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=k",
        );
        raw.set("SERVERCHAN_SENDKEY", "SCT1abc");
        let c = Config::from_raw(&raw).unwrap();
        assert_eq!(c.notify.channels.configured(), ["wecom", "serverchan"]);
        assert!(!format!("{c:?}").contains("SCT1abc"));
    }
}
