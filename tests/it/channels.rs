//! Every notification channel against its local fake: the documented request format and
//! signature, the service's own error and throttling answers, limits, independence of channels,
//! no duplicates after a restart, and no secret in any answer.

use std::time::Duration;

use flexus_traffic_monitor::messages::{Facts, Message};

use crate::helpers::fakes::channels::{FakeChannels, SECRETS, SERVICES};
use crate::helpers::process::run;
use crate::helpers::{base_env, metric, notifications, numbered_alert, FakeBss, TestApp};

const ID: &str = "pkg-1";

async fn setup(extra: &[(&str, &str)]) -> (FakeBss, FakeChannels, Vec<(String, String)>) {
    let bss = FakeBss::start().await;
    let ch = FakeChannels::start().await;
    let mut env = base_env(&bss, &[ID]);
    env.extend(ch.env());
    env.push(("MESSAGE_LANG".into(), "en".into()));
    env.extend(extra.iter().map(|(k, v)| (k.to_string(), v.to_string())));
    (bss, ch, env)
}

fn assert_no_secret(text: &str) {
    for s in SECRETS {
        assert!(!text.contains(s), "secret {s} leaked in: {text}");
    }
}

#[tokio::test]
async fn every_channel_gets_the_alert_in_its_format_in_both_languages() {
    for (lang, title) in [("en", "Traffic alert (normal)"), ("zh", "流量告警（普通）")] {
        let (bss, ch, env) = setup(&[
            ("SERVER_NAME", "my_server*1 <prod>"),
            ("MESSAGE_LANG", lang),
        ])
        .await;
        bss.set_gb(ID, 15.0, 100.0);
        let app = TestApp::spawn(&env).await;
        app.poll_and_evaluate().await;
        for service in SERVICES {
            let got = ch.received(service);
            assert_eq!(got.len(), 1, "{lang} {service}: {got:#?}");
            assert!(
                got[0].text.contains("15.00 GB"),
                "{service}: {}",
                got[0].text
            );
        }
        // Markup per service, outside text escaped the service's way.
        assert!(
            ch.count("feishu", "**my&#95;server&#42;1 &#60;prod&#62;**") == 1,
            "{:?}",
            ch.received("feishu")
        );
        for md in ["dingtalk", "wecom", "serverchan", "pushplus"] {
            assert_eq!(
                ch.count(md, r"**my\_server\*1 \<prod\>**"),
                1,
                "{md}: {:?}",
                ch.received(md)
            );
        }
        for plain in ["bark", "webhook"] {
            let t = &ch.received(plain)[0].text;
            assert!(
                t.contains("my_server*1 <prod>") && !t.contains("<b>"),
                "{plain}: {t}"
            );
        }
        for titled in ["feishu", "dingtalk", "serverchan", "pushplus", "bark"] {
            assert!(
                ch.received(titled)[0].title.contains(title),
                "{titled}: {:?}",
                ch.received(titled)[0].title
            );
        }
        let hook = &ch.received("webhook")[0].body;
        assert_eq!(hook["kind"], "alert");
        assert_eq!(hook["level"], "level3");
        assert_eq!(hook["server"], "my_server*1 <prod>");
        assert_eq!(hook["figures"]["remaining_gb"], 15.0);
        assert_eq!(hook["package"]["free_resource_id"], ID);
        assert!(hook["cycle"]["end"].is_string(), "{hook}");
        assert_eq!(app.notifier.pending(), 0);
    }
}

#[tokio::test]
async fn one_channel_down_never_delays_or_drops_another() {
    let (_bss, ch, env) = setup(&[]).await;
    ch.set_down("dingtalk", true);
    let app = TestApp::spawn(&env).await;
    for i in 0..2 {
        app.notifier.enqueue(&numbered_alert(i)).unwrap();
    }
    app.notifier.flush(Duration::from_secs(9)).await;
    for service in SERVICES.iter().filter(|s| **s != "dingtalk") {
        assert_eq!(ch.received(service).len(), 2, "{service}");
    }
    assert!(ch.received("dingtalk").is_empty());
    assert!(ch.attempts("dingtalk") >= 2, "retried");
    let st = app.status().await;
    assert_eq!(st["alerting"]["channels"]["dingtalk"]["pending"], 2, "{st}");
    assert_eq!(st["alerting"]["channels"]["wecom"]["pending"], 0, "{st}");
    let m = app.scrape().await;
    assert_eq!(
        metric(
            &m,
            "flexus_notifications_pending",
            &["channel=\"dingtalk\""]
        ),
        Some(2.0)
    );
    assert!(notifications(&m, "dingtalk", "retry").unwrap() >= 2.0);
    assert_eq!(notifications(&m, "feishu", "sent"), Some(2.0));
    assert_no_secret(&st.to_string());
    assert_no_secret(&m);
    // Back up: each message once, in order.
    ch.set_down("dingtalk", false);
    app.notifier.flush(Duration::from_secs(30)).await;
    let texts: Vec<String> = ch
        .received("dingtalk")
        .into_iter()
        .map(|r| r.text)
        .collect();
    assert_eq!(texts.len(), 2, "{texts:?}");
    assert!(
        texts[0].contains("Alert0") && texts[1].contains("Alert1"),
        "{texts:?}"
    );
}

