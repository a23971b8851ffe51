//! The status page and the history API over HTTP, against the fake BSS (no browser: see `browser`).

use serde_json::Value;

use crate::helpers::{base_env, FakeBss, Reply, TestApp};

const ID: &str = "pkg-page";

async fn get(app: &TestApp, path: &str) -> (u16, String) {
    let r = reqwest::get(format!("{}{path}", app.base_url))
        .await
        .unwrap();
    (r.status().as_u16(), r.text().await.unwrap())
}

#[tokio::test]
async fn the_page_shows_the_figures_and_the_history_records_every_poll() {
    let fake = FakeBss::start().await;
    let mut env = base_env(&fake, &[ID]);
    env.push(("POLL_INTERVAL".into(), "1s".into()));
    let app = TestApp::spawn(&env).await;
    for gb in [18.5, 17.25, 16.0] {
        fake.set_gb(ID, gb, 100.0);
        app.poll_and_evaluate().await;
        // Polls a second apart are each a point.
        tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    }
    let (status, html) = get(&app, "/").await;
    assert_eq!(status, 200);
    let end = crate::helpers::fakes::bss::cycle()
        .1
        .format("%Y-%m-%d")
        .to_string();
    for want in [
        "16.00",
        "100.00 GB",
        "3 级（普通告警）",
        "剩余流量历史",
        &end,
        "test-server",
    ] {
        assert!(html.contains(want), "{want} missing");
    }
    let (_, en) = get(&app, "/?lang=en").await;
    assert!(en.contains("level 3 (normal alert)") && en.contains("Remaining over time"));

    let (_, body) = get(&app, "/api/v1/history").await;
    let h: Value = serde_json::from_str(&body).unwrap();
    let gbs: Vec<f64> = h["packages"][ID]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p[1].as_f64().unwrap())
        .collect();
    assert_eq!(gbs, vec![18.5, 17.25, 16.0]);
    assert_eq!(h["limits"]["max_points_per_package"], 3122);
    assert!(app.config.state_dir.join("history.json").exists());

    // The status API is indented for people.
    let (_, status) = get(&app, "/api/v1/status").await;
    assert!(
        status.starts_with("{\n  \""),
        "{}",
        &status[..40.min(status.len())]
    );
}

#[tokio::test]
async fn a_failed_poll_is_shown_first_with_what_to_do_and_no_secret() {
    let fake = FakeBss::start().await;
    fake.set_gb(ID, 50.0, 100.0);
    let env = base_env(&fake, &[ID]);
    let app = TestApp::spawn(&env).await;
    app.poll_and_evaluate().await;
    fake.push(Reply::Json(
        401,
        serde_json::json!({"error_code": "APIGW.0301", "error_msg": "Incorrect IAM authentication information"}),
    ));
    app.poll_and_evaluate().await;
    let (_, html) = get(&app, "/").await;
    let problem = html
        .find("华为云拒绝了凭据")
        .expect("the credential problem is shown");
    assert!(
        problem < html.find("data-package").unwrap(),
        "problems come first"
    );
    assert!(html.contains("HUAWEICLOUD_SDK_AK"), "what to do");
    assert!(!html.contains(crate::helpers::fakes::SK) && !html.contains(crate::helpers::fakes::AK));
}

#[tokio::test]
async fn a_running_countdown_is_shown_at_the_top_with_its_seconds() {
    let fake = FakeBss::start().await;
    fake.set_gb(ID, 3.0, 100.0);
    let mut env = base_env(&fake, &[ID]);
    env.push(("SHUTDOWN_DELAY".into(), "10m".into()));
    env.push(("DRY_RUN".into(), "true".into()));
    let app = TestApp::spawn(&env).await;
    let _ = app.poller.poll_once().await;
    app.engine.evaluate(chrono::Utc::now()).await.unwrap();
    let mut html = String::new();
    for _ in 0..50 {
        html = get(&app, "/?lang=en").await.1;
        if html.contains("data-deadline") {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let at = html
        .find("data-k=\"countdown\"")
        .expect("a countdown is shown");
    assert!(at < html.find("data-package").unwrap(), "at the top");
    let secs: u64 = html[at..]
        .split("data-deadline=\"")
        .nth(1)
        .and_then(|s| s.split('>').nth(1))
        .and_then(|s| s.split('<').next())
        .and_then(|s| s.parse().ok())
        .unwrap();
    assert!((590..=600).contains(&secs), "{secs}");
    assert!(html.contains("Dry run: nothing is shut down"));
    let (_, status) = get(&app, "/api/v1/status").await;
    let s: Value = serde_json::from_str(&status).unwrap();
    assert_eq!(s["alerting"]["shutdown"]["countdowns"][0]["package"], ID);
}
