//! The one-line installer (`scripts/install.sh`) run for real under `dash` and BusyBox ash, against a
//! loopback HTTP server laid out like GitHub's release downloads, which serves an archive built by
//! `scripts/release.sh` from the binary under test. Everything is installed below a temporary root
//! (or, as root, inside a BusyBox chroot with a `systemctl` whose bus does not answer); the
//! machine's `/etc` and `/usr` are never touched and its `systemctl` is never run.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::OnceLock;
use std::time::Duration;

use axum::http::{StatusCode, Uri};
use axum::Router;

use crate::helpers::process::{output_text, CONTAINER_OK};
use crate::helpers::{base_env, free_port, metric, state_dir, FakeBss, ID};

const BIN: &str = env!("CARGO_BIN_EXE_flexus-traffic-monitor");
const VERSION: &str = env!("CARGO_PKG_VERSION");

fn repo() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn target() -> String {
    format!("{}-unknown-linux-gnu", std::env::consts::ARCH)
}

fn archive_name() -> String {
    format!("flexus-traffic-monitor-{VERSION}-{}.tar.gz", target())
}

/// The binary under test without its debug sections (a sixth of the size, so packing and
/// unpacking stay quick), as packaged into the archive.
fn packaged_binary() -> &'static Path {
    static BINARY: OnceLock<PathBuf> = OnceLock::new();
    BINARY.get_or_init(|| {
        let copy = state_dir("binary").join("flexus-traffic-monitor");
        let stripped = Command::new("objcopy")
            .args(["--strip-debug", BIN])
            .arg(&copy)
            .status()
            .map(|s| s.success())
            .unwrap_or(false);
        if !stripped {
            std::fs::copy(BIN, &copy).unwrap();
        }
        copy
    })
}

/// The release archive of the binary under test, built once by `scripts/release.sh --binary`.
fn dist() -> &'static Path {
    static DIST: OnceLock<PathBuf> = OnceLock::new();
    DIST.get_or_init(|| {
        let out = state_dir("dist");
        let status = Command::new("bash")
            .arg(repo().join("scripts/release.sh"))
            .arg("--binary")
            .arg(packaged_binary())
            .args(["--version", VERSION, "--target", &target()])
            .arg("--out")
            .arg(&out)
            .stdout(Stdio::null())
            .status()
            .unwrap();
        assert!(status.success(), "scripts/release.sh failed");
        out
    })
}

/// A loopback server for `site`, laid out as `releases/download/vV/…` and `releases/latest/download/VERSION`.
struct ReleaseServer {
    site: PathBuf,
    base_url: String,
}

impl ReleaseServer {
    async fn start() -> Self {
        let site = state_dir("site");
        let dir = site.join(format!("releases/download/v{VERSION}"));
        std::fs::create_dir_all(&dir).unwrap();
        let name = archive_name();
        for f in [name.clone(), format!("{name}.sha256")] {
            std::fs::copy(dist().join(&f), dir.join(&f)).unwrap();
        }
        let latest = site.join("releases/latest/download");
        std::fs::create_dir_all(&latest).unwrap();
        std::fs::write(latest.join("VERSION"), format!("{VERSION}\n")).unwrap();

        let root = site.clone();
        let app = Router::new().fallback(move |uri: Uri| {
            let root = root.clone();
            async move {
                let rel = uri.path().trim_start_matches('/');
                if rel.split('/').any(|p| p == "..") {
                    return Err(StatusCode::BAD_REQUEST);
                }
                tokio::fs::read(root.join(rel))
                    .await
                    .map_err(|_| StatusCode::NOT_FOUND)
            }
        });
        let addr = crate::helpers::fakes::serve(app).await;
        let base_url = format!("http://{addr}/releases");
        Self { site, base_url }
    }

    fn release_dir(&self) -> PathBuf {
        self.site.join(format!("releases/download/v{VERSION}"))
    }
}

/// `dash` (Debian's /bin/sh) runs the installer, so a bash-ism fails the test; `sh` elsewhere.
fn posix_sh() -> &'static str {
    if which("dash") {
        "dash"
    } else if std::env::var_os("CI").is_some() {
        panic!("dash is not installed; CI must install it (apt-get install dash)")
    } else {
        eprintln!("note: dash not installed; running the installer with sh");
        "sh"
    }
}

fn which(tool: &str) -> bool {
    Command::new("sh")
        .args(["-c", &format!("command -v {tool}")])
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false)
}

/// Whether the installer can download here (it needs curl or wget); a note outside CI.
fn can_download() -> bool {
    if which("curl") || which("wget") {
        return true;
    }
    if std::env::var_os("CI").is_some() {
        panic!("neither curl nor wget is installed; CI must install curl");
    }
    eprintln!("note: neither curl nor wget installed; skipping the installer tests");
    false
}

