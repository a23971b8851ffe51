//! Child processes: the binary under test and installed programs, killed when dropped, and
//! polling until they answer.

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use super::{metric, state_dir};

const BIN: &str = env!("CARGO_BIN_EXE_flexus-traffic-monitor");

/// The binary under test with a clean environment, run in an empty directory (so no `.env` is
/// picked up).
pub fn command(env: &[(String, String)]) -> Command {
    let mut c = Command::new(BIN);
    c.env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .current_dir(state_dir("cwd"));
    for (k, v) in env {
        c.env(k, v);
    }
    c
}

/// The path of an installed program `name`, or `None` (and a note) when it is not installed
/// outside CI. Under CI (`CI` set) a missing program is a failure: CI installs them.
pub fn tool(name: &str) -> Option<&'static str> {
    tool_if(name, std::env::var_os("CI").is_some())
}

/// Like [`tool`], for a program that is nice to have even under CI (a missing one is a note).
pub fn optional_tool(name: &str) -> Option<&'static str> {
    tool_if(name, false)
}

fn tool_if(name: &str, required: bool) -> Option<&'static str> {
    let found = Command::new("sh")
        .args(["-c", &format!("command -v {name}")])
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false);
    if found {
        return Some(Box::leak(name.to_string().into_boxed_str()));
    }
    if required {
        panic!("{name} is not installed; CI must install it (apt-get install prometheus prometheus-alertmanager)");
    }
    eprintln!("note: {name} not installed; skipping (install Debian's prometheus and prometheus-alertmanager to run it)");
    None
}

/// A child process killed when dropped.
pub struct Proc(pub Child);

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Standard error (or output) of a child, written to `<dir>/<name>.log` for a failing test's reader.
pub fn log_file(dir: &Path, name: &str) -> Stdio {
    Stdio::from(std::fs::File::create(dir.join(format!("{name}.log"))).unwrap())
}

/// Polls `url` until it answers 2xx; fails after `within`.
pub async fn wait_ok(url: &str, within: Duration) {
    let until = Instant::now() + within;
    loop {
        if let Ok(r) = reqwest::get(url).await {
            if r.status().is_success() {
                return;
            }
        }
        assert!(Instant::now() < until, "{url} never answered");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// The text of `<base>/metrics`, or an empty text when it does not answer.
pub async fn scrape(base: &str) -> String {
    match reqwest::get(format!("{base}/metrics")).await {
        Ok(r) => r.text().await.unwrap_or_default(),
        Err(_) => String::new(),
    }
}

/// Polls `<base>/metrics` until the series `name{labels}` is `want`; fails after `within`.
pub async fn wait_metric(base: &str, name: &str, labels: &[&str], want: f64, within: Duration) {
    let until = Instant::now() + within;
    loop {
        let text = scrape(base).await;
        if metric(&text, name, labels) == Some(want) {
            return;
        }
        assert!(
            Instant::now() < until,
            "{name}{labels:?} never became {want} at {base}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// Starts `serve` with `env` (its `LISTEN_ADDR` is `base` without the scheme), its standard error
/// in `<dir>/exporter.log`, and waits until `/readyz` answers.
pub async fn start_serve(env: &[(String, String)], dir: &Path, base: &str) -> Proc {
    let child = command(env)
        .arg("serve")
        .stdout(Stdio::null())
        .stderr(log_file(dir, "exporter"))
        .spawn()
        .unwrap();
    let proc = Proc(child);
    wait_ok(&format!("{base}/readyz"), Duration::from_secs(20)).await;
    proc
}
