//! Why an action could not be put in force or lifted. Messages say it in the user's language
//! (`messages`); `Display` is the English text of logs.

use std::time::Duration;

/// Why an action failed or could not be tried.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ActionError {
    /// No default route: the interface to throttle is unknown.
    NoDefaultRoute,
    /// Neither nft nor iptables is installed.
    NoFirewall,
    /// Shutdown is the guard's, not an action's.
    GuardOwnsShutdown,
    /// An empty command.
    Empty,
    /// The program is not installed.
    Missing { program: String },
    /// The command could not be started (`error`: the system's words).
    NotStarted { line: String, error: String },
    /// Its input could not be written.
    InputFailed { line: String, error: String },
    /// It did not finish within `after` and was stopped.
    TimedOut { line: String, after: Duration },
    /// Waiting for it failed.
    WaitFailed { line: String, error: String },
    /// It failed; `said` is its output.
    Failed { line: String, said: String },
}

impl std::error::Error for ActionError {}

impl std::fmt::Display for ActionError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::NoDefaultRoute => write!(
                f,
                "no default route, so the interface to throttle is unknown; set THROTTLE_INTERFACE"
            ),
            Self::NoFirewall => write!(
                f,
                "neither nft nor iptables is installed (FENCE_BACKEND); install nftables"
            ),
            Self::GuardOwnsShutdown => write!(f, "the shutdown guard owns shutdown"),
            Self::Empty => write!(f, "empty command"),
            Self::Missing { program } => write!(
                f,
                "`{program}` was not found; install it (Debian: iproute2, nftables or iptables)"
            ),
            Self::NotStarted { line, error } => write!(f, "cannot start `{line}`: {error}"),
            Self::InputFailed { line, error } => {
                write!(f, "`{line}`: cannot write its input: {error}")
            }
            Self::TimedOut { line, after } => write!(
                f,
                "`{line}` did not finish within {} and was stopped",
                humantime::format_duration(*after)
            ),
            Self::WaitFailed { line, error } => write!(f, "`{line}`: {error}"),
            Self::Failed { line, said } => write!(f, "`{line}` failed: {said}"),
        }
    }
}

impl serde::Serialize for ActionError {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}
