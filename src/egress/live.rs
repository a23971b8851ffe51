//! The live meter at run time: samples the counter every `EGRESS_SAMPLE_INTERVAL` in a task of
//! the application, keeps the meter and the estimator, saves what a restart needs in
//! `STATE_DIR/egress.json` (atomic writes, on a blocking thread: the save waits for `fsync`, which
//! must not hold up the async runtime). The poller puts its estimate of the anchored package
//! into the shared snapshot after every sample and every poll (`poller::run_live`).
//!
//! It says once (a message) when the counter cannot be read, and from then on gives no estimate:
//! the decisions go on with the bill alone, as without a counter. It never starts anything itself;
//! it wakes the evaluator and the enforcer when the estimate crosses a level (`subscribe`).

use std::path::PathBuf;
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use tokio::sync::watch;

use super::counter::{self, CounterError, Roots};
use super::estimate::{Anchored, Estimate, Estimator, Lag};
use super::meter::{self, Meter, RawCounters, Step};
use crate::level::{Level, Thresholds};
use crate::reading::Reading;

/// How often the meter is saved while it runs (and once more on stop). Within one boot nothing is
/// lost between saves (the kernel's counter keeps the bytes); across a reboot at most this much
/// traffic is.
pub const SAVE_EVERY: Duration = Duration::from_secs(10);

/// How much counter history is kept: the longest lag and an hour to learn it from.
pub fn keep() -> chrono::Duration {
    chrono::Duration::from_std(super::estimate::MAX_LAG).unwrap_or_default()
        + chrono::Duration::hours(1)
}

/// What the live meter needs.
#[derive(Debug, Clone)]
pub struct Settings {
    /// `EGRESS_INTERFACE`, else the default route's.
    pub interface: Option<String>,
    pub interval: Duration,
    pub default_lag: Duration,
    /// The package the counter is anchored to.
    pub package: String,
    pub thresholds: Thresholds,
    pub roots: Roots,
    pub state_dir: PathBuf,
}

/// The file in the state directory.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct SavedLive {
    meter: meter::Saved,
    /// The learned lag in seconds, so that a restart does not go back to the default.
    learned_lag_s: Option<f64>,
    /// The counter's problem was told (a message is sent once per problem).
    told_problem: bool,
}

/// The live meter as readers see it.
#[derive(Debug, Clone, Serialize)]
pub struct View {
    pub interface: Option<String>,
    /// Bytes counted since the meter began (survives restarts and reboots).
    pub tx_bytes: u64,
    pub rx_bytes: u64,
    pub lag: Lag,
    /// Why the counter cannot be read now; `None` while it counts.
    #[serde(serialize_with = "crate::logging::opt_as_text")]
    pub problem: Option<CounterError>,
    /// The package it is anchored to.
    pub package: String,
    /// When the bill of that package last changed (its figure moved).
    pub bill_changed_at: Option<DateTime<Utc>>,
    /// The egress rate over the last minute, in bytes per second.
    pub rate_bytes_per_s: Option<f64>,
    /// The egress rate over the last hour (or the history held, when shorter, from a minute on),
    /// in bytes per second: what the page's forecast goes by.
    pub recent_rate_bytes_per_s: Option<f64>,
}

/// What one sample told the caller.
#[derive(Debug, Clone, PartialEq)]
pub enum Sampled {
    Counted(Step),
    /// The counter became unreadable: tell the user (once).
    Lost(CounterError),
    /// Still unreadable.
    StillLost,
    /// Readable again after a problem.
    Back,
}

struct Inner {
    meter: Meter,
    estimator: Estimator,
    problem: Option<CounterError>,
    told_problem: bool,
    last_save: Option<Instant>,
    /// The anchored package's last accepted bill reading.
    bill: Option<Reading>,
    bill_changed_at: Option<DateTime<Utc>>,
    /// The level of the last estimate (to wake the evaluator when it changes).
    level: Option<Level>,
}

/// Told when the counter becomes unreadable (queues the message).
pub type OnLost = Box<dyn Fn(&CounterError) + Send + Sync>;

/// The live meter.
pub struct Live {
    settings: Settings,
    on_lost: OnLost,
    inner: Mutex<Inner>,
    changed: watch::Sender<u64>,
}

