//! Server-rendered pages. They share validation and views with the API; errors render as an
//! HTML page (or an inline message) with the same 4xx status, never a stack trace.

use axum::extract::rejection::{FormRejection, QueryRejection};
use axum::extract::{Form, Query, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Redirect, Response};
use minijinja::{context, Value};
use serde::Deserialize;

use super::api::{ratings_for, recommendations_for, store_rating};
use super::{blocking, ApiPath};
use crate::error::{AppError, AppResult};
use crate::security::{AuthMode, Caller};
use crate::state::{AppState, Loaded};
use crate::views::{
    check_id, check_query, parse_bool, parse_min_rating, parse_n, parse_rank_by, RecRequest,
};

/// How many of a user's rated books the home page lists.
const RATED_LIMIT: usize = 30;

/// `extra` plus the values every page shows (footer).
pub(crate) fn with_base(loaded: &Loaded, extra: Value) -> Value {
    context! {
        page => crate::security::page_context(),
        model_kind => loaded.model.fitted.kind.name(),
        ranker_kind => loaded.ranker.as_ref().map(|r| r.fitted.kind.name()),
        n_users => loaded.model.fitted.users.len(),
        n_books => loaded.model.fitted.items.len(),
        ..extra
    }
}

pub(crate) fn render(state: &AppState, status: StatusCode, name: &str, ctx: Value) -> Response {
    match state.templates().render(name, ctx) {
        Ok(html) => (status, Html(html)).into_response(),
        Err(e) => {
            // Already logged by `public_message`; a minimal page without the template engine.
            let msg = e.public_message();
            (
                e.status(),
                Html(format!("<!doctype html><title>error</title><p>{msg}</p>")),
            )
                .into_response()
        }
    }
}

/// Renders `err` as an HTML page with its status.
pub fn error_page(state: &AppState, err: AppError) -> Response {
    let status = err.status();
    let heading = match status {
        StatusCode::NOT_FOUND => "Not found",
        StatusCode::BAD_REQUEST | StatusCode::UNPROCESSABLE_ENTITY => "That didn't work",
        StatusCode::UNAUTHORIZED => "Please sign in",
        StatusCode::FORBIDDEN => "Not allowed",
        StatusCode::PAYLOAD_TOO_LARGE => "Too large",
        StatusCode::TOO_MANY_REQUESTS => "Slow down",
        _ => "Something went wrong",
    };
    let message = err.public_message();
    let loaded = state.loaded();
    let signin = status == StatusCode::UNAUTHORIZED;
    let page = render(
        state,
        status,
        "error.html",
        with_base(&loaded, context! { heading, message, signin }),
    );
    err.decorate(page)
}

/// A form that could not be read: too large → 413, anything else → 400.
pub(crate) fn form_error(e: FormRejection) -> AppError {
    if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
        AppError::PayloadTooLarge(crate::error::too_large_message())
    } else {
        AppError::BadRequest(format!("the form could not be read ({})", e.body_text()))
    }
}

#[derive(Debug, Deserialize)]
pub struct HomeQuery {
    pub user: Option<String>,
    pub n: Option<String>,
    pub rank_by: Option<String>,
    pub min_rating: Option<String>,
    pub include_uncatalogued: Option<String>,
}

