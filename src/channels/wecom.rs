//! WeCom (企业微信) group robot: `POST` JSON to `.../cgi-bin/webhook/send?key=...`; the key is the
//! only credential (no signature exists).
//!
//! Messages are `markdown` (content at most 4096 UTF-8 bytes; plain `text` at most 2048). Success is
//! body `errcode == 0`; -1 is "busy", 45009/45033 are frequency limits (20 a minute per robot),
//! 93000/93004 a wrong, removed or disabled robot, 45002/40008/44004/93017 refuse the message itself.

use std::time::Duration;

use serde_json::json;
use url::Url;

use super::http::{describe, http_level, int_field, Answer, Http};
use super::render::Limit;
use super::{Failure, Part};

/// Markdown content: 4096 bytes.
pub const LIMIT: Limit = Limit::bytes(4096);
/// Plain text content: 2048 bytes.
pub const TEXT_LIMIT: usize = 2048;
/// 20 a minute per robot.
pub const PACE: Duration = Duration::from_millis(3_100);

#[derive(Debug)]
pub struct WeCom {
    http: Http,
    url: Url,
}

impl WeCom {
    /// # Errors
    /// When the HTTP client cannot be built.
    pub fn new(url: Url, timeout: Duration) -> Result<Self, String> {
        Ok(Self {
            http: Http::for_url(timeout, &url, None)?,
            url,
        })
    }

    /// The request body for `part`.
    pub fn body(part: &Part<'_>) -> serde_json::Value {
        if part.markup {
            json!({"msgtype": "markdown", "markdown": {"content": part.text}})
        } else {
            let mut text = String::new();
            for c in part.text.chars() {
                if text.len() + c.len_utf8() > TEXT_LIMIT {
                    break;
                }
                text.push(c);
            }
            json!({"msgtype": "text", "text": {"content": text}})
        }
    }

    pub(super) async fn send(&self, part: &Part<'_>) -> Result<Answer, Failure> {
        self.http
            .post_json(self.url.clone(), &Self::body(part), &[])
            .await
    }
}

/// Classifies WeCom's answer.
///
/// # Errors
/// See [`Failure`].
pub fn classify(a: &Answer) -> Result<(), Failure> {
    if let Some(f) = http_level(a, "WeCom") {
        return Err(f);
    }
    let v: serde_json::Value = serde_json::from_str(&a.body).unwrap_or_default();
    let d = format!("WeCom answered {}", describe(a));
    match int_field(&v, "errcode") {
        Some(0) => Ok(()),
        Some(45009 | 45033) => Err(Failure::Wait(Duration::from_secs(60), d)),
        Some(93000 | 93004) => Err(Failure::Fix(format!(
            "{d}; check WECOM_WEBHOOK_URL and that the robot is still in the group"
        ))),
        Some(45002 | 40008 | 44004 | 93017) => Err(Failure::Refused(d)),
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
    fn error_codes_in_a_200_answer_are_failures() {
        assert_eq!(classify(&a(r#"{"errcode":0,"errmsg":"ok"}"#)), Ok(()));
        assert!(matches!(
            classify(&a(r#"{"errcode":45009,"errmsg":"api freq out of limit"}"#)),
            Err(Failure::Wait(..))
        ));
        assert!(matches!(
            classify(&a(r#"{"errcode":93000,"errmsg":"invalid webhook url"}"#)),
            Err(Failure::Fix(_))
        ));
        assert!(matches!(
            classify(&a(
                r#"{"errcode":45002,"errmsg":"content size out of limit"}"#
            )),
            Err(Failure::Refused(_))
        ));
        assert!(matches!(
            classify(&a(r#"{"errcode":-1,"errmsg":"system busy"}"#)),
            Err(Failure::Transient(_))
        ));
    }

    #[test]
    fn plain_text_is_cut_to_its_smaller_limit() {
        let text = "流".repeat(1000);
        let p = Part {
            id: "x",
            title: "t",
            text: &text,
            markup: false,
            meta: None,
            index: 1,
            count: 1,
            queued_at: chrono::Utc::now(),
        };
        let b = WeCom::body(&p);
        assert!(b["text"]["content"].as_str().unwrap().len() <= TEXT_LIMIT);
    }
}
