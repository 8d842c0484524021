//! Evaluation: fit on train, predict the held-out ratings, score them (RMSE/MAE and top-N
//! ranking metrics), and cross-validation over k folds.
//!
//! The test set is re-expressed over the model's vocabularies ([`Interactions::align`]), so a
//! test file loaded separately from the training file works as well as a split of one file.
//! Nothing from the test set reaches the model before prediction: the model is fitted on train
//! only, and the test ratings are used solely as ground truth.
//!
//! **Unknown users and books.** A test row counts as *unknown user* when its user has no
//! explicit training rating (absent from the training file, or present in a shared vocabulary
//! but with every rating held out) or when the model reports a user fallback; likewise for
//! books. Such rows are still predicted — by the model's fallback rule (biases / global mean,
//! see [`crate::models::Fallback`]) — and included in RMSE/MAE, as a user of the model would
//! experience them; the counts say how many there were.
//!
//! **Ranking metrics.** For each test user known to the model, the relevant books are their
//! held-out books rated at or above the relevance threshold that have at least one training
//! rating (a book the model never saw in training cannot be recommended, whether it is missing
//! from the model's vocabulary or present with all its ratings held out).
//!
//! **Ranking on held-out interactions** ([`Relevance::Interactions`], typically with
//! [`Split::Interactions`](super::split::Split::Interactions)): a book is relevant if the user
//! interacted with it in the test set at all — an explicit rating of any value or an implicit
//! interaction. The users and relevant books are chosen from the test set alone, the same for
//! every model: every test user (in the model's vocabulary) with a held-out interaction, and
//! all their held-out books.
//! A model that does not know a user answers with its fallback (the most popular books), and
//! books it cannot recommend stay in the recall denominator. Explicit models fit the explicit
//! part of train; ials fits every training interaction. Every model's lists exclude all of the
//! reader's training interactions, rated or not (when [`evaluate`] has the train set): a book
//! the reader already holds is not a recommendation, whichever model ranks it.
//!
//! **Models that do not predict ratings** (ials, see
//! [`crate::models::ModelKind::predicts_ratings`]) get RMSE/MAE = NaN, written as `null` in
//! JSON and `n/a` in tables: their scores are preferences, not ratings.
//! The model recommends `k` books with [`FittedModel::recommend`] (training books excluded,
//! the [`RecommendOptions`] support filter applied) and the lists are scored with
//! [`ranking_metrics`]. Relevant books that the support filter excludes stay in the recall
//! denominator: the filter is part of what is evaluated. Catalogue coverage is relative to the
//! candidate books: those with at least `min_support` training ratings.

use std::fmt;
use std::sync::Arc;
use std::time::Instant;

use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::data::{AlignedRatings, Catalog, Csr, Interactions, ItemLevel, RatingScale};
use crate::evaluation::metrics::{mae, ranking_metrics, rmse, RankingMetrics, Relevance};
use crate::evaluation::split::{
    fold, fold_assignment, interaction_fold, interaction_fold_assignment,
};
use crate::models::{Fallback, FittedModel, ModelSpec, Prediction, RecommendOptions, ScoredItem};
use crate::progress::{NoProgress, Progress};
use crate::recommend::lists::WorkLists;
use crate::rng::Rng;
use crate::{Error, Result};

/// Fixed seed of the ranking-user sample (`max_ranking_users`), so the same model and test set
/// always give the same ranking figures.
const RANKING_SAMPLE_SEED: u64 = 0x5EED_0F5A_3F1E;

/// The default relevance threshold: `min + 0.7 · (max − min)` of the rating scale, i.e. 7.3 on
/// Book-Crossing's 1–10 scale (ratings 8, 9, 10 are relevant) and 3.8 on a 1–5 scale (4 and 5).
pub fn default_relevance_threshold(scale: RatingScale) -> f32 {
    // In f64, so 1–10 gives the f32 nearest 7.3 (which prints as "7.3"), not 7.2999997.
    (f64::from(scale.min) + 0.7 * (f64::from(scale.max) - f64::from(scale.min))) as f32
}

/// What to compute besides RMSE/MAE.
#[derive(Clone, Debug)]
pub struct EvalOptions {
    /// Ranking metrics at this list length; `None` skips them (they cost one top-N query per
    /// test user). Default 10.
    pub ranking_k: Option<usize>,
    /// Held-out ratings at or above this are relevant; `None` = [`default_relevance_threshold`]
    /// of the model's scale.
    pub relevance_threshold: Option<f32>,
    /// Options of the top-N queries (support filter, exclude training books).
    pub recommend: RecommendOptions,
    /// Evaluate ranking on at most this many test users, a sample fixed by an internal seed
    /// (`None` = all). Default 5,000: on Book-Crossing that keeps the standard error of
    /// precision@10 well under its value while a full pass would score every book for tens of
    /// thousands of users.
    pub max_ranking_users: Option<usize>,
    /// What makes a held-out book relevant (see the module doc). Default: a high rating.
    pub relevance: Relevance,
    /// Rank at the level readers see, with this catalogue: lists of works as served
    /// ([`WorkLists`]: one edition per work, no edition of a work the reader has, catalogued
    /// books only) and a hit when any edition of a held-out work is listed. `None`: each
    /// book id on its own.
    pub works: Option<Arc<Catalog>>,
}

impl Default for EvalOptions {
    fn default() -> Self {
        EvalOptions {
            ranking_k: Some(10),
            relevance_threshold: None,
            recommend: RecommendOptions::default(),
            max_ranking_users: Some(5_000),
            relevance: Relevance::Rating,
            works: None,
        }
    }
}

