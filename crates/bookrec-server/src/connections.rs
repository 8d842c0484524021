//! The accept loop, with the connection limits `axum::serve` does not offer:
//!
//! - at most [`Limits::max_connections`] open connections (a semaphore taken before `accept`;
//!   further clients wait in the kernel's listen backlog), kept below the process's
//!   file-descriptor limit so the server never runs out of descriptors for its own files;
//! - a header-read timeout (hyper's `header_read_timeout`): hyper 1.x starts it whenever it
//!   waits for a request head — at once on a new connection, and after each answer on a
//!   kept-alive one — so a client that sends nothing, headers a byte at a time, or nothing
//!   more after an answer is closed after it;
//! - an idle timeout for any other silence while hyper waits to read, e.g. a request body that
//!   stalls ([`IdleTimeout`]).
//!
//! Connections are served with hyper's HTTP/1.1 server (`hyper-util`'s `TokioIo` and
//! `TokioTimer`); shutdown is graceful (`hyper-util`'s `GracefulShutdown`: in-flight requests
//! finish, idle connections close).

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use axum::extract::ConnectInfo;
use axum::Router;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Semaphore;
use tokio::time::{Instant, Sleep};

/// Connection limits of one server.
#[derive(Clone, Debug)]
pub struct Limits {
    /// Time a client has to send a complete request head (default 10 s).
    pub header_read_timeout: Duration,
    /// Time a connection may go without a byte while a read waits, e.g. mid-body (default 60 s).
    pub idle_timeout: Duration,
    /// Most connections open at once.
    pub max_connections: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            header_read_timeout: Duration::from_secs(10),
            idle_timeout: Duration::from_secs(60),
            max_connections: default_max_connections(),
        }
    }
}

/// Descriptors kept free for everything that is not a client connection: the SQLite files
/// (one writer and four readers, each with its WAL and shared-memory files), the model files
/// during a reload, stdio, the runtime.
const RESERVED_FDS: u64 = 256;

/// The soft limit on open files minus [`RESERVED_FDS`], at most 10,000 and at least 16
/// (1,024 − 256 where the limit cannot be read).
pub fn default_max_connections() -> usize {
    let soft = std::fs::read_to_string("/proc/self/limits")
        .ok()
        .and_then(|text| {
            text.lines()
                .find(|l| l.starts_with("Max open files"))
                .and_then(|l| l.split_whitespace().nth(3))
                .and_then(|v| v.parse::<u64>().ok())
        })
        .unwrap_or(1024);
    soft.saturating_sub(RESERVED_FDS).clamp(16, 10_000) as usize
}

/// Gauge of open connections (for `/metrics`).
pub type OpenConnections = Arc<std::sync::atomic::AtomicI64>;

/// Serves `router` on `listener` with `limits` until `shutdown` resolves, then waits up to
/// 30 s for in-flight requests.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    limits: Limits,
    open: OpenConnections,
    shutdown: impl Future<Output = ()>,
) -> io::Result<()> {
    use std::sync::atomic::Ordering;
    let slots = Arc::new(Semaphore::new(limits.max_connections));
    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    let mut builder = hyper::server::conn::http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_read_timeout)
        .keep_alive(true);
    tokio::pin!(shutdown);
    loop {
        let permit = tokio::select! {
            p = Arc::clone(&slots).acquire_owned() => match p {
                Ok(p) => p,
                Err(_) => break,
            },
            () = &mut shutdown => break,
        };
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(a) => a,
                Err(e) => {
                    // EMFILE and friends: the limit above should prevent them, but never spin.
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let _ = stream.set_nodelay(true);
        let router = router.clone();
        let service = hyper::service::service_fn(move |mut req: hyper::Request<Incoming>| {
            req.extensions_mut().insert(ConnectInfo(peer));
            tower::ServiceExt::oneshot(router.clone(), req)
        });
        let io = TokioIo::new(IdleTimeout::new(stream, limits.idle_timeout));
        let conn = graceful.watch(builder.serve_connection(io, service));
        let open = Arc::clone(&open);
        open.fetch_add(1, Ordering::Relaxed);
        tokio::spawn(async move {
            if let Err(e) = conn.await {
                tracing::debug!(peer = %peer, error = %e, "connection closed with an error");
            }
            open.fetch_sub(1, Ordering::Relaxed);
            drop(permit);
        });
    }
    drop(listener);
    tokio::select! {
        () = graceful.shutdown() => {}
        () = tokio::time::sleep(Duration::from_secs(30)) => {
            tracing::warn!("connections still open 30 s after shutdown; exiting anyway");
        }
    }
    Ok(())
}

/// A stream that fails with `TimedOut` once `timeout` passes with no byte read or written
/// while a read is waiting: how an idle kept-alive connection is closed.
pub struct IdleTimeout<S> {
    inner: S,
    timeout: Duration,
    deadline: Pin<Box<Sleep>>,
}

impl<S> IdleTimeout<S> {
    pub fn new(inner: S, timeout: Duration) -> Self {
        IdleTimeout {
            inner,
            timeout,
            deadline: Box::pin(tokio::time::sleep(timeout)),
        }
    }

    fn touch(&mut self) {
        self.deadline.as_mut().reset(Instant::now() + self.timeout);
    }
}

impl AsyncRead for IdleTimeout<TcpStream> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        match Pin::new(&mut self.inner).poll_read(cx, buf) {
            Poll::Ready(r) => {
                if buf.filled().len() > before {
                    self.touch();
                }
                Poll::Ready(r)
            }
            Poll::Pending => match self.deadline.as_mut().poll(cx) {
                Poll::Ready(()) => Poll::Ready(Err(io::Error::new(
                    io::ErrorKind::TimedOut,
                    "idle connection timed out",
                ))),
                Poll::Pending => Poll::Pending,
            },
        }
    }
}

impl AsyncWrite for IdleTimeout<TcpStream> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let r = Pin::new(&mut self.inner).poll_write(cx, buf);
        if matches!(r, Poll::Ready(Ok(n)) if n > 0) {
            self.touch();
        }
        r
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn max_connections_stays_below_the_descriptor_limit() {
        let n = super::default_max_connections();
        assert!((16..=10_000).contains(&n), "{n}");
    }
}
