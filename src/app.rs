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

use tokio::sync::{watch, RwLock};
use tokio_util::sync::CancellationToken;

use crate::autostart::AutoStarter;
use crate::bot::Bot;
use crate::config::{Config, ShutdownMode};
use crate::egress::live::{self, Live};
use crate::egress::offbox::{self, CloudEye};
use crate::enforcer::Enforcer;
use crate::engine::Engine;
use crate::fallback;
use crate::history::{self, HistoryStore};
use crate::http::{self, AppState};
use crate::huawei::bss::BssClient;
use crate::huawei::ces::CesFactory;
use crate::huawei::ecs::EcsFactory;
use crate::messages::Message;
use crate::metrics::Metrics;
use crate::notifier::{Notifier, Sink};
use crate::poller::Poller;
use crate::shutdown::executor::HuaweiApiExecutor;
use crate::shutdown::{CommandExecutor, DryRunExecutor, Executor, Guard, GuardSettings};
use crate::snapshot::{SharedSnapshot, Snapshot};
use crate::state::{boot_id, CorruptState, StateCell, StateStore, StoreError};
use crate::tasks::Tasks;
use crate::telegram::TelegramClient;

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
    /// Replace every channel by this one (the demo prints to the console).
    pub sink: Option<Sink>,
    /// Replace the boot id (tests simulate a reboot).
    pub boot_id: Option<String>,
    /// How much history is kept (default: [`history::Limits::for_poll_interval`]).
    pub history_limits: Option<history::Limits>,
    /// Run the actions' commands (tc, nft, ...) inside this network namespace (tests).
    pub netns: Option<String>,
    /// Where the kernel's `/sys` and `/proc` are (tests point them at a fake or a namespace).
    pub egress_roots: Option<crate::egress::counter::Roots>,
    /// Replace the resolver of our API hosts (tests count its calls, or make it hang).
    pub resolver: Option<crate::actions::addresses::Resolver>,
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
            history_limits: None,
            netns: None,
            egress_roots: None,
            resolver: None,
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
    /// The outbox in `STATE_DIR` cannot be used (a file where a directory belongs, no
    /// permission): exit code 4 as well.
    #[error("STATE_DIR={dir}: cannot use the outbox ({error}); fix: make {dir}/outbox a directory the service can write, holding a directory dead and a file sent.log (move away whatever is in their place)")]
    Outbox { dir: String, error: std::io::Error },
    #[error("{0:#}")]
    Other(#[from] anyhow::Error),
}

/// Every part, wired. Cheap to clone (shared parts).
#[derive(Clone)]
pub struct App {
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
    /// Throttle, fence and command actions.
    pub enforcer: Arc<Enforcer>,
    /// The server's own egress counter, when it is on and anchored to a package.
    pub live: Option<Arc<Live>>,
    /// The Cloud Eye source and its clients, when `CLOUDEYE_EIPS` names packages.
    pub cloudeye: Option<(Arc<CloudEye>, CesFactory)>,
    /// Set once the first poll finished (successfully or not).
    pub ready: Arc<AtomicBool>,
    /// Whether the fallback evaluator is in charge.
    pub fallback_active: Arc<AtomicBool>,
    /// Set when the state file was not valid state and was replaced.
    pub corrupt: Option<CorruptState>,
    /// Starts what this process stopped (`AUTO_START`, `/start`).
    pub starter: Option<Arc<AutoStarter>>,
    tasks: Tasks,
}

/// ECS clients for the configured instances (with several accounts, those of the account that
/// stops through the API: see [`Config::ecs_account`]).
///
/// # Errors
/// When the credentials are missing.
pub fn ecs_factory(config: &Config) -> anyhow::Result<EcsFactory> {
    if config.several_accounts() {
        return ecs_factory_for(config, config.ecs_account());
    }
    Ok(EcsFactory {
        credentials: config.credentials()?,
        endpoint: config.huawei.ecs_endpoint.clone(),
        timeout: config.http_timeout,
        observer: None,
    })
}

/// The credentials of `account`.
///
/// # Errors
/// When its AK or SK is not set, naming the variable.
pub fn credentials_of(
    account: &crate::config::Account,
) -> anyhow::Result<crate::huawei::transport::Credentials> {
    let h = &account.huawei;
    match (&h.access_key, &h.secret_key) {
        (Some(ak), Some(sk)) => Ok(crate::huawei::transport::Credentials {
            access_key: ak.clone(),
            secret_key: sk.clone(),
        }),
        _ => Err(anyhow::anyhow!(
            "{} and {} must be set",
            account.var("HUAWEICLOUD_SDK_AK"),
            account.var("HUAWEICLOUD_SDK_SK")
        )),
    }
}

