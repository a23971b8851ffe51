//! The Telegram Bot API client: `sendMessage` and nothing else.
//!
//! Answers are classified by what the caller must do (Bot API docs: `ok`, `error_code`,
//! `description`, `parameters.retry_after`): wait as told on 429, back off on 5xx and network errors,
//! resend as plain text on "can't parse entities", and keep the message when the chat or token is
//! wrong (the user can fix those). The bot token sits in the URL path, so no error of this module
//! carries a URL, and descriptions are scrubbed of the token.

use std::time::Duration;

use serde::Deserialize;
use serde_json::json;
use url::Url;

use crate::huawei::transport::error_chain;
use crate::secret::Secret;

/// Telegram's limit on one message, in characters.
pub const MAX_MESSAGE_CHARS: usize = 4096;

/// Why a message was not accepted.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum TelegramError {
    #[error("Telegram asks to wait {0:?} (429 Too Many Requests)")]
    RetryAfter(Duration),
    #[error("Telegram cannot parse the message's HTML: {0}")]
    ParseEntities(String),
    #[error("Telegram server error HTTP {status}: {description}")]
    Server { status: u16, description: String },
    #[error("network error talking to Telegram: {0}")]
    Network(String),
    /// The token or chat is wrong (401/403/404, "chat not found"): only the user can fix it.
    #[error("Telegram refused the bot or chat (HTTP {status}: {description}); check TELEGRAM_BOT_TOKEN and TELEGRAM_CHAT_ID, and that the bot may post in the chat")]
    Unauthorized { status: u16, description: String },
    /// This message itself was refused (400).
    #[error("Telegram refused the message (HTTP {status}: {description})")]
    Rejected { status: u16, description: String },
}

/// What Telegram answered, as it said it.
#[derive(Debug, Clone)]
pub struct RawAnswer {
    pub status: u16,
    pub body: String,
}

#[derive(Deserialize, Default)]
struct Answer {
    #[serde(default)]
    ok: bool,
    #[serde(default)]
    description: Option<String>,
    #[serde(default)]
    parameters: Option<Parameters>,
}

#[derive(Deserialize, Default)]
struct Parameters {
    #[serde(default)]
    retry_after: Option<u64>,
}

/// A client bound to one bot and one chat.
#[derive(Debug, Clone)]
pub struct TelegramClient {
    http: reqwest::Client,
    api: Url,
    token: Secret,
    chat_id: String,
    thread_id: Option<i64>,
}

impl TelegramClient {
    /// # Errors
    /// When the HTTP client cannot be built.
    pub fn new(
        api: Url,
        token: Secret,
        chat_id: String,
        thread_id: Option<i64>,
        timeout: Duration,
    ) -> Result<Self, TelegramError> {
        // reqwest reads HTTPS_PROXY / ALL_PROXY from the environment by default.
        let http = reqwest::Client::builder()
            .timeout(timeout)
            .connect_timeout(timeout.min(Duration::from_secs(10)))
            .build()
            .map_err(|e| TelegramError::Network(error_chain(&e.without_url())))?;
        Ok(Self {
            http,
            api,
            token,
            chat_id,
            thread_id,
        })
    }

    fn scrub(&self, s: &str) -> String {
        s.replace(self.token.expose(), "[redacted]")
    }

    /// The chat this client posts in (`TELEGRAM_CHAT_ID`).
    pub fn chat_id(&self) -> &str {
        &self.chat_id
    }

    /// Calls the Bot API method `method` with a JSON body and returns Telegram's answer verbatim
    /// (status and body, scrubbed of the token). `timeout` replaces the client's own (a long poll
    /// waits longer than an ordinary call).
    ///
    /// # Errors
    /// Only network errors; any HTTP answer is returned.
    pub async fn call(
        &self,
        method: &str,
        body: &serde_json::Value,
        timeout: Option<Duration>,
    ) -> Result<RawAnswer, TelegramError> {
        let base = self.api.as_str().trim_end_matches('/');
        let url = format!("{base}/bot{}/{method}", self.token.expose());
        let mut req = self.http.post(url).json(body);
        if let Some(t) = timeout {
            req = req.timeout(t);
        }
        let resp = req
            .send()
            .await
            .map_err(|e| TelegramError::Network(self.scrub(&error_chain(&e.without_url()))))?;
        let status = resp.status().as_u16();
        let body = resp
            .text()
            .await
            .map_err(|e| TelegramError::Network(self.scrub(&error_chain(&e.without_url()))))?;
        Ok(RawAnswer {
            status,
            body: self.scrub(&body),
        })
    }

