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

use crate::huawei::ecs::{EcsFactory, EcsFailure, EcsOp};
pub use crate::outcome::{How, ShutdownError, Stopped};
use crate::target::Target;

/// A future returned by an executor.
pub type ExecFuture<'a> = Pin<Box<dyn Future<Output = Result<Stopped, ShutdownError>> + Send + 'a>>;

/// A future that says yes or no.
pub type BoolFuture<'a> = Pin<Box<dyn Future<Output = bool> + Send + 'a>>;

/// Something that shuts a server down. `Ok` holds a short report of what happened.
pub trait Executor: Send + Sync {
    /// How it shuts down, for messages and logs.
    fn describe(&self) -> How;
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
    pub would: How,
}

impl Executor for DryRunExecutor {
    fn describe(&self) -> How {
        self.would.clone()
    }
    fn execute<'a>(&'a self, target: Option<&'a Target>) -> ExecFuture<'a> {
        Box::pin(async move {
            Ok(Stopped::WouldRun {
                how: self.would.clone(),
                target: target.map(|t| (t.name.clone(), t.server_id.clone())),
            })
        })
    }
    fn is_dry_run(&self) -> bool {
        true
    }
}

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
    fn describe(&self) -> How {
        How::Command(shell_words::join(&self.argv))
    }

    fn execute<'a>(&'a self, _target: Option<&'a Target>) -> ExecFuture<'a> {
        Box::pin(async move {
            let Some((program, args)) = self.argv.split_first() else {
                return Err(ShutdownError::CommandEmpty);
            };
            let mut child = tokio::process::Command::new(program)
                .args(args)
                // No terminal input: a password prompt fails at once instead of waiting forever.
                .stdin(Stdio::null())
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .kill_on_drop(true)
                .spawn()
                .map_err(|e| {
                    let program = program.clone();
                    match e.kind() {
                        std::io::ErrorKind::NotFound => ShutdownError::CommandMissing { program },
                        std::io::ErrorKind::PermissionDenied => {
                            ShutdownError::CommandNotExecutable { program }
                        }
                        _ => ShutdownError::CommandNotStarted {
                            program,
                            error: e.to_string(),
                        },
                    }
                })?;
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
                Err(_) => Err(ShutdownError::CommandTimedOut {
                    after: self.timeout,
                }),
                Ok((Err(e), _, _)) => Err(ShutdownError::CommandWaitFailed {
                    error: e.to_string(),
                }),
                Ok((Ok(status), out, err)) => {
                    if status.success() {
                        Ok(Stopped::Command {
                            said: tail(&format!("{out}\n{err}"), 200),
                        })
                    } else {
                        Err(ShutdownError::CommandFailed {
                            status: status.code(),
                            stderr: tail(&err, 500),
                            wants_password: wants_password(&err),
                        })
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
    async fn stop(&self, target: &Target) -> Result<Stopped, ShutdownError> {
        let (name, id) = (target.name.clone(), target.server_id.clone());
        let failed =
            |op: EcsOp, failure: EcsFailure, after_soft: Option<EcsFailure>| ShutdownError::Ecs {
                op,
                name: name.clone(),
                id: id.clone(),
                failure: Box::new(failure),
                after_soft: after_soft.map(Box::new),
            };
        let op = if self.hard {
            EcsOp::StopHard
        } else {
            EcsOp::StopSoft
        };
        let client = self
            .ecs
            .client(target)
            .map_err(|e| failed(op, EcsFailure::Request(e), None))?;
        let first_wait = if self.hard {
            self.job_timeout
        } else {
            self.hard_after.unwrap_or(self.job_timeout)
        };
        let job = client
            .stop(&id, self.hard)
            .await
            .map_err(|e| failed(op, EcsFailure::Request(e), None))?;
        let outcome = client.wait(&job, first_wait).await;
        let Some(soft_failure) = EcsFailure::of_job(&job, outcome, first_wait) else {
            return Ok(Stopped::Ecs {
                hard: self.hard,
                name,
                id,
                job,
                after_soft: None,
            });
        };
        if self.hard || self.hard_after.is_none() {
            return Err(failed(op, soft_failure, None));
        }
        tracing::warn!(server = %target.name, soft = %soft_failure, "soft stop did not finish; stopping hard");
        let job2 = client.stop(&id, true).await.map_err(|e| {
            failed(
                EcsOp::StopHard,
                EcsFailure::Request(e),
                Some(soft_failure.clone()),
            )
        })?;
        let outcome = client.wait(&job2, self.job_timeout).await;
        match EcsFailure::of_job(&job2, outcome, self.job_timeout) {
            None => Ok(Stopped::Ecs {
                hard: true,
                name,
                id,
                job: job2,
                after_soft: Some(soft_failure),
            }),
            Some(hard_failure) => Err(failed(EcsOp::StopHard, hard_failure, Some(soft_failure))),
        }
    }
}

impl Executor for HuaweiApiExecutor {
    fn describe(&self) -> How {
        How::EcsStop { hard: self.hard }
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
            cmd(&["true"], 5000)
                .execute(None)
                .await
                .map(|s| s.to_string()),
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
            would: How::Command("shutdown -h now".into()),
        };
        assert!(d.is_dry_run());
        assert!(d
            .execute(None)
            .await
            .unwrap()
            .to_string()
            .contains("would run"));
    }
}
