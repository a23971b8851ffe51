//! `AUTO_START`: starts an instance again once its package's cycle has reset and the remaining
//! traffic is back at or above T1 — but only an instance this process stopped itself (remembered in
//! the state), never one someone stopped by hand, and only while it is still `SHUTOFF`.
//!
//! The decision ([`due`]) is pure; [`AutoStarter`] does the ECS calls and the reporting.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};

use crate::huawei::ecs::{EcsFactory, EcsFailure};
use crate::messages::Message;
use crate::metrics::{Metrics, StartResult};
use crate::notifier::Notifier;
use crate::reading::Reading;
use crate::snapshot::SharedSnapshot;
use crate::state::{StateCell, StoppedRecord};
use crate::tasks::{Keyed, Tasks};

/// Whether the instance of `rec` should be started now, given the package's fresh reading. Pure.
pub fn due(
    rec: &StoppedRecord,
    reading: Option<&Reading>,
    t1: f64,
    retry_after: Duration,
    now: DateTime<Utc>,
) -> bool {
    let Some(r) = reading else { return false };
    if let Some(t) = rec.last_start_attempt {
        if now.signed_duration_since(t)
            < chrono::Duration::from_std(retry_after).unwrap_or(chrono::Duration::MAX)
        {
            return false;
        }
    }
    let new_cycle = match (rec.cycle_end, r.cycle_end) {
        (Some(old), Some(new)) => new > old,
        _ => r.cycle_start.is_some_and(|start| start > rec.at),
    };
    new_cycle && r.remaining_gb >= t1
}

/// What [`AutoStarter::check`] found among the instances this process stopped (names).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Checked {
    /// Being started (or already being started).
    pub starting: Vec<String>,
    /// Not due: the cycle has not reset, the traffic is not back, or a start was just tried.
    pub not_due: Vec<String>,
}

/// Starts what this process stopped, when its traffic is back.
pub struct AutoStarter {
    pub ecs: EcsFactory,
    pub job_timeout: Duration,
    pub retry_after: Duration,
    pub t1: f64,
    pub reading_max_age: Duration,
    pub state: Arc<StateCell>,
    pub notifier: Arc<Notifier>,
    pub snapshot: SharedSnapshot,
    pub metrics: Arc<Metrics>,
    /// Starts in progress, one per server at most.
    in_flight: Keyed<String, ()>,
}