impl EvalOptions {
    /// Rejects k = 0, a non-finite threshold and a zero user sample.
    pub fn check(&self) -> Result<()> {
        if self.ranking_k == Some(0) {
            return Err(Error::param("ranking_k", 0, "must be at least 1"));
        }
        if let Some(t) = self.relevance_threshold {
            if !t.is_finite() {
                return Err(Error::param("relevance_threshold", t, "must be finite"));
            }
        }
        if self.max_ranking_users == Some(0) {
            return Err(Error::param("max_ranking_users", 0, "must be at least 1"));
        }
        Ok(())
    }
}

/// The result of evaluating one model on one test set.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct EvalReport {
    /// Model name (`svd`, `baseline`, ...).
    pub model: String,
    /// Hyper-parameters as used for fitting.
    pub params: serde_json::Value,
    /// Root mean squared error over all test ratings, in rating units; NaN (JSON `null`) for a
    /// model that does not predict ratings.
    #[serde(deserialize_with = "nan_if_null")]
    pub rmse: f64,
    /// Mean absolute error over all test ratings, in rating units; NaN (JSON `null`) as `rmse`.
    #[serde(deserialize_with = "nan_if_null")]
    pub mae: f64,
    /// Wall-clock seconds to fit (0 for an already fitted model).
    pub fit_seconds: f64,
    /// Wall-clock seconds to predict all test ratings.
    pub predict_seconds: f64,
    /// Training ratings.
    pub n_train: usize,
    /// Test ratings.
    pub n_test: usize,
    /// Test rows whose user has no training rating (fallback prediction).
    pub n_unknown_user: usize,
    /// Test rows whose book has no training rating (fallback prediction).
    pub n_unknown_item: usize,
    pub ranking: Option<RankingMetrics>,
}

/// Reads a float written by serde_json, which writes NaN as `null`.
fn nan_if_null<'de, D: serde::Deserializer<'de>>(d: D) -> std::result::Result<f64, D::Error> {
    Ok(Option::<f64>::deserialize(d)?.unwrap_or(f64::NAN))
}

/// A rating error for tables: 4 decimals, or `n/a` when not applicable (NaN).
pub fn format_error(v: f64) -> String {
    if v.is_nan() {
        "n/a".to_string()
    } else {
        format!("{v:.4}")
    }
}

/// What evaluation needs from a fitted model. [`FittedModel`] is the only production
/// implementation; the indirection lets the evaluation logic be tested against hand-written
/// predictions.
trait Predictor: Sync {
    fn model(&self) -> &FittedModel;
    fn predict_all(&self, test: &AlignedRatings) -> Vec<Prediction>;
    fn recommend(&self, user: u32, n: usize, opts: &RecommendOptions) -> Vec<ScoredItem>;
}

impl Predictor for FittedModel {
    fn model(&self) -> &FittedModel {
        self
    }
    fn predict_all(&self, test: &AlignedRatings) -> Vec<Prediction> {
        FittedModel::predict_all(self, test)
    }
    fn recommend(&self, user: u32, n: usize, opts: &RecommendOptions) -> Vec<ScoredItem> {
        FittedModel::recommend(self, user, n, opts)
    }
}

/// Fits `spec` on `train` and evaluates it on `test` (see the module doc). Returns the fitted
/// model too, so a caller can save it without fitting twice.
///
/// Errors: invalid options or hyper-parameters ([`Error::Param`]), an empty train or test set
/// ([`Error::Invalid`]), or whatever fitting returns.
pub fn evaluate(
    spec: &ModelSpec,
    train: &Interactions,
    test: &Interactions,
    opts: &EvalOptions,
    progress: &dyn Progress,
) -> Result<(FittedModel, EvalReport)> {
    opts.check()?;
    spec.check()?;
    if train.is_empty() {
        return Err(Error::Invalid(
            "the training set has no ratings; nothing to fit".to_string(),
        ));
    }
    check_test(test)?;
    let start = Instant::now();
    let model = spec.fit(train, progress)?;
    let fit_seconds = start.elapsed().as_secs_f64();
    // Explicit models only know the rated part of train; in the interactions protocol their
    // lists must skip the reader's unrated training books too, as ials' do.
    let also_seen = (opts.relevance == Relevance::Interactions && model.kind.predicts_ratings())
        .then(|| implicit_by_user(&model, train));
    let mut report = report_for(&model, test, opts, progress, also_seen.as_ref())?;
    report.fit_seconds = fit_seconds;
    report.n_train = train.len();
    Ok((model, report))
}

/// Evaluates an already fitted model (e.g. one read from a model file) on `test`;
/// `fit_seconds` is 0 and `n_train` the number of training ratings the model holds.
///
/// Errors: besides an empty test set, a test set that cannot belong to the model
/// ([`Error::Invalid`], see [`check_test_fits`]): ratings outside the model's scale, or no
/// test user / no test book the model was trained on.
pub fn evaluate_fitted(
    model: &FittedModel,
    test: &Interactions,
    opts: &EvalOptions,
) -> Result<EvalReport> {
    opts.check()?;
    check_test(test)?;
    check_test_fits(model, test)?;
    report_for(model, test, opts, &NoProgress, None)
}

