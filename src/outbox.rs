//! The durable outbox of one channel: every message part is a file in the channel's directory
//! before anyone tries to send it. Messages survive restarts and outages.
//!
//! Order: urgent parts (level 1, the shutdown countdown and its outcome) before everything else,
//! then by time of queueing (file names sort that way: `0-` urgent, `1-` normal, then the time).
//!
//! "Sent" is recorded durably *before* the file is removed: the part's name is appended (and
//! synced) to `sent.log`, a file held open from the start, so that it can be written even when
//! the directory has become read-only. A part whose name is in the log is never sent again, even
//! when its file could not be removed; the log is emptied once none of its parts is left.
//!
//! A part the service refuses for good is moved to `dead/` rather than deleted, and counted;
//! nothing is silently forgotten.

use std::collections::HashSet;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::channels::Meta;
use crate::fsutil::write_atomic;

pub use crate::telegram::MAX_MESSAGE_CHARS;

const SENT_LOG: &str = "sent.log";

/// One queued message part.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Queued {
    pub created_at: DateTime<Utc>,
    /// The text in the channel's markup (Telegram HTML for Telegram).
    #[serde(alias = "html")]
    pub text: String,
    #[serde(default)]
    pub title: String,
    /// Send as plain text (set after the service could not parse the markup).
    #[serde(default)]
    pub plain: bool,
    /// Goes before every normal part.
    #[serde(default)]
    pub urgent: bool,
    #[serde(default)]
    pub meta: Option<Meta>,
    /// 1-based part number and number of parts of the message.
    #[serde(default = "one")]
    pub index: u32,
    #[serde(default = "one")]
    pub count: u32,
    #[serde(default)]
    pub attempts: u32,
    #[serde(default)]
    pub last_error: Option<String>,
}

fn one() -> u32 {
    1
}

impl Queued {
    /// A new part.
    pub fn new(text: String, title: String, urgent: bool, now: DateTime<Utc>) -> Self {
        Self {
            created_at: now,
            text,
            title,
            plain: false,
            urgent,
            meta: None,
            index: 1,
            count: 1,
            attempts: 0,
            last_error: None,
        }
    }
}

/// The outbox directory of one channel.
#[derive(Debug)]
pub struct Outbox {
    dir: PathBuf,
    seq: AtomicU64,
    sent_log: Mutex<File>,
    #[cfg(test)]
    pub(crate) fail_removals: std::sync::atomic::AtomicBool,
}

/// Sort key: urgent first, then name (time of queueing). Names from before priorities existed
/// (`<nanos>-...`) count as normal.
fn order(name: &str) -> (u8, &str) {
    let rest = name.strip_prefix("0-").map(|r| (0, r));
    let rest = rest.or_else(|| name.strip_prefix("1-").map(|r| (1, r)));
    rest.unwrap_or((1, name))
}

fn name_of(path: &Path) -> String {
    path.file_name()
        .and_then(|n| n.to_str())
        .unwrap_or_default()
        .to_string()
}

