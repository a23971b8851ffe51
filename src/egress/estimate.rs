//! The estimate of what is left *now*: the bill's figure minus the egress the bill cannot have
//! seen yet, and the bill's lag, learned from the data.
//!
//! Pure: it takes the bill's reading, the [`Meter`] and `now`. The rules (each with a test below):
//! - `estimate = bill − egress since (bill read − lag)`, never above the bill;
//! - the egress is counted from the cycle's start at the earliest, and a new cycle (the amount
//!   went up, or a new `end_time`) forgets the old cycle's bill readings: it re-anchors;
//! - no counter samples, no estimate;
//! - the lag is the default (`EGRESS_BILL_LAG`, cautious) until learned, then the learned one,
//!   always within `0..=MAX_LAG`.
//!
//! **The unit.** BSS's GB is 1024³ bytes (`reading::BYTES_PER_GB`); whether Huawei's meter counts
//! 10⁹ or 2³⁰ bytes per GB is not published. The egress is therefore divided by 10⁹
//! ([`EGRESS_BYTES_PER_GB`]): of the two it yields more GB per byte, so the egress subtracted is
//! never smaller than what the bill will deduct for it, and the estimate errs low (by at most
//! 7.4 %, plus the Ethernet headers the kernel counts and the bill may not). Erring low only makes
//! an action come earlier, which is the one direction allowed.
//!
//! **Learning the lag.** The bill at time *t* shows the traffic up to about *t − lag*. For each
//! candidate lag *L* (from 0 to [`MAX_LAG`] in steps of the counter's own sampling interval, so a
//! test in seconds and Huawei in hours are both resolved), the bill's used figures are compared
//! with the counter's total at *t − L*, up to a constant (traffic before the meter started); the
//! *L* whose differences scatter least wins. A bill that never changed, or traffic so even that
//! every *L* fits as well, teaches nothing and the lag stays where it was. To stay on the safe
//! side among near-ties the longest lag wins, and half the time between two changes of the bill
//! is added: a bill that moves in steps (hourly settlement) shows the traffic up to the start of
//! the current step, not its middle, where a fit would put it.

use std::collections::BTreeMap;
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::meter::Meter;
use crate::reading::{Reading, BYTES_PER_GB};

/// Bytes per GB of egress: 10⁹, the unit that cannot under-count (see the module doc).
pub const EGRESS_BYTES_PER_GB: f64 = 1e9;

/// The longest lag believed: Huawei deducts hourly usage about an hour after the hour ends;
/// six hours leave room for a slow day and cap what a wrong fit can do.
pub const MAX_LAG: Duration = Duration::from_secs(6 * 3600);

/// How many bill readings of a cycle are kept for learning the lag.
pub const MAX_BILL_POINTS: usize = 512;

/// The most candidate lags tried in one fit.
const MAX_CANDIDATES: usize = 4000;

/// The lag in force.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Lag {
    #[serde(rename = "seconds", serialize_with = "as_seconds")]
    pub value: Duration,
    /// False while the cautious default is used.
    pub learned: bool,
}

fn as_seconds<S: serde::Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_f64(d.as_secs_f64())
}

/// One bill reading, as the fit sees it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BillPoint {
    pub at: DateTime<Utc>,
    pub used_gb: f64,
}

/// What the estimate is made of (shown on every surface next to the bill).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Estimate {
    /// Remaining now, in GB; never above `bill_gb`.
    pub remaining_gb: f64,
    /// The bill's remaining figure it is anchored to.
    pub bill_gb: f64,
    pub bill_read_at: DateTime<Utc>,
    /// The egress the bill cannot have seen yet, in GB of 10⁹ bytes.
    pub unseen_gb: f64,
    /// The egress is counted from here.
    pub since: DateTime<Utc>,
    pub lag: Lag,
}

/// The bill readings of one package's current cycle.
#[derive(Debug, Clone, Default)]
struct Anchor {
    cycle_end: Option<DateTime<Utc>>,
    last_remaining_gb: f64,
    points: Vec<BillPoint>,
}

