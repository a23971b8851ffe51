//! The language check: every message, rendered in Chinese, holds no English sentence outside
//! names, ids, codes and quoted outside text; rendered in English, no Chinese. The checker itself
//! is [`super::language`] (the integration tests run it on every command's output and the
//! installer's too).
//!
//! [`samples`] renders every variant of [`Message`] (and of the kinds inside it) with realistic
//! values; [`variant`] is an exhaustive match, so a new message kind fails the build until it has
//! a number, and the test fails until it has a sample.

use super::*;

pub(crate) use super::language::{english_runs, has_cjk, without_spans};

#[test]
fn the_checker_finds_english_sentences_and_allows_names_ids_and_codes() {
    assert_eq!(
        english_runs("演练完成，未关机：would run command <code>x</code>"),
        ["would run command"]
    );
    assert_eq!(
        english_runs("网络错误：network error talking to Huawei Cloud: dns error"),
        ["network error talking to", "dns error"]
    );
    for ok in [
        "华为云拒绝请求（HTTP 403，CBC.0151）[请求 ID rid-1]",
        "<b>web-1</b> 已关机（Flexus L 实例 i-0abc，任务 job-7）",
        "请设置 HUAWEICLOUD_SDK_AK 和 HUAWEICLOUD_SDK_SK",
        "任务失败：「Ecs.0503: The server is locked」",
        "剩余 12.50 GB，1 级阈值 20 GB，300 s，<code>sudo -n shutdown -h now</code>",
        "Huawei Cloud 没有应答，服务器 Flexus 正常",
    ] {
        assert!(english_runs(ok).is_empty(), "{ok}: {:?}", english_runs(ok));
    }
    assert!(has_cjk("服务器") && has_cjk("a，b") && !has_cjk("Server: web-1 (id) — ok…"));
}

/// The number of each [`Message`] variant: exhaustive, so a new kind fails the build here.
fn variant(m: &Message) -> usize {
    match m {
        Message::Alert { .. } => 0,
        Message::Recovery { .. } => 1,
        Message::Report { .. } => 2,
        Message::ShutdownCountdown { .. } => 3,
        Message::ShutdownWarning { .. } => 4,
        Message::ShutdownCancelled { .. } => 5,
        Message::ShuttingDown { .. } => 6,
        Message::ShutdownDone { .. } => 7,
        Message::ShutdownFailed { .. } => 8,
        Message::ShutdownResumed { .. } => 20,
        Message::MonitoringFailing { .. } => 9,
        Message::MonitoringRecovered { .. } => 10,
        Message::ExternalAlert { .. } => 11,
        Message::StateReset { .. } => 12,
        Message::InstanceStarted { .. } => 13,
        Message::InstanceStartFailed { .. } => 14,
        Message::Test { .. } => 15,
        Message::MoreAlerts { .. } => 16,
        Message::ActionApplied { .. } => 17,
        Message::ActionLifted { .. } => 18,
        Message::ActionFailed { .. } => 19,
        Message::CycleReport { .. } => 21,
        Message::ReadingNotUsed { .. } => 22,
        Message::ReadingUsable { .. } => 23,
        Message::ActionsLiftedByHand { .. } => 24,
        Message::EgressCounterLost { .. } => 25,
    }
}
const VARIANTS: usize = 26;

