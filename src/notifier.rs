//! The notifier: renders each message for every configured channel, queues it in that channel's
//! durable outbox, and delivers every outbox on its own (one channel down never delays or drops
//! another's). With no channel configured, messages go to the console (as in `demo`).
//!
//! Delivery rules, per channel: a part is removed only once accepted (and recorded as sent before
//! its file is removed); urgent parts (level 1, the shutdown countdown and its outcome) go before
//! reports and repeats, and a pass busy with a backlog turns to a newly queued urgent part after the
//! part in flight; parts are spaced by the channel's pace; a rate limit waits as told; network and
//! server errors back off exponentially (1 s doubling to 5 min); a markup the service cannot parse
//! is resent as plain text; a wrong key, secret or chat keeps everything queued and retries slowly;
//! a part refused for good goes to `dead/`.
//!
//! Waiting for delivery is bounded in total: [`Notifier::flush`] and [`Notifier::flush_urgent`]
//! return at their deadline whatever the channels do (a part in flight finishes in the background).

use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use serde_json::json;
use tokio::sync::{Mutex, Notify};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use crate::actions::Action;
use crate::channels::render::{self, Format};
use crate::channels::{Client, Failure, Meta, Part};
use crate::level::{Level, Thresholds};
use crate::messages::{render_for, Facts, Lang, Message};
use crate::metrics::{Metrics, NotificationResult};
use crate::outbox::{Outbox, Queued};

/// Where messages go (kept under its old name for callers that pick the console).
pub use crate::channels::Client as Sink;

/// The outcome of one delivery pass (or flush), over every channel.
#[derive(Debug, Clone, PartialEq)]
pub struct Pass {
    pub delivered: usize,
    pub remaining: usize,
    /// How long to wait before the next pass when messages remain.
    pub wait: Option<Duration>,
}

const MAX_BACKOFF: Duration = Duration::from_secs(300);
/// Longest title any channel shows.
const TITLE_CHARS: usize = 64;

fn backoff(attempts: u32) -> Duration {
    Duration::from_secs(1u64 << attempts.saturating_sub(1).min(9)).min(MAX_BACKOFF)
}

/// Whether a message goes before reports and repeats.
pub fn is_urgent(m: &Message) -> bool {
    matches!(
        m,
        Message::Alert {
            level: Level::L1,
            ..
        } | Message::ShutdownCountdown { .. }
            | Message::ShutdownWarning { .. }
            | Message::ShutdownCancelled { .. }
            | Message::ShutdownResumed { .. }
            | Message::ShuttingDown { .. }
            | Message::ShutdownDone { .. }
            | Message::ShutdownFailed { .. }
            | Message::ReadingNotUsed { .. }
    )
}

fn level_name(l: Level) -> &'static str {
    match l {
        Level::Ok => "ok",
        Level::L3 => "level3",
        Level::L2 => "level2",
        Level::L1 => "level1",
    }
}

