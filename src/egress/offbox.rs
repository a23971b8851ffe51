//! Cloud Eye at run time (`CLOUDEYE_EIPS`): for each package whose server is guarded through the
//! API, reads its EIP's outbound traffic every `CLOUDEYE_INTERVAL` and anchors it to that
//! package's bill with its own [`Estimator`], exactly as the kernel counter is anchored
//! (`live`): `estimate = bill − egress since (bill read − lag)`, never above the bill, re-anchored
//! on a new cycle. The poller puts the estimates into the snapshot (`poller::run_cloudeye`).
//!
//! A throttled, failed or unbelievable answer changes nothing that was known (the estimate is
//! never lowered by it, and no minute becomes a zero); the source is then asked less often
//! ([`cloudeye::backoff`]). It never starts anything itself; it wakes the evaluator and the
//! enforcer when an estimate crosses a level (`subscribe`).

use std::collections::BTreeMap;
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::Serialize;
use tokio::sync::watch;

use super::cloudeye::{self, Series};
use super::estimate::{Estimate, Estimator, Lag};
use super::meter::Meter;
use crate::huawei::ces::{CesClient, Datapoint, MAX_SPAN, RAW_PERIOD};
use crate::huawei::HuaweiError;
use crate::level::{Level, Thresholds};
use crate::reading::Reading;

/// One package's EIP (`CLOUDEYE_EIPS` entry).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Eip {
    pub package: String,
    pub publicip_id: String,
    pub region: String,
    pub project_id: String,
}

/// What the Cloud Eye source needs.
#[derive(Debug, Clone)]
pub struct Settings {
    pub eips: Vec<Eip>,
    pub interval: Duration,
    pub default_lag: Duration,
    pub thresholds: Thresholds,
}

/// One EIP as readers see it (`/api/v1/status` → `cloudeye`).
#[derive(Debug, Clone, Serialize)]
pub struct View {
    pub package: String,
    pub publicip_id: String,
    /// Minutes of traffic held.
    pub minutes: usize,
    /// The last minute Cloud Eye has published.
    pub last_minute: Option<DateTime<Utc>>,
    /// Outbound bytes counted in the minutes held.
    pub tx_bytes: u64,
    pub lag: Lag,
    /// When the last read succeeded.
    pub read_at: Option<DateTime<Utc>>,
    /// Why the last read failed; `None` after a good one.
    pub problem: Option<String>,
    pub failures: u32,
}

struct Track {
    eip: Eip,
    series: Series,
    meter: Meter,
    estimator: Estimator,
    bill: Option<Reading>,
    read_at: Option<DateTime<Utc>>,
    problem: Option<String>,
    failures: u32,
    level: Option<Level>,
}

/// The Cloud Eye source.
pub struct CloudEye {
    settings: Settings,
    tracks: Mutex<BTreeMap<String, Track>>,
    changed: watch::Sender<u64>,
}

/// How much history is kept (the longest lag and an hour to learn it from).
fn keep() -> chrono::Duration {
    super::live::keep()
}

impl CloudEye {
    pub fn new(settings: Settings) -> Self {
        let tracks = settings
            .eips
            .iter()
            .map(|e| {
                (
                    e.package.clone(),
                    Track {
                        eip: e.clone(),
                        series: Series::default(),
                        meter: Meter::default(),
                        estimator: Estimator::new(settings.default_lag, None),
                        bill: None,
                        read_at: None,
                        problem: None,
                        failures: 0,
                        level: None,
                    },
                )
            })
            .collect();
        let (changed, _) = watch::channel(0);
        Self {
            settings,
            tracks: Mutex::new(tracks),
            changed,
        }
    }

    fn lock(&self) -> MutexGuard<'_, BTreeMap<String, Track>> {
        self.tracks.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The packages read through Cloud Eye.
    pub fn eips(&self) -> &[Eip] {
        &self.settings.eips
    }

    pub fn interval(&self) -> Duration {
        self.settings.interval
    }

    pub fn thresholds(&self) -> &Thresholds {
        &self.settings.thresholds
    }

    /// A receiver that changes when an estimate's level changes.
    pub fn subscribe(&self) -> watch::Receiver<u64> {
        self.changed.subscribe()
    }

    /// Where the next query of `package` starts: ten minutes before the last minute held (Cloud
    /// Eye may fill a late minute in), or as far back as the history is kept.
    fn query_start(&self, package: &str, now: DateTime<Utc>) -> DateTime<Utc> {
        let oldest = now - keep();
        self.lock()
            .get(package)
            .and_then(|t| t.series.last())
            .map_or(oldest, |l| (l - chrono::Duration::minutes(10)).max(oldest))
    }

