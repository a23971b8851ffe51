//! Gentler actions than a shutdown: per-level `throttle` (egress rate limit with `tc`), `fence`
//! (new inbound connections dropped with nftables, or iptables where nft is absent) and `command`
//! (a user's command on entering and on leaving a level). `shutdown` stays with the shutdown guard;
//! this module only knows it as a name in the level lists.
//!
//! Layout, pure first:
//! - [`step`] holds the command types every other part shares ([`step::Step`], [`step::Probe`]);
//! - [`throttle`] and [`fence`] build the exact argv of installing and removing each action;
//! - [`plan`] decides, from a fresh level and what the state says is in force, which actions to
//!   apply, restore, update or lift — no I/O, unit-tested;
//! - [`addresses`] keeps the addresses of our own API hosts (kept out of the throttle), looked up
//!   once and refreshed hourly, not at every poll;
//! - [`runner`] runs a plan's commands (with timeouts, optionally inside a network namespace, or
//!   only prints them under `DRY_RUN`);
//! - [`reconcile`] is the glue: after each poll it plans, runs, records in the state store,
//!   announces, and updates the metrics.
//!
//! An action set for level N stays in force while the package is at level N *or worse*, and is
//! lifted when a fresh reading shows it back at or above the level (new cycle, renewal). Only
//! artefacts of our own are touched: the qdisc with handle `f7f1:` (the kernel itself refuses to
//! delete a root qdisc with another handle), the nft table `inet flexus_traffic_monitor`, the
//! iptables chain `FLEXUS_FENCE`.

pub mod addresses;
pub mod error;
pub mod fence;
pub mod plan;
pub mod reconcile;
pub mod runner;
pub mod step;
pub mod throttle;

use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

pub use error::ActionError;

use crate::level::Level;

/// What a level does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Action {
    /// Stop the server (the shutdown guard: countdown, fresh re-check). Level 1 only.
    Shutdown,
    /// Limit egress on the default interface.
    Throttle,
    /// Drop new inbound connections except to SSH, our own listen port and `FENCE_ALLOW_PORTS`.
    Fence,
    /// Run the user's enter command; the leave command when lifted.
    Command,
}

impl Action {
    /// Every action, in the order lists show them.
    pub const ALL: [Action; 4] = [
        Action::Shutdown,
        Action::Throttle,
        Action::Fence,
        Action::Command,
    ];

    /// The name used in `LEVELn_ACTIONS`, labels and state.
    pub fn label(self) -> &'static str {
        match self {
            Self::Shutdown => "shutdown",
            Self::Throttle => "throttle",
            Self::Fence => "fence",
            Self::Command => "command",
        }
    }

    /// Parses a name of `LEVELn_ACTIONS`.
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL
            .into_iter()
            .find(|a| a.label() == s.trim().to_ascii_lowercase())
    }
}

/// The actions of one level in force: `throttle@2`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Key {
    pub action: Action,
    pub level: Level,
}

impl Key {
    /// The key as stored in the state file and shown in `/api/v1/status`.
    pub fn id(self) -> String {
        format!("{}@{}", self.action.label(), self.level.label())
    }

    /// Parses [`Self::id`].
    pub fn parse(s: &str) -> Option<Self> {
        let (a, l) = s.split_once('@')?;
        Some(Self {
            action: Action::parse(a)?,
            level: Level::from_label(l)?,
        })
    }
}

/// Which firewall program fences.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FenceBackend {
    /// nftables: one table of our own, replaced atomically.
    Nft,
    /// iptables (and ip6tables when present): one chain of our own, jumped to from INPUT.
    Iptables,
}

/// `FENCE_BACKEND`: `auto` picks nft when the `nft` program exists.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum FenceBackendChoice {
    Auto,
    Nft,
    Iptables,
}

impl FenceBackendChoice {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Auto => "auto",
            Self::Nft => "nft",
            Self::Iptables => "iptables",
        }
    }
}

impl std::str::FromStr for FenceBackendChoice {
    type Err = &'static str;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "auto" => Ok(Self::Auto),
            "nft" | "nftables" => Ok(Self::Nft),
            "iptables" => Ok(Self::Iptables),
            _ => Err("use auto, nft or iptables"),
        }
    }
}

