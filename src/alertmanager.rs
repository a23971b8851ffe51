//! The Alertmanager webhook (version 4): payload types, parsed leniently, and the pure helpers of
//! the receiver (authentication, what an alert is about). The HTTP handler is in `http::webhook`.
//!
//! Reference: Alertmanager's webhook_config docs and the 0.25 payloads captured in
//! `tests/fixtures/`. Newer versions add fields; unknown fields are ignored.

use std::collections::BTreeMap;

use serde::Deserialize;
use subtle::ConstantTimeEq;

use crate::level::Level;

/// The name of the always-firing alert that proves Prometheus and Alertmanager are alive.
pub const WATCHDOG: &str = "FlexusTrafficWatchdog";

/// A webhook delivery.
#[derive(Debug, Clone, Deserialize)]
pub struct Payload {
    #[serde(default)]
    pub version: Option<String>,
    #[serde(default)]
    pub status: Option<String>,
    #[serde(default)]
    pub receiver: Option<String>,
    pub alerts: Vec<Alert>,
}

/// One alert of a delivery.
#[derive(Debug, Clone, Deserialize)]
pub struct Alert {
    #[serde(default)]
    pub status: String,
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
    #[serde(default)]
    pub annotations: BTreeMap<String, String>,
    #[serde(default, rename = "startsAt")]
    pub starts_at: Option<String>,
    #[serde(default, rename = "endsAt")]
    pub ends_at: Option<String>,
    #[serde(default)]
    pub fingerprint: Option<String>,
}

/// What an alert is about, for the receiver.
#[derive(Debug, Clone, PartialEq)]
pub enum Kind {
    Watchdog,
    /// A traffic level of one package.
    Level {
        free_resource_id: String,
        level: Level,
    },
    /// Anything else (stale data, forecast, ...): forwarded as it is.
    Other,
}

impl Alert {
    /// When the alert began firing (`startsAt`), when it is a valid RFC 3339 time.
    pub fn started_at(&self) -> Option<chrono::DateTime<chrono::Utc>> {
        self.starts_at
            .as_deref()
            .and_then(|s| chrono::DateTime::parse_from_rfc3339(s).ok())
            .map(|t| t.with_timezone(&chrono::Utc))
    }

    pub fn is_firing(&self) -> bool {
        self.status != "resolved"
    }

    pub fn name(&self) -> &str {
        self.labels
            .get("alertname")
            .map(String::as_str)
            .unwrap_or("")
    }

    /// What this alert is about.
    pub fn kind(&self) -> Kind {
        if self.name() == WATCHDOG {
            return Kind::Watchdog;
        }
        let level = self.labels.get("level").and_then(|l| Level::from_label(l));
        match (self.labels.get("free_resource_id"), level) {
            (Some(id), Some(level)) if level != Level::Ok && !id.is_empty() => Kind::Level {
                free_resource_id: id.clone(),
                level,
            },
            _ => Kind::Other,
        }
    }

    /// A key that is the same for the same alert episode and status (for dropping duplicates).
    pub fn dedupe_key(&self) -> String {
        let fp = self
            .fingerprint
            .clone()
            .unwrap_or_else(|| format!("{:?}", self.labels));
        format!(
            "{fp}|{}|{}",
            self.status,
            self.starts_at.as_deref().unwrap_or("")
        )
    }

    /// The summary annotation, or the description, or the alert name.
    pub fn summary(&self) -> String {
        self.annotations
            .get("summary")
            .or_else(|| self.annotations.get("description"))
            .cloned()
            .unwrap_or_else(|| self.name().to_string())
    }

    /// The summary in the message language `lang` (`zh`, `en`): the `summary_<lang>` annotation
    /// (the shipped rules carry `summary_zh`), else [`Alert::summary`].
    pub fn summary_for(&self, lang: &str) -> String {
        self.annotations
            .get(&format!("summary_{lang}"))
            .cloned()
            .unwrap_or_else(|| self.summary())
    }
}

