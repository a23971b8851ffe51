//! The BSS client and the poller against the signature-checking fake: every answer a real gateway
//! can give ends in the right reading or the right error, and `/metrics` shows it.

use std::time::Duration;

use flexus_traffic_monitor::huawei::transport::{
    ApiRequest, Credentials, RetryPolicy, SignedClient,
};
use flexus_traffic_monitor::huawei::{HuaweiError, Site};
use flexus_traffic_monitor::secret::Secret;
use serde_json::json;

use crate::helpers::fakes::bss::package;
use crate::helpers::{base_env, get_text, metric, FakeBss, Reply, TestApp, ID};

const ID2: &str = "0d5c6a1e-7f3b-4c0a-9d6e-2b1f8a7c9e01";

async fn app_with(fake: &FakeBss, extra: &[(&str, &str)]) -> TestApp {
    let mut env = base_env(fake, &[ID]);
    env.extend(extra.iter().map(|(k, v)| (k.to_string(), v.to_string())));
    TestApp::spawn(&env).await
}

#[tokio::test]
async fn success_shows_every_gauge_for_several_packages() {
    let fake = FakeBss::start().await;
    fake.set_gb(ID, 853.27, 1200.0);
    fake.set_entry(ID2, package(ID2, json!("2048"), json!("4096"), json!(11)));
    let mut env = base_env(&fake, &[ID, ID2]);
    env.push((
        "HUAWEICLOUD_SDK_DOMAIN_ID".into(),
        "0123456789abcdef0123456789abcdef".into(),
    ));
    let app = TestApp::spawn(&env).await;
    let results = app.poller.poll_once().await.unwrap();
    assert_eq!(results.len(), 2);
    assert_eq!(fake.valid_signatures(), 1);
    assert_eq!(
        fake.last_header("x-domain-id").as_deref(),
        Some("0123456789abcdef0123456789abcdef")
    );

    let m = app.scrape().await;
    let id = format!("free_resource_id=\"{ID}\"");
    let id2 = format!("free_resource_id=\"{ID2}\"");
    assert_eq!(
        metric(
            &m,
            "flexus_free_traffic_remaining_gb",
            &[
                &id,
                "server=\"test-server\"",
                "usage_type=\"Uplink traffic\""
            ]
        ),
        Some(853.27)
    );
    assert_eq!(
        metric(&m, "flexus_free_traffic_remaining_bytes", &[&id]),
        Some((853.27 * 1024.0 * 1024.0 * 1024.0_f64).round()),
        "whole bytes"
    );
    assert_eq!(
        metric(&m, "flexus_free_traffic_total_gb", &[&id]),
        Some(1200.0)
    );
    assert_eq!(
        metric(&m, "flexus_free_traffic_remaining_gb", &[&id2]),
        Some(2.0),
        "MB package converted to GB"
    );
    assert_eq!(
        metric(&m, "flexus_free_traffic_total_gb", &[&id2]),
        Some(4.0)
    );
    assert_eq!(
        metric(
            &m,
            "flexus_free_traffic_cycle_end_timestamp_seconds",
            &[&id]
        ),
        Some(crate::helpers::fakes::bss::cycle().1.timestamp() as f64)
    );
    assert_eq!(
        metric(&m, "flexus_free_traffic_threshold_gb", &["level=\"1\""]),
        Some(5.0)
    );
    assert_eq!(
        metric(&m, "flexus_free_traffic_threshold_gb", &["level=\"3\""]),
        Some(20.0)
    );
    assert_eq!(metric(&m, "flexus_bss_up", &[]), Some(1.0));
    assert!(metric(&m, "flexus_bss_last_success_timestamp_seconds", &[]).unwrap() > 1.7e9);
    assert_eq!(
        metric(&m, "flexus_bss_requests_total", &["result=\"success\""]),
        Some(1.0)
    );
    assert_eq!(
        metric(&m, "flexus_bss_request_duration_seconds_count", &[]),
        Some(1.0)
    );
    assert_eq!(metric(&m, "flexus_build_info", &[]), Some(1.0));
}

