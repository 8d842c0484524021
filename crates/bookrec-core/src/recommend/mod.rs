//! Recommendations: every list a reader sees, built in one place for the CLI, the web app,
//! Python and the demo. In go one or two fitted models ([`Served`]: the model, the works of
//! its books and a fast path for known readers), a catalogue and a reader's [`Request`]; out
//! come a [`ReaderList`] or [`SimilarList`] of works, each shown as one edition with its
//! predicted rating, and the JSON [`document`] every face renders. The rules every list obeys
//! (one edition per work, none the reader has, catalogued books, the popular list) are in
//! [`lists`].
//!
//! A [`Recommender`] holds the rating model (`--model`) and, optionally, a ranker (`--ranker`,
//! e.g. `ials`). With a ranker, the ranker chooses and orders every list — a reader's
//! recommendations, the popular books an unknown reader gets, similar books — and the model
//! supplies the predicted rating of each listed book. Without one, the model does both.
//! [`RankBy::Rating`] asks for the model's own list for one request, [`RankBy::Ranker`] insists
//! on the ranker.
//!
//! Both models see a reader the same way ([`Reader::of`]): their training ratings for them
//! ([`Source::Personal`]), or training + given ratings folded in ([`Source::FoldIn`]: the web
//! app's stored ratings, a new reader's ratings), or nothing ([`Source::Popular`]: the popular
//! books, decided here and nowhere else). The two models are matched by book id, never by index
//! (their vocabularies may differ). A listed book the model does not know gets no predicted
//! rating (`None`): its fallback μ + b_u would print the same number for every such book.
//! [`check_pair`] refuses pairs that cannot work together.
//!
//! A ranker may list books the rating model expects the reader to dislike. With a minimum
//! predicted rating, such books are left out and the list is filled from further down the
//! ranker's order ([`top_n_predicted_at_least`]). Every fetched candidate passes one gate,
//! [`Recommender::admit`] (today: the request's exclusions), and the popular list is ranked in
//! one function, [`popular_ranking`]: rules about which books may be listed, and how the
//! popular list is ordered, belong there.
//!
//! What the faces add is their own: the CLI prints, Python builds DataFrames, the web app
//! passes its stored ratings as [`Request::ratings`] and adds explanations; all of them render
//! the list as the one JSON document of [`document`].

pub mod document;
pub mod fast;
pub mod lists;
pub mod pair;

use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::data::Catalog;
use crate::error::{Error, Result};
use crate::models::{Fallback, FittedModel, ModelKind, Prediction, RecommendOptions, ScoredItem};
use lists::{WorkFilter, WorkLists};

pub use fast::CandidateScorer;
pub use pair::{check_min_rating, check_pair, PairCheck};

/// Which of the two models ranks a list.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum RankBy {
    /// The model given by `--ranker` (the default when there is one).
    Ranker,
    /// The model given by `--model`, which also supplies predicted ratings.
    Rating,
}

/// Where a list of recommendations came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Source {
    /// The trained model's factors for this user.
    Personal,
    /// The user's ratings (training + given) folded into the model, no retraining.
    FoldIn,
    /// No ratings at all: popular books.
    Popular,
}

/// A loaded model, the works its lists are made of, and its serving cache.
pub struct Served {
    pub fitted: Arc<FittedModel>,
    /// The works of the model's books and its popular list (see [`lists`]): every list holds
    /// one edition per work, none the reader has, only catalogued books.
    pub lists: Arc<WorkLists>,
    /// Contiguous candidate factors for known users' top-N (factor models only; see
    /// [`fast`]).
    pub fast: Option<CandidateScorer>,
}

impl Served {
    /// `fitted` without a catalogue (works are ISBN forms only; nothing is uncatalogued),
    /// with the contiguous candidate block for lists at `min_support` when given (worth it
    /// for a model that answers many requests; its lists are identical either way).
    pub fn new(fitted: impl Into<Arc<FittedModel>>, min_support: Option<u32>) -> Self {
        Self::with_catalog(fitted, min_support, &Catalog::default())
    }

