//! The OpenAPI 3.1 document (utoipa, generated from the handlers' annotations), served at
//! `/openapi.json`; `/docs` is a small interactive page embedded in the binary that renders it
//! (no CDN).

use std::sync::OnceLock;

use axum::response::{IntoResponse, Response};
use utoipa::OpenApi;

use crate::routes::{admin, api};

#[derive(OpenApi)]
#[openapi(
    info(
        title = "bookrec API",
        description = "Personalised book recommendations: top-N for a reader, similar books, \
                       catalogue search, and ratings stored durably and folded into the model \
                       without retraining. With a ranker (`--ranker`), one model chooses and \
                       orders the lists and the other predicts ratings (`rank_by`, `ranker`, \
                       `rating_model`). Errors are JSON {\"error\": \"...\"} with a 4xx status. \
                       In `accounts` mode a reader's routes need that reader's session cookie or \
                       `Authorization: Bearer TOKEN` (`bookrec accounts token`); admin routes \
                       need an admin token. Every answer may also be 421 (unknown Host), \
                       414/431 (URI or headers too long); writes may be 403 (cross-origin), \
                       413 (body over 2 MB) or 429 (rate limit, with Retry-After)."
    ),
    paths(
        api::recommendations,
        api::user_ratings,
        api::add_rating,
        api::search_books,
        api::book,
        api::similar,
        api::healthz,
        api::readyz,
        admin::reload,
    ),
    components(schemas(crate::views::RankBy)),
    modifiers(&BearerScheme),
    tags(
        (name = "users", description = "Recommendations and ratings"),
        (name = "books", description = "Catalogue, search and similar books"),
        (name = "ops", description = "Health, readiness, hot reload"),
    )
)]
pub struct ApiDoc;

/// Declares the `bearer` security scheme the user and admin routes name.
struct BearerScheme;

impl utoipa::Modify for BearerScheme {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some(
                        "An API token from `bookrec accounts token --user ID` (`--admin` for \
                         admin routes). Needed in accounts mode; open mode needs none.",
                    ))
                    .build(),
            ),
        );
    }
}

/// The document, built once.
pub fn document() -> &'static str {
    static DOC: OnceLock<String> = OnceLock::new();
    DOC.get_or_init(|| {
        ApiDoc::openapi().to_pretty_json().unwrap_or_else(|e| {
            format!("{{\"error\": \"cannot serialise the API document: {e}\"}}")
        })
    })
}

pub async fn openapi_json() -> Response {
    (
        [(axum::http::header::CONTENT_TYPE, "application/json")],
        document(),
    )
        .into_response()
}
