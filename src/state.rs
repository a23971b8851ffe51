//! The state store: what must survive a restart (alert cadence, heartbeats, shutdown records,
//! monitoring health, the last reading acted on per package), in `STATE_DIR/state.json`.
//!
//! One process owns the state at a time: it holds an exclusive lock on `STATE_DIR/state.lock` for
//! as long as it runs, so two overlapping `check` runs (or a `check` beside `serve`) cannot corrupt or
//! double-act on it; the second waits for the lock or gives up with a clear error. Writes are atomic.
//!
//! The state never silently forgets: only a missing file is an empty state. A file that cannot be
//! read (permissions, a directory in its place, an I/O error) is an error: the store does not
//! open, nothing acts, and the file is left as it is — forgetting it would forget the shutdown
//! records and with them "don't stop twice in one boot" and "only start what we stopped". A file
//! that is read but is not valid state is moved aside (kept for inspection), reported, and replaced
//! by a fresh state; if it cannot be moved aside, that is an error too. A directory that turns
//! unwritable while running is reported through [`StateCell::writable`] (the `/metrics` gauge and
//! `/api/v1/status`). This module stores; it decides nothing.

use std::collections::BTreeMap;
use std::fs::{self, File, OpenOptions};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::fsutil::write_atomic;
use crate::policy::PackageMemory;

/// Everything persisted.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct State {
    #[serde(default)]
    pub packages: BTreeMap<String, PackageMemory>,
    /// When the `FlexusTrafficWatchdog` alert last arrived.
    #[serde(default)]
    pub last_heartbeat: Option<DateTime<Utc>>,
    /// The last time the guard acted (or tried to) on each package.
    #[serde(default)]
    pub shutdowns: BTreeMap<String, ShutdownRecord>,
    #[serde(default)]
    pub health: HealthMemory,
    /// With several accounts, the monitoring health of each (by account name; `health` is then
    /// unused).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub account_health: BTreeMap<String, HealthMemory>,
    /// Recently handled generic alerts (key → when), to drop duplicate deliveries.
    #[serde(default)]
    pub recent_alerts: BTreeMap<String, DateTime<Utc>>,
    /// Instances this process stopped through the ECS API, by server id (for `AUTO_START`).
    #[serde(default)]
    pub stopped: BTreeMap<String, StoppedRecord>,
    /// The gentler actions in force (throttle, fence, command), and their hand lifts and failures.
    #[serde(default)]
    pub actions: crate::actions::ActionsState,
    /// What the Telegram commands changed: cancelled shutdowns and the mute.
    #[serde(default)]
    pub bot: BotState,
    /// Per package, the last reading acted on and one held for confirmation (`plausibility`).
    #[serde(default)]
    pub readings: BTreeMap<String, crate::plausibility::Memory>,
    /// Per package, the problem with its readings the owner was told about (once per problem).
    #[serde(default)]
    pub reading_problems: BTreeMap<String, ToldProblem>,
    /// The reports around resets and the digests already sent (see `report`).
    #[serde(default)]
    pub reports: ReportMemory,
}

/// The reports already sent (queued), by key (kind, package, cycle end or local date), with
/// when: a report is sent once, also across restarts.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ReportMemory {
    #[serde(default)]
    pub sent: BTreeMap<String, DateTime<Utc>>,
}

impl State {
    /// Forgets the plausibility memory and the told reading problems of packages that are no
    /// longer watched (removed from the configuration); those of `watched` stay untouched. Pure.
    pub fn forget_unwatched(&mut self, watched: &[String]) {
        let kept = |id: &String| watched.contains(id);
        self.readings.retain(|id, _| kept(id));
        self.reading_problems.retain(|id, _| kept(id));
    }
}

impl ReportMemory {
    /// Forgets keys older than `keep` at `now`.
    pub fn forget_old(&mut self, now: DateTime<Utc>, keep: Duration) {
        let keep = chrono::Duration::from_std(keep).unwrap_or(chrono::Duration::MAX);
        self.sent
            .retain(|_, at| now.signed_duration_since(*at) < keep);
    }
}

/// A problem with a package's readings that the owner was told about.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ToldProblem {
    /// Its kind (`ReadingError::kind`): a different kind is a new problem.
    pub kind: String,
    pub since: DateTime<Utc>,
}

/// What the Telegram commands (`/cancel`, `/mute`) put in force.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct BotState {
    /// Shutdowns cancelled by `/cancel`, by package, until they expire.
    #[serde(default)]
    pub holds: BTreeMap<String, crate::policy::Hold>,
    /// Repeats are not sent before this time (`/mute`).
    #[serde(default)]
    pub muted_until: Option<DateTime<Utc>>,
}

