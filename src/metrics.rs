//! Prometheus metrics: the registry, the event counters, and the rendering of `/metrics`.
//!
//! Per-package gauges are rebuilt from the [`Snapshot`] at each scrape, so a reading that was dropped
//! (too old) disappears from `/metrics` instead of lingering; scrapes never call BSS. Counters and the
//! request histogram are updated where the events happen. Names follow the design's metric table.

use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::Mutex;

use axum::body::Bytes;

use chrono::{DateTime, Utc};
use prometheus::{
    Encoder, GaugeVec, Histogram, HistogramOpts, IntCounterVec, IntGauge, IntGaugeVec, Opts,
    Registry, TextEncoder,
};

use crate::config::Config;
use crate::snapshot::{SharedSnapshot, Snapshot};

/// A rendered `/metrics` body and what it was rendered from.
struct Cached {
    polls: u64,
    /// Live meter samples published (the estimate changes between polls).
    samples: u64,
    version: u64,
    /// When the first reading shown expires (then the body must drop it).
    valid_until: Option<DateTime<Utc>>,
    body: Bytes,
}

const PACKAGE_LABELS: &[&str] = &["free_resource_id", "usage_type", "server"];
/// With several accounts (`ACCOUNTS`), every package series and `flexus_bss_up` also carry the
/// account; with one account the series keep exactly the labels they always had, so existing
/// dashboards, rules and recorded series stay the same.
const PACKAGE_LABELS_ACCOUNT: &[&str] = &["free_resource_id", "usage_type", "server", "account"];

/// Every metric of the program.
pub struct Metrics {
    registry: Registry,
    render_lock: Mutex<()>,
    /// Bumped by every change made through the methods below (all changes are): a rendered
    /// body is reused until it, the snapshot's poll count, or the freshness of a reading changes.
    version: AtomicU64,
    cache: Mutex<Option<Cached>>,
    remaining_gb: GaugeVec,
    remaining_bytes: GaugeVec,
    total_gb: GaugeVec,
    cycle_start: GaugeVec,
    cycle_end: GaugeVec,
    reading_ts: GaugeVec,
    threshold_gb: GaugeVec,
    /// No labels with one account; `account` with several.
    bss_up: IntGaugeVec,
    bss_last_success: GaugeVec,
    /// Whether the package series carry the `account` label.
    several_accounts: bool,
    /// Duration of one poll's BSS calls, retries included.
    bss_duration: Histogram,
    /// Polls by result (`success`, or the error kind).
    bss_requests: IntCounterVec,
    /// Alertmanager webhook deliveries by result.
    webhooks: IntCounterVec,
    /// Message parts by channel and result.
    notifications: IntCounterVec,
    /// Message parts waiting, by channel.
    notifications_pending: IntGaugeVec,
    /// Message parts refused for good (kept in `dead/`), by channel.
    notifications_dead: IntGaugeVec,
    /// Shutdown guard outcomes by result.
    shutdowns: IntCounterVec,
    /// `AUTO_START` outcomes by result.
    instance_starts: IntCounterVec,
    /// Telegram commands by command and result (`ok`, `error`, `ignored`).
    telegram_commands: IntCounterVec,
    /// 1 while the built-in fallback evaluator is in charge.
    fallback_active: IntGauge,
    /// Unix time of the last scrape by Prometheus (0: never); tells the fallback it is alive.
    last_prometheus_scrape: AtomicI64,
    /// 1 while the last write to `STATE_DIR` succeeded, 0 after one failed.
    state_writable: IntGauge,
    /// 1 for each gentler action in force (`throttle`, `fence`, `command`), by level.
    actions_active: IntGaugeVec,
    /// Per source (`bss`, `ecs`, each channel): whether its last call succeeded.
    source_up: IntGaugeVec,
    /// Per source: Unix time of its last successful call.
    source_last_success: GaugeVec,
    /// Per source: how long its last call took.
    source_duration: GaugeVec,
    /// Calls by source, API and answer (`200`, `429`, `timeout`, `error`).
    source_requests: IntCounterVec,
    /// The live meter (see `egress`).
    estimate_gb: GaugeVec,
    bill_changed: GaugeVec,
    egress_bytes: IntCounterVec,
    ingress_bytes: IntCounterVec,
    /// What the byte counters above were last brought to (tx, rx) and for which interface.
    egress_shown: Mutex<(String, u64, u64)>,
    /// The three below have no labels; they are vectors so that they are absent without a meter.
    bill_lag: GaugeVec,
    bill_lag_learned: GaugeVec,
    egress_up: GaugeVec,
}

