//! The one JSON document of a reader's list and of a book's similar books: what
//! `GET /api/users/{id}/recommendations` and `GET /api/books/{id}/similar` answer and what
//! `bookrec recommend --json` / `bookrec similar --json` print, field for field. Python's
//! DataFrames use the same names for their columns (`book_id` for `book.id`).
//!
//! With the `utoipa` feature (the web app's), the types also describe themselves in the
//! OpenAPI document.

use serde::{Deserialize, Serialize};

use crate::data::{Book, Catalog};
use crate::models::{FittedModel, ModelKind};

use super::{Listed, ReaderList, SimilarList, Source};

/// A book as shown: catalogue metadata when the catalogue has it, else its id.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub struct BookView {
    pub id: String,
    pub title: String,
    pub author: String,
    pub year: Option<u16>,
    pub publisher: Option<String>,
    pub genre: Option<String>,
    pub image_url: Option<String>,
    /// False when the book is rated in the data but missing from the catalogue.
    pub in_catalog: bool,
    /// Training ratings the model saw for this book (0 when unknown to the model).
    pub n_ratings: u32,
}

/// A rated book named as a reason for a recommendation.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub struct Because {
    pub book_id: String,
    pub title: String,
    /// The user's rating of that book.
    pub rating: f32,
}

/// What the scores of a recommendation list mean.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum ScoreKind {
    /// A predicted rating on the model's scale (rating models).
    PredictedRating,
    /// A ranking model's preference score (ials: ≈ 1 = likely to read; not a rating).
    Preference,
    /// A number of training interactions (the popularity model).
    Interactions,
    /// A work's damped mean rating on the data's scale: the popular list a reader without
    /// ratings gets, whatever the model (see `recommend::popular_ranking`).
    DampedMeanRating,
}

