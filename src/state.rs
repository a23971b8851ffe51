//! The state store: what must survive a restart (alert cadence, heartbeats, shutdown records,
//! monitoring health), in `STATE_DIR/state.json`.
//!
//! One process owns the state at a time: it holds an exclusive lock on `STATE_DIR/state.lock` for
//! as long as it runs, so two overlapping `check` runs (or a `check` beside `serve`) cannot corrupt or
//! double-act on it; the second waits for the lock or gives up with a clear error. Writes are atomic.
//! A file that cannot be read is moved aside (kept for inspection), reported, and replaced by a fresh
//! state. This module stores; it decides nothing.

use std::collections::BTreeMap;
use std::fs::{self, File, OpenOptions};
use std::path::{Path, PathBuf};
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
    /// Recently handled generic alerts (key → when), to drop duplicate deliveries.
    #[serde(default)]
    pub recent_alerts: BTreeMap<String, DateTime<Utc>>,
    /// Instances this process stopped through the ECS API, by server id (for `AUTO_START`).
    #[serde(default)]
    pub stopped: BTreeMap<String, StoppedRecord>,
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
}

/// Why the store could not be opened or written.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("STATE_DIR={dir}: cannot create or open it: {source}; fix: create it and make it writable by this user")]
    Dir { dir: String, source: std::io::Error },
    #[error("STATE_DIR={dir} is in use by another flexus-traffic-monitor process (serve, or a check still running); stop it, or give each instance its own STATE_DIR")]
    Busy { dir: String },
    #[error("cannot write {path}: {source}")]
    Write {
        path: String,
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
    /// Opens (creating) `dir`, takes the lock (waiting up to `wait`), and loads the state.
    ///
    /// # Errors
    /// The directory cannot be used, or another process holds the lock past `wait`.
    pub fn open(
        dir: &Path,
        wait: Duration,
    ) -> Result<(Self, State, Option<CorruptState>), StoreError> {
        let d = dir.display().to_string();
        fs::create_dir_all(dir).map_err(|source| StoreError::Dir {
            dir: d.clone(),
            source,
        })?;
        let lock = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(dir.join("state.lock"))
            .map_err(|source| StoreError::Dir {
                dir: d.clone(),
                source,
            })?;
        let deadline = Instant::now() + wait;
        loop {
            match lock.try_lock() {
                Ok(()) => break,
                Err(fs::TryLockError::WouldBlock) if Instant::now() < deadline => {
                    std::thread::sleep(Duration::from_millis(100))
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
        let (state, corrupt) = store.load();
        Ok((store, state, corrupt))
    }

    /// The directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    fn path(&self) -> PathBuf {
        self.dir.join("state.json")
    }

    fn load(&self) -> (State, Option<CorruptState>) {
        let path = self.path();
        let bytes = match fs::read(&path) {
            Ok(b) => b,
            Err(_) => return (State::default(), None),
        };
        match serde_json::from_slice::<State>(&bytes) {
            Ok(s) => (s, None),
            Err(e) => {
                let moved_to = self.dir.join(format!(
                    "state.json.corrupt-{}",
                    Utc::now().format("%Y%m%dT%H%M%SZ")
                ));
                let _ = fs::rename(&path, &moved_to);
                tracing::error!(moved_to = %moved_to.display(), error = %e, "state file unreadable; kept aside, starting fresh");
                (
                    State::default(),
                    Some(CorruptState {
                        moved_to,
                        error: e.to_string(),
                    }),
                )
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
/// the old state, so memory never runs ahead of disk.
#[derive(Debug)]
pub struct StateCell {
    store: StateStore,
    state: tokio::sync::Mutex<State>,
}

impl StateCell {
    pub fn new(store: StateStore, state: State) -> Self {
        Self {
            store,
            state: tokio::sync::Mutex::new(state),
        }
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
        self.store.save(&next)?;
        **guard = next;
        Ok(())
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

    #[test]
    fn saves_and_loads() {
        let dir = tempfile::tempdir().unwrap();
        let (store, mut state, corrupt) = StateStore::open(dir.path(), Duration::ZERO).unwrap();
        assert!(corrupt.is_none());
        state.health.consecutive_failures = 2;
        store.save(&state).unwrap();
        drop(store);
        let (_, back, _) = StateStore::open(dir.path(), Duration::ZERO).unwrap();
        assert_eq!(back, state);
    }

    #[test]
    fn a_second_opener_waits_then_gives_up() {
        let dir = tempfile::tempdir().unwrap();
        let (_first, _, _) = StateStore::open(dir.path(), Duration::ZERO).unwrap();
        let err = StateStore::open(dir.path(), Duration::from_millis(200)).unwrap_err();
        assert!(matches!(err, StoreError::Busy { .. }), "{err}");
        assert!(err.to_string().contains("STATE_DIR"));
    }

    #[test]
    fn a_corrupt_file_is_kept_aside_and_replaced() {
        let dir = tempfile::tempdir().unwrap();
        fs::write(dir.path().join("state.json"), b"{\"packages\": [oops").unwrap();
        let (store, state, corrupt) = StateStore::open(dir.path(), Duration::ZERO).unwrap();
        assert_eq!(state, State::default());
        let c = corrupt.unwrap();
        assert_eq!(fs::read(&c.moved_to).unwrap(), b"{\"packages\": [oops");
        store.save(&state).unwrap();
        assert!(dir.path().join("state.json").exists());
    }
}