/// Checks that `test` can be scored by `model`: every test rating lies in the model's rating
/// scale (the model clips its predictions to it, so a 1–10 test set against a 1–5 model would
/// score a meaningless error), and at least one test user and one test book have training
/// ratings in the model. Either failure almost always means the model was trained on another
/// data set or the test file's columns were read differently; the error says which and gives
/// an example. Some unknown users or books are normal (they get fallback predictions and are
/// counted in the report).
pub fn check_test_fits(model: &FittedModel, test: &Interactions) -> Result<()> {
    let scale = model.scale;
    let outside: Vec<usize> = (0..test.len())
        .filter(|&k| !scale.contains(test.rating[k]))
        .collect();
    if let Some(&k) = outside.first() {
        return Err(Error::Invalid(format!(
            "{} of {} test ratings lie outside the model's rating scale {}–{} (e.g. {} by user \
             {:?} for book {:?}; the test set's scale is {}–{}): score a model on ratings of the \
             data set it was trained on",
            outside.len(),
            test.len(),
            scale.min,
            scale.max,
            test.rating[k],
            test.users.id(test.user[k]),
            test.items.id(test.item[k]),
            test.scale.min,
            test.scale.max,
        )));
    }
    let user_known = |u: u32| {
        model
            .users
            .get(test.users.id(u))
            .is_some_and(|m| model.knows_user(m))
    };
    let item_known = |i: u32| {
        model
            .items
            .get(test.items.id(i))
            .is_some_and(|m| model.knows_item(m))
    };
    for (what, rows, vocab, known, seen) in [
        (
            "user",
            &test.user,
            &test.users,
            &user_known as &dyn Fn(u32) -> bool,
            model.users.len(),
        ),
        (
            "book",
            &test.item,
            &test.items,
            &item_known,
            model.items.len(),
        ),
    ] {
        if !rows.iter().any(|&r| known(r)) {
            let example = rows.first().map(|&r| vocab.id(r)).unwrap_or_default();
            return Err(Error::Invalid(format!(
                "none of the test set's {} {what}s is in the model (e.g. {what} {example:?}; \
                 the model knows {seen} {what}s): was it trained on another data set, or are \
                 the test file's columns read differently (--user-col, --item-col)?",
                vocab.len()
            )));
        }
    }
    Ok(())
}

fn check_test(test: &Interactions) -> Result<()> {
    if test.is_empty() {
        return Err(Error::Invalid(
            "the test set has no ratings; nothing to evaluate".to_string(),
        ));
    }
    Ok(())
}

/// `also_seen`: books per user (model indices) to exclude from top-N besides the model's own
/// training books.
fn report_for(
    p: &dyn Predictor,
    test: &Interactions,
    opts: &EvalOptions,
    progress: &dyn Progress,
    also_seen: Option<&Csr>,
) -> Result<EvalReport> {
    let model = p.model();
    let aligned = model_frame(model).align(test);

    let start = Instant::now();
    let preds = p.predict_all(&aligned);
    let predict_seconds = start.elapsed().as_secs_f64();
    if preds.len() != aligned.rating.len() {
        return Err(Error::Invalid(format!(
            "model returned {} predictions for {} test ratings",
            preds.len(),
            aligned.rating.len()
        )));
    }
    let values: Vec<f32> = preds.iter().map(|p| p.value).collect();

    let mut n_unknown_user = 0;
    let mut n_unknown_item = 0;
    for (k, pred) in preds.iter().enumerate() {
        let fb = pred.fallback;
        if !known_user(model, aligned.user[k])
            || matches!(fb, Fallback::UnknownUser | Fallback::UnknownBoth)
        {
            n_unknown_user += 1;
        }
        if !known_item(model, aligned.item[k])
            || matches!(fb, Fallback::UnknownItem | Fallback::UnknownBoth)
        {
            n_unknown_item += 1;
        }
    }

    let ranking = opts
        .ranking_k
        .map(|k| ranking_for(p, test, &aligned, k, opts, progress, also_seen));
    let rates = model.kind.predicts_ratings();

    Ok(EvalReport {
        model: model.kind.name().to_string(),
        params: model.params.clone(),
        rmse: if rates {
            rmse(&values, &aligned.rating)
        } else {
            f64::NAN
        },
        mae: if rates {
            mae(&values, &aligned.rating)
        } else {
            f64::NAN
        },
        fit_seconds: 0.0,
        predict_seconds,
        n_train: model.seen.nnz(),
        n_test: test.len(),
        n_unknown_user,
        n_unknown_item,
        ranking,
    })
}

/// An empty rating set over the model's vocabularies, to align test sets with.
fn model_frame(model: &FittedModel) -> Interactions {
    Interactions {
        users: model.users.clone(),
        items: model.items.clone(),
        user: Vec::new(),
        item: Vec::new(),
        rating: Vec::new(),
        timestamp: None,
        implicit_user: Vec::new(),
        implicit_item: Vec::new(),
        scale: model.scale,
        item_groups: None,
    }
}

/// The user has at least one explicit training rating.
fn known_user(model: &FittedModel, user: Option<u32>) -> bool {
    user.is_some_and(|u| model.knows_user(u))
}

/// The book has at least one explicit training rating.
fn known_item(model: &FittedModel, item: Option<u32>) -> bool {
    item.is_some_and(|i| model.knows_item(i))
}

/// The implicit (unrated) interactions of `train` by user, in the model's vocabularies.
fn implicit_by_user(model: &FittedModel, train: &Interactions) -> Csr {
    let pairs = implicit_pairs(model, train);
    let (users, items): (Vec<u32>, Vec<u32>) = pairs.into_iter().unzip();
    Csr::from_coo(model.users.len(), &users, &items, &vec![0.0; items.len()])
}

