//! The application's lifecycle: what a stop does to running work, when a webhook is answered, and
//! how a state directory that cannot be read or written is handled.

use std::process::Command;
use std::time::Duration;

use crate::helpers::fakes::cloud::FakeCloud;
use crate::helpers::process::{run, spawn_serve, stop, wait_for_message, CONTAINER_OK};
use crate::helpers::{
    app_env, base_env, bss_and_telegram, free_port, marker_script, state_dir, vars, FakeBss,
    FakeTelegram, Reply, Spawn, TestApp, ID,
};
const SRV: &str = "72a270de-665a-4f46-8d64-24ad6edccdd1";
const PROJECT: &str = "fedcba9876543210fedcba9876543210";
const REGION: &str = "ap-southeast-1";

/// [`app_env`] without the daily report.
fn env_with(bss: &FakeBss, tg: &FakeTelegram, extra: &[(&str, &str)]) -> Vec<(String, String)> {
    let mut env = app_env(bss, tg, &[("DAILY_REPORT", "false")]);
    env.extend(vars(extra));
    env
}

#[tokio::test]
async fn a_stop_during_a_countdown_shuts_nothing_down_and_the_next_start_needs_a_fresh_reading() {
    let (bss, tg) = bss_and_telegram().await;
    bss.set_gb(ID, 2.0, 100.0);
    let env = env_with(&bss, &tg, &[("SHUTDOWN_DELAY", "1h")]);
    let app = TestApp::spawn(&env).await;
    app.poller.poll_once().await.unwrap();
    app.engine.evaluate(chrono::Utc::now()).await.unwrap();
    assert_eq!(app.guard.running_all(), vec![ID.to_string()]);
    let tasks = app.app.tasks().clone();
    assert!(!tasks.is_empty());

    // SIGTERM's path: the countdown is abandoned, said so, and nothing outlives the stop.
    app.stop().await;
    assert!(
        tasks.is_empty(),
        "{} task(s) outlived the stop",
        tasks.len()
    );
    let again = TestApp::spawn(&env).await;
    assert_eq!(again.calls.count(), 0);
    again.notifier.flush(Duration::from_secs(10)).await;
    assert_eq!(tg.count("Shutdown cancelled"), 1, "{:#?}", tg.texts());
    assert!(tg.has(&["monitor is stopping"]));
    let status = again.status().await;
    assert_eq!(
        status["alerting"]["shutdown"]["records"],
        serde_json::json!({}),
        "nothing was recorded"
    );
    // The next start does not resume the countdown from memory...
    assert!(again.guard.running_all().is_empty());
    again.stop().await;
    // ...and re-arms from a fresh reading below T1 as at any other time.
    let env = env_with(&bss, &tg, &[("SHUTDOWN_DELAY", "0s")]);
    let third = TestApp::spawn(&env).await;
    third.poll_and_evaluate().await;
    assert_eq!(third.calls.count(), 1);
    third.stop().await;
}

#[tokio::test]
async fn with_the_cloud_api_the_webhook_answers_before_any_ecs_call() {
    let (bss, tg) = bss_and_telegram().await;
    let cloud = FakeCloud::start().await;
    cloud.add_server("sg-a", SRV, PROJECT, REGION, ID);
    bss.set_gb(ID, 3.0, 100.0);
    let instances = format!("{ID}:{SRV}:sg-a:{REGION}:{PROJECT}");
    let env = env_with(
        &bss,
        &tg,
        &[
            ("SHUTDOWN_MODE", "huawei-api"),
            ("SHUTDOWN_DELAY", "0s"),
            ("HUAWEICLOUD_ECS_ENDPOINT", &cloud.url()),
            ("FLEXUS_INSTANCES", &instances),
            ("FALLBACK", "never"),
            ("WEBHOOK_TOKEN", crate::helpers::alertmanager::TOKEN),
            // A held status call outlasts the test's patience unless nobody waits for it.
            ("HTTP_TIMEOUT", "120s"),
        ],
    );
    let app = TestApp::spawn_with(&env, Spawn::real_executor()).await;
    app.poller.poll_once().await.unwrap();
    let release = cloud.hold_status();
    let body =
        crate::helpers::alertmanager::payload("FlexusTrafficLevel1", "firing", Some("1"), ID, "");
    let answered = tokio::time::timeout(Duration::from_secs(20), app.deliver(&body))
        .await
        .expect("the webhook waited for the ECS status call");
    assert_eq!(answered.status(), 200);
    release.send(false).unwrap();
    app.settle().await;
    assert!(cloud.status_requests() >= 1);
    assert_eq!(cloud.status(SRV), "SHUTOFF", "the guard still acted");
    app.stop().await;
}

