//! Two network namespaces joined by a veth pair, for the tests of the gentler actions against a
//! real kernel: the "server" side is acted on through `ip netns exec`, the "client" side plays the
//! rest of the internet. Nothing leaves the machine. Where a namespace cannot be created (not
//! root, tools missing) [`Pair::new`] says so and gives `None`, except under CI, where it fails.

use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use chrono::Utc;
use flexus_traffic_monitor::actions::plan::{plan, Inputs, Machine};
use flexus_traffic_monitor::actions::reconcile::{execute, record, Done};
use flexus_traffic_monitor::actions::runner::Runner;
use flexus_traffic_monitor::actions::{ActionSettings, ActionsState};
use flexus_traffic_monitor::level::Level;

pub const SERVER_IP: &str = "10.77.0.1";
pub const CLIENT_IP: &str = "10.77.0.2";
static NEXT: AtomicU32 = AtomicU32::new(0);

pub fn sh(cmd: &str) -> std::process::Output {
    Command::new("sh")
        .args(["-c", cmd])
        .stdin(Stdio::null())
        .output()
        .expect("sh runs")
}

pub fn ok(cmd: &str) -> String {
    let o = sh(cmd);
    assert!(
        o.status.success(),
        "`{cmd}` failed: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// Two namespaces, "server" and "client", joined by a veth pair; the server's default route
/// points at the client, so its default interface is the veth. Removed on drop.
pub struct Pair {
    pub server: String,
    pub client: String,
    pub dev: String,
}

impl Pair {
    /// `None` (with a note) when namespaces cannot be made here, outside CI.
    pub fn new() -> Option<Self> {
        let ci = std::env::var_os("CI").is_some();
        for tool in ["ip", "tc", "nft", "iptables", "iperf3"] {
            if !flexus_traffic_monitor::actions::runner::has_program(tool) {
                assert!(!ci, "{tool} is not installed; CI must install iproute2, nftables, iptables and iperf3");
                eprintln!("note: {tool} not installed; skipping the namespace test (apt-get install iproute2 nftables iptables iperf3)");
                return None;
            }
        }
        let n = format!(
            "{}x{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::SeqCst)
        );
        let p = Self {
            server: format!("fxs{n}"),
            client: format!("fxc{n}"),
            dev: format!("vs{n}"),
        };
        let made = sh(&format!("ip netns add {}", p.server));
        if !made.status.success() {
            let why = String::from_utf8_lossy(&made.stderr);
            assert!(!ci, "cannot create a network namespace under CI: {why}");
            eprintln!(
                "note: cannot create a network namespace here ({}); skipping (run as root)",
                why.trim()
            );
            return None;
        }
        let (s, c, d) = (&p.server, &p.client, &p.dev);
        ok(&format!(
            "ip netns add {c} && \
             ip link add {d} netns {s} type veth peer name vc{n} netns {c} && \
             ip -n {s} addr add {SERVER_IP}/24 dev {d} && ip -n {c} addr add {CLIENT_IP}/24 dev vc{n} && \
             ip -n {s} link set lo up && ip -n {c} link set lo up && \
             ip -n {s} link set {d} up && ip -n {c} link set vc{n} up && \
             ip -n {s} route add default via {CLIENT_IP}"
        ));
        Some(p)
    }

    /// Runs `cmd` in the server namespace.
    pub fn in_server(&self, cmd: &str) -> String {
        ok(&format!("ip netns exec {} sh -c '{cmd}'", self.server))
    }

    pub fn listen_forever(&self, ns: &str, port: u16) {
        ok(&format!("ip netns exec {ns} iperf3 -s -D -p {port}"));
        std::thread::sleep(Duration::from_millis(300));
    }

    /// Bits per second the server sends to the client on `port` (iperf3 reverse mode: the
    /// server namespace's egress, as when a site on the server is downloaded).
    pub fn egress_bps(&self, port: u16) -> f64 {
        let out = ok(&format!(
            "ip netns exec {} iperf3 -c {SERVER_IP} -p {port} -R -t 2 -O 1 -J --connect-timeout 3000",
            self.client
        ));
        let v: serde_json::Value = serde_json::from_str(&out).expect("iperf3 JSON");
        v["end"]["sum_received"]["bits_per_second"]
            .as_f64()
            .expect("a rate")
    }

    /// Whether a new TCP connection from `from` to `ip:port` opens within two seconds.
    pub fn connects(&self, from: &str, ip: &str, port: u16) -> bool {
        sh(&format!(
            "ip netns exec {from} timeout 2 bash -c 'exec 3<>/dev/tcp/{ip}/{port}'"
        ))
        .status
        .success()
    }

    /// The runner acting on the server namespace.
    pub fn runner(&self) -> Runner {
        Runner {
            netns: Some(self.server.clone()),
            timeout: Duration::from_secs(10),
            dry_run: false,
        }
    }
}

impl Drop for Pair {
    fn drop(&mut self) {
        // Stops the iperf3 servers (their namespaces go with them).
        let _ = sh(&format!(
            "for ns in {} {}; do ip netns pids $ns | xargs -r kill; ip netns del $ns; done",
            self.server, self.client
        ));
    }
}

/// One reconcile step as the service does it: read the machine, plan, run, record.
pub async fn step(
    pair: &Pair,
    level: Level,
    s: &ActionSettings,
    state: &mut ActionsState,
    restored: bool,
) -> Vec<Done> {
    let runner = pair.runner();
    let machine: Machine = runner.machine(s.fence_backend, Vec::new()).await;
    let p = plan(&Inputs {
        level,
        settings: s,
        machine: &machine,
        state,
        restored,
        now: Utc::now(),
        retry_after: Duration::from_secs(3600),
    });
    let mut out = Vec::new();
    for c in &p.changes {
        let done = execute(&runner, c).await;
        record(state, c, &done, Utc::now(), false);
        out.push(done);
    }
    out
}
