//! The command line (clap): commands and their flags. Only parsing lives here; `commands` runs them.

use clap::{Parser, Subcommand};

/// Keeps a Huawei Cloud Flexus L server inside its free monthly traffic.
///
/// Configuration comes from environment variables and from a `.env` file in the working directory
/// (the same variables as the original Python script). Run `flexus-traffic-monitor config` to check it.
#[derive(Debug, Parser)]
#[command(name = "flexus-traffic-monitor", version, about, long_about = None, after_help = variables_help())]
pub struct Cli {
    /// Read this env file instead of `./.env` (variables already set in the environment win).
    #[arg(long, global = true, value_name = "FILE")]
    pub env_file: Option<std::path::PathBuf>,

    #[command(subcommand)]
    pub command: Command,
}

/// Every configuration variable with its default and use, from the configuration's table so that
/// it cannot drift (README.md and `.env.example` explain each; a test checks they agree).
pub fn variables_help() -> String {
    let mut out = crate::config::vars::help();
    out.push_str("\nSee README.md and .env.example for what each one does; `config` prints the values in effect.");
    out
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the daemon: poller, /metrics, /alertmanager, fallback evaluator.
    Serve {
        /// The web configuration file (Prometheus exporter-toolkit format: TLS, basic auth, response
        /// headers), as node_exporter's flag of the same name; overrides WEB_CONFIG_FILE.
        #[arg(long = "web.config.file", value_name = "FILE")]
        web_config_file: Option<std::path::PathBuf>,
    },
    /// Poll once, print the readings and exit (a drop-in for the original's cron job).
    ///
    /// Uses the same state and cadence as `serve`: messages are sent when due, and below
    /// THRESHOLD_LEVEL_1 the shutdown guard runs (countdown, fresh re-check, action).
    ///
    /// Exit codes: 0 every package read; 1 configuration error; 2 BSS could not be polled;
    /// 3 some packages could not be read; 4 STATE_DIR unusable or busy; 5 the shutdown failed.
    Check {
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
        /// Print the messages on standard error instead of sending them to Telegram or any
        /// channel (to try a configuration without waking anyone).
        #[arg(long)]
        no_send: bool,
    },
    /// List the account's free resource packages and print a ready FREE_RESOURCE_IDS= line.
    Discover {
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Remove every throttle and fence of this program (its qdisc, nft table, iptables chain) and
    /// run the leave command of an action in force; nothing else is touched. What was lifted is not
    /// put back until its level has recovered once.
    Lift,
    /// Send a test message to every configured channel and print exactly what each answered.
    NotifyTest,
    /// Run the whole pipeline against a simulated cloud (no account needed): a package drains
    /// through every level in about a minute; messages are printed; the shutdown is a dry run.
    Demo {
        /// Run the scenario this many times faster.
        #[arg(long, default_value_t = 1.0)]
        speed: f64,
    },
    /// Print the bcrypt hash of a password, for basic_auth_users in the web configuration file
    /// (asked twice on a terminal, else the first line of standard input).
    HashPassword {
        /// bcrypt cost, 4 to 31; each login check takes about 70 ms at 10.
        #[arg(long, default_value_t = 10)]
        cost: u32,
    },
    /// Validate and print the effective configuration, secrets redacted.
    Config {
        /// Print JSON instead of lines.
        #[arg(long)]
        json: bool,
    },
}
