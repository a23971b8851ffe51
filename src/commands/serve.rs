//! `serve`: the daemon. Starts the poller, the notifier, the fallback evaluator and the HTTP server,
//! and stops them all on SIGINT/SIGTERM (SIGHUP is ignored with a warning).

use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tokio_util::sync::CancellationToken;

use crate::app::{self, Options, Stack};
use crate::config::Config;
use crate::fallback;
use crate::http::{self, AppState};

pub async fn run(mut config: Config) -> ExitCode {
    if let Err(e) = config
        .require_polling()
        .and_then(|()| config.require_serving())
    {
        return super::config_error(&e);
    }
    let bss = match super::bss_client(&config) {
        Ok(b) => b,
        Err(e) => return super::config_error(&e),
    };
    if let Err(e) = super::resolve_targets(&mut config).await {
        crate::logging::print_error(&format!("{e:#}"));
        return ExitCode::from(super::EXIT_CONFIG);
    }
    let listener = match tokio::net::TcpListener::bind(config.http.listen_addr).await {
        Ok(l) => l,
        Err(e) => {
            crate::logging::print_error(&format!("LISTEN_ADDR={}: cannot listen: {e}; fix: choose a free port or stop the other process", config.http.listen_addr));
            return ExitCode::from(super::EXIT_CONFIG);
        }
    };
    let stack = match app::build(
        config,
        bss,
        Options {
            lock_wait: Duration::from_secs(5),
            ..Default::default()
        },
    ) {
        Ok(s) => s,
        Err(e) => {
            crate::logging::print_error(&format!("{e:#}"));
            return ExitCode::from(super::EXIT_STATE);
        }
    };
    run_stack(stack, listener, CancellationToken::new()).await
}

/// Runs a built pipeline until `cancel` fires or a stop signal arrives (also used by `demo`).
pub async fn run_stack(
    stack: Stack,
    listener: tokio::net::TcpListener,
    cancel: CancellationToken,
) -> ExitCode {
    let Stack {
        config,
        metrics,
        snapshot,
        poller,
        notifier,
        engine,
        ..
    } = stack;
    let ready = Arc::new(AtomicBool::new(false));
    let fallback_active = Arc::new(AtomicBool::new(false));

    let mut polled = poller.subscribe();
    let ready_flag = ready.clone();
    tokio::spawn(async move {
        if polled.changed().await.is_ok() {
            ready_flag.store(true, Ordering::Release);
        }
    });
    let tasks = vec![
        tokio::spawn(notifier.clone().run(cancel.clone())),
        tokio::spawn(fallback::run(
            engine.clone(),
            poller.subscribe(),
            metrics.clone(),
            fallback_active.clone(),
            cancel.clone(),
        )),
        tokio::spawn(poller.run(config.watch.poll_interval, cancel.clone())),
    ];

    let state = AppState {
        config: config.clone(),
        snapshot,
        metrics,
        ready,
        engine: Some(engine),
        fallback_active,
    };
    let addr = listener
        .local_addr()
        .map(|a| a.to_string())
        .unwrap_or_default();
    tracing::info!(listen_addr = %addr, packages = config.watch.free_resource_ids.len(), poll_interval = %humantime::format_duration(config.watch.poll_interval), "serving");

    let stop = cancel.clone();
    tokio::spawn(async move {
        wait_for_signal().await;
        tracing::info!("stop signal received, shutting down");
        stop.cancel();
    });
    let result = http::serve(listener, http::router(state), cancel.clone()).await;
    cancel.cancel();
    for t in tasks {
        let _ = t.await;
    }
    // Last chance for queued messages; what is left stays in the outbox for the next start.
    let left = notifier.flush(Duration::from_secs(3)).await.remaining;
    if left > 0 {
        tracing::info!(
            pending = left,
            "messages kept in the outbox for the next start"
        );
    }
    match result {
        Ok(()) => {
            tracing::info!("stopped");
            ExitCode::SUCCESS
        }
        Err(e) => {
            tracing::error!(error = %e, "http server failed");
            ExitCode::FAILURE
        }
    }
}

/// Waits for SIGINT or SIGTERM. SIGHUP (a closed terminal, or `systemctl reload` habits) is
/// ignored with a warning instead of ending the process: the configuration is read once at
/// start, and a guard that dies on a stray hang-up protects nothing.
async fn wait_for_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        let mut term = match signal(SignalKind::terminate()) {
            Ok(s) => s,
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
                return;
            }
        };
        let mut hangup = signal(SignalKind::hangup()).ok();
        loop {
            tokio::select! {
                _ = tokio::signal::ctrl_c() => return,
                _ = term.recv() => return,
                Some(()) = async { match hangup.as_mut() { Some(h) => h.recv().await, None => std::future::pending().await } } => {
                    tracing::warn!("SIGHUP ignored: the configuration is read only at start; restart the service to apply changes (systemctl restart flexus-traffic-monitor)");
                }
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}
