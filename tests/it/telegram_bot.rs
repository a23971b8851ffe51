//! The Telegram command bot against the fake Telegram: who may command, what each command answers
//! and changes, the offset across a restart, and getUpdates errors.

use std::time::{Duration, Instant};

use flexus_traffic_monitor::config::{Config, RawConfig};

use crate::helpers::alertmanager::payload;
use crate::helpers::fakes::bss::package;
use crate::helpers::fakes::telegram::{FakeTelegram, Reply};
use crate::helpers::{
    base_env, marker_script, metric, state_dir, telegram_env, FakeBss, Spawn, TestApp,
};

const ID: &str = "pkg-bot-1";
const CHAT: i64 = 4242;
const OWNER: i64 = 7;

fn env(bss: &FakeBss, tg: &FakeTelegram, extra: &[(&str, &str)]) -> Vec<(String, String)> {
    let mut env = base_env(bss, &[ID]);
    env.extend(telegram_env(tg));
    env.push(("TELEGRAM_COMMANDS".into(), "true".into()));
    env.extend(extra.iter().map(|(k, v)| (k.to_string(), v.to_string())));
    env
}

/// Waits (bounded) until `cond` holds.
async fn until(what: &str, cond: impl Fn() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while !cond() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Waits for the `n`-th message containing `needle` and returns the last one.
async fn answer(
    tg: &FakeTelegram,
    needle: &str,
    n: usize,
) -> crate::helpers::fakes::telegram::Sent {
    until(&format!("{n} message(s) with {needle:?}"), || {
        tg.count(needle) >= n
    })
    .await;
    tg.sent()
        .into_iter()
        .rfind(|s| s.text.contains(needle))
        .unwrap()
}

async fn commands(app: &TestApp, command: &str, result: &str) -> Option<f64> {
    metric(
        &app.scrape().await,
        "flexus_telegram_commands_total",
        &[
            &format!("command=\"{command}\""),
            &format!("result=\"{result}\""),
        ],
    )
}

#[test]
fn commands_without_a_token_and_chat_are_refused_naming_the_variables() {
    let raw = RawConfig::from_pairs(
        [
            ("TELEGRAM_COMMANDS", "true"),
            ("TELEGRAM_BOT_TOKEN", "123:abc"),
            ("TELEGRAM_ALLOWED_USERS", "7, x"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string())),
    )
    .unwrap();
    let e = Config::from_raw(&raw).unwrap_err().to_string();
    assert!(
        e.contains("TELEGRAM_COMMANDS") && e.contains("TELEGRAM_CHAT_ID"),
        "{e}"
    );
    assert!(e.contains("TELEGRAM_ALLOWED_USERS"), "{e}");
}

#[tokio::test]
async fn commands_from_another_chat_or_user_get_no_answer_and_are_counted() {
    let bss = FakeBss::start().await;
    let tg = FakeTelegram::start().await;
    let app = TestApp::spawn(&env(&bss, &tg, &[("TELEGRAM_ALLOWED_USERS", "7,8")])).await;
    tg.push_text(999, OWNER, "/status");
    tg.push_text(CHAT, 9, "/cancel");
    let foreign_press = tg.push_press(999, OWNER, "cancel:1");
    // Handled in order: once /help is answered, the others were seen.
    tg.push_text(CHAT, 8, "/help");
    answer(&tg, "Commands", 1).await;
    let sent = tg.sent();
    assert_eq!(sent.len(), 1, "only /help is answered: {sent:?}");
    assert!(sent[0].text.contains("Commands"), "{}", sent[0].text);
    assert!(tg
        .callback_answers()
        .iter()
        .all(|(id, _)| *id != foreign_press));
    assert_eq!(commands(&app, "status", "ignored").await, Some(1.0));
    assert_eq!(commands(&app, "cancel", "ignored").await, Some(1.0));
    assert_eq!(commands(&app, "cancel_confirm", "ignored").await, Some(1.0));
    assert_eq!(commands(&app, "help", "ok").await, Some(1.0));
}

#[tokio::test]
async fn an_update_seen_again_after_a_restart_is_not_run_twice() {
    let bss = FakeBss::start().await;
    let tg = FakeTelegram::start().await;
    let env = env(&bss, &tg, &[]);
    let app = TestApp::spawn(&env).await;
    let first = tg.push_text(CHAT, OWNER, "/mute 2h");
    answer(&tg, "Repeats muted until", 1).await;
    app.stop().await;
    // Telegram never heard that the update was handled: it offers it again.
    tg.forget_confirmations();
    let app = TestApp::spawn(&env).await;
    tg.push_text(CHAT, OWNER, "/help");
    answer(&tg, "Commands", 1).await;
    assert_eq!(tg.count("Repeats muted until"), 1, "{:?}", tg.texts());
    assert!(tg.offsets().contains(&(first + 1)), "{:?}", tg.offsets());
    app.stop().await;
}

#[tokio::test]
async fn cancel_asks_then_the_button_stops_the_countdown_and_resume_enables_it_again() {
    let bss = FakeBss::start().await;
    let tg = FakeTelegram::start().await;
    let dir = state_dir("bot-cancel");
    let (script, marker) = marker_script(&dir, "exit 0");
    let env = env(
        &bss,
        &tg,
        &[
            ("SHUTDOWN_DELAY", "60s"),
            ("SHUTDOWN_COMMAND", script.to_str().unwrap()),
            ("TELEGRAM_CANCEL_FOR", "6h"),
        ],
    );
    let app = TestApp::spawn_with(
        &env,
        Spawn {
            real_executor: true,
            ..Default::default()
        },
    )
    .await;
    bss.set_gb(ID, 1.0, 100.0);
    let _ = app.poller.poll_once().await;
    app.engine.evaluate(chrono::Utc::now()).await.unwrap();
    assert_eq!(app.guard.running().as_deref(), Some(ID));

    tg.push_text(CHAT, OWNER, "/cancel");
    let ask = answer(&tg, "Cancel the shutdown of", 1).await;
    assert!(
        ask.text.contains("billed") && ask.text.contains("/resume"),
        "{}",
        ask.text
    );
    assert_eq!(ask.parse_mode.as_deref(), Some("HTML"));
    assert_eq!(ask.buttons.len(), 1, "{ask:?}");
    // The question alone cancels nothing.
    assert_eq!(app.guard.running().as_deref(), Some(ID));

    let press = tg.push_press(CHAT, OWNER, &ask.buttons[0].1);
    until("the countdown to end", || app.guard.running().is_none()).await;
    app.settle().await;
    until("the press to be answered", || {
        tg.callback_answers()
            .iter()
            .any(|(id, t)| *id == press && t.contains("cancelled"))
    })
    .await;
    let said = answer(&tg, "Shutdown cancelled", 1).await;
    assert!(
        said.text.contains("/cancel") && said.text.contains("billed"),
        "{}",
        said.text
    );
    assert!(!marker.exists(), "nothing was shut down");

    // Still below level 1: the cancellation stands for both alert paths.
    app.poll_and_evaluate().await;
    assert!(app.guard.running().is_none());
    let status = app.api_status().await;
    let held = &status["alerting"]["shutdown"]["cancelled_by_command"][ID];
    assert_eq!(held["user_id"], OWNER, "{status}");
    let page = reqwest::get(format!("{}/?lang=en", app.base_url))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        page.contains("cancelled with /cancel in Telegram"),
        "{page}"
    );
    let body = payload("FlexusTrafficLevel1", "firing", Some("1"), ID, "http://am");
    let resp = app.post_webhook(&body, None).await;
    assert!(resp.status().is_success(), "{}", resp.status());
    let summary: serde_json::Value = resp.json().await.unwrap();
    assert_eq!(summary["shutdown_requests"], 0, "{summary}");
    assert!(
        app.guard.running().is_none(),
        "the webhook path respects it too"
    );

    tg.push_text(CHAT, OWNER, "/resume");
    answer(&tg, "enabled again for 1", 1).await;
    app.settle().await;
    answer(&tg, "Automatic shutdown is enabled again", 1).await;
    app.engine.evaluate(chrono::Utc::now()).await.unwrap();
    assert_eq!(
        app.guard.running().as_deref(),
        Some(ID),
        "the next reading arms it again"
    );
    assert_eq!(commands(&app, "cancel_confirm", "ok").await, Some(1.0));
    app.stop().await;
    assert!(!marker.exists());
}

