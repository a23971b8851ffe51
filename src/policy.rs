//! The one alerting policy: given what a package's level is now and what was told before, decide
//! which messages are due and whether the shutdown guard must look.
//!
//! Pure: no clock, no I/O; `now` is an argument and the memory is a plain value the caller stores.
//! Both inputs — the fallback evaluator (our own readings) and the Alertmanager receiver (alerts) —
//! call these functions with the same memory, so a hand-over between them neither repeats nor loses
//! a message. Cadence is kept per package *and* per level (the original kept one timestamp for
//! everything, so its daily report hid a fresh level-3 alert), and tolerates a few seconds of jitter
//! (the original compared with exactly 3600 s while cron fires every 3600 s ± jitter, so hourly alerts
//! came every two hours).

use std::collections::BTreeMap;
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::level::Level;

/// How often messages may repeat.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Cadence {
    /// Level 3 repeats at most this often (`LEVEL3_REPEAT`, 24h).
    pub level3_repeat: Duration,
    /// Level 2 — and level 1 while it lasts — repeat this often (`LEVEL2_REPEAT`, 1h).
    pub level2_repeat: Duration,
    /// Send a daily report while the package is above T3 (`DAILY_REPORT`).
    pub daily_report: bool,
    /// `DEBUG_MODE`: every evaluation is due (cadence gates skipped). Never touches safety.
    pub debug: bool,
}

impl Default for Cadence {
    fn default() -> Self {
        Self {
            level3_repeat: Duration::from_secs(24 * 3600),
            level2_repeat: Duration::from_secs(3600),
            daily_report: true,
            debug: false,
        }
    }
}

/// The period of the daily report.
pub const REPORT_PERIOD: Duration = Duration::from_secs(24 * 3600);

/// How early a repeat may come: 5% of the period, at most 5 minutes. An hourly alert checked by a
/// cron job that fires 2 s early is still due; one checked 10 minutes early is not.
pub fn jitter_tolerance(period: Duration) -> Duration {
    (period / 20).min(Duration::from_secs(300))
}

/// What the policy remembers about one package.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct PackageMemory {
    /// The level last told to the user (`None` before the first observation).
    pub level: Option<Level>,
    /// When an alert for each level was last sent, keyed by the level label.
    #[serde(default)]
    pub last_alert: BTreeMap<String, DateTime<Utc>>,
    /// When the last daily report was sent.
    #[serde(default)]
    pub last_report: Option<DateTime<Utc>>,
    /// The end of the cycle this memory belongs to (`None` in memories saved before it was kept):
    /// see [`PackageMemory::enter_cycle`].
    #[serde(default)]
    pub cycle_end: Option<DateTime<Utc>>,
}

/// What the policy decided.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub enum Decision {
    /// Tell the user the package is at this level (3, 2 or 1).
    Alert(Level),
    /// The level improved: tell once.
    Recovery { from: Level, to: Level },
    /// The daily report above T3.
    Report,
    /// Level 1: the shutdown guard must start (or keep) its re-check. It acts only on a fresh
    /// reading of its own; this decision alone never shuts anything down.
    Shutdown,
    /// A running shutdown countdown for the package must stop, for this reason.
    CancelShutdown(CancelReason),
}

/// Why a shutdown countdown was cancelled (the message says it in the user's language).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "reason", rename_all = "snake_case")]
pub enum CancelReason {
    /// A reading (ours, judged by the fallback evaluator) is at or above T1 again.
    ReadingRecovered { remaining_gb: f64 },
    /// Alertmanager resolved the level-1 alert.
    AlertResolved,
    /// The guard's own fresh reading is at or above T1.
    FreshReadingAboveT1 { remaining_gb: f64, t1_gb: f64 },
    /// The guard's fresh poll failed.
    FreshPollFailed {
        #[serde(serialize_with = "crate::logging::as_text")]
        error: crate::huawei::HuaweiError,
    },
    /// The package was not among the polled ids.
    NotPolled,
    /// The fresh reading of this package is unusable.
    FreshReadingUnusable {
        #[serde(serialize_with = "crate::logging::as_text")]
        error: crate::huawei::wire::ReadingError,
    },
    /// The monitor is stopping (SIGTERM): the countdown is abandoned, not resumed.
    Stopping,
    /// The user cancelled it from Telegram (`/cancel`); shutdown stays off until `until` or the
    /// package's next level change.
    ByCommand { until: DateTime<Utc> },
}

