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
    match &change.record {
        Some(installed) => {
            let since = match (change.kind, state.active.get(&id)) {
                (ChangeKind::Restore | ChangeKind::Update, Some(r)) => r.since,
                _ => now,
            };
            state.active.insert(
                id,
                super::ActiveRecord {
                    since,
                    installed: installed.clone(),
                    dry_run,
                },
            );
        }
        None => {
            state.active.remove(&id);
        }
    }
}
