use super::*;
use crate::huawei::HuaweiError;
use crate::policy::PackageMemory;

fn t(s: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(1_750_000_000 + s, 0).unwrap()
}

const DAY: i64 = 86_400;

fn settings(lang: Lang) -> Settings {
    Settings {
        lang,
        server_name: "web-1 <prod>".into(),
        servers: BTreeMap::new(),
        accounts: Vec::new(),
        thresholds: Thresholds::default(),
        reading_max_age: Duration::from_secs(3600),
        poll_interval: Duration::from_secs(600),
        dry_run: true,
        shutdown_mode: ShutdownMode::Command,
        fallback: FallbackMode::Auto,
        cadence: Cadence::default(),
        forecast: forecast::Settings::default(),
        no_shutdown: None,
        actions: ActionSettings {
            local_packages: vec!["pkg-a".into()],
            ..ActionSettings::default()
        },
    }
}

fn reading(gb: f64, at: DateTime<Utc>) -> Reading {
    Reading {
        free_resource_id: "pkg-a".into(),
        package_name: "Lightweight BGP data package".into(),
        usage_type: "Uplink traffic".into(),
        remaining_gb: gb,
        total_gb: 1200.0,
        cycle_start: Some(t(-20 * DAY)),
        cycle_end: Some(t(10 * DAY)),
        read_at: at,
    }
}

fn snapshot(gb: f64, at: DateTime<Utc>) -> Snapshot {
    let mut s = Snapshot::new(&["pkg-a".to_string()]);
    s.apply(&Ok(vec![("pkg-a".into(), Ok(reading(gb, at)))]), at);
    s
}

fn history(from_gb: f64, per_day: f64, until: i64) -> History {
    let mut h = History::new();
    let l = crate::history::Limits::default();
    for s in (0..=until).step_by(3600) {
        h.record(
            "pkg-a",
            t(s),
            from_gb - per_day * s as f64 / DAY as f64,
            t(until),
            &l,
        );
    }
    h
}

fn view(
    lang: Lang,
    snap: &Snapshot,
    alerting: Option<&AlertingInputs>,
    h: &History,
    now: DateTime<Utc>,
) -> PageView {
    let s = settings(lang);
    build(&Inputs {
        settings: &s,
        snapshot: snap,
        alerting,
        history: h,
        history_problems: vec![],
        now,
        version: "0.1.0",
    })
}

#[test]
fn a_healthy_package_has_no_problems_and_a_forecast_before_the_reset() {
    // 450 GB left, 100 GB a day used, T1 200: 2.5 days, reset in 10.
    let h = history(550.0, 100.0, DAY);
    let snap = snapshot(450.0, t(DAY));
    let v = view(Lang::Zh, &snap, None, &h, t(DAY));
    assert!(v.problems.is_empty(), "{:?}", v.problems);
    let p = &v.packages[0];
    assert_eq!(p.level, Some(Level::L3));
    let Forecast::Reaches { before_reset, .. } = p.forecast else {
        panic!("{:?}", p.forecast)
    };
    assert_eq!(before_reset, Some(true));
    assert_eq!(v.program.in_charge, InCharge::Nobody);
    let html = render::html(&v);
    assert!(html.contains("450.00"), "remaining");
    assert!(html.contains("3 级（普通告警）"));
    assert!(html.contains("早于周期重置"));
    // The server name is escaped.
    assert!(html.contains("web-1 &lt;prod&gt;") && !html.contains("<prod>"));
    // Nothing is fetched from elsewhere.
    assert!(
        !html.contains("http://") && !html.contains("https://")
            || html.contains("xmlns=\"http://www.w3.org/2000/svg\"")
    );
    for external in ["<link", "src=\"http", "@import", "url("] {
        assert!(!html.contains(external), "{external}");
    }
}

