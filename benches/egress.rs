//! What the live meter costs: one sample (choose the interface from the default route, read its
//! tx and rx counters and the boot id, fold them into the meter) and the estimate built on it,
//! against the least any counter read can cost, reading one counter file, measured side by side in
//! the same run. Also the save to `STATE_DIR` (every 10 s), whose time is mostly the wait for
//! `fsync`, not CPU. Printed as time per hour at the default `EGRESS_SAMPLE_INTERVAL` of 2 s.
//!
//! Run: `cargo bench --bench egress` (on a machine with a default route). Prints a table; asserts
//! nothing.

use std::hint::black_box;
use std::time::{Duration, Instant};

use chrono::Utc;
use flexus_traffic_monitor::egress::counter::{self, Roots};
use flexus_traffic_monitor::egress::live::{Live, Settings};
use flexus_traffic_monitor::level::Thresholds;
use flexus_traffic_monitor::reading::Reading;

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

fn main() {
    let roots = Roots::default();
    let Ok(interface) = counter::choose_interface(None, &roots) else {
        eprintln!("no default route here: nothing to measure");
        return;
    };
    let dir = tempfile::tempdir().expect("a temporary directory");
    let live = Live::open(
        Settings {
            interface: None,
            interval: Duration::from_secs(2),
            default_lag: Duration::from_secs(7200),
            package: "pkg".into(),
            thresholds: Thresholds::default(),
            roots: roots.clone(),
            state_dir: dir.path().to_path_buf(),
        },
        Box::new(|_| {}),
    );
    let reading = Reading {
        free_resource_id: "pkg".into(),
        package_name: String::new(),
        usage_type: String::new(),
        remaining_gb: 800.0,
        total_gb: 1200.0,
        cycle_start: None,
        cycle_end: None,
        read_at: Utc::now(),
    };
    live.observe_bill(&reading);
    let file = roots
        .sys
        .join("class/net")
        .join(&interface)
        .join("statistics/tx_bytes");
    let baseline = measure(20_000, || {
        black_box(std::fs::read_to_string(&file).ok());
    });
    let sample = measure(20_000, || {
        black_box(live.sample(Utc::now()));
        black_box(live.estimate(&reading, Utc::now()));
    });
    let save = measure(50, || live.save());
    let per_hour = |ns: f64, per_hour: f64| ns * per_hour / 1e6;
    println!("interface {interface}");
    println!("| what | per call | calls per hour | time per hour | ratio |");
    println!("|---|---|---|---|---|");
    println!(
        "| read one counter file (baseline) | {:.1} µs | 1,800 | {:.1} ms | 1.00× |",
        baseline / 1e3,
        per_hour(baseline, 1800.0)
    );
    println!(
        "| one sample and its estimate | {:.1} µs | 1,800 | {:.1} ms | {:.2}× |",
        sample / 1e3,
        per_hour(sample, 1800.0),
        sample / baseline
    );
    println!(
        "| save to STATE_DIR (fsync) | {:.1} µs | 360 | {:.1} ms | {:.2}× |",
        save / 1e3,
        per_hour(save, 360.0),
        save / baseline
    );
}
