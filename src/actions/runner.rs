//! Runs the planner's commands: each with a timeout, no shell, standard input only when the step
//! has a script; optionally inside a network namespace (`ip netns exec NAME ...`, used by the
//! tests); under `DRY_RUN` it prints each command instead of running it. Also reads what the
//! planner needs to know about the machine (default route, firewall programs).

use std::net::IpAddr;
use std::process::Stdio;
use std::time::Duration;

use tokio::io::AsyncWriteExt;

use super::plan::Machine;
use super::step::{Probe, Step};
use super::{throttle, ActionError, FenceBackend, FenceBackendChoice};

/// Runs commands.
#[derive(Debug, Clone)]
pub struct Runner {
    /// Run everything inside this network namespace.
    pub netns: Option<String>,
    pub timeout: Duration,
    /// Print instead of running (probes, which only read, still run).
    pub dry_run: bool,
}

/// What one command did.
struct Output {
    success: bool,
    stdout: String,
    stderr: String,
}

fn short(s: &str) -> String {
    let t = s.trim();
    let mut out: String = t.chars().take(300).collect();
    if t.chars().count() > 300 {
        out.push('…');
    }
    out
}

/// Whether `program` is on `PATH`.
pub fn has_program(program: &str) -> bool {
    std::env::var_os("PATH").is_some_and(|paths| {
        std::env::split_paths(&paths)
            .any(|dir| std::fs::metadata(dir.join(program)).is_ok_and(|m| m.is_file()))
    })
}

