//! Unit tests of configuration parsing and validation.

use std::path::PathBuf;

use super::*;
use crate::level::Thresholds;
use crate::messages::Lang;
use crate::policy::Cadence;
use crate::target::Target;

fn cfg(pairs: &[(&str, &str)]) -> Result<Config, ConfigErrors> {
    let raw =
        RawConfig::from_pairs(pairs.iter().map(|(k, v)| (k.to_string(), v.to_string()))).unwrap();
    Config::from_raw(&raw)
}

#[test]
fn defaults_match_the_original_and_the_design() {
    let c = cfg(&[]).unwrap();
    assert_eq!(
        c.alerting.thresholds,
        Thresholds {
            t1: 200.0,
            t2: 300.0,
            t3: 500.0
        }
    );
    assert_eq!(c.watch.poll_interval, Duration::from_secs(600));
    assert_eq!(c.http.listen_addr.to_string(), "127.0.0.1:9184");
    assert_eq!(
        c.huawei.bss_endpoint.as_str(),
        "https://bss.myhuaweicloud.com/"
    );
    assert_eq!(c.state_dir, PathBuf::from("state"));
    assert!(!c.alerting.cadence.debug);
}

#[test]
fn thresholds_out_of_order_are_refused_naming_the_variables() {
    let e = cfg(&[("THRESHOLD_LEVEL_1", "300"), ("THRESHOLD_LEVEL_2", "200")]).unwrap_err();
    assert!(
        e.to_string()
            .contains("THRESHOLD_LEVEL_1 < THRESHOLD_LEVEL_2"),
        "{e}"
    );
    assert!(cfg(&[("THRESHOLD_LEVEL_2", "200"), ("THRESHOLD_LEVEL_1", "200")]).is_err());
    assert!(cfg(&[("THRESHOLD_LEVEL_3", "lots")])
        .unwrap_err()
        .to_string()
        .contains("THRESHOLD_LEVEL_3=\"lots\""));
}

#[test]
fn every_mistake_is_reported_at_once() {
    let e = cfg(&[
        ("POLL_INTERVAL", "often"),
        ("HUAWEICLOUD_SITE", "mars"),
        ("LISTEN_ADDR", "x"),
        ("HUAWEICLOUD_BSS_ENDPOINT", "ftp://x"),
    ])
    .unwrap_err();
    let vars: Vec<_> = e.0.iter().map(|e| e.variable.as_str()).collect();
    assert_eq!(
        vars,
        [
            "HUAWEICLOUD_SITE",
            "HUAWEICLOUD_BSS_ENDPOINT",
            "POLL_INTERVAL",
            "LISTEN_ADDR"
        ]
    );
    assert!(e.to_string().contains("e.g. 90s, 10m, 1h"));
}

#[test]
fn sites_pick_their_endpoint_and_the_override_wins() {
    assert_eq!(
        cfg(&[("HUAWEICLOUD_SITE", "intl")])
            .unwrap()
            .huawei
            .bss_endpoint
            .as_str(),
        "https://bss-intl.myhuaweicloud.com/"
    );
    assert_eq!(
        cfg(&[("HUAWEICLOUD_SITE", "EU")])
            .unwrap()
            .huawei
            .bss_endpoint
            .as_str(),
        "https://bss.myhuaweicloud.eu/"
    );
    let c = cfg(&[
        ("HUAWEICLOUD_SITE", "intl"),
        ("HUAWEICLOUD_BSS_ENDPOINT", "http://127.0.0.1:8080"),
    ])
    .unwrap();
    assert_eq!(c.huawei.bss_endpoint.as_str(), "http://127.0.0.1:8080/");
}

#[test]
fn durations_accept_the_documented_forms() {
    for (s, secs) in [
        ("90s", 90),
        ("10m", 600),
        ("1h", 3600),
        ("24h", 86400),
        ("45", 45),
    ] {
        assert_eq!(parse_duration(s), Some(Duration::from_secs(secs)));
    }
    assert_eq!(parse_duration("soon"), None);
}

