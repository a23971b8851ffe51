//! `GET /api/v1/summary`: one small, flat JSON object per package for home dashboards
//! (gethomepage's `customapi` widget, Home Assistant's REST sensor): remaining, level, reset,
//! forecast, and what is in force. `?package=<free_resource_id>` answers that package's object
//! alone, so a widget maps top-level fields.
//!
//! Unknown is `null`, never `0`: a package without a fresh reading has `remaining_gb: null` and
//! `level: null`, because a dashboard showing 0 GB would say the traffic ran out.

use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::AppState;
use crate::forecast::{self, Forecast};
use crate::level::{Level, Thresholds};
use crate::reading::Reading;

/// One package, as a dashboard shows it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PackageSummary {
    pub free_resource_id: String,
    pub server: String,
    /// The account of the package, with several accounts (`ACCOUNTS`); absent with one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub account: Option<String>,
    /// Remaining GB by a fresh reading; `null` without one.
    pub remaining_gb: Option<f64>,
    /// The quota per cycle, GB; `null` without a fresh reading.
    pub total_gb: Option<f64>,
    /// Remaining as a percentage of the quota; `null` when either is unknown.
    pub remaining_percent: Option<f64>,
    /// `ok`, `3`, `2` or `1`; `null` without a fresh reading.
    pub level: Option<&'static str>,
    /// When the cycle resets; `null` when unknown.
    pub reset_at: Option<DateTime<Utc>>,
    /// When level 1 is reached at the recent rate; `null` when it is not falling, already below
    /// or unknown (see `forecast`).
    pub forecast_level1_at: Option<DateTime<Utc>>,
    /// `reaches_level1`, `before_reset` (the same, before the reset), `not_falling`,
    /// `already_below`; `null` when there are too few points.
    pub forecast: Option<&'static str>,
    /// The gentler actions in force on this server (`throttle`, `fence`, `command`) joined by
    /// `,`; `none` when none is; `null` when alerting is not running here.
    pub action: Option<String>,
    /// When a running shutdown countdown re-reads and may act; `null` when none runs.
    pub countdown_until: Option<DateTime<Utc>>,
    /// When the reading shown was taken; `null` without one.
    pub read_at: Option<DateTime<Utc>>,
}

/// What the summary of one package is made from.
pub struct Facts<'a> {
    pub id: &'a str,
    pub server: &'a str,
    /// The package's fresh reading, if any.
    pub reading: Option<&'a Reading>,
    pub thresholds: &'a Thresholds,
    pub forecast: Forecast,
    /// The actions in force (`None` when alerting is not running).
    pub actions: Option<&'a [&'static str]>,
    pub countdown_until: Option<DateTime<Utc>>,
}

/// The summary of one package. Pure.
pub fn summarize(f: &Facts<'_>) -> PackageSummary {
    let r = f.reading;
    let (forecast, forecast_level1_at) = match f.forecast {
        Forecast::NoData => (None, None),
        Forecast::AlreadyBelow => (Some("already_below"), None),
        Forecast::NotFalling { .. } => (Some("not_falling"), None),
        Forecast::Reaches {
            at, before_reset, ..
        } => (
            Some(if before_reset == Some(true) {
                "before_reset"
            } else {
                "reaches_level1"
            }),
            Some(at),
        ),
    };
    PackageSummary {
        free_resource_id: f.id.to_string(),
        server: f.server.to_string(),
        account: None,
        remaining_gb: r.map(|r| r.remaining_gb),
        total_gb: r.map(|r| r.total_gb),
        remaining_percent: r
            .filter(|r| r.total_gb > 0.0)
            .map(|r| (r.remaining_gb / r.total_gb * 1000.0).round() / 10.0),
        level: r.map(|r| Level::of(r.remaining_gb, f.thresholds).label()),
        reset_at: r.and_then(|r| r.cycle_end),
        forecast_level1_at,
        forecast,
        action: f.actions.map(|a| {
            if a.is_empty() {
                "none".to_string()
            } else {
                a.join(",")
            }
        }),
        countdown_until: f.countdown_until,
        read_at: r.map(|r| r.read_at),
    }
}

/// `?package=<free_resource_id>`.
#[derive(Debug, Deserialize)]
pub struct SummaryQuery {
    package: Option<String>,
}

