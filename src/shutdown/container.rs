//! Whether this program runs inside a container, where `shutdown -h now` stops at most the
//! container and never the server whose traffic is counted. The evidence is what
//! `systemd-detect-virt --container` reads: `/run/.containerenv` (Podman), `/.dockerenv` (Docker),
//! `/run/systemd/container` and PID 1's `container=` variable (systemd-nspawn, LXC, Podman, ...),
//! and PID 1's control groups (Docker, Kubernetes, LXC, containerd). [`Evidence::read`] reads it
//! under a root directory (tests point it at a temporary one); [`detect`] judges it (pure).
//!
//! The rule built on it (`commands::container_problem`, run by `serve`, `check` and `config`)
//! refuses, outside `DRY_RUN` and unless `SHUTDOWN_IN_CONTAINER=true`, only the
//! stock power-off commands ([`is_stock_power_off`]): a custom `SHUTDOWN_COMMAND` is the owner's
//! choice (a privileged container can reach its host with `nsenter`).

use std::path::Path;

/// What was read.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Evidence {
    /// `/.dockerenv` exists.
    pub dockerenv: bool,
    /// `/run/.containerenv` exists.
    pub containerenv: bool,
    /// The content of `/run/systemd/container`, if any.
    pub systemd_container: Option<String>,
    /// `container=` in PID 1's environment, if readable.
    pub pid1_container: Option<String>,
    /// PID 1's `/proc/1/cgroup`, if readable.
    pub pid1_cgroup: String,
}

impl Evidence {
    /// Reads the evidence under `root` (`/` in the service). Unreadable files are no evidence.
    pub fn read(root: &Path) -> Self {
        let text = |p: &str| std::fs::read_to_string(root.join(p)).ok();
        let pid1_container = std::fs::read(root.join("proc/1/environ"))
            .ok()
            .and_then(|env| {
                env.split(|b| *b == 0)
                    .find_map(|v| v.strip_prefix(b"container="))
                    .map(|v| String::from_utf8_lossy(v).into_owned())
            });
        Self {
            dockerenv: root.join(".dockerenv").exists(),
            containerenv: root.join("run/.containerenv").exists(),
            systemd_container: text("run/systemd/container"),
            pid1_container,
            pid1_cgroup: text("proc/1/cgroup").unwrap_or_default(),
        }
    }
}

/// The kind of container the evidence shows (`docker`, `podman`, `kubernetes`, ...), or `None`.
/// Pure.
pub fn detect(e: &Evidence) -> Option<String> {
    let named = |v: &Option<String>| {
        v.as_deref()
            .map(str::trim)
            .filter(|v| !v.is_empty())
            .map(str::to_string)
    };
    if e.containerenv {
        return Some("podman".into());
    }
    if e.dockerenv {
        return Some("docker".into());
    }
    if let Some(v) = named(&e.systemd_container).or_else(|| named(&e.pid1_container)) {
        return Some(v);
    }
    let cgroup = &e.pid1_cgroup;
    [
        ("/kubepods", "kubernetes"),
        ("/docker", "docker"),
        ("/libpod", "podman"),
        ("/lxc", "lxc"),
        ("containerd", "containerd"),
    ]
    .into_iter()
    .find(|(mark, _)| cgroup.contains(mark))
    .map(|(_, kind)| kind.to_string())
}

/// Whether `argv` is a stock power-off of the machine it runs on (`shutdown`, `poweroff`,
/// `halt`, `systemctl poweroff|halt`, any of them after `sudo` and its options). Pure.
pub fn is_stock_power_off(argv: &[String]) -> bool {
    let name = |s: &str| s.rsplit('/').next().unwrap_or(s).to_string();
    let mut words = argv.iter().map(String::as_str).peekable();
    if words.peek().is_some_and(|w| name(w) == "sudo") {
        words.next();
        while words.peek().is_some_and(|w| w.starts_with('-')) {
            words.next();
        }
    }
    match words.next().map(name).as_deref() {
        Some("shutdown" | "poweroff" | "halt") => true,
        Some("systemctl") => words.any(|w| matches!(w, "poweroff" | "halt")),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn argv(s: &str) -> Vec<String> {
        shell_words::split(s).unwrap()
    }

    #[test]
    fn each_kind_of_evidence_names_its_container() {
        assert_eq!(detect(&Evidence::default()), None, "a plain server");
        let cases = [
            (
                Evidence {
                    dockerenv: true,
                    ..Evidence::default()
                },
                "docker",
            ),
            (
                Evidence {
                    containerenv: true,
                    ..Evidence::default()
                },
                "podman",
            ),
            (
                Evidence {
                    systemd_container: Some("systemd-nspawn\n".into()),
                    ..Evidence::default()
                },
                "systemd-nspawn",
            ),
            (
                Evidence {
                    pid1_container: Some("lxc".into()),
                    ..Evidence::default()
                },
                "lxc",
            ),
            (
                Evidence {
                    pid1_cgroup: "12:pids:/kubepods/besteffort/pod1/abc\n".into(),
                    ..Evidence::default()
                },
                "kubernetes",
            ),
            (
                Evidence {
                    pid1_cgroup: "0::/system.slice/docker-0123.scope\n".into(),
                    ..Evidence::default()
                },
                "docker",
            ),
        ];
        for (e, kind) in cases {
            assert_eq!(detect(&e).as_deref(), Some(kind), "{e:?}");
        }
        // A server's own PID 1 (systemd, cgroup v2 root or a user slice) is no container.
        let host = Evidence {
            pid1_cgroup: "0::/init.scope\n".into(),
            systemd_container: Some(String::new()),
            ..Evidence::default()
        };
        assert_eq!(detect(&host), None);
    }

    #[test]
    fn the_evidence_is_read_under_a_root() {
        let root = tempfile::tempdir().unwrap();
        assert_eq!(detect(&Evidence::read(root.path())), None);
        std::fs::create_dir_all(root.path().join("proc/1")).unwrap();
        std::fs::write(
            root.path().join("proc/1/environ"),
            b"PATH=/bin\0container=podman\0HOME=/\0",
        )
        .unwrap();
        assert_eq!(
            detect(&Evidence::read(root.path())).as_deref(),
            Some("podman")
        );
        std::fs::write(root.path().join(".dockerenv"), b"").unwrap();
        assert!(Evidence::read(root.path()).dockerenv);
    }

    #[test]
    fn only_stock_power_offs_are_recognised() {
        for stock in [
            "shutdown -h now",
            "/sbin/shutdown -P +1",
            "sudo -n shutdown -h now",
            "poweroff",
            "systemctl poweroff",
            "/usr/bin/sudo systemctl --no-wall halt",
        ] {
            assert!(is_stock_power_off(&argv(stock)), "{stock}");
        }
        for custom in [
            "nsenter -t 1 -m -u -i -n -p -- shutdown -h now",
            "/usr/local/bin/stop-host.sh",
            "ssh host shutdown -h now",
            "systemctl stop nginx",
        ] {
            assert!(!is_stock_power_off(&argv(custom)), "{custom}");
        }
    }
}
