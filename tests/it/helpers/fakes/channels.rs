//! Local fakes of the notification services, all on one loopback server: Feishu, DingTalk, WeCom,
//! ServerChan, PushPlus, Bark and a generic webhook receiver. Each checks the documented request
//! (path, key, body shape, size limit, signature with its timestamp window), answers with the
//! service's own success and error shapes (Feishu and DingTalk: HTTP 200 with a code in the body),
//! can be scripted to fail or be down, and rate-limits with the service's own throttling answer.

use std::collections::{HashMap, VecDeque};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use base64::Engine;
use hmac::{Hmac, Mac};
use serde_json::{json, Value};

use super::serve;
use sha2::Sha256;

pub const FEISHU_HOOK: &str = "feishu-hook-0123456789";
pub const FEISHU_SECRET: &str = "feishu-secret-abcdef";
pub const DINGTALK_TOKEN: &str = "dingtalk-token-0123456789";
pub const DINGTALK_SECRET: &str = "SECdingtalk0123456789";
pub const WECOM_KEY: &str = "wecom-key-0123456789";
pub const SERVERCHAN_KEY: &str = "SCT0123456789abcdef";
pub const PUSHPLUS_TOKEN: &str = "pushplus-token-0123456789";
pub const BARK_KEY: &str = "barkdevicekey0123456789";
pub const WEBHOOK_PATH: &str = "hook-path-0123456789";
pub const WEBHOOK_SECRET: &str = "webhook-secret-0123456789";

/// Every secret above, for leak checks.
pub const SECRETS: &[&str] = &[
    FEISHU_HOOK,
    FEISHU_SECRET,
    DINGTALK_TOKEN,
    DINGTALK_SECRET,
    WECOM_KEY,
    SERVERCHAN_KEY,
    PUSHPLUS_TOKEN,
    BARK_KEY,
    WEBHOOK_PATH,
    WEBHOOK_SECRET,
];

pub const SERVICES: &[&str] = &[
    "feishu",
    "dingtalk",
    "wecom",
    "serverchan",
    "pushplus",
    "bark",
    "webhook",
];

/// One accepted message.
#[derive(Debug, Clone)]
pub struct Received {
    pub title: String,
    /// The text as sent (markup included).
    pub text: String,
    /// The whole request body.
    pub body: Value,
}

#[derive(Default)]
struct Inner {
    received: HashMap<&'static str, Vec<Received>>,
    script: HashMap<&'static str, VecDeque<(u16, Value)>>,
    down: HashMap<&'static str, bool>,
    rate: HashMap<&'static str, (usize, Duration)>,
    accepted_at: HashMap<&'static str, VecDeque<Instant>>,
    attempts: HashMap<&'static str, usize>,
    dingtalk_uuids: Vec<String>,
}

#[derive(Clone)]
pub struct FakeChannels {
    pub addr: SocketAddr,
    inner: Arc<Mutex<Inner>>,
}

type S = State<Arc<Mutex<Inner>>>;

impl FakeChannels {
    pub async fn start() -> Self {
        let inner = Arc::new(Mutex::new(Inner::default()));
        let app = Router::new()
            .route("/feishu/open-apis/bot/v2/hook/{hook}", post(feishu))
            .route("/dingtalk/robot/send", post(dingtalk))
            .route("/wecom/cgi-bin/webhook/send", post(wecom))
            .route("/serverchan/{key}", post(serverchan))
            .route("/pushplus/send", post(pushplus))
            .route("/bark/{key}", post(bark))
            .route("/webhook/{path}", post(webhook))
            .with_state(inner.clone());
        let addr = serve(app).await;
        Self { addr, inner }
    }

