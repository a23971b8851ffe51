//! Prometheus metrics: the registry, the event counters, and the rendering of `/metrics`.
//!
//! Per-package gauges are rebuilt from the [`Snapshot`] at each scrape, so a reading that was dropped
//! (too old) disappears from `/metrics` instead of lingering; scrapes never call BSS. Counters and the
//! request histogram are updated where the events happen. Names follow the design's metric table.

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Mutex;

use chrono::{DateTime, Utc};
use prometheus::{
    Encoder, Gauge, GaugeVec, Histogram, HistogramOpts, IntCounterVec, IntGauge, IntGaugeVec, Opts,
    Registry, TextEncoder,
};

use crate::config::Config;
use crate::snapshot::Snapshot;

const PACKAGE_LABELS: &[&str] = &["free_resource_id", "usage_type", "server"];

/// Every metric of the program.
pub struct Metrics {
    registry: Registry,
    render_lock: Mutex<()>,
    remaining_gb: GaugeVec,
    remaining_bytes: GaugeVec,
    total_gb: GaugeVec,
    cycle_start: GaugeVec,
    cycle_end: GaugeVec,
    reading_ts: GaugeVec,
    threshold_gb: GaugeVec,
    bss_up: IntGauge,
    bss_last_success: Gauge,
    /// Duration of one poll's BSS calls, retries included.
    pub bss_duration: Histogram,
    /// Polls by result (`success`, or the error kind).
    pub bss_requests: IntCounterVec,
    /// Alertmanager webhook deliveries by result.
    pub webhooks: IntCounterVec,
    /// Message parts by channel and result.
    pub notifications: IntCounterVec,
    /// Message parts waiting, by channel.
    pub notifications_pending: IntGaugeVec,
    /// Message parts refused for good (kept in `dead/`), by channel.
    pub notifications_dead: IntGaugeVec,
    /// Shutdown guard outcomes by result.
    pub shutdowns: IntCounterVec,
    /// `AUTO_START` outcomes by result.
    pub instance_starts: IntCounterVec,
    /// 1 while the built-in fallback evaluator is in charge.
    pub fallback_active: IntGauge,
    /// Unix time of the last scrape by Prometheus (0: never); tells the fallback it is alive.
    last_prometheus_scrape: AtomicI64,
    /// 1 while the last write to `STATE_DIR` succeeded, 0 after one failed.
    pub state_writable: IntGauge,
    /// 1 for each gentler action in force (`throttle`, `fence`, `command`), by level.
    actions_active: IntGaugeVec,
}

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
    /// Registers every metric.
    pub fn new() -> Self {
        let registry = Registry::new();
        let r = &registry;
        let bss_up = IntGauge::new(
            "flexus_bss_up",
            "1 when the last BSS poll read every package, else 0",
        )
        .expect("valid");
        registry.register(Box::new(bss_up.clone())).expect("unique");
        let bss_last_success = Gauge::new(
            "flexus_bss_last_success_timestamp_seconds",
            "Unix time of the last poll that read every package (0 before the first)",
        )
        .expect("valid");
        registry
            .register(Box::new(bss_last_success.clone()))
            .expect("unique");
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
            Opts::new("flexus_build_info", "Build information, always 1"),
            &["version"],
        )
        .expect("valid");
        registry
            .register(Box::new(build_info.clone()))
            .expect("unique");
        build_info
            .with_label_values(&[env!("CARGO_PKG_VERSION")])
            .set(1);

        let actions_active = IntGaugeVec::new(
            Opts::new(
                "flexus_actions_active",
                "1 while an action of a level (throttle, fence, command) is in force, else 0",
            ),
            &["action", "level"],
        )
        .expect("valid");
        registry
            .register(Box::new(actions_active.clone()))
            .expect("unique");

        Self {
            actions_active,
            remaining_gb: gauge_vec(r, "flexus_free_traffic_remaining_gb", "Remaining free traffic in this cycle, GB (1 GB = 1024 MB) as BSS reports it", PACKAGE_LABELS),
            remaining_bytes: gauge_vec(r, "flexus_free_traffic_remaining_bytes", "Remaining free traffic in this cycle, bytes (GB x 1024^3)", PACKAGE_LABELS),
            total_gb: gauge_vec(r, "flexus_free_traffic_total_gb", "Free traffic quota per cycle, GB", PACKAGE_LABELS),
            cycle_start: gauge_vec(r, "flexus_free_traffic_cycle_start_timestamp_seconds", "Unix time the current cycle began", PACKAGE_LABELS),
            cycle_end: gauge_vec(r, "flexus_free_traffic_cycle_end_timestamp_seconds", "Unix time the current cycle resets", PACKAGE_LABELS),
            reading_ts: gauge_vec(r, "flexus_free_traffic_reading_timestamp_seconds", "Unix time this package was last read successfully", PACKAGE_LABELS),
            threshold_gb: gauge_vec(r, "flexus_free_traffic_threshold_gb", "Configured thresholds, GB: level 1 shutdown, 2 high-frequency alert, 3 normal alert", &["level"]),
            bss_requests: counter_vec(r, "flexus_bss_requests_total", "BSS polls by result", &["success"]),
            webhooks: counter_vec(r, "flexus_webhooks_total", "Alertmanager webhook deliveries by result", &["ok"]),
            notifications: labelled(r, IntCounterVec::new(Opts::new("flexus_notifications_total", "Message parts by channel and result (sent; printed when only the console got it; retry, rate_limited, failed)"), &["channel", "result"])),
            notifications_pending: labelled(r, IntGaugeVec::new(Opts::new("flexus_notifications_pending", "Message parts waiting in the outbox, by channel"), &["channel"])),
            notifications_dead: labelled(r, IntGaugeVec::new(Opts::new("flexus_notifications_dead", "Message parts a channel refused for good (kept in dead/), by channel"), &["channel"])),
            instance_starts: counter_vec(r, "flexus_instance_starts_total", "Automatic starts after a cycle reset by result", &[]),
            shutdowns: counter_vec(r, "flexus_shutdowns_total", "Shutdown guard outcomes by result", &[]),
            bss_up,
            bss_last_success,
            bss_duration,
            fallback_active,
            last_prometheus_scrape: AtomicI64::new(0),
            state_writable,
            render_lock: Mutex::new(()),
            registry,
        }
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

    /// Renders the text format from the snapshot at `now`.
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
    }

    pub fn render(&self, snapshot: &Snapshot, config: &Config, now: DateTime<Utc>) -> String {
        let _guard = self.render_lock.lock().unwrap_or_else(|p| p.into_inner());
        for g in [
            &self.remaining_gb,
            &self.remaining_bytes,
            &self.total_gb,
            &self.cycle_start,
            &self.cycle_end,
            &self.reading_ts,
        ] {
            g.reset();
        }
        for r in snapshot.fresh(now, config.watch.reading_max_age) {
            let labels = [
                r.free_resource_id.as_str(),
                r.usage_type.as_str(),
                config.server_for(&r.free_resource_id),
            ];
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
        }
        let t = &config.alerting.thresholds;
        for (level, v) in [("1", t.t1), ("2", t.t2), ("3", t.t3)] {
            self.threshold_gb.with_label_values(&[level]).set(v);
        }
        self.bss_up.set(i64::from(snapshot.up));
        self.bss_last_success.set(
            snapshot
                .last_success_at
                .map_or(0.0, |t| t.timestamp() as f64),
        );
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
            Self::TooLarge => "too_large",
        }
    }
}

