//! Signed HTTP calls to Huawei Cloud, with timeouts and retries.
//!
//! Every request is signed afresh (a retry gets a new `X-Sdk-Date`), sent with the exact query string
//! that was signed (built by hand so the HTTP client cannot re-encode it), and bounded by a timeout.
//! Throttling (429) and server errors (5xx) are retried with exponential backoff and full jitter;
//! everything else is returned at once, because retrying a wrong key only gets it locked.

use std::time::Duration;

use chrono::Utc;
use rand::Rng;
use reqwest::header::{HeaderMap, HeaderName, HeaderValue};
use url::Url;

use super::error::{classify, HuaweiError};
use super::signer::{self, RequestParts};
use super::Site;
use crate::secret::Secret;

/// How often and how patiently to retry.
#[derive(Debug, Clone, Copy)]
pub struct RetryPolicy {
    /// Attempts in all, the first included.
    pub max_attempts: u32,
    /// Backoff before the second attempt; doubles each time.
    pub base_delay: Duration,
    /// Upper bound of any single wait.
    pub max_delay: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            max_attempts: 3,
            base_delay: Duration::from_millis(500),
            max_delay: Duration::from_secs(10),
        }
    }
}

impl RetryPolicy {
    /// The wait before attempt `attempt + 1` (attempt counts from 1): full jitter over an exponential
    /// ceiling, but never less than what the server asked for with `Retry-After`.
    pub fn delay(&self, attempt: u32, retry_after: Option<Duration>) -> Duration {
        let ceiling = self
            .base_delay
            .saturating_mul(1u32 << attempt.saturating_sub(1).min(16))
            .min(self.max_delay);
        let jittered =
            Duration::from_secs_f64(ceiling.as_secs_f64() * rand::rng().random_range(0.5..=1.0));
        retry_after.map_or(jittered, |r| r.min(self.max_delay).max(jittered))
    }
}

/// AK/SK of the account.
#[derive(Debug, Clone)]
pub struct Credentials {
    pub access_key: Secret,
    pub secret_key: Secret,
}

/// What one HTTP attempt to Huawei Cloud gave, for the self-metrics of a source.
#[derive(Debug, Clone)]
pub struct CallRecord<'a> {
    /// The API's name as Huawei's docs give it (`ListFreeResourceUsages`, ...).
    pub api: &'a str,
    /// The HTTP status, or `timeout` / `error` when there was no answer.
    pub code: String,
    pub seconds: f64,
    /// Whether the call succeeded (a 2xx answer Huawei did not mark as an error).
    pub ok: bool,
}

/// Told of every attempt a client makes (the metrics module counts them per source).
pub type CallObserver = std::sync::Arc<dyn Fn(&CallRecord<'_>) + Send + Sync>;

/// One request to make.
#[derive(Debug, Clone)]
pub struct ApiRequest {
    /// The API's name, for metrics (`ListFreeResourceUsages`, `BatchStopServers`, ...).
    pub api: &'static str,
    pub method: reqwest::Method,
    pub path: String,
    pub query: Vec<(String, String)>,
    /// Extra headers to send and sign (`Content-Type`, `X-Domain-Id`, ...).
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

/// A successful answer.
#[derive(Debug, Clone)]
pub struct ApiResponse {
    pub status: u16,
    pub request_id: Option<String>,
    pub body: Vec<u8>,
}

/// A client that signs and sends requests to one Huawei Cloud endpoint.
#[derive(Clone)]
pub struct SignedClient {
    http: reqwest::Client,
    base: Url,
    credentials: Credentials,
    site: Site,
    timeout: Duration,
    retry: RetryPolicy,
    observer: Option<CallObserver>,
}

impl std::fmt::Debug for SignedClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SignedClient")
            .field("base", &self.base.as_str())
            .field("credentials", &self.credentials)
            .field("site", &self.site)
            .field("timeout", &self.timeout)
            .field("observed", &self.observer.is_some())
            .finish()
    }
}

