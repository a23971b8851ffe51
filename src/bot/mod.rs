//! The Telegram command bot (`TELEGRAM_COMMANDS=true`): long-polls `getUpdates` (no public
//! address needed) and answers in the configured chat only.
//!
//! - Who may command is decided by [`command::authorized`]: the chat `TELEGRAM_CHAT_ID` and,
//!   when `TELEGRAM_ALLOWED_USERS` is set, only those users. Anything else gets no answer and is
//!   counted (`flexus_telegram_commands_total{result="ignored"}`).
//! - `/report` answers with the report the engine sends around each reset, built now.
//! - `/cancel` asks for confirmation with an inline button; only the button (pressed in the same
//!   chat by an allowed user within [`command::CONFIRM_WINDOW`]) cancels. The cancellation (a
//!   [`Hold`]) is saved in the state, every running countdown is cancelled through the guard, and
//!   the guard's message tells every channel. The engine keeps the hold out of both alert paths
//!   until it ends (`TELEGRAM_CANCEL_FOR`, or the package's next level change); `/resume` ends it.
//! - The update offset is saved in `STATE_DIR/telegram-offset` before an update is handled, so
//!   after a restart no update runs twice (a crash in between loses that one command rather than
//!   repeating it).
//! - Errors of `getUpdates` wait as [`wait_after`] says: never a tight loop, and the token never
//!   appears in a log (the client scrubs it).

pub mod command;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use tokio_util::sync::CancellationToken;

use crate::autostart::AutoStarter;
use crate::config::{Config, ShutdownMode};
use crate::engine::Engine;
use crate::fsutil::write_atomic;
use crate::history::HistoryStore;
use crate::level::Level;
use crate::messages::{render_reply_for, to_plain, BotReply, Message, PackageStatus};
use crate::metrics::Metrics;
use crate::notifier::Notifier;
use crate::page::{self, AlertingInputs, Inputs};
use crate::policy::{CancelReason, Hold, HoldEnd};
use crate::shutdown::{CancelOutcome, Guard};
use crate::snapshot::SharedSnapshot;
use crate::state::StateCell;
use crate::telegram::updates::{Button, CallbackQuery, IncomingMessage, Update};
use crate::telegram::{TelegramClient, TelegramError};
use command::{
    addressed_elsewhere, authorized, confirm_data, is_stale, parse, press, Command, Press, Sender,
};

/// The file of the next update id, under `STATE_DIR`.
pub const OFFSET_FILE: &str = "telegram-offset";

/// The longest wait between two `getUpdates` after errors.
const MAX_WAIT: Duration = Duration::from_secs(300);

/// How long to wait before the next `getUpdates` after `e`, the `failures`-th error in a row.
/// Pure.
pub fn wait_after(e: &TelegramError, failures: u32) -> Duration {
    match e {
        TelegramError::RetryAfter(d) => *d,
        // A wrong token or a conflict does not fix itself quickly.
        TelegramError::Unauthorized { .. } => MAX_WAIT,
        TelegramError::Rejected { status: 409, .. } => Duration::from_secs(30),
        _ => Duration::from_secs(1u64 << failures.saturating_sub(1).min(9)).min(MAX_WAIT),
    }
}

/// The `result` label of a handled command.
fn result_label<T, E>(r: &Result<T, E>) -> &'static str {
    if r.is_ok() {
        "ok"
    } else {
        "error"
    }
}

/// The bot: what it reads and what it may change.
pub struct Bot {
    client: TelegramClient,
    config: Arc<Config>,
    state: Arc<StateCell>,
    guard: Guard,
    notifier: Arc<Notifier>,
    metrics: Arc<Metrics>,
    snapshot: SharedSnapshot,
    history: Arc<HistoryStore>,
    starter: Option<Arc<AutoStarter>>,
    /// Builds the reports for `/report`.
    engine: Arc<Engine>,
    offset_path: PathBuf,
    /// The bot's username from `getMe`, once known.
    own_name: Option<String>,
}