/// The implicit rows of `data` as (user, book) in the model's vocabularies, dropping those the
/// vocabularies do not have.
fn implicit_pairs(model: &FittedModel, data: &Interactions) -> Vec<(u32, u32)> {
    let n = data.implicit_user.len().min(data.implicit_item.len());
    let implicit = Interactions {
        users: data.users.clone(),
        items: data.items.clone(),
        user: data.implicit_user[..n].to_vec(),
        item: data.implicit_item[..n].to_vec(),
        rating: vec![0.0; n],
        timestamp: None,
        implicit_user: Vec::new(),
        implicit_item: Vec::new(),
        scale: data.scale,
        item_groups: None,
    };
    let implicit = model_frame(model).align(&implicit);
    implicit
        .user
        .iter()
        .zip(&implicit.item)
        .filter_map(|(&u, &i)| Some((u?, i?)))
        .collect()
}

/// Every held-out interaction of `test` (explicit rows, then implicit ones) as (user, book)
/// in the model's vocabularies, dropping those the vocabularies do not have.
fn held_out_interactions(
    model: &FittedModel,
    test: &Interactions,
    aligned: &AlignedRatings,
) -> Vec<(u32, u32)> {
    aligned
        .user
        .iter()
        .zip(&aligned.item)
        .filter_map(|(&u, &i)| Some((u?, i?)))
        .chain(implicit_pairs(model, test))
        .collect()
}

fn ranking_for(
    p: &dyn Predictor,
    test: &Interactions,
    aligned: &AlignedRatings,
    k: usize,
    opts: &EvalOptions,
    progress: &dyn Progress,
    also_seen: Option<&Csr>,
) -> RankingMetrics {
    let model = p.model();
    let threshold = opts
        .relevance_threshold
        .unwrap_or_else(|| default_relevance_threshold(model.scale));

    let mut relevant: Vec<Vec<u32>> = vec![Vec::new(); model.users.len()];
    match opts.relevance {
        Relevance::Rating => {
            for ((&u, &i), &r) in aligned.user.iter().zip(&aligned.item).zip(&aligned.rating) {
                if let (Some(u), Some(i)) = (u, i) {
                    if r >= threshold && known_user(model, Some(u)) && known_item(model, Some(i)) {
                        relevant[u as usize].push(i);
                    }
                }
            }
        }
        Relevance::Interactions => {
            for (u, i) in held_out_interactions(model, test, aligned) {
                relevant[u as usize].push(i);
            }
            for list in &mut relevant {
                list.sort_unstable();
                list.dedup();
            }
        }
    }
    let lists = opts.works.as_deref().map(|c| WorkLists::new(model, c));
    if let Some(lists) = &lists {
        // Each relevant book stands for its work, as its representative edition.
        for list in &mut relevant {
            for i in list.iter_mut() {
                *i = lists
                    .works
                    .work_of(*i)
                    .map_or(*i, |w| lists.works.representative(w));
            }
            list.sort_unstable();
            list.dedup();
        }
    }
    let mut users: Vec<u32> = (0..relevant.len() as u32)
        .filter(|&u| !relevant[u as usize].is_empty())
        .collect();
    if let Some(max) = opts.max_ranking_users {
        if users.len() > max {
            Rng::new(RANKING_SAMPLE_SEED).shuffle(&mut users);
            users.truncate(max);
            users.sort_unstable();
        }
    }

    progress.start("ranking (top-N per test user)", users.len() as u64);
    let recs: Vec<Vec<u32>> = users
        .par_iter()
        .map(|&u| {
            let extra = also_seen.map_or(&[][..], |c| c.row(u as usize).0);
            let list: Vec<u32> = match &lists {
                Some(lists) => {
                    let had: Vec<u32> = model
                        .seen
                        .row(u as usize)
                        .0
                        .iter()
                        .chain(extra)
                        .copied()
                        .collect();
                    lists
                        .filter(&had, false)
                        .top(k, |m| p.recommend(u, m, &opts.recommend))
                        .into_iter()
                        .map(|s| s.item)
                        .collect()
                }
                None => p
                    .recommend(u, k + extra.len(), &opts.recommend)
                    .into_iter()
                    .map(|s| s.item)
                    .filter(|i| extra.binary_search(i).is_err())
                    .take(k)
                    .collect(),
            };
            progress.inc(1);
            list
        })
        .collect();
    let rel: Vec<Vec<u32>> = users
        .iter()
        .map(|&u| std::mem::take(&mut relevant[u as usize]))
        .collect();
    let n_candidates = match &lists {
        Some(lists) => lists.listable(false).1,
        None => model
            .item_popularity
            .iter()
            .filter(|&&c| c > 0 && c >= opts.recommend.min_support)
            .count(),
    };
    let mut m = ranking_metrics(&recs, &rel, k, threshold, n_candidates);
    m.relevance = opts.relevance;
    if lists.is_some() {
        m.level = ItemLevel::Works;
    }
    progress.finish(&format!(
        "ndcg@{k} {:.4} over {} users",
        m.ndcg, m.users_evaluated
    ));
    m
}

/// Means (or standard deviations) of the per-fold figures of a cross-validation.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct EvalSummary {
    /// NaN (JSON `null`) for a model that does not predict ratings.
    #[serde(deserialize_with = "nan_if_null")]
    pub rmse: f64,
    #[serde(deserialize_with = "nan_if_null")]
    pub mae: f64,
    pub fit_seconds: f64,
    pub predict_seconds: f64,
    pub n_train: f64,
    pub n_test: f64,
    pub n_unknown_user: f64,
    pub n_unknown_item: f64,
    /// Ranking figures, present when every fold computed them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub precision: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recall: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ndcg: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub map: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hit_rate: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub coverage: Option<f64>,
}

