//! The notifier: renders messages, queues them in the durable outbox, and delivers the outbox in
//! order through Telegram (or to the console when no bot is configured, as in `demo`).
//!
//! Delivery rules: a message is removed only once accepted; a 429 waits `retry_after`; 5xx and
//! network errors back off exponentially (1 s doubling to 5 min); an HTML parse error resends the
//! same message as plain text; a wrong token or chat keeps everything queued and retries slowly;
//! a message refused for good goes to `outbox/dead/`.

use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use tokio::sync::{Mutex, Notify};
use tokio_util::sync::CancellationToken;

use crate::level::Thresholds;
use crate::messages::{render, to_plain, Lang, Message};
use crate::metrics::Metrics;
use crate::telegram::{Outbox, TelegramClient, TelegramError};

/// Where messages go.
#[derive(Debug)]
pub enum Sink {
    Telegram(TelegramClient),
    /// Printed on the console (demo, or no bot configured): standard error when `stderr`, so
    /// that command output such as `check --json` stays clean.
    Console {
        stderr: bool,
    },
}

/// The outcome of one delivery pass.
#[derive(Debug, Clone, PartialEq)]
pub struct Pass {
    pub delivered: usize,
    pub remaining: usize,
    /// How long to wait before the next pass when messages remain.
    pub wait: Option<Duration>,
}

/// Queues and delivers messages.
pub struct Notifier {
    outbox: Outbox,
    sink: Sink,
    metrics: Arc<Metrics>,
    lang: Lang,
    thresholds: Thresholds,
    wake: Notify,
    /// One delivery pass at a time, so no message is sent twice. Holds the earliest time the
    /// next attempt may be made (after a 429 or an error), whoever calls.
    delivering: Mutex<Option<tokio::time::Instant>>,
}

const MAX_BACKOFF: Duration = Duration::from_secs(300);

fn backoff(attempts: u32) -> Duration {
    Duration::from_secs(1u64 << attempts.saturating_sub(1).min(9)).min(MAX_BACKOFF)
}

impl Notifier {
    pub fn new(
        outbox: Outbox,
        sink: Sink,
        metrics: Arc<Metrics>,
        lang: Lang,
        thresholds: Thresholds,
    ) -> Self {
        Self {
            outbox,
            sink,
            metrics,
            lang,
            thresholds,
            wake: Notify::new(),
            delivering: Mutex::new(None),
        }
    }

    /// The rendered text of a message.
    pub fn render(&self, m: &Message) -> String {
        render(m, self.lang, &self.thresholds)
    }

    /// Queues a message durably and wakes the delivery loop.
    ///
    /// # Errors
    /// When the outbox cannot be written (the caller must not consider the message recorded).
    pub fn enqueue(&self, m: &Message) -> std::io::Result<()> {
        self.outbox.enqueue(&self.render(m), Utc::now())?;
        self.wake.notify_one();
        Ok(())
    }

    /// Messages waiting.
    pub fn pending(&self) -> usize {
        self.outbox.len()
    }

    /// Messages refused for good.
    pub fn dead(&self) -> usize {
        self.outbox.dead_count()
    }

    /// Tries to deliver every queued message in order; stops at the first one that must wait.
    pub async fn deliver_pending(&self) -> Pass {
        let mut not_before = self.delivering.lock().await;
        let now = tokio::time::Instant::now();
        if let Some(t) = *not_before {
            if t > now {
                let remaining = self.outbox.len();
                return Pass {
                    delivered: 0,
                    remaining,
                    wait: (remaining > 0).then(|| t - now),
                };
            }
        }
        let pass = self.deliver_in_order().await;
        *not_before = pass.wait.map(|w| now + w);
        pass
    }

