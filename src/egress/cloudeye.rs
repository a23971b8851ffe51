//! Huawei Cloud Eye as a live source, for servers the monitor guards through the API and has no
//! counter of: the outbound traffic of their EIP (`SYS.VPC` / `up_stream`, bytes per minute).
//!
//! Pure: it judges an answer's points ([`accept`]), keeps the minutes seen ([`Series`]) and turns
//! them into a [`Meter`] so that the same [`Estimator`](super::Estimator) anchors them to the bill
//! as it does the kernel's counter. The rules, each with a test below:
//! - an answer with one point that cannot be believed (no time, no value, a negative, NaN or
//!   impossible value, a unit other than bytes) is refused whole: it never becomes a zero and
//!   never a larger egress (a lower estimate) either; what was known stays;
//! - a minute seen twice keeps the larger value (a later, fuller count); minutes only add;
//! - the bytes of the point stamped *T* are placed at *T + 1 min*, the latest they can have
//!   been sent (Cloud Eye does not say whether *T* starts or ends the minute), so "egress since
//!   *t*" never leaves out a minute that may lie after *t*;
//! - a source that throttles or fails is asked less often ([`backoff`]), up to [`MAX_BACKOFF`].
//!
//! Cloud Eye publishes a minute some minutes late, so the estimate misses the traffic of those
//! last minutes: the margin of level 1 with this source is that delay times the peak rate.

use std::collections::BTreeMap;
use std::time::Duration;

use chrono::{DateTime, Utc};

use super::counter::Counters;
use super::meter::{Meter, MAX_BYTES_PER_SECOND};
use crate::huawei::ces::Datapoint;

/// The longest wait between two reads of a failing source.
pub const MAX_BACKOFF: Duration = Duration::from_secs(600);

/// The "interface" name the meter of an EIP counts under.
fn series_name(publicip_id: &str) -> String {
    format!("eip:{publicip_id}")
}

/// The points of an answer as (minute, bytes), sorted, or why the answer is refused. `period`
/// is the length of one point (a minute). Pure.
pub fn accept(
    points: &[Datapoint],
    period: Duration,
    now: DateTime<Utc>,
) -> Result<Vec<(DateTime<Utc>, u64)>, String> {
    let most = MAX_BYTES_PER_SECOND * period.as_secs_f64();
    let mut out = Vec::with_capacity(points.len());
    for p in points {
        let at = p
            .timestamp
            .and_then(DateTime::from_timestamp_millis)
            .ok_or("a point without a valid timestamp")?;
        if at > now + chrono::Duration::minutes(10) {
            return Err(format!("a point in the future ({at})"));
        }
        if let Some(u) = p.unit.as_deref() {
            if !matches!(
                u.trim().to_ascii_lowercase().as_str(),
                "" | "b" | "byte" | "bytes"
            ) {
                return Err(format!("unit {u:?}, not bytes"));
            }
        }
        let v = p.sum.or(p.average).ok_or("a point without a value")?;
        if !v.is_finite() || v < 0.0 || v > most {
            return Err(format!("an impossible value {v} bytes in one period"));
        }
        out.push((at, v.ceil() as u64));
    }
    out.sort_by_key(|(at, _)| *at);
    Ok(out)
}

/// The minutes of one EIP seen so far.
#[derive(Debug, Clone, Default)]
pub struct Series {
    points: BTreeMap<DateTime<Utc>, u64>,
}

impl Series {
    /// Adds accepted points; a minute seen before keeps the larger value.
    pub fn merge(&mut self, points: &[(DateTime<Utc>, u64)]) {
        for (at, bytes) in points {
            let e = self.points.entry(*at).or_insert(0);
            *e = (*e).max(*bytes);
        }
    }

    /// Forgets minutes before `t`.
    pub fn trim(&mut self, t: DateTime<Utc>) {
        self.points = self.points.split_off(&t);
    }

    /// The last minute seen.
    pub fn last(&self) -> Option<DateTime<Utc>> {
        self.points.keys().next_back().copied()
    }

    pub fn len(&self) -> usize {
        self.points.len()
    }

