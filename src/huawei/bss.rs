//! The BSS (billing) client: remaining free traffic (`ListFreeResourceUsages`) and the account's
//! packages (`ListFreeResourceInfos` v3, for `discover`).
//!
//! It turns answers into [`Reading`]s per asked id and leaves caching, scheduling and alerting to
//! the poller and the policy.

use chrono::{DateTime, Utc};
use reqwest::Method;
use serde::Serialize;

use super::error::HuaweiError;
use super::transport::{ApiRequest, SignedClient};
use super::wire::{self, FreeResourcePackage, InfosResponse, ReadingError, UsagesResponse};
use crate::reading::Reading;

/// BSS accepts at most this many ids in one `ListFreeResourceUsages` call.
pub const MAX_IDS_PER_CALL: usize = 100;

/// Each asked id with its reading or the reason it has none.
pub type PackageResults = Vec<(String, Result<Reading, ReadingError>)>;

/// Why polling fails, as a message tells it.
#[derive(Debug, Clone, PartialEq)]
pub enum PollProblem {
    /// The whole call failed.
    Call(HuaweiError),
    /// One package could not be read.
    Package { id: String, error: ReadingError },
    /// The poll failed without saying why.
    Unknown,
}

impl std::fmt::Display for PollProblem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Call(e) => write!(f, "{e}"),
            Self::Package { id, error } => write!(f, "{id}: {error}"),
            Self::Unknown => write!(f, "unknown error"),
        }
    }
}

/// A package as `discover` shows it.
#[derive(Debug, Clone, Serialize)]
pub struct DiscoveredResource {
    pub free_resource_id: String,
    pub product_name: String,
    pub usage_type: String,
    pub service_type_code: String,
    pub region_code: String,
    /// 1 = in effect.
    pub status: Option<i64>,
    pub expire_time: Option<String>,
    /// Remaining and quota in GB when the answer had valid amounts.
    pub remaining_gb: Option<f64>,
    pub total_gb: Option<f64>,
}

impl DiscoveredResource {
    /// Whether the package is in effect (status 1).
    pub fn in_effect(&self) -> bool {
        self.status == Some(1)
    }
}

/// The BSS client.
#[derive(Debug, Clone)]
pub struct BssClient {
    client: SignedClient,
    domain_id: Option<String>,
}

impl BssClient {
    pub fn new(client: SignedClient, domain_id: Option<String>) -> Self {
        Self { client, domain_id }
    }

    /// The same client, telling `observer` of every call (the `bss` source's self-metrics).
    #[must_use]
    pub fn observed(mut self, observer: crate::huawei::transport::CallObserver) -> Self {
        self.client = self.client.observed(observer);
        self
    }

    fn headers(&self) -> Vec<(String, String)> {
        let mut h = vec![("Content-Type".to_string(), "application/json".to_string())];
        if let Some(id) = &self.domain_id {
            h.push(("X-Domain-Id".to_string(), id.clone()));
        }
        h
    }

    async fn post<T: serde::de::DeserializeOwned>(
        &self,
        api: &'static str,
        path: &str,
        body: &serde_json::Value,
    ) -> Result<T, HuaweiError> {
        let req = ApiRequest {
            api,
            method: Method::POST,
            path: path.to_string(),
            query: Vec::new(),
            headers: self.headers(),
            body: serde_json::to_vec(body).expect("a JSON value always serializes"),
        };
        let resp = self.client.send(&req).await?;
        serde_json::from_slice(&resp.body).map_err(|e| HuaweiError::BadResponse {
            reason: describe_bad_body(&resp.body, &e),
            request_id: resp.request_id.clone(),
        })
    }

