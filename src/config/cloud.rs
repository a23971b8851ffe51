//! The settings of `SHUTDOWN_MODE=huawei-api`, `AUTO_START` and several instances: which ECS server
//! each package belongs to, the endpoints, and how stops are made.

use std::collections::BTreeMap;
use std::time::Duration;

use url::Url;

use super::validate::{present, Checker};
use super::{RawConfig, ShutdownMode, Target};

/// The validated cloud-API settings.
pub(super) struct Cloud {
    pub targets: BTreeMap<String, Target>,
    pub region: Option<String>,
    pub project_id: Option<String>,
    pub ecs_endpoint: String,
    pub rms_endpoint: Url,
    pub ecs_hard_stop: bool,
    pub ecs_hard_stop_after: Option<Duration>,
    pub ecs_job_timeout: Duration,
    pub auto_start: bool,
}

/// Checks the cloud-API variables. Packages of `FLEXUS_INSTANCES` are added to `free_resource_ids`.
pub(super) fn settings(
    c: &mut Checker,
    raw: &RawConfig,
    free_resource_ids: &mut Vec<String>,
    shutdown_mode: ShutdownMode,
    domain_id: &Option<String>,
) -> Cloud {
    let region = present(&raw.huaweicloud_region).map(str::to_string);
    let project_id = present(&raw.huaweicloud_project_id).map(str::to_string);
    for (var, v) in [
        ("HUAWEICLOUD_REGION", &region),
        ("HUAWEICLOUD_PROJECT_ID", &project_id),
    ] {
        if let Some(v) = v {
            if !v
                .chars()
                .all(|ch| ch.is_ascii_alphanumeric() || ch == '-' || ch == '_')
            {
                c.error(
                    var,
                    v,
                    "has characters an id cannot have",
                    "copy it from the console (My Credentials → API Credentials)",
                );
            }
        }
    }
    let server_id = present(&raw.ecs_server_id).map(str::to_string);
    let mut targets = BTreeMap::new();
    if let Some(list) = present(&raw.flexus_instances) {
        for entry in list.split(',').map(str::trim).filter(|e| !e.is_empty()) {
            match parse_instance(entry, region.as_deref(), project_id.as_deref()) {
                Ok((package, target)) => {
                    if targets.insert(package.clone(), target).is_some() {
                        c.error("FLEXUS_INSTANCES", &package, "lists this package twice", "give each package one instance");
                    }
                }
                Err(why) => c.error("FLEXUS_INSTANCES", entry, why, "write PACKAGE_ID:ECS_SERVER_ID:NAME[:REGION:PROJECT_ID], entries separated by commas; `discover` prints a ready line"),
            }
        }
    }
    for package in targets.keys() {
        if !free_resource_ids.contains(package) {
            free_resource_ids.push(package.clone());
        }
    }
    let server_name_default = present(&raw.server_name)
        .map(str::to_string)
        .unwrap_or_else(|| "flexus".to_string());
    if let Some(server_id) = &server_id {
        match (&region, &project_id) {
            (Some(r), Some(p)) => {
                for id in free_resource_ids.iter() {
                    targets.entry(id.clone()).or_insert_with(|| Target {
                        name: server_name_default.clone(),
                        server_id: server_id.clone(),
                        region: r.clone(),
                        project_id: p.clone(),
                    });
                }
            }
            _ => c.error("ECS_SERVER_ID", server_id, "needs HUAWEICLOUD_REGION and HUAWEICLOUD_PROJECT_ID too", "set both (the region, e.g. ap-southeast-1, and its project id from My Credentials)"),
        }
    }
    let ecs_endpoint = present(&raw.huaweicloud_ecs_endpoint)
        .map(str::to_string)
        .unwrap_or_else(|| "https://ecs.{region}.myhuaweicloud.com".into());
    if Url::parse(&ecs_endpoint.replace("{region}", "region"))
        .map(|u| !matches!(u.scheme(), "http" | "https"))
        .unwrap_or(true)
    {
        c.error(
            "HUAWEICLOUD_ECS_ENDPOINT",
            &ecs_endpoint,
            "is not an http(s) URL",
            "unset it to use https://ecs.{region}.myhuaweicloud.com",
        );
    }
    let rms_endpoint = match present(&raw.huaweicloud_rms_endpoint) {
        None => Url::parse("https://rms.myhuaweicloud.com").expect("valid"),
        Some(s) => Url::parse(s)
            .ok()
            .filter(|u| matches!(u.scheme(), "http" | "https"))
            .unwrap_or_else(|| {
                c.error(
                    "HUAWEICLOUD_RMS_ENDPOINT",
                    s,
                    "is not an http(s) URL",
                    "unset it to use https://rms.myhuaweicloud.com",
                );
                Url::parse("https://rms.myhuaweicloud.com").expect("valid")
            }),
    };
    let ecs_hard_stop = match present(&raw.ecs_stop_type)
        .map(str::to_ascii_uppercase)
        .as_deref()
    {
        None | Some("SOFT") => false,
        Some("HARD") => true,
        Some(other) => {
            c.error(
                "ECS_STOP_TYPE",
                other,
                "is not a stop type",
                "use SOFT (OS shutdown, default) or HARD (power off)",
            );
            false
        }
    };
    let ecs_hard_stop_after = present(&raw.ecs_hard_stop_after).map(|_| {
        c.duration(
            "ECS_HARD_STOP_AFTER",
            &raw.ecs_hard_stop_after,
            Duration::from_secs(300),
            Duration::from_secs(1),
        )
    });
    let ecs_job_timeout = c.duration(
        "ECS_JOB_TIMEOUT",
        &raw.ecs_job_timeout,
        Duration::from_secs(600),
        Duration::from_secs(1),
    );
    let auto_start = c.boolean("AUTO_START", &raw.auto_start, false);
    if shutdown_mode == ShutdownMode::HuaweiApi {
        let unmapped: Vec<&String> = free_resource_ids
            .iter()
            .filter(|id| !targets.contains_key(*id))
            .collect();
        if !unmapped.is_empty() && domain_id.is_none() {
            c.error(
                "ECS_SERVER_ID",
                "",
                format!("is needed with SHUTDOWN_MODE=huawei-api: no instance is known for {}", unmapped.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(", ")),
                "set ECS_SERVER_ID, HUAWEICLOUD_REGION and HUAWEICLOUD_PROJECT_ID, or FLEXUS_INSTANCES, or HUAWEICLOUD_SDK_DOMAIN_ID to find them through RMS (`discover` prints the lines)",
            );
        }
    }
    if auto_start && shutdown_mode != ShutdownMode::HuaweiApi {
        c.error("AUTO_START", "true", "only works with SHUTDOWN_MODE=huawei-api (a server shut down by a command cannot be started from here)", "set SHUTDOWN_MODE=huawei-api, or AUTO_START=false");
    }
    Cloud {
        targets,
        region,
        project_id,
        ecs_endpoint,
        rms_endpoint,
        ecs_hard_stop,
        ecs_hard_stop_after,
        ecs_job_timeout,
        auto_start,
    }
}

