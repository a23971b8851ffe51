//! The actions section: what each level does (`LEVELn_ACTIONS`) and the settings of `throttle`,
//! `fence` and `command`.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use super::validate::{Checker, Said};
use crate::actions::{throttle, Action, ActionSettings, FenceBackendChoice};
use crate::level::Level;

fn port_list(s: &str) -> Result<Vec<u16>, Said> {
    let mut out = Vec::new();
    for p in s.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        match p.parse::<u16>() {
            Ok(n) if n > 0 => out.push(n),
            _ => {
                return Err(Said::from((
                    format!("`{p}` is not a TCP port; write e.g. 22,2222"),
                    format!("`{p}` 不是 TCP 端口；写成 22,2222 这样"),
                )))
            }
        }
    }
    out.sort_unstable();
    out.dedup();
    Ok(out)
}

/// `FENCE_ALLOW_PORTS`: `443`, `tcp/443` or `udp/51820`, comma-separated → (TCP, UDP) ports.
fn allow_list(s: &str) -> Result<(Vec<u16>, Vec<u16>), Said> {
    let (mut tcp, mut udp) = (Vec::new(), Vec::new());
    for entry in s.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let (list, port) = match entry.to_ascii_lowercase().split_once('/') {
            None => (&mut tcp, entry.to_string()),
            Some(("tcp", p)) => (&mut tcp, p.to_string()),
            Some(("udp", p)) => (&mut udp, p.to_string()),
            Some(_) => {
                return Err(Said::from((
                    format!(
                        "`{entry}` is not a port; write 443 or tcp/443 for TCP, udp/51820 for UDP"
                    ),
                    format!("`{entry}` 不是端口；TCP 写 443 或 tcp/443，UDP 写 udp/51820"),
                )))
            }
        };
        match port.trim().parse::<u16>() {
            Ok(n) if n > 0 => list.push(n),
            _ => {
                return Err(Said::from((
                    format!(
                        "`{entry}` is not a port; write 443 or tcp/443 for TCP, udp/51820 for UDP"
                    ),
                    format!("`{entry}` 不是端口；TCP 写 443 或 tcp/443，UDP 写 udp/51820"),
                )))
            }
        }
    }
    for l in [&mut tcp, &mut udp] {
        l.sort_unstable();
        l.dedup();
    }
    Ok((tcp, udp))
}

fn command(c: &mut Checker, name: &str) -> Vec<String> {
    c.parse_optional(
        name,
        (
            "cannot be split into a program and its arguments",
            "无法拆分成程序和参数",
        ),
        |s| match shell_words::split(s) {
            Ok(argv) if !argv.is_empty() => Ok(argv),
            _ => Err(Said::from((
                "write a program and its arguments (no shell: no pipes or `;`)",
                "写程序和参数（不经过 shell：不能用管道或 `;`）",
            ))),
        },
    )
    .unwrap_or_default()
}

/// `LOCAL_FREE_RESOURCE_IDS`: the watched packages whose level moves this machine's actions.
fn local_packages(c: &mut Checker, watched: &[String], acts: bool) -> Vec<String> {
    const VAR: &str = "LOCAL_FREE_RESOURCE_IDS";
    let Some(given) = c.given(VAR).map(str::to_string) else {
        return match watched {
            [one] => vec![one.clone()],
            [] => Vec::new(),
            _ if !acts => Vec::new(),
            _ => {
                c.error(
                    VAR,
                    "",
                    (
                        format!("is needed: {} packages are watched and a LEVELn_ACTIONS has throttle, fence or command, which act on the machine this program runs on", watched.len()),
                        format!("必须设置：监控了 {} 个资源包，且某个 LEVELn_ACTIONS 含有 throttle、fence 或 command，它们作用于运行本程序的机器", watched.len()),
                    ),
                    ("set it to the package id(s) of this server (the others act through their own SHUTDOWN_MODE), or to none when this machine is none of them", "设为本服务器的资源包 ID（其他服务器按它们自己的 SHUTDOWN_MODE 处理）；本机不是其中任何一台时写 none"),
                );
                Vec::new()
            }
        };
    };
    if given.trim().eq_ignore_ascii_case("none") {
        return Vec::new();
    }
    let mut out: Vec<String> = Vec::new();
    for id in given.split(',').map(str::trim).filter(|s| !s.is_empty()) {
        if !watched.iter().any(|w| w == id) {
            c.error(
                VAR,
                id,
                ("is not a watched package", "不是被监控的资源包"),
                ("list ids of FREE_RESOURCE_IDS or FLEXUS_INSTANCES (the packages of this server), or none", "列出 FREE_RESOURCE_IDS 或 FLEXUS_INSTANCES 中的 ID（本服务器的资源包），或写 none"),
            );
        } else if !out.iter().any(|o| o == id) {
            out.push(id.to_string());
        }
    }
    out
}

