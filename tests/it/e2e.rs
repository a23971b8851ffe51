//! End to end with the real programs: Prometheus and Alertmanager (Debian's packages) run the
//! files from `deploy/` — only addresses, ports, intervals and the token path substituted — against
//! the real binary, a fake BSS and a fake Telegram.

use std::process::Command;
use std::time::Duration;

use serde_json::Value;

use crate::helpers::alertmanager::{deploy, start_alertmanager, start_prometheus, Receiver};
use crate::helpers::process::{tool, wait_count, wait_for_message, wait_metric, wait_ok};
use crate::helpers::{free_port, get_text, metric, ID};

const TOKEN: &str = "e2e-webhook-token-0123456789";

/// Every PromQL expression of the dashboard runs on the live Prometheus without error.
async fn dashboard_queries_run(prometheus: &str) {
    let dash: Value =
        serde_json::from_str(&deploy("grafana/dashboards/flexus-traffic.json")).unwrap();
    let mut exprs = Vec::new();
    for p in dash["panels"].as_array().unwrap() {
        for t in p["targets"].as_array().unwrap() {
            exprs.push(t["expr"].as_str().unwrap().to_string());
        }
    }
    assert!(exprs.len() >= 12);
    let client = reqwest::Client::new();
    for e in exprs {
        let q = e
            .replace("$job", ".+")
            .replace("$server", ".+")
            .replace("$__rate_interval", "1m")
            .replace("$__range", "1h");
        let r: Value = client
            .get(format!("{prometheus}/api/v1/query"))
            .query(&[("query", &q)])
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(r["status"], "success", "{q}: {r}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn prometheus_and_alertmanager_drive_every_level_and_hand_over_to_the_fallback() {
    let (Some(prometheus_bin), Some(_), Some(alertmanager_bin)) = (
        tool("prometheus"),
        tool("promtool"),
        tool("prometheus-alertmanager"),
    ) else {
        return;
    };
    let r = Receiver::start(
        "e2e",
        TOKEN,
        &[("FALLBACK", "auto"), ("WATCHDOG_TIMEOUT", "6s")],
    )
    .await;
    let (bss, tg, dir, base, exporter) = (&r.bss, &r.tg, &r.dir, &r.base, &r.exporter);
    let (prom_port, am_port) = (free_port(), free_port());
    let prom_url = format!("http://127.0.0.1:{prom_port}");
    let _am = start_alertmanager(alertmanager_bin, dir, am_port, exporter, &r.token_file);
    wait_ok(
        &format!("http://127.0.0.1:{am_port}/-/ready"),
        Duration::from_secs(30),
    )
    .await;
    let prometheus = || async {
        let p = start_prometheus(
            prometheus_bin,
            dir,
            prom_port,
            exporter,
            &[format!("127.0.0.1:{am_port}")],
        );
        wait_ok(&format!("{prom_url}/-/ready"), Duration::from_secs(30)).await;
        p
    };
    let prom = prometheus().await;

    // The watchdog arrives: Prometheus is in charge.
    wait_metric(base, "flexus_fallback_active", 0.0, Duration::from_secs(30)).await;

    // Drain through every level; each message comes through Alertmanager's webhook.
    let long = Duration::from_secs(30);
    bss.set_gb(ID, 15.0, 100.0);
    wait_count(tg, "Traffic alert (normal)", 1, long).await;
    let l3 = tg
        .texts()
        .into_iter()
        .find(|t| t.contains("Traffic alert (normal)"))
        .unwrap();
    assert!(
        l3.contains("test-server")
            && l3.contains("15.00 GB")
            && l3.contains("85.00 GB")
            && l3.contains(ID),
        "{l3}"
    );
    bss.set_gb(ID, 8.0, 100.0);
    wait_count(tg, "Traffic alert (high-frequency)", 1, long).await;
    bss.set_gb(ID, 3.0, 100.0);
    wait_for_message(tg, "shutdown executed").await;
    wait_count(tg, "shutdown executed", 1, long).await;
    let text = get_text(&format!("{base}/metrics")).await;
    assert!(metric(&text, "flexus_webhooks_total", &["result=\"ok\""]).unwrap() >= 3.0);
    assert_eq!(
        metric(&text, "flexus_fallback_active", &[]),
        Some(0.0),
        "the webhook path did it, not the fallback"
    );

    // A new cycle: the level-1 alert resolves and one recovery message comes.
    bss.set_gb(ID, 100.0, 100.0);
    wait_count(tg, "Traffic recovered", 1, long).await;

    // Prometheus stops: the fallback takes over, and a drop in the meantime is not lost.
    drop(prom);
    bss.set_gb(ID, 15.0, 100.0);
    wait_metric(base, "flexus_fallback_active", 1.0, Duration::from_secs(25)).await;
    wait_count(tg, "Traffic alert (normal)", 2, long).await;

    // Prometheus is back: the fallback stands down; its level-3 alert is no news.
    let prom = prometheus().await;
    wait_metric(base, "flexus_fallback_active", 0.0, Duration::from_secs(30)).await;
    bss.set_gb(ID, 8.0, 100.0);
    wait_count(tg, "Traffic alert (high-frequency)", 2, long).await;
    // Let repeats flow (repeat_interval 2s) and check nothing was duplicated.
    tokio::time::sleep(Duration::from_secs(6)).await;
    for (needle, n) in [
        ("Traffic alert (normal)", 2),
        ("Traffic alert (high-frequency)", 2),
        ("Free traffic almost used up", 1),
        ("Shutdown countdown", 1),
        ("shutdown executed", 1),
        ("Traffic recovered", 1),
    ] {
        assert_eq!(tg.count(needle), n, "{needle}: {:#?}", tg.texts());
    }
    assert_eq!(r.shutdowns(), 1, "exactly one shutdown command run");

    dashboard_queries_run(&prom_url).await;
    drop(prom);
    let mut r = r;
    let pid = r.serve.0.id().to_string();
    assert!(Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .unwrap()
        .success());
    assert!(r.serve.0.wait().unwrap().success());
}
