//! `SHUTDOWN_MODE=huawei-api`, `AUTO_START` and several servers, against fakes of BSS, ECS, jobs and
//! RMS that check signatures.

use std::time::Duration;

use serde_json::{json, Value};

use crate::helpers::fakes::bss::{cycle_ending_in, in_cycle, next_cycle, package};
use crate::helpers::fakes::cloud::{FakeCloud, Job};
use crate::helpers::{
    base_env, bss_and_telegram, config, metric, state_dir, telegram_env, FakeBss, FakeTelegram,
    Spawn, TestApp,
};

const PKG_A: &str = "828e2c7c-3c8c-45a2-bebc-98cb3e77d06e";
const PKG_B: &str = "0d5c6a1e-7f3b-4c0a-9d6e-2b1f8a7c9e01";
const SRV_A: &str = "72a270de-665a-4f46-8d64-24ad6edccdd1";
const SRV_B: &str = "5e1f3a2b-1111-4c0a-9d6e-000000000002";
const PROJECT: &str = "fedcba9876543210fedcba9876543210";
const REGION: &str = "ap-southeast-1";
const DOMAIN: &str = "0123456789abcdef0123456789abcdef";

struct World {
    bss: FakeBss,
    tg: FakeTelegram,
    cloud: FakeCloud,
    env: Vec<(String, String)>,
    /// The packages' cycle: it ends in a few minutes.
    cycle: (chrono::DateTime<chrono::Utc>, chrono::DateTime<chrono::Utc>),
}

/// Two servers, each with its package; A is low, B is fine.
async fn world(extra: &[(&str, &str)], mapping: bool) -> World {
    let (bss, tg) = bss_and_telegram().await;
    let cloud = FakeCloud::start().await;
    cloud.add_server("sg-a", SRV_A, PROJECT, REGION, PKG_A);
    cloud.add_server("hk-b", SRV_B, PROJECT, REGION, PKG_B);
    // A cycle that ends in a few minutes, so that the next one may begin during a test.
    let cycle = cycle_ending_in(8);
    for (id, gb) in [(PKG_A, 3.0), (PKG_B, 50.0)] {
        bss.set_entry(
            id,
            in_cycle(package(id, json!(gb), json!(100), json!(10)), cycle),
        );
    }
    let mut env = base_env(&bss, &[PKG_A, PKG_B]);
    env.extend(telegram_env(&tg));
    for (k, v) in [
        ("SHUTDOWN_MODE", "huawei-api"),
        ("SHUTDOWN_DELAY", "0s"),
        ("HUAWEICLOUD_ECS_ENDPOINT", &cloud.url()),
        ("HUAWEICLOUD_RMS_ENDPOINT", &cloud.url()),
        ("ECS_JOB_TIMEOUT", "5s"),
        ("DAILY_REPORT", "false"),
    ] {
        env.push((k.into(), v.to_string()));
    }
    if mapping {
        env.push((
            "FLEXUS_INSTANCES".into(),
            format!(
                "{PKG_A}:{SRV_A}:sg-a:{REGION}:{PROJECT},{PKG_B}:{SRV_B}:hk-b:{REGION}:{PROJECT}"
            ),
        ));
    } else {
        env.push(("HUAWEICLOUD_SDK_DOMAIN_ID".into(), DOMAIN.into()));
    }
    env.extend(extra.iter().map(|(k, v)| (k.to_string(), v.to_string())));
    World {
        bss,
        tg,
        cloud,
        env,
        cycle,
    }
}

impl World {
    /// A package entry in the next cycle, refilled.
    fn new_cycle(&self, id: &str, remaining: f64) -> Value {
        let p = package(id, json!(remaining), json!(100), json!(10));
        in_cycle(p, next_cycle(self.cycle.1))
    }
}

async fn step(app: &TestApp) {
    app.poll_and_evaluate().await;
    app.engine.auto_start(chrono::Utc::now()).await;
    app.engine.wait_auto_start().await;
    app.settle().await;
}

fn real() -> Spawn {
    Spawn::real_executor()
}