/// Reports of every kind, forecast and thing in force, with figures known, stale and unknown.
fn cycle_reports(lang: Lang) -> Vec<CycleReport> {
    let zh = lang == Lang::Zh;
    let f = |stale_secs| ReportFigures {
        total_gb: 200.0,
        used_gb: 150.5,
        remaining_gb: 49.5,
        read_at: t() - chrono::Duration::hours(30),
        stale_secs,
        cycle_start: DateTime::from_timestamp(1_736_265_600, 0),
        cycle_end: Some(t() + chrono::Duration::hours(23)),
    };
    let base = CycleReport {
        kind: ReportKind::BeforeReset,
        server: "web-1".into(),
        free_resource_id: "fr-0a1b2c".into(),
        package_name: if zh {
            "Flexus L 流量包"
        } else {
            "Flexus L data package"
        }
        .into(),
        at: t(),
        figures: Some(f(None)),
        live_remaining_gb: Some(47.25),
        forecast: ReportForecast::AtReset {
            remaining_gb: 40.0,
            gb_per_day: 9.5,
        },
        busiest_day: Some((t().date_naive(), 12.25)),
        in_force: vec![
            InForce::Action {
                action: crate::actions::Action::Throttle,
                level: Level::L2,
                since: t(),
                dry_run: false,
            },
            InForce::Action {
                action: crate::actions::Action::Fence,
                level: Level::L1,
                since: t(),
                dry_run: true,
            },
            InForce::ShutDown {
                at: t(),
                auto_start: true,
            },
            InForce::ShutDown {
                at: t(),
                auto_start: false,
            },
        ],
        previous: None,
    };
    let mut out = Vec::new();
    for kind in [
        ReportKind::BeforeReset,
        ReportKind::AfterReset,
        ReportKind::Daily,
        ReportKind::OnRequest,
    ] {
        out.push(CycleReport {
            kind,
            previous: (kind == ReportKind::AfterReset).then(|| f(None)),
            ..base.clone()
        });
    }
    out.push(CycleReport {
        figures: Some(f(Some(30 * 3600))),
        live_remaining_gb: None,
        forecast: ReportForecast::RunsOut {
            at: t(),
            gb_per_day: 60.0,
        },
        in_force: Vec::new(),
        ..base.clone()
    });
    out.push(CycleReport {
        figures: None,
        live_remaining_gb: None,
        forecast: ReportForecast::Unknown,
        busiest_day: None,
        ..base
    });
    out
}

/// Outside text (package names, alert summaries) comes in the account's or the operator's
/// language: Chinese with the Chinese rendering, English with the English one.
fn facts(lang: Lang, note: Option<&str>) -> Facts {
    let zh = lang == Lang::Zh;
    Facts {
        server: "web-1".into(),
        free_resource_id: "fr-0a1b2c".into(),
        package_name: if zh {
            "Flexus L 流量包"
        } else {
            "Flexus L data package"
        }
        .into(),
        usage_type: if zh { "上行流量" } else { "Uplink traffic" }.into(),
        total_gb: Some(1200.0),
        used_gb: Some(1187.5),
        remaining_gb: Some(12.5),
        estimate_gb: None,
        cycle_start: DateTime::from_timestamp(1_736_265_600, 0),
        cycle_end: DateTime::from_timestamp(1_738_944_000, 0),
        note: note.map(String::from),
    }
}

fn s(x: &str) -> String {
    x.to_string()
}

fn t() -> DateTime<Utc> {
    DateTime::from_timestamp(1_738_944_000, 0).expect("a time")
}

