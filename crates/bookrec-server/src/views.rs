//! What pages and the JSON API show, computed once for both: recommendations with their
//! explanations, a user's ratings, a book with its similar books, search results.
//!
//! Everything here is synchronous CPU work over an `Arc<Loaded>` snapshot; handlers call it
//! inside `spawn_blocking`. Nothing is copied out of the model except the few numbers shown.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::engine::{Book, RecommendOptions, ScoredItem};
use crate::error::{AppError, AppResult};
use crate::state::Loaded;
use crate::store::StoredRating;

/// Largest `n` accepted for top-N, similar and search.
pub const MAX_N: usize = 100;
/// Longest accepted user or book id (Book-Crossing ids are ≤ 13 characters).
pub const MAX_ID_LEN: usize = 64;
/// Longest accepted search query, in characters.
pub const MAX_QUERY_LEN: usize = 200;
/// How many "because you rated X highly" books each recommendation names.
pub const EXPLAIN_N: usize = 2;

/// A book as shown: catalogue metadata when the catalogue has it, else its id.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
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
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct Because {
    pub book_id: String,
    pub title: String,
    /// The user's rating of that book.
    pub rating: f32,
}

/// What the scores of a recommendation list mean.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ScoreKind {
    /// A predicted rating on the model's scale (rating models).
    PredictedRating,
    /// A ranking model's preference score (ials: ≈ 1 = likely to read; not a rating).
    Preference,
    /// A number of training interactions (the popularity model).
    Interactions,
}

impl ScoreKind {
    /// The kind of score `model` ranks by.
    pub fn of(model: &crate::engine::FittedModel) -> Self {
        match model.kind {
            k if k.predicts_ratings() => ScoreKind::PredictedRating,
            crate::engine::ModelKind::Popularity => ScoreKind::Interactions,
            _ => ScoreKind::Preference,
        }
    }
}

#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct Recommendation {
    pub book: BookView,
    /// Predicted rating on the model's scale; `null` when the model ranks without predicting
    /// ratings (see `score_kind`).
    pub predicted_rating: Option<f32>,
    /// The score the list is ranked by: the predicted rating, or a ranking model's score
    /// (see `score_kind`).
    pub score: f32,
    /// The user's rated books that contribute most to this recommendation (empty for popular
    /// fallbacks).
    pub because: Vec<Because>,
}

/// Where a list of recommendations came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum RecSource {
    /// The trained model's factors for this user.
    Personal,
    /// The user's ratings (training + stored) folded into the model, no retraining.
    FoldIn,
    /// Unknown user without ratings: popular books.
    Popular,
}

#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct RecommendationsResponse {
    pub user_id: String,
    /// Whether the trained model knows this user.
    pub known_user: bool,
    pub source: RecSource,
    /// A sentence for the reader when the list is a fallback.
    pub message: Option<String>,
    /// Ratings used (training + stored, books known to the model).
    pub n_ratings_used: usize,
    /// What `score` means for this model.
    pub score_kind: ScoreKind,
    pub items: Vec<Recommendation>,
}

/// Where a rating comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum RatingSource {
    /// The training data of the model.
    Training,
    /// Submitted to this server (SQLite).
    Stored,
}

#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct RatedBook {
    pub book: BookView,
    pub rating: f32,
    pub source: RatingSource,
}

#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct RatingsResponse {
    pub user_id: String,
    pub known_user: bool,
    /// Highest rating first; a stored rating replaces a training rating of the same book.
    pub ratings: Vec<RatedBook>,
}

#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct SimilarBook {
    pub book: BookView,
    /// Similarity as computed by the model (higher = more similar).
    pub similarity: f32,
}

#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct SimilarResponse {
    pub book_id: String,
    pub items: Vec<SimilarBook>,
}

#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct SearchResponse {
    pub query: String,
    pub items: Vec<BookView>,
}

/// Body of `POST /api/users/{id}/ratings`.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct NewRating {
    pub book_id: String,
    /// On the model's rating scale (e.g. 1–10 for Book-Crossing).
    pub rating: f32,
}

/// Answer to a stored rating: sent only after the rating is durably committed.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct RatingAck {
    pub user_id: String,
    pub book_id: String,
    pub rating: f32,
    /// Seconds since the Unix epoch.
    pub rated_at: i64,
}

// ---------------------------------------------------------------------------------------------
// Input validation (one place for pages and API).

