//! The plausibility judge: whether a reading BSS gave may be acted on.
//!
//! Pure: [`judge`] takes a new [`Reading`], what was accepted (and held) before for the same
//! package ([`Memory`], kept in the state file so that it survives a restart), the [`Settings`]
//! and `now`, and answers [`Verdict::Accept`], [`Verdict::Hold`] or [`Verdict::Refuse`]. The
//! poller asks it for every reading before anything else sees the reading; a refused or held
//! reading never reaches the snapshot, the evaluator, the webhook's fresh reading, the enforcer
//! or the shutdown guard's re-check. It does not talk to the owner (the engine does) and it does
//! not parse answers (`huawei::wire` refuses what cannot be read at all).
//!
//! Refused, never acted on (a reading that cannot be true):
//! - a quota of 0, remaining above the quota;
//! - a cycle that ends before it starts, lasts less than an hour (the shortest reset period BSS
//!   has) or more than [`MAX_CYCLE`];
//! - a cycle already over ([`Doubt::CycleOver`]; BSS may go on answering the ended cycle for a
//!   while after the reset, so such a reading is refused at once but told only after
//!   [`ROLLOVER_GRACE`]), or not begun yet (start more than [`EDGE_TOLERANCE`] ahead);
//! - around the accepted cycle (until [`ROLLOVER_GRACE`] after its end): a cycle that moves
//!   backwards, a start that moved while the end did not (a "new cycle whose end did not move"),
//!   and a new cycle that does not follow the accepted one (it appears well before the accepted
//!   one ends, or does not start where it ended). These heal by themselves: once the accepted cycle
//!   is well over, a reading is judged on its own.
//!
//! Held until the next reading confirms it (a glitch never acts, a real drop acts one poll later):
//! - a drop faster than the instance could send: more than `MAX_EGRESS_RATE` × (time since the
//!   last accepted reading, or since the cycle start for a new cycle, + [`SETTLEMENT_WINDOW`]).
//!   The window is there because the bill lags and settles in bursts: an hour of traffic is
//!   deducted at once about an hour after it was sent (see the README);
//! - within [`NEAR_END`] of the cycle end, a reading against the trend: a drop more than twice
//!   what the cycle's average rate explains (plus [`slack_gb`]), or a rise (the reset showing
//!   before the dates move). Acting minutes before the reset gains little and the answers around
//!   it are the least reliable, so one more reading is worth its wait here.
//!
//! A held reading is confirmed by the next reading of the same cycle that stays at or below it
//! (within [`slack_gb`]) and did not drop faster than the rate allows since it.

use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::reading::{Reading, BYTES_PER_GB};

/// How long after the bill's hour an hour of traffic may still be deducted at once: the hour
/// itself plus an hour of lag (Huawei's billing FAQ: hourly usage is deducted about an hour
/// after the hour ends).
pub const SETTLEMENT_WINDOW: Duration = Duration::from_secs(2 * 3600);

/// Clock tolerance at the cycle's edges: a start up to this far ahead is taken as begun, and a
/// new cycle may appear this long before the accepted one ends.
pub const EDGE_TOLERANCE: Duration = Duration::from_secs(10 * 60);

/// Two cycle ends (or starts) this close are the same instant to BSS (its cycle end moved from
/// 23:59:59 to 00:00:00 once; a time zone slip would be hours, which is not the same).
pub const SAME_CYCLE_TOLERANCE: Duration = Duration::from_secs(3600);

/// How long after its end the accepted cycle still constrains the next one, and how long BSS may
/// answer an ended cycle before the owner is told.
pub const ROLLOVER_GRACE: Duration = Duration::from_secs(3 * 3600);

/// Near the cycle end, where a reading against the trend is held: the last minutes. Shorter
/// than [`EDGE_TOLERANCE`], so that a reading of the next cycle may arrive before the end
/// without the last readings of this one being held.
pub const NEAR_END: Duration = Duration::from_secs(5 * 60);

