//! The demo cloud: a simulated Huawei BSS on a loopback port whose one traffic package drains
//! through every level and then starts a new cycle, so the whole pipeline — signed requests, the
//! poller, `/metrics`, the policy, messages and a dry-run shutdown — can be watched with no account.
//!
//! It checks every request's signature like the real gateway (with the demo's own key), so the
//! demo runs the real client code. The scenario is a pure function of elapsed time.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::{Json, Router};
use chrono::{DateTime, Utc};
use serde_json::json;

use crate::huawei::gateway::{GatewayKeys, Refused, Signed};
use crate::level::Thresholds;
use crate::messages::Lang;

pub const DEMO_AK: &str = "DEMO-ACCESS-KEY";
pub const DEMO_SK: &str = "demo-secret-key";
pub const DEMO_PACKAGE: &str = "demo-0000-4000-8000-flexus000001";

/// The key the demo's gateway accepts.
pub struct DemoKeys;

impl GatewayKeys for DemoKeys {
    const ACCESS_KEY: &'static str = DEMO_AK;
    const SECRET_KEY: &'static str = DEMO_SK;
}

/// The simulated package over time.
#[derive(Debug, Clone, Copy)]
pub struct Scenario {
    pub quota_gb: f64,
    /// Remaining at the start.
    pub start_gb: f64,
    /// Remaining when the drain ends.
    pub end_gb: f64,
    /// How long the drain lasts (simulated time).
    pub drain: Duration,
    /// When the new cycle starts (simulated time), refilling the package.
    pub reset_at: Duration,
}

impl Scenario {
    /// A scenario that crosses every threshold in about a minute.
    pub fn for_thresholds(t: &Thresholds) -> Self {
        Self {
            quota_gb: (t.t3 * 2.0).max(1.0),
            start_gb: t.t3 + (t.t3 - t.t2) * 0.5,
            end_gb: t.t1 * 0.5,
            drain: Duration::from_secs(60),
            reset_at: Duration::from_secs(80),
        }
    }

    /// Remaining GB after `elapsed` of simulated time.
    pub fn remaining_at(&self, elapsed: Duration) -> f64 {
        if elapsed >= self.reset_at {
            return self.quota_gb;
        }
        let f = (elapsed.as_secs_f64() / self.drain.as_secs_f64()).min(1.0);
        self.start_gb + (self.end_gb - self.start_gb) * f
    }
}

struct Cloud {
    scenario: Scenario,
    /// The language the names are given in (BSS answers in the console's language).
    lang: Lang,
    started: Instant,
    speed: f64,
    /// The end of the first cycle (the start of the next).
    cycle_end: DateTime<Utc>,
}

impl Cloud {
    fn elapsed(&self) -> Duration {
        self.started.elapsed().mul_f64(self.speed)
    }
}

/// A running demo cloud.
pub struct DemoCloud {
    pub addr: SocketAddr,
    cloud: Arc<Cloud>,
}

impl DemoCloud {
    /// Starts the cloud on a free loopback port. `speed` > 1 runs the scenario faster.
    ///
    /// # Errors
    /// When no port can be bound.
    pub async fn start(scenario: Scenario, speed: f64, lang: Lang) -> std::io::Result<Self> {
        let now = Utc::now();
        let cloud = Arc::new(Cloud {
            scenario,
            lang,
            started: Instant::now(),
            speed,
            // The first cycle ends a few minutes after the simulated reset comes: the program
            // takes a new cycle only from about ten minutes before the current one ends (see
            // `plausibility`), and holds readings against the trend in its last five minutes.
            cycle_end: now
                + chrono::Duration::from_std(
                    scenario.reset_at.div_f64(speed.max(f64::MIN_POSITIVE)),
                )
                .unwrap_or(chrono::Duration::zero())
                + chrono::Duration::minutes(6),
        });
        let app = Router::new().fallback(handle).with_state(cloud.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Ok(Self { addr, cloud })
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Simulated time since the start.
    pub fn elapsed(&self) -> Duration {
        self.cloud.elapsed()
    }
}

async fn handle(
    State(cloud): State<Arc<Cloud>>,
    signed: Result<Signed<DemoKeys>, Refused>,
) -> Response {
    let uri = match signed {
        Ok(s) => s.uri,
        Err(refused) => return refused.into_response(),
    };
    let elapsed = cloud.elapsed();
    let s = cloud.scenario;
    let (start, end) = if elapsed >= s.reset_at {
        (
            cloud.cycle_end,
            cloud.cycle_end + chrono::Duration::days(30),
        )
    } else {
        (
            cloud.cycle_end - chrono::Duration::days(30),
            cloud.cycle_end,
        )
    };
    // The package and traffic type named in the page's language, as a console in that language
    // shows them (the demo page in Chinese should not carry English names).
    let (package, usage) = match cloud.lang {
        Lang::Zh => ("Flexus L 轻量 BGP 流量包（演示）", "上行流量"),
        Lang::En => ("Lightweight BGP data package (demo)", "Uplink traffic"),
    };
    let entry = json!({
        "free_resource_id": DEMO_PACKAGE,
        "free_resource_type_name": package,
        "usage_type_name": usage,
        "quota_reuse_cycle": 4,
        "quota_reuse_cycle_type": 2,
        "start_time": start.format("%Y-%m-%dT%H:%M:%SZ").to_string(),
        "end_time": end.format("%Y-%m-%dT%H:%M:%SZ").to_string(),
        // Strings, as BSS sometimes sends them.
        "amount": format!("{:.2}", s.remaining_at(elapsed)),
        "original_amount": format!("{:.2}", s.quota_gb),
        "measure_id": 10,
    });
    match uri.path() {
        "/v2/payments/free-resources/usages/details/query" => Json(json!({ "free_resources": [entry] })).into_response(),
        "/v3/payments/free-resources/query" => Json(json!({
            "total_count": 1,
            "free_resource_packages": [{ "product_name": package, "service_type_code": "hws.service.type.hcss", "region_code": "demo-region", "status": 1, "free_resources": [entry] }]
        }))
        .into_response(),
        _ => (StatusCode::NOT_FOUND, Json(json!({"error_code": "APIGW.0101", "error_msg": "The API does not exist"}))).into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_scenario_crosses_every_level_then_resets() {
        let t = Thresholds::default();
        let s = Scenario::for_thresholds(&t);
        let at = |secs| crate::level::Level::of(s.remaining_at(Duration::from_secs(secs)), &t);
        use crate::level::Level::*;
        let seen: Vec<_> = (0..100).map(at).collect();
        for l in [Ok, L3, L2, L1] {
            assert!(seen.contains(&l), "{l:?} never reached");
        }
        assert_eq!(at(0), Ok);
        assert_eq!(at(60), L1);
        assert_eq!(at(85), Ok);
    }
}