#[test]
fn at_level_1_with_only_the_fence_the_page_promises_no_shutdown_and_shows_what_is_in_force() {
    use crate::actions::{ActiveRecord, FenceBackend, Installed};
    use std::collections::BTreeSet;
    let h = history(550.0, 100.0, DAY);
    let snap = snapshot(150.0, t(DAY));
    let mut s = settings(Lang::En);
    s.actions.levels = BTreeMap::from([
        (Level::L2, BTreeSet::from([Action::Throttle])),
        (Level::L1, BTreeSet::from([Action::Fence])),
    ]);
    s.no_shutdown = crate::actions::NoShutdown::of(&s.actions, false);
    let mut state = State::default();
    state.actions.active.insert(
        "fence@1".into(),
        ActiveRecord {
            since: t(DAY - 60),
            installed: Installed::Fence {
                backend: FenceBackend::Nft,
                ports: vec![22],
                udp_ports: vec![],
                ipv6: false,
            },
            dry_run: false,
        },
    );
    state.actions.lifted_by_hand.insert("throttle@2".into());
    let a = AlertingInputs {
        state,
        ..AlertingInputs::default()
    };
    let page = |s: &Settings, a: &AlertingInputs| {
        render::html(&build(&Inputs {
            settings: s,
            snapshot: &snap,
            alerting: Some(a),
            history: &h,
            history_problems: vec![],
            now: t(DAY),
            version: "0.1.0",
        }))
    };
    let html = page(&s, &a);
    assert!(!html.contains("shuts down if confirmed"), "{html}");
    // The legend names level 1 by what it does here.
    assert!(
        html.contains("level 1 (fence)") && !html.contains("level 1 (shutdown)"),
        "{html}"
    );
    assert!(
        html.contains("Below level 1: fence in force; no automatic shutdown (shutdown is not in LEVEL1_ACTIONS)."),
        "{html}"
    );
    assert!(
        html.contains("In force on this server: fence (level 1, since"),
        "{html}"
    );
    assert!(
        html.contains("Lifted by hand (flexus-traffic-monitor lift): throttle (level 2)"),
        "{html}"
    );
    // A package of another server: no promise about this machine's actions.
    s.actions.local_packages = vec!["pkg-other".into()];
    let html = page(&s, &a);
    assert!(html.contains("This package is another server's"), "{html}");
    assert!(
        html.contains(
            "no automatic shutdown (shutdown is not in LEVEL1_ACTIONS) and no other action"
        ),
        "{html}"
    );
}

#[test]
fn english_when_asked() {
    let h = history(550.0, 1.0, DAY);
    let snap = snapshot(549.0, t(DAY));
    let html = render::html(&view(Lang::En, &snap, None, &h, t(DAY)));
    assert!(
        html.contains("OK")
            && html.contains("Resets")
            && html.contains("stays above level 1 until the reset")
    );
    assert!(!html.contains("剩余流量历史"));
}

#[test]
fn a_failed_poll_and_a_stale_reading_come_first_with_what_to_do() {
    let h = History::new();
    let mut snap = snapshot(450.0, t(0));
    snap.apply(
        &Err(HuaweiError::Timeout(Duration::from_secs(10))),
        t(2 * 3600),
    );
    let v = view(Lang::Zh, &snap, None, &h, t(2 * 3600));
    assert!(
        matches!(
            v.problems[0],
            Problem::PollFailed {
                account: None,
                configuration: false,
                ..
            }
        ),
        "{:?}",
        v.problems
    );
    assert!(matches!(v.problems[1], Problem::Stale { .. }));
    let p = &v.packages[0];
    assert!(p.stale);
    assert_eq!(p.level, None, "a stale reading has no level");
    assert_eq!(p.forecast, Forecast::NoData);
    let html = render::html(&v);
    let problem_at = html.find("上次读取流量失败").unwrap();
    assert!(
        problem_at < html.find("data-package").unwrap(),
        "problems come first"
    );
    assert!(html.contains("怎么办"));
}

#[test]
fn a_stalled_outbox_and_dead_messages_are_problems_but_a_fresh_queue_is_not() {
    let h = History::new();
    let snap = snapshot(900.0, t(0));
    let mut a = AlertingInputs {
        outbox: OutboxView {
            pending: 2,
            dead: 0,
            oldest: Some(t(-60)),
            last_error: Some("timeout".into()),
            stalled_channel: Some("feishu"),
            dead_channels: vec!["email"],
        },
        ..Default::default()
    };
    assert!(view(Lang::Zh, &snap, Some(&a), &h, t(0))
        .problems
        .is_empty());
    a.outbox.oldest = Some(t(-3600));
    a.outbox.dead = 1;
    let v = view(Lang::En, &snap, Some(&a), &h, t(0));
    assert!(matches!(
        v.problems[0],
        Problem::OutboxStalled { pending: 2, .. }
    ));
    assert!(matches!(
        v.problems[1],
        Problem::DeadMessages { count: 1, .. }
    ));
    let html = render::html(&v);
    assert!(html.contains("notify-test"));
    // The page names the channels at fault, not Telegram whatever failed.
    assert!(html.contains("waits for feishu"), "{html}");
    assert!(html.contains("refused for good (email)"), "{html}");
    assert!(
        !html.contains("TELEGRAM_BOT_TOKEN") && !html.contains("Telegram refused"),
        "{html}"
    );
}

