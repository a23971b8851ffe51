//! What a chat message or a button press asks, and whether its sender may ask it. Pure.

use std::time::Duration;

use chrono::{DateTime, Utc};

/// The longest `/mute`.
pub const MAX_MUTE: Duration = Duration::from_secs(7 * 24 * 3600);

/// How long the confirmation button of `/cancel` works.
pub const CONFIRM_WINDOW: Duration = Duration::from_secs(10 * 60);

/// A command older than this is not run: after a restart or an outage, Telegram hands over what
/// was sent meanwhile (up to a day), and an old `/start` or `/mute` should not act now.
pub const STALE_AFTER: Duration = Duration::from_secs(10 * 60);

/// The prefix of the confirmation button's data.
const CONFIRM_PREFIX: &str = "cancel:";

/// A command from the chat.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    Status,
    /// `/report`: the report around a reset, now.
    Report,
    Cancel,
    Resume,
    Start,
    /// `/mute 6h`.
    Mute(Duration),
    /// `/mute off`.
    Unmute,
    /// `/mute` without a valid duration.
    MuteUsage,
    Help,
    Unknown,
}

impl Command {
    /// The `command` label of `flexus_telegram_commands_total`.
    pub fn label(&self) -> &'static str {
        match self {
            Self::Status => "status",
            Self::Report => "report",
            Self::Cancel => "cancel",
            Self::Resume => "resume",
            Self::Start => "start",
            Self::Mute(_) | Self::Unmute | Self::MuteUsage => "mute",
            Self::Help => "help",
            Self::Unknown => "unknown",
        }
    }
}

/// The command in `text`, or `None` when it is not a command (ordinary chat is left alone).
/// `/status@SomeBot` is read as `/status`.
pub fn parse(text: &str) -> Option<Command> {
    let mut words = text.split_whitespace();
    let first = words.next()?.strip_prefix('/')?;
    let name = first
        .split('@')
        .next()
        .unwrap_or_default()
        .to_ascii_lowercase();
    let arg = words.next();
    Some(match name.as_str() {
        "status" => Command::Status,
        "report" => Command::Report,
        "cancel" => Command::Cancel,
        "resume" => Command::Resume,
        "start" => Command::Start,
        "help" => Command::Help,
        "mute" => match arg {
            Some(a) if a.eq_ignore_ascii_case("off") => Command::Unmute,
            Some(a) => match crate::config::parse_duration(a) {
                Some(d) if !d.is_zero() && d <= MAX_MUTE => Command::Mute(d),
                _ => Command::MuteUsage,
            },
            None => Command::MuteUsage,
        },
        "" => return None,
        _ => Command::Unknown,
    })
}

/// Whether `text` is a command addressed to another bot (`/status@another_bot` in a group with
/// several bots). Without our own name (`getMe` failed) every command counts as ours.
pub fn addressed_elsewhere(text: &str, own: Option<&str>) -> bool {
    let (Some(own), Some(first)) = (own, text.split_whitespace().next()) else {
        return false;
    };
    first
        .split_once('@')
        .is_some_and(|(_, to)| !to.eq_ignore_ascii_case(own))
}

/// Whether a message sent at `sent` (Unix seconds; 0 = unknown) is too old to run at `now`.
pub fn is_stale(sent: i64, now: DateTime<Utc>) -> bool {
    sent > 0
        && now.timestamp().saturating_sub(sent)
            > i64::try_from(STALE_AFTER.as_secs()).unwrap_or(i64::MAX)
}

/// The data of the confirmation button of a `/cancel` asked at `at`.
pub fn confirm_data(at: DateTime<Utc>) -> String {
    format!("{CONFIRM_PREFIX}{}", at.timestamp())
}

/// What a press of a button with `data` means at `now`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Press {
    /// Confirm the cancellation.
    ConfirmCancel,
    /// The button is older than [`CONFIRM_WINDOW`]: ask again.
    Expired,
    /// Not a button of this program.
    Unknown,
}

/// Reads a button press.
pub fn press(data: Option<&str>, now: DateTime<Utc>) -> Press {
    let Some(at) = data
        .and_then(|d| d.strip_prefix(CONFIRM_PREFIX))
        .and_then(|t| t.parse::<i64>().ok())
        .and_then(|t| DateTime::from_timestamp(t, 0))
    else {
        return Press::Unknown;
    };
    let age = now.signed_duration_since(at);
    let window = chrono::Duration::from_std(CONFIRM_WINDOW).unwrap_or(chrono::Duration::MAX);
    if age < chrono::Duration::zero() - chrono::Duration::minutes(1) || age > window {
        Press::Expired
    } else {
        Press::ConfirmCancel
    }
}

