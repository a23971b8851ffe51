//! Checks with the real Prometheus tools (Debian's `prometheus` package). When a tool is missing the
//! test says so and passes, except under CI (`CI` set), where a missing tool is a failure: CI installs them.

use std::io::Write;
use std::process::{Command, Stdio};

use crate::helpers::process::{optional_tool, output_text, tool};
use crate::helpers::{base_env, FakeBss, TestApp};

/// The names the user asked for in GB: promtool's abbreviated-unit lint on them is expected.
const MANDATED_GB: &[&str] = &[
    "flexus_free_traffic_remaining_gb",
    "flexus_free_traffic_total_gb",
    "flexus_free_traffic_threshold_gb",
];

#[tokio::test]
async fn promtool_accepts_the_real_metrics_output() {
    let Some(promtool) = tool("promtool") else {
        return;
    };
    let fake = FakeBss::start().await;
    fake.set_gb("pkg-a", 853.27, 1200.0);
    fake.set_gb("pkg-b", 3.5, 100.0);
    let app = TestApp::spawn(&base_env(&fake, &["pkg-a", "pkg-b"])).await;
    app.poller.poll_once().await.unwrap();
    let text = app.scrape().await;
    let mut child = Command::new(promtool)
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(text.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    let findings = output_text(&out);
    let unexpected: Vec<&str> = findings
        .lines()
        .filter(|l| !l.trim().is_empty())
        .filter(|l| {
            !(l.contains("abbreviated units") && MANDATED_GB.iter().any(|n| l.starts_with(n)))
        })
        .collect();
    assert!(unexpected.is_empty(), "promtool findings: {unexpected:#?}");
    // The mandated names are really there (so the filter above hides nothing else).
    for n in MANDATED_GB {
        assert!(text.contains(n), "{n} missing");
    }
}

fn run_ok(program: &str, args: &[&str], cwd: &std::path::Path) -> String {
    let out = Command::new(program)
        .args(args)
        .current_dir(cwd)
        .output()
        .unwrap();
    let text = output_text(&out);
    assert!(out.status.success(), "{program} {args:?} failed:\n{text}");
    text
}

fn deploy_dir(sub: &str) -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("deploy")
        .join(sub)
}

#[test]
fn prometheus_config_and_rules_pass_promtool_and_their_tests() {
    let Some(promtool) = tool("promtool") else {
        return;
    };
    let dir = deploy_dir("prometheus");
    run_ok(promtool, &["check", "config", "prometheus.yml"], &dir);
    run_ok(promtool, &["check", "config", "prometheus-tls.yml"], &dir);
    run_ok(promtool, &["check", "rules", "flexus-rules.yml"], &dir);
    let out = run_ok(promtool, &["test", "rules", "flexus-rules.test.yml"], &dir);
    assert!(out.contains("SUCCESS"), "{out}");
    // Every rule has a test on both sides of its condition: one evaluation where it fires and one
    // where it is expected silent (`exp_alerts: []`). The watchdog (`vector(1)`) has no condition.
    let rules = std::fs::read_to_string(dir.join("flexus-rules.yml")).unwrap();
    let tests = std::fs::read_to_string(dir.join("flexus-rules.test.yml")).unwrap();
    let sides = rule_test_sides(&tests);
    for name in rules
        .lines()
        .filter_map(|l| l.trim().strip_prefix("- alert: "))
    {
        let (fires, silent) = sides.get(name).copied().unwrap_or_default();
        assert!(fires, "{name} has no rule test where it fires");
        if name != "FlexusTrafficWatchdog" {
            assert!(
                silent,
                "{name} has no rule test where it stays silent (exp_alerts: [])"
            );
        }
    }
    assert!(
        rules.contains("- alert: FlexusTrafficWatchdog\n        expr: vector(1)\n"),
        "the watchdog is exempt from a silent test only while it always fires"
    );
    // Every rule links its runbook, a section of both READMEs.
    let readme = std::fs::read_to_string(deploy_dir("../README.md")).unwrap();
    let readme_zh = std::fs::read_to_string(deploy_dir("../README.zh-CN.md")).unwrap();
    let mut current = None;
    let mut linked = Vec::new();
    for l in rules.lines() {
        if let Some(name) = l.trim().strip_prefix("- alert: ") {
            current = Some(name.to_string());
        }
        if let Some(url) = l.trim().strip_prefix("runbook_url: ") {
            let name = current.clone().unwrap();
            let anchor = format!("#runbook-{}", name.to_lowercase());
            assert!(url.trim_matches('\'').ends_with(&anchor), "{name}: {url}");
            for r in [&readme, &readme_zh] {
                assert!(
                    r.contains(&format!("#### Runbook: {name}\n")),
                    "{name}: no runbook section"
                );
            }
            linked.push(name);
        }
    }
    let names: Vec<&str> = rules
        .lines()
        .filter_map(|l| l.trim().strip_prefix("- alert: "))
        .collect();
    assert_eq!(linked, names, "every alert has a runbook_url");
}

