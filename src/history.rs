//! The history of remaining traffic: one point per poll per package, downsampled as it ages, kept in
//! `STATE_DIR/history.json` with a bounded size, for the status page's chart, its forecast and
//! `/api/v1/history`.
//!
//! [`History`] is pure bookkeeping (record, downsample, bound); [`HistoryStore`] keeps it on disk.
//! Points younger than [`Limits::fine_for`] (a day) are kept at most one per [`Limits::fine_step`]
//! (a minute, or the poll interval when shorter: see [`Limits::for_poll_interval`]); older ones one per [`Limits::coarse_step`] (an hour), the last point of each bucket
//! (traffic only goes down within a cycle, so the last is the lowest); points older than
//! [`Limits::keep_for`] (70 days: the current and the previous cycle) are dropped. At most
//! [`Limits::max_packages`] packages are kept. With the defaults a package holds at most
//! [`Limits::max_points`] = 3,122 points (about 70 KB of JSON), the file at most about 2 MB.
//!
//! It also keeps each package's cycles ([`Cycles`]): the figures of the latest reading of the
//! current cycle, and the final figures of up to [`MAX_PAST_CYCLES`] cycles before it (the last
//! reading seen before each reset), so that the report after a reset, and any later one, can be
//! rebuilt. [`busiest_day`] reads the points for the reports.
//!
//! The history is a convenience, never a safety input: a file that cannot be read is moved aside
//! (kept for inspection) and reported, a write that fails is reported, and neither stops the program.
//! Nothing here decides anything about alerts or shutdowns.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::fsutil::write_atomic;
use crate::reading::Reading;

/// The file name inside `STATE_DIR`.
pub const FILE: &str = "history.json";

/// One reading: when (Unix seconds) and how many GB remained. Serialized as `[at, gb]` to keep the
/// file small.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Point(pub i64, pub f64);

impl Point {
    /// When it was read, in Unix seconds.
    pub fn at(&self) -> i64 {
        self.0
    }

    /// Remaining GB.
    pub fn gb(&self) -> f64 {
        self.1
    }

    /// When it was read.
    pub fn time(&self) -> DateTime<Utc> {
        DateTime::from_timestamp(self.0, 0).unwrap_or_default()
    }
}

/// How much history is kept, and how finely.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Points younger than this keep the fine resolution.
    pub fine_for: Duration,
    /// At most one point per this step while young.
    pub fine_step: Duration,
    /// At most one point per this step once older than `fine_for`.
    pub coarse_step: Duration,
    /// Points older than this are dropped.
    pub keep_for: Duration,
    /// At most this many packages (the most recently read are kept).
    pub max_packages: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            fine_for: Duration::from_secs(24 * 3600),
            fine_step: Duration::from_secs(60),
            coarse_step: Duration::from_secs(3600),
            keep_for: Duration::from_secs(70 * 24 * 3600),
            max_packages: 32,
        }
    }
}

/// At most this many points per package in the fine part.
const MAX_FINE_POINTS: u64 = 1440;

impl Limits {
    /// The limits for polls every `poll`: one point per poll (at least a second apart) while young,
    /// with the young part holding at most 1,440 points. With polls a minute or more apart that is
    /// the default (a day at one per minute); faster polls (the demo, tests) keep every poll for a
    /// shorter time, so the bound does not change.
    pub fn for_poll_interval(poll: Duration) -> Self {
        let step = poll.as_secs().clamp(1, 60);
        Self {
            fine_step: Duration::from_secs(step),
            fine_for: Duration::from_secs((step * MAX_FINE_POINTS).min(24 * 3600)),
            ..Self::default()
        }
    }

    /// The most points one package can hold.
    pub fn max_points(&self) -> usize {
        let fine = self.fine_for.as_secs() / self.fine_step.as_secs().max(1);
        let coarse = self.keep_for.as_secs() / self.coarse_step.as_secs().max(1);
        usize::try_from(fine + coarse).unwrap_or(usize::MAX) + 2
    }
}

/// Every package's points, oldest first.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct History {
    /// The file format's version.
    #[serde(default = "version")]
    pub version: u32,
    /// By free resource id.
    #[serde(default)]
    pub packages: BTreeMap<String, Vec<Point>>,
    /// Each package's current and past cycles, by free resource id.
    #[serde(default)]
    pub cycles: BTreeMap<String, Cycles>,
}

