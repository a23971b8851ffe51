//! The Alertmanager webhook (version 4): payload types, parsed leniently, and the pure helpers of
//! the receiver (authentication, what an alert is about). The HTTP handler is in `http::webhook`.
//!
//! Reference: Alertmanager's webhook_config docs and the 0.25 payloads captured in
//! `tests/fixtures/`. Newer versions add fields; unknown fields are ignored.
//!
//! Three facts of a delivery decide how far it is trusted, each a pure function here:
//! - `truncatedAlerts` (Alertmanager's `max_alerts`): the payload left alerts out, so a resolved
//!   alert in it does not prove that the package left its level ([`Payload::unproven_resolution`]);
//! - `notification_reason` (Alertmanager 0.32+): `repeat interval elapsed` marks a reminder, which
//!   carries no news ([`Payload::says_reminder`]); 0.25 sends no such field, and the engine then
//!   recognises a reminder by its own memory of the alert's episode;
//! - Grafana-managed alerts (Grafana's webhook contact point sends an Alertmanager-like payload with
//!   `orgId`, `state`, `title`, version `1`): `DatasourceNoData` / `DatasourceError` alerts and
//!   alerts whose `grafana_state_reason` annotation says they fired or resolved for lack of data are
//!   not levels of a package ([`Alert::kind`]) and prove no recovery.

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
    /// How many alerts Alertmanager left out of this payload (`max_alerts`). Grafana sends it too.
    #[serde(default, rename = "truncatedAlerts")]
    pub truncated_alerts: Option<i64>,
    /// Why Alertmanager (0.32+) sent this notification, e.g. `repeat interval elapsed`.
    #[serde(default, alias = "notificationReason")]
    pub notification_reason: Option<String>,
    /// Grafana's organisation id: present only in Grafana's payloads.
    #[serde(default, rename = "orgId")]
    pub org_id: Option<i64>,
    /// Grafana's group state (`alerting`, `ok`).
    #[serde(default)]
    pub state: Option<String>,
    /// Grafana's rendered title, e.g. `[FIRING:1] FlexusFreeTrafficCritical`.
    #[serde(default)]
    pub title: Option<String>,
}

/// Alert names Grafana gives to the alerts it sends when a rule's query returns no data or fails
/// (with the rule's labels, so they would otherwise look like a level of a package).
pub const GRAFANA_NO_DATA_ALERTS: [&str; 2] = ["DatasourceNoData", "DatasourceError"];

/// The annotation Grafana adds when an alert changed state for another reason than its condition
/// (`NoData`, `Error`, `MissingSeries`, `Paused`, `Updated`, `RuleDeleted`).
pub const GRAFANA_STATE_REASON: &str = "grafana_state_reason";

/// Why a resolved alert does not prove that the package left its level.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Unproven {
    /// The payload left this many alerts out (`truncatedAlerts`): one of them may still fire.
    Truncated(i64),
    /// Grafana resolved it for this reason (its `grafana_state_reason`), not because its
    /// condition became false.
    Grafana(String),
}

impl std::fmt::Display for Unproven {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Truncated(n) => write!(f, "the payload left out {n} alerts (truncatedAlerts)"),
            Self::Grafana(r) => write!(f, "Grafana resolved it for {r:?}"),
        }
    }
}

impl Payload {
    /// Whether the payload came from Grafana (its `orgId`).
    pub fn from_grafana(&self) -> bool {
        self.org_id.is_some()
    }

    /// True when Alertmanager says this notification is a reminder (`notification_reason`
    /// `repeat interval elapsed`, compared loosely); false when it says otherwise or says nothing.
    pub fn says_reminder(&self) -> bool {
        self.notification_reason.as_deref().is_some_and(|r| {
            let r = r.to_ascii_lowercase();
            r.contains("repeat")
        })
    }

    /// Why `alert`, resolved in this payload, does not prove that it stopped for its condition;
    /// `None` when it does (or when it is not resolved). Pure.
    pub fn unproven_resolution(&self, alert: &Alert) -> Option<Unproven> {
        if alert.is_firing() {
            return None;
        }
        if let Some(n) = self.truncated_alerts.filter(|n| *n > 0) {
            return Some(Unproven::Truncated(n));
        }
        alert
            .grafana_state_reason()
            .map(|r| Unproven::Grafana(r.to_string()))
    }
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

