//! The timings the README promises: how often the watchdog arrives through the shipped Alertmanager
//! route, and how fast the fallback takes over when Prometheus dies.

use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use serde_json::json;

use crate::helpers::alertmanager::{
    alertmanager_config, deploy, run_alertmanager, watchdog, TOKEN,
};
use crate::helpers::{app_env, bss_and_telegram, FakeBss, FakeTelegram, Spawn, TestApp, ID};

async fn auto_app(watchdog_timeout: &str) -> (TestApp, FakeBss, FakeTelegram) {
    let (bss, tg) = bss_and_telegram().await;
    bss.set_gb(ID, 853.0, 1200.0);
    let env = app_env(
        &bss,
        &tg,
        &[
            ("WEBHOOK_TOKEN", TOKEN),
            ("FALLBACK", "auto"),
            ("WATCHDOG_TIMEOUT", watchdog_timeout),
        ],
    );
    let app = TestApp::spawn_with(&env, Spawn::background()).await;
    (app, bss, tg)
}

async fn scrape_as(app: &TestApp, user_agent: &str) {
    let r = reqwest::Client::new()
        .get(format!("{}/metrics", app.base_url))
        .header("user-agent", user_agent)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
}

/// Does `meanwhile` every 300 ms until the fallback's in-charge flag is `want`.
async fn wait_active<F, Fut>(app: &TestApp, want: bool, within: Duration, mut meanwhile: F) -> bool
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    let until = Instant::now() + within;
    while Instant::now() < until {
        meanwhile().await;
        tokio::time::sleep(Duration::from_millis(300)).await;
        if app.state.fallback_active.load(Ordering::Acquire) == want {
            return true;
        }
    }
    false
}

#[tokio::test]
async fn the_fallback_takes_over_when_prometheus_stops_scraping_though_the_watchdog_still_arrives()
{
    let (app, _bss, _tg) = auto_app("3s").await;
    let beat = || async {
        let r = app.deliver(&watchdog("firing")).await;
        assert_eq!(r.status(), 200);
    };
    // Prometheus scrapes and its watchdog arrives: Prometheus is in charge.
    let alive = || async {
        scrape_as(&app, "Prometheus/2.42.0").await;
        beat().await;
    };
    assert!(
        wait_active(&app, false, Duration::from_secs(10), alive).await,
        "Prometheus never took charge"
    );
    // A person's curl is no sign of Prometheus; Alertmanager keeps delivering the last watchdog.
    let stale = || async {
        scrape_as(&app, "curl/7.88.1").await;
        beat().await;
    };
    assert!(
        wait_active(&app, true, Duration::from_secs(10), stale).await,
        "the fallback waits for the watchdog to stop although Prometheus stopped scraping"
    );
    // Prometheus is back.
    assert!(wait_active(&app, false, Duration::from_secs(10), alive).await);
}

#[tokio::test]
async fn a_resolved_watchdog_hands_over_at_once() {
    // The timeout is long: only the resolved watchdog can hand over within the wait below.
    let (app, _bss, _tg) = auto_app("20s").await;
    let r = app.deliver(&watchdog("firing")).await;
    assert_eq!(r.status(), 200);
    // The evaluator's first look starts it in charge (nothing seen yet), then Prometheus is.
    tokio::time::sleep(Duration::from_secs(5)).await;
    assert!(wait_active(&app, false, Duration::from_secs(10), || async {}).await);
    let r = app.deliver(&watchdog("resolved")).await;
    assert_eq!(r.status(), 200);
    assert!(
        wait_active(&app, true, Duration::from_secs(10), || async {}).await,
        "a resolved watchdog (the alert expired: Prometheus is gone) did not hand over"
    );
}

