//! The JSON API. Every handler validates its input first (400/422 with a JSON message), runs
//! model and SQLite work on the blocking pool, and returns the same view structs the pages use.

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::{blocking, ApiJson, ApiPath, ApiQuery};
use crate::engine::check_min_rating;
use crate::error::{AppError, AppResult, ErrorBody};
use crate::security::Caller;
use crate::state::{AppState, Loaded};
use crate::store::StoredRating;
use crate::views::{
    check_id, check_query, check_rating, parse_bool, parse_min_rating, parse_n, parse_rank_by,
    BookView, NewRating, RankBy, RankerInfo, RatingAck, RatingsResponse, RecRequest,
    RecommendationsResponse, SearchResponse, SimilarResponse,
};

/// `?n=&rank_by=` for similar books.
#[derive(Debug, Deserialize, IntoParams)]
pub struct NParam {
    /// How many books (1–100, default 10).
    #[param(value_type = Option<u32>, minimum = 1, maximum = 100)]
    pub n: Option<String>,
    /// Which model ranks: `ranker` (the `--ranker` model; the default when the server has
    /// one) or `rating` (the `--model` model). `ranker` on a server without one is a 422.
    #[param(value_type = Option<RankBy>)]
    pub rank_by: Option<String>,
    /// List books without a catalogue entry too (default false: with a catalogue loaded,
    /// lists hold only books it describes).
    #[param(value_type = Option<bool>)]
    pub include_uncatalogued: Option<String>,
}

/// `?n=&explain=&rank_by=&min_rating=` for recommendations.
#[derive(Debug, Deserialize, IntoParams)]
pub struct RecParams {
    /// How many books (1–100, default 10).
    #[param(value_type = Option<u32>, minimum = 1, maximum = 100)]
    pub n: Option<String>,
    /// Include "because you rated X highly" for each book (default true). Costs one fold-in
    /// decomposition per book; `false` returns the top-N alone.
    #[param(value_type = Option<bool>)]
    pub explain: Option<String>,
    /// Which model chooses and orders the list: `ranker` (the `--ranker` model; the default
    /// when the server has one) or `rating` (the `--model` model, which always supplies
    /// `predicted_rating`). `ranker` on a server without one is a 422.
    #[param(value_type = Option<RankBy>)]
    pub rank_by: Option<String>,
    /// Leave out books the rating model predicts below this rating, and fill the list from
    /// further down the ranking (default: the server's `--min-rating`, else none). Must lie on
    /// the rating scale; the answer holds fewer than `n` books when fewer are predicted that
    /// high.
    #[param(value_type = Option<f32>)]
    pub min_rating: Option<String>,
    /// List books without a catalogue entry too (default false: with a catalogue loaded,
    /// lists hold only books it describes).
    #[param(value_type = Option<bool>)]
    pub include_uncatalogued: Option<String>,
}

/// `?q=&n=` for search.
#[derive(Debug, Deserialize, IntoParams)]
pub struct SearchParams {
    /// Part of a title or author (1–200 characters); case and accents are ignored.
    #[param(min_length = 1, max_length = 200, pattern = r"\S")]
    pub q: Option<String>,
    /// How many books (1–100, default 20).
    #[param(value_type = Option<u32>, minimum = 1, maximum = 100)]
    pub n: Option<String>,
}

/// Runs `view` on the blocking pool over the current snapshot and `user_id`'s stored ratings:
/// the one way handlers read a user.
async fn with_stored<T, F>(state: &AppState, user_id: String, view: F) -> AppResult<T>
where
    T: Send + 'static,
    F: FnOnce(&Loaded, &str, &[StoredRating]) -> AppResult<T> + Send + 'static,
{
    let loaded = state.loaded();
    let store = state.store();
    blocking(move || {
        let stored = store.ratings_for(&user_id)?;
        view(&loaded, &user_id, &stored)
    })
    .await
}

