//! The addresses of our own API hosts, which the throttle keeps out of its limit: looked up once,
//! refreshed rarely ([`REFRESH_EVERY`]), never on every poll. A failed lookup keeps the last good
//! addresses and is logged once (and once again when the host resolves anew), not at every poll;
//! a host that never resolved is tried again after [`RETRY_UNKNOWN`]. Lookups run side by side,
//! each bounded by a timeout, so an unreachable resolver costs one timeout at most, and only when
//! a throttle is to be installed (the enforcer asks for the addresses only then).
//!
//! The resolver is injected ([`Resolver`]): the system's (`getaddrinfo` through tokio) in the
//! service, a counting or failing one in tests.

use std::collections::BTreeMap;
use std::future::Future;
use std::net::{IpAddr, SocketAddr};
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use tokio::time::Instant;

/// How often known addresses are looked up again (DNS answers of cloud APIs move rarely; an
/// address that moved costs only its calls being throttled until then).
pub const REFRESH_EVERY: Duration = Duration::from_secs(3600);
/// How soon a host that has never resolved is tried again.
pub const RETRY_UNKNOWN: Duration = Duration::from_secs(300);
/// How long one lookup may take.
pub const LOOKUP_TIMEOUT: Duration = Duration::from_secs(5);

/// What a lookup returns.
pub type Lookup = Pin<Box<dyn Future<Output = std::io::Result<Vec<SocketAddr>>> + Send>>;

/// Looks up a host name and port.
pub type Resolver = Arc<dyn Fn(String, u16) -> Lookup + Send + Sync>;

/// The system's resolver.
pub fn system_resolver() -> Resolver {
    Arc::new(|host: String, port: u16| -> Lookup {
        Box::pin(async move {
            Ok(tokio::net::lookup_host((host.as_str(), port))
                .await?
                .collect())
        })
    })
}

/// What became of one host's lookup, worth a log line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// It failed, for the first time since it last worked; `kept` addresses stay in use.
    Failing { error: String, kept: usize },
    /// It works again after failing.
    Recovered,
}

/// How often to look up again, and how long to wait for an answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Intervals {
    /// Known addresses are looked up again after this long.
    pub refresh_every: Duration,
    /// A host that never resolved is tried again after this long.
    pub retry_unknown: Duration,
    /// One lookup may take this long.
    pub timeout: Duration,
}

impl Default for Intervals {
    fn default() -> Self {
        Self {
            refresh_every: REFRESH_EVERY,
            retry_unknown: RETRY_UNKNOWN,
            timeout: LOOKUP_TIMEOUT,
        }
    }
}

/// One host: its last good addresses and when it was last looked up.
#[derive(Debug, Clone, Default)]
struct Entry {
    addrs: Vec<(IpAddr, u16)>,
    checked: Option<Instant>,
    failing: bool,
}

impl Entry {
    /// Whether it is time to look it up again.
    fn due(&self, now: Instant, i: &Intervals) -> bool {
        let wait = if self.addrs.is_empty() {
            i.retry_unknown
        } else {
            i.refresh_every
        };
        self.checked.is_none_or(|at| now.duration_since(at) >= wait)
    }

    /// Takes a lookup's result; an event when it is worth a log line. Pure.
    fn take(&mut self, result: Result<Vec<(IpAddr, u16)>, String>, now: Instant) -> Option<Event> {
        self.checked = Some(now);
        match result {
            Ok(addrs) if !addrs.is_empty() => {
                self.addrs = addrs;
                std::mem::take(&mut self.failing).then_some(Event::Recovered)
            }
            Ok(_) => self.failed("no address".into()),
            Err(e) => self.failed(e),
        }
    }

    fn failed(&mut self, error: String) -> Option<Event> {
        if std::mem::replace(&mut self.failing, true) {
            None
        } else {
            Some(Event::Failing {
                error,
                kept: self.addrs.len(),
            })
        }
    }
}

/// The addresses of a fixed list of hosts, cached.
pub struct ApiAddresses {
    hosts: Vec<(String, u16)>,
    resolver: Resolver,
    intervals: Intervals,
    cache: tokio::sync::Mutex<BTreeMap<(String, u16), Entry>>,
}

impl ApiAddresses {
    pub fn new(hosts: Vec<(String, u16)>, resolver: Resolver) -> Self {
        Self {
            hosts,
            resolver,
            intervals: Intervals::default(),
            cache: tokio::sync::Mutex::new(BTreeMap::new()),
        }
    }

    /// With other intervals (tests).
    #[must_use]
    pub fn with_intervals(mut self, intervals: Intervals) -> Self {
        self.intervals = intervals;
        self
    }

    /// The hosts it looks up.
    pub fn hosts(&self) -> &[(String, u16)] {
        &self.hosts
    }

