//! Wire types of the BSS answers, and their conversion into [`Reading`]s.
//!
//! Parsing is lenient where Huawei is (amounts as JSON numbers or strings, unknown fields ignored)
//! and strict where a mistake would be dangerous: a missing, malformed or absurd amount, an unknown
//! unit, an unreadable cycle end, an id absent from the answer or listed twice with different
//! figures is an error for that package, never a zero and never a guess. The shutdown guard's
//! "already acted in this cycle" record is keyed by the cycle end, so a reading without one could
//! make it act again and again; such a reading is not a reading.

use std::collections::HashMap;

use chrono::{DateTime, NaiveDateTime, Utc};
use serde::Deserialize;
use serde_json::Value;

use crate::reading::{Reading, Unit};

/// Why one package could not be read.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ReadingError {
    #[error("the answer has no entry for this free resource id (check FREE_RESOURCE_IDS, or run `discover`)")]
    MissingFromAnswer,
    #[error("the answer has no `{0}`")]
    MissingField(&'static str),
    #[error("`{field}` is not a valid non-negative number: {value}")]
    BadAmount { field: &'static str, value: String },
    #[error("unknown unit measure_id={0} (only 10 = GB and 11 = MB are known)")]
    UnknownUnit(String),
    #[error("`{field}` is not a time like 2025-01-07T16:00:00Z: {value}")]
    BadTime { field: &'static str, value: String },
    #[error("`{field}` is {gb:e} GB, beyond any real package (more than {MAX_PLAUSIBLE_GB} GB)")]
    Implausible { field: &'static str, gb: f64 },
    #[error("the answer lists this id {0} times with different figures; none of them is trusted")]
    ConflictingDuplicates(usize),
    /// Read, but not plausible (see `plausibility`): refused, or held until the next reading.
    #[error("{0}")]
    Doubtful(crate::plausibility::Doubt),
    /// The call of the package's account failed (with several accounts, the others were read).
    #[error("the call of account {account} failed: {error}")]
    AccountFailed {
        account: String,
        error: Box<crate::huawei::HuaweiError>,
    },
}

impl ReadingError {
    /// A stable name of the problem, to tell the owner once per distinct problem.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::MissingFromAnswer => "missing_from_answer",
            Self::MissingField(_) => "missing_field",
            Self::BadAmount { .. } => "bad_amount",
            Self::UnknownUnit(_) => "unknown_unit",
            Self::BadTime { .. } => "bad_time",
            Self::Implausible { .. } => "implausible_amount",
            Self::ConflictingDuplicates(_) => "conflicting_duplicates",
            Self::Doubtful(d) => d.kind(),
            Self::AccountFailed { .. } => "account_failed",
        }
    }
}

/// The largest amount, in GB, taken as a real figure (1 PiB; Flexus L packages hold a few TB at
/// most). Anything above is a broken answer: `1e308` GB would otherwise render as `inf` bytes.
pub const MAX_PLAUSIBLE_GB: f64 = 1_048_576.0;

/// `ListFreeResourceUsages` answer (`POST /v2/payments/free-resources/usages/details/query`).
#[derive(Debug, Deserialize)]
pub struct UsagesResponse {
    #[serde(default)]
    pub free_resources: Option<Vec<FreeResourceUsage>>,
}

/// One entry of `free_resources[]`. Amounts stay raw JSON until validated.
#[derive(Debug, Deserialize, Clone)]
pub struct FreeResourceUsage {
    #[serde(default)]
    pub free_resource_id: Option<String>,
    #[serde(default)]
    pub free_resource_type_name: Option<String>,
    #[serde(default)]
    pub usage_type_name: Option<String>,
    #[serde(default)]
    pub start_time: Option<String>,
    #[serde(default)]
    pub end_time: Option<String>,
    #[serde(default)]
    pub amount: Option<Value>,
    #[serde(default)]
    pub original_amount: Option<Value>,
    #[serde(default)]
    pub measure_id: Option<Value>,
}

/// `ListFreeResourceInfos` v3 answer (`POST /v3/payments/free-resources/query`).
#[derive(Debug, Deserialize)]
pub struct InfosResponse {
    #[serde(default)]
    pub total_count: Option<u64>,
    #[serde(default)]
    pub free_resource_packages: Option<Vec<FreeResourcePackage>>,
}

/// One package of the v3 answer.
#[derive(Debug, Deserialize, Clone)]
pub struct FreeResourcePackage {
    #[serde(default)]
    pub product_name: Option<String>,
    #[serde(default)]
    pub service_type_code: Option<String>,
    #[serde(default)]
    pub region_code: Option<String>,
    #[serde(default)]
    pub status: Option<i64>,
    #[serde(default)]
    pub effective_time: Option<String>,
    #[serde(default)]
    pub expire_time: Option<String>,
    #[serde(default)]
    pub free_resources: Option<Vec<FreeResourceUsage>>,
}

/// Reads a decimal that may be a JSON number or a string.
pub fn decimal(field: &'static str, value: Option<&Value>) -> Result<f64, ReadingError> {
    let value = value.ok_or(ReadingError::MissingField(field))?;
    let parsed = match value {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.trim().parse::<f64>().ok(),
        Value::Null => return Err(ReadingError::MissingField(field)),
        _ => None,
    };
    match parsed {
        Some(x) if x.is_finite() && x >= 0.0 => Ok(x),
        _ => Err(ReadingError::BadAmount {
            field,
            value: truncate(&value.to_string(), 40),
        }),
    }
}

fn truncate(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        s.to_string()
    } else {
        format!("{}…", s.chars().take(max).collect::<String>())
    }
}

