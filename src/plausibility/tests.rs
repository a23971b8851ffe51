use super::*;

const H: i64 = 3600;
const D: i64 = 24 * H;

fn now() -> DateTime<Utc> {
    DateTime::from_timestamp(1_800_000_000, 0).expect("a time")
}

fn at(secs: i64) -> DateTime<Utc> {
    now() + chrono::Duration::seconds(secs)
}

fn settings() -> Settings {
    Settings {
        max_egress_bits_per_s: parse_rate("300mbit").expect("a rate"),
    }
}

/// A reading of a cycle from 20 days ago to 10 days ahead, read now.
fn reading(remaining: f64, total: f64) -> Reading {
    Reading {
        free_resource_id: "pkg".into(),
        package_name: String::new(),
        usage_type: String::new(),
        remaining_gb: remaining,
        total_gb: total,
        cycle_start: Some(at(-20 * D)),
        cycle_end: Some(at(10 * D)),
        read_at: now(),
    }
}

fn cycle(mut r: Reading, start: i64, end: i64) -> Reading {
    r.cycle_start = Some(at(start));
    r.cycle_end = Some(at(end));
    r
}

/// The accepted reading: 500 of 1000 GB, ten minutes ago.
fn accepted() -> Memory {
    let mut a = reading(500.0, 1000.0);
    a.read_at = at(-600);
    Memory {
        accepted: Some(a),
        held: None,
    }
}

fn kind(v: &Verdict) -> String {
    match v {
        Verdict::Accept => "accept".into(),
        Verdict::Hold(d) => format!("hold {}", d.kind()),
        Verdict::Refuse(d) => format!("refuse {}", d.kind()),
    }
}

#[test]
fn a_table_of_readings_gets_the_expected_verdicts() {
    let none = Memory::default();
    let acc = accepted();
    let mut near_end = accepted();
    if let Some(a) = near_end.accepted.as_mut() {
        *a = cycle(a.clone(), -30 * D + 240, 240);
        a.read_at = at(-600);
        a.remaining_gb = 800.0;
    }
    let mut no_start = reading(100.0, 1000.0);
    no_start.cycle_start = None;
    let mut acc_1000 = accepted();
    if let Some(a) = acc_1000.accepted.as_mut() {
        a.remaining_gb = 1000.0;
    }
    let (none, acc, near_end, acc_1000) = (&none, &acc, &near_end, &acc_1000);
    let cases: Vec<(&str, Reading, &Memory, &str)> = vec![
        (
            "a plausible first reading",
            reading(400.0, 1000.0),
            none,
            "accept",
        ),
        (
            "a plausible next reading",
            reading(480.0, 1000.0),
            acc,
            "accept",
        ),
        (
            "a rise in the same cycle (traffic bought)",
            reading(900.0, 1000.0),
            acc,
            "accept",
        ),
        (
            "the whole quota used at once is still within the rate over a month",
            reading(0.0, 1000.0),
            none,
            "accept",
        ),
        ("a total of 0", reading(0.0, 0.0), none, "refuse zero_total"),
        (
            "a total of 0 with something remaining",
            reading(5.0, 0.0),
            acc,
            "refuse zero_total",
        ),
        (
            "remaining above the total",
            reading(150.0, 100.0),
            none,
            "refuse remaining_above_total",
        ),
        (
            "remaining a hair above the total (MB rounding)",
            reading(100.005, 100.0),
            none,
            "accept",
        ),
        (
            "the end before the start",
            cycle(reading(50.0, 100.0), D, -D),
            none,
            "refuse end_before_start",
        ),
        (
            "a zero-length cycle",
            cycle(reading(50.0, 100.0), D, D),
            none,
            "refuse cycle_too_short",
        ),
        (
            "a cycle of half an hour",
            cycle(reading(50.0, 100.0), -600, 1200),
            none,
            "refuse cycle_too_short",
        ),
        (
            "a cycle longer than a year",
            cycle(reading(50.0, 100.0), -D, 400 * D),
            none,
            "refuse cycle_too_long",
        ),
        (
            "a yearly cycle",
            cycle(reading(50.0, 100.0), -D, 364 * D),
            none,
            "accept",
        ),
        (
            "a cycle three months over",
            cycle(reading(50.0, 100.0), -120 * D, -90 * D),
            none,
            "refuse cycle_over",
        ),
        (
            "a cycle over a minute ago",
            cycle(reading(50.0, 100.0), -30 * D, -60),
            none,
            "refuse cycle_over",
        ),
        (
            "a cycle 20 days ahead",
            cycle(reading(50.0, 100.0), 20 * D, 50 * D),
            none,
            "refuse cycle_not_begun",
        ),
        (
            "a cycle starting in two hours",
            cycle(reading(100.0, 100.0), 2 * H, 30 * D),
            none,
            "refuse cycle_not_begun",
        ),
        (
            "a cycle starting in five minutes (clock skew)",
            cycle(reading(100.0, 100.0), 300, 30 * D),
            none,
            "accept",
        ),
        (
            "a new cycle whose end did not move",
            cycle(reading(100.0, 1000.0), -60, 10 * D),
            acc,
            "refuse start_moved_end_did_not",
        ),
        (
            "a start moved back, the end not",
            cycle(reading(100.0, 1000.0), -50 * D, 10 * D),
            acc,
            "refuse start_moved_end_did_not",
        ),
        (
            "a cycle moving backwards",
            cycle(reading(100.0, 1000.0), -25 * D, 5 * D),
            acc,
            "refuse cycle_backwards",
        ),
        (
            "a new cycle long before the current one ends",
            cycle(reading(100.0, 1000.0), -60, 30 * D),
            acc,
            "refuse new_cycle_does_not_follow",
        ),
        (
            "an end a second later is the same cycle",
            cycle(reading(490.0, 1000.0), -20 * D, 10 * D + 1),
            acc,
            "accept",
        ),
        (
            "1,000 to 100 GB between two polls",
            reading(100.0, 1000.0),
            acc_1000,
            "hold fast_drop",
        ),
        (
            "a drop the instance can send with the bill's settlement",
            reading(300.0, 1000.0),
            acc,
            "accept",
        ),
        (
            "a first reading an hour into a cycle already nearly used up",
            cycle(reading(100.0, 1000.0), -H, 30 * D),
            none,
            "hold fast_drop",
        ),
        (
            "a cycle without a start is not checked against it",
            no_start,
            none,
            "accept",
        ),
        (
            "near the end, a drop the trend does not explain",
            cycle(reading(600.0, 1000.0), -30 * D + 240, 240),
            near_end,
            "hold near_end_against_trend",
        ),
        (
            "near the end, a rise (the reset before the dates move)",
            cycle(reading(1000.0, 1000.0), -30 * D + 240, 240),
            near_end,
            "hold near_end_against_trend",
        ),
        (
            "near the end, a drop the trend explains",
            cycle(reading(795.0, 1000.0), -30 * D + 240, 240),
            near_end,
            "accept",
        ),
    ];
    for (name, r, memory, want) in cases {
        let got = judge(&r, memory, &settings(), now());
        assert_eq!(kind(&got), want, "{name}: {got:?}");
    }
}