/// Every error kind of Huawei Cloud calls.
fn huawei_errors() -> Vec<crate::huawei::HuaweiError> {
    use crate::huawei::{HuaweiError as H, Site};
    let rid = Some(s("0c8e4a1f-rid"));
    let all = vec![
        H::Transport(s(
            "error sending request: dns error: failed to lookup address",
        )),
        H::Timeout(std::time::Duration::from_secs(10)),
        H::Throttled {
            code: s("APIGW.0308"),
            request_id: rid.clone(),
        },
        H::BadCredentials {
            code: s("APIGW.0301"),
            msg: s("Incorrect IAM authentication information"),
            request_id: rid.clone(),
        },
        H::ClockSkew {
            code: s("APIGW.0301"),
            request_id: None,
        },
        H::PermissionDenied {
            code: s("CBC.0151"),
            msg: s("Access denied."),
            request_id: rid.clone(),
        },
        H::WrongSite {
            code: s("CBC.0150"),
            site: Site::Cn,
            request_id: rid.clone(),
        },
        H::WrongSite {
            code: s("CBC.0156"),
            site: Site::Intl,
            request_id: None,
        },
        H::WrongSite {
            code: s("CBC.0156"),
            site: Site::Eu,
            request_id: None,
        },
        H::Server {
            status: 503,
            code: s("HTTP 503"),
            msg: s("Service Unavailable"),
            request_id: None,
        },
        H::Api {
            status: 404,
            code: s("Ecs.0114"),
            msg: s("Instance not found"),
            request_id: rid.clone(),
        },
        H::BadResponse {
            reason: s("invalid JSON: expected value at line 1 column 1"),
            request_id: rid,
        },
    ];
    // Exhaustive: a new kind fails the build here until it has a sample above.
    for e in &all {
        match e {
            H::Transport(_)
            | H::Timeout(_)
            | H::Throttled { .. }
            | H::BadCredentials { .. }
            | H::ClockSkew { .. }
            | H::PermissionDenied { .. }
            | H::WrongSite { .. }
            | H::Server { .. }
            | H::Api { .. }
            | H::BadResponse { .. } => {}
        }
    }
    all
}

fn reading_errors() -> Vec<crate::huawei::wire::ReadingError> {
    use crate::huawei::wire::ReadingError as R;
    vec![
        R::MissingFromAnswer,
        R::MissingField("amount"),
        R::BadAmount {
            field: "amount",
            value: s("-3"),
        },
        R::UnknownUnit(s("12")),
        R::BadTime {
            field: "end_time",
            value: s("next month"),
        },
        R::Implausible {
            field: "amount",
            gb: 1e308,
        },
        R::ConflictingDuplicates(2),
    ]
    .into_iter()
    .chain(doubts().into_iter().map(R::Doubtful))
    .chain(huawei_errors().into_iter().map(|e| R::AccountFailed {
        account: s("intl"),
        error: Box::new(e),
    }))
    .collect()
}

/// Every kind of doubt the plausibility judge has.
fn doubts() -> Vec<crate::plausibility::Doubt> {
    use crate::plausibility::Doubt as D;
    let (a, b) = (t() - chrono::Duration::days(30), t());
    let all = vec![
        D::ZeroTotal,
        D::RemainingAboveTotal {
            remaining_gb: 150.0,
            total_gb: 100.0,
        },
        D::EndBeforeStart { start: b, end: a },
        D::CycleTooShort { start: a, end: a },
        D::CycleTooLong {
            start: a,
            end: b + chrono::Duration::days(400),
        },
        D::CycleOver { end: a },
        D::CycleNotBegun { start: b },
        D::CycleBackwards {
            end: a,
            accepted_end: b,
        },
        D::StartMovedEndDidNot {
            start: a,
            accepted_start: a - chrono::Duration::days(30),
            end: b,
        },
        D::NewCycleDoesNotFollow {
            start: Some(a),
            end: b,
            accepted_end: a,
        },
        D::NewCycleDoesNotFollow {
            start: None,
            end: b,
            accepted_end: a,
        },
        D::FastDrop {
            from_gb: 1000.0,
            to_gb: 100.0,
            minutes: 10,
            max_gb: 272.4,
        },
        D::NearEndAgainstTrend {
            from_gb: 300.0,
            to_gb: 100.0,
            end: b,
        },
    ];
    // Exhaustive: a new kind fails the build here until it has a sample above.
    for d in &all {
        match d {
            D::ZeroTotal
            | D::RemainingAboveTotal { .. }
            | D::EndBeforeStart { .. }
            | D::CycleTooShort { .. }
            | D::CycleTooLong { .. }
            | D::CycleOver { .. }
            | D::CycleNotBegun { .. }
            | D::CycleBackwards { .. }
            | D::StartMovedEndDidNot { .. }
            | D::NewCycleDoesNotFollow { .. }
            | D::FastDrop { .. }
            | D::NearEndAgainstTrend { .. } => {}
        }
    }
    all
}