/// Recommendations for a user (shared with the home page); a request without its own
/// `min_rating` gets the server's.
pub async fn recommendations_for(
    state: &AppState,
    user_id: String,
    req: RecRequest,
) -> AppResult<RecommendationsResponse> {
    let opts = state.recommend_options();
    let req = RecRequest {
        min_rating: req.min_rating.or(state.settings().min_rating),
        ..req
    };
    with_stored(state, user_id, move |loaded, user_id, stored| {
        // Checked against the model being served now (a reload may change the scale).
        if let Some(m) = req.min_rating {
            check_min_rating(&loaded.model.fitted, m)
                .map_err(|e| AppError::Unprocessable(e.to_string()))?;
        }
        loaded.recommendations(user_id, stored, &opts, req)
    })
    .await
    .inspect(|r| {
        if matches!(r.source, crate::views::RecSource::FoldIn) {
            crate::metrics::global().fold_ins.inc();
        }
    })
}

/// A user's ratings, or `None` for an unknown user with nothing stored.
pub async fn ratings_for(state: &AppState, user_id: String) -> AppResult<Option<RatingsResponse>> {
    with_stored(state, user_id, |loaded, user_id, stored| {
        Ok(loaded.user_ratings(user_id, stored))
    })
    .await
}

/// Validates and durably stores one rating; shared with the page form.
pub async fn store_rating(
    state: &AppState,
    user_id: &str,
    book_id: &str,
    rating: f32,
) -> AppResult<RatingAck> {
    let user_id = check_id("user", user_id)?.to_string();
    let book_id = check_id("book", book_id)?.to_string();
    let loaded = state.loaded();
    if loaded.book_view(&book_id).is_none() {
        return Err(AppError::NotFound(format!("unknown book {book_id:?}")));
    }
    let rating = check_rating(&loaded, rating)?;
    let store = state.store();
    let stored = blocking(move || Ok(store.put_rating(&user_id, &book_id, rating)?)).await?;
    Ok(RatingAck {
        user_id: stored.user_id,
        book_id: stored.book_id,
        rating: stored.rating,
        rated_at: stored.rated_at,
    })
}

/// Top-N recommendations for a user.
///
/// Known users get the trained model's list; once they (or a new reader) have ratings stored
/// on this server, training + stored ratings are folded into the model. A user with no ratings
/// at all gets popular books (`source: "popular"`, with a `message`). With a ranker
/// (`bookrec serve --ranker`), the ranker chooses and orders the list (`ranker`, `score`,
/// `score_kind`) and the rating model supplies `predicted_rating` (`rating_model`; `null` for a
/// book it does not know); both fold in stored ratings.
#[utoipa::path(get, path = "/api/users/{id}/recommendations", tag = "users",
    params(("id" = String, Path, description = "User id, e.g. 276847 (1–64 characters, no spaces)", max_length = 64, min_length = 1, pattern = r"^[^\s\x00-\x1f\x7f-\x9f]{1,64}$"), RecParams),
    security(("bearer" = []), ()),
    responses(
        (status = 200, description = "Recommendations, best first", body = RecommendationsResponse),
        (status = 400, description = "Malformed id, n, explain, rank_by or min_rating", body = ErrorBody),
        (status = 401, description = "accounts mode: no session or bearer token, or an unknown or revoked token", body = ErrorBody),
        (status = 403, description = "accounts mode: another reader's data", body = ErrorBody),
        (status = 422, description = "n out of range, rank_by=ranker without a ranker, or min_rating off the rating scale", body = ErrorBody),
        (status = 503, description = "The ratings database is busy (Retry-After)", body = ErrorBody),
    ))]
pub async fn recommendations(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<String>,
    ApiQuery(params): ApiQuery<RecParams>,
) -> AppResult<Json<RecommendationsResponse>> {
    let user_id = check_id("user", &id)?.to_string();
    caller.authorize_reader(&user_id)?;
    let n = parse_n(params.n.as_deref(), 10)?;
    let explain = parse_bool("explain", params.explain.as_deref(), true)?;
    let req = RecRequest {
        n,
        explain,
        rank_by: parse_rank_by(params.rank_by.as_deref())?,
        min_rating: parse_min_rating(params.min_rating.as_deref())?,
        include_uncatalogued: parse_bool(
            "include_uncatalogued",
            params.include_uncatalogued.as_deref(),
            false,
        )?,
    };
    Ok(Json(recommendations_for(&state, user_id, req).await?))
}