/// The self-metrics' source of the ECS client (stop, start, status).
pub const SOURCE_ECS: &str = "ecs";
/// The self-metrics' source of the BSS client (readings).
pub const SOURCE_BSS: &str = "bss";
/// The self-metrics' source of the Cloud Eye client (live egress of EIPs, `CLOUDEYE_EIPS`).
pub const SOURCE_CLOUDEYE: &str = "cloudeye";

fn gauge_vec(registry: &Registry, name: &str, help: &str, labels: &[&str]) -> GaugeVec {
    let g = GaugeVec::new(Opts::new(name, help), labels).expect("metric names are valid");
    registry
        .register(Box::new(g.clone()))
        .expect("metric names are unique");
    g
}

fn labelled<M: prometheus::core::Collector + Clone + 'static>(
    registry: &Registry,
    metric: prometheus::Result<M>,
) -> M {
    let m = metric.expect("metric names are valid");
    registry
        .register(Box::new(m.clone()))
        .expect("metric names are unique");
    m
}

fn counter_vec(registry: &Registry, name: &str, help: &str, initial: &[&str]) -> IntCounterVec {
    let c = IntCounterVec::new(Opts::new(name, help), &["result"]).expect("metric names are valid");
    registry
        .register(Box::new(c.clone()))
        .expect("metric names are unique");
    // Present every expected series from the start, so `rate()` and `increase()` see the first event.
    for r in initial {
        c.with_label_values(&[*r]);
    }
    c
}

impl Metrics {
    /// Registers every metric (one account).
    pub fn new() -> Self {
        Self::for_accounts(false)
    }

