//! `demo`: the whole pipeline with no cloud account. A simulated BSS drains one package through
//! every level in about a minute; messages are printed here; the shutdown is a dry run.

use std::process::ExitCode;
use std::time::Duration;

use tokio_util::sync::CancellationToken;
use url::Url;

use crate::app::{self, Options};
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
    let scenario = Scenario::for_thresholds(&config.thresholds);
    let cloud = match DemoCloud::start(scenario, speed).await {
        Ok(c) => c,
        Err(e) => {
            eprintln!("cannot start the demo cloud on 127.0.0.1: {e}");
            return ExitCode::FAILURE;
        }
    };

    // The demo runs the real pipeline against the simulated cloud, always as a dry run.
    config.access_key = Some(Secret::new(DEMO_AK));
    config.secret_key = Some(Secret::new(DEMO_SK));
    config.domain_id = None;
    config.bss_endpoint = Url::parse(&cloud.url()).expect("a loopback URL parses");
    config.free_resource_ids = vec![DEMO_PACKAGE.to_string()];
    config.dry_run = true;
    config.shutdown_mode = ShutdownMode::Command;
    config.fallback = FallbackMode::Always;
    config.poll_interval = Duration::from_secs(2).div_f64(speed);
    config.shutdown_delay = Duration::from_secs(6).div_f64(speed);
    config.cadence.daily_report = true;
    if config.server_name == "flexus" {
        config.server_name = "demo-server".into();
    }
    config.state_dir = config.state_dir.join("demo");
    let _ = std::fs::remove_dir_all(&config.state_dir);
    if !config.listen_addr.ip().is_loopback() {
        config.listen_addr = crate::config::DEFAULT_LISTEN_ADDR.parse().expect("valid");
    }
    let listener = match tokio::net::TcpListener::bind(config.listen_addr).await {
        Ok(l) => l,
        Err(_) => match tokio::net::TcpListener::bind("127.0.0.1:0").await {
            Ok(l) => l,
            Err(e) => {
                eprintln!("cannot listen on 127.0.0.1: {e}");
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
    let thresholds = config.thresholds;
    let state_dir = config.state_dir.display().to_string();
    let stack = match app::build(
        config,
        bss,
        Options {
            sink: Some(Sink::Console { stderr: false }),
            ..Default::default()
        },
    ) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("{e:#}");
            return ExitCode::from(super::EXIT_STATE);
        }
    };

    println!(
        "Status page: http://{addr}/   (open it in a browser now: it follows the demo live)\n"
    );
    println!("flexus-traffic-monitor demo — no cloud account needed\n");
    println!("A simulated Huawei BSS serves one {:.0} GB traffic package that drains from {:.0} GB to {:.0} GB", scenario.quota_gb, scenario.start_gb, scenario.end_gb);
    println!("in about {:.0} s, then a new cycle refills it. Thresholds: level 3 < {} GB, level 2 < {} GB, level 1 < {} GB.", scenario.drain.as_secs_f64() / speed, thresholds.t3, thresholds.t2, thresholds.t1);
    println!("Every poll is a real signed request; messages that would go to Telegram are printed below;");
    println!("the shutdown at level 1 is a dry run (nothing is shut down).\n");
    println!("Look while it runs:");
    println!("  metrics:  curl http://{addr}/metrics");
    println!("  status:   curl http://{addr}/api/v1/status");
    println!("  state:    {state_dir}\n");

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
                        println!(
                            "[+{t:>4.0}s] remaining {:>8.2} GB → level {}",
                            r.remaining_gb,
                            level.label()
                        );
                        last_level = Some(level);
                    }
                }
                if cloud.elapsed() >= end && guard.running().is_none() {
                    println!("\nDemo finished: the package went through every level, the guard ran a dry-run shutdown");
                    println!("after re-checking, and the new cycle sent a recovery message. For a real server, see README.md:");
                    println!("put your keys in .env, then run `flexus-traffic-monitor check` from cron or `serve` under systemd.");
                    cancel.cancel();
                    return;
                }
            }
        })
    };
    let code = super::serve::run_stack(stack, listener, cancel).await;
    let _ = narrator.await;
    code
}