impl AutoStarter {
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        ecs: EcsFactory,
        job_timeout: Duration,
        retry_after: Duration,
        t1: f64,
        reading_max_age: Duration,
        state: Arc<StateCell>,
        notifier: Arc<Notifier>,
        snapshot: SharedSnapshot,
        metrics: Arc<Metrics>,
        tasks: Tasks,
    ) -> Self {
        metrics.init_instance_starts();
        Self {
            ecs,
            job_timeout,
            retry_after,
            t1,
            reading_max_age,
            state,
            notifier,
            snapshot,
            metrics,
            in_flight: Keyed::new(tasks),
        }
    }

    /// Starts every instance that is due, each in its own task on the application's tracker
    /// (one per server at most); [`Self::wait_idle`] waits for them. A start interrupted by a stop
    /// is checked again from the instance's status after the next start. Returns the names of
    /// the instances this process stopped: those being started, and those not due yet (`/start`
    /// tells the user; the rules are the same whoever asks).
    pub async fn check(self: &Arc<Self>, now: DateTime<Utc>) -> Checked {
        let snap = self.snapshot.read().await.clone();
        let fresh = snap.fresh(now, self.reading_max_age);
        let stopped = self.state.snapshot().await.stopped;
        let mut checked = Checked::default();
        for (server_id, rec) in stopped {
            let reading = fresh
                .iter()
                .find(|r| r.free_resource_id == rec.package)
                .copied();
            if !due(&rec, reading, self.t1, self.retry_after, now) {
                checked.not_due.push(rec.name.clone());
                continue;
            }
            checked.starting.push(rec.name.clone());
            let me = self.clone();
            self.in_flight
                .spawn(server_id.clone(), move |cancel| async move {
                    tokio::select! {
                        () = me.start(&server_id, &rec) => {}
                        () = cancel.cancelled() => {
                            tracing::warn!(server = %rec.name, "auto-start interrupted by the stop; the next start looks at the instance again");
                        }
                    }
                });
        }
        checked
    }

    /// Waits until no start is in progress.
    pub async fn wait_idle(&self) {
        self.in_flight.wait_idle().await;
    }

    async fn update(&self, change: impl FnOnce(&mut crate::state::State)) {
        if let Err(e) = self.state.update(change).await {
            tracing::error!(error = %e, "cannot record the auto-start");
        }
    }

    fn notify(&self, m: &Message) {
        if let Err(e) = self.notifier.enqueue(m) {
            tracing::error!(error = %e, "cannot queue an auto-start message");
        }
    }

    async fn start(&self, server_id: &str, rec: &StoppedRecord) {
        let name = rec.name.clone();
        let fail = |failure: EcsFailure| Message::InstanceStartFailed {
            server: name.clone(),
            id: server_id.to_string(),
            failure,
        };
        let client = match self.ecs.client(&rec.target) {
            Ok(c) => c,
            Err(e) => return self.notify(&fail(EcsFailure::Request(e))),
        };
        let now = Utc::now();
        match client.server_status(server_id).await {
            Ok(status) if status.is_shutoff() => {}
            Ok(status) => {
                // Someone started it already (or it is changing state): not ours to touch now.
                tracing::info!(server = %name, status = %status, "auto-start: the instance is not SHUTOFF; forgetting it");
                self.metrics.instance_start(StartResult::AlreadyRunning);
                return self
                    .update(|s| {
                        s.stopped.remove(server_id);
                    })
                    .await;
            }
            Err(e) => {
                tracing::warn!(server = %name, error = %e, "auto-start: cannot read the server status");
                return self
                    .update(|s| {
                        if let Some(r) = s.stopped.get_mut(server_id) {
                            r.last_start_attempt = Some(now);
                        }
                    })
                    .await;
            }
        }
        tracing::warn!(server = %name, "auto-start: the traffic cycle reset; starting the instance");
        let result = match client.start(server_id).await {
            Err(e) => Err(EcsFailure::Request(e)),
            Ok(job) => {
                let outcome = client.wait(&job, self.job_timeout).await;
                match EcsFailure::of_job(&job, outcome, self.job_timeout) {
                    None => Ok(job),
                    Some(failure) => Err(failure),
                }
            }
        };
        match result {
            Ok(job) => {
                tracing::warn!(server = %name, server_id, job = %job, "auto-start: the instance was started");
                self.metrics.instance_start(StartResult::Started);
                self.update(|s| {
                    s.stopped.remove(server_id);
                })
                .await;
                self.notify(&Message::InstanceStarted {
                    server: name.clone(),
                    id: server_id.to_string(),
                    job,
                });
            }
            Err(error) => {
                self.metrics.instance_start(StartResult::Failed);
                tracing::error!(server = %name, server_id, error = %error, "auto-start failed");
                self.update(|s| {
                    if let Some(r) = s.stopped.get_mut(server_id) {
                        r.last_start_attempt = Some(now);
                    }
                })
                .await;
                self.notify(&fail(error));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::target::Target;

    fn t(secs: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_800_000_000 + secs, 0).unwrap()
    }

    fn rec(cycle_end: i64) -> StoppedRecord {
        StoppedRecord {
            package: "p".into(),
            name: "n".into(),
            target: Target {
                name: "n".into(),
                server_id: "s".into(),
                region: "r".into(),
                project_id: "pr".into(),
            },
            at: t(0),
            cycle_end: Some(t(cycle_end)),
            last_start_attempt: None,
        }
    }

    fn reading(remaining: f64, cycle_end: i64) -> Reading {
        Reading {
            free_resource_id: "p".into(),
            package_name: String::new(),
            usage_type: String::new(),
            remaining_gb: remaining,
            total_gb: 100.0,
            cycle_start: Some(t(cycle_end - 1000)),
            cycle_end: Some(t(cycle_end)),
            read_at: t(10),
        }
    }

    #[test]
    fn starts_only_after_a_reset_with_traffic_back() {
        let h = Duration::from_secs(3600);
        assert!(
            !due(&rec(500), Some(&reading(100.0, 500)), 5.0, h, t(10)),
            "same cycle"
        );
        assert!(
            !due(&rec(500), Some(&reading(3.0, 900)), 5.0, h, t(10)),
            "new cycle but still below T1"
        );
        assert!(!due(&rec(500), None, 5.0, h, t(10)), "no fresh reading");
        assert!(due(&rec(500), Some(&reading(100.0, 900)), 5.0, h, t(10)));
        let mut tried = rec(500);
        tried.last_start_attempt = Some(t(5));
        assert!(
            !due(&tried, Some(&reading(100.0, 900)), 5.0, h, t(10)),
            "a failed start waits"
        );
        assert!(due(&tried, Some(&reading(100.0, 900)), 5.0, h, t(3700)));
    }
}
