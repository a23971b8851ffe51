//! The ECS client: stop and start a Flexus L instance (its ECS server underneath) and follow the
//! job to its end (Huawei API notes §5: `cloudservers/action` with `os-stop`/`os-start`, then
//! `jobs/{job_id}` until `SUCCESS` or `FAIL`). Requests carry and sign `X-Project-Id`.

use std::time::{Duration, Instant};

use reqwest::Method;
use serde::Deserialize;
use serde_json::{json, Value};

use super::error::HuaweiError;
use super::transport::{ApiRequest, Credentials, SignedClient};
use crate::target::Target;

/// Builds ECS clients for instances in any region and project.
#[derive(Clone)]
pub struct EcsFactory {
    pub credentials: Credentials,
    /// Base URL; `{region}` is replaced by the instance's region.
    pub endpoint: String,
    pub timeout: Duration,
    /// Told of every call (the `ecs` source's self-metrics).
    pub observer: Option<super::transport::CallObserver>,
}

impl std::fmt::Debug for EcsFactory {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EcsFactory")
            .field("credentials", &self.credentials)
            .field("endpoint", &self.endpoint)
            .field("timeout", &self.timeout)
            .finish()
    }
}

impl EcsFactory {
    /// A client for the project and region of `target`.
    ///
    /// # Errors
    /// When the endpoint is not a URL or the HTTP client cannot be built.
    pub fn client(&self, target: &Target) -> Result<EcsClient, HuaweiError> {
        let client = SignedClient::regional(
            "ECS",
            &self.endpoint,
            &target.region,
            self.credentials.clone(),
            self.timeout,
            self.observer.as_ref(),
        )?;
        Ok(EcsClient::new(client, target.project_id.clone()))
    }
}

/// A server's status as ECS reports it (`ACTIVE`, `SHUTOFF`, `REBOOT`, ...).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerStatus(pub String);

impl ServerStatus {
    /// Stopped: what the guard leaves alone and `AUTO_START` may start.
    pub fn is_shutoff(&self) -> bool {
        self.0 == "SHUTOFF"
    }
}

impl std::fmt::Display for ServerStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// How a job ended.
#[derive(Debug, Clone, PartialEq)]
pub enum JobOutcome {
    Success,
    /// The job ended `FAIL`: its own reason as the cloud wrote it (`Ecs.0503: …`), if it gave one.
    Failed(Option<String>),
    /// The job could not be followed (an error a retry cannot fix).
    Unfollowable(HuaweiError),
    /// Still not finished when the wait ended: its last status, or the last error while polling.
    TimedOut(Result<String, HuaweiError>),
}

/// What an ECS action does to an instance.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EcsOp {
    /// `os-stop` `SOFT`: the OS shuts down.
    StopSoft,
    /// `os-stop` `HARD`: power off.
    StopHard,
    /// `os-start`.
    Start,
}

impl EcsOp {
    /// The API's name of it.
    pub fn api_name(self) -> &'static str {
        match self {
            Self::StopSoft => "os-stop SOFT",
            Self::StopHard => "os-stop HARD",
            Self::Start => "os-start",
        }
    }
}

/// Why an ECS action on an instance did not succeed.
#[derive(Debug, Clone, PartialEq)]
pub enum EcsFailure {
    /// The call (or building the client) failed.
    Request(HuaweiError),
    /// The job ended `FAIL`, with the cloud's reason if any.
    JobFailed { job: String, reason: Option<String> },
    /// The job could not be followed.
    Unfollowable { job: String, error: HuaweiError },
    /// The job had not ended after `waited`.
    Unfinished {
        job: String,
        waited: Duration,
        last: Result<String, HuaweiError>,
    },
}

impl EcsFailure {
    /// The failure of a job that did not succeed; `None` for a success.
    pub fn of_job(job: &str, outcome: JobOutcome, waited: Duration) -> Option<Self> {
        let job = job.to_string();
        match outcome {
            JobOutcome::Success => None,
            JobOutcome::Failed(reason) => Some(Self::JobFailed { job, reason }),
            JobOutcome::Unfollowable(error) => Some(Self::Unfollowable { job, error }),
            JobOutcome::TimedOut(last) => Some(Self::Unfinished { job, waited, last }),
        }
    }
}

