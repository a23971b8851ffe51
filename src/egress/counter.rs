//! The kernel's byte counters of one network interface, and which interface is the public one.
//!
//! Reads `<sys>/class/net/<if>/statistics/{tx,rx}_bytes` (64-bit on every kernel since 2.6.36; the
//! same counters from `<proc>/net/dev` where sysfs does not show the interface) and
//! chooses the interface by the default route in `<proc>/net/route`, never by whether the card
//! looks physical: a cloud server's NIC is virtual too. The roots are parameters so that tests
//! read a fake `/sys` and `/proc`. It keeps no state; counting across restarts is `meter`'s job.

use std::path::{Path, PathBuf};

/// Where the kernel's files are (`/sys` and `/proc` on a real system).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Roots {
    pub sys: PathBuf,
    pub proc: PathBuf,
}

impl Default for Roots {
    fn default() -> Self {
        Self {
            sys: PathBuf::from("/sys"),
            proc: PathBuf::from("/proc"),
        }
    }
}

/// Bytes sent and received by an interface since it appeared (or since boot).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Counters {
    pub tx: u64,
    pub rx: u64,
}

/// Why the counter cannot be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CounterError {
    #[error(
        "no default route outside lo, docker*, veth* and br-* in {path}; set EGRESS_INTERFACE"
    )]
    NoDefaultRoute { path: String },
    #[error("EGRESS_INTERFACE={0} is a local or container interface whose traffic is not billed")]
    Excluded(String),
    #[error("cannot read the counters of interface {interface}: {error}")]
    Unreadable { interface: String, error: String },
    #[error("the counter of interface {interface} is not a number: {text:?}")]
    Malformed { interface: String, text: String },
}

impl CounterError {
    /// A label for logs and metrics.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::NoDefaultRoute { .. } => "no_default_route",
            Self::Excluded(_) => "excluded",
            Self::Unreadable { .. } => "unreadable",
            Self::Malformed { .. } => "malformed",
        }
    }
}

/// Interfaces whose traffic is never the server's billed egress: loopback, Docker's bridges and
/// the host ends of container pairs.
pub fn excluded(name: &str) -> bool {
    name == "lo"
        || name.starts_with("docker")
        || name.starts_with("veth")
        || name.starts_with("br-")
}

/// The interface of the default route in the text of `/proc/net/route` (lowest metric first),
/// skipping [`excluded`] ones. Pure.
pub fn default_route_interface(route: &str) -> Option<String> {
    route
        .lines()
        .skip(1)
        .filter_map(|line| {
            let f: Vec<&str> = line.split_whitespace().collect();
            // Iface Destination Gateway Flags RefCnt Use Metric Mask ...
            let (iface, dest, flags, metric, mask) =
                (f.first()?, f.get(1)?, f.get(3)?, f.get(6)?, f.get(7)?);
            let up = u32::from_str_radix(flags, 16).ok()? & 1 == 1;
            (*dest == "00000000" && *mask == "00000000" && up && !excluded(iface))
                .then(|| (metric.parse::<u64>().unwrap_or(u64::MAX), iface.to_string()))
        })
        .min()
        .map(|(_, iface)| iface)
}

/// The interface to count: `configured` (`EGRESS_INTERFACE`) when given, else the default route's.
///
/// # Errors
/// When the configured one is excluded, or no default route is found.
pub fn choose_interface(configured: Option<&str>, roots: &Roots) -> Result<String, CounterError> {
    if let Some(name) = configured {
        return if excluded(name) {
            Err(CounterError::Excluded(name.to_string()))
        } else {
            Ok(name.to_string())
        };
    }
    let path = roots.proc.join("net/route");
    std::fs::read_to_string(&path)
        .ok()
        .and_then(|text| default_route_interface(&text))
        .ok_or_else(|| CounterError::NoDefaultRoute {
            path: path.display().to_string(),
        })
}

