//! Several Huawei accounts in one process (`ACCOUNTS`): two fake BSS gateways, each accepting
//! only its own account's key pair (the fake checks the signature), on two sites. One account
//! failing — a wrong key answered 401 by the gateway, or a gateway that stalls until the timeout —
//! never delays the other's readings, alerts or shutdown, and both are named in messages, the
//! status API, the metrics and the page. The keys never show.

use std::time::{Duration, Instant};

use serde_json::Value;

use crate::helpers::fakes::{OtherKeys, AK, AK2, SK, SK2};
use crate::helpers::process::run;
use crate::helpers::{
    get_json, get_text, state_dir, telegram_env, vars, FakeBss, FakeTelegram, Reply, Spawn, TestApp,
};

const CN: &str = "pkg-cn-0001";
const INTL: &str = "pkg-intl-0002";

/// Two accounts: `cn` on the first fake, `intl` (site intl) on the second, with `intl_sk` as
/// the international account's secret key; thresholds 5/10/20 GB.
fn two_accounts(cn: &FakeBss, intl: &FakeBss, intl_sk: &str, name: &str) -> Vec<(String, String)> {
    let mut env = vars(&[
        ("ACCOUNTS", "cn,intl"),
        ("ACCOUNT_CN_HUAWEICLOUD_SDK_AK", AK),
        ("ACCOUNT_CN_HUAWEICLOUD_SDK_SK", SK),
        ("ACCOUNT_CN_FREE_RESOURCE_IDS", CN),
        ("ACCOUNT_INTL_HUAWEICLOUD_SDK_AK", AK2),
        ("ACCOUNT_INTL_HUAWEICLOUD_SITE", "intl"),
        ("ACCOUNT_INTL_FREE_RESOURCE_IDS", INTL),
        ("ACCOUNT_INTL_SHUTDOWN_MODE", "off"),
        ("SERVER_NAME", "box"),
        ("THRESHOLD_LEVEL_1", "5"),
        ("THRESHOLD_LEVEL_2", "10"),
        ("THRESHOLD_LEVEL_3", "20"),
        ("SHUTDOWN_DELAY", "0s"),
        ("EGRESS_COUNTER", "off"),
        ("POLL_FAILURES_BEFORE_ALERT", "1"),
    ]);
    env.extend(vars(&[
        ("ACCOUNT_CN_HUAWEICLOUD_BSS_ENDPOINT", &cn.url()),
        ("ACCOUNT_INTL_HUAWEICLOUD_BSS_ENDPOINT", &intl.url()),
        ("ACCOUNT_INTL_HUAWEICLOUD_SDK_SK", intl_sk),
        ("STATE_DIR", &state_dir(name).display().to_string()),
    ]));
    env
}

fn no_secret(what: &str, text: &str) {
    for secret in [SK, SK2, "wrong-intl-sk-secret"] {
        assert!(!text.contains(secret), "{secret} in {what}:\n{text}");
    }
}

#[tokio::test]
async fn an_account_with_a_wrong_key_never_blocks_the_others_alert_and_both_are_named() {
    let cn = FakeBss::start().await;
    let intl = FakeBss::start_with_keys::<OtherKeys>().await;
    let tg = FakeTelegram::start().await;
    cn.set_gb(CN, 8.0, 100.0);
    intl.set_gb(INTL, 50.0, 100.0);
    let mut env = two_accounts(&cn, &intl, "wrong-intl-sk-secret", "accounts-401");
    env.extend(telegram_env(&tg));
    let app = TestApp::spawn(&env).await;
    app.poll_and_evaluate().await;

    // Each gateway saw its own account's signature: the right key passes, the wrong one is 401.
    assert!(cn.valid_signatures() >= 1 && cn.bad_signatures() == 0);
    assert!(intl.bad_signatures() >= 1 && intl.valid_signatures() == 0);

    // The cn account's level-2 alert went out, naming it; the intl failure is told as intl's.
    let texts = tg.texts().join("\n---\n");
    assert!(tg.has(&["box [cn]", "8.00"]), "{texts}");
    assert!(
        tg.has(&[
            "box [intl]",
            "Account: <b>intl</b>",
            "the other accounts are read as usual",
            "ACCOUNT_INTL_HUAWEICLOUD_SDK_AK"
        ]),
        "{texts}"
    );
    assert!(!tg.has(&["box [cn]", "APIGW.0301"]), "{texts}");
    no_secret("messages", &texts);

    let status = get_json(&format!("{}/api/v1/status", app.base_url)).await;
    let accounts = status["accounts"].as_array().unwrap();
    let by = |name: &str| accounts.iter().find(|a| a["name"] == name).unwrap().clone();
    assert_eq!(by("cn")["up"], true, "{status:#}");
    assert_eq!(by("intl")["up"], false, "{status:#}");
    assert_eq!(by("intl")["site"], "intl");
    assert_eq!(by("intl")["shutdown_mode"], "off");
    assert!(
        by("intl")["last_error"]
            .as_str()
            .unwrap()
            .contains("APIGW.0301"),
        "{status:#}"
    );
    let pkg = |id: &str| -> Value {
        status["packages"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["free_resource_id"] == id)
            .unwrap()
            .clone()
    };
    assert_eq!(pkg(CN)["account"], "cn");
    assert_eq!(pkg(CN)["reading"]["remaining_gb"], 8.0);
    assert_eq!(pkg(INTL)["account"], "intl");
    no_secret("/api/v1/status", &status.to_string());

    let summary = get_json(&format!("{}/api/v1/summary", app.base_url)).await;
    assert!(
        summary.to_string().contains("\"account\":\"intl\""),
        "{summary}"
    );

    let metrics = app.scrape().await;
    assert!(
        metrics.contains("flexus_bss_up{account=\"cn\"} 1"),
        "{metrics}"
    );
    assert!(
        metrics.contains("flexus_bss_up{account=\"intl\"} 0"),
        "{metrics}"
    );
    assert!(
        metrics.contains(&format!(
            "flexus_free_traffic_remaining_gb{{account=\"cn\",free_resource_id=\"{CN}\""
        )),
        "{metrics}"
    );
    no_secret("/metrics", &metrics);

    let page = get_text(&format!("{}/?lang=en", app.base_url)).await;
    assert!(
        page.contains("box [cn]") && page.contains("Account intl"),
        "{page}"
    );
    assert!(
        page.contains("ACCOUNT_INTL_HUAWEICLOUD_SDK_SK"),
        "the fix names the variable"
    );
    no_secret("the page", &page);
    app.stop().await;
}