impl std::fmt::Display for EcsFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Request(e) => write!(f, "the request failed: {e}"),
            Self::JobFailed { job, reason } => write!(
                f,
                "job {job} failed: {}",
                reason.as_deref().unwrap_or("no reason given")
            ),
            Self::Unfollowable { job, error } => write!(f, "cannot follow job {job}: {error}"),
            Self::Unfinished { job, waited, last } => {
                write!(
                    f,
                    "job {job} not finished after {} (",
                    humantime::format_duration(*waited)
                )?;
                match last {
                    Ok(status) => write!(f, "status {status})"),
                    Err(e) => write!(f, "error while polling: {e})"),
                }
            }
        }
    }
}

#[derive(Deserialize)]
struct JobAnswer {
    #[serde(default)]
    job_id: Option<String>,
    #[serde(default)]
    status: Option<String>,
    #[serde(default)]
    fail_reason: Option<String>,
    #[serde(default)]
    error_code: Option<String>,
    #[serde(default)]
    entities: Option<JobEntities>,
}

#[derive(Deserialize)]
struct JobEntities {
    #[serde(default)]
    sub_jobs: Vec<JobAnswer>,
}

impl JobAnswer {
    /// Why the job failed, as the job says (`error_code: fail_reason`), or the first failed
    /// sub-job's reason when the job itself gives none.
    fn failure(&self) -> Option<String> {
        let code = self.error_code.as_deref().filter(|c| !c.is_empty());
        let reason = self.fail_reason.as_deref().filter(|r| !r.is_empty());
        let own = match (code, reason) {
            (Some(c), Some(r)) if r.contains(c) => Some(r.to_string()),
            (Some(c), Some(r)) => Some(format!("{c}: {r}")),
            (Some(x), None) | (None, Some(x)) => Some(x.to_string()),
            (None, None) => None,
        };
        own.or_else(|| {
            self.entities
                .iter()
                .flat_map(|e| &e.sub_jobs)
                .find_map(JobAnswer::failure)
        })
    }
}

#[derive(Deserialize)]
struct ServerAnswer {
    server: Option<ServerBody>,
}

#[derive(Deserialize)]
struct ServerBody {
    #[serde(default)]
    status: Option<String>,
}

/// A client for one project in one region.
#[derive(Debug, Clone)]
pub struct EcsClient {
    client: SignedClient,
    project_id: String,
}

impl EcsClient {
    pub fn new(client: SignedClient, project_id: String) -> Self {
        Self { client, project_id }
    }

    fn request(
        &self,
        api: &'static str,
        method: Method,
        path: String,
        body: Option<&Value>,
    ) -> ApiRequest {
        ApiRequest {
            api,
            method,
            path,
            query: Vec::new(),
            headers: vec![
                (
                    "Content-Type".to_string(),
                    "application/json;charset=utf-8".to_string(),
                ),
                ("X-Project-Id".to_string(), self.project_id.clone()),
            ],
            body: body
                .map(|b| serde_json::to_vec(b).expect("JSON serializes"))
                .unwrap_or_default(),
        }
    }

    fn parse<T: serde::de::DeserializeOwned>(
        body: &[u8],
        request_id: Option<String>,
    ) -> Result<T, HuaweiError> {
        serde_json::from_slice(body).map_err(|e| HuaweiError::BadResponse {
            reason: format!("invalid JSON: {e}"),
            request_id,
        })
    }

    async fn action(&self, api: &'static str, body: Value) -> Result<String, HuaweiError> {
        let req = self.request(
            api,
            Method::POST,
            format!("/v1/{}/cloudservers/action", self.project_id),
            Some(&body),
        );
        let resp = self.client.send(&req).await?;
        let answer: JobAnswer = Self::parse(&resp.body, resp.request_id.clone())?;
        answer
            .job_id
            .filter(|j| !j.is_empty())
            .ok_or(HuaweiError::BadResponse {
                reason: "no job_id in the answer".into(),
                request_id: resp.request_id,
            })
    }

    /// Starts `os-stop` (`SOFT`: OS shutdown; `HARD`: power off) and returns the job id.
    ///
    /// # Errors
    /// The API's error.
    pub async fn stop(&self, server_id: &str, hard: bool) -> Result<String, HuaweiError> {
        let kind = if hard { "HARD" } else { "SOFT" };
        self.action(
            "BatchStopServers",
            json!({ "os-stop": { "type": kind, "servers": [{ "id": server_id }] } }),
        )
        .await
    }

