//! A local fake of the Telegram Bot API: `sendMessage` checks the token, records what it accepted
//! (with its inline keyboard, checked against the documented shape), and can be scripted to
//! rate-limit (429 + retry_after), fail (5xx), refuse HTML it "cannot parse", or be down for a
//! while. `getUpdates` long-polls the updates a test queued (as Telegram does: those at or above
//! the offset, the ones below it confirmed and dropped) and can be scripted to fail;
//! `answerCallbackQuery` records the answers to button presses.

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
    /// The inline keyboard's buttons, `(text, callback_data)`, row after row.
    pub buttons: Vec<(String, String)>,
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
    /// Updates not confirmed yet (Telegram drops those below the offset of a later call).
    updates: Vec<Value>,
    /// Every update ever queued.
    all_updates: Vec<Value>,
    next_update_id: i64,
    /// Scripted answers of `getUpdates`.
    updates_script: VecDeque<Reply>,
    /// The offset of every `getUpdates` call, in order.
    offsets: Vec<i64>,
    /// Answers to button presses: `(callback_query_id, text)`.
    callback_answers: Vec<(String, String)>,
    /// `getUpdates` calls, a wrong token's included.
    update_calls: u64,
}

struct Shared {
    inner: Mutex<Inner>,
    /// Wakes a waiting `getUpdates` when an update is queued.
    queued: tokio::sync::Notify,
}

#[derive(Clone)]
pub struct FakeTelegram {
    pub addr: SocketAddr,
    shared: Arc<Shared>,
}

impl FakeTelegram {
    pub async fn start() -> Self {
        let shared = Arc::new(Shared {
            inner: Mutex::new(Inner {
                next_update_id: 1000,
                ..Inner::default()
            }),
            queued: tokio::sync::Notify::new(),
        });
        let app = Router::new()
            .route("/{bot}/sendMessage", post(send))
            .route("/{bot}/getUpdates", post(get_updates))
            .route("/{bot}/answerCallbackQuery", post(answer_callback))
            .route("/{bot}/getMe", post(get_me))
            .with_state(shared.clone());
        let addr = serve(app).await;
        Self { addr, shared }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.shared.inner.lock().unwrap()
    }

    fn queue(&self, mut update: Value) -> i64 {
        let id = {
            let mut g = self.lock();
            let id = g.next_update_id;
            g.next_update_id += 1;
            update["update_id"] = json!(id);
            g.all_updates.push(update.clone());
            g.updates.push(update);
            id
        };
        self.shared.queued.notify_waiters();
        id
    }

    /// Queues a text message from `user` in `chat`; returns its update id.
    pub fn push_text(&self, chat: i64, user: i64, text: &str) -> i64 {
        self.push_text_at(chat, user, text, chrono::Utc::now())
    }

    /// Like [`Self::push_text`], for a message sent at `at`.
    pub fn push_text_at(
        &self,
        chat: i64,
        user: i64,
        text: &str,
        at: chrono::DateTime<chrono::Utc>,
    ) -> i64 {
        self.queue(json!({
            "message": {
                "message_id": 1,
                "date": at.timestamp(),
                "chat": {"id": chat, "type": "group", "title": "ops"},
                "from": {"id": user, "is_bot": false, "first_name": "Ops"},
                "text": text,
                "entities": [{"type": "bot_command", "offset": 0, "length": text.split(' ').next().unwrap_or("").len()}],
            }
        }))
    }

    /// Queues a press by `user` in `chat` of a button with `data`; returns the callback query id.
    pub fn push_press(&self, chat: i64, user: i64, data: &str) -> String {
        let id = format!("cb-{}", self.lock().next_update_id);
        self.queue(json!({
            "callback_query": {
                "id": id,
                "from": {"id": user, "is_bot": false, "first_name": "Ops"},
                "chat_instance": "42",
                "data": data,
                "message": {
                    "message_id": 2,
                    "date": chrono::Utc::now().timestamp(),
                    "chat": {"id": chat, "type": "group", "title": "ops"},
                    "text": "confirm?",
                },
            }
        }));
        id
    }

    /// Forgets which updates were confirmed: as if the confirmations never reached Telegram, so
    /// a `getUpdates` without the right offset gets every update again.
    pub fn forget_confirmations(&self) {
        let mut g = self.lock();
        g.updates = g.all_updates.clone();
    }

    /// Scripts the next answer of `getUpdates`.
    pub fn push_updates_reply(&self, r: Reply) {
        self.lock().updates_script.push_back(r);
    }

    /// How many `getUpdates` calls arrived (a wrong token's included).
    pub fn update_calls(&self) -> u64 {
        self.lock().update_calls
    }

    /// The offset of every `getUpdates` call so far.
    pub fn offsets(&self) -> Vec<i64> {
        self.lock().offsets.clone()
    }