/// For each alert name in a promtool rule-test file: whether some evaluation expects it to fire,
/// and whether some evaluation expects it silent (`exp_alerts: []`).
fn rule_test_sides(tests: &str) -> std::collections::HashMap<String, (bool, bool)> {
    let mut sides = std::collections::HashMap::<String, (bool, bool)>::new();
    let mut current: Option<String> = None;
    for line in tests.lines() {
        let l = line.trim();
        if let Some(name) = l.strip_prefix("alertname: ") {
            current = Some(name.to_string());
        } else if let Some(rest) = l.strip_prefix("exp_alerts:") {
            let name = current.take().expect("exp_alerts follows an alertname");
            let side = sides.entry(name).or_default();
            if rest.trim() == "[]" {
                side.1 = true;
            } else {
                side.0 = true;
            }
        }
    }
    sides
}

#[test]
fn alertmanager_config_passes_amtool() {
    let Some(amtool) = tool("amtool") else { return };
    let dir = deploy_dir("alertmanager");
    let out = run_ok(amtool, &["check-config", "alertmanager.yml"], &dir);
    assert!(out.contains("SUCCESS"), "{out}");
}

#[test]
fn the_dashboard_uses_a_datasource_variable_and_no_inputs() {
    let text =
        std::fs::read_to_string(deploy_dir("grafana/dashboards/flexus-traffic.json")).unwrap();
    let dash: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert!(
        dash.get("__inputs").is_none(),
        "provisioned dashboards cannot resolve __inputs"
    );
    assert!(
        !text.contains("${DS_"),
        "no import-time datasource placeholders"
    );
    let vars = dash["templating"]["list"].as_array().unwrap();
    assert!(vars
        .iter()
        .any(|v| v["type"] == "datasource" && v["query"] == "prometheus"));
    for p in dash["panels"].as_array().unwrap() {
        assert_eq!(
            p["datasource"]["uid"], "${datasource}",
            "panel {}",
            p["title"]
        );
    }
}

#[test]
fn the_systemd_unit_passes_systemd_analyze_verify() {
    let Some(analyze) = optional_tool("systemd-analyze") else {
        return;
    };
    let text =
        std::fs::read_to_string(deploy_dir("systemd/flexus-traffic-monitor.service")).unwrap();
    for line in [
        "ExecStart=/usr/local/bin/flexus-traffic-monitor --env-file /etc/flexus-traffic-monitor/env serve",
        "StateDirectory=flexus-traffic-monitor",
        "Restart=on-failure",
        "NoNewPrivileges=yes",
        "ProtectSystem=strict",
    ] {
        assert!(text.lines().any(|l| l == line), "{line} missing");
    }
    // systemd's own env-file parser differs from python-dotenv's (inline comments, `export`).
    assert!(!text.contains("\nEnvironmentFile="));
    // Verify a copy whose ExecStart names the binary just built (verify checks it exists).
    let dir = crate::helpers::state_dir("systemd");
    let unit = dir.join("flexus-traffic-monitor.service");
    let text = text.replace(
        "/usr/local/bin/flexus-traffic-monitor",
        env!("CARGO_BIN_EXE_flexus-traffic-monitor"),
    );
    std::fs::write(&unit, text).unwrap();
    let out = Command::new(analyze)
        .arg("verify")
        .arg(&unit)
        .output()
        .unwrap();
    let said = output_text(&out);
    let findings: Vec<&str> = said
        .lines()
        .filter(|l| l.contains("flexus-traffic-monitor.service"))
        .collect();
    assert!(out.status.success() && findings.is_empty(), "{said}");
}