/// Runs the installer into `root` with `args`, off the async runtime.
async fn install(server: &ReleaseServer, root: &Path, args: &[&str]) -> Output {
    let mut c = Command::new(posix_sh());
    c.arg(repo().join("scripts/install.sh"))
        .arg("--root")
        .arg(root)
        .args(["--base-url", &server.base_url])
        .args(args);
    for var in [
        "FTM_VERSION",
        "FTM_BASE_URL",
        "FTM_INIT",
        "FTM_ARCH",
        "FTM_LIBC",
        "FTM_ROOT",
        "DESTDIR",
    ] {
        c.env_remove(var);
    }
    let out = tokio::task::spawn_blocking(move || c.output().unwrap())
        .await
        .unwrap();
    eprintln!(
        "--- install.sh {args:?}\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

fn mode(p: &Path) -> u32 {
    std::fs::metadata(p)
        .unwrap_or_else(|e| panic!("{}: {e}", p.display()))
        .permissions()
        .mode()
        & 0o7777
}

/// Every file and directory below `root`, relative to it.
fn tree(root: &Path) -> Vec<String> {
    fn walk(base: &Path, dir: &Path, out: &mut Vec<String>) {
        for e in std::fs::read_dir(dir).unwrap() {
            let p = e.unwrap().path();
            out.push(p.strip_prefix(base).unwrap().display().to_string());
            if p.is_dir() {
                walk(base, &p, out);
            }
        }
    }
    let mut out = Vec::new();
    walk(root, root, &mut out);
    out.sort();
    out
}

/// Sets `key=value` in an env file the way a person edits it: the existing (or commented) line is
/// replaced, a missing one is added.
fn edit_env(path: &Path, pairs: &[(String, String)]) {
    let mut lines: Vec<String> = std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .map(str::to_string)
        .collect();
    for (k, v) in pairs {
        let new = format!("{k}={v}");
        match lines.iter_mut().find(|l| {
            l.trim_start_matches('#')
                .trim_start()
                .starts_with(&format!("{k}="))
        }) {
            Some(l) => *l = new,
            None => lines.push(new),
        }
    }
    std::fs::write(path, lines.join("\n") + "\n").unwrap();
}

/// The value of `key=` in the installed unit file.
fn unit_value(unit: &str, key: &str) -> String {
    unit.lines()
        .find_map(|l| l.strip_prefix(&format!("{key}=")))
        .unwrap_or_else(|| panic!("the unit has no {key}="))
        .to_string()
}

fn under(root: &Path, abs: &str) -> PathBuf {
    root.join(abs.trim_start_matches('/'))
}

#[tokio::test]
async fn newcomer_installs_edits_one_file_and_starts_the_service() {
    if !can_download() {
        return;
    }
    let server = ReleaseServer::start().await;
    let root = state_dir("root");
    // 1. One install command (latest version, systemd as on a real server).
    let out = install(&server, &root, &["--init", "systemd"]).await;
    let said = output_text(&out);
    assert!(out.status.success(), "install failed: {said}");
    assert!(said.contains("checksum ok"), "{said}");
    assert!(
        said.contains(&format!("installed flexus-traffic-monitor {VERSION}")),
        "{said}"
    );

    let bin = under(&root, "/usr/local/bin/flexus-traffic-monitor");
    assert_eq!(
        std::fs::read(&bin).unwrap(),
        std::fs::read(packaged_binary()).unwrap()
    );
    assert_eq!(mode(&bin), 0o755);
    let env_file = under(&root, "/etc/flexus-traffic-monitor/env");
    assert_eq!(mode(&env_file), 0o600, "the env file holds secrets");
    assert_eq!(mode(&under(&root, "/etc/flexus-traffic-monitor")), 0o750);
    assert_eq!(
        std::fs::read_to_string(&env_file).unwrap(),
        std::fs::read_to_string(repo().join(".env.example")).unwrap()
    );
    let unit_path = under(&root, "/etc/systemd/system/flexus-traffic-monitor.service");
    let unit = std::fs::read_to_string(&unit_path).unwrap();
    assert_eq!(
        unit,
        std::fs::read_to_string(repo().join("deploy/systemd/flexus-traffic-monitor.service"))
            .unwrap()
    );
    assert!(under(&root, "/var/lib/flexus-traffic-monitor").is_dir());
    assert!(under(
        &root,
        "/usr/local/share/flexus-traffic-monitor/deploy/prometheus/prometheus.yml"
    )
    .is_file());
    assert!(!under(&root, "/etc/cron.d/flexus-traffic-monitor").exists());
    // The empty configuration is reported and the next steps are printed; systemctl is not run
    // for a temporary root.
    assert!(
        said.contains("not running 'systemctl daemon-reload'"),
        "{said}"
    );
    assert!(
        said.contains("edit /etc/flexus-traffic-monitor/env"),
        "{said}"
    );
    assert!(
        said.contains("systemctl start flexus-traffic-monitor"),
        "{said}"
    );

    // 2. Edit one file.
    let fake = FakeBss::start().await;
    fake.set_gb(ID, 853.27, 1200.0);
    let port = free_port();
    let mut values: Vec<(String, String)> = base_env(&fake, &[ID])
        .into_iter()
        .filter(|(k, _)| k != "STATE_DIR")
        .collect();
    values.push(("LISTEN_ADDR".into(), format!("127.0.0.1:{port}")));
    // These tests run inside a container, where the stock shutdown is refused (see
    // `process::CONTAINER_OK`); this package stays far above T1.
    values.push((CONTAINER_OK.0.into(), CONTAINER_OK.1.into()));
    edit_env(&env_file, &values);

    // 3. Start the service as systemd would: the unit's ExecStart (its absolute paths below the
    //    temporary root), StateDirectory and WorkingDirectory, and no other environment.
    let exec: Vec<String> = unit_value(&unit, "ExecStart")
        .split_whitespace()
        .map(|a| match a.starts_with('/') {
            true => under(&root, a).display().to_string(),
            false => a.to_string(),
        })
        .collect();
    assert!(
        exec.contains(&env_file.display().to_string()),
        "the unit reads the installed env file: {exec:?}"
    );
    let state = under(
        &root,
        &format!("/var/lib/{}", unit_value(&unit, "StateDirectory")),
    );
    assert_eq!(under(&root, &unit_value(&unit, "WorkingDirectory")), state);
    let mut child = Command::new(&exec[0])
        .args(&exec[1..])
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("STATE_DIRECTORY", &state)
        .current_dir(&state)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let url = format!("http://127.0.0.1:{port}/metrics");
    let mut remaining = None;
    for _ in 0..100 {
        if let Ok(r) = reqwest::get(&url).await {
            let body = r.text().await.unwrap_or_default();
            remaining = metric(&body, "flexus_free_traffic_remaining_gb", &[]);
            if remaining.is_some() {
                break;
            }
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    child.kill().unwrap();
    child.wait().unwrap();
    assert_eq!(
        remaining,
        Some(853.27),
        "the installed service guards the package"
    );
    assert!(fake.valid_signatures() > 0);
}

#[tokio::test]
async fn migrating_the_old_env_runs_config_and_a_dry_run_check() {
    if !can_download() {
        return;
    }
    let server = ReleaseServer::start().await;
    let root = state_dir("root");
    std::fs::create_dir_all(under(&root, "/usr/sbin")).unwrap();
    std::fs::write(under(&root, "/usr/sbin/cron"), "#!/bin/sh\n").unwrap();
    std::fs::set_permissions(
        under(&root, "/usr/sbin/cron"),
        std::fs::Permissions::from_mode(0o755),
    )
    .unwrap();
    let fake = FakeBss::start().await;
    fake.set_gb(ID, 853.27, 1200.0);
    // The Python script's .env, with the test's fake cloud as its endpoint.
    let old = state_dir("old-script").join(".env");
    let lines: String = base_env(&fake, &[ID])
        .into_iter()
        .filter(|(k, _)| k != "STATE_DIR")
        .map(|(k, v)| format!("{k}={v}\n"))
        .collect();
    std::fs::write(&old, &lines).unwrap();

    let out = install(
        &server,
        &root,
        &["--version", VERSION, "--migrate", old.to_str().unwrap()],
    )
    .await;
    let said = output_text(&out);
    assert!(out.status.success(), "install failed: {said}");
    let env_file = under(&root, "/etc/flexus-traffic-monitor/env");
    assert_eq!(std::fs::read_to_string(&env_file).unwrap(), lines);
    assert_eq!(mode(&env_file), 0o600);
    assert!(said.contains("== flexus-traffic-monitor check"), "{said}");
    assert!(said.contains("check: ok"), "{said}");
    assert!(said.contains("853.27"), "check printed the figures: {said}");
    assert!(
        fake.valid_signatures() > 0,
        "check polled the cloud it was configured for"
    );
    // No systemd in a temporary root: an hourly cron line for `check` instead.
    let cron = std::fs::read_to_string(under(&root, "/etc/cron.d/flexus-traffic-monitor")).unwrap();
    assert!(
        cron.contains("0 * * * * root cd /var/lib/flexus-traffic-monitor && STATE_DIRECTORY=/var/lib/flexus-traffic-monitor /usr/local/bin/flexus-traffic-monitor --env-file /etc/flexus-traffic-monitor/env check"),
        "{cron}"
    );
    assert!(!under(&root, "/etc/systemd/system/flexus-traffic-monitor.service").exists());
    // The check's throwaway state is gone; the real state directory is left empty.
    assert_eq!(
        tree(&under(&root, "/var/lib/flexus-traffic-monitor")),
        Vec::<String>::new()
    );
    assert!(said.contains("cron runs 'check' every hour"), "{said}");

    // A `check` by hand in root's home, with the installed env file, keeps its memory where the
    // service keeps it: one state, so an alert does not go out twice.
    let home = state_dir("root-home");
    let bin = under(&root, "/usr/local/bin/flexus-traffic-monitor");
    let mut c = Command::new(&bin);
    c.arg("--env-file")
        .arg(&env_file)
        .arg("check")
        .env_remove("STATE_DIR")
        .env_remove("STATE_DIRECTORY")
        .env(CONTAINER_OK.0, CONTAINER_OK.1)
        .current_dir(&home);
    let hand = tokio::task::spawn_blocking(move || c.output().unwrap())
        .await
        .unwrap();
    assert!(hand.status.success(), "{}", output_text(&hand));
    assert!(
        !home.join("state").exists(),
        "a second state in the working directory"
    );
    assert!(
        under(&root, "/var/lib/flexus-traffic-monitor/state.json").is_file(),
        "{:?}",
        tree(&under(&root, "/var/lib/flexus-traffic-monitor"))
    );
}

#[tokio::test]
async fn a_checksum_mismatch_installs_nothing() {
    if !can_download() {
        return;
    }
    let server = ReleaseServer::start().await;
    let sha = server
        .release_dir()
        .join(format!("{}.sha256", archive_name()));
    let good = std::fs::read_to_string(&sha).unwrap();
    let flipped = if good.starts_with('0') { "1" } else { "0" };
    std::fs::write(&sha, format!("{flipped}{}", &good[1..])).unwrap();
    let root = state_dir("root");
    let out = install(&server, &root, &["--init", "systemd"]).await;
    let said = output_text(&out);
    assert!(!out.status.success(), "{said}");
    assert!(said.contains("checksum mismatch"), "{said}");
    assert!(said.contains("nothing was installed"), "{said}");
    assert_eq!(tree(&root), Vec::<String>::new(), "nothing below the root");
}

#[tokio::test]
async fn an_unsupported_architecture_is_named_and_nothing_is_downloaded() {
    if !can_download() {
        return;
    }
    let server = ReleaseServer::start().await;
    let root = state_dir("root");
    let out = install(&server, &root, &["--arch", "armv7l"]).await;
    let said = output_text(&out);
    assert!(!out.status.success(), "{said}");
    assert!(
        said.contains("unsupported architecture 'armv7l'") && said.contains("aarch64"),
        "{said}"
    );
    assert!(!said.contains("downloading"), "{said}");
    assert_eq!(tree(&root), Vec::<String>::new());
}

#[tokio::test]
async fn a_rerun_upgrades_the_binary_and_keeps_the_env_then_uninstall_keeps_state_unless_purged() {
    if !can_download() {
        return;
    }
    let server = ReleaseServer::start().await;
    let root = state_dir("root");
    let first = install(&server, &root, &["--init", "systemd", "--no-check"]).await;
    assert!(first.status.success(), "{}", output_text(&first));

    // The user's configuration and state, and an older binary in place.
    let env_file = under(&root, "/etc/flexus-traffic-monitor/env");
    edit_env(&env_file, &[("SERVER_NAME".into(), "my-flexus".into())]);
    let edited = std::fs::read_to_string(&env_file).unwrap();
    let state_file = under(&root, "/var/lib/flexus-traffic-monitor/state.json");
    std::fs::write(&state_file, "{}").unwrap();
    let bin = under(&root, "/usr/local/bin/flexus-traffic-monitor");
    std::fs::write(&bin, "#!/bin/sh\necho 'flexus-traffic-monitor 0.0.1'\n").unwrap();

    let again = install(&server, &root, &["--init", "systemd", "--no-check"]).await;
    let said = output_text(&again);
    assert!(again.status.success(), "{said}");
    assert!(
        said.contains(&format!(
            "upgraded: flexus-traffic-monitor 0.0.1 -> flexus-traffic-monitor {VERSION}"
        )),
        "{said}"
    );
    assert!(said.contains("kept the configuration"), "{said}");
    assert_eq!(
        std::fs::read(&bin).unwrap(),
        std::fs::read(packaged_binary()).unwrap()
    );
    assert_eq!(std::fs::read_to_string(&env_file).unwrap(), edited);
    assert_eq!(mode(&env_file), 0o600);

    // Switching to cron leaves one scheduler: the unit goes, the cron line comes.
    let unit = under(&root, "/etc/systemd/system/flexus-traffic-monitor.service");
    assert!(unit.exists());
    let cron = install(&server, &root, &["--init", "cron", "--no-check"]).await;
    assert!(cron.status.success(), "{}", output_text(&cron));
    assert!(!unit.exists());
    let cron_file = under(&root, "/etc/cron.d/flexus-traffic-monitor");
    assert!(cron_file.exists());
    assert_eq!(std::fs::read_to_string(&env_file).unwrap(), edited);

    let gone = install(&server, &root, &["--uninstall"]).await;
    assert!(gone.status.success(), "{}", output_text(&gone));
    assert!(!bin.exists());
    assert!(!under(&root, "/etc/systemd/system/flexus-traffic-monitor.service").exists());
    assert!(!under(&root, "/usr/local/share/flexus-traffic-monitor").exists());
    assert!(!cron_file.exists());
    assert_eq!(std::fs::read_to_string(&env_file).unwrap(), edited);
    assert!(state_file.exists(), "state is kept");

    // The cron line's log goes with --purge.
    let log = under(&root, "/var/log/flexus-traffic-monitor.log");
    std::fs::create_dir_all(log.parent().unwrap()).unwrap();
    std::fs::write(&log, "check ran\n").unwrap();
    let purged = install(&server, &root, &["--uninstall", "--purge"]).await;
    assert!(purged.status.success(), "{}", output_text(&purged));
    assert!(!log.exists(), "the log is left after --purge");
    assert!(!under(&root, "/etc/flexus-traffic-monitor").exists());
    assert!(!under(&root, "/var/lib/flexus-traffic-monitor").exists());
}

// ---- a first run without surprises ----

/// The installer as `sh` runs it, with `args`, `env` added and the FTM_* variables removed.
fn installer(args: &[&str], env: &[(&str, &str)]) -> Command {
    let mut c = Command::new(posix_sh());
    c.arg(repo().join("scripts/install.sh")).args(args);
    for var in [
        "FTM_VERSION",
        "FTM_BASE_URL",
        "FTM_INIT",
        "FTM_ARCH",
        "FTM_LIBC",
        "FTM_ROOT",
        "DESTDIR",
        "SUDO_USER",
    ] {
        c.env_remove(var);
    }
    for (k, v) in env {
        c.env(k, v);
    }
    c
}

/// A server that accepts connections and never answers: a download from it hangs.
fn hanging_server() -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for s in listener.incoming() {
            held.push(s);
        }
    });
    format!("http://{addr}/releases")
}

/// Processes whose command line contains `needle` (the hanging download).
fn processes_with(needle: &str) -> Vec<String> {
    let mut found = Vec::new();
    for e in std::fs::read_dir("/proc").unwrap().flatten() {
        if let Ok(cmd) = std::fs::read(e.path().join("cmdline")) {
            let cmd = String::from_utf8_lossy(&cmd).replace('\0', " ");
            if cmd.contains(needle) && !cmd.contains("install.sh") {
                found.push(cmd);
            }
        }
    }
    found
}

#[tokio::test]
async fn a_signal_during_the_download_removes_the_temporary_files_and_stops_the_download() {
    if !can_download() {
        return;
    }
    for signal in ["HUP", "INT", "TERM"] {
        let base = hanging_server();
        let tmp = state_dir("tmp");
        let root = state_dir("root");
        let mut child = installer(
            &[
                "--root",
                root.to_str().unwrap(),
                "--base-url",
                &base,
                "--version",
                VERSION,
            ],
            &[("TMPDIR", tmp.to_str().unwrap())],
        )
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
        // Wait for the download to hang.
        for _ in 0..100 {
            if !processes_with(&base).is_empty() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        assert!(!processes_with(&base).is_empty(), "the download started");
        assert!(std::fs::read_dir(&tmp).unwrap().next().is_some());
        let pid = child.id().to_string();
        assert!(Command::new("kill")
            .args([&format!("-{signal}"), &pid])
            .status()
            .unwrap()
            .success());
        let mut ended = false;
        for _ in 0..100 {
            if child.try_wait().unwrap().is_some() {
                ended = true;
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        if !ended {
            let _ = child.kill();
        }
        assert!(ended, "SIG{signal}: the installer did not end");
        tokio::time::sleep(Duration::from_millis(200)).await;
        assert_eq!(
            processes_with(&base),
            Vec::<String>::new(),
            "SIG{signal}: the download outlived the installer"
        );
        assert_eq!(
            tree(&tmp),
            Vec::<String>::new(),
            "SIG{signal}: left in TMPDIR"
        );
    }

    // `| head`: the output closed while it downloads; the next line it writes ends it cleanly.
    let server = ReleaseServer::start().await;
    let tmp = state_dir("tmp");
    let root = state_dir("root");
    let mut child = installer(
        &[
            "--root",
            root.to_str().unwrap(),
            "--base-url",
            &server.base_url,
            "--no-check",
        ],
        &[("TMPDIR", tmp.to_str().unwrap())],
    )
    .stdout(Stdio::piped())
    .stderr(Stdio::null())
    .spawn()
    .unwrap();
    // Reads the first byte of the output, then closes it, as `| head -c 1` does.
    let mut out = child.stdout.take().unwrap();
    let status = tokio::task::spawn_blocking(move || {
        let mut first = [0u8; 1];
        std::io::Read::read_exact(&mut out, &mut first).unwrap();
        drop(out);
        child.wait().unwrap()
    })
    .await
    .unwrap();
    assert!(!status.success());
    assert_eq!(tree(&tmp), Vec::<String>::new(), "SIGPIPE: left in TMPDIR");
}

#[tokio::test]
async fn the_install_check_below_level_1_sends_nothing_waits_for_nothing_and_says_the_next_run_acts(
) {
    if !can_download() {
        return;
    }
    let server = ReleaseServer::start().await;
    let root = state_dir("root");
    std::fs::create_dir_all(under(&root, "/usr/sbin")).unwrap();
    std::fs::write(under(&root, "/usr/sbin/cron"), "#!/bin/sh\n").unwrap();
    std::fs::set_permissions(
        under(&root, "/usr/sbin/cron"),
        std::fs::Permissions::from_mode(0o755),
    )
    .unwrap();
    let fake = FakeBss::start().await;
    fake.set_gb(ID, 3.0, 1200.0);
    let tg = crate::helpers::FakeTelegram::start().await;
    let old = state_dir("old-script").join(".env");
    let lines: String = base_env(&fake, &[ID])
        .into_iter()
        .chain(crate::helpers::telegram_env(&tg))
        .filter(|(k, _)| k != "STATE_DIR")
        .map(|(k, v)| format!("{k}={v}\n"))
        .collect();
    std::fs::write(&old, &lines).unwrap();
    let started = std::time::Instant::now();
    let out = install(
        &server,
        &root,
        &["--version", VERSION, "--migrate", old.to_str().unwrap()],
    )
    .await;
    let said = output_text(&out);
    assert!(out.status.success(), "{said}");
    assert!(
        started.elapsed() < Duration::from_secs(30),
        "the install-time check waited {:?}",
        started.elapsed()
    );
    assert_eq!(tg.sent().len(), 0, "the installer's check sent messages");
    assert!(said.contains("check: ok"), "{said}");
    assert!(said.contains("below THRESHOLD_LEVEL_1"), "{said}");
    assert!(said.contains("will really act"), "{said}");
    assert!(said.contains("cron runs 'check' every hour"), "{said}");
}

#[tokio::test]
async fn the_next_step_follows_the_outcome_of_the_check() {
    if !can_download() {
        return;
    }
    let server = ReleaseServer::start().await;
    // A valid configuration whose cloud cannot be reached (exit 2): not "edit the env".
    let root = state_dir("root");
    let fake = FakeBss::start().await;
    let old = state_dir("old-script").join(".env");
    let lines: String = base_env(&fake, &[ID])
        .into_iter()
        .filter(|(k, _)| k != "STATE_DIR")
        .map(|(k, v)| match k.as_str() {
            "HUAWEICLOUD_BSS_ENDPOINT" => format!("{k}=http://127.0.0.1:1\n"),
            _ => format!("{k}={v}\n"),
        })
        .collect();
    std::fs::write(&old, &lines).unwrap();
    let out = install(
        &server,
        &root,
        &["--version", VERSION, "--migrate", old.to_str().unwrap()],
    )
    .await;
    let said = output_text(&out);
    assert!(out.status.success(), "{said}");
    assert!(
        !said.contains("edit /etc/flexus-traffic-monitor/env"),
        "{said}"
    );
    assert!(said.contains("reaches Huawei Cloud"), "{said}");
    // No cron daemon in this root: said, and not "cron runs check every hour".
    assert!(said.contains("no cron daemon"), "{said}");
    assert!(!said.contains("cron runs 'check' every hour"), "{said}");

    // --no-check: nothing is known about the configuration.
    let out = install(&server, &root, &["--no-check", "--init", "none"]).await;
    let said = output_text(&out);
    assert!(!said.contains("  1. edit "), "{said}");
    assert!(said.contains("if not done yet"), "{said}");
}

#[tokio::test]
async fn small_things_a_newcomer_reads() {
    if !can_download() {
        return;
    }
    let server = ReleaseServer::start().await;
    let root = state_dir("root");
    // systemd in a root where it does not run: enabled by its link, and the text makes sense.
    let out = install(&server, &root, &["--init", "systemd", "--no-check"]).await;
    let said = output_text(&out);
    assert!(out.status.success(), "{said}");
    assert!(!said.contains("root is )"), "{said}");
    assert!(said.contains("installing below"), "{said}");
    assert!(under(
        &root,
        "/etc/systemd/system/multi-user.target.wants/flexus-traffic-monitor.service"
    )
    .symlink_metadata()
    .is_ok());
    // The Debian maintainer scripts are not installed with the deploy files.
    assert!(under(
        &root,
        "/usr/local/share/flexus-traffic-monitor/deploy/prometheus"
    )
    .is_dir());
    assert!(!under(
        &root,
        "/usr/local/share/flexus-traffic-monitor/deploy/debian"
    )
    .exists());
    // The same version again is a reinstall, not an upgrade.
    let out = install(&server, &root, &["--init", "systemd", "--no-check"]).await;
    let said = output_text(&out);
    assert!(said.contains("reinstalled"), "{said}");
    assert!(!said.contains("upgraded:"), "{said}");

    // --help through `curl … | sh -s -- --help`: the options, not "see the README".
    let script = std::fs::read(repo().join("scripts/install.sh")).unwrap();
    let mut c = Command::new(posix_sh())
        .args(["-s", "--", "--help"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    std::io::Write::write_all(&mut c.stdin.take().unwrap(), &script).unwrap();
    let help = String::from_utf8_lossy(&c.wait_with_output().unwrap().stdout).to_string();
    assert!(
        help.contains("--base-url") && help.contains("--purge"),
        "{help}"
    );

    // sudo dropped an exported FTM_BASE_URL: the error names it and the working form.
    let mut c = installer(
        &["--root", root.to_str().unwrap()],
        &[
            ("SUDO_USER", "someone"),
            ("https_proxy", "http://127.0.0.1:1"),
            ("HTTPS_PROXY", "http://127.0.0.1:1"),
            ("no_proxy", ""),
            ("NO_PROXY", ""),
        ],
    );
    let out = tokio::task::spawn_blocking(move || c.output().unwrap())
        .await
        .unwrap();
    let said = output_text(&out);
    assert!(!out.status.success(), "{said}");
    assert!(
        said.contains("sudo") && said.contains("sh -s -- --base-url"),
        "{said}"
    );

    // The Debian package's one-line description is a whole sentence (cargo-deb cuts at a colon).
    let toml = std::fs::read_to_string(repo().join("Cargo.toml")).unwrap();
    let description = toml
        .lines()
        .find_map(|l| l.strip_prefix("description = \""))
        .unwrap();
    assert!(
        !description.contains(':') && description.len() <= 80,
        "{description}"
    );
}

// ---- other shells, a systemd that does not answer, the Debian package ----

/// `busybox sh` (ash: Alpine's /bin/sh, and busybox-based images); `None` outside CI without it.
fn busybox() -> Option<&'static str> {
    if which("busybox") {
        Some("busybox")
    } else if std::env::var_os("CI").is_some() {
        panic!("busybox is not installed; CI must install it (apt-get install busybox)")
    } else {
        eprintln!("note: busybox not installed; skipping the busybox ash runs");
        None
    }
}

#[tokio::test]
async fn under_busybox_ash_the_installer_installs_checks_upgrades_and_purges() {
    let Some(busybox_name) = busybox() else {
        return;
    };
    if !can_download() {
        return;
    }
    let server = ReleaseServer::start().await;
    let root = state_dir("root");
    let fake = FakeBss::start().await;
    fake.set_gb(ID, 853.27, 1200.0);
    let old = state_dir("old-script").join(".env");
    let lines: String = base_env(&fake, &[ID])
        .into_iter()
        .filter(|(k, _)| k != "STATE_DIR")
        .map(|(k, v)| format!("{k}={v}\n"))
        .collect();
    std::fs::write(&old, &lines).unwrap();
    // BusyBox's applets alone on PATH (wget, tar, sha256sum, mktemp, ...), as on Alpine or a
    // busybox-based image: no curl, no coreutils.
    let applets = state_dir("busybox-applets");
    let installed = Command::new(busybox_name)
        .args(["--install", "-s"])
        .arg(&applets)
        .status()
        .unwrap();
    assert!(installed.success());
    let busybox = applets.join("busybox");
    std::fs::copy(path_of(busybox_name), &busybox).unwrap();
    let run = |args: Vec<String>| {
        let mut c = Command::new(&busybox);
        c.arg("sh")
            .arg(repo().join("scripts/install.sh"))
            .arg("--root")
            .arg(&root)
            .args(["--base-url", &server.base_url])
            .args(args)
            .env("PATH", &applets);
        for var in [
            "FTM_VERSION",
            "FTM_BASE_URL",
            "FTM_INIT",
            "FTM_ROOT",
            "DESTDIR",
            "SUDO_USER",
        ] {
            c.env_remove(var);
        }
        async move {
            let out = tokio::task::spawn_blocking(move || c.output().unwrap())
                .await
                .unwrap();
            eprintln!("--- busybox sh install.sh\n{}", output_text(&out));
            out
        }
    };
    // A first install that migrates a configured env: config, the dry-run check, the next step.
    let out = run(vec![
        "--migrate".into(),
        old.display().to_string(),
        "--init".into(),
        "cron".into(),
    ])
    .await;
    let said = output_text(&out);
    assert!(out.status.success(), "{said}");
    assert!(
        said.contains("check: ok") && said.contains("853.27"),
        "{said}"
    );
    assert!(said.contains("Next:"), "{said}");
    let env_file = under(&root, "/etc/flexus-traffic-monitor/env");
    assert_eq!(std::fs::read_to_string(&env_file).unwrap(), lines);
    assert_eq!(mode(&env_file), 0o600);
    assert!(under(&root, "/etc/cron.d/flexus-traffic-monitor").is_file());
    // Again: a reinstall that keeps the configuration; then the systemd unit instead of cron.
    let out = run(vec!["--no-check".into(), "--init".into(), "systemd".into()]).await;
    let said = output_text(&out);
    assert!(out.status.success(), "{said}");
    assert!(
        said.contains("reinstalled") && said.contains("kept the configuration"),
        "{said}"
    );
    assert!(under(&root, "/etc/systemd/system/flexus-traffic-monitor.service").is_file());
    assert!(!under(&root, "/etc/cron.d/flexus-traffic-monitor").exists());
    // --help read from standard input, as through `curl … | sh -s -- --help`.
    let script = std::fs::read(repo().join("scripts/install.sh")).unwrap();
    let mut c = Command::new(busybox_name)
        .args(["sh", "-s", "--", "--help"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    std::io::Write::write_all(&mut c.stdin.take().unwrap(), &script).unwrap();
    let help = String::from_utf8_lossy(&c.wait_with_output().unwrap().stdout).to_string();
    assert!(
        help.contains("--base-url") && help.contains("--purge"),
        "{help}"
    );
    // Uninstall with --purge: nothing of ours is left.
    let out = run(vec!["--uninstall".into(), "--purge".into()]).await;
    assert!(out.status.success(), "{}", output_text(&out));
    assert!(!under(&root, "/etc/flexus-traffic-monitor").exists());
    assert!(!under(&root, "/usr/local/bin/flexus-traffic-monitor").exists());
    assert!(!under(&root, "/etc/systemd/system/flexus-traffic-monitor.service").exists());
}

/// A root to `chroot` into: BusyBox as its `/bin/sh` and tools, the C libraries the release binary
/// needs, and a `systemctl` that fails as it does where systemd's directory exists but its bus
/// does not answer (a container, a chroot of a running system). `None` when not root or without
/// `chroot` and busybox.
fn systemd_without_a_bus() -> Option<PathBuf> {
    let busybox = busybox()?;
    if !nix_is_root() || !which("chroot") {
        eprintln!("note: not root or no chroot; skipping the chroot test");
        return None;
    }
    let dir = state_dir("chroot");
    for d in [
        "bin",
        "usr/bin",
        "tmp",
        "run/systemd/system",
        "etc",
        "proc",
        "dev",
    ] {
        std::fs::create_dir_all(dir.join(d)).unwrap();
    }
    for (name, minor) in [("null", "3"), ("zero", "5"), ("urandom", "9")] {
        let node = dir.join("dev").join(name);
        let made = Command::new("mknod")
            .arg(&node)
            .args(["c", "1", minor])
            .status()
            .unwrap();
        assert!(made.success(), "mknod {}", node.display());
        std::fs::set_permissions(&node, std::fs::Permissions::from_mode(0o666)).unwrap();
    }
    let busybox_path = Command::new("sh")
        .args(["-c", &format!("command -v {busybox}")])
        .output()
        .unwrap();
    let busybox_path = String::from_utf8_lossy(&busybox_path.stdout)
        .trim()
        .to_string();
    std::fs::copy(&busybox_path, dir.join("bin/busybox")).unwrap();
    // coreutils' `install`, which the Debian package's postinst calls (BusyBox has none).
    std::fs::copy("/usr/bin/install", dir.join("usr/bin/install")).unwrap();
    // Every shared library these programs load, at the same paths.
    for program in [
        Path::new(&busybox_path),
        packaged_binary(),
        Path::new("/usr/bin/install"),
    ] {
        let ldd = Command::new("ldd").arg(program).output().unwrap();
        for lib in String::from_utf8_lossy(&ldd.stdout)
            .split_whitespace()
            .filter(|w| w.starts_with('/'))
        {
            let to = dir.join(lib.trim_start_matches('/'));
            std::fs::create_dir_all(to.parent().unwrap()).unwrap();
            std::fs::copy(lib, &to).unwrap();
        }
    }
    let ok = Command::new("chroot")
        .arg(&dir)
        .args(["/bin/busybox", "--install", "-s", "/bin"])
        .status()
        .unwrap();
    assert!(ok.success(), "busybox --install in the chroot");
    std::fs::write(
        dir.join("usr/bin/systemctl"),
        "#!/bin/sh\necho \"System has not been booted with systemd as init system (PID 1). Can't operate.\" >&2\necho 'Failed to connect to bus: Host is down' >&2\nexit 1\n",
    )
    .unwrap();
    std::fs::set_permissions(
        dir.join("usr/bin/systemctl"),
        std::fs::Permissions::from_mode(0o755),
    )
    .unwrap();
    Some(dir)
}

/// Where `tool` is on PATH.
fn path_of(tool: &str) -> String {
    let out = Command::new("sh")
        .args(["-c", &format!("command -v {tool}")])
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

fn nix_is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
}

/// Runs `args` as root inside `dir` (a chroot) with a plain environment.
async fn in_chroot(dir: &Path, args: &[&str]) -> Output {
    let mut c = Command::new("chroot");
    c.arg(dir)
        .args(args)
        .env_clear()
        .env(
            "PATH",
            "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
        )
        .env("HOME", "/root");
    let out = tokio::task::spawn_blocking(move || c.output().unwrap())
        .await
        .unwrap();
    eprintln!("--- chroot {args:?}\n{}", output_text(&out));
    out
}

#[tokio::test]
async fn where_systemd_is_present_but_its_bus_does_not_answer_the_install_still_checks_and_says_what_next(
) {
    let Some(dir) = systemd_without_a_bus() else {
        return;
    };
    if !can_download() {
        return;
    }
    let server = ReleaseServer::start().await;
    let fake = FakeBss::start().await;
    fake.set_gb(ID, 853.27, 1200.0);
    let lines: String = base_env(&fake, &[ID])
        .into_iter()
        .filter(|(k, _)| k != "STATE_DIR")
        .map(|(k, v)| format!("{k}={v}\n"))
        .collect();
    std::fs::write(dir.join("old.env"), &lines).unwrap();
    std::fs::copy(repo().join("scripts/install.sh"), dir.join("install.sh")).unwrap();
    // The real root of this system (no --root): systemd looks present, so the unit is chosen.
    let out = in_chroot(
        &dir,
        &[
            "/bin/sh",
            "/install.sh",
            "--base-url",
            &server.base_url,
            "--version",
            VERSION,
            "--migrate",
            "/old.env",
        ],
    )
    .await;
    let said = output_text(&out);
    assert!(out.status.success(), "{said}");
    assert!(
        dir.join("etc/systemd/system/flexus-traffic-monitor.service")
            .is_file(),
        "{said}"
    );
    assert!(said.contains("systemd is not answering"), "{said}");
    assert!(said.contains("check: ok"), "the check still ran: {said}");
    assert!(
        said.contains("Next:") && said.contains("systemctl start flexus-traffic-monitor"),
        "{said}"
    );
    assert!(fake.valid_signatures() > 0);

    // The Debian package's postinst, on a first installation, says the one next step; on an
    // upgrade (the old version given) it says nothing.
    std::fs::copy(repo().join("deploy/debian/postinst"), dir.join("postinst")).unwrap();
    let out = in_chroot(&dir, &["/bin/sh", "/postinst", "configure", ""]).await;
    let said = output_text(&out);
    assert!(out.status.success(), "{said}");
    assert!(
        said.contains("/etc/flexus-traffic-monitor/env")
            && said.contains("systemctl start flexus-traffic-monitor"),
        "{said}"
    );
    assert!(dir.join("var/lib/flexus-traffic-monitor").is_dir());
    let out = in_chroot(&dir, &["/bin/sh", "/postinst", "configure", "0.0.9"]).await;
    assert!(out.status.success());
    assert_eq!(output_text(&out).trim(), "");
}
