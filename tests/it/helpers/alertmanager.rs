//! Alertmanager's side of the webhook: the token, payloads as Alertmanager 0.25 sends them, and the
//! real Prometheus and Alertmanager (Debian's packages) run with the files from `deploy/` — only
//! addresses, ports, intervals and the token path substituted.

use std::path::Path;
use std::process::{Command, Stdio};

use serde_json::json;

use super::process::{log_file, Proc};
use super::ID;

/// The webhook token of the test apps (`WEBHOOK_TOKEN`).
pub const TOKEN: &str = "webhook-token-0123456789";

/// The `Authorization` value Alertmanager sends with [`TOKEN`].
pub fn bearer() -> String {
    format!("Bearer {TOKEN}")
}

/// A firing payload captured from Alertmanager 0.25.
pub const FIRING: &str = include_str!("../../fixtures/alertmanager-0.25-webhook-firing.json");
/// The matching resolved payload captured from Alertmanager 0.25.
pub const RESOLVED: &str = include_str!("../../fixtures/alertmanager-0.25-webhook-resolved.json");

/// A payload like Alertmanager 0.25 sends, with one alert.
pub fn payload(
    alertname: &str,
    status: &str,
    level: Option<&str>,
    id: &str,
    external_url: &str,
) -> String {
    let mut labels = json!({"alertname": alertname, "free_resource_id": id, "server": "test-server", "job": "flexus", "instance": "127.0.0.1:9184"});
    if let Some(l) = level {
        labels["level"] = json!(l);
    }
    json!({
        "receiver": "flexus", "status": status, "version": "4", "externalURL": external_url,
        "groupKey": format!("{{}}:{{alertname=\"{alertname}\"}}"), "truncatedAlerts": 0,
        "groupLabels": {"alertname": alertname}, "commonLabels": labels, "commonAnnotations": {},
        "alerts": [{
            "status": status, "labels": labels,
            "annotations": {"summary": format!("{alertname} for {id}")},
            "startsAt": "2026-11-28T22:31:02.283733017Z",
            "endsAt": if status == "firing" { "0001-01-01T00:00:00Z" } else { "2026-11-28T22:41:02Z" },
            "generatorURL": "", "fingerprint": "0b1c76efa89aa88a"
        }]
    })
    .to_string()
}

/// Posts `body` to the webhook receiver at `base` with the `Authorization` value `auth`.
pub async fn post_webhook(base: &str, body: &str, auth: Option<&str>) -> reqwest::Response {
    let mut req = reqwest::Client::new()
        .post(format!("{base}/alertmanager"))
        .header("content-type", "application/json")
        .body(body.to_string());
    if let Some(a) = auth {
        req = req.header("authorization", a);
    }
    req.send().await.unwrap()
}

/// Posts `body` to the webhook receiver at `base` as Alertmanager does, with the token.
pub async fn deliver(base: &str, body: &str) -> reqwest::Response {
    post_webhook(base, body, Some(&bearer())).await
}

/// The watchdog alert (`FlexusTrafficWatchdog`) as the shipped rules send it, `firing` or `resolved`.
pub fn watchdog(status: &str) -> String {
    json!({"version": "4", "status": status, "alerts": [{"status": status,
        "labels": {"alertname": "FlexusTrafficWatchdog", "severity": "none"}}]})
    .to_string()
}

/// [`payload`] for package [`ID`] from the Alertmanager at `http://am:9093`.
pub fn alert(alertname: &str, status: &str, level: Option<&str>) -> String {
    payload(alertname, status, level, ID, "http://am:9093")
}

/// A file of `deploy/`, as shipped.
pub fn deploy(path: &str) -> String {
    std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("deploy")
            .join(path),
    )
    .unwrap()
}

/// Replaces every `key: value` of `key` with `key: new`.
pub fn set_all(text: &str, key: &str, new: &str) -> String {
    text.lines()
        .map(|l| match l.split_once(&format!("{key}:")) {
            Some((indent, _)) if indent.trim().is_empty() => format!("{indent}{key}: {new}"),
            _ => l.to_string(),
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// Runs Prometheus with the shipped configuration and rules, scraping `exporter` every second and
/// alerting `alertmanager`; its log goes to `dir/prometheus.log`.
pub fn start_prometheus(
    bin: &str,
    dir: &Path,
    port: u16,
    exporter: &str,
    alertmanager: &str,
) -> Proc {
    let config = deploy("prometheus/prometheus.yml")
        .replace("\"127.0.0.1:9093\"", &format!("\"{alertmanager}\""))
        .replace("\"127.0.0.1:9184\"", &format!("\"{exporter}\""));
    let config = set_all(
        &set_all(&config, "scrape_interval", "1s"),
        "evaluation_interval",
        "1s",
    );
    std::fs::write(dir.join("prometheus.yml"), config).unwrap();
    std::fs::write(
        dir.join("flexus-rules.yml"),
        deploy("prometheus/flexus-rules.yml"),
    )
    .unwrap();
    let child = Command::new(bin)
        .arg(format!(
            "--config.file={}",
            dir.join("prometheus.yml").display()
        ))
        .arg(format!(
            "--storage.tsdb.path={}",
            dir.join("tsdb").display()
        ))
        .arg(format!("--web.listen-address=127.0.0.1:{port}"))
        .arg("--rules.alert.resend-delay=1s")
        .stdout(Stdio::null())
        .stderr(log_file(dir, "prometheus"))
        .spawn()
        .unwrap();
    Proc(child)
}

/// The shipped Alertmanager configuration, delivering to the receiver at `exporter` (host:port)
/// with the token in `token_file`.
pub fn alertmanager_config(exporter: &str, token_file: &Path) -> String {
    deploy("alertmanager/alertmanager.yml")
        .replace(
            "http://127.0.0.1:9184/alertmanager",
            &format!("http://{exporter}/alertmanager"),
        )
        .replace(
            "/etc/prometheus/flexus-webhook-token",
            &token_file.display().to_string(),
        )
}

/// Runs Alertmanager alone (no cluster) with `config` on `port`, its data and log in `dir`.
pub fn run_alertmanager(bin: &str, dir: &Path, port: u16, config: &str) -> Proc {
    std::fs::write(dir.join("alertmanager.yml"), config).unwrap();
    let child = Command::new(bin)
        .arg(format!(
            "--config.file={}",
            dir.join("alertmanager.yml").display()
        ))
        .arg(format!("--storage.path={}", dir.join("am-data").display()))
        .arg(format!("--web.listen-address=127.0.0.1:{port}"))
        .arg("--cluster.listen-address=")
        .stdout(Stdio::null())
        .stderr(log_file(dir, "alertmanager"))
        .spawn()
        .unwrap();
    Proc(child)
}

/// Runs Alertmanager with the shipped configuration, sending to `exporter` with the token in
/// `token_file`, grouping and repeating within seconds; its log goes to `dir/alertmanager.log`.
pub fn start_alertmanager(
    bin: &str,
    dir: &Path,
    port: u16,
    exporter: &str,
    token_file: &Path,
) -> Proc {
    let config = alertmanager_config(exporter, token_file);
    let config = set_all(&config, "group_wait", "1s");
    let config = set_all(&config, "group_interval", "1s");
    let config = set_all(&config, "repeat_interval", "2s");
    run_alertmanager(bin, dir, port, &config)
}
