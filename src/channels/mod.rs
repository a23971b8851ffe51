//! Notification channels: Telegram and the services users in mainland China can reach without a
//! proxy (Feishu, DingTalk, WeCom, ServerChan, PushPlus, Bark), a generic JSON webhook and email
//! over SMTP.
//!
//! Each service module knows three things: the request it sends (format, signature), how its
//! answer is classified into a [`Failure`] (several answer HTTP 200 with an error code in the body)
//! and its limits (size of one message, pacing between messages). The wire facts and their sources
//! are in the module docs. Queueing, retries and priorities live in the notifier and the outbox;
//! nothing here retries.
//!
//! Secrets (webhook URLs with keys or tokens, signing secrets) are never part of an error: network
//! errors are reported without their URL and every answer body is scrubbed of the channel's secrets.

pub mod bark;
pub mod dingtalk;
pub mod email;
pub mod feishu;
pub mod http;
pub mod pushplus;
pub mod render;
pub mod serverchan;
pub mod webhook;
pub mod wecom;

use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::telegram::{TelegramClient, TelegramError};
pub use http::Answer;
use render::{Format, Limit};

/// Why a message was not accepted, by what to do about it.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum Failure {
    /// The service is rate-limiting: wait this long, then retry.
    #[error("rate limited, waiting {0:?}: {1}")]
    Wait(Duration, String),
    /// Network or server trouble: back off and retry.
    #[error("{0}")]
    Transient(String),
    /// Only the user can fix it (wrong key, signature, keyword, IP allow-list): retry slowly.
    #[error("{0}")]
    Fix(String),
    /// The service cannot parse the markup: resend the same words as plain text.
    #[error("{0}")]
    Reformat(String),
    /// This message is refused for good: keep it in `dead/`.
    #[error("{0}")]
    Refused(String),
}

impl From<TelegramError> for Failure {
    fn from(e: TelegramError) -> Self {
        let s = e.to_string();
        match e {
            TelegramError::RetryAfter(d) => Failure::Wait(d, s),
            TelegramError::ParseEntities(_) => Failure::Reformat(s),
            TelegramError::Server { .. } | TelegramError::Network(_) => Failure::Transient(s),
            TelegramError::Unauthorized { .. } => Failure::Fix(s),
            TelegramError::Rejected { .. } => Failure::Refused(s),
        }
    }
}

/// What the program knows about a message besides its text: the generic webhook sends it as
/// JSON fields, so that a receiver need not parse the text.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Meta {
    /// The kind of message (`alert`, `recovery`, `shutdown_countdown`, ...).
    pub kind: String,
    /// `ok`, `level3`, `level2`, `level1`, or absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub level: Option<String>,
    pub server: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub package: Option<serde_json::Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub figures: Option<serde_json::Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cycle: Option<serde_json::Value>,
}

/// One part of a message as one channel sends it.
#[derive(Debug, Clone, PartialEq)]
pub struct Part<'a> {
    /// Id of the part (the outbox file name), stable across retries and restarts.
    pub id: &'a str,
    pub title: &'a str,
    pub text: &'a str,
    /// Send `text` with the channel's markup (false: as plain text).
    pub markup: bool,
    pub meta: Option<&'a Meta>,
    /// 1-based number of this part and how many the message has.
    pub index: u32,
    pub count: u32,
    /// When the message was queued (email's `Date`).
    pub queued_at: chrono::DateTime<chrono::Utc>,
}

/// A configured channel.
#[derive(Debug)]
pub enum Client {
    Telegram(TelegramClient),
    Webhook(webhook::Webhook),
    Feishu(feishu::Feishu),
    DingTalk(dingtalk::DingTalk),
    WeCom(wecom::WeCom),
    ServerChan(serverchan::ServerChan),
    PushPlus(pushplus::PushPlus),
    Bark(bark::Bark),
    Email(email::Email),
    /// Printed on the console (demo, or nothing configured): standard error when `stderr`, so
    /// that command output such as `check --json` stays clean.
    Console {
        stderr: bool,
    },
}

