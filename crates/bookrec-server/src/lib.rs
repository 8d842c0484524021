//! bookrec-server: the web app and JSON API over a fitted bookrec model.
//!
//! - [`app`] builds the axum [`Router`] from an [`AppState`] (model + catalogue + search index
//!   behind an `ArcSwap`, and the SQLite ratings [`store::Store`]);
//! - [`serve`] loads everything from files ([`ServeConfig`]) and serves until SIGINT/SIGTERM;
//! - [`serve_with`] serves an already-built state (the CLI's `bookrec demo`).
//!
//! Routes, flags and environment variables are listed in the crate README.

pub mod connections;
pub mod engine;
pub mod error;
pub mod metrics;
pub mod openapi;
pub mod routes;
pub mod search;
pub mod security;
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
pub use routes::{app, app_with};
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
    /// `open` or `accounts`; `None`: chosen from `addr` ([`security::AuthMode::default_for`]).
    pub auth: Option<security::AuthMode>,
    /// Mark cookies `Secure` (behind TLS).
    pub secure_cookies: bool,
    /// Host names accepted besides `localhost`, `127.0.0.1`, `[::1]` and the bound address.
    pub allowed_hosts: Vec<String>,
    /// Per-client write budget; `None`: unlimited.
    pub write_limit: Option<security::WriteLimit>,
    pub limits: connections::Limits,
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
            auth: None,
            secure_cookies: false,
            allowed_hosts: Vec::new(),
            write_limit: None,
            limits: connections::Limits::default(),
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
    /// Who may see and change readers' data: `open` (anyone may type a reader ID) or
    /// `accounts` (readers sign in or send a bearer token). Default: open on a loopback
    /// --addr, accounts on any other.
    #[arg(long, env = "BOOKREC_AUTH", value_enum)]
    pub auth: Option<security::AuthMode>,
    /// Mark the session and CSRF cookies `Secure` (set this when a TLS proxy is in front).
    #[arg(long, env = "BOOKREC_SECURE_COOKIES")]
    pub secure_cookies: bool,
    /// A host name clients may use to reach this server (the `Host` header), besides
    /// localhost, 127.0.0.1, [::1] and the --addr IP. Repeatable. Other hosts get 421.
    #[arg(
        long = "allowed-host",
        env = "BOOKREC_ALLOWED_HOSTS",
        value_delimiter = ','
    )]
    pub allowed_hosts: Vec<String>,
    /// Writes (ratings, sign-ups, sign-in attempts) each client IP may make per minute,
    /// with a burst of the same size; more get 429 with Retry-After. 0: no limit.
    #[arg(long, env = "BOOKREC_WRITE_RATE", default_value_t = 120)]
    pub write_rate: u32,
    /// Seconds a client has to send a request's headers, from connecting or (kept alive) from
    /// the previous answer; idle connections are closed after it too.
    #[arg(long, env = "BOOKREC_HEADER_TIMEOUT", default_value_t = 10)]
    pub header_timeout: u64,
    /// Seconds a connection may go silent in the middle of a request (e.g. a stalled body).
    #[arg(long, env = "BOOKREC_IDLE_TIMEOUT", default_value_t = 60)]
    pub idle_timeout: u64,
    /// Most open connections (default: the open-file limit minus 256, at most 10,000).
    #[arg(long, env = "BOOKREC_MAX_CONNECTIONS")]
    pub max_connections: Option<usize>,
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
        config.auth = self.auth;
        config.secure_cookies = self.secure_cookies;
        config.allowed_hosts = self.allowed_hosts;
        config.write_limit =
            std::num::NonZeroU32::new(self.write_rate).map(|n| security::WriteLimit {
                per_minute: n,
                burst: n,
            });
        config.limits = connections::Limits {
            header_read_timeout: Duration::from_secs(self.header_timeout.max(1)),
            idle_timeout: Duration::from_secs(self.idle_timeout.max(1)),
            max_connections: self
                .max_connections
                .unwrap_or_else(connections::default_max_connections),
        };
        config
    }

    /// The security settings these flags describe, for a server bound to `addr`.
    pub fn security(config: &ServeConfig, addr: &SocketAddr) -> security::SecurityConfig {
        let mut s = security::SecurityConfig::for_addr(addr, config.auth, &config.allowed_hosts);
        s.secure_cookies = config.secure_cookies;
        s.write_limit = config.write_limit;
        s
    }
}

