//! Telegram: the Bot API client ([`client`]) and the calls of the command bot ([`updates`]).
//!
//! The notifier in `notifier` drains each channel's outbox through its client; the bot in `bot`
//! long-polls commands through the same client.

pub mod client;
pub mod updates;

pub use client::{TelegramClient, TelegramError, MAX_MESSAGE_CHARS};
