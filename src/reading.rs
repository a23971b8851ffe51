//! The domain type of one package's traffic figures, and the unit conversion that makes them.
//!
//! BSS reports amounts in the unit named by `measure_id`; this module turns them into GB once, so the
//! rest of the program never sees a unit again. It does not know how the figures were fetched
//! (see `huawei::bss`) nor what they mean for alerting (see `policy`).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// Bytes in one GB as BSS counts it (1 GB = 1024 MB).
pub const BYTES_PER_GB: f64 = 1024.0 * 1024.0 * 1024.0;

/// The unit of a BSS amount.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Unit {
    Gb,
    Mb,
}

impl Unit {
    /// `measure_id` 10 is GB and 11 is MB; any other unit is refused rather than guessed
    /// (the original read every amount as GB).
    pub fn from_measure_id(id: i64) -> Option<Self> {
        match id {
            10 => Some(Self::Gb),
            11 => Some(Self::Mb),
            _ => None,
        }
    }

    /// Converts an amount in this unit to GB.
    pub fn to_gb(self, amount: f64) -> f64 {
        match self {
            Self::Gb => amount,
            Self::Mb => amount / 1024.0,
        }
    }
}

/// One package's figures, in GB, as read at `read_at`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Reading {
    pub free_resource_id: String,
    /// e.g. "Lightweight BGP data package".
    pub package_name: String,
    /// e.g. "Uplink traffic"; empty when BSS did not say.
    pub usage_type: String,
    pub remaining_gb: f64,
    pub total_gb: f64,
    pub cycle_start: Option<DateTime<Utc>>,
    pub cycle_end: Option<DateTime<Utc>>,
    pub read_at: DateTime<Utc>,
}

impl Reading {
    /// Quota minus remaining, never below zero.
    pub fn used_gb(&self) -> f64 {
        (self.total_gb - self.remaining_gb).max(0.0)
    }

    /// The remaining amount in bytes.
    pub fn remaining_bytes(&self) -> f64 {
        // Whole bytes: a fraction of a byte is an artefact of the GB figure's decimals.
        (self.remaining_gb * BYTES_PER_GB).round()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mb_is_a_1024th_of_a_gb() {
        assert_eq!(Unit::from_measure_id(11).unwrap().to_gb(512.0), 0.5);
        assert_eq!(Unit::from_measure_id(10).unwrap().to_gb(512.0), 512.0);
    }

    #[test]
    fn unknown_measure_is_refused() {
        assert_eq!(Unit::from_measure_id(0), None);
        assert_eq!(Unit::from_measure_id(12), None);
    }
}
