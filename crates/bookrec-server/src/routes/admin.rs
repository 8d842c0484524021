//! Admin routes, answered only to loopback peers (the peer address comes from axum's
//! `ConnectInfo`, set by [`crate::serve_with`]; behind no proxy, it cannot be forged by
//! headers).

use std::net::SocketAddr;

use axum::extract::{ConnectInfo, Request, State};
use axum::Json;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::error::{AppError, AppResult, ErrorBody};
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
    responses(
        (status = 200, description = "New model serving", body = Reloaded),
        (status = 403, description = "Not called from loopback", body = ErrorBody),
        (status = 422, description = "New model rejected; old one still serving", body = ErrorBody),
    ))]
pub async fn reload(State(state): State<AppState>, request: Request) -> AppResult<Json<Reloaded>> {
    let peer = request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0);
    match peer {
        Some(addr) if addr.ip().is_loopback() => {}
        other => {
            tracing::warn!(peer = ?other, "refused /admin/reload from non-loopback peer");
            return Err(AppError::Forbidden(
                "admin routes are only available from localhost".to_string(),
            ));
        }
    }
    let fresh = state.reload().await.map_err(|e| match e {
        ReloadError::NoModelFile | ReloadError::Rejected(_) => {
            tracing::warn!(error = %e, "model reload refused");
            AppError::Unprocessable(e.to_string())
        }
    })?;
    Ok(Json(Reloaded {
        status: "reloaded".to_string(),
        model: fresh.model.fitted.kind.name().to_string(),
        users: fresh.model.fitted.users.len(),
        books: fresh.model.fitted.items.len(),
        ranker: fresh.ranker_info(),
    }))
}
