//! The Telegram command bot against the fake Telegram: who may command, what each command answers
//! and changes, the offset across a restart, and getUpdates errors.

use std::time::{Duration, Instant};

use flexus_traffic_monitor::config::{Config, RawConfig};

use crate::helpers::alertmanager::payload;
use crate::helpers::fakes::bss::{cycle_ending_in, in_cycle, next_cycle, package};
use crate::helpers::fakes::cloud::FakeCloud;
use crate::helpers::fakes::telegram::{FakeTelegram, Reply, BOT_USERNAME};
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
async fn a_group_without_allowed_users_is_warned_about() {
    let bss = FakeBss::start().await;
    let tg = FakeTelegram::start().await;
    let mut e = env(&bss, &tg, &[]);
    e.push(("TELEGRAM_CHAT_ID".into(), "-1001234".into()));
    let w = crate::helpers::config(&e).warnings().join("\n");
    assert!(w.contains("TELEGRAM_ALLOWED_USERS"), "{w}");
    e.push(("TELEGRAM_ALLOWED_USERS".into(), "7".into()));
    // Only this warning is about the bot (a checkout under /tmp adds one about STATE_DIR).
    let w = crate::helpers::config(&e).warnings();
    assert!(
        !w.iter().any(|w| w.contains("TELEGRAM_ALLOWED_USERS")),
        "{w:?}"
    );
}

#[tokio::test]
async fn commands_from_another_chat_or_user_get_no_answer_and_are_counted_and_a_press_is_only_acknowledged(
) {
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
    // The press is answered (the Bot API asks that every callback be), and nothing is done.
    let answers = tg.callback_answers();
    assert!(
        answers
            .iter()
            .any(|(id, text)| *id == foreign_press && text.contains("nothing was done")),
        "{answers:?}"
    );
    assert_eq!(commands(&app, "status", "ignored").await, Some(1.0));
    assert_eq!(commands(&app, "cancel", "ignored").await, Some(1.0));
    assert_eq!(commands(&app, "cancel_confirm", "ignored").await, Some(1.0));
    assert_eq!(commands(&app, "help", "ok").await, Some(1.0));
}

