//! The planner: from a fresh level, the settings, what the machine looks like and what the state
//! says is in force, the list of changes to make, each with its exact commands. Pure: no clock
//! (`now` is an argument), no I/O; the runner executes what it returns, `DRY_RUN` prints it.

use std::collections::BTreeSet;
use std::net::IpAddr;
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::step::{Probe, Step};
use super::{
    fence, throttle, Action, ActionError, ActionSettings, ActionsState, FenceBackend, Installed,
    Key,
};
use crate::level::Level;

/// What the machine looks like, found by the runner before planning.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Machine {
    /// The interface to throttle, or why it is unknown.
    pub interface: Result<String, ActionError>,
    /// Our own API endpoints (address, port), kept out of the throttle.
    pub endpoints: Vec<(IpAddr, u16)>,
    /// The firewall program for the fence, or why there is none.
    pub fence_backend: Result<FenceBackend, ActionError>,
    /// ip6tables is installed (for the iptables backend).
    pub ip6tables: bool,
}

/// What kind of change.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ChangeKind {
    /// The level was entered: install and announce.
    Apply,
    /// The state says it is in force but this process has not checked: install only if it is
    /// missing (rules vanish at a reboot), silently otherwise.
    Restore,
    /// In force with other parameters (settings changed, an API address moved): install anew.
    Update,
    /// The level recovered (or the action was removed from the settings): remove and announce.
    Lift,
}

/// One change the runner makes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Change {
    pub key: Key,
    pub kind: ChangeKind,
    pub steps: Vec<Step>,
    /// `Restore`: run `steps` only when this says ours is missing.
    pub probe: Option<Probe>,
    /// What the state records once done (`None`: the record is removed).
    pub record: Option<Installed>,
    /// The commands that undo it (for the announcement).
    pub undo: Vec<Step>,
    /// Why it cannot be done (no default route, no firewall program): announce, do nothing.
    pub blocked: Option<ActionError>,
}

impl serde::Serialize for Key {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.id())
    }
}

/// What the planner needs.
#[derive(Debug, Clone)]
pub struct Inputs<'a> {
    /// The worst level of a fresh, complete poll. The caller passes nothing for a failed or
    /// partial poll: then nothing changes.
    pub level: Level,
    pub settings: &'a ActionSettings,
    pub machine: &'a Machine,
    pub state: &'a ActionsState,
    /// This process already made sure the recorded actions are in place.
    pub restored: bool,
    pub now: DateTime<Utc>,
    /// A failed installation is tried again after this long.
    pub retry_after: Duration,
}

/// The plan, and the hand-lift marks that can be forgotten (their level recovered).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Plan {
    pub changes: Vec<Change>,
    pub forget_hand_lifts: Vec<String>,
}

/// The env of a user command.
fn command_env(level: Level, event: &str) -> Vec<(String, String)> {
    vec![
        ("FLEXUS_LEVEL".into(), level.label().into()),
        ("FLEXUS_EVENT".into(), event.into()),
    ]
}

/// The commands that remove what `installed` describes.
pub fn removal(key: Key, installed: &Installed) -> Vec<Step> {
    match installed {
        Installed::Throttle { interface, .. } => throttle::remove(interface),
        Installed::Fence { backend, ipv6, .. } => fence::remove(*backend, *ipv6),
        Installed::Command { leave } if leave.is_empty() => Vec::new(),
        Installed::Command { leave } => {
            vec![Step::new(leave.clone()).with_env(command_env(key.level, "leave"))]
        }
    }
}

/// The commands that install what `installed` describes.
pub fn installation(key: Key, installed: &Installed, enter: &[String]) -> Vec<Step> {
    match installed {
        Installed::Throttle {
            interface,
            rate,
            ports,
            endpoints,
            ..
        } => throttle::install(interface, rate, ports, endpoints),
        Installed::Fence {
            backend,
            ports,
            udp_ports,
            ipv6,
        } => fence::install(*backend, ports, udp_ports, *ipv6),
        Installed::Command { .. } => {
            vec![Step::new(enter.to_vec()).with_env(command_env(key.level, "enter"))]
        }
    }
}

