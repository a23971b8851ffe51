//! Shutdown executors: what "shut down" means. `command` runs `SHUTDOWN_COMMAND` (argv, no shell)
//! with a timeout; `dry-run` only says what it would do. Tests add a recording executor.
//!
//! Every failure is reported with what to do: a missing program, a sudo that wants a password, a
//! command that hangs or exits non-zero.

use std::future::Future;
use std::pin::Pin;
use std::process::Stdio;
use std::time::Duration;

use tokio::io::AsyncReadExt;

/// A future returned by an executor.
pub type ExecFuture<'a> = Pin<Box<dyn Future<Output = Result<String, String>> + Send + 'a>>;

/// Something that shuts the server down. `Ok` holds a short report of what happened.
pub trait Executor: Send + Sync {
    /// A short description for messages, e.g. "command `shutdown -h now`".
    fn describe(&self) -> String;
    /// Acts.
    fn execute(&self) -> ExecFuture<'_>;
    /// True when nothing is really shut down.
    fn is_dry_run(&self) -> bool {
        false
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
    fn execute(&self) -> ExecFuture<'_> {
        Box::pin(async move { Ok(format!("would run {}", self.would)) })
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

    fn execute(&self) -> ExecFuture<'_> {
        Box::pin(async move {
            let Some((program, args)) = self.argv.split_first() else {
                return Err("SHUTDOWN_COMMAND is empty".to_string());
            };
            let mut child = tokio::process::Command::new(program)
                .args(args)
                // No terminal input: a password prompt fails at once instead of waiting forever.
                .stdin(Stdio::null())
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .kill_on_drop(true)
                .spawn()
                .map_err(|e| match e.kind() {
                    std::io::ErrorKind::NotFound => format!("SHUTDOWN_COMMAND: `{program}` was not found; install it or give its full path"),
                    std::io::ErrorKind::PermissionDenied => format!("SHUTDOWN_COMMAND: `{program}` is not executable by this user"),
                    _ => format!("SHUTDOWN_COMMAND: cannot start `{program}`: {e}"),
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
                Err(_) => Err(format!(
                    "SHUTDOWN_COMMAND did not finish within {} and was stopped (if it is sudo waiting for a password: {SUDO_HINT})",
                    humantime::format_duration(self.timeout)
                )),
                Ok((Err(e), _, _)) => Err(format!("SHUTDOWN_COMMAND: waiting for it failed: {e}")),
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
                        Err(msg)
                    }
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
            cmd(&["true"], 5000).execute().await,
            Ok("exit status 0".into())
        );
    }

    #[tokio::test]
    async fn a_missing_program_is_a_clear_error() {
        let e = cmd(&["/nonexistent/shutdown-xyz"], 5000)
            .execute()
            .await
            .unwrap_err();
        assert!(e.contains("was not found"), "{e}");
    }

    #[tokio::test]
    async fn a_failing_command_reports_status_and_stderr() {
        let e = cmd(&["sh", "-c", "echo nope >&2; exit 3"], 5000)
            .execute()
            .await
            .unwrap_err();
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
        .execute()
        .await
        .unwrap_err();
        assert!(e.contains("NOPASSWD"), "{e}");
    }

    #[tokio::test]
    async fn a_hanging_command_is_stopped_and_reported() {
        let e = cmd(&["sleep", "30"], 300).execute().await.unwrap_err();
        assert!(e.contains("did not finish"), "{e}");
    }

    #[tokio::test]
    async fn dry_run_does_nothing() {
        let d = DryRunExecutor {
            would: "command `shutdown -h now`".into(),
        };
        assert!(d.is_dry_run());
        assert!(d.execute().await.unwrap().contains("would run"));
    }
}
