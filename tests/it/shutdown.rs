//! Every path to and away from a shutdown: the ways it must not happen and the ways it must.

use std::time::Duration;

use serde_json::json;

use crate::helpers::alertmanager::alert;
use crate::helpers::app::{fallback_app, webhook_app};
use crate::helpers::fakes::bss::package;
use crate::helpers::{
    bss_and_telegram, marker_script, state_dir, FakeBss, FakeTelegram, Reply, Spawn, TestApp, ID,
};

// ---- must not ----

#[tokio::test]
async fn bad_data_never_shuts_down() {
    let (bss, tg) = bss_and_telegram().await;
    let app = fallback_app(&bss, &tg, &[], Spawn::default()).await;
    for bad in [json!(null), json!("garbage"), json!(-5)] {
        bss.set_entry(ID, package(ID, bad, json!(100), json!(10)));
        app.poll_and_evaluate().await;
    }
    bss.set_entry(ID, package(ID, json!(1), json!(100), json!(99)));
    app.poll_and_evaluate().await;
    bss.remove(ID);
    app.poll_and_evaluate().await;
    assert_eq!(app.calls.count(), 0);
    assert_eq!(tg.count("almost used up"), 0);
}

#[tokio::test]
async fn an_unreadable_cycle_end_is_no_reading_and_never_a_shutdown_loop() {
    let (bss, tg) = bss_and_telegram().await;
    let app = fallback_app(&bss, &tg, &[], Spawn::default()).await;
    let mut entry = package(ID, json!(1), json!(100), json!(10));
    entry["end_time"] = json!("garbage");
    bss.set_entry(ID, entry);
    for _ in 0..3 {
        app.poll_and_evaluate().await;
    }
    assert_eq!(app.calls.count(), 0);
    let snap = app.state.snapshot.read().await.clone();
    let error = snap.packages[0]
        .error
        .as_ref()
        .map(ToString::to_string)
        .unwrap_or_default();
    assert!(error.contains("end_time"), "{error}");
}

#[tokio::test]
async fn conflicting_duplicate_entries_are_no_reading_and_equal_ones_are_harmless() {
    let (bss, tg) = bss_and_telegram().await;
    let app = fallback_app(&bss, &tg, &[], Spawn::default()).await;
    // The same package twice in one answer, 1 GB (below T1) and 900 GB, in both orders.
    let low = package(ID, json!(1), json!(1000), json!(10));
    let high = package(ID, json!(900), json!(1000), json!(10));
    // Were a countdown started, its fresh reading would get the ordinary answer: 1 GB.
    bss.set_entry(ID, low.clone());
    for pair in [[&low, &high], [&high, &low]] {
        bss.push(Reply::Json(200, json!({ "free_resources": pair })));
        app.poll_and_evaluate().await;
        assert_eq!(app.calls.count(), 0);
        let snap = app.state.snapshot.read().await.clone();
        let error = snap.packages[0]
            .error
            .as_ref()
            .map(ToString::to_string)
            .unwrap_or_default();
        assert!(error.contains("different figures"), "{error}");
    }
    // Equal duplicates read as one package (for the poll and the guard's fresh reading).
    for _ in 0..2 {
        bss.push(Reply::Json(200, json!({ "free_resources": [&low, &low] })));
    }
    app.poll_and_evaluate().await;
    assert_eq!(app.calls.count(), 1);
}

#[tokio::test]
async fn a_failed_fresh_poll_cancels() {
    let (bss, tg) = bss_and_telegram().await;
    bss.set_gb(ID, 1.0, 100.0);
    let app = webhook_app(&bss, &tg, &[], Spawn::default()).await;
    app.poller.poll_once().await.unwrap();
    bss.push(Reply::Json(401, json!({"error_code": "APIGW.0301", "error_msg": "Incorrect IAM authentication information"})));
    let body = alert("FlexusFreeTrafficCritical", "firing", Some("1"));
    assert_eq!(app.deliver(&body).await.status(), 200);
    app.settle().await;
    assert_eq!(app.calls.count(), 0);
    assert_eq!(tg.count("Shutdown cancelled"), 1, "{:?}", tg.texts());
    assert!(tg.has(&["fresh reading failed"]));
}

