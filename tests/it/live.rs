//! The live meter through the whole program, with a fake `/sys` and `/proc`: the estimate brings
//! level 1 before a lagging bill does and keeps the countdown going, a counter alone does nothing,
//! a vanished counter falls back to the bill and says so once, restarts and reboots keep the
//! egress, a new cycle re-anchors, and the estimate is never above the bill.

use std::path::Path;

use flexus_traffic_monitor::egress::counter::{fake, Counters};

use crate::helpers::app::fallback_app;
use crate::helpers::{bss_and_telegram, state_dir, FakeBss, FakeTelegram, Spawn, TestApp, ID};

const GB: u64 = 1_000_000_000;

fn spawn_opts(dir: &Path, boot: &str) -> Spawn {
    fake::set_boot(dir, boot);
    Spawn {
        egress_roots: Some(fake::roots(dir)),
        ..Spawn::default()
    }
}

fn sent(dir: &Path, tx: u64) {
    fake::set(dir, "eth0", Counters { tx, rx: tx / 20 });
}

async fn live_app(bss: &FakeBss, tg: &FakeTelegram, dir: &Path, extra: &[(&str, &str)]) -> TestApp {
    fake::set_default_route(dir, "eth0");
    let mut env = vec![("EGRESS_COUNTER", "on"), ("EGRESS_BILL_LAG", "1h")];
    env.extend_from_slice(extra);
    fallback_app(bss, tg, &env, spawn_opts(dir, "boot-a")).await
}

async fn estimate(app: &TestApp) -> Option<f64> {
    app.metric("flexus_free_traffic_estimate_remaining_gb", &[])
        .await
}

#[tokio::test]
async fn the_estimate_starts_the_countdown_the_lagging_bill_would_not_and_the_fresh_check_keeps_it()
{
    let (bss, tg) = bss_and_telegram().await;
    let dir = state_dir("sys");
    sent(&dir, 5 * GB);
    let app = live_app(&bss, &tg, &dir, &[]).await;
    bss.set_gb(ID, 100.0, 1000.0);
    app.poll_and_evaluate().await;
    assert_eq!(estimate(&app).await, Some(100.0));
    assert_eq!(app.calls.count(), 0);
    // 97 GB leave the server; the bill still says 100 GB (T1 is 5 GB) and lags.
    sent(&dir, 102 * GB);
    app.poll_and_evaluate().await;
    let now = estimate(&app).await.unwrap();
    assert!((now - 3.0).abs() < 1e-6, "{now}");
    assert_eq!(
        app.metric("flexus_free_traffic_remaining_gb", &[]).await,
        Some(100.0),
        "the bill's figure is unchanged"
    );
    // The countdown's fresh reading is the bill (still 100 GB) and the estimate built on it:
    // the lagging bill did not cancel it.
    assert_eq!(app.calls.count(), 1, "{:?}", tg.texts());
    assert_eq!(tg.count("cancelled"), 0, "{:?}", tg.texts());
    assert!(tg.count("now ≈") >= 1, "{:?}", tg.texts());
    let status = app.status().await;
    let p = &status["packages"][0];
    assert_eq!(p["reading"]["remaining_gb"], 100.0);
    assert!(
        (p["estimate"]["remaining_gb"].as_f64().unwrap() - 3.0).abs() < 1e-6,
        "{p}"
    );
    assert_eq!(p["level"], "1", "{p}");
    assert_eq!(status["egress"]["interface"], "eth0", "{status}");
    assert_eq!(status["egress"]["tx_bytes"], 97 * GB, "{status}");
    let page = crate::helpers::get_text(&format!("{}/", app.base_url)).await;
    let live = page
        .split("data-k=\"live\">")
        .nth(1)
        .and_then(|p| p.split("</p>").next())
        .unwrap_or_else(|| panic!("no live line on the page"));
    assert!(live.starts_with("bill 100"), "{live}");
    assert!(
        live.contains("now ≈ <span class=\"num\" data-k=\"estimate\">3"),
        "{live}"
    );
    app.stop().await;
}

#[tokio::test]
async fn a_counter_alone_never_starts_a_countdown() {
    let (bss, tg) = bss_and_telegram().await;
    let dir = state_dir("sys");
    sent(&dir, 0);
    let app = live_app(&bss, &tg, &dir, &[]).await;
    // No package in the bill's answer: no reading.
    bss.remove(ID);
    app.poll_and_evaluate().await;
    sent(&dir, 5_000 * GB);
    app.poll_and_evaluate().await;
    assert_eq!(estimate(&app).await, None);
    assert_eq!(app.calls.count(), 0);
    app.stop().await;
}

