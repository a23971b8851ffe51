//! `/metrics` under load, side by side with a minimal axum handler that returns a fixed body of
//! the same size, at 1, 100 and 1,000 packages. Both are served by the program's own listener
//! (`http::serve`) on loopback and loaded by `wrk` (2 threads, 16 connections) one after the other
//! in the same run, so a noisy machine slows both alike; the ratio is what to read.
//!
//! Run: `bash scripts/bench-metrics.sh` (installs Debian's `wrk` when missing). Asserts nothing.
//! `BENCH_SECONDS` sets the length of each run (default 5).

use std::process::Command;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;

use axum::http::header;
use axum::routing::get;
use axum::Router;
use chrono::Utc;
use flexus_traffic_monitor::config::{Config, RawConfig};
use flexus_traffic_monitor::history::{HistoryStore, Limits};
use flexus_traffic_monitor::http::{self, AppState};
use flexus_traffic_monitor::metrics::Metrics;
use flexus_traffic_monitor::reading::Reading;
use flexus_traffic_monitor::snapshot::Snapshot;
use tokio::sync::RwLock;
use tokio_util::sync::CancellationToken;

fn state(n: usize, dir: &std::path::Path) -> AppState {
    let ids: Vec<String> = (0..n).map(|i| format!("pkg-{i:05}")).collect();
    let mut raw = RawConfig::default();
    raw.set("FREE_RESOURCE_IDS", ids.join(","));
    let config = Config::from_raw(&raw).expect("a valid configuration");
    let mut snapshot = Snapshot::new(&ids);
    let now = Utc::now();
    let results = ids
        .iter()
        .map(|id| {
            let r = Reading {
                free_resource_id: id.clone(),
                package_name: "Lightweight BGP data package".into(),
                usage_type: "Uplink traffic".into(),
                remaining_gb: 123.45,
                total_gb: 1200.0,
                cycle_start: Some(now),
                cycle_end: Some(now),
                read_at: now,
            };
            (id.clone(), Ok(r))
        })
        .collect();
    snapshot.apply(&Ok(results), now);
    AppState {
        config: Arc::new(config),
        snapshot: Arc::new(RwLock::new(snapshot)),
        metrics: Arc::new(Metrics::new()),
        ready: Arc::new(AtomicBool::new(true)),
        engine: None,
        fallback_active: Arc::new(AtomicBool::new(false)),
        state: None,
        history: Arc::new(HistoryStore::open(dir, Limits::default())),
        web: None,
    }
}

async fn serve(router: Router, stop: &CancellationToken) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("a loopback port");
    let url = format!("http://{}/metrics", listener.local_addr().expect("bound"));
    let stop = stop.clone();
    tokio::spawn(async move { http::serve(listener, router, stop).await });
    url
}

/// Requests per second and the median latency `wrk` measured.
async fn wrk(url: &str, seconds: u64) -> (f64, String) {
    let url = url.to_string();
    let out = tokio::task::spawn_blocking(move || {
        Command::new("wrk")
            .args(["-t2", "-c16", &format!("-d{seconds}s"), "--latency", &url])
            .output()
    })
    .await
    .expect("joined")
    .expect("wrk runs");
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    let rps = text
        .lines()
        .find_map(|l| l.trim().strip_prefix("Requests/sec:"))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or_else(|| panic!("no Requests/sec in wrk's output:\n{text}"));
    let p50 = text
        .lines()
        .find_map(|l| l.trim().strip_prefix("50%"))
        .map(|v| v.trim().to_string())
        .unwrap_or_default();
    (rps, p50)
}

fn main() {
    if Command::new("wrk").arg("--version").output().is_err() {
        println!("wrk is not installed: run scripts/bench-metrics.sh, which installs it (apt-get install wrk)");
        return;
    }
    let seconds: u64 = std::env::var("BENCH_SECONDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(5);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("a runtime");
    rt.block_on(async {
        println!(
            "{:>9} {:>10} {:>14} {:>14} {:>7} {:>10} {:>10}",
            "packages", "body", "minimal r/s", "/metrics r/s", "ratio", "p50 min", "p50 real"
        );
        for n in [1, 100, 1000] {
            let stop = CancellationToken::new();
            let dir = tempfile::tempdir().expect("a temporary directory");
            let state = state(n, dir.path());
            let body = state
                .metrics
                .render_cached(&state.snapshot, &state.config, Utc::now())
                .await;
            let size = body.len();
            let minimal = Router::new().route(
                "/metrics",
                get(move || {
                    let body = body.clone();
                    async move {
                        (
                            [(header::CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")],
                            body,
                        )
                    }
                }),
            );
            let base_url = serve(minimal, &stop).await;
            let real_url = serve(http::router(state), &stop).await;
            let (base, base_p50) = wrk(&base_url, seconds).await;
            let (real, real_p50) = wrk(&real_url, seconds).await;
            println!(
                "{n:>9} {size:>10} {base:>14.0} {real:>14.0} {:>6.2}x {base_p50:>10} {real_p50:>10}",
                real / base
            );
            stop.cancel();
        }
    });
}
