//! The poller: calls BSS once at start and then every `POLL_INTERVAL`, and folds each outcome into
//! the shared [`Snapshot`].
//!
//! It is the only caller of BSS in `serve`; scrapes and the status API read the snapshot. Every
//! reading passes the plausibility judge first (when given the state to keep its memory in): a
//! refused or held reading becomes an error for its package ([`ReadingError::Doubtful`]), so the
//! snapshot keeps the last good reading and nothing downstream — the evaluator, the webhook's
//! fresh reading, the enforcer, the guard's re-check, which polls through here too — acts on it.
//! After a held reading it reads again after [`CONFIRM_AFTER`] (once) rather than a whole
//! interval, unless BSS just throttled. After each poll it records the good readings in the
//! history (when given one) and bumps a `watch` counter so that the evaluator can react without
//! polling again itself.
//!
//! With several accounts (`ACCOUNTS`) each account has its own client (keys, site, retries) and
//! its own loop: an account that answers 401, throttles, fails or stalls until the timeout delays
//! only its own readings. Each account's outcome is folded into the snapshot, and the counter
//! bumped, as soon as that account's call ends.

use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::Utc;
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

use crate::egress::live::Live;
use crate::egress::offbox::CloudEye;
use crate::egress::Estimate;
use crate::history::HistoryStore;
use crate::huawei::bss::{BssClient, PackageResults};
use crate::huawei::ces::CesFactory;
use crate::huawei::wire::ReadingError;
use crate::huawei::HuaweiError;
use crate::metrics::Metrics;
use crate::plausibility::{self, Settings, Verdict, CONFIRM_AFTER};
use crate::snapshot::{PollOutcome, SharedSnapshot};
use crate::state::StateCell;

/// One account's client and packages.
#[derive(Clone)]
struct Source {
    /// Empty for the single, unnamed account.
    account: String,
    bss: BssClient,
    ids: Vec<String>,
}