/// What the bot is built from (the application's shared parts).
pub struct Parts {
    pub config: Arc<Config>,
    pub state: Arc<StateCell>,
    pub guard: Guard,
    pub notifier: Arc<Notifier>,
    pub metrics: Arc<Metrics>,
    pub snapshot: SharedSnapshot,
    pub history: Arc<HistoryStore>,
    /// Present in `SHUTDOWN_MODE=huawei-api` (for `/start`).
    pub starter: Option<Arc<AutoStarter>>,
    /// For `/report`.
    pub engine: Arc<Engine>,
}

impl Bot {
    /// The bot over `p`.
    ///
    /// # Errors
    /// When Telegram is not configured or its client cannot be built (the configuration refuses
    /// `TELEGRAM_COMMANDS` without a token and chat).
    pub fn new(p: Parts) -> anyhow::Result<Self> {
        let tg = &p.config.notify.telegram;
        let (Some(token), Some(chat)) = (&tg.bot_token, &tg.chat_id) else {
            anyhow::bail!("TELEGRAM_COMMANDS needs TELEGRAM_BOT_TOKEN and TELEGRAM_CHAT_ID");
        };
        let client = TelegramClient::new(
            tg.api_url.clone(),
            token.clone(),
            chat.clone(),
            tg.thread_id,
            p.config.http_timeout,
        )?;
        Ok(Self {
            client,
            offset_path: p.config.state_dir.join(OFFSET_FILE),
            own_name: None,
            config: p.config,
            state: p.state,
            guard: p.guard,
            notifier: p.notifier,
            metrics: p.metrics,
            snapshot: p.snapshot,
            history: p.history,
            starter: p.starter,
            engine: p.engine,
        })
    }

    fn load_offset(&self) -> i64 {
        match std::fs::read_to_string(&self.offset_path) {
            Ok(s) => s.trim().parse().unwrap_or_else(|_| {
                tracing::warn!(path = %self.offset_path.display(), "the Telegram offset file is not a number; starting from Telegram's oldest pending update");
                0
            }),
            Err(_) => 0,
        }
    }

    fn save_offset(&self, offset: i64) {
        if let Err(e) = write_atomic(&self.offset_path, offset.to_string().as_bytes()) {
            tracing::error!(path = %self.offset_path.display(), error = %e, "cannot save the Telegram offset; an update may be seen again after a restart");
        }
    }

    /// Long-polls and answers until `stop` fires.
    pub async fn run(mut self, stop: CancellationToken) {
        let mut offset = self.load_offset();
        self.own_name = tokio::select! {
            () = stop.cancelled() => return,
            r = self.client.own_username() => r.unwrap_or_else(|e| {
                tracing::warn!(error = %e, "Telegram getMe failed; commands addressed to other bots (/status@name) are answered too");
                None
            }),
        };
        let mut failures = 0u32;
        let mut told: Option<String> = None;
        tracing::info!(chat_id = %self.client.chat_id(), allowed_users = self.config.notify.telegram.allowed_users.len(), "Telegram commands: listening");
        loop {
            let got = tokio::select! {
                () = stop.cancelled() => return,
                r = self.client.get_updates(offset) => r,
            };
            let wait = match got {
                Ok(updates) => {
                    failures = 0;
                    told = None;
                    for u in updates {
                        if u.update_id < offset {
                            continue;
                        }
                        offset = u.update_id + 1;
                        // Saved before handling: a command never runs twice.
                        self.save_offset(offset);
                        self.handle(u).await;
                    }
                    continue;
                }
                Err(e) => {
                    failures = failures.saturating_add(1);
                    let wait = wait_after(&e, failures);
                    let text = e.to_string();
                    // The same lasting error is logged once, not at every retry.
                    if told.as_deref() != Some(text.as_str()) {
                        match &e {
                            TelegramError::Rejected { status: 409, .. } => {
                                tracing::error!(error = %text, "Telegram getUpdates conflict: another program polls this bot, or a webhook is set (deleteWebhook); the commands do not work until it stops")
                            }
                            TelegramError::Unauthorized { .. } => {
                                tracing::error!(error = %text, "Telegram refused the bot token; the commands do not work until TELEGRAM_BOT_TOKEN is fixed")
                            }
                            _ => {
                                tracing::warn!(error = %text, wait_s = wait.as_secs(), "Telegram getUpdates failed; retrying")
                            }
                        }
                        told = Some(text);
                    }
                    wait
                }
            };
            tokio::select! {
                () = stop.cancelled() => return,
                () = tokio::time::sleep(wait) => {}
            }
        }
    }