impl ScoreKind {
    /// The kind of score a model of `kind` ranks by.
    pub fn of(kind: ModelKind) -> Self {
        match kind {
            k if k.predicts_ratings() => ScoreKind::PredictedRating,
            ModelKind::Popularity => ScoreKind::Interactions,
            _ => ScoreKind::Preference,
        }
    }
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub struct Recommendation {
    pub book: BookView,
    /// Predicted rating on the scale of the rating model (`rating_model`); `null` when no
    /// served model predicts ratings, or when the ranker listed a book the rating model has
    /// no training ratings for.
    pub predicted_rating: Option<f32>,
    /// The score the list is ranked by, from the model named in `ranker`: a predicted rating,
    /// a preference, a count or a work's damped mean rating (see `score_kind`).
    pub score: f32,
    /// The user's rated books that contribute most to this recommendation (empty for popular
    /// fallbacks, and from the CLI, which does not explain).
    pub because: Vec<Because>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub struct RecommendationsResponse {
    pub user_id: String,
    /// Whether the trained model knows this user.
    pub known_user: bool,
    pub source: Source,
    /// A sentence for the reader when the list is a fallback.
    pub message: Option<String>,
    /// Ratings used (training + stored, books known to the ranking model). For a ranking model
    /// fitted on every interaction (ials) this counts the unrated (implicit) ones too, so it
    /// can exceed the explicit ratings that `/api/users/{id}/ratings` lists.
    pub n_ratings_used: usize,
    /// Of those, ratings stored on the web app's server (or given to fold in) rather than
    /// training ratings; always 0 from `bookrec recommend`, which reads no stored ratings.
    pub n_stored_ratings_used: usize,
    /// The model kind that chose and ordered the list (e.g. "ials" with a ranker, else the
    /// served model, e.g. "svd").
    pub ranker: String,
    /// What `score` means for the ranking model.
    pub score_kind: ScoreKind,
    /// The model kind that supplied `predicted_rating`; `null` when no served model predicts
    /// ratings.
    pub rating_model: Option<String>,
    /// True when the predicted ratings are the rating model's non-personal fallback (μ + b_i:
    /// it has no ratings from this reader), not a prediction for this reader.
    pub rating_fallback: bool,
    /// The minimum predicted rating applied (`?min_rating=` or the server's `--min-rating`):
    /// books the rating model predicts lower were left out. `null`: no minimum.
    pub min_rating: Option<f32>,
    pub items: Vec<Recommendation>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub struct SimilarBook {
    pub book: BookView,
    /// Similarity as computed by the model (higher = more similar).
    pub similarity: f32,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub struct SimilarResponse {
    pub book_id: String,
    /// The model kind whose book similarities these are (the ranker when there is one).
    pub ranker: String,
    pub items: Vec<SimilarBook>,
}

/// Training ratings `model` has for the book `id` (0 when unknown).
fn support(model: &FittedModel, id: &str) -> u32 {
    model
        .items
        .get(id)
        .and_then(|i| model.item_popularity.get(i as usize))
        .copied()
        .unwrap_or(0)
}

/// The book `id` as shown, with `model`'s count of its training ratings; a book missing from
/// the catalogue shows as its id.
pub fn view(model: &FittedModel, catalog: &Catalog, id: &str) -> BookView {
    let n_ratings = support(model, id);
    match catalog.get(id) {
        Some(b) => view_of_book(id, b, n_ratings),
        None => BookView {
            id: id.to_string(),
            title: format!("Book {id}"),
            author: "unknown author".to_string(),
            year: None,
            publisher: None,
            genre: None,
            image_url: None,
            in_catalog: false,
            n_ratings,
        },
    }
}

fn view_of_book(id: &str, b: &Book, n_ratings: u32) -> BookView {
    BookView {
        id: id.to_string(),
        title: b.title.clone(),
        author: b.author.clone(),
        year: b.year,
        publisher: b.publisher.clone(),
        genre: b.genre.clone(),
        image_url: b.image_url.clone().filter(|u| is_web_url(u)),
        in_catalog: true,
        n_ratings,
    }
}

/// Only http(s) cover URLs are shown (no `javascript:` or `data:` from a catalogue file).
fn is_web_url(url: &str) -> bool {
    let lower = url.trim_start().to_ascii_lowercase();
    lower.starts_with("http://") || lower.starts_with("https://")
}

/// The document of `list` for `user_id`: books shown through `catalog` with the rating
/// model `model`'s counts, each with the reasons `because` gives (the web app's explanations;
/// none elsewhere).
pub fn recommendations(
    user_id: &str,
    list: &ReaderList,
    model: &FittedModel,
    catalog: &Catalog,
    mut because: impl FnMut(&Listed) -> Vec<Because>,
) -> RecommendationsResponse {
    let reader = &list.reader;
    let items = list
        .items
        .iter()
        .map(|l| Recommendation {
            book: view(model, catalog, &l.book_id),
            predicted_rating: l.predicted_rating,
            score: l.score,
            because: because(l),
        })
        .collect();
    let message = (reader.source == Source::Popular).then(|| {
        if reader.known.is_none() {
            format!(
                "We don't know reader {user_id:?} yet, so here are the most popular books. \
                 Rate a few books to get personal recommendations."
            )
        } else {
            "This reader has no ratings yet, so here are the most popular books.".to_string()
        }
    });
    RecommendationsResponse {
        user_id: user_id.to_string(),
        known_user: list.known_user(),
        source: reader.source,
        message,
        n_ratings_used: list.n_ratings_used(),
        n_stored_ratings_used: reader.given_used,
        ranker: list.ranker.name().to_string(),
        score_kind: if reader.source == Source::Popular {
            ScoreKind::DampedMeanRating
        } else {
            ScoreKind::of(list.ranker)
        },
        rating_model: list.rating_model.map(|k| k.name().to_string()),
        rating_fallback: list.rating_fallback,
        min_rating: list.min_rating,
        items,
    }
}

/// The document of the books similar to `book_id`.
pub fn similar(
    book_id: &str,
    list: &SimilarList,
    model: &FittedModel,
    catalog: &Catalog,
) -> SimilarResponse {
    SimilarResponse {
        book_id: book_id.to_string(),
        ranker: list.ranker.name().to_string(),
        items: list
            .items
            .iter()
            .map(|(id, similarity)| SimilarBook {
                book: view(model, catalog, id),
                similarity: *similarity,
            })
            .collect(),
    }
}