    /// Registers every metric; with `several_accounts` the package series and `flexus_bss_up`
    /// carry an `account` label.
    pub fn for_accounts(several_accounts: bool) -> Self {
        let registry = Registry::new();
        let r = &registry;
        let (account, package_labels): (&[&str], _) = if several_accounts {
            (&["account"], PACKAGE_LABELS_ACCOUNT)
        } else {
            (&[], PACKAGE_LABELS)
        };
        let bss_up = labelled(
            r,
            IntGaugeVec::new(
                Opts::new(
                    "flexus_bss_up",
                    "1 when the last BSS poll read every package, else 0",
                ),
                account,
            ),
        );
        let bss_last_success = gauge_vec(
            r,
            "flexus_bss_last_success_timestamp_seconds",
            "Unix time of the last poll that read every package (0 before the first)",
            account,
        );
        let bss_duration = Histogram::with_opts(
            HistogramOpts::new(
                "flexus_bss_request_duration_seconds",
                "Time taken by one poll's BSS calls, retries included",
            )
            .buckets(vec![0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0]),
        )
        .expect("valid");
        registry
            .register(Box::new(bss_duration.clone()))
            .expect("unique");
        let fallback_active = IntGauge::new(
            "flexus_fallback_active",
            "1 while the built-in fallback evaluator is in charge of alerting",
        )
        .expect("valid");
        registry
            .register(Box::new(fallback_active.clone()))
            .expect("unique");
        let state_writable = IntGauge::new(
            "flexus_state_writable",
            "1 while the last write to STATE_DIR succeeded, 0 after one failed (state, shutdown records and messages cannot be kept)",
        )
        .expect("valid");
        registry
            .register(Box::new(state_writable.clone()))
            .expect("unique");
        state_writable.set(1);
        let build_info = IntGaugeVec::new(
            Opts::new(
                "flexus_build_info",
                "Build information (version, git revision, rustc version, target triple), always 1",
            ),
            &["version", "revision", "rustc", "target"],
        )
        .expect("valid");
        registry
            .register(Box::new(build_info.clone()))
            .expect("unique");
        build_info
            .with_label_values(&[
                env!("CARGO_PKG_VERSION"),
                env!("FLEXUS_REVISION"),
                env!("FLEXUS_RUSTC_VERSION"),
                env!("FLEXUS_TARGET"),
            ])
            .set(1);

        let actions_active = IntGaugeVec::new(
            Opts::new(
                "flexus_actions_active",
                "1 while an action of a level (shutdown, throttle, fence, command) is in force, else 0",
            ),
            &["action", "level"],
        )
        .expect("valid");
        registry
            .register(Box::new(actions_active.clone()))
            .expect("unique");

        let bill_lag = gauge_vec(r, "flexus_bill_lag_seconds", "How late the bill is, in seconds: learned from the egress counter, or EGRESS_BILL_LAG until learned", &[]);
        let bill_lag_learned = gauge_vec(
            r,
            "flexus_bill_lag_learned",
            "1 once the bill's lag was learned from the data, 0 while the default is used",
            &[],
        );
        let egress_up = gauge_vec(r, "flexus_egress_up", "1 while this server's egress counter can be read, 0 when it cannot (decisions go by the bill alone)", &[]);

        let source = &["source"];
        Self {
            source_up: labelled(r, IntGaugeVec::new(Opts::new("flexus_source_up", "1 when the last call to this source (bss, ecs, cloudeye, or a notification channel) succeeded, else 0"), source)),
            source_last_success: gauge_vec(r, "flexus_source_last_success_timestamp_seconds", "Unix time of the last successful call to this source", source),
            source_duration: gauge_vec(r, "flexus_source_duration_seconds", "How long the last call to this source took, seconds", source),
            source_requests: labelled(r, IntCounterVec::new(Opts::new("flexus_source_requests_total", "Calls to a source by API and answer (HTTP status, timeout, error); every retry counts"), &["source", "api", "code"])),
            actions_active,
            estimate_gb: gauge_vec(r, "flexus_free_traffic_estimate_remaining_gb", "Remaining free traffic now, GB: the bill minus the egress it has not seen yet (egress in GB of 10^9 bytes); never above flexus_free_traffic_remaining_gb", package_labels),
            bill_changed: gauge_vec(r, "flexus_free_traffic_bill_change_timestamp_seconds", "Unix time the bill's remaining figure last changed (time() minus it is the age of the last bill change)", package_labels),
            egress_bytes: labelled(r, IntCounterVec::new(Opts::new("flexus_egress_bytes_total", "Bytes this server sent through the public interface, counted across restarts and reboots"), &["interface"])),
            ingress_bytes: labelled(r, IntCounterVec::new(Opts::new("flexus_ingress_bytes_total", "Bytes this server received through the public interface (not billed on Flexus L; for information)"), &["interface"])),
            egress_shown: Mutex::new((String::new(), 0, 0)),
            bill_lag,
            bill_lag_learned,
            egress_up,
            remaining_gb: gauge_vec(r, "flexus_free_traffic_remaining_gb", "Remaining free traffic in this cycle, GB (1 GB = 1024 MB) as BSS reports it", package_labels),
            remaining_bytes: gauge_vec(r, "flexus_free_traffic_remaining_bytes", "Remaining free traffic in this cycle, bytes (GB x 1024^3)", package_labels),
            total_gb: gauge_vec(r, "flexus_free_traffic_total_gb", "Free traffic quota per cycle, GB", package_labels),
            cycle_start: gauge_vec(r, "flexus_free_traffic_cycle_start_timestamp_seconds", "Unix time the current cycle began", package_labels),
            cycle_end: gauge_vec(r, "flexus_free_traffic_cycle_end_timestamp_seconds", "Unix time the current cycle resets", package_labels),
            reading_ts: gauge_vec(r, "flexus_free_traffic_reading_timestamp_seconds", "Unix time this package was last read successfully", package_labels),
            threshold_gb: gauge_vec(r, "flexus_free_traffic_threshold_gb", "Configured thresholds, GB: level 1 shutdown, 2 high-frequency alert, 3 normal alert", &["level"]),
            bss_requests: counter_vec(r, "flexus_bss_requests_total", "BSS polls by result", &["success"]),
            webhooks: counter_vec(r, "flexus_webhooks_total", "Alertmanager webhook deliveries by result", &["ok"]),
            notifications: labelled(r, IntCounterVec::new(Opts::new("flexus_notifications_total", "Message parts by channel and result (sent; printed when only the console got it; retry, rate_limited, failed)"), &["channel", "result"])),
            notifications_pending: labelled(r, IntGaugeVec::new(Opts::new("flexus_notifications_pending", "Message parts waiting in the outbox, by channel"), &["channel"])),
            notifications_dead: labelled(r, IntGaugeVec::new(Opts::new("flexus_notifications_dead", "Message parts a channel refused for good (kept in dead/), by channel"), &["channel"])),
            instance_starts: counter_vec(r, "flexus_instance_starts_total", "Automatic starts after a cycle reset by result", &[]),
            telegram_commands: labelled(r, IntCounterVec::new(Opts::new("flexus_telegram_commands_total", "Telegram commands by command and result (ok; error when the answer failed; ignored from another chat or user; stale when sent over 10 minutes before it was read)"), &["command", "result"])),
            shutdowns: counter_vec(r, "flexus_shutdowns_total", "Shutdown guard outcomes by result", &[]),
            bss_up,
            bss_last_success,
            several_accounts,
            bss_duration,
            fallback_active,
            last_prometheus_scrape: AtomicI64::new(0),
            state_writable,
            render_lock: Mutex::new(()),
            version: AtomicU64::new(0),
            cache: Mutex::new(None),
            registry,
        }
    }

