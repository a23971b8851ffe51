//! The HTTP listener: accepts connections within fixed limits and serves the router on each.
//!
//! `axum::serve` keeps any connection open as long as the client likes and accepts until the
//! process runs out of file descriptors; 1,100 idle connections then starved the BSS poller, the
//! Telegram outbox and the shutdown guard of sockets ("Too many open files"), and no shutdown
//! happened while they were held. This module bounds what the HTTP side can take, so the guard's
//! own sockets and files stay available whatever clients do:
//!
//! - at most [`Limits::max_connections`] connections at a time. The listener keeps accepting; at
//!   the limit a new connection takes the slot of the oldest one that is not serving a request
//!   (idle between requests, or never used: still sending its headers, however slowly), which is
//!   closed — as nginx and hyper-based servers do. Waiting for a slot instead (the first design)
//!   let idle and slow clients hold every slot until their header timeout while new requests sat
//!   in the kernel's backlog, then were dropped and retried after 1, 3, 7, 15, 31 s: a Prometheus
//!   scrape failed and an Alertmanager webhook came a minute late with 1,000 idle connections
//!   held. A connection keeps its slot for `GRACE` after it is accepted (time for its request to
//!   arrive), so clients that reconnect as fast as they are closed cannot take a slot from a
//!   request on its way. Only when every slot serves a request does the next connection wait;
//! - sockets still closing count too (at most `CLOSING_HEADROOM` beyond the limit), so the file
//!   descriptors the guard needs stay free however fast clients come and go;
//! - the listen backlog is [`BACKLOG`] (the kernel caps it at `net.core.somaxconn`), so a burst
//!   of connections waits to be accepted rather than being dropped;
//! - a connection must send a request's headers within [`Limits::header_read_timeout`], counted
//!   from when the server starts waiting for them: this closes connections that never send a
//!   request, that drip headers slowly, and idle keep-alive connections between requests
//!   (hyper's `header_read_timeout`, which runs while a connection waits for the next request);
//! - a request's body must arrive within [`Limits::body_timeout`] in total (not per chunk, so a
//!   slow drip cannot reset it).
//!
//! - with TLS (the web configuration file's `tls_server_config`), the handshake happens after the
//!   connection has its slot, counts as idle (a newer connection may take its slot) and must end
//!   within [`Limits::header_read_timeout`]; the certificate and settings in force are taken anew
//!   for each connection, so a renewed certificate is served without a restart.
//!
//! HTTP/1.1 only (Prometheus, Alertmanager and browsers all speak it). It does not know the routes.

use std::collections::BTreeMap;
use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::extract::ConnectInfo;
use axum::http::Request;
use axum::Router;
use http_body::Frame;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tower_service::Service;

use crate::webconfig::watch::Watch;

/// The bounds of the HTTP side.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Open connections at most. Prometheus needs one, Alertmanager a few, a browser six.
    pub max_connections: usize,
    /// Time to send a request's headers, and the longest a connection may sit idle.
    pub header_read_timeout: Duration,
    /// Time to send a request's whole body (the largest accepted body is 1 MiB).
    pub body_timeout: Duration,
}

/// How long a new connection keeps its slot before it may be closed for a newer one, unused: time
/// for a client to send its request (on loopback it arrives within a millisecond). Bounds how fast
/// clients that reconnect at once can churn the slots.
const GRACE: Duration = Duration::from_millis(25);

/// Sockets beyond [`Limits::max_connections`] that may still be closing (their slot already went to
/// a newer connection).
const CLOSING_HEADROOM: usize = 64;

/// The listen backlog: connections the kernel holds until the program accepts them.
pub const BACKLOG: u32 = 4096;

/// Binds `addr` with [`BACKLOG`] (tokio's `TcpListener::bind` takes the platform's 128).
///
/// # Errors
/// When the address cannot be bound.
pub fn bind(addr: SocketAddr) -> std::io::Result<TcpListener> {
    let socket = if addr.is_ipv4() {
        tokio::net::TcpSocket::new_v4()?
    } else {
        tokio::net::TcpSocket::new_v6()?
    };
    socket.set_reuseaddr(true)?;
    socket.bind(addr)?;
    socket.listen(BACKLOG)
}

/// One open connection, as the listener sees it.
struct Open {
    /// Requests being served now (0: idle or never used, so it may be closed to admit another).
    serving: AtomicUsize,
    /// Closes it.
    close: CancellationToken,
    /// When it was accepted.
    accepted: tokio::time::Instant,
    /// Its slot, while it has one. Closing it hands the slot straight to the connection that
    /// takes its place, so the listener never waits for a closed connection's task to end.
    slot: Mutex<Option<OwnedSemaphorePermit>>,
}

/// Every open connection, oldest first (ids grow).
#[derive(Default)]
struct Registry {
    next: AtomicU64,
    open: Mutex<BTreeMap<u64, Arc<Open>>>,
}

