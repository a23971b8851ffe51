//! The poller: calls BSS once at start and then every `POLL_INTERVAL`, and folds each outcome into
//! the shared [`Snapshot`].
//!
//! It is the only caller of BSS in `serve`; scrapes and the status API read the snapshot. After each
//! poll it records the good readings in the history (when given one) and bumps a `watch` counter so that the evaluator can react without polling again itself.

use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::Utc;
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

use crate::egress::live::Live;
use crate::history::HistoryStore;
use crate::huawei::bss::BssClient;
use crate::metrics::Metrics;
use crate::snapshot::{PollOutcome, SharedSnapshot};

/// Polls BSS and keeps the snapshot current.
#[derive(Clone)]
pub struct Poller {
    bss: BssClient,
    ids: Vec<String>,
    snapshot: SharedSnapshot,
    metrics: Arc<Metrics>,
    polled: watch::Sender<u64>,
    history: Option<Arc<HistoryStore>>,
    live: Option<Arc<Live>>,
}

impl Poller {
    pub fn new(
        bss: BssClient,
        ids: Vec<String>,
        snapshot: SharedSnapshot,
        metrics: Arc<Metrics>,
    ) -> Self {
        let (polled, _) = watch::channel(0);
        Self {
            bss,
            ids,
            snapshot,
            metrics,
            polled,
            history: None,
            live: None,
        }
    }

    /// Records every good reading into `history` too.
    pub fn with_history(mut self, history: Arc<HistoryStore>) -> Self {
        self.history = Some(history);
        self
    }

    /// Anchors the live meter to every accepted reading, and refreshes its estimate after each poll.
    pub fn with_live(mut self, live: Arc<Live>) -> Self {
        self.live = Some(live);
        self
    }

    /// The live meter, when there is one.
    pub fn live(&self) -> Option<&Arc<Live>> {
        self.live.as_ref()
    }

    /// A receiver that changes after every poll (its value counts the polls).
    pub fn subscribe(&self) -> watch::Receiver<u64> {
        self.polled.subscribe()
    }

    /// Calls BSS once, records the outcome, and returns it.
    pub async fn poll_once(&self) -> PollOutcome {
        let started = Instant::now();
        let outcome = self
            .bss
            .list_free_resource_usages(&self.ids, Utc::now())
            .await;
        self.metrics
            .observe_bss_duration(started.elapsed().as_secs_f64());
        let result = match &outcome {
            Ok(_) => "success",
            Err(e) => e.kind(),
        };
        self.metrics.bss_request(result);
        match &outcome {
            Ok(results) => {
                for (id, r) in results {
                    match r {
                        Ok(r) => {
                            tracing::info!(free_resource_id = %id, remaining_gb = r.remaining_gb, total_gb = r.total_gb, "package read")
                        }
                        Err(e) => {
                            tracing::warn!(free_resource_id = %id, error = %e, "package could not be read")
                        }
                    }
                }
            }
            Err(e) => tracing::warn!(error = %e, "bss poll failed"),
        }
        let now = Utc::now();
        self.snapshot.write().await.apply(&outcome, now);
        if let Some(live) = &self.live {
            // The readings the snapshot holds are the accepted ones.
            let held = self
                .snapshot
                .read()
                .await
                .packages
                .iter()
                .find(|p| p.free_resource_id == live.package())
                .and_then(|p| p.reading.clone());
            if let Some(r) = held {
                live.observe_bill(&r);
            }
            live.sample(now);
            publish_live(live, &self.snapshot, now).await;
        }
        if let (Some(history), Ok(results)) = (&self.history, &outcome) {
            history.record_readings(results.iter().filter_map(|(_, r)| r.as_ref().ok()), now);
        }
        self.polled.send_modify(|n| *n += 1);
        outcome
    }

    /// Polls at once and then every `interval` until `cancel` fires.
    pub async fn run(self, interval: Duration, cancel: CancellationToken) {
        loop {
            tokio::select! {
                _ = cancel.cancelled() => return,
                _ = self.poll_once() => {}
            }
            tokio::select! {
                _ = cancel.cancelled() => return,
                _ = tokio::time::sleep(interval) => {}
            }
        }
    }
}

/// Puts the live meter's estimate of its package and its view into the snapshot, and tells the
/// meter the level of the judged figure (which wakes the evaluator when it changed).
pub async fn publish_live(live: &Live, snapshot: &SharedSnapshot, now: chrono::DateTime<Utc>) {
    let mut snap = snapshot.write().await;
    snap.live = Some(live.view(now));
    snap.live_samples += 1;
    let Some(p) = snap
        .packages
        .iter_mut()
        .find(|p| p.free_resource_id == live.package())
    else {
        return;
    };
    p.estimate = p.reading.as_ref().and_then(|r| live.estimate(r, now));
    let level = p
        .judged_gb()
        .map(|gb| crate::level::Level::of(gb, live.thresholds()));
    drop(snap);
    live.note_level(level);
}

/// Reads the counter every `EGRESS_SAMPLE_INTERVAL` until `cancel` fires, publishing into the
/// snapshot; saves the meter on stop.
pub async fn run_live(live: Arc<Live>, snapshot: SharedSnapshot, cancel: CancellationToken) {
    let mut tick = tokio::time::interval(live.interval());
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = cancel.cancelled() => break,
            _ = tick.tick() => {}
        }
        let now = Utc::now();
        live.sample(now);
        publish_live(&live, &snapshot, now).await;
    }
    live.save();
}
