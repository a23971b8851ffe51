//! Cloud Eye as the live source of a server guarded through the API (`CLOUDEYE_EIPS`), against a
//! fake that checks signatures and answers as the Cloud Eye API documents: the EIP's outbound
//! minutes bring level 1 before a lagging bill does (and the guard's fresh check keeps the
//! countdown), the estimate is never above the bill, a new cycle re-anchors it, and a throttled
//! (`ces.0429`), failing, stalled or garbage answer changes nothing known and is asked less often.

use std::time::Duration;

use chrono::{DurationRound, Utc};

use crate::helpers::app::fallback_app;
use crate::helpers::fakes::ces::{FakeCes, Reply};
use crate::helpers::{bss_and_telegram, FakeBss, FakeTelegram, Spawn, TestApp, ID};

const EIP: &str = "3773b058-5b4f-4366-9035-9bbd9964714a";
const GB: f64 = 1e9;

async fn ce_app(
    bss: &FakeBss,
    tg: &FakeTelegram,
    ces: &FakeCes,
    extra: &[(&str, &str)],
) -> TestApp {
    let url = ces.url();
    let eips = format!("{ID}:{EIP}:ap-southeast-1:0123456789abcdef0123456789abcdef");
    let mut env = vec![
        ("CLOUDEYE_EIPS", eips.as_str()),
        ("CLOUDEYE_INTERVAL", "200ms"),
        ("HUAWEICLOUD_CES_ENDPOINT", url.as_str()),
        ("EGRESS_BILL_LAG", "1h"),
    ];
    env.extend_from_slice(extra);
    fallback_app(bss, tg, &env, Spawn::default()).await
}

async fn estimate(app: &TestApp) -> Option<f64> {
    app.metric("flexus_free_traffic_estimate_remaining_gb", &[])
        .await
}