impl Client {
    /// The channel's name (outbox directory, `channel` label).
    pub fn name(&self) -> &'static str {
        match self {
            Client::Telegram(_) => "telegram",
            Client::Webhook(_) => "webhook",
            Client::Feishu(_) => "feishu",
            Client::DingTalk(_) => "dingtalk",
            Client::WeCom(_) => "wecom",
            Client::ServerChan(_) => "serverchan",
            Client::PushPlus(_) => "pushplus",
            Client::Bark(_) => "bark",
            Client::Email(_) => "email",
            Client::Console { .. } => "console",
        }
    }

    /// The markup the channel's messages are rendered in.
    pub fn format(&self) -> Format {
        match self {
            // Email sends a plain-text body and an HTML alternative, both made from this.
            Client::Telegram(_) | Client::Email(_) => Format::TelegramHtml,
            Client::Feishu(_) => Format::FeishuMarkdown,
            Client::DingTalk(_)
            | Client::WeCom(_)
            | Client::ServerChan(_)
            | Client::PushPlus(_) => Format::Markdown,
            Client::Webhook(_) | Client::Bark(_) | Client::Console { .. } => Format::Plain,
        }
    }

    /// What the answer's status is: an HTTP status, or an SMTP reply code for email.
    pub fn protocol(&self) -> &'static str {
        match self {
            Client::Email(_) => "SMTP",
            _ => "HTTP",
        }
    }

    /// The size of one part.
    pub fn limit(&self) -> Limit {
        match self {
            Client::Telegram(_) => Limit::chars(crate::telegram::MAX_MESSAGE_CHARS),
            Client::Webhook(_) => webhook::LIMIT,
            Client::Feishu(_) => feishu::LIMIT,
            Client::DingTalk(_) => dingtalk::LIMIT,
            Client::WeCom(_) => wecom::LIMIT,
            Client::ServerChan(_) => serverchan::LIMIT,
            Client::PushPlus(_) => pushplus::LIMIT,
            Client::Bark(_) => bark::LIMIT,
            Client::Email(_) => email::LIMIT,
            Client::Console { .. } => Limit::bytes(usize::MAX),
        }
    }

    /// The shortest time between two messages, so that the service's documented rate limit is
    /// never reached by this program alone.
    pub fn pace(&self) -> Duration {
        match self {
            Client::Feishu(_) => feishu::PACE,
            Client::DingTalk(_) => dingtalk::PACE,
            Client::WeCom(_) => wecom::PACE,
            Client::ServerChan(_) => serverchan::PACE,
            Client::PushPlus(_) => pushplus::PACE,
            Client::Bark(_) => bark::PACE,
            Client::Email(_) => email::PACE,
            Client::Telegram(_) | Client::Webhook(_) | Client::Console { .. } => Duration::ZERO,
        }
    }

    /// Sends one part and returns the service's answer as it gave it (scrubbed of secrets).
    ///
    /// # Errors
    /// Network errors only (as [`Failure::Transient`]).
    pub async fn send_raw(&self, part: &Part<'_>) -> Result<Answer, Failure> {
        match self {
            Client::Telegram(c) => {
                let raw = c.send_raw(part.text, part.markup).await?;
                Ok(Answer {
                    status: raw.status,
                    body: raw.body,
                    retry_after: None,
                })
            }
            Client::Webhook(c) => c.send(part).await,
            Client::Feishu(c) => c.send(part).await,
            Client::DingTalk(c) => c.send(part).await,
            Client::WeCom(c) => c.send(part).await,
            Client::ServerChan(c) => c.send(part).await,
            Client::PushPlus(c) => c.send(part).await,
            Client::Bark(c) => c.send(part).await,
            Client::Email(c) => c.send(part).await,
            Client::Console { stderr } => {
                let text = format!(
                    "\n----- message -----\n{}\n-------------------",
                    if part.markup {
                        render::plain(part.text)
                    } else {
                        part.text.to_string()
                    }
                );
                if *stderr {
                    crate::logging::print_message(&text);
                } else {
                    crate::outln!("{}", crate::logging::escape_keep_lines(&text));
                }
                Ok(Answer {
                    status: 200,
                    body: String::new(),
                    retry_after: None,
                })
            }
        }
    }

    /// Whether the answer means the message was accepted.
    ///
    /// # Errors
    /// See [`Failure`].
    pub fn classify(&self, a: &Answer) -> Result<(), Failure> {
        match self {
            Client::Telegram(_) => {
                crate::telegram::client::classify(&crate::telegram::client::RawAnswer {
                    status: a.status,
                    body: a.body.clone(),
                })
                .map_err(Failure::from)
            }
            Client::Webhook(_) => webhook::classify(a),
            Client::Feishu(_) => feishu::classify(a),
            Client::DingTalk(_) => dingtalk::classify(a),
            Client::WeCom(_) => wecom::classify(a),
            Client::ServerChan(_) => serverchan::classify(a),
            Client::PushPlus(_) => pushplus::classify(a),
            Client::Bark(_) => bark::classify(a),
            Client::Email(_) => email::classify(a),
            Client::Console { .. } => Ok(()),
        }
    }

    /// Sends one part and classifies the answer.
    ///
    /// # Errors
    /// See [`Failure`].
    pub async fn send(&self, part: &Part<'_>) -> Result<(), Failure> {
        let a = self.send_raw(part).await?;
        self.classify(&a)
    }
}
