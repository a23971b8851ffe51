//! Every command speaks the one language the messages follow: `MESSAGE_LANG` (Chinese by default,
//! English with `MESSAGE_LANG=en`). Each command runs in both languages, and what it prints passes
//! the messages' language checker: in Chinese no English sentence outside names, codes (`` `…` ``)
//! and quoted outside text (`「…」`); in English no Chinese. Timestamped log lines are the
//! operator's and may stay English; the fake cloud's own names of its products are its data.

use std::process::Output;

use flexus_traffic_monitor::messages::language::{english_runs, has_cjk};
use flexus_traffic_monitor::messages::Lang;

use crate::helpers::process::{output_text, run};
use crate::helpers::{base_env, bss_and_telegram, state_dir, telegram_env, vars, ID};

/// What the cloud calls things (the fake BSS's product and usage names): outside data.
const CLOUD_NAMES: &[&str] = &["Lightweight BGP data package", "Uplink traffic"];

/// A log line (`2026-…Z  WARN …`), the operator's, in English.
fn is_log_line(line: &str) -> bool {
    line.len() > 20
        && line.as_bytes()[..4].iter().all(u8::is_ascii_digit)
        && line[..20].contains('T')
}

/// The sentences of `text` in the wrong language for `lang`, one per offending line.
fn wrong_language(text: &str, lang: &str) -> Vec<String> {
    let mut text = text.to_string();
    for name in CLOUD_NAMES {
        text = text.replace(name, "·");
    }
    let lines: Vec<&str> = text.lines().filter(|l| !is_log_line(l)).collect();
    if lang == "en" {
        return lines
            .into_iter()
            .filter(|l| has_cjk(l))
            .map(str::to_string)
            .collect();
    }
    // Spans (`「…」`, `` `…` ``) may hold line breaks: check the whole text, then name the lines.
    let runs = english_runs(&lines.join("\n"));
    runs.into_iter()
        .map(|run| {
            let line = lines
                .iter()
                .find(|l| l.contains(run.split(' ').next().unwrap_or_default()));
            format!("{run:?} in {:?}", line.unwrap_or(&""))
        })
        .collect()
}

/// Runs `args` with `env` in `lang` and checks everything it printed.
async fn speaks(env: &[(String, String)], args: &[&str], lang: &str) -> Output {
    let mut env: Vec<(String, String)> = env
        .iter()
        .filter(|(k, _)| k != "MESSAGE_LANG")
        .cloned()
        .collect();
    if lang == "en" {
        env.push(("MESSAGE_LANG".into(), "en".into()));
    }
    let out = run(&env, args).await;
    let text = output_text(&out);
    let wrong = wrong_language(&text, lang);
    assert!(
        wrong.is_empty(),
        "`{}` with MESSAGE_LANG={lang}:\n{wrong:#?}\n--- printed:\n{text}",
        args.join(" ")
    );
    assert!(
        !text.trim().is_empty(),
        "`{}` printed nothing",
        args.join(" ")
    );
    out
}

#[tokio::test]
async fn help_of_the_binary_and_of_every_command_follows_message_lang() {
    for lang in ["zh", "en"] {
        for args in [&["--help"][..], &["-h"], &["help"], &["help", "check"]] {
            let out = speaks(&[], args, lang).await;
            assert!(out.status.success(), "{args:?}");
        }
        let commands: Vec<String> = flexus_traffic_monitor::cli::command(Lang::En)
            .get_subcommands()
            .map(|c| c.get_name().to_string())
            .collect();
        assert!(commands.len() >= 8, "{commands:?}");
        for command in &commands {
            for flag in ["--help", "-h"] {
                let out = speaks(&[], &[command, flag], lang).await;
                assert!(out.status.success(), "{command} {flag}");
            }
        }
    }
    // Flags and commands keep their names in every language.
    let zh = output_text(&run(&[], &["check", "--help"]).await);
    assert!(
        zh.contains("--no-send") && zh.contains("--json") && zh.contains("用法"),
        "{zh}"
    );
    // A `.env` that says MESSAGE_LANG=en is the setting too.
    let dir = state_dir("lang-env");
    std::fs::write(dir.join("env"), "MESSAGE_LANG=en\n").unwrap();
    let file = dir.join("env").display().to_string();
    let en = output_text(&run(&[], &["--env-file", &file, "--help"]).await);
    assert!(en.contains("Usage:") && !has_cjk(&en), "{en}");
}

