//! flexus-traffic-monitor: keeps a Huawei Cloud Flexus L server inside its free monthly traffic.
//!
//! How data flows:
//!
//! ```text
//! config ──▶ huawei::bss (signed by huawei::signer, sent by huawei::transport)
//!              │ readings (huawei::wire → reading)
//!              ▼
//!           poller ──▶ snapshot ──▶ metrics (/metrics) and http (/api/v1/status)
//!                                  level (ok/3/2/1 from the thresholds)
//! ```
//!
//! Modules:
//! - [`config`]: environment → validated [`config::Config`] in sections, driven by one table of
//!   variables ([`config::vars`]). It depends on the domain modules below, never the reverse.
//! - [`target`]: the instance a package belongs to (what the guard stops and auto-start starts).
//! - [`envfile`]: `.env` files read the way python-dotenv (the original script's loader) reads them.
//! - [`secret`]: a string that prints as `[redacted]`.
//! - [`huawei`]: signer, transport with retries, BSS client, wire types, error mapping.
//! - [`reading`]: one package's figures in GB, and unit conversion.
//! - [`level`]: the level of a reading.
//! - [`snapshot`]: the latest readings in memory, kept through failures for a bounded time.
//! - [`poller`]: calls BSS on a schedule and updates the snapshot.
//! - [`metrics`]: the Prometheus registry and `/metrics` rendering.
//! - [`http`]: the axum routes.
//! - [`logging`]: log format, colour, and escaping of values from outside.
//! - [`cli`], [`commands`]: the command line and the glue of each command.

pub mod alertmanager;
pub mod app;
pub mod autostart;
pub mod cli;
pub mod commands;
pub mod config;
pub mod demo;
pub mod engine;
pub mod envfile;
pub mod fallback;
pub mod fsutil;
pub mod http;
pub mod huawei;
pub mod level;
pub mod logging;
pub mod messages;
pub mod metrics;
pub mod notifier;
pub mod policy;
pub mod poller;
pub mod reading;
pub mod secret;
pub mod shutdown;
pub mod snapshot;
pub mod state;
pub mod target;
pub mod telegram;
