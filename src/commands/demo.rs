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
            crate::errln!(
                "{}",
                super::say::failed(
                    config.notify.lang,
                    Some("cannot start the demo cloud on 127.0.0.1"),
                    "无法在 127.0.0.1 上启动演示用的云",
                    &e
                )
            );
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
            crate::errln!(
                "{}",
                super::say::failed(
                    config.notify.lang,
                    Some("cannot create the demo's temporary state directory"),
                    "无法创建演示用的临时状态目录",
                    &e
                )
            );
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
                crate::errln!(
                    "{}",
                    super::say::failed(
                        config.notify.lang,
                        Some("cannot listen on 127.0.0.1"),
                        "无法在 127.0.0.1 上监听",
                        &e
                    )
                );
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
        Err(e) => return super::config_error(&e, config.notify.lang),
    };
    let thresholds = config.alerting.thresholds;
    let lang = config.notify.lang;
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
        Err(e) => return super::serve::build_error(&e, lang),
    };

    let drain_s = scenario.drain.as_secs_f64() / speed;
    if lang == crate::messages::Lang::Zh {
        crate::outln!("状态页：http://{addr}/   （现在就在浏览器中打开：它实时跟随演示）\n");
        crate::outln!("flexus-traffic-monitor 演示：无需云账号\n");
        crate::outln!("模拟的华为云 BSS 提供一个 {:.0} GB 的流量包，它在约 {drain_s:.0} 秒内从 {:.0} GB 降到 {:.0} GB，", scenario.quota_gb, scenario.start_gb, scenario.end_gb);
        crate::outln!(
            "然后新周期把它充满。阈值：三级 < {} GB，二级 < {} GB，一级 < {} GB。",
            thresholds.t3,
            thresholds.t2,
            thresholds.t1
        );
        crate::outln!("每次查询都是真实的签名请求；本该发到 Telegram 的消息打印在下面；");
        crate::outln!("一级的关机只是演练（不会关掉任何东西）。\n");
        crate::outln!("运行时可以看：");
        crate::outln!("  指标：  curl http://{addr}/metrics");
        crate::outln!("  状态：  curl http://{addr}/api/v1/status");
        crate::outln!("  状态目录：{state_dir}（临时的，演示结束时删除）");
        crate::outln!("  真实的 Prometheus：为 {addr} 加一个抓取任务（deploy/prometheus/ 中有一个针对 127.0.0.1:9184 的）");
        crate::outln!("  模拟的 BSS：在另一个终端里对它运行 `serve` 或 `check`：");
    } else {
        crate::outln!(
            "Status page: http://{addr}/   (open it in a browser now: it follows the demo live)\n"
        );
        crate::outln!("flexus-traffic-monitor demo — no cloud account needed\n");
        crate::outln!("A simulated Huawei BSS serves one {:.0} GB traffic package that drains from {:.0} GB to {:.0} GB", scenario.quota_gb, scenario.start_gb, scenario.end_gb);
        crate::outln!("in about {drain_s:.0} s, then a new cycle refills it. Thresholds: level 3 < {} GB, level 2 < {} GB, level 1 < {} GB.", thresholds.t3, thresholds.t2, thresholds.t1);
        crate::outln!("Every poll is a real signed request; messages that would go to Telegram are printed below;");
        crate::outln!("the shutdown at level 1 is a dry run (nothing is shut down).\n");
        crate::outln!("Look while it runs:");
        crate::outln!("  metrics:  curl http://{addr}/metrics");
        crate::outln!("  status:   curl http://{addr}/api/v1/status");
        crate::outln!("  state:    {state_dir} (temporary, removed when the demo ends)");
        crate::outln!("  a real Prometheus: add a scrape job for {addr} (deploy/prometheus/ has one for 127.0.0.1:9184)");
        crate::outln!(
            "  the simulated BSS, to run `serve` or `check` against it in another shell:"
        );
    }
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
                        if lang == crate::messages::Lang::Zh {
                            crate::outln!(
                                "[+{t:>4.0}s] 剩余 {:>8.2} GB → 级别 {}",
                                r.remaining_gb,
                                level.label()
                            );
                        } else {
                            crate::outln!(
                                "[+{t:>4.0}s] remaining {:>8.2} GB → level {}",
                                r.remaining_gb,
                                level.label()
                            );
                        }
                        last_level = Some(level);
                    }
                }
                if cloud.elapsed() >= end && guard.running().is_none() {
                    if lang == crate::messages::Lang::Zh {
                        crate::outln!("\n演示结束：资源包经过了每个级别，关机守卫在重新查询后做了一次关机演练，");
                        crate::outln!(
                            "新周期也随第一份报告通知了。用于真实服务器，请看 README.zh-CN.md："
                        );
                        crate::outln!("把密钥写进 .env，然后用 cron 运行 `flexus-traffic-monitor check`，或用 systemd 运行 `serve`。");
                    } else {
                        crate::outln!("\nDemo finished: the package went through every level, the guard ran a dry-run shutdown");
                        crate::outln!("after re-checking, and the new cycle was told with its first report. For a real server, see README.md:");
                        crate::outln!("put your keys in .env, then run `flexus-traffic-monitor check` from cron or `serve` under systemd.");
                    }
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
