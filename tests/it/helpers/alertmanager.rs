//! Alertmanager's side of the webhook: the token, payloads as Alertmanager 0.25 sends them, and the
//! real Prometheus and Alertmanager (Debian's packages) run with the files from `deploy/` — only
//! addresses, ports, intervals and the token path substituted.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use super::process::{log_file, start_serve, Proc};
use super::{app_env, free_port, marker_script, state_dir, vars, FakeBss, FakeTelegram, ID};

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
/// alerting every address of `alertmanagers`; its log goes to `dir/prometheus.log`.
pub fn start_prometheus(
    bin: &str,
    dir: &Path,
    port: u16,
    exporter: &str,
    alertmanagers: &[String],
) -> Proc {
    let targets: Vec<String> = alertmanagers.iter().map(|a| format!("\"{a}\"")).collect();
    let config = deploy("prometheus/prometheus.yml")
        .replace("\"127.0.0.1:9093\"", &targets.join(", "))
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
    run_alertmanager_with(bin, dir, port, config, None)
}

/// How one Alertmanager takes part in a cluster on loopback.
pub struct Gossip {
    /// Its own gossip port on 127.0.0.1 (listened on and advertised).
    pub port: u16,
    /// Gossip ports of the members it joins at start.
    pub peers: Vec<u16>,
    /// `--cluster.peer-timeout`: the member at position n of the cluster waits n times this
    /// before notifying, then skips what the notification log (gossiped) says was sent.
    pub peer_timeout: Duration,
}

/// Runs Alertmanager with `config` on `port`, its data and log in `dir`: a member of a cluster with
/// `gossip`, alone without.
pub fn run_alertmanager_with(
    bin: &str,
    dir: &Path,
    port: u16,
    config: &str,
    gossip: Option<&Gossip>,
) -> Proc {
    std::fs::write(dir.join("alertmanager.yml"), config).unwrap();
    let mut cmd = Command::new(bin);
    cmd.arg(format!(
        "--config.file={}",
        dir.join("alertmanager.yml").display()
    ))
    .arg(format!("--storage.path={}", dir.join("am-data").display()))
    .arg(format!("--web.listen-address=127.0.0.1:{port}"))
    // Each notification, and each one skipped, is logged for a failing test's reader.
    .arg("--log.level=debug");
    match gossip {
        None => {
            cmd.arg("--cluster.listen-address=");
        }
        Some(g) => {
            let own = format!("127.0.0.1:{}", g.port);
            cmd.arg(format!("--cluster.listen-address={own}"))
                .arg(format!("--cluster.advertise-address={own}"))
                .arg(format!(
                    "--cluster.peer-timeout={}ms",
                    g.peer_timeout.as_millis()
                ))
                // Loopback is fast: gossip and full syncs often, so that the cluster settles
                // (three equal member counts 10 gossip intervals apart) in about 2 s and a
                // notification log entry reaches the other member well within the peer timeout;
                // retry a peer that was not up yet every second.
                .arg("--cluster.gossip-interval=50ms")
                .arg("--cluster.pushpull-interval=1s")
                .arg("--cluster.reconnect-interval=1s")
                .arg("--cluster.settle-timeout=30s");
            for p in &g.peers {
                cmd.arg(format!("--cluster.peer=127.0.0.1:{p}"));
            }
        }
    }
    let child = cmd
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

/// One Alertmanager of a cluster (or of a pair that does not gossip), with the shipped
/// configuration.
pub struct AlertmanagerSpec<'a> {
    /// Names its directory (configuration, data, log) under the test's directory.
    pub name: &'a str,
    pub web_port: u16,
    /// The receiver's `LISTEN_ADDR`; the webhook goes to `http://<exporter>/alertmanager`.
    pub exporter: &'a str,
    pub token_file: &'a Path,
    /// `(key, value)` set on every route that has the key (`group_wait`, `repeat_interval`…).
    pub timing: &'a [(&'a str, &'a str)],
    /// `None`: alone (`--cluster.listen-address=`).
    pub gossip: Option<Gossip>,
}

