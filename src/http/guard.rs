//! Who may reach which route, and the response headers of the web configuration file.
//!
//! - The web configuration file's `basic_auth_users`, when there are any, guard every route except
//!   `/alertmanager`: Alertmanager sends one `Authorization` header, which carries the webhook's own
//!   `WEBHOOK_TOKEN` (checked in [`super::webhook`]).
//! - `STATUS_TOKEN`, when set, guards the page and the read APIs (`/`, `/api/v1/*`), as before. With
//!   both, either opens them: a user of the file has full access (as in exporter-toolkit), and the
//!   read-only token keeps working for dashboards that send it as a Bearer token.
//! - `http_server_config.headers` go on every response, the webhook's and refusals too.

use axum::extract::{Request, State};
use axum::http::{header, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::AppState;

/// Whether a request may pass, given whether its basic auth matched a user of the file (`None`:
/// the file has no users) and whether it carries `STATUS_TOKEN` (`None`: no token is set). `read`:
/// the page and the read APIs. Pure.
pub fn allowed(basic: Option<bool>, token: Option<bool>, read: bool) -> bool {
    if basic == Some(true) {
        return true;
    }
    if read {
        token == Some(true) || (basic.is_none() && token.is_none())
    } else {
        basic.is_none()
    }
}

/// The page and the read APIs.
pub async fn read_routes(State(s): State<AppState>, req: Request, next: Next) -> Response {
    check(&s, req, next, true).await
}

/// `/metrics` and the health checks.
pub async fn other_routes(State(s): State<AppState>, req: Request, next: Next) -> Response {
    check(&s, req, next, false).await
}

async fn check(s: &AppState, req: Request, next: Next, read: bool) -> Response {
    let auth = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok());
    let basic = match &s.web {
        Some(w) => w.basic_auth(auth).await,
        None => None,
    };
    let token = if read {
        s.config
            .http
            .status_token
            .as_ref()
            .map(|t| crate::alertmanager::authorized(auth, t.expose()))
    } else {
        None
    };
    if allowed(basic, token, read) {
        return next.run(req).await;
    }
    let why = match (basic.is_some(), token.is_some()) {
        (true, true) => "send a user and password of the web configuration file (basic auth), or STATUS_TOKEN as a Bearer token\n",
        (true, false) => "send a user and password of the web configuration file (basic auth)\n",
        _ => "STATUS_TOKEN is set: send it as a Bearer token, or as the password (any user name)\n",
    };
    (
        StatusCode::UNAUTHORIZED,
        [(
            header::WWW_AUTHENTICATE,
            "Basic realm=\"flexus-traffic-monitor\", charset=\"UTF-8\"",
        )],
        why,
    )
        .into_response()
}

/// Adds `http_server_config.headers` to every response.
pub async fn headers(State(s): State<AppState>, req: Request, next: Next) -> Response {
    let mut response = next.run(req).await;
    if let Some(w) = &s.web {
        for (name, value) in &w.current().headers {
            response.headers_mut().insert(name.clone(), value.clone());
        }
    }
    response
}

#[cfg(test)]
mod tests {
    use super::allowed;

    #[test]
    fn users_of_the_file_guard_every_route_and_the_status_token_opens_only_the_read_ones() {
        // Nothing configured: open.
        assert!(allowed(None, None, true) && allowed(None, None, false));
        // Users: a matching one passes everywhere, anyone else nowhere.
        assert!(allowed(Some(true), None, true) && allowed(Some(true), None, false));
        assert!(!allowed(Some(false), None, true) && !allowed(Some(false), None, false));
        // STATUS_TOKEN alone guards the read routes only.
        assert!(allowed(None, Some(true), true) && !allowed(None, Some(false), true));
        assert!(allowed(None, None, false));
        // Both: either opens the read routes; only a user opens the others.
        assert!(allowed(Some(false), Some(true), true));
        assert!(allowed(Some(true), Some(false), true));
        assert!(!allowed(Some(false), Some(false), true));
        assert!(!allowed(Some(false), None, false));
    }
}