impl Outbox {
    /// Opens (creating) `dir`.
    ///
    /// # Errors
    /// When the directory or its sent log cannot be created; the error names the path in the way.
    pub fn open(dir: &Path) -> io::Result<Self> {
        let at = |path: PathBuf| {
            move |e: io::Error| io::Error::new(e.kind(), format!("{}: {e}", path.display()))
        };
        let dead = dir.join("dead");
        fs::create_dir_all(&dead).map_err(at(dead))?;
        let log = dir.join(SENT_LOG);
        let sent_log = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&log)
            .map_err(at(log))?;
        Ok(Self {
            dir: dir.to_path_buf(),
            seq: AtomicU64::new(0),
            sent_log: Mutex::new(sent_log),
            #[cfg(test)]
            fail_removals: std::sync::atomic::AtomicBool::new(false),
        })
    }

    /// The directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Queues parts; returns once every part is on disk.
    ///
    /// # Errors
    /// Any I/O error; parts already written stay queued.
    pub fn enqueue_parts(&self, parts: &[Queued], now: DateTime<Utc>) -> io::Result<()> {
        for q in parts {
            let seq = self.seq.fetch_add(1, Ordering::Relaxed);
            let nanos = now.timestamp_nanos_opt().unwrap_or_default();
            let name = format!(
                "{}-{nanos:020}-{:08}-{seq:06}.json",
                if q.urgent { 0 } else { 1 },
                std::process::id()
            );
            write_atomic(
                &self.dir.join(name),
                &serde_json::to_vec(q).expect("serializes"),
            )?;
        }
        Ok(())
    }

    /// Queues a Telegram-HTML message, split into parts of at most 4096 characters.
    ///
    /// # Errors
    /// Any I/O error; parts already written stay queued.
    pub fn enqueue(&self, html: &str, now: DateTime<Utc>) -> io::Result<()> {
        let parts: Vec<Queued> = crate::messages::split(html, MAX_MESSAGE_CHARS)
            .into_iter()
            .map(|p| Queued::new(p, String::new(), false, now))
            .collect();
        self.enqueue_parts(&parts, now)
    }

    /// Names recorded as sent.
    fn sent(&self) -> HashSet<String> {
        fs::read_to_string(self.dir.join(SENT_LOG))
            .unwrap_or_default()
            .lines()
            .map(str::to_string)
            .collect()
    }

    /// The queued part files not yet sent, in delivery order (no reading of their contents).
    fn listing(&self) -> io::Result<(Vec<PathBuf>, HashSet<String>)> {
        let sent = self.sent();
        let mut paths: Vec<PathBuf> = fs::read_dir(&self.dir)?
            .filter_map(Result::ok)
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|e| e == "json") && p.is_file())
            .filter(|p| !name_of(p).starts_with('.'))
            .collect();
        paths.sort_by(|a, b| order(&name_of(a)).cmp(&order(&name_of(b))));
        Ok((paths, sent))
    }

    /// The first part waiting (the one delivery tries next), read without changing anything: for
    /// readers such as the status page.
    pub fn oldest(&self) -> Option<Queued> {
        let (paths, sent) = self.listing().ok()?;
        paths
            .iter()
            .filter(|p| !sent.contains(&name_of(p)))
            .find_map(|p| {
                fs::read(p)
                    .ok()
                    .and_then(|b| serde_json::from_slice::<Queued>(&b).ok())
            })
    }

    /// The queued parts, in delivery order. A file that cannot be read is moved to `dead/`; a part
    /// recorded as sent whose file is still there is removed (again) and not returned.
    ///
    /// # Errors
    /// When the directory cannot be listed.
    pub fn pending(&self) -> io::Result<Vec<(PathBuf, Queued)>> {
        let (paths, sent) = self.listing()?;
        let mut out = Vec::with_capacity(paths.len());
        let mut sent_left = false;
        for p in paths {
            if sent.contains(&name_of(&p)) {
                if self.remove_file(&p).is_err() {
                    sent_left = true;
                }
                continue;
            }
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
        if !sent.is_empty() && !sent_left {
            // Every part named in the log is gone: start it afresh.
            let log = self.sent_log.lock().unwrap_or_else(|p| p.into_inner());
            let _ = log.set_len(0);
        }
        Ok(out)
    }

    /// Number of queued parts not yet sent (reads only the directory listing and the sent log).
    pub fn len(&self) -> usize {
        self.count(false)
    }

    /// Number of queued parts, or of urgent ones only.
    pub fn count(&self, urgent_only: bool) -> usize {
        match self.listing() {
            Ok((paths, sent)) => paths
                .iter()
                .map(|p| name_of(p))
                .filter(|n| !sent.contains(n))
                .filter(|n| !urgent_only || n.starts_with("0-"))
                .count(),
            Err(_) => 0,
        }
    }

    /// Whether nothing is queued.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Rewrites a queued part (attempt count, plain-text flag).
    ///
    /// # Errors
    /// Any I/O error.
    pub fn update(&self, path: &Path, q: &Queued) -> io::Result<()> {
        write_atomic(path, &serde_json::to_vec(q).expect("serializes"))
    }

    fn remove_file(&self, path: &Path) -> io::Result<()> {
        #[cfg(test)]
        if self.fail_removals.load(Ordering::Relaxed) {
            return Err(io::Error::new(
                io::ErrorKind::PermissionDenied,
                "removal refused (test)",
            ));
        }
        match fs::remove_file(path) {
            Err(e) if e.kind() != io::ErrorKind::NotFound => Err(e),
            _ => Ok(()),
        }
    }

    /// Records a part as delivered: first in the sent log (synced), then by removing its file.
    ///
    /// # Errors
    /// When neither could be done (the part would be sent again after a restart).
    pub fn mark_sent(&self, path: &Path) -> io::Result<()> {
        let logged = {
            let mut log = self.sent_log.lock().unwrap_or_else(|p| p.into_inner());
            writeln!(log, "{}", name_of(path)).and_then(|()| log.sync_data())
        };
        match (logged, self.remove_file(path)) {
            (_, Ok(())) => Ok(()),
            (Ok(()), Err(e)) => {
                tracing::warn!(error = %e, "sent, but the outbox file cannot be removed yet; it is recorded as sent");
                Ok(())
            }
            (Err(_), Err(e)) => Err(e),
        }
    }

    /// Removes a delivered part (the same as [`Outbox::mark_sent`]).
    ///
    /// # Errors
    /// See [`Outbox::mark_sent`].
    pub fn remove(&self, path: &Path) -> io::Result<()> {
        self.mark_sent(path)
    }

    /// Moves a part the service will never accept to `dead/`.
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

    fn texts(o: &Outbox) -> Vec<String> {
        o.pending()
            .unwrap()
            .into_iter()
            .map(|(_, q)| q.text)
            .collect()
    }

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
        assert_eq!(
            texts(&o),
            (0..12).map(|i| format!("m{i}")).collect::<Vec<_>>()
        );
    }

    #[test]
    fn urgent_parts_go_first_then_old_and_new_normal_ones_by_time() {
        let dir = tempfile::tempdir().unwrap();
        // A file queued before priorities existed.
        fs::write(
            dir.path().join("01000000000000000000-00000001-000000.json"),
            br#"{"created_at":"2026-01-01T00:00:00Z","html":"legacy"}"#,
        )
        .unwrap();
        let o = Outbox::open(dir.path()).unwrap();
        let now = Utc::now();
        o.enqueue_parts(
            &[Queued::new("report".into(), String::new(), false, now)],
            now,
        )
        .unwrap();
        o.enqueue_parts(
            &[Queued::new("countdown".into(), String::new(), true, now)],
            now,
        )
        .unwrap();
        assert_eq!(texts(&o), ["countdown", "legacy", "report"]);
        assert_eq!((o.count(true), o.count(false)), (1, 3));
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
            .all(|(_, q)| q.text.chars().count() <= MAX_MESSAGE_CHARS));
    }

    #[test]
    fn garbage_files_go_to_dead_letters() {
        let dir = tempfile::tempdir().unwrap();
        let o = Outbox::open(dir.path()).unwrap();
        fs::write(dir.path().join("0001.json"), b"not json").unwrap();
        assert!(o.pending().unwrap().is_empty());
        assert_eq!(o.dead_count(), 1);
    }

    #[test]
    fn a_sent_part_whose_file_cannot_be_removed_is_not_sent_again() {
        let dir = tempfile::tempdir().unwrap();
        let o = Outbox::open(dir.path()).unwrap();
        o.enqueue("once", Utc::now()).unwrap();
        o.enqueue("twice", Utc::now()).unwrap();
        let (path, _) = o.pending().unwrap().remove(0);
        o.fail_removals.store(true, Ordering::Relaxed);
        o.mark_sent(&path).unwrap();
        assert!(path.exists(), "the removal failed");
        assert_eq!(texts(&o), ["twice"]);
        assert_eq!(o.len(), 1);
        // After a restart, with the directory writable again.
        drop(o);
        let o = Outbox::open(dir.path()).unwrap();
        assert_eq!(texts(&o), ["twice"], "sent again after recovery");
        assert!(!path.exists(), "removed once possible");
        // The log is emptied once none of its parts is left.
        let (p2, _) = o.pending().unwrap().remove(0);
        o.mark_sent(&p2).unwrap();
        assert!(texts(&o).is_empty());
        assert_eq!(fs::read_to_string(dir.path().join(SENT_LOG)).unwrap(), "");
    }
}
