//! What pages and the JSON API show, computed once for both: recommendations with their
//! explanations, a user's ratings, a book with its similar books, search results.
//!
//! Everything here is synchronous CPU work over an `Arc<Loaded>` snapshot; handlers call it
//! inside `spawn_blocking`. Nothing is copied out of the model except the few numbers shown.

use bookrec_core::recommend::{document, Reader, Recommender, Request, Served};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::engine::{Catalog, FittedModel, RecommendOptions};
use crate::error::{AppError, AppResult};
use crate::state::Loaded;
use crate::store::StoredRating;

// The documents of a reader's list and of similar books are the core's, shared with
// `bookrec recommend --json` and Python (see `bookrec_core::recommend::document`).
pub use bookrec_core::recommend::document::{
    Because, BookView, Recommendation, RecommendationsResponse, ScoreKind, SimilarBook,
    SimilarResponse,
};
pub use bookrec_core::recommend::{RankBy, Source as RecSource};

/// Largest `n` accepted for top-N, similar and search.
pub const MAX_N: usize = 100;
/// Longest accepted user or book id (Book-Crossing ids are ≤ 13 characters).
pub const MAX_ID_LEN: usize = 64;
/// The ids [`check_id`] accepts, as the OpenAPI document states them: 1–64 characters, none of
/// them white space or a control character (C0, DEL, C1). A test checks the two agree.
pub const ID_PATTERN: &str = r"^[^\s\x00-\x1f\x7f-\x9f]{1,64}$";
/// Longest accepted search query, in characters.
pub const MAX_QUERY_LEN: usize = 200;
/// How many "because you rated X highly" books each recommendation names.
pub const EXPLAIN_N: usize = 2;

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
    /// List books without a catalogue entry too (see [`bookrec_core::recommend::lists`]).
    pub include_uncatalogued: bool,
}

/// Parses `?rank_by=` (`ranker` or `rating`; absent or empty = the server's default).
pub fn parse_rank_by(raw: Option<&str>) -> AppResult<Option<RankBy>> {
    match raw.map(str::trim) {
        None | Some("") => Ok(None),
        Some("ranker") => Ok(Some(RankBy::Ranker)),
        Some("rating") => Ok(Some(RankBy::Rating)),
        Some(other) => Err(AppError::BadRequest(format!(
            "rank_by must be \"ranker\" or \"rating\" (got {:?})",
            bookrec_core::error::excerpt(other, 20)
        ))),
    }
}

/// Parses `?min_rating=` (absent or empty = the server's default): a number. Whether it suits
/// the rating model is checked where the model is at hand ([`check_min_rating`]).
///
/// [`check_min_rating`]: bookrec_core::recommend::check_min_rating
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

/// The ranker as `/readyz` and `/admin/reload` describe it.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct RankerInfo {
    /// Model kind, e.g. "ials".
    pub model: String,
    pub users: usize,
    pub books: usize,
    /// Books the ranker can list that the rating model has no training ratings for (listed
    /// with `predicted_rating: null`).
    pub books_unknown_to_model: usize,
}

/// A core error about a request the served models cannot answer (e.g. `rank_by=ranker`
/// without a ranker): the client's to fix.
fn unprocessable(e: bookrec_core::Error) -> AppError {
    AppError::Unprocessable(e.to_string())
}

