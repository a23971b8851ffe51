//! The real binary as a child process, configured through its environment.

use std::time::Duration;

use crate::helpers::alertmanager::{alert, deliver, TOKEN};
use crate::helpers::process::{
    command, run, serve_ready, stop, wait_for_message, wait_metric_with,
};
use crate::helpers::{
    app_env, base_env, bss_and_telegram, get_text, marker_script, metric, state_dir, vars, FakeBss,
    FakeTelegram, ID,
};

const ID2: &str = "0d5c6a1e-7f3b-4c0a-9d6e-2b1f8a7c9e01";

#[tokio::test]
async fn serve_exports_readings_and_stops_cleanly_on_sigterm() {
    let fake = FakeBss::start().await;
    fake.set_gb(ID, 853.27, 1200.0);
    fake.set_gb(ID2, 3.5, 100.0);
    let mut env = base_env(&fake, &[ID, ID2]);
    env.push(("POLL_INTERVAL".into(), "1s".into()));
    let (child, base) = serve_ready(&env).await;
    let m = get_text(&format!("{base}/metrics")).await;
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
    wait_metric_with(
        &base,
        "flexus_free_traffic_remaining_gb",
        &[&format!("free_resource_id=\"{ID2}\"")],
        2.25,
        Duration::from_secs(5),
    )
    .await;
    if std::env::var_os("FLEXUS_SAVE_METRICS").is_some() {
        std::fs::write(std::env::var("FLEXUS_SAVE_METRICS").unwrap(), &m).unwrap();
    }

    let stderr = stop(child).await;
    assert!(stderr.contains("stopped"), "{stderr}");
    assert!(
        !stderr.contains(crate::helpers::fakes::SK),
        "secret in logs: {stderr}"
    );
}

#[tokio::test]
async fn check_prints_a_table_and_json_with_exit_codes() {
    let fake = FakeBss::start().await;
    fake.set_gb(ID, 853.27, 1200.0);
    let env = base_env(&fake, &[ID]);
    let out = run(&env, &["check"]).await;
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

    let out = run(&env, &["check", "--json"]).await;
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["packages"][0]["reading"]["remaining_gb"], 853.27);
    assert_eq!(v["packages"][0]["level"], "ok");

    fake.remove(ID);
    let out = run(&env, &["check"]).await;
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

    let mut public = base_env(&fake, &[ID]);
    public.push(("LISTEN_ADDR".into(), "0.0.0.0:0".into()));
    let out = command(&public).arg("serve").output().unwrap();
    assert_eq!(
        out.status.code(),
        Some(1),
        "a reachable receiver needs a token"
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("WEBHOOK_TOKEN"));

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
    let out = run(&env, &["discover"]).await;
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains(&format!("FREE_RESOURCE_IDS={ID}")), "{text}");
}

// ---- the whole pipeline in the real binary ----

/// Waits until `/metrics` shows `gb` remaining for `ID` (a poll read it).
async fn wait_for_remaining(base: &str, gb: f64) {
    let id = format!("free_resource_id=\"{ID}\"");
    let name = "flexus_free_traffic_remaining_gb";
    wait_metric_with(base, name, &[&id], gb, Duration::from_secs(10)).await;
}

/// `serve` with a one-second poll and countdown, shutting down with a marker script; returns the
/// process, its base URL and the marker file.
async fn pipeline(
    fake: &FakeBss,
    tg: &FakeTelegram,
    extra: &[(&str, &str)],
) -> (std::process::Child, String, std::path::PathBuf) {
    let (script, marker) = marker_script(&state_dir("pipeline"), "");
    let mut env = app_env(
        fake,
        tg,
        &[
            ("POLL_INTERVAL", "1s"),
            ("SHUTDOWN_DELAY", "1s"),
            ("SHUTDOWN_COMMAND", script.to_str().unwrap()),
        ],
    );
    env.extend(vars(extra));
    let (child, base) = serve_ready(&env).await;
    (child, base, marker)
}

