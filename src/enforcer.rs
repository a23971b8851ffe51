//! The enforcer: after each poll, brings the gentler actions (throttle, fence, command) in line
//! with what the level asks for — planned by [`crate::actions::plan`], run by the actions runner,
//! recorded in the state store, announced, and shown in `/metrics` and `/api/v1/status`.
//!
//! Safety, as for the shutdown: it acts only on a fresh, complete poll (every watched package read
//! just now); a failed or partial poll changes nothing, neither applying nor lifting. Its own
//! readings only: an alert alone never throttles or fences. The actions act on this machine, so only
//! the level of this server's own packages counts (`LOCAL_FREE_RESOURCE_IDS`; the worst of them);
//! a package of another server acts through its own shutdown setting. It does not own `shutdown`:
//! the guard does.
//!
//! `flexus-traffic-monitor lift` while the service runs cannot write the state the service holds:
//! it removes our rules and leaves a request in `STATE_DIR` ([`LIFT_REQUEST`]), which the service
//! takes within seconds ([`Enforcer::take_lift_request`]): it records the lift (so a restart does
//! not put the actions back while the level lasts), updates `/api/v1/status` and the metrics, and
//! tells the owner.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::Serialize;
use tokio_util::sync::CancellationToken;

use crate::actions::addresses::{system_resolver, ApiAddresses, Resolver};
use crate::actions::plan::{lift_everything, plan, ChangeKind, Inputs};
use crate::actions::reconcile::{execute, outcome_record, record, Done};
use crate::actions::runner::Runner;
use crate::actions::throttle::FAIR_QUEUE;
use crate::actions::{Action, ActionSettings, ActionsState, Installed, Key};
use crate::config::{Config, ShutdownMode};
use crate::level::{Level, Thresholds};
use crate::messages::Message;
use crate::metrics::Metrics;
use crate::notifier::Notifier;
use crate::snapshot::{SharedSnapshot, Snapshot};
use crate::state::StateCell;

/// The worst level of a fresh, complete poll; `None` when the last poll failed, missed a package,
/// or is older than `max_age`.
pub fn level_of(
    snap: &Snapshot,
    ids: &[String],
    thresholds: &Thresholds,
    now: DateTime<Utc>,
    max_age: Duration,
) -> Option<Level> {
    if !snap.up || ids.is_empty() {
        return None;
    }
    let max_age = chrono::Duration::from_std(max_age).unwrap_or(chrono::Duration::MAX);
    let mut worst = Level::Ok;
    for id in ids {
        let p = snap.packages.iter().find(|p| &p.free_resource_id == id)?;
        let r = p.reading.as_ref()?;
        if now.signed_duration_since(r.read_at) > max_age {
            return None;
        }
        // The bill, or the estimate built on it when lower (see `egress`).
        let gb = p.judged_gb().unwrap_or(r.remaining_gb);
        worst = worst.max(Level::of(gb, thresholds));
    }
    Some(worst)
}

/// Our own API hosts (host, port) that this process calls while it runs, kept out of the
/// throttle: BSS, ECS of every region with `SHUTDOWN_MODE=huawei-api`, Telegram when it is set
/// up, and the proxy when one is set. RMS is called only at start, so it is not among them.
pub fn api_hosts(config: &Config) -> Vec<(String, u16)> {
    let mut urls = vec![config.huawei.bss_endpoint.clone()];
    if config.notify.telegram.bot_token.is_some() {
        urls.push(config.notify.telegram.api_url.clone());
    }
    if config.shutdown.mode == ShutdownMode::HuaweiApi {
        let mut regions: Vec<String> = config
            .watch
            .targets
            .values()
            .map(|t| t.region.clone())
            .collect();
        regions.extend(config.huawei.region.clone());
        regions.sort();
        regions.dedup();
        for r in regions {
            if let Ok(u) = url::Url::parse(&config.huawei.ecs_endpoint.replace("{region}", &r)) {
                urls.push(u);
            }
        }
    }
    for var in ["HTTPS_PROXY", "https_proxy", "ALL_PROXY", "all_proxy"] {
        if let Some(u) = std::env::var(var)
            .ok()
            .and_then(|v| url::Url::parse(&v).ok())
        {
            urls.push(u);
        }
    }
    let mut hosts: Vec<(String, u16)> = urls
        .iter()
        .filter_map(|u| Some((u.host_str()?.to_string(), u.port_or_known_default()?)))
        .collect();
    hosts.sort();
    hosts.dedup();
    hosts
}

/// The file in `STATE_DIR` by which `lift` asks the running service to record a lift.
pub const LIFT_REQUEST: &str = "lift-request";

