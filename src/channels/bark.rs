//! Bark (iOS push): `POST` JSON `{title, body, group}` to the device URL the Bark app shows
//! (`https://api.day.app/{device_key}`, or a self-hosted server's).
//!
//! Plain text: the whole push goes through APNs, whose payload is at most 4096 bytes, so a part's
//! body is kept to 3000 bytes. Success is HTTP 200 with body `code == 200`; 400 (no or unknown
//! device key) and 418 (a self-hosted server's Basic auth) need the user; 500 (APNs refused) is
//! retried. Urgent messages (level 1, shutdown) are sent with `level: timeSensitive`.

use std::time::Duration;

use serde_json::json;
use url::Url;

use super::http::{describe, int_field, Answer, Http};
use super::render::Limit;
use super::{Failure, Part};

pub const LIMIT: Limit = Limit::bytes(3000);
pub const PACE: Duration = Duration::from_millis(200);

#[derive(Debug)]
pub struct Bark {
    http: Http,
    url: Url,
}

impl Bark {
    /// # Errors
    /// When the HTTP client cannot be built.
    pub fn new(url: Url, timeout: Duration) -> Result<Self, String> {
        Ok(Self {
            http: Http::for_url(timeout, &url, None)?,
            url,
        })
    }

    /// The request body for `part`.
    pub fn body(part: &Part<'_>, urgent: bool) -> serde_json::Value {
        let mut b = json!({
            "title": part.title,
            "body": part.text,
            "group": "flexus-traffic-monitor",
        });
        if urgent {
            b["level"] = json!("timeSensitive");
        }
        b
    }

    pub(super) async fn send(&self, part: &Part<'_>) -> Result<Answer, Failure> {
        let urgent = part
            .meta
            .is_some_and(|m| m.level.as_deref() == Some("level1") || m.kind.starts_with("shut"));
        self.http
            .post_json(self.url.clone(), &Self::body(part, urgent), &[])
            .await
    }
}

/// Classifies Bark's answer (the HTTP status equals the body's `code`).
///
/// # Errors
/// See [`Failure`].
pub fn classify(a: &Answer) -> Result<(), Failure> {
    let v: serde_json::Value = serde_json::from_str(&a.body).unwrap_or_default();
    let d = format!("Bark answered {}", describe(a));
    match (a.status, int_field(&v, "code")) {
        (200, Some(200)) => Ok(()),
        (429, _) => Err(Failure::Wait(
            Duration::from_secs(a.retry_after.unwrap_or(60).clamp(1, 3600)),
            d,
        )),
        (400 | 401 | 403 | 404 | 418, _) => Err(Failure::Fix(format!(
            "{d}; check BARK_URL (server and device key)"
        ))),
        (413, _) => Err(Failure::Refused(d)),
        _ => Err(Failure::Transient(d)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_map_to_what_to_do() {
        let a = |s: u16, b: &str| Answer {
            status: s,
            body: b.into(),
            retry_after: None,
        };
        assert_eq!(
            classify(&a(200, r#"{"code":200,"message":"success","timestamp":1}"#)),
            Ok(())
        );
        assert!(matches!(
            classify(&a(
                400,
                r#"{"code":400,"message":"failed to get device token: x"}"#
            )),
            Err(Failure::Fix(_))
        ));
        assert!(matches!(
            classify(&a(500, r#"{"code":500,"message":"push failed: x"}"#)),
            Err(Failure::Transient(_))
        ));
        assert!(matches!(
            classify(&a(200, "not json")),
            Err(Failure::Transient(_))
        ));
    }
}
