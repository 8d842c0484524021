//! Which model ranks.
//!
//! A server (or `bookrec recommend`) holds the model given by `--model` and, optionally, a
//! ranker given by `--ranker` (e.g. `ials`, trained with `bookrec train --model ials`). With a
//! ranker, the ranker chooses and orders every list — a reader's recommendations, the popular
//! books an unknown reader gets, similar books — and the model supplies the predicted rating of
//! each listed book. Without one, the model does both, as it always did. `?rank_by=rating`
//! asks for the model's own list for one request, `?rank_by=ranker` insists on the ranker.
//!
//! Both models see a reader the same way ([`Reader::of`]): their training ratings for them, or
//! training + stored ratings folded in, or nothing (popular books / the unknown-reader
//! fallback μ + b_i). The two models are matched by book id, never by index (their vocabularies
//! may differ). A listed book the model does not know gets no predicted rating (`null`): its
//! fallback μ + b_u would print the same number for every such book. [`check_pair`] refuses
//! pairs that cannot work together, at start and on every reload.
//!
//! A ranker may list books the rating model expects the reader to dislike. With a minimum
//! predicted rating (`--min-rating`, `?min_rating=`), such books are left out and the list is
//! filled from further down the ranker's order ([`top_n_predicted_at_least`]).

use anyhow::{bail, Result};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use bookrec_core::lists::WorkLists;

use crate::engine::{Catalog, Fallback, FittedModel, Prediction, RecommendOptions, ScoredItem};
use crate::error::{AppError, AppResult};
use crate::fast::CandidateScorer;
use crate::state::Loaded;
use crate::store::StoredRating;
use crate::views::RecSource;

/// Which of the two served models ranks a list (`?rank_by=`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum RankBy {
    /// The model given by `--ranker` (the default when there is one).
    Ranker,
    /// The model given by `--model`, which also supplies predicted ratings.
    Rating,
}

impl RankBy {
    /// Parses `?rank_by=` (`ranker` or `rating`; absent or empty = the server's default).
    pub fn parse(raw: Option<&str>) -> AppResult<Option<RankBy>> {
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
}

/// A loaded model and its serving cache.
pub struct Served {
    pub fitted: FittedModel,
    /// Contiguous candidate factors for known users' top-N (factor models only).
    pub fast: Option<CandidateScorer>,
    /// The works of the model's books and its popular list: what every list is made of (see
    /// [`bookrec_core::lists`]).
    pub lists: WorkLists,
}

impl Served {
    pub fn new(fitted: FittedModel, min_support: u32, catalog: &Catalog) -> Self {
        Served {
            fast: CandidateScorer::build(&fitted, min_support),
            lists: WorkLists::new(&fitted, catalog),
            fitted,
        }
    }

    /// The engine's top-N for a known user, through the contiguous candidate block when there
    /// is one (identical results, see [`crate::fast`]).
    pub fn recommend_known(&self, user: u32, n: usize, opts: &RecommendOptions) -> Vec<ScoredItem> {
        self.fast
            .as_ref()
            .and_then(|f| f.recommend(&self.fitted, user, n, opts))
            .unwrap_or_else(|| self.fitted.recommend(user, n, opts))
    }