#[test]
fn ids_are_split_trimmed_and_checked() {
    let c = cfg(&[("FREE_RESOURCE_IDS", " a-1, b_2 ,,")]).unwrap();
    assert_eq!(c.watch.free_resource_ids, ["a-1", "b_2"]);
    assert!(cfg(&[("FREE_RESOURCE_IDS", "a;b")]).is_err());
    assert!(cfg(&[("FREE_RESOURCE_IDS", "a,a")]).is_err());
}

#[test]
fn state_dir_in_tmp_is_warned_about_and_systemd_dir_is_used() {
    let c = cfg(&[("STATE_DIR", "/tmp/flexus")]).unwrap();
    assert!(c
        .warnings()
        .iter()
        .any(|w| w.contains("STATE_DIR=/tmp/flexus")));
    let c = cfg(&[("STATE_DIRECTORY", "/var/lib/flexus-traffic-monitor")]).unwrap();
    assert_eq!(
        c.state_dir,
        PathBuf::from("/var/lib/flexus-traffic-monitor")
    );
}

#[test]
fn debug_mode_reads_like_the_original() {
    for v in ["true", "1", "t", "TRUE"] {
        assert!(cfg(&[("DEBUG_MODE", v)]).unwrap().alerting.cadence.debug);
    }
    assert!(
        !cfg(&[("DEBUG_MODE", "yes")])
            .unwrap()
            .alerting
            .cadence
            .debug
    );
}

#[test]
fn secrets_never_print() {
    let c = cfg(&[
        ("HUAWEICLOUD_SDK_AK", "AKVALUE"),
        ("HUAWEICLOUD_SDK_SK", "SKVALUE"),
        ("TELEGRAM_BOT_TOKEN", "123:BOTVALUE"),
    ])
    .unwrap();
    let all = format!(
        "{c:?} {} {:?}",
        serde_json::to_string(&c).unwrap(),
        c.effective()
    );
    for s in ["AKVALUE", "SKVALUE", "BOTVALUE"] {
        assert!(!all.contains(s), "{s} leaked");
    }
    assert!(all.contains("[redacted]"));
}

#[test]
fn alerting_defaults_follow_the_original() {
    let c = cfg(&[]).unwrap();
    assert_eq!(c.alerting.cadence, Cadence::default());
    assert_eq!(c.shutdown.command, ["shutdown", "-h", "now"]);
    assert_eq!(c.shutdown.delay, Duration::from_secs(60));
    assert_eq!(c.shutdown.mode, ShutdownMode::Command);
    assert!(c.shutdown.repeat_after_boot && !c.shutdown.dry_run);
    assert_eq!(c.alerting.fallback, FallbackMode::Auto);
    assert_eq!(c.notify.lang, Lang::Zh);
    assert_eq!(
        c.notify.telegram.api_url.as_str(),
        "https://api.telegram.org/"
    );
}

#[test]
fn shutdown_command_is_split_without_a_shell() {
    let c = cfg(&[("SHUTDOWN_COMMAND", "sudo -n '/usr/sbin/shutdown' -h now")]).unwrap();
    assert_eq!(
        c.shutdown.command,
        ["sudo", "-n", "/usr/sbin/shutdown", "-h", "now"]
    );
    assert!(cfg(&[("SHUTDOWN_COMMAND", "shutdown 'unclosed")]).is_err());
    assert!(cfg(&[("SHUTDOWN_MODE", "reboot")])
        .unwrap_err()
        .to_string()
        .contains("SHUTDOWN_MODE"));
    assert!(cfg(&[("DRY_RUN", "maybe")])
        .unwrap_err()
        .to_string()
        .contains("DRY_RUN"));
}

