//! A local fake of the Huawei ECS (stop/start, jobs, server status) and RMS APIs. It checks every
//! request's signature like the gateway — `X-Project-Id` (ECS) and `X-Domain-Id` (RMS) must be
//! signed and match the path — and can fail a job, leave it running forever, stall, or answer errors.

use std::collections::{HashMap, VecDeque};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::{Json, Router};

use flexus_traffic_monitor::huawei::gateway::{Refused, Signed};
use serde_json::{json, Value};

use super::{serve, TestKeys};

/// How the next action's job behaves.
#[derive(Debug, Clone)]
pub enum Job {
    /// RUNNING once, then SUCCESS (the server changes state).
    Succeed,
    /// RUNNING once, then FAIL.
    Fail,
    /// RUNNING forever.
    Never,
    /// The action itself is refused with this status and body.
    Refuse(u16, Value),
    /// The action answers only after this long.
    Stall(Duration),
}

#[derive(Debug, Clone)]
struct JobState {
    kind: String,
    server: String,
    behaviour: Job,
    polls: u32,
}

#[derive(Default)]
struct Inner {
    /// server id → (project id, status)
    servers: HashMap<String, (String, String)>,
    jobs: HashMap<String, JobState>,
    script: VecDeque<Job>,
    /// (action, server id, stop type)
    actions: Vec<(String, String, String)>,
    instances: Vec<Value>,
    bad_signatures: u64,
    /// While true, server status answers wait (see [`FakeCloud::hold_status`]).
    status_held: Option<tokio::sync::watch::Receiver<bool>>,
    status_requests: usize,
}

#[derive(Clone)]
pub struct FakeCloud {
    pub addr: SocketAddr,
    inner: Arc<Mutex<Inner>>,
}

