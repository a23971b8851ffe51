//! Hand-over between Prometheus (webhooks) and the built-in fallback evaluator: heartbeats stop,
//! the fallback takes over; they resume, it stands down; no message is repeated or lost either way.

use std::time::Duration;

use serde_json::json;

use crate::helpers::alertmanager::{bearer, payload, TOKEN};
use crate::helpers::{base_env, metric, telegram_env, FakeBss, FakeTelegram, Spawn, TestApp};

const ID: &str = "828e2c7c-3c8c-45a2-bebc-98cb3e77d06e";

fn heartbeat() -> String {
    json!({"version": "4", "status": "firing", "alerts": [{"status": "firing", "labels": {"alertname": "FlexusTrafficWatchdog"}}]}).to_string()
}

async fn wait_for_fallback(app: &TestApp, want: f64, within: Duration) {
    let until = std::time::Instant::now() + within;
    loop {
        if metric(&app.scrape().await, "flexus_fallback_active", &[]) == Some(want) {
            return;
        }
        assert!(
            std::time::Instant::now() < until,
            "flexus_fallback_active never became {want}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn hand_over_in_both_directions_without_duplicates_or_losses() {
    let bss = FakeBss::start().await;
    let tg = FakeTelegram::start().await;
    let mut env = base_env(&bss, &[ID]);
    env.extend(telegram_env(&tg));
    env.extend(
        [
            ("WEBHOOK_TOKEN", TOKEN),
            ("FALLBACK", "auto"),
            ("WATCHDOG_TIMEOUT", "1s"),
            ("DAILY_REPORT", "false"),
        ]
        .map(|(k, v)| (k.to_string(), v.to_string())),
    );
    let app = TestApp::spawn_with(
        &env,
        Spawn {
            background: true,
            ..Default::default()
        },
    )
    .await;

    // Prometheus is alive: the webhook path is in charge.
    app.post_webhook(&heartbeat(), Some(&bearer())).await;
    wait_for_fallback(&app, 0.0, Duration::from_secs(2)).await;
    bss.set_gb(ID, 15.0, 100.0);
    app.poller.poll_once().await.unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    app.settle().await;
    assert!(
        tg.sent().is_empty(),
        "the fallback stays quiet while Prometheus is alive: {:?}",
        tg.texts()
    );
    app.post_webhook(
        &payload(
            "FlexusFreeTrafficLow",
            "firing",
            Some("3"),
            ID,
            "http://am:9093",
        ),
        Some(&bearer()),
    )
    .await;
    app.settle().await;
    assert_eq!(tg.count("Traffic alert (normal)"), 1);

    // Prometheus stops: heartbeats stop, the fallback takes over within WATCHDOG_TIMEOUT (+ a tick).
    wait_for_fallback(&app, 1.0, Duration::from_secs(3)).await;
    // Taking over re-judges the same level-3 reading: not due again, so no duplicate.
    app.poller.poll_once().await.unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    app.settle().await;
    assert_eq!(tg.count("Traffic alert (normal)"), 1, "{:?}", tg.texts());
    // The package drops to level 2 while Prometheus is away: the fallback tells it.
    bss.set_gb(ID, 8.0, 100.0);
    app.poller.poll_once().await.unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    app.settle().await;
    assert_eq!(
        tg.count("Traffic alert (high-frequency)"),
        1,
        "{:?}",
        tg.texts()
    );

    // Prometheus is back: the fallback stands down; the level-2 alert it now sends is no news.
    app.post_webhook(&heartbeat(), Some(&bearer())).await;
    wait_for_fallback(&app, 0.0, Duration::from_secs(2)).await;
    app.post_webhook(
        &payload(
            "FlexusFreeTrafficVeryLow",
            "firing",
            Some("2"),
            ID,
            "http://am:9093",
        ),
        Some(&bearer()),
    )
    .await;
    bss.set_gb(ID, 7.0, 100.0);
    app.poller.poll_once().await.unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    app.settle().await;
    assert_eq!(
        tg.sent().len(),
        2,
        "exactly one level-3 and one level-2 message: {:?}",
        tg.texts()
    );
}

#[tokio::test]
async fn repeated_poll_failures_are_told_once_and_the_recovery_once() {
    let bss = FakeBss::start().await;
    let tg = FakeTelegram::start().await;
    let mut env = base_env(&bss, &[ID]);
    env.extend(telegram_env(&tg));
    env.push(("DAILY_REPORT".into(), "false".into()));
    let app = TestApp::spawn(&env).await;
    bss.set_gb(ID, 50.0, 100.0);
    app.poll_and_evaluate().await;
    bss.remove(ID);
    for _ in 0..5 {
        app.poll_and_evaluate().await;
    }
    assert_eq!(tg.count("monitoring is failing"), 1, "{:?}", tg.texts());
    assert!(
        tg.texts()[0].contains("3 polls in a row failed"),
        "{:?}",
        tg.texts()
    );
    bss.set_gb(ID, 50.0, 100.0);
    app.poll_and_evaluate().await;
    app.poll_and_evaluate().await;
    assert_eq!(tg.count("monitoring works again"), 1);
}

#[tokio::test]
async fn a_credential_error_is_told_at_once_with_the_fix() {
    let bss = FakeBss::start().await;
    let tg = FakeTelegram::start().await;
    let mut env = base_env(&bss, &[ID]);
    env.extend(telegram_env(&tg));
    env.push(("HUAWEICLOUD_SDK_SK".into(), "expired-or-wrong".into()));
    let app = TestApp::spawn(&env).await;
    app.poll_and_evaluate().await;
    let texts = tg.texts();
    assert_eq!(texts.len(), 1);
    assert!(
        texts[0].contains("configuration problem") && texts[0].contains("HUAWEICLOUD_SDK_SK"),
        "{texts:?}"
    );
    assert!(!texts[0].contains("expired-or-wrong"));
}