/// `LEVEL3_ACTIONS`, `LEVEL2_ACTIONS`, `LEVEL1_ACTIONS`: level → its actions.
pub(super) fn levels(c: &mut Checker) -> BTreeMap<Level, BTreeSet<Action>> {
    let mut levels: BTreeMap<Level, BTreeSet<Action>> = BTreeMap::new();
    let mut seen: BTreeMap<Action, &'static str> = BTreeMap::new();
    for (var, level) in [
        ("LEVEL3_ACTIONS", Level::L3),
        ("LEVEL2_ACTIONS", Level::L2),
        ("LEVEL1_ACTIONS", Level::L1),
    ] {
        let given = match (c.given(var), level) {
            (Some(v), _) => v.to_string(),
            // Unset level 1 keeps the old behaviour; `LEVEL1_ACTIONS=` (blank) is read as unset too,
            // so "notify only" is written `none`.
            (None, Level::L1) => "shutdown".into(),
            (None, _) => String::new(),
        };
        let mut set = BTreeSet::new();
        for word in given.split(',').map(str::trim).filter(|w| !w.is_empty()) {
            if word.eq_ignore_ascii_case("none") {
                continue;
            }
            match Action::parse(word) {
                Some(Action::Shutdown) if level != Level::L1 => c.error(
                    var,
                    &given,
                    ("has shutdown, which only level 1 can do (the guard re-checks below THRESHOLD_LEVEL_1)", "含有 shutdown，而只有一级能关机（低于 THRESHOLD_LEVEL_1 时关机守卫会再查一次）"),
                    ("put shutdown in LEVEL1_ACTIONS, and use throttle or fence here", "把 shutdown 放进 LEVEL1_ACTIONS，这里用 throttle 或 fence"),
                ),
                Some(a) => {
                    if let Some(other) = seen.insert(a, var) {
                        c.error(
                            var,
                            &given,
                            (
                                format!("has {} which {other} has too", a.label()),
                                format!("含有 {}，{other} 中也有", a.label()),
                            ),
                            ("an action stays in force at every worse level: list it once, at the first level where it should start", "动作在更严重的各级都保持生效：只列一次，放在它应开始的第一级"),
                        );
                    }
                    set.insert(a);
                }
                None => c.error(
                    var,
                    &given,
                    (format!("`{word}` is not an action"), format!("`{word}` 不是动作")),
                    ("use shutdown (level 1 only), throttle, fence, command, or none", "可选 shutdown（仅一级）、throttle、fence、command 或 none"),
                ),
            }
        }
        if !set.is_empty() {
            levels.insert(level, set);
        }
    }
    levels
}

/// Builds the actions section. `listen_port` is `LISTEN_ADDR`'s port (left open by the fence);
/// `watched` are the watched package ids.
pub(super) fn check(c: &mut Checker, listen_port: u16, watched: &[String]) -> ActionSettings {
    let levels = levels(c);
    let throttle_rate = c.parse(
        "THROTTLE_RATE",
        ("is not a tc rate", "不是 tc 速率"),
        |s| {
            if throttle::valid_rate(s) {
                Ok(s.trim().to_ascii_lowercase())
            } else {
                Err(Said::from((
                    "write a number with a tc unit, e.g. 1mbit, 512kbit or 10mbit",
                    "写数字加 tc 单位，例如 1mbit、512kbit 或 10mbit",
                )))
            }
        },
    );
    let throttle_interface = c.parse_optional("THROTTLE_INTERFACE", ("is not an interface name", "不是网卡名"), |s| {
        if s.len() <= 15 && s.chars().all(|ch| ch.is_ascii_alphanumeric() || "-_.@".contains(ch)) {
            Ok(s.to_string())
        } else {
            Err(Said::from(("write the name `ip link` shows, e.g. eth0, or unset it for the default route's", "写 `ip link` 显示的名字，例如 eth0；或删除它以使用默认路由的网卡")))
        }
    });
    let ssh_ports = c.parse(
        "SSH_PORTS",
        ("is not a list of ports", "不是端口列表"),
        port_list,
    );
    if ssh_ports.is_empty() {
        c.error(
            "SSH_PORTS",
            "",
            ("is empty", "为空"),
            (
                "list the port sshd listens on (22 by default): it is never cut",
                "列出 sshd 监听的端口（默认 22）：它永远不会被切断",
            ),
        );
    }
    let (fence_allow_ports, fence_allow_udp_ports) = c
        .parse_optional(
            "FENCE_ALLOW_PORTS",
            ("is not a list of ports", "不是端口列表"),
            allow_list,
        )
        .unwrap_or_default();
    let fence_backend: FenceBackendChoice = c.choice(
        "FENCE_BACKEND",
        ("is not a firewall program", "不是防火墙程序"),
    );
    let enter_command = command(c, "ACTION_ENTER_COMMAND");
    let leave_command = command(c, "ACTION_LEAVE_COMMAND");
    let uses_command = levels.values().any(|a| a.contains(&Action::Command));
    if uses_command && enter_command.is_empty() {
        c.error(
            "ACTION_ENTER_COMMAND",
            "",
            ("is needed because a LEVELn_ACTIONS has command", "必须设置：某个 LEVELn_ACTIONS 含有 command"),
            ("set the program to run on entering the level (ACTION_LEAVE_COMMAND runs when it is lifted)", "设置进入该级时运行的程序（解除时运行 ACTION_LEAVE_COMMAND）"),
        );
    }
    let acts = levels
        .values()
        .any(|a| a.iter().any(|a| *a != Action::Shutdown));
    let local_packages = local_packages(c, watched, acts);
    ActionSettings {
        levels,
        throttle_rate,
        throttle_interface,
        ssh_ports,
        fence_allow_ports,
        fence_allow_udp_ports,
        listen_port,
        fence_backend,
        enter_command,
        leave_command,
        local_packages,
        timeout: c.duration("ACTION_TIMEOUT", Duration::from_secs(1)),
    }
}

#[cfg(test)]
mod tests {
    use super::allow_list;

    #[test]
    fn fence_allow_ports_take_tcp_by_default_and_udp_by_prefix() {
        assert_eq!(
            allow_list("443, tcp/8443,udp/51820,UDP/53,443").unwrap(),
            (vec![443, 8443], vec![53, 51820])
        );
        for bad in ["sctp/9", "udp/", "udp/0", "http", "70000"] {
            let e = allow_list(bad).unwrap_err();
            assert!(e.en.contains("udp/51820"), "{bad}: {e:?}");
        }
    }
}