#[test]
fn a_public_listen_address_needs_a_webhook_token() {
    let c = cfg(&[("LISTEN_ADDR", "0.0.0.0:9184")]).unwrap();
    assert!(c
        .require_serving()
        .unwrap_err()
        .to_string()
        .contains("WEBHOOK_TOKEN"));
    let c = cfg(&[
        ("LISTEN_ADDR", "0.0.0.0:9184"),
        ("WEBHOOK_TOKEN", "0123456789abcdef0123"),
    ])
    .unwrap();
    assert!(c.require_serving().is_ok());
    assert!(cfg(&[]).unwrap().require_serving().is_ok());
    assert!(cfg(&[("WEBHOOK_TOKEN", "short")]).is_err());
}

#[test]
fn serve_refuses_a_web_config_file_that_cannot_be_used_naming_the_variable_and_the_key() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("web.yml");
    std::fs::write(
        &file,
        "tls_server_config:\n  min_version: TLS10\n  cert_file: a.crt\n",
    )
    .unwrap();
    let c = cfg(&[("WEB_CONFIG_FILE", file.to_str().unwrap())]).unwrap();
    let e = c.require_serving().unwrap_err();
    assert_eq!(e.0.len(), 1, "{e}");
    assert_eq!(e.0[0].variable, "WEB_CONFIG_FILE");
    assert!(e.0[0].problem.starts_with("tls_server_config."), "{e}");
    assert!(e.0[0].zh.is_some());
    // Together with the webhook token's problem: every problem at once.
    let c = cfg(&[
        ("WEB_CONFIG_FILE", file.to_str().unwrap()),
        ("LISTEN_ADDR", "0.0.0.0:9184"),
    ])
    .unwrap();
    assert_eq!(c.require_serving().unwrap_err().0.len(), 2);
    std::fs::write(&file, "# nothing\n").unwrap();
    let c = cfg(&[("WEB_CONFIG_FILE", file.to_str().unwrap())]).unwrap();
    assert!(c.require_serving().is_ok());
}

#[test]
fn instances_map_packages_to_servers() {
    let c = cfg(&[
        ("SHUTDOWN_MODE", "huawei-api"),
        ("HUAWEICLOUD_REGION", "ap-southeast-1"),
        ("HUAWEICLOUD_PROJECT_ID", "p0"),
        (
            "FLEXUS_INSTANCES",
            "pkg-a:srv-a:sg-a, pkg-b:srv-b:hk-b:ap-southeast-3:p1",
        ),
    ])
    .unwrap();
    assert_eq!(
        c.watch.free_resource_ids,
        ["pkg-a", "pkg-b"],
        "packages of instances are watched"
    );
    assert_eq!(
        c.watch.targets["pkg-a"],
        Target {
            name: "sg-a".into(),
            server_id: "srv-a".into(),
            region: "ap-southeast-1".into(),
            project_id: "p0".into()
        }
    );
    assert_eq!(c.watch.targets["pkg-b"].region, "ap-southeast-3");
    assert_eq!(c.server_for("pkg-b"), "hk-b");
    assert_eq!(c.server_for("other"), "flexus");
    for bad in ["pkg-a:srv-a", "pkg-a::name", "pkg-a:srv-a:n:r"] {
        assert!(
            cfg(&[
                ("FLEXUS_INSTANCES", bad),
                ("HUAWEICLOUD_REGION", "r"),
                ("HUAWEICLOUD_PROJECT_ID", "p")
            ])
            .is_err(),
            "{bad}"
        );
    }
}

#[test]
fn one_server_id_covers_every_package() {
    let c = cfg(&[
        ("FREE_RESOURCE_IDS", "a,b"),
        ("ECS_SERVER_ID", "srv"),
        ("HUAWEICLOUD_REGION", "r"),
        ("HUAWEICLOUD_PROJECT_ID", "p"),
        ("SERVER_NAME", "box"),
    ])
    .unwrap();
    assert_eq!(c.watch.targets.len(), 2);
    assert_eq!(c.watch.targets["b"].server_id, "srv");
    assert_eq!(c.server_for("a"), "box");
    assert!(cfg(&[("ECS_SERVER_ID", "srv")])
        .unwrap_err()
        .to_string()
        .contains("HUAWEICLOUD_REGION"));
}

