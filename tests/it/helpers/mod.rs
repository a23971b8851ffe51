//! Shared test helpers: the whole app in this process ([`app`]), the real binary as a child process
//! ([`process`]), Alertmanager's side of the webhook and the real Prometheus/Alertmanager
//! ([`alertmanager`]), the fakes of every outside service ([`fakes`]), and the small things every
//! test needs (state directories, ports, environments, metric parsing).
//!
//! Test modules import shared things only from here, never from one another.

pub mod alertmanager;
pub mod app;
pub mod fakes;
pub mod netns;
pub mod process;

use std::path::PathBuf;
use std::sync::atomic::Ordering;

pub use app::{config, is_ready, Spawn, TestApp};
pub use fakes::bss::{FakeBss, Reply};
pub use fakes::bss_and_telegram;
pub use fakes::telegram::FakeTelegram;

/// The package most tests watch.
pub const ID: &str = "828e2c7c-3c8c-45a2-bebc-98cb3e77d06e";

/// A fresh directory under cargo's target tmp dir (not the system temp dir, which STATE_DIR refuses).
pub fn state_dir(name: &str) -> PathBuf {
    let base = PathBuf::from(env!("CARGO_TARGET_TMPDIR"));
    let dir = base.join(format!("{name}-{}-{}", std::process::id(), rand_suffix()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn rand_suffix() -> u64 {
    use std::sync::atomic::AtomicU64;
    static N: AtomicU64 = AtomicU64::new(0);
    N.fetch_add(1, Ordering::Relaxed)
}

/// A loopback port that was free a moment ago.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A script that appends its arguments to a marker file, then runs `body`: a stand-in shutdown
/// command whose runs can be counted.
pub fn marker_script(dir: &std::path::Path, body: &str) -> (PathBuf, PathBuf) {
    let marker = dir.join("shutdown-marker");
    let script = dir.join("fake-shutdown.sh");
    std::fs::write(
        &script,
        format!(
            "#!/bin/sh\necho \"shutdown $*\" >> '{}'\n{body}\n",
            marker.display()
        ),
    )
    .unwrap();
    let mut perms = std::fs::metadata(&script).unwrap().permissions();
    std::os::unix::fs::PermissionsExt::set_mode(&mut perms, 0o755);
    std::fs::set_permissions(&script, perms).unwrap();
    (script, marker)
}

/// Environment for a program that talks to `bss`.
pub fn base_env(bss: &FakeBss, ids: &[&str]) -> Vec<(String, String)> {
    let mut v: Vec<(String, String)> = vec![
        ("HUAWEICLOUD_SDK_AK".into(), fakes::AK.into()),
        ("HUAWEICLOUD_SDK_SK".into(), fakes::SK.into()),
        ("HUAWEICLOUD_BSS_ENDPOINT".into(), bss.url()),
        ("FREE_RESOURCE_IDS".into(), ids.join(",")),
        ("SERVER_NAME".into(), "test-server".into()),
        ("THRESHOLD_LEVEL_1".into(), "5".into()),
        ("THRESHOLD_LEVEL_2".into(), "10".into()),
        ("THRESHOLD_LEVEL_3".into(), "20".into()),
        ("HTTP_TIMEOUT".into(), "2s".into()),
        // The machine's own counter is not the fake BSS's traffic; the live tests turn it on.
        ("EGRESS_COUNTER".into(), "off".into()),
    ];
    v.push(("STATE_DIR".into(), state_dir("state").display().to_string()));
    v
}

/// `pairs` as owned environment pairs, to extend (and so override) an environment with.
pub fn vars(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// The usual environment of a whole program: `bss` watching [`ID`], telling `tg`, then `extra`.
pub fn app_env(bss: &FakeBss, tg: &FakeTelegram, extra: &[(&str, &str)]) -> Vec<(String, String)> {
    let mut env = base_env(bss, &[ID]);
    env.extend(telegram_env(tg));
    env.extend(vars(extra));
    env
}

/// The body of a GET of `url`.
pub async fn get_text(url: &str) -> String {
    reqwest::get(url).await.unwrap().text().await.unwrap()
}

/// The JSON body of a GET of `url`.
pub async fn get_json(url: &str) -> serde_json::Value {
    reqwest::get(url).await.unwrap().json().await.unwrap()
}

/// Environment for the fake Telegram.
pub fn telegram_env(tg: &FakeTelegram) -> Vec<(String, String)> {
    vec![
        ("TELEGRAM_API_URL".into(), tg.url()),
        ("TELEGRAM_BOT_TOKEN".into(), fakes::telegram::TOKEN.into()),
        ("TELEGRAM_CHAT_ID".into(), fakes::telegram::CHAT.into()),
        ("MESSAGE_LANG".into(), "en".into()),
    ]
}

/// `flexus_notifications_total{channel, result}` in a scrape.
pub fn notifications(scrape: &str, channel: &str, result: &str) -> Option<f64> {
    metric(
        scrape,
        "flexus_notifications_total",
        &[
            &format!("channel=\"{channel}\""),
            &format!("result=\"{result}\""),
        ],
    )
}

/// A firing Alertmanager alert whose name and summary carry `i`: a message to queue and find again.
pub fn numbered_alert(i: usize) -> flexus_traffic_monitor::messages::Message {
    flexus_traffic_monitor::messages::Message::ExternalAlert {
        server: "s".into(),
        alertname: format!("Alert{i}"),
        firing: true,
        summary: format!("number {i}"),
    }
}

/// The value of the first sample of `name` whose labels contain every `labels` fragment.
pub fn metric(text: &str, name: &str, labels: &[&str]) -> Option<f64> {
    text.lines()
        .filter(|l| !l.starts_with('#'))
        .find_map(|line| {
            let (series, value) = line.rsplit_once(' ')?;
            let series_name = series.split('{').next()?;
            if series_name != name || !labels.iter().all(|l| series.contains(l)) {
                return None;
            }
            value.parse().ok()
        })
}