#[tokio::test]
async fn throttled_channels_wait_with_their_own_rules_and_keep_the_messages() {
    let (_bss, ch, env) = setup(&[]).await;
    // Feishu answers HTTP 200 with code 11232 past its limit: waited out, not a failure.
    ch.set_rate_limit("feishu", 1, Duration::from_secs(3600));
    // The webhook answers 429 with Retry-After: 1.
    ch.set_rate_limit("webhook", 1, Duration::from_secs(1));
    // PushPlus refuses the first message for good (its "data error"): kept in dead/, the rest go on.
    ch.push(
        "pushplus",
        200,
        serde_json::json!({"code": 600, "msg": "数据异常"}),
    );
    let app = TestApp::spawn(&env).await;
    for i in 0..3 {
        app.notifier.enqueue(&numbered_alert(i)).unwrap();
    }
    app.notifier.flush(Duration::from_secs(15)).await;
    assert_eq!(
        ch.received("webhook").len(),
        3,
        "waited Retry-After and went on"
    );
    assert_eq!(ch.received("feishu").len(), 1);
    let st = app.status().await;
    assert_eq!(st["alerting"]["channels"]["feishu"]["pending"], 2, "{st}");
    assert_eq!(st["alerting"]["channels"]["feishu"]["dead"], 0, "{st}");
    let m = app.scrape().await;
    assert!(notifications(&m, "feishu", "rate_limited").unwrap() >= 1.0);
    assert!(notifications(&m, "webhook", "rate_limited").unwrap() >= 1.0);
}

#[tokio::test]
async fn a_wrong_secret_keeps_messages_and_a_restart_sends_nothing_twice() {
    let (_bss, ch, env) = setup(&[]).await;
    let mut wrong = env.clone();
    wrong.push(("FEISHU_SECRET".into(), "not-the-secret".into()));
    wrong.push(("DINGTALK_SECRET".into(), "SECnot-the-secret".into()));
    let app = TestApp::spawn(&wrong).await;
    app.notifier.enqueue(&numbered_alert(1)).unwrap();
    app.notifier.flush(Duration::from_secs(8)).await;
    assert!(ch.received("feishu").is_empty() && ch.received("dingtalk").is_empty());
    assert_eq!(ch.received("wecom").len(), 1);
    let st = app.status().await;
    assert_eq!(
        st["alerting"]["channels"]["feishu"]["pending"], 1,
        "kept for when the secret is fixed"
    );
    assert_eq!(st["alerting"]["channels"]["dingtalk"]["pending"], 1);
    assert_no_secret(&st.to_string());
    app.stop().await;
    // Fixed and restarted: the two waiting messages go out; nobody gets a second copy.
    let again = TestApp::spawn(&env).await;
    again.notifier.flush(Duration::from_secs(15)).await;
    for service in SERVICES {
        assert_eq!(ch.count(service, "Alert1"), 1, "{service}");
    }
    assert_eq!(again.notifier.pending(), 0);
}

#[tokio::test]
async fn long_messages_are_split_to_each_services_limit() {
    let (_bss, ch, env) = setup(&[]).await;
    let app = TestApp::spawn(&env).await;
    let note = (0..400)
        .map(|i| format!("line {i:03} of a long note"))
        .collect::<Vec<_>>()
        .join("\n");
    let facts = Facts {
        server: "s".into(),
        note: Some(note),
        ..Default::default()
    };
    app.notifier.enqueue(&Message::Report { facts }).unwrap();
    app.notifier.flush(Duration::from_secs(40)).await;
    assert_eq!(app.notifier.pending(), 0);
    assert_eq!(
        app.notifier.dead(),
        0,
        "a part over a limit would be refused"
    );
    for (service, parts) in [("wecom", 2), ("bark", 3), ("feishu", 1), ("dingtalk", 1)] {
        let got = ch.received(service);
        assert!(got.len() >= parts, "{service}: {} parts", got.len());
        let all: String = got
            .iter()
            .map(|r| r.text.as_str())
            .collect::<Vec<_>>()
            .join("\n");
        for i in [0, 199, 399] {
            assert_eq!(
                all.matches(&format!("line {i:03} of")).count(),
                1,
                "{service}: line {i}"
            );
        }
    }
    let webhook = ch.received("webhook");
    assert_eq!(
        webhook[0].body["parts"],
        webhook.len(),
        "{:?}",
        webhook[0].body
    );
}

#[tokio::test]
async fn notify_test_prints_every_channels_answer_and_no_secret() {
    let (_bss, ch, env) = setup(&[]).await;
    let out = run(&env, &["notify-test"]).await;
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(
        out.status.success(),
        "{text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    for service in SERVICES {
        assert!(
            text.contains(&format!("[{service}] ok")),
            "{service}: {text}"
        );
        assert_eq!(ch.count(service, "test message"), 1, "{service}");
    }
    assert!(
        text.contains(r#""errmsg":"ok""#),
        "DingTalk's own answer is printed: {text}"
    );
    let mut wrong = env.clone();
    wrong.push(("DINGTALK_SECRET".into(), "SECwrong-secret-value".into()));
    let out = run(&wrong, &["notify-test"]).await;
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(!out.status.success());
    assert!(
        text.contains("[dingtalk] not delivered") && text.contains("sign not match"),
        "{text}"
    );
    assert!(text.contains("[wecom] ok"), "{text}");
    assert_no_secret(&text);
    assert_no_secret(&String::from_utf8_lossy(&out.stderr));
    assert!(!text.contains("SECwrong-secret-value"));
}
