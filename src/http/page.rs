//! `GET /` (the status page) and `GET /api/v1/history`: gather plain copies of what the page
//! shows and hand them to [`crate::page`], which decides and renders.

use std::collections::BTreeMap;
use std::sync::atomic::Ordering;

use axum::extract::{Query, State};
use axum::http::header;
use axum::response::{Html, IntoResponse, Response};
use axum::Json;
use chrono::Utc;
use serde::Deserialize;
use serde_json::json;

use super::AppState;
use crate::messages::Lang;
use crate::page::{self, AlertingInputs, Inputs};

/// `?lang=zh|en` overrides `MESSAGE_LANG` for one view.
#[derive(Debug, Deserialize)]
pub struct PageQuery {
    lang: Option<String>,
}

/// The status page.
pub async fn page(State(s): State<AppState>, Query(q): Query<PageQuery>) -> Response {
    let mut settings = page::Settings::from_config(&s.config);
    if let Some(lang) = q.lang.as_deref().and_then(|l| l.parse::<Lang>().ok()) {
        settings.lang = lang;
    }
    let snapshot = s.snapshot.read().await.clone();
    let alerting = match &s.engine {
        None => None,
        Some(e) => Some(AlertingInputs {
            state: e.state.snapshot().await,
            countdowns: e.guard.countdowns(),
            outbox: e.notifier.outbox_view(),
            channels: e
                .notifier
                .lanes()
                .iter()
                .map(|l| l.name())
                .filter(|n| *n != "console")
                .map(str::to_string)
                .collect(),
            fallback_active: s.fallback_active.load(Ordering::Acquire),
        }),
    };
    let history = s.history.history();
    let view = page::build(&Inputs {
        settings: &settings,
        snapshot: &snapshot,
        alerting: alerting.as_ref(),
        history: &history,
        history_problems: s.history.problems(),
        now: Utc::now(),
        version: env!("CARGO_PKG_VERSION"),
    });
    (
        [(header::CACHE_CONTROL, "no-store")],
        Html(page::render::html(&view)),
    )
        .into_response()
}

/// The history as JSON: for each package, `[unix_seconds, remaining_gb]` pairs, oldest first.
pub async fn history(State(s): State<AppState>) -> Json<serde_json::Value> {
    let h = s.history.history();
    let l = s.history.limits();
    let packages: BTreeMap<&String, &Vec<crate::history::Point>> = h.packages.iter().collect();
    Json(json!({
        "points": "[unix_seconds, remaining_gb]",
        "limits": {
            "fine_for_seconds": l.fine_for.as_secs(),
            "fine_step_seconds": l.fine_step.as_secs(),
            "coarse_step_seconds": l.coarse_step.as_secs(),
            "keep_for_seconds": l.keep_for.as_secs(),
            "max_points_per_package": l.max_points(),
            "max_packages": l.max_packages,
        },
        "problems": s.history.problems(),
        "packages": packages,
    }))
}
