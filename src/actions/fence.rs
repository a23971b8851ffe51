//! The `fence` action's commands: drop new inbound connections, except to SSH, to our own listen
//! port (Alertmanager must still reach the receiver) and to `FENCE_ALLOW_PORTS`.
//!
//! What "new" means, per protocol — the fence must never cut what is already open:
//! - **TCP**: a packet that opens a connection is a SYN without ACK, and only those are dropped.
//!   Connection tracking cannot be trusted for this: on a server with no firewall of its own the
//!   fence's rules are the first to use it, so a connection opened before them is picked up in
//!   mid-stream and its next packet is classed "new"; a rule on `ct state new` would drop it (an
//!   inbound keep-alive connection stopped answering, an outbound one never got its answer).
//! - **UDP** has no opening packet. A datagram is let in when it belongs to a flow the kernel
//!   tracks (answers to the server's own queries: DNS, NTP) or goes to an allowed UDP port
//!   (`udp/51820` in `FENCE_ALLOW_PORTS`); every other one is dropped, which is what closes an
//!   inbound UDP service. The one thing lost: an answer to a query sent in the instant before the
//!   fence came up, which its sender asks again for (DNS retries within seconds).
//! - **ICMP** stays open (ping, path-MTU discovery, and IPv6 neighbour discovery, without which
//!   IPv6 stops working), as do DHCP answers (so the address lease is renewed) and loopback.
//! - Any other protocol (GRE, SCTP, ...) is treated like UDP: what the kernel tracks as new is
//!   dropped.
//!
//! Drops are silent, as a firewall does for scanners.
//!
//! nftables: a table of our own, `inet flexus_traffic_monitor`, replaced in one transaction (the
//! script adds the table, deletes it and creates it anew, so running it again never duplicates);
//! removed by deleting that table. Rules of other tables are untouched; a packet our chain accepts
//! can still be dropped by them. iptables (where nft is absent): a chain of our own, `FLEXUS_FENCE`,
//! jumped to first from INPUT, with ip6tables doing the same for IPv6 when it is installed.

use super::step::{Probe, Step};
use super::FenceBackend;

/// Our nftables table (family `inet`: IPv4 and IPv6).
pub const NFT_TABLE: &str = "flexus_traffic_monitor";
/// Our iptables chain.
pub const IPT_CHAIN: &str = "FLEXUS_FENCE";

fn argv(words: &[&str]) -> Vec<String> {
    words.iter().map(|s| s.to_string()).collect()
}

/// The comment on the rule that drops new inbound TCP; the probe looks for it, so a table of an
/// older version (which dropped on `ct state new`) counts as missing and is replaced.
pub const NFT_SYN_RULE: &str = "new inbound TCP";