/// `/` and `/?user=ID[&rank_by=ranker|rating][&min_rating=X]`: the user form, then
/// recommendations beside the user's rated books.
pub async fn home(
    State(state): State<AppState>,
    caller: Caller,
    query: Result<Query<HomeQuery>, QueryRejection>,
) -> Response {
    let query = match query {
        Ok(q) => q,
        Err(e) => return error_page(&state, e.into()),
    };
    let loaded = state.loaded();
    let users = &loaded.model.fitted.users;
    let example_user = if users.is_empty() {
        String::new()
    } else {
        users.id(0).to_string()
    };
    let q = Some(query.0);
    let mut input = q.as_ref().and_then(|q| q.user.clone()).unwrap_or_default();
    if input.trim().is_empty() {
        // A signed-in reader's home page is their own.
        input = caller.signed_in().unwrap_or_default().to_string();
    } else if let Err(e) = caller.authorize_reader(input.trim()) {
        return error_page(&state, e);
    }
    // The "predicted at least" field, when the served model predicts ratings: its scale, the
    // request's value, and the server's default as the placeholder.
    let rating = &loaded.model.fitted;
    let min_rating_scale = rating
        .kind
        .predicts_ratings()
        .then_some([rating.scale.min, rating.scale.max]);
    let min_rating_input = q.as_ref().and_then(|q| q.min_rating.clone());
    let ctx = |extra: Value| {
        with_base(
            &loaded,
            context! {
                user_input => input.clone(),
                example_user => example_user.clone(),
                rated_limit => RATED_LIMIT,
                min_rating_scale,
                min_rating_input => min_rating_input.clone(),
                default_min_rating => state.settings().min_rating,
                ..extra
            },
        )
    };
    if input.trim().is_empty() {
        return render(&state, StatusCode::OK, "home.html", ctx(Value::UNDEFINED));
    }
    let result: AppResult<Value> = async {
        let user_id = check_id("reader", &input)?.to_string();
        let n = parse_n(q.as_ref().and_then(|q| q.n.as_deref()), 10)?;
        let req = RecRequest {
            n,
            explain: true,
            rank_by: parse_rank_by(q.as_ref().and_then(|q| q.rank_by.as_deref()))?,
            min_rating: parse_min_rating(q.as_ref().and_then(|q| q.min_rating.as_deref()))?,
            include_uncatalogued: parse_bool(
                "include_uncatalogued",
                q.as_ref().and_then(|q| q.include_uncatalogued.as_deref()),
                false,
            )?,
        };
        let recs = recommendations_for(&state, user_id.clone(), req).await?;
        let rated = ratings_for(&state, user_id.clone()).await?;
        Ok(context! { user_id, recs, rated })
    }
    .await;
    match result {
        Ok(extra) => render(&state, StatusCode::OK, "home.html", ctx(extra)),
        Err(e) if e.status().is_client_error() => {
            let status = e.status();
            let error = format!(
                "{}. Reader IDs look like {example_user:?}.",
                e.public_message()
            );
            render(&state, status, "home.html", ctx(context! { error }))
        }
        Err(e) => error_page(&state, e),
    }
}

#[derive(Debug, Deserialize)]
pub struct BookQuery {
    pub user: Option<String>,
}

/// `/books/{id}`: metadata, a rating form, and similar books.
pub async fn book(
    State(state): State<AppState>,
    caller: Caller,
    path: Result<ApiPath<String>, AppError>,
    query: Result<Query<BookQuery>, QueryRejection>,
) -> Response {
    let result: AppResult<Response> = async {
        let ApiPath(id) = path?;
        let book_id = check_id("book", &id)?.to_string();
        let loaded = state.loaded();
        let min_support = state.settings().min_support;
        let l = loaded.clone();
        let (book, similar) = blocking(move || {
            let book = l
                .book_view(&book_id)
                .ok_or_else(|| AppError::NotFound(format!("There is no book {book_id:?}.")))?;
            let similar = l.similar(&book_id, 10, min_support, None, false)?;
            Ok((book, similar))
        })
        .await?;
        let user_id = match caller.mode {
            AuthMode::Open => query
                .ok()
                .and_then(|Query(q)| q.user)
                .filter(|u| check_id("user", u).is_ok()),
            AuthMode::Accounts => caller.signed_in().map(str::to_string),
        };
        let scale = loaded.model.fitted.scale;
        let scale_values: Vec<i32> = (scale.min.ceil() as i32..=scale.max.floor() as i32).collect();
        Ok(render(
            &state,
            StatusCode::OK,
            "book.html",
            with_base(&loaded, context! { book, similar, user_id, scale_values }),
        ))
    }
    .await;
    result.unwrap_or_else(|e| error_page(&state, e))
}

#[derive(Debug, Deserialize)]
pub struct SearchQuery {
    pub q: Option<String>,
}

