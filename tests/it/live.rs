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
