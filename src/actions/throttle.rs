//! The `throttle` action's commands: an HTB root qdisc of our own on the egress interface.
//!
//! ```text
//! root f7f1: htb, default class f7f1:20
//!  ├─ f7f1:10  unthrottled: source port in SSH_PORTS or our listen port; our own API endpoints
//!  └─ f7f1:20  THROTTLE_RATE (rate = ceil), with a fair leaf queue (fq_codel, else sfq, else a
//!              short pfifo) so one bulk download cannot queue everyone else for seconds
//! ```
//!
//! Why classify by port and by endpoint address rather than by process: the program runs as root
//! under systemd (for `shutdown`), so "packets of uid 0" would be most of the machine, and marking
//! by cgroup needs nftables and cgroup v2 paths known at load time. SSH's egress is sshd's replies,
//! whose *source* port is the SSH port — exact. The program's own egress is HTTPS requests to a
//! handful of API hosts (BSS, ECS, Telegram, or the proxy; see [`super::addresses`]):
//! exact for us, and other traffic to those same hosts is negligible. TBF was rejected: it has no
//! classes, so SSH could not be kept out of the limit.
//!
//! Ownership is enforced by the kernel: `tc qdisc add ... root` refuses to replace a root qdisc
//! someone configured (only the kernel's default, handle `0:`, is replaced), and
//! `tc qdisc del ... root handle f7f1:` refuses to delete a root qdisc with another handle.

use std::net::IpAddr;

use super::step::{Probe, Step};

/// The handle of our root qdisc (hex; "f7f1" stands for "flexus").
pub const HANDLE: &str = "f7f1:";
/// The rate of the unthrottled class: more than any interface of a Flexus L server.
const UNLIMITED: &str = "10gbit";

fn tc(args: &[&str]) -> Vec<String> {
    std::iter::once("tc")
        .chain(args.iter().copied())
        .map(String::from)
        .collect()
}

/// Commands that install the throttle. The first removes an earlier one of ours (so running them
/// again replaces rather than duplicates); it may fail when there is none.
pub fn install(
    interface: &str,
    rate: &str,
    ports: &[u16],
    endpoints: &[(IpAddr, u16)],
) -> Vec<Step> {
    let dev = interface;
    let mut steps = vec![
        Step::tolerant(tc(&["qdisc", "del", "dev", dev, "root", "handle", HANDLE])),
        Step::new(tc(&[
            "qdisc", "add", "dev", dev, "root", "handle", HANDLE, "htb", "default", "20",
        ])),
        Step::new(tc(&[
            "class", "add", "dev", dev, "parent", HANDLE, "classid", "f7f1:10", "htb", "rate",
            UNLIMITED, "quantum", "60000",
        ])),
        Step::new(tc(&[
            "class", "add", "dev", dev, "parent", HANDLE, "classid", "f7f1:20", "htb", "rate",
            rate, "ceil", rate,
        ])),
        // The leaf queue: the best fair queue the kernel has; a short FIFO as the last resort.
        Step::new(tc(&[
            "qdisc", "add", "dev", dev, "parent", "f7f1:20", "handle", "f7f2:", "fq_codel",
        ]))
        .or(tc(&[
            "qdisc", "add", "dev", dev, "parent", "f7f1:20", "handle", "f7f2:", "sfq", "perturb",
            "10",
        ]))
        .or(tc(&[
            "qdisc", "add", "dev", dev, "parent", "f7f1:20", "handle", "f7f2:", "pfifo", "limit",
            "64",
        ])),
    ];
    for p in ports {
        let p = p.to_string();
        steps.push(Step::new(tc(&[
            "filter", "add", "dev", dev, "parent", HANDLE, "protocol", "ip", "prio", "1", "u32",
            "match", "ip", "sport", &p, "0xffff", "flowid", "f7f1:10",
        ])));
        steps.push(Step::new(tc(&[
            "filter", "add", "dev", dev, "parent", HANDLE, "protocol", "ipv6", "prio", "2", "u32",
            "match", "ip6", "sport", &p, "0xffff", "flowid", "f7f1:10",
        ])));
    }
    for (addr, port) in endpoints {
        let port = port.to_string();
        let step = match addr {
            IpAddr::V4(a) => tc(&[
                "filter",
                "add",
                "dev",
                dev,
                "parent",
                HANDLE,
                "protocol",
                "ip",
                "prio",
                "3",
                "u32",
                "match",
                "ip",
                "dst",
                &format!("{a}/32"),
                "match",
                "ip",
                "dport",
                &port,
                "0xffff",
                "flowid",
                "f7f1:10",
            ]),
            IpAddr::V6(a) => tc(&[
                "filter",
                "add",
                "dev",
                dev,
                "parent",
                HANDLE,
                "protocol",
                "ipv6",
                "prio",
                "4",
                "u32",
                "match",
                "ip6",
                "dst",
                &format!("{a}/128"),
                "match",
                "ip6",
                "dport",
                &port,
                "0xffff",
                "flowid",
                "f7f1:10",
            ]),
        };
        steps.push(Step::new(step));
    }
    steps
}