#[tokio::test]
async fn a_state_dir_that_turns_unwritable_is_reported_on_metrics_and_status() {
    let (bss, tg) = bss_and_telegram().await;
    bss.set_gb(ID, 50.0, 100.0);
    let dir = state_dir("turns-ro");
    let env = env_with(&bss, &tg, &[("STATE_DIR", dir.to_str().unwrap())]);
    let app = TestApp::spawn(&env).await;
    app.poll_and_evaluate().await;
    assert_eq!(app.metric("flexus_state_writable", &[]).await, Some(1.0));
    // The directory's place taken by a file: nothing can be written there any more, even by root.
    let gone = dir.with_extension("gone");
    std::fs::rename(&dir, &gone).unwrap();
    std::fs::write(&dir, b"").unwrap();
    // A failed poll: a change to record (the failure count), without a message yet. (A package
    // missing from the answer is told at once, and that message would fail first, in the outbox.)
    bss.push(Reply::Raw(200, "application/json", "not json".into()));
    let _ = app.poller.poll_once().await;
    assert!(app.engine.poll_health().await.is_err());
    assert_eq!(app.metric("flexus_state_writable", &[]).await, Some(0.0));
    let status = app.status().await;
    assert_eq!(status["state"]["writable"], false, "{status}");
    drop(app);
    std::fs::remove_file(&dir).unwrap();
}

#[tokio::test]
async fn check_refuses_to_act_on_a_state_file_it_cannot_read() {
    let (fake, tg) = bss_and_telegram().await;
    fake.set_gb(ID, 2.0, 100.0);
    let dir = state_dir("check-unreadable");
    let (script, marker) = marker_script(&dir, "");
    let state = dir.join("state");
    let env = app_env(
        &fake,
        &tg,
        &[
            ("STATE_DIR", state.to_str().unwrap()),
            ("SHUTDOWN_DELAY", "0s"),
            ("SHUTDOWN_COMMAND", script.to_str().unwrap()),
        ],
    );
    let out = run(&env, &["check"]).await;
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(std::fs::read_to_string(&marker).unwrap(), "shutdown \n");

    // The state file becomes unreadable (root ignores chmod 000: a directory takes its place).
    let file = dir.join("state").join("state.json");
    std::fs::remove_file(&file).unwrap();
    std::fs::create_dir(&file).unwrap();
    std::fs::write(file.join("keep"), b"inspect me").unwrap();
    let out = run(&env, &["check"]).await;
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(4), "{stderr}");
    assert!(
        stderr.contains("cannot read") && stderr.contains("state.json"),
        "{stderr}"
    );
    assert_eq!(
        std::fs::read_to_string(&marker).unwrap(),
        "shutdown \n",
        "no second shutdown without the records"
    );
    assert_eq!(std::fs::read(file.join("keep")).unwrap(), b"inspect me");
    assert!(file.is_dir(), "the unreadable state is not rewritten");
}

