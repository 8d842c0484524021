//! Admin routes. `open` mode: answered only to loopback peers (the peer address comes from
//! axum's `ConnectInfo`, set by [`crate::serve_with`]; behind no proxy, it cannot be forged by
//! headers; IPv4-mapped loopback counts). `accounts` mode: an admin bearer token is needed.

use axum::extract::State;
use axum::Json;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::error::{AppError, AppResult, ErrorBody};
use crate::security::Caller;
use crate::state::{AppState, ReloadError};
use crate::views::RankerInfo;

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct Reloaded {
    pub status: String,
    pub model: String,
    pub users: usize,
    pub books: usize,
    /// The reloaded ranker, if the server has one.
    pub ranker: Option<RankerInfo>,
}

/// Re-reads the model file (and the ranker file, if any) and swaps them in atomically. A
/// corrupted or unreadable file, or a model and ranker that do not work together, is rejected
/// (422) and the previous models keep serving. Loopback clients only.
#[utoipa::path(post, path = "/admin/reload", tag = "ops",
    security(("bearer" = []), ()),
    responses(
        (status = 200, description = "New model serving", body = Reloaded),
        (status = 401, description = "accounts mode: no admin token", body = ErrorBody),
        (status = 403, description = "open mode: not called from loopback; accounts mode: not an admin token", body = ErrorBody),
        (status = 422, description = "New model rejected; old one still serving", body = ErrorBody),
    ))]
pub async fn reload(State(state): State<AppState>, caller: Caller) -> AppResult<Json<Reloaded>> {
    caller.authorize_admin()?;
    let started = std::time::Instant::now();
    let fresh = state.reload().await.map_err(|e| match e {
        ReloadError::NoModelFile | ReloadError::Rejected(_) => {
            crate::metrics::global().reload_failures.inc();
            tracing::warn!(error = %e, "model reload refused");
            AppError::Unprocessable(e.to_string())
        }
    })?;
    crate::metrics::global().model_loaded(started.elapsed().as_secs_f64());
    Ok(Json(Reloaded {
        status: "reloaded".to_string(),
        model: fresh.model.fitted.kind.name().to_string(),
        users: fresh.model.fitted.users.len(),
        books: fresh.model.fitted.items.len(),
        ranker: fresh.ranker_info(),
    }))
}
