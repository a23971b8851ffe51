//! Telegram: the Bot API client ([`client`]).
//!
//! The notifier in `notifier` drains each channel's outbox through its client.

pub mod client;

pub use crate::outbox;
pub use crate::outbox::Outbox;
pub use client::{TelegramClient, TelegramError};