/// Whether ours is in place, where that can be checked.
fn probe(installed: &Installed) -> Option<Probe> {
    match installed {
        Installed::Throttle { interface, .. } => Some(throttle::probe(interface)),
        Installed::Fence { backend, .. } => Some(fence::probe(*backend)),
        Installed::Command { .. } => None,
    }
}

/// What the settings and the machine ask to install for `key`, or why it cannot be.
fn wanted(key: Key, s: &ActionSettings, m: &Machine) -> Result<Installed, ActionError> {
    match key.action {
        Action::Throttle => {
            let interface = match &s.throttle_interface {
                Some(i) => i.clone(),
                None => m.interface.clone()?,
            };
            Ok(Installed::Throttle {
                interface,
                rate: s.throttle_rate.clone(),
                ports: s.unthrottled_ports(),
                endpoints: m.endpoints.clone(),
                queue: None,
            })
        }
        Action::Fence => {
            let backend = m.fence_backend.clone()?;
            Ok(Installed::Fence {
                backend,
                ports: s.open_ports(),
                udp_ports: s.open_udp_ports(),
                ipv6: backend == FenceBackend::Iptables && m.ip6tables,
            })
        }
        Action::Command => Ok(Installed::Command {
            leave: s.leave_command.clone(),
        }),
        Action::Shutdown => Err(ActionError::GuardOwnsShutdown),
    }
}

/// `Some(merged)` when `recorded` must be installed anew to match `wanted`. API addresses only
/// ever add up (DNS answers rotate; an address we stop using costs nothing to keep unthrottled).
fn update_of(recorded: &Installed, wanted: &Installed) -> Option<Installed> {
    match (recorded, wanted) {
        (
            Installed::Throttle {
                interface: ri,
                rate: rr,
                ports: rp,
                endpoints: re,
                ..
            },
            Installed::Throttle {
                interface: wi,
                rate: wr,
                ports: wp,
                endpoints: we,
                ..
            },
        ) => {
            let new_endpoints = we.iter().any(|e| !re.contains(e));
            if ri == wi && rr == wr && rp == wp && !new_endpoints {
                return None;
            }
            let mut all: BTreeSet<(IpAddr, u16)> = we.iter().copied().collect();
            if ri == wi {
                all.extend(re.iter().copied());
            }
            Some(Installed::Throttle {
                interface: wi.clone(),
                rate: wr.clone(),
                ports: wp.clone(),
                endpoints: all.into_iter().take(64).collect(),
                queue: None,
            })
        }
        (Installed::Fence { .. }, Installed::Fence { .. }) if recorded != wanted => {
            Some(wanted.clone())
        }
        _ => None,
    }
}

/// The changes that bring the machine to what `level` asks for.
pub fn plan(i: &Inputs<'_>) -> Plan {
    let s = i.settings;
    let mut lifts = Vec::new();
    let mut others = Vec::new();
    let mut forget = Vec::new();
    let configured = s.keys();
    for key in &configured {
        let id = key.id();
        let desired = i.level >= key.level;
        let recorded = i.state.active.get(&id);
        if !desired {
            if let Some(r) = recorded {
                lifts.push(lift(*key, &r.installed));
            }
            if i.state.lifted_by_hand.contains(&id) {
                forget.push(id);
            }
            continue;
        }
        let wanted = wanted(*key, s, i.machine);
        match (recorded, wanted) {
            (None, _) if i.state.lifted_by_hand.contains(&id) => {}
            (None, _) if recently_failed(i, &id) => {}
            (None, Ok(w)) => others.push(Change {
                key: *key,
                kind: ChangeKind::Apply,
                steps: installation(*key, &w, &s.enter_command),
                probe: None,
                undo: removal(*key, &w),
                record: Some(w),
                blocked: None,
            }),
            (None, Err(why)) => others.push(Change {
                key: *key,
                kind: ChangeKind::Apply,
                steps: Vec::new(),
                probe: None,
                record: None,
                undo: Vec::new(),
                blocked: Some(why),
            }),
            (Some(r), Ok(w)) => {
                if let Some(next) = update_of(&r.installed, &w) {
                    let mut steps = removal(*key, &r.installed);
                    steps.extend(installation(*key, &next, &s.enter_command));
                    others.push(Change {
                        key: *key,
                        kind: ChangeKind::Update,
                        steps,
                        probe: None,
                        undo: removal(*key, &next),
                        record: Some(next),
                        blocked: None,
                    });
                } else if !i.restored {
                    if let Some(p) = probe(&r.installed) {
                        others.push(Change {
                            key: *key,
                            kind: ChangeKind::Restore,
                            steps: installation(*key, &r.installed, &s.enter_command),
                            probe: Some(p),
                            undo: removal(*key, &r.installed),
                            record: Some(r.installed.clone()),
                            blocked: None,
                        });
                    }
                }
            }
            // In force, but the machine cannot be read now: leave it as it is.
            (Some(_), Err(_)) => {}
        }
    }
    // Records of actions the settings no longer have: lift them.
    for (id, r) in &i.state.active {
        match Key::parse(id) {
            Some(k) if configured.contains(&k) => {}
            Some(k) => lifts.push(lift(k, &r.installed)),
            None => tracing::warn!(key = %id, "unknown action in the state file; leaving it"),
        }
    }
    lifts.extend(others);
    Plan {
        changes: lifts,
        forget_hand_lifts: forget,
    }
}