/// The shortest and the longest cycle taken as real (BSS resets hourly at the shortest, yearly
/// at the longest).
pub const MIN_CYCLE: Duration = Duration::from_secs(3600);
pub const MAX_CYCLE: Duration = Duration::from_secs(367 * 24 * 3600);

/// How soon after a held reading the poller reads again to confirm it (instead of waiting a
/// whole `POLL_INTERVAL`). One extra call per hold: far below BSS's 10 calls a second, and never
/// right after a throttled answer (the poller checks).
pub const CONFIRM_AFTER: Duration = Duration::from_secs(60);

/// What the judge needs from the configuration.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Settings {
    /// `MAX_EGRESS_RATE`, in bits per second.
    pub max_egress_bits_per_s: f64,
}

impl Settings {
    /// The most GB the instance can send in `d` at full rate.
    pub fn max_gb_in(&self, d: chrono::Duration) -> f64 {
        let secs = d.num_milliseconds().max(0) as f64 / 1000.0;
        self.max_egress_bits_per_s / 8.0 * secs / BYTES_PER_GB
    }
}

/// What was accepted (and held) for one package; stored in the state file.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Memory {
    /// The last reading acted on.
    #[serde(default)]
    pub accepted: Option<Reading>,
    /// A reading waiting for the next one to confirm it.
    #[serde(default)]
    pub held: Option<Reading>,
}

/// Why a reading is not acted on (now).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Doubt {
    ZeroTotal,
    RemainingAboveTotal {
        remaining_gb: f64,
        total_gb: f64,
    },
    EndBeforeStart {
        start: DateTime<Utc>,
        end: DateTime<Utc>,
    },
    CycleTooShort {
        start: DateTime<Utc>,
        end: DateTime<Utc>,
    },
    CycleTooLong {
        start: DateTime<Utc>,
        end: DateTime<Utc>,
    },
    CycleOver {
        end: DateTime<Utc>,
    },
    CycleNotBegun {
        start: DateTime<Utc>,
    },
    CycleBackwards {
        end: DateTime<Utc>,
        accepted_end: DateTime<Utc>,
    },
    StartMovedEndDidNot {
        start: DateTime<Utc>,
        accepted_start: DateTime<Utc>,
        end: DateTime<Utc>,
    },
    NewCycleDoesNotFollow {
        start: Option<DateTime<Utc>>,
        end: DateTime<Utc>,
        accepted_end: DateTime<Utc>,
    },
    /// Held: the remaining fell from `from_gb` to `to_gb` in `minutes`, more than `max_gb`.
    FastDrop {
        from_gb: f64,
        to_gb: f64,
        minutes: i64,
        max_gb: f64,
    },
    /// Held: near the cycle end, the remaining moved from `from_gb` to `to_gb` against the trend.
    NearEndAgainstTrend {
        from_gb: f64,
        to_gb: f64,
        end: DateTime<Utc>,
    },
}

impl Doubt {
    /// A stable name of the kind (state file, logs, "told once per problem").
    pub fn kind(&self) -> &'static str {
        match self {
            Self::ZeroTotal => "zero_total",
            Self::RemainingAboveTotal { .. } => "remaining_above_total",
            Self::EndBeforeStart { .. } => "end_before_start",
            Self::CycleTooShort { .. } => "cycle_too_short",
            Self::CycleTooLong { .. } => "cycle_too_long",
            Self::CycleOver { .. } => "cycle_over",
            Self::CycleNotBegun { .. } => "cycle_not_begun",
            Self::CycleBackwards { .. } => "cycle_backwards",
            Self::StartMovedEndDidNot { .. } => "start_moved_end_did_not",
            Self::NewCycleDoesNotFollow { .. } => "new_cycle_does_not_follow",
            Self::FastDrop { .. } => "fast_drop",
            Self::NearEndAgainstTrend { .. } => "near_end_against_trend",
        }
    }

    /// Held (waits for one more reading) rather than refused.
    pub fn is_hold(&self) -> bool {
        matches!(
            self,
            Self::FastDrop { .. } | Self::NearEndAgainstTrend { .. }
        )
    }

    /// Whether the owner is told yet: an ended cycle still answered within [`ROLLOVER_GRACE`] of
    /// its end is BSS rolling over late, refused without a message.
    pub fn tell_now(&self, now: DateTime<Utc>) -> bool {
        match self {
            Self::CycleOver { end } => now.signed_duration_since(*end) >= chrono_of(ROLLOVER_GRACE),
            _ => true,
        }
    }
}

