//! The READMEs against the program: their copy-paste setup works, and the Chinese one documents the
//! same variables, commands, routes and metrics as the English one.

use std::collections::BTreeSet;
use std::path::Path;
use std::process::Command;

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn readme(name: &str) -> String {
    std::fs::read_to_string(root().join(name)).unwrap()
}

/// The fenced code blocks of a Markdown text, without their list indentation.
fn code_blocks(text: &str) -> Vec<String> {
    let mut blocks = Vec::new();
    let mut current: Option<(usize, Vec<String>)> = None;
    for line in text.lines() {
        let trimmed = line.trim_start();
        let indent = line.len() - trimmed.len();
        match &mut current {
            None if trimmed.starts_with("```") => current = Some((indent, Vec::new())),
            Some(_) if trimmed.starts_with("```") => {
                let (_, lines) = current.take().unwrap();
                blocks.push(lines.join("\n"));
            }
            Some((indent, lines)) => {
                lines.push(line.get(*indent..).unwrap_or(line.trim_start()).to_string())
            }
            None => {}
        }
    }
    blocks
}

fn debian_block(text: &str) -> String {
    code_blocks(text)
        .into_iter()
        .find(|b| b.starts_with("P=/etc/prometheus\n"))
        .expect("the README has the Debian setup block starting with P=/etc/prometheus")
}

/// Runs the README's Debian step on a copy of the files Debian 12's packages install, as root
/// would (without sudo), and checks the result with promtool and amtool.
#[test]
fn the_debian_setup_commands_keep_the_distribution_config_and_pass_the_checks() {
    let (Some(_), Some(_)) = (
        crate::helpers::process::tool("promtool"),
        crate::helpers::process::tool("amtool"),
    ) else {
        return;
    };
    let dir = crate::helpers::state_dir("debian-setup");
    let debian =
        std::fs::read_to_string(root().join("tests/fixtures/debian-12-prometheus.yml")).unwrap();
    std::fs::write(dir.join("prometheus.yml"), &debian).unwrap();
    std::fs::write(
        dir.join("alertmanager.yml"),
        "# the distribution's example\n",
    )
    .unwrap();
    let block = debian_block(&readme("README.md"));
    let script = block
        .replacen("P=/etc/prometheus", &format!("P={}", dir.display()), 1)
        .replace("sudo ", "");
    let out = Command::new("bash")
        .args(["-euo", "pipefail", "-c", &script])
        .current_dir(root())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{script}\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let config = std::fs::read_to_string(dir.join("prometheus.yml")).unwrap();
    assert!(config.starts_with(
        debian
            .trim_end_matches('\n')
            .split("rule_files:")
            .next()
            .unwrap()
    ));
    for want in [
        "job_name: 'prometheus'",
        "job_name: node",
        "job_name: flexus",
        "targets: [\"127.0.0.1:9184\"]",
        &format!("  - {}/flexus-rules.yml", dir.display()),
    ] {
        assert!(config.contains(want), "{want} missing:\n{config}");
    }
    assert_eq!(
        std::fs::read_to_string(dir.join("prometheus.yml.before-flexus")).unwrap(),
        debian
    );
    assert!(std::fs::read_to_string(dir.join("alertmanager.yml"))
        .unwrap()
        .contains("FlexusTrafficWatchdog"));
    assert!(dir.join("alertmanager.yml.dist").exists());
    // The rule file promtool loaded is the shipped one.
    assert_eq!(
        std::fs::read_to_string(dir.join("flexus-rules.yml")).unwrap(),
        std::fs::read_to_string(root().join("deploy/prometheus/flexus-rules.yml")).unwrap()
    );
}

/// What a README's tables list: variables, metrics and routes, each as the backticked names in
/// table rows; and the commands named anywhere as `flexus-traffic-monitor <command>`.
#[derive(Debug, Default, PartialEq)]
struct Listed {
    variables: BTreeSet<String>,
    metrics: BTreeSet<String>,
    routes: BTreeSet<String>,
    commands: BTreeSet<String>,
}

fn listed(text: &str) -> Listed {
    let mut out = Listed::default();
    for line in text.lines().filter(|l| l.trim_start().starts_with('|')) {
        for token in line.split('`').skip(1).step_by(2) {
            // Upper-case words: the variables (and a few values such as `SOFT`, listed alike).
            let is_var = token.chars().next().is_some_and(|c| c.is_ascii_uppercase())
                && token
                    .chars()
                    .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_');
            if is_var {
                out.variables.insert(token.to_string());
            } else if token.starts_with("flexus_") || token.starts_with("..._") {
                out.metrics.insert(token.to_string());
            } else if token.starts_with("GET /") || token.starts_with("POST /") {
                out.routes.insert(token.to_string());
            }
        }
    }
    for part in text.split("flexus-traffic-monitor ").skip(1) {
        let word: String = part
            .chars()
            .take_while(|c| c.is_ascii_lowercase() || *c == '-')
            .collect();
        if !word.is_empty() {
            out.commands.insert(word);
        }
    }
    out
}

#[test]
fn both_readmes_list_the_same_variables_commands_routes_and_metrics() {
    let en = listed(&readme("README.md"));
    let zh = listed(&readme("README.zh-CN.md"));
    assert!(en.variables.len() > 40, "{en:?}");
    assert!(en.metrics.len() > 15 && en.routes.len() >= 6, "{en:?}");
    for cmd in [
        "serve",
        "check",
        "discover",
        "notify-test",
        "config",
        "demo",
    ] {
        assert!(en.commands.contains(cmd), "README.md never names `{cmd}`");
    }
    let diff = |what: &str, a: &BTreeSet<String>, b: &BTreeSet<String>| {
        let only_en: Vec<_> = a.difference(b).collect();
        let only_zh: Vec<_> = b.difference(a).collect();
        assert!(
            only_en.is_empty() && only_zh.is_empty(),
            "{what}: only in README.md {only_en:?}; only in README.zh-CN.md {only_zh:?}"
        );
    };
    diff("variables", &en.variables, &zh.variables);
    diff("metrics", &en.metrics, &zh.metrics);
    diff("routes", &en.routes, &zh.routes);
    diff("commands", &en.commands, &zh.commands);
    // Every variable the program reads is in both tables.
    for var in flexus_traffic_monitor::config::vars::VARS {
        assert!(
            zh.variables.contains(var.name) && en.variables.contains(var.name),
            "{} is missing from a README's tables",
            var.name
        );
    }
    // The copy-paste setup is the same text in both.
    assert_eq!(
        debian_block(&readme("README.md")),
        debian_block(&readme("README.zh-CN.md"))
    );
}

/// The dashboard's units are 1024-based like the figures (`gbytes`, not `decgbytes`), and gauges
/// have thresholds (Grafana's default would colour them backwards). Level colours: `dashboard.rs`.
#[test]
fn the_dashboard_uses_binary_gigabytes_and_gauge_thresholds() {
    let text =
        std::fs::read_to_string(root().join("deploy/grafana/dashboards/flexus-traffic.json"))
            .unwrap();
    assert!(!text.contains("decgbytes"), "decimal GB in the dashboard");
    let dash: serde_json::Value = serde_json::from_str(&text).unwrap();
    for p in dash["panels"].as_array().unwrap() {
        if p["type"] == "gauge" {
            assert!(
                p["fieldConfig"]["defaults"]["thresholds"].is_object(),
                "{}",
                p["title"]
            );
        }
    }
}
