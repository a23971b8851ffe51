//! A newcomer's path through the binary: the original script's `.env`, `config`, signals.

use crate::helpers::process::{command, output_text, serve_ready, spawn_serve, stop};
use crate::helpers::state_dir;

/// The original script's `.env`, with values python-dotenv accepts unquoted.
const OLD_ENV: &str = "\u{feff}# migrated from the Python script\r\n\
HUAWEICLOUD_SDK_AK=test-ak\r\n\
export HUAWEICLOUD_SDK_SK='test-sk'\r\n\
FREE_RESOURCE_IDS=a1, b2   # two packages\r\n\
SERVER_NAME=华为 新加坡\r\n\
THRESHOLD_LEVEL_1 = 150\r\n";

#[test]
fn the_original_scripts_env_file_loads_as_python_dotenv_read_it() {
    let dir = state_dir("old-env");
    std::fs::write(dir.join(".env"), OLD_ENV).unwrap();
    let out = command(&[])
        .current_dir(&dir)
        .args(["config"])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(text.contains("SERVER_NAME=华为 新加坡"), "{text}\n{err}");
    assert!(text.contains("FREE_RESOURCE_IDS=a1,b2"), "{text}\n{err}");
    assert!(text.contains("THRESHOLD_LEVEL_1=150 GB"), "{text}\n{err}");
    assert!(text.contains("HUAWEICLOUD_SDK_SK=[redacted]"), "{text}");
}

#[test]
fn an_unreadable_env_line_names_its_line_and_how_to_quote_it() {
    let dir = state_dir("bad-env");
    std::fs::write(
        dir.join(".env"),
        "HUAWEICLOUD_SDK_AK=test-ak\n\nHUAWEICLOUD_SDK_SK=\"top-secret\" extra\n",
    )
    .unwrap();
    let out = command(&env(&[("MESSAGE_LANG", "en")]))
        .current_dir(&dir)
        .arg("config")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("line 3 (HUAWEICLOUD_SDK_SK)"), "{err}");
    assert!(err.contains("HUAWEICLOUD_SDK_SK='value"), "{err}");
    assert!(!err.contains("top-secret"), "{err}");
}

#[tokio::test]
async fn the_demo_leaves_no_state_behind_and_prints_how_to_reach_its_cloud() {
    let dir = state_dir("demo-cwd");
    let out = tokio::task::spawn_blocking({
        let dir = dir.clone();
        move || {
            command(&[("MESSAGE_LANG".into(), "en".into())])
                .current_dir(dir)
                .args(["demo", "--speed", "10"])
                .output()
                .unwrap()
        }
    })
    .await
    .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}");
    assert!(
        text.contains("HUAWEICLOUD_BSS_ENDPOINT=http://127.0.0.1:")
            && text.contains("HUAWEICLOUD_SDK_AK=DEMO-ACCESS-KEY")
            && text.contains("HUAWEICLOUD_SDK_SK=demo-secret-key"),
        "{text}"
    );
    let leftover: Vec<_> = std::fs::read_dir(&dir).unwrap().collect();
    assert!(
        leftover.is_empty(),
        "the demo left {leftover:?} in its working directory"
    );
    let state = text
        .lines()
        .find_map(|l| l.trim().strip_prefix("state:"))
        .and_then(|l| l.split_whitespace().next())
        .expect("the demo names its state directory");
    assert!(
        !std::path::Path::new(state).exists(),
        "{state} is still there"
    );
}

#[tokio::test]
async fn sighup_is_ignored_with_a_warning() {
    use crate::helpers::{base_env, FakeBss};
    let fake = FakeBss::start().await;
    fake.set_gb("pkg", 853.0, 1200.0);
    let (child, base) = serve_ready(&base_env(&fake, &["pkg"])).await;
    let health = format!("{base}/healthz");
    let pid = child.id().to_string();
    for _ in 0..2 {
        assert!(std::process::Command::new("kill")
            .args(["-HUP", &pid])
            .status()
            .unwrap()
            .success());
        tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    }
    let r = reqwest::get(&health)
        .await
        .expect("still serving after SIGHUP");
    assert_eq!(r.status(), 200);
    let stderr = stop(child).await;
    assert!(stderr.contains("SIGHUP ignored"), "{stderr}");
}