impl Live {
    /// Opens the meter, going on from `STATE_DIR/egress.json` when it is there. An unreadable file
    /// starts a new meter (and says so in the log): it holds nothing a decision needs.
    pub fn open(settings: Settings, on_lost: OnLost) -> Self {
        let path = settings.state_dir.join("egress.json");
        let saved: SavedLive = match std::fs::read(&path) {
            Ok(bytes) => serde_json::from_slice(&bytes).unwrap_or_else(|e| {
                tracing::warn!(error = %e, "egress.json is not a saved meter; starting a new one");
                SavedLive::default()
            }),
            Err(_) => SavedLive::default(),
        };
        let learned = saved
            .learned_lag_s
            .filter(|s| s.is_finite() && *s >= 0.0)
            .map(Duration::from_secs_f64);
        let (changed, _) = watch::channel(0);
        Self {
            inner: Mutex::new(Inner {
                meter: Meter::restore(saved.meter),
                estimator: Estimator::new(settings.default_lag, learned),
                problem: None,
                told_problem: saved.told_problem,
                last_save: None,
                bill: None,
                bill_changed_at: None,
                level: None,
            }),
            settings,
            on_lost,
            changed,
        }
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The package the counter is anchored to.
    pub fn package(&self) -> &str {
        &self.settings.package
    }

    /// A receiver that changes when the estimate's level changes.
    pub fn subscribe(&self) -> watch::Receiver<u64> {
        self.changed.subscribe()
    }

    /// Reads the counter once and folds it in. Saving is [`Self::save_due`]'s job (off the
    /// async runtime: the save waits for `fsync`).
    pub fn sample(&self, now: DateTime<Utc>) -> Sampled {
        let read =
            counter::choose_interface(self.settings.interface.as_deref(), &self.settings.roots)
                .and_then(|i| counter::read(&self.settings.roots, &i).map(|c| (i, c)));
        let boot = counter::boot_id(&self.settings.roots);
        let mut inner = self.lock();
        let out = match read {
            Ok((interface, c)) => {
                let step = inner
                    .meter
                    .observe(&interface, boot.as_deref(), c, now, keep());
                if !matches!(step, Step::Grew) {
                    tracing::info!(interface, step = ?step, "egress counter");
                }
                if inner.problem.take().is_some() {
                    inner.told_problem = false;
                    tracing::info!(interface, "egress counter readable again");
                    Sampled::Back
                } else {
                    Sampled::Counted(step)
                }
            }
            Err(e) => {
                let first = inner.problem.is_none();
                inner.problem = Some(e.clone());
                if first {
                    tracing::warn!(error = %e, kind = e.kind(), "egress counter unreadable; acting on the bill alone");
                }
                if first && !inner.told_problem {
                    inner.told_problem = true;
                    Sampled::Lost(e)
                } else {
                    Sampled::StillLost
                }
            }
        };
        drop(inner);
        if let Sampled::Lost(e) = &out {
            (self.on_lost)(e);
        }
        out
    }

    fn saved(&self, inner: &Inner) -> SavedLive {
        let lag = inner.estimator.lag();
        SavedLive {
            meter: inner.meter.save(chrono::Duration::seconds(30)),
            learned_lag_s: lag.learned.then_some(lag.value.as_secs_f64()),
            told_problem: inner.told_problem,
        }
    }

    /// Saves the meter when a save is due ([`SAVE_EVERY`]), on a blocking thread: the write
    /// waits for `fsync`, which must not hold up the tasks of the async runtime.
    pub async fn save_due(self: &std::sync::Arc<Self>) {
        let saved = {
            let mut inner = self.lock();
            let due = inner.last_save.is_none_or(|t| t.elapsed() >= SAVE_EVERY);
            due.then(|| {
                inner.last_save = Some(Instant::now());
                self.saved(&inner)
            })
        };
        if let Some(s) = saved {
            let live = self.clone();
            if let Err(e) = tokio::task::spawn_blocking(move || live.write(&s)).await {
                tracing::error!(error = %e, "the egress meter's save did not finish");
            }
        }
    }

    /// Saves the meter now, on a blocking thread (on stop).
    pub async fn save_now(self: &std::sync::Arc<Self>) {
        let live = self.clone();
        if let Err(e) = tokio::task::spawn_blocking(move || live.save()).await {
            tracing::error!(error = %e, "the egress meter's save did not finish");
        }
    }

    fn write(&self, s: &SavedLive) {
        #[cfg(test)]
        tests::note_write_thread();
        let path = self.settings.state_dir.join("egress.json");
        let bytes = match serde_json::to_vec(s) {
            Ok(b) => b,
            Err(e) => return tracing::error!(error = %e, "cannot encode the egress meter"),
        };
        if let Err(e) = crate::fsutil::write_atomic(&path, &bytes) {
            tracing::error!(error = %e, path = %path.display(), "cannot save the egress meter");
        }
    }

    /// Saves the meter now (on stop).
    pub fn save(&self) {
        let s = self.saved(&self.lock());
        self.write(&s);
    }

    /// Records an accepted bill reading of the anchored package (others are ignored).
    pub fn observe_bill(&self, r: &Reading) -> Option<Anchored> {
        if r.free_resource_id != self.settings.package {
            return None;
        }
        let mut inner = self.lock();
        if inner.bill.as_ref().is_some_and(|b| b.read_at >= r.read_at) {
            return None;
        }
        let before = inner.estimator.lag();
        let Inner {
            estimator, meter, ..
        } = &mut *inner;
        let anchored = estimator.observe_bill(r, meter);
        let after = inner.estimator.lag();
        if before != after {
            tracing::info!(
                lag_s = after.value.as_secs_f64(),
                learned = after.learned,
                "bill lag"
            );
        }
        let moved = inner
            .bill
            .as_ref()
            .is_none_or(|b| b.remaining_gb != r.remaining_gb);
        if moved {
            inner.bill_changed_at = Some(r.read_at);
        }
        if anchored == Anchored::NewCycle {
            tracing::info!(free_resource_id = %r.free_resource_id, "new cycle: the estimate is anchored again");
        }
        inner.bill = Some(r.clone());
        Some(anchored)
    }

    /// The estimate for `r` (a reading of the anchored package) at `now`; `None` for another
    /// package, or while the counter cannot be read.
    pub fn estimate(&self, r: &Reading, now: DateTime<Utc>) -> Option<Estimate> {
        if r.free_resource_id != self.settings.package {
            return None;
        }
        let inner = self.lock();
        if inner.problem.is_some() {
            return None;
        }
        inner.estimator.estimate(r, &inner.meter, now)
    }

    /// Records the level the judged figure of the anchored package is at, and wakes the
    /// subscribers when it changed.
    pub fn note_level(&self, level: Option<Level>) {
        let mut inner = self.lock();
        if inner.level != level {
            inner.level = level;
            drop(inner);
            self.changed.send_modify(|n| *n += 1);
        }
    }

    /// The thresholds the levels are judged by.
    pub fn thresholds(&self) -> &Thresholds {
        &self.settings.thresholds
    }

    /// How often the counter is read.
    pub fn interval(&self) -> Duration {
        self.settings.interval
    }

    /// The meter as readers see it.
    pub fn view(&self, now: DateTime<Utc>) -> View {
        let inner = self.lock();
        let total: RawCounters = inner.meter.total();
        let minute = now - chrono::Duration::seconds(60);
        let rate = inner.meter.oldest().filter(|o| *o <= minute).and_then(|_| {
            let last = inner.meter.history().back()?;
            let secs = (last.at - minute).num_milliseconds() as f64 / 1000.0;
            (secs > 0.0).then(|| inner.meter.tx_since(minute).unwrap_or(0) as f64 / secs)
        });
        let recent = inner.meter.oldest().and_then(|oldest| {
            let last = inner.meter.history().back()?;
            let from = oldest.max(now - chrono::Duration::hours(1));
            let secs = (last.at - from).num_milliseconds() as f64 / 1000.0;
            (secs >= 60.0).then(|| inner.meter.tx_since(from).unwrap_or(0) as f64 / secs)
        });
        View {
            interface: inner.meter.interface().map(str::to_string),
            tx_bytes: total.tx,
            rx_bytes: total.rx,
            lag: inner.estimator.lag(),
            problem: inner.problem.clone(),
            package: self.settings.package.clone(),
            bill_changed_at: inner.bill_changed_at,
            rate_bytes_per_s: rate.filter(|_| inner.problem.is_none()),
            recent_rate_bytes_per_s: recent.filter(|_| inner.problem.is_none()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::egress::counter::{fake, Counters};

    thread_local! {
        static WROTE_HERE: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
    }

    /// Records that this thread wrote the meter.
    pub(super) fn note_write_thread() {
        WROTE_HERE.with(|w| w.set(true));
    }

    #[tokio::test]
    async fn the_save_waits_for_fsync_on_a_blocking_thread_never_on_the_runtime() {
        let dir = std::env::temp_dir().join(format!("ftm-live-save-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        fake::set_default_route(&dir, "eth0");
        fake::set(&dir, "eth0", Counters { tx: 1000, rx: 10 });
        let live = std::sync::Arc::new(Live::open(
            Settings {
                interface: None,
                interval: Duration::from_secs(1),
                default_lag: Duration::from_secs(60),
                package: "p".into(),
                thresholds: Thresholds::default(),
                roots: fake::roots(&dir),
                state_dir: dir.clone(),
            },
            Box::new(|_| {}),
        ));
        live.sample(Utc::now());
        live.save_due().await;
        live.save_now().await;
        assert!(dir.join("egress.json").exists(), "saved");
        assert!(
            !WROTE_HERE.with(std::cell::Cell::get),
            "the meter was written on the runtime's thread"
        );
        let _ = std::fs::remove_dir_all(&dir);
    }
}