    /// [`Self::new`], with works grouped from `catalog`'s titles and authors.
    pub fn with_catalog(
        fitted: impl Into<Arc<FittedModel>>,
        min_support: Option<u32>,
        catalog: &Catalog,
    ) -> Self {
        let fitted = fitted.into();
        let lists = Arc::new(WorkLists::new(&fitted, catalog));
        Self::with_lists(fitted, min_support, lists)
    }

    /// [`Self::new`] with works already built for `fitted` (e.g. cached across calls).
    pub fn with_lists(
        fitted: impl Into<Arc<FittedModel>>,
        min_support: Option<u32>,
        lists: Arc<WorkLists>,
    ) -> Self {
        let fitted = fitted.into();
        Served {
            fast: min_support.and_then(|m| CandidateScorer::build(&fitted, m)),
            lists,
            fitted,
        }
    }

    /// The engine's top-N for a known user, through the contiguous candidate block when there
    /// is one (identical results, see [`fast`]).
    pub fn recommend_known(&self, user: u32, n: usize, opts: &RecommendOptions) -> Vec<ScoredItem> {
        self.fast
            .as_ref()
            .and_then(|f| f.recommend(&self.fitted, user, n, opts))
            .unwrap_or_else(|| self.fitted.recommend(user, n, opts))
    }

    /// This model's top-`n` works for `reader`: trained factors, fold-in, or
    /// [`popular_ranking`], each candidate passing the works filter
    /// ([`WorkLists::filter`]: one edition per work, none of a work the reader has, only
    /// catalogued books unless `include_uncatalogued`).
    pub fn top_n(
        &self,
        reader: &Reader,
        n: usize,
        opts: &RecommendOptions,
        include_uncatalogued: bool,
    ) -> Vec<ScoredItem> {
        // The reader's works are left out unless the caller asked to see their own books.
        let had: Vec<u32> = if opts.exclude_seen {
            reader.ratings.iter().map(|r| r.0).collect()
        } else {
            Vec::new()
        };
        let filter = self.lists.filter(&had, include_uncatalogued);
        match (reader.source, reader.known) {
            (Source::Personal, Some(u)) => filter.top(n, |m| self.recommend_known(u, m, opts)),
            (Source::FoldIn, _) => filter.top(n, |m| {
                self.fitted.recommend_for_ratings(&reader.ratings, m, opts)
            }),
            _ => popular_ranking(self, n, opts, filter),
        }
    }
}

/// The popular list a reader without ratings gets from `served`: works ranked by the damped
/// (Bayesian) mean of their ratings ([`WorkLists::popular`], [`lists::PopularRule`]), each
/// shown as its representative edition with at least `opts.min_support` training ratings and
/// scored by that damped mean (a rating on the data's scale; the list's `score_kind` says
/// so). Raw rating counts would put much-rated, little-liked books on top.
/// The one place the popular list is ranked.
pub fn popular_ranking(
    served: &Served,
    n: usize,
    opts: &RecommendOptions,
    filter: WorkFilter<'_>,
) -> Vec<ScoredItem> {
    served.lists.popular(n, opts, filter)
}

/// How one model sees one reader.
#[derive(Clone, Debug)]
pub struct Reader {
    /// The model's index of the reader, if it has training ratings for them (vocabularies may
    /// be shared with a larger data set, so being in the vocabulary is not enough).
    pub known: Option<u32>,
    /// Training ratings with the given ratings replacing or adding to them, in the model's
    /// book indices (books the model does not know cannot be folded in: left out).
    pub ratings: Vec<(u32, f32)>,
    /// What the model's answers rest on: the trained parameters when nothing is given for a
    /// known reader, the ratings folded in as soon as any are given, else nothing.
    pub source: Source,
    /// How many of the given ratings name a book the model knows (the ones folded in).
    pub given_used: usize,
}