#[tokio::test]
async fn serve_drains_through_every_level_via_the_fallback_alone() {
    let (fake, tg) = bss_and_telegram().await;
    fake.set_gb(ID, 50.0, 100.0);
    let (child, _base, marker) = pipeline(&fake, &tg, &[("FALLBACK", "always")]).await;
    wait_for_message(&tg, "Traffic report").await;
    fake.set_gb(ID, 15.0, 100.0);
    wait_for_message(&tg, "Traffic alert (normal)").await;
    fake.set_gb(ID, 8.0, 100.0);
    wait_for_message(&tg, "Traffic alert (high-frequency)").await;
    fake.set_gb(ID, 3.0, 100.0);
    wait_for_message(&tg, "shutdown executed").await;
    // Several more polls below T1: no second run, no repeated alerts (cadence).
    tokio::time::sleep(Duration::from_secs(3)).await;
    let stderr = stop(child).await;
    assert_eq!(
        std::fs::read_to_string(&marker).unwrap(),
        "shutdown \n",
        "exactly one run"
    );
    for (needle, n) in [
        ("Traffic report", 1),
        ("Traffic alert (normal)", 1),
        ("Traffic alert (high-frequency)", 1),
        ("Free traffic almost used up", 1),
        ("Shutdown countdown", 1),
    ] {
        assert_eq!(tg.count(needle), n, "{needle}: {:#?}", tg.texts());
    }
    assert!(
        !stderr.contains(crate::helpers::fakes::telegram::TOKEN),
        "bot token in logs"
    );
}

#[tokio::test]
async fn serve_drains_through_every_level_via_webhooks() {
    let (fake, tg) = bss_and_telegram().await;
    fake.set_gb(ID, 15.0, 100.0);
    let settings = [("FALLBACK", "never"), ("WEBHOOK_TOKEN", TOKEN)];
    let (child, base, marker) = pipeline(&fake, &tg, &settings).await;
    let post = |body: String| {
        let base = base.clone();
        async move { deliver(&base, &body).await.status() }
    };
    assert_eq!(
        post(alert("FlexusFreeTrafficLow", "firing", Some("3"))).await,
        200
    );
    wait_for_message(&tg, "Traffic alert (normal)").await;
    fake.set_gb(ID, 8.0, 100.0);
    // Prometheus alerts on what it scraped: our reading comes first.
    wait_for_remaining(&base, 8.0).await;
    post(alert("FlexusFreeTrafficLow", "resolved", Some("3"))).await;
    post(alert("FlexusFreeTrafficVeryLow", "firing", Some("2"))).await;
    wait_for_message(&tg, "Traffic alert (high-frequency)").await;
    fake.set_gb(ID, 3.0, 100.0);
    wait_for_remaining(&base, 3.0).await;
    for _ in 0..3 {
        post(alert("FlexusFreeTrafficCritical", "firing", Some("1"))).await;
    }
    wait_for_message(&tg, "shutdown executed").await;
    post(alert("FlexusFreeTrafficCritical", "firing", Some("1"))).await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    stop(child).await;
    assert_eq!(
        std::fs::read_to_string(&marker).unwrap(),
        "shutdown \n",
        "exactly one run"
    );
    assert_eq!(tg.count("Traffic alert (normal)"), 1);
    assert_eq!(tg.count("Traffic alert (high-frequency)"), 1);
    assert_eq!(
        tg.count("Traffic recovered"),
        0,
        "a level-3 alert resolved by a drop to level 2 is no recovery"
    );
    assert_eq!(tg.count("Shutdown countdown"), 1);
}

#[tokio::test]
async fn overlapping_check_runs_are_safe_and_send_one_message() {
    let (fake, tg) = bss_and_telegram().await;
    fake.set_gb(ID, 15.0, 100.0);
    let env = app_env(&fake, &tg, &[]);
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
    assert_eq!(tg.count("Traffic alert (normal)"), 1, "{:#?}", tg.texts());
    let state_dir = &env.iter().find(|(k, _)| k == "STATE_DIR").unwrap().1;
    let state: serde_json::Value =
        serde_json::from_slice(&std::fs::read(format!("{state_dir}/state.json")).unwrap()).unwrap();
    assert_eq!(state["packages"][ID]["level"], "3");
}

