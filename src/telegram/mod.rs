//! Telegram: the Bot API client ([`client`]) and the durable outbox ([`outbox`]).
//!
//! The notifier in `notifier` drains the outbox through the client.

pub mod client;
pub mod outbox;

pub use client::{TelegramClient, TelegramError};
pub use outbox::Outbox;
