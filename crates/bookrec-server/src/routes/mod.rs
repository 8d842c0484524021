//! The router: pages (HTML), the JSON API, admin routes, static assets and the API docs.

pub mod admin;
pub mod api;
pub mod auth;
pub mod pages;

use std::sync::Arc;

use axum::extract::DefaultBodyLimit;
use tower_http::set_header::SetResponseHeaderLayer;

use crate::security::{Security, SecurityConfig};

use axum::extract::{FromRequest, FromRequestParts};
use axum::http::{header, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;

use crate::error::{AppError, AppResult};
use crate::state::AppState;

/// `Path` whose rejection is an [`AppError`] (JSON 400), not axum's plain text.
#[derive(FromRequestParts)]
#[from_request(via(axum::extract::Path), rejection(AppError))]
pub struct ApiPath<T>(pub T);

/// `Query` whose rejection is an [`AppError`].
#[derive(FromRequestParts)]
#[from_request(via(axum::extract::Query), rejection(AppError))]
pub struct ApiQuery<T>(pub T);

/// `Json` whose rejection is an [`AppError`].
#[derive(FromRequest)]
#[from_request(via(axum::Json), rejection(AppError))]
pub struct ApiJson<T>(pub T);

/// Runs CPU or SQLite work on the blocking pool, off the async runtime. A panic inside
/// becomes a logged 500.
pub async fn blocking<T, F>(f: F) -> AppResult<T>
where
    T: Send + 'static,
    F: FnOnce() -> AppResult<T> + Send + 'static,
{
    tokio::task::spawn_blocking(f).await?
}

/// The whole application in `open` mode for loopback ([`SecurityConfig::default`]). Needs
/// `into_make_service_with_connect_info::<SocketAddr>()` for the admin routes to see the peer
/// address (without it they answer 403).
pub fn app(state: AppState) -> Router {
    app_with(state, Arc::new(Security::new(SecurityConfig::default())))
}

/// The whole application with the given security settings (see [`crate::security`]).
pub fn app_with(state: AppState, security: Arc<Security>) -> Router {
    use axum::http::HeaderValue;
    let set_header = |name: header::HeaderName, value: &'static str| {
        SetResponseHeaderLayer::if_not_present(name, HeaderValue::from_static(value))
    };
    Router::new()
        .route("/", get(pages::home))
        .route("/books/{id}", get(pages::book))
        .route("/search", get(pages::search))
        .route("/start", get(pages::start))
        .route("/rate", post(pages::rate))
        .route("/api/users/{id}/recommendations", get(api::recommendations))
        .route(
            "/api/users/{id}/ratings",
            get(api::user_ratings).post(api::add_rating),
        )
        .route("/api/books", get(api::search_books))
        .route("/api/books/{id}", get(api::book))
        .route("/api/books/{id}/similar", get(api::similar))
        .route("/healthz", get(api::healthz))
        .route("/readyz", get(api::readyz))
        .route("/openapi.json", get(crate::openapi::openapi_json))
        .route("/docs", get(docs_page))
        .route("/admin/reload", post(admin::reload))
        .route("/metrics", get(crate::metrics::metrics_route))
        .route("/signup", get(auth::signup_page).post(auth::signup))
        .route("/signin", get(auth::signin_page).post(auth::signin))
        .route("/signout", post(auth::signout))
        .route("/static/{file}", get(static_file))
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(DefaultBodyLimit::max(crate::error::MAX_BODY_BYTES))
        .layer(axum::Extension(Arc::clone(&security)))
        .layer(axum::middleware::from_fn_with_state(
            (state.clone(), security),
            crate::security::guard,
        ))
        .layer(set_header(
            header::CONTENT_SECURITY_POLICY,
            crate::security::CSP,
        ))
        .layer(set_header(header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .layer(set_header(header::X_FRAME_OPTIONS, "DENY"))
        .layer(set_header(header::REFERRER_POLICY, "same-origin"))
        .layer(axum::middleware::from_fn(crate::metrics::observe))
        .with_state(state)
}

const CSS: &str = include_str!("../../static/app.css");
const START_JS: &str = include_str!("../../static/start.js");
const DOCS_JS: &str = include_str!("../../static/docs.js");
const DOCS_CSS: &str = include_str!("../../static/docs.css");
const COVERS_JS: &str = include_str!("../../static/covers.js");
const DOCS_HTML: &str = include_str!("../../static/docs.html");

async fn static_file(ApiPath(file): ApiPath<String>) -> Response {
    let (mime, body) = match file.as_str() {
        "app.css" => ("text/css; charset=utf-8", CSS),
        "start.js" => ("text/javascript; charset=utf-8", START_JS),
        "docs.js" => ("text/javascript; charset=utf-8", DOCS_JS),
        "docs.css" => ("text/css; charset=utf-8", DOCS_CSS),
        "covers.js" => ("text/javascript; charset=utf-8", COVERS_JS),
        _ => return (StatusCode::NOT_FOUND, "no such file").into_response(),
    };
    (
        [
            (header::CONTENT_TYPE, mime),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        body,
    )
        .into_response()
}

async fn docs_page() -> Response {
    (
        [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
        DOCS_HTML,
    )
        .into_response()
}

async fn method_not_allowed(method: axum::http::Method, uri: Uri) -> Response {
    let body = crate::error::ErrorBody {
        error: format!(
            "{method} is not supported on {}",
            bookrec_core::error::excerpt(uri.path(), 80)
        ),
    };
    (StatusCode::METHOD_NOT_ALLOWED, axum::Json(body)).into_response()
}

async fn not_found(
    axum::extract::State(state): axum::extract::State<AppState>,
    uri: Uri,
) -> Response {
    let path = uri.path();
    let err = AppError::NotFound(format!(
        "no such page: {}",
        bookrec_core::error::excerpt(path, 80)
    ));
    if path.starts_with("/api/") || path.starts_with("/admin/") {
        err.into_response()
    } else {
        pages::error_page(&state, err)
    }
}