#[test]
fn api_mode_and_auto_start_need_what_they_use() {
    let e = cfg(&[("SHUTDOWN_MODE", "huawei-api"), ("FREE_RESOURCE_IDS", "a")])
        .unwrap_err()
        .to_string();
    assert!(e.contains("ECS_SERVER_ID"), "{e}");
    assert!(
        cfg(&[
            ("SHUTDOWN_MODE", "huawei-api"),
            ("FREE_RESOURCE_IDS", "a"),
            ("HUAWEICLOUD_SDK_DOMAIN_ID", "abc123")
        ])
        .is_ok(),
        "found through RMS at start-up"
    );
    assert!(cfg(&[("AUTO_START", "true")])
        .unwrap_err()
        .to_string()
        .contains("SHUTDOWN_MODE=huawei-api"));
    assert!(cfg(&[("ECS_STOP_TYPE", "gentle")]).is_err());
}

#[test]
fn polling_commands_name_what_is_missing() {
    let e = cfg(&[]).unwrap().require_polling().unwrap_err().to_string();
    for v in [
        "HUAWEICLOUD_SDK_AK",
        "HUAWEICLOUD_SDK_SK",
        "FREE_RESOURCE_IDS",
    ] {
        assert!(e.contains(v), "{e}");
    }
}

#[test]
fn the_table_names_each_variable_once_and_its_defaults_are_the_domain_defaults() {
    let mut names: Vec<&str> = vars::VARS.iter().map(|v| v.name).collect();
    names.sort_unstable();
    let before = names.len();
    names.dedup();
    assert_eq!(names.len(), before, "a variable is listed twice");
    let c = cfg(&[]).unwrap();
    assert_eq!(c.alerting.thresholds, Thresholds::default());
    assert_eq!(c.alerting.cadence, Cadence::default());
    // Setting a variable to its default changes nothing.
    let unset = c.effective();
    for v in vars::VARS {
        if let Some(d) = v.default_value() {
            let set = cfg(&[(v.name, d)]).unwrap_or_else(|e| panic!("{}={d}: {e}", v.name));
            assert_eq!(set.effective(), unset, "{}={d}", v.name);
        }
    }
}

#[test]
fn every_variable_of_the_table_is_read_by_its_section() {
    let unset = cfg(&[]).unwrap().effective();
    for v in vars::VARS {
        let read = ["x!", "1", "true"]
            .iter()
            .any(|value| match cfg(&[(v.name, value)]) {
                Err(e) => e.0.iter().any(|e| e.variable.contains(v.name)),
                Ok(c) => c.effective() != unset,
            });
        assert!(read, "{} is in the table but no section reads it", v.name);
    }
}

#[test]
fn help_lists_every_variable_by_section_with_its_default() {
    let help = vars::help();
    for v in vars::VARS {
        let line = help
            .lines()
            .find(|l| l.trim_start().starts_with(&format!("{} ", v.name)))
            .unwrap_or_else(|| panic!("{} missing in --help", v.name));
        assert!(line.ends_with(v.default), "{line}");
        assert!(help.contains(v.help), "{}", v.name);
    }
    assert!(help.contains("Shutdown and start:"));
}

