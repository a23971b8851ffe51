//! `discover`: list the account's free resource packages and print a ready `FREE_RESOURCE_IDS=` line.

use std::process::ExitCode;

use crate::config::Config;

pub async fn run(config: Config, json: bool) -> ExitCode {
    let bss = match super::bss_client(&config) {
        Ok(b) => b,
        Err(e) => return super::config_error(&e),
    };
    let found = match bss.list_free_resource_infos().await {
        Ok(f) => f,
        Err(e) => {
            crate::logging::print_error(&format!("error: {e}"));
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
        crate::outln!(
            "No free resource packages found on this account (site {}).",
            config.huawei.site.as_str()
        );
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
                if r.in_effect() {
                    "in effect".into()
                } else {
                    format!(
                        "status {}",
                        r.status.map(|s| s.to_string()).unwrap_or_default()
                    )
                },
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
    crate::outln!("\nPut this line in your .env (packages in effect only; keep the traffic packages you want watched):");
    crate::outln!("FREE_RESOURCE_IDS={}", ids.join(","));
    instances(&config).await
}

/// With the account id, lists the Flexus L instances through RMS and prints the lines that
/// `SHUTDOWN_MODE=huawei-api` needs.
async fn instances(config: &Config) -> ExitCode {
    let rms = match super::rms_client(config) {
        Ok(Some(r)) => r,
        Ok(None) => {
            crate::outln!("\nSet HUAWEICLOUD_SDK_DOMAIN_ID (your account id) to also list the Flexus L instances and their ECS server ids.");
            return ExitCode::SUCCESS;
        }
        Err(e) => return super::config_error(&e),
    };
    let list = match rms.flexus_instances().await {
        Ok(l) => l,
        Err(e) => {
            crate::logging::print_error(&format!(
                "error listing instances through RMS (the key needs rms:resources:list): {e}"
            ));
            return ExitCode::from(super::EXIT_POLL_FAILED);
        }
    };
    if list.is_empty() {
        crate::outln!("\nNo Flexus L instances found through RMS.");
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
    crate::outln!("\nFor SHUTDOWN_MODE=huawei-api (stop and start through the API), put these lines in your .env:");
    crate::outln!("SHUTDOWN_MODE=huawei-api");
    crate::outln!("FLEXUS_INSTANCES={}", entries.join(","));
    ExitCode::SUCCESS
}
