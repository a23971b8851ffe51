//! Shutdown executors: what "shut down" means. `command` runs `SHUTDOWN_COMMAND` (argv, no shell)
//! with a timeout; `huawei-api` stops the instance through ECS `os-stop` and follows the job;
//! `dry-run` only says what it would do. Tests add a recording executor.
//!
//! Every failure is reported with what to do: a missing program, a sudo that wants a password, a
//! command that hangs or exits non-zero.

use std::future::Future;
use std::pin::Pin;
use std::process::Stdio;
use std::time::Duration;

use tokio::io::AsyncReadExt;

use crate::huawei::ecs::{EcsFactory, JobOutcome};
use crate::target::Target;

/// A future returned by an executor.
pub type ExecFuture<'a> = Pin<Box<dyn Future<Output = Result<String, ShutdownError>> + Send + 'a>>;

/// Why a shutdown failed; the text says what to do.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ShutdownError {
    /// No instance is known for the package (`huawei-api`).
    #[error("no instance is known for this package: set ECS_SERVER_ID or FLEXUS_INSTANCES")]
    NoTarget,
    /// The command could not be started (missing, not executable, empty).
    #[error("{0}")]
    CommandNotStarted(String),
    /// The command did not finish in time and was stopped.
    #[error("{0}")]
    CommandTimedOut(String),
    /// The command exited non-zero, or waiting for it failed.
    #[error("{0}")]
    CommandFailed(String),
    /// An ECS call failed.
    #[error("{0}")]
    EcsRequest(String),
    /// The ECS stop job failed or did not finish.
    #[error("{0}")]
    EcsJob(String),
}

impl ShutdownError {
    /// A label for logs and metrics.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::NoTarget => "no_target",
            Self::CommandNotStarted(_) => "command_not_started",
            Self::CommandTimedOut(_) => "command_timed_out",
            Self::CommandFailed(_) => "command_failed",
            Self::EcsRequest(_) => "ecs_request_failed",
            Self::EcsJob(_) => "ecs_job_failed",
        }
    }
}
/// A future that says yes or no.
pub type BoolFuture<'a> = Pin<Box<dyn Future<Output = bool> + Send + 'a>>;

/// Something that shuts a server down. `Ok` holds a short report of what happened.
pub trait Executor: Send + Sync {
    /// A short description for messages, e.g. "command `shutdown -h now`".
    fn describe(&self) -> String;
    /// Acts on `target` (the instance of the package; `None` when none is configured).
    fn execute<'a>(&'a self, target: Option<&'a Target>) -> ExecFuture<'a>;
    /// True when nothing is really shut down.
    fn is_dry_run(&self) -> bool {
        false
    }
    /// True when it stops another machine through an API: such stops are remembered for
    /// `AUTO_START`, and "this boot" (of the machine running the monitor) means nothing for them.
    fn is_remote(&self) -> bool {
        false
    }
    /// Whether `target` is already stopped, so that there is nothing to do.
    fn already_stopped<'a>(&'a self, _target: Option<&'a Target>) -> BoolFuture<'a> {
        Box::pin(async { false })
    }
}

/// Runs a program, without a shell.
#[derive(Debug, Clone)]
pub struct CommandExecutor {
    pub argv: Vec<String>,
    pub timeout: Duration,
}

/// Says what it would do; does nothing.
#[derive(Debug, Clone)]
pub struct DryRunExecutor {
    pub would: String,
}

impl Executor for DryRunExecutor {
    fn describe(&self) -> String {
        format!("dry run of {}", self.would)
    }
    fn execute<'a>(&'a self, target: Option<&'a Target>) -> ExecFuture<'a> {
        Box::pin(async move {
            Ok(match target {
                Some(t) => format!("would run {} for {} ({})", self.would, t.name, t.server_id),
                None => format!("would run {}", self.would),
            })
        })
    }
    fn is_dry_run(&self) -> bool {
        true
    }
}

const SUDO_HINT: &str = "sudo asks for a password, which nobody can type here: allow the command without one, e.g. a line `USER ALL=(root) NOPASSWD: /usr/sbin/shutdown` in /etc/sudoers.d/flexus-traffic-monitor, and use SHUTDOWN_COMMAND=\"sudo -n /usr/sbin/shutdown -h now\" (or run the service as root)";

fn tail(s: &str, max: usize) -> String {
    let t = s.trim();
    if t.chars().count() <= max {
        t.to_string()
    } else {
        format!(
            "…{}",
            t.chars()
                .rev()
                .take(max)
                .collect::<Vec<_>>()
                .into_iter()
                .rev()
                .collect::<String>()
        )
    }
}