impl Registry {
    fn add(&self, slot: OwnedSemaphorePermit) -> (u64, Arc<Open>) {
        let id = self.next.fetch_add(1, Ordering::Relaxed);
        let open = Arc::new(Open {
            serving: AtomicUsize::new(0),
            close: CancellationToken::new(),
            accepted: tokio::time::Instant::now(),
            slot: Mutex::new(Some(slot)),
        });
        self.lock().insert(id, open.clone());
        (id, open)
    }

    /// Forgets a connection that ended, freeing its slot if it still had one.
    fn remove(&self, id: u64, open: &Open) {
        self.lock().remove(&id);
        drop(lock(&open.slot).take());
    }

    /// Closes the oldest connection that serves no request and takes its slot. `Err(None)`
    /// when every connection serves one; `Err(Some(wait))` when the oldest idle one was accepted
    /// less than [`GRACE`] ago: it may be a client whose request is on its way, so it gets the
    /// rest of its grace first.
    fn close_oldest_idle(&self) -> Result<OwnedSemaphorePermit, Option<Duration>> {
        let mut open = self.lock();
        let (id, o) = open
            .iter()
            .find(|(_, o)| o.serving.load(Ordering::Acquire) == 0)
            .ok_or(None)?;
        let age = o.accepted.elapsed();
        if age < GRACE {
            return Err(Some(GRACE - age));
        }
        let id = *id;
        let o = open.remove(&id).ok_or(None)?;
        o.close.cancel();
        let slot = lock(&o.slot).take();
        slot.ok_or(None)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, BTreeMap<u64, Arc<Open>>> {
        lock(&self.open)
    }
}

/// A panic while holding one of these locks cannot leave its value inconsistent (single inserts,
/// removes and takes), so a poisoned lock is used as it is.
fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// The limits the program runs with (documented in the README's reliability section).
pub const LIMITS: Limits = Limits {
    max_connections: 256,
    header_read_timeout: Duration::from_secs(10),
    body_timeout: Duration::from_secs(10),
};

/// Serves `app` on `listener` within `limits` until `cancel` fires, then lets requests in
/// progress finish and closes idle connections.
///
/// # Errors
/// Never at present; accept errors (such as running out of file descriptors) are logged and
/// retried after a pause, as `axum::serve` does.
pub async fn serve_with(
    listener: TcpListener,
    app: Router,
    cancel: CancellationToken,
    limits: Limits,
) -> std::io::Result<()> {
    serve_web(listener, app, cancel, limits, None).await
}

/// [`serve_with`], speaking TLS when `web` turns it on.
///
/// # Errors
/// As [`serve_with`].
pub async fn serve_web(
    listener: TcpListener,
    app: Router,
    cancel: CancellationToken,
    limits: Limits,
    web: Option<Arc<Watch>>,
) -> std::io::Result<()> {
    let web = web.filter(|w| w.tls());
    let slots = Arc::new(Semaphore::new(limits.max_connections));
    // Sockets, counting those closed for a newer connection whose task has not ended yet: the
    // file descriptors the HTTP side may hold whatever the pace of clients.
    let sockets = Arc::new(Semaphore::new(limits.max_connections + CLOSING_HEADROOM));
    let registry = Arc::new(Registry::default());
    let connections = TaskTracker::new();
    loop {
        let socket = tokio::select! {
            p = sockets.clone().acquire_owned() => match p {
                Ok(p) => p,
                Err(_) => break,
            },
            () = cancel.cancelled() => break,
        };
        // Accept as soon as a socket may be held, so that the backlog drains whatever the
        // clients do.
        let (stream, peer) = tokio::select! {
            r = listener.accept() => match r {
                Ok(accepted) => accepted,
                Err(e) => {
                    if !is_connection_error(&e) {
                        tracing::warn!(error = %e, "http: cannot accept a connection; retrying in 1 s");
                        tokio::time::sleep(Duration::from_secs(1)).await;
                    }
                    continue;
                }
            },
            () = cancel.cancelled() => break,
        };
        // Then a slot: free, or taken from the oldest idle connection, or (every connection
        // serving a request) the first to come free.
        let permit = loop {
            if let Ok(p) = slots.clone().try_acquire_owned() {
                break Some(p);
            }
            let wait = match registry.close_oldest_idle() {
                Ok(p) => break Some(p),
                Err(Some(grace)) => grace,
                // Every connection serves a request: the first to come free.
                Err(None) => Duration::MAX,
            };
            tokio::select! {
                p = slots.clone().acquire_owned() => break p.ok(),
                () = tokio::time::sleep(wait.min(Duration::from_secs(3600))) => {}
                () = cancel.cancelled() => break None,
            }
        };
        let Some(permit) = permit else { break };
        let (id, open) = registry.add(permit);
        let registry = registry.clone();
        let cancel = cancel.clone();
        let app = app.clone();
        let web = web.clone();
        connections.spawn(async move {
            match web {
                None => connection(stream, peer, app, open.clone(), cancel, limits).await,
                Some(web) => {
                    if let Some(tls) = handshake(&web, stream, peer, &open, &cancel, limits).await {
                        connection(tls, peer, app, open.clone(), cancel, limits).await;
                    }
                }
            }
            registry.remove(id, &open);
            drop(socket);
        });
    }
    drop(listener);
    connections.close();
    connections.wait().await;
    Ok(())
}

/// Errors of one connection that came and went before it was accepted: not worth a pause.
fn is_connection_error(e: &std::io::Error) -> bool {
    use std::io::ErrorKind::{ConnectionAborted, ConnectionRefused, ConnectionReset};
    matches!(
        e.kind(),
        ConnectionRefused | ConnectionAborted | ConnectionReset
    )
}

/// Counts a request as being served until dropped (the response is ready, or the request failed).
struct Serving(Arc<Open>);

impl Serving {
    fn start(open: &Arc<Open>) -> Self {
        open.serving.fetch_add(1, Ordering::AcqRel);
        Self(open.clone())
    }
}

impl Drop for Serving {
    fn drop(&mut self) {
        self.0.serving.fetch_sub(1, Ordering::AcqRel);
    }
}

/// The TLS handshake of a new connection, with the settings in force now; `None` when it failed,
/// took longer than the header timeout, or the connection was closed meanwhile.
async fn handshake(
    web: &Watch,
    stream: TcpStream,
    peer: SocketAddr,
    open: &Open,
    cancel: &CancellationToken,
    limits: Limits,
) -> Option<tokio_rustls::server::TlsStream<TcpStream>> {
    let config = web.current().tls.clone()?;
    let accept = tokio_rustls::TlsAcceptor::from(config).accept(stream);
    tokio::select! {
        r = tokio::time::timeout(limits.header_read_timeout, accept) => match r {
            Ok(Ok(tls)) => Some(tls),
            Ok(Err(e)) => {
                tracing::debug!(%peer, error = %e, "http: TLS handshake failed");
                None
            }
            Err(_) => {
                tracing::debug!(%peer, "http: TLS handshake timed out");
                None
            }
        },
        () = open.close.cancelled() => None,
        () = cancel.cancelled() => None,
    }
}

async fn connection<S>(
    stream: S,
    peer: SocketAddr,
    app: Router,
    open: Arc<Open>,
    cancel: CancellationToken,
    limits: Limits,
) where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let counted = open.clone();
    let service = hyper::service::service_fn(move |req: Request<Incoming>| {
        let serving = Serving::start(&counted);
        let mut app = app.clone();
        let deadline = tokio::time::sleep(limits.body_timeout);
        let mut req = req.map(|body| Body::new(DeadlineBody::new(Body::new(body), deadline)));
        req.extensions_mut().insert(ConnectInfo(peer));
        async move {
            let response = app.call(req).await.unwrap_or_else(|e| match e {});
            drop(serving);
            Ok::<_, Infallible>(response)
        }
    });
    let conn = hyper::server::conn::http1::Builder::new()
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_read_timeout)
        .serve_connection(TokioIo::new(stream), service);
    let mut conn = std::pin::pin!(conn);
    tokio::select! {
        r = conn.as_mut() => {
            if let Err(e) = r {
                tracing::debug!(%peer, error = %e, "http: connection ended");
            }
        }
        // Its slot went to a newer connection: it serves nothing, so it is simply closed (a
        // request that began in the meantime is finished first).
        () = open.close.cancelled() => {
            if open.serving.load(Ordering::Acquire) > 0 {
                conn.as_mut().graceful_shutdown();
                let _ = conn.await;
            }
        }
        () = cancel.cancelled() => {
            conn.as_mut().graceful_shutdown();
            let _ = conn.await;
        }
    }
}

/// A request body that fails once its deadline passes, however it trickles in.
struct DeadlineBody {
    body: Body,
    deadline: Pin<Box<tokio::time::Sleep>>,
}

impl DeadlineBody {
    fn new(body: Body, deadline: tokio::time::Sleep) -> Self {
        Self {
            body,
            deadline: Box::pin(deadline),
        }
    }
}

/// The body did not arrive in time.
#[derive(Debug, thiserror::Error)]
#[error("the request body did not arrive within the time allowed")]
pub struct BodyTimeout;

impl http_body::Body for DeadlineBody {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, axum::Error>>> {
        if self.deadline.as_mut().poll(cx).is_ready() {
            return Poll::Ready(Some(Err(axum::Error::new(BodyTimeout))));
        }
        Pin::new(&mut self.body).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        self.body.size_hint()
    }
}
