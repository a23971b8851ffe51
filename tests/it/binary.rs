//! The real binary as a child process, configured through its environment.

use std::process::{Command, Stdio};
use std::time::Duration;

use crate::helpers::{base_env, metric, state_dir, FakeBss};

const BIN: &str = env!("CARGO_BIN_EXE_flexus-traffic-monitor");
const ID: &str = "828e2c7c-3c8c-45a2-bebc-98cb3e77d06e";
const ID2: &str = "0d5c6a1e-7f3b-4c0a-9d6e-2b1f8a7c9e01";

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A command with a clean environment, run in an empty directory (so no `.env` is picked up).
pub fn command(env: &[(String, String)]) -> Command {
    let mut c = Command::new(BIN);
    c.env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .current_dir(state_dir("cwd"));
    for (k, v) in env {
        c.env(k, v);
    }
    c
}

async fn wait_until_ready(base: &str) {
    for _ in 0..100 {
        if let Ok(r) = reqwest::get(format!("{base}/readyz")).await {
            if r.status() == 200 {
                return;
            }
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("the binary never became ready");
}

#[tokio::test]
async fn serve_exports_readings_and_stops_cleanly_on_sigterm() {
    let fake = FakeBss::start().await;
    fake.set_gb(ID, 853.27, 1200.0);
    fake.set_gb(ID2, 3.5, 100.0);
    let port = free_port();
    let mut env = base_env(&fake, &[ID, ID2]);
    env.push(("LISTEN_ADDR".into(), format!("127.0.0.1:{port}")));
    env.push(("POLL_INTERVAL".into(), "1s".into()));
    let child = command(&env)
        .arg("serve")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let base = format!("http://127.0.0.1:{port}");
    wait_until_ready(&base).await;
    let m = reqwest::get(format!("{base}/metrics"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(
        metric(
            &m,
            "flexus_free_traffic_remaining_gb",
            &[&format!("free_resource_id=\"{ID}\"")]
        ),
        Some(853.27)
    );
    assert_eq!(
        metric(
            &m,
            "flexus_free_traffic_remaining_gb",
            &[&format!("free_resource_id=\"{ID2}\"")]
        ),
        Some(3.5)
    );
    assert_eq!(metric(&m, "flexus_bss_up", &[]), Some(1.0));

    // The poller keeps polling on its interval; a changed amount shows up without a restart.
    fake.set_gb(ID2, 2.25, 100.0);
    let mut seen = false;
    for _ in 0..50 {
        let m = reqwest::get(format!("{base}/metrics"))
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        if metric(
            &m,
            "flexus_free_traffic_remaining_gb",
            &[&format!("free_resource_id=\"{ID2}\"")],
        ) == Some(2.25)
        {
            seen = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(seen, "a new poll's figures reach /metrics");
    if std::env::var_os("FLEXUS_SAVE_METRICS").is_some() {
        std::fs::write(std::env::var("FLEXUS_SAVE_METRICS").unwrap(), &m).unwrap();
    }

    let pid = child.id().to_string();
    assert!(Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .unwrap()
        .success());
    let status = tokio::task::spawn_blocking(move || child.wait_with_output())
        .await
        .unwrap()
        .unwrap();
    let stderr = String::from_utf8_lossy(&status.stderr);
    assert!(
        status.status.success(),
        "exit {:?}; stderr: {stderr}",
        status.status
    );
    assert!(stderr.contains("stopped"), "{stderr}");
    assert!(
        !stderr.contains(crate::helpers::fake_bss::SK),
        "secret in logs: {stderr}"
    );
}

#[tokio::test]
async fn check_prints_a_table_and_json_with_exit_codes() {
    let fake = FakeBss::start().await;
    fake.set_gb(ID, 853.27, 1200.0);
    let env = base_env(&fake, &[ID]);
    let out = tokio::task::spawn_blocking({
        let env = env.clone();
        move || command(&env).arg("check").output().unwrap()
    })
    .await
    .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains(ID) && text.contains("853.27") && text.contains("346.73"),
        "{text}"
    );

    let out = tokio::task::spawn_blocking({
        let env = env.clone();
        move || command(&env).args(["check", "--json"]).output().unwrap()
    })
    .await
    .unwrap();
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["packages"][0]["reading"]["remaining_gb"], 853.27);
    assert_eq!(v["packages"][0]["level"], "ok");

    fake.remove(ID);
    let out = tokio::task::spawn_blocking({
        let env = env.clone();
        move || command(&env).arg("check").output().unwrap()
    })
    .await
    .unwrap();
    assert_eq!(
        out.status.code(),
        Some(3),
        "a package that cannot be read gives exit 3"
    );
}

#[tokio::test]
async fn configuration_mistakes_name_the_variable_and_exit_1() {
    let fake = FakeBss::start().await;
    let mut env = base_env(&fake, &[ID]);
    env.push(("THRESHOLD_LEVEL_1".into(), "50".into()));
    env.push(("POLL_INTERVAL".into(), "sometimes".into()));
    let out = command(&env).arg("serve").output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("THRESHOLD_LEVEL_1") && err.contains("POLL_INTERVAL"),
        "{err}"
    );
    assert!(!err.contains("test-sk"));

    let out = command(&[]).arg("serve").output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("HUAWEICLOUD_SDK_AK") && err.contains("FREE_RESOURCE_IDS"),
        "{err}"
    );
}

#[tokio::test]
async fn config_command_redacts_secrets() {
    let fake = FakeBss::start().await;
    let mut env = base_env(&fake, &[ID]);
    env.push(("TELEGRAM_BOT_TOKEN".into(), "123456:SECRET-TOKEN".into()));
    let out = command(&env).arg("config").output().unwrap();
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("HUAWEICLOUD_SDK_SK=[redacted]")
            && text.contains("TELEGRAM_BOT_TOKEN=[redacted]"),
        "{text}"
    );
    assert!(!text.contains("test-sk") && !text.contains("SECRET-TOKEN"));
}

#[tokio::test]
async fn discover_prints_a_ready_line() {
    let fake = FakeBss::start().await;
    fake.set_gb(ID, 853.27, 1200.0);
    let env = base_env(&fake, &[]);
    let out = tokio::task::spawn_blocking(move || command(&env).arg("discover").output().unwrap())
        .await
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains(&format!("FREE_RESOURCE_IDS={ID}")), "{text}");
}
