//! `POST /alertmanager`: the Alertmanager webhook receiver.
//!
//! Answers follow Alertmanager's retry rules: it retries a webhook only on a 5xx answer (or no
//! answer), and drops it for good on any 4xx, 429 included. So:
//! - 200 once the alerts are durably recorded;
//! - 400 for a malformed payload, 401 for a bad or missing token, 403 for a browser's request
//!   without a token (below), 413 past the body limit (set on the route): retrying the same
//!   request cannot help, and Alertmanager drops it;
//! - 503 with `Retry-After` whenever we could not record the alerts — the outbox or the state
//!   cannot be written, the state stays locked past [`crate::engine::WEBHOOK_LOCK_WAIT`] under
//!   load, alerting is not running — so that Alertmanager retries. Never 429: Alertmanager would
//!   drop the alert.
//!
//! Slow work — a shutdown countdown — runs in the background, because each delivery must finish
//! within Alertmanager's timeout.
//!
//! Grafana's webhook contact point sends the same shape (with `orgId`, `state`, `title`); it is
//! accepted here as it is (see `alertmanager` for what is trusted in it).
//!
//! Cross-site requests: without `WEBHOOK_TOKEN` (allowed on loopback only), any web page the
//! operator opens could make their browser POST a forged alert to `127.0.0.1`. A browser can send
//! such a POST without asking first only with a "simple" content type (`text/plain`, forms), and it
//! always adds an `Origin` header to a POST; Alertmanager sends `application/json` and never an
//! `Origin`. So a request without a token that carries an `Origin`, or a content type other than
//! JSON, is refused with 403. We chose this over requiring a token always: a token-less loopback
//! receiver is the simplest correct setup on one host, and the check closes the browser path
//! (including DNS rebinding, which still sends `Origin`) without breaking it. With a token, the
//! token is the proof: a page cannot know it.

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use chrono::Utc;

use super::AppState;
use crate::alertmanager::{authorized, Payload};
use crate::engine::RecordError;
use crate::metrics::WebhookResult;

/// Largest accepted body. Alertmanager's payloads are a few KiB per alert.
pub const MAX_BODY: usize = 1024 * 1024;

/// The `Retry-After` of a 503, in seconds. Alertmanager ignores it (it backs off on its own), other
/// senders may not.
pub const RETRY_AFTER_SECS: u32 = 10;

fn answer(s: &AppState, status: StatusCode, result: WebhookResult, text: &str) -> Response {
    s.metrics.webhook(result);
    let mut r = (status, format!("{text}\n")).into_response();
    if status == StatusCode::SERVICE_UNAVAILABLE {
        r.headers_mut()
            .insert(header::RETRY_AFTER, RETRY_AFTER_SECS.into());
    }
    r
}

/// Why a token-less request looks like it came from a browser, if it does. Pure.
pub fn browser_request(headers: &HeaderMap) -> Option<&'static str> {
    if headers.contains_key(header::ORIGIN) {
        return Some("it carries an Origin header");
    }
    let json = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|m| m.trim().eq_ignore_ascii_case("application/json"));
    (!json).then_some("its content type is not application/json")
}

pub async fn receive(
    State(s): State<AppState>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    if s.config.http.webhook_token.is_none() {
        if let Some(why) = browser_request(&headers) {
            return answer(
                &s,
                StatusCode::FORBIDDEN,
                WebhookResult::Forbidden,
                &format!(
                    "refused: {why}, as a request from a web browser would; Alertmanager sends \
                     application/json without Origin (set WEBHOOK_TOKEN to accept other clients)"
                ),
            );
        }
    }
    if let Some(token) = &s.config.http.webhook_token {
        let auth = headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok());
        if !authorized(auth, token.expose()) {
            return answer(
                &s,
                StatusCode::UNAUTHORIZED,
                WebhookResult::Unauthorized,
                "missing or wrong token (send WEBHOOK_TOKEN as a Bearer token)",
            );
        }
    }
    // The body limit's 413 is answered here rather than by axum, so it is counted.
    let body = match body {
        Ok(b) => b,
        Err(e) if e.status() == StatusCode::PAYLOAD_TOO_LARGE => {
            return answer(
                &s,
                StatusCode::PAYLOAD_TOO_LARGE,
                WebhookResult::TooLarge,
                &format!("body larger than {MAX_BODY} bytes"),
            )
        }
        Err(e) => {
            return answer(
                &s,
                e.status(),
                WebhookResult::BadRequest,
                &format!("cannot read the body: {e}"),
            )
        }
    };
    let payload: Payload = match serde_json::from_slice(&body) {
        Ok(p) => p,
        Err(e) => {
            return answer(
                &s,
                StatusCode::BAD_REQUEST,
                WebhookResult::BadRequest,
                &format!("not an Alertmanager webhook payload: {e}"),
            )
        }
    };
    let Some(engine) = &s.engine else {
        return answer(
            &s,
            StatusCode::SERVICE_UNAVAILABLE,
            WebhookResult::Unavailable,
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
            s.metrics.webhook(WebhookResult::Ok);
            (StatusCode::OK, Json(summary)).into_response()
        }
        Err(e @ RecordError::Busy(_)) => {
            tracing::warn!(error = %e, "webhook refused for now");
            answer(
                &s,
                StatusCode::SERVICE_UNAVAILABLE,
                WebhookResult::Busy,
                "busy; retry later",
            )
        }
        Err(e) => {
            tracing::error!(error = %e, "webhook could not be recorded");
            answer(
                &s,
                StatusCode::SERVICE_UNAVAILABLE,
                WebhookResult::Unavailable,
                "could not record the alerts; retry later",
            )
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn headers(pairs: &[(header::HeaderName, &'static str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(k.clone(), HeaderValue::from_static(v));
        }
        h
    }

    #[test]
    fn alertmanager_requests_pass_browser_ones_do_not() {
        // What Alertmanager 0.25 sends.
        assert_eq!(
            browser_request(&headers(&[(header::CONTENT_TYPE, "application/json")])),
            None
        );
        assert_eq!(
            browser_request(&headers(&[(
                header::CONTENT_TYPE,
                "Application/JSON; charset=utf-8"
            )])),
            None
        );
        for h in [
            headers(&[(header::CONTENT_TYPE, "text/plain")]),
            headers(&[(header::CONTENT_TYPE, "application/x-www-form-urlencoded")]),
            headers(&[(header::CONTENT_TYPE, "multipart/form-data; boundary=x")]),
            headers(&[]),
            headers(&[
                (header::CONTENT_TYPE, "application/json"),
                (header::ORIGIN, "https://evil.example"),
            ]),
            headers(&[
                (header::CONTENT_TYPE, "application/json"),
                (header::ORIGIN, "null"),
            ]),
        ] {
            assert!(browser_request(&h).is_some(), "{h:?}");
        }
    }
}
