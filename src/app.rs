//! Assembly: builds the whole pipeline (poller, snapshot, metrics, state, notifier, guard, engine)
//! from a [`Config`], so that `serve`, `check`, `demo` and the tests wire it the same way.

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use tokio::sync::RwLock;

use crate::autostart::AutoStarter;
use crate::config::{Config, ShutdownMode};
use crate::engine::Engine;
use crate::history::{self, HistoryStore};
use crate::huawei::bss::BssClient;
use crate::huawei::ecs::EcsFactory;
use crate::metrics::Metrics;
use crate::notifier::{Notifier, Sink};
use crate::poller::Poller;
use crate::shutdown::executor::HuaweiApiExecutor;
use crate::shutdown::{CommandExecutor, DryRunExecutor, Executor, Guard, GuardSettings};
use crate::snapshot::{SharedSnapshot, Snapshot};
use crate::state::{boot_id, CorruptState, StateCell, StateStore};
use crate::telegram::{Outbox, TelegramClient};

/// Choices that differ between callers.
#[derive(Default)]
pub struct Options {
    /// How long to wait for another process to release `STATE_DIR`.
    pub lock_wait: Duration,
    /// Replace the executor (tests record calls instead of shutting down).
    pub executor: Option<Box<dyn Executor>>,
    /// Replace the message sink (the demo prints to the console).
    pub sink: Option<Sink>,
    /// Replace the boot id (tests simulate a reboot).
    pub boot_id: Option<String>,
    /// How much history is kept (default: [`history::Limits::for_poll_interval`]).
    pub history_limits: Option<history::Limits>,
}

/// Every part, wired.
pub struct Stack {
    pub config: Arc<Config>,
    pub metrics: Arc<Metrics>,
    pub snapshot: SharedSnapshot,
    /// The history of remaining traffic (for the status page).
    pub history: Arc<HistoryStore>,
    pub poller: Poller,
    pub state: Arc<StateCell>,
    pub notifier: Arc<Notifier>,
    pub guard: Guard,
    pub engine: Arc<Engine>,
    /// Set when the state file was unreadable and replaced.
    pub corrupt: Option<CorruptState>,
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

/// Builds the pipeline around `bss`.
///
/// # Errors
/// When `STATE_DIR` cannot be used (or is held by another process past `lock_wait`).
pub fn build(config: Config, bss: BssClient, opts: Options) -> anyhow::Result<Stack> {
    let config = Arc::new(config);
    let metrics = Arc::new(Metrics::new());
    let snapshot: SharedSnapshot =
        Arc::new(RwLock::new(Snapshot::new(&config.watch.free_resource_ids)));
    let (store, state, corrupt) = StateStore::open(&config.state_dir, opts.lock_wait)?;
    // Opened after the lock, so only the process owning STATE_DIR writes it.
    let limits = opts
        .history_limits
        .unwrap_or_else(|| history::Limits::for_poll_interval(config.watch.poll_interval));
    let history = Arc::new(HistoryStore::open(&config.state_dir, limits));
    let poller = Poller::new(
        bss,
        config.watch.free_resource_ids.clone(),
        snapshot.clone(),
        metrics.clone(),
    )
    .with_history(history.clone());
    let state = Arc::new(StateCell::new(store, state));
    let outbox = Outbox::open(&config.state_dir.join("outbox")).with_context(|| {
        format!(
            "STATE_DIR={}: cannot create the outbox directory",
            config.state_dir.display()
        )
    })?;
    let sink = match opts.sink {
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
        boot_id: opts.boot_id.or_else(boot_id),
        server: config.watch.server_name.clone(),
        targets: config.watch.targets.clone(),
    };
    let executor = match opts.executor {
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
    Ok(Stack {
        config,
        metrics,
        snapshot,
        history,
        poller,
        state,
        notifier,
        guard,
        engine,
        corrupt,
    })
}
