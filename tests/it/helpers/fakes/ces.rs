//! A local fake of Huawei Cloud Eye (CES) that answers `ShowMetricData` (`GET
//! /V1.0/{project_id}/metric-data`) as the Cloud Eye API documents it: it checks the
//! `SDK-HMAC-SHA256` signature (and that `X-Project-Id` is signed and matches the path), checks
//! the query (`namespace`, `metric_name`, `dim.0=key,value`, `from`/`to` in ms with `from < to`,
//! a documented `period` and `filter`), and answers the EIP's `SYS.VPC` / `up_stream` minutes
//! between `from` and `to` as `{"datapoints": [{"sum", "timestamp", "unit": "B"}], "metric_name"}`.
//! Errors use Cloud Eye's v1 error body. It can be scripted to throttle (HTTP 429 `ces.0429`),
//! fail, stall or answer garbage.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::State;
use axum::http::{StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::Router;
use chrono::{DateTime, Utc};
use flexus_traffic_monitor::huawei::gateway::{Refused, Signed};
use serde_json::{json, Value};

use super::{serve, TestKeys};

/// One scripted answer, used before the normal ones.
#[derive(Debug, Clone)]
pub enum Reply {
    /// HTTP 429 with `ces.0429`, as Cloud Eye throttles.
    Throttle,
    /// A server error (HTTP 500 `ces.0007`).
    Fail,
    /// Status and a JSON body as given.
    Json(u16, Value),
    /// Waits this long, then answers normally.
    Stall(Duration),
}

#[derive(Default)]
struct Inner {
    /// publicip_id → minute (ms) → bytes sent in that minute.
    eips: HashMap<String, BTreeMap<i64, f64>>,
    script: VecDeque<Reply>,
    /// When each request arrived, and whether its signature was valid.
    requests: Vec<(Instant, bool)>,
    queries: Vec<String>,
}

/// Handle to a running fake.
#[derive(Clone)]
pub struct FakeCes {
    pub addr: SocketAddr,
    inner: Arc<Mutex<Inner>>,
}

impl FakeCes {
    pub async fn start() -> Self {
        let inner = Arc::new(Mutex::new(Inner::default()));
        let addr = serve(Router::new().fallback(handle).with_state(inner.clone())).await;
        Self { addr, inner }
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Records that `eip` sent `bytes` in the minute starting at `minute`.
    pub fn sent(&self, eip: &str, minute: DateTime<Utc>, bytes: f64) {
        self.inner
            .lock()
            .unwrap()
            .eips
            .entry(eip.to_string())
            .or_default()
            .insert(minute.timestamp_millis(), bytes);
    }

    /// Spreads `bytes` evenly over the minutes from `from` to `to` (exclusive).
    pub fn sent_between(&self, eip: &str, from: DateTime<Utc>, to: DateTime<Utc>, bytes: f64) {
        let minutes = (to - from).num_minutes().max(1);
        for i in 0..minutes {
            self.sent(
                eip,
                from + chrono::Duration::minutes(i),
                bytes / minutes as f64,
            );
        }
    }

    pub fn push(&self, reply: Reply) {
        self.inner.lock().unwrap().script.push_back(reply);
    }

    /// Requests seen (valid signature or not).
    pub fn requests(&self) -> usize {
        self.inner.lock().unwrap().requests.len()
    }

    pub fn bad_signatures(&self) -> usize {
        self.inner
            .lock()
            .unwrap()
            .requests
            .iter()
            .filter(|(_, ok)| !ok)
            .count()
    }

    /// When each request arrived.
    pub fn arrivals(&self) -> Vec<Instant> {
        self.inner
            .lock()
            .unwrap()
            .requests
            .iter()
            .map(|(t, _)| *t)
            .collect()
    }

    pub fn queries(&self) -> Vec<String> {
        self.inner.lock().unwrap().queries.clone()
    }

    /// Scripted answers not used yet.
    pub fn scripted_left(&self) -> usize {
        self.inner.lock().unwrap().script.len()
    }
}

/// Cloud Eye's v1 error body.
fn error(status: u16, code: &str, details: &str) -> Response {
    let mut r = (
        StatusCode::from_u16(status).unwrap(),
        axum::Json(json!({
            "code": status,
            "element": StatusCode::from_u16(status).unwrap().canonical_reason().unwrap_or(""),
            "message": details,
            "details": {"details": details, "code": code},
        })),
    )
        .into_response();
    r.headers_mut()
        .insert("x-request-id", "fake-ces-req-1".parse().unwrap());
    r
}

async fn handle(
    State(inner): State<Arc<Mutex<Inner>>>,
    uri: Uri,
    signed: Result<Signed<TestKeys>, Refused>,
) -> Response {
    let ok = signed
        .as_ref()
        .is_ok_and(|s| s.unsigned_headers().is_empty());
    let scripted = {
        let mut g = inner.lock().unwrap();
        g.requests.push((Instant::now(), ok));
        g.queries.push(uri.query().unwrap_or("").to_string());
        if ok {
            g.script.pop_front()
        } else {
            None
        }
    };
    let signed = match signed {
        Ok(s) if ok => s,
        Ok(_) => {
            return error(
                401,
                "APIGW.0301",
                "Incorrect IAM authentication information: unsigned header",
            )
        }
        Err(r) => return error(401, "APIGW.0301", &r.message()),
    };
    match scripted {
        Some(Reply::Throttle) => return error(429, "ces.0429", "Too many requests"),
        Some(Reply::Fail) => return error(500, "ces.0007", "Internal service error."),
        Some(Reply::Json(status, v)) => {
            return (StatusCode::from_u16(status).unwrap(), axum::Json(v)).into_response()
        }
        Some(Reply::Stall(d)) => tokio::time::sleep(d).await,
        None => {}
    }
    let parts: Vec<&str> = uri.path().split('/').collect();
    let project = match parts.as_slice() {
        ["", "V1.0", project, "metric-data"] => *project,
        _ => return error(404, "ces.0002", "no such API"),
    };
    if !signed.is_signed("x-project-id") || signed.header("x-project-id") != Some(project) {
        return error(400, "ces.0003", "The tenant ID is left blank or incorrect.");
    }
    let q: HashMap<String, String> =
        url::form_urlencoded::parse(uri.query().unwrap_or("").as_bytes())
            .into_owned()
            .collect();
    let get = |k: &str| q.get(k).map(String::as_str);
    if get("namespace") != Some("SYS.VPC") || get("metric_name") != Some("up_stream") {
        return error(
            400,
            "ces.0014",
            "Some content in message body is not correct",
        );
    }
    let Some(("publicip_id", eip)) = get("dim.0").and_then(|d| d.split_once(',')) else {
        return error(400, "ces.0014", "dim.0 must be publicip_id,<id>");
    };
    let (Some(from), Some(to)) = (
        get("from").and_then(|s| s.parse::<i64>().ok()),
        get("to").and_then(|s| s.parse::<i64>().ok()),
    ) else {
        return error(400, "ces.0014", "from and to are UNIX timestamps in ms");
    };
    if from >= to
        || !matches!(
            get("period"),
            Some("1" | "300" | "1200" | "3600" | "14400" | "86400")
        )
        || !matches!(
            get("filter"),
            Some("average" | "max" | "min" | "sum" | "variance")
        )
    {
        return error(400, "ces.0014", "bad from/to, period or filter");
    }
    let g = inner.lock().unwrap();
    let points: Vec<Value> = g
        .eips
        .get(eip)
        .map(|m| {
            m.range(from..=to)
                .map(|(t, b)| json!({"sum": b, "timestamp": t, "unit": "B"}))
                .collect()
        })
        .unwrap_or_default();
    axum::Json(json!({"datapoints": points, "metric_name": "up_stream"})).into_response()
}
