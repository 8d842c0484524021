//! `serve`: the `bookrec-server` web app and JSON API, run from Python in a background thread.
//!
//! The state (model file, catalogue, ratings database) is loaded and the port bound in the
//! calling thread, so a bad file or a busy port raises at once; only the accept loop runs in
//! the background, on its own tokio runtime. Stopping is graceful (in-flight requests finish).
//! No OS signal handler is installed: `bookrec-server`'s `serve_on` would take over SIGINT,
//! which in a Python process (a Jupyter kernel) belongs to the interpreter.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Mutex;
use std::thread::JoinHandle;

use bookrec_server::AppState;
use pyo3::exceptions::{PyOSError, PyRuntimeError};
use pyo3::prelude::*;
use tokio::sync::oneshot;

use crate::errors::param;

/// A running server; `stop()` (or leaving a `with` block) shuts it down.
#[pyclass(frozen, module = "bookrec._bookrec")]
pub struct Server {
    addr: SocketAddr,
    running: Mutex<Option<Running>>,
}

struct Running {
    shutdown: oneshot::Sender<()>,
    thread: JoinHandle<Result<(), String>>,
}

#[pymethods]
impl Server {
    /// The address actually bound (the real port when 0 was asked for).
    #[getter]
    fn host(&self) -> String {
        self.addr.ip().to_string()
    }

    #[getter]
    fn port(&self) -> u16 {
        self.addr.port()
    }

    #[getter]
    fn running(&self) -> bool {
        self.running
            .lock()
            .map(|r| r.as_ref().is_some_and(|r| !r.thread.is_finished()))
            .unwrap_or(false)
    }

    /// Stops accepting connections, lets in-flight requests finish and joins the server
    /// thread. Idempotent. Raises RuntimeError if the server had failed.
    fn stop(&self, py: Python<'_>) -> PyResult<()> {
        let running = self
            .running
            .lock()
            .map_err(|_| PyRuntimeError::new_err("server handle poisoned"))?
            .take();
        let Some(running) = running else {
            return Ok(());
        };
        // The receiver is gone only if the server already ended; join reports why.
        let _ = running.shutdown.send(());
        let outcome = py.detach(move || running.thread.join());
        match outcome {
            Ok(Ok(())) => Ok(()),
            Ok(Err(e)) => Err(PyRuntimeError::new_err(format!(
                "bookrec server failed: {e}"
            ))),
            Err(_) => Err(PyRuntimeError::new_err("bookrec server thread panicked")),
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Ok(slot) = self.running.get_mut() {
            if let Some(running) = slot.take() {
                let _ = running.shutdown.send(());
                let _ = running.thread.join();
            }
        }
    }
}

/// Loads `model` (a model file), `ranker` (optional second model file that ranks, see
/// `bookrec_core::recommend`), `books` (optional catalogue CSV) and the SQLite ratings
/// database `db`, binds `host:port` (port 0 = any free port) and serves in a background
/// thread with `threads` tokio workers. `min_rating`: the server's minimum predicted rating
/// (`bookrec serve --min-rating`).
#[pyfunction]
#[pyo3(signature = (model, books, db, host, port, min_support, threads, ranker = None, min_rating = None))]
#[allow(clippy::too_many_arguments)]
pub fn serve(
    py: Python<'_>,
    model: PathBuf,
    books: Option<PathBuf>,
    db: PathBuf,
    host: String,
    port: u16,
    min_support: u32,
    threads: usize,
    ranker: Option<PathBuf>,
    min_rating: Option<f32>,
) -> PyResult<Server> {
    if threads == 0 {
        return Err(param("threads", threads, "must be at least 1"));
    }
    if let Some(m) = min_rating.filter(|m| !m.is_finite()) {
        return Err(param("min_rating", m, "must be a finite number"));
    }
    let ip: std::net::IpAddr = host
        .parse()
        .map_err(|_| param("host", &host, "must be an IP address, e.g. 127.0.0.1"))?;
    let state = py
        .detach(|| {
            AppState::load(
                &model,
                ranker.as_deref(),
                books.as_deref(),
                &db,
                min_support,
                min_rating,
            )
        })
        .map_err(|e| PyRuntimeError::new_err(format!("{e:#}")))?;
    let listener = std::net::TcpListener::bind(SocketAddr::new(ip, port))
        .and_then(|l| l.set_nonblocking(true).map(|()| l))
        .map_err(|e| PyOSError::new_err(format!("cannot listen on {ip}:{port}: {e}")))?;
    let addr = listener
        .local_addr()
        .map_err(|e| PyOSError::new_err(e.to_string()))?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(threads)
        .thread_name("bookrec-server")
        .enable_all()
        .build()
        .map_err(|e| PyRuntimeError::new_err(format!("cannot start the server runtime: {e}")))?;
    let (shutdown, stopped) = oneshot::channel::<()>();
    let thread = std::thread::Builder::new()
        .name("bookrec-server".into())
        .spawn(move || {
            runtime.block_on(async move {
                let listener =
                    tokio::net::TcpListener::from_std(listener).map_err(|e| e.to_string())?;
                let router = bookrec_server::app(state);
                axum::serve(
                    listener,
                    router.into_make_service_with_connect_info::<SocketAddr>(),
                )
                .with_graceful_shutdown(async {
                    let _ = stopped.await;
                })
                .await
                .map_err(|e| e.to_string())
            })
        })
        .map_err(|e| PyRuntimeError::new_err(format!("cannot start the server thread: {e}")))?;
    Ok(Server {
        addr,
        running: Mutex::new(Some(Running { shutdown, thread })),
    })
}
