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

use crate::config::{Config, ConfigError, ConfigErrors, ShutdownMode};
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
    Lang::from_env()
}

/// The container this program runs in (read from `/`), if any: see [`crate::shutdown::container`].
pub fn this_container() -> Option<String> {
    crate::shutdown::container::detect(&crate::shutdown::container::Evidence::read(
        std::path::Path::new("/"),
    ))
}

/// `SHUTDOWN_MODE=command` with a stock power-off inside a container (`container`, as
/// [`this_container`] finds it) would stop at most the container, never the server: refused, unless
/// under `DRY_RUN` (which runs nothing) or with `SHUTDOWN_IN_CONTAINER=true` (the owner says it
/// reaches the host). A custom `SHUTDOWN_COMMAND` is the owner's choice. Pure.
pub fn container_problem(config: &Config, container: Option<&str>) -> Option<ConfigError> {
    let kind = container?;
    let s = &config.shutdown;
    if s.mode != ShutdownMode::Command
        || s.dry_run
        || s.in_container_ok
        || !crate::shutdown::container::is_stock_power_off(&s.command)
    {
        return None;
    }
    Some(
        ConfigError::new(
            "SHUTDOWN_MODE",
            "command",
            format!("cannot shut the server down from inside a container ({kind}): `{}` would stop at most the container while the server keeps using traffic", shell_words::join(&s.command)),
            "set SHUTDOWN_MODE=huawei-api (the ECS API stops the instance; needs ECS_SERVER_ID or FLEXUS_INSTANCES, or HUAWEICLOUD_SDK_DOMAIN_ID to find it), or SHUTDOWN_MODE=off for alerts only; a SHUTDOWN_COMMAND of your own that reaches the host is taken as it is, and SHUTDOWN_IN_CONTAINER=true if this one really powers off the host",
        )
        .zh(
            format!("在容器（{kind}）内无法关闭服务器：`{}` 最多只会停止容器，服务器仍在消耗流量", shell_words::join(&s.command)),
            "设置 SHUTDOWN_MODE=huawei-api（通过 ECS API 关闭实例；需要 ECS_SERVER_ID 或 FLEXUS_INSTANCES，或用 HUAWEICLOUD_SDK_DOMAIN_ID 自动查找），或设置 SHUTDOWN_MODE=off 只发告警；自行设置的能作用到宿主机的 SHUTDOWN_COMMAND 会照常使用；如果这条命令确实能关闭宿主机，请设置 SHUTDOWN_IN_CONTAINER=true",
        ),
    )
}

/// `errors` with the container problem of `config` added, if there is one.
pub fn with_container_problem(
    errors: Result<(), ConfigErrors>,
    config: &Config,
) -> Result<(), ConfigErrors> {
    let Some(problem) = container_problem(config, this_container().as_deref()) else {
        return errors;
    };
    let mut all = errors.err().map(|e| e.0).unwrap_or_default();
    all.push(problem);
    Err(ConfigErrors(all))
}

/// Prints configuration problems in `lang` (naming the env file read) and returns their exit code.
pub fn config_problems(e: &ConfigErrors, source: Option<&std::path::Path>, lang: Lang) -> ExitCode {
    crate::errln!("{}", e.render(source, lang));
    ExitCode::from(EXIT_CONFIG)
}

/// Prints why a client could not be built (missing credentials are configuration problems, in
/// `lang`; anything else is said in `lang` with its raw detail) and returns the configuration's
/// exit code.
pub fn config_error(e: &anyhow::Error, lang: Lang) -> ExitCode {
    match e.downcast_ref::<ConfigErrors>() {
        Some(problems) => crate::errln!("{}", problems.render(None, lang)),
        None => crate::logging::print_error(&say::failed(
            lang,
            None,
            "无法准备连接（TLS 或 HTTP 客户端）",
            &format!("{e:#}"),
        )),
    }
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::RawConfig;

    fn config(pairs: &[(&str, &str)]) -> Config {
        let mut raw = RawConfig::default();
        for (k, v) in pairs {
            raw.set(k, *v);
        }
        Config::from_raw(&raw).unwrap()
    }

    #[test]
    fn the_stock_shutdown_is_refused_in_a_container_naming_the_mode_and_the_fix() {
        let stock = config(&[]);
        let e = container_problem(&stock, Some("docker")).expect("refused");
        assert_eq!(e.variable, "SHUTDOWN_MODE");
        assert!(
            e.problem.contains("container (docker)") && e.problem.contains("shutdown -h now"),
            "{e}"
        );
        assert!(
            e.fix.contains("SHUTDOWN_MODE=huawei-api") && e.fix.contains("SHUTDOWN_MODE=off"),
            "{e}"
        );
        let (zh_problem, zh_fix) = e.zh.clone().expect("Chinese too");
        assert!(zh_problem.contains("容器") && zh_fix.contains("SHUTDOWN_MODE=huawei-api"));
        let sudo = config(&[("SHUTDOWN_COMMAND", "sudo -n /sbin/poweroff")]);
        assert!(container_problem(&sudo, Some("podman")).is_some());
    }

    #[test]
    fn a_server_a_dry_run_another_mode_or_a_command_of_ones_own_is_not_refused() {
        assert!(
            container_problem(&config(&[]), None).is_none(),
            "not a container"
        );
        for pairs in [
            &[("DRY_RUN", "true")][..],
            &[("SHUTDOWN_MODE", "off")][..],
            &[
                ("SHUTDOWN_MODE", "huawei-api"),
                ("ECS_SERVER_ID", "0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0"),
                ("HUAWEICLOUD_REGION", "ap-southeast-1"),
                ("HUAWEICLOUD_PROJECT_ID", "0123456789abcdef0123456789abcdef"),
            ][..],
            &[(
                "SHUTDOWN_COMMAND",
                "nsenter -t 1 -m -u -i -n -p -- shutdown -h now",
            )][..],
            &[("SHUTDOWN_IN_CONTAINER", "true")][..],
        ] {
            assert!(
                container_problem(&config(pairs), Some("docker")).is_none(),
                "{pairs:?}"
            );
        }
    }
}
