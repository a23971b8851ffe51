//! ServerChan Turbo (Server酱): `POST` JSON `{title, desp}` to `https://sctapi.ftqq.com/{SENDKEY}.send`
//! (keys starting `sctp{uid}t` belong to ServerChan³ at `https://{uid}.push.ft07.com/send/{SENDKEY}.send`).
//!
//! `title` is at most 32 characters, `desp` is Markdown of at most 32 KB. Success is body
//! `code == 0`; no error codes are documented, so any other code is retried with back-off.
//! No rate limit is documented; messages are spaced by a second.

use std::time::Duration;

use serde_json::json;
use url::Url;

use super::http::{describe, http_level, int_field, Answer, Http};
use super::render::Limit;
use super::{Failure, Part};
use crate::secret::Secret;

/// `desp`: 32 KB.
pub const LIMIT: Limit = Limit::bytes(32 * 1024 - 512);
pub const TITLE_CHARS: usize = 32;
pub const PACE: Duration = Duration::from_secs(1);

#[derive(Debug)]
pub struct ServerChan {
    http: Http,
    url: Url,
}

/// The send URL of `key`; `api` replaces the Turbo host (tests, self-hosted proxies).
///
/// # Errors
/// When the key has characters a key cannot have.
pub fn send_url(key: &str, api: Option<&Url>) -> Result<Url, String> {
    if key.is_empty()
        || !key
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
    {
        return Err("has characters a SendKey cannot have".into());
    }
    let base = match (api, key.strip_prefix("sctp")) {
        (Some(api), _) => api.as_str().trim_end_matches('/').to_string(),
        (None, Some(rest)) => {
            let uid: String = rest.chars().take_while(char::is_ascii_digit).collect();
            if uid.is_empty() {
                return Err("starts with sctp but has no uid".into());
            }
            format!("https://{uid}.push.ft07.com/send")
        }
        (None, None) => "https://sctapi.ftqq.com".into(),
    };
    Url::parse(&format!("{base}/{key}.send")).map_err(|e| e.to_string())
}

impl ServerChan {
    /// # Errors
    /// When the key is malformed or the HTTP client cannot be built.
    pub fn new(key: &Secret, api: Option<&Url>, timeout: Duration) -> Result<Self, String> {
        let url = send_url(key.expose(), api)?;
        Ok(Self {
            http: Http::new(timeout, vec![key.expose().to_string(), url.to_string()])?,
            url,
        })
    }

    /// The request body for `part`.
    pub fn body(part: &Part<'_>) -> serde_json::Value {
        let mut title: String = part.title.chars().take(TITLE_CHARS).collect();
        if part.count > 1 {
            let suffix = format!(" {}/{}", part.index, part.count);
            title = part
                .title
                .chars()
                .take(TITLE_CHARS - suffix.chars().count())
                .collect();
            title.push_str(&suffix);
        }
        json!({"title": title, "desp": part.text, "noip": 1})
    }

    pub(super) async fn send(&self, part: &Part<'_>) -> Result<Answer, Failure> {
        self.http
            .post_json(self.url.clone(), &Self::body(part), &[])
            .await
    }
}

/// Classifies ServerChan's answer.
///
/// # Errors
/// See [`Failure`].
pub fn classify(a: &Answer) -> Result<(), Failure> {
    if let Some(f) = http_level(a, "ServerChan") {
        return Err(f);
    }
    let v: serde_json::Value = serde_json::from_str(&a.body).unwrap_or_default();
    match int_field(&v, "code") {
        Some(0) => Ok(()),
        _ => Err(Failure::Transient(format!(
            "ServerChan answered {}",
            describe(a)
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_pick_their_host() {
        assert_eq!(
            send_url("SCT123abc", None).unwrap().as_str(),
            "https://sctapi.ftqq.com/SCT123abc.send"
        );
        assert_eq!(
            send_url("sctp42tXYZ", None).unwrap().as_str(),
            "https://42.push.ft07.com/send/sctp42tXYZ.send"
        );
        let api = Url::parse("http://127.0.0.1:9/sc/").unwrap();
        assert_eq!(
            send_url("SCTk", Some(&api)).unwrap().as_str(),
            "http://127.0.0.1:9/sc/SCTk.send"
        );
        assert!(send_url("a/b", None).is_err());
    }

    #[test]
    fn titles_fit_32_characters_with_the_part_number() {
        let t = "流".repeat(40);
        let p = Part {
            id: "x",
            title: &t,
            text: "d",
            markup: true,
            meta: None,
            index: 2,
            count: 3,
            queued_at: chrono::Utc::now(),
        };
        let title = ServerChan::body(&p)["title"].as_str().unwrap().to_string();
        assert_eq!(title.chars().count(), TITLE_CHARS);
        assert!(title.ends_with(" 2/3"));
    }

    #[test]
    fn only_code_zero_is_success() {
        let a = |b: &str| Answer {
            status: 200,
            body: b.into(),
            retry_after: None,
        };
        assert_eq!(classify(&a(r#"{"code":0,"message":"","data":{}}"#)), Ok(()));
        assert!(classify(&a(r#"{"code":40001,"message":"bad pushkey"}"#)).is_err());
    }
}
