//! Carrying out a plan: [`execute`] runs one change (probing first when restoring, cleaning up
//! after a failed installation), and [`Actions`] ties planner, runner, state, messages and metrics
//! together after each poll.

use serde::Serialize;

use super::plan::{Change, ChangeKind};
use super::runner::Runner;
use super::ActionError;

/// What running a change did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "outcome", content = "detail")]
pub enum Done {
    /// Installed (or, under `DRY_RUN`, printed): the command lines.
    Applied(Vec<String>),
    /// Restoring found ours in place: nothing ran.
    AlreadyInPlace,
    /// Removed: the command lines.
    Lifted(Vec<String>),
    /// It failed; what was half-installed was removed again.
    Failed(ActionError),
    /// It could not be tried (no default route, no firewall program).
    Blocked(ActionError),
}

impl Done {
    /// Whether the state should now record the change's result.
    pub fn succeeded(&self) -> bool {
        matches!(
            self,
            Self::Applied(_) | Self::AlreadyInPlace | Self::Lifted(_)
        )
    }
}

/// Runs one change.
pub async fn execute(runner: &Runner, change: &Change) -> Done {
    if let Some(why) = &change.blocked {
        return Done::Blocked(why.clone());
    }
    if change.kind == ChangeKind::Restore && !runner.dry_run {
        if let Some(p) = &change.probe {
            if runner.probe(p).await {
                return Done::AlreadyInPlace;
            }
            tracing::info!(action = %change.key.id(), "recorded action is missing (reboot?); installing it again");
        }
    }
    match runner.run_all(&change.steps).await {
        Ok(lines) if change.kind == ChangeKind::Lift => Done::Lifted(lines),
        Ok(lines) => Done::Applied(lines),
        Err(e) => {
            if change.kind != ChangeKind::Lift {
                // Leave nothing half-installed: the removals touch only our own names.
                let _ = runner.run_all(&change.undo).await;
            }
            Done::Failed(e)
        }
    }
}

/// What the state records once `change` did `done`: the change's record, with the throttle's fair
/// queue as the kernel took it (unknown under `DRY_RUN`, where nothing ran). Pure.
pub fn outcome_record(change: &Change, done: &Done, dry_run: bool) -> Option<super::Installed> {
    let mut installed = change.record.clone()?;
    if let (super::Installed::Throttle { queue, .. }, Done::Applied(lines), false) =
        (&mut installed, done, dry_run)
    {
        *queue = super::throttle::leaf_queue(lines);
    }
    Some(installed)
}

/// Records in `state` what running `change` did (the state store saves it afterwards).
pub fn record(
    state: &mut super::ActionsState,
    change: &Change,
    done: &Done,
    now: chrono::DateTime<chrono::Utc>,
    dry_run: bool,
) {
    let id = change.key.id();
    if !done.succeeded() {
        if change.kind != ChangeKind::Lift {
            state.failures.insert(id, now);
        }
        return;
    }
    state.failures.remove(&id);
    match outcome_record(change, done, dry_run) {
        Some(installed) => {
            let since = match (change.kind, state.active.get(&id)) {
                (ChangeKind::Restore | ChangeKind::Update, Some(r)) => r.since,
                _ => now,
            };
            state.active.insert(
                id,
                super::ActiveRecord {
                    since,
                    installed,
                    dry_run,
                },
            );
        }
        None => {
            state.active.remove(&id);
        }
    }
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::PermissionsExt;
    use std::time::Duration;

    use super::*;
    use crate::actions::{throttle, Action, Installed, Key};
    use crate::level::Level;

    /// A `tc` of a kernel without fq_codel: it refuses that queue as the real one does, and takes
    /// everything else.
    fn tc_without_fq_codel(dir: &std::path::Path) -> String {
        let path = dir.join("tc");
        std::fs::write(
            &path,
            "#!/bin/sh\ncase \"$*\" in *fq_codel*) echo 'Error: Specified qdisc kind is unknown.' >&2; exit 2;; esac\nexit 0\n",
        )
        .unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
        path.display().to_string()
    }

    #[tokio::test]
    async fn a_kernel_without_fq_codel_is_recorded_with_the_queue_it_took() {
        let dir = tempfile::tempdir().unwrap();
        let tc = tc_without_fq_codel(dir.path());
        let installed = Installed::Throttle {
            interface: "eth0".into(),
            rate: "1mbit".into(),
            ports: vec![22],
            endpoints: vec![],
            queue: None,
        };
        // The throttle's own commands, with the fake in place of `tc`.
        let steps: Vec<_> = throttle::install("eth0", "1mbit", &[22], &[])
            .into_iter()
            .map(|mut s| {
                for argv in std::iter::once(&mut s.argv).chain(&mut s.alternatives) {
                    argv[0].clone_from(&tc);
                }
                s
            })
            .collect();
        let change = Change {
            key: Key {
                action: Action::Throttle,
                level: Level::L2,
            },
            kind: ChangeKind::Apply,
            steps,
            probe: None,
            record: Some(installed),
            undo: Vec::new(),
            blocked: None,
        };
        let runner = Runner {
            netns: None,
            timeout: Duration::from_secs(5),
            dry_run: false,
        };
        let done = execute(&runner, &change).await;
        assert!(matches!(done, Done::Applied(_)), "{done:?}");
        let mut state = crate::actions::ActionsState::default();
        record(&mut state, &change, &done, chrono::Utc::now(), false);
        match &state.active["throttle@2"].installed {
            Installed::Throttle { queue, .. } => assert_eq!(queue.as_deref(), Some("sfq")),
            other => panic!("{other:?}"),
        }
        // Under DRY_RUN nothing ran: the queue is unknown, not the promised one.
        assert_eq!(
            outcome_record(&change, &Done::Applied(vec!["x".into()]), true),
            change.record
        );
    }
}
