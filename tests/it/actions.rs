//! The gentler actions against a real kernel, in two network namespaces ([`crate::helpers::netns`]),
//! traffic measured with iperf3. Needs root (or CAP_NET_ADMIN), iproute2, nftables, iptables and
//! iperf3: where a namespace cannot be created the test says so and passes, except under CI, where
//! it must run. The fence's treatment of open connections and its undo command are in `fence`.

use std::collections::{BTreeMap, BTreeSet};
use std::process::{Command, Stdio};
use std::time::Duration;

use chrono::Utc;
use flexus_traffic_monitor::actions::reconcile::Done;
use flexus_traffic_monitor::actions::{
    Action, ActionSettings, ActionsState, FenceBackend, FenceBackendChoice,
};
use flexus_traffic_monitor::level::Level;

use crate::helpers::netns::{step, Pair, CLIENT_IP, SERVER_IP};

/// The throttle rate in these tests, and its value in bits per second.
const RATE: &str = "8mbit";
const RATE_BPS: f64 = 8_000_000.0;

/// Throttle at level 2, fence at level 1 (as a user would choose), SSH on 22, our port 9184.
fn settings(backend: FenceBackendChoice) -> ActionSettings {
    ActionSettings {
        levels: BTreeMap::from([
            (Level::L2, BTreeSet::from([Action::Throttle])),
            (Level::L1, BTreeSet::from([Action::Fence, Action::Shutdown])),
        ]),
        throttle_rate: RATE.into(),
        fence_backend: backend,
        ..ActionSettings::default()
    }
}

fn applied(d: &[Done]) -> usize {
    d.iter().filter(|d| matches!(d, Done::Applied(_))).count()
}

#[tokio::test(flavor = "multi_thread")]
async fn throttle_limits_egress_but_not_ssh_and_lifting_restores_it() {
    let Some(pair) = Pair::new() else { return };
    pair.listen_forever(&pair.server, 5201);
    pair.listen_forever(&pair.server, 22);
    let s = settings(FenceBackendChoice::Auto);
    let mut state = ActionsState::default();

    let before = pair.egress_bps(5201);
    let done = step(&pair, Level::L2, &s, &mut state, true).await;
    assert_eq!(applied(&done), 1, "{done:?}");
    assert!(state.active.contains_key("throttle@2"));
    assert_eq!(state.active.len(), 1, "level 2 does not fence");

    let throttled = pair.egress_bps(5201);
    let ssh = pair.egress_bps(22);
    eprintln!("unthrottled {before:.0} bit/s, throttled {throttled:.0} bit/s, SSH port while throttled {ssh:.0} bit/s");
    assert!(
        throttled < RATE_BPS * 1.5,
        "throttled egress {throttled} is not near {RATE}"
    );
    assert!(
        throttled > RATE_BPS * 0.3,
        "throttled egress {throttled} is far below {RATE}"
    );
    assert!(
        before > throttled * 5.0,
        "the limit made no difference: {before} vs {throttled}"
    );
    assert!(
        ssh > throttled * 5.0,
        "SSH-port traffic was throttled: {ssh} vs {throttled}"
    );

    let done = step(&pair, Level::Ok, &s, &mut state, true).await;
    assert!(matches!(done[..], [Done::Lifted(_)]), "{done:?}");
    assert!(state.active.is_empty());
    let after = pair.egress_bps(5201);
    eprintln!("after lifting {after:.0} bit/s");
    assert!(
        after > throttled * 5.0,
        "lifting did not restore the rate: {after}"
    );
    assert!(pair
        .in_server(&format!("tc qdisc show dev {} root", pair.dev))
        .contains("noqueue"));
}

