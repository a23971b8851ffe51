//! The status page at `GET /`: what a person opens on a phone to see whether the server is safe
//! this month, with no Prometheus or Grafana.
//!
//! Three steps, each pure: [`Inputs`] (plain copies of the snapshot, the state, the guard's
//! countdowns, the outbox and the history) → [`build`] → a [`PageView`] (every figure and decision
//! the page shows, no formatting) → [`render::html`] (HTML with inline CSS, an inline SVG chart from
//! [`chart`], and a few lines of plain JS that tick the countdown and refresh the page). Nothing is
//! loaded from elsewhere (no CDN, no web font), so it works offline and in mainland China. The HTTP
//! handler gathers the inputs; this module reads nothing itself and reveals no secret (it is never
//! given one).

pub mod chart;
pub mod render;

use std::collections::BTreeMap;
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::actions::{Action, ActionSettings, Key, NoShutdown};
use crate::config::{Config, FallbackMode, ShutdownMode};
use crate::forecast::{self, Forecast};
use crate::history::{History, HistoryProblem, Point};
use crate::level::{Level, Thresholds};
use crate::messages::Lang;
use crate::policy::Cadence;
use crate::reading::Reading;
use crate::snapshot::Snapshot;
use crate::state::{ShutdownRecord, State};

pub use crate::notifier::OutboxView;
pub use crate::shutdown::CountdownView;

/// The settings the page shows (taken from the configuration; no secret among them).
#[derive(Debug, Clone, PartialEq)]
pub struct Settings {
    pub lang: Lang,
    pub server_name: String,
    /// Package id → server name, where it differs from `server_name` (with several accounts,
    /// every package's, followed by its account: `flexus [intl]`).
    pub servers: BTreeMap<String, String>,
    /// With several accounts, each one's name and its `SHUTDOWN_MODE` (empty with one).
    pub accounts: Vec<(String, ShutdownMode)>,
    pub thresholds: Thresholds,
    pub reading_max_age: Duration,
    pub poll_interval: Duration,
    pub dry_run: bool,
    pub shutdown_mode: ShutdownMode,
    pub fallback: FallbackMode,
    pub cadence: Cadence,
    pub forecast: forecast::Settings,
    /// Why level 1 does not shut down, if it does not.
    pub no_shutdown: Option<NoShutdown>,
    /// What each level does on this machine, and for which packages.
    pub actions: ActionSettings,
}

impl Settings {
    /// The page settings of a configuration.
    pub fn from_config(c: &Config) -> Self {
        Self {
            lang: c.notify.lang,
            server_name: c.watch.server_name.clone(),
            servers: if c.several_accounts() {
                c.watch
                    .free_resource_ids
                    .iter()
                    .map(|id| (id.clone(), c.shown_server(id)))
                    .collect()
            } else {
                c.watch
                    .targets
                    .iter()
                    .map(|(id, t)| (id.clone(), t.name.clone()))
                    .collect()
            },
            accounts: c
                .accounts
                .iter()
                .filter(|a| !a.name.is_empty())
                .map(|a| (a.name.clone(), a.shutdown_mode))
                .collect(),
            thresholds: c.alerting.thresholds,
            reading_max_age: c.watch.reading_max_age,
            poll_interval: c.watch.poll_interval,
            dry_run: c.shutdown.dry_run,
            shutdown_mode: c.shutdown.mode,
            fallback: c.alerting.fallback,
            cadence: c.alerting.cadence,
            forecast: forecast::Settings {
                window: forecast::Settings::default().window,
                // A few polls at least, and never less than the default for a normal interval.
                min_span: (c.watch.poll_interval * 3).min(forecast::Settings::default().min_span),
            },
            no_shutdown: c.no_shutdown(),
            actions: c.actions.clone(),
        }
    }
}

/// What the alerting side adds (absent when only exporting).
#[derive(Debug, Clone, Default)]
pub struct AlertingInputs {
    pub state: State,
    pub countdowns: Vec<CountdownView>,
    pub outbox: OutboxView,
    /// The message channels (not the console).
    pub channels: Vec<String>,
    pub fallback_active: bool,
}

/// Everything the page is built from.
#[derive(Debug, Clone)]
pub struct Inputs<'a> {
    pub settings: &'a Settings,
    pub snapshot: &'a Snapshot,
    pub alerting: Option<&'a AlertingInputs>,
    pub history: &'a History,
    pub history_problems: Vec<HistoryProblem>,
    pub now: DateTime<Utc>,
    pub version: &'a str,
}

