//! flexus-traffic-monitor: keeps a Huawei Cloud Flexus L server inside its free monthly traffic.
//!
//! How data flows. Readings, ours and Prometheus' alerts meet one policy in the engine:
//!
//! ```text
//! config ──▶ app (builds everything, owns every task)
//!
//! 1. readings:  huawei::bss (signed by huawei::signer, sent by huawei::transport)
//!                 │ huawei::wire → reading
//!                 ▼ plausibility (accept / hold / refuse, against the reading accepted before)
//!               poller ──▶ snapshot ──▶ metrics (/metrics), http (/api/v1/status)
//!                 │ each poll  └────────▶ history ──▶ forecast ──▶ page (/)
//!                 ├─▶ enforcer (throttle, fence, command per level: actions)
//!                 ▼
//!               fallback (when no Prometheus watchdog) ──▶ engine
//!
//! 2. alerts:    Alertmanager ──▶ http::webhook ──▶ alertmanager (payload) ──▶ engine
//!
//! 3. commands:  Telegram getUpdates ──▶ bot ──▶ answers in the chat; /cancel, /mute saved in state
//!               (the engine's policy respects them), countdowns cancelled through shutdown::Guard
//!
//! engine: level + policy decide on a copy of the state ──▶ messages queued (notifier →
//!         one outbox per channel → Telegram, Feishu, ...), state saved (state), level 1 handed to shutdown::Guard
//!         (countdown, fresh re-read via poller, shutdown::executor: command or huawei::ecs);
//!         autostart starts what the guard stopped once the cycle resets.
//! ```
//!
//! Modules, from the bottom up (a test keeps the imports free of circles):
//! - Domain: [`reading`] (one package's figures in GB), [`level`] (thresholds and the level of a
//!   reading), [`target`] (the instance a package belongs to), [`policy`] (pure cadence and
//!   shutdown decisions), [`outcome`] (what a shutdown did or why it failed), [`messages`] (every
//!   user-facing text, zh/en, with every error and outcome kind described), [`secret`] (a string that
//!   prints as `[redacted]`), [`alertmanager`] (the webhook payload and alert kinds).
//! - [`huawei`]: signer, transport with retries, BSS/ECS/RMS clients, wire types, error mapping.
//! - [`config`]: environment → validated [`config::Config`] in sections, driven by one table of
//!   variables ([`config::vars`]); one Huawei account, or several ([`config::accounts`]). It
//!   depends on the domain modules, never the reverse.
//! - Storage: [`fsutil`] (atomic writes), [`state`] (the state file and its lock; never forgets
//!   silently), [`outbox`] (the durable queue of one channel).
//! - [`channels`]: the notification services (request, signature, answer, limits: Telegram through
//!   [`telegram`], Feishu, DingTalk, WeCom, ServerChan, PushPlus, Bark, a generic webhook, email
//!   over SMTP) and per-channel rendering.
//! - [`plausibility`]: the pure judge of whether a reading may be acted on (accepted, held for
//!   one more reading, or refused), against the reading accepted before.
//! - Runtime parts: [`snapshot`] (latest readings, kept through failures for a bounded time),
//!   [`poller`] (calls BSS on a schedule, each account of `ACCOUNTS` with its own client and loop), [`metrics`] (Prometheus registry and `/metrics`),
//!   [`process`] (the standard `process_*` figures of this process, from `/proc/self`),
//!   [`notifier`] (renders messages per channel, queues and delivers them, urgent first), [`shutdown`] (the guard and its
//!   executors), [`autostart`] (`AUTO_START`), [`engine`] (decisions → durable effects),
//!   [`bot`] (the Telegram commands: `/status`, `/cancel`, `/resume`, `/start`, `/mute`),
//!   [`fallback`] (the built-in evaluator), [`http`] (the axum routes), [`tasks`] (the task
//!   tracker, and single-flight tasks by key); [`webconfig`] (the exporter-toolkit web configuration
//!   file: TLS, basic auth and response headers of the listener, re-read when it changes).
//! - Gentler steps than a shutdown: [`actions`] (pure plan of throttle/fence/command per level, and
//!   the runner of their exact argv), [`enforcer`] (after each fresh poll, brings them in line with
//!   the level and records them in the state).
//! - The status page: [`history`] (bounded on-disk history of readings, and each cycle's final
//!   figures), [`forecast`] (pure: when a package reaches level 1 at the recent rate), [`page`]
//!   (inputs → view → HTML, served at `/`).
//! - [`report`]: the reports a day before each reset and after it, and the daily digest (pure:
//!   when one is due, what it says); the engine sends them, the bot answers `/report` with them.
//! - The live meter: [`egress`] (the kernel's byte counters of the public interface, a meter that
//!   survives restarts and reboots, and the estimate of what is left now, anchored to the bill
//!   with a learned lag; for servers guarded through the API, their EIP's minutes from Huawei
//!   Cloud Eye, anchored the same way).
//! - [`envfile`]: `.env` files read the way python-dotenv (the original script's loader) reads them.
//! - [`logging`]: log format, colour, and escaping of values from outside.
//! - [`console`]: what commands print on stdout/stderr, never panicking on a closed pipe.
//! - [`app`]: builds every part from a config and runs them until stopped; `serve`, `check`,
//!   `demo` and the tests use it.
//! - [`demo`]: the simulated cloud of the `demo` command.
//! - [`cli`], [`commands`]: the command line and the glue of each command.

pub mod actions;
pub mod alertmanager;
pub mod app;
pub mod autostart;
pub mod bot;
pub mod channels;
pub mod cli;
pub mod commands;
pub mod config;
pub mod console;
pub mod demo;
pub mod egress;
pub mod enforcer;
pub mod engine;
pub mod envfile;
pub mod fallback;
pub mod forecast;
pub mod fsutil;
pub mod history;
pub mod http;
pub mod huawei;
pub mod level;
pub mod logging;
pub mod messages;
pub mod metrics;
pub mod notifier;
pub mod outbox;
pub mod outcome;
pub mod page;
pub mod plausibility;
pub mod policy;
pub mod poller;
pub mod process;
pub mod reading;
pub mod report;
pub mod secret;
pub mod shutdown;
pub mod snapshot;
pub mod state;
pub mod target;
pub mod tasks;
pub mod telegram;
pub mod webconfig;
