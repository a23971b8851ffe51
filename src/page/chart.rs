//! The history chart as inline SVG, drawn on the server: remaining GB over time, the three
//! thresholds, the start of the current cycle, and the forecast as a dashed line.
//!
//! The SVG stretches to the card's width (`preserveAspectRatio="none"` with strokes that do not
//! scale), so it holds no text: the labels are HTML placed by percentages ([`Chart::marks`] and the
//! x labels), which stay readable from a 360 px phone to a desktop. Pure.

use chrono::{DateTime, Utc};

use crate::history::Point;
use crate::level::Thresholds;

const W: f64 = 1000.0;
const H: f64 = 300.0;

/// What the chart is drawn from.
#[derive(Debug, Clone)]
pub struct ChartInput<'a> {
    pub points: &'a [Point],
    pub total_gb: f64,
    pub thresholds: Thresholds,
    pub cycle_start: Option<DateTime<Utc>>,
    pub cycle_end: Option<DateTime<Utc>>,
    pub now: DateTime<Utc>,
    /// The forecast's rate, when it has one.
    pub gb_per_day: Option<f64>,
}

/// A drawn chart.
#[derive(Debug, Clone, PartialEq)]
pub struct Chart {
    pub svg: String,
    pub x_start: DateTime<Utc>,
    pub x_end: DateTime<Utc>,
    /// The cycle start's position from the left, in percent, when it is within the chart.
    pub cycle_start_pct: Option<f64>,
    /// The GB at the top of the chart.
    pub y_max: f64,
    /// Thresholds as (percent from the top, GB, level number).
    pub marks: Vec<(f64, f64, u8)>,
}

fn fmt(v: f64) -> String {
    format!("{v:.1}")
}