#[test]
fn with_several_packages_the_actions_need_to_know_this_servers_own() {
    let one = cfg(&[("FREE_RESOURCE_IDS", "a"), ("LEVEL1_ACTIONS", "fence")]).unwrap();
    assert_eq!(one.actions.local_packages, vec!["a".to_string()]);
    let e = cfg(&[("FREE_RESOURCE_IDS", "a,b"), ("LEVEL1_ACTIONS", "fence")])
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("LOCAL_FREE_RESOURCE_IDS") && e.contains("the package id(s) of this server"),
        "{e}"
    );
    // Without gentler actions nothing acts on this machine, so nothing is asked.
    assert!(cfg(&[("FREE_RESOURCE_IDS", "a,b")]).is_ok());
    let c = cfg(&[
        ("FREE_RESOURCE_IDS", "a,b"),
        ("LEVEL1_ACTIONS", "fence"),
        ("LOCAL_FREE_RESOURCE_IDS", "b"),
    ])
    .unwrap();
    assert!(c.actions.acts_for("b") && !c.actions.acts_for("a"));
    let e = cfg(&[("FREE_RESOURCE_IDS", "a"), ("LOCAL_FREE_RESOURCE_IDS", "z")])
        .unwrap_err()
        .to_string();
    assert!(e.contains("is not a watched package"), "{e}");
    let none = cfg(&[
        ("FREE_RESOURCE_IDS", "a,b"),
        ("LEVEL1_ACTIONS", "fence"),
        ("LOCAL_FREE_RESOURCE_IDS", "none"),
    ])
    .unwrap();
    assert!(none.actions.local_packages.is_empty());
}

#[test]
fn level_1_without_shutdown_says_which_setting_keeps_it_off() {
    use crate::actions::NoShutdown;
    assert_eq!(cfg(&[]).unwrap().no_shutdown(), None);
    assert_eq!(
        cfg(&[("LEVEL1_ACTIONS", "fence"), ("SHUTDOWN_MODE", "command")])
            .unwrap()
            .no_shutdown(),
        Some(NoShutdown::NotInLevel1Actions)
    );
    assert_eq!(
        cfg(&[("SHUTDOWN_MODE", "off")]).unwrap().no_shutdown(),
        Some(NoShutdown::ModeOff)
    );
}

/// The mistakes a newcomer meets first, in Chinese (the default language), pass the same language
/// check as the messages; in English they hold no Chinese. The file read is named in the fixes.
#[test]
fn a_newcomers_configuration_problems_are_in_the_message_language() {
    use crate::messages::lang_check::{english_runs, has_cjk};
    let mut errors = cfg(&[]).unwrap().require_for_serve().unwrap_err().0;
    errors.extend(
        cfg(&[
            ("HUAWEICLOUD_SDK_AK", "ak"),
            ("HUAWEICLOUD_SDK_SK", "sk"),
            ("FREE_RESOURCE_IDS", "pkg"),
            ("LISTEN_ADDR", "0.0.0.0:9184"),
        ])
        .unwrap()
        .require_for_serve()
        .unwrap_err()
        .0,
    );
    errors.extend(
        cfg(&[
            (
                "DINGTALK_WEBHOOK_URL",
                "https://oapi.dingtalk.com/robot/send",
            ),
            (
                "WECOM_WEBHOOK_URL",
                "https://qyapi.weixin.qq.com/cgi-bin/webhook/send",
            ),
            ("BARK_URL", "https://api.day.app/"),
            (
                "FEISHU_WEBHOOK_URL",
                "https://open.feishu.cn/open-apis/bot/v2/hook/",
            ),
        ])
        .unwrap_err()
        .0,
    );
    assert_eq!(errors.len(), 8, "{errors:?}");
    let all = ConfigErrors(errors);
    let file = std::path::Path::new("/etc/flexus-traffic-monitor/env");
    for source in [Some(file), None] {
        let zh = all.render(source, Lang::Zh);
        assert!(
            english_runs(&zh).is_empty(),
            "{zh}\n{:?}",
            english_runs(&zh)
        );
        let en = all.render(source, Lang::En);
        assert!(!has_cjk(&en), "{en}");
    }
    let zh = all.render(Some(file), Lang::Zh);
    assert!(
        zh.contains("在 /etc/flexus-traffic-monitor/env 中填写"),
        "{zh}"
    );
    assert!(!zh.contains(".env"), "{zh}");
}