/// The structured fields of a message (the generic webhook's body).
pub fn meta(m: &Message) -> Meta {
    let kind = serde_json::to_value(m)
        .ok()
        .and_then(|v| match v {
            serde_json::Value::Object(o) => o.keys().next().cloned(),
            serde_json::Value::String(s) => Some(s),
            _ => None,
        })
        .unwrap_or_default();
    let kind = snake(&kind);
    let with_facts = |level: Option<Level>, f: &Facts| Meta {
        kind: kind.clone(),
        level: level.map(|l| level_name(l).to_string()),
        server: f.server.clone(),
        package: Some(json!({
            "free_resource_id": f.free_resource_id,
            "name": f.package_name,
            "usage_type": f.usage_type,
        })),
        figures: Some(json!({
            "total_gb": f.total_gb,
            "used_gb": f.used_gb,
            "remaining_gb": f.remaining_gb,
        })),
        cycle: Some(json!({"start": f.cycle_start, "end": f.cycle_end})),
    };
    let server_only = |level: Option<Level>, server: &str| Meta {
        kind: kind.clone(),
        level: level.map(|l| level_name(l).to_string()),
        server: server.to_string(),
        ..Meta::default()
    };
    match m {
        Message::Alert { level, facts, .. } => with_facts(Some(*level), facts),
        Message::Recovery { to, facts, .. } => with_facts(Some(*to), facts),
        Message::Report { facts } => with_facts(None, facts),
        Message::CycleReport { report: r } => Meta {
            // Which report: `report_before_reset`, `report_after_reset`, `report_daily`.
            kind: format!("report_{}", r.kind.label()),
            server: r.server.clone(),
            package: Some(json!({
                "free_resource_id": r.free_resource_id,
                "name": r.package_name,
            })),
            figures: r.figures.as_ref().map(|f| {
                json!({
                    "total_gb": f.total_gb,
                    "used_gb": f.used_gb,
                    "remaining_gb": f.remaining_gb,
                })
            }),
            cycle: r
                .figures
                .as_ref()
                .map(|f| json!({"start": f.cycle_start, "end": f.cycle_end})),
            ..Meta::default()
        },
        Message::ShutdownCountdown { facts, .. } => with_facts(Some(Level::L1), facts),
        Message::ShutdownWarning { server, .. }
        | Message::ShuttingDown { server, .. }
        | Message::ShutdownDone { server, .. }
        | Message::ShutdownFailed { server, .. } => server_only(Some(Level::L1), server),
        Message::ShutdownCancelled {
            server,
            free_resource_id,
            ..
        }
        | Message::ShutdownResumed {
            server,
            free_resource_id,
            ..
        }
        | Message::ReadingNotUsed {
            server,
            free_resource_id,
            ..
        }
        | Message::ReadingUsable {
            server,
            free_resource_id,
            ..
        } => Meta {
            package: Some(json!({ "free_resource_id": free_resource_id })),
            ..server_only(None, server)
        },
        Message::MonitoringFailing { server, .. }
        | Message::MonitoringRecovered { server }
        | Message::EgressCounterLost { server, .. }
        | Message::ExternalAlert { server, .. }
        | Message::StateReset { server, .. }
        | Message::InstanceStarted { server, .. }
        | Message::InstanceStartFailed { server, .. }
        | Message::Test { server }
        | Message::MoreAlerts { server, .. }
        | Message::ActionsLiftedByHand { server, .. } => server_only(None, server),
        Message::ActionApplied { server, level, .. }
        | Message::ActionLifted { server, level, .. }
        | Message::ActionFailed { server, level, .. } => server_only(Some(*level), server),
    }
}

fn snake(camel: &str) -> String {
    let mut out = String::new();
    for (i, c) in camel.chars().enumerate() {
        if c.is_ascii_uppercase() {
            if i > 0 {
                out.push('_');
            }
            out.push(c.to_ascii_lowercase());
        } else {
            out.push(c);
        }
    }
    out
}

/// The parts of a rendered message for one channel.
pub fn parts_for(client: &Client, html: &str, meta: &Meta, urgent: bool) -> Vec<Queued> {
    let now = Utc::now();
    let title = render::title(html, TITLE_CHARS);
    let texts = if client.format() == Format::TelegramHtml {
        // The same split as before channels existed: on line boundaries, at most 4096 characters.
        crate::messages::split(html, client.limit().max)
    } else {
        render::parts(html, client.format(), client.limit())
    };
    let count = u32::try_from(texts.len()).unwrap_or(u32::MAX);
    texts
        .into_iter()
        .enumerate()
        .map(|(i, text)| Queued {
            meta: Some(meta.clone()),
            index: u32::try_from(i + 1).unwrap_or(u32::MAX),
            count,
            ..Queued::new(text, title.clone(), urgent, now)
        })
        .collect()
}

struct LaneState {
    /// The earliest time the next attempt may be made (after a rate limit or an error).
    not_before: Option<Instant>,
    /// When the last part was accepted (pacing).
    last_sent: Option<Instant>,
}

/// One channel: its client, its outbox and its delivery state.
pub struct Lane {
    client: Client,
    outbox: Outbox,
    metrics: Arc<Metrics>,
    /// One delivery pass at a time, so no part is sent twice.
    state: Mutex<LaneState>,
    /// Set when an urgent part is queued: a pass busy with normal parts starts over.
    urgent_queued: AtomicBool,
    delivered: AtomicUsize,
    wake: Notify,
}