impl Runner {
    async fn exec(&self, argv: &[String], step: Option<&Step>) -> Result<Output, ActionError> {
        let mut full: Vec<String> = Vec::new();
        if let Some(ns) = &self.netns {
            full.extend(["ip", "netns", "exec", ns].map(String::from));
        }
        full.extend(argv.iter().cloned());
        let Some((program, args)) = full.split_first() else {
            return Err(ActionError::Empty);
        };
        let mut cmd = tokio::process::Command::new(program);
        cmd.args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        let stdin = step.and_then(|s| s.stdin.clone());
        cmd.stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        });
        if let Some(s) = step {
            cmd.envs(s.env.iter().map(|(k, v)| (k, v)));
        }
        let line = shell_words::join(argv);
        let mut child = cmd.spawn().map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => ActionError::Missing {
                program: program.clone(),
            },
            _ => ActionError::NotStarted {
                line: line.clone(),
                error: e.to_string(),
            },
        })?;
        if let (Some(text), Some(mut pipe)) = (stdin, child.stdin.take()) {
            pipe.write_all(text.as_bytes())
                .await
                .map_err(|e| ActionError::InputFailed {
                    line: line.clone(),
                    error: e.to_string(),
                })?;
        }
        match tokio::time::timeout(self.timeout, child.wait_with_output()).await {
            Err(_) => Err(ActionError::TimedOut {
                line,
                after: self.timeout,
            }),
            Ok(Err(e)) => Err(ActionError::WaitFailed {
                line,
                error: e.to_string(),
            }),
            Ok(Ok(out)) => Ok(Output {
                success: out.status.success(),
                stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
                stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
            }),
        }
    }

    /// Runs one step (or its alternatives in turn). `Ok` holds the command line that worked.
    ///
    /// # Errors
    /// The command (and every alternative) failed, and the step does not tolerate failure.
    pub async fn run(&self, step: &Step) -> Result<String, ActionError> {
        if self.dry_run {
            let line = step.display();
            // Standard error: `check --json` keeps standard output for its JSON.
            // In `MESSAGE_LANG` (read here as the messages read it: actions sit below messages).
            let english = std::env::var("MESSAGE_LANG")
                .is_ok_and(|v| v.trim().to_ascii_lowercase().starts_with("en"));
            if english {
                crate::errln!("DRY_RUN: would run: {line}");
            } else {
                crate::errln!("DRY_RUN：演练，将运行：`{line}`");
            }
            tracing::info!(command = %line, "dry run: would run");
            return Ok(line);
        }
        let mut last_error = ActionError::Empty;
        for argv in std::iter::once(&step.argv).chain(&step.alternatives) {
            let line = shell_words::join(argv);
            match self.exec(argv, Some(step)).await {
                Ok(o) if o.success => {
                    tracing::debug!(command = %line, "ran");
                    return Ok(line);
                }
                Ok(o) => {
                    let said = short(&format!("{}\n{}", o.stderr, o.stdout));
                    last_error = ActionError::Failed { line, said };
                }
                Err(e) => last_error = e,
            }
        }
        if step.tolerate_failure {
            tracing::debug!(error = %last_error, "tolerated failure");
            Ok(step.display())
        } else {
            Err(last_error)
        }
    }

    /// Runs steps in order, stopping at the first failure.
    ///
    /// # Errors
    /// The first failing step's error.
    pub async fn run_all(&self, steps: &[Step]) -> Result<Vec<String>, ActionError> {
        let mut done = Vec::new();
        for s in steps {
            done.push(self.run(s).await?);
        }
        Ok(done)
    }

    /// Whether a probe finds ours in place.
    pub async fn probe(&self, p: &Probe) -> bool {
        match self.exec(&p.argv, None).await {
            Ok(o) if o.success => p.expect.iter().all(|e| o.stdout.contains(e.as_str())),
            _ => false,
        }
    }

    /// Whether `program` exists (inside the namespace too: it shares the file system).
    pub fn has(&self, program: &str) -> bool {
        has_program(program)
    }

    /// The interface of the default route.
    pub async fn default_interface(&self) -> Result<String, ActionError> {
        for family in ["-4", "-6"] {
            let argv: Vec<String> = ["ip", family, "-o", "route", "show", "default"]
                .map(String::from)
                .to_vec();
            if let Ok(o) = self.exec(&argv, None).await {
                if let Some(i) = throttle::default_interface(&o.stdout) {
                    return Ok(i);
                }
            }
        }
        Err(ActionError::NoDefaultRoute)
    }

    /// What the planner needs to know. `endpoints` are the addresses of our own API hosts (see
    /// [`super::addresses`]; none when no throttle is to be installed).
    pub async fn machine(
        &self,
        choice: FenceBackendChoice,
        endpoints: Vec<(IpAddr, u16)>,
    ) -> Machine {
        let nft = self.has("nft");
        let ipt = self.has("iptables");
        let fence_backend = match choice {
            FenceBackendChoice::Nft if nft => Ok(FenceBackend::Nft),
            FenceBackendChoice::Iptables if ipt => Ok(FenceBackend::Iptables),
            FenceBackendChoice::Auto if nft => Ok(FenceBackend::Nft),
            FenceBackendChoice::Auto if ipt => Ok(FenceBackend::Iptables),
            _ => Err(ActionError::NoFirewall),
        };
        Machine {
            interface: self.default_interface().await,
            endpoints,
            fence_backend,
            ip6tables: self.has("ip6tables"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn runner(dry_run: bool) -> Runner {
        Runner {
            netns: None,
            timeout: Duration::from_millis(500),
            dry_run,
        }
    }

    fn sh(script: &str) -> Step {
        Step::new(vec!["sh".into(), "-c".into(), script.into()])
    }

    #[tokio::test]
    async fn a_failing_step_reports_its_command_and_stderr() {
        let e = runner(false)
            .run(&sh("echo no such device >&2; exit 2"))
            .await
            .unwrap_err()
            .to_string();
        assert!(e.contains("failed") && e.contains("no such device"), "{e}");
    }

    #[tokio::test]
    async fn alternatives_are_tried_and_tolerated_failures_pass() {
        let s = sh("exit 1").or(vec!["true".into()]);
        assert_eq!(runner(false).run(&s).await.unwrap(), "true");
        let mut s = sh("exit 1");
        s.tolerate_failure = true;
        assert!(runner(false).run(&s).await.is_ok());
    }

    #[tokio::test]
    async fn a_hanging_command_is_stopped() {
        let e = runner(false).run(&sh("sleep 10")).await.unwrap_err();
        assert!(matches!(e, ActionError::TimedOut { .. }), "{e}");
        assert!(e.to_string().contains("did not finish"), "{e}");
    }

    #[tokio::test]
    async fn stdin_and_env_reach_the_command() {
        let s = sh("read x; [ \"$x\" = hello ] && [ \"$FLEXUS_LEVEL\" = 2 ]")
            .stdin("hello\n".into())
            .with_env(vec![("FLEXUS_LEVEL".into(), "2".into())]);
        assert!(runner(false).run(&s).await.is_ok());
    }

    #[tokio::test]
    async fn dry_run_runs_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let marker = dir.path().join("ran");
        let s = Step::new(vec!["touch".into(), marker.display().to_string()]);
        let line = runner(true).run(&s).await.unwrap();
        assert!(line.starts_with("touch "), "{line}");
        assert!(!marker.exists());
    }

    #[tokio::test]
    async fn a_missing_program_is_named() {
        let e = runner(false)
            .run(&Step::new(vec!["/nonexistent/tc".into()]))
            .await
            .unwrap_err();
        assert_eq!(
            e,
            ActionError::Missing {
                program: "/nonexistent/tc".into()
            }
        );
        assert!(e.to_string().contains("was not found"), "{e}");
    }
}
