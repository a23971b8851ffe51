//! Hand-over between Prometheus (webhooks) and the built-in fallback evaluator: heartbeats stop,
//! the fallback takes over; they resume, it stands down; no message is repeated or lost either way.

use std::time::Duration;

use crate::helpers::alertmanager::{alert, watchdog, TOKEN};
use crate::helpers::{app_env, bss_and_telegram, Spawn, TestApp, ID};

async fn wait_for_fallback(app: &TestApp, want: f64, within: Duration) {
    let until = std::time::Instant::now() + within;
    loop {
        if app.metric("flexus_fallback_active", &[]).await == Some(want) {
            return;
        }
        assert!(
            std::time::Instant::now() < until,
            "flexus_fallback_active never became {want}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// A poll the background evaluator judges: a moment for it to run, then its messages delivered.
async fn poll_in_background(app: &TestApp) {
    app.poller.poll_once().await.unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    app.settle().await;
}

#[tokio::test]
async fn hand_over_in_both_directions_without_duplicates_or_losses() {
    let (bss, tg) = bss_and_telegram().await;
    let env = app_env(
        &bss,
        &tg,
        &[
            ("WEBHOOK_TOKEN", TOKEN),
            ("FALLBACK", "auto"),
            ("WATCHDOG_TIMEOUT", "1s"),
            ("DAILY_REPORT", "false"),
        ],
    );
    let app = TestApp::spawn_with(&env, Spawn::background()).await;

    // Prometheus is alive: the webhook path is in charge.
    app.deliver(&watchdog("firing")).await;
    wait_for_fallback(&app, 0.0, Duration::from_secs(2)).await;
    bss.set_gb(ID, 15.0, 100.0);
    poll_in_background(&app).await;
    assert!(
        tg.sent().is_empty(),
        "the fallback stays quiet while Prometheus is alive: {:?}",
        tg.texts()
    );
    app.deliver(&alert("FlexusFreeTrafficLow", "firing", Some("3")))
        .await;
    app.settle().await;
    assert_eq!(tg.count("Traffic alert (normal)"), 1);

    // Prometheus stops: heartbeats stop, the fallback takes over within WATCHDOG_TIMEOUT (+ a tick).
    wait_for_fallback(&app, 1.0, Duration::from_secs(3)).await;
    // Taking over re-judges the same level-3 reading: not due again, so no duplicate.
    poll_in_background(&app).await;
    assert_eq!(tg.count("Traffic alert (normal)"), 1, "{:?}", tg.texts());
    // The package drops to level 2 while Prometheus is away: the fallback tells it.
    bss.set_gb(ID, 8.0, 100.0);
    poll_in_background(&app).await;
    assert_eq!(
        tg.count("Traffic alert (high-frequency)"),
        1,
        "{:?}",
        tg.texts()
    );

    // Prometheus is back: the fallback stands down; the level-2 alert it now sends is no news.
    app.deliver(&watchdog("firing")).await;
    wait_for_fallback(&app, 0.0, Duration::from_secs(2)).await;
    app.deliver(&alert("FlexusFreeTrafficVeryLow", "firing", Some("2")))
        .await;
    bss.set_gb(ID, 7.0, 100.0);
    poll_in_background(&app).await;
    assert_eq!(
        tg.sent().len(),
        2,
        "exactly one level-3 and one level-2 message: {:?}",
        tg.texts()
    );
}

#[tokio::test]
async fn repeated_poll_failures_are_told_once_and_the_recovery_once() {
    let (bss, tg) = bss_and_telegram().await;
    let app = TestApp::spawn(&app_env(&bss, &tg, &[("DAILY_REPORT", "false")])).await;
    bss.set_gb(ID, 50.0, 100.0);
    app.poll_and_evaluate().await;
    bss.remove(ID);
    for _ in 0..5 {
        app.poll_and_evaluate().await;
    }
    assert_eq!(tg.count("monitoring is failing"), 1, "{:?}", tg.texts());
    assert!(
        tg.has(&["monitoring is failing", "3 polls in a row failed"]),
        "{:?}",
        tg.texts()
    );
    // The package's own problem was told at once, before the generic message, and once.
    assert!(
        tg.texts()[0].contains("Reading not used") && tg.texts()[0].contains("FREE_RESOURCE_IDS"),
        "{:?}",
        tg.texts()
    );
    assert_eq!(tg.count("Reading not used"), 1, "{:?}", tg.texts());
    bss.set_gb(ID, 50.0, 100.0);
    app.poll_and_evaluate().await;
    app.poll_and_evaluate().await;
    assert_eq!(tg.count("monitoring works again"), 1);
    assert_eq!(tg.count("Readings usable again"), 1);
}

#[tokio::test]
async fn a_credential_error_is_told_at_once_with_the_fix() {
    let (bss, tg) = bss_and_telegram().await;
    let app = TestApp::spawn(&app_env(
        &bss,
        &tg,
        &[("HUAWEICLOUD_SDK_SK", "expired-or-wrong")],
    ))
    .await;
    app.poll_and_evaluate().await;
    let texts = tg.texts();
    assert_eq!(texts.len(), 1);
    assert!(
        texts[0].contains("configuration problem") && texts[0].contains("HUAWEICLOUD_SDK_SK"),
        "{texts:?}"
    );
    assert!(!texts[0].contains("expired-or-wrong"));
}
