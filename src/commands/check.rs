//! `check`: the cron drop-in. One poll, one evaluation with the same state and cadence as `serve`,
//! messages delivered, the shutdown guard run to its end (countdown included), then exit.

use std::process::ExitCode;
use std::time::Duration;

use chrono::Utc;
use serde_json::json;

use crate::app::{App, Deps};
use crate::config::Config;
use crate::level::Level;
use crate::messages::{to_plain, Lang, Localize};
use crate::shutdown::Outcome;

pub async fn run(mut config: Config, json_out: bool) -> ExitCode {
    let lang = config.notify.lang;
    if let Err(e) = super::with_container_problem(config.require_polling(), &config) {
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
    // An overlapping run (a slow countdown, a cron job fired twice) waits for this one to end.
    let lock_wait = config.shutdown.delay + Duration::from_secs(120);
    let stack = match App::build(
        config,
        Deps {
            lock_wait,
            ..Deps::new(bss)
        },
    )
    .await
    {
        Ok(a) => a,
        Err(e) => return super::serve::build_error(&e, lang),
    };
    // The live sources first, so that the poll builds its estimates on what they know now: the
    // counter is sampled by the poll itself; Cloud Eye is read once per EIP.
    if let Some((ce, factory)) = &stack.cloudeye {
        for eip in ce.eips() {
            match factory.client(&eip.region, &eip.project_id) {
                Ok(client) => {
                    ce.read(&client, eip, Utc::now()).await;
                }
                Err(e) => {
                    ce.fold(&eip.package, Err(e), Utc::now());
                }
            }
        }
    }
    let outcome = stack.poller.poll_once().await;
    if let Err(e) = stack.engine.poll_health().await {
        tracing::error!(error = %e, "cannot record monitoring health");
    }
    if let Err(e) = stack.engine.evaluate(Utc::now()).await {
        tracing::error!(error = %e, "cannot record the evaluation");
        crate::logging::print_error(super::say::not_recorded(lang));
        return ExitCode::from(super::EXIT_STATE);
    }
    if let Err(e) = stack.engine.reports(Utc::now()).await {
        crate::logging::print_error(&super::say::failed(
            lang,
            Some("cannot record the reports"),
            "无法保存报告记录（STATE_DIR 不可用）",
            &e,
        ));
        return ExitCode::from(super::EXIT_STATE);
    }
    let snap = stack.snapshot.read().await.clone();
    stack.enforcer.after_poll(&snap, Utc::now()).await;
    stack.guard.wait_idle().await;
    stack.engine.auto_start(Utc::now()).await;
    stack.engine.wait_auto_start().await;
    let pass = stack.notifier.flush(Duration::from_secs(30)).await;
    if pass.remaining > 0 {
        crate::logging::print_error(&super::say::undelivered(lang, pass.remaining));
    }
    let shutdown_failed = stack
        .guard
        .take_outcomes()
        .iter()
        .any(|(_, o)| matches!(o, Outcome::Failed(_)));
    stack.stop().await;
    let config = &stack.config;

    let results = match outcome {
        Ok(r) => r,
        Err(e) => {
            if json_out {
                crate::outln!(
                    "{}",
                    json!({ "ok": false, "error": e.to_string(), "error_kind": e.kind() })
                );
            } else {
                // English keeps the whole chain (it is the log's language); Chinese describes the
                // kind, and the log line above holds the raw detail.
                let what = match lang {
                    Lang::En => e.to_string(),
                    Lang::Zh => to_plain(&e.localize(lang)),
                };
                crate::logging::print_error(&super::say::poll_failed(lang, &what));
            }
            return ExitCode::from(super::EXIT_POLL_FAILED);
        }
    };
    let all_ok = results.iter().all(|(_, r)| r.is_ok());
    // The live estimate built on each package's reading (the snapshot holds the accepted ones).
    let estimate = |id: &str, r: &crate::reading::Reading| {
        snap.estimate(id)
            .filter(|e| e.bill_read_at == r.read_at)
            .cloned()
    };
    let judged = |id: &str, r: &crate::reading::Reading| {
        estimate(id, r).map_or(r.remaining_gb, |e| e.remaining_gb.min(r.remaining_gb))
    };
    if json_out {
        let packages: Vec<_> = results
            .iter()
            .map(|(id, r)| match r {
                Ok(r) => json!({
                    "free_resource_id": id, "ok": true, "reading": r, "used_gb": r.used_gb(),
                    "estimate": estimate(id, r),
                    "level": Level::of(judged(id, r), &config.alerting.thresholds).label(),
                }),
                Err(e) => json!({ "free_resource_id": id, "ok": false, "error": e.to_string() }),
            })
            .collect();
        let out = json!({ "ok": all_ok, "server": config.watch.server_name, "packages": packages, "messages_pending": pass.remaining });
        crate::outln!("{}", serde_json::to_string_pretty(&out).expect("json"));
    } else {
        let rows: Vec<Vec<String>> = results
            .iter()
            .map(|(id, r)| match r {
                Ok(r) => vec![
                    id.clone(),
                    r.usage_type.clone(),
                    format!("{:.2}", r.total_gb),
                    format!("{:.2}", r.used_gb()),
                    format!("{:.2}", r.remaining_gb),
                    estimate(id, r)
                        .map(|e| format!("{:.2}", e.remaining_gb.min(r.remaining_gb)))
                        .unwrap_or_else(|| "-".into()),
                    Level::of(judged(id, r), &config.alerting.thresholds)
                        .label()
                        .to_string(),
                    r.cycle_end
                        .map(|t| t.format("%Y-%m-%d %H:%M UTC").to_string())
                        .unwrap_or_default(),
                ],
                Err(e) => vec![
                    id.clone(),
                    match lang {
                        Lang::En => format!("ERROR: {e}"),
                        Lang::Zh => format!("错误：{}", to_plain(&e.localize(lang))),
                    },
                    String::new(),
                    String::new(),
                    String::new(),
                    String::new(),
                    String::new(),
                    String::new(),
                ],
            })
            .collect();
        crate::out!(
            "{}",
            super::table(
                &[
                    "FREE_RESOURCE_ID",
                    "TYPE",
                    "QUOTA_GB",
                    "USED_GB",
                    "REMAINING_GB",
                    "NOW_GB",
                    "LEVEL",
                    "CYCLE_END"
                ],
                &rows
            )
        );
        for (id, r) in results
            .iter()
            .filter_map(|(id, r)| Some((id, r.as_ref().ok()?)))
        {
            if let Some(e) = estimate(id, r) {
                crate::outln!(
                    "{}",
                    super::say::bill_and_now(
                        lang,
                        id,
                        r.remaining_gb,
                        &r.read_at.format("%Y-%m-%d %H:%M UTC").to_string(),
                        e.remaining_gb.min(r.remaining_gb)
                    )
                );
            }
        }
    }
    if shutdown_failed {
        ExitCode::from(super::EXIT_SHUTDOWN_FAILED)
    } else if all_ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(super::EXIT_PARTIAL)
    }
}
