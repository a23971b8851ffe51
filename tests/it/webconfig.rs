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
fn the_shipped_example_web_config_loads_with_its_certificate_in_place() {
    let example = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("deploy/web-config.yml"),
    )
    .unwrap();
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/web-config/");
    let dir = crate::helpers::state_dir("web-config-example");
    let file = dir.join("web-config.yml");
    std::fs::write(
        &file,
        example.replace(
            "/etc/flexus-traffic-monitor/tls/",
            fixtures.to_str().unwrap(),
        ),
    )
    .unwrap();
    let c = webconfig::load(&file).unwrap();
    assert!(c.tls.is_some());
    assert_eq!(c.users.keys().collect::<Vec<_>>(), ["prometheus"]);
    assert!(
        bcrypt::verify("password", &c.users["prometheus"]).unwrap(),
        "the hash is of the password the comment names"
    );
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

// ---- the listener with a web configuration file ----

use std::sync::Arc;
use std::time::Duration;

use crate::helpers::alertmanager::{bearer, watchdog, TOKEN};
use crate::helpers::{app_env, state_dir, FakeBss, FakeTelegram, TestApp};

fn fixture(name: &str) -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/web-config")
        .join(name)
        .display()
        .to_string()
}

/// A web configuration file in a fresh directory: TLS with the test certificate, then `extra`.
fn web_config(extra: &str) -> PathBuf {
    let dir = state_dir("web-config");
    let file = dir.join("web.yml");
    std::fs::write(
        &file,
        format!(
            "tls_server_config:\n  cert_file: {}\n  key_file: {}\n{extra}",
            fixture("server.crt"),
            fixture("server.key")
        ),
    )
    .unwrap();
    file
}

/// A client that trusts the test CA, optionally with the test client certificate.
fn client(with_cert: bool) -> reqwest::Client {
    let ca = reqwest::Certificate::from_pem(&std::fs::read(fixture("ca.crt")).unwrap()).unwrap();
    let mut b = reqwest::Client::builder()
        .use_rustls_tls()
        .tls_built_in_root_certs(false)
        .add_root_certificate(ca)
        .timeout(Duration::from_secs(10));
    if with_cert {
        let mut pem = std::fs::read(fixture("client.crt")).unwrap();
        pem.extend(std::fs::read(fixture("client.key")).unwrap());
        b = b.identity(reqwest::Identity::from_pem(&pem).unwrap());
    }
    b.build().unwrap()
}

async fn spawn(file: &Path, extra: &[(&str, &str)]) -> (TestApp, String, FakeBss, FakeTelegram) {
    let bss = FakeBss::start().await;
    let tg = FakeTelegram::start().await;
    let mut vars = vec![("WEB_CONFIG_FILE", file.to_str().unwrap())];
    vars.extend_from_slice(extra);
    let app = TestApp::spawn(&app_env(&bss, &tg, &vars)).await;
    let https = app.base_url.replace("http://", "https://");
    (app, https, bss, tg)
}

const ROUTES: [&str; 9] = [
    "/metrics",
    "/",
    "/api/v1/status",
    "/api/v1/summary",
    "/api/v1/history",
    "/healthz",
    "/readyz",
    "/-/healthy",
    "/-/ready",
];