    pub fn is_empty(&self) -> bool {
        self.points.is_empty()
    }

    /// A meter whose total grows by each minute's bytes at the end of that minute (see the
    /// module doc), starting at zero at the first minute.
    pub fn meter(&self, publicip_id: &str, period: Duration, keep: chrono::Duration) -> Meter {
        let name = series_name(publicip_id);
        let step = chrono::Duration::from_std(period).unwrap_or_default();
        let mut m = Meter::default();
        let mut total: u64 = 0;
        for (i, (at, bytes)) in self.points.iter().enumerate() {
            if i == 0 {
                m.observe(&name, None, Counters::default(), *at, keep);
            }
            total = total.saturating_add(*bytes);
            m.observe(&name, None, Counters { tx: total, rx: 0 }, *at + step, keep);
        }
        m
    }
}

/// The wait before the next read after `failures` failed reads in a row: `interval`, doubled per
/// failure, at most [`MAX_BACKOFF`] (never less than `interval`). Pure.
pub fn backoff(interval: Duration, failures: u32) -> Duration {
    interval
        .saturating_mul(1u32 << failures.min(10))
        .min(MAX_BACKOFF.max(interval))
}

#[cfg(test)]
mod tests {
    use super::*;

    const MIN: Duration = Duration::from_secs(60);

    fn t(s: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_700_000_000 + s, 0).unwrap()
    }
    fn p(s: i64, sum: Option<f64>, unit: Option<&str>) -> Datapoint {
        Datapoint {
            timestamp: Some(t(s).timestamp_millis()),
            sum,
            average: None,
            unit: unit.map(str::to_string),
        }
    }

    #[test]
    fn a_point_that_cannot_be_believed_refuses_the_whole_answer() {
        let good = p(0, Some(1000.0), Some("B"));
        assert_eq!(
            accept(std::slice::from_ref(&good), MIN, t(100)).unwrap(),
            vec![(t(0), 1000)]
        );
        for bad in [
            p(60, Some(-1.0), Some("B")),
            p(60, Some(f64::NAN), None),
            p(60, None, Some("B")),
            p(60, Some(1e15), Some("B")),
            p(60, Some(5.0), Some("bit/s")),
            p(99_999, Some(5.0), None),
            Datapoint {
                timestamp: None,
                ..good.clone()
            },
        ] {
            assert!(
                accept(&[good.clone(), bad.clone()], MIN, t(100)).is_err(),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn minutes_only_add_and_a_minute_seen_twice_keeps_the_larger_count() {
        let mut s = Series::default();
        s.merge(&[(t(0), 100), (t(60), 200)]);
        s.merge(&[(t(60), 150), (t(120), 50)]);
        s.merge(&[]);
        let m = s.meter("e", MIN, chrono::Duration::hours(7));
        assert_eq!(m.total().tx, 350);
        s.trim(t(60));
        assert_eq!(s.len(), 2);
    }

    #[test]
    fn egress_since_a_time_counts_every_minute_that_may_lie_after_it() {
        let mut s = Series::default();
        s.merge(&[(t(0), 100), (t(60), 200), (t(180), 400)]);
        let m = s.meter("e", MIN, chrono::Duration::hours(7));
        // The minute stamped 60 may end at 120: since 90, it still counts.
        assert_eq!(m.tx_since(t(90)), Some(600));
        assert_eq!(m.tx_since(t(120)), Some(400));
        // A missing minute (120) is not invented.
        assert_eq!(m.tx_since(t(-500)), Some(700));
        assert_eq!(m.tx_since(t(240)), Some(0));
    }

    #[test]
    fn a_failing_source_is_asked_less_often_up_to_a_bound() {
        assert_eq!(backoff(MIN, 0), MIN);
        assert_eq!(backoff(MIN, 1), MIN * 2);
        assert_eq!(backoff(MIN, 3), MIN * 8);
        assert_eq!(backoff(MIN, 30), MAX_BACKOFF);
        let fast = Duration::from_millis(200);
        assert_eq!(backoff(fast, 2), fast * 4);
    }
}