impl CancelReason {
    /// A label for logs and metrics.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::ReadingRecovered { .. } => "reading_recovered",
            Self::AlertResolved => "alert_resolved",
            Self::FreshReadingAboveT1 { .. } => "fresh_reading_above_t1",
            Self::FreshPollFailed { .. } => "fresh_poll_failed",
            Self::NotPolled => "not_polled",
            Self::FreshReadingUnusable { .. } => "fresh_reading_unusable",
            Self::Stopping => "stopping",
            Self::ByCommand { .. } => "by_command",
        }
    }
}

/// A shutdown cancelled by the user (`/cancel`), kept in the state until it expires.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Hold {
    /// When the user confirmed it.
    pub at: DateTime<Utc>,
    /// When it expires at the latest.
    pub until: DateTime<Utc>,
    /// The package's level when it was confirmed (level 1): any other level ends it.
    pub level: Level,
    /// The Telegram user who confirmed it.
    pub user_id: i64,
}

/// Why a hold ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum HoldEnd {
    /// Its time ran out.
    Expired,
    /// The package's level changed (recovered, or a new cycle began).
    LevelChanged,
    /// The user re-enabled the shutdown (`/resume`).
    Resumed,
}

/// Whether `hold` still stands for a package now at `level`, or why it ended. Pure.
pub fn hold_status(hold: &Hold, level: Level, now: DateTime<Utc>) -> Result<(), HoldEnd> {
    if level != hold.level {
        Err(HoldEnd::LevelChanged)
    } else if now >= hold.until {
        Err(HoldEnd::Expired)
    } else {
        Ok(())
    }
}

/// The decisions with [`Decision::Shutdown`] removed while a hold stands (`held`). Both inputs —
/// the fallback evaluator and the Alertmanager receiver — pass their decisions through it. Pure.
pub fn hold_shutdown(decisions: Vec<Decision>, held: bool) -> Vec<Decision> {
    if !held {
        return decisions;
    }
    decisions
        .into_iter()
        .filter(|d| *d != Decision::Shutdown)
        .collect()
}

/// The decisions without repeats while muted (`/mute`): an alert at the level told before
/// (`previous`) and the daily report are dropped; entering a worse level, recoveries and
/// everything about the shutdown are kept. The memory still records the repeat as told, so the
/// cadence goes on as if it had been sent. Pure.
pub fn mute_repeats(
    decisions: Vec<Decision>,
    previous: Option<Level>,
    muted: bool,
) -> Vec<Decision> {
    if !muted {
        return decisions;
    }
    decisions
        .into_iter()
        .filter(|d| match d {
            Decision::Report => false,
            Decision::Alert(l) => previous != Some(*l),
            _ => true,
        })
        .collect()
}

/// A reading judged by the fallback evaluator: a level other than 1 cancels a running countdown.
pub fn cancel_on_reading(level: Level, remaining_gb: f64) -> Option<Decision> {
    (level != Level::L1).then_some(Decision::CancelShutdown(CancelReason::ReadingRecovered {
        remaining_gb,
    }))
}

/// A resolved alert: the end of a level-1 alert cancels a running countdown, when the payload
/// proves it (`proven`). A resolution it cannot prove (a truncated payload, Grafana resolving
/// for missing data) cancels nothing on its own word: only our own fresh reading (`reading`: its
/// level and remaining GB) can, when it is above level 1. Without one the countdown goes on, and
/// the guard's own fresh reading at its end decides, as always.
pub fn cancel_on_resolved(
    level: Level,
    proven: bool,
    reading: Option<(Level, f64)>,
) -> Option<Decision> {
    if level != Level::L1 {
        return None;
    }
    if proven {
        return Some(Decision::CancelShutdown(CancelReason::AlertResolved));
    }
    let (now, remaining_gb) = reading?;
    cancel_on_reading(now, remaining_gb)
}

/// What the guard's own fresh poll said about the package.
#[derive(Debug, Clone, PartialEq)]
pub enum FreshReading {
    Read { remaining_gb: f64 },
    PollFailed(crate::huawei::HuaweiError),
    NotPolled,
    Unusable(crate::huawei::wire::ReadingError),
}

/// What the guard does at the end of a countdown.
#[derive(Debug, Clone, PartialEq)]
pub enum Verdict {
    Act,
    Cancel(CancelReason),
}