fn t(d: &DateTime<Utc>) -> String {
    d.format("%Y-%m-%d %H:%M UTC").to_string()
}

impl std::fmt::Display for Doubt {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::ZeroTotal => write!(f, "refused: the package's quota is 0"),
            Self::RemainingAboveTotal { remaining_gb, total_gb } => write!(f, "refused: remaining {remaining_gb:.2} GB is above the quota {total_gb:.2} GB"),
            Self::EndBeforeStart { start, end } => write!(f, "refused: the cycle ends ({}) before it starts ({})", t(end), t(start)),
            Self::CycleTooShort { start, end } => write!(f, "refused: the cycle {} ~ {} is shorter than an hour", t(start), t(end)),
            Self::CycleTooLong { start, end } => write!(f, "refused: the cycle {} ~ {} is longer than a year", t(start), t(end)),
            Self::CycleOver { end } => write!(f, "refused: the cycle ended at {}", t(end)),
            Self::CycleNotBegun { start } => write!(f, "refused: the cycle starts at {}, in the future", t(start)),
            Self::CycleBackwards { end, accepted_end } => write!(f, "refused: the cycle end moved back from {} to {}", t(accepted_end), t(end)),
            Self::StartMovedEndDidNot { start, accepted_start, end } => write!(f, "refused: the cycle start moved from {} to {} but its end ({}) did not", t(accepted_start), t(start), t(end)),
            Self::NewCycleDoesNotFollow { start, end, accepted_end } => write!(f, "refused: a new cycle (start {}, end {}) that does not follow the current one (end {})", start.as_ref().map_or_else(|| "?".into(), t), t(end), t(accepted_end)),
            Self::FastDrop { from_gb, to_gb, minutes, max_gb } => write!(f, "held: remaining fell from {from_gb:.2} to {to_gb:.2} GB in {minutes} min, more than the {max_gb:.2} GB the instance could send (MAX_EGRESS_RATE); waiting for the next reading to confirm it"),
            Self::NearEndAgainstTrend { from_gb, to_gb, end } => write!(f, "held: near the cycle end ({}), remaining moved from {from_gb:.2} to {to_gb:.2} GB against the trend; waiting for the next reading to confirm it", t(end)),
        }
    }
}

/// The judge's answer.
#[derive(Debug, Clone, PartialEq)]
pub enum Verdict {
    Accept,
    Hold(Doubt),
    Refuse(Doubt),
}

fn chrono_of(d: Duration) -> chrono::Duration {
    chrono::Duration::from_std(d).unwrap_or(chrono::Duration::MAX)
}

fn close(a: DateTime<Utc>, b: DateTime<Utc>) -> bool {
    a.signed_duration_since(b).abs() <= chrono_of(SAME_CYCLE_TOLERANCE)
}

/// Whether two cycle ends name the same cycle (within [`SAME_CYCLE_TOLERANCE`]). An unknown end
/// on either side counts as the same cycle: it cannot show that a new one began.
pub fn same_cycle(a: Option<DateTime<Utc>>, b: Option<DateTime<Utc>>) -> bool {
    match (a, b) {
        (Some(a), Some(b)) => close(a, b),
        _ => true,
    }
}