    /// The `/metrics` body at `now`: rendered again only when the snapshot was polled, a metric
    /// changed, or a reading shown has expired since the last render; otherwise the same bytes.
    pub async fn render_cached(
        &self,
        snapshot: &SharedSnapshot,
        config: &Config,
        now: DateTime<Utc>,
    ) -> Bytes {
        let snap = snapshot.read().await;
        let version = self.version.load(Ordering::Acquire);
        {
            let cache = self.cache.lock().unwrap_or_else(|p| p.into_inner());
            if let Some(c) = cache.as_ref() {
                if c.polls == snap.polls
                    && c.samples == snap.live_samples
                    && c.version == version
                    && c.valid_until.is_none_or(|t| now < t)
                {
                    return c.body.clone();
                }
            }
        }
        let max_age = config.watch.reading_max_age;
        let valid_until = snap
            .fresh(now, max_age)
            .iter()
            .filter_map(|r| {
                chrono::Duration::from_std(max_age)
                    .ok()
                    .map(|a| r.read_at + a)
            })
            .min();
        let body = Bytes::from(self.render(&snap, config, now));
        *self.cache.lock().unwrap_or_else(|p| p.into_inner()) = Some(Cached {
            polls: snap.polls,
            samples: snap.live_samples,
            version,
            valid_until,
            body: body.clone(),
        });
        body
    }

    /// Notes a scrape when the caller is Prometheus (its `User-Agent` is `Prometheus/<version>`);
    /// a person's `curl` does not count.
    pub fn observe_scrape(&self, user_agent: Option<&str>, now: DateTime<Utc>) {
        if user_agent.is_some_and(|ua| ua.starts_with("Prometheus/")) {
            self.last_prometheus_scrape
                .store(now.timestamp(), Ordering::Relaxed);
        }
    }

