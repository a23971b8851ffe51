//! A real Alertmanager HA pair: two `prometheus-alertmanager` processes gossiping on loopback, one
//! Prometheus sending to both, both delivering to one `serve` — the files from `deploy/`, a fake
//! BSS driven down through the three levels, a fake Telegram.
//!
//! Two layers keep the user from hearing things twice, and each is asserted where it acts:
//! - Alertmanager's: members gossip their notification log; the member at position n of the
//!   cluster waits n × `--cluster.peer-timeout`, then skips what the log says another member sent.
//!   With gossip, only one member's webhook carries each change.
//! - ours: a level alert only prompts a judgement of the package's level, which the state records
//!   once; the guard acts once per cycle. Two Alertmanagers that do not gossip both deliver every
//!   change, and the user still gets one message per level and one shutdown.

use std::time::{Duration, Instant};

use crate::helpers::alertmanager::{
    start_prometheus, wait_cluster_ready, AlertmanagerSpec, Gossip, Receiver,
};
use crate::helpers::process::{scrape, tool, wait_count, wait_ok, Proc};
use crate::helpers::{free_port, metric, ID};

const TOKEN: &str = "ha-webhook-token-0123456789";
const PEER_TIMEOUT: Duration = Duration::from_secs(3);
const LONG: Duration = Duration::from_secs(60);

/// What each Alertmanager and the receiver counted once the package went down to level 1.
#[derive(Debug)]
struct Outcome {
    /// Per Alertmanager: alerts received from Prometheus.
    received: Vec<f64>,
    /// Per Alertmanager: webhook notifications sent (attempts), and failed.
    notified: Vec<f64>,
    failed: Vec<f64>,
    /// Webhook deliveries the receiver accepted.
    accepted: f64,
}

fn am_counter(text: &str, name: &str, labels: &[&str]) -> f64 {
    metric(text, name, labels).unwrap_or(0.0)
}

/// Starts the receiver, two Alertmanagers (gossiping with each other when `gossip`) and one
/// Prometheus sending to both; drains the package through level 3, 2 and 1; checks the user heard
/// each once and the server was shut down once; returns what the Alertmanagers counted.
async fn two_alertmanagers_drive_every_level(gossip: bool) -> Option<Outcome> {
    let (Some(prometheus_bin), Some(alertmanager_bin)) =
        (tool("prometheus"), tool("prometheus-alertmanager"))
    else {
        return None;
    };
    // Every message comes through the Alertmanagers' webhooks, none from judging here alone.
    let r = Receiver::start(
        if gossip { "ha-pair" } else { "two-am" },
        TOKEN,
        &[("FALLBACK", "never")],
    )
    .await;
    let (bss, tg, dir, exporter) = (&r.bss, &r.tg, &r.dir, &r.exporter);

    let (gossip_a, gossip_b) = (free_port(), free_port());
    // Repeat intervals stay as shipped (5 min and more): every delivery below is a change.
    let timing: &[(&str, &str)] = &[("group_wait", "1s"), ("group_interval", "1s")];
    let specs = [
        AlertmanagerSpec {
            name: "am-a",
            web_port: free_port(),
            exporter,
            token_file: &r.token_file,
            timing,
            gossip: gossip.then(|| Gossip {
                port: gossip_a,
                peers: vec![],
                peer_timeout: PEER_TIMEOUT,
            }),
        },
        AlertmanagerSpec {
            name: "am-b",
            web_port: free_port(),
            exporter,
            token_file: &r.token_file,
            timing,
            gossip: gossip.then(|| Gossip {
                port: gossip_b,
                peers: vec![gossip_a],
                peer_timeout: PEER_TIMEOUT,
            }),
        },
    ];
    let _ams: Vec<Proc> = specs
        .iter()
        .map(|s| s.start(alertmanager_bin, dir))
        .collect();
    let urls: Vec<String> = specs.iter().map(AlertmanagerSpec::url).collect();
    for url in &urls {
        wait_ok(&format!("{url}/-/ready"), LONG).await;
    }
    if gossip {
        wait_cluster_ready(&urls, LONG).await;
    }
    let prom_port = free_port();
    let addresses: Vec<String> = specs.iter().map(AlertmanagerSpec::address).collect();
    let _prom = start_prometheus(prometheus_bin, dir, prom_port, exporter, &addresses);
    wait_ok(&format!("http://127.0.0.1:{prom_port}/-/ready"), LONG).await;

    bss.set_gb(ID, 15.0, 100.0);
    wait_count(tg, "Traffic alert (normal)", 1, LONG).await;
    bss.set_gb(ID, 8.0, 100.0);
    wait_count(tg, "Traffic alert (high-frequency)", 1, LONG).await;
    bss.set_gb(ID, 3.0, 100.0);
    wait_count(tg, "shutdown executed", 1, LONG).await;

    let outcome = settle(&urls, &r.base).await;
    for (needle, n) in [
        ("Traffic alert (normal)", 1),
        ("Traffic alert (high-frequency)", 1),
        ("Free traffic almost used up", 1),
        ("Shutdown countdown", 1),
        ("is shutting down", 1),
        ("shutdown executed", 1),
    ] {
        assert_eq!(tg.count(needle), n, "{needle}: {:#?}", tg.texts());
    }
    assert_eq!(tg.texts().len(), 6, "nothing else: {:#?}", tg.texts());
    assert_eq!(r.shutdowns(), 1, "exactly one shutdown command run");
    eprintln!("{}: {outcome:?}", dir.display());
    Some(outcome)
}