impl EvalSummary {
    /// Applies `stat` (mean or std) to each figure across `folds`.
    fn across(folds: &[EvalReport], stat: fn(&[f64]) -> f64) -> Self {
        let of = |f: fn(&EvalReport) -> f64| stat(&folds.iter().map(f).collect::<Vec<_>>());
        let ranked: Option<Vec<&RankingMetrics>> =
            folds.iter().map(|r| r.ranking.as_ref()).collect();
        let rank_of = |f: fn(&RankingMetrics) -> f64| {
            ranked
                .as_ref()
                .filter(|r| !r.is_empty())
                .map(|r| stat(&r.iter().map(|m| f(m)).collect::<Vec<_>>()))
        };
        EvalSummary {
            rmse: of(|r| r.rmse),
            mae: of(|r| r.mae),
            fit_seconds: of(|r| r.fit_seconds),
            predict_seconds: of(|r| r.predict_seconds),
            n_train: of(|r| r.n_train as f64),
            n_test: of(|r| r.n_test as f64),
            n_unknown_user: of(|r| r.n_unknown_user as f64),
            n_unknown_item: of(|r| r.n_unknown_item as f64),
            precision: rank_of(|m| m.precision),
            recall: rank_of(|m| m.recall),
            ndcg: rank_of(|m| m.ndcg),
            map: rank_of(|m| m.map),
            hit_rate: rank_of(|m| m.hit_rate),
            coverage: rank_of(|m| m.coverage),
        }
    }
}

fn mean(xs: &[f64]) -> f64 {
    xs.iter().sum::<f64>() / xs.len() as f64
}

/// Sample standard deviation (n − 1 denominator); 0 for fewer than two values.
fn std_dev(xs: &[f64]) -> f64 {
    if xs.len() < 2 {
        return 0.0;
    }
    let m = mean(xs);
    (xs.iter().map(|x| (x - m) * (x - m)).sum::<f64>() / (xs.len() - 1) as f64).sqrt()
}

/// Per-fold reports of a k-fold cross-validation and their mean and sample standard deviation.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct CvReport {
    pub model: String,
    pub folds: Vec<EvalReport>,
    pub mean: EvalSummary,
    pub std: EvalSummary,
}

impl CvReport {
    fn from_folds(model: String, folds: Vec<EvalReport>) -> Self {
        CvReport {
            mean: EvalSummary::across(&folds, mean),
            std: EvalSummary::across(&folds, std_dev),
            model,
            folds,
        }
    }

    /// One flat JSON object for scripts: the mean figures at the top level (`model, rmse, mae,
    /// fit_seconds, predict_seconds, n_train, n_test, ...`), plus `folds` (the count), `params`,
    /// `std` and `per_fold`.
    pub fn summary_json(&self) -> serde_json::Value {
        let mut obj = serde_json::Map::new();
        obj.insert("model".into(), self.model.clone().into());
        if let Ok(serde_json::Value::Object(m)) = serde_json::to_value(&self.mean) {
            obj.extend(m);
        }
        obj.insert("folds".into(), self.folds.len().into());
        obj.insert(
            "params".into(),
            self.folds
                .first()
                .map(|f| f.params.clone())
                .unwrap_or_default(),
        );
        obj.insert(
            "std".into(),
            serde_json::to_value(&self.std).unwrap_or_default(),
        );
        obj.insert(
            "per_fold".into(),
            serde_json::to_value(&self.folds).unwrap_or_default(),
        );
        serde_json::Value::Object(obj)
    }
}

/// k-fold cross-validation: the folds of [`super::split::k_fold`] with `seed`, then
/// [`evaluate`] on each fold in turn.
pub fn cross_validate(
    spec: &ModelSpec,
    data: &Interactions,
    folds: usize,
    seed: u64,
    opts: &EvalOptions,
    progress: &dyn Progress,
) -> Result<CvReport> {
    opts.check()?;
    spec.check()?;
    // One fold at a time: holding all k train sets would multiply memory by k.
    let assignment = fold_assignment(data, folds, seed)?;
    cross_validate_folds(spec, folds, opts, progress, |f| fold(data, &assignment, f))
}

/// k-fold cross-validation over held-out *interactions*: the folds of
/// [`super::split::interaction_k_fold`] with `seed` (each user's interactions, rated or not,
/// dealt to the folds), then [`evaluate`] on each fold in turn with `opts`, whose
/// `relevance` is normally [`Relevance::Interactions`] (the protocol of
/// `evaluate --split interactions --relevance interactions`, with k-fold instead of one
/// holdout). Works for every model: explicit ones fit the explicit part of each training set.
pub fn cross_validate_interactions(
    spec: &ModelSpec,
    data: &Interactions,
    folds: usize,
    seed: u64,
    opts: &EvalOptions,
    progress: &dyn Progress,
) -> Result<CvReport> {
    opts.check()?;
    spec.check()?;
    let assignment = interaction_fold_assignment(data, folds, seed)?;
    cross_validate_folds(spec, folds, opts, progress, |f| {
        interaction_fold(data, &assignment, f)
    })
}

/// Fits and evaluates `spec` on fold 0..folds of `fold_data`, one fold at a time (holding all
/// k train sets would multiply memory by k).
fn cross_validate_folds(
    spec: &ModelSpec,
    folds: usize,
    opts: &EvalOptions,
    progress: &dyn Progress,
    fold_data: impl Fn(usize) -> (Interactions, Interactions),
) -> Result<CvReport> {
    let mut reports = Vec::with_capacity(folds);
    for f in 0..folds {
        let (train, test) = fold_data(f);
        progress.start(&format!("fold {}/{folds}", f + 1), 0);
        let (_, report) = evaluate(spec, &train, &test, opts, progress)?;
        let ranked = report
            .ranking
            .as_ref()
            .map(|m| format!(", ndcg@{} {:.4}", m.k, m.ndcg))
            .unwrap_or_default();
        progress.finish(&format!(
            "fold {}/{folds}: rmse {}, mae {}{ranked}",
            f + 1,
            format_error(report.rmse),
            format_error(report.mae)
        ));
        reports.push(report);
    }
    Ok(CvReport::from_folds(
        spec.kind().name().to_string(),
        reports,
    ))
}

