//! The Cloud Eye (CES) client: the outbound traffic of an EIP, minute by minute
//! (`ShowMetricData`, API v1: `GET /V1.0/{project_id}/metric-data` with `namespace=SYS.VPC`,
//! `metric_name=up_stream`, `dim.0=publicip_id,{id}`, `from`/`to` in UNIX milliseconds,
//! `period=1` (raw data, one point a minute) and `filter=sum`).
//!
//! `up_stream` is the bytes an EIP sent out of the cloud in one minute (unit byte). The answer is
//! `{"datapoints": [{"sum": .., "timestamp": .., "unit": ..}], "metric_name": "up_stream"}`.
//! This module turns it into [`Datapoint`]s as sent; judging whether they can be believed is
//! `egress::cloudeye`'s job. Requests are signed like every Huawei call, with `X-Project-Id`; a
//! throttled answer (HTTP 429, `ces.0429`) is retried by the transport and then returned as
//! [`HuaweiError::Throttled`], which the caller answers by waiting longer, never by a zero.

use std::time::Duration;

use chrono::{DateTime, Utc};
use reqwest::Method;
use serde::Deserialize;

use super::error::HuaweiError;
use super::transport::{ApiRequest, CallObserver, Credentials, SignedClient};

/// The namespace, metric and dimension read.
pub const NAMESPACE: &str = "SYS.VPC";
pub const METRIC: &str = "up_stream";
pub const DIMENSION: &str = "publicip_id";
/// The raw period of `up_stream`: one point a minute.
pub const RAW_PERIOD: Duration = Duration::from_secs(60);
/// The longest span one raw-data query may cover (Cloud Eye limits raw queries to a few hours).
pub const MAX_SPAN: Duration = Duration::from_secs(3 * 3600);

/// One point as Cloud Eye sent it.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct Datapoint {
    /// UNIX milliseconds.
    pub timestamp: Option<i64>,
    pub sum: Option<f64>,
    /// With raw data (`period=1`) the average of one value is that value.
    pub average: Option<f64>,
    pub unit: Option<String>,
}

#[derive(Debug, Deserialize)]
struct MetricData {
    datapoints: Option<Vec<Datapoint>>,
}

/// Builds Cloud Eye clients for any region and project.
#[derive(Clone)]
pub struct CesFactory {
    pub credentials: Credentials,
    /// Base URL; `{region}` is replaced by the EIP's region.
    pub endpoint: String,
    pub timeout: Duration,
    /// Told of every call (the `cloudeye` source's self-metrics).
    pub observer: Option<CallObserver>,
}

impl std::fmt::Debug for CesFactory {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CesFactory")
            .field("credentials", &self.credentials)
            .field("endpoint", &self.endpoint)
            .field("timeout", &self.timeout)
            .finish()
    }
}

impl CesFactory {
    /// A client for `region` and `project_id`.
    ///
    /// # Errors
    /// When the endpoint is not a URL or the HTTP client cannot be built.
    pub fn client(&self, region: &str, project_id: &str) -> Result<CesClient, HuaweiError> {
        let client = SignedClient::regional(
            "Cloud Eye",
            &self.endpoint,
            region,
            self.credentials.clone(),
            self.timeout,
            self.observer.as_ref(),
        )?;
        Ok(CesClient {
            client,
            project_id: project_id.to_string(),
        })
    }
}

/// A Cloud Eye client for one project.
#[derive(Debug, Clone)]
pub struct CesClient {
    client: SignedClient,
    project_id: String,
}

/// The query of `ShowMetricData` for the outbound traffic of `publicip_id` from `from` to `to`.
/// Pure.
pub fn up_stream_query(
    publicip_id: &str,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Vec<(String, String)> {
    vec![
        ("namespace".into(), NAMESPACE.into()),
        ("metric_name".into(), METRIC.into()),
        ("dim.0".into(), format!("{DIMENSION},{publicip_id}")),
        ("from".into(), from.timestamp_millis().to_string()),
        ("to".into(), to.timestamp_millis().to_string()),
        ("period".into(), "1".into()),
        ("filter".into(), "sum".into()),
    ]
}

impl CesClient {
    /// The raw `up_stream` points of `publicip_id` between `from` and `to` (at most
    /// [`MAX_SPAN`] apart; the caller splits longer spans).
    ///
    /// # Errors
    /// A failed call, or an answer without `datapoints` (never read as "no traffic").
    pub async fn up_stream(
        &self,
        publicip_id: &str,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<Vec<Datapoint>, HuaweiError> {
        let req = ApiRequest {
            api: "ShowMetricData",
            method: Method::GET,
            path: format!("/V1.0/{}/metric-data", self.project_id),
            query: up_stream_query(publicip_id, from, to),
            headers: vec![
                ("Content-Type".into(), "application/json".into()),
                ("X-Project-Id".into(), self.project_id.clone()),
            ],
            body: Vec::new(),
        };
        let resp = self.client.send(&req).await?;
        let bad = |reason: String| HuaweiError::BadResponse {
            reason,
            request_id: resp.request_id.clone(),
        };
        let data: MetricData = serde_json::from_slice(&resp.body)
            .map_err(|e| bad(format!("not a Cloud Eye answer: {e}")))?;
        data.datapoints
            .ok_or_else(|| bad("no `datapoints` in the answer".into()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_query_names_the_eip_metric_and_raw_sums_in_milliseconds() {
        let from = DateTime::from_timestamp(1_700_000_000, 0).unwrap();
        let q = up_stream_query("eip-1", from, from + chrono::Duration::minutes(10));
        let get = |k: &str| q.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str());
        assert_eq!(get("namespace"), Some("SYS.VPC"));
        assert_eq!(get("metric_name"), Some("up_stream"));
        assert_eq!(get("dim.0"), Some("publicip_id,eip-1"));
        assert_eq!(get("from"), Some("1700000000000"));
        assert_eq!(get("to"), Some("1700000600000"));
        assert_eq!(get("period"), Some("1"));
        assert_eq!(get("filter"), Some("sum"));
    }

    #[test]
    fn the_documented_answer_parses() {
        let d: MetricData = serde_json::from_str(
            r#"{"datapoints":[{"sum":1048576.0,"timestamp":1442341200000,"unit":"B"}],"metric_name":"up_stream"}"#,
        )
        .unwrap();
        let p = &d.datapoints.unwrap()[0];
        assert_eq!(p.sum, Some(1_048_576.0));
        assert_eq!(p.timestamp, Some(1_442_341_200_000));
    }
}