#[tokio::test]
async fn tls_and_basic_auth_guard_every_route_but_the_webhook_which_keeps_its_token() {
    let hash = bcrypt::hash("scrape-pass", 4).unwrap();
    let file = web_config(&format!(
        "http_server_config:\n  headers:\n    X-Frame-Options: deny\nbasic_auth_users:\n  prometheus: '{hash}'\n"
    ));
    let (app, https, _bss, _tg) = spawn(&file, &[("WEBHOOK_TOKEN", TOKEN)]).await;
    let c = client(false);
    for route in ROUTES {
        let url = format!("{https}{route}");
        let r = c.get(&url).send().await.unwrap();
        assert_eq!(r.status(), 401, "{route} without a password");
        assert!(r.headers()["www-authenticate"]
            .to_str()
            .unwrap()
            .starts_with("Basic"));
        assert_eq!(r.headers()["x-frame-options"], "deny", "{route}");
        let r = c
            .get(&url)
            .basic_auth("prometheus", Some("wrong"))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 401, "{route} with a wrong password");
        let r = c
            .get(&url)
            .basic_auth("nobody", Some("scrape-pass"))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 401, "{route} with an unknown user");
        let r = c
            .get(&url)
            .basic_auth("prometheus", Some("scrape-pass"))
            .send()
            .await
            .unwrap();
        assert_ne!(r.status(), 401, "{route} with the password");
        assert_eq!(r.headers()["x-frame-options"], "deny", "{route}");
    }
    let scrape = c
        .get(format!("{https}/metrics"))
        .basic_auth("prometheus", Some("scrape-pass"))
        .send()
        .await
        .unwrap();
    assert_eq!(scrape.status(), 200);
    assert!(scrape.text().await.unwrap().contains("flexus_bss_up"));
    // The webhook: its bearer token, never basic auth.
    let post = |auth: Option<String>| {
        let mut req = c
            .post(format!("{https}/alertmanager"))
            .header("content-type", "application/json")
            .body(watchdog("firing"));
        if let Some(a) = auth {
            req = req.header("authorization", a);
        }
        req.send()
    };
    let r = post(Some(bearer())).await.unwrap();
    assert_eq!(r.status(), 200, "the webhook with its token");
    assert_eq!(r.headers()["x-frame-options"], "deny");
    assert_eq!(post(None).await.unwrap().status(), 401);
    let basic = format!(
        "Basic {}",
        base64::Engine::encode(
            &base64::engine::general_purpose::STANDARD,
            "prometheus:scrape-pass"
        )
    );
    assert_eq!(
        post(Some(basic)).await.unwrap().status(),
        401,
        "basic auth does not open the webhook"
    );
    // Plain HTTP and a client that does not trust the CA get nothing.
    assert!(
        reqwest::get(format!("{}/metrics", app.base_url))
            .await
            .is_err(),
        "plain HTTP on a TLS port"
    );
    let untrusting = reqwest::Client::builder().use_rustls_tls().build().unwrap();
    let e = untrusting
        .get(format!("{https}/-/healthy"))
        .send()
        .await
        .unwrap_err();
    assert!(format!("{e:?}").contains("UnknownIssuer"), "{e:?}");
    app.stop().await;
}

