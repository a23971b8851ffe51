//! The HTTP side shared by the webhook-style channels: a client with timeouts, JSON posts, and
//! answers scrubbed of the channel's secrets. Errors never carry the URL (it holds keys).

use std::time::Duration;

use reqwest::header::{HeaderMap, HeaderName, HeaderValue, RETRY_AFTER};
use url::Url;

use super::Failure;
use crate::huawei::transport::error_chain;

/// A service's answer as it gave it.
#[derive(Debug, Clone, PartialEq)]
pub struct Answer {
    pub status: u16,
    pub body: String,
    /// The `Retry-After` header in seconds, when present.
    pub retry_after: Option<u64>,
}

#[cfg(test)]
impl Answer {
    /// An HTTP 200 answer with `body` (the services that report errors inside a 200).
    pub fn ok_with(body: &str) -> Self {
        Self {
            status: 200,
            body: body.into(),
            retry_after: None,
        }
    }
}

/// An HTTP client for one channel, knowing which strings must never leave it.
#[derive(Debug, Clone)]
pub struct Http {
    client: reqwest::Client,
    secrets: Vec<String>,
}

/// The parts of a URL that are secret: the whole URL, each query value of 6 or more characters
/// and each path segment that looks like a key (tokens, device keys, hook ids), and the userinfo.
///
/// A path segment that is a plain word (`webhook` in WeCom's `/cgi-bin/webhook/send`, `open-apis`)
/// is not a secret: replacing it would turn a service's answer "invalid webhook url" into
/// "invalid [redacted] url".
pub fn url_secrets(url: &Url) -> Vec<String> {
    let mut out = vec![url.as_str().to_string()];
    out.extend(
        url.path_segments()
            .into_iter()
            .flatten()
            .filter(|s| looks_like_a_key(s))
            .map(str::to_string),
    );
    out.extend(
        url.query_pairs()
            .map(|(_, v)| v.to_string())
            .filter(|v| v.len() >= 6),
    );
    if !url.username().is_empty() {
        out.push(url.username().to_string());
    }
    if let Some(p) = url.password() {
        out.push(p.to_string());
    }
    out
}

/// A path segment that holds a value rather than a word: 6 or more characters with a digit or a
/// capital letter (keys, tokens, UUIDs), or 20 or more characters of any kind.
fn looks_like_a_key(segment: &str) -> bool {
    let n = segment.chars().count();
    n >= 20
        || (n >= 6
            && segment
                .chars()
                .any(|c| c.is_ascii_digit() || c.is_ascii_uppercase()))
}

impl Http {
    /// # Errors
    /// When the client cannot be built.
    pub fn new(timeout: Duration, mut secrets: Vec<String>) -> Result<Self, String> {
        let client = reqwest::Client::builder()
            .timeout(timeout)
            .connect_timeout(timeout.min(Duration::from_secs(10)))
            .build()
            .map_err(|e| error_chain(&e.without_url()))?;
        secrets.retain(|s| !s.is_empty());
        // Longest first, so that a URL is replaced whole before its pieces.
        secrets.sort_by_key(|s| std::cmp::Reverse(s.len()));
        Ok(Self { client, secrets })
    }

    /// A client for a channel at `url` (every secret-looking piece of it kept out of errors), with
    /// an optional signing `secret` kept out too.
    ///
    /// # Errors
    /// When the HTTP client cannot be built.
    pub fn for_url(
        timeout: Duration,
        url: &Url,
        secret: Option<&crate::secret::Secret>,
    ) -> Result<Self, String> {
        let mut secrets = url_secrets(url);
        secrets.extend(secret.map(|s| s.expose().to_string()));
        Self::new(timeout, secrets)
    }

    /// `s` with every secret replaced by `[redacted]`.
    pub fn scrub(&self, s: &str) -> String {
        let mut out = s.to_string();
        for secret in &self.secrets {
            out = out.replace(secret.as_str(), "[redacted]");
        }
        out
    }

