//! The monotonic egress meter: folds raw kernel counters into totals that only grow, across
//! interface resets, counter wraps, restarts of this process and reboots of the server, and keeps
//! a bounded history of the total so that "egress since t" can be answered.
//!
//! Pure: the caller reads the counters (`counter`) and the boot id, and writes [`Saved`] to disk
//! (`live`). The rules, each with a unit test below:
//! - same boot, counter grew: the growth is counted;
//! - same boot, counter fell: a wrap when the wrapped difference is possible at
//!   [`MAX_BYTES_PER_SECOND`], else a reset (the interface was re-created), and then everything
//!   the new counter shows is counted;
//! - another boot: the counter began at zero, so all of it is counted; only the bytes sent between
//!   the last save and the reboot are lost (at most one save interval of traffic);
//! - another interface: counting starts again from its present value (its past is not ours).
//!
//! "Egress since t" uses the last sample at or before `t`, never an interpolation, so the answer
//! is never smaller than what really crossed (a gap in the samples makes it larger, not smaller).

use std::collections::VecDeque;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::counter::Counters;

/// The fastest link a counter could have run at between two samples (100 Gbit/s). A fall of the
/// counter that would need more than this to be a wrap is a reset.
pub const MAX_BYTES_PER_SECOND: f64 = 12.5e9;

/// One sample of the meter: the total egress (tx) at a time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Sample {
    pub at: DateTime<Utc>,
    pub tx: u64,
}

/// What the last raw reading was, to count the next one against.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Baseline {
    pub interface: String,
    pub boot_id: Option<String>,
    pub raw: RawCounters,
    pub at: DateTime<Utc>,
}

/// Raw kernel counters, as saved.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct RawCounters {
    pub tx: u64,
    pub rx: u64,
}

impl From<Counters> for RawCounters {
    fn from(c: Counters) -> Self {
        Self { tx: c.tx, rx: c.rx }
    }
}

/// How a raw reading was counted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Step {
    /// The first reading ever (or of a new interface): nothing counted, the baseline is set.
    Started,
    Grew,
    Wrapped,
    /// The counter fell to a value that cannot be a wrap: the interface was re-created.
    Reset,
    /// A new boot: the counter began again at zero.
    Rebooted,
}

/// What is saved in the state directory.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Saved {
    pub baseline: Option<Baseline>,
    pub total: RawCounters,
    /// A thinned copy of the history (every sample kept is a real one).
    pub history: Vec<Sample>,
}

/// The meter.
#[derive(Debug, Clone, Default)]
pub struct Meter {
    baseline: Option<Baseline>,
    total: RawCounters,
    history: VecDeque<Sample>,
}

fn grew(last: u64, raw: u64, seconds: f64) -> (u64, Step) {
    if raw >= last {
        return (raw - last, Step::Grew);
    }
    let wrapped = raw.wrapping_sub(last);
    if (wrapped as f64) <= MAX_BYTES_PER_SECOND * (seconds.max(0.0) + 1.0) {
        (wrapped, Step::Wrapped)
    } else {
        (raw, Step::Reset)
    }
}

impl Meter {
    /// A meter that goes on from what was saved.
    pub fn restore(saved: Saved) -> Self {
        Self {
            baseline: saved.baseline,
            total: saved.total,
            history: saved.history.into(),
        }
    }

    /// What to save: the baseline, the totals and the history thinned to one sample per `every`.
    pub fn save(&self, every: chrono::Duration) -> Saved {
        let mut history: Vec<Sample> = Vec::new();
        let n = self.history.len();
        for (i, s) in self.history.iter().enumerate() {
            let keep = match history.last() {
                None => true,
                Some(prev) => s.at - prev.at >= every || i + 1 == n,
            };
            if keep {
                history.push(*s);
            }
        }
        Saved {
            baseline: self.baseline.clone(),
            total: self.total,
            history,
        }
    }

