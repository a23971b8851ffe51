//! Integration tests: one binary, modules per feature, fakes in `helpers`.

#![allow(clippy::unwrap_used)] // tests fail loudly on purpose

mod helpers;

mod accounts;
mod actions;
mod architecture;

mod binary;
mod browser;
mod bss_client;
mod channels;
mod cloud_api;
mod cloudeye;
mod dashboard;
mod docs;
mod e2e;
mod email;
mod exporter;
mod external;
mod fallback;
mod fence;
mod first_run;
mod ha_pair;
mod http_limits;
mod implausible;
mod install;
mod language;
mod lifecycle;
mod lift;
mod live;
mod logs;
mod page;
mod reports;
mod setup;
mod shutdown;
mod signer_vectors;
mod telegram;
mod telegram_bot;
mod timings;
mod webconfig;
mod webhook;