#[test]
fn a_countdown_shows_its_seconds_and_the_last_alert_its_repeat() {
    let h = History::new();
    let snap = snapshot(150.0, t(0));
    let mut state = State::default();
    state.packages.insert(
        "pkg-a".into(),
        PackageMemory {
            level: Some(Level::L1),
            last_alert: [("1".to_string(), t(-60))].into(),
            last_report: None,
            cycle_end: None,
        },
    );
    let a = AlertingInputs {
        state,
        countdowns: vec![CountdownView {
            package: "pkg-a".into(),
            started_at: t(-18),
            deadline: t(42),
        }],
        fallback_active: true,
        ..Default::default()
    };
    let v = view(Lang::Zh, &snap, Some(&a), &h, t(0));
    let p = &v.packages[0];
    assert_eq!(p.next_repeat, Some(t(3600 - 60)));
    assert_eq!(v.program.in_charge, InCharge::Fallback);
    let html = render::html(&v);
    assert!(
        html.contains(&format!(
            "data-deadline=\"{}\">42</b>",
            t(42).timestamp_millis()
        )),
        "{html}"
    );
    assert!(html.contains("演练模式"));
    // The level has since improved: no repeat is due.
    let snap = snapshot(900.0, t(0));
    let v = view(Lang::Zh, &snap, Some(&a), &h, t(0));
    assert_eq!(v.packages[0].next_repeat, None);
}

#[test]
fn the_chart_keeps_the_previous_cycle_and_drops_older_points() {
    let mut h = History::new();
    let l = crate::history::Limits::default();
    // Cycles of 30 days: the current one started 20 days ago, so the previous one 50 days ago.
    for d in [-60, -45, -10, 0] {
        h.record("pkg-a", t(d * DAY), 500.0, t(0), &l);
    }
    let snap = snapshot(500.0, t(0));
    let v = view(Lang::Zh, &snap, None, &h, t(0));
    let days: Vec<i64> = v.packages[0]
        .history
        .iter()
        .map(|p| (p.at() - t(0).timestamp()) / DAY)
        .collect();
    assert_eq!(days, vec![-45, -10, 0]);
}

/// The page's text without its style sheet and script, for the language check.
fn page_text(html: &str) -> String {
    let mut out = html.to_string();
    for (open, close) in [("<style", "</style>"), ("<script", "</script>")] {
        while let Some(a) = out.find(open) {
            let b = out[a..]
                .find(close)
                .map_or(out.len(), |b| a + b + close.len());
            out.replace_range(a..b, "");
        }
    }
    out
}