fn env(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

#[test]
fn config_refuses_what_serve_refuses_and_says_valid_only_when_serve_would_start() {
    let ok = [
        ("MESSAGE_LANG", "en"),
        ("HUAWEICLOUD_SDK_AK", "ak"),
        ("HUAWEICLOUD_SDK_SK", "sk"),
        ("FREE_RESOURCE_IDS", "pkg"),
    ];
    // A public address without a webhook token: `serve` refuses, so does `config`.
    let mut public = env(&ok);
    public.push(("LISTEN_ADDR".into(), "0.0.0.0:9184".into()));
    for args in [&["config"][..], &["config", "--json"], &["serve"]] {
        let out = command(&public).args(args).output().unwrap();
        assert_eq!(out.status.code(), Some(1), "{args:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains("WEBHOOK_TOKEN"), "{args:?}: {err}");
        assert!(!String::from_utf8_lossy(&out.stdout).contains("is valid"));
    }
    // No key: every missing variable at once, not "valid, but ...", and a non-zero exit.
    let out = command(&env(&[("MESSAGE_LANG", "en")]))
        .arg("config")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let text = output_text(&out);
    assert!(
        !text.contains("is valid") && text.contains("invalid configuration"),
        "{text}"
    );
    for var in [
        "HUAWEICLOUD_SDK_AK",
        "HUAWEICLOUD_SDK_SK",
        "FREE_RESOURCE_IDS",
    ] {
        assert!(
            String::from_utf8_lossy(&out.stderr).contains(&format!("{var}: is not set")),
            "{text}"
        );
    }
    // Complete: valid, exit 0.
    let out = command(&env(&ok)).arg("config").output().unwrap();
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).contains("configuration is valid"));
}

#[test]
fn a_mistyped_variable_gets_a_did_you_mean() {
    let vars = env(&[
        ("HUAWEICLOUD_SDK_AK", "ak"),
        ("HUAWEICLOUD_SDK_SK", "sk"),
        ("FREE_RESOURCE_IDS", "pkg"),
        ("THRESHOLD_LEVLE_1", "100"),
        ("MESSAGE_LANG", "en"),
    ]);
    let out = command(&vars).arg("config").output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("THRESHOLD_LEVLE_1 is not a variable this program reads")
            && text.contains("did you mean THRESHOLD_LEVEL_1?"),
        "{text}"
    );
    // `check` logs it too (it then fails to reach the cloud, which does not matter here).
    let mut vars = vars;
    vars.push((
        "HUAWEICLOUD_BSS_ENDPOINT".into(),
        "http://127.0.0.1:1".into(),
    ));
    let out = command(&vars).arg("check").output().unwrap();
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("did you mean THRESHOLD_LEVEL_1?"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[tokio::test]
async fn console_prints_are_not_counted_as_sent_and_bytes_are_whole() {
    use crate::helpers::{base_env, free_port, metric, FakeBss};
    let fake = FakeBss::start().await;
    // 853.27 GB is not a whole number of bytes once multiplied by 1024³ in floating point.
    fake.set_gb("pkg", 853.27, 1200.0);
    let port = free_port();
    let mut vars = base_env(&fake, &["pkg"]);
    for (k, v) in [
        ("LISTEN_ADDR", format!("127.0.0.1:{port}")),
        ("POLL_INTERVAL", "1s".into()),
        ("FALLBACK", "always".into()),
        ("THRESHOLD_LEVEL_3", "1000".into()),
    ] {
        vars.push((k.into(), v));
    }
    let child = spawn_serve(&vars);
    let url = format!("http://127.0.0.1:{port}/metrics");
    let mut text = String::new();
    for _ in 0..100 {
        if let Ok(r) = reqwest::get(&url).await {
            text = r.text().await.unwrap();
            let printed = metric(
                &text,
                "flexus_notifications_total",
                &["channel=\"console\"", "result=\"printed\""],
            );
            if printed.unwrap_or(0.0) >= 1.0 {
                break;
            }
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let stderr = stop(child).await;
    assert!(
        metric(
            &text,
            "flexus_notifications_total",
            &["channel=\"console\"", "result=\"printed\""]
        )
        .unwrap_or(0.0)
            >= 1.0,
        "{text}\n{stderr}"
    );
    assert!(
        !text
            .lines()
            .any(|l| l.starts_with("flexus_notifications_total") && l.contains("result=\"sent\"")),
        "a console print counted as sent:\n{text}"
    );
    let bytes = text
        .lines()
        .find(|l| l.starts_with("flexus_free_traffic_remaining_bytes{"))
        .expect("the bytes gauge");
    let value = bytes.rsplit(' ').next().unwrap();
    assert!(
        !value.contains('.') && !value.contains('e'),
        "not a whole number of bytes: {bytes}"
    );
    assert_eq!(value.parse::<u64>().unwrap(), 916_191_686_164);
}