impl BotState {
    /// Whether repeats are muted at `now`.
    pub fn muted(&self, now: DateTime<Utc>) -> bool {
        self.muted_until.is_some_and(|t| now < t)
    }
}

/// An instance this process stopped through the API.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StoppedRecord {
    /// The package whose traffic ran out.
    pub package: String,
    pub name: String,
    pub target: crate::target::Target,
    pub at: DateTime<Utc>,
    /// The end of the package's cycle when it was stopped: a later end means a new cycle.
    pub cycle_end: Option<DateTime<Utc>>,
    /// When a start was last tried (failed starts are retried after `LEVEL2_REPEAT`).
    #[serde(default)]
    pub last_start_attempt: Option<DateTime<Utc>>,
}

/// What the shutdown guard did.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ShutdownRecord {
    pub at: DateTime<Utc>,
    /// The Linux boot id at the time (to tell a later boot from this one).
    pub boot_id: Option<String>,
    /// The end of the package's cycle at the time.
    pub cycle_end: Option<DateTime<Utc>>,
    /// True when the executor reported success (a dry run counts as success).
    pub success: bool,
    pub outcome: String,
}

/// Monitoring health: consecutive failed polls and whether the user was told.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct HealthMemory {
    pub consecutive_failures: u32,
    pub alerted: bool,
    /// With several accounts, the account's poll count last judged (only a new poll of the
    /// account counts as a failure or a success).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub judged_polls: Option<u64>,
}

/// Why the store could not be opened or written.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("STATE_DIR={dir}: cannot create or open it: {source}; fix: create it and make it writable by this user")]
    Dir { dir: String, source: std::io::Error },
    #[error("STATE_DIR={dir} is in use by another flexus-traffic-monitor process (serve, or a check still running); stop it, or give each instance its own STATE_DIR")]
    Busy { dir: String },
    #[error("STATE_DIR={dir} is not writable: {source}; fix: make it writable by this user (state, shutdown records and queued messages are kept there)")]
    ReadOnly { dir: String, source: std::io::Error },
    #[error("cannot write {path}: {source}")]
    Write {
        path: String,
        source: std::io::Error,
    },
    #[error("cannot read {path}: {source}; nothing is done until it can be read (it holds the shutdown records); fix its permissions or move it away by hand — it is left untouched")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("{path} is not valid state ({error}) and cannot be moved aside to {moved_to}: {source}; fix: move it away by hand")]
    MoveAside {
        path: String,
        moved_to: String,
        error: String,
        source: std::io::Error,
    },
}

/// A note that the state file was unreadable and was moved aside.
#[derive(Debug, Clone)]
pub struct CorruptState {
    pub moved_to: PathBuf,
    pub error: String,
}

/// The open store, holding the lock.
#[derive(Debug)]
pub struct StateStore {
    dir: PathBuf,
    // Held for the store's lifetime; the lock is released when the file is closed.
    _lock: File,
}

impl StateStore {
    /// Opens (creating) `dir`, takes the lock (waiting up to `wait`, without blocking the
    /// runtime), checks that the directory is writable, and loads the state.
    ///
    /// # Errors
    /// The directory cannot be used or written, another process holds the lock past `wait`, or
    /// the state file cannot be read (see the module's documentation).
    pub async fn open(
        dir: &Path,
        wait: Duration,
    ) -> Result<(Self, State, Option<CorruptState>), StoreError> {
        let d = dir.display().to_string();
        fs::create_dir_all(dir).map_err(|source| StoreError::Dir {
            dir: d.clone(),
            source,
        })?;
        let lock_path = dir.join("state.lock");
        let lock = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&lock_path)
            // A lock file left by an earlier run can be locked through a read-only handle: then
            // the writability probe below names the real problem.
            .or_else(|e| File::open(&lock_path).map_err(|_| e))
            .map_err(|source| StoreError::Dir {
                dir: d.clone(),
                source,
            })?;
        let deadline = Instant::now() + wait;
        loop {
            match lock.try_lock() {
                Ok(()) => break,
                Err(fs::TryLockError::WouldBlock) if Instant::now() < deadline => {
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
                Err(fs::TryLockError::WouldBlock) => return Err(StoreError::Busy { dir: d }),
                Err(fs::TryLockError::Error(source)) => {
                    return Err(StoreError::Dir { dir: d, source })
                }
            }
        }
        let store = Self {
            dir: dir.to_path_buf(),
            _lock: lock,
        };
        store.probe_writable()?;
        let (state, corrupt) = store.load()?;
        Ok((store, state, corrupt))
    }

