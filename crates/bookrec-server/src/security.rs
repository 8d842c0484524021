//! Who may do what, and the protections every request passes through.
//!
//! One middleware ([`guard`]) runs before every route, in this order:
//! 1. request size: a URI over [`MAX_URI_BYTES`] → 414, headers over [`MAX_HEADER_BYTES`] →
//!    431, both with a JSON body saying what was too long (hyper's own, larger limits answer
//!    with an empty body);
//! 2. the `Host` allow-list (DNS rebinding): another host → 421;
//! 3. identity (`accounts` mode only): `Authorization: Bearer TOKEN`, else the session cookie,
//!    looked up in the store → a [`Caller`] in the request extensions;
//! 4. cross-origin writes: a state-changing request whose `Origin` (or, without one,
//!    `Referer`) is another site → 403; a cookie-authenticated JSON write must carry `Origin`;
//! 5. the per-client write rate limit (`governor`, keyed by peer IP) → 429 + `Retry-After`;
//!
//! then the route runs inside a task-local [`PageContext`] (CSRF token, signed-in reader) that
//! page templates read, and a new CSRF cookie is set if the browser had none. Forms carry the
//! CSRF token (double-submit: the form field must equal the `bookrec_csrf` cookie, which a
//! foreign site can neither read nor set).
//!
//! Headers on every answer (CSP, nosniff, frame denial, referrer policy) are tower-http
//! layers added in [`crate::routes::app_with`].

use std::net::{IpAddr, SocketAddr};
use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::{ConnectInfo, FromRequestParts, Request, State};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use serde::{Deserialize, Serialize};

use crate::error::{AppError, AppResult, ErrorBody};
use crate::state::AppState;
use crate::store::accounts::{random_secret, Identity};

/// Longest request target accepted (bytes); longer → 414.
pub const MAX_URI_BYTES: usize = 8 * 1024;
/// Largest total size of the request headers (names + values, bytes); larger → 431.
pub const MAX_HEADER_BYTES: usize = 32 * 1024;
/// Name of the session cookie (`accounts` mode).
pub const SESSION_COOKIE: &str = "bookrec_session";
/// Name of the CSRF cookie (both modes).
pub const CSRF_COOKIE: &str = "bookrec_csrf";

/// The Content-Security-Policy of every answer: scripts and styles only from this server
/// (no inline script), covers from any http(s) host (the catalogue links Amazon's), no
/// plugins, no framing, forms post only here.
pub const CSP: &str = "default-src 'self'; img-src 'self' https: http: data:; object-src 'none'; \
                       base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

/// Who may read and write a reader's data.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum, Serialize, Deserialize, utoipa::ToSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum AuthMode {
    /// Anyone may type a reader ID (a trusted machine: the default on a loopback address).
    Open,
    /// Readers sign in (pages) or send a bearer token (API); each sees only their own data.
    Accounts,
}

impl AuthMode {
    /// `open` on a loopback address, `accounts` on any other (a server put on a network is
    /// safe by default).
    pub fn default_for(addr: &SocketAddr) -> AuthMode {
        if canonical(addr.ip()).is_loopback() {
            AuthMode::Open
        } else {
            AuthMode::Accounts
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            AuthMode::Open => "open",
            AuthMode::Accounts => "accounts",
        }
    }
}

/// A per-client budget of writes (ratings, sign-ups, sign-in attempts).
#[derive(Clone, Copy, Debug)]
pub struct WriteLimit {
    /// Sustained writes per minute per client IP.
    pub per_minute: NonZeroU32,
    /// Writes a client may make in a burst before the per-minute pace applies.
    pub burst: NonZeroU32,
}

/// The security settings of one server.
#[derive(Clone, Debug)]
pub struct SecurityConfig {
    pub auth: AuthMode,
    /// Mark cookies `Secure` (the server is behind TLS).
    pub secure_cookies: bool,
    /// Host names (without port, lower case; IPv6 in brackets) a request's `Host` may name.
    pub allowed_hosts: Vec<String>,
    /// How long a sign-in lasts.
    pub session_ttl: Duration,
    /// `None`: no write rate limit (the library default for a loopback server; `bookrec
    /// serve` sets one).
    pub write_limit: Option<WriteLimit>,
}