/// How far two readings of one cycle may disagree and still be "the same figure": 1 GB or 1% of
/// the quota, whichever is more.
pub fn slack_gb(r: &Reading) -> f64 {
    (r.total_gb / 100.0).max(1.0)
}

/// What the reading says on its own.
fn on_its_own(r: &Reading, now: DateTime<Utc>) -> Option<Doubt> {
    if r.total_gb <= 0.0 {
        return Some(Doubt::ZeroTotal);
    }
    // A hundredth of a GB for the rounding of figures converted from MB.
    if r.remaining_gb > r.total_gb + 0.01 {
        return Some(Doubt::RemainingAboveTotal {
            remaining_gb: r.remaining_gb,
            total_gb: r.total_gb,
        });
    }
    if let (Some(start), Some(end)) = (r.cycle_start, r.cycle_end) {
        let length = end.signed_duration_since(start);
        if length < chrono::Duration::zero() {
            return Some(Doubt::EndBeforeStart { start, end });
        }
        if length < chrono_of(MIN_CYCLE) {
            return Some(Doubt::CycleTooShort { start, end });
        }
        if length > chrono_of(MAX_CYCLE) {
            return Some(Doubt::CycleTooLong { start, end });
        }
    }
    if let Some(end) = r.cycle_end {
        if end <= now {
            return Some(Doubt::CycleOver { end });
        }
    }
    if let Some(start) = r.cycle_start {
        if start > now + chrono_of(EDGE_TOLERANCE) {
            return Some(Doubt::CycleNotBegun { start });
        }
    }
    None
}

/// What the reading says against the accepted cycle, while that one is current.
fn against_cycle(r: &Reading, a: &Reading, now: DateTime<Utc>) -> Option<Doubt> {
    let (Some(end), Some(accepted_end)) = (r.cycle_end, a.cycle_end) else {
        return None;
    };
    if now > accepted_end + chrono_of(ROLLOVER_GRACE) {
        return None;
    }
    if close(end, accepted_end) {
        if let (Some(start), Some(accepted_start)) = (r.cycle_start, a.cycle_start) {
            if !close(start, accepted_start) {
                return Some(Doubt::StartMovedEndDidNot {
                    start,
                    accepted_start,
                    end,
                });
            }
        }
        return None;
    }
    if end < accepted_end {
        return Some(Doubt::CycleBackwards { end, accepted_end });
    }
    let early = now < accepted_end - chrono_of(EDGE_TOLERANCE);
    let detached = r.cycle_start.is_some_and(|s| !close(s, accepted_end));
    (early || detached).then_some(Doubt::NewCycleDoesNotFollow {
        start: r.cycle_start,
        end,
        accepted_end,
    })
}

/// Whether a drop from `from_gb` at `since` to `r` is faster than the instance could send.
fn fast_drop(r: &Reading, from_gb: f64, since: DateTime<Utc>, s: &Settings) -> Option<Doubt> {
    let elapsed = r
        .read_at
        .signed_duration_since(since)
        .max(chrono::Duration::zero());
    let max_gb = s.max_gb_in(elapsed + chrono_of(SETTLEMENT_WINDOW));
    let drop = from_gb - r.remaining_gb;
    (drop > max_gb).then(|| Doubt::FastDrop {
        from_gb,
        to_gb: r.remaining_gb,
        minutes: elapsed.num_minutes(),
        max_gb,
    })
}

