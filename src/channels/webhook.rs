//! The generic webhook: `POST` a documented JSON body to any URL, for receivers of one's own
//! (n8n, Home Assistant, a script).
//!
//! Body (version 1):
//! `{"version":1,"id","kind","level","server","package","figures","cycle","text","part","parts"}`
//! where `id` is stable across retries (a receiver can drop duplicates), `text` is plain text and
//! `level`, `package`, `figures` (`total_gb`, `used_gb`, `remaining_gb`) and `cycle` (`start`,
//! `end`, RFC 3339) are present when the message has them.
//! With `NOTIFY_WEBHOOK_SECRET`, the request carries `X-Flexus-Timestamp` (Unix seconds) and
//! `X-Flexus-Signature: sha256=` + hex HMAC-SHA256 keyed with the secret over
//! `timestamp + "." + body` (the exact bytes sent).
//! Any 2xx is success; 429 waits `Retry-After`; 5xx and network errors are retried; 401/403/404 need
//! the user; 400/413/422 refuse the message.

use std::time::Duration;

use chrono::Utc;
use hmac::{Hmac, Mac};
use serde_json::json;
use sha2::Sha256;
use url::Url;

use super::http::{http_level, Answer, Http};
use super::render::Limit;
use super::{Failure, Part};
use crate::secret::Secret;

/// No documented limit of its own; parts are kept to 64 KB.
pub const LIMIT: Limit = Limit::bytes(64 * 1024);
pub const SIGNATURE_HEADER: &str = "x-flexus-signature";
pub const TIMESTAMP_HEADER: &str = "x-flexus-timestamp";

#[derive(Debug)]
pub struct Webhook {
    http: Http,
    url: Url,
    secret: Option<Secret>,
}

/// The signature header value of `body` sent at `timestamp`.
pub fn sign(secret: &str, timestamp: i64, body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("any key length");
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

impl Webhook {
    /// # Errors
    /// When the HTTP client cannot be built.
    pub fn new(url: Url, secret: Option<Secret>, timeout: Duration) -> Result<Self, String> {
        Ok(Self {
            http: Http::for_url(timeout, &url, secret.as_ref())?,
            url,
            secret,
        })
    }

    /// The request body for `part`.
    pub fn body(part: &Part<'_>) -> serde_json::Value {
        let mut b = json!({
            "version": 1,
            "id": part.id,
            "text": part.text,
            "part": part.index,
            "parts": part.count,
        });
        if let Some(m) = part.meta {
            if let serde_json::Value::Object(fields) = json!(m) {
                for (k, v) in fields {
                    b[k] = v;
                }
            }
        }
        b
    }

    pub(super) async fn send(&self, part: &Part<'_>) -> Result<Answer, Failure> {
        let bytes = serde_json::to_vec(&Self::body(part)).expect("serializes");
        let mut headers = Vec::new();
        if let Some(s) = &self.secret {
            let ts = Utc::now().timestamp();
            headers.push((TIMESTAMP_HEADER, ts.to_string()));
            headers.push((SIGNATURE_HEADER, sign(s.expose(), ts, &bytes)));
        }
        self.http
            .post_bytes(self.url.clone(), bytes, &headers)
            .await
    }
}

/// Classifies the receiver's answer.
///
/// # Errors
/// See [`Failure`].
pub fn classify(a: &Answer) -> Result<(), Failure> {
    match http_level(a, "the webhook") {
        None => Ok(()),
        Some(f) => Err(f),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::channels::Meta;

    #[test]
    fn signature_is_hmac_of_timestamp_dot_body() {
        // printf '1700000000.{"a":1}' | openssl dgst -sha256 -hmac s3cret
        assert_eq!(
            sign("s3cret", 1_700_000_000, br#"{"a":1}"#),
            "sha256=1698a50bc74d1ff1db85c4e0a5297c2ad9fdba245d5737cdb789e4cc6e098940"
        );
    }

    #[test]
    fn the_body_has_the_documented_fields() {
        let meta = Meta {
            kind: "alert".into(),
            level: Some("level2".into()),
            server: "web-1".into(),
            package: Some(json!({"free_resource_id": "p"})),
            figures: Some(json!({"remaining_gb": 1.5})),
            cycle: None,
        };
        let p = Part {
            id: "id-1",
            title: "t",
            text: "hello",
            markup: false,
            meta: Some(&meta),
            index: 1,
            count: 1,
            queued_at: chrono::Utc::now(),
        };
        let b = Webhook::body(&p);
        for k in [
            "version", "id", "kind", "level", "server", "package", "figures", "text", "part",
            "parts",
        ] {
            assert!(!b[k].is_null(), "{k} missing in {b}");
        }
        assert!(b.get("cycle").is_none());
    }
}
