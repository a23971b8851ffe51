//! The real binary as a child process, configured only through its environment, and the other
//! programs tests run: where they are installed, and waiting for what they answer.

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use super::{metric, state_dir, FakeTelegram};

const BIN: &str = env!("CARGO_BIN_EXE_flexus-traffic-monitor");

/// Allows the stock shutdown command inside the container the tests run in (see [`command`]).
pub const CONTAINER_OK: (&str, &str) = ("SHUTDOWN_IN_CONTAINER", "true");

/// A command with a clean environment, run in an empty directory (so no `.env` is picked up).
/// The tests run inside a container (CI's too), where the stock `SHUTDOWN_COMMAND` is refused at
/// start; their programs never run it (their levels stay above T1, or a fake command stands in),
/// so the environment says it is allowed ([`CONTAINER_OK`]), unless `env` says otherwise.
pub fn command(env: &[(String, String)]) -> Command {
    let mut c = Command::new(BIN);
    c.env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env(CONTAINER_OK.0, CONTAINER_OK.1)
        .current_dir(state_dir("cwd"));
    for (k, v) in env {
        c.env(k, v);
    }
    c
}

/// A child process killed when dropped.
pub struct Proc(pub Child);

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A log file `dir/name.log` for a child's output.
pub fn log_file(dir: &Path, name: &str) -> Stdio {
    Stdio::from(std::fs::File::create(dir.join(format!("{name}.log"))).unwrap())
}

/// Starts `serve` with `env`, its output captured (see [`stop`]).
pub fn spawn_serve(env: &[(String, String)]) -> Child {
    command(env)
        .arg("serve")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

/// Starts `serve` with `env` on a fresh loopback port and waits until it is ready; returns the
/// process and its base URL.
pub async fn serve_ready(env: &[(String, String)]) -> (Child, String) {
    let port = super::free_port();
    let mut env = env.to_vec();
    env.push(("LISTEN_ADDR".into(), format!("127.0.0.1:{port}")));
    let child = spawn_serve(&env);
    let base = format!("http://127.0.0.1:{port}");
    wait_until_ready(&base).await;
    (child, base)
}

/// What a finished program wrote, standard output then standard error.
pub fn output_text(out: &std::process::Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// Runs the binary with `env` and `args` to its end, off the async runtime.
pub async fn run(env: &[(String, String)], args: &[&str]) -> std::process::Output {
    let env = env.to_vec();
    let args: Vec<String> = args.iter().map(|s| s.to_string()).collect();
    tokio::task::spawn_blocking(move || command(&env).args(&args).output().unwrap())
        .await
        .unwrap()
}

/// Waits (10 s at most) until the program at `base` answers `/readyz` with 200.
pub async fn wait_until_ready(base: &str) {
    for _ in 0..100 {
        if let Ok(r) = reqwest::get(format!("{base}/readyz")).await {
            if r.status() == 200 {
                return;
            }
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("the binary never became ready");
}

/// Sends SIGTERM, waits, asserts a clean exit and returns what the process logged.
pub async fn stop(child: std::process::Child) -> String {
    let pid = child.id().to_string();
    assert!(Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .unwrap()
        .success());
    let out = tokio::task::spawn_blocking(move || child.wait_with_output())
        .await
        .unwrap()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).to_string();
    assert!(out.status.success(), "exit {:?}: {stderr}", out.status);
    stderr
}

/// Waits (10 s at most) until the fake Telegram accepted a message containing `needle`.
pub async fn wait_for_message(tg: &FakeTelegram, needle: &str) {
    for _ in 0..200 {
        if tg.count(needle) > 0 {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("no message with {needle:?}; got {:#?}", tg.texts());
}

/// Waits until `url` answers with a success status, failing after `within`.
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

/// Waits until `/metrics` at `base` shows `want` as the first sample of `name`.
pub async fn wait_metric(base: &str, name: &str, want: f64, within: Duration) {
    wait_metric_with(base, name, &[], want, within).await;
}

/// Waits until `/metrics` at `base` shows `want` as the first sample of `name` with every `labels`
/// fragment.
pub async fn wait_metric_with(
    base: &str,
    name: &str,
    labels: &[&str],
    want: f64,
    within: Duration,
) {
    let until = Instant::now() + within;
    loop {
        let text = super::get_text(&format!("{base}/metrics")).await;
        if metric(&text, name, labels) == Some(want) {
            return;
        }
        assert!(Instant::now() < until, "{name} never became {want}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// Waits until the fake Telegram accepted `n` messages containing `needle`.
pub async fn wait_count(tg: &FakeTelegram, needle: &str, n: usize, within: Duration) {
    let until = Instant::now() + within;
    while tg.count(needle) < n {
        assert!(
            Instant::now() < until,
            "{n} x {needle:?} never arrived: {:#?}",
            tg.texts()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The path of `tool`, or `None` (and a note) when it is not installed outside CI.
pub fn tool(name: &str) -> Option<&'static str> {
    tool_if(name, std::env::var_os("CI").is_some())
}

/// Like [`tool`], for a tool that is nice to have even under CI (a missing one is a note).
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

/// The text of `<base>/metrics`, or an empty text when it does not answer.
pub async fn scrape(base: &str) -> String {
    match reqwest::get(format!("{base}/metrics")).await {
        Ok(r) => r.text().await.unwrap_or_default(),
        Err(_) => String::new(),
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