/// Waits until the source holds `minutes` minutes of the EIP.
async fn held(app: &TestApp, minutes: u64) -> serde_json::Value {
    for _ in 0..100 {
        let s = app.status().await;
        if s["cloudeye"][0]["minutes"].as_u64() >= Some(minutes) {
            return s["cloudeye"][0].clone();
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("Cloud Eye never read: {}", app.status().await["cloudeye"]);
}

#[tokio::test]
async fn the_eips_cloud_eye_traffic_starts_the_countdown_the_lagging_bill_would_not() {
    let (bss, tg) = bss_and_telegram().await;
    let ces = FakeCes::start().await;
    let now = Utc::now();
    // 98 GB left the EIP in the last half hour; the bill (100 GB left, T1 5 GB) has not seen it.
    ces.sent_between(
        EIP,
        now - chrono::Duration::minutes(30),
        now - chrono::Duration::minutes(2),
        98.0 * GB,
    );
    bss.set_gb(ID, 100.0, 1000.0);
    let app = ce_app(&bss, &tg, &ces, &[]).await;
    held(&app, 28).await;
    app.poll_and_evaluate().await;
    let e = estimate(&app).await.unwrap();
    assert!((e - 2.0).abs() < 1e-6, "{e}");
    assert_eq!(
        app.metric("flexus_free_traffic_remaining_gb", &[]).await,
        Some(100.0)
    );
    // The countdown's fresh check (a fresh bill, still 100 GB, and the estimate on it) kept it.
    assert_eq!(app.calls.count(), 1, "{:?}", tg.texts());
    assert_eq!(tg.count("cancelled"), 0, "{:?}", tg.texts());
    let status = app.status().await;
    assert_eq!(status["packages"][0]["level"], "1", "{status}");
    assert_eq!(status["cloudeye"][0]["publicip_id"], EIP);
    assert_eq!(
        status["cloudeye"][0]["tx_bytes"], 98_000_000_000u64,
        "{status}"
    );
    // Every call was signed and seen by the `cloudeye` source's self-metrics.
    assert!(ces.requests() >= 1);
    assert_eq!(ces.bad_signatures(), 0);
    let ok = app
        .metric(
            "flexus_source_requests_total",
            &[
                "source=\"cloudeye\"",
                "api=\"ShowMetricData\"",
                "code=\"200\"",
            ],
        )
        .await;
    assert!(ok >= Some(1.0), "{ok:?}");
    assert_eq!(
        app.metric("flexus_source_up", &["source=\"cloudeye\""])
            .await,
        Some(1.0)
    );
    app.stop().await;
}

#[tokio::test]
async fn the_estimate_is_never_above_the_bill_and_a_new_cycle_re_anchors_it() {
    let (bss, tg) = bss_and_telegram().await;
    let ces = FakeCes::start().await;
    let now = Utc::now();
    // 50 GB left 40 to 20 minutes ago; the bill, in a cycle that ends in a few seconds, has not
    // seen them.
    ces.sent_between(
        EIP,
        now - chrono::Duration::minutes(40),
        now - chrono::Duration::minutes(20),
        50.0 * GB,
    );
    let end =
        now.duration_trunc(chrono::Duration::seconds(1)).unwrap() + chrono::Duration::seconds(3);
    bss.set_cycle(ID, 900.0, 1000.0, end - chrono::Duration::days(30), end);
    let app = ce_app(&bss, &tg, &ces, &[]).await;
    held(&app, 20).await;
    app.poll_and_evaluate().await;
    let e = estimate(&app).await.unwrap();
    assert!((e - 850.0).abs() < 1e-6, "{e}");
    // The reset: those 50 GB were the old cycle's; nothing since the new cycle began is
    // subtracted, so the estimate is the new bill, never above it.
    let wait = (end - Utc::now()).to_std().unwrap_or_default();
    tokio::time::sleep(wait + Duration::from_millis(300)).await;
    bss.set_cycle(ID, 1000.0, 1000.0, end, end + chrono::Duration::days(31));
    app.poll_and_evaluate().await;
    assert_eq!(
        app.metric("flexus_free_traffic_remaining_gb", &[]).await,
        Some(1000.0)
    );
    assert_eq!(
        estimate(&app).await,
        Some(1000.0),
        "re-anchored on the new cycle"
    );
    assert_eq!(app.calls.count(), 0);
    app.stop().await;
}

#[tokio::test]
async fn a_throttled_failing_or_garbage_cloud_eye_answer_changes_nothing_and_is_asked_less_often() {
    let (bss, tg) = bss_and_telegram().await;
    let ces = FakeCes::start().await;
    let now = Utc::now();
    ces.sent_between(
        EIP,
        now - chrono::Duration::minutes(20),
        now - chrono::Duration::minutes(10),
        40.0 * GB,
    );
    bss.set_gb(ID, 500.0, 1000.0);
    let app = ce_app(
        &bss,
        &tg,
        &ces,
        &[("HTTP_TIMEOUT", "1s"), ("CLOUDEYE_INTERVAL", "100ms")],
    )
    .await;
    held(&app, 10).await;
    app.poll_and_evaluate().await;
    let before = estimate(&app).await.unwrap();
    assert!((before - 460.0).abs() < 1e-6, "{before}");
    // Throttled through every retry of one read, then a server error, a stall past the timeout,
    // and an answer with an impossible minute (that would subtract an exabyte): none of it is
    // believed, none of it turns into a zero, and the source is asked less and less often.
    let start = ces.requests();
    for r in [
        Reply::Throttle,
        Reply::Throttle,
        Reply::Throttle,
        Reply::Fail,
        Reply::Fail,
        Reply::Fail,
    ] {
        ces.push(r);
    }
    ces.push(Reply::Json(200, serde_json::json!({"datapoints": [
        {"sum": 1e18, "timestamp": (now - chrono::Duration::minutes(5)).timestamp_millis(), "unit": "B"}
    ], "metric_name": "up_stream"})));
    ces.push(Reply::Json(
        200,
        serde_json::json!({"metric_name": "up_stream"}),
    ));
    ces.push(Reply::Stall(Duration::from_secs(3)));
    for _ in 0..200 {
        if ces.scripted_left() == 0 {
            break;
        }
        app.poll_and_evaluate().await;
        let e = estimate(&app).await.unwrap();
        assert!(
            (e - before).abs() < 1e-6,
            "the estimate moved to {e} on a bad answer"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(ces.scripted_left(), 0);
    let view = app.status().await["cloudeye"][0].clone();
    assert!(view["failures"].as_u64() >= Some(3), "{view}");
    assert!(ces
        .queries()
        .iter()
        .all(|q| q.contains("period=1") && q.contains("filter=sum")));
    // The waits between reads grew: after three failed reads the next came at least 8 × 100 ms later.
    let arrivals = ces.arrivals()[start..].to_vec();
    let gaps: Vec<Duration> = arrivals.windows(2).map(|w| w[1] - w[0]).collect();
    assert!(
        gaps.iter().any(|g| *g >= Duration::from_millis(800)),
        "{gaps:?}"
    );
    // Once Cloud Eye answers again, new minutes count.
    ces.sent(EIP, now - chrono::Duration::minutes(3), 10.0 * GB);
    held(&app, 11).await;
    app.poll_and_evaluate().await;
    let after = estimate(&app).await.unwrap();
    assert!((after - 450.0).abs() < 1e-6, "{after}");
    assert_eq!(ces.bad_signatures(), 0);
    assert!(
        app.metric(
            "flexus_source_requests_total",
            &["source=\"cloudeye\"", "code=\"429\""]
        )
        .await
            >= Some(3.0)
    );
    app.stop().await;
}

#[tokio::test]
async fn the_bots_status_and_check_show_the_bill_and_the_estimate_now() {
    let (bss, tg) = bss_and_telegram().await;
    let ces = FakeCes::start().await;
    let now = Utc::now();
    ces.sent_between(
        EIP,
        now - chrono::Duration::minutes(20),
        now - chrono::Duration::minutes(10),
        40.0 * GB,
    );
    bss.set_gb(ID, 500.0, 1000.0);
    let app = ce_app(&bss, &tg, &ces, &[("TELEGRAM_COMMANDS", "true")]).await;
    held(&app, 10).await;
    app.poll_and_evaluate().await;
    tg.push_text(
        crate::helpers::fakes::telegram::CHAT.parse().unwrap(),
        7,
        "/status",
    );
    for _ in 0..200 {
        if tg.count("Traffic status") > 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let status = tg
        .texts()
        .into_iter()
        .find(|t| t.contains("Traffic status"))
        .expect("/status answered");
    assert!(
        status.contains("Remaining (bill): 500.00 GB / 1000.00 GB · now ≈ <b>460.00 GB</b>"),
        "{status}"
    );
    app.stop().await;

    // `check` (the cron drop-in) reads Cloud Eye once, then the bill, and shows both.
    let url = ces.url();
    let eips = format!("{ID}:{EIP}:ap-southeast-1:0123456789abcdef0123456789abcdef");
    let mut env = crate::helpers::base_env(&bss, &[ID]);
    env.extend(crate::helpers::vars(&[
        ("CLOUDEYE_EIPS", &eips),
        ("HUAWEICLOUD_CES_ENDPOINT", &url),
        ("EGRESS_BILL_LAG", "1h"),
        ("SHUTDOWN_MODE", "off"),
    ]));
    let out = crate::helpers::process::run(&env, &["check"]).await;
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(text.contains("NOW_GB") && text.contains("460.00"), "{text}");
    assert!(
        text.contains("账单剩余 500.00 GB") && text.contains("现在约 460.00 GB"),
        "{text}"
    );
    env.extend(crate::helpers::vars(&[("MESSAGE_LANG", "en")]));
    let out = crate::helpers::process::run(&env, &["check"]).await;
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("bill 500.00 GB") && text.contains("now ≈ 460.00 GB"),
        "{text}"
    );
    let out = crate::helpers::process::run(&env, &["check", "--json"]).await;
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["packages"][0]["estimate"]["remaining_gb"], 460.0, "{v}");
    assert_eq!(v["packages"][0]["reading"]["remaining_gb"], 500.0);
}