#[test]
fn every_page_state_is_written_in_one_language() {
    use crate::messages::lang_check::{english_runs, has_cjk};
    let h = history(550.0, 100.0, DAY);
    let mut failures = Vec::new();
    for lang in [Lang::Zh, Lang::En] {
        // Package names come in the account's language.
        let mut r = reading(450.0, t(DAY));
        if lang == Lang::Zh {
            r.package_name = "Flexus L 流量包".into();
            r.usage_type = "上行流量".into();
        }
        let mut snap = Snapshot::new(&["pkg-a".to_string(), "pkg-b".to_string()]);
        snap.apply(
            &Ok(vec![
                ("pkg-a".into(), Ok(r.clone())),
                (
                    "pkg-b".into(),
                    Err(crate::huawei::wire::ReadingError::MissingFromAnswer),
                ),
            ]),
            t(DAY),
        );
        let mut failed = snap.clone();
        failed.apply(
            &Err(HuaweiError::PermissionDenied {
                code: "CBC.0151".into(),
                msg: "Access denied.".into(),
                request_id: Some("rid-1".into()),
            }),
            t(3 * DAY),
        );
        let mut timed_out = snap.clone();
        timed_out.apply(
            &Err(HuaweiError::Timeout(Duration::from_secs(10))),
            t(3 * DAY),
        );
        let mut state = State::default();
        state.packages.insert(
            "pkg-a".into(),
            PackageMemory {
                level: Some(Level::L1),
                last_alert: [("1".to_string(), t(DAY - 60))].into(),
                last_report: None,
                cycle_end: None,
            },
        );
        let a = AlertingInputs {
            state,
            countdowns: vec![CountdownView {
                package: "pkg-a".into(),
                started_at: t(DAY - 18),
                deadline: t(DAY + 42),
            }],
            fallback_active: true,
            outbox: OutboxView {
                pending: 2,
                dead: 1,
                oldest: Some(t(-3600)),
                last_error: None,
                stalled_channel: Some("telegram"),
                dead_channels: vec!["telegram"],
            },
            ..Default::default()
        };
        let views = [
            view(lang, &snap, None, &h, t(DAY)),
            view(lang, &snap, Some(&a), &h, t(DAY)),
            view(lang, &failed, None, &History::new(), t(3 * DAY)),
            view(lang, &timed_out, None, &h, t(3 * DAY)),
            view(
                lang,
                &Snapshot::new(&["pkg-a".to_string()]),
                None,
                &History::new(),
                t(0),
            ),
        ];
        for v in &views {
            let text = page_text(&render::html(v));
            match lang {
                Lang::Zh => {
                    let runs = english_runs(&text);
                    if !runs.is_empty() {
                        failures.push(format!("zh page: {runs:?}"));
                    }
                }
                Lang::En => {
                    // The language switch names Chinese in Chinese.
                    if has_cjk(&text.replace("中文", "")) {
                        failures.push(format!("en page has Chinese: {text}"));
                    }
                }
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn where_the_counter_counts_the_forecast_starts_from_the_estimate_at_the_live_rate() {
    // The bill: 450 GB left, 100 GB a day (T1 200 in 2.5 days). The counter: 300 GB left now,
    // sending 50 GB (of 10⁹ bytes) a day: T1 in 2 days.
    let h = history(550.0, 100.0, DAY);
    let mut snap = snapshot(450.0, t(DAY));
    let lag = crate::egress::Lag {
        value: Duration::from_secs(3600),
        learned: false,
    };
    snap.packages[0].estimate = Some(crate::egress::Estimate {
        remaining_gb: 300.0,
        bill_gb: 450.0,
        bill_read_at: t(DAY),
        unseen_gb: 150.0,
        since: t(DAY - 3600),
        lag,
    });
    snap.live = Some(crate::egress::live::View {
        interface: Some("eth0".into()),
        tx_bytes: 0,
        rx_bytes: 0,
        lag,
        problem: None,
        package: "pkg-a".into(),
        bill_changed_at: None,
        rate_bytes_per_s: None,
        recent_rate_bytes_per_s: Some(50e9 / DAY as f64),
    });
    let v = view(Lang::En, &snap, None, &h, t(DAY));
    let Forecast::Reaches { at, gb_per_day, .. } = v.packages[0].forecast else {
        panic!("{:?}", v.packages[0].forecast)
    };
    assert_eq!(at, t(3 * DAY));
    assert!((gb_per_day - 50.0).abs() < 1e-6);
    // Another package's counter (or none) leaves the bill's forecast alone.
    snap.live.as_mut().unwrap().package = "pkg-b".into();
    let v = view(Lang::En, &snap, None, &h, t(DAY));
    let Forecast::Reaches { at, .. } = v.packages[0].forecast else {
        panic!("{:?}", v.packages[0].forecast)
    };
    let bill_at = t(DAY) + chrono::Duration::hours(60);
    assert!((at - bill_at).num_seconds().abs() < 2, "{at}");
}

/// A channel's raw error ("error sending request: connection refused") is told in the page's
/// language; the raw words stay in the log.
#[test]
fn a_channels_raw_error_is_described_in_the_pages_language() {
    let h = History::new();
    let snap = snapshot(900.0, t(0));
    let a = AlertingInputs {
        outbox: OutboxView {
            pending: 2,
            dead: 0,
            oldest: Some(t(-3600)),
            last_error: Some("error sending request: tcp connect error: Connection refused".into()),
            stalled_channel: Some("feishu"),
            dead_channels: vec![],
        },
        ..Default::default()
    };
    for (lang, told) in [(Lang::Zh, "无法连接"), (Lang::En, "could not connect")] {
        let html = render::html(&view(lang, &snap, Some(&a), &h, t(0)));
        assert!(!html.contains("Connection refused"), "{html}");
        assert!(html.contains(told), "{html}");
    }
}