fn ecs_failures() -> Vec<EcsFailure> {
    let mut out = vec![
        EcsFailure::JobFailed {
            job: s("ff80808-job7"),
            reason: Some(s("Ecs.0503: The server is locked by another operation")),
        },
        EcsFailure::JobFailed {
            job: s("ff80808-job7"),
            reason: None,
        },
        EcsFailure::Unfinished {
            job: s("ff80808-job7"),
            waited: std::time::Duration::from_secs(300),
            last: Ok(s("RUNNING")),
        },
        EcsFailure::Unfinished {
            job: s("ff80808-job7"),
            waited: std::time::Duration::from_secs(90),
            last: Err(crate::huawei::HuaweiError::Timeout(
                std::time::Duration::from_secs(10),
            )),
        },
    ];
    for e in huawei_errors() {
        out.push(EcsFailure::Request(e.clone()));
        out.push(EcsFailure::Unfollowable {
            job: s("ff80808-job7"),
            error: e,
        });
    }
    out
}

fn shutdown_errors() -> Vec<ShutdownError> {
    use crate::huawei::ecs::EcsOp;
    use ShutdownError as E;
    let mut out = vec![
        E::NoTarget,
        E::CommandEmpty,
        E::CommandMissing {
            program: s("/usr/sbin/shutdown"),
        },
        E::CommandNotExecutable {
            program: s("/usr/local/bin/stop-me"),
        },
        E::CommandNotStarted {
            program: s("shutdown"),
            error: s("Text file busy (os error 26)"),
        },
        E::CommandTimedOut {
            after: std::time::Duration::from_secs(30),
        },
        E::CommandWaitFailed {
            error: s("No child processes (os error 10)"),
        },
        E::CommandFailed {
            status: Some(1),
            stderr: s("sudo: a password is required"),
            wants_password: true,
        },
        E::CommandFailed {
            status: None,
            stderr: s(""),
            wants_password: false,
        },
    ];
    for (i, failure) in ecs_failures().into_iter().enumerate() {
        let op = [EcsOp::StopSoft, EcsOp::StopHard][i % 2];
        let after_soft = (op == EcsOp::StopHard).then(|| EcsFailure::JobFailed {
            job: s("job-6"),
            reason: Some(s("Ecs.0021: busy")),
        });
        out.push(E::Ecs {
            op,
            name: s("web-1"),
            id: s("3f2a-i-0abc"),
            failure: Box::new(failure),
            after_soft: after_soft.map(Box::new),
        });
    }
    out
}

fn action_errors() -> Vec<ActionError> {
    use ActionError as A;
    let line = s("tc qdisc add dev eth0 root handle f7f1: htb default 20");
    vec![
        A::NoDefaultRoute,
        A::NoFirewall,
        A::GuardOwnsShutdown,
        A::Empty,
        A::Missing { program: s("nft") },
        A::NotStarted {
            line: line.clone(),
            error: s("Permission denied (os error 13)"),
        },
        A::InputFailed {
            line: line.clone(),
            error: s("Broken pipe (os error 32)"),
        },
        A::TimedOut {
            line: line.clone(),
            after: std::time::Duration::from_secs(10),
        },
        A::WaitFailed {
            line: line.clone(),
            error: s("No child processes (os error 10)"),
        },
        A::Failed {
            line: line.clone(),
            said: s("RTNETLINK answers: Operation not permitted"),
        },
        A::Failed { line, said: s("") },
    ]
}