/// The host names always allowed: this machine under its loopback names.
pub const DEFAULT_HOSTS: [&str; 3] = ["localhost", "127.0.0.1", "[::1]"];

impl Default for SecurityConfig {
    /// `open` mode on loopback: what [`crate::app`] (tests, Python `serve()`) uses.
    fn default() -> Self {
        SecurityConfig {
            auth: AuthMode::Open,
            secure_cookies: false,
            allowed_hosts: DEFAULT_HOSTS.iter().map(|h| h.to_string()).collect(),
            session_ttl: Duration::from_secs(7 * 24 * 3600),
            write_limit: None,
        }
    }
}

impl SecurityConfig {
    /// Settings for a server bound to `addr`: the mode (`None`: [`AuthMode::default_for`]),
    /// and the allowed hosts = the defaults + the bound address (unless it is a wildcard) +
    /// `extra_hosts`.
    pub fn for_addr(addr: &SocketAddr, auth: Option<AuthMode>, extra_hosts: &[String]) -> Self {
        let mut config = SecurityConfig {
            auth: auth.unwrap_or_else(|| AuthMode::default_for(addr)),
            ..SecurityConfig::default()
        };
        let ip = addr.ip();
        if !ip.is_unspecified() {
            config.allowed_hosts.push(match ip {
                IpAddr::V4(v4) => v4.to_string(),
                IpAddr::V6(v6) => format!("[{v6}]"),
            });
        }
        config
            .allowed_hosts
            .extend(extra_hosts.iter().map(|h| normalize_host(h)));
        config.allowed_hosts.sort();
        config.allowed_hosts.dedup();
        config
    }
}

/// A host name as compared: lower case, without a port, IPv6 in brackets.
fn normalize_host(raw: &str) -> String {
    let raw = raw.trim().to_ascii_lowercase();
    if raw.starts_with('[') {
        return raw
            .split_once(']')
            .map_or(raw.clone(), |(h, _)| format!("{h}]"));
    }
    if raw.parse::<std::net::Ipv6Addr>().is_ok() {
        return format!("[{raw}]");
    }
    raw.split(':').next().unwrap_or_default().to_string()
}

/// An IPv4-mapped IPv6 address (`::ffff:127.0.0.1`, how a dual-stack `[::]` socket sees an
/// IPv4 peer) as the IPv4 address it is.
pub fn canonical(ip: IpAddr) -> IpAddr {
    ip.to_canonical()
}

/// The security settings plus their run-time state (the rate limiter).
pub struct Security {
    pub config: SecurityConfig,
    limiter: Option<DefaultKeyedRateLimiter<IpAddr>>,
}

impl std::fmt::Debug for Security {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Security")
            .field("config", &self.config)
            .finish()
    }
}

impl Security {
    pub fn new(config: SecurityConfig) -> Self {
        let limiter = config
            .write_limit
            .map(|l| RateLimiter::keyed(Quota::per_minute(l.per_minute).allow_burst(l.burst)));
        Security { config, limiter }
    }

    /// `Err(seconds to wait)` when `ip` has used up its write budget.
    fn check_write(&self, ip: IpAddr) -> Result<(), u64> {
        let Some(limiter) = &self.limiter else {
            return Ok(());
        };
        // Forget clients whose budget is full again, so the table cannot grow without bound.
        if limiter.len() > 10_000 {
            limiter.retain_recent();
        }
        limiter.check_key(&ip).map_err(|not_until| {
            let wait = not_until.wait_time_from(DefaultClock::default().now());
            wait.as_secs() + u64::from(wait.subsec_nanos() > 0)
        })
    }

    fn host_allowed(&self, host: &str) -> bool {
        let host = normalize_host(host);
        self.config.allowed_hosts.contains(&host)
    }
}

/// How the caller proved who they are.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Via {
    None,
    Bearer,
    Cookie,
}

