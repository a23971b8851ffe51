//! The engine: where the two inputs (our own readings, Alertmanager's alerts) meet the one policy,
//! and where its decisions become durable effects: messages queued in the outbox, memory saved in
//! the state store, level-1 requests handed to the shutdown guard.
//!
//! Every change follows the same order — decide on a copy of the state, queue the messages, save
//! the copy — so that when a webhook gets its 200 the alert is recorded, and so that a crash can at
//! worst repeat a message, never lose one.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::actions::Action;
use crate::alertmanager::{Kind, Payload};
use crate::autostart::AutoStarter;
use crate::config::Config;
use crate::history::HistoryStore;
use crate::level::Level;
use crate::messages::{Facts, Message};
use crate::notifier::Notifier;
use crate::policy::{
    cancel_on_reading, cancel_on_resolved, hold_shutdown, hold_status, mute_repeats, CancelReason,
    Decision, PackageMemory,
};
use crate::reading::Reading;
use crate::shutdown::Guard;
use crate::snapshot::{SharedSnapshot, Snapshot};
use crate::state::{CorruptState, State, StateCell, StoreError};

/// Why an input could not be recorded (the webhook answers 503 and Alertmanager retries).
#[derive(Debug, thiserror::Error)]
pub enum RecordError {
    #[error("cannot queue a message in the outbox: {0}")]
    Outbox(#[from] std::io::Error),
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The state stayed locked longer than [`WEBHOOK_LOCK_WAIT`] (a stalled disk, a flood of
    /// deliveries): the delivery is refused so that Alertmanager retries it later.
    #[error("busy: the state stayed locked for {0:?}")]
    Busy(Duration),
}

/// How long a webhook delivery waits for the state before it is answered 503 (Alertmanager
/// retries it). Well under Alertmanager's own notification timeout, so that the answer arrives.
pub const WEBHOOK_LOCK_WAIT: Duration = Duration::from_secs(5);

/// What a webhook delivery led to.
#[derive(Debug, Default, Clone, Serialize)]
pub struct WebhookSummary {
    pub alerts: usize,
    pub messages: usize,
    pub heartbeats: usize,
    pub shutdown_requests: usize,
    pub duplicates: usize,
    /// Messages folded into one (see [`fold_messages`]).
    pub folded: usize,
}

/// How long generic alerts are remembered for dropping duplicates.
const RECENT_ALERTS_KEEP: Duration = Duration::from_secs(7 * 24 * 3600);

/// How many generic alerts are remembered at most (the oldest are forgotten first), so that a
/// flood of distinct alerts cannot grow the state file without bound.
pub const RECENT_ALERTS_MAX: usize = 10_000;

/// The most messages one webhook delivery sends about anything but the watched packages; beyond
/// it, the rest are folded into the last of them (one POST of 10,000 alerts once queued 10,000
/// messages). Messages about the watched packages are always sent one by one: there are at most
/// two per package (an alert or a recovery, and what the guard says).
pub const MAX_OTHER_MESSAGES_PER_DELIVERY: usize = 10;

/// Keeps `messages` about watched packages, and at most [`MAX_OTHER_MESSAGES_PER_DELIVERY`] of
/// the others, the last of which then tells how many more there were and names a few. Pure.
pub fn fold_messages(messages: Vec<Message>, watched: &[String], server: &str) -> Vec<Message> {
    let about_watched = |m: &Message| match m {
        Message::Alert { facts, .. }
        | Message::Recovery { facts, .. }
        | Message::Report { facts } => watched.contains(&facts.free_resource_id),
        _ => false,
    };
    let others = messages.iter().filter(|m| !about_watched(m)).count();
    if others <= MAX_OTHER_MESSAGES_PER_DELIVERY {
        return messages;
    }
    let mut kept = Vec::new();
    let mut folded = 0;
    let mut names: Vec<String> = Vec::new();
    let mut seen_others = 0;
    for m in messages {
        if about_watched(&m) {
            kept.push(m);
            continue;
        }
        seen_others += 1;
        if seen_others < MAX_OTHER_MESSAGES_PER_DELIVERY {
            kept.push(m);
            continue;
        }
        folded += 1;
        let name = match &m {
            Message::ExternalAlert { alertname, .. } => alertname.clone(),
            Message::Alert { level, facts, .. } => {
                format!("{} ({})", facts.free_resource_id, level.label())
            }
            Message::Recovery { facts, .. } | Message::Report { facts } => {
                facts.free_resource_id.clone()
            }
            _ => String::new(),
        };
        if names.len() < crate::messages::FOLDED_NAMES && !name.is_empty() && !names.contains(&name)
        {
            names.push(name);
        }
    }
    kept.push(Message::MoreAlerts {
        server: server.to_string(),
        count: folded,
        names,
    });
    kept
}

/// The engine.
pub struct Engine {
    pub config: Arc<Config>,
    pub state: Arc<StateCell>,
    pub notifier: Arc<Notifier>,
    pub guard: Guard,
    pub snapshot: SharedSnapshot,
    /// Throttle, fence and command actions (for the status API).
    pub enforcer: Arc<crate::enforcer::Enforcer>,
    /// Present with `AUTO_START=true`.
    pub autostart: Option<Arc<AutoStarter>>,
    /// The history of readings and cycles (for the reports).
    pub history: Arc<HistoryStore>,
}

/// The live estimate of a package's remaining traffic (the bill minus the egress it has not seen
/// yet), when the snapshot holds one built on the reading it holds (see `egress`).
fn live_remaining_gb(snap: &Snapshot, id: &str) -> Option<f64> {
    snap.estimate(id).map(|e| e.remaining_gb)
}

/// Whether a package's error is BSS still answering the ended cycle shortly after the reset
/// (see `plausibility::ROLLOVER_GRACE`), which is not yet a failure to tell.
fn rolling_over_error(
    error: Option<&crate::huawei::wire::ReadingError>,
    now: DateTime<Utc>,
) -> bool {
    match error {
        None => true,
        Some(crate::huawei::wire::ReadingError::Doubtful(d)) => !d.tell_now(now),
        Some(_) => false,
    }
}

/// Effects collected while deciding, carried out after the state is saved.
#[derive(Default)]
struct Effects {
    messages: Vec<Message>,
    triggers: Vec<Facts>,
    cancels: Vec<(String, CancelReason)>,
}

impl Engine {
    fn facts(&self, r: &Reading) -> Facts {
        Facts::from_reading(&self.config.shown_server(&r.free_resource_id), r)
    }

    fn fresh_reading<'a>(
        &self,
        snap: &'a Snapshot,
        id: &str,
        now: DateTime<Utc>,
    ) -> Option<&'a Reading> {
        snap.fresh(now, self.config.watch.reading_max_age)
            .into_iter()
            .find(|r| r.free_resource_id == id)
    }