#[tokio::test]
async fn the_status_token_still_opens_the_read_routes_beside_basic_auth() {
    let hash = bcrypt::hash("scrape-pass", 4).unwrap();
    let token = "status-token-0123456789";
    let file = web_config(&format!("basic_auth_users:\n  prometheus: '{hash}'\n"));
    let (app, https, _bss, _tg) = spawn(&file, &[("STATUS_TOKEN", token)]).await;
    let c = client(false);
    for route in ["/", "/api/v1/status", "/api/v1/summary"] {
        let r = c
            .get(format!("{https}{route}"))
            .bearer_auth(token)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200, "{route} with STATUS_TOKEN");
        let r = c
            .get(format!("{https}{route}"))
            .basic_auth("prometheus", Some("scrape-pass"))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200, "{route} as a user of the file");
    }
    let r = c
        .get(format!("{https}/metrics"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    assert_eq!(
        r.status(),
        401,
        "the read-only token is not a password of /metrics"
    );
    app.stop().await;
}

#[tokio::test]
async fn a_client_certificate_is_required_when_the_file_says_so_and_its_san_must_be_allowed() {
    let file = web_config(&format!(
        "  client_auth_type: RequireAndVerifyClientCert\n  client_ca_file: {}\n  client_allowed_sans: [prometheus.example]\n",
        fixture("ca.crt")
    ));
    let (app, https, _bss, _tg) = spawn(&file, &[]).await;
    assert!(
        client(false)
            .get(format!("{https}/-/healthy"))
            .send()
            .await
            .is_err(),
        "no client certificate"
    );
    let r = client(true)
        .get(format!("{https}/-/healthy"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    // The same certificate, once its SAN is no longer allowed (the file is read again).
    std::fs::write(
        &file,
        std::fs::read_to_string(&file)
            .unwrap()
            .replace("prometheus.example", "grafana.example"),
    )
    .unwrap();
    assert!(
        client(true)
            .get(format!("{https}/-/healthy"))
            .send()
            .await
            .is_err(),
        "a SAN not allowed"
    );
    app.stop().await;
}

#[tokio::test]
async fn a_changed_file_is_read_again_and_a_broken_edit_keeps_the_last_good_one() {
    let alice = bcrypt::hash("alice-pass", 4).unwrap();
    let bob = bcrypt::hash("bob-pass", 4).unwrap();
    let file = web_config(&format!("basic_auth_users:\n  alice: '{alice}'\n"));
    let (app, https, _bss, _tg) = spawn(&file, &[]).await;
    let c = client(false);
    let status = |user: &'static str, pass: &'static str| {
        let req = c
            .get(format!("{https}/metrics"))
            .basic_auth(user, Some(pass));
        async move { req.send().await.unwrap().status().as_u16() }
    };
    assert_eq!(status("alice", "alice-pass").await, 200);
    assert_eq!(status("bob", "bob-pass").await, 401);
    let text = std::fs::read_to_string(&file).unwrap();
    std::fs::write(
        &file,
        text.replace(&format!("alice: '{alice}'"), &format!("bob: '{bob}'")),
    )
    .unwrap();
    assert_eq!(status("bob", "bob-pass").await, 200, "the new user");
    assert_eq!(status("alice", "alice-pass").await, 401, "the removed user");
    // A broken edit: a bad hash. The server neither opens nor locks out bob.
    let good = std::fs::read_to_string(&file).unwrap();
    std::fs::write(&file, good.replace(&bob, "not-a-hash")).unwrap();
    assert_eq!(
        status("bob", "bob-pass").await,
        200,
        "the last good configuration stays"
    );
    assert_eq!(status("alice", "alice-pass").await, 401);
    std::fs::write(&file, "tls_server_config: [").unwrap();
    assert_eq!(status("bob", "bob-pass").await, 200);
    app.stop().await;
}

#[tokio::test]
async fn a_tls_handshake_is_bounded_by_the_header_timeout_and_by_the_connection_limit() {
    use flexus_traffic_monitor::http::server::{serve_web, Limits};
    use flexus_traffic_monitor::webconfig::watch::Watch;
    use tokio::io::AsyncReadExt;

    let file = web_config("");
    let watch = Arc::new(Watch::load(&file).unwrap());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let app = axum::Router::new().route("/", axum::routing::get(|| async { "ok" }));
    let cancel = tokio_util::sync::CancellationToken::new();
    let limits = Limits {
        max_connections: 2,
        header_read_timeout: Duration::from_millis(800),
        body_timeout: Duration::from_secs(5),
    };
    tokio::spawn(serve_web(
        listener,
        app,
        cancel.clone(),
        limits,
        Some(watch),
    ));
    // Two connections that never start their handshake hold every slot...
    let mut silent = Vec::new();
    for _ in 0..2 {
        silent.push(tokio::net::TcpStream::connect(addr).await.unwrap());
    }
    tokio::time::sleep(Duration::from_millis(100)).await;
    // ...yet a real client gets in: a handshake in progress counts as idle, its slot is taken.
    let started = std::time::Instant::now();
    let r = client(false)
        .get(format!("https://{addr}/"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.text().await.unwrap(), "ok");
    assert!(
        started.elapsed() < Duration::from_millis(700),
        "{:?}",
        started.elapsed()
    );
    // And a silent connection is closed once the header timeout has passed.
    let mut lone = tokio::net::TcpStream::connect(addr).await.unwrap();
    let started = std::time::Instant::now();
    let mut buf = [0u8; 16];
    let n = tokio::time::timeout(Duration::from_secs(5), lone.read(&mut buf))
        .await
        .expect("closed within the timeout")
        .unwrap_or(0);
    assert_eq!(n, 0);
    assert!(
        started.elapsed() >= Duration::from_millis(700),
        "{:?}",
        started.elapsed()
    );
    cancel.cancel();
}

/// The real Prometheus scrapes the exporter through TLS and basic auth with the scrape job shipped
/// in `deploy/prometheus/prometheus-tls.yml` (only its paths, address and interval substituted),
/// while clients without the password or without the CA are refused.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn prometheus_scrapes_through_tls_and_basic_auth_with_the_shipped_scrape_config() {
    use crate::helpers::alertmanager::{deploy, set_all};
    use crate::helpers::free_port;
    use crate::helpers::process::{tool, Proc};

    let Some(prometheus) = tool("prometheus") else {
        return;
    };
    let hash = bcrypt::hash("scrape-pass", 4).unwrap();
    let file = web_config(&format!("basic_auth_users:\n  prometheus: '{hash}'\n"));
    let (app, https, _bss, _tg) = spawn(&file, &[]).await;
    let exporter = https.trim_start_matches("https://").to_string();

    let dir = state_dir("prometheus-tls");
    let password = dir.join("flexus-scrape-password");
    std::fs::write(&password, "scrape-pass\n").unwrap();
    let shipped = deploy("prometheus/prometheus-tls.yml");
    for part in [
        "scheme: https",
        "ca_file: /etc/prometheus/flexus-ca.crt",
        "username: prometheus",
        "password_file: /etc/prometheus/flexus-scrape-password",
    ] {
        assert!(shipped.contains(part), "the shipped job has {part}");
    }
    let config = shipped
        .replace("/etc/prometheus/flexus-ca.crt", &fixture("ca.crt"))
        .replace(
            "/etc/prometheus/flexus-scrape-password",
            password.to_str().unwrap(),
        )
        .replace("\"flexus.example.com:9184\"", &format!("\"{exporter}\""))
        .replace(
            "\"127.0.0.1:9093\"",
            &format!("\"127.0.0.1:{}\"", free_port()),
        );
    let config = set_all(&config, "scrape_interval", "1s");
    std::fs::write(dir.join("prometheus.yml"), &config).unwrap();
    std::fs::write(
        dir.join("flexus-rules.yml"),
        deploy("prometheus/flexus-rules.yml"),
    )
    .unwrap();
    let port = free_port();
    let _prometheus = Proc(
        std::process::Command::new(prometheus)
            .arg(format!(
                "--config.file={}",
                dir.join("prometheus.yml").display()
            ))
            .arg(format!(
                "--storage.tsdb.path={}",
                dir.join("tsdb").display()
            ))
            .arg(format!("--web.listen-address=127.0.0.1:{port}"))
            .stdout(std::process::Stdio::null())
            .stderr(std::fs::File::create(dir.join("prometheus.log")).unwrap())
            .spawn()
            .unwrap(),
    );
    // Prometheus' own view of the target: up, and the exporter's figures read through TLS.
    let query = |q: &'static str| {
        let url = format!("http://127.0.0.1:{port}/api/v1/query");
        async move {
            let r: serde_json::Value = reqwest::Client::new()
                .get(url)
                .query(&[("query", q)])
                .send()
                .await
                .ok()?
                .json()
                .await
                .ok()?;
            r["data"]["result"][0]["value"][1]
                .as_str()
                .map(str::to_string)
        }
    };
    let until = std::time::Instant::now() + Duration::from_secs(30);
    loop {
        if query("up{job=\"flexus\"}").await.as_deref() == Some("1")
            && query("flexus_bss_up").await.is_some()
        {
            break;
        }
        assert!(
            std::time::Instant::now() < until,
            "Prometheus did not scrape through TLS: {}",
            std::fs::read_to_string(dir.join("prometheus.log")).unwrap_or_default()
        );
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    // The same target refuses a client without the password, and one that does not trust the CA.
    let r = client(false)
        .get(format!("{https}/metrics"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    let untrusting = reqwest::Client::builder().use_rustls_tls().build().unwrap();
    assert!(untrusting
        .get(format!("{https}/metrics"))
        .basic_auth("prometheus", Some("scrape-pass"))
        .send()
        .await
        .is_err());
    app.stop().await;
}

/// `check` (the cron job) serves no HTTP: a web configuration file it cannot use must not stop it,
/// while `serve` refuses to start with it, naming the variable and the user.
#[tokio::test]
async fn a_broken_web_config_file_stops_serve_but_not_check() {
    use crate::helpers::process::command;
    use crate::helpers::{base_env, ID};

    let bss = FakeBss::start().await;
    bss.set_gb(ID, 853.27, 1200.0);
    let file = web_config("basic_auth_users:\n  alice: not-a-hash\n");
    let mut env = base_env(&bss, &[ID]);
    env.push(("WEB_CONFIG_FILE".into(), file.display().to_string()));
    env.push(("MESSAGE_LANG".into(), "en".into()));
    let out = tokio::task::spawn_blocking({
        let env = env.clone();
        move || command(&env).arg("check").output().unwrap()
    })
    .await
    .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = tokio::task::spawn_blocking(move || {
        command(&env)
            .args(["serve", "--web.config.file"])
            .arg(&file)
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("WEB_CONFIG_FILE") && stderr.contains("basic_auth_users.alice"),
        "{stderr}"
    );
    assert!(!stderr.contains("not-a-hash"), "{stderr}");
}