fn set(ports: &[u16]) -> String {
    ports
        .iter()
        .map(u16::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}

/// The nft script that installs the fence (atomically replacing an earlier one of ours).
pub fn nft_script(tcp: &[u16], udp: &[u16]) -> String {
    let mut open = String::new();
    if !tcp.is_empty() {
        open.push_str(&format!("    tcp dport {{ {} }} accept\n", set(tcp)));
    }
    if !udp.is_empty() {
        open.push_str(&format!("    udp dport {{ {} }} accept\n", set(udp)));
    }
    format!(
        "table inet {NFT_TABLE}\n\
         delete table inet {NFT_TABLE}\n\
         table inet {NFT_TABLE} {{\n\
         \x20 chain fence_input {{\n\
         \x20   type filter hook input priority filter; policy accept;\n\
         \x20   ct state established,related accept\n\
         \x20   iifname \"lo\" accept\n\
         \x20   meta l4proto {{ icmp, ipv6-icmp }} accept\n\
         \x20   udp sport {{ 67, 547 }} udp dport {{ 68, 546 }} accept\n\
         {open}\
         \x20   tcp flags & (syn | ack) == syn counter drop comment \"{NFT_SYN_RULE}\"\n\
         \x20   meta l4proto != tcp ct state new counter drop comment \"new inbound UDP and others\"\n\
         \x20 }}\n\
         }}\n"
    )
}

/// The command that removes our table (it fails harmlessly when there is none).
fn nft_remove() -> Step {
    Step::tolerant(argv(&["nft", "delete", "table", "inet", NFT_TABLE]))
}

fn ipt_remove(prog: &str) -> Vec<Step> {
    vec![
        Step::tolerant(argv(&[prog, "-w", "-D", "INPUT", "-j", IPT_CHAIN])),
        Step::tolerant(argv(&[prog, "-w", "-F", IPT_CHAIN])),
        Step::tolerant(argv(&[prog, "-w", "-X", IPT_CHAIN])),
    ]
}

fn ipt_install(prog: &str, tcp: &[u16], udp: &[u16], v6: bool) -> Vec<Step> {
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
    for (proto, ports) in [("tcp", tcp), ("udp", udp)] {
        for p in ports {
            steps.push(rule(&[
                "-p",
                proto,
                "--dport",
                &p.to_string(),
                "-j",
                "RETURN",
            ]));
        }
    }
    // The TCP packets that open a connection; see the module's notes for why not `--ctstate NEW`.
    steps.push(rule(&[
        "-p",
        "tcp",
        "--tcp-flags",
        "SYN,ACK",
        "SYN",
        "-j",
        "DROP",
    ]));
    steps.push(rule(&[
        "!",
        "-p",
        "tcp",
        "-m",
        "conntrack",
        "--ctstate",
        "NEW",
        "-j",
        "DROP",
    ]));
    steps.push(Step::new(argv(&[
        prog, "-w", "-I", "INPUT", "1", "-j", IPT_CHAIN,
    ])));
    steps
}

/// Commands that install the fence: `tcp` and `udp` are the ports left open.
pub fn install(backend: FenceBackend, tcp: &[u16], udp: &[u16], ipv6: bool) -> Vec<Step> {
    match backend {
        FenceBackend::Nft => {
            vec![Step::new(argv(&["nft", "-f", "-"])).stdin(nft_script(tcp, udp))]
        }
        FenceBackend::Iptables => {
            let mut s = ipt_install("iptables", tcp, udp, false);
            if ipv6 {
                s.extend(ipt_install("ip6tables", tcp, udp, true));
            }
            s
        }
    }
}

/// Commands that remove our fence and nothing else.
pub fn remove(backend: FenceBackend, ipv6: bool) -> Vec<Step> {
    match backend {
        FenceBackend::Nft => vec![nft_remove()],
        FenceBackend::Iptables => {
            let mut s = ipt_remove("iptables");
            if ipv6 {
                s.extend(ipt_remove("ip6tables"));
            }
            s
        }
    }
}

/// Whether our fence, of this version, is installed.
pub fn probe(backend: FenceBackend) -> Probe {
    match backend {
        FenceBackend::Nft => Probe {
            argv: argv(&["nft", "list", "table", "inet", NFT_TABLE]),
            expect: vec![format!("comment \"{NFT_SYN_RULE}\"")],
        },
        FenceBackend::Iptables => Probe {
            argv: argv(&["iptables", "-w", "-S"]),
            expect: vec![
                format!("-A INPUT -j {IPT_CHAIN}"),
                format!("-A {IPT_CHAIN} -p tcp -m tcp --tcp-flags SYN,ACK SYN -j DROP"),
            ],
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_nft_script_replaces_our_table_in_one_transaction_and_drops_only_opening_packets() {
        let s = nft_script(&[22, 9184], &[51820]);
        let lines: Vec<&str> = s.lines().map(str::trim).collect();
        assert_eq!(lines[0], "table inet flexus_traffic_monitor");
        assert_eq!(lines[1], "delete table inet flexus_traffic_monitor");
        let at = |want: &str| {
            lines
                .iter()
                .position(|l| l.starts_with(want))
                .unwrap_or_else(|| panic!("no `{want}` in {s}"))
        };
        let established = at("ct state established,related accept");
        let tcp = at("tcp dport { 22, 9184 } accept");
        let udp = at("udp dport { 51820 } accept");
        let syn = at("tcp flags & (syn | ack) == syn counter drop");
        let others = at("meta l4proto != tcp ct state new counter drop");
        assert!(established < syn && tcp < syn && udp < others, "{s}");
        // Nothing drops TCP on connection tracking's "new": it would cut open connections.
        assert!(!lines.iter().any(|l| l.starts_with("ct state new")), "{s}");
        assert!(
            !s.contains('\t'),
            "spaces only, so the script pastes as it is"
        );
        assert!(!nft_script(&[22], &[]).contains("udp dport {  }"));
        assert_eq!(
            install(FenceBackend::Nft, &[22], &[], false)[0].argv,
            vec!["nft", "-f", "-"]
        );
    }

    #[test]
    fn iptables_jumps_to_our_chain_drops_syn_without_ack_and_removes_only_it() {
        let steps = install(FenceBackend::Iptables, &[22, 9184], &[51820], true);
        let lines: Vec<String> = steps.iter().map(|s| s.argv.join(" ")).collect();
        let at = |want: &str| {
            lines
                .iter()
                .position(|l| l == want)
                .unwrap_or_else(|| panic!("no `{want}` in {lines:#?}"))
        };
        let ssh = at("iptables -w -A FLEXUS_FENCE -p tcp --dport 22 -j RETURN");
        let wg = at("iptables -w -A FLEXUS_FENCE -p udp --dport 51820 -j RETURN");
        let syn = at("iptables -w -A FLEXUS_FENCE -p tcp --tcp-flags SYN,ACK SYN -j DROP");
        let others = at("iptables -w -A FLEXUS_FENCE ! -p tcp -m conntrack --ctstate NEW -j DROP");
        assert!(ssh < syn && wg < others);
        at("iptables -w -I INPUT 1 -j FLEXUS_FENCE");
        at("ip6tables -w -A FLEXUS_FENCE -p tcp --dport 22 -j RETURN");
        for l in remove(FenceBackend::Iptables, true)
            .iter()
            .map(|s| s.argv.join(" "))
        {
            assert!(l.ends_with(IPT_CHAIN), "{l}");
        }
    }

    #[test]
    fn the_probe_takes_a_fence_of_the_old_kind_for_missing() {
        let p = probe(FenceBackend::Nft);
        let old = "table inet flexus_traffic_monitor {\n chain fence_input {\n ct state new counter packets 0 bytes 0 drop\n }\n}";
        assert!(!p.expect.iter().all(|e| old.contains(e.as_str())));
        let new = "tcp flags & (syn | ack) == syn counter packets 0 bytes 0 drop comment \"new inbound TCP\"";
        assert!(p.expect.iter().all(|e| new.contains(e.as_str())));
    }
}