#[tokio::test]
async fn config_problems_warnings_and_verdicts_follow_message_lang() {
    let broken = vars(&[
        ("THRESHOLD_LEVEL_1", "x"),
        ("POLL_INTERVAL", "soon"),
        ("LEVEL2_ACTIONS", "shutdown"),
        ("SMTP_PORT", "587"),
        ("THRESHOLD_LEVLE_2", "5"),
    ]);
    let state = state_dir("lang-config").display().to_string();
    let unwise = vars(&[
        ("HUAWEICLOUD_SDK_AK", "ak"),
        ("HUAWEICLOUD_SDK_SK", "sk"),
        ("FREE_RESOURCE_IDS", "pkg"),
        ("STATE_DIR", &state),
        ("THRESHOLD_LEVLE_2", "5"),
    ]);
    for lang in ["zh", "en"] {
        for args in [&["config"][..], &["config", "--json"], &["check"]] {
            let out = speaks(&broken, args, lang).await;
            assert_eq!(out.status.code(), Some(1), "{args:?}");
        }
        let out = speaks(&unwise, &["config"], lang).await;
        assert_eq!(out.status.code(), Some(0));
        let out = speaks(&[], &["config"], lang).await;
        assert_eq!(out.status.code(), Some(1));
    }
}

#[tokio::test]
async fn check_discover_lift_and_notify_test_follow_message_lang() {
    let (fake, tg) = bss_and_telegram().await;
    fake.set_gb(ID, 15.0, 100.0);
    let env = base_env(&fake, &[ID]);
    let mut unreachable = env.clone();
    unreachable.push((
        "HUAWEICLOUD_BSS_ENDPOINT".into(),
        "http://127.0.0.1:1".into(),
    ));
    let mut with_telegram = env.clone();
    with_telegram.extend(telegram_env(&tg));
    let mut dry = env.clone();
    dry.extend(vars(&[("DRY_RUN", "true")]));
    for lang in ["zh", "en"] {
        let out = speaks(&env, &["check", "--no-send"], lang).await;
        assert_eq!(out.status.code(), Some(0), "{}", output_text(&out));
        let out = speaks(&unreachable, &["check"], lang).await;
        assert_eq!(out.status.code(), Some(2));
        let out = speaks(&env, &["discover"], lang).await;
        assert_eq!(out.status.code(), Some(0), "{}", output_text(&out));
        let out = speaks(&unreachable, &["discover"], lang).await;
        assert_eq!(out.status.code(), Some(2));
        let out = speaks(&dry, &["lift"], lang).await;
        assert_eq!(out.status.code(), Some(0), "{}", output_text(&out));
        let out = speaks(&env, &["notify-test"], lang).await;
        assert_eq!(out.status.code(), Some(1));
        let out = speaks(&with_telegram, &["notify-test"], lang).await;
        assert_eq!(out.status.code(), Some(0), "{}", output_text(&out));
    }
}

#[tokio::test]
async fn env_file_mistakes_follow_message_lang() {
    let dir = state_dir("lang-envfile");
    std::fs::write(dir.join("env"), "FREE_RESOURCE_IDS='abc\nSERVER_NAME\n").unwrap();
    let broken = dir.join("env").display().to_string();
    let missing = dir.join("nothing").display().to_string();
    for lang in ["zh", "en"] {
        for file in [&broken, &missing] {
            let out = speaks(&[], &["--env-file", file, "config"], lang).await;
            assert_eq!(out.status.code(), Some(1));
        }
    }
}