#[test]
fn a_fast_drop_from_the_accepted_reading_is_held() {
    let mut m = accepted();
    if let Some(a) = m.accepted.as_mut() {
        a.remaining_gb = 1000.0;
    }
    match judge(&reading(100.0, 1000.0), &m, &settings(), now()) {
        Verdict::Hold(Doubt::FastDrop {
            from_gb,
            to_gb,
            minutes,
            max_gb,
        }) => {
            assert_eq!((from_gb, to_gb, minutes), (1000.0, 100.0, 10));
            // 300 Mbit/s for 2 h 10 min: 292.5e9 bytes.
            assert!((max_gb - 292.5e9 / BYTES_PER_GB).abs() < 1e-6, "{max_gb}");
        }
        v => panic!("{v:?}"),
    }
}

#[test]
fn a_glitch_of_one_reading_never_acts_and_a_real_drop_acts_one_reading_later() {
    let s = settings();
    let mut m = accepted();
    if let Some(a) = m.accepted.as_mut() {
        a.remaining_gb = 1000.0;
    }
    // A glitch: held, then the next reading is back where it was.
    let glitch = reading(100.0, 1000.0);
    let v = judge(&glitch, &m, &s, now());
    assert_eq!(kind(&v), "hold fast_drop");
    remember(&mut m, &glitch, &v);
    assert_eq!(m.held.as_ref().map(|h| h.remaining_gb), Some(100.0));
    assert_eq!(m.accepted.as_ref().map(|a| a.remaining_gb), Some(1000.0));
    let mut back = reading(999.0, 1000.0);
    back.read_at = at(60);
    let v = judge(&back, &m, &s, at(60));
    assert_eq!(v, Verdict::Accept);
    remember(&mut m, &back, &v);
    assert_eq!(m.held, None);
    assert_eq!(m.accepted.as_ref().map(|a| a.remaining_gb), Some(999.0));

    // A real drop: held, then confirmed by the next reading (a little lower still).
    let drop = reading(100.0, 1000.0);
    let v = judge(&drop, &m, &s, at(60));
    assert_eq!(kind(&v), "hold fast_drop");
    remember(&mut m, &drop, &v);
    let mut confirm = reading(99.5, 1000.0);
    confirm.read_at = at(120);
    assert_eq!(judge(&confirm, &m, &s, at(120)), Verdict::Accept);
    // ... but not by a reading that jumps further down faster than the instance can send.
    let mut m2 = m.clone();
    m2.held = Some(reading(900.0, 1000.0));
    let mut lower = reading(10.0, 1000.0);
    lower.read_at = at(60);
    assert_eq!(kind(&judge(&lower, &m2, &s, at(60))), "hold fast_drop");
}

