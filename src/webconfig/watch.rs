//! The web configuration file in force, re-read when it or a file it names (certificate, key,
//! client CA) changes — exporter-toolkit re-reads it at every request and connection, so a renewed
//! certificate or a new user needs no restart; here a change of size, time or inode triggers the
//! read. A broken edit keeps the last good configuration and says so in the log once per edit; it
//! never opens the server. Whether the listener speaks TLS is fixed at start: an edit that adds or
//! removes `tls_server_config` is refused the same way (restart to apply it).

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::SystemTime;

use super::auth::BasicAuth;
use super::{load, Problem, WebConfig};

/// What identifies a version of a file: modification time, size and inode (`None`: unreadable).
type Mark = Option<(Option<SystemTime>, u64, u64)>;

fn mark(path: &Path) -> Mark {
    let m = std::fs::metadata(path).ok()?;
    #[cfg(unix)]
    let ino = std::os::unix::fs::MetadataExt::ino(&m);
    #[cfg(not(unix))]
    let ino = 0;
    Some((m.modified().ok(), m.len(), ino))
}

struct State {
    current: Arc<WebConfig>,
    /// Marks of the file and of the files it names, when `current` (or a refused edit) was read.
    seen: Vec<Mark>,
}

/// The web configuration in force.
pub struct Watch {
    path: PathBuf,
    tls: bool,
    state: Mutex<State>,
    auth: BasicAuth,
}

impl std::fmt::Debug for Watch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Watch")
            .field("path", &self.path)
            .field("tls", &self.tls)
            .finish_non_exhaustive()
    }
}

impl Watch {
    /// Reads the file at `path`.
    ///
    /// # Errors
    /// When it is not a valid web configuration.
    pub fn load(path: &Path) -> Result<Self, Problem> {
        let config = load(path)?;
        let seen = marks(path, &config);
        Ok(Self {
            path: path.to_path_buf(),
            tls: config.tls.is_some(),
            state: Mutex::new(State {
                current: Arc::new(config),
                seen,
            }),
            auth: BasicAuth::default(),
        })
    }

    /// Whether the listener speaks TLS (fixed at start).
    pub fn tls(&self) -> bool {
        self.tls
    }

    /// Whether `authorization` (a request's header) names a user of `basic_auth_users` with its
    /// password; `None` when the file has no users (no basic auth).
    pub async fn basic_auth(&self, authorization: Option<&str>) -> Option<bool> {
        let current = self.current();
        if current.users.is_empty() {
            return None;
        }
        Some(self.auth.check(&current.users, authorization).await)
    }

    /// The file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The configuration in force, read again first if a file changed since.
    pub fn current(&self) -> Arc<WebConfig> {
        let mut state = self
            .state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let now = marks(&self.path, &state.current);
        if now == state.seen {
            return state.current.clone();
        }
        let result = load(&self.path).and_then(|c| {
            if c.tls.is_some() == self.tls {
                Ok(c)
            } else {
                Err(Problem::new(
                    "tls_server_config",
                    if self.tls {
                        "was removed while running"
                    } else {
                        "was added while running"
                    },
                    "restart flexus-traffic-monitor to turn TLS on or off",
                    if self.tls {
                        "在运行中被删除"
                    } else {
                        "在运行中被添加"
                    },
                    "重启 flexus-traffic-monitor 以开启或关闭 TLS",
                ))
            }
        });
        match result {
            Ok(config) => {
                tracing::info!(path = %self.path.display(), users = config.users.len(), "web config: read again after a change");
                state.seen = marks(&self.path, &config);
                state.current = Arc::new(config);
            }
            Err(problem) => {
                tracing::warn!(path = %self.path.display(), error = %problem, "web config: the file changed but cannot be used; keeping the last good configuration");
                state.seen = now;
            }
        }
        state.current.clone()
    }
}

fn marks(path: &Path, config: &WebConfig) -> Vec<Mark> {
    std::iter::once(path)
        .chain(config.files.iter().map(PathBuf::as_path))
        .map(mark)
        .collect()
}
