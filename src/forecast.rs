//! The forecast: at the rate of recent use, when does a package reach T1, and is that before its
//! cycle resets?
//!
//! Pure: points and `now` in, a [`Forecast`] out. The rate is the least-squares slope of the points
//! of the current cycle within [`Settings::window`] (a day by default, which smooths out the
//! day/night pattern of most servers). A rise in the remaining amount (a reset, a renewal) starts
//! the data over. Where the server's own counter exists, [`at_live_rate`] starts from the live
//! estimate at the counter's recent rate instead (the bill's points lag and move in steps). It
//! informs the page only; alerts and the shutdown never depend on it (Prometheus
//! users get the same idea from `predict_linear` in the rules).

use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::history::Point;

/// How the rate is measured.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Settings {
    /// Only points this recent count.
    pub window: Duration,
    /// The points must span at least this long (two polls a few seconds apart say little).
    pub min_span: Duration,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            window: Duration::from_secs(24 * 3600),
            min_span: Duration::from_secs(30 * 60),
        }
    }
}

/// What the forecast says.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Forecast {
    /// Too few points (or too short a span) in this cycle to measure a rate.
    NoData,
    /// The remaining amount is already below T1.
    AlreadyBelow,
    /// Nothing is being used (or the amount grows): it will not reach T1 at this rate.
    NotFalling { gb_per_day: f64 },
    /// At `gb_per_day`, T1 is reached at `at`.
    Reaches {
        gb_per_day: f64,
        at: DateTime<Utc>,
        /// Whether `at` comes before the cycle's end (`None` when the end is unknown).
        before_reset: Option<bool>,
        /// What would remain at the reset at this rate (may be negative: it ran out first).
        at_reset_gb: Option<f64>,
    },
}

/// Below this many GB per day the use counts as none (rounding of BSS figures).
const NEGLIGIBLE_GB_PER_DAY: f64 = 1e-6;

/// The forecast for a package whose points (oldest first) are `points`, with T1 at `t1` GB.
///
/// `cycle_start` and `cycle_end` come from the latest reading; points before the start are ignored.
pub fn forecast(
    points: &[Point],
    t1: f64,
    cycle_start: Option<DateTime<Utc>>,
    cycle_end: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
    s: &Settings,
) -> Forecast {
    let Some(last) = points.last() else {
        return Forecast::NoData;
    };
    if last.gb() < t1 {
        return Forecast::AlreadyBelow;
    }
    let window_start = now.timestamp() - i64::try_from(s.window.as_secs()).unwrap_or(i64::MAX);
    let from = cycle_start.map_or(window_start, |c| c.timestamp().max(window_start));
    // Walk back while the amount does not rise: a rise means a new cycle or a renewal.
    let mut first = points.len() - 1;
    while first > 0 {
        let (earlier, later) = (points[first - 1], points[first]);
        if earlier.at() < from || earlier.gb() < later.gb() {
            break;
        }
        first -= 1;
    }
    let used = &points[first..];
    let span = used[used.len() - 1].at() - used[0].at();
    if used.len() < 2 || span < i64::try_from(s.min_span.as_secs()).unwrap_or(i64::MAX) {
        return Forecast::NoData;
    }
    let gb_per_sec = -slope(used);
    let gb_per_day = gb_per_sec * 86_400.0;
    if !gb_per_day.is_finite() || gb_per_day <= NEGLIGIBLE_GB_PER_DAY {
        return Forecast::NotFalling {
            gb_per_day: gb_per_day.min(0.0),
        };
    }
    let secs_to_t1 = (last.gb() - t1) / gb_per_sec;
    let at = last.time() + chrono::Duration::milliseconds((secs_to_t1 * 1000.0) as i64);
    Forecast::Reaches {
        gb_per_day,
        at,
        before_reset: cycle_end.map(|end| at < end),
        at_reset_gb: cycle_end.map(|end| {
            let secs = end.signed_duration_since(last.time()).num_seconds().max(0) as f64;
            last.gb() - gb_per_sec * secs
        }),
    }
}