    /// Folds a raw reading of `interface` in, at `now`, and drops history older than `keep`.
    pub fn observe(
        &mut self,
        interface: &str,
        boot_id: Option<&str>,
        raw: Counters,
        now: DateTime<Utc>,
        keep: chrono::Duration,
    ) -> Step {
        let raw = RawCounters::from(raw);
        let step = match &self.baseline {
            Some(b) if b.interface != interface => Step::Started,
            None => Step::Started,
            Some(b)
                if b.boot_id.is_some() && boot_id.is_some() && b.boot_id.as_deref() != boot_id =>
            {
                self.total.tx = self.total.tx.saturating_add(raw.tx);
                self.total.rx = self.total.rx.saturating_add(raw.rx);
                Step::Rebooted
            }
            Some(b) => {
                let secs = (now - b.at).num_milliseconds() as f64 / 1000.0;
                let (tx, step) = grew(b.raw.tx, raw.tx, secs);
                let (rx, _) = grew(b.raw.rx, raw.rx, secs);
                self.total.tx = self.total.tx.saturating_add(tx);
                self.total.rx = self.total.rx.saturating_add(rx);
                step
            }
        };
        self.baseline = Some(Baseline {
            interface: interface.to_string(),
            boot_id: boot_id.map(str::to_string),
            raw,
            at: now,
        });
        // A clock set back would make the history go back in time: keep it ordered.
        if self.history.back().is_some_and(|s| s.at > now) {
            self.history.clear();
        }
        self.history.push_back(Sample {
            at: now,
            tx: self.total.tx,
        });
        while self.history.front().is_some_and(|s| now - s.at > keep) && self.history.len() > 1 {
            self.history.pop_front();
        }
        step
    }

    /// The totals counted so far (tx, rx).
    pub fn total(&self) -> RawCounters {
        self.total
    }

    /// The interface counted, when any.
    pub fn interface(&self) -> Option<&str> {
        self.baseline.as_ref().map(|b| b.interface.as_str())
    }

    /// The samples, oldest first.
    pub fn history(&self) -> &VecDeque<Sample> {
        &self.history
    }

    /// The time of the oldest sample.
    pub fn oldest(&self) -> Option<DateTime<Utc>> {
        self.history.front().map(|s| s.at)
    }

    /// Egress (tx bytes) since `t`: the last total minus the total of the last sample at or
    /// before `t`; when `t` is before the oldest sample, since the oldest (what happened before
    /// it was never counted). `None` without samples.
    pub fn tx_since(&self, t: DateTime<Utc>) -> Option<u64> {
        let last = self.history.back()?;
        let i = self.history.partition_point(|s| s.at <= t);
        let base = if i == 0 {
            self.history.front()?
        } else {
            &self.history[i - 1]
        };
        Some(last.tx.saturating_sub(base.tx))
    }