impl Reader {
    /// `user` (a raw id; `None` for a reader known only by `given` ratings) as `model` sees
    /// them, with `given` (book id, rating) pairs folded in beside their training ratings; a
    /// later rating of the same book replaces an earlier one.
    pub fn of(model: &FittedModel, user: Option<&str>, given: &[(&str, f32)]) -> Reader {
        let known = user
            .and_then(|id| model.users.get(id))
            .filter(|&u| model.knows_user(u));
        let mut ratings: Vec<(u32, f32)> = match known {
            Some(u) => {
                let (items, values) = model.seen.row(u as usize);
                items.iter().copied().zip(values.iter().copied()).collect()
            }
            None => Vec::new(),
        };
        let mut given_used = 0;
        for &(book_id, rating) in given {
            if let Some(item) = model.items.get(book_id) {
                given_used += 1;
                match ratings.iter_mut().find(|(i, _)| *i == item) {
                    Some(slot) => slot.1 = rating,
                    None => ratings.push((item, rating)),
                }
            }
        }
        let source = match known {
            Some(_) if given_used == 0 => Source::Personal,
            _ if !ratings.is_empty() => Source::FoldIn,
            _ => Source::Popular,
        };
        Reader {
            known,
            ratings,
            source,
            given_used,
        }
    }
}

/// `model`'s predicted rating of each book in `book_ids` for `reader` (seen through `model`,
/// see [`Reader::of`]), in order: the trained prediction, the fold-in prediction (one solve for
/// all books), or the unknown-reader fallback μ + b_i (flagged in [`Prediction::fallback`]).
/// `None` for a book the model has no training ratings for, and for every book when the model
/// does not predict ratings.
pub fn predicted_ratings(
    model: &FittedModel,
    reader: &Reader,
    book_ids: &[&str],
) -> Vec<Option<Prediction>> {
    if !model.kind.predicts_ratings() {
        return vec![None; book_ids.len()];
    }
    let items: Vec<Option<u32>> = book_ids
        .iter()
        .map(|id| model.items.get(id).filter(|&i| model.knows_item(i)))
        .collect();
    let known: Vec<u32> = items.iter().flatten().copied().collect();
    let predictions: Vec<Prediction> = match (reader.source, reader.known) {
        (Source::Personal, Some(u)) => known
            .iter()
            .map(|&i| model.predict_idx(Some(u), Some(i)))
            .collect(),
        (Source::FoldIn, _) => model.predict_items_for_ratings(&reader.ratings, &known),
        _ => known
            .iter()
            .map(|&i| model.predict_idx(None, Some(i)))
            .collect(),
    };
    let mut next = predictions.into_iter();
    items.iter().map(|i| i.and_then(|_| next.next())).collect()
}

/// Up to `n` books from a ranked list, each with its predicted rating, keeping only the books
/// `admit` lets in and leaving out books predicted below `min_rating`. `fetch(m)` gives the top
/// `m` of the list (best first; fewer when the list ends) and `predict` the predicted rating of
/// each admitted book. A book without a prediction stays: nothing says the reader would rate it
/// low.
///
/// Without `min_rating`, and when `admit` lets every book in, this is `fetch(n)` as it is.
/// Otherwise the list is fetched 4× deeper each time until `n` books pass or it ends, so a
/// strict threshold costs a few more top-N passes, and the answer holds fewer than `n` books
/// when fewer pass.
///
/// `by_prediction` says the list is ranked by the predicted rating itself (the rating model
/// ranking its own list for a reader it knows or folds in): then once an admitted book falls
/// below `min_rating`, none further down can pass, and no deeper fetch is made. A ranker's
/// list, or popular books, can hold a book predicted high after one predicted low, so they
/// are fetched deeper.
pub fn top_n_predicted_at_least(
    n: usize,
    min_rating: Option<f32>,
    by_prediction: bool,
    mut fetch: impl FnMut(usize) -> Vec<ScoredItem>,
    mut admit: impl FnMut(&ScoredItem) -> bool,
    mut predict: impl FnMut(&[ScoredItem]) -> Vec<Option<f32>>,
) -> (Vec<ScoredItem>, Vec<Option<f32>>) {
    let mut depth = n;
    loop {
        let listed = fetch(depth);
        let list_ended = listed.len() < depth;
        let admitted: Vec<ScoredItem> = listed.into_iter().filter(|s| admit(s)).collect();
        let predicted = predict(&admitted);
        let passes = |p: &Option<f32>| match min_rating {
            Some(min) => p.is_none_or(|v| v >= min),
            None => true,
        };
        let ended = list_ended
            || (by_prediction
                && min_rating.is_some()
                && predicted.last().is_some_and(|p| !passes(p)));
        let kept: (Vec<ScoredItem>, Vec<Option<f32>>) = admitted
            .into_iter()
            .zip(predicted)
            .filter(|(_, p)| passes(p))
            .take(n)
            .unzip();
        if kept.0.len() == n || ended || depth == 0 {
            return kept;
        }
        depth = depth.saturating_mul(4);
    }
}