#[tokio::test]
async fn a_fresh_reading_at_or_above_t1_cancels() {
    let (bss, tg) = bss_and_telegram().await;
    bss.set_gb(ID, 1.0, 100.0);
    let app = webhook_app(&bss, &tg, &[], Spawn::default()).await;
    app.poller.poll_once().await.unwrap();
    // The package was renewed: BSS now says exactly T1.
    bss.set_gb(ID, 5.0, 100.0);
    let body = alert("FlexusFreeTrafficCritical", "firing", Some("1"));
    app.deliver(&body).await;
    app.settle().await;
    assert_eq!(app.calls.count(), 0);
    assert!(
        tg.has(&["Shutdown cancelled", "5.00 GB"]),
        "{:?}",
        tg.texts()
    );
    assert_eq!(
        app.metric("flexus_shutdowns_total", &["result=\"cancelled\""])
            .await,
        Some(1.0)
    );
}

#[tokio::test]
async fn a_resolved_alert_cancels_the_countdown() {
    let (bss, tg) = bss_and_telegram().await;
    bss.set_gb(ID, 1.0, 100.0);
    let app = webhook_app(&bss, &tg, &[("SHUTDOWN_DELAY", "3s")], Spawn::default()).await;
    app.poller.poll_once().await.unwrap();
    app.deliver(&alert("FlexusFreeTrafficCritical", "firing", Some("1")))
        .await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(app.guard.running().as_deref(), Some(ID));
    app.deliver(&alert("FlexusFreeTrafficCritical", "resolved", Some("1")))
        .await;
    app.settle().await;
    assert_eq!(app.calls.count(), 0);
    assert!(
        tg.has(&["Shutdown cancelled", "resolved"]),
        "{:?}",
        tg.texts()
    );
}

/// The second node of an Alertmanager pair can deliver a level-2 alert after level 1 was told.
/// Without a fresh reading of our own, that late alert announces no recovery and leaves the level
/// as told; the countdown and the guard's own fresh reading decide.
#[tokio::test]
async fn a_late_better_alert_without_a_fresh_reading_keeps_the_countdown() {
    let (bss, tg) = bss_and_telegram().await;
    bss.set_gb(ID, 1.0, 100.0);
    let app = webhook_app(&bss, &tg, &[("SHUTDOWN_DELAY", "3s")], Spawn::default()).await;
    app.deliver(&alert("FlexusFreeTrafficCritical", "firing", Some("1")))
        .await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(app.guard.running().as_deref(), Some(ID));
    // It began firing (the payload's startsAt) before level 1 was told.
    app.deliver(&alert("FlexusFreeTrafficVeryLow", "firing", Some("2")))
        .await;
    app.settle().await;
    assert_eq!(app.calls.count(), 1, "{:?}", tg.texts());
    assert!(
        !tg.has(&["recovered"]) && !tg.has(&["cancelled"]),
        "{:?}",
        tg.texts()
    );
    // Level 1 was told once: the late alert did not move the level, so nothing re-enters it.
    app.deliver(&alert("FlexusFreeTrafficCritical", "firing", Some("1")))
        .await;
    app.settle().await;
    assert_eq!(
        tg.count("after a fresh reading confirms it"),
        1,
        "{:?}",
        tg.texts()
    );
}

#[tokio::test]
async fn dry_run_runs_nothing_and_says_what_it_would_do() {
    let (bss, tg) = bss_and_telegram().await;
    bss.set_gb(ID, 1.0, 100.0);
    let dir = state_dir("dry-run");
    let (script, marker) = marker_script(&dir, "exit 0");
    let app = fallback_app(
        &bss,
        &tg,
        &[
            ("DRY_RUN", "true"),
            ("SHUTDOWN_COMMAND", script.to_str().unwrap()),
        ],
        Spawn::real_executor(),
    )
    .await;
    app.poll_and_evaluate().await;
    assert!(!marker.exists(), "the command must not run in a dry run");
    assert!(tg.has(&["dry run", "would"]), "{:?}", tg.texts());
    assert_eq!(
        app.metric("flexus_shutdowns_total", &["result=\"dry_run\""])
            .await,
        Some(1.0)
    );
    // The dry run is recorded like an action: no loop of countdowns on every poll.
    app.poll_and_evaluate().await;
    assert_eq!(tg.count("Shutdown countdown"), 1);
}

#[tokio::test]
async fn shutdown_off_only_notifies() {
    let (bss, tg) = bss_and_telegram().await;
    bss.set_gb(ID, 1.0, 100.0);
    let app = fallback_app(&bss, &tg, &[("SHUTDOWN_MODE", "off")], Spawn::default()).await;
    app.poll_and_evaluate().await;
    app.poll_and_evaluate().await;
    assert_eq!(app.calls.count(), 0);
    assert_eq!(tg.count("SHUTDOWN_MODE=off"), 1, "{:?}", tg.texts());
    assert_eq!(tg.count("countdown"), 0);
}

