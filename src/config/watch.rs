//! What is watched: the traffic packages, the server each belongs to (`FREE_RESOURCE_IDS`,
//! `ECS_SERVER_ID`, `FLEXUS_INSTANCES`), and how often they are read.

use std::collections::BTreeMap;
use std::time::Duration;

use serde::Serialize;

use super::humantime_serde_compat;
use super::validate::{Checker, Said};
use super::HuaweiConfig;
use crate::target::Target;

/// The watched packages and polling.
#[derive(Debug, Clone, Serialize)]
pub struct WatchConfig {
    /// `FREE_RESOURCE_IDS`, then the packages of `FLEXUS_INSTANCES` not listed there.
    pub free_resource_ids: Vec<String>,
    pub server_name: String,
    /// Package id → the instance it belongs to (`FLEXUS_INSTANCES`, or `ECS_SERVER_ID` with
    /// `HUAWEICLOUD_REGION` and `HUAWEICLOUD_PROJECT_ID` for every package).
    pub targets: BTreeMap<String, Target>,
    #[serde(with = "humantime_serde_compat")]
    pub poll_interval: Duration,
    #[serde(with = "humantime_serde_compat")]
    pub reading_max_age: Duration,
    pub poll_failures_before_alert: u32,
    /// `MAX_EGRESS_RATE` as given (tc units), and in bits per second.
    pub max_egress_rate: String,
    pub max_egress_bits_per_s: f64,
    /// The server's own egress counter (`EGRESS_*`).
    pub egress: EgressConfig,
    /// The EIPs read live through Cloud Eye (`CLOUDEYE_*`).
    pub cloudeye: super::CloudEyeConfig,
}

/// The live meter: which counter, how often, and which package's bill it is anchored to.
#[derive(Debug, Clone, Serialize)]
pub struct EgressConfig {
    pub enabled: bool,
    pub interface: Option<String>,
    #[serde(with = "humantime_serde_compat")]
    pub interval: Duration,
    #[serde(with = "humantime_serde_compat")]
    pub default_lag: Duration,
    /// The package the counter belongs to; `None` when it cannot be told (then no estimate).
    pub package: Option<String>,
}

