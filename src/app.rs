//! The application: one owner for assembly and lifecycle.
//!
//! [`App::build`] wires the poller, snapshot, metrics, state, notifier, guard, auto-starter and
//! engine from a [`Config`] and [`Deps`]; `serve`, `check`, `demo` and the tests' `TestApp` all
//! build it the same way. [`App::run_until_stopped`] runs the HTTP server and the background loops
//! until told to stop; every task (the loops, each shutdown countdown, each auto-start) is spawned
//! on the app's one task tracker ([`Tasks`]), and on stop they are cancelled and awaited, with a
//! bound ([`STOP_BOUND`]), before the last messages are flushed. No task outlives it.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use tokio::sync::RwLock;
use tokio_util::sync::CancellationToken;

use crate::autostart::AutoStarter;
use crate::config::{Config, ShutdownMode};
use crate::engine::Engine;
use crate::fallback;
use crate::http::{self, AppState};
use crate::huawei::bss::BssClient;
use crate::huawei::ecs::EcsFactory;
use crate::metrics::Metrics;
use crate::notifier::{Notifier, Sink};
use crate::poller::Poller;
use crate::shutdown::executor::HuaweiApiExecutor;
use crate::shutdown::{CommandExecutor, DryRunExecutor, Executor, Guard, GuardSettings};
use crate::snapshot::{SharedSnapshot, Snapshot};
use crate::state::{boot_id, CorruptState, StateCell, StateStore, StoreError};
use crate::tasks::Tasks;
use crate::telegram::{Outbox, TelegramClient};

/// How long a stop waits for the tasks (a countdown that is acting records its outcome).
pub const STOP_BOUND: Duration = Duration::from_secs(20);
/// How long a stop tries to deliver the last queued messages.
const FLUSH_ON_STOP: Duration = Duration::from_secs(3);

/// What the app is built around, and the choices that differ between callers.
pub struct Deps {
    pub bss: BssClient,
    /// How long to wait for another process to release `STATE_DIR`.
    pub lock_wait: Duration,
    /// Replace the executor (tests record calls instead of shutting down).
    pub executor: Option<Box<dyn Executor>>,
    /// Replace the message sink (the demo prints to the console).
    pub sink: Option<Sink>,
    /// Replace the boot id (tests simulate a reboot).
    pub boot_id: Option<String>,
}

impl Deps {
    /// The production dependencies around `bss`.
    pub fn new(bss: BssClient) -> Self {
        Self {
            bss,
            lock_wait: Duration::ZERO,
            executor: None,
            sink: None,
            boot_id: None,
        }
    }
}

/// Which background loops [`App::run_with`] starts (all of them in `serve`; tests drive polls
/// and evaluations themselves).
#[derive(Debug, Clone, Copy)]
pub struct Loops {
    /// Poll BSS every `POLL_INTERVAL`.
    pub poll: bool,
    /// Deliver queued messages, and run the fallback evaluator after each poll.
    pub deliver_and_evaluate: bool,
}

impl Loops {
    pub const ALL: Self = Self {
        poll: true,
        deliver_and_evaluate: true,
    };
    pub const NONE: Self = Self {
        poll: false,
        deliver_and_evaluate: false,
    };
}

