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
        crate::external::tool("promtool"),
        crate::external::tool("amtool"),
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
