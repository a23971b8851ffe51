//! The checker the section constructors share: reads a variable (or its default from the table),
//! parses it, and collects every mistake with the variable's name and the fix.

use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

use url::Url;

use super::vars::var;
use super::{ConfigError, RawConfig};
use crate::secret::Secret;

/// Parses a duration such as `90s`, `10m`, `1h`, `24h` (or a bare number of seconds).
pub fn parse_duration(s: &str) -> Option<Duration> {
    let s = s.trim();
    if let Ok(secs) = s.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    humantime::parse_duration(s).ok()
}

/// `true|1|t` (any case), as the original's `DEBUG_MODE`.
pub(super) fn original_bool(s: &str) -> bool {
    matches!(s.trim().to_ascii_lowercase().as_str(), "true" | "1" | "t")
}

/// Strict booleans for new variables.
pub fn parse_bool(s: &str) -> Option<bool> {
    match s.trim().to_ascii_lowercase().as_str() {
        "true" | "1" | "t" | "yes" | "y" | "on" => Some(true),
        "false" | "0" | "f" | "no" | "n" | "off" | "" => Some(false),
        _ => None,
    }
}

/// Is `path` inside the system temp directory (wiped at reboot on many systems)?
pub(super) fn in_temp_dir(path: &Path) -> bool {
    let temp = std::env::temp_dir();
    let candidates = [
        temp.as_path(),
        Path::new("/tmp"),
        Path::new("/var/tmp"),
        Path::new("/dev/shm"),
    ];
    let abs = if path.is_absolute() {
        path.to_path_buf()
    } else {
        std::env::current_dir().unwrap_or_default().join(path)
    };
    candidates.iter().any(|t| abs.starts_with(t))
}

/// A problem or a fix as written by a constructor: English, and Chinese where given. A plain
/// string is English only (shown in English in both languages); a pair `(english, chinese)`
/// gives both.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Said {
    pub en: String,
    pub zh: Option<String>,
}

impl From<&str> for Said {
    fn from(en: &str) -> Self {
        Self {
            en: en.into(),
            zh: None,
        }
    }
}

impl From<String> for Said {
    fn from(en: String) -> Self {
        Self { en, zh: None }
    }
}

impl<A: Into<String>, B: Into<String>> From<(A, B)> for Said {
    fn from((en, zh): (A, B)) -> Self {
        Self {
            en: en.into(),
            zh: Some(zh.into()),
        }
    }
}

/// A value type of a `choice` variable: the Chinese of its `FromStr` error (which says, in
/// English, how to write a valid value).
pub trait Choice: FromStr<Err = &'static str> {
    /// How to write a valid value, in Chinese.
    const ZH_FIX: &'static str;
}

/// Reads variables for the section constructors and collects their mistakes.
pub struct Checker<'a> {
    raw: &'a RawConfig,
    pub(super) errors: Vec<ConfigError>,
}

impl<'a> Checker<'a> {
    pub(super) fn new(raw: &'a RawConfig) -> Self {
        Self {
            raw,
            errors: Vec::new(),
        }
    }

    /// Records a mistake with its problem and fix in Chinese too.
    pub fn error_zh(&mut self, error: ConfigError) {
        self.errors.push(error);
    }

    /// Records a mistake; its problem and fix are in both languages when both are given as
    /// `(english, chinese)` pairs.
    pub fn error(
        &mut self,
        var: &str,
        value: &str,
        problem: impl Into<Said>,
        fix: impl Into<Said>,
    ) {
        let (problem, fix) = (problem.into(), fix.into());
        let error = ConfigError::new(var, value, problem.en, fix.en);
        self.errors.push(match (problem.zh, fix.zh) {
            (Some(p), Some(f)) => error.zh(p, f),
            _ => error,
        });
    }

