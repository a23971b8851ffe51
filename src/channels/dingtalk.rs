//! DingTalk custom robot: `POST` JSON to `.../robot/send?access_token=...`.
//!
//! Messages are `markdown` (title + text). With a signing secret, `timestamp` (milliseconds) and
//! `sign` go in the query string: `sign` is Base64 of HMAC-SHA256 keyed with the secret over
//! `timestamp + "\n" + secret`, URL-encoded once. A `msgUuid` (the outbox id) lets DingTalk drop a
//! retry of a message it already posted.
//! Success is body `errcode == 0` (a number or a string). 310000 covers the keyword, timestamp,
//! signature and IP checks (the user must fix them); 410100 and 130101 are throttling (20 a minute
//! per robot, then 10 minutes blocked); -1 is "busy"; 400101/400102/400106 a wrong or disabled
//! robot; 400105, 40035, 43004, 430101-430104 and 460101 refuse the message itself.

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

/// Community reports 20000 bytes; stay below with the JSON around the text.
pub const LIMIT: Limit = Limit::bytes(18_000);
/// 20 a minute per robot; going over blocks the robot for 10 minutes.
pub const PACE: Duration = Duration::from_millis(3_100);

#[derive(Debug)]
pub struct DingTalk {
    http: Http,
    url: Url,
    secret: Option<Secret>,
}

/// The signature of `timestamp` (milliseconds) with `secret`, Base64 (not yet URL-encoded).
pub fn sign(timestamp_ms: i64, secret: &str) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("any key length");
    mac.update(format!("{timestamp_ms}\n{secret}").as_bytes());
    base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
}

impl DingTalk {
    /// # Errors
    /// When the HTTP client cannot be built.
    pub fn new(url: Url, secret: Option<Secret>, timeout: Duration) -> Result<Self, String> {
        Ok(Self {
            http: Http::for_url(timeout, &url, secret.as_ref())?,
            url,
            secret,
        })
    }

    /// The URL for a request at `timestamp_ms`.
    pub fn url(&self, timestamp_ms: i64) -> Url {
        let mut url = self.url.clone();
        if let Some(s) = &self.secret {
            // `append_pair` form-encodes once: `+`, `/`, `=` become `%2B`, `%2F`, `%3D`.
            url.query_pairs_mut()
                .append_pair("timestamp", &timestamp_ms.to_string())
                .append_pair("sign", &sign(timestamp_ms, s.expose()));
        }
        url
    }

    /// The request body for `part`.
    pub fn body(part: &Part<'_>) -> serde_json::Value {
        let mut body = if part.markup {
            json!({"msgtype": "markdown", "markdown": {"title": part.title, "text": part.text}})
        } else {
            json!({"msgtype": "text", "text": {"content": part.text}})
        };
        body["msgUuid"] = json!(part.id);
        body
    }

    pub(super) async fn send(&self, part: &Part<'_>) -> Result<Answer, Failure> {
        let url = self.url(Utc::now().timestamp_millis());
        self.http.post_json(url, &Self::body(part), &[]).await
    }
}

/// Classifies DingTalk's answer.
///
/// # Errors
/// See [`Failure`].
pub fn classify(a: &Answer) -> Result<(), Failure> {
    if let Some(f) = http_level(a, "DingTalk") {
        return Err(f);
    }
    let v: serde_json::Value = serde_json::from_str(&a.body).unwrap_or_default();
    let d = format!("DingTalk answered {}", describe(a));
    match int_field(&v, "errcode") {
        Some(0) => Ok(()),
        Some(410_100 | 130_101) => Err(Failure::Wait(Duration::from_secs(600), d)),
        Some(310_000) => Err(Failure::Fix(format!(
            "{d}; check DINGTALK_SECRET, this machine's clock, and the robot's keywords and IP allow-list"
        ))),
        Some(400_101 | 400_102 | 400_106) => {
            Err(Failure::Fix(format!("{d}; check DINGTALK_WEBHOOK_URL")))
        }
        Some(400_105 | 40035 | 43004 | 430_101..=430_104 | 460_101) => Err(Failure::Refused(d)),
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
    fn signature_matches_the_documented_algorithm_and_is_encoded_once() {
        assert_eq!(
            sign(1_599_360_473_000, "SECdemo"),
            "tGWkA5eQOQNCNPDgphtxIoNLO+/gD8Lcb705KQoRzeY="
        );
        let d = DingTalk::new(
            Url::parse("https://oapi.dingtalk.com/robot/send?access_token=tok").unwrap(),
            Some(Secret::new("SECdemo")),
            Duration::from_secs(1),
        )
        .unwrap();
        assert_eq!(
            d.url(1_599_360_473_000).as_str(),
            "https://oapi.dingtalk.com/robot/send?access_token=tok&timestamp=1599360473000&sign=tGWkA5eQOQNCNPDgphtxIoNLO%2B%2FgD8Lcb705KQoRzeY%3D"
        );
    }

    #[test]
    fn error_codes_in_a_200_answer_are_failures() {
        assert_eq!(classify(&a(r#"{"errcode":0,"errmsg":"ok"}"#)), Ok(()));
        assert_eq!(classify(&a(r#"{"errcode":"0","errmsg":"ok"}"#)), Ok(()));
        assert!(matches!(
            classify(&a(r#"{"errcode":410100,"errmsg":"send too fast"}"#)),
            Err(Failure::Wait(..))
        ));
        assert!(matches!(
            classify(&a(
                r#"{"errcode":130101,"errmsg":"send too fast, exceed 20 times per minute"}"#
            )),
            Err(Failure::Wait(..))
        ));
        assert!(matches!(
            classify(&a(r#"{"errcode":310000,"errmsg":"sign not match"}"#)),
            Err(Failure::Fix(_))
        ));
        assert!(matches!(
            classify(&a(
                r#"{"errcode":460101,"errmsg":"message too long, exceed 20000 bytes"}"#
            )),
            Err(Failure::Refused(_))
        ));
        assert!(matches!(
            classify(&a(r#"{"errcode":-1,"errmsg":"busy"}"#)),
            Err(Failure::Transient(_))
        ));
    }
}
