//! Unit tests of configuration parsing and validation.

use super::*;

fn cfg(pairs: &[(&str, &str)]) -> Result<Config, ConfigErrors> {
    let raw =
        RawConfig::from_pairs(pairs.iter().map(|(k, v)| (k.to_string(), v.to_string()))).unwrap();
    Config::from_raw(&raw)
}

#[test]
fn defaults_match_the_original_and_the_design() {
    let c = cfg(&[]).unwrap();
    assert_eq!(
        c.thresholds,
        Thresholds {
            t1: 200.0,
            t2: 300.0,
            t3: 500.0
        }
    );
    assert_eq!(c.poll_interval, Duration::from_secs(600));
    assert_eq!(c.listen_addr.to_string(), "127.0.0.1:9184");
    assert_eq!(c.bss_endpoint.as_str(), "https://bss.myhuaweicloud.com/");
    assert_eq!(c.state_dir, PathBuf::from("state"));
    assert!(!c.debug_mode);
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
            .bss_endpoint
            .as_str(),
        "https://bss-intl.myhuaweicloud.com/"
    );
    assert_eq!(
        cfg(&[("HUAWEICLOUD_SITE", "EU")])
            .unwrap()
            .bss_endpoint
            .as_str(),
        "https://bss.myhuaweicloud.eu/"
    );
    let c = cfg(&[
        ("HUAWEICLOUD_SITE", "intl"),
        ("HUAWEICLOUD_BSS_ENDPOINT", "http://127.0.0.1:8080"),
    ])
    .unwrap();
    assert_eq!(c.bss_endpoint.as_str(), "http://127.0.0.1:8080/");
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
    assert_eq!(c.free_resource_ids, ["a-1", "b_2"]);
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
        assert!(cfg(&[("DEBUG_MODE", v)]).unwrap().debug_mode);
    }
    assert!(!cfg(&[("DEBUG_MODE", "yes")]).unwrap().debug_mode);
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
    assert_eq!(c.cadence, Cadence::default());
    assert_eq!(c.shutdown_command, ["shutdown", "-h", "now"]);
    assert_eq!(c.shutdown_delay, Duration::from_secs(60));
    assert_eq!(c.shutdown_mode, ShutdownMode::Command);
    assert!(c.shutdown_repeat_after_boot && !c.dry_run);
    assert_eq!(c.fallback, FallbackMode::Auto);
    assert_eq!(c.message_lang, Lang::Zh);
    assert_eq!(c.telegram_api_url.as_str(), "https://api.telegram.org/");
}

#[test]
fn shutdown_command_is_split_without_a_shell() {
    let c = cfg(&[("SHUTDOWN_COMMAND", "sudo -n '/usr/sbin/shutdown' -h now")]).unwrap();
    assert_eq!(
        c.shutdown_command,
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
        c.free_resource_ids,
        ["pkg-a", "pkg-b"],
        "packages of instances are watched"
    );
    assert_eq!(
        c.targets["pkg-a"],
        Target {
            name: "sg-a".into(),
            server_id: "srv-a".into(),
            region: "ap-southeast-1".into(),
            project_id: "p0".into()
        }
    );
    assert_eq!(c.targets["pkg-b"].region, "ap-southeast-3");
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
    assert_eq!(c.targets.len(), 2);
    assert_eq!(c.targets["b"].server_id, "srv");
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
