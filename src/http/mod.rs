//! The HTTP server: routes, shared state and graceful stop.
//!
//! Handlers read the in-memory snapshot and never call BSS. Each route lives in its own small
//! function here; the Alertmanager receiver is in [`webhook`], the status page and the history API
//! in [`page`], the listener and its limits in [`server`].

pub mod guard;
pub mod page;
pub mod server;
pub mod summary;
pub mod webhook;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use axum::extract::DefaultBodyLimit;
use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use chrono::Utc;
use serde_json::json;
use tokio_util::sync::CancellationToken;

use crate::config::Config;
use crate::engine::Engine;
use crate::level::Level;
use crate::metrics::Metrics;
use crate::snapshot::SharedSnapshot;
use crate::state::StateCell;

/// What every handler can reach.
#[derive(Clone)]
pub struct AppState {
    pub config: Arc<Config>,
    pub snapshot: SharedSnapshot,
    pub metrics: Arc<Metrics>,
    /// Set once the first poll finished (successfully or not).
    pub ready: Arc<AtomicBool>,
    /// The alerting engine (absent when only exporting).
    pub engine: Option<Arc<Engine>>,
    /// Whether the fallback evaluator is in charge.
    pub fallback_active: Arc<AtomicBool>,
    /// The state store (absent when only exporting): whether `STATE_DIR` is still writable.
    pub state: Option<Arc<StateCell>>,
    /// The history of remaining traffic.
    pub history: Arc<crate::history::HistoryStore>,
    /// The web configuration file in force (basic auth, headers), when one is given.
    pub web: Option<Arc<crate::webconfig::watch::Watch>>,
}

/// The router with every route. The web configuration file's users (when it has any) guard every
/// route but the webhook, which keeps its own token; the page and the read APIs also open with
/// `STATUS_TOKEN` when it is set. See [`guard`].
pub fn router(state: AppState) -> Router {
    use axum::middleware::from_fn_with_state;
    let read = Router::new()
        .route("/", get(page::page))
        .route("/api/v1/history", get(page::history))
        .route("/api/v1/status", get(status))
        .route("/api/v1/summary", get(summary::summary))
        .route_layer(from_fn_with_state(state.clone(), guard::read_routes));
    let other = Router::new()
        .route("/metrics", get(metrics))
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/-/healthy", get(healthy))
        .route("/-/ready", get(ready))
        .route_layer(from_fn_with_state(state.clone(), guard::other_routes));
    Router::new()
        .merge(read)
        .merge(other)
        .route(
            "/alertmanager",
            post(webhook::receive).layer(DefaultBodyLimit::max(webhook::MAX_BODY)),
        )
        .layer(from_fn_with_state(state.clone(), guard::headers))
        .with_state(state)
}

/// Serves until `cancel` fires, then finishes in-flight requests; within [`server::LIMITS`].
///
/// # Errors
/// When the listener fails.
pub async fn serve(
    listener: tokio::net::TcpListener,
    app: Router,
    cancel: CancellationToken,
) -> std::io::Result<()> {
    server::serve_with(listener, app, cancel, server::LIMITS).await
}

/// [`serve`] with the web configuration file's TLS, when it has some.
///
/// # Errors
/// When the listener fails.
pub async fn serve_web(
    listener: tokio::net::TcpListener,
    app: Router,
    cancel: CancellationToken,
    web: Option<Arc<crate::webconfig::watch::Watch>>,
) -> std::io::Result<()> {
    server::serve_web(listener, app, cancel, server::LIMITS, web).await
}

async fn metrics(State(s): State<AppState>, headers: HeaderMap) -> Response {
    let now = Utc::now();
    let user_agent = headers
        .get(header::USER_AGENT)
        .and_then(|v| v.to_str().ok());
    s.metrics.observe_scrape(user_agent, now);
    if let Some(state) = &s.state {
        s.metrics.set_state_writable(state.writable());
    }
    let cached = s.metrics.render_cached(&s.snapshot, &s.config, now).await;
    // The process figures change at every scrape; they follow the cached body.
    let process = crate::process::render(&crate::process::read());
    let mut body = Vec::with_capacity(cached.len() + process.len());
    body.extend_from_slice(&cached);
    body.extend_from_slice(process.as_bytes());
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        body,
    )
        .into_response()
}