    /// The gentler actions a package at `level` puts in force: none for a package of another
    /// server, nor what was lifted by hand.
    fn actions_at(&self, id: &str, level: Level, state: &State) -> Vec<Action> {
        let s = &self.config.actions;
        if !s.acts_for(id) {
            return Vec::new();
        }
        s.at_level(level)
            .into_iter()
            .filter(|k| !state.actions.lifted_by_hand.contains(&k.id()))
            .map(|k| k.action)
            .collect()
    }

    fn apply(&self, decisions: Vec<Decision>, facts: &Facts, state: &State, fx: &mut Effects) {
        for d in decisions {
            match d {
                Decision::Alert(level) => fx.messages.push(Message::Alert {
                    level,
                    facts: facts.clone(),
                    no_shutdown: self.config.no_shutdown_for(&facts.free_resource_id),
                    actions: self.actions_at(&facts.free_resource_id, level, state),
                }),
                Decision::Recovery { from, to } => fx.messages.push(Message::Recovery {
                    from,
                    to,
                    facts: facts.clone(),
                }),
                Decision::Report => fx.messages.push(Message::Report {
                    facts: facts.clone(),
                }),
                Decision::CancelShutdown(reason) => {
                    fx.cancels.push((facts.free_resource_id.clone(), reason));
                }
                Decision::Shutdown => {
                    if self
                        .config
                        .watch
                        .free_resource_ids
                        .contains(&facts.free_resource_id)
                    {
                        fx.triggers.push(facts.clone());
                    } else {
                        tracing::warn!(free_resource_id = %facts.free_resource_id, "level 1 for a package this instance does not watch; not acting");
                    }
                }
            }
        }
    }

