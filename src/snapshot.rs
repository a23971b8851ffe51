//! The latest readings in memory: what scrapes, the status API and the evaluator read.
//!
//! Pure bookkeeping: [`Snapshot::apply`] folds one poll's outcome in, keeping each package's last
//! good reading through failures, and [`Snapshot::fresh`] hides readings older than the configured
//! maximum age, so stale data is dropped rather than shown as current. It never invents a value.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use serde::Serialize;
use tokio::sync::RwLock;

use crate::egress::Estimate;
use crate::huawei::bss::{PackageResults, PollProblem};
use crate::huawei::wire::ReadingError;
use crate::huawei::HuaweiError;
use crate::reading::Reading;

/// One package as last seen.
#[derive(Debug, Clone, Default, Serialize)]
pub struct PackageState {
    pub free_resource_id: String,
    /// The account it belongs to (empty with the single-account variables).
    #[serde(skip_serializing_if = "String::is_empty")]
    pub account: String,
    /// The last good reading (it may be old: see [`Snapshot::fresh`]).
    pub reading: Option<Reading>,
    /// Why the last poll could not read this package, if it could not.
    #[serde(serialize_with = "crate::logging::opt_as_text")]
    pub error: Option<ReadingError>,
    /// What is left now by the server's own counter, built on `reading` (see `egress`).
    pub estimate: Option<Estimate>,
}

impl PackageState {
    /// The estimate, when it was built on the reading held now.
    pub fn current_estimate(&self) -> Option<&Estimate> {
        let r = self.reading.as_ref()?;
        self.estimate
            .as_ref()
            .filter(|e| e.bill_read_at == r.read_at)
    }

    /// What decisions go by: the bill's figure, or the estimate built on it when that is lower
    /// (it never is higher). `None` without a reading: a counter alone decides nothing.
    pub fn judged_gb(&self) -> Option<f64> {
        let bill = self.reading.as_ref()?.remaining_gb;
        Some(
            self.current_estimate()
                .map_or(bill, |e| e.remaining_gb.min(bill)),
        )
    }
}

/// How the polls of one account went (each account is polled on its own).
#[derive(Debug, Clone, Default, Serialize)]
pub struct AccountPoll {
    /// Empty for the implicit account of the single-account variables.
    pub name: String,
    pub polls: u64,
    pub last_poll_at: Option<DateTime<Utc>>,
    /// When a poll last read every package of the account.
    pub last_success_at: Option<DateTime<Utc>>,
    /// The whole-call error of the last poll, if it failed.
    #[serde(serialize_with = "crate::logging::opt_as_text")]
    pub last_error: Option<HuaweiError>,
    pub last_error_is_configuration: bool,
    /// True when the last poll read every package of the account.
    pub up: bool,
}

impl Snapshot {
    /// Why the last poll failed: its own error, else the first package's.
    pub fn problem(&self) -> PollProblem {
        self.problem_of(None)
    }

    /// Why the last poll of `account` (of every account when `None`) failed.
    pub fn problem_of(&self, account: Option<&str>) -> PollProblem {
        let error = match account {
            None => self.last_error.as_ref(),
            Some(a) => self
                .accounts
                .iter()
                .find(|x| x.name == a)
                .and_then(|x| x.last_error.as_ref()),
        };
        if let Some(e) = error {
            return PollProblem::Call(e.clone());
        }
        self.packages
            .iter()
            .filter(|p| account.is_none_or(|a| p.account == a))
            .find_map(|p| {
                p.error.as_ref().map(|error| PollProblem::Package {
                    id: p.free_resource_id.clone(),
                    error: error.clone(),
                })
            })
            .unwrap_or(PollProblem::Unknown)
    }
}

/// The outcome of one poll.
pub type PollOutcome = Result<PackageResults, HuaweiError>;

/// Everything known from polling.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Snapshot {
    /// In `FREE_RESOURCE_IDS` order.
    pub packages: Vec<PackageState>,
    pub polls: u64,
    pub last_poll_at: Option<DateTime<Utc>>,
    /// When a poll last read every package.
    pub last_success_at: Option<DateTime<Utc>>,
    /// The whole-poll error of the last poll, if it failed.
    #[serde(serialize_with = "crate::logging::opt_as_text")]
    pub last_error: Option<HuaweiError>,
    /// Whether the last error was one only the user can fix (key, permission, site, clock).
    pub last_error_is_configuration: bool,
    /// True when the last poll read every package.
    pub up: bool,
    /// The server's own egress counter, when it is on (see `egress`).
    pub live: Option<crate::egress::live::View>,
    /// The EIPs read through Cloud Eye (`CLOUDEYE_EIPS`).
    pub cloudeye: Vec<crate::egress::offbox::View>,
    /// How many live samples were published (renders of `/metrics` follow it).
    pub live_samples: u64,
    /// Each account's polls, in configuration order (one, unnamed, with a single account). The
    /// fields above sum them up: `up` when every account is up, the first account's error.
    pub accounts: Vec<AccountPoll>,
}

/// The snapshot shared between the poller and its readers.
pub type SharedSnapshot = Arc<RwLock<Snapshot>>;

impl Snapshot {
    /// An empty snapshot listing the configured ids (of one unnamed account).
    pub fn new(ids: &[String]) -> Self {
        Self::for_accounts(&[(String::new(), ids.to_vec())])
    }

    /// An empty snapshot listing each account's ids.
    pub fn for_accounts(accounts: &[(String, Vec<String>)]) -> Self {
        Self {
            packages: accounts
                .iter()
                .flat_map(|(name, ids)| {
                    ids.iter().map(|id| PackageState {
                        free_resource_id: id.clone(),
                        account: name.clone(),
                        ..Default::default()
                    })
                })
                .collect(),
            accounts: accounts
                .iter()
                .map(|(name, _)| AccountPoll {
                    name: name.clone(),
                    ..Default::default()
                })
                .collect(),
            ..Default::default()
        }
    }

