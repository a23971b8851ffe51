//! The fallback evaluator: judges our own readings when no Prometheus is alive to do it.
//!
//! `FALLBACK=always` judges every poll; `never` leaves it all to Alertmanager; `auto` judges unless
//! Prometheus shows it is alive: the `FlexusTrafficWatchdog` heartbeat arrived within
//! `WATCHDOG_TIMEOUT`, and — once Prometheus has scraped this process — it still scrapes it.
//!
//! The scrape check makes the hand-over quick. When Prometheus dies, Alertmanager keeps delivering
//! its last watchdog until the alert expires (Prometheus sends alerts valid for 4 × max(resend
//! delay, evaluation interval), about 4 minutes with the shipped settings), so the heartbeat alone
//! would hand over only after that plus `WATCHDOG_TIMEOUT`. A Prometheus that stopped scraping for
//! [`scrape_timeout`] is taken as gone at once; a resolved watchdog (the alert expired) clears the
//! heartbeat (see `engine`). Hand-over in either direction is safe because both paths feed the same
//! policy memory (see `engine`). Monitoring health (repeated poll failures) is told whichever path
//! is in charge.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

use crate::config::FallbackMode;
use crate::engine::Engine;
use crate::metrics::Metrics;

/// The longest silence of a Prometheus that scraped this process before the fallback takes over:
/// three scrapes of the shipped `scrape_interval` (1m).
pub const SCRAPE_TIMEOUT_MAX: Duration = Duration::from_secs(180);

/// How long a Prometheus that scraped this process may stay silent: [`SCRAPE_TIMEOUT_MAX`], or
/// `WATCHDOG_TIMEOUT` when that is shorter.
pub fn scrape_timeout(watchdog_timeout: Duration) -> Duration {
    watchdog_timeout.min(SCRAPE_TIMEOUT_MAX)
}

/// What shows that Prometheus is alive.
#[derive(Debug, Clone, Copy, Default)]
pub struct Signs {
    /// When the watchdog heartbeat last arrived through Alertmanager.
    pub heartbeat: Option<DateTime<Utc>>,
    /// When Prometheus last scraped `/metrics` (never, if it scrapes through something else).
    pub scrape: Option<DateTime<Utc>>,
}

/// Why the fallback is in charge, or `None` when Prometheus is. Pure.
pub fn reason(
    mode: FallbackMode,
    signs: Signs,
    watchdog_timeout: Duration,
    now: DateTime<Utc>,
) -> Option<&'static str> {
    let older_than = |t: DateTime<Utc>, limit: Duration| {
        now.signed_duration_since(t)
            > chrono::Duration::from_std(limit).unwrap_or(chrono::Duration::MAX)
    };
    match mode {
        FallbackMode::Always => Some("FALLBACK=always"),
        FallbackMode::Never => None,
        FallbackMode::Auto => match (signs.heartbeat, signs.scrape) {
            (None, _) => Some("no Prometheus watchdog heartbeat"),
            (Some(t), _) if older_than(t, watchdog_timeout) => {
                Some("no Prometheus watchdog heartbeat within WATCHDOG_TIMEOUT")
            }
            (_, Some(s)) if older_than(s, scrape_timeout(watchdog_timeout)) => {
                Some("Prometheus stopped scraping /metrics")
            }
            _ => None,
        },
    }
}

/// Whether the fallback evaluator is in charge at `now`. Pure.
pub fn is_active(
    mode: FallbackMode,
    signs: Signs,
    watchdog_timeout: Duration,
    now: DateTime<Utc>,
) -> bool {
    reason(mode, signs, watchdog_timeout, now).is_some()
}