    /// Writes and removes a probe file: a read-only directory (whose lock file exists already, so
    /// opening it worked) is refused at start instead of failing at the first change.
    fn probe_writable(&self) -> Result<(), StoreError> {
        let probe = self.dir.join(".write-probe");
        write_atomic(&probe, b"")
            .and_then(|()| fs::remove_file(&probe))
            .map_err(|source| StoreError::ReadOnly {
                dir: self.dir.display().to_string(),
                source,
            })
    }

    /// The directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    fn path(&self) -> PathBuf {
        self.dir.join("state.json")
    }

    /// Loads the state: a missing file is the empty state; any other read error is an error.
    fn load(&self) -> Result<(State, Option<CorruptState>), StoreError> {
        let path = self.path();
        let bytes = match fs::read(&path) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Ok((State::default(), None))
            }
            Err(source) => {
                let e = StoreError::Read {
                    path: path.display().to_string(),
                    source,
                };
                tracing::error!(error = %e, "state file unreadable; refusing to act");
                return Err(e);
            }
        };
        match serde_json::from_slice::<State>(&bytes) {
            Ok(s) => Ok((s, None)),
            Err(e) => {
                let moved_to = self.dir.join(format!(
                    "state.json.corrupt-{}",
                    Utc::now().format("%Y%m%dT%H%M%SZ")
                ));
                fs::rename(&path, &moved_to).map_err(|source| StoreError::MoveAside {
                    path: path.display().to_string(),
                    moved_to: moved_to.display().to_string(),
                    error: e.to_string(),
                    source,
                })?;
                tracing::error!(moved_to = %moved_to.display(), error = %e, "state file is not valid state; kept aside, starting fresh");
                Ok((
                    State::default(),
                    Some(CorruptState {
                        moved_to,
                        error: e.to_string(),
                    }),
                ))
            }
        }
    }

    /// Writes the state atomically.
    ///
    /// # Errors
    /// Any I/O error; the previous state file is then unchanged.
    pub fn save(&self, state: &State) -> Result<(), StoreError> {
        let path = self.path();
        let bytes = serde_json::to_vec_pretty(state).expect("the state serializes");
        write_atomic(&path, &bytes).map_err(|source| StoreError::Write {
            path: path.display().to_string(),
            source,
        })
    }
}

/// The open store and the state in memory, shared by everything that changes state.
///
/// Changes follow one pattern: lock, copy, change the copy, do the durable side effects (queue
/// messages), save the copy, then replace the state in memory. If saving fails the memory keeps
/// the old state, so memory never runs ahead of disk. [`Self::update`] is that pattern for
/// changes without side effects; [`Self::lock`] and [`Self::commit`] are its two halves for the
/// engine, which queues messages between them.
#[derive(Debug)]
pub struct StateCell {
    store: StateStore,
    state: tokio::sync::Mutex<State>,
    /// False after a save failed, true again after one succeeded.
    writable: AtomicBool,
}

impl StateCell {
    pub fn new(store: StateStore, state: State) -> Self {
        Self {
            store,
            state: tokio::sync::Mutex::new(state),
            writable: AtomicBool::new(true),
        }
    }

    /// Changes the state with `change` and saves it (nothing is saved when nothing changed).
    ///
    /// # Errors
    /// When it cannot be written; the state in memory is then unchanged.
    pub async fn update(&self, change: impl FnOnce(&mut State)) -> Result<(), StoreError> {
        let mut guard = self.state.lock().await;
        let mut next = guard.clone();
        change(&mut next);
        if next == *guard {
            return Ok(());
        }
        self.commit(&mut guard, next)
    }

    /// Locks the state for a change; see [`StateCell`].
    pub async fn lock(&self) -> tokio::sync::MutexGuard<'_, State> {
        self.state.lock().await
    }

    /// Saves `next` and makes it the state in memory.
    ///
    /// # Errors
    /// When it cannot be written; the state in memory is then unchanged.
    pub fn commit(
        &self,
        guard: &mut tokio::sync::MutexGuard<'_, State>,
        next: State,
    ) -> Result<(), StoreError> {
        let saved = self.store.save(&next);
        self.writable.store(saved.is_ok(), Ordering::Release);
        saved?;
        **guard = next;
        Ok(())
    }

    /// Whether the last save succeeded (false: `STATE_DIR` turned unwritable while running).
    pub fn writable(&self) -> bool {
        self.writable.load(Ordering::Acquire)
    }

    /// A copy of the current state.
    pub async fn snapshot(&self) -> State {
        self.state.lock().await.clone()
    }

    /// The state directory.
    pub fn dir(&self) -> &Path {
        self.store.dir()
    }
}