/// The forecast from the live estimate `now_gb` at `now`, at the counter's recent rate of
/// `gb_per_sec` (GB of 10⁹ bytes, the estimate's unit), with T1 at `t1` GB. Pure.
pub fn at_live_rate(
    now_gb: f64,
    gb_per_sec: f64,
    t1: f64,
    cycle_end: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) -> Forecast {
    if now_gb < t1 {
        return Forecast::AlreadyBelow;
    }
    let gb_per_day = gb_per_sec * 86_400.0;
    if !gb_per_day.is_finite() || gb_per_day <= NEGLIGIBLE_GB_PER_DAY {
        return Forecast::NotFalling {
            gb_per_day: if gb_per_day.is_finite() {
                gb_per_day.min(0.0)
            } else {
                0.0
            },
        };
    }
    let secs_to_t1 = (now_gb - t1) / gb_per_sec;
    let at = now + chrono::Duration::milliseconds((secs_to_t1 * 1000.0).min(1e15) as i64);
    Forecast::Reaches {
        gb_per_day,
        at,
        before_reset: cycle_end.map(|end| at < end),
        at_reset_gb: cycle_end.map(|end| {
            let secs = end.signed_duration_since(now).num_seconds().max(0) as f64;
            now_gb - gb_per_sec * secs
        }),
    }
}