impl SignedClient {
    /// A client for `base` (scheme, host, optional port and path prefix).
    ///
    /// # Errors
    /// When the TLS backend cannot be initialised.
    pub fn new(
        base: Url,
        credentials: Credentials,
        site: Site,
        timeout: Duration,
        retry: RetryPolicy,
    ) -> Result<Self, HuaweiError> {
        let http = reqwest::Client::builder()
            .timeout(timeout)
            .connect_timeout(timeout.min(Duration::from_secs(10)))
            .user_agent(concat!(
                "flexus-traffic-monitor/",
                env!("CARGO_PKG_VERSION")
            ))
            .build()
            .map_err(|e| HuaweiError::Transport(error_chain(&e.without_url())))?;
        Ok(Self {
            http,
            base,
            credentials,
            site,
            timeout,
            retry,
            observer: None,
        })
    }

    /// A client for a regional service whose endpoint template holds `{region}` (ECS, Cloud Eye),
    /// with the default retries, telling `observer` of every attempt when there is one. `service`
    /// names the endpoint in the error.
    ///
    /// # Errors
    /// When the endpoint is not a URL or the HTTP client cannot be built.
    pub fn regional(
        service: &str,
        template: &str,
        region: &str,
        credentials: Credentials,
        timeout: Duration,
        observer: Option<&CallObserver>,
    ) -> Result<Self, HuaweiError> {
        let url = template.replace("{region}", region);
        let base = Url::parse(&url)
            .map_err(|e| HuaweiError::Transport(format!("bad {service} endpoint {url}: {e}")))?;
        let client = Self::new(base, credentials, Site::Cn, timeout, RetryPolicy::default())?;
        Ok(match observer {
            Some(o) => client.observed(o.clone()),
            None => client,
        })
    }

    /// The same client, telling `observer` of every attempt.
    #[must_use]
    pub fn observed(mut self, observer: CallObserver) -> Self {
        self.observer = Some(observer);
        self
    }

    /// Sends a request, retrying throttling and server errors.
    ///
    /// # Errors
    /// The last error once retries are spent, or at once for errors a retry cannot fix.
    pub async fn send(&self, req: &ApiRequest) -> Result<ApiResponse, HuaweiError> {
        let mut attempt = 1;
        loop {
            let started = std::time::Instant::now();
            let mut status = None;
            let result = self.send_once(req, &mut status).await;
            if let Some(observe) = &self.observer {
                let code = match (status, &result) {
                    (Some(s), _) => s.to_string(),
                    (None, Err((HuaweiError::Timeout(_), _))) => "timeout".into(),
                    (None, _) => "error".into(),
                };
                observe(&CallRecord {
                    api: req.api,
                    code,
                    seconds: started.elapsed().as_secs_f64(),
                    ok: result.is_ok(),
                });
            }
            match result {
                Ok(resp) => return Ok(resp),
                Err((e, retry_after)) if e.is_retryable() && attempt < self.retry.max_attempts => {
                    let wait = self.retry.delay(attempt, retry_after);
                    tracing::warn!(attempt, wait_ms = wait.as_millis() as u64, error = %e, "huawei call failed, retrying");
                    tokio::time::sleep(wait).await;
                    attempt += 1;
                }
                Err((e, _)) => return Err(e),
            }
        }
    }

    /// The `Host` header value for the base URL: host, and `:port` only when the URL names one.
    fn host(&self) -> String {
        let host = self.base.host_str().unwrap_or_default();
        match self.base.port() {
            Some(port) => format!("{host}:{port}"),
            None => host.to_string(),
        }
    }