fn lift(key: Key, installed: &Installed) -> Change {
    Change {
        key,
        kind: ChangeKind::Lift,
        steps: removal(key, installed),
        probe: None,
        record: None,
        undo: Vec::new(),
        blocked: None,
    }
}

fn recently_failed(i: &Inputs<'_>, id: &str) -> bool {
    i.state.failures.get(id).is_some_and(|at| {
        i.now.signed_duration_since(*at)
            < chrono::Duration::from_std(i.retry_after).unwrap_or(chrono::Duration::MAX)
    })
}

/// Every removal `lift` runs by hand: what the state records, plus our artefacts wherever they
/// may be (the default interface, `THROTTLE_INTERFACE`, both firewall programs) — each removal
/// touches only our own names, so running one that finds nothing is harmless.
pub fn lift_everything(
    state: &ActionsState,
    settings: &ActionSettings,
    machine: &Machine,
    has_nft: bool,
    has_iptables: bool,
) -> Vec<(Option<Key>, Vec<Step>)> {
    let mut out: Vec<(Option<Key>, Vec<Step>)> = Vec::new();
    let mut interfaces = BTreeSet::new();
    for (id, r) in &state.active {
        let Some(key) = Key::parse(id) else { continue };
        if let Installed::Throttle { interface, .. } = &r.installed {
            interfaces.insert(interface.clone());
        }
        out.push((Some(key), removal(key, &r.installed)));
    }
    let mut extra = Vec::new();
    for i in [
        settings.throttle_interface.clone(),
        machine.interface.clone().ok(),
    ]
    .into_iter()
    .flatten()
    {
        if interfaces.insert(i.clone()) {
            extra.extend(throttle::remove(&i));
        }
    }
    if has_nft {
        extra.extend(fence::remove(FenceBackend::Nft, false));
    }
    if has_iptables {
        extra.extend(fence::remove(FenceBackend::Iptables, machine.ip6tables));
    }
    // Fence removals recorded in the state are already in `out`; repeating them is harmless.
    out.push((None, extra));
    out
}

#[cfg(test)]
mod tests {
    use std::collections::{BTreeMap, BTreeSet};

    use super::*;
    use crate::actions::ActiveRecord;
    use Level::*;

