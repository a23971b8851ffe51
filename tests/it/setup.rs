//! A newcomer's path through the binary: the original script's `.env`, `config`, signals.

use crate::binary::command;
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
    let out = command(&[])
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
    use crate::helpers::{base_env, free_port, FakeBss};
    let fake = FakeBss::start().await;
    fake.set_gb("pkg", 853.0, 1200.0);
    let port = free_port();
    let mut env = base_env(&fake, &["pkg"]);
    env.push(("LISTEN_ADDR".into(), format!("127.0.0.1:{port}")));
    let child = command(&env)
        .arg("serve")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let health = format!("http://127.0.0.1:{port}/healthz");
    let mut up = false;
    for _ in 0..100 {
        if reqwest::get(&health).await.is_ok_and(|r| r.status() == 200) {
            up = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(up, "serve never answered");
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
    let stderr = crate::binary::stop(child).await;
    assert!(stderr.contains("SIGHUP ignored"), "{stderr}");
}