impl Lane {
    /// Sends one part, recording the call in the channel's source self-metrics (the console is
    /// not a source).
    async fn send(&self, part: &Part<'_>) -> Result<(), Failure> {
        let started = Instant::now();
        let answer = self.client.send_raw(part).await;
        let code = match &answer {
            Ok(a) => a.status.to_string(),
            Err(_) => "error".to_string(),
        };
        let result = answer.and_then(|a| self.client.classify(&a));
        if self.name() != crate::metrics::CONSOLE_CHANNEL {
            self.metrics.source_call(
                self.name(),
                "send",
                &code,
                started.elapsed().as_secs_f64(),
                result.is_ok(),
            );
        }
        result
    }

    fn count(&self, result: NotificationResult) {
        self.metrics.notification(self.client.name(), result);
    }

    /// Updates the pending and dead gauges of this channel.
    fn refresh_gauges(&self) {
        self.metrics.set_notification_queue(
            self.name(),
            self.outbox.len(),
            self.outbox.dead_count(),
        );
    }

    /// The channel's name.
    pub fn name(&self) -> &'static str {
        self.client.name()
    }

    /// Parts waiting.
    pub fn pending(&self) -> usize {
        self.outbox.len()
    }

    /// Parts refused for good.
    pub fn dead(&self) -> usize {
        self.outbox.dead_count()
    }

    /// The part this channel tries next (read only).
    pub fn oldest(&self) -> Option<Queued> {
        self.outbox.oldest()
    }

    /// One pass: delivers queued parts in order until one must wait, `until` passes, or (with
    /// `urgent_only`) no urgent part is left.
    async fn pass(&self, until: Option<Instant>, urgent_only: bool) -> Pass {
        let pass = self.pass_inner(until, urgent_only).await;
        self.refresh_gauges();
        pass
    }

    async fn pass_inner(&self, until: Option<Instant>, urgent_only: bool) -> Pass {
        let mut st = match until {
            Some(u) => match tokio::time::timeout_at(u, self.state.lock()).await {
                Ok(g) => g,
                Err(_) => {
                    return Pass {
                        delivered: 0,
                        remaining: self.outbox.count(urgent_only),
                        wait: Some(Duration::ZERO),
                    }
                }
            },
            None => self.state.lock().await,
        };
        let mut delivered = 0;
        let remaining = |_delivered: usize| self.outbox.count(urgent_only);
        'relist: loop {
            let now = Instant::now();
            if let Some(t) = st.not_before {
                if t > now {
                    let left = remaining(delivered);
                    return Pass {
                        delivered,
                        remaining: left,
                        wait: (left > 0).then(|| t - now),
                    };
                }
            }
            self.urgent_queued.store(false, Ordering::SeqCst);
            let pending = match self.outbox.pending() {
                Ok(p) => p,
                Err(e) => {
                    tracing::error!(channel = self.name(), error = %e, "cannot read the outbox");
                    let wait = Duration::from_secs(30);
                    st.not_before = Some(now + wait);
                    return Pass {
                        delivered,
                        remaining: 0,
                        wait: Some(wait),
                    };
                }
            };
            for (path, mut q) in pending {
                if urgent_only && !q.urgent {
                    break;
                }
                if !q.urgent && self.urgent_queued.load(Ordering::SeqCst) {
                    continue 'relist;
                }
                if until.is_some_and(|u| Instant::now() >= u) {
                    return Pass {
                        delivered,
                        remaining: remaining(delivered),
                        wait: Some(Duration::ZERO),
                    };
                }
                if let Some(next) = st.last_sent.map(|t| t + self.client.pace()) {
                    let now = Instant::now();
                    if next > now {
                        if until.is_some_and(|u| next > u) {
                            return Pass {
                                delivered,
                                remaining: remaining(delivered),
                                wait: Some(next - now),
                            };
                        }
                        tokio::time::sleep_until(next).await;
                    }
                }
                let id = path
                    .file_stem()
                    .and_then(|n| n.to_str())
                    .unwrap_or_default()
                    .to_string();
                fn part<'a>(id: &'a str, q: &'a Queued) -> Part<'a> {
                    Part {
                        id,
                        title: &q.title,
                        text: &q.text,
                        markup: !q.plain,
                        meta: q.meta.as_ref(),
                        index: q.index,
                        count: q.count,
                        queued_at: q.created_at,
                    }
                }
                let mut result = self.send(&part(&id, &q)).await;
                if let Err(Failure::Reformat(d)) = &result {
                    // Escaping should prevent this; if the service still cannot parse, the same
                    // words as plain text are better than no message.
                    tracing::warn!(channel = self.name(), error = %d, "the service could not parse the message; resending as plain text");
                    q.plain = true;
                    q.text = render::plain(&q.text);
                    let _ = self.outbox.update(&path, &q);
                    result = self.send(&part(&id, &q)).await;
                }
                match result {
                    Ok(()) => {
                        if let Err(e) = self.outbox.mark_sent(&path) {
                            tracing::error!(channel = self.name(), error = %e, "sent, but cannot record it in the outbox");
                        }
                        st.last_sent = Some(Instant::now());
                        self.count(NotificationResult::Sent);
                        self.delivered.fetch_add(1, Ordering::Relaxed);
                        delivered += 1;
                    }
                    Err(Failure::Wait(d, why)) => {
                        self.count(NotificationResult::RateLimited);
                        tracing::warn!(channel = self.name(), wait_s = d.as_secs(), error = %why, "rate limited; waiting as told");
                        st.not_before = Some(Instant::now() + d);
                        return Pass {
                            delivered,
                            remaining: remaining(delivered),
                            wait: Some(d),
                        };
                    }
                    Err(Failure::Refused(e) | Failure::Reformat(e)) => {
                        self.count(NotificationResult::Failed);
                        tracing::error!(channel = self.name(), error = %e, "the service refused the message for good; kept in dead/");
                        let _ = self.outbox.dead_letter(&path);
                    }
                    Err(e @ (Failure::Transient(_) | Failure::Fix(_))) => {
                        q.attempts += 1;
                        q.last_error = Some(e.to_string());
                        let _ = self.outbox.update(&path, &q);
                        self.count(NotificationResult::Retry);
                        let wait = if matches!(e, Failure::Fix(_)) {
                            MAX_BACKOFF
                        } else {
                            backoff(q.attempts)
                        };
                        tracing::warn!(channel = self.name(), error = %e, attempts = q.attempts, wait_s = wait.as_secs(), "delivery failed; will retry");
                        st.not_before = Some(Instant::now() + wait);
                        return Pass {
                            delivered,
                            remaining: remaining(delivered),
                            wait: Some(wait),
                        };
                    }
                }
            }
            return Pass {
                delivered,
                remaining: if urgent_only { 0 } else { remaining(delivered) },
                wait: None,
            };
        }
    }

    /// Delivers until nothing (urgent) is left or `until` passes.
    async fn flush(self: Arc<Self>, until: Instant, urgent_only: bool) {
        loop {
            let pass = self.pass(Some(until), urgent_only).await;
            let Some(wait) = pass.wait else { return };
            if pass.remaining == 0 || Instant::now() + wait >= until {
                return;
            }
            tokio::time::sleep(wait).await;
        }
    }

    async fn run(self: Arc<Self>, cancel: CancellationToken) {
        loop {
            let pass = self.pass(None, false).await;
            let wait = pass.wait.unwrap_or(Duration::from_secs(60));
            tokio::select! {
                _ = cancel.cancelled() => return,
                _ = self.wake.notified(), if pass.wait.is_none() => {}
                _ = tokio::time::sleep(wait) => {}
            }
        }
    }
}

