//! What a shutdown executor did, or why it failed: the kinds a message translates (`messages`),
//! apart from the executors that produce them (`shutdown::executor`). `Display` is the English of
//! the logs and the state file, and says what to do.

use std::time::Duration;

use crate::huawei::ecs::{EcsFailure, EcsOp};

pub const SUDO_HINT: &str = "sudo asks for a password, which nobody can type here: allow the command without one, e.g. a line `USER ALL=(root) NOPASSWD: /usr/sbin/shutdown` in /etc/sudoers.d/flexus-traffic-monitor, and use SHUTDOWN_COMMAND=\"sudo -n /usr/sbin/shutdown -h now\" (or run the service as root)";

/// How an executor shuts down (messages translate it; `Display` is for logs).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum How {
    /// A program, as a shell would write its argv.
    Command(String),
    /// ECS `os-stop`.
    EcsStop { hard: bool },
}

impl std::fmt::Display for How {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Command(line) => write!(f, "command `{line}`"),
            Self::EcsStop { hard } => {
                write!(f, "ECS os-stop {}", if *hard { "HARD" } else { "SOFT" })
            }
        }
    }
}

/// What a successful execution did (messages translate it; `Display` is for logs).
#[derive(Debug, Clone, PartialEq)]
pub enum Stopped {
    /// Dry run: nothing was done. `target` is the instance's name and id.
    WouldRun {
        how: How,
        target: Option<(String, String)>,
    },
    /// The command exited 0; `said` is the end of its output.
    Command { said: String },
    /// ECS stopped the instance; `after_soft` is why a `SOFT` stop before did not do it.
    Ecs {
        hard: bool,
        name: String,
        id: String,
        job: String,
        after_soft: Option<EcsFailure>,
    },
}

impl std::fmt::Display for Stopped {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::WouldRun {
                how,
                target: Some((name, id)),
            } => write!(f, "would run {how} for {name} ({id})"),
            Self::WouldRun { how, target: None } => write!(f, "would run {how}"),
            Self::Command { said } if said.is_empty() => write!(f, "exit status 0"),
            Self::Command { said } => write!(f, "exit status 0: {said}"),
            Self::Ecs {
                hard,
                name,
                id,
                job,
                after_soft,
            } => {
                let kind = if *hard { "HARD" } else { "SOFT" };
                write!(
                    f,
                    "ECS os-stop {kind} of {name} ({id}) succeeded (job {job})"
                )?;
                match after_soft {
                    Some(soft) => write!(f, " after SOFT: {soft}"),
                    None => Ok(()),
                }
            }
        }
    }
}

/// Why a shutdown failed. Messages say it in the user's language; `Display` (for logs) says what
/// to do in English.
#[derive(Debug, Clone, PartialEq)]
pub enum ShutdownError {
    /// No instance is known for the package (`huawei-api`).
    NoTarget,
    /// `SHUTDOWN_COMMAND` is empty.
    CommandEmpty,
    /// The program does not exist.
    CommandMissing { program: String },
    /// The program is not executable by this user.
    CommandNotExecutable { program: String },
    /// The program could not be started for another reason (`error`: the system's words).
    CommandNotStarted { program: String, error: String },
    /// The command did not finish in time and was stopped.
    CommandTimedOut { after: Duration },
    /// Waiting for the command failed.
    CommandWaitFailed { error: String },
    /// The command exited non-zero (`status`; `None`: killed by a signal). `stderr` is the end of
    /// its error output; `wants_password` when it is sudo asking for one.
    CommandFailed {
        status: Option<i32>,
        stderr: String,
        wants_password: bool,
    },
    /// An ECS stop failed; `after_soft` is why a `SOFT` stop before it did not do it.
    Ecs {
        op: EcsOp,
        name: String,
        id: String,
        failure: Box<EcsFailure>,
        after_soft: Option<Box<EcsFailure>>,
    },
}

impl std::error::Error for ShutdownError {}

impl std::fmt::Display for ShutdownError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::NoTarget => write!(f, "no instance is known for this package: set ECS_SERVER_ID or FLEXUS_INSTANCES"),
            Self::CommandEmpty => write!(f, "SHUTDOWN_COMMAND is empty"),
            Self::CommandMissing { program } => write!(f, "SHUTDOWN_COMMAND: `{program}` was not found; install it or give its full path"),
            Self::CommandNotExecutable { program } => write!(f, "SHUTDOWN_COMMAND: `{program}` is not executable by this user"),
            Self::CommandNotStarted { program, error } => write!(f, "SHUTDOWN_COMMAND: cannot start `{program}`: {error}"),
            Self::CommandTimedOut { after } => write!(
                f,
                "SHUTDOWN_COMMAND did not finish within {} and was stopped (if it is sudo waiting for a password: {SUDO_HINT})",
                humantime::format_duration(*after)
            ),
            Self::CommandWaitFailed { error } => write!(f, "SHUTDOWN_COMMAND: waiting for it failed: {error}"),
            Self::CommandFailed { status, stderr, wants_password } => {
                match status {
                    Some(c) => write!(f, "SHUTDOWN_COMMAND failed (exit status {c}): {stderr}")?,
                    None => write!(f, "SHUTDOWN_COMMAND failed (killed by a signal): {stderr}")?,
                }
                if *wants_password {
                    write!(f, "; {SUDO_HINT}")?;
                }
                Ok(())
            }
            Self::Ecs { op, name, id, failure, after_soft } => {
                write!(f, "ECS {} of {name} ({id}): {failure}", op.api_name())?;
                match after_soft {
                    Some(soft) => write!(f, " (after SOFT: {soft})"),
                    None => Ok(()),
                }
            }
        }
    }
}

impl ShutdownError {
    /// A label for logs and metrics.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::NoTarget => "no_target",
            Self::CommandEmpty
            | Self::CommandMissing { .. }
            | Self::CommandNotExecutable { .. }
            | Self::CommandNotStarted { .. } => "command_not_started",
            Self::CommandTimedOut { .. } => "command_timed_out",
            Self::CommandWaitFailed { .. } | Self::CommandFailed { .. } => "command_failed",
            Self::Ecs { failure, .. } if matches!(**failure, EcsFailure::Request(_)) => {
                "ecs_request_failed"
            }
            Self::Ecs { .. } => "ecs_job_failed",
        }
    }
}