impl WatchConfig {
    pub(super) fn check(c: &mut Checker, huawei: &HuaweiConfig) -> Self {
        let mut free_resource_ids: Vec<String> = c
            .given("FREE_RESOURCE_IDS")
            .map(|s| {
                s.split(',')
                    .map(str::trim)
                    .filter(|s| !s.is_empty())
                    .map(str::to_string)
                    .collect()
            })
            .unwrap_or_default();
        for id in &free_resource_ids {
            if !id
                .chars()
                .all(|ch| ch.is_ascii_alphanumeric() || ch == '-' || ch == '_')
            {
                c.error(
                    "FREE_RESOURCE_IDS",
                    id,
                    ("is not a free resource id (letters, digits and '-' only)", "不是资源包 ID（只能有字母、数字和 '-'）"),
                    ("separate ids with commas; run `flexus-traffic-monitor discover` to list yours", "多个 ID 用逗号分隔；运行 `flexus-traffic-monitor discover` 列出你的资源包"),
                );
            }
        }
        let mut seen = std::collections::HashSet::new();
        for id in &free_resource_ids {
            if !seen.insert(id) {
                c.error(
                    "FREE_RESOURCE_IDS",
                    id,
                    ("is listed twice", "列了两次"),
                    ("list each id once", "每个 ID 只列一次"),
                );
            }
        }
        let server_name = c.parse("SERVER_NAME", "", |s| Ok::<_, String>(s.to_string()));

        let poll_interval = c.duration("POLL_INTERVAL", Duration::from_secs(1));
        let reading_max_age = c
            .optional_duration("READING_MAX_AGE", Duration::from_secs(1))
            .unwrap_or((poll_interval * 3).max(Duration::from_secs(3600)));
        if reading_max_age < poll_interval {
            c.error("READING_MAX_AGE", &humantime::format_duration(reading_max_age).to_string(), ("is shorter than POLL_INTERVAL, so every reading would be dropped before the next poll", "比 POLL_INTERVAL 短，每个读数都会在下一次查询前被丢弃"), ("make it at least POLL_INTERVAL (default: 3 × POLL_INTERVAL, at least 1h)", "至少设为 POLL_INTERVAL（默认：3 × POLL_INTERVAL，至少 1h）"));
        }
        let poll_failures_before_alert = c.parse(
            "POLL_FAILURES_BEFORE_ALERT",
            ("is not a whole number of at least 1", "不是不小于 1 的整数"),
            |s| match s.parse::<u32>() {
                Ok(n) if n >= 1 => Ok(n),
                _ => Err(Said::from(("write e.g. 3", "写成 3 这样"))),
            },
        );
        let (max_egress_rate, max_egress_bits_per_s) = c.parse(
            "MAX_EGRESS_RATE",
            ("is not a rate", "不是速率"),
            |s| match crate::plausibility::parse_rate(s) {
                Some(bits) => Ok((s.trim().to_ascii_lowercase(), bits)),
                None => Err(Said::from(("write a number with a tc unit, e.g. 300mbit or 1gbit (the instance's peak bandwidth, or more)", "写数字加 tc 单位，例如 300mbit 或 1gbit（实例的峰值带宽或更高）"))),
            },
        );

        let region = huawei.region.as_deref();
        let project_id = huawei.project_id.as_deref();
        let mut targets = BTreeMap::new();
        if let Some(list) = c.given("FLEXUS_INSTANCES") {
            for entry in list.split(',').map(str::trim).filter(|e| !e.is_empty()) {
                match parse_instance(entry, region, project_id) {
                    Ok((package, target)) => {
                        if targets.insert(package.clone(), target).is_some() {
                            c.error("FLEXUS_INSTANCES", &package, ("lists this package twice", "把这个资源包列了两次"), ("give each package one instance", "每个资源包只对应一台实例"));
                        }
                    }
                    Err(why) => c.error("FLEXUS_INSTANCES", entry, (why, instance_problem_zh(why)), ("write PACKAGE_ID:ECS_SERVER_ID:NAME[:REGION:PROJECT_ID], entries separated by commas; `discover` prints a ready line", "写成 PACKAGE_ID:ECS_SERVER_ID:NAME[:REGION:PROJECT_ID]，多项用逗号分隔；`discover` 会打印现成的一行")),
                }
            }
        }
        for package in targets.keys() {
            if !free_resource_ids.contains(package) {
                free_resource_ids.push(package.clone());
            }
        }
        if let Some(server_id) = c.given("ECS_SERVER_ID") {
            match (region, project_id) {
                (Some(r), Some(p)) => {
                    for id in &free_resource_ids {
                        targets.entry(id.clone()).or_insert_with(|| Target {
                            name: server_name.clone(),
                            server_id: server_id.to_string(),
                            region: r.to_string(),
                            project_id: p.to_string(),
                        });
                    }
                }
                _ => c.error("ECS_SERVER_ID", server_id, ("needs HUAWEICLOUD_REGION and HUAWEICLOUD_PROJECT_ID too", "还需要 HUAWEICLOUD_REGION 和 HUAWEICLOUD_PROJECT_ID"), ("set both (the region, e.g. ap-southeast-1, and its project id from My Credentials)", "两个都设置（区域，例如 ap-southeast-1，以及“我的凭证”中该区域的项目 ID）")),
            }
        }
        let cloudeye = super::CloudEyeConfig::check(c, huawei, &free_resource_ids, &targets);
        let egress = EgressConfig::check(c, &free_resource_ids, &cloudeye);
        Self {
            egress,
            cloudeye,
            free_resource_ids,
            server_name,
            targets,
            poll_interval,
            reading_max_age,
            poll_failures_before_alert,
            max_egress_rate,
            max_egress_bits_per_s,
        }
    }

    /// What the plausibility judge needs.
    pub fn plausibility(&self) -> crate::plausibility::Settings {
        crate::plausibility::Settings {
            max_egress_bits_per_s: self.max_egress_bits_per_s,
        }
    }

    /// The package whose bill the counter is anchored to, when the counter is on.
    pub fn egress_package(&self) -> Option<&str> {
        self.egress
            .package
            .as_deref()
            .filter(|_| self.egress.enabled)
    }

    /// The watched packages no instance is known for.
    pub fn unmapped(&self) -> Vec<&str> {
        self.free_resource_ids
            .iter()
            .filter(|id| !self.targets.contains_key(*id))
            .map(String::as_str)
            .collect()
    }

