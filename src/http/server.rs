//! The HTTP listener: accepts connections within fixed limits and serves the router on each.
//!
//! `axum::serve` keeps any connection open as long as the client likes and accepts until the
//! process runs out of file descriptors; 1,100 idle connections then starved the BSS poller, the
//! Telegram outbox and the shutdown guard of sockets ("Too many open files"), and no shutdown
//! happened while they were held. This module bounds what the HTTP side can take, so the guard's
//! own sockets and files stay available whatever clients do:
//!
//! - at most [`Limits::max_connections`] connections at a time: the next one is accepted only when
//!   one closes (meanwhile new connections wait in the kernel's backlog and cost us nothing);
//! - a connection must send a request's headers within [`Limits::header_read_timeout`], counted
//!   from when the server starts waiting for them: this closes connections that never send a
//!   request, that drip headers slowly, and idle keep-alive connections between requests
//!   (hyper's `header_read_timeout`, which runs while a connection waits for the next request);
//! - a request's body must arrive within [`Limits::body_timeout`] in total (not per chunk, so a
//!   slow drip cannot reset it).
//!
//! HTTP/1.1 only (Prometheus, Alertmanager and browsers all speak it). It does not know the routes.

use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
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
    let slots = Arc::new(Semaphore::new(limits.max_connections));
    let connections = TaskTracker::new();
    loop {
        // A slot first, then accept: beyond the limit, connections wait in the backlog.
        let permit = tokio::select! {
            p = slots.clone().acquire_owned() => match p {
                Ok(p) => p,
                Err(_) => break,
            },
            () = cancel.cancelled() => break,
        };
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
        connections.spawn(connection(
            stream,
            peer,
            app.clone(),
            permit,
            cancel.clone(),
            limits,
        ));
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

async fn connection(
    stream: TcpStream,
    peer: SocketAddr,
    app: Router,
    _slot: OwnedSemaphorePermit,
    cancel: CancellationToken,
    limits: Limits,
) {
    let service = hyper::service::service_fn(move |req: Request<Incoming>| {
        let mut app = app.clone();
        let deadline = tokio::time::sleep(limits.body_timeout);
        let mut req = req.map(|body| Body::new(DeadlineBody::new(Body::new(body), deadline)));
        req.extensions_mut().insert(ConnectInfo(peer));
        async move { Ok::<_, Infallible>(app.call(req).await.unwrap_or_else(|e| match e {})) }
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