    /// The value given for `name` (set, not blank, trimmed).
    pub fn given(&self, name: &str) -> Option<&'a str> {
        self.raw.get(var(name).name)
    }

    /// The value given for `name`, as an owned string.
    pub fn text(&self, name: &str) -> Option<String> {
        self.given(name).map(str::to_string)
    }

    /// The value given for `name`, as a secret.
    pub fn secret(&self, name: &str) -> Option<Secret> {
        self.given(name).map(Secret::new)
    }

    /// The value given, else the table's default.
    ///
    /// # Panics
    /// When the table has no default value for `name` (a programming error the tests catch).
    fn given_or_default(&self, name: &str) -> (&'a str, bool) {
        match self.given(name) {
            Some(v) => (v, true),
            None => (Self::default_of(name), false),
        }
    }

    fn default_of(name: &str) -> &'static str {
        var(name)
            .default_value()
            .unwrap_or_else(|| panic!("{name} has no default value in the table"))
    }

    /// Parses `name` (or its default) with `parse`; a given value that does not parse is reported
    /// with `problem` and the fix `parse` returned, and the default is used.
    pub fn parse<T, F: Into<Said>>(
        &mut self,
        name: &str,
        problem: impl Into<Said>,
        parse: impl Fn(&str) -> Result<T, F>,
    ) -> T {
        let (value, given) = self.given_or_default(name);
        match parse(value) {
            Ok(v) => v,
            Err(fix) => {
                let fix = fix.into();
                assert!(given, "the default of {name} does not parse: {}", fix.en);
                self.error(name, value, problem, fix);
                parse(Self::default_of(name)).unwrap_or_else(|_| unreachable!())
            }
        }
    }

    /// Parses an optional `name` (no default) with `parse`; a mistake is reported and gives `None`.
    pub fn parse_optional<T, F: Into<Said>>(
        &mut self,
        name: &str,
        problem: impl Into<Said>,
        parse: impl Fn(&str) -> Result<T, F>,
    ) -> Option<T> {
        let value = self.given(name)?;
        match parse(value) {
            Ok(v) => Some(v),
            Err(fix) => {
                self.error(name, value, problem, fix);
                None
            }
        }
    }

    /// An enum with `FromStr` whose error is the fix.
    pub fn choice<T: Choice>(&mut self, name: &str, problem: impl Into<Said>) -> T {
        self.parse(name, problem, |s| {
            T::from_str(s).map_err(|en| (en, T::ZH_FIX))
        })
    }

    /// A duration of at least `min`.
    pub fn duration(&mut self, name: &str, min: Duration) -> Duration {
        self.parse_duration_problem(name, min, true)
            .expect("a duration with a default")
    }

    /// An optional duration of at least `min`.
    pub fn optional_duration(&mut self, name: &str, min: Duration) -> Option<Duration> {
        self.parse_duration_problem(name, min, false)
    }

    fn parse_duration_problem(
        &mut self,
        name: &str,
        min: Duration,
        with_default: bool,
    ) -> Option<Duration> {
        let check = |s: &str| match parse_duration(s) {
            Some(d) if d >= min => Ok(d),
            Some(_) => Err((
                Said::from((
                    format!("must be at least {}", humantime::format_duration(min)),
                    format!("至少要 {}", humantime::format_duration(min)),
                )),
                Said::from(("use a longer duration", "改用更长的时长")),
            )),
            None => Err((
                Said::from(("is not a duration", "不是时长")),
                Said::from((
                    "write a number with a unit, e.g. 90s, 10m, 1h or 24h",
                    "写数字加单位，例如 90s、10m、1h 或 24h",
                )),
            )),
        };
        let (value, given) = match (self.given(name), with_default) {
            (Some(v), _) => (v, true),
            (None, true) => (Self::default_of(name), false),
            (None, false) => return None,
        };
        match check(value) {
            Ok(d) => Some(d),
            Err((problem, fix)) => {
                assert!(given, "the default of {name} is not a valid duration");
                self.error(name, value, problem, fix);
                with_default
                    .then(|| check(Self::default_of(name)).unwrap_or_else(|_| unreachable!()))
            }
        }
    }

    /// A strict boolean.
    pub fn boolean(&mut self, name: &str) -> bool {
        self.parse(name, ("is not a boolean", "不是布尔值"), |s| {
            parse_bool(s).ok_or(("write true or false", "写 true 或 false"))
        })
    }

    /// An http(s) URL with a host, optionally refusing a query.
    pub fn http_url(&mut self, name: &str, problem: impl Into<Said>, fix: impl Into<Said>) -> Url {
        let fix: Said = fix.into();
        self.parse(name, problem, |s| {
            Url::parse(s)
                .ok()
                .filter(|u| matches!(u.scheme(), "http" | "https") && u.host_str().is_some())
                .ok_or_else(|| fix.clone())
        })
    }
}
