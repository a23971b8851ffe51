//! The alert level of a reading: a pure function of the remaining traffic and the thresholds.
//!
//! Cadence, dedupe and shutdown decisions build on this in `policy`; this module only classifies.

use serde::{Deserialize, Serialize};

/// The three thresholds, in GB: `t1 < t2 < t3` (`THRESHOLD_LEVEL_1/2/3`).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Thresholds {
    /// Below it: shutdown (level 1).
    pub t1: f64,
    /// Below it: high-frequency alerts (level 2).
    pub t2: f64,
    /// Below it: normal alerts (level 3).
    pub t3: f64,
}

impl Default for Thresholds {
    /// The original's thresholds (the configuration's defaults; a unit test there keeps them equal).
    fn default() -> Self {
        Self {
            t1: 200.0,
            t2: 300.0,
            t3: 500.0,
        }
    }
}

/// How low the remaining traffic is. Ordered from best to worst: `Ok < L3 < L2 < L1`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    /// remaining ≥ T3: daily report at most.
    Ok,
    /// T2 ≤ remaining < T3: normal alert.
    #[serde(rename = "3")]
    L3,
    /// T1 ≤ remaining < T2: high-frequency alert.
    #[serde(rename = "2")]
    L2,
    /// remaining < T1: shutdown.
    #[serde(rename = "1")]
    L1,
}

impl Level {
    /// The level of `remaining_gb` under `t`.
    pub fn of(remaining_gb: f64, t: &Thresholds) -> Self {
        if remaining_gb < t.t1 {
            Self::L1
        } else if remaining_gb < t.t2 {
            Self::L2
        } else if remaining_gb < t.t3 {
            Self::L3
        } else {
            Self::Ok
        }
    }

    /// The `level` label value used by the alert rules (`ok`, `3`, `2`, `1`).
    pub fn label(self) -> &'static str {
        match self {
            Self::Ok => "ok",
            Self::L3 => "3",
            Self::L2 => "2",
            Self::L1 => "1",
        }
    }

    /// Parses a `level` label.
    pub fn from_label(s: &str) -> Option<Self> {
        match s.trim() {
            "ok" | "0" => Some(Self::Ok),
            "3" => Some(Self::L3),
            "2" => Some(Self::L2),
            "1" => Some(Self::L1),
            _ => None,
        }
    }

    /// A number for gauges: 0 = ok, then 3, 2, 1.
    pub fn as_number(self) -> i64 {
        match self {
            Self::Ok => 0,
            Self::L3 => 3,
            Self::L2 => 2,
            Self::L1 => 1,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn boundaries_belong_to_the_better_level() {
        let t = Thresholds {
            t1: 200.0,
            t2: 300.0,
            t3: 500.0,
        };
        assert_eq!(Level::of(500.0, &t), Level::Ok);
        assert_eq!(Level::of(499.99, &t), Level::L3);
        assert_eq!(Level::of(300.0, &t), Level::L3);
        assert_eq!(Level::of(299.0, &t), Level::L2);
        assert_eq!(Level::of(200.0, &t), Level::L2);
        assert_eq!(Level::of(199.99, &t), Level::L1);
        assert_eq!(Level::of(0.0, &t), Level::L1);
        assert!(Level::L1 > Level::L2 && Level::L2 > Level::L3 && Level::L3 > Level::Ok);
    }

    #[test]
    fn labels_round_trip() {
        for l in [Level::Ok, Level::L3, Level::L2, Level::L1] {
            assert_eq!(Level::from_label(l.label()), Some(l));
        }
        assert_eq!(Level::from_label("critical"), None);
    }
}