/// Polls BSS and keeps the snapshot current.
#[derive(Clone)]
pub struct Poller {
    sources: Vec<Source>,
    snapshot: SharedSnapshot,
    metrics: Arc<Metrics>,
    polled: watch::Sender<u64>,
    history: Option<Arc<HistoryStore>>,
    live: Option<Arc<Live>>,
    cloudeye: Option<Arc<CloudEye>>,
    judge: Option<(Arc<StateCell>, Settings)>,
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
            sources: vec![Source {
                account: String::new(),
                bss,
                ids,
            }],
            snapshot,
            metrics,
            polled,
            history: None,
            live: None,
            cloudeye: None,
            judge: None,
        }
    }

    /// Several accounts: each `(name, client, ids)` is polled on its own, in place of the one
    /// given to [`Self::new`].
    pub fn with_accounts(mut self, accounts: Vec<(String, BssClient, Vec<String>)>) -> Self {
        self.sources = accounts
            .into_iter()
            .map(|(account, bss, ids)| Source { account, bss, ids })
            .collect();
        self
    }

    /// Judges every reading's plausibility, keeping the judge's memory in `state`.
    pub fn with_judge(mut self, state: Arc<StateCell>, settings: Settings) -> Self {
        self.judge = Some((state, settings));
        self
    }

    /// Passes each reading through the plausibility judge and records its memory.
    async fn judged(&self, results: PackageResults) -> PackageResults {
        let Some((state, settings)) = &self.judge else {
            return results;
        };
        let now = Utc::now();
        let mut out = Vec::with_capacity(results.len());
        let saved = state
            .update(|st| {
                for (id, result) in results {
                    let result = result.and_then(|r| {
                        let memory = st.readings.entry(id.clone()).or_default();
                        let verdict = plausibility::judge(&r, memory, settings, now);
                        plausibility::remember(memory, &r, &verdict);
                        match verdict {
                            Verdict::Accept => Ok(r),
                            Verdict::Hold(d) | Verdict::Refuse(d) => Err(ReadingError::Doubtful(d)),
                        }
                    });
                    out.push((id, result));
                }
            })
            .await;
        if let Err(e) = saved {
            tracing::error!(error = %e, "cannot record the readings acted on in the state file");
        }
        out
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

    /// Anchors the Cloud Eye source to every accepted reading of its packages, and refreshes
    /// their estimates after each poll.
    pub fn with_cloudeye(mut self, cloudeye: Arc<CloudEye>) -> Self {
        self.cloudeye = Some(cloudeye);
        self
    }

    /// The Cloud Eye source, when there is one.
    pub fn cloudeye(&self) -> Option<&Arc<CloudEye>> {
        self.cloudeye.as_ref()
    }

    /// The estimate built on the bill reading `r` by whichever live source counts its package
    /// (the server's own counter, or Cloud Eye), when one does.
    pub fn estimate(
        &self,
        r: &crate::reading::Reading,
        now: chrono::DateTime<Utc>,
    ) -> Option<Estimate> {
        self.live
            .as_ref()
            .and_then(|l| l.estimate(r, now))
            .or_else(|| self.cloudeye.as_ref().and_then(|c| c.estimate(r, now)))
    }

    /// A receiver that changes after every poll (its value counts the polls).
    pub fn subscribe(&self) -> watch::Receiver<u64> {
        self.polled.subscribe()
    }

    /// Calls BSS once for every account at the same time, records each outcome as it comes, and
    /// returns them together: with one account its outcome; with several, the packages of every
    /// account, those of an account whose call failed as [`ReadingError::AccountFailed`] (an
    /// error only when every account failed).
    pub async fn poll_once(&self) -> PollOutcome {
        if let [one] = &self.sources[..] {
            return self.poll_source(one).await;
        }
        // A set of tasks, aborted if this call is dropped (a countdown cancelled while it reads).
        let mut set = tokio::task::JoinSet::new();
        for (i, source) in self.sources.iter().enumerate() {
            let (me, source) = (self.clone(), source.clone());
            set.spawn(async move { (i, me.poll_source(&source).await) });
        }
        let mut outcomes: Vec<Option<PollOutcome>> = vec![None; self.sources.len()];
        while let Some(done) = set.join_next().await {
            match done {
                Ok((i, o)) => outcomes[i] = Some(o),
                Err(e) => tracing::error!(error = %e, "an account's poll ended abnormally"),
            }
        }
        merge(&self.sources, outcomes)
    }

    /// Calls BSS once for the account of package `id` only (the shutdown guard's fresh reading:
    /// another account's trouble must not delay it).
    pub async fn poll_package(&self, id: &str) -> PollOutcome {
        match self.sources.iter().find(|s| s.ids.iter().any(|i| i == id)) {
            Some(s) => self.poll_source(s).await,
            None => Ok(Vec::new()),
        }
    }

    async fn poll_source(&self, source: &Source) -> PollOutcome {
        let account = source.account.as_str();
        let started = Instant::now();
        let outcome = source
            .bss
            .list_free_resource_usages(&source.ids, Utc::now())
            .await;
        self.metrics
            .observe_bss_duration(started.elapsed().as_secs_f64());
        let result = match &outcome {
            Ok(_) => "success",
            Err(e) => e.kind(),
        };
        self.metrics.bss_request(result);
        let outcome = match outcome {
            Ok(results) => Ok(self.judged(results).await),
            Err(e) => Err(e),
        };
        match &outcome {
            Ok(results) => {
                for (id, r) in results {
                    match r {
                        Ok(r) => {
                            tracing::info!(account, free_resource_id = %id, remaining_gb = r.remaining_gb, total_gb = r.total_gb, "package read")
                        }
                        Err(e) => {
                            tracing::warn!(account, free_resource_id = %id, error = %e, "package could not be read")
                        }
                    }
                }
            }
            Err(e) => tracing::warn!(account, error = %e, "bss poll failed"),
        }
        let now = Utc::now();
        self.snapshot
            .write()
            .await
            .apply_account(account, &outcome, now);
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
            live.save_due().await;
        }
        if let Some(ce) = &self.cloudeye {
            let held: Vec<_> = self
                .snapshot
                .read()
                .await
                .packages
                .iter()
                .filter_map(|p| p.reading.clone())
                .collect();
            for r in &held {
                ce.observe_bill(r);
            }
            publish_cloudeye(ce, &self.snapshot, now).await;
        }
        if let (Some(history), Ok(results)) = (&self.history, &outcome) {
            history.record_readings(results.iter().filter_map(|(_, r)| r.as_ref().ok()), now);
        }
        self.polled.send_modify(|n| *n += 1);
        outcome
    }

    /// Polls at once and then every `interval` until `cancel` fires; after a held reading, the
    /// next poll comes sooner (see [`next_wait`]).
    /// Each account has a loop of its own.
    pub async fn run(self, interval: Duration, cancel: CancellationToken) {
        if let [one] = &self.sources[..] {
            return self.run_source(one, interval, cancel).await;
        }
        // Aborted with this future: nothing outlives the app's stop.
        let mut set = tokio::task::JoinSet::new();
        for source in &self.sources {
            let (me, source, cancel) = (self.clone(), source.clone(), cancel.clone());
            set.spawn(async move { me.run_source(&source, interval, cancel).await });
        }
        while set.join_next().await.is_some() {}
    }

    async fn run_source(&self, source: &Source, interval: Duration, cancel: CancellationToken) {
        let mut early = false;
        loop {
            let outcome = tokio::select! {
                _ = cancel.cancelled() => return,
                o = self.poll_source(source) => o,
            };
            let wait = next_wait(&outcome, interval, early);
            early = wait < interval;
            tokio::select! {
                _ = cancel.cancelled() => return,
                _ = tokio::time::sleep(wait) => {}
            }
        }
    }
}