    fn t(secs: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_800_000_000 + secs, 0).unwrap()
    }

    /// Throttle at level 2, fence and shutdown at level 1.
    fn settings() -> ActionSettings {
        ActionSettings {
            levels: BTreeMap::from([
                (L2, BTreeSet::from([Action::Throttle])),
                (L1, BTreeSet::from([Action::Fence, Action::Shutdown])),
            ]),
            ..ActionSettings::default()
        }
    }

    fn machine() -> Machine {
        Machine {
            interface: Result::Ok("eth0".into()),
            endpoints: vec![("1.2.3.4".parse().unwrap(), 443)],
            fence_backend: Result::Ok(FenceBackend::Nft),
            ip6tables: false,
        }
    }

    fn run(
        level: Level,
        s: &ActionSettings,
        m: &Machine,
        st: &ActionsState,
        restored: bool,
    ) -> Plan {
        plan(&Inputs {
            level,
            settings: s,
            machine: m,
            state: st,
            restored,
            now: t(0),
            retry_after: Duration::from_secs(3600),
        })
    }

    /// Records what a plan installs, as the reconciler does after success.
    fn commit(st: &mut ActionsState, p: &Plan) {
        for c in &p.changes {
            match &c.record {
                Some(r) => {
                    st.active.insert(
                        c.key.id(),
                        ActiveRecord {
                            since: t(0),
                            installed: r.clone(),
                            dry_run: false,
                        },
                    );
                }
                None if c.blocked.is_none() => {
                    st.active.remove(&c.key.id());
                }
                None => {}
            }
        }
    }

    fn kinds(p: &Plan) -> Vec<(String, ChangeKind)> {
        p.changes.iter().map(|c| (c.key.id(), c.kind)).collect()
    }

    #[test]
    fn levels_combine_and_lift_when_the_package_recovers() {
        let (s, m) = (settings(), machine());
        let mut st = ActionsState::default();
        assert_eq!(kinds(&run(L3, &s, &m, &st, true)), vec![]);
        let p = run(L2, &s, &m, &st, true);
        assert_eq!(kinds(&p), vec![("throttle@2".into(), ChangeKind::Apply)]);
        commit(&mut st, &p);
        // Same level again: nothing to do (no duplicate rules, no second message).
        assert_eq!(kinds(&run(L2, &s, &m, &st, true)), vec![]);
        // Level 1: the fence joins, the throttle stays.
        let p = run(L1, &s, &m, &st, true);
        assert_eq!(kinds(&p), vec![("fence@1".into(), ChangeKind::Apply)]);
        commit(&mut st, &p);
        // A new cycle: both lifted, with the removal commands of what was installed.
        let p = run(Ok, &s, &m, &st, true);
        assert_eq!(
            kinds(&p),
            vec![
                ("throttle@2".into(), ChangeKind::Lift),
                ("fence@1".into(), ChangeKind::Lift)
            ]
        );
        assert_eq!(
            p.changes[0].steps[0].argv.join(" "),
            "tc qdisc del dev eth0 root handle f7f1:"
        );
        commit(&mut st, &p);
        assert!(st.active.is_empty());
    }

    #[test]
    fn back_at_level_2_lifts_only_the_level_1_action() {
        let (s, m) = (settings(), machine());
        let mut st = ActionsState::default();
        let p = run(L1, &s, &m, &st, true);
        commit(&mut st, &p);
        assert_eq!(st.active.len(), 2);
        let p = run(L2, &s, &m, &st, true);
        assert_eq!(kinds(&p), vec![("fence@1".into(), ChangeKind::Lift)]);
    }

    #[test]
    fn after_a_restart_recorded_actions_are_restored_only_if_missing() {
        let (s, m) = (settings(), machine());
        let mut st = ActionsState::default();
        let p = run(L2, &s, &m, &st, true);
        commit(&mut st, &p);
        let p = run(L2, &s, &m, &st, false);
        assert_eq!(kinds(&p), vec![("throttle@2".into(), ChangeKind::Restore)]);
        assert_eq!(p.changes[0].probe, Some(throttle::probe("eth0")));
        // A restart with the level gone lifts, whatever the process remembers.
        let p = run(Ok, &s, &m, &st, false);
        assert_eq!(kinds(&p), vec![("throttle@2".into(), ChangeKind::Lift)]);
    }

    #[test]
    fn changed_settings_or_a_new_api_address_install_anew_and_removed_actions_are_lifted() {
        let (mut s, mut m) = (settings(), machine());
        let mut st = ActionsState::default();
        let p = run(L2, &s, &m, &st, true);
        commit(&mut st, &p);
        m.endpoints = vec![("5.6.7.8".parse().unwrap(), 443)];
        let p = run(L2, &s, &m, &st, true);
        assert_eq!(kinds(&p), vec![("throttle@2".into(), ChangeKind::Update)]);
        let Some(Installed::Throttle { endpoints, .. }) = &p.changes[0].record else {
            panic!()
        };
        assert_eq!(endpoints.len(), 2, "addresses add up");
        commit(&mut st, &p);
        assert_eq!(kinds(&run(L2, &s, &m, &st, true)), vec![]);
        s.throttle_rate = "2mbit".into();
        assert_eq!(
            kinds(&run(L2, &s, &m, &st, true)),
            vec![("throttle@2".into(), ChangeKind::Update)]
        );
        s.levels.remove(&L2);
        assert_eq!(
            kinds(&run(L2, &s, &m, &st, true)),
            vec![("throttle@2".into(), ChangeKind::Lift)]
        );
    }

    #[test]
    fn a_missing_default_route_blocks_the_throttle_with_a_reason() {
        let s = settings();
        let m = Machine {
            interface: Err(ActionError::NoDefaultRoute),
            ..machine()
        };
        let p = run(L2, &s, &m, &ActionsState::default(), true);
        assert_eq!(p.changes[0].blocked, Some(ActionError::NoDefaultRoute));
        assert!(p.changes[0].steps.is_empty());
    }

    #[test]
    fn a_hand_lift_holds_until_the_level_recovers_and_a_failure_waits_for_the_retry() {
        let (s, m) = (settings(), machine());
        let mut st = ActionsState::default();
        st.lifted_by_hand.insert("throttle@2".into());
        assert_eq!(kinds(&run(L2, &s, &m, &st, true)), vec![]);
        let p = run(L3, &s, &m, &st, true);
        assert_eq!(p.forget_hand_lifts, vec!["throttle@2".to_string()]);
        let mut st = ActionsState::default();
        st.failures.insert("throttle@2".into(), t(-600));
        assert_eq!(kinds(&run(L2, &s, &m, &st, true)), vec![]);
        st.failures.insert("throttle@2".into(), t(-7200));
        assert_eq!(
            kinds(&run(L2, &s, &m, &st, true)),
            vec![("throttle@2".into(), ChangeKind::Apply)]
        );
    }

    #[test]
    fn commands_run_on_entering_and_leaving_with_the_level_in_their_environment() {
        let s = ActionSettings {
            levels: BTreeMap::from([(L3, BTreeSet::from([Action::Command]))]),
            enter_command: vec!["/usr/local/bin/slow-down".into()],
            leave_command: vec!["/usr/local/bin/speed-up".into(), "now".into()],
            ..ActionSettings::default()
        };
        let m = machine();
        let mut st = ActionsState::default();
        let p = run(L2, &s, &m, &st, true);
        assert_eq!(
            p.changes[0].steps[0].display(),
            "FLEXUS_LEVEL=3 FLEXUS_EVENT=enter /usr/local/bin/slow-down"
        );
        commit(&mut st, &p);
        // A restart does not run the enter command again.
        assert_eq!(kinds(&run(L2, &s, &m, &st, false)), vec![]);
        let p = run(Ok, &s, &m, &st, true);
        assert_eq!(
            p.changes[0].steps[0].display(),
            "FLEXUS_LEVEL=3 FLEXUS_EVENT=leave /usr/local/bin/speed-up now"
        );
    }

    #[test]
    fn shutdown_is_left_to_the_guard() {
        let s = ActionSettings::default();
        let p = run(L1, &s, &machine(), &ActionsState::default(), false);
        assert!(p.changes.is_empty());
    }

    #[test]
    fn lift_by_hand_covers_state_and_our_names_everywhere() {
        let (s, m) = (settings(), machine());
        let mut st = ActionsState::default();
        let p = run(L1, &s, &m, &st, true);
        commit(&mut st, &p);
        let all = lift_everything(&st, &s, &m, true, true);
        let lines: Vec<String> = all
            .iter()
            .flat_map(|(_, s)| s.iter().map(Step::display))
            .collect();
        assert!(lines
            .iter()
            .any(|l| l == "tc qdisc del dev eth0 root handle f7f1:"));
        assert!(lines
            .iter()
            .any(|l| l.contains("delete table inet flexus_traffic_monitor")));
        assert!(lines.iter().any(|l| l == "iptables -w -X FLEXUS_FENCE"));
        // eth0 is in the state; it is not removed twice.
        assert_eq!(
            lines
                .iter()
                .filter(|l| l.contains("tc qdisc del dev eth0"))
                .count(),
            1
        );
    }
}