/// How many past cycles a package keeps (two years of monthly cycles).
pub const MAX_PAST_CYCLES: usize = 24;

/// The figures of one reading, as a cycle keeps them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CycleFigures {
    #[serde(default)]
    pub package_name: String,
    #[serde(default)]
    pub usage_type: String,
    pub total_gb: f64,
    pub remaining_gb: f64,
    pub read_at: DateTime<Utc>,
    pub cycle_start: Option<DateTime<Utc>>,
    pub cycle_end: Option<DateTime<Utc>>,
}

impl CycleFigures {
    /// The figures of a reading.
    pub fn of(r: &Reading) -> Self {
        Self {
            package_name: r.package_name.clone(),
            usage_type: r.usage_type.clone(),
            total_gb: r.total_gb,
            remaining_gb: r.remaining_gb,
            read_at: r.read_at,
            cycle_start: r.cycle_start,
            cycle_end: r.cycle_end,
        }
    }

    /// Quota minus remaining, never below zero.
    pub fn used_gb(&self) -> f64 {
        (self.total_gb - self.remaining_gb).max(0.0)
    }
}

/// One package's cycles.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Cycles {
    /// The latest reading of the current cycle.
    pub current: Option<CycleFigures>,
    /// The final figures of earlier cycles, oldest first.
    #[serde(default)]
    pub past: Vec<CycleFigures>,
}

impl Cycles {
    /// Folds a reading in: a later cycle end closes the current cycle with its last figures.
    /// Readings older than the current one, and readings with figures that are not finite
    /// numbers, are ignored.
    pub fn record(&mut self, f: CycleFigures) {
        if !(f.total_gb.is_finite() && f.remaining_gb.is_finite()) {
            return;
        }
        if let Some(cur) = &self.current {
            if f.read_at < cur.read_at {
                return;
            }
            let later_cycle = match (cur.cycle_end, f.cycle_end) {
                (Some(old), Some(new)) => new > old,
                _ => false,
            };
            if later_cycle {
                self.past.push(cur.clone());
                if self.past.len() > MAX_PAST_CYCLES {
                    self.past.drain(..self.past.len() - MAX_PAST_CYCLES);
                }
            }
        }
        self.current = Some(f);
    }

    /// The most recent past cycle.
    pub fn last_closed(&self) -> Option<&CycleFigures> {
        self.past.last()
    }
}

/// The day (in the zone `offset`) on which the most traffic was used from `since` on, and how
/// many GB: the drops between consecutive points, each counted on the day of its later point. A
/// rise (a reset, a renewal) counts as nothing. `None` when there are no two points to compare.
/// Pure.
pub fn busiest_day(
    points: &[Point],
    since: Option<DateTime<Utc>>,
    offset: chrono::FixedOffset,
) -> Option<(chrono::NaiveDate, f64)> {
    let from = since.map_or(i64::MIN, |t| t.timestamp());
    let mut days: BTreeMap<chrono::NaiveDate, f64> = BTreeMap::new();
    for w in points.windows(2) {
        if w[0].at() < from {
            continue;
        }
        let day = w[1].time().with_timezone(&offset).date_naive();
        *days.entry(day).or_default() += (w[0].gb() - w[1].gb()).max(0.0);
    }
    // The latest of equal days: the most recent is the more useful to name.
    days.into_iter().fold(
        None,
        |best: Option<(chrono::NaiveDate, f64)>, (d, gb)| match best {
            Some((_, b)) if b > gb => best,
            _ => Some((d, gb)),
        },
    )
}

fn version() -> u32 {
    1
}

/// GB rounded to a thousandth (1 MB): BSS reports no finer, and it keeps the file small.
fn round_gb(gb: f64) -> f64 {
    (gb * 1000.0).round() / 1000.0
}

impl History {
    /// An empty history.
    pub fn new() -> Self {
        Self {
            version: version(),
            packages: BTreeMap::new(),
            cycles: BTreeMap::new(),
        }
    }

    /// The points of one package, oldest first (empty when unknown).
    pub fn points(&self, id: &str) -> &[Point] {
        self.packages.get(id).map_or(&[], Vec::as_slice)
    }