/// Runs `args` with `STATE_DIR` bind-mounted read-only in a private mount namespace (root cannot
/// write there either). `None` when namespaces are not available here.
async fn run_with_read_only(
    env: &[(String, String)],
    dir: &std::path::Path,
    args: &[&str],
) -> Option<std::process::Output> {
    let probe = Command::new("unshare").args(["-rm", "true"]).status();
    if !probe.is_ok_and(|s| s.success()) {
        return None;
    }
    let d = dir.display().to_string();
    let script = format!(
        "mount --bind -o ro '{d}' '{d}' && exec timeout 60 '{}' {}",
        env!("CARGO_BIN_EXE_flexus-traffic-monitor"),
        args.join(" ")
    );
    let mut cmd = Command::new("unshare");
    cmd.args(["-rm", "sh", "-c", &script]).env_clear();
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.env("PATH", std::env::var("PATH").unwrap_or_default());
    cmd.env(CONTAINER_OK.0, CONTAINER_OK.1);
    cmd.current_dir(state_dir("cwd-ro"));
    Some(
        tokio::task::spawn_blocking(move || cmd.output().unwrap())
            .await
            .unwrap(),
    )
}

#[tokio::test]
async fn serve_refuses_a_read_only_state_dir_at_start_with_exit_4() {
    let fake = FakeBss::start().await;
    fake.set_gb(ID, 50.0, 100.0);
    let dir = state_dir("serve-ro");
    let mut env = base_env(&fake, &[ID]);
    env.extend(vars(&[
        ("STATE_DIR", dir.to_str().unwrap()),
        ("LISTEN_ADDR", &format!("127.0.0.1:{}", free_port())),
    ]));
    // A previous run left the lock file, so opening it works; writing does not.
    std::fs::write(dir.join("state.lock"), b"").unwrap();
    let Some(out) = run_with_read_only(&env, &dir, &["serve"]).await else {
        assert!(
            std::env::var_os("CI").is_none(),
            "mount namespaces (unshare -rm) are required under CI"
        );
        eprintln!("note: unshare -rm is not available here; read-only STATE_DIR test skipped");
        return;
    };
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(4), "{stderr}");
    assert!(
        stderr.contains("STATE_DIR") && stderr.contains("not writable"),
        "{stderr}"
    );
}

#[tokio::test]
async fn serve_stops_on_sigterm_during_a_countdown_without_acting() {
    let (fake, tg) = bss_and_telegram().await;
    fake.set_gb(ID, 2.0, 100.0);
    let dir = state_dir("sigterm-countdown");
    let (script, marker) = marker_script(&dir, "");
    let port = free_port();
    let env = env_with(
        &fake,
        &tg,
        &[
            ("SHUTDOWN_DELAY", "1h"),
            ("FALLBACK", "always"),
            ("SHUTDOWN_COMMAND", script.to_str().unwrap()),
            ("LISTEN_ADDR", &format!("127.0.0.1:{port}")),
        ],
    );
    let child = spawn_serve(&env);
    wait_for_message(&tg, "Shutdown countdown").await;
    let stderr = stop(child).await;
    assert!(stderr.contains("cancelled"), "{stderr}");
    assert!(!marker.exists(), "nothing was shut down");
    wait_for_message(&tg, "monitor is stopping").await;
}

#[tokio::test]
async fn check_exits_5_when_the_shutdown_it_ran_failed() {
    let fake = FakeBss::start().await;
    fake.set_gb(ID, 2.0, 100.0);
    let dir = state_dir("check-fails");
    let (script, marker) = marker_script(&dir, "echo 'cannot halt' >&2; exit 3");
    let mut env = base_env(&fake, &[ID]);
    env.push(("SHUTDOWN_DELAY".into(), "0s".into()));
    env.push(("SHUTDOWN_COMMAND".into(), script.display().to_string()));
    let out = run(&env, &["check"]).await;
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(5), "{stderr}");
    assert!(stderr.contains("exit status 3"), "{stderr}");
    assert_eq!(std::fs::read_to_string(&marker).unwrap(), "shutdown \n");
}