    /// What the Telegram commands put in force, applied to one package's decisions: a `/cancel`
    /// that still stands removes the shutdown request (one that ended is removed from `next` and
    /// reported), and `/mute` removes repeats. `levels` are the package's level now (when
    /// known) and the level told before.
    fn gate(
        &self,
        next: &mut State,
        id: &str,
        (level, previous): (Option<Level>, Option<Level>),
        decisions: Vec<Decision>,
        now: DateTime<Utc>,
        fx: &mut Effects,
    ) -> Vec<Decision> {
        let status = next
            .bot
            .holds
            .get(id)
            .map(|h| hold_status(h, level.unwrap_or(h.level), now));
        let held = match status {
            None => false,
            Some(Ok(())) => true,
            Some(Err(why)) => {
                next.bot.holds.remove(id);
                tracing::warn!(free_resource_id = %id, why = ?why, "the shutdown cancelled with /cancel is enabled again");
                fx.messages.push(Message::ShutdownResumed {
                    server: self.config.shown_server(id),
                    free_resource_id: id.to_string(),
                    why,
                });
                false
            }
        };
        mute_repeats(
            hold_shutdown(decisions, held),
            previous,
            next.bot.muted(now),
        )
    }

    /// Before a reading is judged: the package's alert memory follows the reading's cycle (a
    /// memory of a past cycle starts afresh), and a `/cancel` confirmed before the cycle began
    /// ends with it, and says so. Returns the level remembered from the past cycle when its
    /// memory was forgotten.
    fn enter_cycle(&self, next: &mut State, r: &Reading, fx: &mut Effects) -> Option<Level> {
        let id = &r.free_resource_id;
        let mem = next.packages.entry(id.clone()).or_default();
        let before = mem.level;
        let forgot = mem.enter_cycle(r.cycle_start, r.cycle_end);
        if forgot {
            tracing::info!(free_resource_id = %id, cycle_end = ?r.cycle_end, "a new cycle: its alerts start from a fresh memory");
        }
        let past_hold = next
            .bot
            .holds
            .get(id)
            .is_some_and(|h| forgot || r.cycle_start.is_some_and(|start| h.at < start));
        if past_hold {
            next.bot.holds.remove(id);
            fx.messages.push(Message::ShutdownResumed {
                server: self.config.shown_server(id),
                free_resource_id: id.clone(),
                why: crate::policy::HoldEnd::LevelChanged,
            });
        }
        before.filter(|_| forgot)
    }

    /// Whether the report after this reading's reset tells the reset (`RESET_REPORTS`, and a cycle
    /// long enough for reports; a cycle of unknown length counts as long enough).
    fn reset_report_tells(&self, r: &Reading) -> bool {
        let long = match (r.cycle_start, r.cycle_end) {
            (Some(s), Some(e)) => {
                e.signed_duration_since(s)
                    >= chrono::Duration::from_std(crate::report::MIN_REPORTED_CYCLE)
                        .unwrap_or(chrono::Duration::MAX)
            }
            _ => true,
        };
        self.config.alerting.reports.reset_reports && long
    }

    /// Queues the messages, saves `next`, then hands requests to the guard.
    async fn record(
        &self,
        mut guard: tokio::sync::MutexGuard<'_, State>,
        next: State,
        fx: Effects,
        source: &str,
    ) -> Result<(), RecordError> {
        for m in &fx.messages {
            self.notifier.enqueue(m)?;
        }
        if next != *guard {
            self.state.commit(&mut guard, next)?;
        }
        drop(guard);
        for (id, why) in fx.cancels {
            self.guard.cancel(&id, why);
        }
        for facts in fx.triggers {
            self.guard.trigger(facts, source).await;
        }
        Ok(())
    }