    /// This model's top-`n` works for `reader` (see [`bookrec_core::lists`]): trained factors,
    /// fold-in, or popular works scored by the unknown-reader prediction (μ + b_i; a ranking
    /// model's own fallback score).
    pub fn top_n(
        &self,
        reader: &Reader,
        n: usize,
        opts: &RecommendOptions,
        include_uncatalogued: bool,
    ) -> Vec<ScoredItem> {
        let had: Vec<u32> = reader.ratings.iter().map(|r| r.0).collect();
        let filter = self.lists.filter(&had, include_uncatalogued);
        match (reader.source, reader.known) {
            (RecSource::Personal, Some(u)) => filter.top(n, |m| self.recommend_known(u, m, opts)),
            (RecSource::FoldIn, _) => filter.top(n, |m| {
                self.fitted.recommend_for_ratings(&reader.ratings, m, opts)
            }),
            _ => self
                .lists
                .popular(n, opts, filter)
                .into_iter()
                .map(|s| ScoredItem {
                    item: s.item,
                    score: self.fitted.predict_idx(None, Some(s.item)).value,
                })
                .collect(),
        }
    }
}

/// How one model sees one reader.
#[derive(Clone, Debug)]
pub struct Reader {
    /// The model's index of the reader, if it has training ratings for them (vocabularies may
    /// be shared with a larger data set, so being in the vocabulary is not enough).
    pub known: Option<u32>,
    /// Training ratings with the reader's stored ratings replacing or adding to them, in the
    /// model's book indices (books the model does not know cannot be folded in: left out).
    pub ratings: Vec<(u32, f32)>,
    /// What the model's answers rest on: the trained parameters when nothing is stored for a
    /// known reader, the ratings folded in as soon as any are stored, else nothing.
    pub source: RecSource,
}

impl Reader {
    pub fn of(model: &FittedModel, user_id: &str, stored: &[StoredRating]) -> Reader {
        let known = model.users.get(user_id).filter(|&u| model.knows_user(u));
        let mut ratings: Vec<(u32, f32)> = match known {
            Some(u) => {
                let (items, values) = model.seen.row(u as usize);
                items.iter().copied().zip(values.iter().copied()).collect()
            }
            None => Vec::new(),
        };
        let mut used_stored = false;
        for s in stored {
            if let Some(item) = model.items.get(&s.book_id) {
                used_stored = true;
                match ratings.iter_mut().find(|(i, _)| *i == item) {
                    Some(slot) => slot.1 = s.rating,
                    None => ratings.push((item, s.rating)),
                }
            }
        }
        let source = match known {
            Some(_) if !used_stored => RecSource::Personal,
            _ if !ratings.is_empty() => RecSource::FoldIn,
            _ => RecSource::Popular,
        };
        Reader {
            known,
            ratings,
            source,
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
        (RecSource::Personal, Some(u)) => known
            .iter()
            .map(|&i| model.predict_idx(Some(u), Some(i)))
            .collect(),
        (RecSource::FoldIn, _) => model.predict_items_for_ratings(&reader.ratings, &known),
        _ => known
            .iter()
            .map(|&i| model.predict_idx(None, Some(i)))
            .collect(),
    };
    let mut next = predictions.into_iter();
    items.iter().map(|i| i.and_then(|_| next.next())).collect()
}

/// Up to `n` books from a ranked list, each with its predicted rating, leaving out books
/// predicted below `min_rating`. `fetch(m)` gives the top `m` of the list (best first; fewer
/// when the list ends) and `predict` the predicted rating of each listed book. A book without a
/// prediction stays: nothing says the reader would rate it low.
///
/// Without `min_rating` this is `fetch(n)` as it is. With one, the list is fetched 4× deeper
/// each time until `n` books pass or it ends, so a strict threshold costs a few more top-N
/// passes, and the answer holds fewer than `n` books when fewer are predicted that high.
///
/// `by_prediction` says the list is ranked by the predicted rating itself (the rating model
/// ranking its own list for a reader it knows or folds in): then once a fetched book falls
/// below `min_rating`, none further down can pass, and no deeper fetch is made. A ranker's
/// list, or popular books, can hold a book predicted high after one predicted low, so they
/// are fetched deeper.
pub fn top_n_predicted_at_least(
    n: usize,
    min_rating: Option<f32>,
    by_prediction: bool,
    mut fetch: impl FnMut(usize) -> Vec<ScoredItem>,
    mut predict: impl FnMut(&[ScoredItem]) -> Vec<Option<f32>>,
) -> (Vec<ScoredItem>, Vec<Option<f32>>) {
    let mut depth = n;
    loop {
        let listed = fetch(depth);
        let predicted = predict(&listed);
        let Some(min) = min_rating else {
            return (listed, predicted);
        };
        let ended = listed.len() < depth
            || (by_prediction && predicted.last().is_some_and(|p| p.is_some_and(|v| v < min)));
        let kept: (Vec<ScoredItem>, Vec<Option<f32>>) = listed
            .into_iter()
            .zip(predicted)
            .filter(|(_, p)| p.is_none_or(|v| v >= min))
            .take(n)
            .unzip();
        if kept.0.len() == n || ended || depth == 0 {
            return kept;
        }
        depth = depth.saturating_mul(4);
    }
}

/// One reader's list from a model and an optional ranker, with no stored ratings: what
/// `bookrec recommend` prints and the Python `Model.recommend` returns.
#[derive(Clone, Debug)]
pub struct ReaderList {
    /// Best first, in the ranking model's item indices (the ranker's, if there is one).
    pub items: Vec<ScoredItem>,
    /// `model`'s predicted rating of each listed book; `None` for a book it has no training
    /// ratings for, or when `model` does not predict ratings.
    pub predicted: Vec<Option<f32>>,
    /// Whether the ranking model has training ratings for the reader; if not, `items` are its
    /// popular books (scored by count).
    pub known: bool,
}

/// The top-`n` books for `user` (a raw id): the ranker's list (or `model`'s own without one),
/// each with `model`'s predicted rating, leaving out books predicted below `min_rating` as
/// [`top_n_predicted_at_least`] does. A reader the ranking model does not know gets its
/// popular works. `lists` are the ranking model's ([`WorkLists::new`]): one edition per work,
/// none the reader has, uncatalogued books only with `include_uncatalogued`. `min_rating`
/// must have passed [`check_min_rating`] and the pair [`check_pair`].
#[allow(clippy::too_many_arguments)]
pub fn recommend_for(
    model: &FittedModel,
    ranker: Option<&FittedModel>,
    user: &str,
    n: usize,
    opts: &RecommendOptions,
    min_rating: Option<f32>,
    lists: &WorkLists,
    include_uncatalogued: bool,
) -> ReaderList {
    let ranking = ranker.unwrap_or(model);
    let known_user = ranking.users.get(user).filter(|&u| ranking.knows_user(u));
    let had: &[u32] = known_user.map_or(&[], |u| ranking.seen.row(u as usize).0);
    let filter = lists.filter(had, include_uncatalogued);
    let reader = Reader::of(model, user, &[]);
    // Without a ranker, a known reader's list is ranked by the predicted rating itself: its
    // scores are the predictions.
    let by_prediction = ranker.is_none() && known_user.is_some() && model.kind.predicts_ratings();
    let (items, predicted) = top_n_predicted_at_least(
        n,
        min_rating,
        by_prediction,
        |depth| match known_user {
            Some(u) => filter.top(depth, |m| ranking.recommend(u, m, opts)),
            None => lists.popular(depth, opts, filter.clone()),
        },
        |listed| {
            if by_prediction {
                return listed.iter().map(|s| Some(s.score)).collect();
            }
            let ids: Vec<&str> = listed.iter().map(|s| ranking.items.id(s.item)).collect();
            predicted_ratings(model, &reader, &ids)
                .into_iter()
                .map(|p| p.map(|p| p.value))
                .collect()
        },
    );
    ReaderList {
        items,
        predicted,
        known: known_user.is_some(),
    }
}

/// Checks a minimum predicted rating (`--min-rating`, `?min_rating=`) for the rating model
/// `model`: it must predict ratings, and the threshold must lie on its rating scale (outside
/// it, the threshold would keep every book or none).
pub fn check_min_rating(model: &FittedModel, min_rating: f32) -> Result<f32, String> {
    if !model.kind.predicts_ratings() {
        return Err(format!(
            "min_rating needs a model that predicts ratings, and {0} does not (rank with {0} \
             beside a rating model such as svd, which then applies min_rating)",
            model.kind.name()
        ));
    }
    let scale = model.scale;
    if !min_rating.is_finite() || !scale.contains(min_rating) {
        return Err(format!(
            "min_rating must be between {} and {}, the rating scale (got {min_rating})",
            scale.min, scale.max
        ));
    }
    Ok(min_rating)
}

/// What [`check_pair`] found about a rating model and a ranker.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct PairCheck {
    /// Books the ranker has training interactions for (the ones it can list).
    pub ranker_books: usize,
    /// Of those, books the rating model has no training ratings for: listed with
    /// `predicted_rating: null`.
    pub books_unknown_to_model: usize,
}

/// Checks that `model` can supply predicted ratings for the lists of `ranker`: `model` must
/// predict ratings (a ranking model has none to give: serve it alone, or as the ranker), both
/// must use the same rating scale (stored ratings are checked against it and folded into both),
/// and they must share at least one book (otherwise they were trained on different data).
/// Books only the ranker knows are allowed and counted.
pub fn check_pair(model: &FittedModel, ranker: &FittedModel) -> Result<PairCheck> {
    if !model.kind.predicts_ratings() {
        bail!(
            "the model {} does not predict ratings, so it cannot supply them for the ranker's \
             lists: give a rating model (e.g. svd) as --model, or serve {} alone",
            model.kind.name(),
            model.kind.name()
        );
    }
    if model.scale != ranker.scale {
        bail!(
            "the model ({}) rates on {}–{} but the ranker ({}) on {}–{}: train both on the same data",
            model.kind.name(),
            model.scale.min,
            model.scale.max,
            ranker.kind.name(),
            ranker.scale.min,
            ranker.scale.max
        );
    }
    let (mut ranker_books, mut unknown) = (0, 0);
    for i in 0..ranker.items.len() as u32 {
        if !ranker.knows_item(i) {
            continue;
        }
        ranker_books += 1;
        let id = ranker.items.id(i);
        if !model.items.get(id).is_some_and(|j| model.knows_item(j)) {
            unknown += 1;
        }
    }
    if ranker_books == unknown {
        bail!(
            "the model ({}) and the ranker ({}) have no book in common: were they trained on \
             the same data?",
            model.kind.name(),
            ranker.kind.name()
        );
    }
    Ok(PairCheck {
        ranker_books,
        books_unknown_to_model: unknown,
    })
}

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

impl Loaded {
    /// The model that ranks for `rank_by`: by default the ranker when there is one, else the
    /// model. Asking for a ranker the server does not have is a 422.
    pub fn ranking(&self, rank_by: Option<RankBy>) -> AppResult<&Served> {
        match (rank_by, &self.ranker) {
            (Some(RankBy::Rating), _) | (None, None) => Ok(&self.model),
            (Some(RankBy::Ranker) | None, Some(ranker)) => Ok(ranker),
            (Some(RankBy::Ranker), None) => Err(AppError::Unprocessable(
                "rank_by=ranker, but this server has no ranker (start it with --ranker FILE)"
                    .to_string(),
            )),
        }
    }