/// ECS clients with `account`'s keys.
///
/// # Errors
/// When its credentials are missing.
pub fn ecs_factory_for(
    config: &Config,
    account: &crate::config::Account,
) -> anyhow::Result<EcsFactory> {
    Ok(EcsFactory {
        credentials: credentials_of(account)?,
        endpoint: account.huawei.ecs_endpoint.clone(),
        timeout: config.http_timeout,
        observer: None,
    })
}

/// The BSS client of `account`: its keys, site (or endpoint) and account id, its own
/// connections and retries.
///
/// # Errors
/// Missing credentials, or a TLS set-up failure.
pub fn bss_client_for(
    account: &crate::config::Account,
    timeout: Duration,
) -> anyhow::Result<BssClient> {
    use crate::huawei::transport::{RetryPolicy, SignedClient};
    let h = &account.huawei;
    let client = SignedClient::new(
        h.bss_endpoint.clone(),
        credentials_of(account)?,
        h.site,
        timeout,
        RetryPolicy::default(),
    )?;
    Ok(BssClient::new(client, h.domain_id.clone()))
}

/// The executor the configuration asks for.
///
/// # Errors
/// When `huawei-api` is asked for without credentials.
pub fn executor(
    config: &Config,
    observer: Option<crate::huawei::transport::CallObserver>,
) -> anyhow::Result<Box<dyn Executor>> {
    executor_with(config, config.shutdown.mode, ecs_factory, observer)
}

/// The executor of `account` (its `SHUTDOWN_MODE`, its keys).
///
/// # Errors
/// When `huawei-api` is asked for without credentials.
pub fn account_executor(
    config: &Config,
    account: &crate::config::Account,
    observer: Option<crate::huawei::transport::CallObserver>,
) -> anyhow::Result<Box<dyn Executor>> {
    executor_with(
        config,
        account.shutdown_mode,
        |c| ecs_factory_for(c, account),
        observer,
    )
}

