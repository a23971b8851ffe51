//! A local fake of the Telegram Bot API `sendMessage`: checks the token, records what it accepted,
//! and can be scripted to rate-limit (429 + retry_after), fail (5xx), refuse HTML it "cannot parse",
//! or be down for a while.

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use serde_json::{json, Value};

use super::serve;

pub const TOKEN: &str = "123456:TEST-BOT-TOKEN-abcdef";
pub const CHAT: &str = "4242";

/// A scripted answer.
#[derive(Debug, Clone)]
pub enum Reply {
    RetryAfter(u64),
    Status(u16, &'static str),
    /// Refuses the message if it is sent with parse_mode HTML.
    CantParseHtml,
}

/// One accepted message.
#[derive(Debug, Clone)]
pub struct Sent {
    pub text: String,
    pub parse_mode: Option<String>,
    pub thread_id: Option<i64>,
}

#[derive(Default)]
struct Inner {
    script: VecDeque<Reply>,
    down: bool,
    sent: Vec<Sent>,
    attempts: u64,
    /// Time taken by every answer.
    delay: std::time::Duration,
    /// At most this many accepted messages per window, else 429 with `retry_after`.
    rate: Option<(usize, std::time::Duration)>,
    accepted_at: VecDeque<std::time::Instant>,
}

#[derive(Clone)]
pub struct FakeTelegram {
    pub addr: SocketAddr,
    inner: Arc<Mutex<Inner>>,
}

impl FakeTelegram {
    pub async fn start() -> Self {
        let inner = Arc::new(Mutex::new(Inner::default()));
        let app = Router::new()
            .route("/{bot}/sendMessage", post(send))
            .with_state(inner.clone());
        let addr = serve(app).await;
        Self { addr, inner }
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn push(&self, r: Reply) {
        self.inner.lock().unwrap().script.push_back(r);
    }

    pub fn set_down(&self, down: bool) {
        self.inner.lock().unwrap().down = down;
    }

    /// Every answer takes `d` (a slow Telegram).
    pub fn set_delay(&self, d: std::time::Duration) {
        self.inner.lock().unwrap().delay = d;
    }

    /// Accepts at most `n` messages per `window`, answering 429 with `retry_after` beyond.
    pub fn set_rate_limit(&self, n: usize, window: std::time::Duration) {
        self.inner.lock().unwrap().rate = Some((n, window));
    }

    pub fn sent(&self) -> Vec<Sent> {
        self.inner.lock().unwrap().sent.clone()
    }

    pub fn texts(&self) -> Vec<String> {
        self.sent().into_iter().map(|s| s.text).collect()
    }

    pub fn attempts(&self) -> u64 {
        self.inner.lock().unwrap().attempts
    }

    /// Was a message accepted that contains every one of `needles`?
    pub fn has(&self, needles: &[&str]) -> bool {
        self.texts()
            .iter()
            .any(|t| needles.iter().all(|n| t.contains(n)))
    }

    /// Accepted messages containing `needle`.
    pub fn count(&self, needle: &str) -> usize {
        self.texts().iter().filter(|t| t.contains(needle)).count()
    }
}

fn err(status: u16, description: &str, extra: Value) -> Response {
    let mut body = json!({"ok": false, "error_code": status, "description": description});
    if !extra.is_null() {
        body["parameters"] = extra;
    }
    (StatusCode::from_u16(status).unwrap(), Json(body)).into_response()
}

async fn send(
    State(inner): State<Arc<Mutex<Inner>>>,
    Path(bot): Path<String>,
    Json(body): Json<Value>,
) -> Response {
    let delay = inner.lock().unwrap().delay;
    if !delay.is_zero() {
        tokio::time::sleep(delay).await;
    }
    let mut g = inner.lock().unwrap();
    g.attempts += 1;
    if bot != format!("bot{TOKEN}") {
        return err(401, "Unauthorized", Value::Null);
    }
    if body["chat_id"].as_str() != Some(CHAT) {
        return err(400, "Bad Request: chat not found", Value::Null);
    }
    if g.down {
        return err(502, "Bad Gateway", Value::Null);
    }
    let html = body["parse_mode"].as_str() == Some("HTML");
    match g.script.pop_front() {
        Some(Reply::RetryAfter(s)) => return err(429, &format!("Too Many Requests: retry after {s}"), json!({"retry_after": s})),
        Some(Reply::Status(code, d)) => return err(code, d, Value::Null),
        Some(Reply::CantParseHtml) if html => {
            return err(400, "Bad Request: can't parse entities: Can't find end of the entity starting at byte offset 12", Value::Null)
        }
        _ => {}
    }
    if let Some((n, window)) = g.rate {
        let now = std::time::Instant::now();
        while g.accepted_at.front().is_some_and(|t| now - *t >= window) {
            g.accepted_at.pop_front();
        }
        if g.accepted_at.len() >= n {
            let wait = window - (now - g.accepted_at[0]);
            let s = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
            return err(
                429,
                &format!("Too Many Requests: retry after {s}"),
                json!({"retry_after": s}),
            );
        }
        g.accepted_at.push_back(now);
    }
    let text = body["text"].as_str().unwrap_or_default().to_string();
    if text.chars().count() > 4096 {
        return err(400, "Bad Request: message is too long", Value::Null);
    }
    g.sent.push(Sent {
        text,
        parse_mode: body["parse_mode"].as_str().map(String::from),
        thread_id: body["message_thread_id"].as_i64(),
    });
    Json(json!({"ok": true, "result": {"message_id": g.sent.len()}})).into_response()
}
