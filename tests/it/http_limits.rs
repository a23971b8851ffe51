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
async fn connections_beyond_the_limit_wait_until_one_closes() {
    let limits = Limits {
        header_read_timeout: Duration::from_secs(60),
        ..SHORT
    };
    let (addr, cancel) = serve(limits).await;
    let mut held = Vec::new();
    for _ in 0..limits.max_connections {
        held.push(TcpStream::connect(&addr).await.unwrap());
    }
    // Give the server a moment to take all slots.
    tokio::time::sleep(Duration::from_millis(200)).await;
    let mut extra = TcpStream::connect(&addr).await.unwrap();
    extra
        .write_all(b"GET /healthz HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n")
        .await
        .unwrap();
    let (got, _) = read_until_closed(&mut extra, Duration::from_millis(500)).await;
    assert_eq!(got, "", "not served while every slot is taken");
    held.pop();
    let (got, closed) = read_until_closed(&mut extra, Duration::from_secs(5)).await;
    assert!(got.starts_with("HTTP/1.1 200") && closed, "{got}");
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