#[tokio::test]
async fn two_servers_one_stopped_then_started_after_the_reset_across_a_restart() {
    let w = world(&[("AUTO_START", "true")], true).await;
    let app = TestApp::spawn_with(&w.env, real()).await;
    step(&app).await;
    assert_eq!(
        w.cloud.actions(),
        [("os-stop".to_string(), SRV_A.to_string(), "SOFT".to_string())]
    );
    assert_eq!(w.cloud.status(SRV_A), "SHUTOFF");
    assert_eq!(
        w.cloud.status(SRV_B),
        "ACTIVE",
        "the other server is left alone"
    );
    assert!(
        w.tg.has(&["sg-a", "shutdown executed", "os-stop SOFT"]),
        "{:#?}",
        w.tg.texts()
    );
    let m = app.scrape().await;
    assert_eq!(
        metric(&m, "flexus_free_traffic_remaining_gb", &["server=\"sg-a\""]),
        Some(3.0)
    );
    assert_eq!(
        metric(&m, "flexus_free_traffic_remaining_gb", &["server=\"hk-b\""]),
        Some(50.0)
    );
    // The ECS calls are counted as the `ecs` source's.
    for api in ["BatchStopServers", "ShowJob"] {
        let n = metric(
            &m,
            "flexus_source_requests_total",
            &["source=\"ecs\"", &format!("api=\"{api}\""), "code=\"200\""],
        );
        assert!(n >= Some(1.0), "{api}: {n:?}");
    }
    assert_eq!(
        metric(&m, "flexus_source_up", &["source=\"ecs\""]),
        Some(1.0)
    );
    app.stop().await;

    // A restart in the same cycle: the instance is already off; nothing more is done.
    let app = TestApp::spawn_with(&w.env, real()).await;
    step(&app).await;
    assert_eq!(w.cloud.actions().len(), 1);

    // The cycle resets: the instance this process stopped is started again, and reported.
    w.bss.set_entry(PKG_A, w.new_cycle(PKG_A, 100.0));
    step(&app).await;
    assert_eq!(
        w.cloud.actions().last().unwrap(),
        &("os-start".to_string(), SRV_A.to_string(), String::new())
    );
    assert_eq!(w.cloud.status(SRV_A), "ACTIVE");
    assert_eq!(w.tg.count("started again"), 1, "{:#?}", w.tg.texts());
    assert!(app.engine.state.snapshot().await.stopped.is_empty());
    step(&app).await;
    assert_eq!(w.cloud.actions().len(), 2, "started once");
    assert_eq!(
        app.metric("flexus_instance_starts_total", &["result=\"started\""])
            .await,
        Some(1.0)
    );
    assert_eq!(w.cloud.bad_signatures(), 0);
}

#[tokio::test]
async fn an_instance_stopped_by_hand_is_never_started() {
    let w = world(&[("AUTO_START", "true")], true).await;
    w.cloud.set_status(SRV_B, "SHUTOFF");
    w.bss.set_entry(PKG_B, w.new_cycle(PKG_B, 100.0));
    w.bss.set_gb(PKG_A, 50.0, 100.0);
    let app = TestApp::spawn_with(&w.env, real()).await;
    step(&app).await;
    step(&app).await;
    assert!(w.cloud.actions().is_empty(), "{:?}", w.cloud.actions());
    assert_eq!(w.cloud.status(SRV_B), "SHUTOFF");
}

#[tokio::test]
async fn a_failed_stop_job_is_reported() {
    let w = world(&[], true).await;
    w.cloud.push(Job::Fail);
    let app = TestApp::spawn_with(&w.env, real()).await;
    step(&app).await;
    assert!(
        w.tg.texts().iter().any(|t| t.contains("Shutdown failed")
            && t.contains("Ecs.0021: the server is locked by another operation")
            && !t.contains("cannot follow job")
            && !t.contains("refused the request")),
        "{:#?}",
        w.tg.texts()
    );
    assert_eq!(
        app.metric("flexus_shutdowns_total", &["result=\"failed\""])
            .await,
        Some(1.0)
    );
    assert!(
        app.engine.state.snapshot().await.stopped.is_empty(),
        "a failed stop is not remembered for AUTO_START"
    );
}

#[tokio::test]
async fn a_soft_stop_that_does_not_finish_is_followed_by_a_hard_one() {
    let w = world(&[("ECS_HARD_STOP_AFTER", "1s")], true).await;
    w.cloud.push(Job::Never);
    let app = TestApp::spawn_with(&w.env, real()).await;
    step(&app).await;
    let kinds: Vec<String> = w.cloud.actions().into_iter().map(|(_, _, t)| t).collect();
    assert_eq!(kinds, ["SOFT", "HARD"]);
    assert_eq!(w.cloud.status(SRV_A), "SHUTOFF");
    assert!(
        w.tg.has(&["os-stop HARD", "succeeded"]),
        "{:#?}",
        w.tg.texts()
    );
}

#[tokio::test]
async fn a_stalled_or_refused_stop_is_reported() {
    for (job, extra, want) in [
        (
            Job::Stall(Duration::from_secs(5)),
            ("HTTP_TIMEOUT", "1s"),
            "did not answer",
        ),
        (
            Job::Refuse(
                403,
                json!({"error_code": "Ecs.0001", "error_msg": "Policy doesn't allow ecs:cloudServers:stop"}),
            ),
            ("HTTP_TIMEOUT", "2s"),
            "ecs:cloudServers:stop",
        ),
    ] {
        let w = world(&[extra], true).await;
        w.cloud.push(job);
        let app = TestApp::spawn_with(&w.env, real()).await;
        step(&app).await;
        assert!(
            w.tg.has(&["Shutdown failed", want]),
            "{want}: {:#?}",
            w.tg.texts()
        );
        assert_eq!(w.cloud.status(SRV_A), "ACTIVE");
    }
}