impl AlertmanagerSpec<'_> {
    /// The address Prometheus sends to.
    pub fn address(&self) -> String {
        format!("127.0.0.1:{}", self.web_port)
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.address())
    }

    /// Writes its configuration and starts it in `<dir>/<name>`.
    pub fn start(&self, bin: &str, dir: &Path) -> Proc {
        let dir: PathBuf = dir.join(self.name);
        std::fs::create_dir_all(&dir).unwrap();
        let mut config = alertmanager_config(self.exporter, self.token_file);
        for (key, value) in self.timing {
            config = set_all(&config, key, value);
        }
        run_alertmanager_with(bin, &dir, self.web_port, &config, self.gossip.as_ref())
    }
}

/// `GET /api/v2/status` of the Alertmanager at `url`, if it answers.
pub async fn status(url: &str) -> Option<Value> {
    let r = reqwest::get(format!("{url}/api/v2/status")).await.ok()?;
    r.json().await.ok()
}

/// Polls every Alertmanager of `urls` until each reports its cluster `ready` with `urls.len()`
/// members; fails after `within` with the last status seen.
pub async fn wait_cluster_ready(urls: &[String], within: Duration) {
    let until = Instant::now() + within;
    for url in urls {
        loop {
            let s = status(url).await.unwrap_or(Value::Null);
            let cluster = &s["cluster"];
            let members = cluster["peers"].as_array().map_or(0, Vec::len);
            if cluster["status"] == "ready" && members == urls.len() {
                break;
            }
            assert!(
                Instant::now() < until,
                "{url}: cluster not ready with {} members: {cluster}",
                urls.len()
            );
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }
}

/// The receiving end of a test with the real Prometheus and Alertmanager: a fake BSS reporting
/// package [`ID`] at 50 of 100 GB, a fake Telegram, a marker-writing shutdown command, the webhook
/// token in a file, and `serve` on a free loopback port (polling every second, a 1 s shutdown
/// delay, no daily report).
pub struct Receiver {
    pub dir: PathBuf,
    pub bss: FakeBss,
    pub tg: FakeTelegram,
    /// One line per shutdown command run.
    pub marker: PathBuf,
    pub token_file: PathBuf,
    /// `serve`'s `LISTEN_ADDR`.
    pub exporter: String,
    /// `http://<exporter>`.
    pub base: String,
    pub serve: Proc,
}

impl Receiver {
    /// Starts it all under a fresh directory named after `name`; `extra` adds to the environment.
    pub async fn start(name: &str, token: &str, extra: &[(&str, &str)]) -> Self {
        let dir = state_dir(name);
        let (bss, tg) = super::bss_and_telegram().await;
        bss.set_gb(ID, 50.0, 100.0);
        let (script, marker) = marker_script(&dir, "");
        let token_file = dir.join("webhook-token");
        std::fs::write(&token_file, token).unwrap();
        let exporter = format!("127.0.0.1:{}", free_port());
        let base = format!("http://{exporter}");
        let mut env = app_env(&bss, &tg, &[]);
        env.extend(vars(&[
            ("LISTEN_ADDR", exporter.as_str()),
            ("POLL_INTERVAL", "1s"),
            ("WEBHOOK_TOKEN", token),
            ("SHUTDOWN_DELAY", "1s"),
            ("SHUTDOWN_COMMAND", script.to_str().unwrap()),
            ("DAILY_REPORT", "false"),
        ]));
        env.extend(vars(extra));
        let serve = start_serve(&env, &dir, &base).await;
        Self {
            dir,
            bss,
            tg,
            marker,
            token_file,
            exporter,
            base,
            serve,
        }
    }

    /// How many times the shutdown command ran.
    pub fn shutdowns(&self) -> usize {
        std::fs::read_to_string(&self.marker)
            .map(|s| s.lines().count())
            .unwrap_or(0)
    }
}