    /// Reads the remaining traffic of every id, in batches of at most 100.
    ///
    /// # Errors
    /// A failed call fails the whole poll: a partial poll never stands in for a full one.
    pub async fn list_free_resource_usages(
        &self,
        ids: &[String],
        now: DateTime<Utc>,
    ) -> Result<PackageResults, HuaweiError> {
        let mut out = Vec::with_capacity(ids.len());
        for batch in ids.chunks(MAX_IDS_PER_CALL) {
            let answer: UsagesResponse = self
                .post(
                    "ListFreeResourceUsages",
                    "/v2/payments/free-resources/usages/details/query",
                    &serde_json::json!({ "free_resource_ids": batch }),
                )
                .await?;
            let Some(entries) = answer.free_resources else {
                return Err(HuaweiError::BadResponse {
                    reason: "no `free_resources` in the answer".into(),
                    request_id: None,
                });
            };
            out.extend(wire::readings_for(batch, &entries, now));
        }
        Ok(out)
    }

    /// Lists the account's free resource packages (all pages).
    ///
    /// # Errors
    /// As [`Self::list_free_resource_usages`].
    pub async fn list_free_resource_infos(&self) -> Result<Vec<DiscoveredResource>, HuaweiError> {
        const LIMIT: u64 = 100;
        let mut out = Vec::new();
        let mut offset = 0;
        loop {
            let answer: InfosResponse = self
                .post(
                    "ListFreeResourceInfos",
                    "/v3/payments/free-resources/query",
                    &serde_json::json!({ "limit": LIMIT, "offset": offset }),
                )
                .await?;
            let packages = answer.free_resource_packages.unwrap_or_default();
            let count = packages.len() as u64;
            out.extend(packages.iter().flat_map(flatten_package));
            offset += count;
            if count == 0 || count < LIMIT || offset >= answer.total_count.unwrap_or(0) {
                break;
            }
        }
        Ok(out)
    }
}

fn flatten_package(p: &FreeResourcePackage) -> Vec<DiscoveredResource> {
    p.free_resources
        .iter()
        .flatten()
        .filter_map(|r| {
            let id = r.free_resource_id.clone()?;
            let reading = r.to_figures(&id, Utc::now()).ok();
            Some(DiscoveredResource {
                free_resource_id: id,
                product_name: p.product_name.clone().unwrap_or_default(),
                usage_type: r.usage_type_name.clone().unwrap_or_default(),
                service_type_code: p.service_type_code.clone().unwrap_or_default(),
                region_code: p.region_code.clone().unwrap_or_default(),
                status: p.status,
                expire_time: p.expire_time.clone(),
                remaining_gb: reading.as_ref().map(|r| r.remaining_gb),
                total_gb: reading.as_ref().map(|r| r.total_gb),
            })
        })
        .collect()
}

/// Says what was wrong with a body that is not the expected JSON, without echoing much of it.
fn describe_bad_body(body: &[u8], e: &serde_json::Error) -> String {
    let text = String::from_utf8_lossy(body);
    let start = text.trim_start();
    if start.is_empty() {
        "empty body".into()
    } else if start.starts_with('<') {
        "an HTML page instead of JSON (a proxy or gateway error page?)".into()
    } else if e.is_eof() {
        "truncated JSON".into()
    } else {
        format!("invalid JSON: {e}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn discover_flattens_the_v3_sample() {
        let answer: InfosResponse = serde_json::from_str(include_str!(
            "../../tests/fixtures/list_free_resource_infos_v3.json"
        ))
        .unwrap();
        let all: Vec<_> = answer
            .free_resource_packages
            .unwrap()
            .iter()
            .flat_map(flatten_package)
            .collect();
        assert_eq!(all.len(), 1);
        assert_eq!(
            all[0].free_resource_id,
            "828e2c7c-3c8c-45a2-bebc-98cb3e77d06e"
        );
        assert_eq!(all[0].remaining_gb, Some(853.27));
        assert!(all[0].in_effect());
    }

    #[test]
    fn bad_bodies_are_described() {
        let e = serde_json::from_slice::<serde_json::Value>(b"{\"a\":").unwrap_err();
        assert_eq!(describe_bad_body(b"{\"a\":", &e), "truncated JSON");
        let e = serde_json::from_slice::<serde_json::Value>(b"<html>").unwrap_err();
        assert!(describe_bad_body(b"<html>", &e).contains("HTML"));
    }
}