#[tokio::test]
async fn more_than_100_ids_go_in_batches() {
    let fake = FakeBss::start().await;
    let ids: Vec<String> = (0..150).map(|i| format!("id-{i:03}")).collect();
    for id in &ids {
        fake.set_gb(id, 100.0, 200.0);
    }
    let refs: Vec<&str> = ids.iter().map(String::as_str).collect();
    let app = TestApp::spawn(&base_env(&fake, &refs)).await;
    let results = app.poller.poll_once().await.unwrap();
    assert_eq!(results.len(), 150);
    assert!(results.iter().all(|(_, r)| r.is_ok()));
    let sizes: Vec<usize> = fake
        .bodies()
        .iter()
        .map(|b| b["free_resource_ids"].as_array().unwrap().len())
        .collect();
    assert_eq!(sizes, [100, 50]);
}

/// What a faulty answer must lead to.
enum Expect {
    /// The package has an error; the poll as a whole went through.
    PackageError(&'static str),
    /// The poll failed with an error of this kind.
    PollError(&'static str),
}

/// Seeds a good reading, then makes the fault happen, and checks the error and `/metrics`.
async fn fault_case(setup: impl FnOnce(&FakeBss), expect: Expect, extra: &[(&str, &str)]) {
    let fake = FakeBss::start().await;
    fake.set_gb(ID, 400.0, 1000.0);
    let app = app_with(&fake, extra).await;
    app.poller.poll_once().await.unwrap();
    setup(&fake);
    let outcome = app.poller.poll_once().await;
    match (&expect, &outcome) {
        (Expect::PackageError(want), Ok(results)) => {
            let err = results[0]
                .1
                .as_ref()
                .expect_err("the package must not read")
                .to_string();
            assert!(err.contains(want), "{err} should mention {want}");
        }
        (Expect::PollError(kind), Err(e)) => assert_eq!(e.kind(), *kind, "{e}"),
        (_, other) => panic!("unexpected outcome {other:?}"),
    }
    let m = app.scrape().await;
    let id = format!("free_resource_id=\"{ID}\"");
    assert_eq!(metric(&m, "flexus_bss_up", &[]), Some(0.0));
    // The last good reading is kept, never replaced by a zero...
    assert_eq!(
        metric(&m, "flexus_free_traffic_remaining_gb", &[&id]),
        Some(400.0)
    );
    // ...until it is too old, then it is dropped.
    let later = chrono::Utc::now()
        + chrono::Duration::from_std(app.config.watch.reading_max_age).unwrap()
        + chrono::Duration::seconds(5);
    let m = app.render_at(later).await;
    assert_eq!(metric(&m, "flexus_free_traffic_remaining_gb", &[&id]), None);
    assert!(metric(&m, "flexus_bss_last_success_timestamp_seconds", &[]).unwrap() > 1.7e9);
    if let Expect::PollError(kind) = expect {
        assert_eq!(
            metric(
                &m,
                "flexus_bss_requests_total",
                &[&format!("result=\"{kind}\"")]
            ),
            Some(1.0)
        );
    }
}

#[tokio::test]
async fn a_bad_package_entry_is_an_error_for_that_package_never_zero() {
    let mut no_amount = package(ID, json!(0), json!(100), json!(10));
    no_amount.as_object_mut().unwrap().remove("amount");
    for (what, entry, want) in [
        (
            "an unknown unit",
            Some(package(ID, json!(1), json!(100), json!(12))),
            "measure_id=12",
        ),
        ("a missing amount", Some(no_amount), "amount"),
        (
            "a malformed string amount",
            Some(package(ID, json!("12.5GB"), json!(100), json!(10))),
            "amount",
        ),
        ("a missing id: unknown", None, "no entry"),
    ] {
        eprintln!("case: {what}");
        let setup = |f: &FakeBss| match entry {
            Some(e) => f.set_entry(ID, e),
            None => f.remove(ID),
        };
        fault_case(setup, Expect::PackageError(want), &[]).await;
    }
}

#[tokio::test]
async fn every_faulty_answer_is_a_poll_error_of_its_kind() {
    let error = |status: u16, code: &str, msg: &str| {
        Reply::Json(status, json!({"error_code": code, "error_msg": msg}))
    };
    let truncated = r#"{"free_resources":[{"free_resource_id":"828e2c7c"#;
    let html = "<html><body>502 Bad Gateway</body></html>";
    for (reply, kind, extra) in [
        (
            error(
                401,
                "APIGW.0301",
                "Incorrect IAM authentication information",
            ),
            "bad_credentials",
            &[][..],
        ),
        // Missing permission names the policy.
        (
            error(403, "CBC.0151", "Access denied."),
            "permission_denied",
            &[],
        ),
        // The wrong site says which site to configure.
        (
            error(403, "CBC.0150", "customer does not belong to the website"),
            "wrong_site",
            &[],
        ),
        // HTTP 200 with an error code is an error.
        (error(200, "CBC.0999", "business error"), "api_error", &[]),
        // A stall past the timeout.
        (
            Reply::Stall(Duration::from_secs(5)),
            "timeout",
            &[("HTTP_TIMEOUT", "500ms")],
        ),
        (
            Reply::Raw(200, "application/json", truncated.into()),
            "bad_response",
            &[],
        ),
        (
            Reply::Raw(200, "text/html", html.into()),
            "bad_response",
            &[],
        ),
    ] {
        eprintln!("case: {kind}");
        fault_case(|f| f.push(reply), Expect::PollError(kind), extra).await;
    }
}

#[tokio::test]
async fn bad_key_is_a_configuration_error_and_not_retried() {
    let fake = FakeBss::start().await;
    fake.set_gb(ID, 400.0, 1000.0);
    let mut env = base_env(&fake, &[ID]);
    env.retain(|(k, _)| k != "HUAWEICLOUD_SDK_SK");
    env.push(("HUAWEICLOUD_SDK_SK".into(), "wrong-sk".into()));
    let app = TestApp::spawn(&env).await;
    let e = app.poller.poll_once().await.unwrap_err();
    assert!(matches!(e, HuaweiError::BadCredentials { .. }), "{e}");
    assert!(
        e.to_string().contains("HUAWEICLOUD_SDK_SK") && e.to_string().contains("fake-req-1"),
        "{e}"
    );
    assert!(!e.to_string().contains("wrong-sk"));
    assert_eq!(fake.requests(), 1, "a wrong key is not retried");
    assert_eq!(fake.bad_signatures(), 1);
    let status = app.status().await;
    assert!(status["bss"]["last_error"]
        .as_str()
        .unwrap()
        .contains("APIGW.0301"));
    assert_eq!(
        app.metric("flexus_bss_requests_total", &["result=\"bad_credentials\""])
            .await,
        Some(1.0)
    );
}

#[tokio::test]
async fn throttled_then_success_is_retried() {
    let fake = FakeBss::start().await;
    fake.set_gb(ID, 400.0, 1000.0);
    let app = app_with(&fake, &[]).await;
    fake.push(Reply::Json(429, json!({"error_code": "APIGW.0308", "error_msg": "The throttling threshold has been reached"})));
    let results = app.poller.poll_once().await.unwrap();
    assert_eq!(results[0].1.as_ref().unwrap().remaining_gb, 400.0);
    assert_eq!(fake.requests(), 2);
    assert_eq!(fake.valid_signatures(), 2, "the retry is signed afresh");
    assert_eq!(app.metric("flexus_bss_up", &[]).await, Some(1.0));
}

#[tokio::test]
async fn server_error_then_success_is_retried() {
    let fake = FakeBss::start().await;
    fake.set_gb(ID, 400.0, 1000.0);
    let app = app_with(&fake, &[]).await;
    fake.push(Reply::Raw(
        500,
        "application/json",
        r#"{"error_code":"CBC.5000","error_msg":"system error"}"#.into(),
    ));
    assert!(app.poller.poll_once().await.is_ok());
    assert_eq!(fake.requests(), 2);
}

#[tokio::test]
async fn persistent_server_errors_give_up_after_three_attempts() {
    let fake = FakeBss::start().await;
    fake.set_gb(ID, 400.0, 1000.0);
    let app = app_with(&fake, &[]).await;
    for _ in 0..5 {
        fake.push(Reply::Raw(503, "text/plain", "unavailable".into()));
    }
    let e = app.poller.poll_once().await.unwrap_err();
    assert_eq!(e.kind(), "server_error");
    assert_eq!(fake.requests(), 3);
}

#[tokio::test]
async fn the_sent_url_carries_exactly_the_signed_query() {
    let fake = FakeBss::start().await;
    let client = SignedClient::new(
        url::Url::parse(&fake.url()).unwrap(),
        Credentials {
            access_key: Secret::new("test-ak"),
            secret_key: Secret::new("test-sk"),
        },
        Site::Cn,
        Duration::from_secs(2),
        RetryPolicy::default(),
    )
    .unwrap();
    let req = ApiRequest {
        api: "ListFreeResourceUsages",
        method: reqwest::Method::GET,
        path: "/v2/bills/customer-bills/free-resources-usage-records".into(),
        query: vec![
            (
                "free_resource_id".into(),
                "id with space/slash+plus=eq&amp".into(),
            ),
            ("product_id".into(), "流量包~*'()!".into()),
            ("limit".into(), "10".into()),
        ],
        headers: vec![("Content-Type".into(), "application/json".into())],
        body: Vec::new(),
    };
    client.send(&req).await.unwrap();
    assert_eq!(fake.valid_signatures(), 1);
    assert_eq!(
        fake.queries(),
        ["free_resource_id=id%20with%20space%2Fslash%2Bplus%3Deq%26amp&limit=10&product_id=%E6%B5%81%E9%87%8F%E5%8C%85~%2A%27%28%29%21"]
    );
}

#[tokio::test]
async fn discover_lists_packages_through_the_v3_call() {
    let fake = FakeBss::start().await;
    fake.set_gb(ID, 853.27, 1200.0);
    let app = app_with(&fake, &[]).await;
    let bss = flexus_traffic_monitor::commands::bss_client(&app.config).unwrap();
    let found = bss.list_free_resource_infos().await.unwrap();
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].free_resource_id, ID);
    assert_eq!(found[0].remaining_gb, Some(853.27));
}

#[tokio::test]
async fn readyz_waits_for_the_first_poll_and_status_shows_levels() {
    let fake = FakeBss::start().await;
    fake.set_gb(ID, 7.5, 1000.0);
    let app = app_with(&fake, &[]).await;
    assert!(!crate::helpers::is_ready(&app.state));
    let r = reqwest::get(format!("{}/readyz", app.base_url))
        .await
        .unwrap();
    assert_eq!(r.status(), 503);
    app.poller.poll_once().await.unwrap();
    app.state
        .ready
        .store(true, std::sync::atomic::Ordering::Release);
    assert_eq!(
        reqwest::get(format!("{}/readyz", app.base_url))
            .await
            .unwrap()
            .status(),
        200
    );
    assert_eq!(
        reqwest::get(format!("{}/healthz", app.base_url))
            .await
            .unwrap()
            .status(),
        200
    );
    let status = app.status().await;
    assert_eq!(status["packages"][0]["level"], "2");
    assert_eq!(status["packages"][0]["reading"]["remaining_gb"], 7.5);
    let landing = get_text(&app.base_url).await;
    assert!(landing.contains("/metrics") && landing.contains("test-server"));
}