/// Least-squares slope in GB per second (x is centred for precision).
fn slope(points: &[Point]) -> f64 {
    let n = points.len() as f64;
    let x0 = points[0].at();
    let mean_x = points.iter().map(|p| (p.at() - x0) as f64).sum::<f64>() / n;
    let mean_y = points.iter().map(Point::gb).sum::<f64>() / n;
    let (mut num, mut den) = (0.0, 0.0);
    for p in points {
        let dx = (p.at() - x0) as f64 - mean_x;
        num += dx * (p.gb() - mean_y);
        den += dx * dx;
    }
    if den == 0.0 {
        0.0
    } else {
        num / den
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HOUR: i64 = 3600;
    const DAY: i64 = 24 * HOUR;

    fn t(s: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_750_000_000 + s, 0).unwrap()
    }

    /// Hourly points from `from` to `to` (seconds) falling `per_day` GB a day from `start_gb`.
    fn falling(from: i64, to: i64, start_gb: f64, per_day: f64) -> Vec<Point> {
        (from..=to)
            .step_by(HOUR as usize)
            .map(|s| {
                Point(
                    t(s).timestamp(),
                    start_gb - per_day * (s - from) as f64 / DAY as f64,
                )
            })
            .collect()
    }

    fn s() -> Settings {
        Settings::default()
    }

    #[test]
    fn a_steady_rate_reaches_t1_before_the_reset() {
        // 500 GB left, 50 GB a day, T1 = 200: 6 days after the last point; reset in 10 days.
        let points = falling(0, DAY, 550.0, 50.0);
        let f = forecast(
            &points,
            200.0,
            Some(t(-DAY)),
            Some(t(11 * DAY)),
            t(DAY),
            &s(),
        );
        let Forecast::Reaches {
            gb_per_day,
            at,
            before_reset,
            at_reset_gb,
        } = f
        else {
            panic!("{f:?}");
        };
        assert!((gb_per_day - 50.0).abs() < 1e-6, "{gb_per_day}");
        assert!((at - t(7 * DAY)).num_seconds().abs() <= 1, "{at}");
        assert_eq!(before_reset, Some(true));
        assert!((at_reset_gb.unwrap() - 0.0).abs() < 1e-3);
    }

    #[test]
    fn a_slow_rate_reaches_t1_after_the_reset() {
        let points = falling(0, DAY, 510.0, 10.0);
        let f = forecast(&points, 200.0, None, Some(t(5 * DAY)), t(DAY), &s());
        let Forecast::Reaches {
            before_reset,
            at_reset_gb,
            ..
        } = f
        else {
            panic!("{f:?}");
        };
        assert_eq!(before_reset, Some(false));
        assert!((at_reset_gb.unwrap() - 460.0).abs() < 1e-3);
    }

    #[test]
    fn an_unknown_reset_says_so() {
        let points = falling(0, DAY, 510.0, 10.0);
        let f = forecast(&points, 200.0, None, None, t(DAY), &s());
        assert!(
            matches!(
                f,
                Forecast::Reaches {
                    before_reset: None,
                    at_reset_gb: None,
                    ..
                }
            ),
            "{f:?}"
        );
    }

    #[test]
    fn no_points_one_point_or_a_short_span_is_no_data() {
        assert_eq!(
            forecast(&[], 200.0, None, None, t(0), &s()),
            Forecast::NoData
        );
        let one = [Point(t(0).timestamp(), 500.0)];
        assert_eq!(
            forecast(&one, 200.0, None, None, t(0), &s()),
            Forecast::NoData
        );
        let close = [
            Point(t(0).timestamp(), 500.0),
            Point(t(60).timestamp(), 499.0),
        ];
        assert_eq!(
            forecast(&close, 200.0, None, None, t(60), &s()),
            Forecast::NoData
        );
    }

    #[test]
    fn zero_use_or_a_growing_amount_never_reaches_t1() {
        let flat = falling(0, DAY, 500.0, 0.0);
        assert_eq!(
            forecast(&flat, 200.0, None, None, t(DAY), &s()),
            Forecast::NotFalling { gb_per_day: 0.0 }
        );
        // A rise between every pair restarts the data each time: too little left to measure.
        let rising = falling(0, DAY, 500.0, -5.0);
        assert_eq!(
            forecast(&rising, 200.0, None, None, t(DAY), &s()),
            Forecast::NoData
        );
        // A few flat hours are no use either.
        let noisy = [
            Point(t(0).timestamp(), 500.0),
            Point(t(HOUR).timestamp(), 500.0),
            Point(t(2 * HOUR).timestamp(), 500.0),
        ];
        assert!(matches!(
            forecast(&noisy, 200.0, None, None, t(2 * HOUR), &s()),
            Forecast::NotFalling { .. }
        ));
    }

    #[test]
    fn already_below_t1_says_so() {
        let points = falling(0, DAY, 250.0, 100.0);
        assert_eq!(
            forecast(&points, 200.0, None, None, t(DAY), &s()),
            Forecast::AlreadyBelow
        );
    }

    #[test]
    fn only_the_current_cycle_and_the_window_count() {
        // Last cycle drained fast (200 GB a day); the new one started at 2 days with 1000 GB and
        // drains 10 GB a day.
        let mut points = falling(0, 2 * DAY - HOUR, 1000.0, 200.0);
        points.extend(falling(2 * DAY, 4 * DAY, 1000.0, 10.0));
        let f = forecast(&points, 200.0, None, None, t(4 * DAY), &s());
        let Forecast::Reaches { gb_per_day, .. } = f else {
            panic!("{f:?}")
        };
        assert!((gb_per_day - 10.0).abs() < 1e-6, "{gb_per_day}");
        // With the cycle start known and no rise in between, the start still cuts.
        let old = falling(0, 3 * DAY, 1000.0, 10.0);
        let f = forecast(
            &old,
            200.0,
            Some(t(2 * DAY + 12 * HOUR)),
            None,
            t(3 * DAY),
            &s(),
        );
        let Forecast::Reaches { gb_per_day, .. } = f else {
            panic!("{f:?}")
        };
        assert!((gb_per_day - 10.0).abs() < 1e-6);
        // The window: a burst two days ago does not count once a day has passed.
        let mut burst = falling(0, DAY, 2000.0, 500.0);
        let base = burst.last().unwrap().gb();
        burst.extend(falling(DAY + HOUR, 3 * DAY, base, 24.0));
        let f = forecast(&burst, 200.0, None, None, t(3 * DAY), &s());
        let Forecast::Reaches { gb_per_day, .. } = f else {
            panic!("{f:?}")
        };
        assert!((gb_per_day - 24.0).abs() < 1e-6, "{gb_per_day}");
    }

    #[test]
    fn the_live_rate_forecast_starts_from_the_estimate_now() {
        let now = DateTime::from_timestamp(1_750_000_000, 0).unwrap();
        let end = now + chrono::Duration::days(10);
        // 300 GB now, 50 GB a day, T1 200: two days.
        let f = at_live_rate(300.0, 50.0 / 86_400.0, 200.0, Some(end), now);
        let Forecast::Reaches {
            at,
            before_reset,
            at_reset_gb,
            gb_per_day,
        } = f
        else {
            panic!("{f:?}")
        };
        assert!((gb_per_day - 50.0).abs() < 1e-9);
        assert_eq!(at, now + chrono::Duration::days(2));
        assert_eq!(before_reset, Some(true));
        assert!((at_reset_gb.unwrap() - -200.0).abs() < 1e-6);
        assert_eq!(
            at_live_rate(150.0, 1.0, 200.0, None, now),
            Forecast::AlreadyBelow
        );
        assert_eq!(
            at_live_rate(300.0, 0.0, 200.0, None, now),
            Forecast::NotFalling { gb_per_day: 0.0 }
        );
    }
}