    /// When Prometheus last scraped `/metrics`, if ever.
    pub fn last_prometheus_scrape(&self) -> Option<DateTime<Utc>> {
        match self.last_prometheus_scrape.load(Ordering::Relaxed) {
            0 => None,
            t => DateTime::from_timestamp(t, 0),
        }
    }

    /// Sets `flexus_actions_active`: every configured action is present, 1 when in force (an
    /// action recorded in force but no longer configured shows too, until it is lifted).
    pub fn set_actions_active(
        &self,
        configured: &[crate::actions::Key],
        active: &std::collections::BTreeMap<String, crate::actions::ActiveRecord>,
    ) {
        self.actions_active.reset();
        for k in configured {
            self.actions_active
                .with_label_values(&[k.action.label(), k.level.label()])
                .set(0);
        }
        for id in active.keys() {
            if let Some(k) = crate::actions::Key::parse(id) {
                self.actions_active
                    .with_label_values(&[k.action.label(), k.level.label()])
                    .set(1);
            }
        }
        self.changed();
    }

    /// Renders the text format from the snapshot at `now`.
    pub fn render(&self, snapshot: &Snapshot, config: &Config, now: DateTime<Utc>) -> String {
        let _guard = self.render_lock.lock().unwrap_or_else(|p| p.into_inner());
        for g in [
            &self.remaining_gb,
            &self.remaining_bytes,
            &self.total_gb,
            &self.cycle_start,
            &self.cycle_end,
            &self.reading_ts,
            &self.estimate_gb,
            &self.bill_changed,
            &self.bill_lag,
            &self.bill_lag_learned,
            &self.egress_up,
        ] {
            g.reset();
        }
        // `shutdown` is in force (the guard acts) while a fresh reading is below level 1 and level 1
        // shuts down; configured but not reached, it shows 0 like the other actions.
        if config.actions.shuts_down() {
            let below = snapshot
                .fresh(now, config.watch.reading_max_age)
                .iter()
                .any(|r| {
                    crate::level::Level::of(r.remaining_gb, &config.alerting.thresholds)
                        == crate::level::Level::L1
                });
            self.actions_active
                .with_label_values(&["shutdown", "1"])
                .set(i64::from(below && config.no_shutdown().is_none()));
        }
        for r in snapshot.fresh(now, config.watch.reading_max_age) {
            let mut labels = vec![
                r.free_resource_id.as_str(),
                r.usage_type.as_str(),
                config.server_for(&r.free_resource_id),
            ];
            if self.several_accounts {
                labels.push(config.account_name(&r.free_resource_id));
            }
            self.remaining_gb
                .with_label_values(&labels)
                .set(r.remaining_gb);
            self.remaining_bytes
                .with_label_values(&labels)
                .set(r.remaining_bytes());
            self.total_gb.with_label_values(&labels).set(r.total_gb);
            self.reading_ts
                .with_label_values(&labels)
                .set(r.read_at.timestamp() as f64);
            if let Some(t) = r.cycle_start {
                self.cycle_start
                    .with_label_values(&labels)
                    .set(t.timestamp() as f64);
            }
            if let Some(t) = r.cycle_end {
                self.cycle_end
                    .with_label_values(&labels)
                    .set(t.timestamp() as f64);
            }
            if let Some(e) = snapshot.estimate(&r.free_resource_id) {
                self.estimate_gb
                    .with_label_values(&labels)
                    .set(e.remaining_gb.min(r.remaining_gb));
            }
            if let Some(l) = snapshot
                .live
                .as_ref()
                .filter(|l| l.package == r.free_resource_id)
            {
                if let Some(t) = l.bill_changed_at {
                    self.bill_changed
                        .with_label_values(&labels)
                        .set(t.timestamp() as f64);
                }
            }
        }
        if let Some(l) = &snapshot.live {
            self.bill_lag
                .with_label_values(&[] as &[&str])
                .set(l.lag.value.as_secs_f64());
            self.bill_lag_learned
                .with_label_values(&[] as &[&str])
                .set(f64::from(u8::from(l.lag.learned)));
            self.egress_up
                .with_label_values(&[] as &[&str])
                .set(f64::from(u8::from(l.problem.is_none())));
            if let Some(i) = &l.interface {
                let mut shown = self.egress_shown.lock().unwrap_or_else(|p| p.into_inner());
                if shown.0 != *i {
                    // Another interface: its counter starts from what the meter holds now.
                    *shown = (i.clone(), 0, 0);
                }
                self.egress_bytes
                    .with_label_values(&[i])
                    .inc_by(l.tx_bytes.saturating_sub(shown.1));
                self.ingress_bytes
                    .with_label_values(&[i])
                    .inc_by(l.rx_bytes.saturating_sub(shown.2));
                shown.1 = shown.1.max(l.tx_bytes);
                shown.2 = shown.2.max(l.rx_bytes);
            }
        }
        let t = &config.alerting.thresholds;
        for (level, v) in [("1", t.t1), ("2", t.t2), ("3", t.t3)] {
            self.threshold_gb.with_label_values(&[level]).set(v);
        }
        let success = |t: Option<DateTime<Utc>>| t.map_or(0.0, |t| t.timestamp() as f64);
        if self.several_accounts {
            for a in &snapshot.accounts {
                self.bss_up
                    .with_label_values(&[a.name.as_str()])
                    .set(i64::from(a.up));
                self.bss_last_success
                    .with_label_values(&[a.name.as_str()])
                    .set(success(a.last_success_at));
            }
        } else {
            self.bss_up
                .with_label_values(&[] as &[&str])
                .set(i64::from(snapshot.up));
            self.bss_last_success
                .with_label_values(&[] as &[&str])
                .set(success(snapshot.last_success_at));
        }
        let mut buf = Vec::new();
        TextEncoder::new()
            .encode(&self.registry.gather(), &mut buf)
            .expect("encoding metrics into memory cannot fail");
        String::from_utf8(buf).expect("the text format is UTF-8")
    }
}

