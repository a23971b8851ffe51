//! The reports around each reset and the daily digest, against the fake BSS (whose cycle end the
//! tests set) and the fake Telegram: a day before the reset, after it, late after an outage, once
//! across restarts and two processes, and honest about figures it does not know or that are old.

use chrono::{DateTime, Duration, Utc};

use crate::helpers::app::fallback_app;
use crate::helpers::process::command;
use crate::helpers::{app_env, bss_and_telegram, FakeBss, FakeTelegram, Reply, Spawn, ID};

const BEFORE: &str = "Traffic cycle resets in about";
const AFTER: &str = "Traffic cycle has reset";
const DIGEST: &str = "Daily traffic digest";

/// The package in a 30-day cycle ending at `end`, with `remaining` of 200 GB left.
fn cycle(bss: &FakeBss, remaining: f64, end: DateTime<Utc>) {
    bss.set_cycle(ID, remaining, 200.0, end - Duration::days(30), end);
}

fn texts_with(tg: &FakeTelegram, needle: &str) -> Vec<String> {
    tg.texts()
        .into_iter()
        .filter(|t| t.contains(needle))
        .collect()
}

/// The line of `text` that starts with `label`.
fn line<'a>(text: &'a str, label: &str) -> &'a str {
    text.lines()
        .find(|l| l.trim_start().starts_with(label))
        .unwrap_or_else(|| panic!("no line {label:?} in:\n{text}"))
}

#[tokio::test]
async fn a_report_goes_out_a_day_before_the_reset_and_after_it_with_the_final_figures() {
    let (bss, tg) = bss_and_telegram().await;
    // A cycle that ends in a few minutes: the program takes a new cycle only once the current
    // one is about to end (a new cycle that appears earlier is refused as implausible).
    let end = Utc::now() + Duration::minutes(8);
    cycle(&bss, 150.0, end);
    let app = fallback_app(&bss, &tg, &[], Spawn::default()).await;
    app.poller.poll_once().await.unwrap();
    // A day and more before the reset nothing is due; minutes before, the report is.
    assert_eq!(
        app.engine
            .reports(Utc::now() - Duration::days(1))
            .await
            .unwrap(),
        0
    );
    assert_eq!(app.engine.reports(Utc::now()).await.unwrap(), 1);
    assert_eq!(app.engine.reports(Utc::now()).await.unwrap(), 0, "once");
    app.settle().await;
    let before = texts_with(&tg, BEFORE);
    assert_eq!(before.len(), 1, "{:#?}", tg.texts());
    let r = &before[0];
    assert!(line(r, "Remaining (bill):").contains("150.00 GB"), "{r}");
    assert!(line(r, "Used (bill):").contains("50.00 GB"), "{r}");
    assert!(
        line(r, "Remaining (live estimate):").contains("unknown"),
        "{r}"
    );
    assert!(line(r, "In force:").contains("nothing"), "{r}");
    assert!(r.contains("test-server") && r.contains(ID), "{r}");

    // The reset: BSS shows the next cycle with the full package.
    let next_end = end + Duration::days(30);
    bss.set_cycle(ID, 200.0, 200.0, end, next_end);
    app.poller.poll_once().await.unwrap();
    assert_eq!(app.engine.reports(Utc::now()).await.unwrap(), 1);
    assert_eq!(app.engine.reports(Utc::now()).await.unwrap(), 0, "once");
    app.settle().await;
    let after = texts_with(&tg, AFTER);
    assert_eq!(after.len(), 1, "{:#?}", tg.texts());
    let r = &after[0];
    let final_line = line(r, "Final figures:");
    assert!(
        final_line.contains("used 50.00 GB of 200.00 GB, 150.00 GB left"),
        "{r}"
    );
    assert!(line(r, "Remaining (bill):").contains("200.00 GB"), "{r}");
    assert!(
        line(r, "Cycle:").contains(&next_end.format("%Y-%m-%d %H:%M").to_string()),
        "{r}"
    );
    // The ended cycle's figures are kept in the history, so the report can be rebuilt.
    let dir = &app.config.state_dir;
    let history: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join("history.json")).unwrap()).unwrap();
    assert_eq!(history["cycles"][ID]["past"][0]["remaining_gb"], 150.0);
}

