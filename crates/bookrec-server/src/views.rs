//! What pages and the JSON API show, computed once for both: recommendations with their
//! explanations, a user's ratings, a book with its similar books, search results.
//!
//! Everything here is synchronous CPU work over an `Arc<Loaded>` snapshot; handlers call it
//! inside `spawn_blocking`. Nothing is copied out of the model except the few numbers shown.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::engine::{Book, Catalog, FittedModel, RecommendOptions};
use crate::error::{AppError, AppResult};
use bookrec_core::lists::WorkLists;

use crate::ranking::{top_n_predicted_at_least, RankBy, Reader};
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
    /// Predicted rating on the scale of the rating model (`rating_model`); `null` when no
    /// served model predicts ratings, or when the ranker listed a book the rating model has
    /// no training ratings for.
    pub predicted_rating: Option<f32>,
    /// The score the list is ranked by, from the model named in `ranker`: a predicted rating,
    /// a preference or a count (see `score_kind`).
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
    /// Ratings used (training + stored, books known to the ranking model).
    pub n_ratings_used: usize,
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
    /// The model kind whose book similarities these are (the ranker when there is one).
    pub ranker: String,
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

/// What a recommendations request asks for, beyond the reader.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct RecRequest {
    /// How many books (at most; fewer when `min_rating` leaves too few).
    pub n: usize,
    /// Name the reader's books behind each one ("because you rated X highly").
    pub explain: bool,
    /// Which model ranks (default: the ranker if there is one).
    pub rank_by: Option<RankBy>,
    /// Leave out books the rating model predicts below this.
    pub min_rating: Option<f32>,
    /// List books without a catalogue entry too (see [`bookrec_core::lists`]).
    pub include_uncatalogued: bool,
}

