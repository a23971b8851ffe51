//! `POST /alertmanager` with the real captured payloads and the faults Alertmanager can produce.

use std::time::Duration;

use serde_json::{json, Value};

use crate::helpers::alertmanager::{alert, deliver, payload, watchdog, FIRING, RESOLVED, TOKEN};
use crate::helpers::app::webhook_app;
use crate::helpers::{app_env, bss_and_telegram, metric, Reply, Spawn, TestApp, ID};

/// `body` (a JSON payload) with the top-level field `key` set to `value`.
fn with(body: &str, key: &str, value: Value) -> String {
    let mut v: Value = serde_json::from_str(body).unwrap();
    v[key] = value;
    v.to_string()
}

/// The answer of BSS to a request with wrong credentials (not retried by the client).
fn bss_refuses() -> Reply {
    Reply::Json(
        401,
        json!({"error_code": "APIGW.0301", "error_msg": "Incorrect IAM authentication information"}),
    )
}

#[tokio::test]
async fn the_captured_firing_payload_starts_the_guard_and_one_shutdown() {
    let (bss, tg) = bss_and_telegram().await;
    bss.set_gb(ID, 4.2, 100.0);
    let app = webhook_app(&bss, &tg, &[], Spawn::default()).await;
    app.poller.poll_once().await.unwrap();
    let r = app.deliver(FIRING).await;
    assert_eq!(r.status(), 200);
    let summary: Value = r.json().await.unwrap();
    assert_eq!(summary["shutdown_requests"], 1);
    app.settle().await;
    assert_eq!(app.calls.count(), 1);
    assert_eq!(tg.count("Free traffic almost used up"), 1);
    assert_eq!(tg.count("shutdown executed"), 1);
    let m = app.scrape().await;
    assert_eq!(
        metric(&m, "flexus_shutdowns_total", &["result=\"executed\""]),
        Some(1.0)
    );
    assert_eq!(
        metric(&m, "flexus_webhooks_total", &["result=\"ok\""]),
        Some(1.0)
    );
}

