//! The whole application in this process, built by the same `App` as `serve`, and the builders
//! tests use for it.

use std::sync::atomic::Ordering;
use std::sync::Arc;

use flexus_traffic_monitor::app::{App, Deps, Loops};
use flexus_traffic_monitor::config::{Config, RawConfig};
use flexus_traffic_monitor::engine::Engine;
use flexus_traffic_monitor::http::AppState;
use flexus_traffic_monitor::notifier::Notifier;
use flexus_traffic_monitor::poller::Poller;
use flexus_traffic_monitor::shutdown::executor::{ExecFuture, How, Stopped};
use flexus_traffic_monitor::shutdown::{Executor, Guard};
use tokio_util::sync::CancellationToken;

use super::alertmanager::TOKEN;
use super::{app_env, vars, FakeBss, FakeTelegram};

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
    fn describe(&self) -> How {
        How::Command("test executor".into())
    }
    fn execute<'a>(
        &'a self,
        _target: Option<&'a flexus_traffic_monitor::target::Target>,
    ) -> ExecFuture<'a> {
        *self.0 .0.lock().unwrap() += 1;
        Box::pin(async {
            Ok(Stopped::Command {
                said: "recorded".into(),
            })
        })
    }
}

/// How a test app is built.
#[derive(Default)]
pub struct Spawn {
    /// Use the executor the configuration asks for (dry run, command) instead of recording calls.
    pub real_executor: bool,
    pub boot_id: Option<String>,
    /// Start the notifier and fallback evaluator in the background.
    pub background: bool,
    /// Read the egress counter from this fake `/sys` and `/proc`.
    pub egress_roots: Option<flexus_traffic_monitor::egress::counter::Roots>,
}

impl Spawn {
    /// With the notifier and fallback evaluator running in the background.
    pub fn background() -> Self {
        Self {
            background: true,
            ..Self::default()
        }
    }

    /// With the executor the configuration asks for.
    pub fn real_executor() -> Self {
        Self {
            real_executor: true,
            ..Self::default()
        }
    }

    /// As if the machine's boot were `boot_id`.
    pub fn boot(boot_id: &str) -> Self {
        Self {
            boot_id: Some(boot_id.into()),
            ..Self::default()
        }
    }
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
                egress_roots: opts.egress_roots,
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

    /// `GET /api/v1/status`.
    pub async fn status(&self) -> serde_json::Value {
        super::get_json(&format!("{}/api/v1/status", self.base_url)).await
    }

    pub async fn scrape(&self) -> String {
        super::get_text(&format!("{}/metrics", self.base_url)).await
    }

    /// The value of `name` (first sample with every `labels` fragment) in a scrape now.
    pub async fn metric(&self, name: &str, labels: &[&str]) -> Option<f64> {
        super::metric(&self.scrape().await, name, labels)
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

    /// Posts a webhook payload as Alertmanager does, with the token.
    pub async fn deliver(&self, body: &str) -> reqwest::Response {
        super::alertmanager::deliver(&self.base_url, body).await
    }

    /// Posts a webhook payload with the given Authorization header value.
    pub async fn post_webhook(&self, body: &str, auth: Option<&str>) -> reqwest::Response {
        super::alertmanager::post_webhook(&self.base_url, body, auth).await
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        self.cancel.cancel();
    }
}

/// Is `ready` set? (helper for readability)
pub fn is_ready(state: &AppState) -> bool {
    state.ready.load(Ordering::Acquire)
}

/// An app watching [`super::ID`] that tells `tg` and shuts down without a countdown, acting on its own
/// readings (the fallback); `extra` overrides the environment.
pub async fn fallback_app(
    bss: &FakeBss,
    tg: &FakeTelegram,
    extra: &[(&str, &str)],
    opts: Spawn,
) -> TestApp {
    let mut env = app_env(bss, tg, &[("SHUTDOWN_DELAY", "0s")]);
    env.extend(vars(extra));
    TestApp::spawn_with(&env, opts).await
}

/// Like [`fallback_app`], but taking its alerts from Alertmanager alone (`FALLBACK=never`, the
/// webhook token set).
pub async fn webhook_app(
    bss: &FakeBss,
    tg: &FakeTelegram,
    extra: &[(&str, &str)],
    opts: Spawn,
) -> TestApp {
    let mut settings = vec![("WEBHOOK_TOKEN", TOKEN), ("FALLBACK", "never")];
    settings.extend_from_slice(extra);
    fallback_app(bss, tg, &settings, opts).await
}