/// Parses `?min_rating=` (absent or empty = the server's default): a number. Whether it suits
/// the rating model is checked where the model is at hand ([`check_min_rating`]).
///
/// [`check_min_rating`]: crate::ranking::check_min_rating
pub fn parse_min_rating(raw: Option<&str>) -> AppResult<Option<f32>> {
    let Some(raw) = raw.map(str::trim).filter(|s| !s.is_empty()) else {
        return Ok(None);
    };
    match raw.parse::<f32>() {
        Ok(v) if v.is_finite() => Ok(Some(v)),
        _ => Err(AppError::BadRequest(format!(
            "min_rating must be a number (got {:?})",
            bookrec_core::error::excerpt(raw, 20)
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
    let scale = loaded.model.fitted.scale;
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
        let item = self.model.fitted.items.get(id);
        let book = self.catalog.get(id);
        if item.is_none() && book.is_none() {
            return None;
        }
        Some(self.view_of(id, book, item))
    }

    fn view_of(&self, id: &str, book: Option<&Book>, item: Option<u32>) -> BookView {
        let n_ratings = item.map_or(0, |i| self.support(i));
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

    /// View of a book listed by `model` (the model or the ranker), by its id.
    fn listed_view(&self, model: &FittedModel, item: u32) -> BookView {
        let id = model.items.id(item);
        self.view_of(id, self.catalog.get(id), self.model.fitted.items.get(id))
    }

    /// Top-`req.n` recommendations for `user_id`, with their explanations, ranked by the
    /// model `req.rank_by` names (see [`crate::ranking`]; default: the ranker if there is one).
    ///
    /// The ranking model sees the reader as [`Reader::of`] says:
    /// - known user, nothing stored: the trained factors ([`RecSource::Personal`]);
    /// - any stored ratings (known or new user): training + stored ratings folded in
    ///   ([`RecSource::FoldIn`]), so rating more books changes the list on the next load;
    /// - no ratings at all: popular books ([`RecSource::Popular`]) and a message saying so.
    ///
    /// The rating model sees the reader the same way and predicts the listed books; with
    /// `req.min_rating`, books it predicts lower are left out and the list is filled from
    /// further down the ranking (see [`top_n_predicted_at_least`]). With `req.explain`, each
    /// item names up to [`EXPLAIN_N`] of the user's books that contribute most to its ranking
    /// score and that the user rated highly (at or above both their own mean rating and the
    /// middle of the scale). This costs one fold-in decomposition per item (see
    /// `FittedModel::explain_for_ratings`), more than the top-N itself for readers with
    /// hundreds of ratings.
    pub fn recommendations(
        &self,
        user_id: &str,
        stored: &[StoredRating],
        opts: &RecommendOptions,
        req: RecRequest,
    ) -> AppResult<RecommendationsResponse> {
        let RecRequest {
            n,
            explain,
            rank_by,
            min_rating,
            include_uncatalogued,
        } = req;
        let ranking = self.ranking(rank_by)?;
        let ranker = &ranking.fitted;
        let reader = Reader::of(ranker, user_id, stored);
        let rating = &self.model.fitted;
        let mut rating_fallback = false;
        // The rating model ranking its own list for a reader it sees: its scores are the
        // predictions, best first.
        let by_prediction = std::ptr::eq(ranking, &self.model)
            && rating.kind.predicts_ratings()
            && reader.source != RecSource::Popular;
        let (scored, predicted) = top_n_predicted_at_least(
            n,
            min_rating,
            by_prediction,
            |depth| ranking.top_n(&reader, depth, opts, include_uncatalogued),
            |listed| {
                let (values, fallback) =
                    self.predictions_for(ranking, &reader, listed, user_id, stored);
                rating_fallback = fallback;
                values
            },
        );
        let explainer = (explain && reader.source != RecSource::Popular)
            .then(|| Explainer::new(ranker, &reader));
        let items = scored
            .iter()
            .zip(predicted)
            .map(|(s, predicted_rating)| Recommendation {
                book: self.listed_view(ranker, s.item),
                predicted_rating,
                score: s.score,
                because: explainer
                    .as_ref()
                    .map(|e| e.because(ranker, &ranking.lists, &self.catalog, s.item))
                    .unwrap_or_default(),
            })
            .collect();
        let message = (reader.source == RecSource::Popular).then(|| {
            if reader.known.is_none() {
                format!(
                    "We don't know reader {user_id:?} yet, so here are the most popular books. \
                     Rate a few books to get personal recommendations."
                )
            } else {
                "This reader has no ratings yet, so here are the most popular books.".to_string()
            }
        });
        Ok(RecommendationsResponse {
            user_id: user_id.to_string(),
            known_user: reader.known.is_some(),
            source: reader.source,
            message,
            n_ratings_used: reader.ratings.len(),
            ranker: ranker.kind.name().to_string(),
            score_kind: ScoreKind::of(ranker),
            rating_model: rating
                .kind
                .predicts_ratings()
                .then(|| rating.kind.name().to_string()),
            rating_fallback,
            min_rating,
            items,
        })
    }

    /// All ratings of `user_id` (training + stored), highest first; `None` if the model does
    /// not know the user and nothing is stored for them.
    pub fn user_ratings(&self, user_id: &str, stored: &[StoredRating]) -> Option<RatingsResponse> {
        let model = &self.model.fitted;
        let user = Reader::of(model, user_id, &[]).known;
        if user.is_none() && stored.is_empty() {
            return None;
        }
        let mut ratings: Vec<RatedBook> = Vec::new();
        if let Some(u) = user {
            let (items, values) = model.seen.row(u as usize);
            for (&item, &rating) in items.iter().zip(values) {
                let id = model.items.id(item);
                if stored.iter().any(|s| s.book_id == id) {
                    continue;
                }
                ratings.push(RatedBook {
                    book: self.listed_view(model, item),
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
    /// `min_support` training ratings, by the model `rank_by` names (default: the ranker if
    /// there is one); `None` if the book is unknown to catalogue and model. A catalogue book the
    /// ranking model never saw has no neighbours (empty list).
    pub fn similar(
        &self,
        book_id: &str,
        n: usize,
        min_support: u32,
        rank_by: Option<RankBy>,
        include_uncatalogued: bool,
    ) -> AppResult<Option<SimilarResponse>> {
        let ranking = self.ranking(rank_by)?;
        let ranker = &ranking.fitted;
        if self.book_view(book_id).is_none() && ranker.items.get(book_id).is_none() {
            return Ok(None);
        }
        let items = match ranker.items.get(book_id) {
            Some(item) => {
                // Rarely rated books are left out: their factors are mostly noise.
                let opts = RecommendOptions {
                    min_support,
                    exclude_seen: true,
                };
                // The book's own work (any edition of it) is not "similar".
                let filter = ranking.lists.filter(&[item], include_uncatalogued);
                filter
                    .top(n, |m| ranker.similar_with(item, m, &opts))
                    .into_iter()
                    // Zero or negative similarity is not "readers also liked".
                    .filter(|s| s.score > 0.0)
                    .map(|s| SimilarBook {
                        book: self.listed_view(ranker, s.item),
                        similarity: s.score,
                    })
                    .collect()
            }
            None => Vec::new(),
        };
        Ok(Some(SimilarResponse {
            book_id: book_id.to_string(),
            ranker: ranker.kind.name().to_string(),
            items,
        }))
    }

    /// Training ratings of the model's book `item` (0 when unknown).
    fn support(&self, item: u32) -> u32 {
        self.model
            .fitted
            .item_popularity
            .get(item as usize)
            .copied()
            .unwrap_or(0)
    }

    /// Catalogue search (see [`crate::search`]); popular books first within a match tier.
    pub fn search(&self, query: &str, n: usize) -> SearchResponse {
        let hits = self.search.search(query, n, |id| {
            self.model
                .fitted
                .items
                .get(id)
                .map_or(0, |i| self.support(i))
        });
        let items = hits.iter().filter_map(|h| self.book_view(&h.id)).collect();
        SearchResponse {
            query: query.to_string(),
            items,
        }
    }
}

/// "Because you rated X highly" for one user's recommendations, from the model that ranked
/// them.
struct Explainer<'a> {
    /// The known user whose trained score is decomposed; `None` = decompose the fold-in
    /// estimate from `ratings`.
    user: Option<u32>,
    ratings: &'a [(u32, f32)],
    /// Ratings below this are not "rated highly", whatever their contribution.
    high: f32,
}

impl<'a> Explainer<'a> {
    fn new(model: &FittedModel, reader: &'a Reader) -> Self {
        let ratings = &reader.ratings;
        let mean = if ratings.is_empty() {
            0.0
        } else {
            ratings.iter().map(|r| r.1).sum::<f32>() / ratings.len() as f32
        };
        Explainer {
            user: reader
                .known
                .filter(|_| reader.source == RecSource::Personal),
            ratings,
            high: mean.max(model.scale.midpoint()),
        }
    }

    fn because(
        &self,
        model: &FittedModel,
        lists: &WorkLists,
        catalog: &Catalog,
        item: u32,
    ) -> Vec<Because> {
        // Every contribution: whether one is strong enough depends on all of them.
        let all = self.ratings.len().max(1);
        let contributions = match self.user {
            Some(u) => model.explain(u, item, all),
            None => model.explain_for_ratings(self.ratings, item, all),
        };
        lists
            .reasons(&contributions, self.ratings, self.high, EXPLAIN_N)
            .into_iter()
            .map(|(book, rating)| {
                let id = model.items.id(book);
                let title = catalog
                    .get(id)
                    .map(|b| b.title.clone())
                    .unwrap_or_else(|| format!("Book {id}"));
                Because {
                    book_id: id.to_string(),
                    title,
                    rating,
                }
            })
            .collect()
    }
}

/// Only http(s) cover URLs are rendered (no `javascript:` or `data:` from a catalogue file).
fn is_web_url(url: &str) -> bool {
    let lower = url.trim_start().to_ascii_lowercase();
    lower.starts_with("http://") || lower.starts_with("https://")
}
