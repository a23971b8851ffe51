//! The fence against a real kernel ([`crate::helpers::netns`]): connections opened *before* it go
//! on in both directions — an inbound keep-alive connection to a port the fence closes, and an
//! outbound one whose peer speaks next (a long poll) — while new inbound ones are dropped; and the
//! undo command the message prints works when pasted into bash. Both firewall programs.
//!
//! The peers are a small Python program (`python3`, on every Debian and CI image) driven line by
//! line through standard input and output, so each step happens exactly when the test says.

use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufRead, BufReader, Write};
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};

use flexus_traffic_monitor::actions::plan::removal;
use flexus_traffic_monitor::actions::reconcile::Done;
use flexus_traffic_monitor::actions::{
    Action, ActionSettings, ActionsState, FenceBackendChoice, Key,
};
use flexus_traffic_monitor::level::{Level, Thresholds};
use flexus_traffic_monitor::messages::{render, to_plain, Lang, Message};

use crate::helpers::netns::{step, Pair, CLIENT_IP, SERVER_IP};

/// The peers. Every mode prints `ready` once it can be used, then one line per event.
const PEER: &str = r#"
import socket, sys, threading
mode = sys.argv[1]
def say(x):
    print(x, flush=True)
if mode == "echo-server":          # PORT: answers every line with the same line
    s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("0.0.0.0", int(sys.argv[2]))); s.listen(64); say("ready")
    def serve(c):
        f = c.makefile("rwb", 0)
        for line in f:
            f.write(line)
    while True:
        c, _ = s.accept(); threading.Thread(target=serve, args=(c,), daemon=True).start()
elif mode == "keep-alive":          # HOST PORT: one request now, one after a line on stdin
    c = socket.create_connection((sys.argv[2], int(sys.argv[3])), timeout=3)
    f = c.makefile("rwb", 0)
    f.write(b"before\n"); say("got " + f.readline().decode().strip())
    sys.stdin.readline()
    try:
        f.write(b"after\n"); say("got " + f.readline().decode().strip())
    except OSError as e:
        say("lost " + str(e))
elif mode == "answer-later":        # PORT: reads a request, answers after a line on stdin
    s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("0.0.0.0", int(sys.argv[2]))); s.listen(4); say("ready")
    c, _ = s.accept(); f = c.makefile("rwb", 0)
    say("asked " + f.readline().decode().strip())
    sys.stdin.readline()
    f.write(b"answer\n"); say("answered")
    c.settimeout(10)
    try:
        c.recv(1)
    except OSError:
        pass
elif mode == "udp-echo":            # PORT: answers every datagram with the same bytes
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("0.0.0.0", int(sys.argv[2]))); say("ready")
    while True:
        data, peer = s.recvfrom(2048); s.sendto(data, peer)
elif mode == "udp-ask":             # HOST PORT: one datagram, then waits two seconds for the answer
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.settimeout(2)
    s.sendto(b"ping", (sys.argv[2], int(sys.argv[3])))
    try:
        say("got " + s.recv(2048).decode())
    except OSError:
        say("lost")
elif mode == "long-poll":           # HOST PORT: asks, then waits for the answer
    c = socket.create_connection((sys.argv[2], int(sys.argv[3])), timeout=3)
    f = c.makefile("rwb", 0)
    f.write(b"question\n"); say("ready")
    c.settimeout(6)
    try:
        say("got " + f.readline().decode().strip())
    except OSError as e:
        say("lost " + str(e))
"#;

/// A peer running in a namespace, spoken to line by line.
struct Peer {
    child: Child,
    stdin: ChildStdin,
    stdout: BufReader<ChildStdout>,
}

impl Peer {
    fn start(ns: &str, args: &[&str]) -> Self {
        let mut child = Command::new("ip")
            .args(["netns", "exec", ns, "python3", "-u", "-c", PEER])
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("python3 starts");
        let stdin = child.stdin.take().unwrap();
        let stdout = BufReader::new(child.stdout.take().unwrap());
        Self {
            child,
            stdin,
            stdout,
        }
    }

    /// The next line it prints (the peers bound every wait with a socket timeout).
    fn line(&mut self) -> String {
        let mut l = String::new();
        self.stdout.read_line(&mut l).unwrap();
        l.trim().to_string()
    }

    fn go(&mut self) {
        self.stdin.write_all(b"go\n").unwrap();
        self.stdin.flush().unwrap();
    }
}

impl Drop for Peer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Only the fence, at level 1, with UDP port 5300 kept open.
fn fence_only(backend: FenceBackendChoice) -> ActionSettings {
    ActionSettings {
        levels: BTreeMap::from([(Level::L1, BTreeSet::from([Action::Fence]))]),
        fence_backend: backend,
        fence_allow_udp_ports: vec![5300],
        ..ActionSettings::default()
    }
}