    /// Environment configuring every channel against this fake (signing on).
    pub fn env(&self) -> Vec<(String, String)> {
        let u = format!("http://{}", self.addr);
        [
            (
                "FEISHU_WEBHOOK_URL",
                format!("{u}/feishu/open-apis/bot/v2/hook/{FEISHU_HOOK}"),
            ),
            ("FEISHU_SECRET", FEISHU_SECRET.into()),
            (
                "DINGTALK_WEBHOOK_URL",
                format!("{u}/dingtalk/robot/send?access_token={DINGTALK_TOKEN}"),
            ),
            ("DINGTALK_SECRET", DINGTALK_SECRET.into()),
            (
                "WECOM_WEBHOOK_URL",
                format!("{u}/wecom/cgi-bin/webhook/send?key={WECOM_KEY}"),
            ),
            ("SERVERCHAN_SENDKEY", SERVERCHAN_KEY.into()),
            ("SERVERCHAN_API_URL", format!("{u}/serverchan")),
            ("PUSHPLUS_TOKEN", PUSHPLUS_TOKEN.into()),
            ("PUSHPLUS_API_URL", format!("{u}/pushplus")),
            ("BARK_URL", format!("{u}/bark/{BARK_KEY}")),
            ("NOTIFY_WEBHOOK_URL", format!("{u}/webhook/{WEBHOOK_PATH}")),
            ("NOTIFY_WEBHOOK_SECRET", WEBHOOK_SECRET.into()),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect()
    }

    /// The next answer of `service` (status, body) instead of accepting.
    pub fn push(&self, service: &'static str, status: u16, body: Value) {
        self.inner
            .lock()
            .unwrap()
            .script
            .entry(service)
            .or_default()
            .push_back((status, body));
    }

    /// `service` answers its "system busy" error to everything.
    pub fn set_down(&self, service: &'static str, down: bool) {
        self.inner.lock().unwrap().down.insert(service, down);
    }

    /// `service` accepts at most `n` messages per `window`, then answers its throttling error.
    pub fn set_rate_limit(&self, service: &'static str, n: usize, window: Duration) {
        self.inner.lock().unwrap().rate.insert(service, (n, window));
    }

    pub fn received(&self, service: &str) -> Vec<Received> {
        self.inner
            .lock()
            .unwrap()
            .received
            .get(service)
            .cloned()
            .unwrap_or_default()
    }

    pub fn attempts(&self, service: &str) -> usize {
        self.inner
            .lock()
            .unwrap()
            .attempts
            .get(service)
            .copied()
            .unwrap_or(0)
    }

    /// Accepted messages of `service` whose text contains `needle`.
    pub fn count(&self, service: &str, needle: &str) -> usize {
        self.received(service)
            .iter()
            .filter(|r| r.text.contains(needle))
            .count()
    }
}

/// Common gate: counts the attempt, then the script, the outage and the rate limit, each with the
/// service's own answer. `Some` is the answer to give instead of accepting.
fn gate(inner: &mut Inner, service: &'static str) -> Option<Response> {
    *inner.attempts.entry(service).or_default() += 1;
    if let Some((status, body)) = inner.script.get_mut(service).and_then(VecDeque::pop_front) {
        return Some((StatusCode::from_u16(status).unwrap(), Json(body)).into_response());
    }
    if inner.down.get(service).copied().unwrap_or(false) {
        return Some(match service {
            "feishu" => ok_json(json!({"code": 11232, "msg": "system busy"})),
            "dingtalk" => ok_json(json!({"errcode": -1, "errmsg": "系统繁忙"})),
            "wecom" => ok_json(json!({"errcode": -1, "errmsg": "system busy"})),
            "pushplus" => ok_json(json!({"code": 500, "msg": "系统异常，请稍后再试"})),
            "bark" => (
                StatusCode::INTERNAL_SERVER_ERROR,
                Json(json!({"code": 500, "message": "push failed: apns down"})),
            )
                .into_response(),
            _ => (StatusCode::BAD_GATEWAY, "bad gateway").into_response(),
        });
    }
    if let Some((n, window)) = inner.rate.get(service).copied() {
        let now = Instant::now();
        let q = inner.accepted_at.entry(service).or_default();
        while q.front().is_some_and(|t| now - *t >= window) {
            q.pop_front();
        }
        if q.len() >= n {
            return Some(match service {
                "feishu" => ok_json(
                    json!({"code": 11232, "msg": "frequency limited psm[lark.oapi.app_platform_runtime]appID[1]"}),
                ),
                "dingtalk" => ok_json(json!({"errcode": 410100, "errmsg": "send too fast"})),
                "wecom" => ok_json(json!({"errcode": 45009, "errmsg": "api freq out of limit"})),
                "pushplus" => ok_json(json!({"code": 900, "msg": "用户账号使用受限"})),
                _ => (
                    StatusCode::TOO_MANY_REQUESTS,
                    [("retry-after", "1")],
                    Json(json!({"code": 429, "message": "too many requests"})),
                )
                    .into_response(),
            });
        }
        q.push_back(now);
    }
    None
}

fn ok_json(v: Value) -> Response {
    Json(v).into_response()
}

fn record(inner: &mut Inner, service: &'static str, title: &str, text: &str, body: &Value) {
    inner.received.entry(service).or_default().push(Received {
        title: title.to_string(),
        text: text.to_string(),
        body: body.clone(),
    });
}

fn b64_hmac(key: &[u8], msg: &[u8]) -> String {
    let mut m = Hmac::<Sha256>::new_from_slice(key).unwrap();
    m.update(msg);
    base64::engine::general_purpose::STANDARD.encode(m.finalize().into_bytes())
}

fn now_s() -> i64 {
    chrono::Utc::now().timestamp()
}

async fn feishu(State(inner): S, Path(hook): Path<String>, raw: Bytes) -> Response {
    let mut g = inner.lock().unwrap();
    if hook != FEISHU_HOOK {
        return ok_json(
            json!({"code": 19001, "msg": "param invalid: incoming webhook access token invalid"}),
        );
    }
    if raw.len() > 20 * 1024 {
        return ok_json(json!({"code": 9499, "msg": "Bad Request", "data": {}}));
    }
    let Ok(body) = serde_json::from_slice::<Value>(&raw) else {
        return ok_json(json!({"code": 9499, "msg": "Bad Request", "data": {}}));
    };
    // Signature: key = timestamp + "\n" + secret, message empty; timestamp (seconds) within 1 h.
    let ts: i64 = body["timestamp"]
        .as_str()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let want = b64_hmac(format!("{ts}\n{FEISHU_SECRET}").as_bytes(), b"");
    if (now_s() - ts).abs() > 3600 || body["sign"].as_str() != Some(want.as_str()) {
        return ok_json(
            json!({"code": 19021, "msg": "sign match fail or timestamp is not within one hour from current time"}),
        );
    }
    if let Some(r) = gate(&mut g, "feishu") {
        return r;
    }
    let (title, text) = match body["msg_type"].as_str() {
        Some("interactive") => {
            let card = &body["card"];
            let el = &card["body"]["elements"][0];
            if card["schema"] != "2.0" || el["tag"] != "markdown" || !el["content"].is_string() {
                return ok_json(json!({"code": 9499, "msg": "Bad Request", "data": {}}));
            }
            (
                card["header"]["title"]["content"]
                    .as_str()
                    .unwrap_or_default(),
                el["content"].as_str().unwrap_or_default(),
            )
        }
        Some("text") => ("", body["content"]["text"].as_str().unwrap_or_default()),
        _ => return ok_json(json!({"code": 9499, "msg": "Bad Request", "data": {}})),
    };
    let (title, text) = (title.to_string(), text.to_string());
    record(&mut g, "feishu", &title, &text, &body);
    ok_json(
        json!({"StatusCode": 0, "StatusMessage": "success", "code": 0, "data": {}, "msg": "success"}),
    )
}

async fn dingtalk(
    State(inner): S,
    headers: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
    raw: Bytes,
) -> Response {
    let mut g = inner.lock().unwrap();
    if q.get("access_token").map(String::as_str) != Some(DINGTALK_TOKEN) {
        return ok_json(json!({"errcode": 400101, "errmsg": "access_token不存在"}));
    }
    if !headers
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .starts_with("application/json")
    {
        return ok_json(json!({"errcode": 43004, "errmsg": "无效的HTTP HEADER Content-Type"}));
    }
    // Signature: HMAC-SHA256 keyed with the secret over timestamp + "\n" + secret; ms; within 1 h.
    // (Query extraction has already decoded the sign once.)
    let ts: i64 = q.get("timestamp").and_then(|s| s.parse().ok()).unwrap_or(0);
    let want = b64_hmac(
        DINGTALK_SECRET.as_bytes(),
        format!("{ts}\n{DINGTALK_SECRET}").as_bytes(),
    );
    if (chrono::Utc::now().timestamp_millis() - ts).abs() > 3_600_000 {
        return ok_json(json!({"errcode": 310000, "errmsg": "invalid timestamp"}));
    }
    if q.get("sign") != Some(&want) {
        return ok_json(json!({"errcode": 310000, "errmsg": "sign not match"}));
    }
    if raw.len() > 20_000 {
        return ok_json(
            json!({"errcode": 460101, "errmsg": "message too long, exceed 20000 bytes"}),
        );
    }
    let Ok(body) = serde_json::from_slice::<Value>(&raw) else {
        return ok_json(json!({"errcode": 40035, "errmsg": "缺少参数 json"}));
    };
    if let Some(r) = gate(&mut g, "dingtalk") {
        return r;
    }
    let (title, text) = match body["msgtype"].as_str() {
        Some("markdown")
            if body["markdown"]["title"].is_string() && body["markdown"]["text"].is_string() =>
        {
            (
                body["markdown"]["title"].as_str().unwrap().to_string(),
                body["markdown"]["text"].as_str().unwrap().to_string(),
            )
        }
        Some("text") if body["text"]["content"].is_string() => (
            String::new(),
            body["text"]["content"].as_str().unwrap().to_string(),
        ),
        _ => return ok_json(json!({"errcode": 400105, "errmsg": "不支持的消息类型"})),
    };
    // msgUuid: a retry of an accepted message is not posted twice.
    if let Some(id) = body["msgUuid"].as_str() {
        if g.dingtalk_uuids.iter().any(|u| u == id) {
            return ok_json(json!({"errcode": 0, "errmsg": "ok"}));
        }
        g.dingtalk_uuids.push(id.to_string());
    }
    record(&mut g, "dingtalk", &title, &text, &body);
    ok_json(json!({"errcode": "0", "errmsg": "ok"}))
}

async fn wecom(State(inner): S, Query(q): Query<HashMap<String, String>>, raw: Bytes) -> Response {
    let mut g = inner.lock().unwrap();
    if q.get("key").map(String::as_str) != Some(WECOM_KEY) {
        return ok_json(json!({"errcode": 93000, "errmsg": "invalid webhook url"}));
    }
    let Ok(body) = serde_json::from_slice::<Value>(&raw) else {
        return ok_json(json!({"errcode": 40001, "errmsg": "Warning: wrong json format."}));
    };
    if let Some(r) = gate(&mut g, "wecom") {
        return r;
    }
    let (text, max) = match body["msgtype"].as_str() {
        Some("markdown") => (body["markdown"]["content"].as_str(), 4096),
        Some("text") => (body["text"]["content"].as_str(), 2048),
        _ => return ok_json(json!({"errcode": 40008, "errmsg": "invalid message type"})),
    };
    let Some(text) = text.map(str::to_string) else {
        return ok_json(json!({"errcode": 44004, "errmsg": "empty content"}));
    };
    if text.len() > max {
        return ok_json(json!({"errcode": 45002, "errmsg": "content exceed max length"}));
    }
    record(&mut g, "wecom", "", &text, &body);
    ok_json(json!({"errcode": 0, "errmsg": "ok"}))
}

async fn serverchan(State(inner): S, Path(key): Path<String>, Json(body): Json<Value>) -> Response {
    let mut g = inner.lock().unwrap();
    if key != format!("{SERVERCHAN_KEY}.send") {
        return ok_json(json!({"code": 40001, "message": "bad pushtoken"}));
    }
    if let Some(r) = gate(&mut g, "serverchan") {
        return r;
    }
    let title = body["title"].as_str().unwrap_or_default().to_string();
    let desp = body["desp"].as_str().unwrap_or_default().to_string();
    if title.is_empty() || title.chars().count() > 32 || desp.len() > 32 * 1024 {
        return ok_json(json!({"code": 40002, "message": "title or desp too long"}));
    }
    record(&mut g, "serverchan", &title, &desp, &body);
    ok_json(
        json!({"code": 0, "message": "", "data": {"pushid": "1", "readkey": "r", "error": "SUCCESS", "errno": 0}}),
    )
}

async fn pushplus(State(inner): S, headers: HeaderMap, Json(body): Json<Value>) -> Response {
    let mut g = inner.lock().unwrap();
    if !headers
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .starts_with("application/json")
    {
        return ok_json(json!({"code": 999, "msg": "content-type"}));
    }
    if body["token"].as_str() != Some(PUSHPLUS_TOKEN) {
        return ok_json(json!({"code": 903, "msg": "无效的用户token"}));
    }
    if let Some(r) = gate(&mut g, "pushplus") {
        return r;
    }
    let content = body["content"].as_str().unwrap_or_default().to_string();
    if content.is_empty() || !matches!(body["template"].as_str(), Some("markdown" | "txt")) {
        return ok_json(json!({"code": 600, "msg": "数据异常"}));
    }
    let title = body["title"].as_str().unwrap_or_default().to_string();
    record(&mut g, "pushplus", &title, &content, &body);
    ok_json(json!({"code": 200, "msg": "请求成功", "data": "serial-1"}))
}

async fn bark(State(inner): S, Path(key): Path<String>, Json(body): Json<Value>) -> Response {
    let mut g = inner.lock().unwrap();
    if key != BARK_KEY {
        return (StatusCode::BAD_REQUEST, Json(json!({"code": 400, "message": "failed to get device token: failed to get [x] device token from database", "timestamp": now_s()}))).into_response();
    }
    if let Some(r) = gate(&mut g, "bark") {
        return r;
    }
    let raw = serde_json::to_vec(&body).unwrap();
    if raw.len() > 4096 {
        return (
            StatusCode::INTERNAL_SERVER_ERROR,
            Json(json!({"code": 500, "message": "push failed: PayloadTooLarge"})),
        )
            .into_response();
    }
    let title = body["title"].as_str().unwrap_or_default().to_string();
    let text = body["body"].as_str().unwrap_or_default().to_string();
    record(&mut g, "bark", &title, &text, &body);
    ok_json(json!({"code": 200, "message": "success", "timestamp": now_s()}))
}

async fn webhook(
    State(inner): S,
    Path(path): Path<String>,
    headers: HeaderMap,
    raw: Bytes,
) -> Response {
    let mut g = inner.lock().unwrap();
    if path != WEBHOOK_PATH {
        return (StatusCode::NOT_FOUND, "no such hook").into_response();
    }
    let ts = headers
        .get("x-flexus-timestamp")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string();
    let mut m = Hmac::<Sha256>::new_from_slice(WEBHOOK_SECRET.as_bytes()).unwrap();
    m.update(format!("{ts}.").as_bytes());
    m.update(&raw);
    let want = format!("sha256={}", hex::encode(m.finalize().into_bytes()));
    if headers
        .get("x-flexus-signature")
        .and_then(|v| v.to_str().ok())
        != Some(want.as_str())
    {
        return (StatusCode::UNAUTHORIZED, "bad signature").into_response();
    }
    if let Some(r) = gate(&mut g, "webhook") {
        return r;
    }
    let body: Value = match serde_json::from_slice(&raw) {
        Ok(v) => v,
        Err(_) => return (StatusCode::BAD_REQUEST, "not json").into_response(),
    };
    for k in ["version", "id", "kind", "server", "text", "part", "parts"] {
        if body.get(k).is_none() {
            return (StatusCode::UNPROCESSABLE_ENTITY, format!("{k} missing")).into_response();
        }
    }
    let text = body["text"].as_str().unwrap_or_default().to_string();
    record(&mut g, "webhook", "", &text, &body);
    StatusCode::NO_CONTENT.into_response()
}