#[tokio::test]
async fn bad_requests_get_400_401_and_413() {
    let (bss, tg) = bss_and_telegram().await;
    let app = webhook_app(&bss, &tg, &[], Spawn::default()).await;
    assert_eq!(app.deliver("{not json").await.status(), 400);
    assert_eq!(app.deliver(r#"{"status":"firing"}"#).await.status(), 400);
    assert_eq!(app.post_webhook(FIRING, None).await.status(), 401);
    assert_eq!(
        app.post_webhook(FIRING, Some("Bearer wrong-token-0123456789"))
            .await
            .status(),
        401
    );
    let big = format!(
        "{{\"alerts\":[],\"pad\":\"{}\"}}",
        "x".repeat(2 * 1024 * 1024)
    );
    assert_eq!(app.deliver(&big).await.status(), 413);
    // Basic auth with the token as password works too (Alertmanager's basic_auth).
    let basic = format!("Basic {}", base64_encode(&format!("am:{TOKEN}")));
    assert_eq!(app.post_webhook(RESOLVED, Some(&basic)).await.status(), 200);
    let m = app.scrape().await;
    assert_eq!(
        metric(&m, "flexus_webhooks_total", &["result=\"bad_request\""]),
        Some(2.0)
    );
    assert_eq!(
        metric(&m, "flexus_webhooks_total", &["result=\"unauthorized\""]),
        Some(2.0)
    );
    assert_eq!(
        metric(&m, "flexus_webhooks_total", &["result=\"too_large\""]),
        Some(1.0),
        "a 413 is counted"
    );
    assert_eq!(app.calls.count(), 0);
}

fn base64_encode(s: &str) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(s)
}

#[tokio::test]
async fn the_same_alert_twice_or_from_two_alertmanagers_gives_one_message() {
    let (bss, tg) = bss_and_telegram().await;
    bss.set_gb(ID, 15.0, 100.0);
    let app = webhook_app(&bss, &tg, &[], Spawn::default()).await;
    app.poller.poll_once().await.unwrap();
    let a = payload(
        "FlexusFreeTrafficLow",
        "firing",
        Some("3"),
        ID,
        "http://am-1:9093",
    );
    let b = payload(
        "FlexusFreeTrafficLow",
        "firing",
        Some("3"),
        ID,
        "http://am-2:9093",
    );
    for body in [&a, &a, &b] {
        assert_eq!(app.deliver(body).await.status(), 200);
    }
    app.settle().await;
    assert_eq!(tg.count("Traffic alert (normal)"), 1, "{:?}", tg.texts());
}

#[tokio::test]
async fn a_hundred_concurrent_level1_deliveries_give_exactly_one_shutdown() {
    let (bss, tg) = bss_and_telegram().await;
    bss.set_gb(ID, 1.0, 100.0);
    let app = webhook_app(&bss, &tg, &[("SHUTDOWN_DELAY", "1s")], Spawn::default()).await;
    app.poller.poll_once().await.unwrap();
    let mut handles = Vec::new();
    for i in 0..100 {
        let body = payload(
            "FlexusFreeTrafficCritical",
            "firing",
            Some("1"),
            ID,
            &format!("http://am-{}:9093", i % 2),
        );
        let base = app.base_url.clone();
        handles.push(tokio::spawn(async move {
            deliver(&base, &body).await.status().as_u16()
        }));
    }
    for h in handles {
        assert_eq!(h.await.unwrap(), 200);
    }
    app.settle().await;
    // A later delivery of the same alert, after the guard acted, does not act again in this boot.
    let body = payload(
        "FlexusFreeTrafficCritical",
        "firing",
        Some("1"),
        ID,
        "http://am-0:9093",
    );
    assert_eq!(app.deliver(&body).await.status(), 200);
    app.settle().await;
    assert_eq!(app.calls.count(), 1);
    assert_eq!(
        tg.count("Free traffic almost used up"),
        1,
        "{:?}",
        tg.texts()
    );
    assert_eq!(tg.count("Shutdown countdown"), 1);
}

#[tokio::test]
async fn the_watchdog_records_a_heartbeat_and_sends_nothing() {
    let (bss, tg) = bss_and_telegram().await;
    let app = webhook_app(&bss, &tg, &[], Spawn::default()).await;
    let r = app.deliver(&watchdog("firing")).await;
    assert_eq!(r.status(), 200);
    assert_eq!(r.json::<Value>().await.unwrap()["heartbeats"], 1);
    app.settle().await;
    assert!(tg.sent().is_empty());
    assert!(app.engine.last_heartbeat().await.is_some());
}

#[tokio::test]
async fn resolved_alerts_give_one_recovery_message_when_the_reading_agrees() {
    let (bss, tg) = bss_and_telegram().await;
    bss.set_gb(ID, 8.0, 100.0);
    let app = webhook_app(&bss, &tg, &[], Spawn::default()).await;
    app.poller.poll_once().await.unwrap();
    let firing = alert("FlexusFreeTrafficVeryLow", "firing", Some("2"));
    app.deliver(&firing).await;
    // Still at level 2 by our reading: a resolved delivery claims nothing.
    let resolved = alert("FlexusFreeTrafficVeryLow", "resolved", Some("2"));
    app.deliver(&resolved).await;
    app.settle().await;
    assert_eq!(tg.count("Traffic recovered"), 0);
    // A new cycle: our reading is back above T3; the resolved delivery (twice) gives one recovery.
    bss.set_gb(ID, 100.0, 100.0);
    app.poller.poll_once().await.unwrap();
    app.deliver(&resolved).await;
    app.deliver(&resolved).await;
    app.settle().await;
    assert_eq!(tg.count("Traffic alert (high-frequency)"), 1);
    assert_eq!(tg.count("Traffic recovered"), 1, "{:?}", tg.texts());
}

#[tokio::test]
async fn other_alerts_are_forwarded_once_per_episode() {
    let (bss, tg) = bss_and_telegram().await;
    let app = webhook_app(&bss, &tg, &[], Spawn::default()).await;
    let stale = alert("FlexusTrafficDataStale", "firing", None);
    app.deliver(&stale).await;
    app.deliver(&stale).await;
    app.settle().await;
    tokio::time::sleep(Duration::from_millis(10)).await;
    assert_eq!(tg.count("FlexusTrafficDataStale"), 1);
}

#[tokio::test]
async fn an_unwritable_state_dir_answers_503() {
    let (bss, tg) = bss_and_telegram().await;
    let app = webhook_app(&bss, &tg, &[], Spawn::default()).await;
    let outbox = app.config.state_dir.join("outbox");
    std::fs::remove_dir_all(&outbox).unwrap();
    // A file where the outbox directory was: nothing can be queued.
    std::fs::write(&outbox, b"").unwrap();
    let body = alert("FlexusFreeTrafficLow", "firing", Some("3"));
    assert_eq!(app.deliver(&body).await.status(), 503);
    assert_eq!(
        app.metric("flexus_webhooks_total", &["result=\"unavailable\""])
            .await,
        Some(1.0)
    );
}

#[tokio::test]
async fn without_a_token_a_browser_style_post_is_refused_and_alertmanager_is_not() {
    let (bss, tg) = bss_and_telegram().await;
    bss.set_gb(ID, 4.2, 100.0);
    let app = TestApp::spawn(&app_env(&bss, &tg, &[("FALLBACK", "never")])).await;
    assert!(app.config.http.webhook_token.is_none());
    app.poller.poll_once().await.unwrap();
    let client = reqwest::Client::new();
    let url = format!("{}/alertmanager", app.base_url);
    for (content_type, origin) in [
        ("text/plain", Some("https://evil.example")),
        ("text/plain", None),
        ("application/x-www-form-urlencoded", None),
        ("application/json", Some("https://evil.example")),
    ] {
        let mut req = client
            .post(&url)
            .header("content-type", content_type)
            .body(FIRING);
        if let Some(o) = origin {
            req = req.header("origin", o);
        }
        let r = req.send().await.unwrap();
        assert_eq!(r.status(), 403, "{content_type} {origin:?}");
        assert!(r.text().await.unwrap().contains("WEBHOOK_TOKEN"));
    }
    app.settle().await;
    assert_eq!(app.calls.count(), 0);
    assert_eq!(tg.texts().len(), 0, "{:?}", tg.texts());
    let m = app.scrape().await;
    assert_eq!(
        metric(&m, "flexus_webhooks_total", &["result=\"forbidden\""]),
        Some(4.0)
    );
    // Alertmanager's own request still gets through.
    assert_eq!(app.post_webhook(RESOLVED, None).await.status(), 200);
}

#[tokio::test]
async fn an_alert_that_disagrees_with_a_fresh_reading_gives_no_flip_flop() {
    let (bss, tg) = bss_and_telegram().await;
    bss.set_gb(ID, 800.0, 1000.0);
    let app = webhook_app(&bss, &tg, &[("FALLBACK", "always")], Spawn::default()).await;
    app.poll_and_evaluate().await;
    let body = alert("FlexusFreeTrafficWarning", "firing", Some("3"));
    for _ in 0..3 {
        assert_eq!(app.deliver(&body).await.status(), 200);
        app.settle().await;
        app.poll_and_evaluate().await;
    }
    let texts = tg.texts();
    assert_eq!(tg.count("Traffic alert"), 0, "{texts:#?}");
    assert_eq!(tg.count("Traffic recovered"), 0, "{texts:#?}");
    assert_eq!(texts.len(), 1, "only the first report: {texts:#?}");
}

#[tokio::test]
async fn a_huge_label_gives_one_message_and_many_alerts_a_bounded_number() {
    let (bss, tg) = bss_and_telegram().await;
    let app = webhook_app(&bss, &tg, &[], Spawn::default()).await;
    let huge = "x".repeat(700_000);
    let big = "y\n".repeat(30_000);
    let one = json!({"version": "4", "status": "firing", "alerts": [{
        "status": "firing",
        "labels": {"alertname": huge, "server": big},
        "annotations": {"summary": big},
        "startsAt": "2026-11-28T22:31:02Z", "fingerprint": "1"
    }]});
    let r = app.deliver(&one.to_string()).await;
    assert_eq!(r.status(), 200);
    app.settle().await;
    assert_eq!(tg.sent().len(), 1, "one message for one alert");
    let cut = &tg.texts()[0];
    assert!(
        cut.contains(&format!("{}…", "x".repeat(300))) && !cut.contains(&"x".repeat(301)),
        "the label is cut at 300 characters, as the README says: {}",
        cut.chars().count()
    );

    // A level alert for a package without a reading of ours: its summary becomes the message's
    // note (kept multi-line), bounded where it is taken.
    let level = json!({"version": "4", "status": "firing", "alerts": [{
        "status": "firing",
        "labels": {"alertname": "FlexusFreeTrafficLow", "level": "3",
                   "free_resource_id": "another-package", "server": big},
        "annotations": {"summary": big},
        "startsAt": "2026-11-28T22:31:02Z", "fingerprint": "2"
    }]});
    assert_eq!(app.deliver(&level.to_string()).await.status(), 200);
    app.settle().await;
    assert_eq!(tg.sent().len(), 2, "one message for one level alert");
    let note = tg.texts().pop().unwrap();
    assert!(
        note.contains(&format!("{}…", "y\n".repeat(150))) && note.matches('y').count() <= 600,
        "{}",
        note.chars().count()
    );

    let alerts: Vec<Value> = (0..10_000)
        .map(|i| json!({"status": "firing", "labels": {"alertname": format!("A{i}")}, "fingerprint": format!("f{i}")}))
        .collect();
    let many = json!({"version": "4", "status": "firing", "alerts": alerts});
    let r = app.deliver(&many.to_string()).await;
    assert_eq!(r.status(), 200);
    let summary: Value = r.json().await.unwrap();
    assert_eq!(summary["messages"], 10, "{summary}");
    assert_eq!(summary["folded"], 9_991, "{summary}");
    app.settle().await;
    let sent = tg.sent();
    assert_eq!(sent.len(), 12, "1 + 1 + 10");
    let last = tg.texts().pop().unwrap();
    assert!(
        last.contains("9991 more alerts") && last.contains("A9"),
        "{last}"
    );
}

/// Alertmanager's `max_alerts` leaves alerts out of a payload and says how many in
/// `truncatedAlerts`: a resolved alert in such a payload proves nothing (the left-out ones may still
/// fire). BSS failing meanwhile, it once cancelled a running countdown: a missed shutdown.
#[tokio::test]
async fn a_truncated_resolved_payload_never_cancels_a_countdown_without_a_fresh_reading() {
    let (bss, tg) = bss_and_telegram().await;
    bss.set_gb(ID, 1.0, 100.0);
    let app = webhook_app(&bss, &tg, &[("SHUTDOWN_DELAY", "2s")], Spawn::default()).await;
    // BSS fails: no reading of our own.
    bss.push(bss_refuses());
    assert!(app.poller.poll_once().await.is_err());
    let firing = alert("FlexusFreeTrafficCritical", "firing", Some("1"));
    assert_eq!(app.deliver(&firing).await.status(), 200);
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(app.guard.running().as_deref(), Some(ID));
    let resolved = with(
        &alert("FlexusFreeTrafficCritical", "resolved", Some("1")),
        "truncatedAlerts",
        json!(4),
    );
    assert_eq!(app.deliver(&resolved).await.status(), 200);
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(
        app.guard.running().as_deref(),
        Some(ID),
        "the countdown goes on: {:?}",
        tg.texts()
    );
    // BSS answers again at the end of the countdown: the guard's own fresh reading decides.
    app.settle().await;
    assert_eq!(app.calls.count(), 1, "{:?}", tg.texts());
    assert_eq!(tg.count("Shutdown cancelled"), 0, "{:?}", tg.texts());
    assert_eq!(tg.count("Traffic recovered"), 0, "{:?}", tg.texts());
}

/// ... while a fresh reading of our own above T1 does cancel it, truncated payload or not; the
/// throttle/fence actions are never lifted by a payload (only the enforcer's fresh polls do).
#[tokio::test]
async fn a_truncated_resolved_payload_cancels_only_on_our_own_fresh_reading() {
    let (bss, tg) = bss_and_telegram().await;
    bss.set_gb(ID, 1.0, 100.0);
    let app = webhook_app(&bss, &tg, &[("SHUTDOWN_DELAY", "3s")], Spawn::default()).await;
    app.poller.poll_once().await.unwrap();
    let firing = alert("FlexusFreeTrafficCritical", "firing", Some("1"));
    assert_eq!(app.deliver(&firing).await.status(), 200);
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(app.guard.running().as_deref(), Some(ID));
    let resolved = with(
        &alert("FlexusFreeTrafficCritical", "resolved", Some("1")),
        "truncatedAlerts",
        json!(4),
    );
    // Our reading still at level 1: nothing is cancelled.
    assert_eq!(app.deliver(&resolved).await.status(), 200);
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(app.guard.running().as_deref(), Some(ID));
    // Our reading above T1 (traffic bought): the reading cancels it.
    bss.set_gb(ID, 500.0, 1000.0);
    app.poller.poll_once().await.unwrap();
    assert_eq!(app.deliver(&resolved).await.status(), 200);
    app.settle().await;
    assert_eq!(app.calls.count(), 0);
    assert_eq!(tg.count("Shutdown cancelled"), 1, "{:?}", tg.texts());
}

/// A reminder (Alertmanager 0.32+ says `repeat interval elapsed`; 0.25 says nothing and the same
/// episode arrives again) never restarts a countdown that ended, nor announces the level again as
/// news. Here BSS fails, so there is no fresh reading of our own.
#[tokio::test]
async fn a_reminder_never_restarts_a_countdown_nor_announces_the_level_again() {
    let (bss, tg) = bss_and_telegram().await;
    bss.set_gb(ID, 1.0, 100.0);
    let app = webhook_app(&bss, &tg, &[("SHUTDOWN_DELAY", "0s")], Spawn::default()).await;
    // The guard's fresh reading fails: the countdown is cancelled.
    bss.push(bss_refuses());
    let firing = alert("FlexusFreeTrafficCritical", "firing", Some("1"));
    assert_eq!(app.deliver(&firing).await.status(), 200);
    app.settle().await;
    assert_eq!(tg.count("Shutdown cancelled"), 1, "{:?}", tg.texts());
    let countdowns = tg.count("Shutdown countdown") + tg.count("shutdown executed");
    // BSS answers again: a countdown now would shut the server down.
    for reminder in [
        with(
            &firing,
            "notification_reason",
            json!("repeat interval elapsed"),
        ),
        // Alertmanager 0.25: no reason; the episode (fingerprint, startsAt) is known.
        firing.clone(),
    ] {
        assert_eq!(app.deliver(&reminder).await.status(), 200);
        app.settle().await;
    }
    assert_eq!(app.calls.count(), 0);
    assert_eq!(
        tg.count("Shutdown countdown") + tg.count("shutdown executed"),
        countdowns,
        "no new countdown: {:?}",
        tg.texts()
    );
    assert_eq!(tg.count("Shutdown cancelled"), 1, "{:?}", tg.texts());
    assert_eq!(
        tg.count("Free traffic almost used up"),
        1,
        "{:?}",
        tg.texts()
    );
    // News (a new episode: it began firing again later) is judged as before.
    let news = alert("FlexusFreeTrafficCritical", "firing", Some("1"))
        .replace("2026-11-28T22:31:02.283733017Z", "2026-11-28T23:31:02Z");
    let news = with(&news, "notification_reason", json!("new alerts added"));
    assert_eq!(app.deliver(&news).await.status(), 200);
    app.settle().await;
    assert_eq!(app.calls.count(), 1, "{:?}", tg.texts());
}

/// Alertmanager retries a webhook only on a 5xx answer; any 4xx (429 included) drops the alert for
/// good. Each failure gets the answer that makes Alertmanager do the right thing.
#[tokio::test]
async fn every_answer_follows_alertmanagers_retry_rules() {
    #[derive(Debug, Clone, Copy)]
    enum Fault {
        None,
        OutboxUnwritable,
        StateUnwritable,
        StateLocked,
    }
    let (bss, tg) = bss_and_telegram().await;
    let app = webhook_app(&bss, &tg, &[], Spawn::default()).await;
    let good = |i: usize| alert(&format!("SomethingElse{i}"), "firing", None);
    let bearer = crate::helpers::alertmanager::bearer();
    let big = format!(
        "{{\"alerts\":[],\"pad\":\"{}\"}}",
        "x".repeat(2 * 1024 * 1024)
    );
    type Case<'a> = (&'a str, Fault, String, Option<&'a str>, u16);
    let cases: Vec<Case> = vec![
        ("no token", Fault::None, good(1), None, 401),
        (
            "a wrong token",
            Fault::None,
            good(2),
            Some("Bearer wrong-token-0123456789"),
            401,
        ),
        (
            "not JSON",
            Fault::None,
            "{not json".into(),
            Some(&bearer),
            400,
        ),
        (
            "no alerts field",
            Fault::None,
            r#"{"status":"firing"}"#.into(),
            Some(&bearer),
            400,
        ),
        (
            "alerts of the wrong type",
            Fault::None,
            r#"{"alerts":"x"}"#.into(),
            Some(&bearer),
            400,
        ),
        ("a body over 1 MiB", Fault::None, big, Some(&bearer), 413),
        (
            "the outbox cannot be written",
            Fault::OutboxUnwritable,
            good(3),
            Some(&bearer),
            503,
        ),
        (
            "the state cannot be written",
            Fault::StateUnwritable,
            good(4),
            Some(&bearer),
            503,
        ),
        (
            "the state stays locked (load)",
            Fault::StateLocked,
            good(5),
            Some(&bearer),
            503,
        ),
        ("a good delivery", Fault::None, good(6), Some(&bearer), 200),
    ];
    let outbox = app.config.state_dir.join("outbox");
    let state_file = app.config.state_dir.join("state.json");
    for (name, fault, body, auth, want) in cases {
        let mut lock = None;
        match fault {
            Fault::None => {}
            Fault::OutboxUnwritable => {
                std::fs::rename(&outbox, outbox.with_extension("away")).unwrap();
                std::fs::write(&outbox, b"").unwrap();
            }
            Fault::StateUnwritable => {
                let _ = std::fs::remove_file(&state_file);
                std::fs::create_dir(&state_file).unwrap();
                std::fs::write(state_file.join("keep"), b"x").unwrap();
            }
            Fault::StateLocked => lock = Some(app.engine.state.lock().await),
        }
        let started = std::time::Instant::now();
        let r = tokio::time::timeout(Duration::from_secs(10), app.post_webhook(&body, auth))
            .await
            .unwrap_or_else(|_| panic!("{name}: no answer within 10 s"));
        let status = r.status().as_u16();
        assert_eq!(status, want, "{name}: {:?}", r.text().await);
        assert_ne!(status, 429, "{name}: Alertmanager would drop it");
        if status == 503 {
            assert_eq!(
                r.headers().get("retry-after").and_then(|v| v.to_str().ok()),
                Some("10"),
                "{name}"
            );
        }
        if let Fault::StateLocked = fault {
            assert!(
                started.elapsed() < Duration::from_secs(8),
                "answered within Alertmanager's patience: {:?}",
                started.elapsed()
            );
        }
        drop(lock);
        match fault {
            Fault::OutboxUnwritable => {
                std::fs::remove_file(&outbox).unwrap();
                std::fs::rename(outbox.with_extension("away"), &outbox).unwrap();
            }
            Fault::StateUnwritable => std::fs::remove_dir_all(&state_file).unwrap(),
            _ => {}
        }
    }
    let m = app.scrape().await;
    for (result, n) in [
        ("unauthorized", 2.0),
        ("bad_request", 3.0),
        ("too_large", 1.0),
        ("unavailable", 2.0),
        ("busy", 1.0),
        ("ok", 1.0),
    ] {
        assert_eq!(
            metric(
                &m,
                "flexus_webhooks_total",
                &[&format!("result=\"{result}\"")]
            ),
            Some(n),
            "{result}"
        );
    }
}

/// Grafana's webhook contact point sends an Alertmanager-like payload (`orgId`, `state`, `title`,
/// version 1). A Grafana-managed rule on our metrics is received like Alertmanager's alerts; the
/// alerts Grafana sends when the query has no data carry the rule's labels but are no level: they
/// are forwarded and never ask for a shutdown; and an alert Grafana resolves for a missing series
/// proves no recovery.
#[tokio::test]
async fn grafana_managed_alerts_are_received_and_no_data_never_asks_for_a_shutdown() {
    const GRAFANA_FIRING: &str = include_str!("../fixtures/grafana-webhook-firing.json");
    const GRAFANA_NO_DATA: &str = include_str!("../fixtures/grafana-webhook-nodata.json");
    let (bss, tg) = bss_and_telegram().await;
    bss.set_gb(ID, 1.0, 100.0);
    let app = webhook_app(&bss, &tg, &[("SHUTDOWN_DELAY", "2s")], Spawn::default()).await;
    let r = app.deliver(GRAFANA_NO_DATA).await;
    assert_eq!(r.status(), 200);
    assert_eq!(r.json::<Value>().await.unwrap()["shutdown_requests"], 0);
    app.settle().await;
    assert_eq!(app.calls.count(), 0, "{:?}", tg.texts());
    assert_eq!(tg.count("DatasourceNoData"), 1, "{:?}", tg.texts());

    let r = app.deliver(GRAFANA_FIRING).await;
    assert_eq!(r.status(), 200);
    assert_eq!(r.json::<Value>().await.unwrap()["shutdown_requests"], 1);
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(app.guard.running().as_deref(), Some(ID));
    // Grafana resolves it because the series went missing (BSS failing, say): not a recovery.
    let mut resolved: Value = serde_json::from_str(GRAFANA_FIRING).unwrap();
    resolved["status"] = json!("resolved");
    resolved["state"] = json!("ok");
    resolved["alerts"][0]["status"] = json!("resolved");
    resolved["alerts"][0]["endsAt"] = json!("2026-11-28T23:41:02+01:00");
    resolved["alerts"][0]["annotations"]["grafana_state_reason"] = json!("MissingSeries");
    assert_eq!(app.deliver(&resolved.to_string()).await.status(), 200);
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(app.guard.running().as_deref(), Some(ID), "{:?}", tg.texts());
    app.settle().await;
    assert_eq!(app.calls.count(), 1, "{:?}", tg.texts());
    assert_eq!(tg.count("Shutdown cancelled"), 0, "{:?}", tg.texts());
}
