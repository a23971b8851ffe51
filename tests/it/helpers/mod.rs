//! Shared test helpers: the fakes, an in-process app, a child-process runner and metric parsing.

pub mod fake_bss;
pub mod fake_channels;
pub mod fake_cloud;
pub mod fake_smtp;
pub mod fake_telegram;

use std::path::PathBuf;
use std::sync::atomic::Ordering;
use std::sync::Arc;

use flexus_traffic_monitor::app::{App, Deps, Loops};
use flexus_traffic_monitor::config::{Config, RawConfig};
use flexus_traffic_monitor::engine::Engine;
use flexus_traffic_monitor::http::AppState;
use flexus_traffic_monitor::notifier::Notifier;
use flexus_traffic_monitor::poller::Poller;
use flexus_traffic_monitor::shutdown::executor::ExecFuture;
use flexus_traffic_monitor::shutdown::{Executor, Guard};
use tokio_util::sync::CancellationToken;

pub use fake_bss::{FakeBss, Reply};
pub use fake_telegram::FakeTelegram;

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

/// Records the shutdown executor's calls instead of shutting anything down.
#[derive(Clone, Default)]
pub struct Calls(pub Arc<std::sync::Mutex<u32>>);

impl Calls {
    pub fn count(&self) -> u32 {
        *self.0.lock().unwrap()
    }
}

struct RecordingExecutor(Calls);

impl Executor for RecordingExecutor {
    fn describe(&self) -> String {
        "test executor".into()
    }
    fn execute<'a>(
        &'a self,
        _target: Option<&'a flexus_traffic_monitor::target::Target>,
    ) -> ExecFuture<'a> {
        *self.0 .0.lock().unwrap() += 1;
        Box::pin(async { Ok("recorded".to_string()) })
    }
}

/// Environment for the fake Telegram.
pub fn telegram_env(tg: &FakeTelegram) -> Vec<(String, String)> {
    vec![
        ("TELEGRAM_API_URL".into(), tg.url()),
        ("TELEGRAM_BOT_TOKEN".into(), fake_telegram::TOKEN.into()),
        ("TELEGRAM_CHAT_ID".into(), fake_telegram::CHAT.into()),
        ("MESSAGE_LANG".into(), "en".into()),
    ]
}

/// How a test app is built.
#[derive(Default)]
pub struct Spawn {
    /// Use the executor the configuration asks for (dry run, command) instead of recording calls.
    pub real_executor: bool,
    pub boot_id: Option<String>,
    /// Start the notifier and fallback evaluator in the background.
    pub background: bool,
}

/// The whole pipeline running in this process, built and run by the same [`App`] as `serve`:
/// poller (driven by the test), engine, guard, notifier, and the HTTP server on a loopback port.
pub struct TestApp {
    pub app: App,
    pub config: Arc<Config>,
    pub poller: Poller,
    pub state: AppState,
    pub engine: Arc<Engine>,
    pub notifier: Arc<Notifier>,
    pub guard: Guard,
    pub calls: Calls,
    pub base_url: String,
    pub cancel: CancellationToken,
    run: Option<tokio::task::JoinHandle<std::io::Result<()>>>,
}

impl TestApp {
    pub async fn spawn(env: &[(String, String)]) -> Self {
        Self::spawn_with(env, Spawn::default()).await
    }

    pub async fn spawn_with(env: &[(String, String)], opts: Spawn) -> Self {
        let config = config(env);
        let bss = flexus_traffic_monitor::commands::bss_client(&config).unwrap();
        let calls = Calls::default();
        let executor: Option<Box<dyn Executor>> = if opts.real_executor {
            None
        } else {
            Some(Box::new(RecordingExecutor(calls.clone())))
        };
        let app = App::build(
            config,
            Deps {
                lock_wait: std::time::Duration::from_secs(5),
                executor,
                boot_id: Some(opts.boot_id.unwrap_or_else(|| "boot-1".into())),
                ..Deps::new(bss)
            },
        )
        .await
        .unwrap();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base_url = format!("http://{}", listener.local_addr().unwrap());
        let cancel = CancellationToken::new();
        let loops = Loops {
            poll: false,
            deliver_and_evaluate: opts.background,
        };
        let run = tokio::spawn(app.clone().run_with(listener, cancel.clone(), loops));
        Self {
            config: app.config.clone(),
            poller: app.poller.clone(),
            state: app.http_state(),
            engine: app.engine.clone(),
            notifier: app.notifier.clone(),
            guard: app.guard.clone(),
            app,
            calls,
            base_url,
            cancel,
            run: Some(run),
        }
    }

    /// Stops the app as a stop signal would and waits until every task has ended and the state
    /// directory is free again.
    pub async fn stop(mut self) {
        self.cancel.cancel();
        if let Some(run) = self.run.take() {
            run.await.unwrap().unwrap();
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

    /// Poll, then evaluate as the fallback evaluator would, wait for the guard, deliver messages.
    pub async fn poll_and_evaluate(&self) {
        let _ = self.poller.poll_once().await;
        self.engine.poll_health().await.unwrap();
        self.engine.evaluate(chrono::Utc::now()).await.unwrap();
        self.settle().await;
    }

    /// Waits for the guard to finish and delivers queued messages.
    pub async fn settle(&self) {
        self.guard.wait_idle().await;
        self.notifier
            .flush(std::time::Duration::from_secs(20))
            .await;
    }

    /// Posts a webhook payload with the given Authorization header value.
    pub async fn post_webhook(&self, body: &str, auth: Option<&str>) -> reqwest::Response {
        let mut req = reqwest::Client::new()
            .post(format!("{}/alertmanager", self.base_url))
            .header("content-type", "application/json")
            .body(body.to_string());
        if let Some(a) = auth {
            req = req.header("authorization", a);
        }
        req.send().await.unwrap()
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
