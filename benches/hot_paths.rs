//! Timings of the hot paths, each reported as a ratio to a baseline measured side by side in the
//! same run (a SHA-256 of a 64-byte body), so that a noisy machine changes both alike.
//!
//! Run: `cargo bench --bench hot_paths`. Prints a table; asserts nothing.

use std::hint::black_box;
use std::time::Instant;

use chrono::Utc;
use flexus_traffic_monitor::config::{Config, RawConfig};
use flexus_traffic_monitor::huawei::signer::{self, RequestParts};
use flexus_traffic_monitor::level::Level;
use flexus_traffic_monitor::metrics::Metrics;
use flexus_traffic_monitor::policy::{Cadence, PackageMemory};
use flexus_traffic_monitor::reading::Reading;
use flexus_traffic_monitor::snapshot::Snapshot;

/// Nanoseconds per call, the best of five rounds of `iters` calls.
fn measure(iters: u32, mut f: impl FnMut()) -> f64 {
    (0..5)
        .map(|_| {
            let t = Instant::now();
            for _ in 0..iters {
                f();
            }
            t.elapsed().as_nanos() as f64 / f64::from(iters)
        })
        .fold(f64::INFINITY, f64::min)
}

fn snapshot(n: usize) -> (Snapshot, Vec<String>) {
    let ids: Vec<String> = (0..n).map(|i| format!("pkg-{i:04}")).collect();
    let mut s = Snapshot::new(&ids);
    let results = ids
        .iter()
        .map(|id| {
            let r = Reading {
                free_resource_id: id.clone(),
                package_name: "Lightweight BGP data package".into(),
                usage_type: "Uplink traffic".into(),
                remaining_gb: 123.45,
                total_gb: 1200.0,
                cycle_start: Some(Utc::now()),
                cycle_end: Some(Utc::now()),
                read_at: Utc::now(),
            };
            (id.clone(), Ok(r))
        })
        .collect();
    s.apply(&Ok(results), Utc::now());
    (s, ids)
}

fn main() {
    let body = br#"{"free_resource_ids":["828e2c7c-3c8c-45a2-bebc-98cb3e77d06e"]}"#;
    let headers = vec![
        ("Content-Type".to_string(), "application/json".to_string()),
        ("X-Sdk-Date".to_string(), "20250115T083000Z".to_string()),
    ];
    let parts = RequestParts {
        method: "POST",
        host: "bss.myhuaweicloud.com",
        path: "/v2/payments/free-resources/usages/details/query",
        query: &[],
        headers: &headers,
        body,
    };
    let config = Config::from_raw(&RawConfig::default()).expect("defaults are valid");
    let metrics = Metrics::new();
    let (one, _) = snapshot(1);
    let (hundred, _) = snapshot(100);
    let cadence = Cadence::default();

    let baseline = measure(200_000, || {
        black_box(signer::sha256_hex(black_box(&body[..])));
    });
    let rows = [
        (
            "sign a BSS request",
            measure(50_000, || {
                black_box(signer::sign(black_box(&parts), "ak", "sk"));
            }),
        ),
        (
            "render /metrics, 1 package",
            measure(5_000, || {
                black_box(metrics.render(&one, &config, Utc::now()));
            }),
        ),
        (
            "render /metrics, 100 packages",
            measure(200, || {
                black_box(metrics.render(&hundred, &config, Utc::now()));
            }),
        ),
        (
            "policy: one observation",
            measure(200_000, || {
                let mut m = PackageMemory::default();
                black_box(m.observe(black_box(Level::L2), Utc::now(), &cadence));
            }),
        ),
    ];
    println!(
        "baseline (sha256 of {} bytes): {:.0} ns",
        body.len(),
        baseline
    );
    println!("{:<32} {:>12} {:>10}", "path", "ns/call", "x baseline");
    for (name, ns) in rows {
        println!("{name:<32} {ns:>12.0} {:>10.1}", ns / baseline);
    }
}
