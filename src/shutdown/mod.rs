//! The shutdown guard: the only code that can shut a server down, and the rules around it.
//!
//! A level-1 decision (from the fallback evaluator or a webhook) only *asks* the guard. The guard
//! runs one countdown at a time per package (so several servers are judged on their own): it warns
//! on Telegram, waits `SHUTDOWN_DELAY` with reminders, then
//! takes a **fresh** BSS reading of its own and acts only if that reading succeeded and is still below
//! T1 — by the bill, or by the live estimate built on that fresh bill (see `egress`), which is
//! never above it: a bill that lags cannot cancel what the server's own counter shows, and a
//! counter without a fresh bill reading decides nothing. A reading at or above T1, a failed poll, a package that cannot be read, or a resolved alert
//! cancels it, with a message. It never acts from stored data: nothing at start-up asks it.
//! After acting it does not act again in the same boot; whether it acts again after a later boot in
//! the same cycle is `SHUTDOWN_REPEAT_AFTER_BOOT` (default yes, as the original). A failed attempt may
//! be retried after `LEVEL2_REPEAT`.
//!
//! Countdowns run on the application's task tracker (see `tasks`), one per package. Stopping the
//! monitor (SIGTERM, Ctrl-C) during a countdown abandons it: nothing is shut down, nothing is
//! recorded, and a cancellation message says so. The next start never resumes it: a new countdown
//! starts only from a fresh reading (or a firing alert) below T1, as at any other time. Once the
//! guard has begun to act, stopping waits (within the application's stop bound) for the outcome
//! to be recorded, so that a shutdown is never forgotten.

pub mod container;
pub mod executor;

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::messages::{Facts, Message};
use crate::metrics::{Metrics, ShutdownResult};
use crate::notifier::Notifier;
use crate::policy::{guard_verdict, CancelReason, FreshReading, Verdict};
use crate::poller::Poller;
use crate::state::{ShutdownRecord, StateCell, StoppedRecord};
use crate::target::Target;
use crate::tasks::{Cancel, Keyed, Tasks};
pub use executor::{CommandExecutor, DryRunExecutor, Executor, ShutdownError};

/// The guard's settings.
#[derive(Debug, Clone)]
pub struct GuardSettings {
    /// False with `SHUTDOWN_MODE=off`: level 1 is told, nothing is done.
    pub enabled: bool,
    pub delay: Duration,
    /// Reminders during the countdown.
    pub warnings: u32,
    pub thresholds: crate::level::Thresholds,
    pub repeat_after_boot: bool,
    /// How long after a failed attempt a new one may start.
    pub retry_after_failure: Duration,
    pub boot_id: Option<String>,
    /// The server name of packages without a known instance (`SERVER_NAME`).
    pub server: String,
    /// Package id → its instance (for `huawei-api`, and for the names in messages).
    pub targets: std::collections::BTreeMap<String, Target>,
    /// Packages of accounts whose level 1 does not shut down (their `SHUTDOWN_MODE=off`, or no
    /// `shutdown` in their `LEVEL1_ACTIONS`) while another account's does.
    pub disabled: std::collections::BTreeSet<String>,
    /// Package → how messages name its server (`flexus [intl]` with several accounts); packages
    /// not listed are named by [`Self::server_for`]'s rule.
    pub shown: std::collections::BTreeMap<String, String>,
}

impl GuardSettings {
    fn server_for(&self, package: &str) -> String {
        if let Some(shown) = self.shown.get(package) {
            return shown.clone();
        }
        self.targets
            .get(package)
            .map_or_else(|| self.server.clone(), |t| t.name.clone())
    }
}

/// Whole seconds, rounded up (a countdown never says "0 s" while time is left).
fn ceil_secs(d: Duration) -> u64 {
    d.as_secs() + u64::from(d.subsec_nanos() > 0)
}

/// What a request to the guard led to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Trigger {
    Started,
    AlreadyRunning,
    AlreadyActed,
    Disabled,
    /// The user cancelled the shutdown of this package with `/cancel`, and it still stands.
    Held,
}

