//! `discover`: list the account's free resource packages and print a ready `FREE_RESOURCE_IDS=` line.

use std::process::ExitCode;

use super::say;
use crate::config::Config;
use crate::messages::{to_plain, Lang, Localize};

pub async fn run(config: Config, json: bool) -> ExitCode {
    if !config.several_accounts() {
        return list(&config, None, json).await;
    }
    // Several accounts: each one's packages, with its own keys, and its own ready line.
    let mut code = ExitCode::SUCCESS;
    for account in &config.accounts {
        if !json {
            crate::outln!(
                "\n== {} ({}) ==",
                say::account_heading(config.notify.lang, &account.name),
                account.huawei.site.as_str()
            );
        }
        let c = list(&config, Some(account), json).await;
        if c != ExitCode::SUCCESS {
            code = c;
        }
    }
    code
}

/// Lists the packages of `account` (of the single account when `None`).
async fn list(config: &Config, account: Option<&crate::config::Account>, json: bool) -> ExitCode {
    let lang = config.notify.lang;
    let client = match account {
        Some(a) => crate::app::bss_client_for(a, config.http_timeout),
        None => super::bss_client(config),
    };
    let bss = match client {
        Ok(b) => b,
        Err(e) => return super::config_error(&e, lang),
    };
    let found = match bss.list_free_resource_infos().await {
        Ok(f) => f,
        Err(e) => {
            tracing::error!(error = %e, "cannot list the free resource packages");
            let what = match lang {
                Lang::En => e.to_string(),
                Lang::Zh => to_plain(&e.localize(lang)),
            };
            crate::logging::print_error(&say::poll_failed(lang, &what));
            return ExitCode::from(super::EXIT_POLL_FAILED);
        }
    };
    let ids: Vec<&str> = found
        .iter()
        .filter(|r| r.in_effect())
        .map(|r| r.free_resource_id.as_str())
        .collect();
    if json {
        crate::outln!("{}", serde_json::to_string_pretty(&found).expect("json"));
        return ExitCode::SUCCESS;
    }
    if found.is_empty() {
        let site = account.map_or(config.huawei.site, |a| a.huawei.site);
        crate::outln!("{}", say::no_packages(lang, site.as_str()));
        return ExitCode::SUCCESS;
    }
    let gb = |v: Option<f64>| v.map(|x| format!("{x:.2}")).unwrap_or_else(|| "?".into());
    let rows: Vec<Vec<String>> = found
        .iter()
        .map(|r| {
            vec![
                r.free_resource_id.clone(),
                r.product_name.clone(),
                r.usage_type.clone(),
                r.region_code.clone(),
                say::package_status(
                    lang,
                    r.in_effect(),
                    &r.status.map(|s| s.to_string()).unwrap_or_default(),
                ),
                gb(r.remaining_gb),
                gb(r.total_gb),
                r.expire_time.clone().unwrap_or_default(),
            ]
        })
        .collect();
    crate::out!(
        "{}",
        super::table(
            &[
                "FREE_RESOURCE_ID",
                "PRODUCT",
                "USAGE",
                "REGION",
                "STATUS",
                "REMAINING_GB",
                "QUOTA_GB",
                "EXPIRES"
            ],
            &rows
        )
    );
    crate::outln!("\n{}", say::put_ids_line(lang));
    match account {
        Some(a) => {
            crate::outln!("{}={}", a.var("FREE_RESOURCE_IDS"), ids.join(","));
            ExitCode::SUCCESS
        }
        None => {
            crate::outln!("FREE_RESOURCE_IDS={}", ids.join(","));
            instances(config).await
        }
    }
}

/// With the account id, lists the Flexus L instances through RMS and prints the lines that
/// `SHUTDOWN_MODE=huawei-api` needs.
async fn instances(config: &Config) -> ExitCode {
    let lang = config.notify.lang;
    let rms = match super::rms_client(config) {
        Ok(Some(r)) => r,
        Ok(None) => {
            crate::outln!("\n{}", say::set_domain_id(lang));
            return ExitCode::SUCCESS;
        }
        Err(e) => return super::config_error(&e, lang),
    };
    let list = match rms.flexus_instances().await {
        Ok(l) => l,
        Err(e) => {
            tracing::error!(error = %e, "cannot list the instances through RMS");
            crate::logging::print_error(&match lang {
                Lang::En => format!(
                    "error listing instances through RMS (the key needs rms:resources:list): {e}"
                ),
                Lang::Zh => format!(
                    "错误：无法通过 RMS 列出实例（密钥需要 rms:resources:list 权限）：{}",
                    to_plain(&e.localize(lang))
                ),
            });
            return ExitCode::from(super::EXIT_POLL_FAILED);
        }
    };
    if list.is_empty() {
        crate::outln!("\n{}", say::no_instances(lang));
        return ExitCode::SUCCESS;
    }
    let rows: Vec<Vec<String>> = list
        .iter()
        .map(|i| {
            vec![
                i.name.clone(),
                i.server_id.clone().unwrap_or_default(),
                i.region.clone(),
                i.project_id.clone(),
                i.status.clone(),
                i.package_ids.join(","),
            ]
        })
        .collect();
    crate::outln!();
    crate::out!(
        "{}",
        super::table(
            &[
                "INSTANCE",
                "ECS_SERVER_ID",
                "REGION",
                "PROJECT_ID",
                "STATUS",
                "PACKAGES"
            ],
            &rows
        )
    );
    let entries: Vec<String> = list
        .iter()
        .filter_map(|i| i.server_id.as_ref().map(|s| (i, s)))
        .flat_map(|(i, s)| {
            i.package_ids
                .iter()
                .map(move |p| format!("{p}:{s}:{}:{}:{}", i.name, i.region, i.project_id))
        })
        .collect();
    crate::outln!("\n{}", say::put_instance_lines(lang));
    crate::outln!("SHUTDOWN_MODE=huawei-api");
    crate::outln!("FLEXUS_INSTANCES={}", entries.join(","));
    ExitCode::SUCCESS
}