/// After an outage Telegram hands over what was sent meanwhile: an old command is not run, and a
/// command addressed to another bot in the group is not ours.
#[tokio::test]
async fn old_commands_and_commands_for_another_bot_are_not_run() {
    let bss = FakeBss::start().await;
    let tg = FakeTelegram::start().await;
    let app = TestApp::spawn(&env(&bss, &tg, &[])).await;
    let an_hour_ago = chrono::Utc::now() - chrono::Duration::hours(1);
    tg.push_text_at(CHAT, OWNER, "/mute 2h", an_hour_ago);
    tg.push_text(CHAT, OWNER, "/status@another_bot");
    tg.push_text(CHAT, OWNER, &format!("/help@{BOT_USERNAME}"));
    // Handled in order: once /help is answered, the others were seen.
    answer(&tg, "Commands", 1).await;
    let sent = tg.texts();
    assert_eq!(sent.len(), 1, "only /help is answered: {sent:?}");
    assert_eq!(commands(&app, "mute", "stale").await, Some(1.0));
    assert_eq!(commands(&app, "status", "ok").await, None);
    assert!(app.status().await["muted_until"].is_null());
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
    let status = app.status().await;
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
    let reset = format!(
        "重置：{}",
        crate::helpers::fakes::bss::cycle()
            .1
            .format("%Y-%m-%d %H:%M")
    );
    for want in [ID, "剩余：15.00 GB / 100.00 GB", "3 级", &reset, "预测："] {
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
    let status = app.status().await;
    assert!(status["alerting"]["muted_until"].is_string(), "{status}");
    let page = crate::helpers::get_text(&format!("{}/?lang=en", app.base_url)).await;
    assert!(page.contains("muted with /mute until"), "{page}");
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

#[tokio::test]
async fn a_cancellation_ends_at_the_next_level_change_and_every_channel_hears_it() {
    let bss = FakeBss::start().await;
    let tg = FakeTelegram::start().await;
    let env = env(&bss, &tg, &[("SHUTDOWN_DELAY", "60s")]);
    let app = TestApp::spawn(&env).await;
    bss.set_gb(ID, 1.0, 100.0);
    let _ = app.poller.poll_once().await;
    app.engine.evaluate(chrono::Utc::now()).await.unwrap();
    tg.push_text(CHAT, OWNER, "/cancel");
    let ask = answer(&tg, "Cancel the shutdown of", 1).await;
    tg.push_press(CHAT, OWNER, &ask.buttons[0].1);
    until("the countdown to end", || app.guard.running().is_none()).await;
    // The traffic is back above level 1 (a renewal): the cancellation ends, and says so.
    bss.set_gb(ID, 7.0, 100.0);
    app.poll_and_evaluate().await;
    answer(&tg, "The package's level changed", 1).await;
    let status = app.status().await;
    assert_eq!(
        status["alerting"]["shutdown"]["cancelled_by_command"],
        serde_json::json!({}),
        "{status}"
    );
    // Below level 1 again: the guard is asked again.
    bss.set_gb(ID, 1.0, 100.0);
    let _ = app.poller.poll_once().await;
    app.engine.evaluate(chrono::Utc::now()).await.unwrap();
    assert_eq!(app.guard.running().as_deref(), Some(ID));
    assert_eq!(app.calls.count(), 0);
    app.stop().await;
}

#[tokio::test]
async fn start_in_huawei_api_mode_follows_the_auto_start_rules() {
    const SRV: &str = "72a270de-665a-4f46-8d64-24ad6edccdd1";
    const PROJECT: &str = "fedcba9876543210fedcba9876543210";
    const REGION: &str = "ap-southeast-1";
    let bss = FakeBss::start().await;
    let tg = FakeTelegram::start().await;
    let cloud = FakeCloud::start().await;
    cloud.add_server("sg-a", SRV, PROJECT, REGION, ID);
    let instances = format!("{ID}:{SRV}:sg-a:{REGION}:{PROJECT}");
    let env = env(
        &bss,
        &tg,
        &[
            ("SHUTDOWN_MODE", "huawei-api"),
            ("SHUTDOWN_DELAY", "0s"),
            ("HUAWEICLOUD_ECS_ENDPOINT", &cloud.url()),
            ("HUAWEICLOUD_RMS_ENDPOINT", &cloud.url()),
            ("ECS_JOB_TIMEOUT", "5s"),
            ("FLEXUS_INSTANCES", &instances),
        ],
    );
    let app = TestApp::spawn_with(&env, Spawn::real_executor()).await;
    tg.push_text(CHAT, OWNER, "/start");
    answer(&tg, "No instance stopped by this program", 1).await;
    // A cycle that ends in a few minutes, so that the next one may begin during the test.
    let old_cycle = cycle_ending_in(8);
    bss.set_entry(
        ID,
        in_cycle(
            package(
                ID,
                serde_json::json!(1),
                serde_json::json!(100),
                serde_json::json!(10),
            ),
            old_cycle,
        ),
    );
    app.poll_and_evaluate().await;
    assert_eq!(cloud.status(SRV), "SHUTOFF");
    // Same cycle: not started, whoever asks.
    tg.push_text(CHAT, OWNER, "/start");
    answer(&tg, "Not starting <b>sg-a</b>", 1).await;
    assert_eq!(cloud.actions().len(), 1);
    // A new cycle: started (AUTO_START is off; only the command starts it).
    let p = package(
        ID,
        serde_json::json!(100),
        serde_json::json!(100),
        serde_json::json!(10),
    );
    let p = in_cycle(p, next_cycle(old_cycle.1));
    bss.set_entry(ID, p);
    app.poll_and_evaluate().await;
    assert_eq!(cloud.actions().len(), 1, "no automatic start");
    tg.push_text(CHAT, OWNER, "/start");
    answer(&tg, "Starting <b>sg-a</b>", 1).await;
    app.engine.wait_auto_start().await;
    until("the instance to start", || cloud.status(SRV) == "ACTIVE").await;
    app.settle().await;
    answer(&tg, "started again", 1).await;
    app.stop().await;
}

#[tokio::test]
async fn a_refused_token_is_logged_once_without_the_token() {
    let bss = FakeBss::start().await;
    let tg = FakeTelegram::start().await;
    const WRONG: &str = "999999:WRONG-SECRET-BOT-TOKEN";
    let mut env = env(&bss, &tg, &[]);
    env.retain(|(k, _)| k != "TELEGRAM_BOT_TOKEN");
    env.push(("TELEGRAM_BOT_TOKEN".into(), WRONG.into()));
    let port = crate::helpers::free_port();
    env.push(("LISTEN_ADDR".into(), format!("127.0.0.1:{port}")));
    let mut child = crate::helpers::process::spawn_serve(&env);
    let stderr = child.stderr.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel::<String>();
    let reader = std::thread::spawn(move || {
        use std::io::BufRead;
        let mut all = String::new();
        for line in std::io::BufReader::new(stderr)
            .lines()
            .map_while(Result::ok)
        {
            let _ = tx.send(line.clone());
            all.push_str(&line);
            all.push('\n');
        }
        all
    });
    let found = tokio::task::spawn_blocking(move || {
        let deadline = Instant::now() + Duration::from_secs(20);
        while let Ok(line) = rx.recv_timeout(deadline.saturating_duration_since(Instant::now())) {
            if line.contains("refused the bot token") {
                return true;
            }
        }
        false
    })
    .await
    .unwrap();
    crate::helpers::process::stop(child).await;
    let all = reader.join().unwrap();
    assert!(found, "{all}");
    assert_eq!(all.matches("refused the bot token").count(), 1, "{all}");
    assert!(
        !all.contains(WRONG) && !all.contains("WRONG-SECRET"),
        "{all}"
    );
    assert!(tg.update_calls() >= 1);
}

#[tokio::test]
async fn a_button_pressed_once_the_shutdown_is_under_way_says_it_is_too_late() {
    let bss = FakeBss::start().await;
    let tg = FakeTelegram::start().await;
    let dir = state_dir("bot-too-late");
    // The command takes a while: the guard is acting while the user presses the button.
    let (script, marker) = marker_script(&dir, "sleep 5");
    let env = env(
        &bss,
        &tg,
        &[
            ("SHUTDOWN_DELAY", "0s"),
            ("SHUTDOWN_COMMAND", script.to_str().unwrap()),
        ],
    );
    let app = TestApp::spawn_with(&env, Spawn::real_executor()).await;
    bss.set_gb(ID, 1.0, 100.0);
    let _ = app.poller.poll_once().await;
    app.engine.evaluate(chrono::Utc::now()).await.unwrap();
    until("the shutdown command to run", || marker.exists()).await;
    tg.push_text(CHAT, OWNER, "/cancel");
    let ask = answer(&tg, "Cancel the shutdown of", 1).await;
    let press = tg.push_press(CHAT, OWNER, &ask.buttons[0].1);
    until("the press to be answered", || {
        tg.callback_answers().iter().any(|(id, _)| *id == press)
    })
    .await;
    let answers = tg.callback_answers();
    assert!(answers[0].1.contains("Too late"), "{answers:?}");
    app.settle().await;
    assert_eq!(tg.count("Shutdown cancelled"), 0, "{:?}", tg.texts());
    assert!(tg.count("shutdown executed") >= 1, "{:?}", tg.texts());
    let status = app.status().await;
    assert_eq!(
        status["alerting"]["shutdown"]["cancelled_by_command"],
        serde_json::json!({}),
        "{status}"
    );
    app.stop().await;
}

#[tokio::test]
async fn report_answers_with_the_text_of_the_report_sent_around_the_reset() {
    let bss = FakeBss::start().await;
    let tg = FakeTelegram::start().await;
    let end = chrono::Utc::now() + chrono::Duration::hours(20);
    bss.set_cycle(ID, 150.0, 200.0, end - chrono::Duration::days(30), end);
    let app = TestApp::spawn(&env(&bss, &tg, &[("MESSAGE_LANG", "zh")])).await;
    app.poller.poll_once().await.unwrap();
    assert_eq!(app.engine.reports(chrono::Utc::now()).await.unwrap(), 1);
    app.settle().await;
    let scheduled = answer(&tg, "流量周期即将重置", 1).await;
    tg.push_text(CHAT, OWNER, "/report");
    let asked = answer(&tg, "📋 <b>流量报告</b>", 1).await;
    // The same report: only the heading differs.
    let body = |t: &str| t.lines().skip(1).map(String::from).collect::<Vec<_>>();
    assert_eq!(body(&asked.text), body(&scheduled.text));
    assert!(
        asked.text.contains("剩余（账单）：<b>150.00 GB</b>"),
        "{}",
        asked.text
    );
    assert!(
        asked.text.contains("剩余（实时估算）：未知"),
        "{}",
        asked.text
    );
    assert_eq!(commands(&app, "report", "ok").await, Some(1.0));
    app.stop().await;
}
