//! The fallback evaluator: judges our own readings when no Prometheus is alive to do it.
//!
//! `FALLBACK=always` judges every poll; `never` leaves it all to Alertmanager; `auto` judges unless
//! the `FlexusTrafficWatchdog` heartbeat arrived within `WATCHDOG_TIMEOUT`. Hand-over in either
//! direction is safe because both paths feed the same policy memory (see `engine`). Monitoring
//! health (repeated poll failures) is told whichever path is in charge.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

use crate::config::FallbackMode;
use crate::engine::Engine;
use crate::metrics::Metrics;

/// Whether the fallback evaluator is in charge at `now`. Pure.
pub fn is_active(
    mode: FallbackMode,
    last_heartbeat: Option<DateTime<Utc>>,
    timeout: Duration,
    now: DateTime<Utc>,
) -> bool {
    match mode {
        FallbackMode::Always => true,
        FallbackMode::Never => false,
        FallbackMode::Auto => match last_heartbeat {
            None => true,
            Some(t) => {
                now.signed_duration_since(t)
                    > chrono::Duration::from_std(timeout).unwrap_or(chrono::Duration::MAX)
            }
        },
    }
}

/// Runs the evaluator until `cancel` fires.
pub async fn run(
    engine: Arc<Engine>,
    mut polled: watch::Receiver<u64>,
    metrics: Arc<Metrics>,
    active_flag: Arc<AtomicBool>,
    cancel: CancellationToken,
) {
    let cfg = engine.config.clone();
    // Look for a change of hands often enough to take over well within the timeout.
    let tick = (cfg.alerting.watchdog_timeout / 5)
        .clamp(Duration::from_millis(200), Duration::from_secs(30));
    let mut was_active: Option<bool> = None;
    loop {
        let polled_now = tokio::select! {
            _ = cancel.cancelled() => return,
            r = polled.changed() => {
                if r.is_err() {
                    return;
                }
                true
            }
            _ = tokio::time::sleep(tick) => false,
        };
        let now = Utc::now();
        let active = is_active(
            cfg.alerting.fallback,
            engine.last_heartbeat().await,
            cfg.alerting.watchdog_timeout,
            now,
        );
        active_flag.store(active, Ordering::Release);
        metrics.fallback_active.set(i64::from(active));
        let changed = was_active != Some(active);
        if changed {
            if active {
                tracing::info!(mode = ?cfg.alerting.fallback, "fallback evaluator in charge (no Prometheus watchdog heartbeat)");
            } else {
                tracing::info!(
                    "prometheus watchdog heartbeat seen: fallback evaluator stands down"
                );
            }
        }
        was_active = Some(active);
        if polled_now {
            if let Err(e) = engine.poll_health().await {
                tracing::error!(error = %e, "cannot record monitoring health");
            }
            // Starting an instance again is not alerting: it happens whoever is in charge.
            engine.auto_start(now).await;
        }
        // Judge on every poll while in charge, and at once when taking over.
        if active && (polled_now || changed) {
            if let Err(e) = engine.evaluate(now).await {
                tracing::error!(error = %e, "fallback evaluation could not be recorded");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn auto_hands_over_on_the_heartbeat() {
        let now = DateTime::from_timestamp(10_000, 0).unwrap();
        let t = Duration::from_secs(600);
        assert!(is_active(FallbackMode::Auto, None, t, now));
        assert!(!is_active(
            FallbackMode::Auto,
            DateTime::from_timestamp(9_500, 0),
            t,
            now
        ));
        assert!(is_active(
            FallbackMode::Auto,
            DateTime::from_timestamp(9_300, 0),
            t,
            now
        ));
        assert!(is_active(
            FallbackMode::Always,
            DateTime::from_timestamp(9_999, 0),
            t,
            now
        ));
        assert!(!is_active(FallbackMode::Never, None, t, now));
    }
}
