//! `serve`: the daemon. Starts the poller, the notifier, the fallback evaluator and the HTTP server,
//! and stops them all on SIGINT/SIGTERM (SIGHUP is ignored with a warning). See
//! `App::run_until_stopped` for the order of a stop, and `shutdown` for what a stop during a
//! countdown means.

use std::process::ExitCode;
use std::time::Duration;

use tokio_util::sync::CancellationToken;

use crate::app::{App, BuildError, Deps};
use crate::config::Config;

pub async fn run(mut config: Config) -> ExitCode {
    let lang = config.notify.lang;
    if let Err(e) = super::with_container_problem(config.require_for_serve(), &config) {
        return super::config_problems(&e, None, config.notify.lang);
    }
    let bss = match super::bss_client(&config) {
        Ok(b) => b,
        Err(e) => return super::config_error(&e, lang),
    };
    if let Err(e) = super::resolve_targets(&mut config).await {
        crate::logging::print_error(&super::say::failed(
            lang,
            None,
            "无法确定资源包所属的实例",
            &format!("{e:#}"),
        ));
        return ExitCode::from(super::EXIT_CONFIG);
    }
    let listener = match crate::http::server::bind(config.http.listen_addr) {
        Ok(l) => l,
        Err(e) => {
            crate::logging::print_error(&match lang {
                crate::messages::Lang::En => format!("LISTEN_ADDR={}: cannot listen: {e}; fix: choose a free port or stop the other process", config.http.listen_addr),
                crate::messages::Lang::Zh => format!("LISTEN_ADDR={}：无法监听（「{e}」）；改法：换一个空闲端口，或停止占用它的进程", config.http.listen_addr),
            });
            return ExitCode::from(super::EXIT_CONFIG);
        }
    };
    let app = match App::build(
        config,
        Deps {
            lock_wait: Duration::from_secs(5),
            ..Deps::new(bss)
        },
    )
    .await
    {
        Ok(a) => a,
        Err(e) => return build_error(&e, lang),
    };
    let stop = CancellationToken::new();
    let on_signal = stop.clone();
    let signals = tokio::spawn(async move {
        wait_for_signal().await;
        tracing::info!("stop signal received, shutting down");
        on_signal.cancel();
    });
    let code = exit_code(app.run_until_stopped(listener, stop).await);
    signals.abort();
    code
}

/// The exit code of an app that could not be built.
pub fn build_error(e: &BuildError, lang: crate::messages::Lang) -> ExitCode {
    let what = match e {
        BuildError::State(_) => "STATE_DIR 不可用",
        BuildError::Outbox { .. } => {
            "STATE_DIR 中的发件箱不可用（把 STATE_DIR/outbox 设为服务可写的目录）"
        }
        BuildError::Other(_) => "无法启动",
    };
    crate::logging::print_error(&super::say::failed(lang, None, what, e));
    match e {
        BuildError::State(_) | BuildError::Outbox { .. } => ExitCode::from(super::EXIT_STATE),
        BuildError::Other(_) => ExitCode::from(super::EXIT_CONFIG),
    }
}

/// The exit code of a finished run.
pub fn exit_code(result: std::io::Result<()>) -> ExitCode {
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
pub(super) async fn wait_for_signal() {
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