    /// The total at `t`, interpolated between the samples around it (for fitting the lag, where
    /// the best guess is wanted, not the safe one). `None` outside the history.
    pub fn tx_at(&self, t: DateTime<Utc>) -> Option<f64> {
        let h = &self.history;
        let i = h.partition_point(|s| s.at <= t);
        if i == 0 {
            return None;
        }
        let a = h[i - 1];
        let Some(b) = h.get(i) else {
            return (a.at == t).then_some(a.tx as f64);
        };
        let span = (b.at - a.at).num_microseconds().unwrap_or(1).max(1) as f64;
        let part = (t - a.at).num_microseconds().unwrap_or(0) as f64 / span;
        Some(a.tx as f64 + (b.tx.saturating_sub(a.tx)) as f64 * part)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_700_000_000 + s, 0).unwrap()
    }
    fn c(tx: u64) -> Counters {
        Counters { tx, rx: tx / 10 }
    }
    const KEEP: chrono::Duration = chrono::Duration::hours(7);

    #[test]
    fn growth_is_counted_from_the_first_reading_on() {
        let mut m = Meter::default();
        assert_eq!(
            m.observe("eth0", Some("b1"), c(1_000), t(0), KEEP),
            Step::Started
        );
        assert_eq!(
            m.total().tx,
            0,
            "what was sent before the meter started is not ours to count"
        );
        assert_eq!(
            m.observe("eth0", Some("b1"), c(5_000), t(2), KEEP),
            Step::Grew
        );
        assert_eq!(m.total().tx, 4_000);
        assert_eq!(m.total().rx, 400);
    }

    #[test]
    fn a_reset_counter_counts_what_it_shows_since() {
        let mut m = Meter::default();
        m.observe("eth0", Some("b1"), c(10_000_000_000_000), t(0), KEEP);
        assert_eq!(
            m.observe("eth0", Some("b1"), c(3_000), t(2), KEEP),
            Step::Reset
        );
        assert_eq!(m.total().tx, 3_000);
    }

    #[test]
    fn a_wrapped_counter_counts_across_the_wrap() {
        let mut m = Meter::default();
        m.observe("eth0", Some("b1"), c(u64::MAX - 999), t(0), KEEP);
        assert_eq!(
            m.observe("eth0", Some("b1"), c(500), t(2), KEEP),
            Step::Wrapped
        );
        assert_eq!(m.total().tx, 1_500);
    }

    #[test]
    fn a_reboot_counts_everything_since_boot_and_a_restart_loses_nothing() {
        let mut m = Meter::default();
        m.observe("eth0", Some("b1"), c(1_000), t(0), KEEP);
        m.observe("eth0", Some("b1"), c(9_000), t(2), KEEP);
        // A restart of the process in the same boot: saved, restored, and the counter went on.
        let saved = m.save(chrono::Duration::seconds(30));
        let json = serde_json::to_string(&saved).unwrap();
        let mut m = Meter::restore(serde_json::from_str(&json).unwrap());
        assert_eq!(
            m.observe("eth0", Some("b1"), c(12_000), t(60), KEEP),
            Step::Grew
        );
        assert_eq!(m.total().tx, 11_000);
        // A reboot: the counter began at zero and shows 7,000 since; even a value above the last
        // one is all new.
        assert_eq!(
            m.observe("eth0", Some("b2"), c(70_000), t(120), KEEP),
            Step::Rebooted
        );
        assert_eq!(m.total().tx, 81_000);
    }

    #[test]
    fn another_interface_starts_over_without_counting_its_past() {
        let mut m = Meter::default();
        m.observe("eth0", Some("b1"), c(1_000), t(0), KEEP);
        m.observe("eth0", Some("b1"), c(2_000), t(2), KEEP);
        assert_eq!(
            m.observe("eth1", Some("b1"), c(9_999_999), t(4), KEEP),
            Step::Started
        );
        assert_eq!(m.total().tx, 1_000);
        assert_eq!(m.interface(), Some("eth1"));
    }

    #[test]
    fn egress_since_a_time_never_under_counts() {
        let mut m = Meter::default();
        for (s, tx) in [(0, 0), (10, 100), (20, 300), (30, 600)] {
            m.observe("eth0", None, c(tx), t(s), KEEP);
        }
        assert_eq!(m.tx_since(t(20)), Some(300));
        // Between samples: from the earlier one.
        assert_eq!(m.tx_since(t(25)), Some(300));
        assert_eq!(m.tx_since(t(15)), Some(500));
        // Before the history: from its start.
        assert_eq!(m.tx_since(t(-100)), Some(600));
        assert_eq!(m.tx_since(t(99)), Some(0));
        assert_eq!(m.tx_at(t(15)), Some(200.0));
        assert_eq!(m.tx_at(t(-1)), None);
        assert_eq!(m.tx_at(t(30)), Some(600.0));
        assert_eq!(m.tx_at(t(31)), None);
    }

    #[test]
    fn history_is_bounded_and_thinned_when_saved() {
        let mut m = Meter::default();
        for s in 0..100 {
            m.observe(
                "eth0",
                None,
                c(s as u64 * 10),
                t(s * 2),
                chrono::Duration::seconds(60),
            );
        }
        assert_eq!(m.oldest(), Some(t(138)));
        let saved = m.save(chrono::Duration::seconds(10));
        assert_eq!(saved.history.first().unwrap().at, t(138));
        assert_eq!(saved.history.last().unwrap().at, t(198));
        assert!(saved.history.len() <= 8, "{}", saved.history.len());
    }
}