    /// Records a reading taken at `at` and applies the limits as of `now`. A value that is not a
    /// finite number is ignored (it never becomes a point).
    pub fn record(&mut self, id: &str, at: DateTime<Utc>, gb: f64, now: DateTime<Utc>, l: &Limits) {
        if !gb.is_finite() {
            return;
        }
        let points = self.packages.entry(id.to_string()).or_default();
        let p = Point(at.timestamp(), round_gb(gb));
        // Usually the newest; a clock set back lands it in place.
        let pos = points.partition_point(|q| q.0 <= p.0);
        if pos > 0 && points[pos - 1].0 == p.0 {
            points[pos - 1] = p;
        } else {
            points.insert(pos, p);
        }
        self.compact(now, l);
    }

    /// Downsamples, drops what is too old, and bounds the number of packages and points.
    pub fn compact(&mut self, now: DateTime<Utc>, l: &Limits) {
        let now_s = now.timestamp();
        let keep_from = now_s.saturating_sub(secs(l.keep_for));
        let fine_from = now_s.saturating_sub(secs(l.fine_for));
        let max_points = l.max_points();
        for points in self.packages.values_mut() {
            points.retain(|p| p.0 >= keep_from && p.1.is_finite());
            points.sort_by_key(|p| p.0);
            let mut kept: Vec<Point> = Vec::with_capacity(points.len());
            let mut last_bucket: Option<(bool, i64)> = None;
            for p in points.iter() {
                let fine = p.0 >= fine_from;
                let step = if fine { l.fine_step } else { l.coarse_step };
                let bucket = (fine, p.0.div_euclid(secs(step).max(1)));
                if last_bucket == Some(bucket) {
                    // The later point of a bucket replaces the earlier one.
                    if let Some(last) = kept.last_mut() {
                        *last = *p;
                    }
                } else {
                    kept.push(*p);
                    last_bucket = Some(bucket);
                }
            }
            // Points from a clock far in the future could exceed the buckets: the bound holds anyway.
            if kept.len() > max_points {
                kept.drain(..kept.len() - max_points);
            }
            *points = kept;
        }
        self.packages.retain(|_, p| !p.is_empty());
        if self.packages.len() > l.max_packages {
            let mut by_recency: Vec<(i64, String)> = self
                .packages
                .iter()
                .map(|(id, p)| (p.last().map_or(i64::MIN, |q| q.0), id.clone()))
                .collect();
            by_recency.sort();
            let excess = self.packages.len() - l.max_packages;
            for (_, id) in by_recency.into_iter().take(excess) {
                self.packages.remove(&id);
            }
        }
        if self.cycles.len() > l.max_packages {
            let mut by_recency: Vec<(DateTime<Utc>, String)> = self
                .cycles
                .iter()
                .map(|(id, c)| {
                    let at = c
                        .current
                        .as_ref()
                        .map_or(DateTime::<Utc>::MIN_UTC, |f| f.read_at);
                    (at, id.clone())
                })
                .collect();
            by_recency.sort();
            let excess = self.cycles.len() - l.max_packages;
            for (_, id) in by_recency.into_iter().take(excess) {
                self.cycles.remove(&id);
            }
        }
    }

    /// One package's cycles (empty when unknown).
    pub fn cycles(&self, id: &str) -> Cycles {
        self.cycles.get(id).cloned().unwrap_or_default()
    }
}

fn secs(d: Duration) -> i64 {
    i64::try_from(d.as_secs()).unwrap_or(i64::MAX)
}

/// What went wrong with the history file (shown on the status page; the program carries on).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum HistoryProblem {
    /// The file could not be parsed; it was moved to `moved_to` and a new history started.
    Corrupt { moved_to: String, error: String },
    /// The file could not be read (e.g. permissions); a new history is kept in memory.
    Unreadable { error: String },
    /// The last write failed.
    WriteFailed { error: String },
}

/// The history and its file.
#[derive(Debug)]
pub struct HistoryStore {
    path: PathBuf,
    limits: Limits,
    inner: Mutex<Inner>,
}

#[derive(Debug)]
struct Inner {
    history: History,
    /// A problem on opening (kept until the program restarts, so the page keeps showing it).
    opened: Option<HistoryProblem>,
    /// The last write's error, cleared by a successful write.
    write: Option<HistoryProblem>,
}