fn samples(lang: Lang) -> Vec<Message> {
    let zh = lang == Lang::Zh;
    let server = || s("web-1");
    let mut out = vec![];
    for level in [Level::L3, Level::L2, Level::L1] {
        for no_shutdown in [
            None,
            Some(crate::actions::NoShutdown::ModeOff),
            Some(crate::actions::NoShutdown::NotInLevel1Actions),
        ] {
            for actions in [vec![], vec![Action::Throttle, Action::Fence]] {
                out.push(Message::Alert {
                    level,
                    facts: facts(lang, None),
                    no_shutdown,
                    actions,
                });
            }
        }
    }
    for (from, to) in [(Level::L2, Level::Ok), (Level::L1, Level::L3)] {
        let note = if zh {
            "剩余流量低于 100 GB"
        } else {
            "Remaining traffic is below 100 GB"
        };
        out.push(Message::Recovery {
            from,
            to,
            facts: facts(lang, Some(note)),
        });
    }
    out.push(Message::Report {
        facts: facts(lang, None),
    });
    // With the live estimate next to the bill.
    out.push(Message::Alert {
        level: Level::L1,
        facts: Facts {
            estimate_gb: Some(3.25),
            ..facts(lang, None)
        },
        no_shutdown: None,
        actions: vec![],
    });
    for report in cycle_reports(lang) {
        out.push(Message::CycleReport { report });
    }
    let hows = [
        How::Command(s("sudo -n /usr/sbin/shutdown -h now")),
        How::EcsStop { hard: false },
        How::EcsStop { hard: true },
    ];
    for dry_run in [true, false] {
        out.push(Message::ShutdownCountdown {
            facts: facts(lang, None),
            seconds: 300,
            dry_run,
        });
        for executor in hows.clone() {
            out.push(Message::ShuttingDown {
                server: server(),
                dry_run,
                executor,
            });
        }
    }
    out.push(Message::ShutdownWarning {
        server: server(),
        seconds_left: 120,
    });
    let mut reasons = vec![
        CancelReason::ReadingRecovered { remaining_gb: 30.0 },
        CancelReason::AlertResolved,
        CancelReason::FreshReadingAboveT1 {
            remaining_gb: 30.0,
            t1_gb: 20.0,
        },
        CancelReason::NotPolled,
        CancelReason::Stopping,
        CancelReason::ByCommand { until: t() },
    ];
    reasons.extend(
        huawei_errors()
            .into_iter()
            .map(|error| CancelReason::FreshPollFailed { error }),
    );
    reasons.extend(
        reading_errors()
            .into_iter()
            .map(|error| CancelReason::FreshReadingUnusable { error }),
    );
    for reason in reasons {
        out.push(Message::ShutdownCancelled {
            server: server(),
            free_resource_id: s("fr-0a1b2c"),
            reason,
        });
    }
    let mut outcomes: Vec<(bool, Stopped)> = hows
        .iter()
        .flat_map(|how| {
            [
                (
                    true,
                    Stopped::WouldRun {
                        how: how.clone(),
                        target: None,
                    },
                ),
                (
                    true,
                    Stopped::WouldRun {
                        how: how.clone(),
                        target: Some((server(), s("3f2a-i-0abc"))),
                    },
                ),
            ]
        })
        .collect();
    outcomes.push((false, Stopped::Command { said: s("") }));
    outcomes.push((
        false,
        Stopped::Command {
            said: s("Shutdown scheduled for Mon 2026-11-30 03:00:00 UTC"),
        },
    ));
    for hard in [false, true] {
        outcomes.push((
            false,
            Stopped::Ecs {
                hard,
                name: server(),
                id: s("3f2a-i-0abc"),
                job: s("job-7"),
                after_soft: None,
            },
        ));
    }
    for soft in ecs_failures() {
        outcomes.push((
            false,
            Stopped::Ecs {
                hard: true,
                name: server(),
                id: s("3f2a-i-0abc"),
                job: s("job-8"),
                after_soft: Some(soft),
            },
        ));
    }
    for (dry_run, outcome) in outcomes {
        out.push(Message::ShutdownDone {
            server: server(),
            dry_run,
            outcome,
        });
    }
    for error in shutdown_errors() {
        out.push(Message::ShutdownFailed {
            server: server(),
            error,
        });
    }
    for why in [
        crate::policy::HoldEnd::Expired,
        crate::policy::HoldEnd::LevelChanged,
        crate::policy::HoldEnd::Resumed,
    ] {
        out.push(Message::ShutdownResumed {
            server: server(),
            free_resource_id: s("fr-0a1b2c"),
            why,
        });
    }
    let mut problems: Vec<PollProblem> =
        huawei_errors().into_iter().map(PollProblem::Call).collect();
    problems.extend(
        reading_errors()
            .into_iter()
            .map(|error| PollProblem::Package {
                id: s("fr-0a1b2c"),
                error,
            }),
    );
    problems.push(PollProblem::Unknown);
    for error in problems {
        for configuration in [false, true] {
            for account in [None, Some(s("intl"))] {
                out.push(Message::MonitoringFailing {
                    server: server(),
                    failures: 3,
                    error: error.clone(),
                    configuration,
                    account,
                });
            }
        }
    }
    out.push(Message::MonitoringRecovered { server: server() });
    out.push(Message::EgressCounterLost {
        server: server(),
        error: s("cannot read the counters of interface eth0: entity not found"),
    });
    for (i, error) in reading_errors().into_iter().enumerate() {
        out.push(Message::ReadingNotUsed {
            server: server(),
            free_resource_id: s("fr-0a1b2c"),
            error,
            last_good_gb: (i % 2 == 0).then_some(412.5),
        });
    }
    out.push(Message::ReadingUsable {
        server: server(),
        free_resource_id: s("fr-0a1b2c"),
        remaining_gb: 412.5,
    });
    for firing in [true, false] {
        out.push(Message::ExternalAlert {
            server: server(),
            alertname: s("FlexusTrafficStale"),
            firing,
            summary: s(if zh {
                "没有新的读数"
            } else {
                "No fresh reading"
            }),
        });
    }
    // An operator's own rule may be written in the other language: it is quoted.
    for summary in [
        "No fresh reading from web-1 for an hour",
        "web-1 一小时没有新的读数",
    ] {
        out.push(Message::ExternalAlert {
            server: server(),
            alertname: s("MyRule"),
            firing: true,
            summary: s(summary),
        });
    }
    let mut f = facts(
        lang,
        Some("Free traffic 4.20 GB left on web-1, below level 1: shutdown"),
    );
    f.total_gb = None;
    out.push(Message::Alert {
        level: Level::L1,
        facts: f,
        no_shutdown: None,
        actions: vec![],
    });
    out.push(Message::StateReset {
        server: server(),
        moved_to: s("/var/lib/flexus-traffic-monitor/state.json.corrupt-1"),
    });
    out.push(Message::InstanceStarted {
        server: server(),
        id: s("3f2a-i-0abc"),
        job: s("job-9"),
    });
    for failure in ecs_failures() {
        out.push(Message::InstanceStartFailed {
            server: server(),
            id: s("3f2a-i-0abc"),
            failure,
        });
    }
    out.push(Message::Test { server: server() });
    out.push(Message::MoreAlerts {
        server: server(),
        count: 12,
        names: vec![s("FlexusTrafficStale"), s("FlexusForecast")],
    });
    let installed = [
        Installed::Throttle {
            interface: s("eth0"),
            rate: s("1mbit"),
            ports: vec![22, 9184],
            endpoints: vec![],
            queue: None,
        },
        Installed::Throttle {
            interface: s("eth0"),
            rate: s("1mbit"),
            ports: vec![22, 9184],
            endpoints: vec![],
            queue: Some(s("pfifo")),
        },
        Installed::Fence {
            backend: crate::actions::FenceBackend::Nft,
            ports: vec![22],
            udp_ports: vec![],
            ipv6: false,
        },
        Installed::Fence {
            backend: crate::actions::FenceBackend::Iptables,
            ports: vec![22],
            udp_ports: vec![51820],
            ipv6: true,
        },
        Installed::Command {
            leave: vec![s("/usr/local/bin/leave")],
        },
    ];
    for installed in installed {
        for dry_run in [true, false] {
            for undo in [vec![], vec![s("tc qdisc del dev eth0 root handle f7f1:")]] {
                out.push(Message::ActionApplied {
                    server: server(),
                    level: Level::L2,
                    installed: installed.clone(),
                    undo,
                    would_run: vec![s("tc qdisc add dev eth0 root handle f7f1: htb default 20")],
                    dry_run,
                });
            }
        }
    }
    for action in [
        Action::Shutdown,
        Action::Throttle,
        Action::Fence,
        Action::Command,
    ] {
        for dry_run in [true, false] {
            out.push(Message::ActionLifted {
                server: server(),
                level: Level::L3,
                action,
                dry_run,
            });
        }
        for error in action_errors() {
            out.push(Message::ActionFailed {
                server: server(),
                level: Level::L2,
                action,
                error,
            });
        }
    }
    for dry_run in [false, true] {
        for lifted in [
            vec![],
            vec![
                crate::actions::Key {
                    action: Action::Fence,
                    level: Level::L1,
                },
                crate::actions::Key {
                    action: Action::Throttle,
                    level: Level::L2,
                },
            ],
        ] {
            out.push(Message::ActionsLiftedByHand {
                server: server(),
                lifted,
                dry_run,
            });
        }
    }
    out
}