    async fn handle(&self, u: Update) {
        if let Some(m) = u.message {
            self.on_message(m).await;
        } else if let Some(cb) = u.callback_query {
            self.on_press(cb).await;
        }
    }

    fn may_command(&self, sender: &Sender<'_>) -> bool {
        let tg = &self.config.notify.telegram;
        authorized(
            sender,
            tg.chat_id.as_deref().unwrap_or_default(),
            &tg.allowed_users,
        )
    }

    async fn on_message(&self, m: IncomingMessage) {
        let Some(cmd) = m.text.as_deref().and_then(parse) else {
            return;
        };
        if m.text
            .as_deref()
            .is_some_and(|t| addressed_elsewhere(t, self.own_name.as_deref()))
        {
            return;
        }
        let sender = Sender {
            chat_id: m.chat.id,
            chat_username: m.chat.username.as_deref(),
            user_id: m.from.as_ref().map(|u| u.id),
        };
        if !self.may_command(&sender) {
            tracing::info!(chat_id = m.chat.id, user_id = ?sender.user_id, command = cmd.label(), "Telegram command from another chat or user ignored");
            self.metrics.telegram_command(cmd.label(), "ignored");
            return;
        }
        let now = Utc::now();
        if is_stale(m.date, now) {
            tracing::info!(user_id = ?sender.user_id, command = cmd.label(), sent = m.date, "Telegram command sent too long ago (over 10 minutes); not run");
            self.metrics.telegram_command(cmd.label(), "stale");
            return;
        }
        tracing::info!(user_id = ?sender.user_id, command = cmd.label(), "Telegram command");
        let (reply, buttons) = self.answer(&cmd, now).await;
        let html = render_reply_for(
            &reply,
            self.config.notify.lang,
            &self.config.alerting.thresholds,
            &self.config.level1_does(),
        );
        let sent = self.send(&html, &buttons).await;
        if let Err(e) = &sent {
            tracing::warn!(error = %e, command = cmd.label(), "cannot answer a Telegram command");
        }
        self.metrics
            .telegram_command(cmd.label(), result_label(&sent));
    }

    async fn send(&self, html: &str, buttons: &[Button]) -> Result<(), TelegramError> {
        for part in crate::messages::split(html, crate::telegram::MAX_MESSAGE_CHARS) {
            self.client.send_with_buttons(&part, buttons).await?;
        }
        Ok(())
    }

    async fn on_press(&self, cb: CallbackQuery) {
        const LABEL: &str = "cancel_confirm";
        let Some(chat) = cb.message.as_ref().map(|m| &m.chat) else {
            self.metrics.telegram_command(LABEL, "ignored");
            return;
        };
        let sender = Sender {
            chat_id: chat.id,
            chat_username: chat.username.as_deref(),
            user_id: Some(cb.from.id),
        };
        if !self.may_command(&sender) {
            tracing::info!(
                chat_id = chat.id,
                user_id = cb.from.id,
                "Telegram button press from another chat or user ignored"
            );
            self.metrics.telegram_command(LABEL, "ignored");
            // Every callback gets an answer (Bot API, answerCallbackQuery), or the client spins.
            self.answer_press(&cb.id, &BotReply::NotAllowed).await;
            return;
        }
        let now = Utc::now();
        let reply = match press(cb.data.as_deref(), now) {
            Press::ConfirmCancel => self.confirm_cancel(cb.from.id, now).await,
            Press::Expired => BotReply::ButtonExpired,
            Press::Unknown => BotReply::Unknown,
        };
        let text = to_plain(&render_reply_for(
            &reply,
            self.config.notify.lang,
            &self.config.alerting.thresholds,
            &self.config.level1_does(),
        ));
        let answered = self.client.answer_callback(&cb.id, &text).await;
        if let Err(e) = &answered {
            tracing::warn!(error = %e, "cannot answer a Telegram button press");
        }
        self.metrics
            .telegram_command(LABEL, result_label(&answered));
    }