/// The caller of one request, put in the request extensions by [`guard`].
#[derive(Clone, Debug)]
pub struct Caller {
    pub mode: AuthMode,
    /// The signed-in reader or token owner (`accounts` mode only).
    pub identity: Option<Identity>,
    pub via: Via,
    /// The TCP peer (absent when the router runs without connection info, e.g. in tests).
    pub peer: Option<IpAddr>,
    /// The CSRF token of this browser (from its cookie, or newly made for this answer).
    pub csrf: String,
}

impl Caller {
    /// Anyone in `open` mode; in `accounts` mode only `user_id` itself or an admin token.
    pub fn authorize_reader(&self, user_id: &str) -> AppResult<()> {
        if self.mode == AuthMode::Open {
            return Ok(());
        }
        match &self.identity {
            None => Err(AppError::Unauthorized(
                "sign in (pages) or send `Authorization: Bearer TOKEN` (API) to see or change a reader's ratings and recommendations".to_string(),
            )),
            Some(id) if id.user_id == user_id || id.admin => Ok(()),
            Some(id) => Err(AppError::Forbidden(format!(
                "signed in as reader {:?}: reader {:?}'s ratings and recommendations are only for that reader",
                id.user_id,
                bookrec_core::error::excerpt(user_id, 40)
            ))),
        }
    }

    /// `open` mode: loopback peers only (IPv4-mapped loopback included); `accounts` mode: an
    /// admin bearer token.
    pub fn authorize_admin(&self) -> AppResult<()> {
        match self.mode {
            AuthMode::Open => match self.peer {
                Some(ip) if canonical(ip).is_loopback() => Ok(()),
                other => {
                    tracing::warn!(peer = ?other, "refused an admin route to a non-loopback peer");
                    Err(AppError::Forbidden(
                        "admin routes are only available from localhost".to_string(),
                    ))
                }
            },
            AuthMode::Accounts => match &self.identity {
                Some(id) if id.admin && self.via == Via::Bearer => Ok(()),
                Some(_) => Err(AppError::Forbidden(
                    "admin routes need an admin token (`bookrec accounts token --admin`)"
                        .to_string(),
                )),
                None => Err(AppError::Unauthorized(
                    "admin routes need `Authorization: Bearer ADMIN_TOKEN`".to_string(),
                )),
            },
        }
    }

    /// The form's CSRF field must equal this browser's CSRF cookie.
    pub fn check_csrf(&self, field: Option<&str>) -> AppResult<()> {
        match field {
            Some(f) if !f.is_empty() && constant_time_eq(f.as_bytes(), self.csrf.as_bytes()) => {
                Ok(())
            }
            _ => Err(AppError::Forbidden(
                "the form has expired or did not come from this site (CSRF check); reload the page and try again"
                    .to_string(),
            )),
        }
    }

    /// The reader whose page to show: the signed-in one in `accounts` mode.
    pub fn signed_in(&self) -> Option<&str> {
        self.identity.as_ref().map(|i| i.user_id.as_str())
    }
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

impl<S: Send + Sync> FromRequestParts<S> for Caller {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        parts
            .extensions
            .get::<Caller>()
            .cloned()
            .ok_or_else(|| AppError::Internal(anyhow::anyhow!("security middleware missing")))
    }
}

/// What every page template can show: the mode, the signed-in reader, the CSRF token.
#[derive(Clone, Debug, Serialize)]
pub struct PageContext {
    pub auth: AuthMode,
    pub signed_in: Option<String>,
    pub csrf: String,
}

tokio::task_local! {
    static PAGE: PageContext;
}

/// The [`PageContext`] of the request being handled (undefined outside one).
pub fn page_context() -> minijinja::Value {
    PAGE.try_with(|p| minijinja::Value::from_serialize(p))
        .unwrap_or(minijinja::Value::UNDEFINED)
}

/// The value of cookie `name` in the request's `Cookie` headers.
pub fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.trim())
}

/// A `Set-Cookie` value: `HttpOnly`, `Path=/`, the given `SameSite`, `Secure` when asked.
pub fn set_cookie(
    config: &SecurityConfig,
    name: &str,
    value: &str,
    max_age: Duration,
    same_site: &str,
) -> String {
    let secure = if config.secure_cookies {
        "; Secure"
    } else {
        ""
    };
    format!(
        "{name}={value}; Path=/; Max-Age={}; HttpOnly; SameSite={same_site}{secure}",
        max_age.as_secs()
    )
}