fn executor_with(
    config: &Config,
    mode: ShutdownMode,
    ecs: impl Fn(&Config) -> anyhow::Result<EcsFactory>,
    observer: Option<crate::huawei::transport::CallObserver>,
) -> anyhow::Result<Box<dyn Executor>> {
    let real: Box<dyn Executor> = match mode {
        ShutdownMode::HuaweiApi => Box::new(HuaweiApiExecutor {
            ecs: EcsFactory {
                observer,
                ..ecs(config)?
            },
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
    use crate::channels::{bark, dingtalk, email, feishu, pushplus, serverchan, webhook, wecom};
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
    if let Some(m) = &ch.email {
        out.push(Sink::Email(
            email::Email::new(m, config.notify.lang).map_err(|why| anyhow::anyhow!(why))?,
        ));
    }
    if out.is_empty() {
        // Config::warnings() tells the user.
        out.push(Sink::Console { stderr: true });
    }
    Ok(out)
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
        let several = config.several_accounts();
        let metrics = Arc::new(Metrics::for_accounts(several));
        let snapshot: SharedSnapshot = Arc::new(RwLock::new(if several {
            let accounts: Vec<(String, Vec<String>)> = config
                .accounts
                .iter()
                .map(|a| (a.name.clone(), a.free_resource_ids.clone()))
                .collect();
            Snapshot::for_accounts(&accounts)
        } else {
            Snapshot::new(&config.watch.free_resource_ids)
        }));
        let (store, state, corrupt) = StateStore::open(&config.state_dir, deps.lock_wait).await?;
        // Opened after the lock, so only the process owning STATE_DIR writes it.
        let limits = deps
            .history_limits
            .unwrap_or_else(|| history::Limits::for_poll_interval(config.watch.poll_interval));
        let history = Arc::new(HistoryStore::open(&config.state_dir, limits));
        let state = Arc::new(StateCell::new(store, state));
        let clients = match deps.sink {
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
            .map_err(|error| BuildError::Outbox {
                dir: config.state_dir.display().to_string(),
                error,
            })?
            .with_level1(config.level1_does()),
        );
        let live = config.watch.egress_package().map(|package| {
            let notifier = notifier.clone();
            let server = config.server_for(package).to_string();
            Arc::new(Live::open(
                live::Settings {
                    interface: config.watch.egress.interface.clone(),
                    interval: config.watch.egress.interval,
                    default_lag: config.watch.egress.default_lag,
                    package: package.to_string(),
                    thresholds: config.alerting.thresholds,
                    roots: deps.egress_roots.clone().unwrap_or_default(),
                    state_dir: config.state_dir.clone(),
                },
                Box::new(move |e| {
                    let m = Message::EgressCounterLost {
                        server: server.clone(),
                        error: e.to_string(),
                    };
                    if let Err(e) = notifier.enqueue(&m) {
                        tracing::error!(error = %e, "cannot queue the egress counter message");
                    }
                }),
            ))
        });
        let mut poller = Poller::new(
            deps.bss
                .clone()
                .observed(metrics.observer(crate::metrics::SOURCE_BSS)),
            config.watch.free_resource_ids.clone(),
            snapshot.clone(),
            metrics.clone(),
        )
        .with_history(history.clone())
        .with_judge(state.clone(), config.watch.plausibility());
        if several {
            // The first account's client is the one given; each other account gets its own.
            let mut sources = Vec::new();
            let mut given = Some(deps.bss);
            for a in &config.accounts {
                let bss = match given.take() {
                    Some(b) => b,
                    None => bss_client_for(a, config.http_timeout)?,
                };
                sources.push((
                    a.name.clone(),
                    bss.observed(metrics.observer(crate::metrics::SOURCE_BSS)),
                    a.free_resource_ids.clone(),
                ));
            }
            poller = poller.with_accounts(sources);
        }
        if let Some(l) = &live {
            poller = poller.with_live(l.clone());
        }
        let cloudeye = if config.watch.cloudeye.eips.is_empty() {
            None
        } else {
            let ce = Arc::new(CloudEye::new(offbox::Settings {
                eips: config.watch.cloudeye.eips.clone(),
                interval: config.watch.cloudeye.interval,
                default_lag: config.watch.egress.default_lag,
                thresholds: config.alerting.thresholds,
            }));
            poller = poller.with_cloudeye(ce.clone());
            let factory = CesFactory {
                credentials: config
                    .credentials()
                    .map_err(|e| anyhow::anyhow!("CLOUDEYE_EIPS needs the account's keys: {e}"))?,
                endpoint: config.watch.cloudeye.endpoint.clone(),
                timeout: config.http_timeout,
                observer: Some(metrics.observer(crate::metrics::SOURCE_CLOUDEYE)),
            };
            Some((ce, factory))
        };
        // With several accounts each has its own SHUTDOWN_MODE and LEVEL1_ACTIONS.
        let disabled = if several {
            config
                .accounts
                .iter()
                .filter(|a| !a.shuts_down())
                .flat_map(|a| a.free_resource_ids.iter().cloned())
                .collect()
        } else {
            Default::default()
        };
        let shown = if several {
            config
                .watch
                .free_resource_ids
                .iter()
                .map(|id| (id.clone(), config.shown_server(id)))
                .collect()
        } else {
            Default::default()
        };
        let settings = GuardSettings {
            // `LEVEL1_ACTIONS` without shutdown turns the guard off as `SHUTDOWN_MODE=off` does.
            enabled: if several {
                config.accounts.iter().any(|a| a.shuts_down())
            } else {
                config.shutdown.mode != ShutdownMode::Off && config.actions.shuts_down()
            },
            disabled,
            shown,
            delay: config.shutdown.delay,
            warnings: 3,
            thresholds: config.alerting.thresholds,
            repeat_after_boot: config.shutdown.repeat_after_boot,
            retry_after_failure: config.alerting.cadence.level2_repeat,
            boot_id: deps.boot_id.or_else(boot_id),
            server: config.watch.server_name.clone(),
            targets: config.watch.targets.clone(),
        };
        let observer = || Some(metrics.observer(crate::metrics::SOURCE_ECS));
        let executors = match deps.executor {
            Some(e) => vec![(Vec::new(), e)],
            None if several => {
                let mut all = Vec::new();
                for a in config.accounts.iter().filter(|a| a.shuts_down()) {
                    all.push((
                        a.free_resource_ids.clone(),
                        account_executor(&config, a, observer())?,
                    ));
                }
                if all.is_empty() {
                    all.push((Vec::new(), executor(&config, observer())?));
                }
                all
            }
            None => vec![(Vec::new(), executor(&config, observer())?)],
        };
        let guard = Guard::per_account(
            settings,
            executors,
            poller.clone(),
            notifier.clone(),
            metrics.clone(),
            state.clone(),
            tasks.clone(),
        );
        // `/start` follows the same rules as `AUTO_START`, through the same starter.
        let bot_starts = config.notify.telegram.commands
            && (config.shutdown.mode == ShutdownMode::HuaweiApi
                || config
                    .accounts
                    .iter()
                    .any(|a| a.shutdown_mode == ShutdownMode::HuaweiApi));
        let starter = if config.shutdown.auto_start || bot_starts {
            Some(Arc::new(AutoStarter::new(
                EcsFactory {
                    observer: Some(metrics.observer(crate::metrics::SOURCE_ECS)),
                    ..ecs_factory(&config)?
                },
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
        let autostart = starter.clone().filter(|_| config.shutdown.auto_start);
        let mut enforcer = Enforcer::new(
            &config,
            state.clone(),
            notifier.clone(),
            metrics.clone(),
            deps.netns,
        );
        if let Some(resolver) = deps.resolver {
            enforcer = enforcer.with_resolver(resolver);
        }
        let enforcer = Arc::new(enforcer);
        let engine = Arc::new(Engine {
            history: history.clone(),
            enforcer: enforcer.clone(),
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
            history,
            poller,
            state,
            notifier,
            guard,
            engine,
            enforcer,
            live,
            cloudeye,
            ready: Arc::new(AtomicBool::new(false)),
            fallback_active: Arc::new(AtomicBool::new(false)),
            corrupt,
            starter,
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
            history: self.history.clone(),
            web: None,
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
            let live_changed = self.live_changes(&stopping);
            self.tasks
                .spawn(self.notifier.clone().run(stopping.clone()));
            self.tasks.spawn(fallback::run(
                self.engine.clone(),
                self.poller.subscribe(),
                self.metrics.clone(),
                self.fallback_active.clone(),
                live_changed.as_ref().map(|l| l.subscribe()),
                stopping.clone(),
            ));
            self.tasks.spawn(self.enforcer.clone().run(
                self.poller.subscribe(),
                live_changed.as_ref().map(|l| l.subscribe()),
                self.snapshot.clone(),
                stopping.clone(),
            ));
        }
        if self.config.notify.telegram.commands {
            let parts = crate::bot::Parts {
                config: self.config.clone(),
                state: self.state.clone(),
                guard: self.guard.clone(),
                notifier: self.notifier.clone(),
                metrics: self.metrics.clone(),
                snapshot: self.snapshot.clone(),
                history: self.history.clone(),
                starter: self.starter.clone(),
                engine: self.engine.clone(),
            };
            match Bot::new(parts) {
                Ok(bot) => {
                    self.tasks.spawn(bot.run(stopping.clone()));
                }
                Err(e) => tracing::error!(error = %e, "cannot start the Telegram command bot"),
            }
        }
        if let Some(live) = &self.live {
            self.tasks.spawn(crate::poller::run_live(
                live.clone(),
                self.snapshot.clone(),
                stopping.clone(),
            ));
        }
        if let Some((ce, factory)) = &self.cloudeye {
            self.tasks.spawn(crate::poller::run_cloudeye(
                ce.clone(),
                factory.clone(),
                self.snapshot.clone(),
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
        // Read here, not in `build`: `check` and `demo` serve no HTTP, and a file only `serve` uses
        // must not stop them (`serve` checked it before building).
        let web = match &self.config.http.web_config_file {
            None => None,
            Some(path) => match crate::webconfig::watch::Watch::load(path) {
                Ok(w) => Some(Arc::new(w)),
                Err(p) => {
                    self.stop().await;
                    return Err(std::io::Error::new(
                        std::io::ErrorKind::InvalidInput,
                        format!("WEB_CONFIG_FILE={}: {p}", path.display()),
                    ));
                }
            },
        };
        if let Some(web) = &web {
            let current = web.current();
            tracing::info!(path = %web.path().display(), tls = web.tls(), users = current.users.len(), headers = current.headers.len(), "web config in force");
        }
        let exposed = listener.local_addr().ok().and_then(|a| {
            crate::webconfig::exposure(a, web.as_ref().map(|w| w.current()).as_deref())
        });
        if let Some(warning) = exposed {
            tracing::warn!("{warning}");
        }
        let state = AppState {
            web: web.clone(),
            ..self.http_state()
        };
        let result = http::serve_web(listener, http::router(state), stopping, web).await;
        self.stop().await;
        result
    }

    /// One signal that changes when a live estimate (the counter's or Cloud Eye's) crosses a
    /// level, for the evaluator and the enforcer; `None` without a live source.
    fn live_changes(&self, stopping: &CancellationToken) -> Option<Arc<watch::Sender<u64>>> {
        let mut sources: Vec<watch::Receiver<u64>> = Vec::new();
        if let Some(l) = &self.live {
            sources.push(l.subscribe());
        }
        if let Some((ce, _)) = &self.cloudeye {
            sources.push(ce.subscribe());
        }
        if sources.is_empty() {
            return None;
        }
        let (tx, _) = watch::channel(0u64);
        let tx = Arc::new(tx);
        for mut rx in sources {
            let tx = tx.clone();
            let stop = stopping.clone();
            self.tasks.spawn(async move {
                loop {
                    tokio::select! {
                        () = stop.cancelled() => return,
                        r = rx.changed() => if r.is_err() { return },
                    }
                    tx.send_modify(|n| *n += 1);
                }
            });
        }
        Some(tx)
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