    /// Answers a button press with `reply` (plain text: a callback answer has no markup).
    async fn answer_press(&self, id: &str, reply: &BotReply) {
        let text = to_plain(&render_reply_for(
            reply,
            self.config.notify.lang,
            &self.config.alerting.thresholds,
            &self.config.level1_does(),
        ));
        if let Err(e) = self.client.answer_callback(id, &text).await {
            tracing::warn!(error = %e, "cannot answer a Telegram button press");
        }
    }

    /// What a command from an allowed sender does and answers.
    async fn answer(&self, cmd: &Command, now: DateTime<Utc>) -> (BotReply, Vec<Button>) {
        let reply = match cmd {
            Command::Help => BotReply::Help,
            Command::Unknown => BotReply::Unknown,
            Command::Status => self.status(now).await,
            Command::Report => BotReply::Report {
                reports: self.engine.reports_now(now).await,
            },
            Command::Cancel => {
                let servers: Vec<String> = self
                    .guard
                    .running_all()
                    .iter()
                    .map(|id| self.config.shown_server(id))
                    .collect();
                if servers.is_empty() {
                    BotReply::NothingRunning {
                        shutdown_enabled: self.guard.enabled(),
                    }
                } else {
                    let button = Button {
                        text: to_plain(&render_reply_for(
                            &BotReply::CancelButton,
                            self.config.notify.lang,
                            &self.config.alerting.thresholds,
                            &self.config.level1_does(),
                        )),
                        data: confirm_data(now),
                    };
                    return (
                        BotReply::CancelAsk {
                            servers,
                            until: self.hold_until(now),
                        },
                        vec![button],
                    );
                }
            }
            Command::Resume => self.resume().await,
            Command::Start => self.start(now).await,
            Command::Mute(d) => {
                let until = now + chrono::Duration::from_std(*d).unwrap_or(chrono::Duration::MAX);
                self.set_mute(Some(until)).await;
                BotReply::Muted { until }
            }
            Command::Unmute => {
                self.set_mute(None).await;
                BotReply::Unmuted
            }
            Command::MuteUsage => BotReply::MuteUsage,
        };
        (reply, Vec::new())
    }

    fn hold_until(&self, now: DateTime<Utc>) -> DateTime<Utc> {
        now + chrono::Duration::from_std(self.config.notify.telegram.cancel_for)
            .unwrap_or(chrono::Duration::MAX)
    }

    async fn set_mute(&self, until: Option<DateTime<Utc>>) {
        if let Err(e) = self.state.update(|s| s.bot.muted_until = until).await {
            tracing::error!(error = %e, "cannot record /mute in the state file");
        }
    }

    /// The confirmed `/cancel`: saves a hold for every package whose countdown runs, then cancels
    /// those countdowns (the guard tells every channel).
    async fn confirm_cancel(&self, user_id: i64, now: DateTime<Utc>) -> BotReply {
        let running = self.guard.running_all();
        if running.is_empty() {
            return BotReply::NothingRunning {
                shutdown_enabled: self.guard.enabled(),
            };
        }
        let until = self.hold_until(now);
        let saved = self
            .state
            .update(|s| {
                for id in &running {
                    s.bot.holds.insert(
                        id.clone(),
                        Hold {
                            at: now,
                            until,
                            level: Level::L1,
                            user_id,
                        },
                    );
                }
            })
            .await;
        if let Err(e) = saved {
            // The countdown is still cancelled: the user asked for it now; only its persistence
            // failed (the next level-1 reading starts a new countdown).
            tracing::error!(error = %e, "cannot record /cancel in the state file");
        }
        let mut too_late = Vec::new();
        for id in &running {
            match self.guard.cancel(id, CancelReason::ByCommand { until }) {
                CancelOutcome::Cancelled => {
                    tracing::warn!(free_resource_id = %id, user_id, "shutdown cancelled with /cancel");
                }
                CancelOutcome::TooLate => {
                    tracing::warn!(free_resource_id = %id, user_id, "/cancel came too late: the shutdown is under way");
                    too_late.push(id.clone());
                }
                CancelOutcome::NotRunning => {}
            }
        }
        if too_late.is_empty() {
            return BotReply::CancelConfirmed;
        }
        // No cancellation stands for a shutdown that went ahead.
        let dropped = self
            .state
            .update(|s| {
                for id in &too_late {
                    s.bot.holds.remove(id);
                }
            })
            .await;
        if let Err(e) = dropped {
            tracing::error!(error = %e, "cannot update the state file after a late /cancel");
        }
        BotReply::TooLate {
            servers: too_late
                .iter()
                .map(|id| self.config.shown_server(id))
                .collect(),
        }
    }