#[tokio::test]
async fn start_up_with_stored_level_1_does_not_act() {
    let (bss, tg) = bss_and_telegram().await;
    let dir = state_dir("stored-l1");
    std::fs::write(
        dir.join("state.json"),
        json!({"packages": {ID: {"level": "1", "last_alert": {"1": "2026-11-28T00:00:00Z"}}}})
            .to_string(),
    )
    .unwrap();
    let app = fallback_app(
        &bss,
        &tg,
        &[("STATE_DIR", dir.to_str().unwrap())],
        Spawn::background(),
    )
    .await;
    assert_eq!(
        app.engine.state.snapshot().await.packages[ID].level,
        Some(flexus_traffic_monitor::level::Level::L1),
        "the stored state was loaded"
    );
    // BSS fails: nothing fresh, nothing done.
    bss.push(Reply::Raw(500, "text/plain", "down".into()));
    bss.push(Reply::Raw(500, "text/plain", "down".into()));
    bss.push(Reply::Raw(500, "text/plain", "down".into()));
    let _ = app.poller.poll_once().await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    app.settle().await;
    assert_eq!(app.calls.count(), 0);
    assert!(app.guard.running().is_none());
}

// ---- must ----

#[tokio::test]
async fn a_fresh_reading_below_t1_after_the_countdown_shuts_down_once_via_fallback() {
    let (bss, tg) = bss_and_telegram().await;
    bss.set_gb(ID, 4.0, 100.0);
    let app = fallback_app(&bss, &tg, &[("SHUTDOWN_DELAY", "4s")], Spawn::default()).await;
    app.poll_and_evaluate().await;
    assert_eq!(app.calls.count(), 1);
    let texts = tg.texts();
    let order = [
        "Free traffic almost used up",
        "Shutdown countdown",
        "shuts down in",
        "is shutting down",
        "shutdown executed",
    ];
    let mut pos = 0;
    for want in order {
        let found = texts[pos..]
            .iter()
            .position(|t| t.contains(want))
            .unwrap_or_else(|| panic!("{want} missing after {pos}: {texts:#?}"));
        pos += found + 1;
    }
    // More polls below T1 in the same boot do not act again.
    app.poll_and_evaluate().await;
    app.poll_and_evaluate().await;
    assert_eq!(app.calls.count(), 1);
}

#[tokio::test]
async fn a_later_boot_in_the_same_cycle_acts_again_only_when_configured() {
    let (bss, tg) = bss_and_telegram().await;
    bss.set_gb(ID, 1.0, 100.0);
    let dir = state_dir("reboot");
    let dir_s = dir.to_str().unwrap().to_string();
    let repeat_off = [("SHUTDOWN_REPEAT_AFTER_BOOT", "false")];
    for (boot, extra, acts, why) in [
        ("boot-a", &[][..], 1, "the first boot below T1"),
        (
            "boot-a",
            &[][..],
            0,
            "a restart of the service in the same boot",
        ),
        (
            "boot-b",
            &repeat_off[..],
            0,
            "a new boot, repeating off: left alone",
        ),
        (
            "boot-c",
            &[][..],
            1,
            "a new boot, repeating on (the default): again",
        ),
    ] {
        let mut settings = vec![("STATE_DIR", dir_s.as_str())];
        settings.extend_from_slice(extra);
        let app = fallback_app(&bss, &tg, &settings, Spawn::boot(boot)).await;
        app.poll_and_evaluate().await;
        assert_eq!(app.calls.count(), acts, "{why}");
        app.stop().await;
    }
}

#[tokio::test]
async fn the_real_command_executor_runs_the_script() {
    let (bss, tg) = bss_and_telegram().await;
    bss.set_gb(ID, 1.0, 100.0);
    let dir = state_dir("command");
    let (script, marker) = marker_script(&dir, "exit 0");
    let cmd = format!("{} -h now", script.display());
    let app = fallback_app(
        &bss,
        &tg,
        &[("SHUTDOWN_COMMAND", &cmd)],
        Spawn::real_executor(),
    )
    .await;
    app.poll_and_evaluate().await;
    assert_eq!(
        std::fs::read_to_string(&marker).unwrap(),
        "shutdown -h now\n"
    );
    assert_eq!(
        app.metric("flexus_shutdowns_total", &["result=\"executed\""])
            .await,
        Some(1.0)
    );
}