/// A user's ratings: training ratings plus ratings stored on this server, highest first.
#[utoipa::path(get, path = "/api/users/{id}/ratings", tag = "users",
    params(("id" = String, Path, description = "User id (1–64 characters, no spaces)", max_length = 64, min_length = 1, pattern = r"^[^\s\x00-\x1f\x7f-\x9f]{1,64}$")),
    security(("bearer" = []), ()),
    responses(
        (status = 200, description = "The user's ratings", body = RatingsResponse),
        (status = 400, description = "Malformed id", body = ErrorBody),
        (status = 401, description = "accounts mode: no session or bearer token, or an unknown or revoked token", body = ErrorBody),
        (status = 403, description = "accounts mode: another reader's data", body = ErrorBody),
        (status = 404, description = "Unknown user with no stored ratings", body = ErrorBody),
        (status = 503, description = "The ratings database is busy (Retry-After)", body = ErrorBody),
    ))]
pub async fn user_ratings(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<String>,
) -> AppResult<Json<RatingsResponse>> {
    let user_id = check_id("user", &id)?.to_string();
    caller.authorize_reader(&user_id)?;
    match ratings_for(&state, user_id.clone()).await? {
        Some(r) => Ok(Json(r)),
        None => Err(AppError::NotFound(format!(
            "unknown user {user_id:?}: no ratings in the model or stored on this server"
        ))),
    }
}

/// Stores a rating (new readers included). Answered only after the rating is durably
/// committed to the SQLite database.
#[utoipa::path(post, path = "/api/users/{id}/ratings", tag = "users",
    params(("id" = String, Path, description = "User id (1–64 characters, no spaces; in open mode any new id starts a new reader)", max_length = 64, min_length = 1, pattern = r"^[^\s\x00-\x1f\x7f-\x9f]{1,64}$")),
    security(("bearer" = []), ()),
    request_body = NewRating,
    responses(
        (status = 201, description = "Stored", body = RatingAck),
        (status = 400, description = "Malformed id or JSON", body = ErrorBody),
        (status = 401, description = "accounts mode: no session or bearer token, or an unknown or revoked token", body = ErrorBody),
        (status = 403, description = "accounts mode: another reader's data", body = ErrorBody),
        (status = 404, description = "Unknown book", body = ErrorBody),
        (status = 413, description = "Body over 2 MB", body = ErrorBody),
        (status = 422, description = "Rating outside the model's scale, or wrong field types", body = ErrorBody),
        (status = 429, description = "Too many writes from this client (Retry-After)", body = ErrorBody),
        (status = 503, description = "The ratings database is busy (Retry-After)", body = ErrorBody),
    ))]
pub async fn add_rating(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<String>,
    ApiJson(body): ApiJson<NewRating>,
) -> AppResult<(StatusCode, Json<RatingAck>)> {
    caller.authorize_reader(check_id("user", &id)?)?;
    let ack = store_rating(&state, &id, &body.book_id, body.rating).await?;
    Ok((StatusCode::CREATED, Json(ack)))
}

/// One book: catalogue metadata and its number of training ratings.
#[utoipa::path(get, path = "/api/books/{id}", tag = "books",
    params(("id" = String, Path, description = "Book id (ISBN; 1–64 characters, no spaces)", max_length = 64, min_length = 1, pattern = r"^[^\s\x00-\x1f\x7f-\x9f]{1,64}$")),
    responses(
        (status = 200, description = "The book", body = BookView),
        (status = 400, description = "Malformed id", body = ErrorBody),
        (status = 404, description = "Unknown book", body = ErrorBody),
    ))]
pub async fn book(
    State(state): State<AppState>,
    ApiPath(id): ApiPath<String>,
) -> AppResult<Json<BookView>> {
    let book_id = check_id("book", &id)?;
    state
        .loaded()
        .book_view(book_id)
        .map(Json)
        .ok_or_else(|| AppError::NotFound(format!("unknown book {book_id:?}")))
}

/// Books similar to this one ("readers who liked this also liked"), by the ranker when the
/// server has one (similar books are a list to choose, like recommendations).
#[utoipa::path(get, path = "/api/books/{id}/similar", tag = "books",
    params(("id" = String, Path, description = "Book id (ISBN; 1–64 characters, no spaces)", max_length = 64, min_length = 1, pattern = r"^[^\s\x00-\x1f\x7f-\x9f]{1,64}$"), NParam),
    responses(
        (status = 200, description = "Similar books, most similar first", body = SimilarResponse),
        (status = 400, description = "Malformed id, n or rank_by", body = ErrorBody),
        (status = 404, description = "Unknown book", body = ErrorBody),
        (status = 422, description = "n out of range, or rank_by=ranker without a ranker", body = ErrorBody),
    ))]