/// What a list is asked for, beyond the models.
#[derive(Clone, Debug)]
pub struct Request<'a> {
    /// The reader's raw id; `None` for a new reader known only by `ratings`.
    pub user: Option<&'a str>,
    /// (book id, rating) pairs folded in beside the reader's training ratings: the web app's
    /// stored ratings, a new reader's ratings. Empty: the trained model as it is.
    pub ratings: &'a [(&'a str, f32)],
    /// How many books (at most; fewer when `min_rating` or `exclude` leave too few).
    pub n: usize,
    /// Minimum support and whether the reader's own books are left out.
    pub opts: RecommendOptions,
    /// Leave out books the rating model predicts below this; must have passed
    /// [`check_min_rating`].
    pub min_rating: Option<f32>,
    /// Which model ranks (default: the ranker if there is one).
    pub rank_by: Option<RankBy>,
    /// List books without a catalogue entry too (by default a list holds only books the
    /// catalogue describes, when there is one).
    pub include_uncatalogued: bool,
    /// Book ids never to list (e.g. books already shown); the list is filled from further
    /// down instead.
    pub exclude: &'a [&'a str],
}

impl<'a> Request<'a> {
    /// `n` books for `user` with `opts`, nothing else asked.
    pub fn new(user: Option<&'a str>, n: usize, opts: RecommendOptions) -> Self {
        Request {
            user,
            ratings: &[],
            n,
            opts,
            min_rating: None,
            rank_by: None,
            include_uncatalogued: false,
            exclude: &[],
        }
    }
}

/// One listed book.
#[derive(Clone, Debug, PartialEq)]
pub struct Listed {
    /// The book's index in the ranking model's vocabulary.
    pub item: u32,
    pub book_id: String,
    /// The ranking model's score: a predicted rating, a preference or a count (see
    /// [`document::ScoreKind`]).
    pub score: f32,
    /// The rating model's predicted rating; `None` for a book it has no training ratings for,
    /// or when it does not predict ratings.
    pub predicted_rating: Option<f32>,
}

/// One reader's list, with what it rests on.
#[derive(Clone, Debug)]
pub struct ReaderList {
    /// Best first.
    pub items: Vec<Listed>,
    /// Which served model ranked.
    pub ranked_by: RankBy,
    /// The kind of the ranking model.
    pub ranker: ModelKind,
    /// The kind of the rating model, when it predicts ratings.
    pub rating_model: Option<ModelKind>,
    /// The reader as the ranking model sees them (explanations decompose its scores).
    pub reader: Reader,
    /// True when the predicted ratings are the rating model's non-personal fallback (μ + b_i:
    /// it has no ratings from this reader), not a prediction for this reader.
    pub rating_fallback: bool,
    /// The minimum predicted rating applied.
    pub min_rating: Option<f32>,
}

impl ReaderList {
    /// Whether the ranking model has training ratings for the reader.
    pub fn known_user(&self) -> bool {
        self.reader.known.is_some()
    }