/// The fair queue the kernel took, from the command lines that ran (the leaf queue's line is
/// the alternative that worked: `fq_codel`, `sfq` or `pfifo`). Pure.
pub fn leaf_queue(lines: &[String]) -> Option<String> {
    lines.iter().find_map(|line| {
        let words: Vec<&str> = line.split_whitespace().collect();
        let leaf = words
            .windows(4)
            .any(|w| w == ["parent", "f7f1:20", "handle", "f7f2:"]);
        let at = words.iter().position(|w| *w == "f7f2:")?;
        leaf.then(|| words.get(at + 1).map(|q| (*q).to_string()))
            .flatten()
    })
}

/// The fair queue the throttle promises.
pub const FAIR_QUEUE: &str = "fq_codel";

/// The command that removes our throttle (and nothing else) from `interface`. It fails harmlessly
/// when ours is not there (after a reboot, or lifted by hand).
pub fn remove(interface: &str) -> Vec<Step> {
    vec![Step::tolerant(tc(&[
        "qdisc", "del", "dev", interface, "root", "handle", HANDLE,
    ]))]
}

/// Whether our throttle is on `interface`: the root qdisc has our handle.
pub fn probe(interface: &str) -> Probe {
    Probe {
        argv: tc(&["qdisc", "show", "dev", interface, "root"]),
        expect: vec![format!("htb {HANDLE} root")],
    }
}

/// The interface of the default route in `ip -o route show default` output (IPv4 first).
pub fn default_interface(ip_route_output: &str) -> Option<String> {
    ip_route_output.lines().find_map(|line| {
        let mut words = line.split_whitespace();
        words.next().filter(|w| *w == "default")?;
        let mut words = line.split_whitespace();
        words.find(|w| *w == "dev")?;
        words.next().map(String::from)
    })
}

/// Checks a tc rate such as `1mbit`, `512kbit`, `2mbps` (tc's units; a bare number means bytes
/// per second to tc, which surprises people, so a unit is required).
pub fn valid_rate(s: &str) -> bool {
    let s = s.trim().to_ascii_lowercase();
    let digits = s
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(s.len());
    let (num, unit) = s.split_at(digits);
    let units = [
        "bit", "kbit", "mbit", "gbit", "tbit", "bps", "kbps", "mbps", "gbps", "tbps",
    ];
    num.parse::<f64>().is_ok_and(|n| n > 0.0) && units.contains(&unit)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn install_replaces_ours_first_then_builds_the_tree() {
        let steps = install("eth0", "1mbit", &[22], &[("1.2.3.4".parse().unwrap(), 443)]);
        let lines: Vec<String> = steps.iter().map(|s| s.argv.join(" ")).collect();
        assert_eq!(lines[0], "tc qdisc del dev eth0 root handle f7f1:");
        assert!(steps[0].tolerate_failure && !steps[1].tolerate_failure);
        assert_eq!(
            lines[1],
            "tc qdisc add dev eth0 root handle f7f1: htb default 20"
        );
        assert!(lines[3].ends_with("classid f7f1:20 htb rate 1mbit ceil 1mbit"));
        assert!(lines.contains(&"tc filter add dev eth0 parent f7f1: protocol ip prio 1 u32 match ip sport 22 0xffff flowid f7f1:10".to_string()));
        assert!(lines.contains(&"tc filter add dev eth0 parent f7f1: protocol ipv6 prio 2 u32 match ip6 sport 22 0xffff flowid f7f1:10".to_string()));
        assert!(lines.contains(&"tc filter add dev eth0 parent f7f1: protocol ip prio 3 u32 match ip dst 1.2.3.4/32 match ip dport 443 0xffff flowid f7f1:10".to_string()));
        // Nothing in it replaces a root qdisc that is not ours.
        assert!(!lines
            .iter()
            .any(|l| l.contains("replace") || l.contains(" change ")));
    }

    #[test]
    fn the_leaf_queue_is_read_from_the_line_that_ran() {
        let lines: Vec<String> = vec![
            "tc qdisc add dev eth0 root handle f7f1: htb default 20".into(),
            "tc qdisc add dev eth0 parent f7f1:20 handle f7f2: sfq perturb 10".into(),
        ];
        assert_eq!(leaf_queue(&lines).as_deref(), Some("sfq"));
        assert_eq!(leaf_queue(&lines[..1]), None);
    }

    #[test]
    fn remove_names_our_handle_so_the_kernel_refuses_anyone_elses() {
        let steps = remove("eth0");
        assert_eq!(
            steps[0].argv.join(" "),
            "tc qdisc del dev eth0 root handle f7f1:"
        );
    }

    #[test]
    fn default_interface_is_read_from_ip_route() {
        let out = "default via 192.168.0.1 dev eth0 proto dhcp src 192.168.0.5 metric 100 \n192.168.0.0/24 dev eth0 proto kernel scope link";
        assert_eq!(default_interface(out).as_deref(), Some("eth0"));
        assert_eq!(default_interface("10.0.0.0/8 dev ens3"), None);
        assert_eq!(default_interface(""), None);
    }

    #[test]
    fn rates_need_a_tc_unit() {
        for ok in ["1mbit", "512kbit", "2Mbit", "1.5mbit", "100kbps"] {
            assert!(valid_rate(ok), "{ok}");
        }
        for bad in ["1", "fast", "mbit", "0mbit", "1 mb", "-1mbit", "1mb"] {
            assert!(!valid_rate(bad), "{bad}");
        }
    }
}