/// `GET /api/v1/summary`.
pub async fn summary(State(s): State<AppState>, Query(q): Query<SummaryQuery>) -> Response {
    let now = Utc::now();
    let snap = s.snapshot.read().await.clone();
    let fresh = snap.fresh(now, s.config.watch.reading_max_age);
    let thresholds = &s.config.alerting.thresholds;
    let (actions, countdowns) = match &s.engine {
        Some(e) => {
            let mut a: Vec<&'static str> =
                e.enforcer.active().await.iter().map(|v| v.action).collect();
            a.sort_unstable();
            a.dedup();
            (Some(a), e.guard.countdowns())
        }
        None => (None, Vec::new()),
    };
    let packages: Vec<PackageSummary> = snap
        .packages
        .iter()
        .filter(|p| {
            q.package
                .as_ref()
                .is_none_or(|id| *id == p.free_resource_id)
        })
        .map(|p| {
            let id = p.free_resource_id.as_str();
            let reading = fresh.iter().copied().find(|r| r.free_resource_id == id);
            let points = s.history.points(id);
            let forecast = forecast::forecast(
                &points,
                thresholds.t1,
                reading.and_then(|r| r.cycle_start),
                reading.and_then(|r| r.cycle_end),
                now,
                &forecast::Settings::default(),
            );
            let mut summary = summarize(&Facts {
                id,
                server: s.config.server_for(id),
                reading,
                thresholds,
                forecast: if reading.is_some() {
                    forecast
                } else {
                    Forecast::NoData
                },
                actions: actions.as_deref(),
                countdown_until: countdowns
                    .iter()
                    .find(|c| c.package == id)
                    .map(|c| c.deadline),
            });
            if s.config.several_accounts() {
                summary.account = Some(s.config.account_name(id).to_string());
            }
            summary
        })
        .collect();
    match q.package {
        Some(id) => match packages.into_iter().next() {
            Some(p) => Json(p).into_response(),
            None => (
                StatusCode::NOT_FOUND,
                format!("no watched package {id:?} (see FREE_RESOURCE_IDS)\n"),
            )
                .into_response(),
        },
        None => Json(serde_json::json!({
            "server": s.config.watch.server_name,
            "generated_at": now,
            "packages": packages,
        }))
        .into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reading(remaining: f64) -> Reading {
        Reading {
            free_resource_id: "p".into(),
            package_name: "Lightweight BGP data package".into(),
            usage_type: String::new(),
            remaining_gb: remaining,
            total_gb: 1000.0,
            cycle_start: None,
            cycle_end: DateTime::from_timestamp(1_800_000_000, 0),
            read_at: DateTime::from_timestamp(1_799_000_000, 0).unwrap(),
        }
    }

    #[test]
    fn unknown_figures_are_null_never_zero() {
        let t = Thresholds::default();
        let s = summarize(&Facts {
            id: "p",
            server: "s",
            reading: None,
            thresholds: &t,
            forecast: Forecast::NoData,
            actions: None,
            countdown_until: None,
        });
        let v = serde_json::to_value(&s).unwrap();
        for key in [
            "remaining_gb",
            "total_gb",
            "remaining_percent",
            "level",
            "reset_at",
            "forecast_level1_at",
            "forecast",
            "action",
            "countdown_until",
            "read_at",
        ] {
            assert!(v[key].is_null(), "{key}: {v}");
        }
    }

    #[test]
    fn a_reading_gives_its_figures_level_and_forecast() {
        let t = Thresholds::default();
        let r = reading(150.0);
        let at = DateTime::from_timestamp(1_799_500_000, 0).unwrap();
        let s = summarize(&Facts {
            id: "p",
            server: "s",
            reading: Some(&r),
            thresholds: &t,
            forecast: Forecast::Reaches {
                gb_per_day: 10.0,
                at,
                before_reset: Some(true),
                at_reset_gb: Some(-5.0),
            },
            actions: Some(&["fence", "throttle"]),
            countdown_until: None,
        });
        assert_eq!(s.remaining_gb, Some(150.0));
        assert_eq!(s.remaining_percent, Some(15.0));
        assert_eq!(s.level, Some(Level::of(150.0, &t).label()));
        assert_eq!(s.reset_at, r.cycle_end);
        assert_eq!(s.forecast, Some("before_reset"));
        assert_eq!(s.forecast_level1_at, Some(at));
        assert_eq!(s.action.as_deref(), Some("fence,throttle"));
        let none = summarize(&Facts {
            actions: Some(&[]),
            forecast: Forecast::NotFalling { gb_per_day: 0.0 },
            reading: Some(&r),
            id: "p",
            server: "s",
            thresholds: &t,
            countdown_until: None,
        });
        assert_eq!(none.action.as_deref(), Some("none"));
        assert_eq!(none.forecast, Some("not_falling"));
        assert_eq!(none.forecast_level1_at, None);
    }
}