    async fn deliver_in_order(&self) -> Pass {
        let pending = match self.outbox.pending() {
            Ok(p) => p,
            Err(e) => {
                tracing::error!(error = %e, "cannot read the outbox");
                return Pass {
                    delivered: 0,
                    remaining: 0,
                    wait: Some(Duration::from_secs(30)),
                };
            }
        };
        let total = pending.len();
        let mut delivered = 0;
        for (path, mut q) in pending {
            let client = match &self.sink {
                Sink::Console { stderr } => {
                    let text = format!(
                        "\n----- message -----\n{}\n-------------------",
                        to_plain(&q.html)
                    );
                    if *stderr {
                        crate::logging::print_message(&text);
                    } else {
                        println!("{}", crate::logging::escape_keep_lines(&text));
                    }
                    let _ = self.outbox.remove(&path);
                    self.metrics
                        .notifications
                        .with_label_values(&["sent"])
                        .inc();
                    delivered += 1;
                    continue;
                }
                Sink::Telegram(c) => c,
            };
            let mut result = client.send(&self.text(&q), !q.plain).await;
            if let Err(TelegramError::ParseEntities(d)) = &result {
                // Escaping should prevent this; if Telegram still cannot parse, the same words as
                // plain text are better than no message.
                tracing::warn!(error = %d, "telegram could not parse the message; resending as plain text");
                q.plain = true;
                let _ = self.outbox.update(&path, &q);
                result = client.send(&self.text(&q), false).await;
            }
            match result {
                Ok(()) => {
                    if let Err(e) = self.outbox.remove(&path) {
                        tracing::error!(error = %e, "sent, but cannot remove it from the outbox");
                    }
                    self.metrics
                        .notifications
                        .with_label_values(&["sent"])
                        .inc();
                    delivered += 1;
                }
                Err(TelegramError::RetryAfter(d)) => {
                    self.metrics
                        .notifications
                        .with_label_values(&["rate_limited"])
                        .inc();
                    tracing::warn!(wait_s = d.as_secs(), "telegram rate limit; waiting as told");
                    return Pass {
                        delivered,
                        remaining: total - delivered,
                        wait: Some(d),
                    };
                }
                Err(e @ (TelegramError::Rejected { .. } | TelegramError::ParseEntities(_))) => {
                    self.metrics
                        .notifications
                        .with_label_values(&["failed"])
                        .inc();
                    tracing::error!(error = %e, "telegram refused the message for good; kept in outbox/dead/");
                    let _ = self.outbox.dead_letter(&path);
                    delivered += 1;
                }
                Err(e) => {
                    q.attempts += 1;
                    q.last_error = Some(e.to_string());
                    let _ = self.outbox.update(&path, &q);
                    self.metrics
                        .notifications
                        .with_label_values(&["retry"])
                        .inc();
                    let wait = if matches!(e, TelegramError::Unauthorized { .. }) {
                        MAX_BACKOFF
                    } else {
                        backoff(q.attempts)
                    };
                    tracing::warn!(error = %e, attempts = q.attempts, wait_s = wait.as_secs(), "telegram delivery failed; will retry");
                    return Pass {
                        delivered,
                        remaining: total - delivered,
                        wait: Some(wait),
                    };
                }
            }
        }
        Pass {
            delivered,
            remaining: 0,
            wait: None,
        }
    }

    fn text(&self, q: &crate::telegram::outbox::Queued) -> String {
        if q.plain {
            to_plain(&q.html)
        } else {
            q.html.clone()
        }
    }

    /// Delivers until the outbox is empty or `deadline` passes (for one-shot commands).
    pub async fn flush(&self, deadline: Duration) -> Pass {
        let until = tokio::time::Instant::now() + deadline;
        loop {
            let pass = self.deliver_pending().await;
            let Some(wait) = pass.wait else { return pass };
            if tokio::time::Instant::now() + wait > until {
                return pass;
            }
            tokio::time::sleep(wait).await;
        }
    }

    /// Delivers in the background until `cancel` fires.
    pub async fn run(self: Arc<Self>, cancel: CancellationToken) {
        loop {
            let pass = self.deliver_pending().await;
            let wait = pass.wait.unwrap_or(Duration::from_secs(60));
            tokio::select! {
                _ = cancel.cancelled() => return,
                _ = self.wake.notified(), if pass.wait.is_none() => {}
                _ = tokio::time::sleep(wait) => {}
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_five_minutes() {
        assert_eq!(backoff(1), Duration::from_secs(1));
        assert_eq!(backoff(2), Duration::from_secs(2));
        assert_eq!(backoff(5), Duration::from_secs(16));
        assert_eq!(backoff(30), MAX_BACKOFF);
    }
}