    pub fn source(&self) -> Source {
        self.reader.source
    }

    /// Ratings the list rests on (training + given, books known to the ranking model).
    pub fn n_ratings_used(&self) -> usize {
        self.reader.ratings.len()
    }
}

/// Books similar to one book.
#[derive(Clone, Debug)]
pub struct SimilarList {
    /// The kind of the model whose similarities these are.
    pub ranker: ModelKind,
    /// (book id, similarity), most similar first; positive similarities only.
    pub items: Vec<(String, f32)>,
}

/// The rating model and the optional ranker, as one source of lists (see the module doc).
#[derive(Clone, Copy)]
pub struct Recommender<'a> {
    pub model: &'a Served,
    pub ranker: Option<&'a Served>,
}

impl<'a> Recommender<'a> {
    /// The pair must have passed [`check_pair`].
    pub fn new(model: &'a Served, ranker: Option<&'a Served>) -> Self {
        Recommender { model, ranker }
    }

    /// The model that ranks for `rank_by`: by default the ranker when there is one, else the
    /// model. Asking for a ranker that is not there is an error.
    pub fn ranking(&self, rank_by: Option<RankBy>) -> Result<(&'a Served, RankBy)> {
        match (rank_by, self.ranker) {
            (Some(RankBy::Rating), _) | (None, None) => Ok((self.model, RankBy::Rating)),
            (Some(RankBy::Ranker) | None, Some(ranker)) => Ok((ranker, RankBy::Ranker)),
            (Some(RankBy::Ranker), None) => Err(Error::Invalid(
                "rank_by=ranker, but there is no ranker (give one with --ranker FILE)".to_string(),
            )),
        }
    }

    /// Whether a fetched candidate may be listed: the one gate every list (personal, fold-in,
    /// popular) passes, in the ranking model's indices. `excluded` holds the request's
    /// exclusions as sorted indices of the ranking model. The reader's own books are left out
    /// earlier, by the model's top-N (`RecommendOptions::exclude_seen`).
    pub fn admit(&self, excluded: &[u32], candidate: &ScoredItem) -> bool {
        excluded.binary_search(&candidate.item).is_err()
    }

    /// The top-`req.n` books for a reader: the ranking model's list ([`Served::top_n`]), each
    /// with the rating model's predicted rating, keeping what [`Self::admit`] lets in and what
    /// the rating model predicts at least `req.min_rating`
    /// ([`top_n_predicted_at_least`]).
    pub fn recommend(&self, req: &Request<'_>) -> Result<ReaderList> {
        let (ranking, ranked_by) = self.ranking(req.rank_by)?;
        let ranker = &*ranking.fitted;
        let rating = &*self.model.fitted;
        let reader = Reader::of(ranker, req.user, req.ratings);
        let own_list = ranked_by == RankBy::Rating;
        let rates = rating.kind.predicts_ratings();
        // The rating model ranking its own list for a reader it sees: its scores are the
        // predictions, best first (no second solve).
        let by_prediction = own_list && rates && reader.source != Source::Popular;
        let mut excluded: Vec<u32> = req
            .exclude
            .iter()
            .filter_map(|id| ranker.items.get(id))
            .collect();
        excluded.sort_unstable();
        // The rating model sees the reader as the ranker does, through its own vocabulary. A
        // popular list is scored by damped means, so its predicted ratings are the rating
        // model's own (its unknown-reader fallback μ + b_i).
        let rating_reader = (!own_list || reader.source == Source::Popular)
            .then(|| Reader::of(rating, req.user, req.ratings));
        let mut rating_fallback = false;
        let (scored, predicted) = top_n_predicted_at_least(
            req.n,
            req.min_rating,
            by_prediction,
            |depth| ranking.top_n(&reader, depth, &req.opts, req.include_uncatalogued),
            |s| self.admit(&excluded, s),
            |listed| match &rating_reader {
                None => {
                    rating_fallback = rates && reader.source == Source::Popular;
                    listed.iter().map(|s| rates.then_some(s.score)).collect()
                }
                Some(rating_reader) => {
                    let ids: Vec<&str> = listed.iter().map(|s| ranker.items.id(s.item)).collect();
                    let predictions = predicted_ratings(rating, rating_reader, &ids);
                    rating_fallback = predictions
                        .iter()
                        .flatten()
                        .any(|p| p.fallback != Fallback::None);
                    predictions.iter().map(|p| p.map(|p| p.value)).collect()
                }
            },
        );
        let items = scored
            .iter()
            .zip(predicted)
            .map(|(s, predicted_rating)| Listed {
                item: s.item,
                book_id: ranker.items.id(s.item).to_string(),
                score: s.score,
                predicted_rating,
            })
            .collect();
        Ok(ReaderList {
            items,
            ranked_by,
            ranker: ranker.kind,
            rating_model: rates.then_some(rating.kind),
            reader,
            rating_fallback,
            min_rating: req.min_rating,
        })
    }