/// The number of each [`BotReply`] variant: exhaustive, like [`variant`].
fn reply_variant(r: &BotReply) -> usize {
    match r {
        BotReply::Help => 0,
        BotReply::Unknown => 1,
        BotReply::Status { .. } => 2,
        BotReply::CancelAsk { .. } => 3,
        BotReply::CancelButton => 4,
        BotReply::NothingRunning { .. } => 5,
        BotReply::ButtonExpired => 6,
        BotReply::CancelConfirmed => 7,
        BotReply::Resumed { .. } => 8,
        BotReply::NothingToResume => 9,
        BotReply::StartUnsupported => 10,
        BotReply::NothingStopped => 11,
        BotReply::Starting { .. } => 12,
        BotReply::Muted { .. } => 13,
        BotReply::Unmuted => 14,
        BotReply::MuteUsage => 15,
        BotReply::TooLate { .. } => 16,
        BotReply::Report { .. } => 17,
        BotReply::NotAllowed => 18,
    }
}
const REPLY_VARIANTS: usize = 19;

fn replies(lang: Lang) -> Vec<BotReply> {
    use crate::forecast::Forecast;
    let zh = lang == Lang::Zh;
    let forecasts = [
        Forecast::NoData,
        Forecast::AlreadyBelow,
        Forecast::NotFalling { gb_per_day: 0.0 },
        Forecast::Reaches {
            gb_per_day: 12.5,
            at: t(),
            before_reset: Some(true),
            at_reset_gb: Some(-3.0),
        },
        Forecast::Reaches {
            gb_per_day: 12.5,
            at: t(),
            before_reset: Some(false),
            at_reset_gb: Some(30.0),
        },
        Forecast::Reaches {
            gb_per_day: 12.5,
            at: t(),
            before_reset: None,
            at_reset_gb: None,
        },
    ];
    let packages: Vec<PackageStatus> = forecasts
        .into_iter()
        .enumerate()
        .map(|(i, forecast)| PackageStatus {
            server: s("web-1"),
            account: (i == 1).then(|| s("intl")),
            free_resource_id: s("fr-0a1b2c"),
            package_name: if i == 0 {
                s("")
            } else if zh {
                s("Flexus L 流量包")
            } else {
                s("Flexus L data package")
            },
            remaining_gb: Some(12.5),
            total_gb: Some(1200.0),
            estimate_gb: (i % 2 == 1).then_some(3.25),
            level: [None, Some(Level::L1), Some(Level::Ok)][i % 3],
            cycle_end: Some(t()),
            forecast,
            countdown_until: (i % 2 == 0).then(t),
            cancelled_until: (i % 2 == 1).then(t),
        })
        .collect();
    let names = vec![s("web-1"), s("hk-2")];
    vec![
        BotReply::Help,
        BotReply::Unknown,
        BotReply::Status {
            server: s("web-1"),
            packages,
            muted_until: Some(t()),
        },
        BotReply::Status {
            server: s("web-1"),
            packages: vec![],
            muted_until: None,
        },
        BotReply::CancelAsk {
            servers: names.clone(),
            until: t(),
        },
        BotReply::CancelButton,
        BotReply::NothingRunning {
            shutdown_enabled: true,
        },
        BotReply::NothingRunning {
            shutdown_enabled: false,
        },
        BotReply::ButtonExpired,
        BotReply::CancelConfirmed,
        BotReply::TooLate {
            servers: vec![s("web-1")],
        },
        BotReply::Resumed { count: 2 },
        BotReply::NothingToResume,
        BotReply::StartUnsupported,
        BotReply::NothingStopped,
        BotReply::Starting {
            started: names.clone(),
            not_due: names,
        },
        BotReply::Muted { until: t() },
        BotReply::Unmuted,
        BotReply::MuteUsage,
        BotReply::NotAllowed,
        BotReply::Report {
            reports: cycle_reports(lang),
        },
        BotReply::Report {
            reports: Vec::new(),
        },
    ]
}