#[tokio::test]
async fn every_configured_channel_gets_the_report() {
    let (bss, tg) = bss_and_telegram().await;
    let ch = crate::helpers::fakes::channels::FakeChannels::start().await;
    cycle(&bss, 150.0, Utc::now() + Duration::hours(20));
    let mut env = app_env(&bss, &tg, &[]);
    env.extend(ch.env());
    let app = crate::helpers::TestApp::spawn(&env).await;
    app.poller.poll_once().await.unwrap();
    assert_eq!(app.engine.reports(Utc::now()).await.unwrap(), 1);
    app.settle().await;
    assert_eq!(texts_with(&tg, BEFORE).len(), 1, "{:#?}", tg.texts());
    for service in crate::helpers::fakes::channels::SERVICES {
        let got = ch.received(service);
        assert_eq!(got.len(), 1, "{service}: {got:#?}");
        let text = format!("{}\n{}", got[0].title, got[0].text);
        assert!(
            text.contains(BEFORE) && text.contains("150.00 GB") && text.contains("unknown"),
            "{service}: {text}"
        );
    }
    // The generic webhook says which report it is, with its figures.
    let body = &ch.received("webhook")[0].body;
    assert_eq!(body["kind"], "report_before_reset", "{body}");
    assert_eq!(body["figures"]["remaining_gb"], 150.0, "{body}");
}

#[tokio::test]
async fn a_report_missed_while_down_is_sent_once_when_it_comes_back_also_across_restarts() {
    let (bss, tg) = bss_and_telegram().await;
    let env = app_env(&bss, &tg, &[]);
    // 30 hours before the reset: nothing due yet; then the program stops.
    let end = Utc::now() + Duration::hours(30);
    cycle(&bss, 150.0, end);
    let app = crate::helpers::TestApp::spawn(&env).await;
    app.poller.poll_once().await.unwrap();
    assert_eq!(app.engine.reports(Utc::now()).await.unwrap(), 0);
    // The status API tells when it will be due.
    let next = &app.status().await["alerting"]["reports"]["next"][0];
    assert_eq!(next["kind"], "before_reset");
    let at: DateTime<Utc> = next["at"].as_str().unwrap().parse().unwrap();
    assert_eq!(at.timestamp(), (end - Duration::hours(24)).timestamp());
    app.stop().await;
    // It comes back 8 hours later, two hours after the report's time.
    let later = Utc::now() + Duration::hours(8);
    let app = crate::helpers::TestApp::spawn(&env).await;
    app.poller.poll_once().await.unwrap();
    assert_eq!(app.engine.reports(later).await.unwrap(), 1);
    app.settle().await;
    app.stop().await;
    // Restarted again: the report is not sent a second time.
    let app = crate::helpers::TestApp::spawn(&env).await;
    app.poller.poll_once().await.unwrap();
    assert_eq!(
        app.engine
            .reports(later + Duration::hours(1))
            .await
            .unwrap(),
        0
    );
    app.settle().await;
    assert_eq!(texts_with(&tg, BEFORE).len(), 1, "{:#?}", tg.texts());
}

#[tokio::test]
async fn down_across_the_reset_it_reports_the_ended_cycle_once_when_it_comes_back() {
    let (bss, tg) = bss_and_telegram().await;
    let env = app_env(&bss, &tg, &[]);
    // Minutes before the reset (the program takes a new cycle only near the old one's end).
    let end = Utc::now() + Duration::minutes(8);
    cycle(&bss, 150.0, end);
    let app = crate::helpers::TestApp::spawn(&env).await;
    app.poller.poll_once().await.unwrap();
    app.stop().await;
    // Down across the reset: when it comes back, BSS shows the next cycle.
    bss.set_cycle(ID, 200.0, 200.0, end, end + Duration::days(30));
    let app = crate::helpers::TestApp::spawn(&env).await;
    app.poller.poll_once().await.unwrap();
    assert_eq!(app.engine.reports(Utc::now()).await.unwrap(), 1);
    app.settle().await;
    app.stop().await;
    let app = crate::helpers::TestApp::spawn(&env).await;
    app.poller.poll_once().await.unwrap();
    assert_eq!(app.engine.reports(Utc::now()).await.unwrap(), 0);
    let after = texts_with(&tg, AFTER);
    assert_eq!(after.len(), 1, "{:#?}", tg.texts());
    assert!(
        line(&after[0], "Final figures:").contains("150.00 GB left"),
        "{}",
        after[0]
    );
}