#[tokio::test]
async fn instances_are_found_through_rms_when_not_configured() {
    let w = world(&[], false).await;
    let mut c = config(&w.env);
    assert!(c.watch.targets.is_empty());
    flexus_traffic_monitor::commands::resolve_targets(&mut c)
        .await
        .unwrap();
    assert_eq!(c.watch.targets[PKG_A].server_id, SRV_A);
    assert_eq!(c.watch.targets[PKG_B].name, "hk-b");
    assert_eq!(c.watch.targets[PKG_A].project_id, PROJECT);
    // A package no instance has is a clear error.
    let mut env = w.env.clone();
    env.push((
        "FREE_RESOURCE_IDS".into(),
        format!("{PKG_A},unknown-package"),
    ));
    let mut c = config(&env);
    let e = flexus_traffic_monitor::commands::resolve_targets(&mut c)
        .await
        .unwrap_err()
        .to_string();
    assert!(e.contains("unknown-package"), "{e}");
}

#[tokio::test]
async fn huawei_api_mode_without_an_instance_is_refused_at_start_up() {
    let w = world(&[], false).await;
    let mut env = w.env.clone();
    env.retain(|(k, _)| k != "HUAWEICLOUD_SDK_DOMAIN_ID");
    let raw = flexus_traffic_monitor::config::RawConfig::from_pairs(
        env.into_iter().collect::<std::collections::HashMap<_, _>>(),
    )
    .unwrap();
    let e = flexus_traffic_monitor::config::Config::from_raw(&raw)
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("ECS_SERVER_ID") && e.contains("FLEXUS_INSTANCES"),
        "{e}"
    );
    let _ = state_dir("unused");
}

#[tokio::test]
async fn one_serve_process_guards_two_servers_through_a_whole_cycle() {
    use crate::helpers::process::{spawn_serve, stop, wait_for_message};
    let w = world(
        &[
            ("AUTO_START", "true"),
            ("FALLBACK", "always"),
            ("POLL_INTERVAL", "1s"),
            ("SHUTDOWN_DELAY", "1s"),
        ],
        false,
    )
    .await;
    let port = crate::helpers::free_port();
    let mut env = w.env.clone();
    env.push(("LISTEN_ADDR".into(), format!("127.0.0.1:{port}")));
    let child = spawn_serve(&env);
    wait_for_message(&w.tg, "shutdown executed").await;
    let logs = stop(child).await;
    assert!(logs.contains("instance found through RMS"), "{logs}");
    assert_eq!(w.cloud.status(SRV_A), "SHUTOFF");
    assert_eq!(w.cloud.status(SRV_B), "ACTIVE");

    // The monitor restarts (state survives); the cycle resets while it is up.
    let child = spawn_serve(&env);
    tokio::time::sleep(Duration::from_secs(2)).await;
    w.bss.set_entry(PKG_A, w.new_cycle(PKG_A, 100.0));
    wait_for_message(&w.tg, "started again").await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    stop(child).await;
    let actions: Vec<(String, String)> = w
        .cloud
        .actions()
        .into_iter()
        .map(|(a, s, _)| (a, s))
        .collect();
    assert_eq!(
        actions,
        [
            ("os-stop".to_string(), SRV_A.to_string()),
            ("os-start".to_string(), SRV_A.to_string())
        ]
    );
    assert_eq!(w.cloud.status(SRV_A), "ACTIVE");
    let texts = w.tg.texts();
    for want in [
        "Free traffic almost used up",
        "Shutdown countdown",
        "shutdown executed",
        // A reset starts the alert memory afresh: the reset is told, not a "recovery".
        "Traffic cycle has reset",
        "started again",
    ] {
        assert!(
            texts.iter().any(|t| t.contains(want) && t.contains("sg-a")),
            "{want}: {texts:#?}"
        );
    }
    assert!(!texts.iter().any(|t| t.contains("hk-b") && (t.contains("almost used up") || t.contains("shutdown"))), "{texts:#?}");
}

#[tokio::test]
async fn discover_lists_instances_with_ready_configuration_lines() {
    let w = world(&[], false).await;
    let env = w.env.clone();
    let out = crate::helpers::process::run(&env, &["discover"]).await;
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        text.contains("sg-a") && text.contains("hk-b"),
        "both pages of RMS: {text}"
    );
    let line = text
        .lines()
        .find(|l| l.starts_with("FLEXUS_INSTANCES="))
        .unwrap();
    assert!(
        line.contains(&format!("{PKG_A}:{SRV_A}:sg-a:{REGION}:{PROJECT}")),
        "{line}"
    );
    assert!(
        line.contains(&format!("{PKG_B}:{SRV_B}:hk-b:{REGION}:{PROJECT}")),
        "{line}"
    );
    // The printed line is valid configuration.
    let mut env = w.env.clone();
    env.retain(|(k, _)| k != "HUAWEICLOUD_SDK_DOMAIN_ID");
    env.push((
        "FLEXUS_INSTANCES".into(),
        line.trim_start_matches("FLEXUS_INSTANCES=").to_string(),
    ));
    let c = config(&env);
    assert_eq!(c.watch.targets.len(), 2);
}
