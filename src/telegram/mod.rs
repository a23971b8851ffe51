//! Telegram: the Bot API client ([`client`]).
//!
//! The notifier in `notifier` drains each channel's outbox through its client.

pub mod client;

pub use client::{TelegramClient, TelegramError, MAX_MESSAGE_CHARS};