/// The Linux boot id, if the system has one.
pub fn boot_id() -> Option<String> {
    fs::read_to_string("/proc/sys/kernel/random/boot_id")
        .ok()
        .map(|s| s.trim().to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn saves_and_loads() {
        let dir = tempfile::tempdir().unwrap();
        let (store, mut state, corrupt) =
            StateStore::open(dir.path(), Duration::ZERO).await.unwrap();
        assert!(corrupt.is_none());
        state.health.consecutive_failures = 2;
        store.save(&state).unwrap();
        drop(store);
        let (_, back, _) = StateStore::open(dir.path(), Duration::ZERO).await.unwrap();
        assert_eq!(back, state);
    }

    #[tokio::test(flavor = "current_thread")]
    async fn a_second_opener_waits_without_blocking_the_runtime_then_gives_up() {
        let dir = tempfile::tempdir().unwrap();
        let (_first, _, _) = StateStore::open(dir.path(), Duration::ZERO).await.unwrap();
        // On a one-thread runtime, a blocking wait would starve this ticker.
        let ticks = std::sync::Arc::new(std::sync::atomic::AtomicU32::new(0));
        let t = ticks.clone();
        let ticker = tokio::spawn(async move {
            loop {
                tokio::time::sleep(Duration::from_millis(10)).await;
                t.fetch_add(1, Ordering::Relaxed);
            }
        });
        let err = StateStore::open(dir.path(), Duration::from_millis(300))
            .await
            .unwrap_err();
        ticker.abort();
        assert!(
            ticks.load(Ordering::Relaxed) >= 5,
            "the runtime was blocked while waiting"
        );
        assert!(matches!(err, StoreError::Busy { .. }), "{err}");
        assert!(err.to_string().contains("STATE_DIR"));
    }

    #[tokio::test]
    async fn a_corrupt_file_is_kept_aside_and_replaced() {
        let dir = tempfile::tempdir().unwrap();
        fs::write(dir.path().join("state.json"), b"{\"packages\": [oops").unwrap();
        let (store, state, corrupt) = StateStore::open(dir.path(), Duration::ZERO).await.unwrap();
        assert_eq!(state, State::default());
        let c = corrupt.unwrap();
        assert_eq!(fs::read(&c.moved_to).unwrap(), b"{\"packages\": [oops");
        store.save(&state).unwrap();
        assert!(dir.path().join("state.json").exists());
    }

    #[tokio::test]
    async fn an_unreadable_file_is_an_error_and_is_left_untouched() {
        let dir = tempfile::tempdir().unwrap();
        // A directory where the file should be: unreadable even for root.
        fs::create_dir(dir.path().join("state.json")).unwrap();
        fs::write(dir.path().join("state.json").join("keep"), b"x").unwrap();
        let err = StateStore::open(dir.path(), Duration::ZERO)
            .await
            .unwrap_err();
        assert!(matches!(err, StoreError::Read { .. }), "{err}");
        assert!(err.to_string().contains("nothing is done"), "{err}");
        assert!(dir.path().join("state.json").join("keep").exists());
        let names: Vec<_> = fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().to_string())
            .collect();
        assert!(!names.iter().any(|n| n.contains("corrupt")), "{names:?}");
    }

    #[tokio::test]
    async fn update_saves_and_a_failed_save_is_reported_and_keeps_memory() {
        let dir = tempfile::tempdir().unwrap();
        let (store, state, _) = StateStore::open(dir.path(), Duration::ZERO).await.unwrap();
        let cell = StateCell::new(store, state);
        cell.update(|s| s.health.consecutive_failures = 1)
            .await
            .unwrap();
        assert!(cell.writable());
        // The directory's place taken: nothing can be written any more, even by root.
        let gone = dir.path().with_extension("gone");
        fs::rename(dir.path(), &gone).unwrap();
        fs::write(dir.path(), b"not a directory").unwrap();
        let err = cell.update(|s| s.health.consecutive_failures = 2).await;
        assert!(err.is_err());
        assert!(!cell.writable());
        assert_eq!(cell.snapshot().await.health.consecutive_failures, 1);
        fs::remove_file(dir.path()).unwrap();
        fs::rename(&gone, dir.path()).unwrap();
        cell.update(|s| s.health.consecutive_failures = 3)
            .await
            .unwrap();
        assert!(cell.writable());
    }
}