impl Metrics {
    /// Presents every shutdown series from the start.
    pub fn init_shutdowns(&self) {
        for r in ShutdownResult::ALL {
            self.shutdowns.with_label_values(&[r.label()]);
        }
    }

    /// Presents every start series from the start (`AUTO_START`).
    pub fn init_instance_starts(&self) {
        for r in StartResult::ALL {
            self.instance_starts.with_label_values(&[r.label()]);
        }
    }

    /// Counts a shutdown guard outcome.
    pub fn shutdown(&self, r: ShutdownResult) {
        self.shutdowns.with_label_values(&[r.label()]).inc();
    }

    /// How many shutdown guard outcomes of this kind were counted.
    pub fn shutdowns_of(&self, r: ShutdownResult) -> u64 {
        self.shutdowns.with_label_values(&[r.label()]).get()
    }

    /// Counts an automatic start's outcome.
    pub fn instance_start(&self, r: StartResult) {
        self.instance_starts.with_label_values(&[r.label()]).inc();
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
    }

    /// Counts a webhook delivery's outcome.
    pub fn webhook(&self, r: WebhookResult) {
        self.webhooks.with_label_values(&[r.label()]).inc();
    }

    /// Counts a poll: `success`, or the error's kind.
    pub fn bss_request(&self, result: &str) {
        self.bss_requests.with_label_values(&[result]).inc();
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}