    /// Up to `n` books similar to `book_id` (positive similarity only: zero or negative is not
    /// "readers also liked") with at least `min_support` training ratings, by the model
    /// `rank_by` names (default: the ranker if there is one). `Ok(None)` when the ranking model
    /// has no such book. One edition per work, never an edition of the book's own work, and
    /// only catalogued books unless `include_uncatalogued` ([`WorkLists::filter`]).
    pub fn similar(
        &self,
        book_id: &str,
        n: usize,
        min_support: u32,
        rank_by: Option<RankBy>,
        include_uncatalogued: bool,
    ) -> Result<Option<SimilarList>> {
        let (ranking, _) = self.ranking(rank_by)?;
        let ranker = &*ranking.fitted;
        let Some(item) = ranker.items.get(book_id) else {
            return Ok(None);
        };
        // Rarely rated books are left out: their factors are mostly noise.
        let opts = RecommendOptions {
            min_support,
            exclude_seen: true,
        };
        // The book's own work (any edition of it) is not "similar".
        let items = ranking
            .lists
            .filter(&[item], include_uncatalogued)
            .top(n, |m| ranker.similar_with(item, m, &opts))
            .into_iter()
            .filter(|s| s.score > 0.0)
            .map(|s| (ranker.items.id(s.item).to_string(), s.score))
            .collect();
        Ok(Some(SimilarList {
            ranker: ranker.kind,
            items,
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A ranked list of `len` books (item j scores −j) with predictions from `rating(j)`;
    /// records the depths fetched.
    fn run(
        len: u32,
        n: usize,
        min: Option<f32>,
        rating: impl Fn(u32) -> Option<f32>,
    ) -> (Vec<u32>, Vec<Option<f32>>, Vec<usize>) {
        run_ordered(len, n, min, false, |_| true, rating)
    }

    /// [`run`], saying whether the list is ranked by the predictions and which books are
    /// admitted.
    fn run_ordered(
        len: u32,
        n: usize,
        min: Option<f32>,
        by_prediction: bool,
        admit: impl Fn(u32) -> bool,
        rating: impl Fn(u32) -> Option<f32>,
    ) -> (Vec<u32>, Vec<Option<f32>>, Vec<usize>) {
        let mut depths = Vec::new();
        let (items, predicted) = top_n_predicted_at_least(
            n,
            min,
            by_prediction,
            |depth| {
                depths.push(depth);
                (0..len.min(depth as u32))
                    .map(|item| ScoredItem {
                        item,
                        score: -(item as f32),
                    })
                    .collect()
            },
            |s| admit(s.item),
            |listed| listed.iter().map(|s| rating(s.item)).collect(),
        );
        (items.iter().map(|s| s.item).collect(), predicted, depths)
    }

    #[test]
    fn without_a_minimum_the_list_is_fetched_once_as_it_is() {
        let (items, predicted, depths) = run(100, 5, None, |j| Some(j as f32));
        assert_eq!(items, [0, 1, 2, 3, 4]);
        assert_eq!(predicted, [0.0, 1.0, 2.0, 3.0, 4.0].map(Some));
        assert_eq!(depths, [5]);
    }

    /// Only every third book is predicted ≥ 5: 10 of them need 28 books of the list, so the
    /// fetch goes 10 → 40 deep, and the order is the list's.
    #[test]
    fn books_predicted_low_are_left_out_and_the_list_is_filled_from_below() {
        let rating = |j: u32| Some(if j % 3 == 0 { 5.0 } else { 4.9 });
        let (items, predicted, depths) = run(1000, 10, Some(5.0), rating);
        assert_eq!(items, (0..10).map(|k| 3 * k).collect::<Vec<_>>());
        assert!(predicted.iter().all(|&p| p == Some(5.0)));
        assert_eq!(depths, [10, 40]);
    }

    #[test]
    fn books_without_a_prediction_stay() {
        let rating = |j: u32| (j % 2 == 0).then_some(1.0);
        let (items, predicted, _) = run(100, 4, Some(5.0), rating);
        assert_eq!(items, [1, 3, 5, 7]);
        assert!(predicted.iter().all(Option::is_none));
    }

    /// When the list ends before `n` books pass, the answer is shorter; the fetches stop at
    /// the end of the list.
    #[test]
    fn a_short_list_gives_fewer_books() {
        let (items, _, depths) = run(30, 10, Some(5.0), |j| Some(if j < 3 { 6.0 } else { 1.0 }));
        assert_eq!(items, [0, 1, 2]);
        assert_eq!(depths, [10, 40]);
        let (items, _, depths) = run(30, 10, Some(9.0), |_| Some(1.0));
        assert!(items.is_empty());
        assert_eq!(depths, [10, 40]);
        let (items, _, depths) = run(100, 0, Some(9.0), |_| Some(1.0));
        assert!(items.is_empty());
        assert_eq!(depths, [0]);
    }

    /// A list ranked by its predictions (item j predicted 9 − j/10): once a fetched book is
    /// below the minimum, the search stops; the same predictions in a ranker's list are
    /// fetched to the end, since a deeper book could pass.
    #[test]
    fn a_list_ranked_by_its_predictions_is_not_fetched_past_the_threshold() {
        let rating = |j: u32| Some(9.0 - j as f32 / 10.0);
        let all = |_| true;
        let (items, _, depths) = run_ordered(1000, 10, Some(8.5), true, all, rating);
        assert_eq!(items, [0, 1, 2, 3, 4, 5]);
        assert_eq!(depths, [10]);
        let (items, _, depths) = run_ordered(1000, 10, Some(8.5), false, all, rating);
        assert_eq!(items, [0, 1, 2, 3, 4, 5]);
        assert_eq!(depths, [10, 40, 160, 640, 2560]);
        // The first fetch already holds n books that pass.
        let (items, _, depths) = run_ordered(1000, 10, Some(7.0), true, all, rating);
        assert_eq!(items, (0..10).collect::<Vec<_>>());
        assert_eq!(depths, [10]);
    }

    /// Books `admit` refuses are left out, with or without a minimum, and the list is filled
    /// from further down.
    #[test]
    fn books_not_admitted_are_replaced_from_below() {
        let odd = |j: u32| j % 2 == 1;
        let (items, _, depths) = run_ordered(1000, 5, None, false, odd, |_| Some(5.0));
        assert_eq!(items, [1, 3, 5, 7, 9]);
        assert_eq!(depths, [5, 20]);
        let (items, _, _) = run_ordered(1000, 5, Some(5.0), true, odd, |_| Some(5.0));
        assert_eq!(items, [1, 3, 5, 7, 9]);
        let (items, _, depths) = run_ordered(6, 5, None, false, |j| j < 2, |_| None);
        assert_eq!(items, [0, 1]);
        assert_eq!(depths, [5, 20]);
    }
}
