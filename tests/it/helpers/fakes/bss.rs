//! A local fake of Huawei BSS that behaves like the real gateway: it checks the `SDK-HMAC-SHA256`
//! signature of every request (and the clock skew), answers `ListFreeResourceUsages` from a table
//! of packages that a test can change, and can be scripted to throttle, fail, stall or answer garbage.

use std::collections::{HashMap, VecDeque};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::Router;
use chrono::{DateTime, Utc};
use flexus_traffic_monitor::huawei::gateway::{Refused, Signed};
use serde_json::{json, Value};

use flexus_traffic_monitor::huawei::gateway::GatewayKeys;

use super::{serve, TestKeys};

/// One scripted answer.
#[derive(Debug, Clone)]
pub enum Reply {
    /// Status and JSON body.
    Json(u16, Value),
    /// Status, content type and raw body.
    Raw(u16, &'static str, String),
    /// Waits this long, then answers normally.
    Stall(Duration),
}

/// A package whose remaining amount follows what really crossed an interface, late by `lag`
/// (the way Huawei deducts a package's traffic some time after it was sent).
struct Deduct {
    id: String,
    quota_gb: f64,
    lag: Duration,
    /// The counter when the cycle began, and its samples since, oldest first.
    start: u64,
    samples: VecDeque<(std::time::Instant, u64)>,
}

impl Deduct {
    /// The remaining amount in GB of 1024³ bytes (BSS's GB) as the bill shows it now.
    fn remaining_gb(&self) -> f64 {
        let seen_until = std::time::Instant::now().checked_sub(self.lag);
        let seen = seen_until
            .and_then(|t| self.samples.iter().rev().find(|(at, _)| *at <= t))
            .map_or(self.start, |(_, b)| *b);
        self.quota_gb - seen.saturating_sub(self.start) as f64 / (1u64 << 30) as f64
    }
}

#[derive(Default)]
struct Inner {
    /// A package that deducts real traffic, when set.
    deduct: Option<Deduct>,
    /// Package entries by id, as BSS would list them.
    packages: HashMap<String, Value>,
    /// Answers used before the normal one, first in first out.
    script: VecDeque<Reply>,
    /// Requests seen, and how many carried a valid signature.
    requests: u64,
    valid_signatures: u64,
    bad_signatures: u64,
    /// Every raw query string received (empty when none).
    queries: Vec<String>,
    /// Bodies of usage requests, for batch checks.
    bodies: Vec<Value>,
    /// Headers of the last request.
    last_headers: Vec<(String, String)>,
}

/// Handle to a running fake.
#[derive(Clone)]
pub struct FakeBss {
    pub addr: SocketAddr,
    inner: Arc<Mutex<Inner>>,
}

/// BSS's time format.
pub fn bss_time(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%dT%H:%M:%SZ").to_string()
}

/// The cycle every package of the fake is in unless a test sets another: it began 20 days
/// before the test run and ends 10 days after, at 16:00 UTC (midnight in UTC+8, as BSS gives
/// it). The same for the whole run; the program refuses a cycle that is over or not begun, so a
/// fixed date would stop working one day.
pub fn cycle() -> (DateTime<Utc>, DateTime<Utc>) {
    static CYCLE: OnceLock<(DateTime<Utc>, DateTime<Utc>)> = OnceLock::new();
    *CYCLE.get_or_init(|| {
        let day = Utc::now()
            .date_naive()
            .and_hms_opt(16, 0, 0)
            .unwrap()
            .and_utc();
        (
            day - chrono::Duration::days(20),
            day + chrono::Duration::days(10),
        )
    })
}

/// A 30-day cycle that ends `minutes` from now (to see a reset without waiting a month: the
/// next cycle may appear within 10 minutes of the end).
pub fn cycle_ending_in(minutes: i64) -> (DateTime<Utc>, DateTime<Utc>) {
    let end = Utc::now() + chrono::Duration::minutes(minutes);
    (end - chrono::Duration::days(30), end)
}

/// The cycle after one that ends at `end`: it starts there and lasts 30 days.
pub fn next_cycle(end: DateTime<Utc>) -> (DateTime<Utc>, DateTime<Utc>) {
    (end, end + chrono::Duration::days(30))
}

/// `entry` in the cycle `(start, end)`.
pub fn in_cycle(mut entry: Value, (start, end): (DateTime<Utc>, DateTime<Utc>)) -> Value {
    entry["start_time"] = json!(bss_time(start));
    entry["end_time"] = json!(bss_time(end));
    entry
}

/// A package entry as BSS sends it, in [`cycle`].
pub fn package(id: &str, amount: Value, original: Value, measure: Value) -> Value {
    let (start, end) = cycle();
    json!({
        "free_resource_id": id,
        "free_resource_type_name": "Lightweight BGP data package",
        "quota_reuse_cycle": 4,
        "quota_reuse_cycle_type": 2,
        "usage_type_name": "Uplink traffic",
        "start_time": bss_time(start),
        "end_time": bss_time(end),
        "amount": amount,
        "original_amount": original,
        "measure_id": measure,
    })
}

impl FakeBss {
    pub async fn start() -> Self {
        Self::start_with_keys::<TestKeys>().await
    }