fn wants_password(stderr: &str) -> bool {
    let l = stderr.to_ascii_lowercase();
    [
        "password is required",
        "terminal is required",
        "no tty present",
        "askpass",
        "[sudo] password",
    ]
    .iter()
    .any(|p| l.contains(p))
}

impl Executor for CommandExecutor {
    fn describe(&self) -> String {
        format!("command `{}`", shell_words::join(&self.argv))
    }

    fn execute<'a>(&'a self, _target: Option<&'a Target>) -> ExecFuture<'a> {
        Box::pin(async move {
            let Some((program, args)) = self.argv.split_first() else {
                return Err(ShutdownError::CommandNotStarted(
                    "SHUTDOWN_COMMAND is empty".to_string(),
                ));
            };
            let mut child = tokio::process::Command::new(program)
                .args(args)
                // No terminal input: a password prompt fails at once instead of waiting forever.
                .stdin(Stdio::null())
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .kill_on_drop(true)
                .spawn()
                .map_err(|e| ShutdownError::CommandNotStarted(match e.kind() {
                    std::io::ErrorKind::NotFound => format!("SHUTDOWN_COMMAND: `{program}` was not found; install it or give its full path"),
                    std::io::ErrorKind::PermissionDenied => format!("SHUTDOWN_COMMAND: `{program}` is not executable by this user"),
                    _ => format!("SHUTDOWN_COMMAND: cannot start `{program}`: {e}"),
                }))?;
            let mut stdout = child.stdout.take().expect("stdout is piped");
            let mut stderr = child.stderr.take().expect("stderr is piped");
            let run = async {
                let mut out = String::new();
                let mut err = String::new();
                let (_, _, status) = tokio::join!(
                    stdout.read_to_string(&mut out),
                    stderr.read_to_string(&mut err),
                    child.wait()
                );
                (status, out, err)
            };
            match tokio::time::timeout(self.timeout, run).await {
                Err(_) => Err(ShutdownError::CommandTimedOut(format!(
                    "SHUTDOWN_COMMAND did not finish within {} and was stopped (if it is sudo waiting for a password: {SUDO_HINT})",
                    humantime::format_duration(self.timeout)
                ))),
                Ok((Err(e), _, _)) => Err(ShutdownError::CommandFailed(format!("SHUTDOWN_COMMAND: waiting for it failed: {e}"))),
                Ok((Ok(status), out, err)) => {
                    if status.success() {
                        let said = tail(&format!("{out}\n{err}"), 200);
                        Ok(if said.is_empty() { "exit status 0".to_string() } else { format!("exit status 0: {said}") })
                    } else {
                        let code = status.code().map_or_else(|| "killed by a signal".to_string(), |c| format!("exit status {c}"));
                        let mut msg = format!("SHUTDOWN_COMMAND failed ({code}): {}", tail(&err, 500));
                        if wants_password(&err) {
                            msg.push_str("; ");
                            msg.push_str(SUDO_HINT);
                        }
                        Err(ShutdownError::CommandFailed(msg))
                    }
                }
            }
        })
    }
}

/// Stops the instance through the ECS API: `os-stop` (`SOFT`, or `HARD`), the job followed to its
/// end; a `SOFT` stop that has not finished within `hard_after` is followed by a `HARD` one.
#[derive(Debug, Clone)]
pub struct HuaweiApiExecutor {
    pub ecs: EcsFactory,
    pub hard: bool,
    pub hard_after: Option<Duration>,
    pub job_timeout: Duration,
}