/// `/-/healthy`, as Prometheus and Alertmanager answer it: the process answers.
async fn healthy() -> &'static str {
    "Flexus traffic monitor is Healthy.\n"
}

/// Why the monitor is not ready yet, if it is not: it has no good reading yet, or `STATE_DIR`
/// cannot be written (its last write failed). Pure.
pub fn not_ready(has_reading: bool, state_writable: bool) -> Option<&'static str> {
    if !has_reading {
        Some("no good reading from BSS yet")
    } else if !state_writable {
        Some("STATE_DIR cannot be written (the last write failed)")
    } else {
        None
    }
}

/// `/-/ready`: 200 once a first good reading arrived and while the state can be written, else
/// 503 with the reason (what a load balancer or a blackbox probe should see).
async fn ready(State(s): State<AppState>) -> Response {
    let has_reading = {
        let snap = s.snapshot.read().await;
        snap.last_success_at.is_some() || snap.packages.iter().any(|p| p.reading.is_some())
    };
    let writable = s.state.as_ref().is_none_or(|st| st.writable());
    match not_ready(has_reading, writable) {
        None => (StatusCode::OK, "Flexus traffic monitor is Ready.\n").into_response(),
        Some(why) => (
            StatusCode::SERVICE_UNAVAILABLE,
            format!("not ready: {why}\n"),
        )
            .into_response(),
    }
}

async fn healthz() -> &'static str {
    "ok\n"
}

async fn readyz(State(s): State<AppState>) -> Response {
    if s.ready.load(Ordering::Acquire) {
        (StatusCode::OK, "ready\n").into_response()
    } else {
        (
            StatusCode::SERVICE_UNAVAILABLE,
            "waiting for the first poll\n",
        )
            .into_response()
    }
}

/// Indented JSON, so that `curl` output is readable by a person.
fn pretty_json(v: &serde_json::Value) -> Response {
    match serde_json::to_string_pretty(v) {
        Ok(mut body) => {
            body.push('\n');
            ([(header::CONTENT_TYPE, "application/json")], body).into_response()
        }
        Err(e) => {
            tracing::error!(error = %e, "status does not serialize");
            StatusCode::INTERNAL_SERVER_ERROR.into_response()
        }
    }
}