#[tokio::test]
async fn a_failing_or_hanging_command_is_reported() {
    for (body, timeout, want) in [
        (
            "echo 'sudo: a password is required' >&2; exit 1",
            "10s",
            "NOPASSWD",
        ),
        ("sleep 30", "1s", "did not finish"),
    ] {
        let (bss, tg) = bss_and_telegram().await;
        bss.set_gb(ID, 1.0, 100.0);
        let dir = state_dir("failing");
        let (script, marker) = marker_script(&dir, body);
        let app = fallback_app(
            &bss,
            &tg,
            &[
                ("SHUTDOWN_COMMAND", script.to_str().unwrap()),
                ("SHUTDOWN_COMMAND_TIMEOUT", timeout),
            ],
            Spawn::real_executor(),
        )
        .await;
        app.poll_and_evaluate().await;
        assert!(marker.exists());
        assert!(
            tg.has(&["Shutdown failed", want]),
            "{want}: {:?}",
            tg.texts()
        );
        assert_eq!(
            app.metric("flexus_shutdowns_total", &["result=\"failed\""])
                .await,
            Some(1.0)
        );
    }
}

#[tokio::test]
async fn a_corrupt_state_file_is_kept_aside_reported_and_replaced() {
    let (bss, tg) = bss_and_telegram().await;
    let dir = state_dir("corrupt");
    std::fs::write(dir.join("state.json"), b"{\"packages\": {\"x\": [truncated").unwrap();
    let app = fallback_app(
        &bss,
        &tg,
        &[("STATE_DIR", dir.to_str().unwrap())],
        Spawn::default(),
    )
    .await;
    app.settle().await;
    assert!(tg.has(&["state file was unreadable"]), "{:#?}", tg.texts());
    let kept: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| {
            e.file_name()
                .to_string_lossy()
                .starts_with("state.json.corrupt-")
        })
        .collect();
    assert_eq!(kept.len(), 1);
    assert_eq!(
        std::fs::read(kept[0].path()).unwrap(),
        b"{\"packages\": {\"x\": [truncated"
    );
    // Nothing stored means nothing acted on: a low reading still goes through the full guard.
    bss.set_gb(ID, 50.0, 100.0);
    app.poll_and_evaluate().await;
    assert!(serde_json::from_slice::<serde_json::Value>(
        &std::fs::read(dir.join("state.json")).unwrap()
    )
    .is_ok());
}

// ---- the guard never waits behind other messages ----

async fn backlog_app(bss: &FakeBss, tg: &FakeTelegram, backlog: usize) -> TestApp {
    let app = fallback_app(bss, tg, &[("SHUTDOWN_DELAY", "4s")], Spawn::background()).await;
    for i in 0..backlog {
        app.notifier
            .enqueue(&flexus_traffic_monitor::messages::Message::ExternalAlert {
                server: "s".into(),
                alertname: format!("Backlog{i}"),
                firing: true,
                summary: "queued earlier".into(),
            })
            .unwrap();
    }
    app
}

/// Polls once below T1 and lets the guard run to its end, without flushing the outbox.
async fn run_guard(app: &TestApp) {
    app.poller.poll_once().await.unwrap();
    app.engine.evaluate(chrono::Utc::now()).await.unwrap();
    app.guard.wait_idle().await;
}

fn position(texts: &[String], needle: &str) -> usize {
    texts
        .iter()
        .position(|t| t.contains(needle))
        .unwrap_or_else(|| panic!("{needle} missing in {} messages", texts.len()))
}

#[tokio::test]
async fn countdown_messages_overtake_a_backlog_on_a_slow_telegram() {
    let (bss, tg) = bss_and_telegram().await;
    tg.set_delay(Duration::from_millis(50));
    bss.set_gb(ID, 4.0, 100.0);
    let app = backlog_app(&bss, &tg, 1000).await;
    run_guard(&app).await;
    assert_eq!(app.calls.count(), 1);
    // Every warning was delivered before the shutdown, ahead of most of the backlog.
    let texts = tg.texts();
    assert_eq!(tg.count("shuts down in"), 3, "{} sent", texts.len());
    let shutting = position(&texts, "is shutting down");
    assert!(shutting < 500, "the shutdown notice was message {shutting}");
    assert!(position(&texts, "Shutdown countdown") < shutting);
    assert!(
        app.notifier.pending() > 0,
        "the guard did not wait for the backlog"
    );
}

#[tokio::test]
async fn countdown_messages_overtake_a_backlog_on_a_rate_limited_telegram() {
    let (bss, tg) = bss_and_telegram().await;
    tg.set_rate_limit(10, Duration::from_secs(3));
    bss.set_gb(ID, 4.0, 100.0);
    let app = backlog_app(&bss, &tg, 300).await;
    run_guard(&app).await;
    assert_eq!(app.calls.count(), 1);
    let texts = tg.texts();
    assert_eq!(tg.count("shuts down in"), 3, "{texts:#?}");
    assert_eq!(tg.count("is shutting down"), 1, "{texts:#?}");
    assert!(app.notifier.pending() > 100, "most of the backlog waits");
}
