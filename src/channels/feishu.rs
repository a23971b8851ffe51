//! Feishu (Lark) custom bot: `POST` JSON to the hook URL.
//!
//! Messages are interactive cards (JSON 2.0) with one markdown element, the only place Feishu
//! renders Markdown; specials are written as HTML numeric entities, Feishu's documented escape.
//! With a signing secret, `timestamp` (Unix seconds) and `sign` go in the body: `sign` is Base64 of
//! HMAC-SHA256 keyed with `timestamp + "\n" + secret` over an empty message.
//! Success is body `code == 0` (HTTP 200 also carries errors): 11232 is throttling, 19021/19022/19024
//! are the signature, IP allow-list and keyword checks (the user must fix them), 9499 a malformed
//! or over-long (> 20 KB) body. Limits: 100 requests a minute and 5 a second per bot.

use std::time::Duration;

use base64::Engine;
use chrono::Utc;
use hmac::{Hmac, Mac};
use serde_json::json;
use sha2::Sha256;
use url::Url;

use super::http::{describe, http_level, int_field, Answer, Http};
use super::render::Limit;
use super::{Failure, Part};
use crate::secret::Secret;

/// The markdown content of one card: 20 KB per request, with room for the card around it.
pub const LIMIT: Limit = Limit::bytes(16 * 1024);
/// 100 a minute (the strict one) means one every 0.6 s.
pub const PACE: Duration = Duration::from_millis(650);

#[derive(Debug)]
pub struct Feishu {
    http: Http,
    url: Url,
    secret: Option<Secret>,
}

/// The signature of `timestamp` (seconds) with `secret`.
pub fn sign(timestamp: i64, secret: &str) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(format!("{timestamp}\n{secret}").as_bytes())
        .expect("any key length");
    mac.update(b"");
    base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
}

impl Feishu {
    /// # Errors
    /// When the HTTP client cannot be built.
    pub fn new(url: Url, secret: Option<Secret>, timeout: Duration) -> Result<Self, String> {
        Ok(Self {
            http: Http::for_url(timeout, &url, secret.as_ref())?,
            url,
            secret,
        })
    }

    /// The request body for `part` at `timestamp`.
    pub fn body(&self, part: &Part<'_>, timestamp: i64) -> serde_json::Value {
        let mut body = if part.markup {
            json!({
                "msg_type": "interactive",
                "card": {
                    "schema": "2.0",
                    "header": {"title": {"tag": "plain_text", "content": part.title}},
                    "body": {"elements": [{"tag": "markdown", "content": part.text}]},
                },
            })
        } else {
            json!({"msg_type": "text", "content": {"text": part.text}})
        };
        if let Some(s) = &self.secret {
            body["timestamp"] = json!(timestamp.to_string());
            body["sign"] = json!(sign(timestamp, s.expose()));
        }
        body
    }

    pub(super) async fn send(&self, part: &Part<'_>) -> Result<Answer, Failure> {
        let body = self.body(part, Utc::now().timestamp());
        self.http.post_json(self.url.clone(), &body, &[]).await
    }
}

/// Classifies Feishu's answer.
///
/// # Errors
/// See [`Failure`].
pub fn classify(a: &Answer) -> Result<(), Failure> {
    if let Some(f) = http_level(a, "Feishu") {
        return Err(f);
    }
    let v: serde_json::Value = serde_json::from_str(&a.body).unwrap_or_default();
    let d = format!("Feishu answered {}", describe(a));
    match int_field(&v, "code").or_else(|| int_field(&v, "StatusCode")) {
        Some(0) => Ok(()),
        Some(11232) => Err(Failure::Wait(Duration::from_secs(60), d)),
        Some(19021) => Err(Failure::Fix(format!("{d}; check FEISHU_SECRET and this machine's clock"))),
        Some(19022 | 19024) => Err(Failure::Fix(format!(
            "{d}; the bot's security settings (IP allow-list or keywords) refuse this program's messages"
        ))),
        Some(9499) => Err(Failure::Refused(d)),
        _ => Err(Failure::Transient(d)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn a(body: &str) -> Answer {
        Answer::ok_with(body)
    }

    #[test]
    fn signature_matches_the_documented_algorithm() {
        assert_eq!(
            sign(1_599_360_473, "demo"),
            "l1N0gAcBjdwBvGm1xMjOF0XSyaLRpR7tuO5dHfhAYc8="
        );
        assert_ne!(
            sign(1_599_360_473, "demo"),
            "DkEDUyVoOOJ539qBvUgMyzkzIdRWlf4e/V3Rq+ONJnQ="
        );
    }

    #[test]
    fn error_codes_in_a_200_answer_are_failures() {
        assert_eq!(
            classify(&a(
                r#"{"StatusCode":0,"StatusMessage":"success","code":0,"data":{},"msg":"success"}"#
            )),
            Ok(())
        );
        assert!(matches!(
            classify(&a(r#"{"code":11232,"msg":"frequency limited"}"#)),
            Err(Failure::Wait(..))
        ));
        assert!(matches!(
            classify(&a(
                r#"{"code":19021,"msg":"sign match fail or timestamp is not within one hour from current time"}"#
            )),
            Err(Failure::Fix(_))
        ));
        assert!(matches!(
            classify(&a(r#"{"code":19024,"msg":"Key Words Not Found"}"#)),
            Err(Failure::Fix(_))
        ));
        assert!(matches!(
            classify(&a(r#"{"code":9499,"msg":"Bad Request","data":{}}"#)),
            Err(Failure::Refused(_))
        ));
        assert!(matches!(classify(&a("<html>")), Err(Failure::Transient(_))));
    }
}
