//! Reports around each reset, and the daily digest: when one is due, and what it says.
//!
//! Pure: `now` is an argument, and so is everything read (the history's cycles and points, the
//! state). The engine asks [`due`] after every poll, queues the reports in the outbox and saves
//! their keys in the state in one step (decide on a copy, queue, save), so a report is sent once:
//! after a restart, or by a second process on the same `STATE_DIR` (which waits for the state's
//! lock and then sees the key), it is not sent again. Only a crash between queueing and saving can
//! repeat one (never lose one), as for every message of the engine. A report whose time passed while the
//! program was down is sent when it comes back, as long as it still makes sense: the one before
//! a reset until the reset, the one after it for [`AFTER_RESET_WITHIN`], the digest until the
//! local day ends.
//!
//! The keys are (kind, package, cycle end) for the reports around a reset and (kind, package,
//! local date) for the digest. What a report says is [`crate::messages::CycleReport`]; this module
//! gathers it ([`build`]) and decides nothing about alerts or shutdowns.

use std::time::Duration;

use chrono::{DateTime, FixedOffset, NaiveTime, Offset, TimeZone, Utc};
use serde::Serialize;

use crate::actions::Key;
use crate::forecast::{self, Forecast};
use crate::history::{busiest_day, CycleFigures, Cycles, Point};
use crate::messages::{CycleReport, InForce, ReportFigures, ReportForecast, ReportKind};
use crate::state::{ReportMemory, State};

/// How long before the end of a cycle its report is due.
pub const BEFORE_RESET: Duration = Duration::from_secs(24 * 3600);

/// Cycles shorter than this get no reports around their resets (a package that resets daily
/// would get two reports a day; the digest suits it).
pub const MIN_REPORTED_CYCLE: Duration = Duration::from_secs(2 * 24 * 3600);

/// Whether a cycle is long enough for reports around its reset (unknown length: yes).
fn long_enough(f: &CycleFigures) -> bool {
    match (f.cycle_start, f.cycle_end) {
        (Some(s), Some(e)) => e.signed_duration_since(s) >= chrono_dur(MIN_REPORTED_CYCLE),
        _ => true,
    }
}

/// How long after a reset its report is still sent (a program that was down longer skips it).
pub const AFTER_RESET_WITHIN: Duration = Duration::from_secs(7 * 24 * 3600);

/// How long the keys of sent reports are kept.
pub const KEEP_SENT: Duration = Duration::from_secs(90 * 24 * 3600);

/// The time zone of the digest's time and of the days in a report.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Zone {
    /// The system's zone (`TZ`, `/etc/localtime`).
    Local,
    /// A fixed offset from UTC (`UTC`, `+08:00`).
    Fixed(FixedOffset),
}

impl Zone {
    /// The offset from UTC at `now` (the system's zone is read here).
    pub fn offset_at(self, now: DateTime<Utc>) -> FixedOffset {
        match self {
            Self::Local => chrono::Local
                .offset_from_utc_datetime(&now.naive_utc())
                .fix(),
            Self::Fixed(o) => o,
        }
    }

    /// The setting's value as `config` prints it.
    pub fn as_text(self) -> String {
        match self {
            Self::Local => "local".into(),
            Self::Fixed(o) if o.local_minus_utc() == 0 => "UTC".into(),
            Self::Fixed(o) => o.to_string(),
        }
    }
}

impl Serialize for Zone {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.as_text())
    }
}

impl std::str::FromStr for Zone {
    /// How to write a supported value.
    type Err = &'static str;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        const FIX: &str = "write local (the system's zone), UTC, or an offset such as +08:00";
        let t = s.trim();
        if t.eq_ignore_ascii_case("local") {
            return Ok(Self::Local);
        }
        let rest = t
            .strip_prefix("UTC")
            .or_else(|| t.strip_prefix("utc"))
            .or_else(|| t.strip_prefix("GMT"))
            .unwrap_or(t);
        if rest.is_empty() || rest == "Z" {
            return Ok(Self::Fixed(FixedOffset::east_opt(0).expect("zero offset")));
        }
        let (sign, hm) = match rest.as_bytes().first() {
            Some(b'+') => (1, &rest[1..]),
            Some(b'-') => (-1, &rest[1..]),
            _ => return Err(FIX),
        };
        let (h, m) = match hm.split_once(':') {
            Some((h, m)) => (h, m),
            None if hm.len() == 4 => hm.split_at(2),
            None => (hm, "0"),
        };
        let (Ok(h), Ok(m)) = (h.parse::<i32>(), m.parse::<i32>()) else {
            return Err(FIX);
        };
        if !(0..=14).contains(&h) || !(0..60).contains(&m) {
            return Err(FIX);
        }
        FixedOffset::east_opt(sign * (h * 3600 + m * 60))
            .map(Self::Fixed)
            .ok_or(FIX)
    }
}