impl FakeCloud {
    pub async fn start() -> Self {
        let inner = Arc::new(Mutex::new(Inner::default()));
        let addr = serve(Router::new().fallback(handle).with_state(inner.clone())).await;
        Self { addr, inner }
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Server status answers wait until the returned sender sends `false` (or is dropped).
    pub fn hold_status(&self) -> tokio::sync::watch::Sender<bool> {
        let (tx, rx) = tokio::sync::watch::channel(true);
        self.inner.lock().unwrap().status_held = Some(rx);
        tx
    }

    /// How many server status requests arrived.
    pub fn status_requests(&self) -> usize {
        self.inner.lock().unwrap().status_requests
    }

    /// Adds a server (status ACTIVE) and its Flexus L instance for RMS.
    pub fn add_server(
        &self,
        name: &str,
        server_id: &str,
        project: &str,
        region: &str,
        package: &str,
    ) {
        let mut g = self.inner.lock().unwrap();
        g.servers
            .insert(server_id.into(), (project.into(), "ACTIVE".into()));
        g.instances.push(json!({
            "id": format!("inst-{server_id}"), "name": name, "provider": "hcss", "type": "l-instance",
            "region_id": region, "project_id": project,
            "properties": { "status": "ACTIVE", "resources": [
                {"logical_resource_type": "huaweicloudinternal_ecs_instance", "physical_resource_id": server_id},
                {"logical_resource_type": "huaweicloudinternal_cbc_freeresource", "physical_resource_id": package}
            ]}
        }));
    }

    pub fn status(&self, server_id: &str) -> String {
        self.inner.lock().unwrap().servers[server_id].1.clone()
    }

    pub fn set_status(&self, server_id: &str, status: &str) {
        self.inner
            .lock()
            .unwrap()
            .servers
            .get_mut(server_id)
            .unwrap()
            .1 = status.into();
    }

    pub fn push(&self, job: Job) {
        self.inner.lock().unwrap().script.push_back(job);
    }

    /// (action, server id, stop type) of every accepted action.
    pub fn actions(&self) -> Vec<(String, String, String)> {
        self.inner.lock().unwrap().actions.clone()
    }

    pub fn bad_signatures(&self) -> u64 {
        self.inner.lock().unwrap().bad_signatures
    }
}

fn err(status: u16, code: &str, msg: &str) -> Response {
    (
        StatusCode::from_u16(status).unwrap(),
        Json(
            json!({"error": {"code": code, "message": msg}, "error_code": code, "error_msg": msg}),
        ),
    )
        .into_response()
}

async fn handle(
    State(inner): State<Arc<Mutex<Inner>>>,
    signed: Result<Signed<TestKeys>, Refused>,
) -> Response {
    let signed = match signed {
        Ok(s) => s,
        Err(r) => {
            inner.lock().unwrap().bad_signatures += 1;
            return err(401, "APIGW.0301", &r.message());
        }
    };
    let header = |n: &str| signed.header(n).map(str::to_string);
    let (uri, body) = (&signed.uri, &signed.body);
    let parts: Vec<&str> = uri.path().trim_matches('/').split('/').collect();
    match parts.as_slice() {
        ["v1", "resource-manager", "domains", domain, "all-resources"] => {
            if !signed.is_signed("x-domain-id") || header("x-domain-id").as_deref() != Some(*domain)
            {
                return err(
                    403,
                    "RMS.00010001",
                    "X-Domain-Id must be signed and match the path",
                );
            }
            let g = inner.lock().unwrap();
            // One instance per page, to exercise paging.
            let query = uri.query().unwrap_or("");
            let start: usize = query
                .split('&')
                .find_map(|kv| kv.strip_prefix("marker="))
                .and_then(|m| m.parse().ok())
                .unwrap_or(0);
            let page: Vec<Value> = g.instances.iter().skip(start).take(1).cloned().collect();
            let next = if start + 1 < g.instances.len() {
                json!((start + 1).to_string())
            } else {
                Value::Null
            };
            Json(json!({"resources": page, "page_info": {"current_count": page.len(), "next_marker": next}})).into_response()
        }
        ["v1", project, rest @ ..] => {
            if !signed.is_signed("x-project-id")
                || header("x-project-id").as_deref() != Some(*project)
            {
                return err(
                    403,
                    "Ecs.0001",
                    "X-Project-Id must be signed and match the path",
                );
            }
            ecs(&inner, project, rest, body).await
        }
        _ => err(404, "APIGW.0101", "The API does not exist"),
    }
}

async fn ecs(inner: &Arc<Mutex<Inner>>, project: &str, rest: &[&str], body: &[u8]) -> Response {
    match rest {
        ["cloudservers", "action"] => {
            let v: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
            let (kind, spec) = if let Some(s) = v.get("os-stop") {
                ("os-stop", s)
            } else if let Some(s) = v.get("os-start") {
                ("os-start", s)
            } else {
                return err(400, "Ecs.0005", "unknown action");
            };
            let server = spec["servers"][0]["id"]
                .as_str()
                .unwrap_or_default()
                .to_string();
            let stop_type = spec["type"].as_str().unwrap_or("").to_string();
            let behaviour = {
                let mut g = inner.lock().unwrap();
                if g.servers.get(&server).map(|(p, _)| p.as_str()) != Some(project) {
                    return err(404, "Ecs.0114", "server not found in this project");
                }
                g.script.pop_front().unwrap_or(Job::Succeed)
            };
            match &behaviour {
                Job::Refuse(status, body) => {
                    return (StatusCode::from_u16(*status).unwrap(), Json(body.clone()))
                        .into_response()
                }
                Job::Stall(d) => tokio::time::sleep(*d).await,
                _ => {}
            }
            let mut g = inner.lock().unwrap();
            g.actions
                .push((kind.to_string(), server.clone(), stop_type));
            let id = format!("job-{}", g.jobs.len() + 1);
            g.jobs.insert(
                id.clone(),
                JobState {
                    kind: kind.to_string(),
                    server,
                    behaviour,
                    polls: 0,
                },
            );
            Json(json!({"job_id": id})).into_response()
        }
        ["jobs", id] => {
            let mut g = inner.lock().unwrap();
            let Some(job) = g.jobs.get_mut(*id) else {
                return err(404, "Ecs.0200", "job not found");
            };
            job.polls += 1;
            let status = match (&job.behaviour, job.polls) {
                (_, 1) | (Job::Never, _) => "RUNNING",
                (Job::Fail, _) => "FAIL",
                _ => "SUCCESS",
            };
            let (kind, server) = (job.kind.clone(), job.server.clone());
            if status == "SUCCESS" {
                let new = if kind == "os-stop" {
                    "SHUTOFF"
                } else {
                    "ACTIVE"
                };
                if let Some(s) = g.servers.get_mut(&server) {
                    s.1 = new.into();
                }
            }
            let mut answer = json!({"job_id": id, "status": status, "job_type": kind});
            if status == "FAIL" {
                // As the real ECS answers a failed job: HTTP 200, its own code and reason.
                answer["error_code"] = json!("Ecs.0021");
                answer["fail_reason"] = json!("the server is locked by another operation");
            }
            Json(answer).into_response()
        }
        ["cloudservers", id] => {
            let held = {
                let mut g = inner.lock().unwrap();
                g.status_requests += 1;
                g.status_held.clone()
            };
            if let Some(mut held) = held {
                let _ = held.wait_for(|h| !*h).await;
            }
            let g = inner.lock().unwrap();
            match g.servers.get(*id) {
                Some((_, status)) => {
                    Json(json!({"server": {"id": id, "status": status}})).into_response()
                }
                None => err(404, "Ecs.0114", "server not found"),
            }
        }
        _ => err(404, "APIGW.0101", "The API does not exist"),
    }
}