/// How often the service looks for a lift request.
const LIFT_CHECK_EVERY: Duration = Duration::from_secs(1);

/// Leaves a lift request for the running service (written whole, then renamed into place).
///
/// # Errors
/// When `STATE_DIR` cannot be written.
pub fn request_lift(state_dir: &std::path::Path, now: DateTime<Utc>) -> std::io::Result<()> {
    crate::fsutil::write_atomic(
        &state_dir.join(LIFT_REQUEST),
        format!("{}\n", now.to_rfc3339()).as_bytes(),
    )
}

/// Whether a lift request still waits for the service.
pub fn lift_requested(state_dir: &std::path::Path) -> bool {
    state_dir.join(LIFT_REQUEST).exists()
}

/// An action in force, as `/api/v1/status` shows it.
#[derive(Debug, Clone, Serialize)]
pub struct ActiveView {
    pub action: &'static str,
    pub level: &'static str,
    pub since: DateTime<Utc>,
    pub dry_run: bool,
    pub installed: Installed,
}

/// What `lift` did.
#[derive(Debug, Default)]
pub struct LiftReport {
    /// The command lines run (or printed under `DRY_RUN`).
    pub commands: Vec<String>,
    /// Failures (removals of what is not there are not failures).
    pub errors: Vec<String>,
    /// The actions the state had in force.
    pub lifted: Vec<Key>,
}

/// The enforcer.
pub struct Enforcer {
    settings: ActionSettings,
    runner: Runner,
    state: Arc<StateCell>,
    notifier: Arc<Notifier>,
    metrics: Arc<Metrics>,
    server: String,
    thresholds: Thresholds,
    ids: Vec<String>,
    max_age: Duration,
    retry_after: Duration,
    /// Our own API addresses, looked up only when a throttle is to be installed.
    addresses: ApiAddresses,
    dry_run: bool,
    /// Set once this process made sure the recorded actions are in place.
    restored: AtomicBool,
    /// One reconciliation at a time.
    busy: tokio::sync::Mutex<()>,
}

impl Enforcer {
    /// Builds it from the configuration; `netns` runs every command in that network namespace
    /// (tests).
    pub fn new(
        config: &Config,
        state: Arc<StateCell>,
        notifier: Arc<Notifier>,
        metrics: Arc<Metrics>,
        netns: Option<String>,
    ) -> Self {
        let settings = config.actions.clone();
        let dry_run = config.shutdown.dry_run;
        Self {
            runner: Runner {
                netns,
                timeout: settings.timeout,
                dry_run,
            },
            addresses: ApiAddresses::new(api_hosts(config), system_resolver()),
            settings,
            state,
            notifier,
            metrics,
            server: config.watch.server_name.clone(),
            thresholds: config.alerting.thresholds,
            ids: config.actions.local_packages.clone(),
            max_age: config.watch.reading_max_age,
            retry_after: config.alerting.cadence.level2_repeat,
            dry_run,
            restored: AtomicBool::new(false),
            busy: tokio::sync::Mutex::new(()),
        }
    }

    /// With another resolver of the API hosts (tests count its calls, or make it hang).
    #[must_use]
    pub fn with_resolver(mut self, resolver: Resolver) -> Self {
        self.addresses = ApiAddresses::new(self.addresses.hosts().to_vec(), resolver);
        self
    }

    /// The settings.
    pub fn settings(&self) -> &ActionSettings {
        &self.settings
    }

    /// Shows what the state has in force in `flexus_actions_active`.
    pub async fn publish(&self) {
        let st = self.state.snapshot().await;
        self.metrics
            .set_actions_active(&self.settings.keys(), &st.actions.active);
    }

    /// The actions in force, for `/api/v1/status`.
    pub async fn active(&self) -> Vec<ActiveView> {
        let st = self.state.snapshot().await;
        st.actions
            .active
            .iter()
            .filter_map(|(id, r)| {
                let k = Key::parse(id)?;
                Some(ActiveView {
                    action: k.action.label(),
                    level: k.level.label(),
                    since: r.since,
                    dry_run: r.dry_run,
                    installed: r.installed.clone(),
                })
            })
            .collect()
    }