    /// Folds a poll's outcome in (of the single, unnamed account).
    pub fn apply(&mut self, outcome: &PollOutcome, now: DateTime<Utc>) {
        self.apply_account("", outcome, now);
    }

    /// Folds the outcome of one account's poll in; the other accounts' packages are untouched.
    pub fn apply_account(&mut self, account: &str, outcome: &PollOutcome, now: DateTime<Utc>) {
        self.polls += 1;
        self.last_poll_at = Some(now);
        let idx = match self.accounts.iter().position(|a| a.name == account) {
            Some(i) => i,
            None => {
                self.accounts.push(AccountPoll {
                    name: account.to_string(),
                    ..Default::default()
                });
                self.accounts.len() - 1
            }
        };
        let acc = &mut self.accounts[idx];
        acc.polls += 1;
        acc.last_poll_at = Some(now);
        match outcome {
            Ok(results) => {
                acc.last_error = None;
                acc.last_error_is_configuration = false;
                let mut all_ok = true;
                for (id, result) in results {
                    let idx = match self.packages.iter().position(|p| &p.free_resource_id == id) {
                        Some(i) => i,
                        None => {
                            self.packages.push(PackageState {
                                free_resource_id: id.clone(),
                                account: account.to_string(),
                                ..Default::default()
                            });
                            self.packages.len() - 1
                        }
                    };
                    let state = &mut self.packages[idx];
                    match result {
                        Ok(r) => {
                            state.reading = Some(r.clone());
                            state.error = None;
                        }
                        Err(e) => {
                            all_ok = false;
                            state.error = Some(e.clone());
                        }
                    }
                }
                let acc = &mut self.accounts[idx];
                acc.up = all_ok;
                if all_ok {
                    acc.last_success_at = Some(now);
                }
            }
            Err(e) => {
                acc.up = false;
                acc.last_error = Some(e.clone());
                acc.last_error_is_configuration = e.is_configuration();
            }
        }
        // The whole: up when every account is, the first error, a success when all are up.
        self.up = self.accounts.iter().all(|a| a.up);
        self.last_error = self.accounts.iter().find_map(|a| a.last_error.clone());
        self.last_error_is_configuration =
            self.accounts.iter().any(|a| a.last_error_is_configuration);
        if self.up {
            self.last_success_at = Some(now);
        }
    }

    /// What decisions go by for package `id` (see [`PackageState::judged_gb`]).
    pub fn judged_gb(&self, id: &str) -> Option<f64> {
        self.packages
            .iter()
            .find(|p| p.free_resource_id == id)?
            .judged_gb()
    }

    /// The estimate built on package `id`'s reading, when there is one.
    pub fn estimate(&self, id: &str) -> Option<&Estimate> {
        self.packages
            .iter()
            .find(|p| p.free_resource_id == id)?
            .current_estimate()
    }

    /// Readings no older than `max_age` at `now`.
    pub fn fresh(&self, now: DateTime<Utc>, max_age: std::time::Duration) -> Vec<&Reading> {
        let max_age = chrono::Duration::from_std(max_age).unwrap_or(chrono::Duration::MAX);
        self.packages
            .iter()
            .filter_map(|p| p.reading.as_ref())
            .filter(|r| now.signed_duration_since(r.read_at) <= max_age)
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::huawei::wire::ReadingError;
    use std::time::Duration;

    fn t(s: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_700_000_000 + s, 0).unwrap()
    }

    fn reading(id: &str, gb: f64, at: DateTime<Utc>) -> Reading {
        Reading {
            free_resource_id: id.into(),
            package_name: String::new(),
            usage_type: String::new(),
            remaining_gb: gb,
            total_gb: 1000.0,
            cycle_start: None,
            cycle_end: None,
            read_at: at,
        }
    }

    #[test]
    fn a_failed_poll_keeps_readings_until_they_are_too_old() {
        let ids = vec!["a".to_string()];
        let mut s = Snapshot::new(&ids);
        s.apply(&Ok(vec![("a".into(), Ok(reading("a", 400.0, t(0))))]), t(0));
        assert!(s.up);
        s.apply(&Err(HuaweiError::Timeout(Duration::from_secs(1))), t(600));
        assert!(!s.up);
        assert_eq!(s.last_success_at, Some(t(0)));
        assert_eq!(s.fresh(t(600), Duration::from_secs(3600)).len(), 1);
        assert!(s.fresh(t(3601), Duration::from_secs(3600)).is_empty());
    }

    #[test]
    fn a_package_with_bad_data_keeps_its_old_reading_and_shows_the_error() {
        let ids = vec!["a".to_string(), "b".to_string()];
        let mut s = Snapshot::new(&ids);
        s.apply(
            &Ok(vec![
                ("a".into(), Ok(reading("a", 400.0, t(0)))),
                ("b".into(), Ok(reading("b", 10.0, t(0)))),
            ]),
            t(0),
        );
        s.apply(
            &Ok(vec![
                ("a".into(), Ok(reading("a", 390.0, t(60)))),
                ("b".into(), Err(ReadingError::MissingField("amount"))),
            ]),
            t(60),
        );
        assert!(!s.up);
        assert_eq!(s.last_success_at, Some(t(0)));
        assert_eq!(s.packages[1].reading.as_ref().unwrap().remaining_gb, 10.0);
        assert!(s.packages[1]
            .error
            .as_ref()
            .unwrap()
            .to_string()
            .contains("amount"));
        assert_eq!(s.packages[0].reading.as_ref().unwrap().remaining_gb, 390.0);
    }
}