/// Parses a time of day `HH:MM` (`DAILY_DIGEST_AT`); the error is the fix.
///
/// # Errors
/// When it is not a time of day.
pub fn parse_time_of_day(s: &str) -> Result<NaiveTime, (&'static str, &'static str)> {
    NaiveTime::parse_from_str(s.trim(), "%H:%M").map_err(|_| {
        (
            "write a time of day as HH:MM, e.g. 09:00",
            "写成 HH:MM 形式的时刻，例如 09:00",
        )
    })
}

/// When reports are sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct ReportSettings {
    /// `RESET_REPORTS`: a report a day before each reset and one after it.
    pub reset_reports: bool,
    /// `DAILY_DIGEST_AT`: the local time of the daily digest (`None`: no digest).
    pub digest_at: Option<NaiveTime>,
    /// `REPORT_TIMEZONE`: the zone of the digest's time and of the days in reports.
    pub zone: Zone,
}

impl Default for ReportSettings {
    fn default() -> Self {
        Self {
            reset_reports: true,
            digest_at: None,
            zone: Zone::Local,
        }
    }
}

/// A report due for one package.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Due {
    pub kind: ReportKind,
    /// Saved once it is queued (or dropped).
    pub key: String,
    /// False: only recorded as done (a digest while muted, or in the same pass as a report
    /// around a reset, which says the same and more).
    pub send: bool,
}

/// The key of a report.
pub fn key(kind: ReportKind, id: &str, stamp: &str) -> String {
    format!("{}:{id}:{stamp}", kind.label())
}

fn chrono_dur(d: Duration) -> chrono::Duration {
    chrono::Duration::from_std(d).unwrap_or(chrono::Duration::MAX)
}

/// The reports due for package `id` at `now`, given its cycles, what was sent, whether repeats
/// are muted (`/mute`: the digest is dropped, reports around a reset are not) and the zone's
/// offset at `now`. Pure.
pub fn due(
    id: &str,
    cycles: &Cycles,
    s: &ReportSettings,
    memory: &ReportMemory,
    muted: bool,
    offset: FixedOffset,
    now: DateTime<Utc>,
) -> Vec<Due> {
    let mut out = Vec::new();
    let push = |out: &mut Vec<Due>, kind, stamp: String, send| {
        let key = key(kind, id, &stamp);
        if !memory.sent.contains_key(&key) {
            out.push(Due { kind, key, send });
        }
    };
    if s.reset_reports {
        let current = cycles.current.as_ref().filter(|c| long_enough(c));
        if let Some(end) = current.and_then(|c| c.cycle_end) {
            if now >= end - chrono_dur(BEFORE_RESET) && now < end {
                push(&mut out, ReportKind::BeforeReset, end.to_rfc3339(), true);
            }
        }
        let reset = match (
            cycles.last_closed().filter(|p| long_enough(p)),
            &cycles.current,
        ) {
            (Some(prev), Some(cur)) => prev
                .cycle_end
                .filter(|old| cur.cycle_end.is_some_and(|new| new > *old)),
            _ => None,
        };
        if let Some(old_end) = reset {
            if now.signed_duration_since(old_end) < chrono_dur(AFTER_RESET_WITHIN) {
                push(&mut out, ReportKind::AfterReset, old_end.to_rfc3339(), true);
            }
        }
    }
    let reset_report = out.iter().any(|d| d.send);
    if let Some(at) = s.digest_at {
        let local = now.with_timezone(&offset);
        if local.time() >= at {
            let stamp = local.date_naive().format("%Y-%m-%d").to_string();
            push(&mut out, ReportKind::Daily, stamp, !(muted || reset_report));
        }
    }
    out
}

/// A report that will be due.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Upcoming {
    pub free_resource_id: String,
    pub kind: ReportKind,
    /// When it will be due (it goes out with the first poll from then on).
    pub at: DateTime<Utc>,
}