impl HuaweiApiExecutor {
    async fn stop(&self, target: &Target) -> Result<String, ShutdownError> {
        let client = self
            .ecs
            .client(target)
            .map_err(|e| ShutdownError::EcsRequest(e.to_string()))?;
        let id = &target.server_id;
        let first_wait = if self.hard {
            self.job_timeout
        } else {
            self.hard_after.unwrap_or(self.job_timeout)
        };
        let job = client.stop(id, self.hard).await.map_err(|e| {
            ShutdownError::EcsRequest(format!("ECS os-stop of {} ({id}) failed: {e}", target.name))
        })?;
        let kind = if self.hard { "HARD" } else { "SOFT" };
        let soft_result = match client.wait(&job, first_wait).await {
            JobOutcome::Success => {
                return Ok(format!(
                    "ECS os-stop {kind} of {} ({id}) succeeded (job {job})",
                    target.name
                ))
            }
            JobOutcome::Failed(r) => format!("job {job} failed: {r}"),
            JobOutcome::TimedOut(last) => format!(
                "job {job} not finished after {} (status {last})",
                humantime::format_duration(first_wait)
            ),
        };
        if self.hard || self.hard_after.is_none() {
            return Err(ShutdownError::EcsJob(format!(
                "ECS os-stop {kind} of {} ({id}): {soft_result}",
                target.name
            )));
        }
        tracing::warn!(server = %target.name, soft = %soft_result, "soft stop did not finish; stopping hard");
        let job2 = client.stop(id, true).await.map_err(|e| {
            ShutdownError::EcsRequest(format!(
                "ECS os-stop HARD of {} ({id}) failed after SOFT ({soft_result}): {e}",
                target.name
            ))
        })?;
        match client.wait(&job2, self.job_timeout).await {
            JobOutcome::Success => Ok(format!(
                "ECS os-stop HARD of {} ({id}) succeeded (job {job2}) after SOFT: {soft_result}",
                target.name
            )),
            JobOutcome::Failed(r) => Err(ShutdownError::EcsJob(format!(
                "ECS os-stop HARD of {} ({id}): job {job2} failed: {r}",
                target.name
            ))),
            JobOutcome::TimedOut(last) => Err(ShutdownError::EcsJob(format!(
                "ECS os-stop HARD of {} ({id}): job {job2} not finished (status {last})",
                target.name
            ))),
        }
    }
}

impl Executor for HuaweiApiExecutor {
    fn describe(&self) -> String {
        format!("ECS os-stop {}", if self.hard { "HARD" } else { "SOFT" })
    }

    fn execute<'a>(&'a self, target: Option<&'a Target>) -> ExecFuture<'a> {
        Box::pin(async move {
            match target {
                Some(t) => self.stop(t).await,
                None => Err(ShutdownError::NoTarget),
            }
        })
    }

    fn is_remote(&self) -> bool {
        true
    }

    fn already_stopped<'a>(&'a self, target: Option<&'a Target>) -> BoolFuture<'a> {
        Box::pin(async move {
            let Some(t) = target else { return false };
            let Ok(client) = self.ecs.client(t) else {
                return false;
            };
            match client.server_status(&t.server_id).await {
                Ok(status) => status.is_shutoff(),
                // Unknown: go on; the guard's own re-check and the stop call decide.
                Err(e) => {
                    tracing::warn!(server = %t.name, error = %e, "cannot read the server status");
                    false
                }
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cmd(argv: &[&str], timeout_ms: u64) -> CommandExecutor {
        CommandExecutor {
            argv: argv.iter().map(|s| s.to_string()).collect(),
            timeout: Duration::from_millis(timeout_ms),
        }
    }

    #[tokio::test]
    async fn success_reports_exit_status_zero() {
        assert_eq!(
            cmd(&["true"], 5000).execute(None).await,
            Ok("exit status 0".into())
        );
    }

    #[tokio::test]
    async fn a_missing_program_is_a_clear_error() {
        let e = cmd(&["/nonexistent/shutdown-xyz"], 5000)
            .execute(None)
            .await
            .unwrap_err();
        assert_eq!(e.kind(), "command_not_started");
        let e = e.to_string();
        assert!(e.contains("was not found"), "{e}");
    }

    #[tokio::test]
    async fn a_failing_command_reports_status_and_stderr() {
        let e = cmd(&["sh", "-c", "echo nope >&2; exit 3"], 5000)
            .execute(None)
            .await
            .unwrap_err();
        assert_eq!(e.kind(), "command_failed");
        let e = e.to_string();
        assert!(e.contains("exit status 3") && e.contains("nope"), "{e}");
    }

    #[tokio::test]
    async fn a_sudo_password_prompt_is_explained() {
        let e = cmd(
            &[
                "sh",
                "-c",
                "echo 'sudo: a password is required' >&2; exit 1",
            ],
            5000,
        )
        .execute(None)
        .await
        .unwrap_err()
        .to_string();
        assert!(e.contains("NOPASSWD"), "{e}");
    }

    #[tokio::test]
    async fn a_hanging_command_is_stopped_and_reported() {
        let e = cmd(&["sleep", "30"], 300).execute(None).await.unwrap_err();
        assert_eq!(e.kind(), "command_timed_out");
        let e = e.to_string();
        assert!(e.contains("did not finish"), "{e}");
    }

    #[tokio::test]
    async fn dry_run_does_nothing() {
        let d = DryRunExecutor {
            would: "command `shutdown -h now`".into(),
        };
        assert!(d.is_dry_run());
        assert!(d.execute(None).await.unwrap().contains("would run"));
    }
}
