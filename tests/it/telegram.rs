//! The notifier and its outbox against the fake Telegram: rate limits, server errors, parse errors,
//! outages and restarts. Every queued message is delivered once, in order.

use std::time::Duration;

use flexus_traffic_monitor::messages::Message;
use flexus_traffic_monitor::notifier::Pass;

use crate::helpers::fakes::telegram::{self as fake_telegram, FakeTelegram, Reply};
use crate::helpers::process::output_text;
use crate::helpers::{base_env, bss_and_telegram, telegram_env, FakeBss, TestApp};

const ID: &str = "pkg-1";

async fn app(extra: &[(&str, &str)]) -> (FakeBss, FakeTelegram, TestApp, Vec<(String, String)>) {
    let (bss, tg) = bss_and_telegram().await;
    let mut env = base_env(&bss, &[ID]);
    env.extend(telegram_env(&tg));
    env.extend(extra.iter().map(|(k, v)| (k.to_string(), v.to_string())));
    let app = TestApp::spawn(&env).await;
    (bss, tg, app, env)
}

fn test_message(i: usize) -> Message {
    Message::ExternalAlert {
        server: "s".into(),
        alertname: format!("Alert{i}"),
        firing: true,
        summary: format!("number {i}"),
    }
}

#[tokio::test]
async fn names_with_markdown_characters_are_delivered_as_escaped_html() {
    let (bss, tg, app, _) = app(&[("SERVER_NAME", "my_server*1 <prod>")]).await;
    bss.set_gb(ID, 15.0, 100.0);
    app.poll_and_evaluate().await;
    let sent = tg.sent();
    assert_eq!(sent.len(), 1, "{sent:?}");
    assert_eq!(sent[0].parse_mode.as_deref(), Some("HTML"));
    assert!(
        sent[0].text.contains("<b>my_server*1 &lt;prod&gt;</b>"),
        "{}",
        sent[0].text
    );
    let (start, end) = crate::helpers::fakes::bss::cycle();
    let (start, end) = (
        start.format("%Y-%m-%d %H:%M").to_string(),
        end.format("%Y-%m-%d %H:%M").to_string(),
    );
    for want in [
        "100.00 GB",
        "85.00 GB",
        "15.00 GB",
        "Uplink traffic",
        &start,
        &end,
        "level 3",
    ] {
        assert!(
            sent[0].text.contains(want),
            "{want} missing: {}",
            sent[0].text
        );
    }
}

#[tokio::test]
async fn a_429_waits_retry_after_and_then_delivers_once() {
    let (_bss, tg, app, _) = app(&[]).await;
    tg.push(Reply::RetryAfter(1));
    app.notifier.enqueue(&test_message(1)).unwrap();
    let pass = app.notifier.deliver_pending().await;
    assert_eq!(
        pass,
        Pass {
            delivered: 0,
            remaining: 1,
            wait: Some(Duration::from_secs(1))
        }
    );
    let started = std::time::Instant::now();
    let pass = app.notifier.flush(Duration::from_secs(10)).await;
    assert_eq!(pass.remaining, 0);
    assert!(
        started.elapsed() >= Duration::from_millis(900),
        "retry_after honoured"
    );
    assert_eq!(tg.count("Alert1"), 1);
    assert!(app
        .scrape()
        .await
        .contains("flexus_notifications_total{channel=\"telegram\",result=\"rate_limited\"} 1"));
}

#[tokio::test]
async fn server_errors_back_off_and_keep_the_message() {
    let (_bss, tg, app, _) = app(&[]).await;
    tg.push(Reply::Status(500, "Internal Server Error"));
    app.notifier.enqueue(&test_message(1)).unwrap();
    let pass = app.notifier.deliver_pending().await;
    assert_eq!(pass.remaining, 1);
    assert_eq!(pass.wait, Some(Duration::from_secs(1)));
    app.notifier.flush(Duration::from_secs(10)).await;
    assert_eq!(tg.count("Alert1"), 1);
}

#[tokio::test]
async fn a_parse_error_is_resent_as_plain_text() {
    let (_bss, tg, app, _) = app(&[]).await;
    tg.push(Reply::CantParseHtml);
    app.notifier
        .enqueue(&Message::Test {
            server: "a & <b>".into(),
        })
        .unwrap();
    app.notifier.flush(Duration::from_secs(10)).await;
    let sent = tg.sent();
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].parse_mode, None);
    assert!(
        sent[0].text.contains("a & <b> test message"),
        "{}",
        sent[0].text
    );
    assert!(!sent[0].text.contains("&amp;"));
}