/// The outboxes as readers (the status page) see them.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize)]
pub struct OutboxView {
    pub pending: usize,
    pub dead: usize,
    /// When the oldest waiting part was queued.
    pub oldest: Option<chrono::DateTime<Utc>>,
    /// Why the oldest waiting part was not delivered yet.
    pub last_error: Option<String>,
    /// The channel of the oldest waiting part.
    pub stalled_channel: Option<&'static str>,
    /// The channels that refused parts for good.
    pub dead_channels: Vec<&'static str>,
}

/// Queues and delivers messages on every channel.
pub struct Notifier {
    lanes: Vec<Arc<Lane>>,
    lang: Lang,
    thresholds: Thresholds,
    /// What level 1 does, which names it in messages.
    level1: Vec<Action>,
}

impl Notifier {
    /// One lane per client; each channel's outbox is `outbox_dir/<channel>/`, except Telegram's
    /// (and the console's) which is `outbox_dir` itself, as it was before channels existed.
    ///
    /// # Errors
    /// When an outbox directory cannot be created.
    pub fn new(
        outbox_dir: &Path,
        clients: Vec<Client>,
        metrics: Arc<Metrics>,
        lang: Lang,
        thresholds: Thresholds,
    ) -> std::io::Result<Self> {
        let mut lanes = Vec::new();
        for client in clients {
            let dir = match client {
                Client::Telegram(_) | Client::Console { .. } => outbox_dir.to_path_buf(),
                _ => outbox_dir.join(client.name()),
            };
            metrics.init_notifications(client.name());
            let lane = Arc::new(Lane {
                outbox: Outbox::open(&dir)?,
                client,
                metrics: metrics.clone(),
                state: Mutex::new(LaneState {
                    not_before: None,
                    last_sent: None,
                }),
                urgent_queued: AtomicBool::new(false),
                delivered: AtomicUsize::new(0),
                wake: Notify::new(),
            });
            lane.refresh_gauges();
            lanes.push(lane);
        }
        Ok(Self {
            lanes,
            lang,
            thresholds,
            level1: vec![Action::Shutdown],
        })
    }