/// Something wrong, shown first with what to do.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Problem {
    /// No poll has finished since the start.
    NoPollYet,
    /// The last poll failed as a whole (of `account`, with several accounts).
    PollFailed {
        #[serde(skip_serializing_if = "Option::is_none")]
        account: Option<String>,
        #[serde(serialize_with = "crate::logging::as_text")]
        error: crate::huawei::HuaweiError,
        /// Only the user can fix it (key, permission, site, clock).
        configuration: bool,
        last_success: Option<DateTime<Utc>>,
    },
    /// One package could not be read.
    PackageFailed {
        package: String,
        #[serde(serialize_with = "crate::logging::as_text")]
        error: crate::huawei::wire::ReadingError,
    },
    /// A package's last reading is too old to show as current.
    Stale {
        package: String,
        read_at: DateTime<Utc>,
    },
    /// Messages have waited too long for a channel (`channel`: the one holding the oldest).
    OutboxStalled {
        pending: usize,
        oldest: DateTime<Utc>,
        last_error: Option<String>,
        channel: Option<&'static str>,
    },
    /// Messages refused for good, by these channels.
    DeadMessages {
        count: usize,
        channels: Vec<&'static str>,
    },
    /// The history file.
    History(HistoryProblem),
}

/// How long a message may wait before the outbox counts as stalled (deliveries retry with a
/// back-off of at most 5 minutes, so a healthy outbox is empty well before this).
pub const OUTBOX_STALLED_AFTER: Duration = Duration::from_secs(10 * 60);

/// One package on the page.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PackageView {
    pub id: String,
    pub server: String,
    /// The last reading, even when stale (then `stale` is set and the page says so).
    pub reading: Option<Reading>,
    pub stale: bool,
    /// What is left now by the server's own counter, built on a fresh reading (see `egress`).
    pub estimate: Option<crate::egress::Estimate>,
    /// From a fresh reading only: the bill, or the estimate built on it when lower.
    pub level: Option<Level>,
    pub forecast: Forecast,
    /// The points of the chart: the current and the previous cycle.
    pub history: Vec<Point>,
    /// The level last told to the user, and when.
    pub last_alert: Option<(Level, DateTime<Utc>)>,
    /// When that alert repeats if the level stays.
    pub next_repeat: Option<DateTime<Utc>>,
    pub countdown: Option<CountdownView>,
    /// Until when the shutdown of this package is cancelled with `/cancel` (Telegram), at the
    /// latest (it also ends at the package's next level change).
    pub cancelled_until: Option<DateTime<Utc>>,
    pub last_shutdown: Option<ShutdownRecord>,
    /// When this process last tried to start the instance again (`AUTO_START`).
    pub last_start: Option<DateTime<Utc>>,
    /// What the gentler actions do for this package.
    pub actions: PackageActions,
}

/// The gentler actions (throttle, fence, command) as one package's "what happens next" tells them.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct PackageActions {
    /// Its level moves this machine's actions (`LOCAL_FREE_RESOURCE_IDS`).
    pub acts_here: bool,
    /// Some gentler action is configured at all.
    pub configured: bool,
    /// In force now, with since when (the state's record).
    pub in_force: Vec<(Key, DateTime<Utc>)>,
    /// Removed with `lift`: off until their level has recovered once.
    pub lifted_by_hand: Vec<Key>,
    /// What level 1 puts in force for it (less what was lifted by hand).
    pub at_level_1: Vec<Action>,
}

/// Who evaluates readings and sends alerts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum InCharge {
    /// Prometheus and Alertmanager (their watchdog arrives).
    Prometheus,
    /// This program's own evaluator.
    Fallback,
    /// Only exporting: nothing alerts from this process.
    Nobody,
}

/// The program's own state, for "what happens next".
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Program {
    pub dry_run: bool,
    pub shutdown_mode: ShutdownMode,
    /// With several accounts, each one's shutdown mode.
    pub account_modes: Vec<(String, ShutdownMode)>,
    /// Why level 1 does not shut down, if it does not.
    pub no_shutdown: Option<NoShutdown>,
    pub in_charge: InCharge,
    pub fallback: FallbackMode,
    pub last_heartbeat: Option<DateTime<Utc>>,
    pub last_poll_at: Option<DateTime<Utc>>,
    pub last_poll_ok: bool,
    pub next_poll_at: Option<DateTime<Utc>>,
    pub outbox: OutboxView,
    /// The channels messages go to (empty: only the log).
    pub channels: Vec<String>,
    /// Repeats are muted until then (`/mute` in Telegram).
    pub muted_until: Option<DateTime<Utc>>,
}

