//! `CLOUDEYE_EIPS`, `CLOUDEYE_INTERVAL`, `HUAWEICLOUD_CES_ENDPOINT`: which packages are read live
//! through Huawei Cloud Eye (the outbound traffic of their server's EIP), and how.

use std::collections::BTreeMap;
use std::time::Duration;

use serde::Serialize;
use url::Url;

use super::humantime_serde_compat;
use super::validate::{Checker, Said};
use super::HuaweiConfig;
use crate::egress::offbox::Eip;
use crate::target::Target;

/// The Cloud Eye source; off when `eips` is empty.
#[derive(Debug, Clone, Serialize)]
pub struct CloudEyeConfig {
    pub eips: Vec<Eip>,
    #[serde(with = "humantime_serde_compat")]
    pub interval: Duration,
    /// Base URL; `{region}` is replaced by the EIP's region.
    pub endpoint: String,
}

impl CloudEyeConfig {
    pub(super) fn check(
        c: &mut Checker,
        huawei: &HuaweiConfig,
        ids: &[String],
        targets: &BTreeMap<String, Target>,
    ) -> Self {
        let interval = c.duration("CLOUDEYE_INTERVAL", Duration::from_millis(100));
        let endpoint = c.parse(
            "HUAWEICLOUD_CES_ENDPOINT",
            ("is not an http(s) URL", "不是 http(s) URL"),
            |s| match Url::parse(&s.replace("{region}", "region")) {
                Ok(u) if matches!(u.scheme(), "http" | "https") => Ok(s.to_string()),
                _ => Err(Said::from((
                    "unset it to use https://ces.{region}.myhuaweicloud.com",
                    "不设置即使用 https://ces.{region}.myhuaweicloud.com",
                ))),
            },
        );
        let mut eips: Vec<Eip> = Vec::new();
        if let Some(list) = c.given("CLOUDEYE_EIPS") {
            for entry in list.split(',').map(str::trim).filter(|e| !e.is_empty()) {
                match parse_eip(entry, huawei, targets) {
                    Ok(eip) if !ids.contains(&eip.package) => c.error(
                        "CLOUDEYE_EIPS",
                        &eip.package,
                        ("is not a watched package", "不是被监控的流量包"),
                        (
                            "name a package of FREE_RESOURCE_IDS or FLEXUS_INSTANCES",
                            "写 FREE_RESOURCE_IDS 或 FLEXUS_INSTANCES 中的流量包",
                        ),
                    ),
                    Ok(eip) if eips.iter().any(|e| e.package == eip.package) => c.error(
                        "CLOUDEYE_EIPS",
                        &eip.package,
                        ("lists this package twice", "列出了这个流量包两次"),
                        ("give each package one EIP", "每个流量包只写一个 EIP"),
                    ),
                    Ok(eip) => eips.push(eip),
                    Err((why, why_zh)) => c.error(
                        "CLOUDEYE_EIPS",
                        entry,
                        (why, why_zh),
                        (
                            "write PACKAGE_ID:PUBLICIP_ID[:REGION:PROJECT_ID], entries separated by commas (the EIP id is on the instance's page under Elastic IP)",
                            "写 PACKAGE_ID:PUBLICIP_ID[:REGION:PROJECT_ID]，多项用逗号分隔（EIP 的 ID 在实例页面的“弹性公网IP”处）",
                        ),
                    ),
                }
            }
        }
        Self {
            eips,
            interval,
            endpoint,
        }
    }

    /// Whether `package` is read through Cloud Eye.
    pub fn covers(&self, package: &str) -> bool {
        self.eips.iter().any(|e| e.package == package)
    }
}

/// Parses one `CLOUDEYE_EIPS` entry: `PACKAGE_ID:PUBLICIP_ID[:REGION:PROJECT_ID]`; without a
/// region and project, those of the package's instance (`FLEXUS_INSTANCES`), else
/// `HUAWEICLOUD_REGION` and `HUAWEICLOUD_PROJECT_ID`.
fn parse_eip(
    entry: &str,
    huawei: &HuaweiConfig,
    targets: &BTreeMap<String, Target>,
) -> Result<Eip, (&'static str, &'static str)> {
    let parts: Vec<&str> = entry.split(':').map(str::trim).collect();
    let ok_id = |s: &str| {
        !s.is_empty()
            && s.chars()
                .all(|ch| ch.is_ascii_alphanumeric() || ch == '-' || ch == '_')
    };
    let (package, eip) = match parts.as_slice() {
        [p, e] | [p, e, _, _] => (*p, *e),
        _ => return Err(("does not have 2 or 4 fields", "不是 2 段或 4 段")),
    };
    if !ok_id(package) || !ok_id(eip) {
        return Err(("has an empty or malformed field", "有一段为空或格式不对"));
    }
    let target = targets.get(package);
    let (region, project) = match parts.as_slice() {
        [_, _, r, p] => (Some(*r), Some(*p)),
        _ => (
            target
                .map(|t| t.region.as_str())
                .or(huawei.region.as_deref()),
            target
                .map(|t| t.project_id.as_str())
                .or(huawei.project_id.as_deref()),
        ),
    };
    match (region, project) {
        (Some(r), Some(p)) if ok_id(r) && ok_id(p) => Ok(Eip {
            package: package.to_string(),
            publicip_id: eip.to_string(),
            region: r.to_string(),
            project_id: p.to_string(),
        }),
        _ => Err((
            "has no region and project id (give them in the entry, in FLEXUS_INSTANCES, or set HUAWEICLOUD_REGION and HUAWEICLOUD_PROJECT_ID)",
            "没有区域和项目 ID（写在该项中、写在 FLEXUS_INSTANCES 中，或设置 HUAWEICLOUD_REGION 和 HUAWEICLOUD_PROJECT_ID）",
        )),
    }
}