/// The chart, or `None` while there are fewer than two points over some span.
pub fn chart(i: &ChartInput<'_>) -> Option<Chart> {
    let first = i.points.first()?;
    let last = i.points.last()?;
    let x0 = first.at();
    let now = i.now.timestamp().max(last.at());
    if now - x0 <= 0 || i.points.len() < 2 {
        return None;
    }
    // Show the rest of the cycle only when it does not squash the history into a corner.
    let x1 = match i.cycle_end.map(|e| e.timestamp()) {
        Some(end) if end > now && end - now <= 2 * (now - x0) => end,
        _ => now,
    };
    let max_point = i.points.iter().map(Point::gb).fold(0.0, f64::max);
    let y_max = i.total_gb.max(max_point).max(i.thresholds.t3) * 1.05;
    let y_max = if y_max > 0.0 { y_max } else { 1.0 };
    let x = |t: i64| (t - x0) as f64 / (x1 - x0) as f64 * W;
    let y = |gb: f64| H - (gb.clamp(0.0, y_max) / y_max) * H;

    let mut svg = format!(
        "<svg class=\"chart\" viewBox=\"0 0 {W} {H}\" preserveAspectRatio=\"none\" role=\"img\" aria-hidden=\"true\" xmlns=\"http://www.w3.org/2000/svg\">"
    );
    let mut marks = Vec::new();
    for (gb, level) in [
        (i.thresholds.t3, 3u8),
        (i.thresholds.t2, 2),
        (i.thresholds.t1, 1),
    ] {
        let yy = y(gb);
        svg.push_str(&format!(
            "<line class=\"th l{level}\" x1=\"0\" x2=\"{W}\" y1=\"{}\" y2=\"{}\" vector-effect=\"non-scaling-stroke\"/>",
            fmt(yy),
            fmt(yy)
        ));
        marks.push((yy / H * 100.0, gb, level));
    }
    let cycle_start_pct = i
        .cycle_start
        .map(|c| c.timestamp())
        .filter(|c| *c > x0 && *c < x1)
        .map(|c| {
            let xx = x(c);
            svg.push_str(&format!(
                "<line class=\"cycle\" x1=\"{0}\" x2=\"{0}\" y1=\"0\" y2=\"{H}\" vector-effect=\"non-scaling-stroke\"/>",
                fmt(xx)
            ));
            xx / W * 100.0
        });
    let line: Vec<String> = i
        .points
        .iter()
        .map(|p| format!("{},{}", fmt(x(p.at())), fmt(y(p.gb()))))
        .collect();
    svg.push_str(&format!(
        "<polygon class=\"area\" points=\"{},{H} {} {},{H}\"/>",
        fmt(x(x0)),
        line.join(" "),
        fmt(x(last.at()))
    ));
    svg.push_str(&format!(
        "<polyline class=\"line\" points=\"{}\" vector-effect=\"non-scaling-stroke\"/>",
        line.join(" ")
    ));
    if let Some(rate) = i.gb_per_day.filter(|r| *r > 0.0) {
        if x1 > last.at() {
            let per_sec = rate / 86_400.0;
            // Until the chart's end or zero, whichever comes first.
            let to_zero = last.at() + (last.gb() / per_sec) as i64;
            let end = x1.min(to_zero.max(last.at()));
            let gb_end = last.gb() - per_sec * (end - last.at()) as f64;
            svg.push_str(&format!(
                "<line class=\"forecast\" x1=\"{}\" y1=\"{}\" x2=\"{}\" y2=\"{}\" vector-effect=\"non-scaling-stroke\"/>",
                fmt(x(last.at())),
                fmt(y(last.gb())),
                fmt(x(end)),
                fmt(y(gb_end))
            ));
        }
    }
    svg.push_str("</svg>");
    Some(Chart {
        svg,
        x_start: DateTime::from_timestamp(x0, 0).unwrap_or_default(),
        x_end: DateTime::from_timestamp(x1, 0).unwrap_or_default(),
        cycle_start_pct,
        y_max,
        marks,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_750_000_000 + s, 0).unwrap()
    }

    fn input(points: &[Point]) -> ChartInput<'_> {
        ChartInput {
            points,
            total_gb: 1000.0,
            thresholds: Thresholds::default(),
            cycle_start: None,
            cycle_end: None,
            now: t(3600),
            gb_per_day: None,
        }
    }

    #[test]
    fn fewer_than_two_points_draw_nothing() {
        assert!(chart(&input(&[])).is_none());
        assert!(chart(&input(&[Point(t(0).timestamp(), 5.0)])).is_none());
    }

    #[test]
    fn the_line_spans_the_width_and_thresholds_sit_at_their_height() {
        let pts = [
            Point(t(0).timestamp(), 1000.0),
            Point(t(3600).timestamp(), 0.0),
        ];
        let c = chart(&input(&pts)).unwrap();
        // From the left edge at the top (1000 of 1050 GB) to the right edge at the bottom.
        assert!(
            c.svg.contains("points=\"0.0,14.3 1000.0,300.0\""),
            "{}",
            c.svg
        );
        let (pct, gb, level) = c.marks[2];
        assert_eq!((gb, level), (200.0, 1));
        assert!((pct - (1.0 - 200.0 / 1050.0) * 100.0).abs() < 1e-9);
        assert!(!c.svg.contains("forecast"));
    }

    #[test]
    fn the_rest_of_the_cycle_and_the_forecast_show_when_they_fit() {
        let pts = [
            Point(t(0).timestamp(), 900.0),
            Point(t(3600).timestamp(), 800.0),
        ];
        let mut i = input(&pts);
        i.cycle_start = Some(t(1800));
        i.cycle_end = Some(t(3 * 3600));
        i.gb_per_day = Some(2400.0);
        let c = chart(&i).unwrap();
        assert_eq!(c.x_end, t(3 * 3600));
        assert!((c.cycle_start_pct.unwrap() - 100.0 / 6.0).abs() < 1e-9);
        assert!(c.svg.contains("class=\"forecast\""));
        // A reset far away (a month) keeps the chart to the history.
        i.cycle_end = Some(t(30 * 86_400));
        assert_eq!(chart(&i).unwrap().x_end, t(3600));
    }
}