/// Checks a user or book id: 1–64 characters, no whitespace or control characters.
pub fn check_id<'a>(what: &str, raw: &'a str) -> AppResult<&'a str> {
    let id = raw.trim();
    if id.is_empty() {
        return Err(AppError::BadRequest(format!("{what} id is empty")));
    }
    if id.chars().count() > MAX_ID_LEN {
        return Err(AppError::BadRequest(format!(
            "{what} id is too long ({} characters; at most {MAX_ID_LEN})",
            id.chars().count()
        )));
    }
    if id.chars().any(|c| c.is_control() || c.is_whitespace()) {
        return Err(AppError::BadRequest(format!(
            "{what} id {:?} contains spaces or control characters",
            bookrec_core::error::excerpt(id, 20)
        )));
    }
    Ok(id)
}

/// Parses `n` (default `default`): a whole number in 1..=[`MAX_N`].
pub fn parse_n(raw: Option<&str>, default: usize) -> AppResult<usize> {
    let Some(raw) = raw.map(str::trim).filter(|s| !s.is_empty()) else {
        return Ok(default);
    };
    let n: u64 = raw.parse().map_err(|_| {
        AppError::BadRequest(format!(
            "n must be a whole number between 1 and {MAX_N} (got {:?})",
            bookrec_core::error::excerpt(raw, 20)
        ))
    })?;
    if n == 0 || n > MAX_N as u64 {
        return Err(AppError::Unprocessable(format!(
            "n must be between 1 and {MAX_N} (got {n})"
        )));
    }
    Ok(n as usize)
}

/// Parses a boolean flag (`true`/`false`/`1`/`0`, default `default`).
pub fn parse_bool(name: &str, raw: Option<&str>, default: bool) -> AppResult<bool> {
    match raw.map(str::trim) {
        None | Some("") => Ok(default),
        Some("true" | "1" | "yes") => Ok(true),
        Some("false" | "0" | "no") => Ok(false),
        Some(other) => Err(AppError::BadRequest(format!(
            "{name} must be true or false (got {:?})",
            bookrec_core::error::excerpt(other, 20)
        ))),
    }
}

/// Checks a search query: non-empty after trimming, at most [`MAX_QUERY_LEN`] characters.
pub fn check_query(raw: Option<&str>) -> AppResult<&str> {
    let q = raw.map(str::trim).unwrap_or("");
    if q.is_empty() {
        return Err(AppError::BadRequest(
            "give a search query, e.g. ?q=tolkien".to_string(),
        ));
    }
    if q.chars().count() > MAX_QUERY_LEN {
        return Err(AppError::BadRequest(format!(
            "search query is too long (at most {MAX_QUERY_LEN} characters)"
        )));
    }
    Ok(q)
}

/// Checks a rating against the model's scale.
pub fn check_rating(loaded: &Loaded, rating: f32) -> AppResult<f32> {
    let scale = loaded.model.scale;
    if !rating.is_finite() || !scale.contains(rating) {
        return Err(AppError::Unprocessable(format!(
            "rating must be between {} and {} (got {rating})",
            scale.min, scale.max
        )));
    }
    Ok(rating)
}

// ---------------------------------------------------------------------------------------------
// Views.

impl Loaded {
    /// The book as shown, or `None` if neither the catalogue nor the model knows `id`.
    pub fn book_view(&self, id: &str) -> Option<BookView> {
        let item = self.model.items.get(id);
        let book = self.catalog.get(id);
        if item.is_none() && book.is_none() {
            return None;
        }
        Some(self.view_of(id, book, item))
    }

