//! Sign-up, sign-in and sign-out pages (`accounts` mode). In `open` mode they answer 404:
//! there are no accounts to sign in to.
//!
//! A successful sign-up or sign-in starts a session: a random cookie value whose SHA-256 is
//! stored with the reader and an expiry (see [`crate::store::accounts`]). The cookie is
//! `HttpOnly` (scripts cannot read it), `SameSite=Lax` (not sent on cross-site posts),
//! `Secure` with `--secure-cookies`, and expires with the session.

use std::sync::Arc;
use std::time::Duration;

use axum::extract::rejection::FormRejection;
use axum::extract::{Extension, Form, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use minijinja::context;
use serde::Deserialize;

use super::blocking;
use super::pages::{error_page, render, with_base};
use crate::error::{AppError, AppResult};
use crate::security::{cookie, set_cookie, AuthMode, Caller, Security, SESSION_COOKIE};
use crate::state::AppState;
use crate::store::accounts::AccountError;
use crate::views::check_id;

/// The fields of both forms.
#[derive(Debug, Deserialize)]
pub struct AccountForm {
    pub user: Option<String>,
    pub password: Option<String>,
    pub csrf: Option<String>,
    /// Where to go after signing in (a local path only).
    pub next: Option<String>,
}

fn accounts_only(caller: &Caller) -> AppResult<()> {
    match caller.mode {
        AuthMode::Accounts => Ok(()),
        AuthMode::Open => Err(AppError::NotFound(
            "this server runs in open mode: there are no accounts (anyone may type a reader ID)"
                .to_string(),
        )),
    }
}

/// Renders `account.html` as the sign-up or sign-in form.
fn form_page(
    state: &AppState,
    status: StatusCode,
    signup: bool,
    user: &str,
    next: &str,
    error: Option<String>,
) -> Response {
    let loaded = state.loaded();
    render(
        state,
        status,
        "account.html",
        with_base(
            &loaded,
            context! { signup, user, next, error, min_password => crate::store::accounts::MIN_PASSWORD_LEN },
        ),
    )
}

/// `GET /signup`.
pub async fn signup_page(State(state): State<AppState>, caller: Caller) -> Response {
    match accounts_only(&caller) {
        Ok(()) => form_page(&state, StatusCode::OK, true, "", "", None),
        Err(e) => error_page(&state, e),
    }
}

/// `GET /signin`.
pub async fn signin_page(
    State(state): State<AppState>,
    caller: Caller,
    query: Result<axum::extract::Query<NextQuery>, axum::extract::rejection::QueryRejection>,
) -> Response {
    let next = query.ok().and_then(|q| q.0.next).unwrap_or_default();
    match accounts_only(&caller) {
        Ok(()) => form_page(&state, StatusCode::OK, false, "", &next, None),
        Err(e) => error_page(&state, e),
    }
}

#[derive(Debug, Deserialize)]
pub struct NextQuery {
    pub next: Option<String>,
}

/// A redirect to `to` that sets the session cookie `secret`.
fn start_session(security: &Security, secret: &str, to: &str) -> Response {
    let ttl = security.config.session_ttl;
    let mut response = Redirect::to(to).into_response();
    let value = set_cookie(&security.config, SESSION_COOKIE, secret, ttl, "Lax");
    if let Ok(v) = HeaderValue::from_str(&value) {
        response.headers_mut().append(header::SET_COOKIE, v);
    }
    response
}

/// Only same-site paths (`/…`, not `//host`) are followed after sign-in.
fn local_path(next: Option<&str>) -> &str {
    match next {
        Some(n) if n.starts_with('/') && !n.starts_with("//") && !n.contains('\\') => n,
        _ => "/",
    }
}

/// `POST /signup`: a new reader ID (not known to the model or the store) and a password of at
/// least 8 characters; signs the reader in and opens the cold-start page.
pub async fn signup(
    State(state): State<AppState>,
    Extension(security): Extension<Arc<Security>>,
    caller: Caller,
    form: Result<Form<AccountForm>, FormRejection>,
) -> Response {
    let Form(form) = match form {
        Ok(f) => f,
        Err(e) => return error_page(&state, super::pages::form_error(e)),
    };
    let user = form.user.clone().unwrap_or_default();
    let result: AppResult<Option<String>> = async {
        accounts_only(&caller)?;
        caller.check_csrf(form.csrf.as_deref())?;
        let user_id = check_id("reader", &user)?.to_string();
        if state.loaded().model.fitted.users.get(&user_id).is_some() {
            return Err(AppError::Unprocessable(format!(
                "reader {user_id:?} already exists; choose another reader ID or sign in"
            )));
        }
        let password = form.password.clone().unwrap_or_default();
        let store = state.store();
        let ttl = security.config.session_ttl.as_secs() as i64;
        blocking(move || {
            store
                .create_account(&user_id, &password)
                .map_err(|e| match e {
                    AccountError::Store(s) => AppError::from(s),
                    AccountError::Hash(h) => AppError::Internal(anyhow::anyhow!(h)),
                    other => AppError::Unprocessable(other.to_string()),
                })?;
            tracing::info!(user = %user_id, "new reader signed up");
            Ok(Some(store.create_session(&user_id, ttl)?))
        })
        .await
    }
    .await;
    form_answer(&state, &security, true, &user, "", "/start", result)
}

/// `POST /signin`.
pub async fn signin(
    State(state): State<AppState>,
    Extension(security): Extension<Arc<Security>>,
    caller: Caller,
    form: Result<Form<AccountForm>, FormRejection>,
) -> Response {
    let Form(form) = match form {
        Ok(f) => f,
        Err(e) => return error_page(&state, super::pages::form_error(e)),
    };
    let user = form.user.clone().unwrap_or_default();
    let next = local_path(form.next.as_deref()).to_string();
    let result: AppResult<Option<String>> = async {
        accounts_only(&caller)?;
        caller.check_csrf(form.csrf.as_deref())?;
        let user_id = check_id("reader", &user)?.to_string();
        let password = form.password.clone().unwrap_or_default();
        let store = state.store();
        let ttl = security.config.session_ttl.as_secs() as i64;
        blocking(move || {
            if !store.verify_password(&user_id, &password)? {
                tracing::info!(user = %user_id, "failed sign-in");
                return Ok(None);
            }
            Ok(Some(store.create_session(&user_id, ttl)?))
        })
        .await
    }
    .await;
    form_answer(&state, &security, false, &user, &next, &next, result)
}

/// The answer to the sign-up (`signup`) or sign-in form: a new session and a redirect to `to`;
/// the form again, with the reason, for a wrong password or a bad field; else the error page.
fn form_answer(
    state: &AppState,
    security: &Security,
    signup: bool,
    user: &str,
    next: &str,
    to: &str,
    result: AppResult<Option<String>>,
) -> Response {
    let (status, message) = match result {
        Ok(Some(secret)) => return start_session(security, &secret, to),
        Ok(None) => (
            StatusCode::UNAUTHORIZED,
            "wrong reader ID or password".to_string(),
        ),
        Err(e)
            if matches!(
                e.status(),
                StatusCode::BAD_REQUEST | StatusCode::UNPROCESSABLE_ENTITY
            ) =>
        {
            (e.status(), e.public_message())
        }
        Err(e) => return error_page(state, e),
    };
    form_page(state, status, signup, user, next, Some(message))
}

/// `POST /signout`: ends the session and clears the cookie.
pub async fn signout(
    State(state): State<AppState>,
    Extension(security): Extension<Arc<Security>>,
    caller: Caller,
    headers: HeaderMap,
    form: Result<Form<AccountForm>, FormRejection>,
) -> Response {
    let csrf = form.ok().and_then(|Form(f)| f.csrf);
    if let Err(e) = accounts_only(&caller).and_then(|()| caller.check_csrf(csrf.as_deref())) {
        return error_page(&state, e);
    }
    if let Some(secret) = cookie(&headers, SESSION_COOKIE).map(str::to_string) {
        let store = state.store();
        if let Err(e) = blocking(move || Ok(store.delete_session(&secret)?)).await {
            return error_page(&state, e);
        }
    }
    let mut response = Redirect::to("/").into_response();
    let value = set_cookie(&security.config, SESSION_COOKIE, "", Duration::ZERO, "Lax");
    if let Ok(v) = HeaderValue::from_str(&value) {
        response.headers_mut().append(header::SET_COOKIE, v);
    }
    response
}
