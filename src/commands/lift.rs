//! `lift`: removes by hand every throttle, fence and command action of ours — the qdisc with our
//! handle, our nft table, our iptables chain, and what the state records (running the leave
//! command) — and nothing else. The actions that were in force are not installed again until their
//! level has recovered once (or the state is reset).

use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use crate::actions::plan::lift_everything;
use crate::actions::runner::Runner;
use crate::actions::ActionsState;
use crate::app;
use crate::config::Config;
use crate::enforcer::{Enforcer, LiftReport};
use crate::metrics::Metrics;
use crate::notifier::Notifier;
use crate::state::{StateCell, StateStore, StoreError};

fn print(report: &LiftReport, dry_run: bool) -> ExitCode {
    let verb = if dry_run { "would run" } else { "ran" };
    for c in &report.commands {
        crate::outln!("{verb}: {c}");
    }
    for k in &report.lifted {
        crate::outln!("lifted: {}", k.id());
    }
    for e in &report.errors {
        crate::errln!("error: {e}");
    }
    if report.errors.is_empty() {
        crate::outln!(
            "done: no throttle, fence or command action of flexus-traffic-monitor is in force"
        );
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

pub async fn run(config: Config) -> ExitCode {
    let dry_run = config.shutdown.dry_run;
    match StateStore::open(&config.state_dir, Duration::from_secs(5)).await {
        Ok((store, state, _)) => {
            let state = Arc::new(StateCell::new(store, state));
            let metrics = Arc::new(Metrics::new());
            let clients = match app::clients(&config) {
                Ok(c) => c,
                Err(e) => return super::config_error(&e),
            };
            let notifier = match Notifier::new(
                &config.state_dir.join("outbox"),
                clients,
                metrics.clone(),
                config.notify.lang,
                config.alerting.thresholds,
            ) {
                Ok(n) => Arc::new(n),
                Err(e) => {
                    crate::errln!(
                        "STATE_DIR={}: cannot open the outbox: {e}",
                        config.state_dir.display()
                    );
                    return ExitCode::from(super::EXIT_STATE);
                }
            };
            let enforcer = Enforcer::new(&config, state, notifier, metrics, None);
            print(&enforcer.lift_all().await, dry_run)
        }
        Err(StoreError::Busy { dir }) => {
            // The service holds the state: remove our rules anyway, and say what it means.
            crate::errln!("note: STATE_DIR={dir} is held by the running service; removing our rules without updating its record. It puts them back only after a restart while the level lasts: stop it first (systemctl stop flexus-traffic-monitor) or change LEVELn_ACTIONS to keep them off.");
            let runner = Runner {
                netns: None,
                timeout: config.actions.timeout,
                dry_run,
            };
            let machine = runner.machine(config.actions.fence_backend, &[]).await;
            let mut report = LiftReport::default();
            for (_, steps) in lift_everything(
                &ActionsState::default(),
                &config.actions,
                &machine,
                runner.has("nft"),
                runner.has("iptables"),
            ) {
                match runner.run_all(&steps).await {
                    Ok(lines) => report.commands.extend(lines),
                    Err(e) => report.errors.push(e.to_string()),
                }
            }
            print(&report, dry_run)
        }
        Err(e) => {
            crate::errln!("{e}");
            ExitCode::from(super::EXIT_STATE)
        }
    }
}