/// What a bill reading did to its package's anchor.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Anchored {
    /// The first reading of the package.
    First,
    Same,
    /// A new cycle began: older readings were forgotten.
    NewCycle,
}

/// The estimator: per-package anchors and the lag.
#[derive(Debug, Clone)]
pub struct Estimator {
    default_lag: Duration,
    learned: Option<Duration>,
    anchors: BTreeMap<String, Anchor>,
}

/// Whether `r` starts a new cycle after `a`: a new end, or more left than before (the amount
/// went up: a reset or a renewal). Pure.
fn new_cycle(a: &Anchor, r: &Reading) -> bool {
    a.cycle_end != r.cycle_end || r.remaining_gb > a.last_remaining_gb
}

impl Estimator {
    /// An estimator that uses `default_lag` (bounded to [`MAX_LAG`]) until it learns one;
    /// `learned` is a lag learned before (saved across restarts).
    pub fn new(default_lag: Duration, learned: Option<Duration>) -> Self {
        Self {
            default_lag: default_lag.min(MAX_LAG),
            learned: learned.map(|l| l.min(MAX_LAG)),
            anchors: BTreeMap::new(),
        }
    }

    /// The lag in force.
    pub fn lag(&self) -> Lag {
        match self.learned {
            Some(value) => Lag {
                value,
                learned: true,
            },
            None => Lag {
                value: self.default_lag,
                learned: false,
            },
        }
    }

    /// Records a bill reading (an accepted one) and learns the lag again from the cycle's
    /// readings and the meter.
    pub fn observe_bill(&mut self, r: &Reading, meter: &Meter) -> Anchored {
        let a = self.anchors.entry(r.free_resource_id.clone()).or_default();
        let anchored = if a.points.is_empty() && a.cycle_end.is_none() {
            Anchored::First
        } else if new_cycle(a, r) {
            a.points.clear();
            Anchored::NewCycle
        } else {
            Anchored::Same
        };
        a.cycle_end = r.cycle_end;
        a.last_remaining_gb = r.remaining_gb;
        if a.points.last().is_none_or(|p| p.at < r.read_at) {
            a.points.push(BillPoint {
                at: r.read_at,
                used_gb: r.used_gb(),
            });
        }
        if a.points.len() > MAX_BILL_POINTS {
            let extra = a.points.len() - MAX_BILL_POINTS;
            a.points.drain(..extra);
        }
        if let Some(l) = fit_lag(&a.points, meter, MAX_LAG) {
            self.learned = Some(l);
        }
        anchored
    }