/// The guard's verdict at the end of a countdown. Pure: only a successful fresh reading still at
/// level 1 acts, and only when nobody cancelled meanwhile (`cancelled`).
pub fn guard_verdict(
    fresh: &FreshReading,
    thresholds: &crate::level::Thresholds,
    cancelled: Option<CancelReason>,
) -> Verdict {
    let remaining_gb = match fresh {
        FreshReading::PollFailed(e) => {
            return Verdict::Cancel(CancelReason::FreshPollFailed { error: e.clone() })
        }
        FreshReading::NotPolled => return Verdict::Cancel(CancelReason::NotPolled),
        FreshReading::Unusable(e) => {
            return Verdict::Cancel(CancelReason::FreshReadingUnusable { error: e.clone() })
        }
        FreshReading::Read { remaining_gb } => *remaining_gb,
    };
    if Level::of(remaining_gb, thresholds) != Level::L1 {
        return Verdict::Cancel(CancelReason::FreshReadingAboveT1 {
            remaining_gb,
            t1_gb: thresholds.t1,
        });
    }
    match cancelled {
        Some(reason) => Verdict::Cancel(reason),
        None => Verdict::Act,
    }
}

fn due(last: Option<DateTime<Utc>>, period: Duration, now: DateTime<Utc>, c: &Cadence) -> bool {
    if c.debug {
        return true;
    }
    let Some(last) = last else { return true };
    let elapsed = now.signed_duration_since(last);
    let needed = period.saturating_sub(jitter_tolerance(period));
    elapsed >= chrono::Duration::from_std(needed).unwrap_or(chrono::Duration::MAX)
}

fn repeat_of(level: Level, c: &Cadence) -> Duration {
    match level {
        Level::L3 => c.level3_repeat,
        Level::L2 | Level::L1 => c.level2_repeat,
        Level::Ok => REPORT_PERIOD,
    }
}

impl PackageMemory {
    /// Makes this the memory of the cycle `start ~ end` of a reading, before the reading is
    /// observed: a memory of another cycle is forgotten, so that nothing told in a past cycle
    /// silences (or turns into a recovery) what the new one must tell. A memory without a cycle
    /// (saved by an older version) belongs to a past cycle when everything it remembers happened
    /// before `start`; otherwise it is kept. Returns whether it was forgotten. Pure.
    pub fn enter_cycle(
        &mut self,
        start: Option<DateTime<Utc>>,
        end: Option<DateTime<Utc>>,
    ) -> bool {
        let Some(end) = end else { return false };
        let past = match self.cycle_end {
            Some(mine) => !crate::plausibility::same_cycle(Some(mine), Some(end)),
            None => start.is_some_and(|s| self.latest().is_some_and(|t| t < s)),
        };
        if past {
            *self = Self::default();
        }
        self.cycle_end = Some(end);
        past
    }

    /// When anything remembered happened last.
    fn latest(&self) -> Option<DateTime<Utc>> {
        self.last_alert
            .values()
            .copied()
            .chain(self.last_report)
            .max()
    }

    fn alert(&mut self, level: Level, now: DateTime<Utc>, out: &mut Vec<Decision>) {
        self.last_alert.insert(level.label().to_string(), now);
        out.push(Decision::Alert(level));
    }

    /// A package was observed at `observed`: from a fresh reading (fallback evaluator, `check`) or
    /// from a firing alert (webhook).
    pub fn observe(&mut self, observed: Level, now: DateTime<Utc>, c: &Cadence) -> Vec<Decision> {
        let mut out = Vec::new();
        let previous = self.level;
        match previous {
            // Worse than before (or first sight of a low level): tell at once.
            _ if observed > previous.unwrap_or(Level::Ok) => {
                self.alert(observed, now, &mut out);
            }
            // Better than before: one recovery message, which carries the new figures, so the
            // new level's own repeat starts from now.
            Some(prev) if observed < prev => {
                out.push(Decision::Recovery {
                    from: prev,
                    to: observed,
                });
                match observed {
                    Level::Ok => self.last_report = Some(now),
                    l => {
                        self.last_alert.insert(l.label().to_string(), now);
                    }
                }
            }
            // Same level (or first sight of ok): repeat when due.
            _ => match observed {
                Level::Ok => {
                    if c.daily_report && due(self.last_report, REPORT_PERIOD, now, c) {
                        self.last_report = Some(now);
                        out.push(Decision::Report);
                    }
                }
                l => {
                    let last = self.last_alert.get(l.label()).copied();
                    if due(last, repeat_of(l, c), now, c) {
                        self.alert(l, now, &mut out);
                    }
                }
            },
        }
        if observed == Level::L1 {
            out.push(Decision::Shutdown);
        }
        self.level = Some(observed);
        out
    }