#[tokio::test]
async fn two_check_runs_on_one_state_directory_send_the_report_once() {
    let (bss, tg) = bss_and_telegram().await;
    cycle(&bss, 150.0, Utc::now() + Duration::hours(20));
    let env = app_env(&bss, &tg, &[]);
    let runs: Vec<_> = (0..2)
        .map(|_| {
            let env = env.clone();
            tokio::task::spawn_blocking(move || command(&env).arg("check").output().unwrap())
        })
        .collect();
    for r in runs {
        let out = r.await.unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    assert_eq!(texts_with(&tg, BEFORE).len(), 1, "{:#?}", tg.texts());
}

#[tokio::test]
async fn the_live_estimate_is_in_the_report_when_the_server_counts_its_egress() {
    use flexus_traffic_monitor::egress::counter::{fake, Counters};
    const GB: u64 = 1_000_000_000;
    let (bss, tg) = bss_and_telegram().await;
    let dir = crate::helpers::state_dir("sys");
    fake::set_default_route(&dir, "eth0");
    fake::set_boot(&dir, "boot-a");
    let sent = |tx| fake::set(&dir, "eth0", Counters { tx, rx: 0 });
    sent(5 * GB);
    cycle(&bss, 150.0, Utc::now() + Duration::hours(20));
    let app = fallback_app(
        &bss,
        &tg,
        &[("EGRESS_COUNTER", "on"), ("EGRESS_BILL_LAG", "1h")],
        Spawn {
            egress_roots: Some(fake::roots(&dir)),
            ..Spawn::default()
        },
    )
    .await;
    app.poll_and_evaluate().await;
    // 12 GB leave the server; the bill has not seen them yet.
    sent(17 * GB);
    app.poll_and_evaluate().await;
    let live = app
        .metric("flexus_free_traffic_estimate_remaining_gb", &[])
        .await
        .unwrap();
    assert!(live < 150.0, "{live}");
    assert_eq!(app.engine.reports(Utc::now()).await.unwrap(), 1);
    app.settle().await;
    let r = texts_with(&tg, BEFORE).pop().unwrap();
    assert!(
        line(&r, "Remaining (live estimate):").contains(&format!("{live:.2} GB")),
        "{live}: {r}"
    );
    assert!(line(&r, "Remaining (bill):").contains("150.00 GB"), "{r}");
}

#[tokio::test]
async fn a_figure_that_is_not_known_reads_unknown_never_zero() {
    let (bss, tg) = bss_and_telegram().await;
    // No cycle start from BSS, one reading only (no rate, no busiest day), no live estimate.
    let end = Utc::now() + Duration::hours(10);
    let mut e = crate::helpers::fakes::bss::package(
        ID,
        serde_json::json!(120.0),
        serde_json::json!(200.0),
        serde_json::json!(10),
    );
    e.as_object_mut().unwrap().remove("start_time");
    e["end_time"] = serde_json::json!(end.format("%Y-%m-%dT%H:%M:%SZ").to_string());
    bss.set_entry(ID, e);
    let app = fallback_app(&bss, &tg, &[], Spawn::default()).await;
    app.poller.poll_once().await.unwrap();
    assert_eq!(app.engine.reports(Utc::now()).await.unwrap(), 1);
    app.settle().await;
    let r = texts_with(&tg, BEFORE).pop().unwrap();
    for label in [
        "Remaining (live estimate):",
        "At the reset:",
        "Busiest day:",
    ] {
        let l = line(&r, label);
        assert!(l.contains("unknown") && !l.contains("0.00"), "{l}\n{r}");
    }
    assert!(line(&r, "Cycle:").starts_with("Cycle: unknown ~ 20"), "{r}");
    assert!(line(&r, "Remaining (bill):").contains("120.00 GB"), "{r}");

    // A package never read: every figure of `/report`'s report is unknown, none is 0.
    let (bss, tg) = bss_and_telegram().await;
    bss.push(Reply::Json(
        401,
        serde_json::json!({"error_code": "APIGW.0301", "error_msg": "Incorrect IAM authentication information"}),
    ));
    let app = fallback_app(&bss, &tg, &[], Spawn::default()).await;
    let _ = app.poller.poll_once().await;
    let reports = app.engine.reports_now(Utc::now()).await;
    let text = flexus_traffic_monitor::messages::render_report(
        &reports[0],
        flexus_traffic_monitor::messages::Lang::En,
    );
    assert!(!text.contains("0.00"), "{text}");
    for label in [
        "Quota:",
        "Used (bill):",
        "Remaining (bill):",
        "At the reset:",
    ] {
        assert!(line(&text, label).contains("unknown"), "{text}");
    }
}

#[tokio::test]
async fn a_stale_figure_says_how_old_it_is() {
    let (bss, tg) = bss_and_telegram().await;
    cycle(&bss, 150.0, Utc::now() + Duration::hours(28));
    let app = fallback_app(&bss, &tg, &[], Spawn::default()).await;
    app.poller.poll_once().await.unwrap();
    // Six hours later, with no reading since, the report is due with the old figures.
    bss.push(Reply::Json(
        401,
        serde_json::json!({"error_code": "APIGW.0301", "error_msg": "Incorrect IAM authentication information"}),
    ));
    assert!(app.poller.poll_once().await.is_err());
    assert_eq!(
        app.engine
            .reports(Utc::now() + Duration::hours(6))
            .await
            .unwrap(),
        1
    );
    app.settle().await;
    let r = texts_with(&tg, BEFORE).pop().unwrap();
    let l = line(&r, "Remaining (bill):");
    assert!(
        l.contains("150.00 GB") && l.contains("stale") && l.contains("6 h ago"),
        "{r}"
    );
}

#[tokio::test]
async fn the_daily_digest_comes_once_a_day_at_its_time_and_replaces_the_daily_report() {
    let (bss, tg) = bss_and_telegram().await;
    cycle(&bss, 150.0, Utc::now() + Duration::days(20));
    let app = fallback_app(
        &bss,
        &tg,
        &[("DAILY_DIGEST_AT", "00:00"), ("REPORT_TIMEZONE", "UTC")],
        Spawn::default(),
    )
    .await;
    app.poll_and_evaluate().await;
    assert_eq!(
        tg.count("🟢"),
        0,
        "no rolling daily report: {:#?}",
        tg.texts()
    );
    let now = Utc::now();
    assert_eq!(app.engine.reports(now).await.unwrap(), 1);
    assert_eq!(
        app.engine
            .reports(now + Duration::minutes(1))
            .await
            .unwrap(),
        0
    );
    assert_eq!(
        app.engine.reports(now + Duration::days(1)).await.unwrap(),
        1
    );
    app.settle().await;
    assert_eq!(texts_with(&tg, DIGEST).len(), 2, "{:#?}", tg.texts());
}

#[tokio::test]
async fn a_digest_time_that_is_not_a_time_is_refused_naming_the_variable() {
    let (bss, tg) = bss_and_telegram().await;
    let mut env = app_env(&bss, &tg, &[]);
    env.push(("DAILY_DIGEST_AT".into(), "9am".into()));
    env.push(("REPORT_TIMEZONE".into(), "Asia/Shanghai".into()));
    let map: std::collections::HashMap<String, String> = env.into_iter().collect();
    let raw = flexus_traffic_monitor::config::RawConfig::from_pairs(map).unwrap();
    let e = flexus_traffic_monitor::config::Config::from_raw(&raw)
        .unwrap_err()
        .to_string();
    assert!(e.contains("DAILY_DIGEST_AT") && e.contains("HH:MM"), "{e}");
    assert!(e.contains("REPORT_TIMEZONE") && e.contains("+08:00"), "{e}");
}