#[test]
fn the_live_counter_follows_this_servers_own_package() {
    let one = cfg(&[("FREE_RESOURCE_IDS", "a")]).unwrap();
    assert_eq!(one.watch.egress_package(), Some("a"));
    // A monitor that runs on none of the watched servers counts nobody's traffic.
    let elsewhere = cfg(&[
        ("FREE_RESOURCE_IDS", "a"),
        ("LOCAL_FREE_RESOURCE_IDS", "none"),
    ])
    .unwrap();
    assert_eq!(elsewhere.watch.egress_package(), None);
    let local = cfg(&[
        ("FREE_RESOURCE_IDS", "a,b"),
        ("LOCAL_FREE_RESOURCE_IDS", "b"),
    ])
    .unwrap();
    assert_eq!(local.watch.egress_package(), Some("b"));
    let named = cfg(&[
        ("FREE_RESOURCE_IDS", "a,b"),
        ("LOCAL_FREE_RESOURCE_IDS", "none"),
        ("EGRESS_PACKAGE", "a"),
    ])
    .unwrap();
    assert_eq!(named.watch.egress_package(), Some("a"));
}

#[test]
fn cloud_eye_eips_take_the_region_of_their_instance_and_bad_entries_name_the_variable() {
    let c = cfg(&[
        ("HUAWEICLOUD_REGION", "cn-north-4"),
        ("HUAWEICLOUD_PROJECT_ID", "p0"),
        (
            "FLEXUS_INSTANCES",
            "pkg-a:srv-a:sg-a:ap-southeast-3:p1, pkg-b:srv-b:b",
        ),
        (
            "CLOUDEYE_EIPS",
            "pkg-a:eip-a, pkg-b:eip-b:ap-southeast-1:p2",
        ),
    ])
    .unwrap();
    let e = &c.watch.cloudeye.eips;
    assert_eq!(
        (
            e[0].publicip_id.as_str(),
            e[0].region.as_str(),
            e[0].project_id.as_str()
        ),
        ("eip-a", "ap-southeast-3", "p1")
    );
    assert_eq!(
        (e[1].region.as_str(), e[1].project_id.as_str()),
        ("ap-southeast-1", "p2")
    );
    assert_eq!(
        c.watch.cloudeye.interval,
        std::time::Duration::from_secs(60)
    );
    // Another server's package is never this machine's counter's.
    assert_eq!(c.watch.egress_package(), None);
    let one = cfg(&[
        ("FREE_RESOURCE_IDS", "solo"),
        ("HUAWEICLOUD_REGION", "r"),
        ("HUAWEICLOUD_PROJECT_ID", "p"),
        ("CLOUDEYE_EIPS", &format!("{}:eip", "solo")),
    ]);
    assert_eq!(one.unwrap().watch.egress_package(), None);
    for (bad, why) in [
        ("pkg-x:eip", "is not a watched package"),
        ("solo", "2 or 4 fields"),
        ("828e2c7c-3c8c-45a2-bebc-98cb3e77d06e:e/ip", "malformed"),
    ] {
        let err = cfg(&[
            ("FREE_RESOURCE_IDS", "solo"),
            ("HUAWEICLOUD_REGION", "r"),
            ("HUAWEICLOUD_PROJECT_ID", "p"),
            ("CLOUDEYE_EIPS", bad),
        ])
        .unwrap_err()
        .to_string();
        assert!(
            err.contains("CLOUDEYE_EIPS") && err.contains(why),
            "{bad}: {err}"
        );
    }
    let err = cfg(&[("FREE_RESOURCE_IDS", "solo"), ("CLOUDEYE_EIPS", "solo:eip")])
        .unwrap_err()
        .to_string();
    assert!(err.contains("no region and project id"), "{err}");
}