    /// Answers to button presses, `(callback_query_id, text)`.
    pub fn callback_answers(&self) -> Vec<(String, String)> {
        self.lock().callback_answers.clone()
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn push(&self, r: Reply) {
        self.lock().script.push_back(r);
    }

    pub fn set_down(&self, down: bool) {
        self.lock().down = down;
    }

    /// Every answer takes `d` (a slow Telegram).
    pub fn set_delay(&self, d: std::time::Duration) {
        self.lock().delay = d;
    }

    /// Accepts at most `n` messages per `window`, answering 429 with `retry_after` beyond.
    pub fn set_rate_limit(&self, n: usize, window: std::time::Duration) {
        self.lock().rate = Some((n, window));
    }

    pub fn sent(&self) -> Vec<Sent> {
        self.lock().sent.clone()
    }

    pub fn texts(&self) -> Vec<String> {
        self.sent().into_iter().map(|s| s.text).collect()
    }

    pub fn attempts(&self) -> u64 {
        self.lock().attempts
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

/// The buttons of an inline keyboard, checked against the Bot API's `InlineKeyboardMarkup`: an
/// array of rows, each an array of buttons with a `text` and a `callback_data` of 1-64 bytes.
fn buttons(markup: &Value) -> Result<Vec<(String, String)>, String> {
    let rows = markup["inline_keyboard"]
        .as_array()
        .ok_or("reply_markup without an inline_keyboard array")?;
    let mut out = Vec::new();
    for row in rows {
        for b in row
            .as_array()
            .ok_or("an inline_keyboard row is not an array")?
        {
            let text = b["text"].as_str().ok_or("a button without text")?;
            let data = b["callback_data"]
                .as_str()
                .ok_or("a button without callback_data")?;
            if data.is_empty() || data.len() > 64 {
                return Err("BUTTON_DATA_INVALID".into());
            }
            out.push((text.to_string(), data.to_string()));
        }
    }
    Ok(out)
}

/// The 401 of a wrong token, if it is.
fn wrong_token(bot: &str) -> Option<Response> {
    (bot != format!("bot{TOKEN}")).then(|| err(401, "Unauthorized", Value::Null))
}

async fn get_updates(
    State(shared): State<Arc<Shared>>,
    Path(bot): Path<String>,
    Json(body): Json<Value>,
) -> Response {
    shared.inner.lock().unwrap().update_calls += 1;
    if let Some(r) = wrong_token(&bot) {
        return r;
    }
    let (Some(offset), Some(timeout)) = (body["offset"].as_i64(), body["timeout"].as_u64()) else {
        return err(
            400,
            "Bad Request: offset and timeout must be integers",
            Value::Null,
        );
    };
    let allowed: Vec<&str> = body["allowed_updates"]
        .as_array()
        .map(|a| a.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    if allowed != ["message", "callback_query"] {
        return err(
            400,
            "Bad Request: allowed_updates must ask for message and callback_query",
            Value::Null,
        );
    }
    {
        let mut g = shared.inner.lock().unwrap();
        g.offsets.push(offset);
        match g.updates_script.pop_front() {
            Some(Reply::RetryAfter(s)) => {
                return err(
                    429,
                    &format!("Too Many Requests: retry after {s}"),
                    json!({"retry_after": s}),
                )
            }
            Some(Reply::Status(code, d)) => return err(code, d, Value::Null),
            _ => {}
        }
        // Telegram forgets the updates below the offset: they are confirmed.
        g.updates
            .retain(|u| u["update_id"].as_i64().unwrap_or(0) >= offset);
    }
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(timeout);
    loop {
        let woken = shared.queued.notified();
        let ready: Vec<Value> = shared.inner.lock().unwrap().updates.clone();
        if !ready.is_empty() || tokio::time::Instant::now() >= deadline {
            return Json(json!({"ok": true, "result": ready})).into_response();
        }
        let _ = tokio::time::timeout_at(deadline, woken).await;
    }
}

async fn answer_callback(
    State(shared): State<Arc<Shared>>,
    Path(bot): Path<String>,
    Json(body): Json<Value>,
) -> Response {
    if let Some(r) = wrong_token(&bot) {
        return r;
    }
    let Some(id) = body["callback_query_id"].as_str() else {
        return err(
            400,
            "Bad Request: callback_query_id is required",
            Value::Null,
        );
    };
    let text = body["text"].as_str().unwrap_or_default();
    if text.chars().count() > 200 {
        return err(400, "Bad Request: MESSAGE_TOO_LONG", Value::Null);
    }
    shared
        .inner
        .lock()
        .unwrap()
        .callback_answers
        .push((id.to_string(), text.to_string()));
    Json(json!({"ok": true, "result": true})).into_response()
}

async fn send(
    State(shared): State<Arc<Shared>>,
    Path(bot): Path<String>,
    Json(body): Json<Value>,
) -> Response {
    let delay = shared.inner.lock().unwrap().delay;
    if !delay.is_zero() {
        tokio::time::sleep(delay).await;
    }
    let mut g = shared.inner.lock().unwrap();
    g.attempts += 1;
    if let Some(r) = wrong_token(&bot) {
        return r;
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
    let buttons = match body.get("reply_markup") {
        None => Vec::new(),
        Some(m) => match buttons(m) {
            Ok(b) => b,
            Err(e) => return err(400, &format!("Bad Request: {e}"), Value::Null),
        },
    };
    g.sent.push(Sent {
        text,
        parse_mode: body["parse_mode"].as_str().map(String::from),
        thread_id: body["message_thread_id"].as_i64(),
        buttons,
    });
    Json(json!({"ok": true, "result": {"message_id": g.sent.len()}})).into_response()
}

/// The fake bot's username, as `getMe` reports it.
pub const BOT_USERNAME: &str = "flexus_test_bot";

async fn get_me(Path(bot): Path<String>) -> Response {
    if let Some(r) = wrong_token(&bot) {
        return r;
    }
    Json(json!({"ok": true, "result": {
        "id": 123, "is_bot": true, "first_name": "Flexus", "username": BOT_USERNAME,
        "can_join_groups": true, "can_read_all_group_messages": false, "supports_inline_queries": false,
    }}))
    .into_response()
}
