//! `POST /alertmanager`: the Alertmanager webhook receiver.
//!
//! Answers (design doc): 200 once the alerts are durably recorded; 400 for a malformed payload
//! (Alertmanager does not retry it); 401 for a bad or missing token; 413 past the body limit (set on
//! the route); 503 when recording failed (Alertmanager retries). Slow work — a shutdown countdown —
//! runs in the background, because each delivery must finish within Alertmanager's timeout.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use chrono::Utc;

use super::AppState;
use crate::alertmanager::{authorized, Payload};

/// Largest accepted body. Alertmanager's payloads are a few KiB per alert.
pub const MAX_BODY: usize = 1024 * 1024;

fn answer(s: &AppState, status: StatusCode, result: &str, text: &str) -> Response {
    s.metrics.webhooks.with_label_values(&[result]).inc();
    (status, format!("{text}\n")).into_response()
}

pub async fn receive(State(s): State<AppState>, headers: HeaderMap, body: Bytes) -> Response {
    if let Some(token) = &s.config.http.webhook_token {
        let auth = headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok());
        if !authorized(auth, token.expose()) {
            return answer(
                &s,
                StatusCode::UNAUTHORIZED,
                "unauthorized",
                "missing or wrong token (send WEBHOOK_TOKEN as a Bearer token)",
            );
        }
    }
    let payload: Payload = match serde_json::from_slice(&body) {
        Ok(p) => p,
        Err(e) => {
            return answer(
                &s,
                StatusCode::BAD_REQUEST,
                "bad_request",
                &format!("not an Alertmanager webhook payload: {e}"),
            )
        }
    };
    let Some(engine) = &s.engine else {
        return answer(
            &s,
            StatusCode::SERVICE_UNAVAILABLE,
            "unavailable",
            "alerting is not running",
        );
    };
    match engine.webhook(&payload, Utc::now()).await {
        Ok(summary) => {
            tracing::info!(
                alerts = summary.alerts,
                messages = summary.messages,
                heartbeats = summary.heartbeats,
                duplicates = summary.duplicates,
                "webhook recorded"
            );
            s.metrics.webhooks.with_label_values(&["ok"]).inc();
            (StatusCode::OK, Json(summary)).into_response()
        }
        Err(e) => {
            tracing::error!(error = %e, "webhook could not be recorded");
            answer(
                &s,
                StatusCode::SERVICE_UNAVAILABLE,
                "unavailable",
                "could not record the alerts; retry later",
            )
        }
    }
}