    /// Starts `os-start` and returns the job id.
    ///
    /// # Errors
    /// The API's error.
    pub async fn start(&self, server_id: &str) -> Result<String, HuaweiError> {
        self.action(
            "BatchStartServers",
            json!({ "os-start": { "servers": [{ "id": server_id }] } }),
        )
        .await
    }

    /// The status of a job (`SUCCESS`, `RUNNING`, `INIT`, `FAIL`) and its failure reason.
    ///
    /// # Errors
    /// The API's error.
    pub async fn job(&self, job_id: &str) -> Result<(String, Option<String>), HuaweiError> {
        let req = self.request(
            "ShowJob",
            Method::GET,
            format!("/v1/{}/jobs/{job_id}", self.project_id),
            None,
        );
        let resp = self.client.send(&req).await?;
        let answer: JobAnswer = Self::parse(&resp.body, resp.request_id.clone())?;
        let failure = answer.failure();
        let status = answer.status.ok_or(HuaweiError::BadResponse {
            reason: "no status in the job".into(),
            request_id: resp.request_id,
        })?;
        Ok((status, failure))
    }

    /// The server's status (`ACTIVE`, `SHUTOFF`, ...).
    ///
    /// # Errors
    /// The API's error.
    pub async fn server_status(&self, server_id: &str) -> Result<ServerStatus, HuaweiError> {
        let req = self.request(
            "ShowServer",
            Method::GET,
            format!("/v1/{}/cloudservers/{server_id}", self.project_id),
            None,
        );
        let resp = self.client.send(&req).await?;
        let answer: ServerAnswer = Self::parse(&resp.body, resp.request_id.clone())?;
        answer
            .server
            .and_then(|s| s.status)
            .map(ServerStatus)
            .ok_or(HuaweiError::BadResponse {
                reason: "no server status in the answer".into(),
                request_id: resp.request_id,
            })
    }

    /// Polls a job until it ends or `timeout` passes. Transient errors while polling are retried
    /// until the deadline.
    pub async fn wait(&self, job_id: &str, timeout: Duration) -> JobOutcome {
        let every = (timeout / 20).clamp(Duration::from_millis(200), Duration::from_secs(5));
        let deadline = Instant::now() + timeout;
        loop {
            let last = match self.job(job_id).await {
                Ok((status, reason)) => match status.as_str() {
                    "SUCCESS" => return JobOutcome::Success,
                    "FAIL" => return JobOutcome::Failed(reason),
                    _ => Ok(status),
                },
                Err(e)
                    if e.is_retryable()
                        || matches!(e, HuaweiError::Timeout(_) | HuaweiError::Transport(_)) =>
                {
                    Err(e)
                }
                Err(e) => return JobOutcome::Unfollowable(e),
            };
            if Instant::now() + every > deadline {
                return JobOutcome::TimedOut(last);
            }
            tokio::time::sleep(every).await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn failure(body: &str) -> Option<String> {
        serde_json::from_str::<JobAnswer>(body)
            .expect("JSON")
            .failure()
    }

    #[test]
    fn a_failed_job_reports_its_own_code_and_reason() {
        assert_eq!(
            failure(
                r#"{"status":"FAIL","error_code":"Ecs.0503","fail_reason":"instance is locked"}"#
            ),
            Some("Ecs.0503: instance is locked".into())
        );
        assert_eq!(
            failure(r#"{"status":"FAIL","error_code":"Ecs.0503","fail_reason":"Ecs.0503 locked"}"#),
            Some("Ecs.0503 locked".into())
        );
        assert_eq!(
            failure(
                r#"{"status":"FAIL","error_code":null,"fail_reason":null,"entities":{"sub_jobs":[{"status":"SUCCESS"},{"status":"FAIL","error_code":"Ecs.0021","fail_reason":"busy"}]}}"#
            ),
            Some("Ecs.0021: busy".into())
        );
        assert_eq!(
            failure(r#"{"status":"SUCCESS","error_code":null,"fail_reason":null}"#),
            None
        );
    }
}
