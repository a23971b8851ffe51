//! The `fence` action's commands: drop new inbound connections, except to SSH, to our own listen
//! port (Alertmanager must still reach the receiver) and to `FENCE_ALLOW_PORTS`.
//!
//! What stays open and why: packets of connections that already exist (connection tracking: our
//! own outbound calls to BSS/Telegram get their answers, open SSH sessions go on), loopback, ICMP
//! (ping, path-MTU discovery, and IPv6 neighbour discovery without which IPv6 stops working) and
//! DHCP answers (so the address lease is renewed). Everything else that opens a connection is
//! dropped, silently, as a firewall does for scanners.
//!
//! nftables: a table of our own, `inet flexus_traffic_monitor`, replaced in one transaction (the
//! script adds the table, deletes it and creates it anew, so running it again never duplicates);
//! removed by deleting that table. Rules of other tables are untouched; a packet our chain accepts
//! can still be dropped by them. iptables (where nft is absent): a chain of our own, `FLEXUS_FENCE`,
//! jumped to first from INPUT, with ip6tables doing the same for IPv6 when it is installed.

use super::plan::{Probe, Step};
use super::FenceBackend;

/// Our nftables table (family `inet`: IPv4 and IPv6).
pub const NFT_TABLE: &str = "flexus_traffic_monitor";
/// Our iptables chain.
pub const IPT_CHAIN: &str = "FLEXUS_FENCE";

fn argv(words: &[&str]) -> Vec<String> {
    words.iter().map(|s| s.to_string()).collect()
}

/// The nft script that installs the fence (atomically replacing an earlier one of ours).
pub fn nft_script(ports: &[u16]) -> String {
    let ports = ports
        .iter()
        .map(u16::to_string)
        .collect::<Vec<_>>()
        .join(", ");
    format!(
        "table inet {NFT_TABLE}\n\
         delete table inet {NFT_TABLE}\n\
         table inet {NFT_TABLE} {{\n\
         \tchain fence_input {{\n\
         \t\ttype filter hook input priority filter; policy accept;\n\
         \t\tct state established,related accept\n\
         \t\tiifname \"lo\" accept\n\
         \t\tmeta l4proto {{ icmp, ipv6-icmp }} accept\n\
         \t\tudp sport {{ 67, 547 }} udp dport {{ 68, 546 }} accept\n\
         \t\ttcp dport {{ {ports} }} accept\n\
         \t\tct state new counter drop\n\
         \t}}\n\
         }}\n"
    )
}

/// The nft script that removes our table, whether or not it is there.
pub fn nft_remove_script() -> String {
    format!("table inet {NFT_TABLE}\ndelete table inet {NFT_TABLE}\n")
}

fn ipt_remove(prog: &str) -> Vec<Step> {
    vec![
        Step::tolerant(argv(&[prog, "-w", "-D", "INPUT", "-j", IPT_CHAIN])),
        Step::tolerant(argv(&[prog, "-w", "-F", IPT_CHAIN])),
        Step::tolerant(argv(&[prog, "-w", "-X", IPT_CHAIN])),
    ]
}

fn ipt_install(prog: &str, ports: &[u16], v6: bool) -> Vec<Step> {
    let mut steps = ipt_remove(prog);
    let rule = |rest: &[&str]| {
        let mut a = argv(&[prog, "-w", "-A", IPT_CHAIN]);
        a.extend(rest.iter().map(|s| s.to_string()));
        Step::new(a)
    };
    steps.push(Step::new(argv(&[prog, "-w", "-N", IPT_CHAIN])));
    steps.push(rule(&[
        "-m",
        "conntrack",
        "--ctstate",
        "ESTABLISHED,RELATED",
        "-j",
        "RETURN",
    ]));
    steps.push(rule(&["-i", "lo", "-j", "RETURN"]));
    if v6 {
        steps.push(rule(&["-p", "ipv6-icmp", "-j", "RETURN"]));
        steps.push(rule(&[
            "-p", "udp", "--sport", "547", "--dport", "546", "-j", "RETURN",
        ]));
    } else {
        steps.push(rule(&["-p", "icmp", "-j", "RETURN"]));
        steps.push(rule(&[
            "-p", "udp", "--sport", "67", "--dport", "68", "-j", "RETURN",
        ]));
    }
    for p in ports {
        steps.push(rule(&[
            "-p",
            "tcp",
            "--dport",
            &p.to_string(),
            "-j",
            "RETURN",
        ]));
    }
    steps.push(rule(&["-m", "conntrack", "--ctstate", "NEW", "-j", "DROP"]));
    steps.push(Step::new(argv(&[
        prog, "-w", "-I", "INPUT", "1", "-j", IPT_CHAIN,
    ])));
    steps
}