impl HistoryStore {
    /// Loads `dir/history.json`. Never fails: an unreadable or corrupt file is reported through
    /// [`HistoryStore::problems`] (a corrupt one is moved aside first) and an empty history is used.
    pub fn open(dir: &Path, limits: Limits) -> Self {
        let path = dir.join(FILE);
        let (history, opened) = load(&path);
        if let Some(p) = &opened {
            tracing::error!(problem = ?p, "history file unusable; starting a new history");
        }
        Self {
            path,
            limits,
            inner: Mutex::new(Inner {
                history,
                opened,
                write: None,
            }),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Records the good readings of one poll (points and cycles) and writes the file; see
    /// [`Self::record`].
    pub fn record_readings<'a>(
        &self,
        readings: impl IntoIterator<Item = &'a Reading>,
        now: DateTime<Utc>,
    ) {
        let readings: Vec<&Reading> = readings.into_iter().collect();
        {
            let mut inner = self.lock();
            for r in &readings {
                inner
                    .history
                    .cycles
                    .entry(r.free_resource_id.clone())
                    .or_default()
                    .record(CycleFigures::of(r));
            }
        }
        self.record(
            readings
                .iter()
                .map(|r| (r.free_resource_id.as_str(), r.read_at, r.remaining_gb)),
            now,
        );
    }

    /// Records readings `(id, read_at, remaining_gb)` taken by one poll and writes the file.
    /// A failed write is logged and reported, never returned: the history must not stop a poll.
    pub fn record<'a>(
        &self,
        readings: impl IntoIterator<Item = (&'a str, DateTime<Utc>, f64)>,
        now: DateTime<Utc>,
    ) {
        let mut inner = self.lock();
        for (id, at, gb) in readings {
            inner.history.record(id, at, gb, now, &self.limits);
        }
        let bytes = match serde_json::to_vec(&inner.history) {
            Ok(b) => b,
            Err(e) => {
                // Only a non-finite number could fail, and those are never recorded.
                tracing::error!(error = %e, "history does not serialize");
                return;
            }
        };
        match write_atomic(&self.path, &bytes) {
            Ok(()) => inner.write = None,
            Err(e) => {
                if inner.write.is_none() {
                    tracing::warn!(path = %self.path.display(), error = %e, "cannot write the history");
                }
                inner.write = Some(HistoryProblem::WriteFailed {
                    error: format!("{}: {e}", self.path.display()),
                });
            }
        }
    }

    /// A copy of the history.
    pub fn history(&self) -> History {
        self.lock().history.clone()
    }

    /// The points of one package.
    pub fn points(&self, id: &str) -> Vec<Point> {
        self.lock().history.points(id).to_vec()
    }

    /// The cycles of one package.
    pub fn cycles(&self, id: &str) -> Cycles {
        self.lock().history.cycles(id)
    }

    /// Problems to show: an unusable file at start, a failing write.
    pub fn problems(&self) -> Vec<HistoryProblem> {
        let inner = self.lock();
        inner.opened.iter().chain(&inner.write).cloned().collect()
    }

    /// The limits in force.
    pub fn limits(&self) -> Limits {
        self.limits
    }
}

fn load(path: &Path) -> (History, Option<HistoryProblem>) {
    let bytes = match std::fs::read(path) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return (History::new(), None),
        Err(e) => {
            return (
                History::new(),
                Some(HistoryProblem::Unreadable {
                    error: format!("{}: {e}", path.display()),
                }),
            )
        }
    };
    match serde_json::from_slice::<History>(&bytes) {
        Ok(h) => (h, None),
        Err(e) => {
            let moved_to = path.with_file_name(format!(
                "{FILE}.corrupt-{}",
                Utc::now().format("%Y%m%dT%H%M%SZ")
            ));
            let moved = std::fs::rename(path, &moved_to);
            let moved_to = match moved {
                Ok(()) => moved_to.display().to_string(),
                Err(re) => format!("(could not move it aside: {re})"),
            };
            (
                History::new(),
                Some(HistoryProblem::Corrupt {
                    moved_to,
                    error: e.to_string(),
                }),
            )
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_749_999_600 + s, 0).unwrap()
    }

    const MIN: i64 = 60;
    const HOUR: i64 = 3600;
    const DAY: i64 = 24 * HOUR;

    #[test]
    fn young_points_keep_one_per_minute_and_the_later_one_wins() {
        let l = Limits::default();
        let mut h = History::new();
        // Three polls in the same minute, then one in the next.
        for (s, gb) in [(0, 500.0), (20, 499.0), (40, 498.0), (60, 497.0)] {
            h.record("a", t(s), gb, t(60), &l);
        }
        let gbs: Vec<f64> = h.points("a").iter().map(Point::gb).collect();
        assert_eq!(gbs, vec![498.0, 497.0]);
    }

