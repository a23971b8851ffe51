//! The HTTP side's limits: idle and slow clients are closed, connections are capped, and the
//! shutdown guard acts while the listener is saturated.

use std::process::Stdio;
use std::time::{Duration, Instant};

use flexus_traffic_monitor::http::server::{serve_with, Limits};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_util::sync::CancellationToken;

use crate::helpers::process::{stop, wait_for_message};
use crate::helpers::{
    base_env, bss_and_telegram, free_port, marker_script, state_dir, telegram_env, ID,
};

/// A listener with `limits` serving a router with `/healthz` and a body-reading POST route.
async fn serve(limits: Limits) -> (String, CancellationToken) {
    use axum::routing::{get, post};
    let app = axum::Router::new()
        .route("/healthz", get(|| async { "ok\n" }))
        .route("/echo", post(|b: axum::body::Bytes| async move { b }));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    let cancel = CancellationToken::new();
    tokio::spawn(serve_with(listener, app, cancel.clone(), limits));
    (addr, cancel)
}

/// Reads until the server closes the connection (or `within` passes); returns what was read and
/// whether it closed.
async fn read_until_closed(s: &mut TcpStream, within: Duration) -> (String, bool) {
    let mut got = Vec::new();
    let mut buf = [0u8; 1024];
    let deadline = Instant::now() + within;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match tokio::time::timeout(left, s.read(&mut buf)).await {
            Ok(Ok(0)) | Ok(Err(_)) => return (String::from_utf8_lossy(&got).into(), true),
            Ok(Ok(n)) => got.extend_from_slice(&buf[..n]),
            Err(_) => return (String::from_utf8_lossy(&got).into(), false),
        }
    }
}

const SHORT: Limits = Limits {
    max_connections: 4,
    header_read_timeout: Duration::from_millis(300),
    body_timeout: Duration::from_millis(500),
};

#[tokio::test]
async fn a_silent_connection_is_closed_by_the_program_limits() {
    // The program's own limits, through the listener the program uses.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let cancel = CancellationToken::new();
    let app = axum::Router::new().route("/", axum::routing::get(|| async { "ok" }));
    tokio::spawn(flexus_traffic_monitor::http::serve(
        listener,
        app,
        cancel.clone(),
    ));
    let mut s = TcpStream::connect(addr).await.unwrap();
    let (_, closed) = read_until_closed(&mut s, Duration::from_secs(20)).await;
    assert!(closed, "an idle connection is closed (header-read timeout)");
    cancel.cancel();
}