/// Near the end of the cycle: a rise, or a drop the cycle's average rate does not explain.
fn against_trend(r: &Reading, a: &Reading, now: DateTime<Utc>) -> Option<Doubt> {
    let end = r.cycle_end?;
    let to_end = end.signed_duration_since(now);
    if to_end < chrono::Duration::zero() || to_end > chrono_of(NEAR_END) {
        return None;
    }
    let doubt = Doubt::NearEndAgainstTrend {
        from_gb: a.remaining_gb,
        to_gb: r.remaining_gb,
        end,
    };
    if r.remaining_gb > a.remaining_gb + slack_gb(a) {
        return Some(doubt);
    }
    let start = a.cycle_start?;
    let lived = a.read_at.signed_duration_since(start).num_seconds();
    if lived <= 0 {
        return None;
    }
    let per_s = a.used_gb() / lived as f64;
    let elapsed = r
        .read_at
        .signed_duration_since(a.read_at)
        .max(chrono::Duration::zero())
        + chrono_of(SETTLEMENT_WINDOW);
    let explained = 2.0 * per_s * elapsed.num_seconds() as f64 + slack_gb(a);
    (a.remaining_gb - r.remaining_gb > explained).then_some(doubt)
}

/// Judges `r` against what was accepted and held before for the same package. Pure.
pub fn judge(r: &Reading, memory: &Memory, s: &Settings, now: DateTime<Utc>) -> Verdict {
    if let Some(d) = on_its_own(r, now) {
        return Verdict::Refuse(d);
    }
    let accepted = memory.accepted.as_ref();
    if let Some(d) = accepted.and_then(|a| against_cycle(r, a, now)) {
        return Verdict::Refuse(d);
    }
    // The reading that confirms a held one: same cycle, no higher than it (within the slack),
    // and no faster drop since it than the instance allows.
    if let Some(h) = &memory.held {
        let same = same_cycle(h.cycle_end, r.cycle_end)
            && match (h.cycle_start, r.cycle_start) {
                (Some(a), Some(b)) => close(a, b),
                _ => true,
            };
        if same
            && r.remaining_gb <= h.remaining_gb + slack_gb(h)
            && fast_drop(r, h.remaining_gb, h.read_at, s).is_none()
        {
            return Verdict::Accept;
        }
    }
    let same = accepted.filter(|a| same_cycle(a.cycle_end, r.cycle_end));
    let drop = match (same, r.cycle_start) {
        (Some(a), _) => fast_drop(r, a.remaining_gb, a.read_at, s),
        // A new cycle (or the first reading): it began with its whole quota.
        (None, Some(start)) => fast_drop(r, r.total_gb, start, s),
        (None, None) => None,
    };
    if let Some(d) = drop {
        return Verdict::Hold(d);
    }
    if let Some(d) = same.and_then(|a| against_trend(r, a, now)) {
        return Verdict::Hold(d);
    }
    Verdict::Accept
}

/// Folds a verdict into the memory: an accepted reading becomes the reference and ends a hold;
/// a held one waits; a refused one changes nothing.
pub fn remember(memory: &mut Memory, r: &Reading, v: &Verdict) {
    match v {
        Verdict::Accept => {
            memory.accepted = Some(r.clone());
            memory.held = None;
        }
        Verdict::Hold(_) => memory.held = Some(r.clone()),
        Verdict::Refuse(_) => {}
    }
}

/// Parses a rate in tc's units (`300mbit`, `1gbit`, `500kbit`; `mbps` is megabytes a second,
/// as in tc) into bits per second. A unit is required.
pub fn parse_rate(s: &str) -> Option<f64> {
    let s = s.trim().to_ascii_lowercase();
    let digits = s
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(s.len());
    let (num, unit) = s.split_at(digits);
    let n: f64 = num
        .parse()
        .ok()
        .filter(|n: &f64| *n > 0.0 && n.is_finite())?;
    let factor = match unit {
        "bit" => 1.0,
        "kbit" => 1e3,
        "mbit" => 1e6,
        "gbit" => 1e9,
        "tbit" => 1e12,
        "bps" => 8.0,
        "kbps" => 8e3,
        "mbps" => 8e6,
        "gbps" => 8e9,
        "tbps" => 8e12,
        _ => return None,
    };
    Some(n * factor)
}

#[cfg(test)]
mod tests;