/// The next report before the reset and the next digest for package `id`, as [`due`] will find
/// them; the report after a reset is due when a poll first sees the new cycle, so it has no time.
/// Pure.
pub fn upcoming(
    id: &str,
    cycles: &Cycles,
    s: &ReportSettings,
    memory: &ReportMemory,
    offset: FixedOffset,
    now: DateTime<Utc>,
) -> Vec<Upcoming> {
    let mut out = Vec::new();
    let end = cycles
        .current
        .as_ref()
        .filter(|c| long_enough(c))
        .and_then(|c| c.cycle_end);
    if let (true, Some(end)) = (s.reset_reports, end) {
        let sent = memory
            .sent
            .contains_key(&key(ReportKind::BeforeReset, id, &end.to_rfc3339()));
        if !sent && now < end {
            out.push(Upcoming {
                free_resource_id: id.to_string(),
                kind: ReportKind::BeforeReset,
                at: end - chrono_dur(BEFORE_RESET),
            });
        }
    }
    if let Some(at) = s.digest_at {
        let local = now.with_timezone(&offset);
        let today = local.date_naive();
        let sent_today = memory.sent.contains_key(&key(
            ReportKind::Daily,
            id,
            &today.format("%Y-%m-%d").to_string(),
        ));
        // Today's, unless it went out already (a time in the past: due at the next poll).
        let day = if sent_today {
            today.succ_opt()
        } else {
            Some(today)
        };
        let when = day
            .and_then(|d| d.and_time(at).and_local_timezone(offset).single())
            .map(|t| t.with_timezone(&Utc));
        if let Some(when) = when {
            out.push(Upcoming {
                free_resource_id: id.to_string(),
                kind: ReportKind::Daily,
                at: when,
            });
        }
    }
    out
}

/// What a report is built from.
pub struct Inputs<'a> {
    pub kind: ReportKind,
    pub id: &'a str,
    pub server: &'a str,
    pub cycles: &'a Cycles,
    /// The package's history points, oldest first.
    pub points: &'a [Point],
    pub state: &'a State,
    /// The live estimate of the remaining traffic, when one is known.
    pub live_remaining_gb: Option<f64>,
    /// Figures older than this are stale (`READING_MAX_AGE`).
    pub max_age: Duration,
    /// `AUTO_START`: a stopped server is started again after the reset.
    pub auto_start: bool,
    /// The report's zone at `now` (days).
    pub offset: FixedOffset,
    pub now: DateTime<Utc>,
}

fn figures(f: &CycleFigures, max_age: Duration, now: DateTime<Utc>) -> ReportFigures {
    let age = now.signed_duration_since(f.read_at);
    ReportFigures {
        total_gb: f.total_gb,
        used_gb: f.used_gb(),
        remaining_gb: f.remaining_gb,
        read_at: f.read_at,
        stale_secs: (age > chrono_dur(max_age)).then_some(age.num_seconds()),
        cycle_start: f.cycle_start,
        cycle_end: f.cycle_end,
    }
}

/// The forecast at the reset: the forecast's rate towards zero (not towards T1).
fn at_reset(points: &[Point], cur: &CycleFigures, now: DateTime<Utc>) -> ReportForecast {
    let Some(end) = cur.cycle_end else {
        return ReportForecast::Unknown;
    };
    let inside: Vec<Point> = points
        .iter()
        .copied()
        .filter(|p| cur.cycle_start.is_none_or(|s| p.time() >= s) && p.time() < end)
        .collect();
    match forecast::forecast(
        &inside,
        0.0,
        cur.cycle_start,
        Some(end),
        now,
        &forecast::Settings::default(),
    ) {
        Forecast::Reaches {
            gb_per_day,
            at,
            before_reset: Some(true),
            ..
        } => ReportForecast::RunsOut { at, gb_per_day },
        Forecast::Reaches {
            gb_per_day,
            at_reset_gb: Some(left),
            ..
        } => ReportForecast::AtReset {
            remaining_gb: left.max(0.0),
            gb_per_day,
        },
        Forecast::NotFalling { .. } => match inside.last() {
            Some(p) => ReportForecast::AtReset {
                remaining_gb: p.gb(),
                gb_per_day: 0.0,
            },
            None => ReportForecast::Unknown,
        },
        _ => ReportForecast::Unknown,
    }
}