fn read_one(path: &Path, interface: &str) -> Result<u64, CounterError> {
    let text = std::fs::read_to_string(path).map_err(|e| CounterError::Unreadable {
        interface: interface.to_string(),
        error: e.kind().to_string(),
    })?;
    text.trim().parse().map_err(|_| CounterError::Malformed {
        interface: interface.to_string(),
        text: crate::messages::bounded(text.trim(), 40).into_owned(),
    })
}

/// The counters of `interface` in the text of `/proc/net/dev`, if it is listed. Pure.
pub fn proc_net_dev(text: &str, interface: &str) -> Option<Counters> {
    text.lines().find_map(|line| {
        let (name, rest) = line.split_once(':')?;
        if name.trim() != interface {
            return None;
        }
        // receive: bytes packets errs drop fifo frame compressed multicast; transmit: bytes ...
        let f: Vec<u64> = rest
            .split_whitespace()
            .map(str::parse)
            .collect::<Result<_, _>>()
            .ok()?;
        Some(Counters {
            rx: *f.first()?,
            tx: *f.get(8)?,
        })
    })
}

/// Reads the counters of `interface` from `/sys/class/net`, or from `/proc/net/dev` where sysfs
/// does not show it (a sysfs mounted for another network namespace; both read the same kernel
/// counters).
///
/// # Errors
/// When the interface is gone or its files do not hold numbers.
pub fn read(roots: &Roots, interface: &str) -> Result<Counters, CounterError> {
    let dir = roots
        .sys
        .join("class/net")
        .join(interface)
        .join("statistics");
    if !dir.exists() {
        if let Some(c) = std::fs::read_to_string(roots.proc.join("net/dev"))
            .ok()
            .and_then(|t| proc_net_dev(&t, interface))
        {
            return Ok(c);
        }
    }
    Ok(Counters {
        tx: read_one(&dir.join("tx_bytes"), interface)?,
        rx: read_one(&dir.join("rx_bytes"), interface)?,
    })
}

/// The id of the running boot (`<proc>/sys/kernel/random/boot_id`): a new one means the counters
/// started again from zero.
pub fn boot_id(roots: &Roots) -> Option<String> {
    std::fs::read_to_string(roots.proc.join("sys/kernel/random/boot_id"))
        .ok()
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
}

/// A fake `/sys` and `/proc` in a directory, for tests (here and in `tests/`).
pub mod fake {
    use super::{Counters, Roots};
    use std::path::Path;

    /// Roots under `dir`.
    pub fn roots(dir: &Path) -> Roots {
        Roots {
            sys: dir.join("sys"),
            proc: dir.join("proc"),
        }
    }

    /// Writes the counters of `interface` (creating it).
    pub fn set(dir: &Path, interface: &str, c: Counters) {
        let d = dir.join("sys/class/net").join(interface).join("statistics");
        std::fs::create_dir_all(&d).expect("a fake /sys in a temporary directory can be created");
        std::fs::write(d.join("tx_bytes"), format!("{}\n", c.tx)).expect("writable fake /sys");
        std::fs::write(d.join("rx_bytes"), format!("{}\n", c.rx)).expect("writable fake /sys");
    }

    /// Removes `interface` (it vanished).
    pub fn remove(dir: &Path, interface: &str) {
        let _ = std::fs::remove_dir_all(dir.join("sys/class/net").join(interface));
    }

    /// Writes the boot id.
    pub fn set_boot(dir: &Path, id: &str) {
        let d = dir.join("proc/sys/kernel/random");
        std::fs::create_dir_all(&d).expect("a fake /proc in a temporary directory can be created");
        std::fs::write(d.join("boot_id"), format!("{id}\n")).expect("writable fake /proc");
    }