/// Commands that install the fence.
pub fn install(backend: FenceBackend, ports: &[u16], ipv6: bool) -> Vec<Step> {
    match backend {
        FenceBackend::Nft => vec![Step::new(argv(&["nft", "-f", "-"])).stdin(nft_script(ports))],
        FenceBackend::Iptables => {
            let mut s = ipt_install("iptables", ports, false);
            if ipv6 {
                s.extend(ipt_install("ip6tables", ports, true));
            }
            s
        }
    }
}

/// Commands that remove our fence and nothing else.
pub fn remove(backend: FenceBackend, ipv6: bool) -> Vec<Step> {
    match backend {
        FenceBackend::Nft => {
            vec![Step::tolerant(argv(&["nft", "-f", "-"])).stdin(nft_remove_script())]
        }
        FenceBackend::Iptables => {
            let mut s = ipt_remove("iptables");
            if ipv6 {
                s.extend(ipt_remove("ip6tables"));
            }
            s
        }
    }
}

/// Whether our fence is installed.
pub fn probe(backend: FenceBackend) -> Probe {
    match backend {
        FenceBackend::Nft => Probe {
            argv: argv(&["nft", "list", "table", "inet", NFT_TABLE]),
            expect: Some("ct state new".into()),
        },
        FenceBackend::Iptables => Probe {
            argv: argv(&["iptables", "-w", "-C", "INPUT", "-j", IPT_CHAIN]),
            expect: None,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_nft_script_replaces_our_table_in_one_transaction_and_keeps_ssh_open() {
        let s = nft_script(&[22, 9184]);
        let lines: Vec<&str> = s.lines().map(str::trim).collect();
        assert_eq!(lines[0], "table inet flexus_traffic_monitor");
        assert_eq!(lines[1], "delete table inet flexus_traffic_monitor");
        let accept = lines
            .iter()
            .position(|l| *l == "tcp dport { 22, 9184 } accept")
            .unwrap();
        let established = lines
            .iter()
            .position(|l| l.starts_with("ct state established"))
            .unwrap();
        let drop = lines
            .iter()
            .position(|l| *l == "ct state new counter drop")
            .unwrap();
        assert!(established < drop && accept < drop, "{s}");
        assert_eq!(
            install(FenceBackend::Nft, &[22], false)[0].argv,
            vec!["nft", "-f", "-"]
        );
    }

    #[test]
    fn iptables_jumps_to_our_chain_and_removes_only_it() {
        let steps = install(FenceBackend::Iptables, &[22, 9184], true);
        let lines: Vec<String> = steps.iter().map(|s| s.argv.join(" ")).collect();
        let ssh = lines
            .iter()
            .position(|l| l == "iptables -w -A FLEXUS_FENCE -p tcp --dport 22 -j RETURN")
            .unwrap();
        let drop = lines
            .iter()
            .position(|l| l == "iptables -w -A FLEXUS_FENCE -m conntrack --ctstate NEW -j DROP")
            .unwrap();
        assert!(ssh < drop);
        assert!(lines.contains(&"iptables -w -I INPUT 1 -j FLEXUS_FENCE".to_string()));
        assert!(
            lines.contains(&"ip6tables -w -A FLEXUS_FENCE -p tcp --dport 22 -j RETURN".to_string())
        );
        for l in remove(FenceBackend::Iptables, true)
            .iter()
            .map(|s| s.argv.join(" "))
        {
            assert!(l.ends_with(IPT_CHAIN), "{l}");
        }
    }
}