/// Waits until both Alertmanagers hold the level-1 alert and every webhook they sent has been
/// answered, then for a quiet spell longer than a member's wait (2 × the peer timeout, plus the
/// group interval) in which no delivery arrives; returns the counts then.
async fn settle(urls: &[String], base: &str) -> Outcome {
    let until = Instant::now() + LONG;
    let quiet = PEER_TIMEOUT * 2 + Duration::from_secs(2);
    let mut last: Option<(Outcome, Instant)> = None;
    loop {
        let mut o = Outcome {
            received: vec![],
            notified: vec![],
            failed: vec![],
            accepted: metric(
                &scrape(base).await,
                "flexus_webhooks_total",
                &["result=\"ok\""],
            )
            .unwrap_or(0.0),
        };
        let mut critical_everywhere = true;
        for url in urls {
            let text = scrape(url).await;
            o.received.push(am_counter(
                &text,
                "alertmanager_alerts_received_total",
                &["status=\"firing\"", "version=\"v2\""],
            ));
            o.notified.push(am_counter(
                &text,
                "alertmanager_notifications_total",
                &["integration=\"webhook\""],
            ));
            o.failed.push(am_counter(
                &text,
                "alertmanager_notifications_failed_total",
                &["integration=\"webhook\""],
            ));
            let alerts = reqwest::get(format!("{url}/api/v2/alerts"))
                .await
                .unwrap()
                .text()
                .await
                .unwrap();
            critical_everywhere &= alerts.contains("FlexusFreeTrafficCritical");
        }
        let same = last.as_ref().is_some_and(|(l, _)| {
            l.accepted == o.accepted && l.notified == o.notified && l.failed == o.failed
        });
        if !critical_everywhere || !same {
            last = Some((o, Instant::now()));
        } else if last.as_ref().unwrap().1.elapsed() >= quiet {
            return o;
        }
        assert!(Instant::now() < until, "never settled: {last:?}");
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

/// Every webhook either Alertmanager sent reached the receiver and was accepted.
fn all_accepted(o: &Outcome) {
    assert!(
        o.received.iter().all(|r| *r > 0.0),
        "both got alerts: {o:?}"
    );
    assert_eq!(o.failed, vec![0.0, 0.0], "{o:?}");
    assert_eq!(o.accepted, o.notified.iter().sum::<f64>(), "{o:?}");
}

/// The pair gossips its notification log: the member that waits (position 1, one peer timeout)
/// skips what the other already sent — the watchdog and every state that did not change during
/// its wait — and sends fewer webhooks. It still sends a state that changed meanwhile: with the
/// levels 2 s apart here, it typically delivers the level-3 and level-2 alerts as firing after
/// the other member already sent them as resolved. Those stale alerts reach the receiver, which
/// judges the package by its own fresher reading: they give no message.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_alertmanager_ha_pair_sends_each_change_once() {
    let Some(o) = two_alertmanagers_drive_every_level(true).await else {
        return;
    };
    all_accepted(&o);
    let (fewer, more) = if o.notified[0] < o.notified[1] {
        (o.notified[0], o.notified[1])
    } else {
        (o.notified[1], o.notified[0])
    };
    assert!(
        fewer < more && more >= 4.0,
        "one member sends every change (watchdog, levels 3, 2, 1), the other skips what the \
         gossiped log says was sent: {o:?}"
    );
}

/// Without gossip each Alertmanager delivers every change (the watchdog and the level-3, 2 and 1
/// alerts at least): the receiver alone keeps it to one message per level and one shutdown, since
/// an alert only prompts a judgement of a level its state already recorded, and the guard acts
/// once per cycle.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_alertmanagers_without_gossip_both_deliver_and_the_receiver_tells_once() {
    let Some(o) = two_alertmanagers_drive_every_level(false).await else {
        return;
    };
    all_accepted(&o);
    assert!(o.notified.iter().all(|n| *n >= 4.0), "{o:?}");
}
