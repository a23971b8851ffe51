//! What a newcomer meets on the first runs of the binary: output into a closed pipe, `config`
//! putting the problems (and the file they are in) first, channel URLs that cannot work.

use std::process::{Output, Stdio};

use crate::helpers::process::{command, output_text};
use crate::helpers::{base_env, state_dir, FakeBss, ID};

/// Which standard stream of the child is a pipe whose reading end is already closed.
#[derive(Debug, Clone, Copy)]
enum Closed {
    Stdout,
    Stderr,
}

/// Runs the binary with one of its output streams a pipe nobody reads (as `| head` after head
/// exited): every write to it fails with EPIPE.
fn with_closed(env: &[(String, String)], args: &[&str], closed: Closed) -> Output {
    let (reader, writer) = std::io::pipe().unwrap();
    drop(reader);
    let mut c = command(env);
    c.args(args);
    match closed {
        Closed::Stdout => c.stdout(Stdio::from(writer)).stderr(Stdio::piped()),
        Closed::Stderr => c.stderr(Stdio::from(writer)).stdout(Stdio::piped()),
    };
    c.stdin(Stdio::null()).output().unwrap()
}

fn env(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

#[tokio::test]
async fn no_command_panics_when_its_output_pipe_is_closed() {
    let fake = FakeBss::start().await;
    fake.set_gb(ID, 853.27, 1200.0);
    let good = base_env(&fake, &[ID]);
    let mut bad = good.clone();
    bad.push(("POLL_INTERVAL".into(), "sometimes".into()));
    type Env = [(String, String)];
    let cases: Vec<(&Env, Vec<&str>, i32)> = vec![
        (&good, vec!["config"], 0),
        (&good, vec!["config", "--json"], 0),
        (&bad, vec!["config"], 1),
        (&bad, vec!["serve"], 1),
        (&good, vec!["check"], 0),
        (&good, vec!["check", "--json"], 0),
        (&good, vec!["discover"], 0),
        (&good, vec!["notify-test"], 1),
        (&[], vec!["--help"], 0),
    ];
    for (env, args, code) in cases {
        for closed in [Closed::Stdout, Closed::Stderr] {
            let (env, args2) = (env.to_vec(), args.clone());
            let out = tokio::task::spawn_blocking(move || with_closed(&env, &args2, closed))
                .await
                .unwrap();
            let said = output_text(&out);
            assert!(
                !said.contains("panicked"),
                "{args:?} with {closed:?} closed panicked: {said}"
            );
            assert_eq!(
                out.status.code(),
                Some(code),
                "{args:?} with {closed:?} closed: {said}"
            );
        }
    }
}

#[test]
fn config_puts_the_problems_first_and_names_the_file_it_read() {
    let dir = state_dir("config-first");
    let file = dir.join("service.env");
    std::fs::write(&file, "FREE_RESOURCE_IDS=pkg\nSERVER_NAME=web-1\n").unwrap();
    let out = command(&env(&[("MESSAGE_LANG", "en")]))
        .args(["--env-file", file.to_str().unwrap(), "config"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    // The problems are printed before the settings (stderr first, then stdout), name the file
    // read, and tell where to fix them.
    let first = err.lines().next().unwrap_or_default();
    assert!(
        first.contains(&file.display().to_string()),
        "the first line names the file read: {err}"
    );
    assert!(
        err.contains(&format!("put your Access Key ID in {}", file.display())),
        "{err}"
    );
    assert!(!err.contains("in .env"), "{err}");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("SERVER_NAME=web-1"), "{text}");
    assert!(
        text.trim_end()
            .lines()
            .last()
            .unwrap_or_default()
            .contains("problem"),
        "the last line recalls the problems above: {text}"
    );

    // A warning comes before the settings too.
    let out = command(&env(&[
        ("MESSAGE_LANG", "en"),
        ("HUAWEICLOUD_SDK_AK", "ak"),
        ("HUAWEICLOUD_SDK_SK", "sk"),
        ("FREE_RESOURCE_IDS", "pkg"),
        ("THRESHOLD_LEVLE_1", "100"),
    ]))
    .arg("config")
    .output()
    .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    let warning = text.find("THRESHOLD_LEVLE_1").expect("warned");
    let settings = text.find("THRESHOLD_LEVEL_1=").expect("settings");
    assert!(warning < settings, "{text}");
}

#[test]
fn channel_urls_that_cannot_work_are_refused_naming_the_variable() {
    let base = [
        ("MESSAGE_LANG", "en"),
        ("HUAWEICLOUD_SDK_AK", "ak"),
        ("HUAWEICLOUD_SDK_SK", "sk"),
        ("FREE_RESOURCE_IDS", "pkg"),
    ];
    let cases = [
        (
            "DINGTALK_WEBHOOK_URL",
            "https://oapi.dingtalk.com/robot/send",
            "access_token",
        ),
        (
            "DINGTALK_WEBHOOK_URL",
            "https://oapi.dingtalk.com/robot/send?access_token=",
            "access_token",
        ),
        (
            "WECOM_WEBHOOK_URL",
            "https://qyapi.weixin.qq.com/cgi-bin/webhook/send",
            "key",
        ),
        ("BARK_URL", "https://api.day.app/", "device key"),
        (
            "FEISHU_WEBHOOK_URL",
            "https://open.feishu.cn/open-apis/bot/v2/hook/",
            "hook id",
        ),
    ];
    for (var, url, what) in cases {
        let mut vars = env(&base);
        vars.push((var.into(), url.into()));
        for args in [&["config"][..], &["serve"]] {
            let out = command(&vars).args(args).output().unwrap();
            let err = String::from_utf8_lossy(&out.stderr);
            assert_eq!(out.status.code(), Some(1), "{var}={url} {args:?}: {err}");
            assert!(
                err.contains(var) && err.contains(what),
                "{var}={url} {args:?}: {err}"
            );
        }
    }
    // The working forms pass; a DingTalk secret without its SEC prefix is a warning.
    let mut vars = env(&base);
    for (k, v) in [
        (
            "DINGTALK_WEBHOOK_URL",
            "https://oapi.dingtalk.com/robot/send?access_token=abc123",
        ),
        ("DINGTALK_SECRET", "0123456789abcdef"),
        (
            "WECOM_WEBHOOK_URL",
            "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=693a91f6-7xxx",
        ),
        ("BARK_URL", "https://api.day.app/Fx9ab7kLm2"),
        (
            "FEISHU_WEBHOOK_URL",
            "https://open.feishu.cn/open-apis/bot/v2/hook/2e7a6f1c-0d3b",
        ),
    ] {
        vars.push((k.into(), v.into()));
    }
    let out = command(&vars).arg("config").output().unwrap();
    let said = output_text(&out);
    assert!(out.status.success(), "{said}");
    assert!(
        said.lines()
            .any(|l| l.contains("warning") && l.contains("DINGTALK_SECRET") && l.contains("SEC")),
        "a secret without SEC is warned about: {said}"
    );
    assert!(!said.contains("0123456789abcdef"), "{said}");
}

/// Starts the demo on a free port and returns it with its state directory and page address.
fn start_demo(lang: &str) -> (std::process::Child, String, String) {
    use std::io::BufRead;
    let port = crate::helpers::free_port();
    let mut child = command(&env(&[
        ("MESSAGE_LANG", lang),
        ("LISTEN_ADDR", &format!("127.0.0.1:{port}")),
    ]))
    .arg("demo")
    .stdout(Stdio::piped())
    .stderr(Stdio::null())
    .spawn()
    .unwrap();
    let mut lines = std::io::BufReader::new(child.stdout.take().unwrap()).lines();
    let mut state = None;
    let mut page = None;
    for line in lines.by_ref() {
        let line = line.unwrap();
        let line_start = line.trim();
        if let Some(rest) = line_start
            .strip_prefix("state:")
            .or_else(|| line_start.strip_prefix("状态目录："))
        {
            state = rest.split_whitespace().next().map(str::to_string);
        }
        if let Some(at) = line.find("http://") {
            page.get_or_insert_with(|| line[at..].split_whitespace().next().unwrap().to_string());
        }
        if state.is_some() {
            break;
        }
    }
    // Keep reading so the demo never blocks on a full pipe.
    std::thread::spawn(move || for _ in lines {});
    (
        child,
        state.expect("the demo names its state"),
        page.unwrap(),
    )
}

#[tokio::test]
async fn the_demo_removes_its_state_on_ctrl_c_and_sigterm() {
    for signal in ["INT", "TERM"] {
        let (mut child, state, _) = tokio::task::spawn_blocking(|| start_demo("en"))
            .await
            .unwrap();
        assert!(std::path::Path::new(&state).is_dir());
        tokio::time::sleep(std::time::Duration::from_millis(500)).await;
        assert!(std::process::Command::new("kill")
            .args([&format!("-{signal}"), &child.id().to_string()])
            .status()
            .unwrap()
            .success());
        let status = tokio::task::spawn_blocking(move || child.wait().unwrap())
            .await
            .unwrap();
        assert!(
            !std::path::Path::new(&state).exists(),
            "SIG{signal} ({status}) left {state}"
        );
    }
}

#[tokio::test]
async fn the_demo_names_its_package_in_the_language_of_the_page() {
    let (mut child, _, page) = tokio::task::spawn_blocking(|| start_demo("zh"))
        .await
        .unwrap();
    let mut html = String::new();
    for _ in 0..50 {
        html = reqwest::get(&page)
            .await
            .unwrap()
            .text()
            .await
            .unwrap_or_default();
        if html.contains("BGP") {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    let _ = child.kill();
    let _ = child.wait();
    assert!(
        !html.contains("Lightweight BGP data package") && !html.contains("Uplink traffic"),
        "English names on the Chinese page: {html}"
    );
    assert!(html.contains("上行流量"), "{html}");
}

#[tokio::test]
async fn check_and_config_speak_chinese_by_default_and_english_with_message_lang_en() {
    let fake = FakeBss::start().await;
    let mut vars: Vec<(String, String)> = base_env(&fake, &[ID])
        .into_iter()
        .filter(|(k, _)| k != "HUAWEICLOUD_BSS_ENDPOINT")
        .collect();
    vars.push((
        "HUAWEICLOUD_BSS_ENDPOINT".into(),
        "http://127.0.0.1:1".into(),
    ));
    let out = crate::helpers::process::run(&vars, &["check"]).await;
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    let last = err.trim_end().lines().last().unwrap_or_default();
    assert!(last.starts_with("错误："), "{err}");
    assert!(!last.contains("network error"), "{err}");
    vars.push(("MESSAGE_LANG".into(), "en".into()));
    let out = crate::helpers::process::run(&vars, &["check"]).await;
    let err = String::from_utf8_lossy(&out.stderr);
    let last = err.trim_end().lines().last().unwrap_or_default();
    assert!(last.starts_with("error: "), "{err}");

    let out = command(&[]).arg("config").output().unwrap();
    let said = output_text(&out);
    assert!(
        said.contains("配置有误") && said.contains("改法") && said.contains("配置无效"),
        "{said}"
    );
    assert!(
        !String::from_utf8_lossy(&out.stderr).contains("is not set"),
        "{said}"
    );
}