fn error(status: StatusCode, message: String) -> Response {
    (status, axum::Json(ErrorBody { error: message })).into_response()
}

/// True for the requests counted against the write rate limit.
fn is_limited_write(method: &Method, path: &str) -> bool {
    method == Method::POST
        && (matches!(path, "/rate" | "/signup" | "/signin")
            || (path.starts_with("/api/users/") && path.ends_with("/ratings")))
}

/// The authority (`host[:port]`) of an absolute URL, lower case.
fn authority(url: &str) -> Option<String> {
    let rest = url.split_once("://")?.1;
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    Some(rest[..end].to_ascii_lowercase())
}

/// The middleware described in the module documentation.
pub async fn guard(
    State((state, security)): State<(AppState, Arc<Security>)>,
    mut request: Request,
    next: Next,
) -> Response {
    // 1. Sizes.
    let target_len = request
        .uri()
        .path_and_query()
        .map_or(0, |p| p.as_str().len());
    if target_len > MAX_URI_BYTES {
        return error(
            StatusCode::URI_TOO_LONG,
            format!("the request URI is too long ({target_len} bytes; at most {MAX_URI_BYTES})"),
        );
    }
    let header_bytes: usize = request
        .headers()
        .iter()
        .map(|(k, v)| k.as_str().len() + v.len() + 4)
        .sum();
    if header_bytes > MAX_HEADER_BYTES {
        return error(
            StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
            format!(
                "the request headers are too large ({header_bytes} bytes; at most {MAX_HEADER_BYTES})"
            ),
        );
    }

    // 2. Host. A request without one (HTTP/1.0, in-process tests) cannot come from a
    // rebinding browser, which always sends it.
    let host = request
        .headers()
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .map(str::to_string)
        .or_else(|| request.uri().authority().map(|a| a.to_string()));
    if let Some(h) = &host {
        if !security.host_allowed(h) {
            tracing::warn!(host = %bookrec_core::error::excerpt(h, 80), "refused a request for another host");
            return error(
                StatusCode::MISDIRECTED_REQUEST,
                format!(
                    "this server does not answer for host {:?} (allowed: {}; see --allowed-host)",
                    bookrec_core::error::excerpt(h, 80),
                    security.config.allowed_hosts.join(", ")
                ),
            );
        }
    }

    // 3. Identity.
    let peer = request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| canonical(c.0.ip()));
    let mode = security.config.auth;
    let (identity, via) = if mode == AuthMode::Accounts {
        match identify(&state, request.headers()).await {
            Ok(found) => found,
            Err(e) => return e.into_response(),
        }
    } else {
        (None, Via::None)
    };
    let csrf_cookie = cookie(request.headers(), CSRF_COOKIE)
        .filter(|c| c.len() == 64 && c.bytes().all(|b| b.is_ascii_hexdigit()))
        .map(str::to_string);

    // 4. Cross-origin writes.
    let method = request.method().clone();
    let path = request.uri().path().to_string();
    let safe = matches!(method, Method::GET | Method::HEAD | Method::OPTIONS);
    if !safe {
        let headers = request.headers();
        let source = headers
            .get(header::ORIGIN)
            .or_else(|| headers.get(header::REFERER))
            .and_then(|v| v.to_str().ok())
            .filter(|v| *v != "null");
        let foreign = match (source, &host) {
            (Some(s), Some(h)) => authority(s).as_deref() != Some(h.to_ascii_lowercase().as_str()),
            (Some(_), None) | (None, _) => {
                // `Origin: null` (sandboxed or privacy-stripped) counts as foreign.
                headers.get(header::ORIGIN).is_some()
            }
        };
        if foreign {
            tracing::warn!(%path, origin = ?source, "refused a cross-origin write");
            return AppError::Forbidden(
                "cross-origin request refused: this form or API call did not come from this site"
                    .to_string(),
            )
            .into_response();
        }
        if via == Via::Cookie && path.starts_with("/api/") && headers.get(header::ORIGIN).is_none()
        {
            return AppError::Forbidden(
                "a write authenticated by the session cookie must carry an Origin header (browsers send it); API clients should use a bearer token"
                    .to_string(),
            )
            .into_response();
        }
    }

    // 5. Write rate limit.
    if is_limited_write(&method, &path) {
        let key = peer.unwrap_or(IpAddr::from([0, 0, 0, 0]));
        if let Err(retry_after) = security.check_write(key) {
            tracing::warn!(peer = %key, %path, "write rate limit reached");
            return AppError::TooManyRequests {
                message: format!("too many writes from this address; retry in {retry_after} s"),
                retry_after,
            }
            .into_response();
        }
    }

    let (csrf, new_csrf) = match csrf_cookie {
        Some(c) => (c, false),
        None => match random_secret() {
            Ok(s) => (s, true),
            Err(e) => return AppError::from(e).into_response(),
        },
    };
    let caller = Caller {
        mode,
        identity,
        via,
        peer,
        csrf: csrf.clone(),
    };
    let page = PageContext {
        auth: mode,
        signed_in: caller.signed_in().map(str::to_string),
        csrf: csrf.clone(),
    };
    request.extensions_mut().insert(caller);
    let mut response = PAGE.scope(page, next.run(request)).await;
    if new_csrf && is_html(&response) {
        let value = set_cookie(
            &security.config,
            CSRF_COOKIE,
            &csrf,
            Duration::from_secs(365 * 24 * 3600),
            "Strict",
        );
        if let Ok(v) = HeaderValue::from_str(&value) {
            response.headers_mut().append(header::SET_COOKIE, v);
        }
    }
    response
}