/// Parses one `FLEXUS_INSTANCES` entry: `PACKAGE_ID:ECS_SERVER_ID:NAME[:REGION:PROJECT_ID]`.
fn parse_instance(
    entry: &str,
    region: Option<&str>,
    project: Option<&str>,
) -> Result<(String, Target), &'static str> {
    let parts: Vec<&str> = entry.split(':').map(str::trim).collect();
    let ok_id = |s: &str| {
        !s.is_empty()
            && s.chars()
                .all(|ch| ch.is_ascii_alphanumeric() || ch == '-' || ch == '_')
    };
    let (package, server, name) = match parts.as_slice() {
        [p, s, n] | [p, s, n, _, _] => (*p, *s, *n),
        _ => return Err("does not have 3 or 5 fields"),
    };
    if !ok_id(package) || !ok_id(server) || name.is_empty() {
        return Err("has an empty or malformed field");
    }
    let (region, project) = match parts.as_slice() {
        [_, _, _, r, p] => (Some(*r), Some(*p)),
        _ => (region, project),
    };
    match (region, project) {
        (Some(r), Some(p)) if ok_id(r) && ok_id(p) => Ok((
            package.to_string(),
            Target { name: name.to_string(), server_id: server.to_string(), region: r.to_string(), project_id: p.to_string() },
        )),
        _ => Err("has no region and project id (give them in the entry, or set HUAWEICLOUD_REGION and HUAWEICLOUD_PROJECT_ID)"),
    }
}