#[tokio::test]
async fn a_vanished_counter_falls_back_to_the_bill_and_says_so_once() {
    let (bss, tg) = bss_and_telegram().await;
    let dir = state_dir("sys");
    sent(&dir, 0);
    let app = live_app(&bss, &tg, &dir, &[]).await;
    bss.set_gb(ID, 100.0, 1000.0);
    app.poll_and_evaluate().await;
    sent(&dir, 50 * GB);
    app.poll_and_evaluate().await;
    assert_eq!(estimate(&app).await, Some(50.0));
    fake::remove(&dir, "eth0");
    for _ in 0..3 {
        app.poll_and_evaluate().await;
    }
    assert_eq!(
        estimate(&app).await,
        None,
        "no estimate without the counter"
    );
    assert_eq!(app.metric("flexus_egress_up", &[]).await, Some(0.0));
    assert_eq!(
        tg.count("egress counter cannot be read"),
        1,
        "{:?}",
        tg.texts()
    );
    assert_eq!(app.calls.count(), 0, "the bill alone says 100 GB");
    app.stop().await;
}

#[tokio::test]
async fn a_restart_and_a_reboot_mid_cycle_keep_the_egress() {
    let (bss, tg) = bss_and_telegram().await;
    let dir = state_dir("sys");
    sent(&dir, 7 * GB);
    bss.set_gb(ID, 500.0, 1000.0);
    let app = live_app(&bss, &tg, &dir, &[]).await;
    let env_state = app.config.state_dir.clone();
    app.poll_and_evaluate().await;
    sent(&dir, 17 * GB);
    app.poll_and_evaluate().await;
    assert_eq!(estimate(&app).await, Some(490.0));
    app.stop().await;

    // The process restarts in the same boot; 5 GB more went out meanwhile.
    sent(&dir, 22 * GB);
    let state = env_state.display().to_string();
    let app = live_app(&bss, &tg, &dir, &[("STATE_DIR", &state)]).await;
    app.poll_and_evaluate().await;
    assert_eq!(estimate(&app).await, Some(485.0));
    app.stop().await;

    // The server reboots: the counter starts again from zero and shows 4 GB since.
    fake::set_boot(&dir, "boot-b");
    sent(&dir, 4 * GB);
    let mut opts = spawn_opts(&dir, "boot-b");
    opts.boot_id = Some("boot-b".into());
    let mut env = crate::helpers::app_env(&bss, &tg, &[("SHUTDOWN_DELAY", "0s")]);
    env.extend(crate::helpers::vars(&[
        ("EGRESS_COUNTER", "on"),
        ("EGRESS_BILL_LAG", "1h"),
        ("STATE_DIR", &state),
    ]));
    let app = TestApp::spawn_with(&env, opts).await;
    app.poll_and_evaluate().await;
    assert_eq!(estimate(&app).await, Some(481.0));
    assert!(estimate(&app).await.unwrap() <= 500.0);
    app.stop().await;
}

#[tokio::test]
async fn a_new_cycle_re_anchors_and_the_estimate_never_exceeds_the_bill() {
    use chrono::{DurationRound, SecondsFormat, Utc};
    let (bss, tg) = bss_and_telegram().await;
    let dir = state_dir("sys");
    sent(&dir, 0);
    let app = live_app(&bss, &tg, &dir, &[]).await;
    // A cycle that ends in a few seconds, then the next one, as BSS shows them.
    let end = Utc::now()
        .duration_trunc(chrono::Duration::seconds(1))
        .unwrap()
        + chrono::Duration::seconds(3);
    let cycle = |amount: f64, start: chrono::DateTime<Utc>, end: chrono::DateTime<Utc>| {
        let mut e = crate::helpers::fakes::bss::package(
            ID,
            serde_json::json!(amount),
            serde_json::json!(1000),
            serde_json::json!(10),
        );
        e["start_time"] = serde_json::json!(start.to_rfc3339_opts(SecondsFormat::Secs, true));
        e["end_time"] = serde_json::json!(end.to_rfc3339_opts(SecondsFormat::Secs, true));
        e
    };
    bss.set_entry(ID, cycle(300.0, end - chrono::Duration::days(30), end));
    app.poll_and_evaluate().await;
    sent(&dir, 200 * GB);
    app.poll_and_evaluate().await;
    assert_eq!(estimate(&app).await, Some(100.0));
    // The reset: the amount is back to 1000 GB from `end` on; the 200 GB sent before it belong
    // to the old cycle, the 3 GB after it to the new one.
    let wait = (end - Utc::now()).to_std().unwrap_or_default();
    tokio::time::sleep(wait + std::time::Duration::from_millis(300)).await;
    bss.set_entry(ID, cycle(1000.0, end, end + chrono::Duration::days(31)));
    sent(&dir, 203 * GB);
    app.poll_and_evaluate().await;
    let now = estimate(&app).await.unwrap();
    assert!(now <= 1000.0);
    assert!(
        (now - 997.0).abs() < 1e-6,
        "only the egress of the new cycle counts: {now}"
    );
    assert_eq!(app.calls.count(), 0);
    app.stop().await;
}