    /// The body of a `sendMessage` of `text` to the configured chat (and topic).
    pub fn message_body(&self, text: &str, html: bool) -> serde_json::Value {
        let mut body =
            json!({ "chat_id": self.chat_id, "text": text, "disable_web_page_preview": true });
        if html {
            body["parse_mode"] = json!("HTML");
        }
        if let Some(t) = self.thread_id {
            body["message_thread_id"] = json!(t);
        }
        body
    }

    /// Sends `text` and returns Telegram's answer verbatim (status and body).
    ///
    /// # Errors
    /// Only network errors; any HTTP answer is returned.
    pub async fn send_raw(&self, text: &str, html: bool) -> Result<RawAnswer, TelegramError> {
        self.call("sendMessage", &self.message_body(text, html), None)
            .await
    }

    /// Sends `text` and says whether Telegram accepted it.
    ///
    /// # Errors
    /// See [`TelegramError`].
    pub async fn send(&self, text: &str, html: bool) -> Result<(), TelegramError> {
        let raw = self.send_raw(text, html).await?;
        classify(&raw)
    }
}

/// Classifies an answer.
pub fn classify(raw: &RawAnswer) -> Result<(), TelegramError> {
    let answer: Answer = serde_json::from_str(&raw.body).unwrap_or_default();
    if (200..300).contains(&raw.status) && answer.ok {
        return Ok(());
    }
    let description: String = answer
        .description
        .clone()
        .unwrap_or_else(|| raw.body.chars().take(200).collect())
        .chars()
        .take(300)
        .collect();
    let lower = description.to_ascii_lowercase();
    Err(match raw.status {
        429 => TelegramError::RetryAfter(Duration::from_secs(
            answer
                .parameters
                .and_then(|p| p.retry_after)
                .unwrap_or(5)
                .clamp(1, 3600),
        )),
        400 if lower.contains("can't parse entities")
            || lower.contains("can\u{2019}t parse entities") =>
        {
            TelegramError::ParseEntities(description)
        }
        400 if lower.contains("chat not found") || lower.contains("thread not found") => {
            TelegramError::Unauthorized {
                status: 400,
                description,
            }
        }
        401 | 403 | 404 => TelegramError::Unauthorized {
            status: raw.status,
            description,
        },
        500..=599 => TelegramError::Server {
            status: raw.status,
            description,
        },
        // 2xx with ok=false, or anything else: treat as transient, keep the message.
        s if !(400..500).contains(&s) => TelegramError::Server {
            status: s,
            description,
        },
        s => TelegramError::Rejected {
            status: s,
            description,
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn c(status: u16, body: &str) -> Result<(), TelegramError> {
        classify(&RawAnswer {
            status,
            body: body.into(),
        })
    }

    #[test]
    fn answers_map_to_what_to_do() {
        assert_eq!(c(200, r#"{"ok":true,"result":{}}"#), Ok(()));
        assert_eq!(
            c(
                429,
                r#"{"ok":false,"error_code":429,"description":"Too Many Requests: retry after 7","parameters":{"retry_after":7}}"#
            ),
            Err(TelegramError::RetryAfter(Duration::from_secs(7)))
        );
        assert!(matches!(
            c(
                400,
                r#"{"ok":false,"error_code":400,"description":"Bad Request: can't parse entities: Can't find end of the entity starting at byte offset 10"}"#
            ),
            Err(TelegramError::ParseEntities(_))
        ));
        assert!(matches!(
            c(
                400,
                r#"{"ok":false,"description":"Bad Request: chat not found"}"#
            ),
            Err(TelegramError::Unauthorized { .. })
        ));
        assert!(matches!(
            c(
                403,
                r#"{"ok":false,"description":"Forbidden: bot was blocked by the user"}"#
            ),
            Err(TelegramError::Unauthorized { .. })
        ));
        assert!(matches!(
            c(502, "<html>bad gateway</html>"),
            Err(TelegramError::Server { .. })
        ));
        assert!(matches!(
            c(
                400,
                r#"{"ok":false,"description":"Bad Request: message is too long"}"#
            ),
            Err(TelegramError::Rejected { .. })
        ));
    }
}
