//! Every background task of the application goes through one [`Tasks`]: spawned on one
//! [`TaskTracker`], cancelled through one [`CancellationToken`], and awaited on stop with a bound.
//! [`Keyed`] adds single flight by key (one countdown per package, one start per server), each
//! with its own cancel token and an optional typed reason.

use std::collections::BTreeMap;
use std::future::Future;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

/// The tracker and the stop token of one running application.
#[derive(Clone, Debug, Default)]
pub struct Tasks {
    tracker: TaskTracker,
    stop: CancellationToken,
}

impl Tasks {
    pub fn new() -> Self {
        Self::default()
    }

    /// Spawns `task` on the tracker.
    pub fn spawn<F>(&self, task: F) -> tokio::task::JoinHandle<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        self.tracker.spawn(task)
    }

    /// The token that fires when the application stops.
    pub fn stopping(&self) -> CancellationToken {
        self.stop.clone()
    }

    /// Whether the application is stopping.
    pub fn is_stopping(&self) -> bool {
        self.stop.is_cancelled()
    }

    /// Cancels every task and waits up to `bound` for them to end. Returns how many were still
    /// running when the bound passed (they are abandoned with the runtime).
    pub async fn stop(&self, bound: Duration) -> usize {
        self.stop.cancel();
        self.tracker.close();
        match tokio::time::timeout(bound, self.tracker.wait()).await {
            Ok(()) => 0,
            Err(_) => self.tracker.len(),
        }
    }

    /// How many tasks are running.
    pub fn len(&self) -> usize {
        self.tracker.len()
    }

    /// Whether no task is running.
    pub fn is_empty(&self) -> bool {
        self.tracker.is_empty()
    }
}

/// A cancel request with an optional reason, handed to a keyed task.
#[derive(Debug)]
pub struct Cancel<R> {
    token: CancellationToken,
    reason: Arc<Mutex<Option<R>>>,
}

impl<R: Clone> Cancel<R> {
    /// Resolves when the task is cancelled (by its key, or because the application stops).
    pub async fn cancelled(&self) {
        self.token.cancelled().await;
    }

    /// Whether the task was cancelled.
    pub fn is_cancelled(&self) -> bool {
        self.token.is_cancelled()
    }

    /// The reason given to [`Keyed::cancel`]; `None` when the application is stopping.
    pub fn reason(&self) -> Option<R> {
        lock(&self.reason).clone()
    }
}

struct Entry<R> {
    token: CancellationToken,
    reason: Arc<Mutex<Option<R>>>,
}

/// Single-flight tasks by key, on the application's [`Tasks`].
pub struct Keyed<K, R> {
    tasks: Tasks,
    running: Arc<Mutex<BTreeMap<K, Entry<R>>>>,
    idle: Arc<Notify>,
}

impl<K, R> Clone for Keyed<K, R> {
    fn clone(&self) -> Self {
        Self {
            tasks: self.tasks.clone(),
            running: self.running.clone(),
            idle: self.idle.clone(),
        }
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl<K, R> Keyed<K, R>
where
    K: Ord + Clone + Send + 'static,
    R: Clone + Send + 'static,
{
    pub fn new(tasks: Tasks) -> Self {
        Self {
            tasks,
            running: Arc::new(Mutex::new(BTreeMap::new())),
            idle: Arc::new(Notify::new()),
        }
    }

    /// Spawns `task(cancel)` under `key` unless a task with that key is running; returns whether
    /// it was spawned. The key is free again when the task ends.
    pub fn spawn<F, Fut>(&self, key: K, task: F) -> bool
    where
        F: FnOnce(Cancel<R>) -> Fut,
        Fut: Future<Output = ()> + Send + 'static,
    {
        let token = self.tasks.stop.child_token();
        let reason = Arc::new(Mutex::new(None));
        {
            let mut running = lock(&self.running);
            if running.contains_key(&key) {
                return false;
            }
            running.insert(
                key.clone(),
                Entry {
                    token: token.clone(),
                    reason: reason.clone(),
                },
            );
        }
        let fut = task(Cancel { token, reason });
        let running = self.running.clone();
        let idle = self.idle.clone();
        self.tasks.spawn(async move {
            fut.await;
            lock(&running).remove(&key);
            idle.notify_waiters();
        });
        true
    }

    /// Cancels the task of `key`, if one runs, with `reason` (the first reason given wins).
    pub fn cancel(&self, key: &K, reason: R) -> bool {
        let running = lock(&self.running);
        let Some(e) = running.get(key) else {
            return false;
        };
        lock(&e.reason).get_or_insert(reason);
        e.token.cancel();
        true
    }

    /// Whether a task of `key` is running.
    pub fn contains(&self, key: &K) -> bool {
        lock(&self.running).contains_key(key)
    }

    /// The keys of the running tasks, in order.
    pub fn keys(&self) -> Vec<K> {
        lock(&self.running).keys().cloned().collect()
    }

    /// Waits until no keyed task runs.
    pub async fn wait_idle(&self) {
        loop {
            let idle = self.idle.notified();
            if lock(&self.running).is_empty() {
                return;
            }
            idle.await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn one_task_per_key_and_stop_cancels_and_awaits_all() {
        let tasks = Tasks::new();
        let keyed: Keyed<String, &'static str> = Keyed::new(tasks.clone());
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
        let waiter = |tx: tokio::sync::mpsc::UnboundedSender<Option<&'static str>>| {
            move |cancel: Cancel<&'static str>| async move {
                cancel.cancelled().await;
                tx.send(cancel.reason()).unwrap();
            }
        };
        assert!(keyed.spawn("a".into(), waiter(tx.clone())));
        assert!(
            !keyed.spawn("a".into(), waiter(tx.clone())),
            "single flight"
        );
        assert!(keyed.spawn("b".into(), waiter(tx.clone())));
        assert_eq!(keyed.keys(), vec!["a".to_string(), "b".to_string()]);
        assert!(keyed.cancel(&"a".to_string(), "resolved"));
        assert_eq!(rx.recv().await.unwrap(), Some("resolved"));
        while keyed.contains(&"a".to_string()) {
            tokio::task::yield_now().await;
        }
        // Stopping cancels the rest (no reason) and waits for them.
        assert_eq!(tasks.stop(Duration::from_secs(5)).await, 0);
        assert_eq!(rx.recv().await.unwrap(), None);
        assert!(keyed.keys().is_empty());
        assert!(tasks.is_empty());
        keyed.wait_idle().await;
    }

    #[tokio::test]
    async fn stop_is_bounded() {
        let tasks = Tasks::new();
        tasks.spawn(async { tokio::time::sleep(Duration::from_secs(3600)).await });
        let left = tasks.stop(Duration::from_millis(50)).await;
        assert_eq!(left, 1);
    }
}
