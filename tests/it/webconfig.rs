//! The web configuration file (exporter-toolkit format): the corpus in
//! `tests/fixtures/web-config` — every good file loads, every bad one is refused with a message
//! naming its key or user — and the listener with TLS, basic auth and headers.

use std::path::{Path, PathBuf};

use flexus_traffic_monitor::webconfig;

fn corpus(kind: &str) -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/web-config")
        .join(kind);
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "yml"))
        .collect();
    files.sort();
    files
}

/// Every key of the format, each of which the corpus covers on both sides.
const KEYS: [&str; 17] = [
    "tls_server_config.cert",
    "tls_server_config.key",
    "tls_server_config.client_ca",
    "tls_server_config.cert_file",
    "tls_server_config.key_file",
    "tls_server_config.client_auth_type",
    "tls_server_config.client_ca_file",
    "tls_server_config.client_allowed_sans",
    "tls_server_config.min_version",
    "tls_server_config.max_version",
    "tls_server_config.cipher_suites",
    "tls_server_config.prefer_server_cipher_suites",
    "tls_server_config.curve_preferences",
    "http_server_config.http2",
    "http_server_config.headers",
    "basic_auth_users",
    "rate_limit",
];

#[test]
fn every_good_web_config_in_the_corpus_loads() {
    let files = corpus("good");
    assert!(files.len() >= 20, "{files:?}");
    for f in &files {
        if let Err(e) = webconfig::load(f) {
            panic!("{}: refused: {e}", f.display());
        }
    }
    let tls = webconfig::load(
        &files
            .iter()
            .find(|f| f.ends_with("full.yml"))
            .unwrap()
            .clone(),
    )
    .unwrap();
    assert!(tls.tls.is_some());
    assert_eq!(tls.users.keys().collect::<Vec<_>>(), ["prometheus"]);
    assert_eq!(tls.headers.len(), 2);
    let blank = webconfig::load(
        &files
            .iter()
            .find(|f| f.ends_with("headers-blank.yml"))
            .unwrap()
            .clone(),
    )
    .unwrap();
    assert!(blank.headers.is_empty(), "blank headers are unset");
}

#[test]
fn every_bad_web_config_in_the_corpus_is_refused_naming_its_key_or_user() {
    let files = corpus("bad");
    assert!(files.len() >= 40, "{files:?}");
    let mut wrong = Vec::new();
    for f in &files {
        let text = std::fs::read_to_string(f).unwrap();
        let name = f.file_name().unwrap().to_string_lossy().to_string();
        let expect = text
            .lines()
            .next()
            .and_then(|l| l.strip_prefix("# expect: "))
            .unwrap_or_else(|| panic!("{name}: no `# expect: <key>` first line"))
            .trim();
        let e = match webconfig::load(f) {
            Ok(_) => {
                wrong.push(format!("{name}: accepted"));
                continue;
            }
            Err(e) => e,
        };
        let shown = e.to_string();
        if e.key != expect
            || !shown.starts_with(&format!("{expect}: "))
            || !shown.contains("; fix: ")
        {
            wrong.push(format!("{name}: expected {expect}, got: {shown}"));
        }
        if e.zh.0.is_empty() || e.zh.1.is_empty() {
            wrong.push(format!("{name}: no Chinese text"));
        }
        // A secret never shows: neither a private key nor a password hash.
        for secret in ["PRIVATE KEY", "mDwo.lAis", "hLqFl9jS"] {
            if shown.contains(secret) || e.zh.0.contains(secret) {
                wrong.push(format!("{name}: shows {secret}: {shown}"));
            }
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

#[test]
fn the_corpus_covers_every_key_of_the_format_on_both_sides() {
    let text = |kind: &str| -> Vec<String> {
        corpus(kind)
            .iter()
            .map(|f| std::fs::read_to_string(f).unwrap())
            .collect()
    };
    let good = text("good");
    let bad_keys: Vec<String> = text("bad")
        .iter()
        .filter_map(|t| {
            t.lines()
                .next()?
                .strip_prefix("# expect: ")
                .map(str::to_string)
        })
        .collect();
    for key in KEYS {
        let leaf = key.rsplit('.').next().unwrap();
        assert!(
            key == "rate_limit"
                || good.iter().any(|t| t
                    .lines()
                    .any(|l| l.trim_start().starts_with(&format!("{leaf}:")))),
            "no good file sets {key}"
        );
        assert!(
            bad_keys.iter().any(|k| k.starts_with(key)),
            "no bad file is refused for {key}"
        );
    }
}