fn is_html(response: &Response) -> bool {
    response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("text/html"))
}

/// The identity of a bearer token, else of the session cookie. A bearer token that names no
/// live token is a 401 (a client that sends one expects it to count), not anonymous.
async fn identify(state: &AppState, headers: &HeaderMap) -> AppResult<(Option<Identity>, Via)> {
    let store = state.store();
    if let Some(auth) = headers.get(header::AUTHORIZATION) {
        let token = auth
            .to_str()
            .ok()
            .and_then(|v| v.strip_prefix("Bearer "))
            .map(|t| t.trim().to_string())
            .ok_or_else(|| {
                AppError::Unauthorized(
                    "the Authorization header must be `Bearer TOKEN`".to_string(),
                )
            })?;
        let found = match store.cached_token_identity(&token) {
            Some(identity) => Some(identity),
            None => crate::routes::blocking(move || Ok(store.token_identity(&token)?)).await?,
        };
        return match found {
            Some(id) => Ok((Some(id), Via::Bearer)),
            None => Err(AppError::Unauthorized(
                "this API token is unknown or revoked".to_string(),
            )),
        };
    }
    if let Some(secret) = cookie(headers, SESSION_COOKIE).map(str::to_string) {
        let user = crate::routes::blocking(move || Ok(store.session_user(&secret)?)).await?;
        if let Some(user_id) = user {
            return Ok((
                Some(Identity {
                    user_id,
                    admin: false,
                }),
                Via::Cookie,
            ));
        }
    }
    Ok((None, Via::None))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hosts_and_authorities() {
        assert_eq!(normalize_host("LocalHost:8000"), "localhost");
        assert_eq!(normalize_host("[::1]:8000"), "[::1]");
        assert_eq!(normalize_host("::1"), "[::1]");
        assert_eq!(
            authority("http://Example.com:80/x?y").as_deref(),
            Some("example.com:80")
        );
        assert_eq!(authority("garbage"), None);
        let mapped: IpAddr = "::ffff:127.0.0.1".parse().unwrap_or(IpAddr::from([0; 4]));
        assert!(canonical(mapped).is_loopback());
        let any: SocketAddr = "[::]:8000".parse().unwrap_or(SocketAddr::from(([0; 4], 0)));
        assert_eq!(AuthMode::default_for(&any), AuthMode::Accounts);
        let cfg = SecurityConfig::for_addr(&any, None, &["books.example.org".into()]);
        assert!(cfg.allowed_hosts.contains(&"books.example.org".to_string()));
        assert!(!cfg.allowed_hosts.iter().any(|h| h == "[::]"));
    }
}