#[tokio::test]
async fn check_below_t1_runs_the_countdown_and_shuts_down_once() {
    let (fake, tg) = bss_and_telegram().await;
    fake.set_gb(ID, 2.0, 100.0);
    let dir = state_dir("check-l1");
    let (script, marker) = marker_script(&dir, "");
    let env = app_env(
        &fake,
        &tg,
        &[
            ("SHUTDOWN_DELAY", "1s"),
            ("SHUTDOWN_COMMAND", script.to_str().unwrap()),
        ],
    );
    for _ in 0..2 {
        let env = env.clone();
        let out = run(&env, &["check"]).await;
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    assert_eq!(
        std::fs::read_to_string(&marker).unwrap(),
        "shutdown \n",
        "the second cron run in the same boot does not act again"
    );
    assert_eq!(tg.count("shutdown executed"), 1);
}

#[tokio::test]
async fn notify_test_prints_what_telegram_answered() {
    let (fake, tg) = bss_and_telegram().await;
    let mut env = app_env(&fake, &tg, &[]);
    let out = run(&env, &["notify-test"]).await;
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}");
    assert!(
        text.contains("HTTP 200") && text.contains("\"ok\":true"),
        "{text}"
    );
    assert_eq!(tg.count("test message"), 1);
    env.push(("TELEGRAM_CHAT_ID".into(), "999".into()));
    let out = run(&env, &["notify-test"]).await;
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).contains("chat not found"));
    assert!(!String::from_utf8_lossy(&out.stdout).contains(crate::helpers::fakes::telegram::TOKEN));
}

#[tokio::test]
async fn demo_runs_every_level_with_a_dry_run_shutdown_and_no_account() {
    let env = vec![
        ("LISTEN_ADDR".to_string(), "127.0.0.1:0".to_string()),
        ("MESSAGE_LANG".to_string(), "en".to_string()),
    ];
    let out = run(&env, &["demo", "--speed", "10"]).await;
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{text}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    for want in [
        "Traffic report",
        "Traffic alert (normal)",
        "Traffic alert (high-frequency)",
        "Free traffic almost used up",
        "dry run",
        "would run",
        // The reset starts the alert memory afresh: the reset is told, then the new cycle's report.
        "Traffic cycle has reset",
        "Demo finished",
        "/metrics",
    ] {
        assert!(text.contains(want), "{want} missing:\n{text}");
    }
    assert!(!text.contains("shutdown executed"));
    // The status page's address comes first, so a person can open it while the demo runs.
    let first = text.lines().next().unwrap_or_default();
    assert!(
        first.starts_with("Status page: http://127.0.0.1:"),
        "{first}"
    );
}

#[test]
fn env_example_is_valid_and_documents_every_variable() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let example = root.join(".env.example");
    // The blanks a user must fill in (`config` refuses them as `serve` would).
    let filled: Vec<(String, String)> = [
        ("HUAWEICLOUD_SDK_AK", "ak"),
        ("HUAWEICLOUD_SDK_SK", "sk"),
        ("FREE_RESOURCE_IDS", "pkg"),
    ]
    .iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    let out = command(&filled)
        .args(["--env-file", example.to_str().unwrap(), "config"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let printed = String::from_utf8_lossy(&out.stdout);
    assert!(
        printed.contains("SHUTDOWN_COMMAND=shutdown -h now"),
        "{printed}"
    );
    let text = std::fs::read_to_string(&example).unwrap();
    let readme = std::fs::read_to_string(root.join("README.md")).unwrap();
    // Every variable `config` knows is in .env.example and in the README.
    for line in printed.lines().filter(|l| l.contains('=')) {
        let var = line.split('=').next().unwrap();
        if var
            .chars()
            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_')
        {
            assert!(
                text.contains(&format!("{var}=")),
                "{var} missing in .env.example"
            );
            assert!(readme.contains(var), "{var} missing in README.md");
        }
    }
    // Every variable the program reads is printed by `config` and listed by `--help`.
    let help =
        String::from_utf8_lossy(&command(&[]).arg("--help").output().unwrap().stdout).to_string();
    // The program reads variables only through the table of src/config/vars.rs.
    let table = std::fs::read_to_string(root.join("src/config/vars.rs")).unwrap();
    let read: Vec<String> = table
        .lines()
        .filter_map(|l| {
            l.trim()
                .strip_prefix("name: \"")?
                .strip_suffix("\",")
                .map(str::to_string)
        })
        .collect();
    assert!(read.len() > 40, "{read:?}");
    for var in read {
        assert!(
            printed.lines().any(|l| l.starts_with(&format!("{var}="))),
            "`config` does not print {var}"
        );
        assert!(help.contains(&var), "`--help` does not list {var}");
    }
}