/// `flexus_shutdowns_total{result}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ShutdownResult {
    Executed,
    DryRun,
    Failed,
    Cancelled,
}

impl ShutdownResult {
    pub const ALL: [Self; 4] = [Self::Executed, Self::DryRun, Self::Failed, Self::Cancelled];

    pub fn label(self) -> &'static str {
        match self {
            Self::Executed => "executed",
            Self::DryRun => "dry_run",
            Self::Failed => "failed",
            Self::Cancelled => "cancelled",
        }
    }
}

/// `flexus_instance_starts_total{result}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StartResult {
    Started,
    Failed,
    AlreadyRunning,
}

impl StartResult {
    pub const ALL: [Self; 3] = [Self::Started, Self::Failed, Self::AlreadyRunning];

    pub fn label(self) -> &'static str {
        match self {
            Self::Started => "started",
            Self::Failed => "failed",
            Self::AlreadyRunning => "already_running",
        }
    }
}

/// The `channel` label of messages printed on standard error when no channel is configured (the
/// console client's name in `channels`).
pub const CONSOLE_CHANNEL: &str = "console";

/// `flexus_notifications_total{result}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NotificationResult {
    Sent,
    /// Printed on standard error because no channel is configured: nobody was notified.
    Printed,
    Retry,
    RateLimited,
    Failed,
}

impl NotificationResult {
    pub fn label(self) -> &'static str {
        match self {
            Self::Sent => "sent",
            Self::Printed => "printed",
            Self::Retry => "retry",
            Self::RateLimited => "rate_limited",
            Self::Failed => "failed",
        }
    }
}