#[test]
fn a_held_reading_is_not_confirmed_by_a_refused_one_nor_by_another_cycle() {
    let s = settings();
    let mut m = accepted();
    m.held = Some(reading(100.0, 1000.0));
    assert_eq!(
        kind(&judge(&reading(100.0, 0.0), &m, &s, now())),
        "refuse zero_total"
    );
    // A reading of the next cycle (after this one ended) is judged on its own.
    let later = at(10 * D + 60);
    let mut next = cycle(reading(995.0, 1000.0), 10 * D, 40 * D);
    next.read_at = later;
    assert_eq!(judge(&next, &m, &s, later), Verdict::Accept);
}

#[test]
fn a_reset_seen_live_or_after_a_stop_is_accepted() {
    let s = settings();
    let m = accepted();
    // Live: a few minutes after the end, the next cycle starting where this one ended.
    let live = at(10 * D + 300);
    let mut next = cycle(reading(999.0, 1000.0), 10 * D, 40 * D);
    next.read_at = live;
    assert_eq!(judge(&next, &m, &s, live), Verdict::Accept);
    // The same with an end one second off (23:59:59 vs 00:00:00).
    let mut next1 = cycle(reading(999.0, 1000.0), 10 * D + 1, 40 * D + 1);
    next1.read_at = live;
    assert_eq!(judge(&next1, &m, &s, live), Verdict::Accept);
    // After a stop of ten days, already at 250 GB: accepted (that many days at 300 Mbit/s).
    let back = at(20 * D);
    let mut after = cycle(reading(250.0, 1000.0), 10 * D, 40 * D);
    after.read_at = back;
    assert_eq!(judge(&after, &m, &s, back), Verdict::Accept);
    // A month later still, two cycles on: judged on its own.
    let far = at(45 * D);
    let mut two_on = cycle(reading(700.0, 1000.0), 40 * D, 70 * D);
    two_on.read_at = far;
    assert_eq!(judge(&two_on, &m, &s, far), Verdict::Accept);
}

#[test]
fn the_old_cycle_answered_after_the_reset_is_refused_and_told_only_when_it_lasts() {
    let m = accepted();
    let after = at(10 * D + 600);
    let mut old = reading(5.0, 1000.0);
    old.read_at = after;
    match judge(&old, &m, &settings(), after) {
        Verdict::Refuse(d) => {
            assert_eq!(d.kind(), "cycle_over");
            assert!(!d.tell_now(after), "ten minutes after the reset: quiet");
            assert!(d.tell_now(at(10 * D + 3 * H)), "three hours after: told");
        }
        v => panic!("{v:?}"),
    }
}

#[test]
fn refusals_against_the_accepted_cycle_heal_once_it_is_well_over() {
    let s = settings();
    let m = accepted();
    // A "new cycle" that appeared early is refused while the accepted one is current ...
    let early = cycle(reading(900.0, 1000.0), -60, 30 * D);
    assert_eq!(
        kind(&judge(&early, &m, &s, now())),
        "refuse new_cycle_does_not_follow"
    );
    // ... and judged on its own once the accepted cycle ended more than ROLLOVER_GRACE ago.
    let later = at(10 * D + 4 * H);
    let mut same = early.clone();
    same.read_at = later;
    assert_eq!(judge(&same, &m, &s, later), Verdict::Accept);
}

#[test]
fn memory_follows_the_verdicts() {
    let mut m = Memory::default();
    let r = reading(500.0, 1000.0);
    remember(&mut m, &r, &Verdict::Refuse(Doubt::ZeroTotal));
    assert_eq!(m, Memory::default());
    remember(
        &mut m,
        &r,
        &Verdict::Hold(Doubt::FastDrop {
            from_gb: 1.0,
            to_gb: 0.0,
            minutes: 1,
            max_gb: 0.5,
        }),
    );
    assert_eq!(m.held.as_ref(), Some(&r));
    remember(&mut m, &r, &Verdict::Accept);
    assert_eq!((m.accepted.as_ref(), m.held.as_ref()), (Some(&r), None));
    let back: Memory = serde_json::from_str(&serde_json::to_string(&m).unwrap()).unwrap();
    assert_eq!(back, m);
    // Old state files have no memory at all: the default.
    let empty: Memory = serde_json::from_str("{}").unwrap();
    assert_eq!(empty, Memory::default());
}

#[test]
fn rates_take_tc_units() {
    assert_eq!(parse_rate("300mbit"), Some(300e6));
    assert_eq!(parse_rate("1gbit"), Some(1e9));
    assert_eq!(parse_rate(" 2.5Mbit "), Some(2.5e6));
    assert_eq!(parse_rate("10mbps"), Some(80e6));
    for bad in ["", "300", "fast", "0mbit", "-1mbit", "1 mbit", "infmbit"] {
        assert_eq!(parse_rate(bad), None, "{bad}");
    }
}

#[test]
fn same_cycle_tolerates_a_second_and_unknown_ends() {
    assert!(same_cycle(Some(at(0)), Some(at(1))));
    assert!(!same_cycle(Some(at(0)), Some(at(8 * H))));
    assert!(same_cycle(None, Some(at(0))));
}