/// The outcomes of every account's poll as one (see [`Poller::poll_once`]). Pure.
fn merge(sources: &[Source], outcomes: Vec<Option<PollOutcome>>) -> PollOutcome {
    let failed = |o: &Option<PollOutcome>| matches!(o, Some(Err(_)));
    if outcomes.iter().all(failed) {
        if let Some(Some(Err(e))) = outcomes.into_iter().next() {
            return Err(e);
        }
        return Ok(Vec::new());
    }
    let mut all = Vec::new();
    for (source, outcome) in sources.iter().zip(outcomes) {
        match outcome {
            None => {}
            Some(Ok(results)) => all.extend(results),
            Some(Err(e)) => all.extend(source.ids.iter().map(|id| {
                (
                    id.clone(),
                    Err(ReadingError::AccountFailed {
                        account: source.account.clone(),
                        error: Box::new(e.clone()),
                    }),
                )
            })),
        }
    }
    Ok(all)
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
        live.save_due().await;
    }
    live.save_now().await;
}

/// Puts the Cloud Eye estimates of its packages and its views into the snapshot, and tells the
/// source the level of each judged figure (which wakes the evaluator when one changed).
pub async fn publish_cloudeye(
    ce: &CloudEye,
    snapshot: &SharedSnapshot,
    now: chrono::DateTime<Utc>,
) {
    let mut levels = Vec::new();
    {
        let mut snap = snapshot.write().await;
        snap.cloudeye = ce.views();
        snap.live_samples += 1;
        for eip in ce.eips() {
            let Some(p) = snap
                .packages
                .iter_mut()
                .find(|p| p.free_resource_id == eip.package)
            else {
                continue;
            };
            p.estimate = p.reading.as_ref().and_then(|r| ce.estimate(r, now));
            let level = p
                .judged_gb()
                .map(|gb| crate::level::Level::of(gb, ce.thresholds()));
            levels.push((eip.package.clone(), level));
        }
    }
    for (package, level) in levels {
        ce.note_level(&package, level);
    }
}

/// Reads every EIP of the Cloud Eye source from Cloud Eye until `cancel` fires, each at its own
/// pace (`CLOUDEYE_INTERVAL`, longer after failures), publishing into the snapshot.
pub async fn run_cloudeye(
    ce: Arc<CloudEye>,
    factory: CesFactory,
    snapshot: SharedSnapshot,
    cancel: CancellationToken,
) {
    let mut next: Vec<tokio::time::Instant> = vec![tokio::time::Instant::now(); ce.eips().len()];
    loop {
        let Some((i, at)) = next.iter().copied().enumerate().min_by_key(|(_, t)| *t) else {
            return;
        };
        tokio::select! {
            _ = cancel.cancelled() => return,
            _ = tokio::time::sleep_until(at) => {}
        }
        let eip = ce.eips()[i].clone();
        let wait = match factory.client(&eip.region, &eip.project_id) {
            Ok(client) => tokio::select! {
                _ = cancel.cancelled() => return,
                w = ce.read(&client, &eip, Utc::now()) => w,
            },
            Err(e) => ce.fold(&eip.package, Err(e), Utc::now()),
        };
        publish_cloudeye(&ce, &snapshot, Utc::now()).await;
        next[i] = tokio::time::Instant::now() + wait;
    }
}

/// How long to wait after `outcome`: [`CONFIRM_AFTER`] (at most `interval`) when it held a
/// reading for confirmation, unless the poll before was already such an early one; `interval`
/// otherwise (a throttled answer holds nothing, so it never hastens a poll). Pure.
pub fn next_wait(outcome: &PollOutcome, interval: Duration, after_early: bool) -> Duration {
    let held = match outcome {
        Ok(results) => results
            .iter()
            .any(|(_, r)| matches!(r, Err(ReadingError::Doubtful(d)) if d.is_hold())),
        Err(HuaweiError::Throttled { .. }) | Err(_) => false,
    };
    if held && !after_early {
        interval.min(CONFIRM_AFTER)
    } else {
        interval
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plausibility::Doubt;

    #[test]
    fn a_held_reading_hastens_one_poll_only() {
        let i = Duration::from_secs(600);
        let held: PollOutcome = Ok(vec![(
            "a".into(),
            Err(ReadingError::Doubtful(Doubt::FastDrop {
                from_gb: 1000.0,
                to_gb: 100.0,
                minutes: 10,
                max_gb: 272.0,
            })),
        )]);
        assert_eq!(next_wait(&held, i, false), CONFIRM_AFTER);
        assert_eq!(next_wait(&held, i, true), i, "not twice in a row");
        assert_eq!(
            next_wait(&held, Duration::from_secs(30), false),
            Duration::from_secs(30)
        );
        let refused: PollOutcome = Ok(vec![(
            "a".into(),
            Err(ReadingError::Doubtful(Doubt::ZeroTotal)),
        )]);
        assert_eq!(next_wait(&refused, i, false), i);
        let throttled: PollOutcome = Err(HuaweiError::Throttled {
            code: "APIGW.0308".into(),
            request_id: None,
        });
        assert_eq!(next_wait(&throttled, i, false), i);
    }
}
