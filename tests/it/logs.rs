//! What the binary writes to stderr: no colour into a pipe, escaped values from outside, JSON
//! lines with `LOG_FORMAT=json`.

use serde_json::{json, Value};

use crate::helpers::process::run;
use crate::helpers::{base_env, FakeBss, Reply, ID};

/// A BSS error text that tries to forge a log line and clear the reader's screen.
const FORGED: &str =
    "denied\n2026-11-29T23:00:00.000000Z  WARN flexus_traffic_monitor: shutdown guard: acting\u{1b}[2J";

async fn check_with_forged_error(extra: &[(&str, &str)]) -> String {
    let fake = FakeBss::start().await;
    for _ in 0..5 {
        fake.push(Reply::Json(
            403,
            json!({"error_code": "CBC.0151", "error_msg": FORGED}),
        ));
    }
    let mut env = base_env(&fake, &[ID]);
    env.extend(extra.iter().map(|(k, v)| (k.to_string(), v.to_string())));
    let out = run(&env, &["check"]).await;
    String::from_utf8(out.stderr).unwrap()
}

#[tokio::test]
async fn text_logs_into_a_pipe_have_no_colour_and_no_forged_lines() {
    let stderr = check_with_forged_error(&[]).await;
    assert!(
        stderr.contains("denied\\n2026-11-29"),
        "the value is logged, escaped: {stderr}"
    );
    assert!(
        !stderr.contains('\u{1b}'),
        "no escape byte at all: {stderr:?}"
    );
    assert!(
        !stderr.lines().any(|l| l.starts_with("2026-11-29T23:00:00")),
        "a forged line: {stderr}"
    );
}

#[tokio::test]
async fn json_logs_are_one_object_per_line() {
    let stderr = check_with_forged_error(&[("LOG_FORMAT", "json")]).await;
    let objects: Vec<Value> = stderr
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l:?}")))
        .collect();
    assert!(!objects.is_empty());
    assert!(objects
        .iter()
        .all(|o| o["level"].is_string() && o["timestamp"].is_string()));
    assert!(
        objects
            .iter()
            .any(|o| o.to_string().contains("shutdown guard: acting\\u001b[2J")),
        "the forged text is kept intact inside a value: {stderr}"
    );
}