fn unit(value: Option<&Value>) -> Result<Unit, ReadingError> {
    let value = value.ok_or(ReadingError::MissingField("measure_id"))?;
    let id = match value {
        Value::Number(n) => n.as_i64(),
        Value::String(s) => s.trim().parse::<i64>().ok(),
        _ => None,
    };
    id.and_then(Unit::from_measure_id)
        .ok_or_else(|| ReadingError::UnknownUnit(truncate(&value.to_string(), 20)))
}

/// Parses BSS times: `2025-01-07T16:00:00Z` (also tolerates a missing `Z` or fractional seconds).
pub fn parse_time(s: Option<&str>) -> Option<DateTime<Utc>> {
    let s = s?.trim();
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return Some(t.with_timezone(&Utc));
    }
    NaiveDateTime::parse_from_str(s.trim_end_matches('Z'), "%Y-%m-%dT%H:%M:%S")
        .ok()
        .map(|t| t.and_utc())
}

/// A time field: `required` ones must be present; any present one must be readable.
fn time_field(
    field: &'static str,
    value: Option<&str>,
    required: bool,
) -> Result<Option<DateTime<Utc>>, ReadingError> {
    match value {
        None if required => Err(ReadingError::MissingField(field)),
        None => Ok(None),
        Some(s) => parse_time(Some(s))
            .map(Some)
            .ok_or_else(|| ReadingError::BadTime {
                field,
                value: truncate(s, 40),
            }),
    }
}

/// An amount converted to GB, refused when beyond [`MAX_PLAUSIBLE_GB`].
fn plausible_gb(field: &'static str, gb: f64) -> Result<f64, ReadingError> {
    if gb <= MAX_PLAUSIBLE_GB {
        Ok(gb)
    } else {
        Err(ReadingError::Implausible { field, gb })
    }
}

impl FreeResourceUsage {
    /// Validates this entry into a reading the guard may act on: the cycle end is required.
    pub fn to_reading(&self, id: &str, read_at: DateTime<Utc>) -> Result<Reading, ReadingError> {
        self.read(id, read_at, true)
    }

    /// Validates the figures of a `ListFreeResourceInfos` entry, which carries no cycle (for
    /// `discover`, which never acts on them).
    pub fn to_figures(&self, id: &str, read_at: DateTime<Utc>) -> Result<Reading, ReadingError> {
        self.read(id, read_at, false)
    }

    fn read(
        &self,
        id: &str,
        read_at: DateTime<Utc>,
        cycle_required: bool,
    ) -> Result<Reading, ReadingError> {
        let unit = unit(self.measure_id.as_ref())?;
        let remaining = decimal("amount", self.amount.as_ref())?;
        let total = decimal("original_amount", self.original_amount.as_ref())?;
        Ok(Reading {
            free_resource_id: id.to_string(),
            package_name: self.free_resource_type_name.clone().unwrap_or_default(),
            usage_type: self.usage_type_name.clone().unwrap_or_default(),
            remaining_gb: plausible_gb("amount", unit.to_gb(remaining))?,
            total_gb: plausible_gb("original_amount", unit.to_gb(total))?,
            cycle_start: time_field("start_time", self.start_time.as_deref(), false)?,
            // The guard's record of having acted is keyed by the cycle end: required.
            cycle_end: time_field("end_time", self.end_time.as_deref(), cycle_required)?,
            read_at,
        })
    }
}