    /// An alert for `resolved` stopped firing. `current` is the level of our own fresh reading, if
    /// we have one. A resolved alert only says the package left that level — possibly for a worse
    /// one — so it gives a recovery message only when our reading confirms an improvement; the
    /// worse level's own alert (or the next reading) tells the rest. Repeated deliveries find the
    /// memory already moved and decide nothing.
    pub fn resolve(
        &mut self,
        resolved: Level,
        current: Option<Level>,
        now: DateTime<Utc>,
        c: &Cadence,
    ) -> Vec<Decision> {
        match (self.level, current) {
            (Some(prev), Some(cur)) if prev == resolved && cur < prev => self.observe(cur, now, c),
            _ => Vec::new(),
        }
    }

    /// A reminder of a firing alert at `level` (Alertmanager's `repeat interval elapsed`, or an
    /// alert episode already recorded): it carries no news. With a fresh reading of our own
    /// (`current`), the reading decides, as for any alert. Without one, a reminder never asks the
    /// guard for a countdown (a countdown that ended, cancelled or not, is not restarted by a
    /// repeat), never announces a level as new (its alert goes out only when that level's repeat
    /// is due), and a reminder of a better level than the one told changes nothing.
    pub fn observe_reminder(
        &mut self,
        level: Level,
        current: Option<Level>,
        now: DateTime<Utc>,
        c: &Cadence,
    ) -> Vec<Decision> {
        if let Some(cur) = current {
            return self.observe(cur, now, c);
        }
        if self.level.is_some_and(|told| level < told) || level == Level::Ok {
            return Vec::new();
        }
        let mut out = Vec::new();
        let last = self.last_alert.get(level.label()).copied();
        if due(last, repeat_of(level, c), now, c) {
            self.alert(level, now, &mut out);
        }
        self.level = Some(level);
        out
    }

    /// A firing alert says `level`; `current` is the level of our own fresh reading, if any;
    /// `started` is when the alert began firing (Alertmanager's `startsAt`).
    ///
    /// The fresher reading wins. An alert is computed by Prometheus from a reading this program
    /// exported on `/metrics`, so our own latest reading is always at least as new as the one
    /// behind the alert: when we have a fresh one, it decides the level, and the alert only
    /// prompts a judgement now (what the fallback evaluator would decide, under the same
    /// cadence). Without a fresh reading of our own, the alert's level is taken as it is, except
    /// a better level from an alert that began before we last told the worse one: that is a late
    /// delivery (the second node of an Alertmanager pair waits its peer timeout, then may still
    /// send the level-3 alert after the level-2 one), and taken as it is it would announce a false
    /// recovery and move the level, so the worse level would be announced again. With `FALLBACK=always` an alert that disagrees
    /// with our reading used to win until the next evaluation, which then recovered: an alert and
    /// a recovery per delivery.
    pub fn observe_alert(
        &mut self,
        level: Level,
        current: Option<Level>,
        started: Option<DateTime<Utc>>,
        now: DateTime<Utc>,
        c: &Cadence,
    ) -> Vec<Decision> {
        if let Some(cur) = current {
            return self.observe(cur, now, c);
        }
        let late = self.level.is_some_and(|told| {
            level < told
                && started.is_some_and(|s| {
                    self.last_alert
                        .get(told.label())
                        .is_some_and(|told_at| s <= *told_at)
                })
        });
        if late {
            return Vec::new();
        }
        self.observe(level, now, c)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use Decision::*;
    use Level::*;

    fn t(secs: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_800_000_000 + secs, 0).unwrap()
    }
    const H: i64 = 3600;

    /// Runs a sequence of (time, level) observations and returns what each decided.
    fn run(c: &Cadence, steps: &[(i64, Level)]) -> Vec<Vec<Decision>> {
        let mut m = PackageMemory::default();
        steps
            .iter()
            .map(|(at, l)| m.observe(*l, t(*at), c))
            .collect()
    }