/// Runs the evaluator until `cancel` fires.
pub async fn run(
    engine: Arc<Engine>,
    mut polled: watch::Receiver<u64>,
    metrics: Arc<Metrics>,
    active_flag: Arc<AtomicBool>,
    mut live: Option<watch::Receiver<u64>>,
    cancel: CancellationToken,
) {
    let cfg = engine.config.clone();
    // Look for a change of hands often enough to take over well within the timeout.
    let tick = (cfg.alerting.watchdog_timeout / 5)
        .clamp(Duration::from_millis(200), Duration::from_secs(30));
    let mut was_active: Option<bool> = None;
    loop {
        let mut live_now = false;
        let polled_now = tokio::select! {
            _ = cancel.cancelled() => return,
            r = polled.changed() => {
                if r.is_err() {
                    return;
                }
                true
            }
            // The live estimate crossed a level between polls: judge now, not at the next poll.
            Some(Ok(())) = async { match live.as_mut() { Some(l) => Some(l.changed().await), None => None } } => {
                live_now = true;
                false
            }
            _ = tokio::time::sleep(tick) => false,
        };
        let now = Utc::now();
        let signs = Signs {
            heartbeat: engine.last_heartbeat().await,
            scrape: metrics.last_prometheus_scrape(),
        };
        let why = reason(
            cfg.alerting.fallback,
            signs,
            cfg.alerting.watchdog_timeout,
            now,
        );
        let active = why.is_some();
        active_flag.store(active, Ordering::Release);
        metrics.set_fallback_active(active);
        let changed = was_active != Some(active);
        if changed {
            if active {
                tracing::info!(mode = ?cfg.alerting.fallback, reason = why.unwrap_or_default(), "fallback evaluator in charge");
            } else {
                tracing::info!(
                    "prometheus is alive (watchdog heartbeat, scrapes): fallback evaluator stands down"
                );
            }
        }
        was_active = Some(active);
        if polled_now {
            if let Err(e) = engine.poll_health().await {
                tracing::error!(error = %e, "cannot record monitoring health");
            }
            // Starting an instance again is not alerting: it happens whoever is in charge; so
            // are the reports around each reset.
            engine.auto_start(now).await;
            if let Err(e) = engine.reports(now).await {
                tracing::error!(error = %e, "reports could not be recorded");
            }
        }
        // Judge on every poll while in charge, and at once when taking over.
        if active && (polled_now || live_now || changed) {
            if let Err(e) = engine.evaluate(now).await {
                tracing::error!(error = %e, "fallback evaluation could not be recorded");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(secs: i64) -> Option<DateTime<Utc>> {
        DateTime::from_timestamp(secs, 0)
    }

    #[test]
    fn auto_hands_over_on_the_heartbeat() {
        let now = at(10_000).unwrap();
        let t = Duration::from_secs(600);
        let beat = |h| Signs {
            heartbeat: h,
            scrape: None,
        };
        assert!(is_active(FallbackMode::Auto, beat(None), t, now));
        assert!(!is_active(FallbackMode::Auto, beat(at(9_500)), t, now));
        assert!(is_active(FallbackMode::Auto, beat(at(9_300)), t, now));
        assert!(is_active(FallbackMode::Always, beat(at(9_999)), t, now));
        assert!(!is_active(FallbackMode::Never, beat(None), t, now));
    }

    #[test]
    fn a_prometheus_that_stopped_scraping_hands_over_before_its_last_watchdog_expires() {
        let now = at(10_000).unwrap();
        let t = Duration::from_secs(600);
        let signs = |scrape| Signs {
            heartbeat: at(9_990),
            scrape,
        };
        // Scraped a minute ago, watchdog fresh: Prometheus is in charge.
        assert!(!is_active(FallbackMode::Auto, signs(at(9_940)), t, now));
        // No scrape for more than 3 minutes although Alertmanager still delivers the watchdog.
        assert_eq!(
            reason(FallbackMode::Auto, signs(at(9_810)), t, now),
            Some("Prometheus stopped scraping /metrics")
        );
        // Never scraped by Prometheus (it scrapes through a proxy, or another tool): heartbeat only.
        assert!(!is_active(FallbackMode::Auto, signs(None), t, now));
        // A short WATCHDOG_TIMEOUT shortens the scrape limit too.
        assert!(is_active(
            FallbackMode::Auto,
            signs(at(9_980)),
            Duration::from_secs(15),
            now
        ));
        assert!(!is_active(FallbackMode::Never, signs(at(1)), t, now));
    }
}