/// Who sent an update.
#[derive(Debug, Clone, Copy)]
pub struct Sender<'a> {
    pub chat_id: i64,
    pub chat_username: Option<&'a str>,
    pub user_id: Option<i64>,
}

/// Whether `sender` may command: the configured chat (`TELEGRAM_CHAT_ID`, a numeric id or
/// `@name`) and, when `allowed` is not empty, one of those users.
pub fn authorized(sender: &Sender<'_>, chat: &str, allowed: &[i64]) -> bool {
    let in_chat = match chat.strip_prefix('@') {
        Some(name) => sender
            .chat_username
            .is_some_and(|u| u.eq_ignore_ascii_case(name)),
        None => chat.parse::<i64>().is_ok_and(|id| id == sender.chat_id),
    };
    in_chat && (allowed.is_empty() || sender.user_id.is_some_and(|u| allowed.contains(&u)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commands_parse_with_a_bot_suffix_and_arguments() {
        assert_eq!(parse("/status"), Some(Command::Status));
        assert_eq!(parse("  /STATUS@flexus_bot  extra"), Some(Command::Status));
        assert_eq!(parse("/cancel"), Some(Command::Cancel));
        assert_eq!(parse("/resume"), Some(Command::Resume));
        assert_eq!(parse("/start"), Some(Command::Start));
        assert_eq!(parse("/help"), Some(Command::Help));
        assert_eq!(
            parse("/mute 6h"),
            Some(Command::Mute(Duration::from_secs(6 * 3600)))
        );
        assert_eq!(parse("/mute OFF"), Some(Command::Unmute));
        assert_eq!(parse("/mute"), Some(Command::MuteUsage));
        assert_eq!(parse("/mute soon"), Some(Command::MuteUsage));
        assert_eq!(parse("/mute 0s"), Some(Command::MuteUsage));
        assert_eq!(
            parse("/mute 30d"),
            Some(Command::MuteUsage),
            "beyond MAX_MUTE"
        );
        assert_eq!(parse("/reboot"), Some(Command::Unknown));
        assert_eq!(parse("hello"), None);
        assert_eq!(parse("/"), None);
        assert_eq!(parse(""), None);
    }

    #[test]
    fn commands_for_another_bot_and_old_commands_are_recognised() {
        assert!(addressed_elsewhere("/status@other_bot", Some("flexus_bot")));
        assert!(!addressed_elsewhere(
            "/status@Flexus_Bot x",
            Some("flexus_bot")
        ));
        assert!(!addressed_elsewhere("/status", Some("flexus_bot")));
        assert!(!addressed_elsewhere("/status@other_bot", None));
        let now = DateTime::from_timestamp(1_800_000_000, 0).unwrap();
        let t = now.timestamp();
        assert!(!is_stale(t, now));
        assert!(!is_stale(t - 600, now));
        assert!(is_stale(t - 601, now));
        assert!(is_stale(t - 86_400, now));
        assert!(!is_stale(0, now), "unknown date");
        assert!(!is_stale(t + 30, now), "a clock a little ahead");
    }

    #[test]
    fn only_the_configured_chat_and_listed_users_may_command() {
        let s = |chat_id, user| Sender {
            chat_id,
            chat_username: Some("MyGroup"),
            user_id: user,
        };
        assert!(authorized(&s(4242, Some(1)), "4242", &[]));
        assert!(!authorized(&s(4243, Some(1)), "4242", &[]));
        assert!(authorized(&s(-100, Some(1)), "@mygroup", &[]));
        assert!(!authorized(&s(-100, Some(1)), "@other", &[]));
        assert!(authorized(&s(4242, Some(7)), "4242", &[7, 8]));
        assert!(!authorized(&s(4242, Some(9)), "4242", &[7, 8]));
        assert!(!authorized(&s(4242, None), "4242", &[7]));
    }

    #[test]
    fn the_confirmation_button_works_for_a_bounded_time() {
        let at = DateTime::from_timestamp(1_800_000_000, 0).unwrap();
        let data = confirm_data(at);
        assert!(data.len() <= 64, "Telegram's callback_data limit");
        assert_eq!(press(Some(&data), at), Press::ConfirmCancel);
        let later = at + chrono::Duration::minutes(9);
        assert_eq!(press(Some(&data), later), Press::ConfirmCancel);
        let late = at + chrono::Duration::minutes(11);
        assert_eq!(press(Some(&data), late), Press::Expired);
        assert_eq!(press(Some("cancel:x"), at), Press::Unknown);
        assert_eq!(press(None, at), Press::Unknown);
    }
}
