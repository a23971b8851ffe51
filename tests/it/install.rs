//! The one-line installer (`scripts/install.sh`) run for real under `dash`, against a loopback HTTP
//! server laid out like GitHub's release downloads, which serves an archive built by
//! `scripts/release.sh` from the binary under test. Everything is installed below a temporary root;
//! the machine's `/etc` and `/usr` are never touched and `systemctl` is never run.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::OnceLock;
use std::time::Duration;

use axum::http::{StatusCode, Uri};
use axum::Router;

use crate::helpers::process::output_text;
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

    let purged = install(&server, &root, &["--uninstall", "--purge"]).await;
    assert!(purged.status.success(), "{}", output_text(&purged));
    assert!(!under(&root, "/etc/flexus-traffic-monitor").exists());
    assert!(!under(&root, "/var/lib/flexus-traffic-monitor").exists());
}