#[test]
fn every_bot_reply_is_written_in_one_language() {
    let th = crate::level::Thresholds::default();
    let all = replies(Lang::Zh);
    let covered: std::collections::BTreeSet<usize> = all.iter().map(reply_variant).collect();
    let missing: Vec<usize> = (0..REPLY_VARIANTS)
        .filter(|i| !covered.contains(i))
        .collect();
    assert!(
        missing.is_empty(),
        "bot replies without a sample: {missing:?}"
    );
    let mut failures = Vec::new();
    for r in &all {
        let zh = render_reply(r, Lang::Zh, &th);
        let runs = english_runs(&zh);
        if !runs.is_empty() {
            failures.push(format!("zh {runs:?} in:\n{zh}"));
        }
    }
    for r in &replies(Lang::En) {
        let en = render_reply(r, Lang::En, &th);
        if has_cjk(&without_spans(&to_plain(&en), "\"", "\"")) {
            failures.push(format!("en has Chinese:\n{en}"));
        }
    }
    assert!(
        failures.is_empty(),
        "{} bot replies mix languages:\n\n{}",
        failures.len(),
        failures.join("\n\n")
    );
}

#[test]
fn every_message_kind_is_written_in_one_language() {
    let th = crate::level::Thresholds::default();
    let all = samples(Lang::Zh);
    let covered: std::collections::BTreeSet<usize> = all.iter().map(variant).collect();
    let missing: Vec<usize> = (0..VARIANTS).filter(|i| !covered.contains(i)).collect();
    assert!(
        missing.is_empty(),
        "message kinds without a sample: {missing:?}"
    );
    let mut failures = Vec::new();
    // Level 1 is named by what it does: shutting down, the fence, or alerts only.
    let level1s: [&[crate::actions::Action]; 3] = [
        &[crate::actions::Action::Shutdown],
        &[
            crate::actions::Action::Fence,
            crate::actions::Action::Throttle,
        ],
        &[],
    ];
    for level1 in level1s {
        for m in &all {
            let zh = render_for(m, Lang::Zh, &th, level1);
            let runs = english_runs(&zh);
            if !runs.is_empty() {
                failures.push(format!("zh {runs:?} in:\n{zh}"));
            }
        }
        for m in &samples(Lang::En) {
            let en = render_for(m, Lang::En, &th, level1);
            if has_cjk(&without_spans(&to_plain(&en), "\"", "\"")) {
                failures.push(format!("en has Chinese:\n{en}"));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} renderings mix languages:\n\n{}",
        failures.len(),
        6 * all.len(),
        failures.join("\n\n")
    );
}