    /// Grafana's `grafana_state_reason` annotation, when present and not empty.
    pub fn grafana_state_reason(&self) -> Option<&str> {
        self.annotations
            .get(GRAFANA_STATE_REASON)
            .map(|r| r.trim())
            .filter(|r| !r.is_empty())
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

    /// What this alert is about. Grafana's alerts about missing data or a failing query carry
    /// the rule's labels (`level`, `free_resource_id`) but say nothing about the traffic: they are
    /// [`Kind::Other`], forwarded as they are and never a level (never a shutdown request).
    pub fn kind(&self) -> Kind {
        if self.name() == WATCHDOG {
            return Kind::Watchdog;
        }
        if GRAFANA_NO_DATA_ALERTS.contains(&self.name())
            || (self.is_firing() && self.grafana_state_reason().is_some())
        {
            return Kind::Other;
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
    fn grafana_payloads_parse_and_their_no_data_alerts_are_no_level() {
        // The shape of the example in Grafana's webhook notifier docs.
        let docs = r#"{"receiver":"My Super Webhook","status":"firing","orgId":1,
            "alerts":[{"status":"firing","labels":{"alertname":"High memory usage","team":"blue"},
              "annotations":{"summary":"This alert was triggered for zone us-1"},
              "startsAt":"2021-10-12T09:51:03.157076+02:00","endsAt":"0001-01-01T00:00:00Z",
              "generatorURL":"","fingerprint":"c6eadffa33fcdf37","silenceURL":"","dashboardURL":"",
              "panelURL":"","values":{"B":44.23943737541908,"C":1}}],
            "groupLabels":{},"commonLabels":{"team":"blue"},"commonAnnotations":{},
            "externalURL":"https://play.grafana.org/","version":"1","groupKey":"{}:{}",
            "truncatedAlerts":0,"title":"[FIRING:1]  (blue)","state":"alerting","message":"**Firing**"}"#;
        let p: Payload = serde_json::from_str(docs).unwrap();
        assert!(p.from_grafana());
        assert_eq!(p.alerts[0].kind(), Kind::Other);
        assert!(p.alerts[0].started_at().is_some());
        let firing: Payload = serde_json::from_str(include_str!(
            "../tests/fixtures/grafana-webhook-firing.json"
        ))
        .unwrap();
        assert!(matches!(
            firing.alerts[0].kind(),
            Kind::Level {
                level: Level::L1,
                ..
            }
        ));
        let no_data: Payload = serde_json::from_str(include_str!(
            "../tests/fixtures/grafana-webhook-nodata.json"
        ))
        .unwrap();
        assert_eq!(no_data.alerts[0].kind(), Kind::Other);
        // A rule whose "no data" handling is "Alerting" fires under its own name, with the reason.
        let mut a = firing.alerts[0].clone();
        a.annotations
            .insert(GRAFANA_STATE_REASON.into(), "NoData".into());
        assert_eq!(a.kind(), Kind::Other);
        // Resolved for a missing series: no proof.
        a.status = "resolved".into();
        a.annotations
            .insert(GRAFANA_STATE_REASON.into(), "MissingSeries".into());
        assert_eq!(
            firing.unproven_resolution(&a),
            Some(Unproven::Grafana("MissingSeries".into()))
        );
    }

    #[test]
    fn a_truncated_payload_proves_no_resolution_and_a_reason_marks_a_reminder() {
        let mut p: Payload = serde_json::from_str(include_str!(
            "../tests/fixtures/alertmanager-0.25-webhook-resolved.json"
        ))
        .unwrap();
        assert_eq!(p.unproven_resolution(&p.alerts[0]), None);
        assert!(!p.says_reminder(), "0.25 sends no reason");
        p.truncated_alerts = Some(4);
        assert_eq!(
            p.unproven_resolution(&p.alerts[0]),
            Some(Unproven::Truncated(4))
        );
        let mut firing = p.alerts[0].clone();
        firing.status = "firing".into();
        assert_eq!(p.unproven_resolution(&firing), None, "only resolutions");
        for (reason, reminder) in [
            ("repeat interval elapsed", true),
            ("Repeat Interval Elapsed", true),
            ("new alerts added", false),
            ("alerts resolved", false),
        ] {
            p.notification_reason = Some(reason.into());
            assert_eq!(p.says_reminder(), reminder, "{reason}");
        }
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
