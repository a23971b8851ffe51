//! Shared test helpers: the fakes, an in-process app, a child-process runner and metric parsing.

pub mod fake_bss;

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use flexus_traffic_monitor::config::{Config, RawConfig};
use flexus_traffic_monitor::http::{self, AppState};
use flexus_traffic_monitor::metrics::Metrics;
use flexus_traffic_monitor::poller::Poller;
use flexus_traffic_monitor::snapshot::Snapshot;
use tokio::sync::RwLock;
use tokio_util::sync::CancellationToken;

pub use fake_bss::{FakeBss, Reply};

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

/// Environment for a program that talks to `bss`.
pub fn base_env(bss: &FakeBss, ids: &[&str]) -> Vec<(String, String)> {
    let mut v: Vec<(String, String)> = vec![
        ("HUAWEICLOUD_SDK_AK".into(), fake_bss::AK.into()),
        ("HUAWEICLOUD_SDK_SK".into(), fake_bss::SK.into()),
        ("HUAWEICLOUD_BSS_ENDPOINT".into(), bss.url()),
        ("FREE_RESOURCE_IDS".into(), ids.join(",")),
        ("SERVER_NAME".into(), "test-server".into()),
        ("THRESHOLD_LEVEL_1".into(), "5".into()),
        ("THRESHOLD_LEVEL_2".into(), "10".into()),
        ("THRESHOLD_LEVEL_3".into(), "20".into()),
        ("HTTP_TIMEOUT".into(), "2s".into()),
    ];
    v.push(("STATE_DIR".into(), state_dir("state").display().to_string()));
    v
}

/// A validated config from `env`; a later pair overrides an earlier one, as in a process environment.
pub fn config(env: &[(String, String)]) -> Config {
    let map: std::collections::HashMap<String, String> = env.iter().cloned().collect();
    Config::from_raw(&RawConfig::from_pairs(map).unwrap()).unwrap()
}

/// The exporter running in this process: poller (driven by the test) and HTTP server.
pub struct TestApp {
    pub config: Arc<Config>,
    pub poller: Poller,
    pub state: AppState,
    pub base_url: String,
    pub cancel: CancellationToken,
}

impl TestApp {
    pub async fn spawn(env: &[(String, String)]) -> Self {
        let config = Arc::new(config(env));
        let bss = flexus_traffic_monitor::commands::bss_client(&config).unwrap();
        let metrics = Arc::new(Metrics::new());
        let snapshot = Arc::new(RwLock::new(Snapshot::new(&config.free_resource_ids)));
        let poller = Poller::new(
            bss,
            config.free_resource_ids.clone(),
            snapshot.clone(),
            metrics.clone(),
        );
        let state = AppState {
            config: config.clone(),
            snapshot,
            metrics,
            ready: Arc::new(AtomicBool::new(false)),
        };
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base_url = format!("http://{}", listener.local_addr().unwrap());
        let cancel = CancellationToken::new();
        let router = http::router(state.clone());
        let c = cancel.clone();
        tokio::spawn(async move { http::serve(listener, router, c).await.unwrap() });
        Self {
            config,
            poller,
            state,
            base_url,
            cancel,
        }
    }

    pub async fn scrape(&self) -> String {
        reqwest::get(format!("{}/metrics", self.base_url))
            .await
            .unwrap()
            .text()
            .await
            .unwrap()
    }

    /// `/metrics` as it will look at `now` (to see readings expire without waiting).
    pub async fn render_at(&self, now: chrono::DateTime<chrono::Utc>) -> String {
        let snap = self.state.snapshot.read().await.clone();
        self.state.metrics.render(&snap, &self.config, now)
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        self.cancel.cancel();
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

/// Is `ready` set? (helper for readability)
pub fn is_ready(state: &AppState) -> bool {
    state.ready.load(Ordering::Acquire)
}