    /// The fallback evaluator's (and `check`'s) step: judge every fresh reading.
    ///
    /// # Errors
    /// When messages or state cannot be written.
    pub async fn evaluate(&self, now: DateTime<Utc>) -> Result<(), RecordError> {
        let snap = self.snapshot.read().await.clone();
        let guard = self.state.lock().await;
        let mut next = guard.clone();
        let mut fx = Effects::default();
        for r in snap.fresh(now, self.config.watch.reading_max_age) {
            // The bill, or the estimate built on it when lower: it can only bring a level sooner.
            let gb = snap
                .judged_gb(&r.free_resource_id)
                .unwrap_or(r.remaining_gb);
            let level = Level::of(gb, &self.config.alerting.thresholds);
            let before_reset = self.enter_cycle(&mut next, r, &mut fx);
            let mem = next.packages.entry(r.free_resource_id.clone()).or_default();
            let previous = mem.level;
            let mut decisions = mem.observe(level, now, &self.config.alerting.cadence);
            // A reset out of a low level, back to plenty: the report after the reset tells it;
            // where none is sent, the recovery message does (and carries the figures a daily
            // report of the same poll would repeat).
            if let Some(from) = before_reset {
                if from > Level::Ok && level == Level::Ok && !self.reset_report_tells(r) {
                    decisions.retain(|d| !matches!(d, Decision::Report));
                    decisions.insert(0, Decision::Recovery { from, to: level });
                }
            }
            decisions.extend(cancel_on_reading(level, gb));
            let decisions = self.gate(
                &mut next,
                &r.free_resource_id,
                (Some(level), previous),
                decisions,
                now,
                &mut fx,
            );
            let mut facts = self.facts(r);
            facts.estimate_gb = snap.estimate(&r.free_resource_id).map(|e| e.remaining_gb);
            self.apply(decisions, &facts, &next, &mut fx);
        }
        self.record(guard, next, fx, "fallback").await
    }

    /// Tells the user when polling keeps failing (or cannot work until they fix something), and
    /// once more when it works again. The original failed silently here.
    ///
    /// # Errors
    /// When messages or state cannot be written.
    pub async fn poll_health(&self) -> Result<(), RecordError> {
        let snap = self.snapshot.read().await.clone();
        let guard = self.state.lock().await;
        let mut next = guard.clone();
        let mut fx = Effects::default();
        let now = Utc::now();
        if self.config.several_accounts() {
            // Each account on its own: one failing account is told as that account, and never
            // hides or delays what another account says.
            for a in &snap.accounts {
                let h = next.account_health.entry(a.name.clone()).or_default();
                if a.polls == 0 || h.judged_polls == Some(a.polls) {
                    continue;
                }
                h.judged_polls = Some(a.polls);
                let server = self
                    .config
                    .accounts
                    .iter()
                    .find(|x| x.name == a.name)
                    .map_or_else(
                        || self.config.watch.server_name.clone(),
                        |x| x.server_name.clone(),
                    );
                let server = format!("{server} [{}]", a.name);
                let packages = || snap.packages.iter().filter(|p| p.account == a.name);
                let rolling_over = !a.up
                    && a.last_error.is_none()
                    && packages().any(|p| p.error.is_some())
                    && packages().all(|p| rolling_over_error(p.error.as_ref(), now));
                let problem = || snap.problem_of(Some(&a.name));
                self.judge_health(
                    h,
                    (a.up, rolling_over, a.last_error_is_configuration),
                    problem,
                    (server, Some(a.name.clone())),
                    &mut fx,
                );
            }
        } else {
            // BSS still answering the ended cycle shortly after the reset is not a failure to tell
            // yet (see `plausibility::ROLLOVER_GRACE`): such a poll is not counted either way.
            let rolling_over = !snap.up
                && snap.last_error.is_none()
                && snap.packages.iter().any(|p| p.error.is_some())
                && snap
                    .packages
                    .iter()
                    .all(|p| rolling_over_error(p.error.as_ref(), now));
            let server = self.config.watch.server_name.clone();
            self.judge_health(
                &mut next.health,
                (snap.up, rolling_over, snap.last_error_is_configuration),
                || snap.problem(),
                (server, None),
                &mut fx,
            );
        }
        self.tell_reading_problems(&snap, &mut next, now, &mut fx);
        self.record(guard, next, fx, "health").await
    }

    /// One poll's verdict on the health of the monitoring (of one account, with several):
    /// `(up, rolling over, a configuration error)`, told as `(server, account)`.
    fn judge_health(
        &self,
        h: &mut crate::state::HealthMemory,
        (up, rolling_over, configuration): (bool, bool, bool),
        problem: impl Fn() -> crate::huawei::bss::PollProblem,
        (server, account): (String, Option<String>),
        fx: &mut Effects,
    ) {
        if rolling_over {
            // Neither a failure nor a success: the count stays as it is.
        } else if up {
            if h.alerted {
                fx.messages.push(Message::MonitoringRecovered { server });
            }
            let judged = h.judged_polls;
            *h = Default::default();
            h.judged_polls = judged;
        } else {
            h.consecutive_failures += 1;
            if !h.alerted
                && (configuration
                    || h.consecutive_failures >= self.config.watch.poll_failures_before_alert)
            {
                fx.messages.push(Message::MonitoringFailing {
                    server,
                    failures: h.consecutive_failures,
                    error: problem(),
                    configuration,
                    account,
                });
                h.alerted = true;
            }
        }
    }

