//! The exporter as Prometheus-world tools expect it: `/-/healthy`, `/-/ready`, build identity,
//! the standard `process_*` metrics, and `promtool check metrics` on the whole exposition.

use crate::helpers::alertmanager::alert;
use crate::helpers::app::webhook_app;
use crate::helpers::process::tool;
use crate::helpers::{bss_and_telegram, metric, Reply, Spawn, ID};

async fn get(url: &str) -> (u16, String) {
    let r = reqwest::get(url).await.unwrap();
    (r.status().as_u16(), r.text().await.unwrap())
}

/// Runs `promtool check metrics` on `text`; returns its complaints other than the known ones: the
/// abbreviated-unit lint on the `_gb` names (kept on purpose, see the README), and the "type in the
/// name" lint on `flexus_egress_counter_up` (a gauge saying whether the kernel's egress *counter*
/// can be read, not a counter).
pub fn promtool_complaints(text: &str) -> Option<Vec<String>> {
    let promtool = tool("promtool")?;
    use std::io::Write;
    let mut child = std::process::Command::new(promtool)
        .args(["check", "metrics"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(text.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    Some(
        said.lines()
            .filter(|l| !l.trim().is_empty())
            .filter(|l| !(l.contains("_gb") && l.contains("abbreviated units")))
            .filter(|l| {
                !l.starts_with("flexus_egress_counter_up metric name should not include type")
            })
            .map(str::to_string)
            .collect(),
    )
}

#[tokio::test]
async fn healthy_answers_at_once_and_ready_waits_for_a_good_reading_and_a_writable_state() {
    let (bss, tg) = bss_and_telegram().await;
    bss.set_gb(ID, 150.0, 1000.0);
    let app = webhook_app(&bss, &tg, &[], Spawn::default()).await;
    let base = &app.base_url;
    assert_eq!(get(&format!("{base}/-/healthy")).await.0, 200);
    let (code, why) = get(&format!("{base}/-/ready")).await;
    assert_eq!(code, 503);
    assert!(why.contains("no good reading"), "{why}");
    // A failed poll is no good reading.
    bss.push(Reply::Raw(500, "text/plain", "down".into()));
    bss.push(Reply::Raw(500, "text/plain", "down".into()));
    bss.push(Reply::Raw(500, "text/plain", "down".into()));
    assert!(app.poller.poll_once().await.is_err());
    assert_eq!(get(&format!("{base}/-/ready")).await.0, 503);
    app.poller.poll_once().await.unwrap();
    assert_eq!(get(&format!("{base}/-/ready")).await.0, 200);
    // STATE_DIR turns unwritable: the next write fails, and the monitor is not ready.
    let state_file = app.config.state_dir.join("state.json");
    let _ = std::fs::remove_file(&state_file);
    std::fs::create_dir(&state_file).unwrap();
    std::fs::write(state_file.join("keep"), b"x").unwrap();
    let r = app
        .deliver(&alert("FlexusFreeTrafficLow", "firing", Some("3")))
        .await;
    assert_eq!(r.status(), 503);
    let (code, why) = get(&format!("{base}/-/ready")).await;
    assert_eq!(code, 503);
    assert!(why.contains("STATE_DIR"), "{why}");
    assert_eq!(get(&format!("{base}/-/healthy")).await.0, 200);
}

#[tokio::test]
async fn metrics_carry_build_identity_and_process_figures_and_pass_promtool() {
    let (bss, tg) = bss_and_telegram().await;
    bss.set_gb(ID, 150.0, 1000.0);
    let app = webhook_app(&bss, &tg, &[], Spawn::default()).await;
    app.poller.poll_once().await.unwrap();
    let m = app.scrape().await;
    let info = m
        .lines()
        .find(|l| l.starts_with("flexus_build_info{"))
        .unwrap_or_else(|| panic!("{m}"));
    for label in ["version=\"", "revision=\"", "rustc=\"1.", "target=\""] {
        assert!(info.contains(label), "{info}");
    }
    assert!(info.contains("linux"), "the target triple: {info}");
    assert!(info.ends_with(" 1"), "{info}");
    assert!(metric(&m, "process_cpu_seconds_total", &[]).unwrap() >= 0.0);
    assert!(metric(&m, "process_resident_memory_bytes", &[]).unwrap() > 1e6);
    assert!(metric(&m, "process_open_fds", &[]).unwrap() >= 3.0);
    assert!(metric(&m, "process_max_fds", &[]).unwrap() >= 64.0);
    let started = metric(&m, "process_start_time_seconds", &[]).unwrap();
    let now = chrono::Utc::now().timestamp() as f64;
    assert!(
        started <= now + 1.0 && started > now - 86_400.0,
        "{started}"
    );
    if let Some(complaints) = promtool_complaints(&m) {
        assert!(complaints.is_empty(), "{complaints:#?}\n{m}");
    }
}

/// Like node_exporter's `node_scrape_collector_*`: each source (BSS, ECS, every channel) says
/// whether its last call worked, when one last did, how long it took, and its calls by API and answer.
#[tokio::test]
async fn every_source_reports_up_last_success_duration_and_calls_by_api_and_code() {
    let (bss, tg) = bss_and_telegram().await;
    bss.set_gb(ID, 150.0, 1000.0);
    let app = webhook_app(&bss, &tg, &[], Spawn::default()).await;
    // Throttled once (retried), then answered.
    bss.push(Reply::Json(
        429,
        serde_json::json!({"error_code": "APIGW.0308", "error_msg": "throttled"}),
    ));
    app.poller.poll_once().await.unwrap();
    let m = app.scrape().await;
    let bss_calls = |code: &str| {
        metric(
            &m,
            "flexus_source_requests_total",
            &[
                "source=\"bss\"",
                "api=\"ListFreeResourceUsages\"",
                &format!("code=\"{code}\""),
            ],
        )
    };
    assert_eq!(bss_calls("429"), Some(1.0), "{m}");
    assert_eq!(bss_calls("200"), Some(1.0), "{m}");
    assert_eq!(
        metric(&m, "flexus_source_up", &["source=\"bss\""]),
        Some(1.0)
    );
    let now = chrono::Utc::now().timestamp() as f64;
    let last = metric(
        &m,
        "flexus_source_last_success_timestamp_seconds",
        &["source=\"bss\""],
    );
    assert!(last.is_some_and(|t| t > now - 60.0), "{last:?}");
    assert!(metric(&m, "flexus_source_duration_seconds", &["source=\"bss\""]).is_some());
    // BSS refuses: the source is down, its last success stays.
    bss.push(Reply::Json(401, serde_json::json!({"error_code": "APIGW.0301", "error_msg": "Incorrect IAM authentication information"})));
    assert!(app.poller.poll_once().await.is_err());
    let m = app.scrape().await;
    assert_eq!(
        metric(&m, "flexus_source_up", &["source=\"bss\""]),
        Some(0.0)
    );
    assert_eq!(
        metric(
            &m,
            "flexus_source_last_success_timestamp_seconds",
            &["source=\"bss\""]
        ),
        last
    );
    // A channel is a source too.
    let r = app
        .deliver(&alert("FlexusFreeTrafficLow", "firing", Some("3")))
        .await;
    assert_eq!(r.status(), 200);
    app.settle().await;
    let m = app.scrape().await;
    assert_eq!(
        metric(
            &m,
            "flexus_source_requests_total",
            &["source=\"telegram\"", "api=\"send\"", "code=\"200\""]
        ),
        Some(1.0),
        "{m}"
    );
    assert_eq!(
        metric(&m, "flexus_source_up", &["source=\"telegram\""]),
        Some(1.0)
    );
}

#[tokio::test]
async fn the_summary_is_one_small_object_per_package_with_null_for_unknown() {
    let (bss, tg) = bss_and_telegram().await;
    bss.set_gb(ID, 150.0, 1000.0);
    let app = webhook_app(&bss, &tg, &[], Spawn::default()).await;
    let url = format!("{}/api/v1/summary", app.base_url);
    let before = crate::helpers::get_json(&url).await;
    let p = &before["packages"][0];
    assert_eq!(p["free_resource_id"], ID);
    for key in ["remaining_gb", "total_gb", "level", "reset_at", "forecast"] {
        assert!(p[key].is_null(), "{key} unknown is null, never 0: {p}");
    }
    assert_eq!(p["action"], "none", "alerting runs and nothing is in force");
    app.poller.poll_once().await.unwrap();
    let one = crate::helpers::get_json(&format!("{url}?package={ID}")).await;
    assert_eq!(one["remaining_gb"], 150.0, "{one}");
    assert_eq!(one["total_gb"], 1000.0);
    assert_eq!(one["remaining_percent"], 15.0);
    let status = app.status().await;
    assert_eq!(one["level"], status["packages"][0]["level"]);
    assert!(one["reset_at"].is_string(), "{one}");
    assert!(one["read_at"].is_string(), "{one}");
    assert!(one["countdown_until"].is_null());
    let r = reqwest::get(format!("{url}?package=nope")).await.unwrap();
    assert_eq!(r.status(), 404);
}

#[tokio::test]
async fn a_status_token_protects_the_page_and_the_read_apis_only() {
    const READ_TOKEN: &str = "read-only-token-0123456789";
    let (bss, tg) = bss_and_telegram().await;
    bss.set_gb(ID, 150.0, 1000.0);
    let app = webhook_app(&bss, &tg, &[("STATUS_TOKEN", READ_TOKEN)], Spawn::default()).await;
    app.poller.poll_once().await.unwrap();
    let client = reqwest::Client::new();
    let base = &app.base_url;
    for path in ["/", "/api/v1/status", "/api/v1/history", "/api/v1/summary"] {
        let url = format!("{base}{path}");
        let r = client.get(&url).send().await.unwrap();
        assert_eq!(r.status(), 401, "{path}");
        let challenge = r.headers()["www-authenticate"]
            .to_str()
            .unwrap()
            .to_string();
        assert!(challenge.starts_with("Basic "), "{challenge}");
        let body = r.text().await.unwrap();
        assert!(
            !body.contains(READ_TOKEN) && body.contains("STATUS_TOKEN"),
            "{body}"
        );
        let wrong = client
            .get(&url)
            .bearer_auth("wrong-token-0123456789")
            .send()
            .await
            .unwrap();
        assert_eq!(wrong.status(), 401, "{path}");
        let bearer = client
            .get(&url)
            .bearer_auth(READ_TOKEN)
            .send()
            .await
            .unwrap();
        assert_eq!(bearer.status(), 200, "{path}");
        let browser = client
            .get(&url)
            .basic_auth("anyone", Some(READ_TOKEN))
            .send()
            .await
            .unwrap();
        assert_eq!(browser.status(), 200, "{path}");
    }
    for path in ["/metrics", "/healthz", "/-/healthy", "/-/ready"] {
        let r = client.get(format!("{base}{path}")).send().await.unwrap();
        assert_eq!(r.status(), 200, "{path} stays open");
    }
    // The webhook keeps its own token.
    let r = app
        .deliver(&alert("FlexusFreeTrafficLow", "firing", Some("3")))
        .await;
    assert_eq!(r.status(), 200);
}

/// The exact `/metrics` exposition for a handful of fixed BSS answers (a package at each level, a
/// malformed entry, a package BSS does not list), kept as a fixture so that a renamed metric or
/// label, a changed type or help text cannot slip through; and checked by `promtool check
/// metrics`. After an intended change, regenerate it with `UPDATE_GOLDEN=1 cargo test golden`.
/// Build identity (revision, compiler, target) is written as placeholders.
#[tokio::test]
async fn the_exposition_for_fixed_bss_answers_matches_the_golden_file() {
    use flexus_traffic_monitor::huawei::wire::{readings_for, UsagesResponse};
    use flexus_traffic_monitor::metrics::Metrics;
    use flexus_traffic_monitor::snapshot::Snapshot;
    const GOLDEN: &str = "tests/fixtures/metrics-golden.prom";
    let ids = [ID, "pkg-level-2", "pkg-malformed", "pkg-missing"];
    let bss = crate::helpers::FakeBss::start().await;
    let config = crate::helpers::config(&crate::helpers::base_env(&bss, &ids));
    let answer: UsagesResponse = serde_json::from_value(serde_json::json!({"free_resources": [
        {"free_resource_id": ID, "free_resource_type_name": "Lightweight BGP data package",
         "usage_type_name": "Uplink traffic", "start_time": "2026-11-07T16:00:00Z",
         "end_time": "2026-12-07T16:00:00Z", "amount": 853.27, "original_amount": 1200,
         "measure_id": 10},
        {"free_resource_id": "pkg-level-2", "free_resource_type_name": "Lightweight BGP data package",
         "usage_type_name": "", "start_time": "2026-11-07T16:00:00Z",
         "end_time": "2026-12-07T16:00:00Z", "amount": 8192, "original_amount": 204800,
         "measure_id": 11},
        {"free_resource_id": "pkg-malformed", "start_time": "2026-11-07T16:00:00Z",
         "end_time": "2026-12-07T16:00:00Z", "original_amount": 1200, "measure_id": 10}
    ]}))
    .unwrap();
    let now = chrono::DateTime::parse_from_rfc3339("2026-12-01T08:00:00Z")
        .unwrap()
        .with_timezone(&chrono::Utc);
    let ids: Vec<String> = ids.iter().map(|s| s.to_string()).collect();
    let results = readings_for(&ids, answer.free_resources.as_deref().unwrap(), now);
    let mut snap = Snapshot::new(&ids);
    snap.apply(&Ok(results), now);
    let text = Metrics::new().render(&snap, &config, now);
    let text: String = text
        .lines()
        .map(|l| {
            if l.starts_with("flexus_build_info{") {
                format!(
                    "flexus_build_info{{revision=\"REVISION\",rustc=\"RUSTC\",target=\"TARGET\",version=\"{}\"}} 1",
                    env!("CARGO_PKG_VERSION")
                )
            } else {
                l.to_string()
            }
        })
        .map(|l| l + "\n")
        .collect();
    assert!(
        !text.contains("pkg-malformed\",usage_type"),
        "a malformed entry is no reading:\n{text}"
    );
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        std::fs::write(GOLDEN, &text).unwrap();
    }
    let golden = std::fs::read_to_string(GOLDEN).unwrap();
    if golden != text {
        let first = golden
            .lines()
            .zip(text.lines())
            .position(|(a, b)| a != b)
            .unwrap_or(golden.lines().count().min(text.lines().count()));
        panic!(
            "/metrics differs from {GOLDEN} at line {}:\n golden: {:?}\n now:    {:?}\n(regenerate with UPDATE_GOLDEN=1 after an intended change)",
            first + 1,
            golden.lines().nth(first),
            text.lines().nth(first)
        );
    }
    if let Some(complaints) = promtool_complaints(&golden) {
        assert!(complaints.is_empty(), "{complaints:#?}");
    }
}