    #[test]
    fn points_older_than_a_day_are_downsampled_to_one_per_hour() {
        let l = Limits::default();
        let mut h = History::new();
        // A poll every 10 minutes for two days.
        let mut s = 0;
        while s <= 2 * DAY {
            h.record("a", t(s), 1000.0 - s as f64 / 600.0, t(s), &l);
            s += 10 * MIN;
        }
        let points = h.points("a");
        let (old, young): (Vec<&Point>, Vec<&Point>) =
            points.iter().partition(|p| p.at() < t(DAY).timestamp());
        // The older day: one point per hour (24, plus the partial bucket at the edge).
        assert!((24..=25).contains(&old.len()), "{} old points", old.len());
        for w in old.windows(2) {
            assert!(w[1].at() - w[0].at() >= HOUR - 10 * MIN, "{w:?}");
        }
        // The last day: every poll (one per 10 minutes).
        assert_eq!(young.len(), 145);
        // Still oldest first and still falling.
        assert!(points
            .windows(2)
            .all(|w| w[0].at() < w[1].at() && w[0].gb() > w[1].gb()));
    }

    #[test]
    fn the_size_is_bounded_however_often_it_polls() {
        let l = Limits::default();
        let mut h = History::new();
        // A poll every 30 s for 80 days (far more than the bound), compacted once at the end
        // (recording compacts each time, which the other tests cover; this keeps the test fast).
        let points = (0..=80 * DAY)
            .step_by(30)
            .map(|s| Point(t(s).timestamp(), 1000.0))
            .collect();
        h.packages.insert("a".into(), points);
        h.record("a", t(80 * DAY), 1000.0, t(80 * DAY), &l);
        let n = h.points("a").len();
        assert!(n <= l.max_points(), "{n} > {}", l.max_points());
        assert!(n > 1440 + 69 * 24, "{n}: downsampling dropped too much");
        assert_eq!(l.max_points(), 3122);
        // Nothing older than 70 days, and still almost 70 days kept (two cycles for the chart).
        assert!(h.points("a")[0].at() >= t(80 * DAY - 70 * DAY).timestamp());
        assert!(h.points("a")[0].at() < t(80 * DAY - 69 * DAY).timestamp());
        let bytes = serde_json::to_vec(&h).unwrap().len();
        assert!(bytes < 80_000, "{bytes} bytes for one package");
    }

    #[test]
    fn fast_polls_keep_every_poll_for_a_shorter_time_within_the_same_bound() {
        let default = Limits::default();
        assert_eq!(Limits::for_poll_interval(Duration::from_secs(600)), default);
        assert_eq!(Limits::for_poll_interval(Duration::from_secs(60)), default);
        let fast = Limits::for_poll_interval(Duration::from_millis(1300));
        assert_eq!(fast.fine_step, Duration::from_secs(1));
        assert_eq!(fast.fine_for, Duration::from_secs(1440));
        assert!(fast.max_points() <= default.max_points());
        let mut h = History::new();
        for s in 0..10 {
            h.record("a", t(s), 10.0 - s as f64, t(s), &fast);
        }
        assert_eq!(h.points("a").len(), 10, "one point per poll");
    }

    #[test]
    fn the_number_of_packages_is_bounded_keeping_the_recent_ones() {
        let l = Limits {
            max_packages: 2,
            ..Limits::default()
        };
        let mut h = History::new();
        h.record("old", t(0), 1.0, t(0), &l);
        h.record("b", t(10), 1.0, t(10), &l);
        h.record("c", t(20), 1.0, t(20), &l);
        assert_eq!(h.packages.keys().collect::<Vec<_>>(), vec!["b", "c"]);
    }

    #[test]
    fn a_point_from_a_clock_set_back_lands_in_order_and_nan_is_ignored() {
        let l = Limits::default();
        let mut h = History::new();
        h.record("a", t(600), 5.0, t(600), &l);
        h.record("a", t(0), 6.0, t(600), &l);
        h.record("a", t(1200), f64::NAN, t(1200), &l);
        let ats: Vec<i64> = h.points("a").iter().map(Point::at).collect();
        assert_eq!(ats, vec![t(0).timestamp(), t(600).timestamp()]);
    }

    fn figures(gb: f64, at: i64, end: i64) -> CycleFigures {
        CycleFigures {
            package_name: "p".into(),
            usage_type: String::new(),
            total_gb: 100.0,
            remaining_gb: gb,
            read_at: t(at),
            cycle_start: None,
            cycle_end: Some(t(end)),
        }
    }