/// Everything the page shows.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PageView {
    pub lang: Lang,
    pub server: String,
    pub version: String,
    pub now: DateTime<Utc>,
    pub thresholds: Thresholds,
    pub cadence: Cadence,
    /// How often the page reloads itself.
    pub refresh: Duration,
    pub problems: Vec<Problem>,
    pub packages: Vec<PackageView>,
    pub program: Program,
}

fn chrono_dur(d: Duration) -> chrono::Duration {
    chrono::Duration::from_std(d).unwrap_or(chrono::Duration::MAX)
}

/// How long alerts at `level` wait before repeating.
fn repeat_period(level: Level, c: &Cadence) -> Option<Duration> {
    match level {
        Level::L3 => Some(c.level3_repeat),
        Level::L2 | Level::L1 => Some(c.level2_repeat),
        Level::Ok => None,
    }
}

/// The chart's points: from the start of the previous cycle (when the cycle is known) to now.
fn chart_points(points: &[Point], reading: Option<&Reading>) -> Vec<Point> {
    let from = reading
        .and_then(|r| Some((r.cycle_start?, r.cycle_end?)))
        .map(|(start, end)| (start - (end - start)).timestamp());
    points
        .iter()
        .filter(|p| from.is_none_or(|f| p.at() >= f))
        .copied()
        .collect()
}

/// What the gentler actions do for package `id`, from the settings and the state.
fn package_actions(s: &ActionSettings, id: &str, state: Option<&State>) -> PackageActions {
    let acts_here = s.acts_for(id);
    let configured = !s.keys().is_empty();
    if !acts_here {
        return PackageActions {
            configured,
            ..PackageActions::default()
        };
    }
    let lifted_by_hand: Vec<Key> = state
        .map(|st| {
            st.actions
                .lifted_by_hand
                .iter()
                .filter_map(|k| Key::parse(k))
                .collect()
        })
        .unwrap_or_default();
    PackageActions {
        acts_here,
        configured,
        in_force: state
            .map(|st| {
                st.actions
                    .active
                    .iter()
                    .filter_map(|(k, r)| Some((Key::parse(k)?, r.since)))
                    .collect()
            })
            .unwrap_or_default(),
        at_level_1: s
            .at_level(Level::L1)
            .into_iter()
            .filter(|k| !lifted_by_hand.contains(k))
            .map(|k| k.action)
            .collect(),
        lifted_by_hand,
    }
}