/// `1234567` → `1,234,567`.
fn thousands(n: usize) -> String {
    let s = n.to_string();
    let mut out = String::with_capacity(s.len() + s.len() / 3);
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

fn params_text(params: &serde_json::Value) -> String {
    match params {
        serde_json::Value::Null => String::new(),
        serde_json::Value::Object(m) if m.is_empty() => String::new(),
        p => format!(" {p}"),
    }
}

impl fmt::Display for EvalReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "{:<16}{}{}",
            "model",
            self.model,
            params_text(&self.params)
        )?;
        writeln!(
            f,
            "{:<16}{} train / {} test ratings",
            "data",
            thousands(self.n_train),
            thousands(self.n_test)
        )?;
        writeln!(
            f,
            "{:<16}{} unknown user, {} unknown book (fallback predictions)",
            "test rows",
            thousands(self.n_unknown_user),
            thousands(self.n_unknown_item)
        )?;
        writeln!(f, "{:<16}{}", "RMSE", format_error(self.rmse))?;
        writeln!(f, "{:<16}{}", "MAE", format_error(self.mae))?;
        writeln!(f, "{:<16}{:.3} s", "fit", self.fit_seconds)?;
        write!(f, "{:<16}{:.3} s", "predict", self.predict_seconds)?;
        if let Some(m) = &self.ranking {
            writeln!(f)?;
            write!(f, "{m}")?;
        }
        Ok(())
    }
}

impl fmt::Display for RankingMetrics {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let k = self.k;
        let level = match self.level {
            ItemLevel::Isbn => "",
            ItemLevel::Works => " (lists of works)",
        };
        match self.relevance {
            Relevance::Rating => writeln!(
                f,
                "{:<16}{} users, relevant = held-out rating ≥ {}{level}",
                format!("top-{k}"),
                thousands(self.users_evaluated),
                self.relevance_threshold
            )?,
            Relevance::Interactions => writeln!(
                f,
                "{:<16}{} users, relevant = any held-out interaction{level}",
                format!("top-{k}"),
                thousands(self.users_evaluated),
            )?,
        }
        writeln!(f, "{:<16}{:.4}", format!("  precision@{k}"), self.precision)?;
        writeln!(f, "{:<16}{:.4}", format!("  recall@{k}"), self.recall)?;
        writeln!(f, "{:<16}{:.4}", format!("  ndcg@{k}"), self.ndcg)?;
        writeln!(f, "{:<16}{:.4}", format!("  map@{k}"), self.map)?;
        writeln!(f, "{:<16}{:.4}", format!("  hit rate@{k}"), self.hit_rate)?;
        write!(f, "{:<16}{:.4}", "  coverage", self.coverage)
    }
}

impl fmt::Display for CvReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let params = self.folds.first().map(|r| params_text(&r.params));
        writeln!(
            f,
            "{:<16}{}{}  ({}-fold cross-validation)",
            "model",
            self.model,
            params.unwrap_or_default(),
            self.folds.len()
        )?;
        writeln!(
            f,
            "{:>4}  {:>8}  {:>8}  {:>8}  {:>9}  {:>10}  {:>10}",
            "fold", "RMSE", "MAE", "fit s", "predict s", "n_train", "n_test"
        )?;
        for (i, r) in self.folds.iter().enumerate() {
            writeln!(
                f,
                "{:>4}  {:>8}  {:>8}  {:>8.3}  {:>9.3}  {:>10}  {:>10}",
                i + 1,
                format_error(r.rmse),
                format_error(r.mae),
                r.fit_seconds,
                r.predict_seconds,
                thousands(r.n_train),
                thousands(r.n_test)
            )?;
        }
        let (m, s) = (&self.mean, &self.std);
        writeln!(f, "mean ± std")?;
        for (name, mv, sv) in [("RMSE", m.rmse, s.rmse), ("MAE", m.mae, s.mae)] {
            if mv.is_nan() {
                writeln!(f, "{name:<16}n/a")?;
            } else {
                writeln!(f, "{name:<16}{mv:.4} ± {sv:.4}")?;
            }
        }
        writeln!(
            f,
            "{:<16}{:.3} ± {:.3} s",
            "fit", m.fit_seconds, s.fit_seconds
        )?;
        write!(
            f,
            "{:<16}{:.3} ± {:.3} s",
            "predict", m.predict_seconds, s.predict_seconds
        )?;
        let k = self
            .folds
            .first()
            .and_then(|r| r.ranking.as_ref())
            .map(|r| r.k);
        let ranked = [
            ("precision", m.precision, s.precision),
            ("recall", m.recall, s.recall),
            ("ndcg", m.ndcg, s.ndcg),
            ("map", m.map, s.map),
            ("hit rate", m.hit_rate, s.hit_rate),
        ];
        if let Some(k) = k {
            for (name, mv, sv) in ranked {
                if let (Some(mv), Some(sv)) = (mv, sv) {
                    write!(f, "\n{:<16}{mv:.4} ± {sv:.4}", format!("{name}@{k}"))?;
                }
            }
            if let (Some(mv), Some(sv)) = (m.coverage, s.coverage) {
                write!(f, "\n{:<16}{mv:.4} ± {sv:.4}", "coverage")?;
            }
        }
        Ok(())
    }
}

