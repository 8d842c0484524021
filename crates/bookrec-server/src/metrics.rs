//! `/metrics` in the Prometheus text format (the `prometheus-client` crate, the Prometheus
//! project's own Rust client), and the access log.
//!
//! Metrics are process-wide (one registry, like every Prometheus client's default registry):
//! - `bookrec_http_requests_total{method,route,status}`: the route is the router's pattern
//!   (`/api/users/{id}/ratings`), never the raw path, so the label set stays small;
//! - `bookrec_http_request_duration_seconds{route}`: latency histogram, 0.5 ms … 16 s;
//! - `bookrec_ratings_stored`: ratings in the SQLite store (read at scrape time);
//! - `bookrec_fold_ins_total`: recommendation lists computed by folding a reader's ratings in;
//! - `bookrec_open_connections`;
//! - `bookrec_model_load_seconds` (how long the last successful load took),
//!   `bookrec_model_age_seconds` (since it was loaded), `bookrec_model_reload_failures_total`.
//!
//! The access log is one `info` line per request with a request id (also sent back as
//! `x-request-id`), method, path (without the query string), route, status and duration.
//! Headers and bodies are never logged, so passwords, cookies and tokens cannot leak there.

use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, LazyLock};
use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::Registry;

use crate::error::AppResult;
use crate::routes::blocking;
use crate::security::Caller;
use crate::state::AppState;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    method: String,
    route: String,
    status: u16,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RouteLabel {
    route: String,
}

/// The server's metrics.
pub struct Metrics {
    registry: Registry,
    requests: Family<RequestLabels, Counter>,
    latency: Family<RouteLabel, Histogram>,
    ratings_stored: Gauge,
    pub fold_ins: Counter,
    /// Open client connections (shared with the accept loop).
    pub open_connections: Arc<AtomicI64>,
    open_gauge: Gauge,
    model_load_seconds: Gauge<f64, AtomicU64>,
    model_age_seconds: Gauge<f64, AtomicU64>,
    pub reload_failures: Counter,
}

static METRICS: LazyLock<Metrics> = LazyLock::new(Metrics::new);

/// The process-wide metrics.
pub fn global() -> &'static Metrics {
    &METRICS
}

impl Metrics {
    fn new() -> Self {
        let mut registry = Registry::with_prefix("bookrec");
        let requests = Family::<RequestLabels, Counter>::default();
        registry.register(
            "http_requests",
            "HTTP requests answered, by method, route pattern and status",
            requests.clone(),
        );
        let latency = Family::<RouteLabel, Histogram>::new_with_constructor(|| {
            Histogram::new(exponential_buckets(0.0005, 2.0, 16))
        });
        registry.register(
            "http_request_duration_seconds",
            "Time from request to response head, by route pattern",
            latency.clone(),
        );
        let ratings_stored = Gauge::default();
        registry.register(
            "ratings_stored",
            "Ratings stored on this server (SQLite)",
            ratings_stored.clone(),
        );
        let fold_ins = Counter::default();
        registry.register(
            "fold_ins",
            "Recommendation lists computed by folding a reader's ratings into the model",
            fold_ins.clone(),
        );
        let open_gauge = Gauge::default();
        registry.register(
            "open_connections",
            "Client connections open now",
            open_gauge.clone(),
        );
        let model_load_seconds = Gauge::<f64, AtomicU64>::default();
        registry.register(
            "model_load_seconds",
            "Seconds the last successful model (and ranker) load took",
            model_load_seconds.clone(),
        );
        let model_age_seconds = Gauge::<f64, AtomicU64>::default();
        registry.register(
            "model_age_seconds",
            "Seconds since the model being served was loaded",
            model_age_seconds.clone(),
        );
        let reload_failures = Counter::default();
        registry.register(
            "model_reload_failures",
            "Model reloads rejected (the previous model kept serving)",
            reload_failures.clone(),
        );
        Metrics {
            registry,
            requests,
            latency,
            ratings_stored,
            fold_ins,
            open_connections: Arc::new(AtomicI64::new(0)),
            open_gauge,
            model_load_seconds,
            model_age_seconds,
            reload_failures,
        }
    }

    /// Records how long a successful model load took.
    pub fn model_loaded(&self, seconds: f64) {
        self.model_load_seconds.set(seconds);
    }
}

/// `GET /metrics`: same access rule as the admin routes (loopback in `open` mode, an admin
/// token in `accounts` mode).
pub async fn metrics_route(State(state): State<AppState>, caller: Caller) -> AppResult<Response> {
    caller.authorize_admin()?;
    let m = global();
    let store = state.store();
    // A busy database must not fail the scrape: the gauge keeps its last value.
    if let Ok(n) = blocking(move || Ok(store.count()?)).await {
        m.ratings_stored.set(i64::try_from(n).unwrap_or(i64::MAX));
    }
    let age = state
        .loaded()
        .loaded_at
        .elapsed()
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0);
    m.model_age_seconds.set(age);
    m.open_gauge.set(m.open_connections.load(Ordering::Relaxed));
    let mut text = String::new();
    prometheus_client::encoding::text::encode(&mut text, &m.registry)
        .map_err(|e| anyhow::anyhow!("encoding metrics: {e}"))?;
    Ok((
        [(
            header::CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        text,
    )
        .into_response())
}

static NEXT_ID: AtomicU64 = AtomicU64::new(1);

/// Counts and times every request and writes the access log line.
pub async fn observe(mut request: Request, next: Next) -> Response {
    let started = Instant::now();
    // Process start time in the id keeps ids from two runs apart in one log.
    static EPOCH: LazyLock<u64> = LazyLock::new(|| {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs() & 0xffff_ffff)
            .unwrap_or(0)
    });
    let id = format!(
        "{:08x}-{:06x}",
        *EPOCH,
        NEXT_ID.fetch_add(1, Ordering::Relaxed)
    );
    let method = request.method().to_string();
    let path = request.uri().path().to_string();
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or("unmatched", |m| m.as_str())
        .to_string();
    if let Ok(v) = HeaderValue::from_str(&id) {
        request.headers_mut().insert("x-request-id", v);
    }
    let mut response = next.run(request).await;
    let status = response.status();
    let elapsed = started.elapsed();
    let m = global();
    m.requests
        .get_or_create(&RequestLabels {
            method: method.clone(),
            route: route.clone(),
            status: status.as_u16(),
        })
        .inc();
    m.latency
        .get_or_create(&RouteLabel {
            route: route.clone(),
        })
        .observe(elapsed.as_secs_f64());
    if let Ok(v) = HeaderValue::from_str(&id) {
        response.headers_mut().insert("x-request-id", v);
    }
    let ms = elapsed.as_secs_f64() * 1000.0;
    let path = bookrec_core::error::excerpt(&path, 120);
    if status.is_server_error() && status != StatusCode::SERVICE_UNAVAILABLE {
        tracing::warn!(request_id = %id, %method, %path, %route, status = status.as_u16(), ms, "request");
    } else {
        tracing::info!(request_id = %id, %method, %path, %route, status = status.as_u16(), ms, "request");
    }
    response
}