impl Loaded {
    /// The served model and ranker as the core's one source of lists.
    pub fn recommender(&self) -> Recommender<'_> {
        Recommender::new(&self.model, self.ranker.as_ref())
    }

    pub fn ranker_info(&self) -> Option<RankerInfo> {
        let ranker = self.ranker.as_ref()?;
        Some(RankerInfo {
            model: ranker.fitted.kind.name().to_string(),
            users: ranker.fitted.users.len(),
            books: ranker.fitted.items.len(),
            books_unknown_to_model: self.pair.map_or(0, |p| p.books_unknown_to_model),
        })
    }

    /// The book as shown, or `None` if neither the catalogue nor the model knows `id`.
    pub fn book_view(&self, id: &str) -> Option<BookView> {
        let model = &self.model.fitted;
        if model.items.get(id).is_none() && self.catalog.get(id).is_none() {
            return None;
        }
        Some(document::view(model, &self.catalog, id))
    }

    /// View of a book listed by `model` (the model or the ranker), by its index.
    fn listed_view(&self, model: &FittedModel, item: u32) -> BookView {
        document::view(&self.model.fitted, &self.catalog, model.items.id(item))
    }

    /// Top-`req.n` recommendations for `user_id`, with their explanations: the core's list
    /// (see [`bookrec_core::recommend`]) with the user's ratings stored on this server folded
    /// in, ranked by the model `req.rank_by` names (default: the ranker if there is one).
    ///
    /// The ranking model sees the reader as [`Reader::of`] says:
    /// - known user, nothing stored: the trained factors ([`RecSource::Personal`]);
    /// - any stored ratings (known or new user): training + stored ratings folded in
    ///   ([`RecSource::FoldIn`]), so rating more books changes the list on the next load;
    /// - no ratings at all: popular books ([`RecSource::Popular`]) and a message saying so.
    ///
    /// With `req.explain`, each item names up to [`EXPLAIN_N`] of the user's books that
    /// contribute most to its ranking score and that the user rated highly (at or above both
    /// their own mean rating and the middle of the scale). This costs one fold-in
    /// decomposition per item (see `FittedModel::explain_for_ratings`), more than the top-N
    /// itself for readers with hundreds of ratings.
    pub fn recommendations(
        &self,
        user_id: &str,
        stored: &[StoredRating],
        opts: &RecommendOptions,
        req: RecRequest,
    ) -> AppResult<RecommendationsResponse> {
        let given: Vec<(&str, f32)> = stored
            .iter()
            .map(|s| (s.book_id.as_str(), s.rating))
            .collect();
        let recommender = self.recommender();
        let list = recommender
            .recommend(&Request {
                ratings: &given,
                min_rating: req.min_rating,
                rank_by: req.rank_by,
                include_uncatalogued: req.include_uncatalogued,
                ..Request::new(Some(user_id), req.n, opts.clone())
            })
            .map_err(unprocessable)?;
        let (ranking, _) = recommender
            .ranking(Some(list.ranked_by))
            .map_err(unprocessable)?;
        let ranker = &*ranking.fitted;
        let explainer = (req.explain && list.source() != RecSource::Popular)
            .then(|| Explainer::new(ranker, &list.reader, opts.min_support));
        Ok(document::recommendations(
            user_id,
            &list,
            &self.model.fitted,
            &self.catalog,
            |l| {
                explainer
                    .as_ref()
                    .map(|e| e.because(ranking, &self.catalog, l.item))
                    .unwrap_or_default()
            },
        ))
    }

    /// All ratings of `user_id` (training + stored), highest first; `None` if the model does
    /// not know the user and nothing is stored for them.
    pub fn user_ratings(&self, user_id: &str, stored: &[StoredRating]) -> Option<RatingsResponse> {
        let model = &self.model.fitted;
        let user = Reader::of(model, Some(user_id), &[]).known;
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

    /// Up to `n` books similar to `book_id` (the core's [`Recommender::similar`]); `None` if
    /// the book is unknown to catalogue and ranking model. A catalogue book the ranking model
    /// never saw has no neighbours (empty list).
    pub fn similar(
        &self,
        book_id: &str,
        n: usize,
        min_support: u32,
        rank_by: Option<RankBy>,
        include_uncatalogued: bool,
    ) -> AppResult<Option<SimilarResponse>> {
        let recommender = self.recommender();
        let list = recommender
            .similar(book_id, n, min_support, rank_by, include_uncatalogued)
            .map_err(unprocessable)?;
        let list = match list {
            Some(list) => list,
            None if self.book_view(book_id).is_some() => {
                let (ranking, _) = recommender.ranking(rank_by).map_err(unprocessable)?;
                bookrec_core::recommend::SimilarList {
                    ranker: ranking.fitted.kind,
                    items: Vec::new(),
                }
            }
            None => return Ok(None),
        };
        Ok(Some(document::similar(
            book_id,
            &list,
            &self.model.fitted,
            &self.catalog,
        )))
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
    /// A named book needs as many training ratings as a recommended one.
    min_support: u32,
}

impl<'a> Explainer<'a> {
    fn new(model: &FittedModel, reader: &'a Reader, min_support: u32) -> Self {
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
            min_support,
        }
    }

    /// The reader's highly rated works that most raise `item`'s score
    /// ([`bookrec_core::recommend::lists::WorkLists::reasons`]: editions pooled, weak or
    /// dissimilar reasons dropped).
    fn because(&self, served: &Served, catalog: &Catalog, item: u32) -> Vec<Because> {
        let model = &*served.fitted;
        // Every contribution: whether one is strong enough depends on all of them.
        let all = self.ratings.len().max(1);
        let contributions = match self.user {
            Some(u) => model.explain(u, item, all),
            None => model.explain_for_ratings(self.ratings, item, all),
        };
        served
            .lists
            .reasons(
                &contributions,
                self.ratings,
                self.high,
                self.min_support,
                |rated| model.item_similarity(rated, item),
                EXPLAIN_N,
            )
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

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    /// The OpenAPI document's id pattern admits exactly the ids the server accepts (a schema
    /// fuzzer found ids the document admitted and the server refused): every character of the
    /// Basic Multilingual Plane inside an id, and the length limits.
    #[test]
    fn id_pattern_matches_check_id() {
        let pattern = regex::Regex::new(ID_PATTERN).unwrap();
        for c in (0u32..0x1_0000).filter_map(char::from_u32) {
            let id = format!("a{c}b");
            assert_eq!(
                pattern.is_match(&id),
                check_id("book", &id).is_ok(),
                "U+{:04X}",
                c as u32
            );
        }
        for len in [1, MAX_ID_LEN, MAX_ID_LEN + 1] {
            let id = "é".repeat(len);
            assert_eq!(
                pattern.is_match(&id),
                check_id("book", &id).is_ok(),
                "{len}"
            );
        }
        // …and it is the pattern every id parameter of the document states.
        let doc: serde_json::Value = serde_json::from_str(crate::openapi::document()).unwrap();
        let mut ids = 0;
        for operation in doc["paths"].as_object().unwrap().values() {
            for op in operation.as_object().unwrap().values() {
                for p in op["parameters"].as_array().into_iter().flatten() {
                    if p["name"] == "id" {
                        assert_eq!(p["schema"]["pattern"], ID_PATTERN, "{p}");
                        ids += 1;
                    }
                }
            }
        }
        assert_eq!(ids, 5);
    }
}