    fn view_of(&self, id: &str, book: Option<&Book>, item: Option<u32>) -> BookView {
        let n_ratings = item
            .and_then(|i| self.model.item_popularity.get(i as usize).copied())
            .unwrap_or(0);
        match book {
            Some(b) => BookView {
                id: id.to_string(),
                title: b.title.clone(),
                author: b.author.clone(),
                year: b.year,
                publisher: b.publisher.clone(),
                genre: b.genre.clone(),
                image_url: b.image_url.clone().filter(|u| is_web_url(u)),
                in_catalog: true,
                n_ratings,
            },
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

    /// The model's index of `user_id` if the model has training ratings for them (vocabularies
    /// may be shared with a larger data set, so being in the vocabulary is not enough).
    pub fn known_user(&self, user_id: &str) -> Option<u32> {
        self.model
            .users
            .get(user_id)
            .filter(|&u| self.model.knows_user(u))
    }

    /// The engine's top-N for a known user, through the contiguous candidate block when there
    /// is one (identical results, see [`crate::fast`]).
    pub fn recommend_known(&self, user: u32, n: usize, opts: &RecommendOptions) -> Vec<ScoredItem> {
        self.fast
            .as_ref()
            .and_then(|f| f.recommend(&self.model, user, n, opts))
            .unwrap_or_else(|| self.model.recommend(user, n, opts))
    }

    /// View of a model item index.
    fn item_view(&self, item: u32) -> BookView {
        let id = self.model.items.id(item);
        self.view_of(id, self.catalog.get(id), Some(item))
    }

    /// A user's ratings as the model should see them: training ratings with stored ratings
    /// replacing or adding to them (books unknown to the model are skipped — they cannot be
    /// folded in).
    fn model_ratings(&self, user: Option<u32>, stored: &[StoredRating]) -> Vec<(u32, f32)> {
        let mut merged: Vec<(u32, f32)> = match user {
            Some(u) => {
                let (items, values) = self.model.seen.row(u as usize);
                items.iter().copied().zip(values.iter().copied()).collect()
            }
            None => Vec::new(),
        };
        for s in stored {
            if let Some(item) = self.model.items.get(&s.book_id) {
                match merged.iter_mut().find(|(i, _)| *i == item) {
                    Some(slot) => slot.1 = s.rating,
                    None => merged.push((item, s.rating)),
                }
            }
        }
        merged
    }

    /// Top-`n` recommendations for `user_id`, with their explanations.
    ///
    /// - known user, nothing stored: the trained factors ([`RecSource::Personal`]);
    /// - any stored ratings (known or new user): training + stored ratings folded in
    ///   ([`RecSource::FoldIn`]), so rating more books changes the list on the next load;
    /// - no ratings at all: popular books ([`RecSource::Popular`]) and a message saying so.
    ///
    /// With `explain`, each item names up to [`EXPLAIN_N`] of the user's books that contribute
    /// most to its score and that the user rated highly (at or above both their own mean rating
    /// and the middle of the scale). This costs one fold-in decomposition per item (see
    /// `FittedModel::explain_for_ratings`), more than the top-N itself for readers with
    /// hundreds of ratings.
    pub fn recommendations(
        &self,
        user_id: &str,
        stored: &[StoredRating],
        n: usize,
        opts: &RecommendOptions,
        explain: bool,
    ) -> RecommendationsResponse {
        let user = self.known_user(user_id);
        let used_stored = stored
            .iter()
            .any(|s| self.model.items.get(&s.book_id).is_some());
        let ratings = self.model_ratings(user, stored);
        let (source, scored) = match user {
            Some(u) if !used_stored => (RecSource::Personal, self.recommend_known(u, n, opts)),
            _ if !ratings.is_empty() => (
                RecSource::FoldIn,
                self.model.recommend_for_ratings(&ratings, n, opts),
            ),
            _ => (RecSource::Popular, self.model.popular(n, opts)),
        };
        let personal = user.filter(|_| source == RecSource::Personal);
        let explain_with = explain.then(|| Explainer::new(self, personal, &ratings));
        let items = scored
            .iter()
            .map(|s| self.recommendation(s, source, explain_with.as_ref()))
            .collect();
        let message = (source == RecSource::Popular).then(|| {
            if user.is_none() {
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
            known_user: user.is_some(),
            source,
            message,
            n_ratings_used: ratings.len(),
            score_kind: ScoreKind::of(&self.model),
            items,
        }
    }

    fn recommendation(
        &self,
        s: &ScoredItem,
        source: RecSource,
        explainer: Option<&Explainer<'_>>,
    ) -> Recommendation {
        let (score, because) = match source {
            RecSource::Personal | RecSource::FoldIn => (
                s.score,
                explainer
                    .map(|e| e.because(self, s.item))
                    .unwrap_or_default(),
            ),
            // Popular: the score is a count; show the unknown-user prediction instead (μ + b_i
            // for rating models, the ranking model's own fallback score otherwise).
            RecSource::Popular => (self.model.predict_idx(None, Some(s.item)).value, Vec::new()),
        };
        Recommendation {
            book: self.item_view(s.item),
            predicted_rating: self.model.kind.predicts_ratings().then_some(score),
            score,
            because,
        }
    }

    /// All ratings of `user_id` (training + stored), highest first; `None` if the model does
    /// not know the user and nothing is stored for them.
    pub fn user_ratings(&self, user_id: &str, stored: &[StoredRating]) -> Option<RatingsResponse> {
        let user = self.known_user(user_id);
        if user.is_none() && stored.is_empty() {
            return None;
        }
        let mut ratings: Vec<RatedBook> = Vec::new();
        if let Some(u) = user {
            let (items, values) = self.model.seen.row(u as usize);
            for (&item, &rating) in items.iter().zip(values) {
                let id = self.model.items.id(item);
                if stored.iter().any(|s| s.book_id == id) {
                    continue;
                }
                ratings.push(RatedBook {
                    book: self.item_view(item),
                    rating,
                    source: RatingSource::Training,
                });
            }
        }
        for s in stored {
            if let Some(book) = self.book_view(&s.book_id) {
                ratings.push(RatedBook {
                    book,
                    rating: s.rating,
                    source: RatingSource::Stored,
                });
            }
        }
        ratings.sort_by(|a, b| {
            b.rating
                .total_cmp(&a.rating)
                .then_with(|| a.book.title.cmp(&b.book.title))
        });
        Some(RatingsResponse {
            user_id: user_id.to_string(),
            known_user: user.is_some(),
            ratings,
        })
    }

    /// Up to `n` books similar to `book_id` (positive similarity only) with at least
    /// `min_support` training ratings;
    /// `None` if the book is unknown to catalogue and model. A catalogue book the model never
    /// saw has no neighbours (empty list).
    pub fn similar(&self, book_id: &str, n: usize, min_support: u32) -> Option<SimilarResponse> {
        self.book_view(book_id)?;
        let items = match self.model.items.get(book_id) {
            Some(item) => {
                // Rarely rated books are left out: their factors are mostly noise.
                let opts = RecommendOptions {
                    min_support,
                    exclude_seen: true,
                };
                self.model
                    .similar_with(item, n.saturating_add(1), &opts)
                    .into_iter()
                    // Zero or negative similarity is not "readers also liked".
                    .filter(|s| s.item != item && s.score > 0.0)
                    .take(n)
                    .map(|s| SimilarBook {
                        book: self.item_view(s.item),
                        similarity: s.score,
                    })
                    .collect()
            }
            None => Vec::new(),
        };
        Some(SimilarResponse {
            book_id: book_id.to_string(),
            items,
        })
    }

    fn support(&self, item: u32) -> u32 {
        self.model
            .item_popularity
            .get(item as usize)
            .copied()
            .unwrap_or(0)
    }

    /// Catalogue search (see [`crate::search`]); popular books first within a match tier.
    pub fn search(&self, query: &str, n: usize) -> SearchResponse {
        let hits = self.search.search(query, n, |id| {
            self.model.items.get(id).map_or(0, |i| self.support(i))
        });
        let items = hits.iter().filter_map(|h| self.book_view(&h.id)).collect();
        SearchResponse {
            query: query.to_string(),
            items,
        }
    }
}

/// "Because you rated X highly" for one user's recommendations.
struct Explainer<'a> {
    /// The known user whose trained score is decomposed; `None` = decompose the fold-in
    /// estimate from `ratings`.
    user: Option<u32>,
    ratings: &'a [(u32, f32)],
    /// Ratings below this are not "rated highly", whatever their contribution.
    high: f32,
}

impl<'a> Explainer<'a> {
    fn new(loaded: &Loaded, user: Option<u32>, ratings: &'a [(u32, f32)]) -> Self {
        let mean = if ratings.is_empty() {
            0.0
        } else {
            ratings.iter().map(|r| r.1).sum::<f32>() / ratings.len() as f32
        };
        let scale = loaded.model.scale;
        Explainer {
            user,
            ratings,
            high: mean.max((scale.min + scale.max) / 2.0),
        }
    }

    fn rating_of(&self, item: u32) -> Option<f32> {
        self.ratings.iter().find(|(i, _)| *i == item).map(|r| r.1)
    }

    fn because(&self, loaded: &Loaded, item: u32) -> Vec<Because> {
        let model = &loaded.model;
        // Ask for a few more than shown: some top contributors may not be "rated highly".
        let want = EXPLAIN_N + 3;
        let reasons = match self.user {
            Some(u) => model.explain(u, item, want),
            None => model.explain_for_ratings(self.ratings, item, want),
        };
        reasons
            .iter()
            .filter_map(|r| {
                let rating = self.rating_of(r.item).filter(|&v| v >= self.high)?;
                let id = model.items.id(r.item);
                let title = loaded
                    .catalog
                    .get(id)
                    .map(|b| b.title.clone())
                    .unwrap_or_else(|| format!("Book {id}"));
                Some(Because {
                    book_id: id.to_string(),
                    title,
                    rating,
                })
            })
            .take(EXPLAIN_N)
            .collect()
    }
}

/// Only http(s) cover URLs are rendered (no `javascript:` or `data:` from a catalogue file).
fn is_web_url(url: &str) -> bool {
    let lower = url.trim_start().to_ascii_lowercase();
    lower.starts_with("http://") || lower.starts_with("https://")
}