/// Divides every `group_wait`, `group_interval` and `repeat_interval` of an Alertmanager file.
fn scale_durations(text: &str, divisor: u64) -> String {
    text.lines()
        .map(|l| {
            let t = l.trim_start();
            for key in ["group_wait:", "group_interval:", "repeat_interval:"] {
                if let Some(v) = t.strip_prefix(key) {
                    let d = humantime::parse_duration(v.trim()).unwrap();
                    let ms = d.as_millis() as u64 / divisor;
                    return format!("{}{key} {ms}ms", &l[..l.len() - t.len()]);
                }
            }
            l.to_string()
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// The shipped route delivers the watchdog at every `group_interval` (1m), not every other one.
///
/// Alertmanager repeats an unchanged group at a `group_interval` tick only when its last
/// notification is older than `repeat_interval`; that notification is logged a moment after the
/// previous tick, so with equal values a few milliseconds decide whether a tick is skipped. The real
/// Alertmanager runs the shipped file with every interval divided by 10 (group_interval 6 s).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_shipped_watchdog_route_delivers_at_every_group_interval() {
    let Some(alertmanager) = crate::helpers::process::tool("prometheus-alertmanager") else {
        return;
    };
    let dir = crate::helpers::state_dir("am-cadence");
    let arrivals = std::sync::Arc::new(std::sync::Mutex::new(Vec::<Instant>::new()));
    let seen = arrivals.clone();
    let receiver = axum::Router::new().route(
        "/alertmanager",
        axum::routing::post(move |body: String| {
            let seen = seen.clone();
            async move {
                if body.contains("FlexusTrafficWatchdog") {
                    seen.lock().unwrap().push(Instant::now());
                }
                "ok"
            }
        }),
    );
    let receiver_addr = crate::helpers::fakes::serve(receiver).await;

    let token_file = dir.join("token");
    std::fs::write(&token_file, "t").unwrap();
    let config = scale_durations(
        &alertmanager_config(&receiver_addr.to_string(), &token_file),
        10,
    );
    assert!(config.contains("group_interval: 6000ms"), "{config}");
    let port = crate::helpers::free_port();
    let am = run_alertmanager(alertmanager, &dir, port, &config);
    let api = format!("http://127.0.0.1:{port}/api/v2/alerts");
    let client = reqwest::Client::new();
    let alert = json!([{
        "labels": {"alertname": "FlexusTrafficWatchdog", "severity": "none"},
        "annotations": {"summary": "Prometheus and Alertmanager are alive"},
        "startsAt": chrono::Utc::now().to_rfc3339(),
        "endsAt": (chrono::Utc::now() + chrono::Duration::minutes(10)).to_rfc3339(),
    }]);
    let until = Instant::now() + Duration::from_secs(30);
    loop {
        if let Ok(r) = client.post(&api).json(&alert).send().await {
            if r.status().is_success() {
                break;
            }
        }
        assert!(
            Instant::now() < until,
            "Alertmanager never accepted the alert"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    // Five group intervals.
    tokio::time::sleep(Duration::from_secs(31)).await;
    drop(am);
    let times = arrivals.lock().unwrap().clone();
    let gaps: Vec<f64> = times
        .windows(2)
        .map(|w| (w[1] - w[0]).as_secs_f64())
        .collect();
    assert!(
        gaps.len() >= 3,
        "the watchdog arrived {} times in 31 s (every other group interval?): gaps {gaps:?}",
        times.len()
    );
    let mut sorted = gaps.clone();
    sorted.sort_by(f64::total_cmp);
    let median = sorted[sorted.len() / 2];
    assert!(
        median < 9.0,
        "the watchdog arrives every {median:.1} s, not every group interval (6 s): {gaps:?}"
    );
}

/// With `repeat_interval` equal to `group_interval`, the real Alertmanager 0.25 skipped ticks:
/// measured at the shipped 1m, the watchdog arrived 60, 120, 120, 120 and 60 s apart. Below
/// `group_interval`, every tick repeats it.
#[test]
fn the_watchdog_route_repeats_below_its_group_interval() {
    let shipped = deploy("alertmanager/alertmanager.yml");
    let route = shipped
        .split("- matchers:")
        .find(|r| r.contains("FlexusTrafficWatchdog"))
        .expect("a watchdog route");
    let value = |key: &str| {
        let line = route
            .lines()
            .find(|l| l.trim_start().starts_with(key))
            .unwrap_or_else(|| panic!("the watchdog route sets {key}"));
        humantime::parse_duration(line.split(':').nth(1).unwrap().trim()).unwrap()
    };
    let (group, repeat) = (value("group_interval:"), value("repeat_interval:"));
    assert_eq!(
        group,
        Duration::from_secs(60),
        "the README promises about a minute"
    );
    assert!(
        repeat < group,
        "repeat_interval {repeat:?} must be below group_interval {group:?}"
    );
}