/// `flexus_webhooks_total{result}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WebhookResult {
    Ok,
    /// A cross-site request (a browser page posting to the receiver).
    Forbidden,
    BadRequest,
    Unauthorized,
    Unavailable,
    /// Refused for now under load (503, the state stayed locked too long).
    Busy,
    /// A body over the limit (413).
    TooLarge,
}

impl WebhookResult {
    pub fn label(self) -> &'static str {
        match self {
            Self::Ok => "ok",
            Self::Forbidden => "forbidden",
            Self::BadRequest => "bad_request",
            Self::Unauthorized => "unauthorized",
            Self::Unavailable => "unavailable",
            Self::Busy => "busy",
            Self::TooLarge => "too_large",
        }
    }
}

impl Metrics {
    fn changed(&self) {
        self.version.fetch_add(1, Ordering::Release);
    }

    /// Records how long one poll's BSS calls took.
    pub fn observe_bss_duration(&self, seconds: f64) {
        self.bss_duration.observe(seconds);
        self.changed();
    }

    /// Whether the fallback evaluator is in charge.
    pub fn set_fallback_active(&self, active: bool) {
        if self.fallback_active.get() != i64::from(active) {
            self.fallback_active.set(i64::from(active));
            self.changed();
        }
    }

    /// Whether the last write to `STATE_DIR` succeeded.
    pub fn set_state_writable(&self, writable: bool) {
        if self.state_writable.get() != i64::from(writable) {
            self.state_writable.set(i64::from(writable));
            self.changed();
        }
    }

    /// Presents every shutdown series from the start.
    pub fn init_shutdowns(&self) {
        for r in ShutdownResult::ALL {
            self.shutdowns.with_label_values(&[r.label()]);
        }
        self.changed();
    }

    /// Presents every start series from the start (`AUTO_START`).
    pub fn init_instance_starts(&self) {
        for r in StartResult::ALL {
            self.instance_starts.with_label_values(&[r.label()]);
        }
        self.changed();
    }

    /// Counts a shutdown guard outcome.
    pub fn shutdown(&self, r: ShutdownResult) {
        self.shutdowns.with_label_values(&[r.label()]).inc();
        self.changed();
    }

    /// How many shutdown guard outcomes of this kind were counted.
    pub fn shutdowns_of(&self, r: ShutdownResult) -> u64 {
        self.shutdowns.with_label_values(&[r.label()]).get()
    }

    /// Counts a Telegram command (`status`, `cancel`, ...) by `result`.
    pub fn telegram_command(&self, command: &str, result: &str) {
        self.telegram_commands
            .with_label_values(&[command, result])
            .inc();
        self.changed();
    }

    /// Counts an automatic start's outcome.
    pub fn instance_start(&self, r: StartResult) {
        self.instance_starts.with_label_values(&[r.label()]).inc();
        self.changed();
    }

    /// Presents a channel's main series from the start.
    pub fn init_notifications(&self, channel: &str) {
        let done = if channel == CONSOLE_CHANNEL {
            NotificationResult::Printed
        } else {
            NotificationResult::Sent
        };
        for r in [done, NotificationResult::Failed] {
            self.notifications.with_label_values(&[channel, r.label()]);
        }
        self.changed();
    }

    /// Counts a delivery attempt's outcome on `channel`. A message that was only printed on the
    /// console (no channel configured) counts as `printed`, never as `sent`.
    pub fn notification(&self, channel: &str, r: NotificationResult) {
        let r = match r {
            NotificationResult::Sent if channel == CONSOLE_CHANNEL => NotificationResult::Printed,
            other => other,
        };
        self.notifications
            .with_label_values(&[channel, r.label()])
            .inc();
        self.changed();
    }

    /// Sets how many message parts wait, and how many were refused for good, on `channel`.
    pub fn set_notification_queue(&self, channel: &str, pending: usize, dead: usize) {
        let n = |x: usize| i64::try_from(x).unwrap_or(i64::MAX);
        self.notifications_pending
            .with_label_values(&[channel])
            .set(n(pending));
        self.notifications_dead
            .with_label_values(&[channel])
            .set(n(dead));
        self.changed();
    }

