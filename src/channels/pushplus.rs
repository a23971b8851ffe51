//! PushPlus: `POST` JSON `{token, title, content, template}` to `https://www.pushplus.plus/send`.
//!
//! Messages use `template: "markdown"`. Success is body `code == 200` (accepted; PushPlus delivers
//! asynchronously). 900 means the account is restricted for too many requests (its doc says to stop
//! for the day): wait an hour. 302/401/403/888/903/905 need the user (login, open API, IP allow-list,
//! credits, token, verification); 600 is a data error of this message; 500 and others are retried.
//! No size or rate limit is documented: parts are kept to 20 KB and spaced by a second.

use std::time::Duration;

use serde_json::json;
use url::Url;

use super::http::{describe, http_level, int_field, Answer, Http};
use super::render::Limit;
use super::{Failure, Part};
use crate::secret::Secret;

pub const LIMIT: Limit = Limit::bytes(20_000);
/// PushPlus's own tool schema gives `title` at most 100 characters.
pub const TITLE_CHARS: usize = 100;
pub const PACE: Duration = Duration::from_secs(1);

#[derive(Debug)]
pub struct PushPlus {
    http: Http,
    url: Url,
    token: Secret,
}

impl PushPlus {
    /// `api` is the service's base URL (`https://www.pushplus.plus`).
    ///
    /// # Errors
    /// When the HTTP client cannot be built.
    pub fn new(token: Secret, api: &Url, timeout: Duration) -> Result<Self, String> {
        let url = Url::parse(&format!("{}/send", api.as_str().trim_end_matches('/')))
            .map_err(|e| e.to_string())?;
        Ok(Self {
            http: Http::new(timeout, vec![token.expose().to_string()])?,
            url,
            token,
        })
    }

    /// The request body for `part`.
    pub fn body(&self, part: &Part<'_>) -> serde_json::Value {
        json!({
            "token": self.token.expose(),
            "title": part.title.chars().take(TITLE_CHARS).collect::<String>(),
            "content": part.text,
            "template": if part.markup { "markdown" } else { "txt" },
        })
    }

    pub(super) async fn send(&self, part: &Part<'_>) -> Result<Answer, Failure> {
        self.http
            .post_json(self.url.clone(), &self.body(part), &[])
            .await
    }
}

/// Classifies PushPlus's answer.
///
/// # Errors
/// See [`Failure`].
pub fn classify(a: &Answer) -> Result<(), Failure> {
    if let Some(f) = http_level(a, "PushPlus") {
        return Err(f);
    }
    let v: serde_json::Value = serde_json::from_str(&a.body).unwrap_or_default();
    let d = format!("PushPlus answered {}", describe(a));
    match int_field(&v, "code") {
        Some(200) => Ok(()),
        Some(900) => Err(Failure::Wait(Duration::from_secs(3600), d)),
        Some(302 | 401 | 403 | 888 | 903 | 905) => Err(Failure::Fix(format!(
            "{d}; check PUSHPLUS_TOKEN and the PushPlus account"
        ))),
        Some(600) => Err(Failure::Refused(d)),
        _ => Err(Failure::Transient(d)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_map_to_what_to_do() {
        let a = |b: &str| Answer {
            status: 200,
            body: b.into(),
            retry_after: None,
        };
        assert_eq!(
            classify(&a(r#"{"code":200,"msg":"请求成功","data":"abc"}"#)),
            Ok(())
        );
        assert!(matches!(
            classify(&a(r#"{"code":900,"msg":"用户账号使用受限"}"#)),
            Err(Failure::Wait(..))
        ));
        assert!(matches!(
            classify(&a(r#"{"code":903,"msg":"无效的用户token"}"#)),
            Err(Failure::Fix(_))
        ));
        assert!(matches!(
            classify(&a(r#"{"code":500,"msg":"系统异常"}"#)),
            Err(Failure::Transient(_))
        ));
    }
}