    /// Names level 1 in messages by what it does under the settings
    /// (`Config::level1_does`); by default it shuts down.
    #[must_use]
    pub fn with_level1(mut self, level1: Vec<Action>) -> Self {
        self.level1 = level1;
        self
    }

    /// The channels.
    pub fn lanes(&self) -> &[Arc<Lane>] {
        &self.lanes
    }

    /// The rendered text of a message (Telegram HTML).
    pub fn render(&self, m: &Message) -> String {
        render_for(m, self.lang, &self.thresholds, &self.level1)
    }

    /// Queues a message durably on every channel and wakes their delivery.
    ///
    /// # Errors
    /// When no channel's outbox could be written (the caller must not consider the message
    /// recorded). A channel whose outbox fails while another's works is logged.
    pub fn enqueue(&self, m: &Message) -> std::io::Result<()> {
        let html = self.render(m);
        let urgent = is_urgent(m);
        let meta = meta(m);
        let mut first_error = None;
        let mut recorded = false;
        for lane in &self.lanes {
            let parts = parts_for(&lane.client, &html, &meta, urgent);
            match lane.outbox.enqueue_parts(&parts, Utc::now()) {
                Ok(()) => {
                    recorded = true;
                    lane.refresh_gauges();
                    if urgent {
                        lane.urgent_queued.store(true, Ordering::SeqCst);
                    }
                    lane.wake.notify_one();
                }
                Err(e) => {
                    tracing::error!(channel = lane.name(), error = %e, "cannot queue a message in this channel's outbox");
                    first_error.get_or_insert(e);
                }
            }
        }
        match (recorded, first_error) {
            (false, Some(e)) => Err(e),
            _ => Ok(()),
        }
    }

    /// Parts waiting, over every channel.
    pub fn pending(&self) -> usize {
        self.lanes.iter().map(|l| l.pending()).sum()
    }

    /// Parts refused for good, over every channel.
    pub fn dead(&self) -> usize {
        self.lanes.iter().map(|l| l.dead()).sum()
    }

    /// The outboxes for the status page: counts over every channel, and the oldest waiting part
    /// with why it waits (named by its channel).
    pub fn outbox_view(&self) -> OutboxView {
        let oldest = self
            .lanes
            .iter()
            .filter_map(|l| l.oldest().map(|q| (l.name(), q)))
            .min_by_key(|(_, q)| q.created_at);
        OutboxView {
            pending: self.pending(),
            dead: self.dead(),
            oldest: oldest.as_ref().map(|(_, q)| q.created_at),
            stalled_channel: oldest.as_ref().map(|(name, _)| *name),
            last_error: oldest.and_then(|(name, q)| q.last_error.map(|e| format!("{name}: {e}"))),
            dead_channels: self
                .lanes
                .iter()
                .filter(|l| l.dead() > 0)
                .map(|l| l.name())
                .collect(),
        }
    }

    /// Per channel: name, parts pending, parts refused for good.
    pub fn per_channel(&self) -> Vec<(&'static str, usize, usize)> {
        self.lanes
            .iter()
            .map(|l| (l.name(), l.pending(), l.dead()))
            .collect()
    }