    /// One attempt; `answered` is set to the HTTP status once there is one.
    async fn send_once(
        &self,
        req: &ApiRequest,
        answered: &mut Option<u16>,
    ) -> Result<ApiResponse, (HuaweiError, Option<Duration>)> {
        let host = self.host();
        let path = format!("{}{}", self.base.path().trim_end_matches('/'), req.path);
        let mut headers = req.headers.clone();
        headers.push((
            signer::DATE_HEADER.to_string(),
            signer::format_date(Utc::now()),
        ));
        let signed = signer::sign(
            &RequestParts {
                method: req.method.as_str(),
                host: &host,
                path: &path,
                query: &req.query,
                headers: &headers,
                body: &req.body,
            },
            self.credentials.access_key.expose(),
            self.credentials.secret_key.expose(),
        );
        // The URL carries exactly the signed path and query: the query is already encoded with
        // the unreserved set only, so `Url` leaves it as it is.
        let mut url_text = format!("{}://{}{}", self.base.scheme(), host, path);
        if !signed.canonical_query.is_empty() {
            url_text.push('?');
            url_text.push_str(&signed.canonical_query);
        }
        let url = Url::parse(&url_text).map_err(|e| {
            (
                HuaweiError::Transport(format!("bad request URL: {e}")),
                None,
            )
        })?;

        let mut map = HeaderMap::new();
        for (name, value) in headers.iter().chain(
            [
                ("Host".to_string(), host.clone()),
                ("Authorization".to_string(), signed.authorization.clone()),
            ]
            .iter(),
        ) {
            let name = HeaderName::from_bytes(name.as_bytes()).map_err(|_| {
                (
                    HuaweiError::Transport(format!("invalid header name {name}")),
                    None,
                )
            })?;
            let value = HeaderValue::from_str(value).map_err(|_| {
                (
                    HuaweiError::Transport(format!("invalid value for header {name}")),
                    None,
                )
            })?;
            map.insert(name, value);
        }
        let result = self
            .http
            .request(req.method.clone(), url)
            .headers(map)
            .body(req.body.clone())
            .send()
            .await;
        let resp = match result {
            Ok(r) => r,
            Err(e) if e.is_timeout() => return Err((HuaweiError::Timeout(self.timeout), None)),
            Err(e) => return Err((HuaweiError::Transport(error_chain(&e.without_url())), None)),
        };
        let status = resp.status().as_u16();
        *answered = Some(status);
        let request_id = resp
            .headers()
            .get("x-request-id")
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        let retry_after = resp
            .headers()
            .get("retry-after")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok())
            .map(Duration::from_secs);
        let body = match resp.bytes().await {
            Ok(b) => b.to_vec(),
            Err(e) if e.is_timeout() => return Err((HuaweiError::Timeout(self.timeout), None)),
            Err(e) => return Err((HuaweiError::Transport(error_chain(&e.without_url())), None)),
        };
        match classify(status, &body, request_id.clone(), self.site) {
            None => Ok(ApiResponse {
                status,
                request_id,
                body,
            }),
            Some(e) => Err((e, retry_after)),
        }
    }
}

/// An error and its sources on one line. Callers pass errors already stripped of URLs.
pub fn error_chain(e: &dyn std::error::Error) -> String {
    let mut out = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        let text = s.to_string();
        if !out.contains(&text) {
            out.push_str(": ");
            out.push_str(&text);
        }
        source = s.source();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_is_capped_and_honours_retry_after() {
        let p = RetryPolicy {
            max_attempts: 5,
            base_delay: Duration::from_millis(100),
            max_delay: Duration::from_millis(400),
        };
        for _ in 0..50 {
            let d1 = p.delay(1, None);
            assert!(d1 >= Duration::from_millis(50) && d1 <= Duration::from_millis(100));
            let d5 = p.delay(5, None);
            assert!(d5 <= Duration::from_millis(400));
            assert!(p.delay(1, Some(Duration::from_millis(300))) >= Duration::from_millis(300));
            assert!(p.delay(1, Some(Duration::from_secs(60))) <= Duration::from_millis(400));
        }
    }
}