    async fn resume(&self) -> BotReply {
        let mut ended = Vec::new();
        let saved = self
            .state
            .update(|s| ended = std::mem::take(&mut s.bot.holds).into_keys().collect())
            .await;
        if let Err(e) = saved {
            tracing::error!(error = %e, "cannot record /resume in the state file");
            ended.clear();
        }
        if ended.is_empty() {
            return BotReply::NothingToResume;
        }
        for id in &ended {
            let m = Message::ShutdownResumed {
                server: self.config.shown_server(id),
                free_resource_id: id.clone(),
                why: HoldEnd::Resumed,
            };
            if let Err(e) = self.notifier.enqueue(&m) {
                tracing::error!(error = %e, "cannot queue the /resume message");
            }
        }
        BotReply::Resumed { count: ended.len() }
    }

    async fn start(&self, now: DateTime<Utc>) -> BotReply {
        if self.config.shutdown.mode != ShutdownMode::HuaweiApi {
            return BotReply::StartUnsupported;
        }
        let Some(starter) = &self.starter else {
            return BotReply::StartUnsupported;
        };
        let checked = starter.check(now).await;
        if checked.starting.is_empty() && checked.not_due.is_empty() {
            return BotReply::NothingStopped;
        }
        BotReply::Starting {
            started: checked.starting,
            not_due: checked.not_due,
        }
    }

    /// `/status`: the page's view of every package, in the bot's words.
    async fn status(&self, now: DateTime<Utc>) -> BotReply {
        let settings = page::Settings::from_config(&self.config);
        let snapshot = self.snapshot.read().await.clone();
        let state = self.state.snapshot().await;
        let alerting = AlertingInputs {
            countdowns: self.guard.countdowns(),
            state,
            ..AlertingInputs::default()
        };
        let history = self.history.history();
        let view = page::build(&Inputs {
            settings: &settings,
            snapshot: &snapshot,
            alerting: Some(&alerting),
            history: &history,
            history_problems: Vec::new(),
            now,
            version: env!("CARGO_PKG_VERSION"),
        });
        let packages = view
            .packages
            .iter()
            .map(|p| PackageStatus {
                server: p.server.clone(),
                account: self
                    .config
                    .several_accounts()
                    .then(|| self.config.account_name(&p.id).to_string()),
                free_resource_id: p.id.clone(),
                package_name: p
                    .reading
                    .as_ref()
                    .map(|r| r.package_name.clone())
                    .unwrap_or_default(),
                remaining_gb: p.reading.as_ref().map(|r| r.remaining_gb),
                total_gb: p.reading.as_ref().map(|r| r.total_gb),
                estimate_gb: p.estimate.as_ref().map(|e| e.remaining_gb),
                level: p.level,
                cycle_end: p.reading.as_ref().and_then(|r| r.cycle_end),
                forecast: p.forecast,
                countdown_until: p.countdown.as_ref().map(|c| c.deadline),
                cancelled_until: p.cancelled_until,
            })
            .collect();
        BotReply::Status {
            server: view.server,
            packages,
            muted_until: alerting.state.bot.muted_until.filter(|t| *t > now),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_wait_as_told_or_back_off_and_never_loop_tightly() {
        let net = TelegramError::Network("timeout".into());
        assert_eq!(wait_after(&net, 1), Duration::from_secs(1));
        assert_eq!(wait_after(&net, 3), Duration::from_secs(4));
        assert_eq!(wait_after(&net, 50), MAX_WAIT);
        assert_eq!(
            wait_after(&TelegramError::RetryAfter(Duration::from_secs(7)), 1),
            Duration::from_secs(7)
        );
        let bad_token = TelegramError::Unauthorized {
            status: 401,
            description: "Unauthorized".into(),
        };
        assert_eq!(wait_after(&bad_token, 1), MAX_WAIT);
        let conflict = TelegramError::Rejected {
            status: 409,
            description: "Conflict: terminated by other getUpdates request".into(),
        };
        assert_eq!(wait_after(&conflict, 1), Duration::from_secs(30));
    }
}