/// What a one-datagram question from `ns` to `host:port` gets: `got ping` or `lost`.
fn udp_ask(ns: &str, host: &str, port: u16) -> String {
    let out = Command::new("ip")
        .args(["netns", "exec", ns, "python3", "-c", PEER, "udp-ask", host])
        .arg(port.to_string())
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// The lines a user copies from the message: everything after "or run:".
fn pasted_undo(state: &ActionsState) -> String {
    let key = Key {
        action: Action::Fence,
        level: Level::L1,
    };
    let record = &state.active[&key.id()];
    let message = Message::ActionApplied {
        server: "web-1".into(),
        level: Level::L1,
        installed: record.installed.clone(),
        undo: removal(key, &record.installed)
            .iter()
            .map(|s| s.display())
            .collect(),
        would_run: Vec::new(),
        dry_run: false,
    };
    let text = to_plain(&render(&message, Lang::En, &Thresholds::default()));
    let (_, undo) = text
        .split_once("or run:\n")
        .unwrap_or_else(|| panic!("no undo command in {text}"));
    undo.to_string()
}

async fn open_connections_survive_and_the_undo_works(backend: FenceBackendChoice) {
    let Some(pair) = Pair::new() else { return };
    let (srv, cli) = (pair.server.clone(), pair.client.clone());

    // A site on the server (8081, not kept open by the fence), and a client of it that keeps its
    // connection alive across the fence.
    let mut site = Peer::start(&srv, &["echo-server", "8081"]);
    assert_eq!(site.line(), "ready");
    let mut visitor = Peer::start(&cli, &["keep-alive", SERVER_IP, "8081"]);
    assert_eq!(visitor.line(), "got before");

    // The server's own outbound connection, asked before the fence and answered after it.
    let mut upstream = Peer::start(&cli, &["answer-later", "7070"]);
    assert_eq!(upstream.line(), "ready");
    let mut poller = Peer::start(&srv, &["long-poll", CLIENT_IP, "7070"]);
    assert_eq!(poller.line(), "ready");
    assert_eq!(upstream.line(), "asked question");

    let s = fence_only(backend);
    let mut state = ActionsState::default();
    let done = step(&pair, Level::L1, &s, &mut state, true).await;
    assert!(matches!(done[..], [Done::Applied(_)]), "{done:?}");

    assert!(
        !pair.connects(&cli, SERVER_IP, 8081),
        "a new connection to the site must be dropped under the fence"
    );
    visitor.go();
    assert_eq!(
        visitor.line(),
        "got after",
        "an inbound keep-alive connection opened before the fence was cut"
    );
    upstream.go();
    assert_eq!(upstream.line(), "answered");
    assert_eq!(
        poller.line(),
        "got answer",
        "the answer on an outbound connection opened before the fence was dropped"
    );

    // UDP: an allowed port answers, any other is closed, the server's own questions get answers.
    let mut udp = Vec::new();
    for (ns, port) in [(&srv, "5300"), (&srv, "5301"), (&cli, "5302")] {
        let mut p = Peer::start(ns, &["udp-echo", port]);
        assert_eq!(p.line(), "ready");
        udp.push(p);
    }
    assert_eq!(
        udp_ask(&cli, SERVER_IP, 5300),
        "got ping",
        "udp/5300 is allowed"
    );
    assert_eq!(
        udp_ask(&cli, SERVER_IP, 5301),
        "lost",
        "other inbound UDP is dropped"
    );
    assert_eq!(
        udp_ask(&srv, CLIENT_IP, 5302),
        "got ping",
        "the answer to the server's own UDP question gets in"
    );

    // The undo command of the message, pasted into bash on the server, removes the fence.
    let undo = pasted_undo(&state);
    let out = Command::new("ip")
        .args(["netns", "exec", &srv, "bash", "-c", &undo])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "the pasted undo failed:\n{undo}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let rules =
        pair.in_server("nft list ruleset; iptables -w -S; ip6tables -w -S 2>/dev/null || true");
    assert!(
        !rules.contains("flexus_traffic_monitor") && !rules.contains("FLEXUS_FENCE"),
        "the pasted undo left the fence:\n{undo}\n{rules}"
    );
    assert!(
        pair.connects(&cli, SERVER_IP, 8081),
        "after the pasted undo the site answers again"
    );
    assert_eq!(
        udp_ask(&cli, SERVER_IP, 5301),
        "got ping",
        "UDP is open again"
    );
    drop((site, udp));
}

#[tokio::test(flavor = "multi_thread")]
async fn the_nft_fence_spares_connections_opened_before_it_and_its_undo_pastes() {
    open_connections_survive_and_the_undo_works(FenceBackendChoice::Nft).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn the_iptables_fence_spares_connections_opened_before_it_and_its_undo_pastes() {
    open_connections_survive_and_the_undo_works(FenceBackendChoice::Iptables).await;
}
