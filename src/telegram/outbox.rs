//! The durable outbox: every message is a file in `STATE_DIR/outbox/` before anyone tries to send
//! it, and is removed only when Telegram accepted it. Messages survive restarts and outages and go
//! out in the order they were queued (file names sort by time of queueing).
//!
//! A message Telegram refuses for good (a 400 other than a parse error, after the plain-text retry)
//! is moved to `outbox/dead/` rather than deleted, and counted; nothing is silently forgotten.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::fsutil::write_atomic;
use crate::messages::split;

/// Telegram's limit on one message.
pub const MAX_MESSAGE_CHARS: usize = 4096;

/// One queued message.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Queued {
    pub created_at: DateTime<Utc>,
    /// The text in Telegram HTML.
    pub html: String,
    /// Send as plain text (set after Telegram could not parse the HTML).
    #[serde(default)]
    pub plain: bool,
    #[serde(default)]
    pub attempts: u32,
    #[serde(default)]
    pub last_error: Option<String>,
}

/// The outbox directory.
#[derive(Debug)]
pub struct Outbox {
    dir: PathBuf,
    seq: AtomicU64,
}

impl Outbox {
    /// Opens (creating) `dir`.
    ///
    /// # Errors
    /// When the directory cannot be created.
    pub fn open(dir: &Path) -> io::Result<Self> {
        fs::create_dir_all(dir.join("dead"))?;
        Ok(Self {
            dir: dir.to_path_buf(),
            seq: AtomicU64::new(0),
        })
    }

    /// Queues a message, split into parts of at most 4096 characters. Returns once every part is
    /// on disk.
    ///
    /// # Errors
    /// Any I/O error; parts already written stay queued.
    pub fn enqueue(&self, html: &str, now: DateTime<Utc>) -> io::Result<()> {
        for part in split(html, MAX_MESSAGE_CHARS) {
            let seq = self.seq.fetch_add(1, Ordering::Relaxed);
            let nanos = now.timestamp_nanos_opt().unwrap_or_default();
            let name = format!("{nanos:020}-{:08}-{seq:06}.json", std::process::id());
            let q = Queued {
                created_at: now,
                html: part,
                plain: false,
                attempts: 0,
                last_error: None,
            };
            write_atomic(
                &self.dir.join(name),
                &serde_json::to_vec(&q).expect("serializes"),
            )?;
        }
        Ok(())
    }

    /// The queued messages, oldest first. A file that cannot be read is moved to `dead/`.
    ///
    /// # Errors
    /// When the directory cannot be listed.
    pub fn pending(&self) -> io::Result<Vec<(PathBuf, Queued)>> {
        let mut paths: Vec<PathBuf> = fs::read_dir(&self.dir)?
            .filter_map(Result::ok)
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|e| e == "json") && p.is_file())
            .filter(|p| {
                !p.file_name()
                    .and_then(|n| n.to_str())
                    .unwrap_or(".")
                    .starts_with('.')
            })
            .collect();
        paths.sort();
        let mut out = Vec::with_capacity(paths.len());
        for p in paths {
            match fs::read(&p)
                .ok()
                .and_then(|b| serde_json::from_slice::<Queued>(&b).ok())
            {
                Some(q) => out.push((p, q)),
                None => {
                    tracing::error!(file = %p.display(), "unreadable outbox file moved to dead/");
                    let _ = self.dead_letter(&p);
                }
            }
        }
        Ok(out)
    }

    /// Number of queued messages.
    pub fn len(&self) -> usize {
        self.pending().map(|p| p.len()).unwrap_or(0)
    }

    /// Whether nothing is queued.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Rewrites a queued message (attempt count, plain-text flag).
    ///
    /// # Errors
    /// Any I/O error.
    pub fn update(&self, path: &Path, q: &Queued) -> io::Result<()> {
        write_atomic(path, &serde_json::to_vec(q).expect("serializes"))
    }

    /// Removes a delivered message.
    ///
    /// # Errors
    /// Any I/O error other than the file being gone already.
    pub fn remove(&self, path: &Path) -> io::Result<()> {
        match fs::remove_file(path) {
            Err(e) if e.kind() != io::ErrorKind::NotFound => Err(e),
            _ => Ok(()),
        }
    }

    /// Moves a message Telegram will never accept to `dead/`.
    ///
    /// # Errors
    /// Any I/O error.
    pub fn dead_letter(&self, path: &Path) -> io::Result<()> {
        let name = path.file_name().unwrap_or_default();
        fs::rename(path, self.dir.join("dead").join(name))
    }

    /// Number of dead letters.
    pub fn dead_count(&self) -> usize {
        fs::read_dir(self.dir.join("dead"))
            .map(|d| d.count())
            .unwrap_or(0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_come_out_in_order_and_survive_reopening() {
        let dir = tempfile::tempdir().unwrap();
        let o = Outbox::open(dir.path()).unwrap();
        let now = Utc::now();
        for i in 0..12 {
            o.enqueue(&format!("m{i}"), now).unwrap();
        }
        drop(o);
        let o = Outbox::open(dir.path()).unwrap();
        let got: Vec<String> = o
            .pending()
            .unwrap()
            .into_iter()
            .map(|(_, q)| q.html)
            .collect();
        assert_eq!(got, (0..12).map(|i| format!("m{i}")).collect::<Vec<_>>());
    }

    #[test]
    fn long_messages_are_queued_in_parts() {
        let dir = tempfile::tempdir().unwrap();
        let o = Outbox::open(dir.path()).unwrap();
        let text = vec!["y".repeat(1000); 9].join("\n");
        o.enqueue(&text, Utc::now()).unwrap();
        let parts = o.pending().unwrap();
        assert_eq!(parts.len(), 3);
        assert!(parts
            .iter()
            .all(|(_, q)| q.html.chars().count() <= MAX_MESSAGE_CHARS));
    }

    #[test]
    fn garbage_files_go_to_dead_letters() {
        let dir = tempfile::tempdir().unwrap();
        let o = Outbox::open(dir.path()).unwrap();
        fs::write(dir.path().join("0001.json"), b"not json").unwrap();
        assert!(o.pending().unwrap().is_empty());
        assert_eq!(o.dead_count(), 1);
    }
}