    /// One delivery pass on every channel (concurrently).
    pub async fn deliver_pending(&self) -> Pass {
        let mut set = tokio::task::JoinSet::new();
        for lane in &self.lanes {
            let lane = lane.clone();
            set.spawn(async move { lane.pass(None, false).await });
        }
        let mut total = Pass {
            delivered: 0,
            remaining: 0,
            wait: None,
        };
        while let Some(Ok(p)) = set.join_next().await {
            total.delivered += p.delivered;
            total.remaining += p.remaining;
            total.wait = match (total.wait, p.wait) {
                (Some(a), Some(b)) => Some(a.min(b)),
                (a, b) => a.or(b),
            };
        }
        total
    }

    async fn flush_inner(&self, deadline: Duration, urgent_only: bool) -> Pass {
        let until = Instant::now() + deadline;
        let before: usize = self
            .lanes
            .iter()
            .map(|l| l.delivered.load(Ordering::Relaxed))
            .sum();
        let mut set = tokio::task::JoinSet::new();
        for lane in &self.lanes {
            // Each channel on its own task: a part in flight at the deadline finishes (and is
            // recorded) in the background instead of being cut off half-sent.
            set.spawn(lane.clone().flush(until, urgent_only));
        }
        set.detach_all();
        loop {
            let left: usize = self.lanes.iter().map(|l| l.outbox.count(urgent_only)).sum();
            let now = Instant::now();
            if left == 0 || now >= until {
                let after: usize = self
                    .lanes
                    .iter()
                    .map(|l| l.delivered.load(Ordering::Relaxed))
                    .sum();
                return Pass {
                    delivered: after - before,
                    remaining: left,
                    wait: (left > 0).then_some(Duration::ZERO),
                };
            }
            tokio::time::sleep(Duration::from_millis(20).min(until - now)).await;
        }
    }

    /// Delivers until every outbox is empty or `deadline` passes (for one-shot commands).
    pub async fn flush(&self, deadline: Duration) -> Pass {
        self.flush_inner(deadline, false).await
    }

    /// Delivers urgent parts (level 1, countdown, shutdown outcome) until none is left or
    /// `deadline` passes, whatever the backlog of other messages (the shutdown guard).
    pub async fn flush_urgent(&self, deadline: Duration) -> Pass {
        self.flush_inner(deadline, true).await
    }

    /// Delivers in the background, every channel on its own, until `cancel` fires.
    pub async fn run(self: Arc<Self>, cancel: CancellationToken) {
        let mut set = tokio::task::JoinSet::new();
        for lane in &self.lanes {
            set.spawn(lane.clone().run(cancel.clone()));
        }
        while set.join_next().await.is_some() {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_five_minutes() {
        assert_eq!(backoff(1), Duration::from_secs(1));
        assert_eq!(backoff(2), Duration::from_secs(2));
        assert_eq!(backoff(5), Duration::from_secs(16));
        assert_eq!(backoff(30), MAX_BACKOFF);
    }

    #[test]
    fn level_one_and_shutdown_messages_are_urgent_reports_are_not() {
        let facts = Facts::default();
        assert!(is_urgent(&Message::ShutdownWarning {
            server: "s".into(),
            seconds_left: 5
        }));
        assert!(is_urgent(&Message::Alert {
            level: Level::L1,
            facts: facts.clone(),
            no_shutdown: None,
            actions: vec![]
        }));
        assert!(!is_urgent(&Message::Alert {
            level: Level::L2,
            facts: facts.clone(),
            no_shutdown: None,
            actions: vec![]
        }));
        assert!(!is_urgent(&Message::Report { facts }));
    }

    #[test]
    fn meta_names_the_kind_and_level() {
        let m = meta(&Message::Alert {
            level: Level::L2,
            facts: Facts {
                server: "web".into(),
                remaining_gb: Some(250.0),
                ..Default::default()
            },
            no_shutdown: None,
            actions: vec![],
        });
        assert_eq!(m.kind, "alert");
        assert_eq!(m.level.as_deref(), Some("level2"));
        assert_eq!(m.figures.unwrap()["remaining_gb"], 250.0);
        assert_eq!(
            meta(&Message::ShutdownWarning {
                server: "s".into(),
                seconds_left: 1
            })
            .kind,
            "shutdown_warning"
        );
    }
}