#[tokio::test]
async fn an_account_that_stalls_delays_neither_the_others_readings_nor_its_shutdown() {
    let cn = FakeBss::start().await;
    let intl = FakeBss::start_with_keys::<OtherKeys>().await;
    let tg = FakeTelegram::start().await;
    cn.set_gb(CN, 3.0, 100.0);
    intl.set_gb(INTL, 4.0, 100.0);
    // The international gateway hangs past the timeout on every call (retries included).
    for _ in 0..8 {
        intl.push(Reply::Stall(Duration::from_secs(30)));
    }
    let mut env = two_accounts(&cn, &intl, SK2, "accounts-stall");
    env.extend(telegram_env(&tg));
    env.extend(vars(&[("HTTP_TIMEOUT", "15s")]));
    let app = TestApp::spawn_with(&env, Spawn::background()).await;
    let started = Instant::now();
    let poller = app.poller.clone();
    let polling = tokio::spawn(async move { poller.poll_once().await });

    // The cn reading lands, is judged (level 1) and its shutdown is carried out — with a fresh
    // re-read of cn alone — while intl is still hanging.
    let deadline = started + Duration::from_secs(8);
    while app.calls.count() == 0 {
        assert!(
            Instant::now() < deadline,
            "no shutdown for cn within 8 s: {:?}",
            tg.texts()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let took = started.elapsed();
    assert!(!polling.is_finished(), "intl is still stalled");
    assert!(took < Duration::from_secs(8), "{took:?}");
    assert_eq!(app.calls.count(), 1);
    app.notifier.flush(Duration::from_secs(10)).await;
    let texts = tg.texts().join("\n---\n");
    assert!(tg.has(&["box [cn]"]), "{texts}");
    // intl's level 1 shuts nothing down (its SHUTDOWN_MODE=off), and it was not read yet.
    let snap = app.app.snapshot.read().await.clone();
    let intl_pkg = snap
        .packages
        .iter()
        .find(|p| p.free_resource_id == INTL)
        .unwrap();
    assert!(intl_pkg.reading.is_none());
    polling.abort();
    app.stop().await;
    println!("cn shut down {took:?} after the poll began, intl still stalling");
}

#[tokio::test]
async fn config_explains_each_accounts_mistakes_in_chinese_and_english_without_secrets() {
    let env = vars(&[
        ("ACCOUNTS", "cn,intl"),
        ("ACCOUNT_CN_HUAWEICLOUD_SDK_AK", "ak-cn"),
        ("ACCOUNT_CN_HUAWEICLOUD_SDK_SK", "sk-cn-very-secret"),
        ("ACCOUNT_CN_FREE_RESOURCE_IDS", "pkg-a"),
        ("ACCOUNT_CNN_HUAWEICLOUD_SDK_SK", "sk-typo-very-secret"),
        ("ACCOUNT_INTL_HUAWEICLOUD_SITE", "mars"),
        ("ACCOUNT_INTL_TELEGRAM_CHAT_ID", "1"),
        ("ACCOUNT_INTL_FREE_RESOURCE_IDS", "pkg-a"),
        (
            "STATE_DIR",
            &state_dir("accounts-config").display().to_string(),
        ),
    ]);
    let out = run(&env, &["config"]).await;
    assert!(!out.status.success());
    let zh = crate::helpers::process::output_text(&out);
    for want in [
        "ACCOUNT_CNN_HUAWEICLOUD_SDK_SK：所属账号 `cnn` 未在 ACCOUNTS 中列出（ACCOUNTS=cn,intl）；改法：把 cnn 加入 ACCOUNTS",
        "ACCOUNT_INTL_HUAWEICLOUD_SITE=\"mars\"",
        "ACCOUNT_INTL_TELEGRAM_CHAT_ID：TELEGRAM_CHAT_ID 不能按账号设置",
        "ACCOUNT_INTL_FREE_RESOURCE_IDS=\"pkg-a\"：也列在账号 cn 下",
    ] {
        assert!(zh.contains(want), "{want} missing:\n{zh}");
    }
    let mut en_env = env.clone();
    en_env.push(("MESSAGE_LANG".into(), "en".into()));
    let en = crate::helpers::process::output_text(&run(&en_env, &["config"]).await);
    assert!(
        en.contains(
            "ACCOUNT_CNN_HUAWEICLOUD_SDK_SK: belongs to an account `cnn` that is not listed"
        ),
        "{en}"
    );
    for text in [&zh, &en] {
        assert!(!text.contains("very-secret"), "{text}");
    }

    // A valid pair of accounts: `config` shows each account's own values, keys redacted.
    let mut ok = env.clone();
    ok.retain(|(k, _)| {
        ![
            "ACCOUNT_CNN_HUAWEICLOUD_SDK_SK",
            "ACCOUNT_INTL_TELEGRAM_CHAT_ID",
        ]
        .contains(&k.as_str())
    });
    ok.extend(vars(&[
        ("ACCOUNT_INTL_HUAWEICLOUD_SITE", "intl"),
        ("ACCOUNT_INTL_FREE_RESOURCE_IDS", "pkg-b"),
        ("ACCOUNT_INTL_HUAWEICLOUD_SDK_AK", "ak-intl"),
        ("ACCOUNT_INTL_HUAWEICLOUD_SDK_SK", "sk-intl-very-secret"),
        ("MESSAGE_LANG", "en"),
    ]));
    let out = run(&ok, &["config"]).await;
    let text = crate::helpers::process::output_text(&out);
    assert!(out.status.success(), "{text}");
    for want in [
        "ACCOUNTS=cn,intl",
        "ACCOUNT_INTL_HUAWEICLOUD_SDK_SK=[redacted]",
        "ACCOUNT_INTL_HUAWEICLOUD_BSS_ENDPOINT=https://bss-intl.myhuaweicloud.com/",
        "ACCOUNT_CN_FREE_RESOURCE_IDS=pkg-a",
    ] {
        assert!(text.contains(want), "{want} missing:\n{text}");
    }
    assert!(!text.contains("very-secret"), "{text}");
}

#[tokio::test]
async fn the_single_account_variables_keep_their_series_and_status_unchanged() {
    let (bss, tg) = crate::helpers::bss_and_telegram().await;
    bss.set_gb(crate::helpers::ID, 50.0, 100.0);
    let app = TestApp::spawn(&crate::helpers::app_env(&bss, &tg, &[])).await;
    app.poll_and_evaluate().await;
    let metrics = app.scrape().await;
    assert!(metrics.contains("\nflexus_bss_up 1\n"), "{metrics}");
    assert!(!metrics.contains("account="), "{metrics}");
    let status = get_json(&format!("{}/api/v1/status", app.base_url)).await;
    assert!(status.get("accounts").is_none(), "{status:#}");
    assert!(status["packages"][0].get("account").is_none());
    assert!(
        !tg.texts().join("\n").contains("test-server ["),
        "{:?}",
        tg.texts()
    );
    app.stop().await;
}

#[tokio::test]
async fn discover_lists_each_accounts_packages_with_its_own_keys_and_line() {
    let cn = FakeBss::start().await;
    let intl = FakeBss::start_with_keys::<OtherKeys>().await;
    cn.set_gb(CN, 80.0, 100.0);
    intl.set_gb(INTL, 150.0, 200.0);
    let mut env = two_accounts(&cn, &intl, SK2, "accounts-discover");
    env.push(("MESSAGE_LANG".into(), "en".into()));
    let out = run(&env, &["discover"]).await;
    let text = crate::helpers::process::output_text(&out);
    assert!(out.status.success(), "{text}");
    for want in [
        "== account cn (cn) ==",
        "== account intl (intl) ==",
        &format!("ACCOUNT_CN_FREE_RESOURCE_IDS={CN}"),
        &format!("ACCOUNT_INTL_FREE_RESOURCE_IDS={INTL}"),
    ] {
        assert!(text.contains(want), "{want} missing:\n{text}");
    }
    assert!(cn.valid_signatures() >= 1 && intl.valid_signatures() >= 1);
    assert_eq!(cn.bad_signatures() + intl.bad_signatures(), 0);
    no_secret("discover", &text);
}
