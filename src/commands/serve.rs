//! `serve`: the daemon. Starts the poller and the HTTP server and stops both on SIGINT/SIGTERM.

use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use tokio::sync::RwLock;
use tokio_util::sync::CancellationToken;

use crate::config::Config;
use crate::http::{self, AppState};
use crate::metrics::Metrics;
use crate::poller::Poller;
use crate::snapshot::Snapshot;

pub async fn run(config: Config) -> ExitCode {
    if let Err(e) = config.require_polling() {
        return super::config_error(&e);
    }
    let bss = match super::bss_client(&config) {
        Ok(b) => b,
        Err(e) => return super::config_error(&e),
    };
    let listener = match tokio::net::TcpListener::bind(config.listen_addr).await {
        Ok(l) => l,
        Err(e) => {
            eprintln!("LISTEN_ADDR={}: cannot listen: {e}; fix: choose a free port or stop the other process", config.listen_addr);
            return ExitCode::from(super::EXIT_CONFIG);
        }
    };
    let config = Arc::new(config);
    let metrics = Arc::new(Metrics::new());
    let snapshot = Arc::new(RwLock::new(Snapshot::new(&config.free_resource_ids)));
    let ready = Arc::new(AtomicBool::new(false));
    let cancel = CancellationToken::new();

    let poller = Poller::new(
        bss,
        config.free_resource_ids.clone(),
        snapshot.clone(),
        metrics.clone(),
    );
    let mut polled = poller.subscribe();
    let ready_flag = ready.clone();
    tokio::spawn(async move {
        if polled.changed().await.is_ok() {
            ready_flag.store(true, Ordering::Release);
        }
    });
    let poll_task = tokio::spawn(poller.run(config.poll_interval, cancel.clone()));

    let state = AppState {
        config: config.clone(),
        snapshot,
        metrics,
        ready,
    };
    let addr = listener
        .local_addr()
        .map(|a| a.to_string())
        .unwrap_or_default();
    tracing::info!(listen_addr = %addr, packages = config.free_resource_ids.len(), poll_interval = %humantime::format_duration(config.poll_interval), "serving");

    let stop = cancel.clone();
    tokio::spawn(async move {
        wait_for_signal().await;
        tracing::info!("stop signal received, shutting down");
        stop.cancel();
    });
    let result = http::serve(listener, http::router(state), cancel.clone()).await;
    cancel.cancel();
    let _ = poll_task.await;
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

/// Waits for SIGINT or SIGTERM.
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
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}