    /// Writes `/proc/net/route` with a default route through `interface`.
    pub fn set_default_route(dir: &Path, interface: &str) {
        let d = dir.join("proc/net");
        std::fs::create_dir_all(&d).expect("a fake /proc in a temporary directory can be created");
        std::fs::write(
            d.join("route"),
            format!(
                "Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT\n\
                 docker0\t00000000\t010011AC\t0003\t0\t0\t0\t00000000\t0\t0\t0\n\
                 {interface}\t00000000\t0100A8C0\t0003\t0\t0\t100\t00000000\t0\t0\t0\n\
                 {interface}\t0000A8C0\t00000000\t0001\t0\t0\t100\t00FFFFFF\t0\t0\t0\n"
            ),
        )
        .expect("writable fake /proc");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_route_decides_and_container_interfaces_never_count() {
        let route = "Iface\tDestination\tGateway\tFlags\tRefCnt\tUse\tMetric\tMask\n\
            docker0\t00000000\t010011AC\t0003\t0\t0\t0\t00000000\n\
            eth1\t00000000\t0100A8C0\t0003\t0\t0\t200\t00000000\n\
            eth0\t00000000\t0100A8C0\t0003\t0\t0\t100\t00000000\n\
            eth2\t0000A8C0\t00000000\t0001\t0\t0\t0\t00FFFFFF\n\
            eth3\t00000000\t0100A8C0\t0002\t0\t0\t0\t00000000\n";
        // eth3's route is down; docker0 is excluded; the lower metric wins.
        assert_eq!(default_route_interface(route).as_deref(), Some("eth0"));
        assert_eq!(default_route_interface("Iface\tDestination\n"), None);
        for name in ["lo", "docker0", "veth12ab", "br-0a1b"] {
            assert!(excluded(name), "{name}");
        }
        assert!(!excluded("eth0") && !excluded("ens3"));
    }

    #[test]
    fn a_configured_interface_wins_unless_it_is_excluded() {
        let dir = tempfile::tempdir().unwrap();
        let roots = fake::roots(dir.path());
        assert!(matches!(
            choose_interface(None, &roots),
            Err(CounterError::NoDefaultRoute { .. })
        ));
        fake::set_default_route(dir.path(), "ens3");
        assert_eq!(choose_interface(None, &roots).unwrap(), "ens3");
        assert_eq!(choose_interface(Some("eth9"), &roots).unwrap(), "eth9");
        assert_eq!(
            choose_interface(Some("veth0"), &roots),
            Err(CounterError::Excluded("veth0".into()))
        );
    }

    #[test]
    fn proc_net_dev_gives_the_same_counters() {
        let text = "Inter-|   Receive |  Transmit\n face |bytes packets|bytes packets\n    \
            lo: 100 1 0 0 0 0 0 0 100 1 0 0 0 0 0 0\n  \
            eth0: 5000 40 0 0 0 0 0 0 987654321 30 0 0 0 0 0 0\n";
        assert_eq!(
            proc_net_dev(text, "eth0"),
            Some(Counters {
                tx: 987_654_321,
                rx: 5000
            })
        );
        assert_eq!(proc_net_dev(text, "eth1"), None);
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("proc/net")).unwrap();
        std::fs::write(dir.path().join("proc/net/dev"), text).unwrap();
        let roots = fake::roots(dir.path());
        assert_eq!(read(&roots, "eth0").unwrap().tx, 987_654_321);
    }

    #[test]
    fn counters_are_read_and_a_vanished_interface_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let roots = fake::roots(dir.path());
        fake::set(dir.path(), "eth0", Counters { tx: 5, rx: 7 });
        assert_eq!(read(&roots, "eth0").unwrap(), Counters { tx: 5, rx: 7 });
        fake::remove(dir.path(), "eth0");
        assert!(matches!(
            read(&roots, "eth0"),
            Err(CounterError::Unreadable { .. })
        ));
        fake::set(dir.path(), "eth0", Counters { tx: 1, rx: 1 });
        std::fs::write(
            dir.path().join("sys/class/net/eth0/statistics/tx_bytes"),
            "x",
        )
        .unwrap();
        assert!(matches!(
            read(&roots, "eth0"),
            Err(CounterError::Malformed { .. })
        ));
        fake::set_boot(dir.path(), "b1");
        assert_eq!(boot_id(&roots).as_deref(), Some("b1"));
    }
}
