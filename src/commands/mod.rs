//! The commands: each wires configuration, clients and tasks together and returns an exit code.
//! Decisions live in the library modules; this is glue.

pub mod check;
pub mod config;
pub mod demo;
pub mod discover;
pub mod notify_test;
pub mod serve;

use std::process::ExitCode;

use crate::config::Config;
use crate::huawei::bss::BssClient;
use crate::huawei::transport::{RetryPolicy, SignedClient};

/// Exit code for configuration errors.
pub const EXIT_CONFIG: u8 = 1;
/// Exit code when BSS could not be polled.
pub const EXIT_POLL_FAILED: u8 = 2;
/// Exit code when some packages could not be read.
pub const EXIT_PARTIAL: u8 = 3;
/// Exit code when `STATE_DIR` cannot be used or is held by another process.
pub const EXIT_STATE: u8 = 4;
/// Exit code when the shutdown guard tried to act and failed.
pub const EXIT_SHUTDOWN_FAILED: u8 = 5;

/// Builds the BSS client from the configuration.
///
/// # Errors
/// Missing credentials, or a TLS set-up failure.
pub fn bss_client(config: &Config) -> anyhow::Result<BssClient> {
    let credentials = config.credentials()?;
    let client = SignedClient::new(
        config.bss_endpoint.clone(),
        credentials,
        config.site,
        config.http_timeout,
        RetryPolicy::default(),
    )?;
    Ok(BssClient::new(client, config.domain_id.clone()))
}

/// Prints a configuration error and returns its exit code.
pub fn config_error(e: &dyn std::fmt::Display) -> ExitCode {
    eprintln!("{e}");
    ExitCode::from(EXIT_CONFIG)
}

/// Formats rows as an aligned text table.
pub fn table(header: &[&str], rows: &[Vec<String>]) -> String {
    let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
    for row in rows {
        for (i, cell) in row.iter().enumerate() {
            if i < widths.len() {
                widths[i] = widths[i].max(cell.chars().count());
            }
        }
    }
    let line = |cells: Vec<&str>| {
        cells
            .iter()
            .enumerate()
            .map(|(i, c)| {
                format!(
                    "{c}{}",
                    " ".repeat(widths[i].saturating_sub(c.chars().count()))
                )
            })
            .collect::<Vec<_>>()
            .join("  ")
            .trim_end()
            .to_string()
    };
    let mut out = line(header.to_vec());
    out.push('\n');
    for row in rows {
        out.push_str(&line(row.iter().map(String::as_str).collect()));
        out.push('\n');
    }
    out
}