#[tokio::test]
async fn an_outage_then_recovery_delivers_every_message_once_in_order() {
    let (_bss, tg, app, _) = app(&[]).await;
    tg.set_down(true);
    for i in 0..5 {
        app.notifier.enqueue(&test_message(i)).unwrap();
    }
    let pass = app.notifier.flush(Duration::from_millis(2500)).await;
    assert_eq!((pass.delivered, pass.remaining), (0, 5));
    assert!(tg.attempts() >= 2, "retried with backoff");
    tg.set_down(false);
    app.notifier.flush(Duration::from_secs(10)).await;
    let texts = tg.texts();
    assert_eq!(texts.len(), 5);
    for (i, t) in texts.iter().enumerate() {
        assert!(t.contains(&format!("Alert{i}")), "order: {texts:?}");
    }
    assert_eq!(app.notifier.pending(), 0);
}

#[tokio::test]
async fn queued_messages_survive_a_restart() {
    let (_bss, tg, app, env) = app(&[]).await;
    tg.set_down(true);
    app.notifier.enqueue(&test_message(7)).unwrap();
    app.notifier.deliver_pending().await;
    app.stop().await;
    tg.set_down(false);
    let again = TestApp::spawn(&env).await;
    assert_eq!(again.notifier.pending(), 1);
    again.notifier.flush(Duration::from_secs(10)).await;
    assert_eq!(tg.count("Alert7"), 1);
}

#[tokio::test]
async fn a_wrong_chat_keeps_messages_queued_and_the_token_out_of_errors() {
    let (_bss, tg, app, env) = app(&[("TELEGRAM_CHAT_ID", "999")]).await;
    let _ = env;
    app.notifier.enqueue(&test_message(1)).unwrap();
    let pass = app.notifier.deliver_pending().await;
    assert_eq!(
        pass.remaining, 1,
        "kept for when the user fixes the chat id"
    );
    assert!(tg.sent().is_empty());
    let status = app.status().await;
    assert_eq!(status["alerting"]["messages_pending"], 1);
    assert!(!status.to_string().contains(fake_telegram::TOKEN));
}

#[tokio::test]
async fn long_messages_are_split_and_the_thread_id_is_sent() {
    let (_bss, tg, app, _) = app(&[("TELEGRAM_THREAD_ID", "77")]).await;
    // Outside values are cut to 300 characters, so a message of ours is never this long; the
    // outbox still splits whatever it is given.
    let outbox =
        flexus_traffic_monitor::outbox::Outbox::open(&app.config.state_dir.join("outbox")).unwrap();
    outbox
        .enqueue(
            &vec!["line of a long note"; 400].join("\n"),
            chrono::Utc::now(),
        )
        .unwrap();
    app.notifier.flush(Duration::from_secs(10)).await;
    let sent = tg.sent();
    assert!(sent.len() >= 2, "{}", sent.len());
    assert!(sent
        .iter()
        .all(|s| s.text.chars().count() <= 4096 && s.thread_id == Some(77)));
}

#[tokio::test]
async fn the_proxy_from_the_environment_is_used() {
    // The fake Telegram stands in for a forward proxy: a plain-HTTP request through a proxy
    // carries the full URL, and the fake routes on its path. HTTPS_PROXY works the same way for
    // https URLs (through CONNECT), which cannot be faked here without TLS.
    let (bss, tg) = bss_and_telegram().await;
    let mut env = base_env(&bss, &[ID]);
    env.extend(telegram_env(&tg));
    env.retain(|(k, _)| k != "TELEGRAM_API_URL");
    env.push(("TELEGRAM_API_URL".into(), "http://telegram.invalid".into()));
    env.push(("HTTP_PROXY".into(), tg.url()));
    let out = crate::helpers::process::run(&env, &["notify-test"]).await;
    assert!(out.status.success(), "{}", output_text(&out));
    assert_eq!(tg.count("test message"), 1);
}

#[tokio::test]
async fn a_network_error_never_shows_the_bot_token() {
    let (bss, tg) = bss_and_telegram().await;
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let mut env = base_env(&bss, &[ID]);
    env.extend(telegram_env(&tg));
    env.retain(|(k, _)| k != "TELEGRAM_API_URL");
    env.push(("TELEGRAM_API_URL".into(), format!("http://{closed}")));
    let out = crate::helpers::process::run(&env, &["notify-test"]).await;
    assert!(!out.status.success());
    let all = output_text(&out);
    assert!(all.contains("network error"), "{all}");
    assert!(
        !all.contains(fake_telegram::TOKEN) && !all.contains("TEST-BOT-TOKEN"),
        "{all}"
    );
}
