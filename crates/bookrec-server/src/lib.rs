//! bookrec-server: the web app and JSON API over a fitted bookrec model.
//!
//! - [`app`] builds the axum [`Router`] from an [`AppState`] (model + catalogue + search index
//!   behind an `ArcSwap`, and the SQLite ratings [`store::Store`]);
//! - [`serve`] loads everything from files ([`ServeConfig`]) and serves until SIGINT/SIGTERM;
//! - [`serve_with`] serves an already-built state (the CLI's `bookrec demo`).
//!
//! Routes, flags and environment variables are listed in the crate README.

pub mod engine;
pub mod error;
pub mod openapi;
pub mod routes;
pub mod search;
pub mod state;
pub mod store;
pub mod templates;
pub mod views;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::{Duration, SystemTime};

use anyhow::Context;
use axum::Router;

pub use error::AppError;
pub use routes::app;
pub use state::{AppState, Loaded, Settings};
pub use store::Store;

/// Everything `bookrec serve` needs.
#[derive(Clone, Debug)]
pub struct ServeConfig {
    /// A model file written by `bookrec train`: predicts ratings, and ranks without a ranker.
    pub model_path: PathBuf,
    /// A second model file that chooses and orders the lists (e.g. `ials`); see
    /// [`bookrec_core::recommend`].
    pub ranker_path: Option<PathBuf>,
    /// The books CSV (titles, authors, covers); without it books show as their ids.
    pub books_path: Option<PathBuf>,
    /// SQLite file for submitted ratings, created on first run.
    pub db_path: PathBuf,
    pub addr: SocketAddr,
    /// Minimum training ratings for a book to be recommended or shown as similar.
    pub min_support: u32,
    /// Leave out books the rating model predicts below this (see [`Settings::min_rating`]).
    pub min_rating: Option<f32>,
    /// Poll the model and ranker files every `watch_interval` and hot-reload when one changes.
    pub watch_model: bool,
    pub watch_interval: Duration,
}

impl ServeConfig {
    /// Defaults: `bookrec-ratings.sqlite`, `127.0.0.1:8000`, the engine's default minimum
    /// support, watching the model file every 2 s.
    pub fn new(model_path: impl Into<PathBuf>) -> Self {
        ServeConfig {
            model_path: model_path.into(),
            ranker_path: None,
            books_path: None,
            db_path: PathBuf::from("bookrec-ratings.sqlite"),
            addr: SocketAddr::from(([127, 0, 0, 1], 8000)),
            min_support: Settings::default().min_support,
            min_rating: None,
            watch_model: true,
            watch_interval: Duration::from_secs(2),
        }
    }
}

/// The serving flags, each also read from an environment variable. Flattened into both
/// `bookrec serve` and the `bookrec-server` binary so they stay the same.
#[derive(clap::Args, Debug, Clone)]
pub struct ServeArgs {
    /// Model file written by `bookrec train`: supplies predicted ratings (and ranks, unless
    /// --ranker is given).
    #[arg(long, env = "BOOKREC_MODEL")]
    pub model: PathBuf,
    /// A second model file that chooses and orders the recommendations (e.g. one trained with
    /// `bookrec train --model ials`); --model then supplies the predicted ratings.
    #[arg(long, env = "BOOKREC_RANKER")]
    pub ranker: Option<PathBuf>,
    /// Books CSV (titles, authors, cover URLs); without it books show as ids.
    #[arg(long, env = "BOOKREC_BOOKS")]
    pub books: Option<PathBuf>,
    /// SQLite database for ratings submitted through the page or API (created on first run).
    #[arg(long, env = "BOOKREC_DB", default_value = "bookrec-ratings.sqlite")]
    pub db: PathBuf,
    /// Address to listen on.
    #[arg(long, env = "BOOKREC_ADDR", default_value = "127.0.0.1:8000")]
    pub addr: SocketAddr,
    /// Books with fewer training ratings are never recommended.
    #[arg(long, env = "BOOKREC_MIN_SUPPORT", default_value_t = Settings::default().min_support)]
    pub min_support: u32,
    /// Leave out of recommendations the books the rating model predicts below this rating
    /// (e.g. 6 on a 1–10 scale), filling the list from further down the ranking; a request's
    /// ?min_rating= overrides it.
    #[arg(long, env = "BOOKREC_MIN_RATING")]
    pub min_rating: Option<f32>,
    /// Do not watch the model and ranker files for changes (POST /admin/reload still works).
    #[arg(long, env = "BOOKREC_NO_WATCH")]
    pub no_watch: bool,
}