    /// Tells the owner at once, once per distinct problem, about a package whose reading is not
    /// acted on (unreadable, refused, held), and once when its readings are usable again. The
    /// generic "polls keep failing" message above comes only after several polls; this one says
    /// what will not happen and what to do. What was told is kept in the state, so a restart
    /// does not repeat it.
    fn tell_reading_problems(
        &self,
        snap: &Snapshot,
        next: &mut State,
        now: DateTime<Utc>,
        fx: &mut Effects,
    ) {
        let watched: Vec<String> = snap
            .packages
            .iter()
            .map(|p| p.free_resource_id.clone())
            .collect();
        next.forget_unwatched(&watched);
        for p in &snap.packages {
            let id = &p.free_resource_id;
            let server = self.config.shown_server(id);
            match &p.error {
                Some(error) => {
                    if let crate::huawei::wire::ReadingError::Doubtful(d) = error {
                        if !d.tell_now(now) {
                            continue;
                        }
                    }
                    let kind = error.kind();
                    if next.reading_problems.get(id).map(|t| t.kind.as_str()) == Some(kind) {
                        continue;
                    }
                    tracing::warn!(free_resource_id = %id, problem = kind, error = %error, "telling the owner: reading not acted on");
                    fx.messages.push(Message::ReadingNotUsed {
                        server,
                        free_resource_id: id.clone(),
                        error: error.clone(),
                        last_good_gb: p.reading.as_ref().map(|r| r.remaining_gb),
                    });
                    next.reading_problems.insert(
                        id.clone(),
                        crate::state::ToldProblem {
                            kind: kind.to_string(),
                            since: now,
                        },
                    );
                }
                None => {
                    if let (Some(r), Some(_)) = (&p.reading, next.reading_problems.remove(id)) {
                        fx.messages.push(Message::ReadingUsable {
                            server,
                            free_resource_id: id.clone(),
                            remaining_gb: r.remaining_gb,
                        });
                    }
                }
            }
        }
    }

