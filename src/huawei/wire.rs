//! Wire types of the BSS answers, and their conversion into [`Reading`]s.
//!
//! Parsing is lenient where Huawei is (amounts as JSON numbers or strings, unknown fields ignored)
//! and strict where a mistake would be dangerous: a missing or malformed amount, an unknown unit or
//! an id absent from the answer is an error for that package, never a zero.

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
}

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

impl FreeResourceUsage {
    /// Validates this entry into a reading.
    pub fn to_reading(&self, id: &str, read_at: DateTime<Utc>) -> Result<Reading, ReadingError> {
        let unit = unit(self.measure_id.as_ref())?;
        let remaining = decimal("amount", self.amount.as_ref())?;
        let total = decimal("original_amount", self.original_amount.as_ref())?;
        Ok(Reading {
            free_resource_id: id.to_string(),
            package_name: self.free_resource_type_name.clone().unwrap_or_default(),
            usage_type: self.usage_type_name.clone().unwrap_or_default(),
            remaining_gb: unit.to_gb(remaining),
            total_gb: unit.to_gb(total),
            cycle_start: parse_time(self.start_time.as_deref()),
            cycle_end: parse_time(self.end_time.as_deref()),
            read_at,
        })
    }
}

/// Matches the asked ids with the answer: each id gets its reading or the reason it has none.
/// Ids are matched exactly; an id that appears twice keeps its first entry.
pub fn readings_for(
    ids: &[String],
    answer: &[FreeResourceUsage],
    read_at: DateTime<Utc>,
) -> Vec<(String, Result<Reading, ReadingError>)> {
    let mut by_id: HashMap<&str, &FreeResourceUsage> = HashMap::new();
    for entry in answer {
        if let Some(id) = entry.free_resource_id.as_deref() {
            by_id.entry(id).or_insert(entry);
        }
    }
    ids.iter()
        .map(|id| {
            let result = match by_id.get(id.as_str()) {
                Some(entry) => entry.to_reading(id, read_at),
                None => Err(ReadingError::MissingFromAnswer),
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
            json!({"free_resource_id":"a","amount":"2048","original_amount":"4096","measure_id":11}),
        );
        let r = e.to_reading("a", now()).unwrap();
        assert_eq!((r.remaining_gb, r.total_gb), (2.0, 4.0));
    }

    #[test]
    fn missing_amount_is_an_error_not_zero() {
        let e = entry(json!({"free_resource_id":"a","original_amount":100,"measure_id":10}));
        assert_eq!(
            e.to_reading("a", now()),
            Err(ReadingError::MissingField("amount"))
        );
        let e = entry(
            json!({"free_resource_id":"a","amount":null,"original_amount":100,"measure_id":10}),
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
                json!({"free_resource_id":"a","amount":bad,"original_amount":100,"measure_id":10}),
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
        let e =
            entry(json!({"free_resource_id":"a","amount":1,"original_amount":100,"measure_id":12}));
        assert_eq!(
            e.to_reading("a", now()),
            Err(ReadingError::UnknownUnit("12".into()))
        );
        let e = entry(json!({"free_resource_id":"a","amount":1,"original_amount":100}));
        assert_eq!(
            e.to_reading("a", now()),
            Err(ReadingError::MissingField("measure_id"))
        );
    }

    #[test]
    fn an_id_absent_from_the_answer_is_unknown_not_zero() {
        let answer = vec![entry(
            json!({"free_resource_id":"a","amount":1,"original_amount":2,"measure_id":10}),
        )];
        let got = readings_for(&["a".into(), "b".into()], &answer, now());
        assert!(got[0].1.is_ok());
        assert_eq!(got[1].1, Err(ReadingError::MissingFromAnswer));
    }

    #[test]
    fn times_parse_with_or_without_zone() {
        assert!(parse_time(Some("2025-01-07T16:00:00Z")).is_some());
        assert!(parse_time(Some("2025-01-07T16:00:00")).is_some());
        assert!(parse_time(Some("yesterday")).is_none());
    }
}