/// The report of `i.kind` about one package. Pure.
pub fn build(i: &Inputs<'_>) -> CycleReport {
    let cur = i.cycles.current.as_ref();
    // After a reset (and for `/report` within [`AFTER_RESET_WITHIN`] of one): the ended cycle.
    let recent_reset = i.cycles.last_closed().filter(|p| {
        p.cycle_end
            .is_some_and(|e| i.now.signed_duration_since(e) < chrono_dur(AFTER_RESET_WITHIN))
    });
    let previous = match i.kind {
        ReportKind::AfterReset => i.cycles.last_closed(),
        ReportKind::OnRequest => recent_reset,
        ReportKind::BeforeReset | ReportKind::Daily => None,
    };
    // After a reset the busiest day is the ended cycle's; otherwise this cycle's.
    let busiest = match previous {
        Some(p) => {
            let inside: Vec<Point> = i
                .points
                .iter()
                .copied()
                .filter(|q| p.cycle_end.is_none_or(|e| q.time() < e))
                .collect();
            busiest_day(&inside, p.cycle_start, i.offset)
        }
        None => cur.and_then(|c| busiest_day(i.points, c.cycle_start, i.offset)),
    };
    let mut in_force: Vec<InForce> = i
        .state
        .actions
        .active
        .iter()
        .filter_map(|(k, rec)| {
            let key = Key::parse(k)?;
            Some(InForce::Action {
                action: key.action,
                level: key.level,
                since: rec.since,
                dry_run: rec.dry_run,
            })
        })
        .collect();
    // A shutdown in this cycle, or after a reset in the cycle that ended (the server may still
    // be off and wait for a start).
    let cycle_end = previous.or(cur).and_then(|c| c.cycle_end);
    if let Some(rec) = i.state.shutdowns.get(i.id) {
        if rec.success && cycle_end.is_some() && rec.cycle_end == cycle_end {
            in_force.push(InForce::ShutDown {
                at: rec.at,
                auto_start: i.auto_start,
            });
        }
    }
    CycleReport {
        kind: i.kind,
        server: i.server.to_string(),
        free_resource_id: i.id.to_string(),
        package_name: cur.map(|c| c.package_name.clone()).unwrap_or_default(),
        at: i.now,
        figures: cur.map(|c| figures(c, i.max_age, i.now)),
        live_remaining_gb: i.live_remaining_gb.filter(|x| x.is_finite()),
        forecast: cur.map_or(ReportForecast::Unknown, |c| at_reset(i.points, c, i.now)),
        busiest_day: busiest,
        in_force,
        previous: previous.map(|p| figures(p, Duration::MAX, i.now)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(h: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_800_000_000 + h * 3600, 0).unwrap()
    }

    fn fig(remaining: f64, read_at: DateTime<Utc>, end: DateTime<Utc>) -> CycleFigures {
        CycleFigures {
            package_name: "p".into(),
            usage_type: String::new(),
            total_gb: 200.0,
            remaining_gb: remaining,
            read_at,
            cycle_start: Some(end - chrono::Duration::days(30)),
            cycle_end: Some(end),
        }
    }

    fn cycles(readings: &[CycleFigures]) -> Cycles {
        let mut c = Cycles::default();
        for f in readings {
            c.record(f.clone());
        }
        c
    }

    fn utc() -> FixedOffset {
        FixedOffset::east_opt(0).unwrap()
    }

    fn kinds(d: &[Due]) -> Vec<(ReportKind, bool)> {
        d.iter().map(|d| (d.kind, d.send)).collect()
    }

    /// `due` as the engine runs it: what is due is recorded as sent.
    fn run(c: &Cycles, s: &ReportSettings, m: &mut ReportMemory, now: DateTime<Utc>) -> Vec<Due> {
        let d = due("a", c, s, m, false, utc(), now);
        for x in &d {
            m.sent.insert(x.key.clone(), now);
        }
        d
    }

    #[test]
    fn the_report_before_the_reset_is_due_from_a_day_before_and_once() {
        let s = ReportSettings::default();
        let c = cycles(&[fig(50.0, t(0), t(30))]);
        let mut m = ReportMemory::default();
        assert!(run(&c, &s, &mut m, t(5)).is_empty(), "25 h before");
        assert_eq!(
            kinds(&run(&c, &s, &mut m, t(6))),
            [(ReportKind::BeforeReset, true)]
        );
        assert!(run(&c, &s, &mut m, t(7)).is_empty(), "sent already");
    }

    #[test]
    fn a_missed_report_before_the_reset_comes_late_but_not_after_the_reset() {
        let s = ReportSettings::default();
        let c = cycles(&[fig(50.0, t(0), t(30))]);
        let mut m = ReportMemory::default();
        assert_eq!(
            run(&c, &s, &mut m, t(29)).len(),
            1,
            "down until an hour before"
        );
        let mut m = ReportMemory::default();
        assert!(
            run(&c, &s, &mut m, t(30)).is_empty(),
            "at the reset: too late"
        );
    }

    #[test]
    fn the_report_after_the_reset_needs_the_ended_cycle_and_comes_once() {
        let s = ReportSettings::default();
        let mut m = ReportMemory::default();
        let c = cycles(&[fig(50.0, t(0), t(30)), fig(200.0, t(31), t(30 + 720))]);
        assert_eq!(c.past.len(), 1);
        assert_eq!(
            kinds(&run(&c, &s, &mut m, t(31))),
            [(ReportKind::AfterReset, true)]
        );
        assert!(run(&c, &s, &mut m, t(32)).is_empty());
        // A program down for more than a week after the reset does not send it any more.
        let mut m = ReportMemory::default();
        assert!(run(&c, &s, &mut m, t(30 + 7 * 24)).is_empty());
        // The first sight of a package in its new cycle has no ended cycle: no report.
        let c = cycles(&[fig(200.0, t(31), t(30 + 720))]);
        assert!(run(&c, &s, &mut ReportMemory::default(), t(31)).is_empty());
    }

    #[test]
    fn a_cycle_of_a_day_gets_no_reports_around_its_reset() {
        let s = ReportSettings::default();
        let short = |read: i64, end: i64| CycleFigures {
            cycle_start: Some(t(end - 24)),
            ..fig(50.0, t(read), t(end))
        };
        let c = cycles(&[short(0, 10), short(11, 34)]);
        let mut m = ReportMemory::default();
        assert!(run(&c, &s, &mut m, t(12)).is_empty());
        assert!(upcoming("a", &c, &s, &m, utc(), t(12)).is_empty());
    }

    #[test]
    fn the_digest_comes_once_a_local_day_after_its_time_and_gives_way_to_a_reset_report() {
        let s = ReportSettings {
            digest_at: Some(NaiveTime::from_hms_opt(9, 0, 0).unwrap()),
            zone: Zone::Fixed(FixedOffset::east_opt(8 * 3600).unwrap()),
            ..ReportSettings::default()
        };
        let east8 = FixedOffset::east_opt(8 * 3600).unwrap();
        let day = |d: u32, h: u32| {
            east8
                .with_ymd_and_hms(2027, 1, d, h, 30, 0)
                .unwrap()
                .with_timezone(&Utc)
        };
        let end = day(20, 0);
        let c = cycles(&[fig(50.0, day(1, 0), end)]);
        let mut m = ReportMemory::default();
        let mut at = |now| {
            let d = due("a", &c, &s, &m, false, east8, now);
            for x in &d {
                m.sent.insert(x.key.clone(), now);
            }
            kinds(&d)
        };
        assert!(at(day(5, 8)).is_empty(), "08:30 local");
        assert_eq!(at(day(5, 9)), [(ReportKind::Daily, true)]);
        assert!(at(day(5, 23)).is_empty(), "once a day");
        assert_eq!(
            at(day(6, 15)),
            [(ReportKind::Daily, true)],
            "late, next day"
        );
        // The day before the reset, the reset report says it all.
        assert_eq!(
            at(day(19, 9)),
            [(ReportKind::BeforeReset, true), (ReportKind::Daily, false)]
        );
        // Muted: the digest is recorded, not sent.
        let d = due(
            "a",
            &c,
            &s,
            &ReportMemory::default(),
            true,
            east8,
            day(7, 9),
        );
        assert_eq!(kinds(&d), [(ReportKind::Daily, false)]);
    }

    #[test]
    fn the_next_reports_are_the_one_before_the_reset_and_the_next_digest() {
        let s = ReportSettings {
            digest_at: Some(NaiveTime::from_hms_opt(9, 0, 0).unwrap()),
            zone: Zone::Fixed(utc()),
            ..ReportSettings::default()
        };
        // t(0) is 08:00 UTC.
        let c = cycles(&[fig(50.0, t(0), t(30))]);
        let mut m = ReportMemory::default();
        let next = |m: &ReportMemory, now| {
            upcoming("a", &c, &s, m, utc(), now)
                .into_iter()
                .map(|u| (u.kind, u.at))
                .collect::<Vec<_>>()
        };
        assert_eq!(
            next(&m, t(0)),
            [(ReportKind::BeforeReset, t(6)), (ReportKind::Daily, t(1))]
        );
        for d in due("a", &c, &s, &m, false, utc(), t(6)) {
            m.sent.insert(d.key, t(6));
        }
        assert_eq!(next(&m, t(6)), [(ReportKind::Daily, t(25))]);
    }

    #[test]
    fn a_shutdown_of_the_ended_cycle_is_named_after_the_reset_and_not_in_the_next_cycle() {
        let c = cycles(&[fig(3.0, t(0), t(30)), fig(200.0, t(31), t(30 + 720))]);
        let mut state = State::default();
        state.shutdowns.insert(
            "a".into(),
            crate::state::ShutdownRecord {
                at: t(1),
                boot_id: None,
                cycle_end: Some(t(30)),
                success: true,
                outcome: String::new(),
            },
        );
        let report = |kind| {
            build(&Inputs {
                kind,
                id: "a",
                server: "web-1",
                cycles: &c,
                points: &[],
                state: &state,
                live_remaining_gb: None,
                max_age: Duration::from_secs(3600),
                auto_start: false,
                offset: utc(),
                now: t(32),
            })
        };
        assert_eq!(
            report(ReportKind::AfterReset).in_force,
            [InForce::ShutDown {
                at: t(1),
                auto_start: false
            }]
        );
        assert!(report(ReportKind::BeforeReset).in_force.is_empty());
        // `/report` a day after the reset still names the ended cycle.
        assert_eq!(
            report(ReportKind::OnRequest)
                .previous
                .map(|p| p.remaining_gb),
            Some(3.0)
        );
    }

    #[test]
    fn zones_parse_local_utc_and_offsets_and_refuse_names() {
        assert_eq!("local".parse::<Zone>(), Ok(Zone::Local));
        let off = |s: i32| Ok(Zone::Fixed(FixedOffset::east_opt(s).unwrap()));
        assert_eq!("UTC".parse::<Zone>(), off(0));
        assert_eq!("+08:00".parse::<Zone>(), off(8 * 3600));
        assert_eq!("UTC+8".parse::<Zone>(), off(8 * 3600));
        assert_eq!("-0530".parse::<Zone>(), off(-(5 * 3600 + 1800)));
        assert!("Asia/Shanghai".parse::<Zone>().is_err());
        assert!("+15:00".parse::<Zone>().is_err());
        assert_eq!(
            Zone::Fixed(FixedOffset::east_opt(8 * 3600).unwrap()).as_text(),
            "+08:00"
        );
        assert!(parse_time_of_day("9:00").is_ok());
        assert!(parse_time_of_day("25:00").is_err());
    }

    #[test]
    fn a_report_gathers_the_forecast_the_busiest_day_and_what_is_in_force() {
        let end = t(30);
        let c = cycles(&[fig(50.0, t(0), end)]);
        // 4 GB an hour for the last 10 hours: runs out after 12.5 h, before the reset.
        let points: Vec<Point> = (0..=10)
            .map(|h| Point(t(h - 10).timestamp(), 90.0 - 4.0 * h as f64))
            .collect();
        let mut state = State::default();
        state.actions.active.insert(
            "throttle@2".into(),
            crate::actions::ActiveRecord {
                since: t(-3),
                installed: crate::actions::Installed::Command { leave: vec![] },
                dry_run: false,
            },
        );
        let r = build(&Inputs {
            kind: ReportKind::BeforeReset,
            id: "a",
            server: "web-1",
            cycles: &c,
            points: &points,
            state: &state,
            live_remaining_gb: None,
            max_age: Duration::from_secs(3600),
            auto_start: false,
            offset: utc(),
            now: t(6),
        });
        assert!(
            matches!(r.forecast, ReportForecast::RunsOut { gb_per_day, .. } if (gb_per_day - 96.0).abs() < 1e-6),
            "{:?}",
            r.forecast
        );
        // t(0) is 08:00 UTC: one hour's drop falls on the day before, nine on this day.
        let (day, used) = r.busiest_day.unwrap();
        assert_eq!(day, t(0).date_naive());
        assert!((used - 36.0).abs() < 1e-9, "{used}");
        assert_eq!(r.in_force.len(), 1);
        // Read at t(0), reported at t(6) with READING_MAX_AGE 1h: stale by 6 h.
        assert_eq!(r.figures.unwrap().stale_secs, Some(6 * 3600));
        assert_eq!(r.live_remaining_gb, None);
    }
}