    /// The predicted rating of each book `ranking` listed for a reader (`reader`: as
    /// `ranking` sees them), and whether they are the rating model's non-personal fallback.
    /// When the model ranked its own list, its scores are the predictions (no second solve).
    pub fn predictions_for(
        &self,
        ranking: &Served,
        reader: &Reader,
        listed: &[ScoredItem],
        user_id: &str,
        stored: &[StoredRating],
    ) -> (Vec<Option<f32>>, bool) {
        let rating = &self.model.fitted;
        if std::ptr::eq(ranking, &self.model) {
            let rates = rating.kind.predicts_ratings();
            let values = listed.iter().map(|s| rates.then_some(s.score)).collect();
            return (values, rates && reader.source == RecSource::Popular);
        }
        let ids: Vec<&str> = listed
            .iter()
            .map(|s| ranking.fitted.items.id(s.item))
            .collect();
        let predictions = predicted_ratings(rating, &Reader::of(rating, user_id, stored), &ids);
        let fallback = predictions
            .iter()
            .flatten()
            .any(|p| p.fallback != Fallback::None);
        let values = predictions.iter().map(|p| p.map(|p| p.value)).collect();
        (values, fallback)
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
        run_ordered(len, n, min, false, rating)
    }

    /// [`run`], saying whether the list is ranked by the predictions.
    fn run_ordered(
        len: u32,
        n: usize,
        min: Option<f32>,
        by_prediction: bool,
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
        let (items, _, depths) = run_ordered(1000, 10, Some(8.5), true, rating);
        assert_eq!(items, [0, 1, 2, 3, 4, 5]);
        assert_eq!(depths, [10]);
        let (items, _, depths) = run_ordered(1000, 10, Some(8.5), false, rating);
        assert_eq!(items, [0, 1, 2, 3, 4, 5]);
        assert_eq!(depths, [10, 40, 160, 640, 2560]);
        // The first fetch already holds n books that pass.
        let (items, _, depths) = run_ordered(1000, 10, Some(7.0), true, rating);
        assert_eq!(items, (0..10).collect::<Vec<_>>());
        assert_eq!(depths, [10]);
    }
}