/// Fits `spec` on all of `data` and describes the result for a model file: fit seconds,
/// training RMSE/MAE and the parameters, with the data fingerprint (engine "native"). The one
/// place the CLI's `train`, the demo, the server and the Python `fit` build model metadata.
pub fn fit_and_describe(
    spec: &ModelSpec,
    data: &Interactions,
    progress: &dyn Progress,
) -> Result<(FittedModel, crate::model_file::ModelMeta)> {
    let started = Instant::now();
    let model = spec.fit(data, progress)?;
    let fit_seconds = started.elapsed().as_secs_f64();
    let on_train = evaluate_fitted(
        &model,
        data,
        &EvalOptions {
            ranking_k: None,
            ..EvalOptions::default()
        },
    )?;
    let meta = crate::model_file::ModelMeta::new(
        "native",
        data,
        serde_json::json!({
            "fit_seconds": fit_seconds,
            "train_rmse": on_train.rmse,
            "train_mae": on_train.mae,
            "params": spec.params_json(),
        }),
    );
    Ok((model, meta))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::models::{Factors, ModelKind, Scorer};

    /// A model over the training triplets whose predictions and recommendations are given
    /// by hand, so the evaluation arithmetic can be checked exactly.
    struct Double {
        model: FittedModel,
        /// (user index, item index) → prediction; anything else predicts μ with the fallback
        /// the aligned indices imply.
        table: Vec<((u32, u32), f32)>,
        /// user index → recommendation list.
        recs: Vec<(u32, Vec<u32>)>,
    }

    impl Predictor for Double {
        fn model(&self) -> &FittedModel {
            &self.model
        }
        fn predict_all(&self, test: &AlignedRatings) -> Vec<Prediction> {
            test.user
                .iter()
                .zip(&test.item)
                .map(|(u, i)| match (u, i) {
                    (Some(u), Some(i)) => Prediction {
                        value: self
                            .table
                            .iter()
                            .find(|(key, _)| *key == (*u, *i))
                            .map_or(self.model.global_mean, |(_, v)| *v),
                        fallback: Fallback::None,
                    },
                    (None, Some(_)) => Prediction {
                        value: self.model.global_mean,
                        fallback: Fallback::UnknownUser,
                    },
                    (Some(_), None) => Prediction {
                        value: self.model.global_mean,
                        fallback: Fallback::UnknownItem,
                    },
                    (None, None) => Prediction {
                        value: self.model.global_mean,
                        fallback: Fallback::UnknownBoth,
                    },
                })
                .collect()
        }
        fn recommend(&self, user: u32, n: usize, _opts: &RecommendOptions) -> Vec<ScoredItem> {
            self.recs
                .iter()
                .find(|(u, _)| *u == user)
                .map(|(_, l)| {
                    l.iter()
                        .take(n)
                        .map(|&item| ScoredItem { item, score: 0.0 })
                        .collect()
                })
                .unwrap_or_default()
        }
    }

    fn fitted(train: &Interactions) -> FittedModel {
        FittedModel::new(
            ModelKind::Mean,
            serde_json::json!({}),
            train,
            Scorer::Factors(Factors {
                k: 0,
                user_bias: vec![0.0; train.n_users()],
                item_bias: vec![0.0; train.n_items()],
                ..Factors::default()
            }),
        )
    }

    fn scale() -> Option<RatingScale> {
        Some(RatingScale::new(1.0, 10.0))
    }

    #[test]
    fn given_files_with_different_vocabularies() {
        // Train: u1 rated a, b; u2 rated a, c. μ = 6.
        let train = Interactions::from_triplets(
            [
                ("u1", "a", 8.0),
                ("u1", "b", 4.0),
                ("u2", "a", 6.0),
                ("u2", "c", 6.0),
            ],
            scale(),
        );
        // Test file lists ids in another order, plus an unknown user and an unknown book.
        let test = Interactions::from_triplets(
            [
                ("u2", "b", 9.0),  // known: predicted 7 → error 2
                ("u1", "c", 3.0),  // known: predicted 5 → error 2
                ("u9", "a", 10.0), // unknown user: μ = 6 → error 4
                ("u1", "zz", 6.0), // unknown book: μ = 6 → error 0
            ],
            scale(),
        );
        let model = fitted(&train);
        let double = Double {
            // Train indices: u1=0, u2=1; a=0, b=1, c=2.
            table: vec![((1, 1), 7.0), ((0, 2), 5.0)],
            recs: vec![(1, vec![1, 2])],
            model,
        };
        let opts = EvalOptions {
            ranking_k: Some(2),
            ..EvalOptions::default()
        };
        let r = report_for(&double, &test, &opts, &NoProgress, None).unwrap();
        assert_eq!((r.n_test, r.n_train), (4, 4));
        assert_eq!((r.n_unknown_user, r.n_unknown_item), (1, 1));
        assert!((r.rmse - (24.0f64 / 4.0).sqrt()).abs() < 1e-9, "{}", r.rmse);
        assert!((r.mae - 2.0).abs() < 1e-9, "{}", r.mae);
        // Relevant (≥ 7.3): only u2's b (u9 is unknown, so not ranked). u2's list [b, c]:
        // precision 1/2, recall 1, ndcg 1, ap 1, hit 1. Candidates: books with ≥ 5 ratings
        // → none, so coverage 0.
        let m = r.ranking.unwrap();
        assert_eq!(m.users_evaluated, 1);
        assert_eq!(
            (m.precision, m.recall, m.ndcg, m.map, m.hit_rate),
            (0.5, 1.0, 1.0, 1.0, 1.0)
        );
        assert_eq!(m.coverage, 0.0);
        assert_eq!(m.relevance_threshold, 7.3);
        assert_eq!(default_relevance_threshold(RatingScale::new(1.0, 5.0)), 3.8);
    }

    #[test]
    fn shared_vocabulary_user_without_training_ratings_is_unknown() {
        let all = Interactions::from_triplets(
            [("u1", "a", 8.0), ("u1", "b", 4.0), ("u2", "a", 9.0)],
            scale(),
        );
        let train = all.subset(&[0, 1], true);
        let test = all.subset(&[2], false);
        let double = Double {
            model: fitted(&train),
            table: vec![],
            recs: vec![(1, vec![0])],
        };
        let opts = EvalOptions {
            recommend: RecommendOptions {
                min_support: 1,
                exclude_seen: true,
            },
            ..EvalOptions::default()
        };
        let r = report_for(&double, &test, &opts, &NoProgress, None).unwrap();
        assert_eq!(r.n_unknown_user, 1);
        assert_eq!(r.n_unknown_item, 0);
        // u2 has no training rating, so it is not ranked even though a list exists for it.
        assert_eq!(r.ranking.unwrap().users_evaluated, 0);
    }

    #[test]
    fn sampling_caps_ranking_users_deterministically() {
        // Train: every user rates "a" and p{u%5}; test: p{(u+1)%5}, which has 10 training
        // ratings, so it is relevant and recommendable. Items: a=0, p0..p4 = 1..5.
        let mut triplets = Vec::new();
        for u in 0..50 {
            triplets.push((format!("u{u}"), "a".to_string(), 5.0));
            triplets.push((format!("u{u}"), format!("p{}", u % 5), 9.0));
        }
        for u in 0..50 {
            triplets.push((format!("u{u}"), format!("p{}", (u + 1) % 5), 9.0));
        }
        let all = Interactions::from_triplets(triplets, scale());
        let train_rows: Vec<usize> = (0..100).collect();
        let test_rows: Vec<usize> = (100..150).collect();
        let (train, test) = (all.subset(&train_rows, true), all.subset(&test_rows, false));
        // Every user is recommended their held-out book first, then "a".
        let recs = (0..50u32).map(|u| (u, vec![1 + (u + 1) % 5, 0])).collect();
        let double = Double {
            model: fitted(&train),
            table: vec![],
            recs,
        };
        let opts = EvalOptions {
            ranking_k: Some(2),
            max_ranking_users: Some(7),
            recommend: RecommendOptions {
                min_support: 10,
                exclude_seen: true,
            },
            ..EvalOptions::default()
        };
        let a = report_for(&double, &test, &opts, &NoProgress, None).unwrap();
        let b = report_for(&double, &test, &opts, &NoProgress, None).unwrap();
        let m = a.ranking.clone().unwrap();
        assert_eq!(m.users_evaluated, 7);
        assert_eq!(
            (m.recall, m.ndcg, m.hit_rate, m.precision),
            (1.0, 1.0, 1.0, 0.5)
        );
        // 6 candidates (all books have >= 10 training ratings); "a" plus 1..=5 p's recommended.
        assert!(
            m.coverage > 1.5 / 6.0 && m.coverage <= 1.0,
            "{}",
            m.coverage
        );
        assert_eq!(a.ranking, b.ranking);
        let all_users = EvalOptions {
            max_ranking_users: None,
            ..opts
        };
        let full = report_for(&double, &test, &all_users, &NoProgress, None).unwrap();
        let m = full.ranking.unwrap();
        assert_eq!(m.users_evaluated, 50);
        assert_eq!(m.coverage, 1.0);
    }

    #[test]
    fn empty_test_and_bad_options_are_errors() {
        let train = Interactions::from_triplets([("u1", "a", 8.0)], scale());
        let model = fitted(&train);
        let empty = train.subset(&[], false);
        assert!(matches!(
            evaluate_fitted(&model, &empty, &EvalOptions::default()).unwrap_err(),
            Error::Invalid(_)
        ));
        let bad = EvalOptions {
            ranking_k: Some(0),
            ..EvalOptions::default()
        };
        assert!(matches!(
            evaluate_fitted(&model, &train, &bad).unwrap_err(),
            Error::Param { .. }
        ));
    }

    #[test]
    fn cv_summary_mean_and_sample_std() {
        let mk = |rmse: f64| EvalReport {
            model: "mean".into(),
            params: serde_json::json!({}),
            rmse,
            mae: rmse / 2.0,
            fit_seconds: 1.0,
            predict_seconds: 0.5,
            n_train: 90,
            n_test: 10,
            n_unknown_user: 1,
            n_unknown_item: 2,
            ranking: None,
        };
        let cv = CvReport::from_folds("mean".into(), vec![mk(1.0), mk(2.0), mk(3.0)]);
        assert_eq!(cv.mean.rmse, 2.0);
        assert_eq!(cv.std.rmse, 1.0);
        assert_eq!(cv.mean.mae, 1.0);
        assert_eq!(cv.std.fit_seconds, 0.0);
        assert_eq!(cv.mean.precision, None);
        let json = cv.summary_json();
        for key in ["model", "rmse", "mae", "fit_seconds", "n_train", "n_test"] {
            assert!(json.get(key).is_some(), "missing {key}");
        }
        assert_eq!(json["folds"], 3);
        let text = cv.to_string();
        assert!(text.contains("2.0000 ± 1.0000"), "{text}");
    }

    #[test]
    fn thousands_separators() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1000), "1,000");
        assert_eq!(thousands(1_234_567), "1,234,567");
    }
}
