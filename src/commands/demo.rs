//! `demo`: the whole pipeline with no cloud account. A simulated BSS drains one package through
//! every level in about a minute; messages are printed here; the shutdown is a dry run.

use std::process::ExitCode;
use std::time::Duration;

use tokio_util::sync::CancellationToken;
use url::Url;

use crate::app::{App, Deps};
use crate::config::{Config, FallbackMode, ShutdownMode};
use crate::demo::{DemoCloud, Scenario, DEMO_AK, DEMO_PACKAGE, DEMO_SK};
use crate::level::Level;
use crate::notifier::Sink;
use crate::secret::Secret;

pub async fn run(mut config: Config, speed: f64) -> ExitCode {
    let speed = if speed.is_finite() && speed > 0.0 {
        speed
    } else {
        1.0
    };
    let scenario = Scenario::for_thresholds(&config.alerting.thresholds);
    let cloud = match DemoCloud::start(scenario, speed, config.notify.lang).await {
        Ok(c) => c,
        Err(e) => {
            crate::errln!("cannot start the demo cloud on 127.0.0.1: {e}");
            return ExitCode::FAILURE;
        }
    };

    // The demo runs the real pipeline against the simulated cloud, always as a dry run.
    config.huawei.access_key = Some(Secret::new(DEMO_AK));
    config.huawei.secret_key = Some(Secret::new(DEMO_SK));
    config.huawei.domain_id = None;
    let bss_url = cloud.url();
    config.huawei.bss_endpoint = Url::parse(&bss_url).expect("a loopback URL parses");
    config.watch.free_resource_ids = vec![DEMO_PACKAGE.to_string()];
    config.shutdown.dry_run = true;
    config.shutdown.mode = ShutdownMode::Command;
    config.alerting.fallback = FallbackMode::Always;
    config.watch.poll_interval = Duration::from_secs(2).div_f64(speed);
    config.shutdown.delay = Duration::from_secs(6).div_f64(speed);
    config.alerting.cadence.daily_report = true;
    if config.watch.server_name == "flexus" {
        config.watch.server_name = "demo-server".into();
    }
    // The demo's state is throw-away: a fresh temp directory, removed when the demo ends, so a
    // demo run leaves nothing in the working directory nor in a real STATE_DIR.
    let state = match tempfile::Builder::new()
        .prefix("flexus-traffic-monitor-demo-")
        .tempdir()
    {
        Ok(d) => d,
        Err(e) => {
            crate::errln!("cannot create the demo's temporary state directory: {e}");
            return ExitCode::from(super::EXIT_STATE);
        }
    };
    config.state_dir = state.path().to_path_buf();
    if !config.http.listen_addr.ip().is_loopback() {
        config.http.listen_addr = crate::config::DEFAULT_LISTEN_ADDR.parse().expect("valid");
    }
    let listener = match tokio::net::TcpListener::bind(config.http.listen_addr).await {
        Ok(l) => l,
        Err(_) => match tokio::net::TcpListener::bind("127.0.0.1:0").await {
            Ok(l) => l,
            Err(e) => {
                crate::errln!("cannot listen on 127.0.0.1: {e}");
                return ExitCode::FAILURE;
            }
        },
    };
    let addr = listener
        .local_addr()
        .map(|a| a.to_string())
        .unwrap_or_default();
    let bss = match super::bss_client(&config) {
        Ok(b) => b,
        Err(e) => return super::config_error(&e),
    };
    let thresholds = config.alerting.thresholds;
    let state_dir = config.state_dir.display().to_string();
    let stack = match App::build(
        config,
        Deps {
            sink: Some(Sink::Console { stderr: false }),
            ..Deps::new(bss)
        },
    )
    .await
    {
        Ok(a) => a,
        Err(e) => return super::serve::build_error(&e),
    };

    crate::outln!(
        "Status page: http://{addr}/   (open it in a browser now: it follows the demo live)\n"
    );
    crate::outln!("flexus-traffic-monitor demo — no cloud account needed\n");
    crate::outln!("A simulated Huawei BSS serves one {:.0} GB traffic package that drains from {:.0} GB to {:.0} GB", scenario.quota_gb, scenario.start_gb, scenario.end_gb);
    crate::outln!("in about {:.0} s, then a new cycle refills it. Thresholds: level 3 < {} GB, level 2 < {} GB, level 1 < {} GB.", scenario.drain.as_secs_f64() / speed, thresholds.t3, thresholds.t2, thresholds.t1);
    crate::outln!("Every poll is a real signed request; messages that would go to Telegram are printed below;");
    crate::outln!("the shutdown at level 1 is a dry run (nothing is shut down).\n");
    crate::outln!("Look while it runs:");
    crate::outln!("  metrics:  curl http://{addr}/metrics");
    crate::outln!("  status:   curl http://{addr}/api/v1/status");
    crate::outln!("  state:    {state_dir} (temporary, removed when the demo ends)");
    crate::outln!("  a real Prometheus: add a scrape job for {addr} (deploy/prometheus/ has one for 127.0.0.1:9184)");
    crate::outln!("  the simulated BSS, to run `serve` or `check` against it in another shell:");
    crate::outln!(
        "    HUAWEICLOUD_BSS_ENDPOINT={} HUAWEICLOUD_SDK_AK={DEMO_AK} HUAWEICLOUD_SDK_SK={DEMO_SK} FREE_RESOURCE_IDS={DEMO_PACKAGE} flexus-traffic-monitor check\n",
        bss_url
    );

    let cancel = CancellationToken::new();
    let narrator = {
        let mut polled = stack.poller.subscribe();
        let snapshot = stack.snapshot.clone();
        let guard = stack.guard.clone();
        let cancel = cancel.clone();
        let end = scenario.reset_at + Duration::from_secs(10);
        tokio::spawn(async move {
            let mut last_level = None;
            loop {
                tokio::select! {
                    _ = cancel.cancelled() => return,
                    r = polled.changed() => if r.is_err() { return },
                }
                let snap = snapshot.read().await.clone();
                if let Some(r) = snap.packages.first().and_then(|p| p.reading.as_ref()) {
                    let level = Level::of(r.remaining_gb, &thresholds);
                    if last_level != Some(level) {
                        let t = cloud.elapsed().as_secs_f64() / speed;
                        crate::outln!(
                            "[+{t:>4.0}s] remaining {:>8.2} GB → level {}",
                            r.remaining_gb,
                            level.label()
                        );
                        last_level = Some(level);
                    }
                }
                if cloud.elapsed() >= end && guard.running().is_none() {
                    crate::outln!("\nDemo finished: the package went through every level, the guard ran a dry-run shutdown");
                    crate::outln!("after re-checking, and the new cycle was told with its first report. For a real server, see README.md:");
                    crate::outln!("put your keys in .env, then run `flexus-traffic-monitor check` from cron or `serve` under systemd.");
                    cancel.cancel();
                    return;
                }
            }
        })
    };
    // Ctrl-C or SIGTERM ends the demo like its own end does, so the temporary state is removed.
    let on_signal = cancel.clone();
    let signals = tokio::spawn(async move {
        super::serve::wait_for_signal().await;
        on_signal.cancel();
    });
    let code = super::serve::exit_code(stack.run_until_stopped(listener, cancel).await);
    signals.abort();
    let _ = narrator.await;
    drop(state);
    code
}