/// The validated settings of the actions (`LEVELn_ACTIONS`, `THROTTLE_*`, `SSH_PORTS`, ...).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ActionSettings {
    /// Level → its actions (levels 3, 2, 1). An action appears at one level at most.
    pub levels: BTreeMap<Level, BTreeSet<Action>>,
    /// tc rate, e.g. `1mbit`.
    pub throttle_rate: String,
    /// `None`: the interface of the default route, found when throttling starts.
    pub throttle_interface: Option<String>,
    /// Never throttled, never fenced (TCP).
    pub ssh_ports: Vec<u16>,
    /// More inbound TCP ports the fence leaves open.
    pub fence_allow_ports: Vec<u16>,
    /// Inbound UDP ports the fence leaves open (`udp/51820` in `FENCE_ALLOW_PORTS`).
    pub fence_allow_udp_ports: Vec<u16>,
    /// Our own listen port (Alertmanager must reach the receiver); left open by the fence.
    pub listen_port: u16,
    pub fence_backend: FenceBackendChoice,
    /// argv run on entering a level with `command` (no shell).
    pub enter_command: Vec<String>,
    /// argv run on leaving it (optional).
    pub leave_command: Vec<String>,
    /// The packages of the server this program runs on: only their level moves the throttle,
    /// the fence and the command here (`LOCAL_FREE_RESOURCE_IDS`; the one watched package by
    /// default). A package of another server acts through that server's own setting.
    pub local_packages: Vec<String>,
    /// Every tc/nft/iptables/user command is stopped after this long.
    #[serde(with = "crate::actions::secs")]
    pub timeout: Duration,
}

impl Default for ActionSettings {
    fn default() -> Self {
        Self {
            levels: BTreeMap::from([(Level::L1, BTreeSet::from([Action::Shutdown]))]),
            throttle_rate: "1mbit".into(),
            throttle_interface: None,
            ssh_ports: vec![22],
            fence_allow_ports: Vec::new(),
            fence_allow_udp_ports: Vec::new(),
            listen_port: 9184,
            fence_backend: FenceBackendChoice::Auto,
            enter_command: Vec::new(),
            leave_command: Vec::new(),
            local_packages: Vec::new(),
            timeout: Duration::from_secs(30),
        }
    }
}

impl ActionSettings {
    /// Every configured (action, level) apart from `shutdown`, which the guard owns.
    pub fn keys(&self) -> Vec<Key> {
        let mut out = Vec::new();
        for (level, actions) in &self.levels {
            for a in actions {
                if *a != Action::Shutdown {
                    out.push(Key {
                        action: *a,
                        level: *level,
                    });
                }
            }
        }
        out
    }

    /// The gentler actions a package at `level` puts in force (configured at that level or at a
    /// milder one), mildest level first.
    pub fn at_level(&self, level: Level) -> Vec<Key> {
        let mut keys: Vec<Key> = self
            .keys()
            .into_iter()
            .filter(|k| level >= k.level)
            .collect();
        keys.sort_by_key(|k| std::cmp::Reverse(k.level));
        keys
    }

    /// Whether the level of `free_resource_id` moves this machine's actions: it is the package of
    /// the server this program runs on (`LOCAL_FREE_RESOURCE_IDS`).
    pub fn acts_for(&self, free_resource_id: &str) -> bool {
        self.local_packages.iter().any(|p| p == free_resource_id)
    }

    /// Whether `shutdown` is one of level 1's actions.
    pub fn shuts_down(&self) -> bool {
        self.levels
            .get(&Level::L1)
            .is_some_and(|a| a.contains(&Action::Shutdown))
    }

    /// The TCP ports the fence leaves open, sorted, without duplicates.
    pub fn open_ports(&self) -> Vec<u16> {
        let mut p: Vec<u16> = self
            .ssh_ports
            .iter()
            .chain(&self.fence_allow_ports)
            .chain(std::iter::once(&self.listen_port))
            .copied()
            .collect();
        p.sort_unstable();
        p.dedup();
        p
    }