    /// A fake that accepts only the key pair `K` (another account's gateway).
    pub async fn start_with_keys<K: GatewayKeys + Send + Sync + 'static>() -> Self {
        let inner = Arc::new(Mutex::new(Inner::default()));
        let addr = serve(
            Router::new()
                .fallback(handle::<K>)
                .with_state(inner.clone()),
        )
        .await;
        Self { addr, inner }
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Sets (or replaces) a package with a GB amount.
    pub fn set_gb(&self, id: &str, remaining: f64, quota: f64) {
        self.set_entry(id, package(id, json!(remaining), json!(quota), json!(10)));
    }

    /// Sets (or replaces) a package with a GB amount in the cycle `start` to `end`.
    pub fn set_cycle(
        &self,
        id: &str,
        remaining: f64,
        quota: f64,
        start: chrono::DateTime<chrono::Utc>,
        end: chrono::DateTime<chrono::Utc>,
    ) {
        let mut e = package(id, json!(remaining), json!(quota), json!(10));
        let at = |t: chrono::DateTime<chrono::Utc>| t.format("%Y-%m-%dT%H:%M:%SZ").to_string();
        e["start_time"] = json!(at(start));
        e["end_time"] = json!(at(end));
        self.set_entry(id, e);
    }

    pub fn set_entry(&self, id: &str, entry: Value) {
        self.inner
            .lock()
            .unwrap()
            .packages
            .insert(id.to_string(), entry);
    }

    /// Makes package `id` deduct from `quota_gb` what `read` (a byte counter) shows was sent,
    /// `lag` late: sampled every 20 ms by a thread that ends with the fake.
    pub fn deduct_from(
        &self,
        id: &str,
        quota_gb: f64,
        lag: Duration,
        read: impl Fn() -> Option<u64> + Send + 'static,
    ) {
        let start = read().expect("the counter can be read when the cycle begins");
        self.set_gb(id, quota_gb, quota_gb);
        self.inner.lock().unwrap().deduct = Some(Deduct {
            id: id.to_string(),
            quota_gb,
            lag,
            start,
            samples: VecDeque::new(),
        });
        let weak = Arc::downgrade(&self.inner);
        std::thread::spawn(move || {
            while let Some(inner) = weak.upgrade() {
                if let Some(bytes) = read() {
                    if let Some(d) = inner.lock().unwrap().deduct.as_mut() {
                        let now = std::time::Instant::now();
                        d.samples.push_back((now, bytes));
                        // Keep what the lag needs, and a little more.
                        while d.samples.front().is_some_and(|(at, _)| {
                            now.duration_since(*at) > d.lag * 2 + Duration::from_secs(5)
                        }) {
                            d.samples.pop_front();
                        }
                    }
                }
                drop(inner);
                std::thread::sleep(Duration::from_millis(20));
            }
        });
    }

    pub fn remove(&self, id: &str) {
        self.inner.lock().unwrap().packages.remove(id);
    }

    pub fn push(&self, reply: Reply) {
        self.inner.lock().unwrap().script.push_back(reply);
    }

    pub fn requests(&self) -> u64 {
        self.inner.lock().unwrap().requests
    }

    pub fn valid_signatures(&self) -> u64 {
        self.inner.lock().unwrap().valid_signatures
    }

    pub fn bad_signatures(&self) -> u64 {
        self.inner.lock().unwrap().bad_signatures
    }