impl ServeArgs {
    /// The [`ServeConfig`] these flags describe (model files polled every 2 s unless
    /// `--no-watch`).
    pub fn into_config(self) -> ServeConfig {
        let mut config = ServeConfig::new(self.model);
        config.ranker_path = self.ranker;
        config.books_path = self.books;
        config.db_path = self.db;
        config.addr = self.addr;
        config.min_support = self.min_support;
        config.min_rating = self.min_rating;
        config.watch_model = !self.no_watch;
        config
    }
}

/// Loads the model (and ranker), catalogue and database named by `config` and serves until
/// SIGINT/SIGTERM.
pub async fn serve(config: ServeConfig) -> anyhow::Result<()> {
    let (state, listener) = start(config).await?;
    serve_on(state, listener).await
}

/// The start of [`serve`]: loads everything named by `config`, starts the file watcher, and
/// binds the address. Once this returns, the server can only fail to start by a signal, so a
/// caller can announce its URL and then [`serve_on`].
pub async fn start(config: ServeConfig) -> anyhow::Result<(AppState, tokio::net::TcpListener)> {
    let cfg = config.clone();
    let state = tokio::task::spawn_blocking(move || {
        AppState::load(
            &cfg.model_path,
            cfg.ranker_path.as_deref(),
            cfg.books_path.as_deref(),
            &cfg.db_path,
            cfg.min_support,
            cfg.min_rating,
        )
    })
    .await
    .context("start-up task failed")??;
    let listener = bind(config.addr).await?;
    if config.watch_model {
        tokio::spawn(watch_model_files(state.clone(), config.watch_interval));
    }
    Ok((state, listener))
}

async fn bind(addr: SocketAddr) -> anyhow::Result<tokio::net::TcpListener> {
    tokio::net::TcpListener::bind(addr)
        .await
        .with_context(|| format!("cannot listen on {addr}"))
}

/// Binds `addr` and serves `state` until SIGINT/SIGTERM (graceful: in-flight requests finish).
pub async fn serve_with(state: AppState, addr: SocketAddr) -> anyhow::Result<()> {
    serve_on(state, bind(addr).await?).await
}

/// Serves on an already bound listener (lets callers bind port 0 and learn the port first).
pub async fn serve_on(state: AppState, listener: tokio::net::TcpListener) -> anyhow::Result<()> {
    let local = listener.local_addr()?;
    tracing::info!(url = %format!("http://{local}/"), "bookrec is serving");
    let router: Router = app(state);
    axum::serve(
        listener,
        router.into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(shutdown_signal())
    .await
    .context("server error")?;
    tracing::info!("bookrec stopped");
    Ok(())
}

/// Resolves on SIGINT (Ctrl-C) or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        if let Err(e) = tokio::signal::ctrl_c().await {
            tracing::warn!(error = %e, "cannot listen for Ctrl-C");
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(e) => {
                tracing::warn!(error = %e, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
    tracing::info!("shutdown signal received, finishing in-flight requests");
}

/// Hot reload on file change: polls the modification time and size of the model file (and the
/// ranker file, if any); on a change (after the writer has had `interval` to finish) reloads
/// both together. A bad file or an incompatible pair is logged and the old models keep
/// serving; the same files are not retried until one changes again.
pub async fn watch_model_files(state: AppState, interval: Duration) {
    let paths = state.model_files();
    let stamp = || -> Option<Vec<(SystemTime, u64)>> {
        paths
            .iter()
            .map(|p| {
                let m = std::fs::metadata(p).ok()?;
                Some((m.modified().ok()?, m.len()))
            })
            .collect()
    };
    let mut last = stamp();
    let mut ticker = tokio::time::interval(interval);
    ticker.tick().await;
    loop {
        ticker.tick().await;
        let now = stamp();
        if now.is_none() || now == last {
            continue;
        }
        // Wait one more interval for a writer still copying a file, then compare again.
        tokio::time::sleep(interval).await;
        if stamp() != now {
            continue;
        }
        last = now;
        match state.reload().await {
            Ok(_) => tracing::info!(files = ?paths, "model file changed: reloaded"),
            Err(e) => {
                tracing::warn!(files = ?paths, error = %e, "model file changed but was rejected")
            }
        }
    }
}

/// Installs a `tracing` subscriber for request logs (`RUST_LOG`, default `info`); does nothing
/// if one is already installed (e.g. by the CLI).
pub fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_target(false)
        .try_init();
}