    /// Records a webhook delivery.
    ///
    /// # Errors
    /// When messages or state cannot be written (answer 503: Alertmanager retries).
    pub async fn webhook(
        &self,
        payload: &Payload,
        now: DateTime<Utc>,
    ) -> Result<WebhookSummary, RecordError> {
        let snap = self.snapshot.read().await.clone();
        let guard = tokio::time::timeout(WEBHOOK_LOCK_WAIT, self.state.lock())
            .await
            .map_err(|_| RecordError::Busy(WEBHOOK_LOCK_WAIT))?;
        let mut next = guard.clone();
        let mut fx = Effects::default();
        let says_reminder = payload.says_reminder();
        let mut summary = WebhookSummary {
            alerts: payload.alerts.len(),
            ..Default::default()
        };
        let keep = chrono::Duration::from_std(RECENT_ALERTS_KEEP).unwrap_or(chrono::Duration::MAX);
        next.recent_alerts
            .retain(|_, at| now.signed_duration_since(*at) < keep);
        for alert in &payload.alerts {
            match alert.kind() {
                Kind::Watchdog => {
                    if alert.is_firing() {
                        next.last_heartbeat = Some(now);
                        summary.heartbeats += 1;
                    } else {
                        // The always-firing alert expired in Alertmanager: Prometheus stopped
                        // sending it. Hand over now instead of after WATCHDOG_TIMEOUT.
                        next.last_heartbeat = None;
                    }
                }
                Kind::Level {
                    free_resource_id: id,
                    level,
                } => {
                    let reading = self.fresh_reading(&snap, &id, now);
                    let current = reading.map(|r| {
                        let gb = snap.judged_gb(&id).unwrap_or(r.remaining_gb);
                        Level::of(gb, &self.config.alerting.thresholds)
                    });
                    let facts = match reading {
                        Some(r) => self.facts(r),
                        None => Facts {
                            server: alert
                                .labels
                                .get("server")
                                .cloned()
                                .unwrap_or_else(|| self.config.watch.server_name.clone()),
                            free_resource_id: id.clone(),
                            usage_type: alert.labels.get("usage_type").cloned().unwrap_or_default(),
                            note: Some(
                                crate::messages::bounded(
                                    &alert.summary_for(self.config.notify.lang.as_str()),
                                    crate::messages::MAX_VALUE_CHARS,
                                )
                                .into_owned(),
                            ),
                            ..Default::default()
                        },
                    };
                    // A reminder: Alertmanager says so (0.32+), or we recorded this episode
                    // already (0.25 says nothing; a retry or the HA peer's copy is one too).
                    let episode = alert.dedupe_key();
                    let reminder = alert.is_firing()
                        && (says_reminder || next.recent_alerts.contains_key(&episode));
                    next.recent_alerts.insert(episode, now);
                    let cadence = &self.config.alerting.cadence;
                    if let Some(r) = reading {
                        let _ = self.enter_cycle(&mut next, r, &mut fx);
                    }
                    let mem: &mut PackageMemory = next.packages.entry(id.clone()).or_default();
                    let previous = mem.level;
                    let decisions = if reminder {
                        mem.observe_reminder(level, current, now, cadence)
                    } else if alert.is_firing() {
                        mem.observe_alert(level, current, alert.started_at(), now, cadence)
                    } else {
                        mem.resolve(level, current, now, cadence)
                    };
                    // A cancellation is not a message: duplicates are counted without it.
                    let duplicate = decisions.is_empty();
                    let mut decisions = decisions;
                    if !alert.is_firing() {
                        let unproven = payload.unproven_resolution(alert);
                        if let Some(why) = &unproven {
                            tracing::warn!(free_resource_id = %id, why = %why, has_fresh_reading = reading.is_some(), "resolved alert not taken as proof; only a fresh reading of ours cancels");
                        }
                        decisions.extend(cancel_on_resolved(
                            level,
                            unproven.is_none(),
                            reading.zip(current).map(|(r, l)| (l, r.remaining_gb)),
                        ));
                    }
                    if duplicate {
                        summary.duplicates += 1;
                    }
                    let now_level = if alert.is_firing() {
                        Some(current.unwrap_or(level))
                    } else {
                        current
                    };
                    let decisions = self.gate(
                        &mut next,
                        &id,
                        (now_level, previous),
                        decisions,
                        now,
                        &mut fx,
                    );
                    summary.shutdown_requests += decisions
                        .iter()
                        .filter(|d| **d == Decision::Shutdown)
                        .count();
                    self.apply(decisions, &facts, &next, &mut fx);
                }
                Kind::Other => {
                    let key = alert.dedupe_key();
                    if next.recent_alerts.contains_key(&key) {
                        summary.duplicates += 1;
                        continue;
                    }
                    next.recent_alerts.insert(key, now);
                    fx.messages.push(Message::ExternalAlert {
                        server: alert
                            .labels
                            .get("server")
                            .cloned()
                            .unwrap_or_else(|| self.config.watch.server_name.clone()),
                        alertname: alert.name().to_string(),
                        firing: alert.is_firing(),
                        summary: alert.summary_for(self.config.notify.lang.as_str()),
                    });
                }
            }
        }
        if next.recent_alerts.len() > RECENT_ALERTS_MAX {
            let mut by_age: Vec<(String, DateTime<Utc>)> = next
                .recent_alerts
                .iter()
                .map(|(k, v)| (k.clone(), *v))
                .collect();
            by_age.sort_by_key(|(_, at)| std::cmp::Reverse(*at));
            next.recent_alerts = by_age.into_iter().take(RECENT_ALERTS_MAX).collect();
        }
        let before = fx.messages.len();
        fx.messages = fold_messages(
            std::mem::take(&mut fx.messages),
            &self.config.watch.free_resource_ids,
            &self.config.watch.server_name,
        );
        summary.folded = before - fx.messages.len() + usize::from(before != fx.messages.len());
        summary.messages = fx.messages.len();
        self.record(guard, next, fx, "webhook").await?;
        Ok(summary)
    }