    /// Counts a webhook delivery's outcome.
    pub fn webhook(&self, r: WebhookResult) {
        self.webhooks.with_label_values(&[r.label()]).inc();
        self.changed();
    }

    /// Records one call to `source` (node_exporter's `node_scrape_collector_*` in spirit).
    pub fn source_call(&self, source: &str, api: &str, code: &str, seconds: f64, ok: bool) {
        self.source_requests
            .with_label_values(&[source, api, code])
            .inc();
        self.source_up
            .with_label_values(&[source])
            .set(i64::from(ok));
        self.source_duration
            .with_label_values(&[source])
            .set(seconds);
        if ok {
            self.source_last_success
                .with_label_values(&[source])
                .set(Utc::now().timestamp_millis() as f64 / 1000.0);
        }
        self.changed();
    }

    /// An observer for a Huawei Cloud client that records its calls as `source`.
    pub fn observer(
        self: &std::sync::Arc<Self>,
        source: &'static str,
    ) -> crate::huawei::transport::CallObserver {
        let m = self.clone();
        std::sync::Arc::new(move |c: &crate::huawei::transport::CallRecord<'_>| {
            m.source_call(source, c.api, &c.code, c.seconds, c.ok);
        })
    }

    /// Counts a poll: `success`, or the error's kind.
    pub fn bss_request(&self, result: &str) {
        self.bss_requests.with_label_values(&[result]).inc();
        self.changed();
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::config::RawConfig;
    use crate::reading::Reading;

    fn reading(id: &str, gb: f64, at: DateTime<Utc>) -> Reading {
        Reading {
            free_resource_id: id.into(),
            package_name: "p".into(),
            usage_type: "u".into(),
            remaining_gb: gb,
            total_gb: 100.0,
            cycle_start: None,
            cycle_end: None,
            read_at: at,
        }
    }

    #[tokio::test]
    async fn the_body_is_rendered_again_only_when_something_changed() {
        let mut raw = RawConfig::default();
        raw.set("FREE_RESOURCE_IDS", "a");
        let config = Config::from_raw(&raw).unwrap();
        let metrics = Metrics::new();
        let now = Utc::now();
        let snapshot: SharedSnapshot =
            Arc::new(tokio::sync::RwLock::new(Snapshot::new(&["a".to_string()])));
        snapshot
            .write()
            .await
            .apply(&Ok(vec![("a".into(), Ok(reading("a", 42.0, now)))]), now);
        let first = metrics.render_cached(&snapshot, &config, now).await;
        let same = metrics.render_cached(&snapshot, &config, now).await;
        assert_eq!(first.as_ptr(), same.as_ptr(), "served from the cache");
        assert!(String::from_utf8_lossy(&first).contains("flexus_free_traffic_remaining_gb{"));

        // A counter changes: the next scrape shows it.
        metrics.webhook(WebhookResult::Unauthorized);
        let counted = metrics.render_cached(&snapshot, &config, now).await;
        assert!(String::from_utf8_lossy(&counted)
            .contains("flexus_webhooks_total{result=\"unauthorized\"} 1"));

        // A poll changes the readings.
        snapshot
            .write()
            .await
            .apply(&Ok(vec![("a".into(), Ok(reading("a", 41.0, now)))]), now);
        let polled = metrics.render_cached(&snapshot, &config, now).await;
        assert!(
            String::from_utf8_lossy(&polled).contains("} 41\n"),
            "{polled:?}"
        );

        // A reading that expires disappears without a poll.
        let later = now
            + chrono::Duration::from_std(config.watch.reading_max_age).unwrap()
            + chrono::Duration::seconds(1);
        let expired = metrics.render_cached(&snapshot, &config, later).await;
        assert!(!String::from_utf8_lossy(&expired).contains("flexus_free_traffic_remaining_gb{"));
    }
}