/// Loads the model (and ranker), catalogue and database named by `config` and serves until
/// SIGINT/SIGTERM.
pub async fn serve(config: ServeConfig) -> anyhow::Result<()> {
    let (state, listener) = start(config.clone()).await?;
    serve_configured(state, listener, &config).await
}

/// Serves with the security settings and connection limits of `config` on a listener from
/// [`start`]; logs the auth mode first.
pub async fn serve_configured(
    state: AppState,
    listener: tokio::net::TcpListener,
    config: &ServeConfig,
) -> anyhow::Result<()> {
    let security = ServeArgs::security(config, &listener.local_addr()?);
    serve_on_with(state, listener, security, config.limits.clone()).await
}

/// The start of [`serve`]: loads everything named by `config`, starts the file watcher, and
/// binds the address. Once this returns, the server can only fail to start by a signal, so a
/// caller can announce its URL and then [`serve_configured`].
pub async fn start(config: ServeConfig) -> anyhow::Result<(AppState, tokio::net::TcpListener)> {
    let cfg = config.clone();
    let started = std::time::Instant::now();
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
    metrics::global().model_loaded(started.elapsed().as_secs_f64());
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

/// Binds `addr` and serves `state` until SIGINT/SIGTERM (graceful: in-flight requests finish),
/// with the defaults for `addr` (see [`security::SecurityConfig::for_addr`]).
pub async fn serve_with(state: AppState, addr: SocketAddr) -> anyhow::Result<()> {
    let security = security::SecurityConfig::for_addr(&addr, None, &[]);
    serve_on_with(
        state,
        bind(addr).await?,
        security,
        connections::Limits::default(),
    )
    .await
}

/// Serves on an already bound listener (lets callers bind port 0 and learn the port first),
/// in `open` mode with the default connection limits.
pub async fn serve_on(state: AppState, listener: tokio::net::TcpListener) -> anyhow::Result<()> {
    let security = security::SecurityConfig::for_addr(&listener.local_addr()?, None, &[]);
    serve_on_with(state, listener, security, connections::Limits::default()).await
}

/// Serves on `listener` with `security` and connection `limits` until SIGINT/SIGTERM.
pub async fn serve_on_with(
    state: AppState,
    listener: tokio::net::TcpListener,
    security: security::SecurityConfig,
    limits: connections::Limits,
) -> anyhow::Result<()> {
    serve_until(state, listener, security, limits, shutdown_signal()).await
}

/// [`serve_on_with`] until `shutdown` resolves (tests stop servers this way).
pub async fn serve_until(
    state: AppState,
    listener: tokio::net::TcpListener,
    security: security::SecurityConfig,
    limits: connections::Limits,
    shutdown: impl std::future::Future<Output = ()>,
) -> anyhow::Result<()> {
    let local = listener.local_addr()?;
    tracing::info!(
        url = %format!("http://{local}/"),
        auth = security.auth.name(),
        allowed_hosts = %security.allowed_hosts.join(","),
        max_connections = limits.max_connections,
        "bookrec is serving"
    );
    let security = std::sync::Arc::new(security::Security::new(security));
    let router: Router = routes::app_with(state, security);
    let open = std::sync::Arc::clone(&metrics::global().open_connections);
    connections::serve(listener, router, limits, open, shutdown)
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
        let started = std::time::Instant::now();
        match state.reload().await {
            Ok(_) => {
                metrics::global().model_loaded(started.elapsed().as_secs_f64());
                tracing::info!(files = ?paths, "model file changed: reloaded")
            }
            Err(e) => {
                metrics::global().reload_failures.inc();
                tracing::warn!(files = ?paths, error = %e, "model file changed but was rejected")
            }
        }
    }
}

/// Installs a `tracing` subscriber for request logs (`BOOKREC_LOG`, else `RUST_LOG`, default
/// `info`); does nothing if one is already installed (e.g. by the CLI).
pub fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_env("BOOKREC_LOG")
        .or_else(|_| tracing_subscriber::EnvFilter::try_from_default_env())
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_target(false)
        .try_init();
}