    /// After a poll: plans and runs what the level asks for. Returns what each change did.
    pub async fn after_poll(
        &self,
        snap: &Snapshot,
        now: DateTime<Utc>,
    ) -> Vec<(Key, ChangeKind, Done)> {
        let _one = self.busy.lock().await;
        let level = if self.ids.is_empty() {
            // No package of this server is watched: nothing asks for an action here; a fresh poll
            // lifts what an earlier setting left in force.
            snap.up.then_some(Level::Ok)
        } else {
            level_of(snap, &self.ids, &self.thresholds, now, self.max_age)
        };
        let Some(level) = level else {
            return Vec::new();
        };
        let current: ActionsState = self.state.snapshot().await.actions;
        if self.settings.keys().is_empty()
            && current.active.is_empty()
            && current.lifted_by_hand.is_empty()
        {
            return Vec::new();
        }
        // The API addresses matter only to a throttle this level asks for: the fence and the
        // lifts never wait for a resolver.
        let throttling = self
            .settings
            .at_level(level)
            .iter()
            .any(|k| k.action == Action::Throttle);
        let endpoints = if throttling {
            self.addresses.get().await
        } else {
            Vec::new()
        };
        let machine = self
            .runner
            .machine(self.settings.fence_backend, endpoints)
            .await;
        let p = plan(&Inputs {
            level,
            settings: &self.settings,
            machine: &machine,
            state: &current,
            restored: self.restored.load(Ordering::Acquire),
            now,
            retry_after: self.retry_after,
        });
        let mut results = Vec::new();
        for change in &p.changes {
            let done = execute(&self.runner, change).await;
            match &done {
                Done::Failed(e) | Done::Blocked(e) => {
                    tracing::error!(action = %change.key.id(), kind = ?change.kind, error = %e, "action failed")
                }
                d => {
                    tracing::info!(action = %change.key.id(), kind = ?change.kind, outcome = ?d, "action")
                }
            }
            results.push((change.clone(), done));
        }
        self.restored.store(true, Ordering::Release);

        let mut guard = self.state.lock().await;
        let mut next = guard.clone();
        let mut messages = Vec::new();
        for (c, d) in &results {
            record(&mut next.actions, c, d, now, self.dry_run);
            let (action, lvl) = (c.key.action, c.key.level);
            let installed = outcome_record(c, d, self.dry_run);
            if let (
                Done::Applied(_),
                Some(Installed::Throttle {
                    interface,
                    queue: Some(q),
                    ..
                }),
            ) = (d, &installed)
            {
                if q != FAIR_QUEUE {
                    tracing::warn!(interface = %interface, queue = %q, "this kernel has no fq_codel: the throttled traffic shares one {q} queue instead (less fair: a big download delays the other connections more)");
                }
            }
            match (c.kind, d) {
                (ChangeKind::Apply, Done::Applied(lines)) => {
                    if let Some(installed) = &installed {
                        messages.push(Message::ActionApplied {
                            server: self.server.clone(),
                            level: lvl,
                            installed: installed.clone(),
                            undo: c.undo.iter().map(|s| s.display()).collect(),
                            would_run: if self.dry_run {
                                lines.clone()
                            } else {
                                Vec::new()
                            },
                            dry_run: self.dry_run,
                        });
                    }
                }
                (ChangeKind::Lift, Done::Lifted(_)) => messages.push(Message::ActionLifted {
                    server: self.server.clone(),
                    level: lvl,
                    action,
                    dry_run: self.dry_run,
                }),
                (_, Done::Failed(e) | Done::Blocked(e)) => messages.push(Message::ActionFailed {
                    server: self.server.clone(),
                    level: lvl,
                    action,
                    error: e.clone(),
                }),
                _ => {}
            }
        }
        for id in &p.forget_hand_lifts {
            next.actions.lifted_by_hand.remove(id);
        }
        for m in &messages {
            if let Err(e) = self.notifier.enqueue(m) {
                tracing::error!(error = %e, "cannot queue an action message");
            }
        }
        if next != *guard {
            if let Err(e) = self.state.commit(&mut guard, next) {
                tracing::error!(error = %e, "cannot record the actions in force");
            }
        }
        self.metrics
            .set_actions_active(&self.settings.keys(), &guard.actions.active);
        drop(guard);
        results
            .into_iter()
            .map(|(c, d)| (c.key, c.kind, d))
            .collect()
    }