    /// Reads `eip` from Cloud Eye with `client` (in spans of at most [`MAX_SPAN`]) and folds the
    /// answer in. Returns the wait before the next read.
    pub async fn read(&self, client: &CesClient, eip: &Eip, now: DateTime<Utc>) -> Duration {
        let mut from = self.query_start(&eip.package, now);
        let span = chrono::Duration::from_std(MAX_SPAN).unwrap_or_default();
        let mut points: Vec<Datapoint> = Vec::new();
        let mut result = Ok(());
        while from < now {
            let to = (from + span).min(now);
            match client.up_stream(&eip.publicip_id, from, to).await {
                Ok(p) => points.extend(p),
                Err(e) => {
                    result = Err(e);
                    break;
                }
            }
            from = to;
        }
        let folded = result.map(|()| points);
        self.fold(&eip.package, folded, now)
    }

    /// Folds one read of `package` in: good points are added, a failure or a refused answer
    /// changes nothing but the failure count. Returns the wait before the next read.
    pub fn fold(
        &self,
        package: &str,
        answer: Result<Vec<Datapoint>, HuaweiError>,
        now: DateTime<Utc>,
    ) -> Duration {
        let interval = self.settings.interval;
        let mut tracks = self.lock();
        let Some(t) = tracks.get_mut(package) else {
            return interval;
        };
        let accepted = answer.map_err(|e| (e.kind(), e.to_string())).and_then(|p| {
            cloudeye::accept(&p, RAW_PERIOD, now)
                .map_err(|why| ("bad_response", format!("Cloud Eye answer refused: {why}")))
        });
        match accepted {
            Ok(points) => {
                t.series.merge(&points);
                t.series.trim(now - keep());
                t.meter = t.series.meter(&t.eip.publicip_id, RAW_PERIOD, keep());
                t.read_at = Some(now);
                if t.problem.take().is_some() {
                    tracing::info!(publicip_id = %t.eip.publicip_id, "Cloud Eye readable again");
                }
                t.failures = 0;
                interval
            }
            Err((kind, why)) => {
                t.failures = t.failures.saturating_add(1);
                let wait = cloudeye::backoff(interval, t.failures);
                tracing::warn!(publicip_id = %t.eip.publicip_id, kind, error = %why, wait_s = wait.as_secs_f64(), "Cloud Eye read failed; the estimate keeps what was known");
                t.problem = Some(why);
                wait
            }
        }
    }

    /// Records an accepted bill reading of a package read through Cloud Eye.
    pub fn observe_bill(&self, r: &Reading) {
        let mut tracks = self.lock();
        let Some(t) = tracks.get_mut(&r.free_resource_id) else {
            return;
        };
        if t.bill.as_ref().is_some_and(|b| b.read_at >= r.read_at) {
            return;
        }
        let anchored = t.estimator.observe_bill(r, &t.meter);
        if anchored == super::estimate::Anchored::NewCycle {
            tracing::info!(free_resource_id = %r.free_resource_id, "new cycle: the Cloud Eye estimate is anchored again");
        }
        t.bill = Some(r.clone());
    }

    /// The estimate for `r` at `now`; `None` for a package not read through Cloud Eye, or before
    /// any minute of it is known.
    pub fn estimate(&self, r: &Reading, now: DateTime<Utc>) -> Option<Estimate> {
        let tracks = self.lock();
        let t = tracks.get(&r.free_resource_id)?;
        t.estimator.estimate(r, &t.meter, now)
    }

    /// Records the level a package's judged figure is at; wakes the subscribers when it changed.
    pub fn note_level(&self, package: &str, level: Option<Level>) {
        let mut tracks = self.lock();
        let Some(t) = tracks.get_mut(package) else {
            return;
        };
        if t.level != level {
            t.level = level;
            drop(tracks);
            self.changed.send_modify(|n| *n += 1);
        }
    }

    /// Every EIP as readers see it.
    pub fn views(&self) -> Vec<View> {
        self.lock()
            .values()
            .map(|t| View {
                package: t.eip.package.clone(),
                publicip_id: t.eip.publicip_id.clone(),
                minutes: t.series.len(),
                last_minute: t.series.last(),
                tx_bytes: t.meter.total().tx,
                lag: t.estimator.lag(),
                read_at: t.read_at,
                problem: t.problem.clone(),
                failures: t.failures,
            })
            .collect()
    }
}