/// Checks an `Authorization` header against the token: `Bearer <token>`, or Basic with the token
/// as the password (any user name). Compared in constant time.
pub fn authorized(header: Option<&str>, token: &str) -> bool {
    let Some(h) = header else { return false };
    let h = h.trim();
    let presented: Option<Vec<u8>> = if let Some(b) = strip_scheme(h, "bearer") {
        Some(b.trim().as_bytes().to_vec())
    } else if let Some(b) = strip_scheme(h, "basic") {
        decode_basic_password(b.trim())
    } else {
        None
    };
    match presented {
        Some(p) => p.ct_eq(token.as_bytes()).into(),
        None => false,
    }
}

fn strip_scheme<'a>(h: &'a str, scheme: &str) -> Option<&'a str> {
    let (s, rest) = h.split_once(' ')?;
    s.eq_ignore_ascii_case(scheme).then_some(rest)
}

/// Decodes `base64(user:password)` and returns the password.
fn decode_basic_password(b64: &str) -> Option<Vec<u8>> {
    let decoded = base64_decode(b64)?;
    let colon = decoded.iter().position(|&b| b == b':')?;
    Some(decoded[colon + 1..].to_vec())
}

/// Standard base64, with or without padding.
fn base64_decode(s: &str) -> Option<Vec<u8>> {
    use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD};
    use base64::Engine;
    STANDARD
        .decode(s)
        .or_else(|_| STANDARD_NO_PAD.decode(s))
        .ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_summary_is_taken_in_the_message_language_when_the_rule_has_it() {
        let mut a = Alert {
            status: "firing".into(),
            labels: BTreeMap::new(),
            annotations: [("summary".to_string(), "No fresh traffic data".to_string())].into(),
            starts_at: None,
            ends_at: None,
            fingerprint: None,
        };
        assert_eq!(a.summary_for("zh"), "No fresh traffic data");
        a.annotations
            .insert("summary_zh".into(), "没有新的流量数据".into());
        assert_eq!(a.summary_for("zh"), "没有新的流量数据");
        assert_eq!(a.summary_for("en"), "No fresh traffic data");
    }

    #[test]
    fn the_captured_payloads_parse() {
        let firing: Payload = serde_json::from_str(include_str!(
            "../tests/fixtures/alertmanager-0.25-webhook-firing.json"
        ))
        .unwrap();
        assert_eq!(firing.version.as_deref(), Some("4"));
        let a = &firing.alerts[0];
        assert!(a.is_firing());
        assert_eq!(
            a.kind(),
            Kind::Level {
                free_resource_id: "828e2c7c-3c8c-45a2-bebc-98cb3e77d06e".into(),
                level: Level::L1
            }
        );
        let resolved: Payload = serde_json::from_str(include_str!(
            "../tests/fixtures/alertmanager-0.25-webhook-resolved.json"
        ))
        .unwrap();
        assert!(!resolved.alerts[0].is_firing());
        assert_ne!(a.dedupe_key(), resolved.alerts[0].dedupe_key());
    }

    #[test]
    fn lenient_parsing_ignores_unknown_fields_and_missing_extras() {
        let p: Payload = serde_json::from_str(
            r#"{"alerts":[{"labels":{"alertname":"FlexusTrafficWatchdog"},"newField":1}],"x":2}"#,
        )
        .unwrap();
        assert_eq!(p.alerts[0].kind(), Kind::Watchdog);
        assert!(serde_json::from_str::<Payload>(r#"{"status":"firing"}"#).is_err());
    }

    #[test]
    fn bearer_and_basic_tokens_are_accepted_others_are_not() {
        let t = "s3cret-token-123456";
        assert!(authorized(Some("Bearer s3cret-token-123456"), t));
        assert!(authorized(Some("bearer  s3cret-token-123456 "), t));
        // base64("alertmanager:s3cret-token-123456")
        assert!(authorized(
            Some("Basic YWxlcnRtYW5hZ2VyOnMzY3JldC10b2tlbi0xMjM0NTY="),
            t
        ));
        assert!(!authorized(Some("Bearer wrong"), t));
        assert!(!authorized(Some("Bearer s3cret-token-12345"), t));
        assert!(!authorized(Some("s3cret-token-123456"), t));
        assert!(!authorized(None, t));
        assert!(!authorized(Some("Basic !!!"), t));
    }
}