/// `/search?q=`: catalogue search.
pub async fn search(
    State(state): State<AppState>,
    query: Result<Query<SearchQuery>, QueryRejection>,
) -> Response {
    let loaded = state.loaded();
    let raw = match query {
        Ok(Query(q)) => q.q,
        Err(e) => return error_page(&state, e.into()),
    };
    let Some(raw) = raw.filter(|r| !r.trim().is_empty()) else {
        return render(
            &state,
            StatusCode::OK,
            "search.html",
            with_base(&loaded, Value::UNDEFINED),
        );
    };
    let result: AppResult<Value> = async {
        let q = check_query(Some(&raw))?.to_string();
        let l = loaded.clone();
        let results = blocking(move || Ok(l.search(&q, 50))).await?;
        Ok(context! { results })
    }
    .await;
    match result {
        Ok(extra) => render(
            &state,
            StatusCode::OK,
            "search.html",
            with_base(&loaded, context! { query => raw, ..extra }),
        ),
        Err(e) if e.status().is_client_error() => render(
            &state,
            e.status(),
            "search.html",
            with_base(
                &loaded,
                context! { query => raw, error => e.public_message() },
            ),
        ),
        Err(e) => error_page(&state, e),
    }
}

/// `/start`: cold start for a new reader (search + rate + fold-in recommendations, in JS
/// against the JSON API).
pub async fn start(State(state): State<AppState>, caller: Caller) -> Response {
    let loaded = state.loaded();
    let opts = state.recommend_options();
    let req = RecRequest {
        n: 12,
        explain: false,
        rank_by: None,
        min_rating: state.settings().min_rating,
        include_uncatalogued: false,
    };
    let l = loaded.clone();
    let popular = match blocking(move || l.recommendations("", &[], &opts, req)).await {
        Ok(p) => p,
        Err(e) => return error_page(&state, e),
    };
    let scale = loaded.model.fitted.scale;
    render(
        &state,
        StatusCode::OK,
        "start.html",
        with_base(
            &loaded,
            context! {
                popular,
                reader => caller.signed_in(),
                scale_min => scale.min.ceil() as i32,
                scale_max => scale.max.floor() as i32,
            },
        ),
    )
}

#[derive(Debug, Deserialize)]
pub struct RateForm {
    /// The reader (`open` mode; in `accounts` mode the signed-in reader by default).
    #[serde(default)]
    pub user: String,
    pub book_id: String,
    pub rating: String,
    /// The CSRF token the page put in the form.
    pub csrf: Option<String>,
}

/// `POST /rate` (form on the book page): stores the rating, then shows the reader's page,
/// whose recommendations now fold the new rating in.
pub async fn rate(
    State(state): State<AppState>,
    caller: Caller,
    form: Result<Form<RateForm>, FormRejection>,
) -> Response {
    let result: AppResult<String> = async {
        let Form(mut form) = form.map_err(|e| {
            if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
                return form_error(e);
            }
            AppError::BadRequest(format!(
                "the rating form needs the fields user, book_id and rating ({})",
                e.body_text()
            ))
        })?;
        caller.check_csrf(form.csrf.as_deref())?;
        if form.user.trim().is_empty() {
            form.user = caller.signed_in().unwrap_or_default().to_string();
        }
        caller.authorize_reader(form.user.trim())?;
        let rating: f32 = form.rating.trim().parse().map_err(|_| {
            AppError::BadRequest(format!(
                "rating must be a number (got {:?})",
                bookrec_core::error::excerpt(&form.rating, 20)
            ))
        })?;
        let ack = store_rating(&state, &form.user, &form.book_id, rating).await?;
        Ok(ack.user_id)
    }
    .await;
    match result {
        Ok(user) => {
            let mut url = String::from("/?user=");
            url.extend(form_urlencoded_component(&user));
            Redirect::to(&url).into_response()
        }
        Err(e) => error_page(&state, e),
    }
}

/// Percent-encodes a query component (ids are short; no extra dependency for this).
fn form_urlencoded_component(s: &str) -> impl Iterator<Item = char> + '_ {
    s.bytes().flat_map(|b| {
        let keep = b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~');
        let chars: Vec<char> = if keep {
            vec![b as char]
        } else {
            format!("%{b:02X}").chars().collect()
        };
        chars.into_iter()
    })
}