#[tokio::test]
async fn with_no_countdown_cancel_says_so_and_status_shows_every_package_in_chinese() {
    let bss = FakeBss::start().await;
    let tg = FakeTelegram::start().await;
    let app = TestApp::spawn(&env(&bss, &tg, &[("MESSAGE_LANG", "zh")])).await;
    bss.set_entry(
        ID,
        package(
            ID,
            serde_json::json!(15),
            serde_json::json!(100),
            serde_json::json!(10),
        ),
    );
    app.poll_and_evaluate().await;

    tg.push_text(CHAT, OWNER, "/cancel");
    let said = answer(&tg, "当前没有正在进行的关机倒计时", 1).await;
    assert!(said.buttons.is_empty());
    // A button pressed when nothing runs cancels nothing either.
    let press = tg.push_press(
        CHAT,
        OWNER,
        &format!("cancel:{}", chrono::Utc::now().timestamp()),
    );
    until("the press to be answered", || {
        tg.callback_answers().iter().any(|(id, _)| *id == press)
    })
    .await;
    let answers = tg.callback_answers();
    assert!(answers[0].1.contains("当前没有"), "{answers:?}");

    tg.push_text(CHAT, OWNER, "/status");
    let s = answer(&tg, "流量状态", 1).await;
    for want in [
        ID,
        "剩余：15.00 GB / 100.00 GB",
        "3 级",
        "重置：2026-12-07 16:00",
        "预测：",
    ] {
        assert!(s.text.contains(want), "{want} missing: {}", s.text);
    }
    tg.push_text(CHAT, OWNER, "/start");
    answer(&tg, "SHUTDOWN_MODE=huawei-api", 1).await;
    tg.push_text(CHAT, OWNER, "/reboot");
    answer(&tg, "未知命令", 1).await;
    tg.push_text(CHAT, OWNER, "/resume");
    answer(&tg, "没有通过 /cancel 取消的关机", 1).await;
    app.stop().await;
}