    /// The estimate for the bill reading `r` at `now`, or `None` without counter samples.
    pub fn estimate(&self, r: &Reading, meter: &Meter, _now: DateTime<Utc>) -> Option<Estimate> {
        let lag = self.lag();
        let back = chrono::Duration::from_std(lag.value).unwrap_or(chrono::Duration::MAX);
        let mut since = r.read_at - back;
        if let Some(start) = r.cycle_start {
            since = since.max(start);
        }
        let unseen_gb = meter.tx_since(since)? as f64 / EGRESS_BYTES_PER_GB;
        Some(Estimate {
            remaining_gb: (r.remaining_gb - unseen_gb).min(r.remaining_gb),
            bill_gb: r.remaining_gb,
            bill_read_at: r.read_at,
            unseen_gb,
            since,
            lag,
        })
    }
}

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// The lag that best explains the bill readings `points` by the meter's history, or `None` when
/// they cannot tell (too few changes, no rate change to recognise). Pure; see the module doc.
pub fn fit_lag(points: &[BillPoint], meter: &Meter, max: Duration) -> Option<Duration> {
    let distinct = |ps: &[BillPoint]| {
        let mut v: Vec<f64> = ps.iter().map(|p| p.used_gb).collect();
        v.sort_by(f64::total_cmp);
        v.dedup();
        v.len()
    };
    let h = meter.history();
    let oldest = meter.oldest()?;
    let last_at = points.last()?.at;
    // Every candidate is judged on the same readings: those late enough for the longest
    // candidate to find counter samples. Two thirds of the history are searched, so the last
    // third of the readings is the window.
    let reach = ((last_at - oldest).to_std().ok()? * 2 / 3).min(max);
    let window: Vec<BillPoint> = points
        .iter()
        .filter(|p| p.at - oldest >= chrono::Duration::from_std(reach).unwrap_or_default())
        .copied()
        .collect();
    if window.len() < 3 || distinct(&window) < 3 {
        return None;
    }
    // The resolution is the counter's own: the median time between its samples.
    let mut gaps: Vec<f64> = h
        .iter()
        .zip(h.iter().skip(1))
        .map(|(a, b)| (b.at - a.at).num_microseconds().unwrap_or(0) as f64 / 1e6)
        .filter(|g| *g > 0.0)
        .collect();
    if gaps.is_empty() {
        return None;
    }
    let step = median(&mut gaps).max(reach.as_secs_f64() / MAX_CANDIDATES as f64);
    let candidates = (reach.as_secs_f64() / step).floor() as usize;
    let mut scores: Vec<(f64, f64)> = Vec::new();
    for k in 0..=candidates {
        let lag = k as f64 * step;
        let back = chrono::Duration::microseconds((lag * 1e6) as i64);
        let d: Option<Vec<f64>> = window
            .iter()
            .map(|p| {
                meter
                    .tx_at(p.at - back)
                    .map(|e| p.used_gb * BYTES_PER_GB - e)
            })
            .collect();
        let Some(mut d) = d else { continue };
        let m = median(&mut d.clone());
        let score = d.iter_mut().map(|x| (*x - m).abs()).sum::<f64>() / d.len() as f64;
        scores.push((lag, score));
    }
    let best = scores.iter().map(|s| s.1).fold(f64::INFINITY, f64::min);
    let worst = scores.iter().map(|s| s.1).fold(0.0, f64::max);
    // The bill's own resolution (0.01 GB) is noise, not a signal; a best fit that still misses
    // by a tenth of the spread explains nothing.
    let noise = 0.01 * BYTES_PER_GB;
    if !best.is_finite() || worst - best < noise || best > 0.1 * worst {
        return None;
    }
    let tolerance = best + noise.max(0.05 * best);
    let ties: Vec<f64> = scores
        .iter()
        .filter(|s| s.1 <= tolerance)
        .map(|s| s.0)
        .collect();
    let (low, high) = (
        ties.iter().copied().fold(f64::INFINITY, f64::min),
        ties.iter().copied().fold(0.0, f64::max),
    );
    // Many lags fitting as well: even traffic, nothing to recognise.
    if high - low > (2.0 * step).max(0.1 * high) {
        return None;
    }
    // Half the time between two changes of the bill (see the module doc).
    let mut changes: Vec<f64> = points
        .windows(2)
        .filter(|w| w[1].used_gb != w[0].used_gb)
        .map(|w| (w[1].at - w[0].at).num_microseconds().unwrap_or(0) as f64 / 1e6)
        .collect();
    let half_step = if changes.is_empty() {
        0.0
    } else {
        median(&mut changes) / 2.0
    };
    Some(Duration::from_secs_f64(
        (high + half_step).clamp(0.0, max.as_secs_f64()),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::egress::counter::Counters;

    fn t(s: f64) -> DateTime<Utc> {
        DateTime::from_timestamp_micros(1_700_000_000_000_000 + (s * 1e6) as i64).unwrap()
    }
    fn reading(remaining_gb: f64, at: DateTime<Utc>, end: i64) -> Reading {
        Reading {
            free_resource_id: "p".into(),
            package_name: String::new(),
            usage_type: String::new(),
            remaining_gb,
            total_gb: 1000.0,
            cycle_start: Some(t(-1e6)),
            cycle_end: DateTime::from_timestamp(end, 0),
            read_at: at,
        }
    }
    const KEEP: chrono::Duration = chrono::Duration::hours(7);

    /// The meter sees `tx` bytes sent in all on eth0 (boot unknown) at `at` seconds.
    fn sent(m: &mut Meter, tx: u64, at: f64) {
        m.observe("eth0", None, Counters { tx, rx: 0 }, t(at), KEEP);
    }

    /// A server sending `rate` bytes/s from `from` on, sampled every `every` seconds until `to`,
    /// and a bill that deducts exactly that, `lag` seconds late, read every `poll` seconds. The
    /// estimator sees the bill readings as they come, with the meter as it was then.
    fn scenario(
        e: &mut Estimator,
        rate: f64,
        from: f64,
        to: f64,
        every: f64,
        lag: f64,
        poll: f64,
    ) -> (Meter, Vec<Reading>) {
        let sent = |s: f64| ((s - from).max(0.0) * rate) as u64;
        let mut m = Meter::default();
        let mut bills = Vec::new();
        let (mut s, mut next_poll) = (0.0, 0.0);
        while s <= to {
            m.observe(
                "eth0",
                Some("b"),
                Counters { tx: sent(s), rx: 0 },
                t(s),
                KEEP,
            );
            if s >= next_poll {
                let used = sent(s - lag) as f64 / BYTES_PER_GB;
                let r = reading(1000.0 - used, t(s), 99);
                e.observe_bill(&r, &m);
                bills.push(r);
                next_poll += poll;
            }
            s += every;
        }
        (m, bills)
    }

    #[test]
    fn the_estimate_subtracts_the_egress_since_the_bill_was_late_and_never_exceeds_the_bill() {
        let mut m = Meter::default();
        sent(&mut m, 0, 0.0);
        sent(&mut m, 5_000_000_000, 100.0);
        sent(&mut m, 8_000_000_000, 130.0);
        let e = Estimator::new(Duration::from_secs(20), None);
        // Read at 120 s, 20 s late: the bill has seen up to 100 s, so 3 GB are unseen.
        let est = e
            .estimate(&reading(400.0, t(120.0), 99), &m, t(130.0))
            .unwrap();
        assert_eq!(est.unseen_gb, 3.0);
        assert_eq!(est.remaining_gb, 397.0);
        assert!(!est.lag.learned);
        // No egress since the bill's horizon: the estimate is the bill, never above it.
        let est = e
            .estimate(&reading(400.0, t(200.0), 99), &m, t(200.0))
            .unwrap();
        assert_eq!(est.remaining_gb, 400.0);
        // No counter: no estimate.
        assert!(e
            .estimate(&reading(400.0, t(130.0), 99), &Meter::default(), t(130.0))
            .is_none());
    }

    #[test]
    fn the_egress_is_counted_in_the_unit_that_makes_the_estimate_lower() {
        // 2³⁰ bytes unseen: counted as 1.0737 GB of 10⁹, more than the bill's 1 GB of 2³⁰.
        let mut m = Meter::default();
        sent(&mut m, 0, 0.0);
        sent(&mut m, 1 << 30, 10.0);
        let est = Estimator::new(Duration::ZERO, None)
            .estimate(&reading(10.0, t(0.0), 99), &m, t(10.0))
            .unwrap();
        assert!(est.remaining_gb < 9.0, "{}", est.remaining_gb);
    }

    #[test]
    fn egress_before_the_cycle_start_is_not_subtracted_from_the_new_cycle() {
        let mut m = Meter::default();
        sent(&mut m, 0, 0.0);
        sent(&mut m, 50_000_000_000, 100.0);
        sent(&mut m, 51_000_000_000, 110.0);
        let mut r = reading(1000.0, t(110.0), 200);
        r.cycle_start = Some(t(100.0));
        let est = Estimator::new(Duration::from_secs(3600), None)
            .estimate(&r, &m, t(110.0))
            .unwrap();
        assert_eq!(est.unseen_gb, 1.0);
        assert_eq!(est.since, t(100.0));
    }

    #[test]
    fn a_new_cycle_re_anchors() {
        let mut e = Estimator::new(Duration::from_secs(60), None);
        let (m, bills) = scenario(&mut e, 1e9, 10.0, 100.0, 1.0, 5.0, 2.0);
        let mut e = Estimator::new(Duration::from_secs(60), None);
        assert_eq!(e.observe_bill(&bills[0], &m), Anchored::First);
        assert_eq!(e.observe_bill(&bills[10], &m), Anchored::Same);
        // The amount went up: a new cycle.
        let mut up = bills[11].clone();
        up.remaining_gb = 1000.0;
        assert_eq!(e.observe_bill(&up, &m), Anchored::NewCycle);
        // A new end time: a new cycle too.
        let mut later = bills[12].clone();
        later.cycle_end = DateTime::from_timestamp(500, 0);
        assert_eq!(e.observe_bill(&later, &m), Anchored::NewCycle);
        assert_eq!(e.anchors["p"].points.len(), 1);
    }

    #[test]
    fn the_lag_is_learned_at_the_scale_of_the_data() {
        for (lag, every, poll, rate) in [
            // Seconds: a compressed test.
            (20.0, 0.5, 2.0, 5e8),
            // Hours: counter every 2 s (thinned to 10 s here), bill read every 10 min.
            (5400.0, 10.0, 600.0, 2e7),
        ] {
            let to = lag * 6.0;
            let mut e = Estimator::new(Duration::from_secs(7200), None);
            scenario(&mut e, rate, lag, to, every, lag, poll);
            let l = e.lag();
            assert!(l.learned, "lag {lag}");
            let got = l.value.as_secs_f64();
            assert!(
                got >= lag - every && got <= lag + poll,
                "lag {lag}: learned {got}"
            );
        }
    }

    #[test]
    fn a_bill_that_teaches_nothing_keeps_the_cautious_default() {
        // Even traffic from before the meter started: every lag fits as well.
        let mut e = Estimator::new(Duration::from_secs(7200), None);
        scenario(&mut e, 1e8, -100.0, 200.0, 1.0, 20.0, 2.0);
        assert_eq!(
            e.lag(),
            Lag {
                value: Duration::from_secs(7200),
                learned: false
            }
        );
        // A bill that never moves teaches nothing either.
        let (m, _) = scenario(
            &mut Estimator::new(Duration::ZERO, None),
            1e8,
            0.0,
            200.0,
            1.0,
            20.0,
            2.0,
        );
        for s in 0..50 {
            e.observe_bill(&reading(500.0, t(s as f64 * 2.0), 99), &m);
        }
        assert!(!e.lag().learned);
    }

    #[test]
    fn the_lag_is_bounded() {
        let e = Estimator::new(Duration::from_secs(24 * 3600), None);
        assert_eq!(e.lag().value, MAX_LAG);
        let e = Estimator::new(Duration::ZERO, Some(Duration::from_secs(99_999)));
        assert_eq!(e.lag().value, MAX_LAG);
    }

    #[test]
    fn with_the_learned_lag_the_estimate_follows_the_real_traffic() {
        let mut e = Estimator::new(Duration::from_secs(120), None);
        let (m, bills) = scenario(&mut e, 5e8, 20.0, 200.0, 0.5, 20.0, 2.0);
        assert!(e.lag().learned);
        let last = bills.last().unwrap();
        let est = e.estimate(last, &m, last.read_at).unwrap();
        // Truly left at 200 s: 1000 GB − 180 s × 0.5 GB/s (in 2³⁰ GB as the bill counts).
        let truth = 1000.0 - 180.0 * 5e8 / BYTES_PER_GB;
        assert!(
            est.remaining_gb <= truth + 1e-9,
            "{} > {truth}",
            est.remaining_gb
        );
        assert!(
            truth - est.remaining_gb < 10.0,
            "{} far below {truth}",
            est.remaining_gb
        );
        assert!(est.remaining_gb < last.remaining_gb);
    }
}