/// An outbox that cannot be used (a file where its directory belongs, or where its dead-letter
/// directory belongs, or a directory where its sent log belongs) is an unusable `STATE_DIR`:
/// `serve` and `check` exit 4, not 1 ("configuration error"), as the README's exit codes say.
#[tokio::test]
async fn an_unusable_outbox_is_an_unusable_state_dir() {
    let fake = FakeBss::start().await;
    fake.set_gb(ID, 50.0, 100.0);
    for (name, make) in [
        ("outbox-file", "outbox"),
        ("dead-file", "outbox/dead"),
        ("sent-log-dir", "outbox/sent.log/"),
    ] {
        let dir = state_dir(name);
        let mut env = base_env(&fake, &[ID]);
        env.retain(|(k, _)| k != "STATE_DIR");
        env.push(("STATE_DIR".into(), dir.display().to_string()));
        // A port of its own: the default one may be taken by another test's program.
        env.push(("LISTEN_ADDR".into(), format!("127.0.0.1:{}", free_port())));
        if let Some(as_dir) = make.strip_suffix('/') {
            std::fs::create_dir_all(dir.join(as_dir)).unwrap();
        } else {
            if let Some((parent, _)) = make.rsplit_once('/') {
                std::fs::create_dir_all(dir.join(parent)).unwrap();
            }
            std::fs::write(dir.join(make), b"not a directory").unwrap();
        }
        for args in [&["check"][..], &["serve"][..]] {
            let out = run(&env, args).await;
            let stderr = String::from_utf8_lossy(&out.stderr);
            assert_eq!(out.status.code(), Some(4), "{make}, {args:?}: {stderr}");
            assert!(stderr.contains("STATE_DIR="), "{stderr}");
            // The path in the way is named, so the owner knows what to move.
            let in_the_way = make.trim_end_matches('/');
            assert!(stderr.contains(in_the_way), "{make}: {stderr}");
        }
    }
}

/// Inside a container (as these tests run in CI), the stock `shutdown -h now` would stop at most
/// the container: `serve`, `check` and `config` refuse it at start, naming `SHUTDOWN_MODE` and the
/// fix, in Chinese by default and in English. `DRY_RUN`, another mode, or a command of one's own
/// are taken. On a machine that is no container the test says so and checks only that.
#[tokio::test]
async fn the_stock_shutdown_command_is_refused_inside_a_container() {
    let in_container = flexus_traffic_monitor::commands::this_container();
    let fake = FakeBss::start().await;
    fake.set_gb(ID, 50.0, 100.0);
    let mut env = base_env(&fake, &[ID]);
    env.push(("LISTEN_ADDR".into(), format!("127.0.0.1:{}", free_port())));
    // Not the test helpers' allowance: the owner's default.
    env.push(("SHUTDOWN_IN_CONTAINER".into(), "false".into()));
    let Some(kind) = in_container else {
        eprintln!("not inside a container: the refusal cannot be seen here");
        let out = run(&env, &["config"]).await;
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        return;
    };
    for args in [&["check"][..], &["serve"][..], &["config"][..]] {
        let out = run(&env, args).await;
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{args:?}: {stderr}");
        assert!(
            stderr.contains("SHUTDOWN_MODE") && stderr.contains("容器") && stderr.contains(&kind),
            "{args:?}: {stderr}"
        );
    }
    let mut en = env.clone();
    en.push(("MESSAGE_LANG".into(), "en".into()));
    let out = run(&en, &["check"]).await;
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("inside a container") && stderr.contains("SHUTDOWN_MODE=huawei-api"),
        "{stderr}"
    );
    // Taken: a dry run, alerts only, a command of one's own.
    let (script, _) = marker_script(&state_dir("own-command"), "exit 0");
    for extra in [
        ("DRY_RUN", "true".to_string()),
        ("SHUTDOWN_MODE", "off".to_string()),
        ("SHUTDOWN_COMMAND", script.display().to_string()),
        ("SHUTDOWN_IN_CONTAINER", "true".to_string()),
    ] {
        let mut env = env.clone();
        env.push((extra.0.into(), extra.1.clone()));
        let out = run(&env, &["config"]).await;
        assert!(
            out.status.success(),
            "{extra:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}
