//! The RMS (Config) client: lists the account's Flexus L instances with, for each, its traffic
//! package ids and its ECS server id (Huawei API notes §4: `all-resources?type=hcss.l-instance`,
//! paged with `marker`). Needs the account (domain) id.

use reqwest::Method;
use serde::{Deserialize, Serialize};

use super::error::HuaweiError;
use super::transport::{ApiRequest, SignedClient};

/// A Flexus L instance as RMS describes it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Instance {
    pub name: String,
    pub region: String,
    pub project_id: String,
    pub status: String,
    /// The ECS server underneath (what `os-stop`/`os-start` take).
    pub server_id: Option<String>,
    /// Its free traffic packages (what `FREE_RESOURCE_IDS` lists).
    pub package_ids: Vec<String>,
}

#[derive(Deserialize)]
struct Page {
    #[serde(default)]
    resources: Vec<Resource>,
    #[serde(default)]
    page_info: Option<PageInfo>,
}

#[derive(Deserialize)]
struct PageInfo {
    #[serde(default)]
    next_marker: Option<String>,
}

#[derive(Deserialize)]
struct Resource {
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    region_id: Option<String>,
    #[serde(default)]
    project_id: Option<String>,
    #[serde(default)]
    properties: Option<Properties>,
}

#[derive(Deserialize)]
struct Properties {
    #[serde(default)]
    status: Option<String>,
    #[serde(default)]
    resources: Vec<Part>,
}

#[derive(Deserialize)]
struct Part {
    #[serde(default)]
    logical_resource_type: String,
    #[serde(default)]
    physical_resource_id: String,
}

/// The RMS client.
#[derive(Debug, Clone)]
pub struct RmsClient {
    client: SignedClient,
    domain_id: String,
}

impl RmsClient {
    pub fn new(client: SignedClient, domain_id: String) -> Self {
        Self { client, domain_id }
    }

    /// Every Flexus L instance of the account (all pages).
    ///
    /// # Errors
    /// The API's error, or an answer that cannot be read.
    pub async fn flexus_instances(&self) -> Result<Vec<Instance>, HuaweiError> {
        let mut out = Vec::new();
        let mut marker: Option<String> = None;
        for _ in 0..100 {
            let mut query = vec![
                ("type".to_string(), "hcss.l-instance".to_string()),
                ("limit".to_string(), "200".to_string()),
            ];
            if let Some(m) = &marker {
                query.push(("marker".to_string(), m.clone()));
            }
            let req = ApiRequest {
                api: "ListAllResources",
                method: Method::GET,
                path: format!(
                    "/v1/resource-manager/domains/{}/all-resources",
                    self.domain_id
                ),
                query,
                headers: vec![
                    ("Content-Type".to_string(), "application/json".to_string()),
                    ("X-Domain-Id".to_string(), self.domain_id.clone()),
                ],
                body: Vec::new(),
            };
            let resp = self.client.send(&req).await?;
            let page: Page =
                serde_json::from_slice(&resp.body).map_err(|e| HuaweiError::BadResponse {
                    reason: format!("invalid JSON: {e}"),
                    request_id: resp.request_id.clone(),
                })?;
            out.extend(page.resources.into_iter().map(instance));
            marker = page
                .page_info
                .and_then(|p| p.next_marker)
                .filter(|m| !m.is_empty());
            if marker.is_none() {
                break;
            }
        }
        Ok(out)
    }
}

fn instance(r: Resource) -> Instance {
    let props = r.properties.unwrap_or(Properties {
        status: None,
        resources: Vec::new(),
    });
    let of = |kind: &str| {
        props
            .resources
            .iter()
            .filter(|p| p.logical_resource_type == kind && !p.physical_resource_id.is_empty())
            .map(|p| p.physical_resource_id.clone())
            .collect::<Vec<_>>()
    };
    Instance {
        name: r.name.unwrap_or_default(),
        region: r.region_id.unwrap_or_default(),
        project_id: r.project_id.unwrap_or_default(),
        status: props.status.clone().unwrap_or_default(),
        server_id: of("huaweicloudinternal_ecs_instance").into_iter().next(),
        package_ids: of("huaweicloudinternal_cbc_freeresource"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_sample_gives_the_package_and_the_server() {
        let page: Page = serde_json::from_str(include_str!(
            "../../tests/fixtures/rms_list_all_resources_hcss.json"
        ))
        .unwrap();
        let got: Vec<Instance> = page.resources.into_iter().map(instance).collect();
        assert_eq!(
            got,
            [Instance {
                name: "FlexusL-my-server".into(),
                region: "ap-southeast-1".into(),
                project_id: "fedcba9876543210fedcba9876543210".into(),
                status: "ACTIVE".into(),
                server_id: Some("72a270de-665a-4f46-8d64-24ad6edccdd1".into()),
                package_ids: vec!["828e2c7c-3c8c-45a2-bebc-98cb3e77d06e".into()],
            }]
        );
    }
}