    /// Removes every action of ours by hand (`flexus-traffic-monitor lift`): what the state
    /// records, plus our names wherever they may be. Actions that were in force are not installed
    /// again until their level has recovered once.
    pub async fn lift_all(&self) -> LiftReport {
        let _one = self.busy.lock().await;
        let current = self.state.snapshot().await.actions;
        let machine = self
            .runner
            .machine(self.settings.fence_backend, Vec::new())
            .await;
        let mut report = LiftReport::default();
        let groups = lift_everything(
            &current,
            &self.settings,
            &machine,
            self.runner.has("nft"),
            self.runner.has("iptables"),
        );
        for (key, steps) in groups {
            match self.runner.run_all(&steps).await {
                Ok(lines) => report.commands.extend(lines),
                Err(e) => report.errors.push(e.to_string()),
            }
            if let Some(k) = key {
                report.lifted.push(k);
            }
        }
        let mut guard = self.state.lock().await;
        let mut next = guard.clone();
        for k in &report.lifted {
            next.actions.active.remove(&k.id());
            next.actions.lifted_by_hand.insert(k.id());
        }
        if next != *guard {
            if let Err(e) = self.state.commit(&mut guard, next) {
                report.errors.push(format!("cannot record the lift: {e}"));
            }
        }
        self.metrics
            .set_actions_active(&self.settings.keys(), &guard.actions.active);
        drop(guard);
        let told = Message::ActionsLiftedByHand {
            server: self.server.clone(),
            lifted: report.lifted.clone(),
            dry_run: self.dry_run,
        };
        if let Err(e) = self.notifier.enqueue(&told) {
            report.errors.push(format!("cannot queue the message: {e}"));
        }
        report
    }

    /// Carries out a lift request left by `lift` while this service runs: records it, removes
    /// what the state had in force (running its leave command), tells the owner. `None` when no
    /// request waits.
    pub async fn take_lift_request(&self) -> Option<LiftReport> {
        let path = self.state.dir().join(LIFT_REQUEST);
        match std::fs::remove_file(&path) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return None,
            Err(e) => {
                tracing::error!(path = %path.display(), error = %e, "cannot take the lift request");
                return None;
            }
        }
        let report = self.lift_all().await;
        tracing::info!(lifted = ?report.lifted.iter().map(|k| k.id()).collect::<Vec<_>>(), errors = ?report.errors, "lifted by hand (flexus-traffic-monitor lift)");
        Some(report)
    }

    /// Reconciles after every poll, and when the live estimate changes level (`live`), until
    /// `cancel` fires.
    pub async fn run(
        self: Arc<Self>,
        mut polled: tokio::sync::watch::Receiver<u64>,
        mut live: Option<tokio::sync::watch::Receiver<u64>>,
        snapshot: SharedSnapshot,
        cancel: CancellationToken,
    ) {
        self.publish().await;
        let mut lift_check = tokio::time::interval(LIFT_CHECK_EVERY);
        lift_check.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = cancel.cancelled() => return,
                _ = lift_check.tick() => {
                    self.take_lift_request().await;
                    continue;
                }
                changed = polled.changed() => {
                    if changed.is_err() {
                        return;
                    }
                }
                Some(Ok(())) = async { match live.as_mut() { Some(l) => Some(l.changed().await), None => None } } => {}
            }
            let snap = snapshot.read().await.clone();
            self.after_poll(&snap, Utc::now()).await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::huawei::bss::PackageResults;
    use crate::reading::Reading;

    fn reading(id: &str, remaining: f64, at: DateTime<Utc>) -> Reading {
        Reading {
            free_resource_id: id.into(),
            package_name: String::new(),
            usage_type: String::new(),
            remaining_gb: remaining,
            total_gb: 1000.0,
            cycle_start: None,
            cycle_end: None,
            read_at: at,
        }
    }

    #[test]
    fn only_a_fresh_complete_poll_gives_a_level() {
        let now = Utc::now();
        let th = Thresholds::default();
        let ids = vec!["a".to_string(), "b".to_string()];
        let max = Duration::from_secs(3600);
        let mut snap = Snapshot::new(&ids);
        assert_eq!(
            level_of(&snap, &ids, &th, now, max),
            None,
            "before any poll"
        );
        let ok: PackageResults = vec![
            ("a".into(), Ok(reading("a", 250.0, now))),
            ("b".into(), Ok(reading("b", 150.0, now))),
        ];
        snap.apply(&Ok(ok), now);
        assert_eq!(
            level_of(&snap, &ids, &th, now, max),
            Some(Level::L1),
            "the worst package counts"
        );
        let partial: PackageResults = vec![
            ("a".into(), Ok(reading("a", 600.0, now))),
            (
                "b".into(),
                Err(crate::huawei::wire::ReadingError::MissingFromAnswer),
            ),
        ];
        snap.apply(&Ok(partial), now);
        assert_eq!(level_of(&snap, &ids, &th, now, max), None, "a partial poll");
        let later = now + chrono::Duration::hours(2);
        assert_eq!(level_of(&snap, &ids, &th, later, max), None, "stale");
    }
}
