//! The settings of the notification channels besides Telegram: each optional, each enabled by its
//! URL, key or token. Values holding keys are secrets: errors name the variable, never the value.

use serde::Serialize;
use url::Url;

use super::validate::{present, Checker};
use super::RawConfig;
use crate::secret::Secret;

/// The validated channel settings.
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
    /// Replaces the ServerChan host (self-hosted relays, tests).
    pub serverchan_api_url: Option<Url>,
    pub pushplus_token: Option<Secret>,
    pub pushplus_api_url: Url,
    /// The device URL the Bark app shows (`https://api.day.app/KEY`).
    pub bark_url: Option<Secret>,
}

impl ChannelSettings {
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
        ]
        .into_iter()
        .filter_map(|(n, on)| on.then_some(n))
        .collect()
    }
}

pub const PUSHPLUS_API_URL: &str = "https://www.pushplus.plus";

/// A secret URL: must be http(s); errors never show it.
fn secret_url(c: &mut Checker, var: &str, v: &Option<String>, example: &str) -> Option<Secret> {
    let s = present(v)?;
    match Url::parse(s) {
        Ok(u) if matches!(u.scheme(), "http" | "https") && u.host().is_some() => {
            Some(Secret::new(s.to_string()))
        }
        _ => {
            c.error(
                var,
                "[redacted]",
                "is not an http(s) URL",
                format!("paste the whole URL the service shows, e.g. {example}"),
            );
            None
        }
    }
}

fn public_url(
    c: &mut Checker,
    var: &str,
    v: &Option<String>,
    default: Option<&str>,
) -> Option<Url> {
    match present(v) {
        None => default.map(|d| Url::parse(d).expect("valid default")),
        Some(s) => match Url::parse(s) {
            Ok(u) if matches!(u.scheme(), "http" | "https") => Some(u),
            _ => {
                c.error(
                    var,
                    s,
                    "is not an http(s) base URL",
                    "unset it to use the service's own address",
                );
                default.map(|d| Url::parse(d).expect("valid default"))
            }
        },
    }
}

fn secret(v: &Option<String>) -> Option<Secret> {
    present(v).map(|s| Secret::new(s.to_string()))
}

/// Checks the channel variables.
pub(super) fn settings(c: &mut Checker, raw: &RawConfig) -> ChannelSettings {
    let s = ChannelSettings {
        webhook_url: secret_url(
            c,
            "NOTIFY_WEBHOOK_URL",
            &raw.notify_webhook_url,
            "https://example.com/hooks/flexus",
        ),
        webhook_secret: secret(&raw.notify_webhook_secret),
        feishu_webhook_url: secret_url(
            c,
            "FEISHU_WEBHOOK_URL",
            &raw.feishu_webhook_url,
            "https://open.feishu.cn/open-apis/bot/v2/hook/...",
        ),
        feishu_secret: secret(&raw.feishu_secret),
        dingtalk_webhook_url: secret_url(
            c,
            "DINGTALK_WEBHOOK_URL",
            &raw.dingtalk_webhook_url,
            "https://oapi.dingtalk.com/robot/send?access_token=...",
        ),
        dingtalk_secret: secret(&raw.dingtalk_secret),
        wecom_webhook_url: secret_url(
            c,
            "WECOM_WEBHOOK_URL",
            &raw.wecom_webhook_url,
            "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=...",
        ),
        serverchan_sendkey: secret(&raw.serverchan_sendkey),
        serverchan_api_url: public_url(c, "SERVERCHAN_API_URL", &raw.serverchan_api_url, None),
        pushplus_token: secret(&raw.pushplus_token),
        pushplus_api_url: public_url(
            c,
            "PUSHPLUS_API_URL",
            &raw.pushplus_api_url,
            Some(PUSHPLUS_API_URL),
        )
        .unwrap_or_else(|| Url::parse(PUSHPLUS_API_URL).expect("valid")),
        bark_url: secret_url(
            c,
            "BARK_URL",
            &raw.bark_url,
            "https://api.day.app/YOUR_DEVICE_KEY",
        ),
    };
    if let Some(k) = &s.serverchan_sendkey {
        if let Err(why) =
            crate::channels::serverchan::send_url(k.expose(), s.serverchan_api_url.as_ref())
        {
            c.error(
                "SERVERCHAN_SENDKEY",
                "[redacted]",
                why,
                "copy the SendKey from sct.ftqq.com (SendKey page)",
            );
        }
    }
    for (var, secret, url_var, url) in [
        (
            "NOTIFY_WEBHOOK_SECRET",
            &s.webhook_secret,
            "NOTIFY_WEBHOOK_URL",
            &s.webhook_url,
        ),
        (
            "FEISHU_SECRET",
            &s.feishu_secret,
            "FEISHU_WEBHOOK_URL",
            &s.feishu_webhook_url,
        ),
        (
            "DINGTALK_SECRET",
            &s.dingtalk_secret,
            "DINGTALK_WEBHOOK_URL",
            &s.dingtalk_webhook_url,
        ),
    ] {
        if secret.is_some() && url.is_none() && present(&raw_url(raw, url_var)).is_none() {
            c.error(
                var,
                "[redacted]",
                format!("is set but {url_var} is not"),
                format!("set {url_var} too, or unset {var}"),
            );
        }
    }
    s
}

fn raw_url(raw: &RawConfig, var: &str) -> Option<String> {
    match var {
        "NOTIFY_WEBHOOK_URL" => raw.notify_webhook_url.clone(),
        "FEISHU_WEBHOOK_URL" => raw.feishu_webhook_url.clone(),
        "DINGTALK_WEBHOOK_URL" => raw.dingtalk_webhook_url.clone(),
        _ => None,
    }
}