    /// The report about `id` of `kind` at `now`, from the history and `state`.
    fn build_report(
        &self,
        kind: crate::messages::ReportKind,
        id: &str,
        state: &State,
        snap: &Snapshot,
        now: DateTime<Utc>,
    ) -> crate::messages::CycleReport {
        let cycles = self.history.cycles(id);
        let points = self.history.points(id);
        let server = self.config.shown_server(id);
        crate::report::build(&crate::report::Inputs {
            kind,
            id,
            server: &server,
            cycles: &cycles,
            points: &points,
            state,
            live_remaining_gb: live_remaining_gb(snap, id),
            max_age: self.config.watch.reading_max_age,
            auto_start: self.config.shutdown.auto_start,
            offset: self.config.alerting.reports.zone.offset_at(now),
            now,
        })
    }

    /// Sends the reports that are due at `now` (a day before each reset, after it, the daily
    /// digest), once each: their keys are saved with the messages queued, in one step (see the
    /// module). Runs after every poll whoever is in charge of alerts, and in `check`. Returns how
    /// many were queued.
    ///
    /// # Errors
    /// When messages or state cannot be written.
    pub async fn reports(&self, now: DateTime<Utc>) -> Result<usize, RecordError> {
        let settings = self.config.alerting.reports;
        let offset = settings.zone.offset_at(now);
        let snap = self.snapshot.read().await.clone();
        let guard = self.state.lock().await;
        let mut next = guard.clone();
        next.reports.forget_old(now, crate::report::KEEP_SENT);
        let muted = next.bot.muted(now);
        let mut fx = Effects::default();
        for id in &self.config.watch.free_resource_ids {
            let cycles = self.history.cycles(id);
            for due in crate::report::due(id, &cycles, &settings, &next.reports, muted, offset, now)
            {
                if due.send {
                    tracing::info!(free_resource_id = %id, kind = due.kind.label(), "report due");
                    let report = self.build_report(due.kind, id, &next, &snap, now);
                    fx.messages.push(Message::CycleReport { report });
                }
                next.reports.sent.insert(due.key, now);
            }
        }
        let queued = fx.messages.len();
        self.record(guard, next, fx, "reports").await?;
        Ok(queued)
    }

    /// The reports that will be due after `now`, by package (for `/api/v1/status`).
    pub fn upcoming_reports(
        &self,
        state: &State,
        now: DateTime<Utc>,
    ) -> Vec<crate::report::Upcoming> {
        let settings = self.config.alerting.reports;
        let offset = settings.zone.offset_at(now);
        self.config
            .watch
            .free_resource_ids
            .iter()
            .flat_map(|id| {
                crate::report::upcoming(
                    id,
                    &self.history.cycles(id),
                    &settings,
                    &state.reports,
                    offset,
                    now,
                )
            })
            .collect()
    }

    /// What `/report` answers at `now`: the report of every watched package, as the scheduled
    /// ones say it.
    pub async fn reports_now(&self, now: DateTime<Utc>) -> Vec<crate::messages::CycleReport> {
        let snap = self.snapshot.read().await.clone();
        let state = self.state.snapshot().await;
        self.config
            .watch
            .free_resource_ids
            .iter()
            .map(|id| {
                self.build_report(
                    crate::messages::ReportKind::OnRequest,
                    id,
                    &state,
                    &snap,
                    now,
                )
            })
            .collect()
    }

    /// Starts instances this process stopped once their cycle reset (`AUTO_START`), each in a
    /// task of the application; [`Self::wait_auto_start`] waits for them (one-shot commands).
    pub async fn auto_start(&self, now: DateTime<Utc>) {
        if let Some(a) = &self.autostart {
            a.check(now).await;
        }
    }

    /// Waits until no automatic start is in progress.
    pub async fn wait_auto_start(&self) {
        if let Some(a) = &self.autostart {
            a.wait_idle().await;
        }
    }

    /// When the watchdog heartbeat last arrived.
    pub async fn last_heartbeat(&self) -> Option<DateTime<Utc>> {
        self.state.lock().await.last_heartbeat
    }

    /// Tells the user the state file was unreadable and replaced.
    pub fn report_corrupt_state(&self, c: &CorruptState) {
        let m = Message::StateReset {
            server: self.config.watch.server_name.clone(),
            moved_to: c.moved_to.display().to_string(),
        };
        if let Err(e) = self.notifier.enqueue(&m) {
            tracing::error!(error = %e, "cannot queue the state-reset message");
        }
    }
}