/// Builds the page's view. Pure.
pub fn build(i: &Inputs<'_>) -> PageView {
    let s = i.settings;
    let now = i.now;
    let snap = i.snapshot;
    let max_age = chrono_dur(s.reading_max_age);
    let mut problems = Vec::new();

    if snap.last_poll_at.is_none() {
        problems.push(Problem::NoPollYet);
    }
    if s.accounts.is_empty() {
        if let Some(error) = &snap.last_error {
            problems.push(Problem::PollFailed {
                account: None,
                error: error.clone(),
                configuration: snap.last_error_is_configuration,
                last_success: snap.last_success_at,
            });
        }
    } else {
        // Each account on its own: one failing account names itself, the others read on.
        for a in &snap.accounts {
            if let Some(error) = &a.last_error {
                problems.push(Problem::PollFailed {
                    account: Some(a.name.clone()),
                    error: error.clone(),
                    configuration: a.last_error_is_configuration,
                    last_success: a.last_success_at,
                });
            }
        }
    }

    let mut packages = Vec::new();
    for p in &snap.packages {
        let id = p.free_resource_id.clone();
        if let Some(error) = &p.error {
            problems.push(Problem::PackageFailed {
                package: id.clone(),
                error: error.clone(),
            });
        }
        let stale = p
            .reading
            .as_ref()
            .is_some_and(|r| now.signed_duration_since(r.read_at) > max_age);
        if let (true, Some(r)) = (stale, &p.reading) {
            problems.push(Problem::Stale {
                package: id.clone(),
                read_at: r.read_at,
            });
        }
        let fresh = p.reading.as_ref().filter(|_| !stale);
        let estimate = fresh.and_then(|_| p.current_estimate().cloned());
        let level = fresh.map(|r| {
            let gb = p.judged_gb().unwrap_or(r.remaining_gb);
            Level::of(gb, &s.thresholds)
        });
        let points = i.history.points(&id);
        let forecast = match fresh {
            Some(r) => forecast::forecast(
                points,
                s.thresholds.t1,
                r.cycle_start,
                r.cycle_end,
                now,
                &s.forecast,
            ),
            None => Forecast::NoData,
        };
        // Where the server's own counter counts this package, from the estimate now at its
        // recent rate: the bill's points lag and move in steps.
        let live_rate = i
            .snapshot
            .live
            .as_ref()
            .filter(|l| l.package == id)
            .and_then(|l| l.recent_rate_bytes_per_s);
        let forecast = match (&estimate, live_rate, fresh) {
            (Some(e), Some(rate), Some(r)) => forecast::at_live_rate(
                e.remaining_gb.min(r.remaining_gb),
                rate / crate::egress::estimate::EGRESS_BYTES_PER_GB,
                s.thresholds.t1,
                r.cycle_end,
                now,
            ),
            _ => forecast,
        };
        let alerting = i.alerting;
        let memory = alerting.and_then(|a| a.state.packages.get(&id));
        let last_alert = memory.and_then(|m| {
            let level = m.level.filter(|l| *l != Level::Ok)?;
            let at = *m.last_alert.get(level.label())?;
            Some((level, at))
        });
        // A repeat is due only while the reading stays at the level last told.
        let next_repeat = last_alert
            .filter(|(l, _)| Some(*l) == level)
            .and_then(|(l, at)| repeat_period(l, &s.cadence).map(|d| at + chrono_dur(d)));
        packages.push(PackageView {
            server: s
                .servers
                .get(&id)
                .cloned()
                .unwrap_or_else(|| s.server_name.clone()),
            history: chart_points(points, p.reading.as_ref()),
            reading: p.reading.clone(),
            stale,
            estimate,
            level,
            forecast,
            last_alert,
            next_repeat,
            countdown: alerting
                .and_then(|a| a.countdowns.iter().find(|c| c.package == id).cloned()),
            cancelled_until: alerting
                .and_then(|a| a.state.bot.holds.get(&id))
                .map(|h| h.until)
                .filter(|until| *until > now),
            last_shutdown: alerting.and_then(|a| a.state.shutdowns.get(&id).cloned()),
            actions: package_actions(&s.actions, &id, alerting.map(|a| &a.state)),
            last_start: alerting.and_then(|a| {
                a.state
                    .stopped
                    .values()
                    .filter(|r| r.package == id)
                    .filter_map(|r| r.last_start_attempt)
                    .max()
            }),
            id,
        });
    }

    let outbox = i.alerting.map(|a| a.outbox.clone()).unwrap_or_default();
    if let Some(oldest) = outbox.oldest {
        if outbox.pending > 0
            && now.signed_duration_since(oldest) > chrono_dur(OUTBOX_STALLED_AFTER)
        {
            problems.push(Problem::OutboxStalled {
                pending: outbox.pending,
                oldest,
                last_error: outbox.last_error.clone(),
                channel: outbox.stalled_channel,
            });
        }
    }
    if outbox.dead > 0 {
        problems.push(Problem::DeadMessages {
            count: outbox.dead,
            channels: outbox.dead_channels.clone(),
        });
    }
    problems.extend(i.history_problems.iter().cloned().map(Problem::History));

    let in_charge = match i.alerting {
        None => InCharge::Nobody,
        Some(a) if a.fallback_active => InCharge::Fallback,
        Some(_) => InCharge::Prometheus,
    };
    let program = Program {
        dry_run: s.dry_run,
        shutdown_mode: s.shutdown_mode,
        account_modes: s.accounts.clone(),
        no_shutdown: s.no_shutdown,
        in_charge,
        fallback: s.fallback,
        last_heartbeat: i.alerting.and_then(|a| a.state.last_heartbeat),
        last_poll_at: snap.last_poll_at,
        last_poll_ok: snap.last_poll_at.is_some() && snap.up,
        next_poll_at: snap.last_poll_at.map(|t| t + chrono_dur(s.poll_interval)),
        outbox,
        channels: i.alerting.map(|a| a.channels.clone()).unwrap_or_default(),
        muted_until: i
            .alerting
            .and_then(|a| a.state.bot.muted_until)
            .filter(|t| *t > now),
    };
    PageView {
        lang: s.lang,
        server: s.server_name.clone(),
        version: i.version.to_string(),
        now,
        thresholds: s.thresholds,
        cadence: s.cadence,
        refresh: s
            .poll_interval
            .clamp(Duration::from_secs(2), Duration::from_secs(60)),
        problems,
        packages,
        program,
    }
}

#[cfg(test)]
mod tests;