// ---- real traffic in network namespaces ----

/// What one run measured.
struct Run {
    /// The rate that crossed the interface while it was pushed, in Gbit/s.
    gbit_s: f64,
    /// GB (1024³ bytes, as the bill counts) past level 1 when the countdown began; negative when
    /// it began before level 1 was truly reached.
    overshoot_gb: f64,
    lag_learned: Option<f64>,
}

/// The transmitted bytes of `dev` in the namespace of process `pid`.
fn tx_of(pid: u32, dev: &str) -> Option<u64> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/net/dev")).ok()?;
    flexus_traffic_monitor::egress::counter::proc_net_dev(&text, dev).map(|c| c.tx)
}

const QUOTA_GB: f64 = 60.0;
const T1_GB: f64 = 30.0;

/// The program's side in the server namespace (its counter read there), `iperf3` pushing `rate`
/// out of it, and a fake BSS deducting what crossed the interface `lag` late, polled every 2 s.
/// Returns how far past level 1 the countdown began, with the live meter on or off.
async fn overshoot(counter: bool, rate: &str, lag: std::time::Duration) -> Option<Run> {
    use crate::helpers::netns::{Pair, SERVER_IP};
    use crate::helpers::{base_env, config};
    use flexus_traffic_monitor::app::{App, Deps, Loops};
    use std::time::{Duration, Instant};

    let pair = Pair::new()?;
    // A process in the server namespace: its /proc/<pid>/net shows that namespace's counters
    // and routes, as /proc/net does for the program on a real server.
    let mut holder = std::process::Command::new("ip")
        .args(["netns", "exec", &pair.server, "sleep", "900"])
        .spawn()
        .unwrap();
    let pid = holder.id();
    std::thread::sleep(Duration::from_millis(200));
    let dev = pair.dev.clone();
    assert!(tx_of(pid, &dev).is_some(), "the server namespace's counter");
    let fake = FakeBss::start().await;
    let start = tx_of(pid, &dev).unwrap();
    let read_dev = dev.clone();
    fake.deduct_from(ID, QUOTA_GB, lag, move || tx_of(pid, &read_dev));

    let mut env = base_env(&fake, &[ID]);
    let on = if counter { "on" } else { "off" };
    for (k, v) in [
        ("EGRESS_COUNTER", on),
        ("EGRESS_SAMPLE_INTERVAL", "1s"),
        ("EGRESS_BILL_LAG", "60s"),
        ("POLL_INTERVAL", "2s"),
        ("FALLBACK", "always"),
        ("THRESHOLD_LEVEL_1", "30"),
        ("THRESHOLD_LEVEL_2", "40"),
        ("THRESHOLD_LEVEL_3", "50"),
        ("MAX_EGRESS_RATE", "100gbit"),
        ("SHUTDOWN_DELAY", "600s"),
        ("DRY_RUN", "true"),
        ("MESSAGE_LANG", "en"),
    ] {
        env.push((k.into(), v.into()));
    }
    let cfg = config(&env);
    let bss = flexus_traffic_monitor::commands::bss_client(&cfg).unwrap();
    let empty_sys = state_dir("no-sys");
    let app = App::build(
        cfg,
        Deps {
            sink: Some(flexus_traffic_monitor::notifier::Sink::Console { stderr: true }),
            egress_roots: Some(flexus_traffic_monitor::egress::counter::Roots {
                sys: empty_sys,
                proc: format!("/proc/{pid}").into(),
            }),
            ..Deps::new(bss)
        },
    )
    .await
    .unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let stop = tokio_util::sync::CancellationToken::new();
    let running = tokio::spawn(app.clone().run_with(listener, stop.clone(), Loops::ALL));

    // Quiet first (the meter's history begins before the traffic), then the push.
    let port = 5301;
    pair.listen_forever(&pair.server, port);
    tokio::time::sleep(Duration::from_secs(8)).await;
    let mut iperf = std::process::Command::new("ip")
        .args([
            "netns",
            "exec",
            &pair.client,
            "iperf3",
            "-c",
            SERVER_IP,
            "-p",
            &port.to_string(),
            "-R",
            "-b",
            rate,
            "-t",
            "400",
        ])
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let pushed_at = Instant::now();
    let pushed_from = tx_of(pid, &dev).unwrap();
    let deadline = Instant::now() + Duration::from_secs(300);
    let mut result = None;
    while Instant::now() < deadline {
        if app.guard.running().is_some() {
            let now = tx_of(pid, &dev).unwrap();
            let truly_left = QUOTA_GB - (now - start) as f64 / (1u64 << 30) as f64;
            let lag_learned = app
                .snapshot
                .read()
                .await
                .live
                .as_ref()
                .filter(|l| l.lag.learned)
                .map(|l| l.lag.value.as_secs_f64());
            result = Some(Run {
                gbit_s: (now - pushed_from) as f64 * 8.0 / pushed_at.elapsed().as_secs_f64() / 1e9,
                overshoot_gb: T1_GB - truly_left,
                lag_learned,
            });
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let _ = iperf.kill();
    let _ = iperf.wait();
    stop.cancel();
    running.await.unwrap().unwrap();
    let _ = holder.kill();
    let _ = holder.wait();
    Some(result.expect("the countdown began within 5 minutes"))
}

/// The done-criterion of the live meter: with the same traffic and the same lagging bill, the
/// bill alone starts the level-1 countdown about rate × lag past the threshold; the estimate
/// starts it within about one counter interval of it. `LIVE_RATE` (iperf3 `-b`, default 4G) and
/// `LIVE_LAG_S` (default 20) choose the row.
#[tokio::test(flavor = "multi_thread")]
async fn with_real_traffic_the_estimate_acts_near_level_1_where_the_lagging_bill_overshoots() {
    let rate = std::env::var("LIVE_RATE").unwrap_or_else(|_| "4G".into());
    let lag_s: u64 = std::env::var("LIVE_LAG_S")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(20);
    let lag = std::time::Duration::from_secs(lag_s);
    let Some(bill) = overshoot(false, &rate, lag).await else {
        return;
    };
    let Some(live) = overshoot(true, &rate, lag).await else {
        return;
    };
    eprintln!(
        "| lag | rate | bill only: past level 1 | estimate: past level 1 | lag learned |\n\
         | {lag_s} s | {:.2} / {:.2} Gbit/s | {:.2} GB | {:.2} GB | {} |",
        bill.gbit_s,
        live.gbit_s,
        bill.overshoot_gb,
        live.overshoot_gb,
        live.lag_learned
            .map_or("no".to_string(), |l| format!("{l:.1} s"))
    );
    let gb_per_s = |gbit_s: f64| gbit_s * 1e9 / 8.0 / (1u64 << 30) as f64;
    // The bill alone: at least most of rate × lag too late.
    assert!(
        bill.overshoot_gb >= 0.8 * gb_per_s(bill.gbit_s) * lag_s as f64,
        "bill only: {:.2} GB",
        bill.overshoot_gb
    );
    // The estimate: within one counter interval (1 s) of the threshold, early rather than late,
    // and not absurdly early.
    assert!(live.lag_learned.is_some(), "the lag was learned");
    assert!(
        live.overshoot_gb <= gb_per_s(live.gbit_s) * 1.0 + 0.2,
        "estimate: {:.2} GB past level 1",
        live.overshoot_gb
    );
    assert!(
        live.overshoot_gb >= -0.25 * gb_per_s(live.gbit_s) * lag_s as f64 - 1.0,
        "estimate: {:.2} GB too early",
        live.overshoot_gb
    );
}