    /// The server name of a package: its instance's name when known, else `SERVER_NAME`.
    pub fn server_for(&self, free_resource_id: &str) -> &str {
        self.targets
            .get(free_resource_id)
            .map_or(self.server_name.as_str(), |t| t.name.as_str())
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

/// The Chinese of a problem [`parse_instance`] finds.
fn instance_problem_zh(why: &str) -> &'static str {
    match why {
        "does not have 3 or 5 fields" => "不是 3 段或 5 段",
        "has an empty or malformed field" => "有一段为空或格式不对",
        _ => "没有区域和项目 ID（写在该项中，或设置 HUAWEICLOUD_REGION 和 HUAWEICLOUD_PROJECT_ID）",
    }
}

impl EgressConfig {
    fn check(c: &mut Checker, ids: &[String], cloudeye: &super::CloudEyeConfig) -> Self {
        let enabled = c.parse(
            "EGRESS_COUNTER",
            ("is not on or off", "不是 on 或 off"),
            |s| {
                super::validate::parse_bool(s)
                    .ok_or_else(|| Said::from(("write on or off", "写 on 或 off")))
            },
        );
        let interface = c.parse_optional("EGRESS_INTERFACE", ("is not an interface name", "不是网卡名"), |s| {
            if s.len() > 15 || s.contains('/') || s.contains(char::is_whitespace) {
                Err(Said::from(("write the name `ip route show default` prints after `dev`, e.g. eth0", "写 `ip route show default` 在 `dev` 后面打印的名字，例如 eth0")))
            } else if crate::egress::counter::excluded(s) {
                Err(Said::from(("name the public interface: lo, docker*, veth* and br-* carry no billed traffic", "写公网网卡：lo、docker*、veth* 和 br-* 上没有计费流量")))
            } else {
                Ok(s.to_string())
            }
        });
        let interval = c.duration("EGRESS_SAMPLE_INTERVAL", Duration::from_millis(100));
        if interval > Duration::from_secs(2) {
            c.error(
                "EGRESS_SAMPLE_INTERVAL",
                &humantime::format_duration(interval).to_string(),
                ("is longer than 2s: the counter would be read too seldom to act close to the threshold", "超过 2s：计数器读得太少，无法在接近阈值时及时动作"),
                ("use 2s or less (default 2s)", "用 2s 或更短（默认 2s）"),
            );
        }
        let default_lag = c.duration("EGRESS_BILL_LAG", Duration::ZERO);
        if default_lag > crate::egress::estimate::MAX_LAG {
            c.error(
                "EGRESS_BILL_LAG",
                &humantime::format_duration(default_lag).to_string(),
                (
                    "is longer than 6h, the longest lag believed",
                    "超过 6h，即可信的最长延迟",
                ),
                ("use 6h or less (default 2h)", "用 6h 或更短（默认 2h）"),
            );
        }
        let package = match c.given("EGRESS_PACKAGE") {
            Some(p) if cloudeye.covers(p) => {
                c.error(
                    "EGRESS_PACKAGE",
                    p,
                    (
                        "is read through Cloud Eye (CLOUDEYE_EIPS): another server's traffic",
                        "经云监控读取（CLOUDEYE_EIPS）：是另一台服务器的流量",
                    ),
                    (
                        "name the package of the server this program runs on, or take it out of CLOUDEYE_EIPS",
                        "写本程序所在服务器的流量包，或把它从 CLOUDEYE_EIPS 中去掉",
                    ),
                );
                None
            }
            Some(p) if ids.iter().any(|i| i == p) => Some(p.to_string()),
            Some(p) => {
                c.error(
                    "EGRESS_PACKAGE",
                    p,
                    ("is not a watched package", "不是被监控的资源包"),
                    (
                        "name one of FREE_RESOURCE_IDS (the package of this server)",
                        "写 FREE_RESOURCE_IDS 中的一个（本服务器的资源包）",
                    ),
                );
                None
            }
            // The counter is this machine's: without EGRESS_PACKAGE it follows the package the
            // actions call this server's own (LOCAL_FREE_RESOURCE_IDS), so a monitor that runs
            // elsewhere (`none`) never subtracts its own traffic from another server's bill.
            None => match c.given("LOCAL_FREE_RESOURCE_IDS").map(str::trim) {
                Some(l) if l.eq_ignore_ascii_case("none") => None,
                Some(l) => {
                    let local: Vec<&str> = l
                        .split(',')
                        .map(str::trim)
                        .filter(|s| !s.is_empty())
                        .collect();
                    match local.as_slice() {
                        [one] if ids.iter().any(|i| i == one) => Some(one.to_string()),
                        _ => None,
                    }
                }
                None if ids.len() == 1 => ids.first().cloned(),
                None => None,
            },
        };
        // A package read through Cloud Eye is another server's: this machine's counter is not it.
        let package =
            package.filter(|p| c.given("EGRESS_PACKAGE").is_some() || !cloudeye.covers(p));
        Self {
            enabled,
            interface,
            interval: interval.min(Duration::from_secs(2)),
            default_lag: default_lag.min(crate::egress::estimate::MAX_LAG),
            package,
        }
    }
}