/// Why a decision about an earlier record blocks a new attempt, if it does. Pure.
pub fn blocked_by_record(
    record: Option<&ShutdownRecord>,
    boot_id: Option<&str>,
    cycle_end: Option<DateTime<Utc>>,
    repeat_after_boot: bool,
    retry_after_failure: Duration,
    now: DateTime<Utc>,
) -> Option<&'static str> {
    let r = record?;
    // An unknown cycle end (on either side) cannot show that a new cycle began, so it counts as
    // the same cycle: otherwise a reading without one would let the guard act on every poll.
    // Readings without a cycle end are refused upstream (`huawei::wire`); this is the second wall.
    // Ends a second apart are one cycle (see `plausibility::same_cycle`).
    let same_cycle = crate::plausibility::same_cycle(r.cycle_end, cycle_end);
    if !r.success {
        // A failure of a past cycle does not hold back the new one.
        if !same_cycle {
            return None;
        }
        let since = now.signed_duration_since(r.at);
        return (since
            < chrono::Duration::from_std(retry_after_failure).unwrap_or(chrono::Duration::MAX))
        .then_some("the last attempt failed recently");
    }
    let same_boot = r.boot_id.is_some() && r.boot_id.as_deref() == boot_id;
    if same_boot && same_cycle {
        return Some("already acted in this boot");
    }
    if same_cycle && !repeat_after_boot {
        return Some("already acted in this cycle (SHUTDOWN_REPEAT_AFTER_BOOT=false)");
    }
    None
}

/// A running countdown, as readers (the status page) see it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CountdownView {
    pub package: String,
    pub started_at: DateTime<Utc>,
    /// When the guard re-reads the traffic and acts if it is still below T1.
    pub deadline: DateTime<Utc>,
}

/// How a countdown ended.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// The instance was stopped already: nothing to do.
    AlreadyStopped,
    Cancelled(CancelReason),
    /// The executor reported success (the text says what happened).
    Executed(String),
    DryRun(String),
    Failed(ShutdownError),
}

struct Inner {
    settings: GuardSettings,
    /// The executors and the packages each acts for; the first one acts for any other package.
    executors: Vec<(Vec<String>, Box<dyn Executor>)>,
    poller: Poller,
    notifier: Arc<Notifier>,
    metrics: Arc<Metrics>,
    state: Arc<StateCell>,
    /// Countdowns in progress, one per package at most, with the reason of a cancellation.
    running: Keyed<String, CancelReason>,
    /// Outcomes of the countdowns that ended, until taken.
    outcomes: std::sync::Mutex<Vec<(String, Outcome)>>,
    /// When each countdown began and ends, for readers; written by the countdown task itself.
    deadlines: std::sync::Mutex<std::collections::BTreeMap<String, CountdownView>>,
    /// Packages whose countdown has begun to act (past the last point a cancel can stop it).
    acting: std::sync::Mutex<std::collections::BTreeSet<String>>,
}

/// What a request to cancel a countdown found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CancelOutcome {
    /// The countdown stops without acting.
    Cancelled,
    /// No countdown runs for the package.
    NotRunning,
    /// The guard has begun to act: the shutdown goes on.
    TooLate,
}

/// The shutdown guard: single-flight per package.
#[derive(Clone)]
pub struct Guard {
    inner: Arc<Inner>,
}

