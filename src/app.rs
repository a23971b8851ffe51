//! Assembly: builds the whole pipeline (poller, snapshot, metrics, state, notifier, guard, engine)
//! from a [`Config`], so that `serve`, `check`, `demo` and the tests wire it the same way.

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use tokio::sync::RwLock;

use crate::autostart::AutoStarter;
use crate::config::{Config, ShutdownMode};
use crate::engine::Engine;
use crate::huawei::bss::BssClient;
use crate::huawei::ecs::EcsFactory;
use crate::metrics::Metrics;
use crate::notifier::{Notifier, Sink};
use crate::poller::Poller;
use crate::shutdown::executor::HuaweiApiExecutor;
use crate::shutdown::{CommandExecutor, DryRunExecutor, Executor, Guard, GuardSettings};
use crate::snapshot::{SharedSnapshot, Snapshot};
use crate::state::{boot_id, CorruptState, StateCell, StateStore};
use crate::telegram::TelegramClient;

/// Choices that differ between callers.
#[derive(Default)]
pub struct Options {
    /// How long to wait for another process to release `STATE_DIR`.
    pub lock_wait: Duration,
    /// Replace the executor (tests record calls instead of shutting down).
    pub executor: Option<Box<dyn Executor>>,
    /// Replace every channel by this one (the demo prints to the console).
    pub sink: Option<Sink>,
    /// Replace the boot id (tests simulate a reboot).
    pub boot_id: Option<String>,
}

/// Every part, wired.
pub struct Stack {
    pub config: Arc<Config>,
    pub metrics: Arc<Metrics>,
    pub snapshot: SharedSnapshot,
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

/// The channels the configuration asks for: Telegram when a bot and chat are set, every other
/// configured channel, and the console when there is none.
///
/// # Errors
/// When an HTTP client cannot be built or a channel's setting is unusable.
pub fn clients(config: &Config) -> anyhow::Result<Vec<Sink>> {
    use crate::channels::{bark, dingtalk, feishu, pushplus, serverchan, webhook, wecom};
    let ch = &config.notify.channels;
    let t = config.http_timeout;
    let url =
        |s: &crate::secret::Secret| url::Url::parse(s.expose()).map_err(|e| anyhow::anyhow!("{e}"));
    let mut out = Vec::new();
    let tg = &config.notify.telegram;
    if let (Some(token), Some(chat)) = (&tg.bot_token, &tg.chat_id) {
        out.push(Sink::Telegram(TelegramClient::new(
            tg.api_url.clone(),
            token.clone(),
            chat.clone(),
            tg.thread_id,
            t,
        )?));
    }
    let e = |name: &'static str| move |why: String| anyhow::anyhow!("{name}: {why}");
    if let Some(u) = &ch.webhook_url {
        out.push(Sink::Webhook(
            webhook::Webhook::new(url(u)?, ch.webhook_secret.clone(), t)
                .map_err(e("NOTIFY_WEBHOOK_URL"))?,
        ));
    }
    if let Some(u) = &ch.feishu_webhook_url {
        out.push(Sink::Feishu(
            feishu::Feishu::new(url(u)?, ch.feishu_secret.clone(), t)
                .map_err(e("FEISHU_WEBHOOK_URL"))?,
        ));
    }
    if let Some(u) = &ch.dingtalk_webhook_url {
        out.push(Sink::DingTalk(
            dingtalk::DingTalk::new(url(u)?, ch.dingtalk_secret.clone(), t)
                .map_err(e("DINGTALK_WEBHOOK_URL"))?,
        ));
    }
    if let Some(u) = &ch.wecom_webhook_url {
        out.push(Sink::WeCom(
            wecom::WeCom::new(url(u)?, t).map_err(e("WECOM_WEBHOOK_URL"))?,
        ));
    }
    if let Some(k) = &ch.serverchan_sendkey {
        out.push(Sink::ServerChan(
            serverchan::ServerChan::new(k, ch.serverchan_api_url.as_ref(), t)
                .map_err(e("SERVERCHAN_SENDKEY"))?,
        ));
    }
    if let Some(k) = &ch.pushplus_token {
        out.push(Sink::PushPlus(
            pushplus::PushPlus::new(k.clone(), &ch.pushplus_api_url, t)
                .map_err(e("PUSHPLUS_TOKEN"))?,
        ));
    }
    if let Some(u) = &ch.bark_url {
        out.push(Sink::Bark(
            bark::Bark::new(url(u)?, t).map_err(e("BARK_URL"))?,
        ));
    }
    if out.is_empty() {
        // Config::warnings() tells the user.
        out.push(Sink::Console { stderr: true });
    }
    Ok(out)
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
    let poller = Poller::new(
        bss,
        config.watch.free_resource_ids.clone(),
        snapshot.clone(),
        metrics.clone(),
    );
    let (store, state, corrupt) = StateStore::open(&config.state_dir, opts.lock_wait)?;
    let state = Arc::new(StateCell::new(store, state));
    let clients = match opts.sink {
        Some(s) => vec![s],
        None => clients(&config)?,
    };
    let notifier = Arc::new(
        Notifier::new(
            &config.state_dir.join("outbox"),
            clients,
            metrics.clone(),
            config.notify.lang,
            config.alerting.thresholds,
        )
        .with_context(|| {
            format!(
                "STATE_DIR={}: cannot create the outbox directory",
                config.state_dir.display()
            )
        })?,
    );
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
        poller,
        state,
        notifier,
        guard,
        engine,
        corrupt,
    })
}