    #[test]
    fn a_table_of_sequences_gives_the_expected_messages() {
        let c = Cadence::default();
        type Case = (&'static str, Vec<(i64, Level)>, Vec<Vec<Decision>>);
        let cases: Vec<Case> = vec![
            (
                "first ok reading gives the daily report, then once a day",
                vec![(0, Ok), (H, Ok), (24 * H, Ok)],
                vec![vec![Report], vec![], vec![Report]],
            ),
            (
                "entering level 3 tells at once, then daily",
                vec![(0, Ok), (10, L3), (H, L3), (24 * H + 10, L3)],
                vec![vec![Report], vec![Alert(L3)], vec![], vec![Alert(L3)]],
            ),
            (
                "level 2 is hourly",
                vec![(0, L2), (30 * 60, L2), (H, L2), (2 * H, L2)],
                vec![vec![Alert(L2)], vec![], vec![Alert(L2)], vec![Alert(L2)]],
            ),
            (
                "worse levels always tell at once",
                vec![(0, L3), (60, L2), (120, L1)],
                vec![vec![Alert(L3)], vec![Alert(L2)], vec![Alert(L1), Shutdown]],
            ),
            (
                "level 1 asks the guard every time and repeats its alert hourly",
                vec![(0, L1), (600, L1), (H, L1)],
                vec![
                    vec![Alert(L1), Shutdown],
                    vec![Shutdown],
                    vec![Alert(L1), Shutdown],
                ],
            ),
            (
                "a new cycle gives one recovery message",
                vec![(0, L1), (600, Ok), (1200, Ok), (24 * H + 600, Ok)],
                vec![
                    vec![Alert(L1), Shutdown],
                    vec![Recovery { from: L1, to: Ok }],
                    vec![],
                    vec![Report],
                ],
            ),
            (
                "partial recovery starts the new level's repeat from the recovery",
                vec![(0, L2), (600, L3), (H, L3), (24 * H + 600, L3)],
                vec![
                    vec![Alert(L2)],
                    vec![Recovery { from: L2, to: L3 }],
                    vec![],
                    vec![Alert(L3)],
                ],
            ),
            (
                "the same input twice gives one message (dedupe)",
                vec![(0, L2), (0, L2), (1, L2)],
                vec![vec![Alert(L2)], vec![], vec![]],
            ),
        ];
        for (name, steps, want) in cases {
            assert_eq!(run(&c, &steps), want, "{name}");
        }
    }

    #[test]
    fn daily_report_does_not_hide_a_fresh_level3_alert() {
        // The original sent the green report, then stayed silent for 24 h when the package fell below T3.
        let got = run(&Cadence::default(), &[(0, Ok), (60, L3)]);
        assert_eq!(got, vec![vec![Report], vec![Alert(L3)]]);
    }

    #[test]
    fn hourly_cadence_with_2s_cron_jitter_is_still_hourly() {
        let c = Cadence::default();
        // cron at :00 +/- 2 s: 0, 3598, 7201, 10798
        let got = run(
            &c,
            &[(0, L2), (H - 2, L2), (2 * H + 1, L2), (3 * H - 2, L2)],
        );
        assert_eq!(
            got,
            vec![
                vec![Alert(L2)],
                vec![Alert(L2)],
                vec![Alert(L2)],
                vec![Alert(L2)]
            ]
        );
        // ... but a check 10 minutes early is not due.
        let got = run(&c, &[(0, L2), (50 * 60, L2)]);
        assert_eq!(got[1], vec![]);
    }

    #[test]
    fn debug_mode_skips_the_cadence_gates_only() {
        let c = Cadence {
            debug: true,
            ..Cadence::default()
        };
        let got = run(&c, &[(0, L3), (1, L3), (2, Ok), (3, Ok)]);
        assert_eq!(
            got,
            vec![
                vec![Alert(L3)],
                vec![Alert(L3)],
                vec![Recovery { from: L3, to: Ok }],
                vec![Report]
            ]
        );
    }

    #[test]
    fn no_daily_report_when_disabled() {
        let c = Cadence {
            daily_report: false,
            ..Cadence::default()
        };
        assert_eq!(run(&c, &[(0, Ok), (25 * H, Ok)]), vec![vec![], vec![]]);
    }

    #[test]
    fn resolved_alerts_recover_only_when_our_reading_agrees() {
        let c = Cadence::default();
        let mut m = PackageMemory::default();
        m.observe(L3, t(0), &c);
        // L3 resolved because the package fell to L2: no recovery.
        assert_eq!(m.resolve(L3, Some(L2), t(10), &c), vec![]);
        assert_eq!(
            m.observe_alert(L2, Some(L2), None, t(20), &c),
            vec![Alert(L2)]
        );
        // L2 resolved with a fresh reading above T3: one recovery; the duplicate delivery gives nothing.
        assert_eq!(
            m.resolve(L2, Some(Ok), t(30), &c),
            vec![Recovery { from: L2, to: Ok }]
        );
        assert_eq!(m.resolve(L2, Some(Ok), t(31), &c), vec![]);
        // Resolved with no reading of our own: nothing is claimed.
        let mut m = PackageMemory::default();
        m.observe(L2, t(0), &c);
        assert_eq!(m.resolve(L2, None, t(10), &c), vec![]);
    }

    #[test]
    fn a_late_firing_alert_of_a_better_level_is_ignored_when_our_reading_disagrees() {
        let c = Cadence::default();
        let mut m = PackageMemory::default();
        m.observe(L2, t(0), &c);
        assert_eq!(m.observe_alert(L3, Some(L2), None, t(10), &c), vec![]);
        assert_eq!(m.level, Some(L2));
        assert_eq!(
            m.observe_alert(L3, Some(L3), None, t(20), &c),
            vec![Recovery { from: L2, to: L3 }]
        );
    }

    #[test]
    fn an_alert_that_disagrees_with_a_fresh_reading_never_flips_the_level() {
        let c = Cadence::default();
        let mut m = PackageMemory::default();
        // Our reading: ok. The same level-3 alert arrives again and again, and the evaluator
        // judges our reading in between: only the first report, no alert/recovery pairs.
        assert_eq!(m.observe(Ok, t(0), &c), vec![Report]);
        for i in 1..=3 {
            assert_eq!(m.observe_alert(L3, Some(Ok), None, t(i * 2), &c), vec![]);
            assert_eq!(m.observe(Ok, t(i * 2 + 1), &c), vec![]);
        }
        // A level-1 alert against a fresh reading above T1 asks for no shutdown.
        assert_eq!(m.observe_alert(L1, Some(Ok), None, t(10), &c), vec![]);
        // Without a reading of our own, the alert is taken as it is.
        assert_eq!(
            m.observe_alert(L2, None, Some(t(19)), t(20), &c),
            vec![Alert(L2)]
        );
        assert_eq!(
            m.observe_alert(L1, None, Some(t(29)), t(30), &c),
            vec![Alert(L1), Shutdown]
        );
        // ... except a better level from an alert that began before level 1 was told: a late
        // delivery (the second node of an Alertmanager pair). No recovery, the level stays.
        assert_eq!(m.observe_alert(L2, None, Some(t(19)), t(40), &c), vec![]);
        assert_eq!(m.observe_alert(L3, None, Some(t(5)), t(50), &c), vec![]);
        assert_eq!(m.level, Some(L1));
        assert_eq!(
            m.observe_alert(L1, None, Some(t(29)), t(600), &c),
            vec![Shutdown]
        );
        // A better level that began after level 1 was told (traffic bought, a new cycle) counts.
        let later = m.observe_alert(L3, None, Some(t(900)), t(1000), &c);
        assert!(later.contains(&Recovery { from: L1, to: L3 }), "{later:?}");
        // An alert better than our reading does not hide the reading's level.
        let mut m = PackageMemory::default();
        assert_eq!(
            m.observe_alert(L3, Some(L1), None, t(0), &c),
            vec![Alert(L1), Shutdown]
        );
    }

    #[test]
    fn an_unproven_resolution_cancels_only_on_a_fresh_reading_above_level_1() {
        // A truncated payload, nothing of our own: the countdown goes on.
        assert_eq!(cancel_on_resolved(L1, false, None), None);
        // Our own fresh reading still at level 1: it goes on.
        assert_eq!(cancel_on_resolved(L1, false, Some((L1, 3.0))), None);
        // Our own fresh reading above T1: that reading cancels it.
        assert_eq!(
            cancel_on_resolved(L1, false, Some((L2, 250.0))),
            Some(CancelShutdown(CancelReason::ReadingRecovered {
                remaining_gb: 250.0
            }))
        );
        assert_eq!(cancel_on_resolved(L2, false, Some((Ok, 900.0))), None);
    }

    #[test]
    fn a_reminder_never_asks_for_a_countdown_nor_announces_a_level_as_new() {
        let c = Cadence::default();
        let mut m = PackageMemory::default();
        assert_eq!(
            m.observe_alert(L1, None, Some(t(0)), t(0), &c),
            vec![Alert(L1), Shutdown]
        );
        // The repeat five minutes later: no second countdown, no new alert.
        assert_eq!(m.observe_reminder(L1, None, t(300), &c), vec![]);
        // An hour on, the level's own repeat is due: the alert repeats, still no countdown.
        assert_eq!(m.observe_reminder(L1, None, t(H), &c), vec![Alert(L1)]);
        // A reminder of a better level than the one told changes nothing.
        assert_eq!(m.observe_reminder(L3, None, t(H + 60), &c), vec![]);
        assert_eq!(m.level, Some(L1));
        // With our own fresh reading, the reading decides (and may ask the guard).
        assert_eq!(
            m.observe_reminder(L1, Some(L1), t(H + 120), &c),
            vec![Shutdown]
        );
        // Memory lost (a new state file): the reminder's level is told at its repeat cadence
        // and remembered, but it asks for no countdown.
        let mut fresh = PackageMemory::default();
        assert_eq!(fresh.observe_reminder(L2, None, t(0), &c), vec![Alert(L2)]);
        assert_eq!(fresh.observe_reminder(L2, None, t(600), &c), vec![]);
        assert_eq!(
            fresh.observe_reminder(L1, None, t(700), &c),
            vec![Alert(L1)]
        );
        assert_eq!(fresh.level, Some(L1));
    }

    /// One simulated cycle: readings every 6 hours over 30 days, the remaining falling from the
    /// quota to `last`; the program sees them from `seen_from` hours into the cycle (later when
    /// it was stopped over the reset), and the thresholds are raised halfway when `edit`.
    struct SimCycle {
        last: f64,
        seen_from: i64,
        edit: bool,
    }

    /// The level of the `step`-th reading of a cycle, and when it is read.
    fn sim_level(c: &SimCycle, step: i64) -> Level {
        let remaining = 1000.0 - (1000.0 - c.last) * step as f64 / 119.0;
        let t = if c.edit && step >= 60 {
            crate::level::Thresholds {
                t1: 250.0,
                t2: 400.0,
                t3: 700.0,
            }
        } else {
            crate::level::Thresholds::default()
        };
        Level::of(remaining, &t)
    }

    #[test]
    fn thirty_six_cycles_each_alert_exactly_as_a_fresh_cycle_would() {
        let c = Cadence::default();
        const D: i64 = 24 * H;
        let lasts = [900.0, 450.0, 280.0, 150.0, 50.0, 600.0];
        let mut memory = PackageMemory::default();
        let (mut live, mut stopped, mut edited, mut alerts) = (0, 0, 0, 0);
        for k in 0..36_i64 {
            let start = k * 30 * D;
            let end = start + 30 * D;
            // Every third cycle began while the program was stopped: it sees it from day 20 on,
            // when the package may already be at level 2 or 1.
            let was_stopped = k % 3 == 1;
            let cycle = SimCycle {
                last: lasts[(k % 6) as usize],
                seen_from: if was_stopped { 20 * 24 } else { 0 },
                edit: k % 4 == 2,
            };
            if was_stopped {
                stopped += 1;
            } else {
                live += 1;
            }
            edited += usize::from(cycle.edit);
            // A state file of an older version: the memory does not know its cycle.
            if k == 7 || k == 20 {
                memory.cycle_end = None;
            }
            let mut fresh = PackageMemory::default();
            for step in 0..120 {
                let hours = step * 6;
                if hours < cycle.seen_from {
                    continue;
                }
                let now = t(start + hours * H);
                let level = sim_level(&cycle, step);
                memory.enter_cycle(Some(t(start)), Some(t(end)));
                let got = memory.observe(level, now, &c);
                let want = fresh.observe(level, now, &c);
                assert_eq!(got, want, "cycle {k}, step {step} ({level:?})");
                alerts += got.iter().filter(|d| matches!(d, Alert(_))).count();
            }
        }
        assert_eq!((live, stopped, edited), (24, 12, 9));
        assert!(alerts > 36, "{alerts}");
    }

    #[test]
    fn a_memory_follows_its_cycle_and_an_old_one_without_a_cycle_is_judged_by_its_times() {
        let c = Cadence::default();
        let mut m = PackageMemory::default();
        m.enter_cycle(Some(t(0)), Some(t(30 * 24 * H)));
        m.observe(L1, t(29 * 24 * H), &c);
        // The reset happened while stopped; the first reading of the new cycle is at level 2.
        let next = (Some(t(30 * 24 * H)), Some(t(60 * 24 * H)));
        assert!(m.enter_cycle(next.0, next.1));
        assert_eq!(m.observe(L2, t(50 * 24 * H), &c), vec![Alert(L2)]);
        // The same cycle, its end a second off: the memory is kept.
        assert!(!m.enter_cycle(next.0, Some(t(60 * 24 * H + 1))));
        assert_eq!(m.level, Some(L2));
        // A memory of an older version (no cycle): kept when it told something in this cycle ...
        let mut old = PackageMemory::default();
        old.observe(L2, t(40 * 24 * H), &c);
        assert!(!old.enter_cycle(next.0, next.1));
        assert_eq!(old.level, Some(L2));
        // ... forgotten when all it remembers is older than the cycle.
        let mut old = PackageMemory::default();
        old.observe(L1, t(29 * 24 * H), &c);
        assert!(old.enter_cycle(next.0, next.1));
        assert_eq!(old.level, None);
        // A reading without a cycle end changes nothing.
        assert!(!old.enter_cycle(None, None));
        // Old state files load.
        let loaded: PackageMemory =
            serde_json::from_str(r#"{"level":"2","last_alert":{"2":"2027-01-01T00:00:00Z"}}"#)
                .unwrap();
        assert_eq!((loaded.level, loaded.cycle_end), (Some(L2), None));
    }

    #[test]
    fn memory_round_trips_through_json() {
        let c = Cadence::default();
        let mut m = PackageMemory::default();
        m.observe(L2, t(0), &c);
        let back: PackageMemory =
            serde_json::from_str(&serde_json::to_string(&m).unwrap()).unwrap();
        assert_eq!(back, m);
    }

    #[test]
    fn a_hold_stands_until_its_time_or_the_next_level_change() {
        let hold = Hold {
            at: t(0),
            until: t(24 * H),
            level: L1,
            user_id: 7,
        };
        assert_eq!(hold_status(&hold, L1, t(H)), Result::Ok(()));
        assert_eq!(hold_status(&hold, L1, t(24 * H)), Err(HoldEnd::Expired));
        assert_eq!(hold_status(&hold, L2, t(H)), Err(HoldEnd::LevelChanged));
        assert_eq!(hold_status(&hold, Ok, t(H)), Err(HoldEnd::LevelChanged));
        // While it stands, level 1 still tells but asks the guard for nothing.
        let mut m = PackageMemory::default();
        let c = Cadence::default();
        assert_eq!(
            hold_shutdown(m.observe(L1, t(0), &c), true),
            vec![Alert(L1)]
        );
        assert_eq!(
            hold_shutdown(m.observe(L1, t(H), &c), false),
            vec![Alert(L1), Shutdown]
        );
        assert_eq!(
            hold_shutdown(vec![CancelShutdown(CancelReason::AlertResolved)], true),
            vec![CancelShutdown(CancelReason::AlertResolved)]
        );
    }

    #[test]
    fn muting_drops_repeats_and_reports_only() {
        let c = Cadence::default();
        let mut m = PackageMemory::default();
        let mut step = |l: Level, at: i64| {
            let previous = m.level;
            mute_repeats(m.observe(l, t(at), &c), previous, true)
        };
        assert_eq!(step(Ok, 0), vec![], "the daily report is a repeat");
        assert_eq!(step(L2, 10), vec![Alert(L2)], "entering a level is told");
        assert_eq!(step(L2, H + 10), vec![], "its repeat is not");
        assert_eq!(step(L1, H + 20), vec![Alert(L1), Shutdown]);
        assert_eq!(
            step(L1, 2 * H + 20),
            vec![Shutdown],
            "the guard is still asked"
        );
        assert_eq!(step(L3, 2 * H + 30), vec![Recovery { from: L1, to: L3 }]);
        // Not muted: everything passes.
        assert_eq!(mute_repeats(vec![Report], Some(Ok), false), vec![Report]);
    }

    #[test]
    fn the_guard_acts_only_on_a_fresh_level_1_reading_nobody_cancelled() {
        let t = crate::level::Thresholds::default();
        let read = |gb| FreshReading::Read { remaining_gb: gb };
        assert_eq!(guard_verdict(&read(199.99), &t, None), Verdict::Act);
        assert_eq!(
            guard_verdict(&read(200.0), &t, None),
            Verdict::Cancel(CancelReason::FreshReadingAboveT1 {
                remaining_gb: 200.0,
                t1_gb: 200.0
            })
        );
        assert_eq!(
            guard_verdict(
                &FreshReading::PollFailed(crate::huawei::HuaweiError::Transport("x".into())),
                &t,
                None
            ),
            Verdict::Cancel(CancelReason::FreshPollFailed {
                error: crate::huawei::HuaweiError::Transport("x".into())
            })
        );
        assert_eq!(
            guard_verdict(&FreshReading::NotPolled, &t, None),
            Verdict::Cancel(CancelReason::NotPolled)
        );
        assert_eq!(
            guard_verdict(&read(1.0), &t, Some(CancelReason::AlertResolved)),
            Verdict::Cancel(CancelReason::AlertResolved)
        );
        assert_eq!(cancel_on_reading(Level::L1, 1.0), None);
        assert!(cancel_on_reading(Level::L2, 250.0).is_some());
        assert_eq!(cancel_on_resolved(Level::L2, true, None), None);
        assert_eq!(
            cancel_on_resolved(Level::L1, true, None),
            Some(Decision::CancelShutdown(CancelReason::AlertResolved))
        );
    }
}
