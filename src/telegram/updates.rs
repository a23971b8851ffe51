//! The Bot API calls of the command bot: `getUpdates` (long polling), `sendMessage` with an
//! inline keyboard, and `answerCallbackQuery`, through the same [`TelegramClient`] (same token
//! scrubbing, same answer classification) as the notifier.
//!
//! Only the fields the bot reads are parsed; everything else in an update is ignored.

use std::time::Duration;

use serde::Deserialize;
use serde_json::json;

use super::client::{classify, RawAnswer, TelegramClient, TelegramError};

/// How long Telegram holds a `getUpdates` call open when nothing arrives.
pub const LONG_POLL: Duration = Duration::from_secs(25);
/// The client's timeout for a long poll: above [`LONG_POLL`], so an idle poll is not an error.
pub const LONG_POLL_CLIENT_TIMEOUT: Duration = Duration::from_secs(40);

/// One update (`message` or `callback_query`; other kinds are not asked for).
#[derive(Debug, Clone, Deserialize)]
pub struct Update {
    pub update_id: i64,
    #[serde(default)]
    pub message: Option<IncomingMessage>,
    #[serde(default)]
    pub callback_query: Option<CallbackQuery>,
}

/// A message in a chat.
#[derive(Debug, Clone, Deserialize)]
pub struct IncomingMessage {
    pub chat: Chat,
    /// When it was sent (Unix seconds; 0 when absent).
    #[serde(default)]
    pub date: i64,
    #[serde(default)]
    pub from: Option<User>,
    #[serde(default)]
    pub text: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Chat {
    pub id: i64,
    #[serde(default)]
    pub username: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct User {
    pub id: i64,
}

/// A press on an inline keyboard button.
#[derive(Debug, Clone, Deserialize)]
pub struct CallbackQuery {
    pub id: String,
    pub from: User,
    /// The message the button was on (absent when it is too old for Telegram to say).
    #[serde(default)]
    pub message: Option<IncomingMessage>,
    #[serde(default)]
    pub data: Option<String>,
}

#[derive(Deserialize)]
struct Updates {
    #[serde(default)]
    result: Vec<Update>,
}

/// One inline button: its label and the data sent back when pressed (at most 64 bytes).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Button {
    pub text: String,
    pub data: String,
}

impl TelegramClient {
    /// Waits up to [`LONG_POLL`] for updates from `offset` on (which also confirms every earlier
    /// one to Telegram).
    ///
    /// # Errors
    /// See [`TelegramError`]; a conflict (another consumer, or a webhook set) is
    /// `Rejected { status: 409, .. }`.
    pub async fn get_updates(&self, offset: i64) -> Result<Vec<Update>, TelegramError> {
        let body = json!({
            "offset": offset,
            "timeout": LONG_POLL.as_secs(),
            "allowed_updates": ["message", "callback_query"],
        });
        let raw = self
            .call("getUpdates", &body, Some(LONG_POLL_CLIENT_TIMEOUT))
            .await?;
        classify(&raw)?;
        parse_updates(&raw)
    }

    /// The bot's own username (`getMe`), to tell `/status@this_bot` from `/status@another_bot`.
    ///
    /// # Errors
    /// See [`TelegramError`].
    pub async fn own_username(&self) -> Result<Option<String>, TelegramError> {
        #[derive(Deserialize)]
        struct Me {
            #[serde(default)]
            username: Option<String>,
        }
        #[derive(Deserialize)]
        struct Answer {
            result: Me,
        }
        let raw = self.call("getMe", &json!({}), None).await?;
        classify(&raw)?;
        serde_json::from_str::<Answer>(&raw.body)
            .map(|a| a.result.username)
            .map_err(|e| TelegramError::Rejected {
                status: raw.status,
                description: format!("getMe answer is not the documented JSON: {e}"),
            })
    }

    /// Sends `html` to the configured chat with one row of inline buttons.
    ///
    /// # Errors
    /// See [`TelegramError`].
    pub async fn send_with_buttons(
        &self,
        html: &str,
        buttons: &[Button],
    ) -> Result<(), TelegramError> {
        let mut body = self.message_body(html, true);
        if !buttons.is_empty() {
            let row: Vec<_> = buttons
                .iter()
                .map(|b| json!({"text": b.text, "callback_data": b.data}))
                .collect();
            body["reply_markup"] = json!({ "inline_keyboard": [row] });
        }
        classify(&self.call("sendMessage", &body, None).await?)
    }

    /// Answers a button press (Telegram shows `text` briefly; the button stops spinning).
    ///
    /// # Errors
    /// See [`TelegramError`].
    pub async fn answer_callback(&self, id: &str, text: &str) -> Result<(), TelegramError> {
        let body = json!({ "callback_query_id": id, "text": text });
        classify(&self.call("answerCallbackQuery", &body, None).await?)
    }
}

fn parse_updates(raw: &RawAnswer) -> Result<Vec<Update>, TelegramError> {
    serde_json::from_str::<Updates>(&raw.body)
        .map(|u| u.result)
        .map_err(|e| TelegramError::Server {
            status: raw.status,
            description: format!("getUpdates answer is not the documented JSON: {e}"),
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn updates_parse_messages_and_button_presses_and_skip_unknown_fields() {
        let raw = RawAnswer {
            status: 200,
            body: r#"{"ok":true,"result":[
                {"update_id":10,"message":{"message_id":1,"date":0,"chat":{"id":-100,"type":"group"},"from":{"id":7,"is_bot":false,"first_name":"A"},"text":"/status"}},
                {"update_id":11,"callback_query":{"id":"cb1","from":{"id":7,"is_bot":false,"first_name":"A"},"chat_instance":"x","data":"cancel:5","message":{"message_id":2,"date":0,"chat":{"id":-100,"type":"group"}}}},
                {"update_id":12,"edited_message":{"message_id":3}}
            ]}"#
            .into(),
        };
        let u = parse_updates(&raw).unwrap();
        assert_eq!(u.len(), 3);
        assert_eq!(
            u[0].message.as_ref().unwrap().text.as_deref(),
            Some("/status")
        );
        let cb = u[1].callback_query.as_ref().unwrap();
        assert_eq!((cb.from.id, cb.data.as_deref()), (7, Some("cancel:5")));
        assert_eq!(cb.message.as_ref().unwrap().chat.id, -100);
        assert!(u[2].message.is_none() && u[2].callback_query.is_none());
    }
}