/// Matches the asked ids with the answer: each id gets its reading or the reason it has none.
///
/// Ids are matched exactly. An id listed more than once is read once when every entry gives the
/// same reading (a harmless repeat), and is an error when they differ: taking the first would let
/// the order of the answer decide between a shutdown and none.
pub fn readings_for(
    ids: &[String],
    answer: &[FreeResourceUsage],
    read_at: DateTime<Utc>,
) -> Vec<(String, Result<Reading, ReadingError>)> {
    let mut by_id: HashMap<&str, Vec<&FreeResourceUsage>> = HashMap::new();
    for entry in answer {
        if let Some(id) = entry.free_resource_id.as_deref() {
            by_id.entry(id).or_default().push(entry);
        }
    }
    ids.iter()
        .map(|id| {
            let result = match by_id.get(id.as_str()).map(Vec::as_slice) {
                None | Some([]) => Err(ReadingError::MissingFromAnswer),
                Some([entry]) => entry.to_reading(id, read_at),
                Some(entries) => {
                    let first = entries[0].to_reading(id, read_at);
                    if entries[1..]
                        .iter()
                        .all(|e| e.to_reading(id, read_at) == first)
                    {
                        first
                    } else {
                        Err(ReadingError::ConflictingDuplicates(entries.len()))
                    }
                }
            };
            (id.clone(), result)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn entry(v: Value) -> FreeResourceUsage {
        serde_json::from_value(v).unwrap()
    }

    fn now() -> DateTime<Utc> {
        DateTime::parse_from_rfc3339("2025-01-15T08:30:00Z")
            .unwrap()
            .with_timezone(&Utc)
    }

    #[test]
    fn sample_answer_reads_in_gb() {
        let text = include_str!("../../tests/fixtures/list_free_resource_usages.json");
        let answer: UsagesResponse = serde_json::from_str(text).unwrap();
        let id = "828e2c7c-3c8c-45a2-bebc-98cb3e77d06e".to_string();
        let got = readings_for(&[id], &answer.free_resources.unwrap(), now());
        let r = got[0].1.as_ref().unwrap();
        assert_eq!(r.remaining_gb, 853.27);
        assert_eq!(r.total_gb, 1200.0);
        assert!((r.used_gb() - 346.73).abs() < 1e-9);
        assert_eq!(
            r.cycle_end.unwrap().to_rfc3339(),
            "2025-02-07T16:00:00+00:00"
        );
    }

    #[test]
    fn string_amounts_and_mb_units_are_converted() {
        let e = entry(
            json!({"free_resource_id":"a","end_time":"2025-02-07T16:00:00Z","amount":"2048","original_amount":"4096","measure_id":11}),
        );
        let r = e.to_reading("a", now()).unwrap();
        assert_eq!((r.remaining_gb, r.total_gb), (2.0, 4.0));
    }

    #[test]
    fn missing_amount_is_an_error_not_zero() {
        let e = entry(
            json!({"free_resource_id":"a","end_time":"2025-02-07T16:00:00Z","original_amount":100,"measure_id":10}),
        );
        assert_eq!(
            e.to_reading("a", now()),
            Err(ReadingError::MissingField("amount"))
        );
        let e = entry(
            json!({"free_resource_id":"a","end_time":"2025-02-07T16:00:00Z","amount":null,"original_amount":100,"measure_id":10}),
        );
        assert_eq!(
            e.to_reading("a", now()),
            Err(ReadingError::MissingField("amount"))
        );
    }

    #[test]
    fn malformed_or_negative_amount_is_an_error() {
        for bad in [
            json!("12,5"),
            json!(""),
            json!(-1),
            json!(true),
            json!({"v":1}),
            json!("NaN"),
        ] {
            let e = entry(
                json!({"free_resource_id":"a","end_time":"2025-02-07T16:00:00Z","amount":bad,"original_amount":100,"measure_id":10}),
            );
            assert!(
                matches!(
                    e.to_reading("a", now()),
                    Err(ReadingError::BadAmount { .. })
                ),
                "{bad}"
            );
        }
    }

    #[test]
    fn unknown_unit_is_refused() {
        let e = entry(
            json!({"free_resource_id":"a","end_time":"2025-02-07T16:00:00Z","amount":1,"original_amount":100,"measure_id":12}),
        );
        assert_eq!(
            e.to_reading("a", now()),
            Err(ReadingError::UnknownUnit("12".into()))
        );
        let e = entry(
            json!({"free_resource_id":"a","end_time":"2025-02-07T16:00:00Z","amount":1,"original_amount":100}),
        );
        assert_eq!(
            e.to_reading("a", now()),
            Err(ReadingError::MissingField("measure_id"))
        );
    }

    #[test]
    fn an_id_absent_from_the_answer_is_unknown_not_zero() {
        let answer = vec![entry(
            json!({"free_resource_id":"a","end_time":"2025-02-07T16:00:00Z","amount":1,"original_amount":2,"measure_id":10}),
        )];
        let got = readings_for(&["a".into(), "b".into()], &answer, now());
        assert!(got[0].1.is_ok());
        assert_eq!(got[1].1, Err(ReadingError::MissingFromAnswer));
    }

    fn gb(id: &str, amount: f64) -> FreeResourceUsage {
        entry(
            json!({"free_resource_id":id,"amount":amount,"original_amount":1000,"measure_id":10,
            "start_time":"2025-01-07T16:00:00Z","end_time":"2025-02-07T16:00:00Z"}),
        )
    }

    #[test]
    fn an_unreadable_or_missing_cycle_end_is_not_a_reading() {
        let mut e = gb("a", 100.0);
        e.end_time = Some("garbage".into());
        assert_eq!(
            e.to_reading("a", now()),
            Err(ReadingError::BadTime {
                field: "end_time",
                value: "garbage".into()
            })
        );
        e.end_time = None;
        assert_eq!(
            e.to_reading("a", now()),
            Err(ReadingError::MissingField("end_time"))
        );
        let mut e = gb("a", 100.0);
        e.start_time = Some("soon".into());
        assert!(matches!(
            e.to_reading("a", now()),
            Err(ReadingError::BadTime {
                field: "start_time",
                ..
            })
        ));
        e.start_time = None;
        assert!(e.to_reading("a", now()).is_ok(), "start_time is optional");
    }

    #[test]
    fn absurd_amounts_are_not_readings() {
        for (amount, total) in [(1e308, 1000.0), (100.0, 1e308), (2e6, 3e6)] {
            let e = entry(
                json!({"free_resource_id":"a","amount":amount,"original_amount":total,
                "measure_id":10,"end_time":"2025-02-07T16:00:00Z"}),
            );
            assert!(
                matches!(
                    e.to_reading("a", now()),
                    Err(ReadingError::Implausible { .. })
                ),
                "{amount} / {total}"
            );
        }
        // 1 PiB in MB is still plausible; the bound applies after the unit conversion.
        let e = entry(json!({"free_resource_id":"a","amount":1_073_741_824u64,
            "original_amount":1_073_741_824u64,"measure_id":11,"end_time":"2025-02-07T16:00:00Z"}));
        assert_eq!(
            e.to_reading("a", now()).unwrap().remaining_gb,
            MAX_PLAUSIBLE_GB
        );
    }

    #[test]
    fn conflicting_duplicates_are_an_error_in_either_order() {
        let ids = ["a".to_string()];
        for answer in [
            vec![gb("a", 100.0), gb("a", 900.0)],
            vec![gb("a", 900.0), gb("a", 100.0)],
        ] {
            let got = readings_for(&ids, &answer, now());
            assert_eq!(got[0].1, Err(ReadingError::ConflictingDuplicates(2)));
        }
    }

    #[test]
    fn equal_duplicates_are_harmless() {
        let answer = vec![gb("a", 100.0), gb("b", 5.0), gb("a", 100.0)];
        let got = readings_for(&["a".into(), "b".into()], &answer, now());
        assert_eq!(got[0].1.as_ref().unwrap().remaining_gb, 100.0);
        assert_eq!(got[1].1.as_ref().unwrap().remaining_gb, 5.0);
    }

    #[test]
    fn times_parse_with_or_without_zone() {
        assert!(parse_time(Some("2025-01-07T16:00:00Z")).is_some());
        assert!(parse_time(Some("2025-01-07T16:00:00")).is_some());
        assert!(parse_time(Some("yesterday")).is_none());
    }
}