pub async fn similar(
    State(state): State<AppState>,
    ApiPath(id): ApiPath<String>,
    ApiQuery(params): ApiQuery<NParam>,
) -> AppResult<Json<SimilarResponse>> {
    let book_id = check_id("book", &id)?.to_string();
    let n = parse_n(params.n.as_deref(), 10)?;
    let rank_by = parse_rank_by(params.rank_by.as_deref())?;
    let include_uncatalogued = parse_bool(
        "include_uncatalogued",
        params.include_uncatalogued.as_deref(),
        false,
    )?;
    let loaded = state.loaded();
    let min_support = state.settings().min_support;
    blocking(move || {
        loaded
            .similar(&book_id, n, min_support, rank_by, include_uncatalogued)?
            .ok_or_else(|| AppError::NotFound(format!("unknown book {book_id:?}")))
    })
    .await
    .map(Json)
}

/// Search the catalogue by title or author (case- and accent-insensitive; prefix matches
/// first, then word and substring matches; popular books first within each).
#[utoipa::path(get, path = "/api/books", tag = "books",
    params(SearchParams),
    responses(
        (status = 200, description = "Matching books", body = SearchResponse),
        (status = 400, description = "Missing, empty or too long query; malformed n", body = ErrorBody),
        (status = 422, description = "n out of range", body = ErrorBody),
    ))]
pub async fn search_books(
    State(state): State<AppState>,
    ApiQuery(params): ApiQuery<SearchParams>,
) -> AppResult<Json<SearchResponse>> {
    let q = check_query(params.q.as_deref())?.to_string();
    let n = parse_n(params.n.as_deref(), 20)?;
    let loaded = state.loaded();
    blocking(move || Ok(loaded.search(&q, n))).await.map(Json)
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct Health {
    pub status: String,
}

/// Liveness: the process answers.
#[utoipa::path(get, path = "/healthz", tag = "ops",
    responses((status = 200, description = "Alive", body = Health)))]
pub async fn healthz() -> Json<Health> {
    Json(Health {
        status: "ok".to_string(),
    })
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct Readiness {
    pub status: String,
    /// Who may read and write readers' data: `open` or `accounts`.
    pub auth: crate::security::AuthMode,
    /// Model kind, e.g. "svd".
    pub model: String,
    pub users: usize,
    pub books: usize,
    pub catalog_books: usize,
    pub stored_ratings: u64,
    /// Seconds since the Unix epoch when the current model was loaded.
    pub model_loaded_at: u64,
    /// The ranker (`--ranker`), if the server has one.
    pub ranker: Option<RankerInfo>,
    /// Books lists can hold: catalogued books (every book without a catalogue) the ranking
    /// model has training ratings for.
    pub listable_books: usize,
    /// Works of those books (editions of one work count once).
    pub listable_works: usize,
}

/// Readiness: a model (and the ranker, if any) is loaded and the ratings database answers.
#[utoipa::path(get, path = "/readyz", tag = "ops",
    responses(
        (status = 200, description = "Ready", body = Readiness),
        (status = 503, description = "Database unavailable", body = ErrorBody),
    ))]
pub async fn readyz(State(state): State<AppState>, caller: Caller) -> AppResult<Json<Readiness>> {
    let loaded = state.loaded();
    let store = state.store();
    let stored = blocking(move || Ok(store.count())).await?.map_err(|e| {
        tracing::warn!(error = %e, "readiness check: database unavailable");
        AppError::Unavailable("the ratings database is not available".to_string())
    })?;
    let loaded_at = loaded
        .loaded_at
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let (listable_books, listable_works) = state.listable();
    Ok(Json(Readiness {
        status: "ready".to_string(),
        auth: caller.mode,
        model: loaded.model.fitted.kind.name().to_string(),
        users: loaded.model.fitted.users.len(),
        books: loaded.model.fitted.items.len(),
        catalog_books: loaded.catalog.len(),
        stored_ratings: stored,
        model_loaded_at: loaded_at,
        ranker: loaded.ranker_info(),
        listable_books,
        listable_works,
    }))
}