    /// The UDP ports the fence leaves open, sorted, without duplicates.
    pub fn open_udp_ports(&self) -> Vec<u16> {
        let mut p = self.fence_allow_udp_ports.clone();
        p.sort_unstable();
        p.dedup();
        p
    }

    /// The source ports whose egress is never throttled: SSH and our own listen port.
    pub fn unthrottled_ports(&self) -> Vec<u16> {
        let mut p: Vec<u16> = self
            .ssh_ports
            .iter()
            .chain(std::iter::once(&self.listen_port))
            .copied()
            .collect();
        p.sort_unstable();
        p.dedup();
        p
    }
}

/// Why level 1 does not shut the server down, as every message, the page and `/api/v1/status` say.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum NoShutdown {
    /// `LEVEL1_ACTIONS` does not list `shutdown` (a choice: the gentler actions act instead).
    NotInLevel1Actions,
    /// `SHUTDOWN_MODE=off`.
    ModeOff,
}

impl NoShutdown {
    /// Why not, from the two settings; `None` when level 1 shuts down.
    pub fn of(settings: &ActionSettings, mode_off: bool) -> Option<Self> {
        if !settings.shuts_down() {
            Some(Self::NotInLevel1Actions)
        } else if mode_off {
            Some(Self::ModeOff)
        } else {
            None
        }
    }
}

/// What was installed, with the parameters needed to remove exactly that later (even when the
/// configuration changed in between).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "action", rename_all = "lowercase")]
pub enum Installed {
    Throttle {
        interface: String,
        rate: String,
        ports: Vec<u16>,
        /// Our own API endpoints (address, port) kept out of the limit.
        endpoints: Vec<(IpAddr, u16)>,
        /// The fair queue inside the limit that the kernel took (`fq_codel`, else `sfq`, else
        /// `pfifo`); unknown before it ran and under `DRY_RUN`.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        queue: Option<String>,
    },
    Fence {
        backend: FenceBackend,
        /// TCP ports left open.
        ports: Vec<u16>,
        /// UDP ports left open.
        #[serde(default)]
        udp_ports: Vec<u16>,
        /// ip6tables was used as well (iptables backend only).
        #[serde(default)]
        ipv6: bool,
    },
    Command {
        leave: Vec<String>,
    },
}

/// An action in force, as the state file keeps it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ActiveRecord {
    pub since: DateTime<Utc>,
    pub installed: Installed,
    /// Only printed, not run (`DRY_RUN`).
    #[serde(default)]
    pub dry_run: bool,
}

/// What the state file keeps about actions.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ActionsState {
    /// Actions in force, by [`Key::id`].
    #[serde(default)]
    pub active: BTreeMap<String, ActiveRecord>,
    /// Actions removed by `lift` while their level lasts: not installed again until the level
    /// has recovered once.
    #[serde(default)]
    pub lifted_by_hand: BTreeSet<String>,
    /// When installing an action last failed (retried after `LEVEL2_REPEAT`).
    #[serde(default)]
    pub failures: BTreeMap<String, DateTime<Utc>>,
}

/// Durations as whole seconds in JSON.
pub(crate) mod secs {
    pub fn serialize<S: serde::Serializer>(
        d: &std::time::Duration,
        s: S,
    ) -> Result<S::Ok, S::Error> {
        s.serialize_str(&humantime::format_duration(*d).to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_round_trip() {
        for action in Action::ALL {
            for level in [Level::L1, Level::L2, Level::L3] {
                let k = Key { action, level };
                assert_eq!(Key::parse(&k.id()), Some(k));
            }
        }
        assert_eq!(Key::parse("nap@2"), None);
    }

    #[test]
    fn the_fence_keeps_ssh_and_our_listen_port_open() {
        let s = ActionSettings {
            ssh_ports: vec![2222, 22],
            fence_allow_ports: vec![443, 22],
            listen_port: 9184,
            ..ActionSettings::default()
        };
        assert_eq!(s.open_ports(), vec![22, 443, 2222, 9184]);
        assert_eq!(s.unthrottled_ports(), vec![22, 2222, 9184]);
    }

    #[test]
    fn the_default_is_the_old_behaviour() {
        let s = ActionSettings::default();
        assert!(s.shuts_down());
        assert!(s.keys().is_empty());
    }
}