/// Every problem `config` can report — each variable of the table given values it refuses, and
/// the combinations that are refused together — has its problem and fix in Chinese, which pass
/// the messages' language check; in English they hold no Chinese. So do the warnings.
#[test]
fn every_configuration_problem_and_warning_is_written_in_both_languages() {
    use crate::messages::language::{english_runs, has_cjk};
    let mut errors: Vec<ConfigError> = Vec::new();
    let mut collect = |pairs: &[(&str, &str)]| {
        if let Err(e) = cfg(pairs) {
            for e in e.0 {
                if !errors
                    .iter()
                    .any(|o| o.variable == e.variable && o.problem == e.problem)
                {
                    errors.push(e);
                }
            }
        }
    };
    for var in vars::VARS {
        for bad in [
            "x",
            "-1",
            "a;b|c",
            "0",
            "9999999999",
            "1s",
            "udp/x",
            "sctp",
            "ftp://h",
        ] {
            collect(&[(var.name, bad)]);
        }
    }
    let ca = std::env::temp_dir().join(format!("ftm-no-ca-{}", std::process::id()));
    std::fs::write(&ca, "not a certificate").unwrap();
    let ca = ca.display().to_string();
    for pairs in [
        &[("THRESHOLD_LEVEL_1", "600")][..],
        &[("LEVEL2_ACTIONS", "shutdown")],
        &[("LEVEL2_ACTIONS", "fence"), ("LEVEL3_ACTIONS", "fence")],
        &[("LEVEL2_ACTIONS", "command")],
        &[("FREE_RESOURCE_IDS", "a,b"), ("LEVEL2_ACTIONS", "fence")],
        &[("FREE_RESOURCE_IDS", "a"), ("LOCAL_FREE_RESOURCE_IDS", "b")],
        &[("FREE_RESOURCE_IDS", "a,a")],
        &[("FREE_RESOURCE_IDS", "a"), ("EGRESS_PACKAGE", "b")],
        &[("FREE_RESOURCE_IDS", "a"), ("CLOUDEYE_EIPS", "a:e")],
        &[("FREE_RESOURCE_IDS", "a"), ("CLOUDEYE_EIPS", "a:e/f")],
        &[
            ("FREE_RESOURCE_IDS", "a"),
            ("HUAWEICLOUD_REGION", "r"),
            ("HUAWEICLOUD_PROJECT_ID", "p"),
            ("CLOUDEYE_EIPS", "a:e,a:f,b:g"),
            ("EGRESS_PACKAGE", "a"),
        ],
        &[("FLEXUS_INSTANCES", "a:b:c,a:b:c")],
        &[("FLEXUS_INSTANCES", "a:b")],
        &[("FLEXUS_INSTANCES", "a::c")],
        &[("ECS_SERVER_ID", "i-1")],
        &[("FREE_RESOURCE_IDS", "a"), ("SHUTDOWN_MODE", "huawei-api")],
        &[("AUTO_START", "true")],
        &[("TELEGRAM_COMMANDS", "true")],
        &[("TELEGRAM_CANCEL_FOR", "40d")],
        &[("POLL_INTERVAL", "2h"), ("READING_MAX_AGE", "1h")],
        &[("EGRESS_INTERFACE", "docker0")],
        &[("EGRESS_SAMPLE_INTERVAL", "5s")],
        &[("EGRESS_BILL_LAG", "7h")],
        &[("SSH_PORTS", " , ")],
        &[("WEBHOOK_TOKEN", "short")],
        &[("STATUS_TOKEN", "short")],
        &[("SERVERCHAN_SENDKEY", "sctp")],
        &[("SERVERCHAN_SENDKEY", "a/b")],
        &[("FEISHU_SECRET", "s")],
        &[(
            "DINGTALK_WEBHOOK_URL",
            "https://oapi.dingtalk.com/robot/send",
        )],
        &[(
            "WECOM_WEBHOOK_URL",
            "https://qyapi.weixin.qq.com/cgi-bin/webhook/send",
        )],
        &[("BARK_URL", "https://api.day.app/")],
        &[(
            "FEISHU_WEBHOOK_URL",
            "https://open.feishu.cn/open-apis/bot/v2/hook/",
        )],
        &[("SMTP_PORT", "587")],
        &[("SMTP_HOST", "smtp.example.com:25")],
        &[("SMTP_HOST", "smtp://x")],
        &[("SMTP_HOST", "bad_host!")],
        &[("SMTP_HOST", "smtp.example.com"), ("SMTP_TLS", "none")],
        &[
            ("SMTP_HOST", "smtp.example.com"),
            ("SMTP_TLS", "starttls"),
            ("SMTP_PORT", "465"),
        ],
        &[
            ("SMTP_HOST", "smtp.example.com"),
            ("SMTP_TLS", "tls"),
            ("SMTP_PORT", "587"),
        ],
        &[("SMTP_HOST", "smtp.example.com"), ("SMTP_USERNAME", "me")],
        &[("SMTP_HOST", "smtp.example.com"), ("SMTP_PASSWORD", "pw")],
        &[("SMTP_HOST", "smtp.example.com"), ("SMTP_TO", "x")],
        &[("SMTP_HOST", "smtp.example.com"), ("SMTP_TO", ",")],
        &[("SMTP_HOST", "smtp.example.com"), ("SMTP_FROM", "x")],
        &[
            ("SMTP_HOST", "smtp.example.com"),
            ("SMTP_CA_FILE", "/nonexistent/ca.pem"),
        ],
        &[
            ("SMTP_HOST", "smtp.example.com"),
            ("SMTP_CA_FILE", ca.as_str()),
        ],
    ] {
        collect(pairs);
    }
    let _ = std::fs::remove_file(&ca);
    for check in [
        cfg(&[]).unwrap().require_for_serve(),
        cfg(&[
            ("HUAWEICLOUD_SDK_AK", "a"),
            ("HUAWEICLOUD_SDK_SK", "s"),
            ("FREE_RESOURCE_IDS", "p"),
            ("LISTEN_ADDR", "0.0.0.0:1"),
        ])
        .unwrap()
        .require_for_serve(),
    ] {
        errors.extend(check.unwrap_err().0);
    }
    assert!(errors.len() > 60, "{}", errors.len());
    let untranslated: Vec<String> = errors
        .iter()
        .filter(|e| e.zh.is_none())
        .map(ToString::to_string)
        .collect();
    assert!(
        untranslated.is_empty(),
        "no Chinese text: {untranslated:#?}"
    );
    let all = ConfigErrors(errors);
    let zh = all.render(None, Lang::Zh);
    for line in zh.lines() {
        assert!(
            english_runs(line).is_empty(),
            "{line}\n{:?}",
            english_runs(line)
        );
    }
    let en = all.render(None, Lang::En);
    assert!(!has_cjk(&en), "{en}");

    let unwise = cfg(&[
        ("STATE_DIR", "/tmp/state"),
        (
            "DINGTALK_WEBHOOK_URL",
            "https://oapi.dingtalk.com/robot/send?access_token=t",
        ),
        ("DINGTALK_SECRET", "cut"),
        ("TELEGRAM_BOT_TOKEN", "1:x"),
        ("TELEGRAM_CHAT_ID", "-100"),
        ("TELEGRAM_COMMANDS", "true"),
    ])
    .unwrap();
    let mut warnings_zh = unwise.warnings_in(Lang::Zh);
    // A persistent STATE_DIR: the default `state` is relative, so it warns when the tests run
    // from a checkout inside the temp directory.
    let no_channel = cfg(&[("STATE_DIR", "/var/lib/flexus-traffic-monitor")]).unwrap();
    warnings_zh.extend(no_channel.warnings_in(Lang::Zh));
    warnings_zh.extend(super::unknown_variables_in(
        ["THRESHOLD_LEVLE_1", "TELEGRAM_FOO"],
        Lang::Zh,
    ));
    assert_eq!(warnings_zh.len(), 6, "{warnings_zh:#?}");
    for w in &warnings_zh {
        assert!(english_runs(w).is_empty(), "{w}\n{:?}", english_runs(w));
    }
    let mut warnings_en = unwise.warnings_in(Lang::En);
    warnings_en.extend(no_channel.warnings_in(Lang::En));
    warnings_en.extend(super::unknown_variables_in(
        ["THRESHOLD_LEVLE_1", "TELEGRAM_FOO"],
        Lang::En,
    ));
    for w in &warnings_en {
        assert!(!has_cjk(w), "{w}");
    }
}