async fn fence_keeps_ssh_and_outbound_and_lifts(backend: FenceBackendChoice) {
    let Some(pair) = Pair::new() else { return };
    let (srv, cli) = (pair.server.clone(), pair.client.clone());
    for port in [22, 8080, 9184] {
        pair.listen_forever(&srv, port);
    }
    pair.listen_forever(&cli, 5201);
    let s = settings(backend);
    let mut state = ActionsState::default();
    assert!(
        pair.connects(&cli, SERVER_IP, 8080),
        "the site answers before the fence"
    );

    // An SSH session open before the fence must survive it: a transfer runs across the change.
    let session = Command::new("ip")
        .args([
            "netns", "exec", &cli, "iperf3", "-c", SERVER_IP, "-p", "22", "-t", "4", "-J",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    tokio::time::sleep(Duration::from_millis(1000)).await;

    let done = step(&pair, Level::L1, &s, &mut state, true).await;
    assert_eq!(applied(&done), 2, "throttle and fence: {done:?}");
    assert!(
        !pair.connects(&cli, SERVER_IP, 8080),
        "a new connection to a served port must fail under the fence"
    );
    assert!(
        pair.connects(&cli, SERVER_IP, 22),
        "SSH must still connect under the fence and the throttle"
    );
    assert!(
        pair.connects(&cli, SERVER_IP, 9184),
        "our own listen port (Alertmanager) must stay open"
    );
    assert!(
        pair.connects(&srv, CLIENT_IP, 5201),
        "outbound connections of the server must still work"
    );
    let out = session.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "the open SSH-port session broke: {}",
        String::from_utf8_lossy(&out.stdout)
    );

    let done = step(&pair, Level::Ok, &s, &mut state, true).await;
    assert_eq!(
        done.iter().filter(|d| matches!(d, Done::Lifted(_))).count(),
        2,
        "{done:?}"
    );
    assert!(
        pair.connects(&cli, SERVER_IP, 8080),
        "lifting restores the site"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn fence_with_nftables_drops_new_connections_but_not_ssh_or_outbound() {
    fence_keeps_ssh_and_outbound_and_lifts(FenceBackendChoice::Nft).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn fence_with_iptables_drops_new_connections_but_not_ssh_or_outbound() {
    fence_keeps_ssh_and_outbound_and_lifts(FenceBackendChoice::Iptables).await;
}

/// The rules as the kernel lists them, to compare before and after a restart (counters, which
/// stray packets such as neighbour discovery change, are left out).
fn rules(pair: &Pair) -> String {
    let listed = pair.in_server(&format!(
        "tc qdisc show dev {d}; tc class show dev {d}; tc filter show dev {d}; nft -s list table inet flexus_traffic_monitor",
        d = pair.dev
    ));
    listed
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .split(" direct_packets_stat ")
        .enumerate()
        .map(|(i, part)| {
            if i == 0 {
                part.to_string()
            } else {
                // Drop the number that followed.
                part.split_once(' ')
                    .map_or("", |(_, rest)| rest)
                    .to_string()
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

#[tokio::test(flavor = "multi_thread")]
async fn a_restart_neither_duplicates_nor_loses_rules() {
    let Some(pair) = Pair::new() else { return };
    let s = settings(FenceBackendChoice::Nft);
    let mut state = ActionsState::default();
    step(&pair, Level::L1, &s, &mut state, true).await;
    let installed = rules(&pair);
    assert!(
        installed.contains("f7f1:") && installed.contains("ct state new"),
        "{installed}"
    );

    // A restart with the rules in place: the state says so, the probe confirms, nothing runs.
    let saved = serde_json::to_string(&state).unwrap();
    let mut restarted: ActionsState = serde_json::from_str(&saved).unwrap();
    let done = step(&pair, Level::L1, &s, &mut restarted, false).await;
    assert_eq!(done, vec![Done::AlreadyInPlace, Done::AlreadyInPlace]);
    assert_eq!(rules(&pair), installed, "a restart changed the rules");
    assert_eq!(restarted, state);

    // A reboot wipes them; the next start puts them back, once.
    pair.in_server(&format!(
        "tc qdisc del dev {} root handle f7f1:; nft delete table inet flexus_traffic_monitor",
        pair.dev
    ));
    let mut rebooted: ActionsState = serde_json::from_str(&saved).unwrap();
    let done = step(&pair, Level::L1, &s, &mut rebooted, false).await;
    assert_eq!(applied(&done), 2, "{done:?}");
    assert_eq!(rules(&pair), installed, "restored rules differ");
    // Installing again (as an update does) replaces rather than adds.
    let runner = pair.runner();
    let machine = runner.machine(s.fence_backend, Vec::new()).await;
    for (key, r) in &rebooted.active {
        let k = flexus_traffic_monitor::actions::Key::parse(key).unwrap();
        let steps = flexus_traffic_monitor::actions::plan::installation(k, &r.installed, &[]);
        runner.run_all(&steps).await.unwrap();
    }
    let _ = machine;
    assert_eq!(rules(&pair), installed, "installing twice duplicated rules");
}

#[tokio::test(flavor = "multi_thread")]
async fn ours_are_removed_and_the_users_own_rules_and_qdiscs_survive() {
    let Some(pair) = Pair::new() else { return };
    let d = &pair.dev;
    // The user's own: an nft table, an iptables rule, an ingress qdisc on the same interface and
    // a shaping qdisc on another one.
    pair.in_server(&format!(
        "nft add table inet user_fw && nft add chain inet user_fw input {{ type filter hook input priority 0 \\; }} && nft add rule inet user_fw input tcp dport 3306 drop && \
         iptables -w -A INPUT -p tcp --dport 3307 -j DROP && \
         tc qdisc add dev {d} ingress && \
         ip link add uv0 type veth peer name uv1 && tc qdisc add dev uv0 root handle 5: tbf rate 1mbit burst 32k latency 50ms"
    ));
    let s = settings(FenceBackendChoice::Nft);
    let mut state = ActionsState::default();
    step(&pair, Level::L1, &s, &mut state, true).await;

    // Throttling an interface whose root qdisc the user configured is refused by the kernel,
    // and the user's qdisc stays.
    let runner = pair.runner();
    let steps = flexus_traffic_monitor::actions::throttle::install("uv0", RATE, &[22], &[]);
    let e = runner.run_all(&steps).await.unwrap_err().to_string();
    assert!(e.contains("tc qdisc add dev uv0 root"), "{e}");

    // Lift everything by hand with the real binary, inside the server namespace.
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new("ip")
        .args([
            "netns",
            "exec",
            &pair.server,
            env!("CARGO_BIN_EXE_flexus-traffic-monitor"),
            "lift",
        ])
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap())
        .env("STATE_DIR", dir.path())
        .output()
        .unwrap();
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "lift failed: {said}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        said.contains(&format!("tc qdisc del dev {d} root handle f7f1:")),
        "{said}"
    );
    let after = pair.in_server(&format!(
        "tc qdisc show dev {d}; tc qdisc show dev uv0; nft list tables; iptables -w -S INPUT"
    ));
    assert!(
        !after.contains("f7f1:"),
        "our qdisc is still there: {after}"
    );
    assert!(
        !after.contains("flexus_traffic_monitor"),
        "our table is still there: {after}"
    );
    assert!(
        after.contains("qdisc ingress ffff:"),
        "the user's ingress qdisc is gone: {after}"
    );
    assert!(
        after.contains("qdisc tbf 5: root"),
        "the user's tbf is gone: {after}"
    );
    assert!(
        after.contains("table inet user_fw"),
        "the user's nft table is gone: {after}"
    );
    assert!(
        after.contains("--dport 3307 -j DROP"),
        "the user's iptables rule is gone: {after}"
    );
    let _ = FenceBackend::Nft;
}

/// `flexus_actions_active` for `action` at `level` in a scrape.
fn active_gauge(text: &str, action: &str, level: &str) -> Option<f64> {
    let action = format!("action=\"{action}\"");
    let level = format!("level=\"{level}\"");
    crate::helpers::metric(text, "flexus_actions_active", &[&action, &level])
}

/// The whole app: readings from the fake BSS drive the actions in the server namespace; a failed
/// or partial poll changes nothing; the reset lifts; messages, metrics and the state follow.
#[tokio::test(flavor = "multi_thread")]
async fn the_app_applies_on_fresh_readings_only_and_lifts_at_the_reset() {
    use crate::helpers::{base_env, config, FakeBss, Reply};
    use flexus_traffic_monitor::app::{App, Deps};

    let Some(pair) = Pair::new() else { return };
    let fake = FakeBss::start().await;
    fake.set_gb("pkg-a", 50.0, 100.0);
    fake.set_gb("pkg-b", 50.0, 100.0);
    let mut env = base_env(&fake, &["pkg-a", "pkg-b"]);
    for (k, v) in [
        ("LEVEL2_ACTIONS", "throttle"),
        ("LEVEL1_ACTIONS", "fence"),
        ("THROTTLE_RATE", RATE),
        ("MESSAGE_LANG", "en"),
        // Both packages are this server's (a second package bought for the same box).
        ("LOCAL_FREE_RESOURCE_IDS", "pkg-a,pkg-b"),
    ] {
        env.push((k.into(), v.into()));
    }
    let cfg = config(&env);
    let bss = flexus_traffic_monitor::commands::bss_client(&cfg).unwrap();
    let app = App::build(
        cfg,
        Deps {
            netns: Some(pair.server.clone()),
            sink: Some(flexus_traffic_monitor::notifier::Sink::Console { stderr: true }),
            ..Deps::new(bss)
        },
    )
    .await
    .unwrap();
    let round = || async {
        let _ = app.poller.poll_once().await;
        let snap = app.snapshot.read().await.clone();
        app.enforcer.after_poll(&snap, Utc::now()).await
    };
    let qdisc = || pair.in_server(&format!("tc qdisc show dev {} root", pair.dev));
    let scrape = || async {
        let snap = app.snapshot.read().await.clone();
        app.metrics.render(&snap, &app.config, Utc::now())
    };

    assert!(
        round().await.is_empty(),
        "above every threshold: nothing to do"
    );
    // Level 2 for one package, but the other cannot be read: a partial poll does nothing.
    fake.set_gb("pkg-a", 7.0, 100.0);
    fake.remove("pkg-b");
    assert!(round().await.is_empty(), "a partial poll must not act");
    assert!(!qdisc().contains("f7f1:"));
    // A failed poll does nothing either.
    fake.set_gb("pkg-b", 50.0, 100.0);
    for _ in 0..4 {
        fake.push(Reply::Json(
            500,
            serde_json::json!({"error_code": "CBC.5000", "error_msg": "boom"}),
        ));
    }
    assert!(round().await.is_empty(), "a failed poll must not act");
    // A fresh, complete reading at level 2: throttled, announced, recorded, shown.
    let done = round().await;
    assert_eq!(done.len(), 1, "{done:?}");
    assert!(qdisc().contains("htb f7f1: root"), "{}", qdisc());
    let text = scrape().await;
    assert_eq!(active_gauge(&text, "throttle", "2"), Some(1.0), "{text}");
    assert_eq!(active_gauge(&text, "fence", "1"), Some(0.0));
    let st = app.state.snapshot().await;
    assert!(st.actions.active.contains_key("throttle@2"), "{st:?}");
    // The kernel's fair queue, as `tc` took it, is recorded and shown (kernels without the
    // fq_codel or sfq modules, as in some VMs, take pfifo).
    let recorded = serde_json::to_value(&st.actions.active["throttle@2"].installed).unwrap();
    let queue = recorded["queue"].as_str().unwrap_or_default().to_string();
    assert!(
        ["fq_codel", "sfq", "pfifo"].contains(&queue.as_str()),
        "{recorded}"
    );
    eprintln!("this kernel's fair queue: {queue}");
    let active = app.enforcer.active().await;
    assert_eq!((active[0].action, active[0].level), ("throttle", "2"));
    // The same level again: nothing runs (no duplicate rules, no second message).
    assert!(round().await.is_empty());
    // The cycle resets: lifted.
    fake.set_gb("pkg-a", 100.0, 100.0);
    let done = round().await;
    assert!(matches!(done[..], [(_, _, Done::Lifted(_))]), "{done:?}");
    assert!(!qdisc().contains("f7f1:"), "{}", qdisc());
    assert!(app.state.snapshot().await.actions.active.is_empty());
    let text = scrape().await;
    assert_eq!(active_gauge(&text, "throttle", "2"), Some(0.0));
    // Both changes were announced, with how to undo the throttle.
    let pending = outbox_texts(&app.config.state_dir.join("outbox"));
    assert!(
        pending.iter().any(
            |t| t.contains("throttle is in force") && t.contains("flexus-traffic-monitor lift")
        ),
        "{pending:#?}"
    );
    assert!(
        pending.iter().any(|t| t.contains("throttle lifted")),
        "{pending:#?}"
    );
    // Without fq_codel, the message says which queue the kernel took instead.
    let said = pending
        .iter()
        .any(|t| t.contains("no fq_codel") && t.contains(&format!("a {queue} queue")));
    assert_eq!(said, queue != "fq_codel", "{queue}: {pending:#?}");
}

/// Several servers watched from one: a package of another server at level 1 moves nothing on this
/// machine (it acts through its own shutdown setting); this server's own package does.
#[tokio::test(flavor = "multi_thread")]
async fn only_this_servers_package_moves_its_throttle_and_fence() {
    use crate::helpers::{base_env, config, FakeBss};
    use flexus_traffic_monitor::app::{App, Deps};

    let fake = FakeBss::start().await;
    fake.set_gb("pkg-here", 50.0, 100.0);
    fake.set_gb("pkg-there", 1.0, 100.0);
    let mut env = base_env(&fake, &["pkg-here", "pkg-there"]);
    for (k, v) in [
        ("LEVEL2_ACTIONS", "throttle"),
        ("LEVEL1_ACTIONS", "fence,shutdown"),
        ("LOCAL_FREE_RESOURCE_IDS", "pkg-here"),
        ("FLEXUS_INSTANCES", "pkg-there:0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0:db-2:ap-southeast-1:0123456789abcdef0123456789abcdef"),
        ("DRY_RUN", "true"),
    ] {
        env.push((k.into(), v.into()));
    }
    let cfg = config(&env);
    let bss = flexus_traffic_monitor::commands::bss_client(&cfg).unwrap();
    let app = App::build(
        cfg,
        Deps {
            sink: Some(flexus_traffic_monitor::notifier::Sink::Console { stderr: true }),
            ..Deps::new(bss)
        },
    )
    .await
    .unwrap();
    let round = || async {
        let _ = app.poller.poll_once().await;
        let snap = app.snapshot.read().await.clone();
        app.enforcer.after_poll(&snap, Utc::now()).await
    };
    assert!(
        round().await.is_empty(),
        "another server's package at level 1 must not throttle or fence this machine"
    );
    assert!(app.state.snapshot().await.actions.active.is_empty());
    // The shutdown, which acts for every package, is in force (and shown as such).
    let snap = app.snapshot.read().await.clone();
    let text = app.metrics.render(&snap, &app.config, Utc::now());
    assert_eq!(active_gauge(&text, "shutdown", "1"), Some(1.0), "{text}");
    assert_eq!(active_gauge(&text, "fence", "1"), Some(0.0), "{text}");
    fake.set_gb("pkg-here", 7.0, 100.0);
    let done = round().await;
    assert_eq!(done.len(), 1, "{done:?}");
    let active: Vec<String> = app
        .state
        .snapshot()
        .await
        .actions
        .active
        .into_keys()
        .collect();
    assert_eq!(active, vec!["throttle@2".to_string()]);
}

/// A resolver of our API hosts that records every name it is asked and answers after `delay`.
fn recording_resolver(
    delay: Duration,
) -> (
    flexus_traffic_monitor::actions::addresses::Resolver,
    std::sync::Arc<std::sync::Mutex<Vec<String>>>,
) {
    use flexus_traffic_monitor::actions::addresses::Lookup;
    let asked = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let a = asked.clone();
    let resolver = std::sync::Arc::new(move |host: String, port: u16| -> Lookup {
        a.lock().unwrap().push(host);
        Box::pin(async move {
            tokio::time::sleep(delay).await;
            Ok(vec![std::net::SocketAddr::from(([192, 0, 2, 7], port))])
        })
    });
    (resolver, asked)
}

/// The app with `actions` (LEVELn_ACTIONS pairs) under `DRY_RUN`, this server's package `pkg-a`
/// at `gb` remaining, and `resolver` for the API hosts.
async fn dry_run_app(
    fake: &crate::helpers::FakeBss,
    actions: &[(&str, &str)],
    resolver: flexus_traffic_monitor::actions::addresses::Resolver,
) -> flexus_traffic_monitor::app::App {
    use crate::helpers::{base_env, config};
    use flexus_traffic_monitor::app::{App, Deps};
    let mut env = base_env(fake, &["pkg-a"]);
    env.extend(crate::helpers::vars(actions));
    env.extend(crate::helpers::vars(&[
        ("LOCAL_FREE_RESOURCE_IDS", "pkg-a"),
        ("DRY_RUN", "true"),
    ]));
    let cfg = config(&env);
    let bss = flexus_traffic_monitor::commands::bss_client(&cfg).unwrap();
    App::build(
        cfg,
        Deps {
            sink: Some(flexus_traffic_monitor::notifier::Sink::Console { stderr: true }),
            resolver: Some(resolver),
            ..Deps::new(bss)
        },
    )
    .await
    .unwrap()
}

/// The API hosts are looked up once, not at every poll, and only the hosts this process calls
/// (not RMS, not ECS with `SHUTDOWN_MODE=command`); the fence never waits for a resolver, even
/// one that takes 10 s to answer.
#[tokio::test(flavor = "multi_thread")]
async fn api_hosts_are_looked_up_once_and_the_fence_never_waits_for_them() {
    use crate::helpers::FakeBss;
    let fake = FakeBss::start().await;
    fake.set_gb("pkg-a", 3.0, 100.0);

    // Level 1 with the fence only: no lookup at all, however slow the resolver.
    let (slow, asked) = recording_resolver(Duration::from_secs(10));
    let app = dry_run_app(&fake, &[("LEVEL1_ACTIONS", "fence,shutdown")], slow).await;
    let _ = app.poller.poll_once().await;
    let snap = app.snapshot.read().await.clone();
    let started = std::time::Instant::now();
    let done = app.enforcer.after_poll(&snap, Utc::now()).await;
    let took = started.elapsed();
    eprintln!("fence applied in {took:?} with a resolver that answers after 10 s");
    assert_eq!(done.len(), 1, "{done:?}");
    assert!(took < Duration::from_secs(2), "the fence waited {took:?}");
    assert!(
        asked.lock().unwrap().is_empty(),
        "{:?}",
        asked.lock().unwrap()
    );
    drop(app);

    // A throttle at level 2, twelve polls: each host this process calls is looked up once.
    fake.set_gb("pkg-a", 7.0, 100.0);
    let (quick, asked) = recording_resolver(Duration::ZERO);
    let app = dry_run_app(&fake, &[("LEVEL2_ACTIONS", "throttle")], quick).await;
    for _ in 0..12 {
        let _ = app.poller.poll_once().await;
        let snap = app.snapshot.read().await.clone();
        app.enforcer.after_poll(&snap, Utc::now()).await;
    }
    let asked = asked.lock().unwrap().clone();
    assert_eq!(asked, vec!["127.0.0.1".to_string()], "only BSS, once");
    let st = app.state.snapshot().await;
    let throttle = format!("{:?}", st.actions.active["throttle@2"].installed);
    assert!(throttle.contains("192.0.2.7"), "{throttle}");
}

/// Every queued message's file, as text (the outbox keeps one file per message and channel).
fn outbox_texts(dir: &std::path::Path) -> Vec<String> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else if let Ok(t) = std::fs::read_to_string(&p) {
                out.push(t);
            }
        }
    }
    out
}