#[tokio::test]
async fn mute_silences_repeats_but_never_entering_level_1() {
    let bss = FakeBss::start().await;
    let tg = FakeTelegram::start().await;
    // Every evaluation repeats (DEBUG_MODE); level 1 only tells (SHUTDOWN_MODE=off).
    let app = TestApp::spawn(&env(
        &bss,
        &tg,
        &[("DEBUG_MODE", "true"), ("SHUTDOWN_MODE", "off")],
    ))
    .await;
    bss.set_gb(ID, 7.0, 100.0);
    app.poll_and_evaluate().await;
    assert_eq!(tg.count("high-frequency"), 1);
    tg.push_text(CHAT, OWNER, "/mute 6h");
    answer(&tg, "Repeats muted until", 1).await;
    app.poll_and_evaluate().await;
    assert_eq!(tg.count("high-frequency"), 1, "the repeat is muted");
    bss.set_gb(ID, 1.0, 100.0);
    app.poll_and_evaluate().await;
    assert_eq!(
        tg.count("almost used up"),
        1,
        "entering level 1 is never muted"
    );
    tg.push_text(CHAT, OWNER, "/mute off");
    answer(&tg, "Repeats are sent again", 1).await;
    app.poll_and_evaluate().await;
    assert_eq!(
        tg.count("almost used up"),
        2,
        "repeats again after /mute off"
    );
    app.stop().await;
}

#[tokio::test]
async fn a_429_on_get_updates_waits_as_told_then_answers() {
    let bss = FakeBss::start().await;
    let tg = FakeTelegram::start().await;
    tg.push_updates_reply(Reply::RetryAfter(1));
    let started = Instant::now();
    let app = TestApp::spawn(&env(&bss, &tg, &[])).await;
    tg.push_text(CHAT, OWNER, "/help");
    answer(&tg, "Commands", 1).await;
    assert!(
        started.elapsed() >= Duration::from_millis(900),
        "retry_after was honoured"
    );
    assert!(tg.offsets().len() >= 2, "{:?}", tg.offsets());
    app.stop().await;
}