    #[test]
    fn a_later_cycle_end_keeps_the_last_figures_of_the_cycle_that_ended() {
        let mut c = Cycles::default();
        c.record(figures(60.0, 0, DAY));
        c.record(figures(40.0, HOUR, DAY));
        // An older reading (a clock set back) and a non-number change nothing.
        c.record(figures(90.0, 0, DAY));
        c.record(figures(f64::NAN, 2 * HOUR, DAY));
        c.record(figures(100.0, DAY + HOUR, 31 * DAY));
        assert_eq!(c.past, vec![figures(40.0, HOUR, DAY)]);
        assert_eq!(c.current, Some(figures(100.0, DAY + HOUR, 31 * DAY)));
        for i in 0..30 {
            c.record(figures(100.0, (32 + i) * DAY, (40 + i) * DAY));
        }
        assert_eq!(c.past.len(), MAX_PAST_CYCLES);
    }

    #[test]
    fn the_busiest_day_counts_drops_by_day_and_ignores_rises() {
        let utc = chrono::FixedOffset::east_opt(0).unwrap();
        // t(0) is 2025-06-15 15:00 UTC.
        let points = [
            Point(t(0).timestamp(), 100.0),
            Point(t(HOUR).timestamp(), 97.0),
            Point(t(8 * HOUR).timestamp(), 90.0),
            Point(t(10 * HOUR).timestamp(), 95.0),
            Point(t(11 * HOUR).timestamp(), 94.0),
        ];
        let (day, gb) = busiest_day(&points, None, utc).unwrap();
        assert_eq!(day, t(0).date_naive());
        assert_eq!(gb, 10.0);
        // Counted from `since` on: the next day's single drop.
        let (day, gb) = busiest_day(&points, Some(t(10 * HOUR)), utc).unwrap();
        assert_eq!((day, gb), (t(11 * HOUR).date_naive(), 1.0));
        assert_eq!(busiest_day(&points[..1], None, utc), None);
    }

    #[test]
    fn the_store_survives_a_restart() {
        let dir = tempfile::tempdir().unwrap();
        let store = HistoryStore::open(dir.path(), Limits::default());
        store.record([("a", t(0), 12.3456), ("b", t(0), 7.0)], t(0));
        store.record([("a", t(600), 11.0)], t(600));
        drop(store);
        let back = HistoryStore::open(dir.path(), Limits::default());
        assert!(back.problems().is_empty());
        assert_eq!(
            back.points("a"),
            vec![
                Point(t(0).timestamp(), 12.346),
                Point(t(600).timestamp(), 11.0)
            ]
        );
        assert_eq!(back.points("b").len(), 1);
    }

    #[test]
    fn a_corrupt_file_is_kept_aside_reported_and_replaced() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(FILE);
        std::fs::write(&path, b"{\"packages\": {\"a\": [[1, oops").unwrap();
        let store = HistoryStore::open(dir.path(), Limits::default());
        assert!(store.history().packages.is_empty());
        let problems = store.problems();
        let [HistoryProblem::Corrupt { moved_to, error }] = problems.as_slice() else {
            panic!("{problems:?}");
        };
        assert!(!error.is_empty());
        assert_eq!(
            std::fs::read(moved_to).unwrap(),
            b"{\"packages\": {\"a\": [[1, oops"
        );
        // It goes on recording into a fresh file.
        store.record([("a", t(0), 1.0)], t(0));
        let back = HistoryStore::open(dir.path(), Limits::default());
        assert_eq!(back.points("a").len(), 1);
        assert!(back.problems().is_empty());
    }

    #[test]
    fn a_failed_write_is_reported_and_cleared_by_the_next_good_one() {
        let dir = tempfile::tempdir().unwrap();
        let sub = dir.path().join("gone");
        std::fs::create_dir(&sub).unwrap();
        let store = HistoryStore::open(&sub, Limits::default());
        std::fs::remove_dir(&sub).unwrap();
        store.record([("a", t(0), 1.0)], t(0));
        assert!(matches!(
            store.problems().as_slice(),
            [HistoryProblem::WriteFailed { .. }]
        ));
        // The point is still kept in memory.
        assert_eq!(store.points("a").len(), 1);
        std::fs::create_dir(&sub).unwrap();
        store.record([("a", t(60), 0.5)], t(60));
        assert!(store.problems().is_empty());
    }
}