impl Guard {
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        settings: GuardSettings,
        executor: Box<dyn Executor>,
        poller: Poller,
        notifier: Arc<Notifier>,
        metrics: Arc<Metrics>,
        state: Arc<StateCell>,
        tasks: Tasks,
    ) -> Self {
        Self::per_account(
            settings,
            vec![(Vec::new(), executor)],
            poller,
            notifier,
            metrics,
            state,
            tasks,
        )
    }

    /// A guard with one executor per account: `executors` are `(packages, executor)`, the first
    /// one acting for any package not listed (each account stops its instances with its keys).
    #[allow(clippy::too_many_arguments)]
    pub fn per_account(
        settings: GuardSettings,
        executors: Vec<(Vec<String>, Box<dyn Executor>)>,
        poller: Poller,
        notifier: Arc<Notifier>,
        metrics: Arc<Metrics>,
        state: Arc<StateCell>,
        tasks: Tasks,
    ) -> Self {
        assert!(!executors.is_empty(), "a guard needs an executor");
        metrics.init_shutdowns();
        Self {
            inner: Arc::new(Inner {
                settings,
                executors,
                poller,
                notifier,
                metrics,
                state,
                running: Keyed::new(tasks),
                outcomes: std::sync::Mutex::new(Vec::new()),
                deadlines: std::sync::Mutex::default(),
                acting: std::sync::Mutex::default(),
            }),
        }
    }

    /// Whether shutdown is enabled at all.
    pub fn enabled(&self) -> bool {
        self.inner.settings.enabled
    }

    /// Whether level 1 of package `id` shuts down.
    pub fn enabled_for(&self, id: &str) -> bool {
        self.inner.settings.enabled && !self.inner.settings.disabled.contains(id)
    }

    /// The executor acting for package `id`.
    fn executor(&self, id: &str) -> &dyn Executor {
        let e = &self.inner.executors;
        e.iter()
            .find(|(ids, _)| ids.iter().any(|i| i == id))
            .unwrap_or(&e[0])
            .1
            .as_ref()
    }

    /// A package whose countdown is running, if any (the first by id).
    pub fn running(&self) -> Option<String> {
        let mut all = self.running_all();
        all.sort();
        all.into_iter().next()
    }

    /// Every package whose countdown is running.
    pub fn running_all(&self) -> Vec<String> {
        self.inner.running.keys()
    }

    /// The countdowns in progress, with when each acts (a read-only copy).
    pub fn countdowns(&self) -> Vec<CountdownView> {
        let running = self.running_all();
        self.lock_deadlines()
            .values()
            .filter(|c| running.contains(&c.package))
            .cloned()
            .collect()
    }

    fn lock_deadlines(
        &self,
    ) -> std::sync::MutexGuard<'_, std::collections::BTreeMap<String, CountdownView>> {
        self.inner
            .deadlines
            .lock()
            .unwrap_or_else(|p| p.into_inner())
    }

    /// Asks the guard to look at `facts.free_resource_id`, which was seen below T1. Returns at
    /// once (no cloud call): whether the instance is already stopped is asked by the countdown.
    pub async fn trigger(&self, facts: Facts, source: &str) -> Trigger {
        let s = &self.inner.settings;
        let package = facts.free_resource_id.clone();
        if !self.enabled_for(&package) {
            return Trigger::Disabled;
        }
        if self.inner.running.contains(&package) {
            return Trigger::AlreadyRunning;
        }
        let remote = self.executor(&package).is_remote();
        if self.held(&package).await.is_some() {
            tracing::info!(free_resource_id = %package, "shutdown guard: cancelled with /cancel; not starting");
            return Trigger::Held;
        }
        let record = self
            .inner
            .state
            .snapshot()
            .await
            .shutdowns
            .get(&package)
            .cloned();
        // "This boot" is the monitor's boot; for a stop through the API it says nothing.
        let boot_id = if remote { None } else { s.boot_id.as_deref() };
        if let Some(why) = blocked_by_record(
            record.as_ref(),
            boot_id,
            facts.cycle_end,
            s.repeat_after_boot,
            s.retry_after_failure,
            Utc::now(),
        ) {
            tracing::info!(free_resource_id = %package, why, "shutdown guard: not acting again");
            return Trigger::AlreadyActed;
        }
        let guard = self.clone();
        let started = self.inner.running.spawn(package.clone(), move |cancel| async move {
            let id = facts.free_resource_id.clone();
            let target = guard.inner.settings.targets.get(&id);
            let outcome = if guard.executor(&id).already_stopped(target).await {
                tracing::info!(free_resource_id = %id, "shutdown guard: the instance is already stopped");
                Outcome::AlreadyStopped
            } else {
                let started_at = Utc::now();
                let deadline = started_at
                    + chrono::Duration::from_std(guard.inner.settings.delay)
                        .unwrap_or(chrono::Duration::MAX);
                guard.lock_deadlines().insert(
                    id.clone(),
                    CountdownView {
                        package: id.clone(),
                        started_at,
                        deadline,
                    },
                );
                let outcome = guard.countdown(facts, cancel).await;
                guard.lock_deadlines().remove(&id);
                guard.lock_acting().remove(&id);
                outcome
            };
            guard
                .inner
                .outcomes
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .push((id, outcome));
        });
        if !started {
            return Trigger::AlreadyRunning;
        }
        tracing::warn!(free_resource_id = %package, source, delay_s = s.delay.as_secs(), "shutdown guard: countdown started");
        Trigger::Started
    }

    /// The reason to stand down when the user cancelled the shutdown of `package` with
    /// `/cancel` and that still stands (the engine also drops the request; this closes the gap
    /// between its decision and the guard).
    async fn held(&self, package: &str) -> Option<CancelReason> {
        let hold = self
            .inner
            .state
            .snapshot()
            .await
            .bot
            .holds
            .get(package)
            .cloned()?;
        crate::policy::hold_status(&hold, crate::level::Level::L1, Utc::now())
            .is_ok()
            .then_some(CancelReason::ByCommand { until: hold.until })
    }

    /// Cancels a running countdown for `package` (a resolved alert, a reading back above T1).
    pub fn cancel(&self, package: &str, reason: CancelReason) -> CancelOutcome {
        // Under the same lock as the countdown's last look at its cancel token.
        let acting = self.lock_acting();
        if acting.contains(package) {
            CancelOutcome::TooLate
        } else if self.inner.running.cancel(&package.to_string(), reason) {
            CancelOutcome::Cancelled
        } else {
            CancelOutcome::NotRunning
        }
    }

    fn lock_acting(&self) -> std::sync::MutexGuard<'_, std::collections::BTreeSet<String>> {
        self.inner.acting.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Waits until no countdown is running.
    pub async fn wait_idle(&self) {
        self.inner.running.wait_idle().await;
    }

    fn notify(&self, m: &Message) {
        if let Err(e) = self.inner.notifier.enqueue(m) {
            tracing::error!(error = %e, "cannot queue a shutdown message");
        }
    }

    fn cancelled(&self, facts: &Facts, reason: CancelReason) -> Outcome {
        tracing::warn!(free_resource_id = %facts.free_resource_id, reason = reason.kind(), "shutdown guard: cancelled");
        self.inner.metrics.shutdown(ShutdownResult::Cancelled);
        self.notify(&Message::ShutdownCancelled {
            server: self.inner.settings.server_for(&facts.free_resource_id),
            free_resource_id: facts.free_resource_id.clone(),
            reason: reason.clone(),
        });
        Outcome::Cancelled(reason)
    }

    /// The outcomes of the countdowns that ended since the last call (one-shot commands take
    /// their exit code from them).
    pub fn take_outcomes(&self) -> Vec<(String, Outcome)> {
        std::mem::take(
            &mut *self
                .inner
                .outcomes
                .lock()
                .unwrap_or_else(|p| p.into_inner()),
        )
    }

    async fn countdown(&self, facts: Facts, cancel: Cancel<CancelReason>) -> Outcome {
        let why = |cancel: &Cancel<CancelReason>| cancel.reason().unwrap_or(CancelReason::Stopping);
        let s = &self.inner.settings;
        let server = s.server_for(&facts.free_resource_id);
        let target = s.targets.get(&facts.free_resource_id);
        let executor = self.executor(&facts.free_resource_id);
        let dry_run = executor.is_dry_run();
        self.notify(&Message::ShutdownCountdown {
            facts: facts.clone(),
            seconds: ceil_secs(s.delay),
            dry_run,
        });
        let step = s.delay / (s.warnings + 1);
        for i in 0..=s.warnings {
            tokio::select! {
                _ = cancel.cancelled() => return self.cancelled(&facts, why(&cancel)),
                _ = tokio::time::sleep(step) => {}
            }
            // Reminders only when they are at least a second apart.
            if i < s.warnings && step >= Duration::from_secs(1) {
                let left = s.delay.saturating_sub(step * (i + 1));
                self.notify(&Message::ShutdownWarning {
                    server: server.clone(),
                    seconds_left: ceil_secs(left),
                });
            }
        }

        // The fresh reading decides; nothing older does.
        let id = facts.free_resource_id.clone();
        let polled = tokio::select! {
            _ = cancel.cancelled() => return self.cancelled(&facts, why(&cancel)),
            p = self.inner.poller.poll_package(&id) => p,
        };
        let (fresh, reading) = match polled {
            Err(e) => (FreshReading::PollFailed(e), None),
            Ok(results) => match results.into_iter().find(|(i, _)| *i == id) {
                None => (FreshReading::NotPolled, None),
                Some((_, Err(e))) => (FreshReading::Unusable(e), None),
                Some((_, Ok(r))) => {
                    // The fresh bill, and the estimate built on it: a bill that still lags must
                    // not cancel what the live counter justifies (never the other way round: the
                    // estimate is never above the bill).
                    let estimate = self.inner.poller.estimate(&r, Utc::now());
                    let remaining_gb = estimate
                        .as_ref()
                        .map_or(r.remaining_gb, |e| e.remaining_gb.min(r.remaining_gb));
                    if let Some(e) = &estimate {
                        tracing::info!(free_resource_id = %id, bill_gb = r.remaining_gb, estimate_gb = e.remaining_gb, "shutdown guard: fresh bill and live estimate");
                    }
                    (FreshReading::Read { remaining_gb }, Some(r))
                }
            },
        };
        let cancelled = if cancel.is_cancelled() {
            Some(why(&cancel))
        } else {
            self.held(&id).await
        };
        let fresh = match (guard_verdict(&fresh, &s.thresholds, cancelled), reading) {
            (Verdict::Act, Some(r)) => r,
            (Verdict::Cancel(reason), _) => return self.cancelled(&facts, reason),
            (Verdict::Act, None) => unreachable!("the verdict acts only on a reading"),
        };
        {
            // The last look at the cancel token, under the lock `cancel` takes: a cancel either
            // lands before this (nothing is done) or finds the guard acting (and says so).
            let mut acting = self.lock_acting();
            if cancel.is_cancelled() {
                drop(acting);
                return self.cancelled(&facts, why(&cancel));
            }
            acting.insert(id.clone());
        }
        // From here on the guard acts and records the outcome, even while the monitor stops.

        self.notify(&Message::ShuttingDown {
            server: server.clone(),
            dry_run,
            executor: executor.describe(),
        });
        // Get the warnings out before the machine goes down.
        self.inner
            .notifier
            .flush_urgent(Duration::from_secs(15))
            .await;
        tracing::warn!(free_resource_id = %id, remaining_gb = fresh.remaining_gb, executor = %executor.describe(), "shutdown guard: acting");
        let outcome = executor.execute(target).await;
        let record = ShutdownRecord {
            at: Utc::now(),
            boot_id: s.boot_id.clone(),
            cycle_end: fresh.cycle_end,
            success: outcome.is_ok(),
            outcome: match &outcome {
                Ok(o) => o.to_string(),
                Err(e) => e.to_string(),
            },
        };
        let remote = executor.is_remote();
        let recorded = self
            .inner
            .state
            .update(|next| {
                next.shutdowns.insert(id.clone(), record.clone());
                // Remember what this process stopped, so that AUTO_START starts it again, and
                // never an instance someone else stopped.
                if let (true, true, Some(t)) = (record.success, remote, target) {
                    next.stopped.insert(
                        t.server_id.clone(),
                        StoppedRecord {
                            package: id.clone(),
                            name: t.name.clone(),
                            target: t.clone(),
                            at: record.at,
                            cycle_end: record.cycle_end,
                            last_start_attempt: None,
                        },
                    );
                }
            })
            .await;
        if let Err(e) = recorded {
            tracing::error!(error = %e, "cannot record the shutdown in the state file");
        }
        let done = match outcome {
            Ok(o) => {
                let result = if dry_run {
                    ShutdownResult::DryRun
                } else {
                    ShutdownResult::Executed
                };
                self.inner.metrics.shutdown(result);
                tracing::warn!(outcome = %o, result = result.label(), "shutdown guard: done");
                self.notify(&Message::ShutdownDone {
                    server: server.clone(),
                    dry_run,
                    outcome: o.clone(),
                });
                if dry_run {
                    Outcome::DryRun(o.to_string())
                } else {
                    Outcome::Executed(o.to_string())
                }
            }
            Err(e) => {
                self.inner.metrics.shutdown(ShutdownResult::Failed);
                tracing::error!(error = %e, kind = e.kind(), "shutdown guard: the shutdown failed");
                self.notify(&Message::ShutdownFailed {
                    server: server.clone(),
                    error: e.clone(),
                });
                Outcome::Failed(e)
            }
        };
        self.inner
            .notifier
            .flush_urgent(Duration::from_secs(15))
            .await;
        done
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rec(success: bool, boot: &str, cycle: i64, at: i64) -> ShutdownRecord {
        ShutdownRecord {
            at: DateTime::from_timestamp(at, 0).unwrap(),
            boot_id: Some(boot.into()),
            cycle_end: DateTime::from_timestamp(cycle, 0),
            success,
            outcome: String::new(),
        }
    }

    #[test]
    fn acting_again_follows_the_rules() {
        let now = DateTime::from_timestamp(10_000, 0).unwrap();
        let cycle = DateTime::from_timestamp(99_999, 0);
        let h = Duration::from_secs(3600);
        assert_eq!(
            blocked_by_record(None, Some("b1"), cycle, true, h, now),
            None
        );
        // Same boot, same cycle: never twice.
        assert!(blocked_by_record(
            Some(&rec(true, "b1", 99_999, 9_000)),
            Some("b1"),
            cycle,
            true,
            h,
            now
        )
        .is_some());
        // A later boot in the same cycle: as configured (default: again, as the original).
        assert_eq!(
            blocked_by_record(
                Some(&rec(true, "b0", 99_999, 9_000)),
                Some("b1"),
                cycle,
                true,
                h,
                now
            ),
            None
        );
        assert!(blocked_by_record(
            Some(&rec(true, "b0", 99_999, 9_000)),
            Some("b1"),
            cycle,
            false,
            h,
            now
        )
        .is_some());
        // A new cycle: always allowed.
        assert_eq!(
            blocked_by_record(
                Some(&rec(true, "b1", 50_000, 9_000)),
                Some("b1"),
                cycle,
                false,
                h,
                now
            ),
            None
        );
        // An unknown cycle end cannot prove a new cycle: blocked as the same cycle.
        assert!(blocked_by_record(
            Some(&rec(true, "b1", 99_999, 9_000)),
            Some("b1"),
            None,
            true,
            h,
            now
        )
        .is_some());
        let mut no_end = rec(true, "b0", 0, 9_000);
        no_end.cycle_end = None;
        assert!(blocked_by_record(Some(&no_end), Some("b1"), cycle, false, h, now).is_some());
        // A failure may be retried after the cooldown only.
        assert!(blocked_by_record(
            Some(&rec(false, "b1", 99_999, 9_000)),
            Some("b1"),
            cycle,
            true,
            h,
            now
        )
        .is_some());
        // A failure of a past cycle does not hold back the new cycle.
        assert_eq!(
            blocked_by_record(
                Some(&rec(false, "b1", 50_000, 9_000)),
                Some("b1"),
                cycle,
                true,
                h,
                now
            ),
            None
        );
        // Ends a second apart are one cycle.
        assert!(blocked_by_record(
            Some(&rec(true, "b1", 99_998, 9_000)),
            Some("b1"),
            cycle,
            true,
            h,
            now
        )
        .is_some());
        assert_eq!(
            blocked_by_record(
                Some(&rec(false, "b1", 99_999, 6_000)),
                Some("b1"),
                cycle,
                true,
                h,
                now
            ),
            None
        );
    }
}