/// Why the app could not be built.
#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    /// `STATE_DIR` cannot be used: exit code 4.
    #[error(transparent)]
    State(#[from] StoreError),
    #[error("{0:#}")]
    Other(#[from] anyhow::Error),
}

/// Every part, wired. Cheap to clone (shared parts).
#[derive(Clone)]
pub struct App {
    pub config: Arc<Config>,
    pub metrics: Arc<Metrics>,
    pub snapshot: SharedSnapshot,
    pub poller: Poller,
    pub state: Arc<StateCell>,
    pub notifier: Arc<Notifier>,
    pub guard: Guard,
    pub engine: Arc<Engine>,
    /// Set once the first poll finished (successfully or not).
    pub ready: Arc<AtomicBool>,
    /// Whether the fallback evaluator is in charge.
    pub fallback_active: Arc<AtomicBool>,
    /// Set when the state file was not valid state and was replaced.
    pub corrupt: Option<CorruptState>,
    tasks: Tasks,
}

/// ECS clients for the configured instances.
///
/// # Errors
/// When the credentials are missing.
pub fn ecs_factory(config: &Config) -> anyhow::Result<EcsFactory> {
    Ok(EcsFactory {
        credentials: config.credentials()?,
        endpoint: config.huawei.ecs_endpoint.clone(),
        timeout: config.http_timeout,
    })
}

/// The executor the configuration asks for.
///
/// # Errors
/// When `huawei-api` is asked for without credentials.
pub fn executor(config: &Config) -> anyhow::Result<Box<dyn Executor>> {
    let real: Box<dyn Executor> = match config.shutdown.mode {
        ShutdownMode::HuaweiApi => Box::new(HuaweiApiExecutor {
            ecs: ecs_factory(config)?,
            hard: config.shutdown.ecs_hard_stop,
            hard_after: config.shutdown.ecs_hard_stop_after,
            job_timeout: config.shutdown.ecs_job_timeout,
        }),
        _ => Box::new(CommandExecutor {
            argv: config.shutdown.command.clone(),
            timeout: config.shutdown.command_timeout,
        }),
    };
    Ok(if config.shutdown.dry_run {
        Box::new(DryRunExecutor {
            would: real.describe(),
        })
    } else {
        real
    })
}

/// The sink the configuration asks for: Telegram when a bot and chat are set, else the console.
///
/// # Errors
/// When the HTTP client cannot be built.
pub fn sink(config: &Config) -> anyhow::Result<Sink> {
    match (
        &config.notify.telegram.bot_token,
        &config.notify.telegram.chat_id,
    ) {
        (Some(token), Some(chat)) => Ok(Sink::Telegram(TelegramClient::new(
            config.notify.telegram.api_url.clone(),
            token.clone(),
            chat.clone(),
            config.notify.telegram.thread_id,
            config.http_timeout,
        )?)),
        // Config::warnings() tells the user.
        _ => Ok(Sink::Console { stderr: true }),
    }
}

impl App {
    /// Builds the pipeline.
    ///
    /// # Errors
    /// When `STATE_DIR` cannot be used (or is held by another process past `lock_wait`), or a
    /// client cannot be built.
    pub async fn build(config: Config, deps: Deps) -> Result<Self, BuildError> {
        let config = Arc::new(config);
        let tasks = Tasks::new();
        let metrics = Arc::new(Metrics::new());
        let snapshot: SharedSnapshot =
            Arc::new(RwLock::new(Snapshot::new(&config.watch.free_resource_ids)));
        let poller = Poller::new(
            deps.bss,
            config.watch.free_resource_ids.clone(),
            snapshot.clone(),
            metrics.clone(),
        );
        let (store, state, corrupt) = StateStore::open(&config.state_dir, deps.lock_wait).await?;
        let state = Arc::new(StateCell::new(store, state));
        let outbox = Outbox::open(&config.state_dir.join("outbox")).with_context(|| {
            format!(
                "STATE_DIR={}: cannot create the outbox directory",
                config.state_dir.display()
            )
        })?;
        let sink = match deps.sink {
            Some(s) => s,
            None => sink(&config)?,
        };
        let notifier = Arc::new(Notifier::new(
            outbox,
            sink,
            metrics.clone(),
            config.notify.lang,
            config.alerting.thresholds,
        ));
        let settings = GuardSettings {
            enabled: config.shutdown.mode != ShutdownMode::Off,
            delay: config.shutdown.delay,
            warnings: 3,
            t1: config.alerting.thresholds.t1,
            repeat_after_boot: config.shutdown.repeat_after_boot,
            retry_after_failure: config.alerting.cadence.level2_repeat,
            boot_id: deps.boot_id.or_else(boot_id),
            server: config.watch.server_name.clone(),
            targets: config.watch.targets.clone(),
        };
        let executor = match deps.executor {
            Some(e) => e,
            None => executor(&config)?,
        };
        let guard = Guard::new(
            settings,
            executor,
            poller.clone(),
            notifier.clone(),
            metrics.clone(),
            state.clone(),
            tasks.clone(),
        );
        let autostart = if config.shutdown.auto_start {
            Some(Arc::new(AutoStarter::new(
                ecs_factory(&config)?,
                config.shutdown.ecs_job_timeout,
                config.alerting.cadence.level2_repeat,
                config.alerting.thresholds.t1,
                config.watch.reading_max_age,
                state.clone(),
                notifier.clone(),
                snapshot.clone(),
                metrics.clone(),
                tasks.clone(),
            )))
        } else {
            None
        };
        let engine = Arc::new(Engine {
            autostart,
            config: config.clone(),
            state: state.clone(),
            notifier: notifier.clone(),
            guard: guard.clone(),
            snapshot: snapshot.clone(),
        });
        if let Some(c) = &corrupt {
            engine.report_corrupt_state(c);
        }
        Ok(Self {
            config,
            metrics,
            snapshot,
            poller,
            state,
            notifier,
            guard,
            engine,
            ready: Arc::new(AtomicBool::new(false)),
            fallback_active: Arc::new(AtomicBool::new(false)),
            corrupt,
            tasks,
        })
    }

    /// What the HTTP handlers reach.
    pub fn http_state(&self) -> AppState {
        AppState {
            config: self.config.clone(),
            snapshot: self.snapshot.clone(),
            metrics: self.metrics.clone(),
            ready: self.ready.clone(),
            engine: Some(self.engine.clone()),
            fallback_active: self.fallback_active.clone(),
            state: Some(self.state.clone()),
        }
    }

    /// The app's task tracker and stop token.
    pub fn tasks(&self) -> &Tasks {
        &self.tasks
    }

    /// Serves HTTP on `listener` and runs every loop until `stop` fires (or the server fails);
    /// then stops everything in order: see [`Self::run_with`].
    ///
    /// # Errors
    /// When the HTTP server fails.
    pub async fn run_until_stopped(
        self,
        listener: tokio::net::TcpListener,
        stop: CancellationToken,
    ) -> std::io::Result<()> {
        self.run_with(listener, stop, Loops::ALL).await
    }

    /// [`Self::run_until_stopped`] with a choice of loops. The stop order: the HTTP server stops
    /// taking requests and finishes those in flight; every task is cancelled (a countdown that has
    /// not begun to act is abandoned and says so) and awaited up to [`STOP_BOUND`]; then queued
    /// messages get a last delivery attempt, and what is left stays in the outbox.
    ///
    /// # Errors
    /// When the HTTP server fails.
    pub async fn run_with(
        self,
        listener: tokio::net::TcpListener,
        stop: CancellationToken,
        loops: Loops,
    ) -> std::io::Result<()> {
        let stopping = self.tasks.stopping();
        {
            let stopping = stopping.clone();
            self.tasks.spawn(async move {
                tokio::select! {
                    () = stop.cancelled() => stopping.cancel(),
                    () = stopping.cancelled() => {}
                }
            });
        }
        let mut polled = self.poller.subscribe();
        let ready = self.ready.clone();
        let cancel = stopping.clone();
        self.tasks.spawn(async move {
            tokio::select! {
                r = polled.changed() => if r.is_ok() { ready.store(true, Ordering::Release) },
                () = cancel.cancelled() => {}
            }
        });
        if loops.deliver_and_evaluate {
            self.tasks
                .spawn(self.notifier.clone().run(stopping.clone()));
            self.tasks.spawn(fallback::run(
                self.engine.clone(),
                self.poller.subscribe(),
                self.metrics.clone(),
                self.fallback_active.clone(),
                stopping.clone(),
            ));
        }
        if loops.poll {
            self.tasks.spawn(
                self.poller
                    .clone()
                    .run(self.config.watch.poll_interval, stopping.clone()),
            );
        }
        let addr = listener
            .local_addr()
            .map(|a| a.to_string())
            .unwrap_or_default();
        tracing::info!(listen_addr = %addr, packages = self.config.watch.free_resource_ids.len(), poll_interval = %humantime::format_duration(self.config.watch.poll_interval), "serving");
        let result = http::serve(listener, http::router(self.http_state()), stopping).await;
        self.stop().await;
        result
    }

    /// Cancels every task, awaits them (bounded), and flushes the outbox once.
    pub async fn stop(&self) {
        let left = self.tasks.stop(STOP_BOUND).await;
        if left > 0 {
            tracing::error!(
                tasks = left,
                bound_s = STOP_BOUND.as_secs(),
                "tasks still running after the stop bound; abandoning them"
            );
        }
        // Last chance for queued messages; what is left stays in the outbox for the next start.
        let left = self.notifier.flush(FLUSH_ON_STOP).await.remaining;
        if left > 0 {
            tracing::info!(
                pending = left,
                "messages kept in the outbox for the next start"
            );
        }
    }
}