#[tokio::test]
async fn idle_keep_alive_and_slow_header_connections_are_closed() {
    let (addr, cancel) = serve(SHORT).await;
    // Idle after one request on a keep-alive connection.
    let mut s = TcpStream::connect(&addr).await.unwrap();
    s.write_all(b"GET /healthz HTTP/1.1\r\nhost: x\r\n\r\n")
        .await
        .unwrap();
    let (got, closed) = read_until_closed(&mut s, Duration::from_secs(5)).await;
    assert!(got.starts_with("HTTP/1.1 200"), "{got}");
    assert!(closed, "idle keep-alive connection closed");
    // Headers dripped one byte at a time never complete.
    let mut s = TcpStream::connect(&addr).await.unwrap();
    let dripper = tokio::spawn(async move {
        for b in b"GET /healthz HTTP/1.1\r\nx-slow: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa" {
            if s.write_all(&[*b]).await.is_err() {
                return true;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let (got, closed) = read_until_closed(&mut s, Duration::from_secs(5)).await;
        closed && !got.contains("200")
    });
    assert!(dripper.await.unwrap(), "a slow header drip is cut off");
    cancel.cancel();
}

#[tokio::test]
async fn a_slow_body_is_cut_off_by_its_total_deadline() {
    let (addr, cancel) = serve(SHORT).await;
    let mut s = TcpStream::connect(&addr).await.unwrap();
    s.write_all(b"POST /echo HTTP/1.1\r\nhost: x\r\ncontent-length: 100\r\n\r\n")
        .await
        .unwrap();
    // One byte every 100 ms: each chunk arrives well within 500 ms, the whole never does.
    let mut answer = String::new();
    for _ in 0..100 {
        if s.write_all(b"x").await.is_err() {
            break;
        }
        let mut buf = [0u8; 512];
        match tokio::time::timeout(Duration::from_millis(100), s.read(&mut buf)).await {
            Ok(Ok(n)) if n > 0 => {
                answer = String::from_utf8_lossy(&buf[..n]).into();
                break;
            }
            Ok(_) => break,
            Err(_) => {}
        }
    }
    assert!(
        answer.starts_with("HTTP/1.1 4"),
        "refused before the body completed: {answer:?}"
    );
    cancel.cancel();
}

#[tokio::test]
async fn at_the_limit_the_oldest_idle_connection_makes_room_for_a_new_one() {
    let limits = Limits {
        header_read_timeout: Duration::from_secs(60),
        ..SHORT
    };
    let (addr, cancel) = serve(limits).await;
    let mut held = Vec::new();
    for _ in 0..limits.max_connections {
        held.push(TcpStream::connect(&addr).await.unwrap());
        // Accepted in this order: the first is the oldest.
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let mut extra = TcpStream::connect(&addr).await.unwrap();
    extra
        .write_all(b"GET /healthz HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n")
        .await
        .unwrap();
    let (got, closed) = read_until_closed(&mut extra, Duration::from_secs(2)).await;
    assert!(
        got.starts_with("HTTP/1.1 200") && closed,
        "served at once: {got:?}"
    );
    let (_, oldest_closed) = read_until_closed(&mut held[0], Duration::from_secs(2)).await;
    assert!(oldest_closed, "the oldest idle connection gave its slot");
    for s in &mut held[1..] {
        let (_, closed) = read_until_closed(s, Duration::from_millis(100)).await;
        assert!(!closed, "only the oldest is closed");
    }
    cancel.cancel();
}

#[tokio::test]
async fn when_every_connection_serves_a_request_a_new_one_waits_for_a_slot() {
    let limits = Limits {
        body_timeout: Duration::from_secs(60),
        ..SHORT
    };
    let (addr, cancel) = serve(limits).await;
    // Every slot holds a request whose body is still coming: none may be closed.
    let mut busy = Vec::new();
    for _ in 0..limits.max_connections {
        let mut s = TcpStream::connect(&addr).await.unwrap();
        s.write_all(b"POST /echo HTTP/1.1\r\nhost: x\r\ncontent-length: 2\r\n\r\nx")
            .await
            .unwrap();
        busy.push(s);
    }
    tokio::time::sleep(Duration::from_millis(200)).await;
    let mut extra = TcpStream::connect(&addr).await.unwrap();
    extra
        .write_all(b"GET /healthz HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n")
        .await
        .unwrap();
    let (got, _) = read_until_closed(&mut extra, Duration::from_millis(500)).await;
    assert_eq!(got, "", "not served while every slot serves a request");
    // One request completes; its connection, idle now, makes room.
    busy[0].write_all(b"y").await.unwrap();
    let (got, closed) = read_until_closed(&mut extra, Duration::from_secs(5)).await;
    assert!(got.starts_with("HTTP/1.1 200") && closed, "{got}");
    for s in &mut busy[1..] {
        s.write_all(b"y").await.unwrap();
        let (got, _) = read_until_closed(s, Duration::from_millis(500)).await;
        assert!(
            got.starts_with("HTTP/1.1 200"),
            "a request in progress was cut: {got:?}"
        );
    }
    cancel.cancel();
}

/// The real binary with a small file limit: 600 idle connections must not take the sockets and
/// files the poller, the outbox and the guard need.
#[tokio::test]
async fn the_guard_acts_while_the_listener_is_saturated() {
    let (fake, tg) = bss_and_telegram().await;
    fake.set_gb(ID, 50.0, 100.0);
    let dir = state_dir("saturated");
    let (script, marker) = marker_script(&dir, "");
    let port = free_port();
    let mut env = base_env(&fake, &[ID]);
    env.extend(telegram_env(&tg));
    for (k, v) in [
        ("LISTEN_ADDR", format!("127.0.0.1:{port}")),
        ("POLL_INTERVAL", "1s".into()),
        ("SHUTDOWN_DELAY", "1s".into()),
        ("FALLBACK", "always".into()),
        ("SHUTDOWN_COMMAND", script.display().to_string()),
    ] {
        env.push((k.into(), v));
    }
    // 400 open files, as a tight systemd or container limit would allow.
    let mut sh = std::process::Command::new("sh");
    sh.env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .current_dir(state_dir("cwd"))
        .envs(env.iter().map(|(k, v)| (k, v)))
        .args(["-c", "ulimit -n 400 && exec \"$0\" serve"])
        .arg(env!("CARGO_BIN_EXE_flexus-traffic-monitor"));
    let child = sh
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    wait_for_message(&tg, "Traffic report").await;
    let mut held = Vec::new();
    for _ in 0..600 {
        match TcpStream::connect(("127.0.0.1", port)).await {
            Ok(s) => held.push(s),
            Err(_) => break,
        }
    }
    assert!(held.len() >= 400, "only {} connections opened", held.len());
    fake.set_gb(ID, 3.0, 100.0);
    wait_for_message(&tg, "shutdown executed").await;
    assert_eq!(std::fs::read_to_string(&marker).unwrap(), "shutdown \n");
    drop(held);
    let stderr = stop(child).await;
    assert!(!stderr.contains("Too many open files"), "{stderr}");
}

#[test]
fn the_systemd_unit_leaves_files_for_the_guard_beyond_the_connection_limit() {
    let unit = include_str!("../../deploy/systemd/flexus-traffic-monitor.service");
    let limit: usize = unit
        .lines()
        .find_map(|l| l.trim().strip_prefix("LimitNOFILE="))
        .expect("the unit sets LimitNOFILE")
        .parse()
        .unwrap();
    let http = flexus_traffic_monitor::http::server::LIMITS.max_connections;
    assert!(
        limit >= 4 * http,
        "LimitNOFILE={limit} for {http} connections"
    );
}

/// What a case holds against the listener.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Load {
    /// Connections that send nothing.
    Idle,
    /// Connections that drip a request's headers, one byte a second, never finishing them.
    SlowHeaders,
}

/// One row of the table: `held` connections of `load`, each opened again when the server closes
/// it (`reopen`), as a client that keeps its pool full does.
struct Case {
    name: &'static str,
    load: Load,
    held: usize,
    reopen: bool,
}

/// The cases of the fault suite's table (connection exhaustion), as measured before this listener
/// closed idle connections: worst waits of 8 s and ≥ 60 s, scrapes and webhooks failing from
/// 1,000 connections on.
const CASES: [Case; 4] = [
    Case {
        name: "300 idle",
        load: Load::Idle,
        held: 300,
        reopen: false,
    },
    Case {
        name: "1,000 idle, reopened as closed",
        load: Load::Idle,
        held: 1000,
        reopen: true,
    },
    Case {
        name: "2,000 idle, reopened as closed",
        load: Load::Idle,
        held: 2000,
        reopen: true,
    },
    Case {
        name: "1,000 slow-drip headers, reopened",
        load: Load::SlowHeaders,
        held: 1000,
        reopen: true,
    },
];

/// Holds one connection of `load` to `addr` until `stop`; opens it again when closed if `reopen`.
async fn hold(addr: String, load: Load, reopen: bool, stop: CancellationToken) {
    while !stop.is_cancelled() {
        let Ok(Ok(mut s)) =
            tokio::time::timeout(Duration::from_secs(5), TcpStream::connect(&addr)).await
        else {
            tokio::time::sleep(Duration::from_millis(100)).await;
            continue;
        };
        if load == Load::SlowHeaders
            && s.write_all(b"GET /metrics HTTP/1.1\r\nx-slow: ")
                .await
                .is_err()
        {
            continue;
        }
        let mut buf = [0u8; 512];
        let mut tick = tokio::time::interval(Duration::from_secs(1));
        loop {
            tokio::select! {
                () = stop.cancelled() => return,
                r = s.read(&mut buf) => match r {
                    Ok(n) if n > 0 => {}
                    _ => break,
                },
                _ = tick.tick(), if load == Load::SlowHeaders => {
                    if s.write_all(b"a").await.is_err() {
                        break;
                    }
                }
            }
        }
        if !reopen {
            stop.cancelled().await;
            return;
        }
    }
}

/// One request on a new connection; the time until the whole answer, or `None` when it failed or
/// took longer than 10 s.
async fn probe(addr: &str, request: &[u8]) -> Option<Duration> {
    let started = Instant::now();
    let attempt = async {
        let mut s = TcpStream::connect(addr).await.ok()?;
        s.write_all(request).await.ok()?;
        let mut answer = Vec::new();
        s.read_to_end(&mut answer).await.ok()?;
        answer.starts_with(b"HTTP/1.1 200").then_some(())
    };
    match tokio::time::timeout(Duration::from_secs(10), attempt).await {
        Ok(Some(())) => Some(started.elapsed()),
        _ => None,
    }
}

/// The real binary holding thousands of idle or slow connections still answers `/metrics` and
/// the Alertmanager webhook within a second, in every case of the table. Prints the measured
/// figures (run with `--nocapture` to see them).
#[tokio::test(flavor = "multi_thread")]
async fn metrics_and_the_webhook_answer_within_a_second_while_thousands_of_connections_are_held() {
    let (fake, tg) = bss_and_telegram().await;
    fake.set_gb(ID, 50.0, 100.0);
    let mut env = base_env(&fake, &[ID]);
    env.extend(telegram_env(&tg));
    let (child, base) = crate::helpers::process::serve_ready(&env).await;
    let addr = base.trim_start_matches("http://").to_string();
    let body = crate::helpers::alertmanager::watchdog("firing");
    let webhook = format!(
        "POST /alertmanager HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
        body.len()
    );
    let metrics = b"GET /metrics HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n".to_vec();
    let mut table = vec![
        "| load held | probes | worst wait | median | probes > 1 s | failed |".to_string(),
        "|---|---|---|---|---|---|".to_string(),
    ];
    let mut worst_of_all = Duration::ZERO;
    for case in CASES {
        let stop = CancellationToken::new();
        let holders: Vec<_> = (0..case.held)
            .map(|_| tokio::spawn(hold(addr.clone(), case.load, case.reopen, stop.clone())))
            .collect();
        // Let them connect (and, reopened, churn) before probing.
        tokio::time::sleep(Duration::from_millis(1500)).await;
        let mut waits = Vec::new();
        let mut failed = 0;
        for i in 0..8 {
            let request = if i % 2 == 0 {
                &metrics
            } else {
                webhook.as_bytes()
            };
            match probe(&addr, request).await {
                Some(d) => waits.push(d),
                None => failed += 1,
            }
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
        stop.cancel();
        for h in holders {
            let _ = h.await;
        }
        waits.sort();
        let worst = waits.last().copied().unwrap_or(Duration::MAX);
        worst_of_all = worst_of_all.max(if failed > 0 { Duration::MAX } else { worst });
        table.push(format!(
            "| {} | {} | {:.0} ms | {:.0} ms | {} | {failed} |",
            case.name,
            waits.len() + failed,
            worst.as_secs_f64() * 1000.0,
            waits
                .get(waits.len() / 2)
                .map_or(f64::NAN, |d| d.as_secs_f64() * 1000.0),
            waits
                .iter()
                .filter(|d| **d > Duration::from_secs(1))
                .count(),
        ));
    }
    eprintln!("{}", table.join("\n"));
    stop(child).await;
    assert!(
        worst_of_all < Duration::from_secs(1),
        "a probe waited a second or more, or failed:\n{}",
        table.join("\n")
    );
}
