//! `CLOUDEYE_EIPS`, `CLOUDEYE_INTERVAL`, `HUAWEICLOUD_CES_ENDPOINT`: which packages are read live
//! through Huawei Cloud Eye (the outbound traffic of their server's EIP), and how.

use std::collections::BTreeMap;
use std::time::Duration;

use serde::Serialize;
use url::Url;

use super::humantime_serde_compat;
use super::validate::Checker;
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
        let endpoint =
            c.parse(
                "HUAWEICLOUD_CES_ENDPOINT",
                "is not an http(s) URL",
                |s| match Url::parse(&s.replace("{region}", "region")) {
                    Ok(u) if matches!(u.scheme(), "http" | "https") => Ok(s.to_string()),
                    _ => Err("unset it to use https://ces.{region}.myhuaweicloud.com".to_string()),
                },
            );
        let mut eips: Vec<Eip> = Vec::new();
        if let Some(list) = c.given("CLOUDEYE_EIPS") {
            for entry in list.split(',').map(str::trim).filter(|e| !e.is_empty()) {
                match parse_eip(entry, huawei, targets) {
                    Ok(eip) if !ids.contains(&eip.package) => c.error(
                        "CLOUDEYE_EIPS",
                        &eip.package,
                        "is not a watched package",
                        "name a package of FREE_RESOURCE_IDS or FLEXUS_INSTANCES",
                    ),
                    Ok(eip) if eips.iter().any(|e| e.package == eip.package) => c.error(
                        "CLOUDEYE_EIPS",
                        &eip.package,
                        "lists this package twice",
                        "give each package one EIP",
                    ),
                    Ok(eip) => eips.push(eip),
                    Err(why) => c.error(
                        "CLOUDEYE_EIPS",
                        entry,
                        why,
                        "write PACKAGE_ID:PUBLICIP_ID[:REGION:PROJECT_ID], entries separated by commas (the EIP id is in the console under Elastic IP, or `discover` shows it)",
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
) -> Result<Eip, &'static str> {
    let parts: Vec<&str> = entry.split(':').map(str::trim).collect();
    let ok_id = |s: &str| {
        !s.is_empty()
            && s.chars()
                .all(|ch| ch.is_ascii_alphanumeric() || ch == '-' || ch == '_')
    };
    let (package, eip) = match parts.as_slice() {
        [p, e] | [p, e, _, _] => (*p, *e),
        _ => return Err("does not have 2 or 4 fields"),
    };
    if !ok_id(package) || !ok_id(eip) {
        return Err("has an empty or malformed field");
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
        _ => Err("has no region and project id (give them in the entry, in FLEXUS_INSTANCES, or set HUAWEICLOUD_REGION and HUAWEICLOUD_PROJECT_ID)"),
    }
}