    pub fn queries(&self) -> Vec<String> {
        self.inner.lock().unwrap().queries.clone()
    }

    pub fn bodies(&self) -> Vec<Value> {
        self.inner.lock().unwrap().bodies.clone()
    }

    pub fn last_header(&self, name: &str) -> Option<String> {
        self.inner
            .lock()
            .unwrap()
            .last_headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
    }
}

fn error(status: u16, code: &str, msg: &str) -> Response {
    let mut r = (
        StatusCode::from_u16(status).unwrap(),
        axum::Json(json!({"error_code": code, "error_msg": msg, "request_id": "fake-req-1"})),
    )
        .into_response();
    r.headers_mut()
        .insert("x-request-id", "fake-req-1".parse().unwrap());
    r
}

/// The gateway's extra rule: every header the client sent without '_' must be signed, as the
/// SDK does. `Err` holds the gateway's answer.
#[allow(clippy::result_large_err)] // a test fake: the error is the answer itself
fn check<K>(signed: Result<Signed<K>, Refused>) -> Result<Signed<K>, Response> {
    let signed = signed.map_err(|r| error(401, "APIGW.0301", &r.message()))?;
    if !signed.unsigned_headers().is_empty() {
        return Err(error(
            401,
            "APIGW.0301",
            "Incorrect IAM authentication information: unsigned header",
        ));
    }
    Ok(signed)
}

async fn handle<K: GatewayKeys + Send + Sync + 'static>(
    State(inner): State<Arc<Mutex<Inner>>>,
    uri: Uri,
    headers: HeaderMap,
    signed: Result<Signed<K>, Refused>,
) -> Response {
    let scripted = {
        let mut g = inner.lock().unwrap();
        g.requests += 1;
        g.queries.push(uri.query().unwrap_or("").to_string());
        g.last_headers = headers
            .iter()
            .map(|(k, v)| (k.as_str().to_string(), v.to_str().unwrap_or("").to_string()))
            .collect();
        g.script.pop_front()
    };
    let body = match check(signed) {
        Ok(s) => s.body,
        Err(resp) => {
            inner.lock().unwrap().bad_signatures += 1;
            return resp;
        }
    };
    inner.lock().unwrap().valid_signatures += 1;
    match scripted {
        Some(Reply::Json(status, v)) => {
            return (StatusCode::from_u16(status).unwrap(), axum::Json(v)).into_response()
        }
        Some(Reply::Raw(status, ct, text)) => {
            return (
                StatusCode::from_u16(status).unwrap(),
                [("content-type", ct)],
                text,
            )
                .into_response()
        }
        Some(Reply::Stall(d)) => tokio::time::sleep(d).await,
        None => {}
    }
    match uri.path() {
        "/v2/payments/free-resources/usages/details/query" => {
            let req: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
            let g = &mut *inner.lock().unwrap();
            g.bodies.push(req.clone());
            let ids: Vec<String> = req["free_resource_ids"]
                .as_array()
                .cloned()
                .unwrap_or_default()
                .iter()
                .filter_map(|v| v.as_str().map(String::from))
                .collect();
            if ids.len() > 100 {
                return error(400, "CBC.0100", "free_resource_ids: at most 100");
            }
            if let Some(d) = &g.deduct {
                let remaining = d.remaining_gb();
                if let Some(e) = g.packages.get_mut(&d.id) {
                    e["amount"] = json!(remaining);
                }
            }
            let entries: Vec<Value> = ids
                .iter()
                .filter_map(|id| g.packages.get(id).cloned())
                .collect();
            axum::Json(json!({ "free_resources": entries })).into_response()
        }
        "/v3/payments/free-resources/query" => {
            let g = inner.lock().unwrap();
            let resources: Vec<Value> = g.packages.values().cloned().collect();
            axum::Json(json!({
                "total_count": 1,
                "free_resource_packages": [{
                    "product_name": "Lightweight BGP data package",
                    "service_type_code": "hws.service.type.hcss",
                    "region_code": "ap-southeast-1",
                    "status": 1,
                    "effective_time": "2026-01-07T16:00:00Z",
                    "expire_time": "2027-01-07T15:59:59Z",
                    "free_resources": resources,
                }]
            }))
            .into_response()
        }
        _ => axum::Json(json!({ "echo": true })).into_response(),
    }
}