async fn status(State(s): State<AppState>) -> Response {
    let now = Utc::now();
    let snap = s.snapshot.read().await.clone();
    let fresh: Vec<_> = snap
        .fresh(now, s.config.watch.reading_max_age)
        .into_iter()
        .map(|r| r.free_resource_id.clone())
        .collect();
    let several = s.config.several_accounts();
    let packages: Vec<_> = snap
        .packages
        .iter()
        .map(|p| {
            let is_fresh = fresh.contains(&p.free_resource_id);
            let reading = p.reading.as_ref().filter(|_| is_fresh);
            let mut one = json!({
                "free_resource_id": p.free_resource_id,
                "server": s.config.server_for(&p.free_resource_id),
                "reading": reading,
                "used_gb": reading.map(|r| r.used_gb()),
                // The level decisions go by: the bill, or the live estimate built on it when lower.
                "level": reading.map(|r| Level::of(p.judged_gb().unwrap_or(r.remaining_gb), &s.config.alerting.thresholds).label()),
                "estimate": p.current_estimate().filter(|_| is_fresh),
                "stale": p.reading.is_some() && !is_fresh,
                "error": p.error.as_ref().map(ToString::to_string),
            });
            if several {
                one["account"] = json!(p.account);
            }
            one
        })
        .collect();
    // With several accounts, each one's site, shutdown and polls (never its keys).
    let accounts: Option<Vec<_>> = several.then(|| {
        s.config
            .accounts
            .iter()
            .map(|a| {
                let poll = snap.accounts.iter().find(|x| x.name == a.name);
                json!({
                    "name": a.name,
                    "site": a.huawei.site.as_str(),
                    "bss_endpoint": a.huawei.bss_endpoint.as_str(),
                    "free_resource_ids": a.free_resource_ids,
                    "shutdown_mode": a.shutdown_mode,
                    "at_level_1": a.free_resource_ids.first().and_then(|id| s.config.no_shutdown_for(id)).map_or(json!("shutdown"), |why| json!({"no_shutdown": why})),
                    "up": poll.is_some_and(|x| x.up),
                    "polls": poll.map_or(0, |x| x.polls),
                    "last_poll_at": poll.and_then(|x| x.last_poll_at),
                    "last_success_at": poll.and_then(|x| x.last_success_at),
                    "last_error": poll.filter(|x| !x.up && x.polls > 0).map(|_| snap.problem_of(Some(&a.name)).to_string()),
                })
            })
            .collect()
    });
    let alerting = match &s.engine {
        None => serde_json::Value::Null,
        Some(e) => {
            let st = e.state.snapshot().await;
            json!({
                "fallback_mode": s.config.alerting.fallback,
                "fallback_active": s.fallback_active.load(Ordering::Acquire),
                "last_heartbeat": st.last_heartbeat,
                "memory": st.packages,
                "shutdown": {
                    "mode": s.config.shutdown.mode,
                    "at_level_1": s.config.no_shutdown().map_or(json!("shutdown"), |why| json!({"no_shutdown": why})),
                    "dry_run": s.config.shutdown.dry_run,
                    "countdown_running_for": e.guard.running_all(),
                    "countdowns": e.guard.countdowns(),
                    "records": st.shutdowns,
                    "stopped_by_this_process": st.stopped,
                    "cancelled_by_command": st.bot.holds,
                    "auto_start": s.config.shutdown.auto_start,
                },
                "actions": {
                    "configured": e.enforcer.settings().keys().iter().map(|k| k.id()).collect::<Vec<_>>(),
                    "active": e.enforcer.active().await,
                    "lifted_by_hand": st.actions.lifted_by_hand,
                    "local_packages": s.config.actions.local_packages,
                },
                "muted_until": st.bot.muted_until,
                "reports": {
                    "settings": s.config.alerting.reports,
                    "next": e.upcoming_reports(&st, now),
                    "sent": st.reports.sent,
                },
                "health": if st.account_health.is_empty() { json!(st.health) } else { json!(st.account_health) },
                "messages_pending": e.notifier.pending(),
                "messages_dead": e.notifier.dead(),
                "channels": e.notifier.per_channel().into_iter().map(|(name, pending, dead)| {
                    (name.to_string(), json!({"pending": pending, "dead": dead}))
                }).collect::<serde_json::Map<String, serde_json::Value>>(),
            })
        }
    };
    let state = s.state.as_ref().map(|st| {
        json!({
            "dir": st.dir().display().to_string(),
            "writable": st.writable(),
        })
    });
    let mut body = json!({
        "server": s.config.watch.server_name,
        "alerting": alerting,
        "state": state,
        "version": env!("CARGO_PKG_VERSION"),
        "thresholds_gb": s.config.alerting.thresholds,
        "bss": {
            "up": snap.up,
            "polls": snap.polls,
            "last_poll_at": snap.last_poll_at,
            "last_success_at": snap.last_success_at,
            // The whole call's error, else the first package's (a refused or held reading too).
            "last_error": (!snap.up && snap.polls > 0).then(|| snap.problem().to_string()),
        },
        "packages": packages,
        // The server's own egress counter (absent when EGRESS_COUNTER=off or no package is its).
        "egress": snap.live,
        "cloudeye": snap.cloudeye,
    });
    if let Some(a) = accounts {
        body["accounts"] = json!(a);
    }
    pretty_json(&body)
}