    /// Posts `body` as JSON to `url` with extra `headers`.
    ///
    /// # Errors
    /// Network errors, as [`Failure::Transient`] without the URL.
    pub async fn post_json(
        &self,
        url: Url,
        body: &serde_json::Value,
        headers: &[(&'static str, String)],
    ) -> Result<Answer, Failure> {
        let bytes = serde_json::to_vec(body).expect("serializes");
        self.post_bytes(url, bytes, headers).await
    }

    /// Posts raw JSON bytes (the generic webhook signs exactly these bytes).
    ///
    /// # Errors
    /// Network errors, as [`Failure::Transient`] without the URL.
    pub async fn post_bytes(
        &self,
        url: Url,
        bytes: Vec<u8>,
        headers: &[(&'static str, String)],
    ) -> Result<Answer, Failure> {
        let mut map = HeaderMap::new();
        map.insert(
            reqwest::header::CONTENT_TYPE,
            HeaderValue::from_static("application/json; charset=utf-8"),
        );
        for (k, v) in headers {
            if let Ok(v) = HeaderValue::from_str(v) {
                map.insert(HeaderName::from_static(k), v);
            }
        }
        let resp = self
            .client
            .post(url)
            .headers(map)
            .body(bytes)
            .send()
            .await
            .map_err(|e| Failure::Transient(self.scrub(&error_chain(&e.without_url()))))?;
        let status = resp.status().as_u16();
        let retry_after = resp
            .headers()
            .get(RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse().ok());
        let body = resp
            .text()
            .await
            .map_err(|e| Failure::Transient(self.scrub(&error_chain(&e.without_url()))))?;
        let body: String = body.chars().take(2000).collect();
        Ok(Answer {
            status,
            body: self.scrub(&body),
            retry_after,
        })
    }
}

/// Reads an integer field that a service sends as a number or as a string (DingTalk's example
/// shows `"errcode":"0"`).
pub fn int_field(v: &serde_json::Value, key: &str) -> Option<i64> {
    match &v[key] {
        serde_json::Value::Number(n) => n.as_i64(),
        serde_json::Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

/// A short description of an answer for errors: status and the first 300 characters of the body.
pub fn describe(a: &Answer) -> String {
    format!(
        "HTTP {}: {}",
        a.status,
        a.body.chars().take(300).collect::<String>()
    )
}

/// The classification shared by every service for HTTP-level trouble, before any body code is
/// read: `None` when the status is 2xx (the body decides).
pub fn http_level(a: &Answer, service: &str) -> Option<Failure> {
    let d = format!("{service} answered {}", describe(a));
    match a.status {
        200..=299 => None,
        429 => Some(Failure::Wait(
            Duration::from_secs(a.retry_after.unwrap_or(60).clamp(1, 3600)),
            d,
        )),
        401 | 403 | 404 | 418 => Some(Failure::Fix(d)),
        400 | 413 | 422 => Some(Failure::Refused(d)),
        _ => Some(Failure::Transient(d)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_of_a_url_are_its_keys() {
        let u =
            Url::parse("https://oapi.dingtalk.com/robot/send?access_token=abcdef123456").unwrap();
        let h = Http::new(Duration::from_secs(1), url_secrets(&u)).unwrap();
        assert_eq!(
            h.scrub("bad token abcdef123456 in https://oapi.dingtalk.com/robot/send?access_token=abcdef123456"),
            "bad token [redacted] in [redacted]"
        );
        assert_eq!(h.scrub("robot send"), "robot send");
    }

    #[test]
    fn words_of_a_url_path_are_not_redacted_in_a_services_answer() {
        let wecom = Url::parse(
            "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=693a91f6-7xxx-4bc4-97a0-0ec2sifa5aaa",
        )
        .unwrap();
        let h = Http::for_url(Duration::from_secs(1), &wecom, None).unwrap();
        assert_eq!(
            h.scrub("invalid webhook url, hint: [1690000000_1] key=693a91f6-7xxx-4bc4-97a0-0ec2sifa5aaa"),
            "invalid webhook url, hint: [1690000000_1] key=[redacted]"
        );
        let feishu =
            Url::parse("https://open.feishu.cn/open-apis/bot/v2/hook/2e7a6f1c-0d3b-4c55").unwrap();
        let h = Http::for_url(Duration::from_secs(1), &feishu, None).unwrap();
        assert_eq!(
            h.scrub("open-apis says: hook 2e7a6f1c-0d3b-4c55 not found"),
            "open-apis says: hook [redacted] not found"
        );
        let bark = Url::parse("https://api.day.app/Fx9ab7kLm2QrT").unwrap();
        let h = Http::for_url(Duration::from_secs(1), &bark, None).unwrap();
        assert_eq!(h.scrub("device Fx9ab7kLm2QrT"), "device [redacted]");
    }

    #[test]
    fn numbers_may_come_as_strings() {
        let v: serde_json::Value =
            serde_json::from_str(r#"{"a":"0","b":310000,"c":null}"#).unwrap();
        assert_eq!(int_field(&v, "a"), Some(0));
        assert_eq!(int_field(&v, "b"), Some(310_000));
        assert_eq!(int_field(&v, "c"), None);
    }
}
