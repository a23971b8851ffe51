//! The commands: each wires configuration, clients and tasks together and returns an exit code.
//! Decisions live in the library modules; this is glue.

pub mod check;
pub mod config;
pub mod demo;
pub mod discover;
pub mod hash_password;
pub mod lift;
pub mod notify_test;
pub mod say;
pub mod serve;

use std::process::ExitCode;

use crate::config::{Config, ConfigErrors, ShutdownMode};
use crate::huawei::bss::BssClient;
use crate::huawei::rms::RmsClient;
use crate::huawei::transport::{RetryPolicy, SignedClient};
use crate::messages::Lang;
use crate::target::Target;

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
    if config.several_accounts() {
        // The first account's; `App::build` builds the others' (see `Poller::with_accounts`).
        return crate::app::bss_client_for(&config.accounts[0], config.http_timeout);
    }
    let credentials = config.credentials()?;
    let client = SignedClient::new(
        config.huawei.bss_endpoint.clone(),
        credentials,
        config.huawei.site,
        config.http_timeout,
        RetryPolicy::default(),
    )?;
    Ok(BssClient::new(client, config.huawei.domain_id.clone()))
}

/// The RMS client, when the account id is known.
///
/// # Errors
/// Missing credentials, or a TLS set-up failure.
pub fn rms_client(config: &Config) -> anyhow::Result<Option<RmsClient>> {
    let Some(domain) = &config.huawei.domain_id else {
        return Ok(None);
    };
    let client = SignedClient::new(
        config.huawei.rms_endpoint.clone(),
        config.credentials()?,
        config.huawei.site,
        config.http_timeout,
        RetryPolicy::default(),
    )?;
    Ok(Some(RmsClient::new(client, domain.clone())))
}

/// With `SHUTDOWN_MODE=huawei-api`, finds the instance of every watched package that the
/// configuration does not map, through RMS.
///
/// # Errors
/// A package whose instance cannot be found, or RMS failing.
pub async fn resolve_targets(config: &mut Config) -> anyhow::Result<()> {
    if config.shutdown.mode != ShutdownMode::HuaweiApi {
        return Ok(());
    }
    let unmapped: Vec<String> = config
        .watch
        .unmapped()
        .into_iter()
        .map(str::to_string)
        .collect();
    if unmapped.is_empty() {
        return Ok(());
    }
    let Some(rms) = rms_client(config)? else {
        anyhow::bail!("ECS_SERVER_ID: no instance is known for {}; set it, or FLEXUS_INSTANCES, or HUAWEICLOUD_SDK_DOMAIN_ID", unmapped.join(", "));
    };
    let instances = rms.flexus_instances().await.map_err(|e| anyhow::anyhow!("cannot list the Flexus L instances through RMS (needed for SHUTDOWN_MODE=huawei-api): {e}"))?;
    for id in &unmapped {
        let found = instances.iter().find(|i| i.package_ids.contains(id));
        match found.and_then(|i| i.server_id.clone().map(|s| (i, s))) {
            Some((i, server_id)) => {
                tracing::info!(free_resource_id = %id, server = %i.name, server_id = %server_id, "instance found through RMS");
                config.watch.targets.insert(id.clone(), Target { name: i.name.clone(), server_id, region: i.region.clone(), project_id: i.project_id.clone() });
            }
            None => anyhow::bail!("no Flexus L instance of this account has the package {id}; check FREE_RESOURCE_IDS, or set FLEXUS_INSTANCES (`discover` prints it)"),
        }
    }
    Ok(())
}

/// The language of what the commands print: `MESSAGE_LANG` as the messages read it (Chinese
/// by default), also when the configuration is too broken to be read whole.
pub fn env_lang() -> Lang {
    std::env::var("MESSAGE_LANG")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(Lang::Zh)
}

/// Prints configuration problems in `lang` (naming the env file read) and returns their exit code.
pub fn config_problems(e: &ConfigErrors, source: Option<&std::path::Path>, lang: Lang) -> ExitCode {
    crate::errln!("{}", e.render(source, lang));
    ExitCode::from(EXIT_CONFIG)
}

/// Prints a configuration error and returns its exit code.
pub fn config_error(e: &dyn std::fmt::Display) -> ExitCode {
    crate::errln!("{e}");
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
