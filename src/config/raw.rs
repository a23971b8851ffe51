//! The environment as given: the value of every variable of the table, as text.

use std::collections::BTreeMap;

use super::vars::{SYSTEMD_STATE_DIRECTORY, VARS};
use super::ConfigErrors;

/// Every variable of the table that is set, as given (names matched without regard to case, as
/// before), and every `ACCOUNT_<NAME>_<VARIABLE>` (checked strictly by `accounts`). Other
/// variables of the environment are ignored.
#[derive(Debug, Default, Clone)]
pub struct RawConfig {
    values: BTreeMap<&'static str, String>,
    /// `ACCOUNT_...` names, upper-cased, with their values.
    account_vars: BTreeMap<String, String>,
}

impl RawConfig {
    /// Reads the variables from `(name, value)` pairs (the process environment in production).
    ///
    /// # Errors
    /// None today; values are checked by [`super::Config::from_raw`]. The `Result` keeps room for
    /// a reader that can fail (a file of secrets, say).
    pub fn from_pairs(
        pairs: impl IntoIterator<Item = (String, String)>,
    ) -> Result<Self, ConfigErrors> {
        let mut values = BTreeMap::new();
        let mut account_vars = BTreeMap::new();
        for (name, value) in pairs {
            let upper = name.to_ascii_uppercase();
            if upper.starts_with(super::accounts::PREFIX) {
                account_vars.insert(upper, value);
                continue;
            }
            let known = VARS
                .iter()
                .map(|v| v.name)
                .chain([SYSTEMD_STATE_DIRECTORY])
                .find(|n| *n == upper);
            if let Some(n) = known {
                values.insert(n, value);
            }
        }
        Ok(Self {
            values,
            account_vars,
        })
    }

    /// Every `ACCOUNT_...` variable that is set (blank ones too), upper-cased.
    pub fn account_vars(&self) -> impl Iterator<Item = (&str, &str)> {
        self.account_vars
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
    }

    /// Unsets `name` (an account's view of the environment leaves out what is not its own).
    pub(super) fn unset(&mut self, name: &str) {
        self.values.remove(name);
    }

    /// The value of `name` when it is set and not blank, trimmed.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.values
            .get(name)
            .map(|v| v.trim())
            .filter(|v| !v.is_empty())
    }

    /// Sets `name` (tests and the demo build configurations this way).
    ///
    /// # Panics
    /// When `name` is not a configuration variable.
    pub fn set(&mut self, name: &str, value: impl Into<String>) {
        let value = value.into();
        if name
            .to_ascii_uppercase()
            .starts_with(super::accounts::PREFIX)
        {
            self.account_vars.insert(name.to_ascii_uppercase(), value);
            return;
        }
        let n = super::vars::var(name).name;
        self.values.insert(n, value);
    }
}