    /// Every known address (address, port), looking up the hosts that are due, side by side.
    pub async fn get(&self) -> Vec<(IpAddr, u16)> {
        let mut cache = self.cache.lock().await;
        let now = Instant::now();
        let mut lookups = tokio::task::JoinSet::new();
        for host in &self.hosts {
            if cache.get(host).is_none_or(|e| e.due(now, &self.intervals)) {
                let (name, port) = host.clone();
                let lookup = (self.resolver)(name, port);
                let timeout = self.intervals.timeout;
                let host = host.clone();
                lookups.spawn(async move {
                    let result = match tokio::time::timeout(timeout, lookup).await {
                        Ok(Ok(addrs)) => Ok(addrs.iter().map(|a| (a.ip(), a.port())).collect()),
                        Ok(Err(e)) => Err(e.to_string()),
                        Err(_) => Err(format!("no answer within {timeout:?}")),
                    };
                    (host, result)
                });
            }
        }
        while let Some(joined) = lookups.join_next().await {
            let Ok(((name, port), result)) = joined else {
                continue;
            };
            let entry = cache.entry((name.clone(), port)).or_default();
            match entry.take(result, now) {
                Some(Event::Failing { error, kept }) => {
                    tracing::warn!(host = %name, error = %error, kept_addresses = kept, "cannot resolve an API host; its calls may be throttled (tried again later, not logged again until it resolves)")
                }
                Some(Event::Recovered) => {
                    tracing::info!(host = %name, "an API host resolves again")
                }
                None => {}
            }
        }
        let mut out: Vec<(IpAddr, u16)> = Vec::new();
        for host in &self.hosts {
            for a in cache
                .get(host)
                .map(|e| e.addrs.as_slice())
                .unwrap_or_default()
            {
                if !out.contains(a) {
                    out.push(*a);
                }
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Mutex;

    use super::*;

    /// A resolver that counts its calls and answers what `answer` holds (an error when empty).
    fn counting(answer: Arc<Mutex<Vec<SocketAddr>>>) -> (Resolver, Arc<AtomicUsize>) {
        let calls = Arc::new(AtomicUsize::new(0));
        let c = calls.clone();
        let r: Resolver = Arc::new(move |_host, _port| -> Lookup {
            c.fetch_add(1, Ordering::SeqCst);
            let a = answer.lock().unwrap().clone();
            Box::pin(async move {
                if a.is_empty() {
                    Err(std::io::Error::other("failed to lookup address"))
                } else {
                    Ok(a)
                }
            })
        });
        (r, calls)
    }

    fn hosts() -> Vec<(String, u16)> {
        vec![("bss.example".into(), 443)]
    }

    /// Short intervals, in real time: a refresh after 300 ms.
    fn short() -> Intervals {
        Intervals {
            refresh_every: Duration::from_millis(300),
            retry_unknown: Duration::from_millis(300),
            timeout: Duration::from_millis(200),
        }
    }

    fn addr(s: &str) -> (IpAddr, u16) {
        (s.parse().unwrap(), 443)
    }

    #[tokio::test]
    async fn a_host_is_looked_up_once_and_again_only_when_the_refresh_is_due() {
        let answer = Arc::new(Mutex::new(vec!["192.0.2.1:443".parse().unwrap()]));
        let (r, calls) = counting(answer.clone());
        let a = ApiAddresses::new(hosts(), r).with_intervals(short());
        for _ in 0..10 {
            assert_eq!(a.get().await, vec![addr("192.0.2.1")]);
        }
        assert_eq!(calls.load(Ordering::SeqCst), 1, "ten polls, one lookup");
        *answer.lock().unwrap() = vec!["192.0.2.2:443".parse().unwrap()];
        tokio::time::sleep(Duration::from_millis(350)).await;
        assert_eq!(a.get().await, vec![addr("192.0.2.2")]);
        assert_eq!(calls.load(Ordering::SeqCst), 2);
    }

    #[tokio::test]
    async fn a_failing_resolver_keeps_the_last_good_addresses_and_is_not_asked_every_poll() {
        let answer = Arc::new(Mutex::new(vec!["192.0.2.1:443".parse().unwrap()]));
        let (r, calls) = counting(answer.clone());
        let a = ApiAddresses::new(hosts(), r).with_intervals(short());
        a.get().await;
        answer.lock().unwrap().clear();
        tokio::time::sleep(Duration::from_millis(350)).await;
        for _ in 0..5 {
            assert_eq!(a.get().await, vec![addr("192.0.2.1")]);
        }
        assert_eq!(calls.load(Ordering::SeqCst), 2, "one failed refresh");
    }

    #[tokio::test]
    async fn a_resolver_that_never_answers_costs_one_timeout_for_all_hosts() {
        let r: Resolver = Arc::new(|_h, _p| -> Lookup { Box::pin(std::future::pending()) });
        let many: Vec<(String, u16)> = (0..6).map(|i| (format!("h{i}.example"), 443)).collect();
        let a = ApiAddresses::new(many, r).with_intervals(short());
        let started = Instant::now();
        assert!(a.get().await.is_empty());
        let took = started.elapsed();
        assert!(took < Duration::from_millis(600), "side by side: {took:?}");
        // Not asked again at the next polls.
        let started = Instant::now();
        a.get().await;
        assert!(started.elapsed() < Duration::from_millis(50));
    }

    #[test]
    fn the_defaults_refresh_hourly() {
        let i = Intervals::default();
        assert_eq!(i.refresh_every, Duration::from_secs(3600));
        assert!(i.retry_unknown <= i.refresh_every && i.timeout <= Duration::from_secs(5));
    }

    #[test]
    fn a_failure_is_an_event_once_until_the_host_resolves_again() {
        let now = Instant::now();
        let good = || Ok(vec![addr("192.0.2.1")]);
        let mut e = Entry::default();
        assert_eq!(e.take(good(), now), None);
        assert_eq!(
            e.take(Err("timeout".into()), now),
            Some(Event::Failing {
                error: "timeout".into(),
                kept: 1
            })
        );
        assert_eq!(e.take(Err("timeout".into()), now), None);
        assert_eq!(e.take(Ok(Vec::new()), now), None, "no address is a failure");
        assert_eq!(e.addrs.len(), 1, "the last good addresses stay");
        assert_eq!(e.take(good(), now), Some(Event::Recovered));
        assert_eq!(e.take(good(), now), None);
    }
}
