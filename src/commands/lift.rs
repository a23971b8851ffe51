//! `lift`: removes by hand every throttle, fence and command action of ours — the qdisc with our
//! handle, our nft table, our iptables chain, and what the state records (running the leave
//! command) — and nothing else. The actions that were in force are not installed again until their
//! level has recovered once (or the state is reset), and the owner is told.
//!
//! While the service runs it holds the state, so `lift` removes our rules, then leaves a request in
//! `STATE_DIR` that the service carries out within seconds (it records the lift, runs the leave
//! command, tells the owner); `lift` waits for it and says whether it was taken.

use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use super::say;
use crate::actions::plan::lift_everything;
use crate::actions::runner::Runner;
use crate::actions::ActionsState;
use crate::app;
use crate::config::Config;
use crate::enforcer::{lift_requested, request_lift, Enforcer, LiftReport};
use crate::messages::Lang;
use crate::metrics::Metrics;
use crate::notifier::Notifier;
use crate::state::{StateCell, StateStore, StoreError};

fn print(report: &LiftReport, dry_run: bool, lang: Lang) -> ExitCode {
    for c in &report.commands {
        crate::outln!("{}", say::lift_ran(lang, dry_run, c));
    }
    for k in &report.lifted {
        crate::outln!("{}", say::lifted(lang, &k.id()));
    }
    for e in &report.errors {
        crate::errln!("{}", say::failed(lang, None, "解除失败", e));
    }
    if report.errors.is_empty() {
        crate::outln!("{}", say::lift_done(lang));
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

/// How long `lift` waits for the running service to take its request.
const SERVICE_TAKES_WITHIN: Duration = Duration::from_secs(15);

/// Leaves the lift request for the running service and waits until it is taken.
async fn tell_the_service(state_dir: &std::path::Path, lang: Lang) {
    if let Err(e) = request_lift(state_dir, chrono::Utc::now()) {
        crate::errln!("{}", say::lift_not_left(lang, state_dir, &e));
        return;
    }
    let until = tokio::time::Instant::now() + SERVICE_TAKES_WITHIN;
    while tokio::time::Instant::now() < until {
        if !lift_requested(state_dir) {
            crate::outln!("{}", say::lift_taken(lang));
            return;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    crate::errln!(
        "{}",
        say::lift_not_taken(lang, state_dir, SERVICE_TAKES_WITHIN.as_secs())
    );
}

pub async fn run(config: Config) -> ExitCode {
    let dry_run = config.shutdown.dry_run;
    let lang = config.notify.lang;
    match StateStore::open(&config.state_dir, Duration::from_secs(5)).await {
        Ok((store, state, _)) => {
            let state = Arc::new(StateCell::new(store, state));
            let metrics = Arc::new(Metrics::new());
            let clients = match app::clients(&config) {
                Ok(c) => c,
                Err(e) => return super::config_error(&e, lang),
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
                        "{}",
                        say::failed(
                            lang,
                            Some(&format!(
                                "STATE_DIR={}: cannot open the outbox",
                                config.state_dir.display()
                            )),
                            &format!("STATE_DIR={}：无法打开发件箱", config.state_dir.display()),
                            &e
                        )
                    );
                    return ExitCode::from(super::EXIT_STATE);
                }
            };
            let enforcer = Enforcer::new(&config, state, notifier.clone(), metrics, None);
            let code = print(&enforcer.lift_all().await, dry_run, lang);
            // Tell the owner now rather than at the service's next start.
            let pass = notifier.flush(Duration::from_secs(10)).await;
            if pass.remaining > 0 {
                crate::outln!("{}", say::lift_message_queued(lang));
            }
            code
        }
        Err(StoreError::Busy { .. }) => {
            // The service holds the state: remove our rules at once, then ask it to record the lift.
            let runner = Runner {
                netns: None,
                timeout: config.actions.timeout,
                dry_run,
            };
            let machine = runner
                .machine(config.actions.fence_backend, Vec::new())
                .await;
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
            let code = print(&report, dry_run, lang);
            tell_the_service(&config.state_dir, lang).await;
            code
        }
        Err(e) => {
            crate::errln!("{}", say::failed(lang, None, "STATE_DIR 不可用", &e));
            ExitCode::from(super::EXIT_STATE)
        }
    }
}
