//! Hyper-parameter search: random search or a TPE-style search over a search space, each trial
//! scored by k-fold cross-validation with the tuning seed (over the explicit ratings for RMSE,
//! over every user's interactions for a ranking metric — see "Metric and folds" below), so
//! every trial sees the same folds and trials are compared paired.
//!
//! **Search space.** One distribution per searched hyper-parameter, in JSON (the `--space` file
//! format, also how the built-in defaults are written — see [`default_space_json`]):
//!
//! ```json
//! { "reg":        {"log_uniform": [0.005, 0.5]},
//!   "lr":         {"uniform": [0.001, 0.02]},
//!   "factors":    {"int": [5, 150]},
//!   "k":          {"log_int": [5, 200]},
//!   "similarity": {"choice": ["pearson_baseline", "cosine"]},
//!   "epochs":     30 }
//! ```
//!
//! `uniform`/`log_uniform` draw a real number between the bounds (uniformly in the value or in
//! its logarithm; `low < high`, and `low > 0` for `log_uniform`), rounded to 3 significant
//! digits so tables and presets stay readable; `int`/`log_int` draw an integer in `[low, high]`
//! inclusive; `choice` picks one of the listed values; a bare value fixes the parameter for
//! every trial. Parameters not mentioned keep the model's defaults. An optional `"model"` key
//! must name the tuned model. Validation happens before any trial: a key the model does not
//! have, a malformed distribution, an empty or reversed range, or a bound the model rejects
//! (e.g. `factors` 0) is an [`Error::Parse`] naming the file, the line of the key and the key.
//!
//! **Random search** samples every trial independently from the space.
//!
//! **TPE** (tree-structured Parzen estimator, Bergstra et al. 2011, simplified): the first
//! `startup` trials are random; afterwards the finished trials are split into the best
//! γ = 25 % ("good", at least one) and the rest ("bad"). For each parameter, independently, two
//! densities are built on the unit coordinate of the parameter (the value mapped to [0, 1],
//! through the logarithm for `log_*`): l(x) from the good trials and g(x) from the bad ones,
//! each an equal-weight mixture of the uniform prior on [0, 1] and one Gaussian of bandwidth
//! σ = clamp(1.06 · sd · n^(−1/5), 0.04, 0.5) per observation (σ = 0.25 for fewer than two);
//! for `choice` parameters l and g are category frequencies with add-one smoothing. 24
//! candidates are drawn from l and the one with the largest Σ_params ln l(x) − ln g(x) is the
//! next trial. (Simplifications against hyperopt: a fixed bandwidth rule instead of
//! neighbour distances, and the Gaussians are not renormalised for truncation to [0, 1].)
//! Failed trials (a parameter combination the model rejects, e.g. `min_k > k`) count as worst.
//!
//! **Parallelism and determinism.** Trials are proposed in batches of [`BATCH`] = 4 from the
//! trials finished before the batch, so the sequence of proposals depends only on the seed,
//! never on the thread count or on which trial finishes first. Models whose fit is
//! single-threaded (`mean`, `baseline`, `svdpp`) run the trials of a batch in parallel with
//! rayon; models that already parallelise their fit (`svd`'s blocked SGD, `als`' row solves,
//! `knn`'s similarity pass, `ncf`'s tensor kernels, `ials`' row solves) run trials one at a time, so the two levels do not oversubscribe
//! the cores. Models take the tuning seed as their `seed` unless the space sets it.
//!
//! **Metric and folds.** `rmse` (minimised) is scored by k-fold cross-validation over the
//! explicit ratings, as above; it needs a model that predicts ratings (`ials` and
//! `popularity` are refused with an error naming the ranking metrics). A ranking metric
//! (`ndcg@10`, or `precision|recall|ndcg|map|hit_rate@k`, maximised) is scored on held-out
//! *interactions* for every model: [`crate::evaluation::evaluate::cross_validate_interactions`] deals each
//! user's interactions, rated or not, to the k folds ([`crate::evaluation::split::interaction_k_fold`]),
//! every held-out book is relevant and each model's list skips all of the reader's training
//! interactions — `bookrec evaluate --split interactions --relevance interactions` with k
//! folds instead of one holdout (options in [`Metric::eval_options`]). Explicit models fit the
//! explicit part of each training fold, `ials` all of it. The table reports the fold mean ±
//! sample standard deviation.

use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Instant;

use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::data::Interactions;
use crate::evaluation::evaluate::{
    cross_validate, cross_validate_interactions, EvalOptions, EvalReport, EvalSummary,
};
use crate::evaluation::metrics::Relevance;
use crate::evaluation::split::{fold_assignment, interaction_fold_assignment, Split};
use crate::models::{ModelKind, ModelSpec};
use crate::progress::{NoProgress, Progress};
use crate::rng::Rng;
use crate::{Error, Result};

/// Trials proposed (and, for single-threaded models, run in parallel) together.
pub const BATCH: usize = 4;
/// Share of finished trials TPE treats as "good".
const GAMMA: f64 = 0.25;
/// Candidates drawn from l(x) per TPE proposal.
const CANDIDATES: usize = 24;

/// A distribution of one hyper-parameter (see the module doc for the JSON form).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Dist {
    Uniform([f64; 2]),
    LogUniform([f64; 2]),
    Int([i64; 2]),
    LogInt([i64; 2]),
    Choice(Vec<Value>),
    /// The same value in every trial.
    Fixed(Value),
}

/// A point's coordinate on one parameter: unit-interval position or category index.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Coord {
    Num(f64),
    Cat(usize),
    None,
}

impl Dist {
    fn sample(&self, rng: &mut Rng) -> Coord {
        match self {
            Dist::Choice(c) => Coord::Cat(rng.below(c.len() as u64) as usize),
            Dist::Fixed(_) => Coord::None,
            _ => Coord::Num(rng.next_f64()),
        }
    }

    /// The value at `coord`.
    fn value(&self, coord: Coord) -> Value {
        let u = match coord {
            Coord::Num(u) => u.clamp(0.0, 1.0),
            _ => 0.0,
        };
        match self {
            Dist::Uniform([lo, hi]) => round_sig(lo + u * (hi - lo)).into(),
            Dist::LogUniform([lo, hi]) => {
                round_sig((lo.ln() + u * (hi.ln() - lo.ln())).exp()).into()
            }
            Dist::Int([lo, hi]) => {
                let span = (hi - lo + 1) as f64;
                (lo + ((u * span).floor() as i64).min(hi - lo)).into()
            }
            Dist::LogInt([lo, hi]) => {
                let (a, b) = ((*lo as f64).ln(), ((hi + 1) as f64).ln());
                ((a + u * (b - a)).exp().floor() as i64)
                    .clamp(*lo, *hi)
                    .into()
            }
            Dist::Choice(c) => match coord {
                Coord::Cat(i) => c.get(i).cloned().unwrap_or(Value::Null),
                _ => Value::Null,
            },
            Dist::Fixed(v) => v.clone(),
        }
    }

    fn is_searched(&self) -> bool {
        !matches!(self, Dist::Fixed(_))
    }
}

/// `x` rounded to 3 significant digits.
fn round_sig(x: f64) -> f64 {
    if x == 0.0 || !x.is_finite() {
        return x;
    }
    let mag = 10f64.powi(2 - x.abs().log10().floor() as i32);
    let r = (x * mag).round() / mag;
    // Printing through f32 gives the shortest decimal a model parameter (f32) will hold.
    (r as f32).to_string().parse().unwrap_or(r)
}

/// The searched (and fixed) hyper-parameters of one model, in key order.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct SearchSpace {
    pub model: ModelKind,
    pub params: Vec<(String, Dist)>,
}

/// The built-in search space of `kind` as JSON (`None` for `mean` and `popularity`, which
/// have no hyper-parameters). Ranges of the rating models are centred on values known to
/// matter on sparse explicit data like Book-Crossing: far stronger regularisation than the
/// Surprise defaults, fewer factors. For `ials` only the products α·w enter the model
/// (c = 1 + α·w), so `explicit_weight` stays at 1 and α and the relative weight of an unrated
/// interaction, `implicit_weight`, are searched (a `--space` file may search both weights).
pub fn default_space_json(kind: ModelKind) -> Option<&'static str> {
    Some(match kind {
        ModelKind::Mean | ModelKind::Popularity => return None,
        ModelKind::Ials => {
            r#"{"factors": {"log_int": [8, 200]},
                "iterations": {"int": [5, 25]},
                "reg": {"log_uniform": [0.01, 100]},
                "alpha": {"log_uniform": [0.5, 100]},
                "implicit_weight": {"log_uniform": [0.05, 5]}}"#
        }
        ModelKind::Baseline => {
            r#"{"method": {"choice": ["als", "sgd"]},
                "reg_u": {"log_uniform": [0.5, 50]},
                "reg_i": {"log_uniform": [0.5, 50]},
                "epochs": {"int": [5, 30]},
                "lr": {"log_uniform": [0.001, 0.02]},
                "reg": {"log_uniform": [0.005, 1]}}"#
        }
        ModelKind::Svd => {
            r#"{"factors": {"log_int": [2, 200]},
                "epochs": {"int": [10, 60]},
                "lr": {"log_uniform": [0.001, 0.02]},
                "reg": {"log_uniform": [0.005, 0.5]}}"#
        }
        ModelKind::Svdpp => {
            r#"{"factors": {"log_int": [2, 50]},
                "epochs": {"int": [10, 40]},
                "lr": {"log_uniform": [0.001, 0.02]},
                "reg": {"log_uniform": [0.005, 0.5]}}"#
        }
        ModelKind::Als => {
            r#"{"factors": {"log_int": [2, 100]},
                "iterations": {"int": [5, 25]},
                "reg": {"log_uniform": [0.01, 10]}}"#
        }
        ModelKind::Knn => {
            r#"{"k": {"log_int": [5, 200]},
                "min_k": {"int": [1, 5]},
                "similarity": {"choice": ["pearson_baseline", "cosine"]},
                "shrinkage": {"log_uniform": [1, 1000]},
                "reg_u": {"log_uniform": [1, 50]},
                "reg_i": {"log_uniform": [1, 50]}}"#
        }
        ModelKind::Hybrid => {
            r#"{"epochs": {"int": [10, 30]},
                "reg_u": {"log_uniform": [0.5, 50]},
                "reg_i": {"log_uniform": [0.5, 50]},
                "reg_author": {"log_uniform": [0.5, 200]},
                "reg_work": {"log_uniform": [0.5, 200]},
                "reg_publisher": {"log_uniform": [0.5, 200]},
                "reg_period": {"log_uniform": [0.5, 500]},
                "reg_activity": {"log_uniform": [0.5, 500]}}"#
        }
        ModelKind::Ncf => {
            r#"{"factors": {"log_int": [4, 64]},
                "lr": {"log_uniform": [0.001, 0.03]},
                "reg": {"log_uniform": [0.005, 0.5]},
                "dropout": {"uniform": [0, 0.5]}}"#
        }
    })
}

/// Builds an [`Error::Parse`] about `key` of a space file, at the line where the key appears.
fn space_error(
    path: &Path,
    text: &str,
    key: &str,
    message: String,
    value: Option<&Value>,
) -> Error {
    let needle = format!("\"{key}\"");
    let line = text
        .lines()
        .position(|l| l.contains(&needle))
        .map_or(1, |i| i as u64 + 1);
    Error::Parse {
        path: path.to_path_buf(),
        line,
        message: format!("`{key}`: {message}"),
        value: value.map(|v| crate::error::excerpt(&v.to_string(), 80)),
    }
}

/// One entry of a space file: a `{"<kind>": ...}` object or a bare (fixed) value.
fn parse_dist(spec: &Value) -> std::result::Result<Dist, String> {
    let obj =
        match spec {
            Value::Object(o) => o,
            Value::Array(_) => return Err(
                "expected a distribution like {\"log_uniform\": [low, high]} or a fixed value, \
                 not a bare list"
                    .into(),
            ),
            v => return Ok(Dist::Fixed(v.clone())),
        };
    const KINDS: &str = "uniform, log_uniform, int, log_int, choice";
    let mut entries = obj.iter();
    let (Some((kind, args)), None) = (entries.next(), entries.next()) else {
        return Err(format!("expected exactly one distribution key ({KINDS})"));
    };
    let pair = |args: &Value| -> std::result::Result<[f64; 2], String> {
        match args.as_array().map(Vec::as_slice) {
            Some([a, b]) => match (a.as_f64(), b.as_f64()) {
                (Some(a), Some(b)) if a.is_finite() && b.is_finite() => Ok([a, b]),
                _ => Err(format!("{kind} bounds must be numbers")),
            },
            _ => Err(format!("{kind} takes [low, high]")),
        }
    };
    let int_pair = |args: &Value| -> std::result::Result<[i64; 2], String> {
        match args.as_array().map(Vec::as_slice) {
            Some([a, b]) => match (a.as_i64(), b.as_i64()) {
                (Some(a), Some(b)) => Ok([a, b]),
                _ => Err(format!("{kind} bounds must be integers")),
            },
            _ => Err(format!("{kind} takes [low, high]")),
        }
    };
    match kind.as_str() {
        "uniform" | "log_uniform" => {
            let [lo, hi] = pair(args)?;
            if lo >= hi {
                return Err(format!("empty range: low {lo} must be below high {hi}"));
            }
            if kind == "log_uniform" {
                if lo <= 0.0 {
                    return Err(format!("log_uniform needs low > 0, got {lo}"));
                }
                Ok(Dist::LogUniform([lo, hi]))
            } else {
                Ok(Dist::Uniform([lo, hi]))
            }
        }
        "int" | "log_int" => {
            let [lo, hi] = int_pair(args)?;
            if lo > hi {
                return Err(format!("empty range: low {lo} is above high {hi}"));
            }
            if kind == "log_int" {
                if lo < 1 {
                    return Err(format!("log_int needs low >= 1, got {lo}"));
                }
                Ok(Dist::LogInt([lo, hi]))
            } else {
                Ok(Dist::Int([lo, hi]))
            }
        }
        "choice" => match args.as_array() {
            Some(c) if !c.is_empty() => Ok(Dist::Choice(c.clone())),
            _ => Err("choice takes a non-empty list of values".into()),
        },
        other => Err(format!(
            "unknown distribution {other:?}; use one of {KINDS}"
        )),
    }
}

impl SearchSpace {
    /// The built-in space of `kind` ([`default_space_json`]); `mean` and `popularity` have
    /// none ([`Error::Param`]).
    pub fn default_for(kind: ModelKind) -> Result<SearchSpace> {
        let text = default_space_json(kind)
            .ok_or_else(|| Error::param("model", kind.name(), "has no hyper-parameters to tune"))?;
        SearchSpace::parse(kind, text, Path::new("<built-in space>"))
    }

    /// Reads and validates a space file (see the module doc).
    pub fn load(kind: ModelKind, path: &Path) -> Result<SearchSpace> {
        let text = std::fs::read_to_string(path).map_err(|source| Error::Io {
            path: path.to_path_buf(),
            source,
        })?;
        SearchSpace::parse(kind, &text, path)
    }

    /// Parses and validates space JSON `text`; `path` names it in errors.
    pub fn parse(kind: ModelKind, text: &str, path: &Path) -> Result<SearchSpace> {
        let root: Value = serde_json::from_str(text).map_err(|e| Error::Parse {
            path: path.to_path_buf(),
            line: e.line().max(1) as u64,
            message: format!("not valid JSON: {e}"),
            value: None,
        })?;
        let Value::Object(obj) = root else {
            return Err(Error::Parse {
                path: path.to_path_buf(),
                line: 1,
                message: "a search space must be a JSON object of parameter → distribution".into(),
                value: None,
            });
        };
        let defaults = ModelSpec::default_for(kind).params_json();
        let valid: Vec<&str> = defaults
            .as_object()
            .map(|m| {
                m.keys()
                    .map(String::as_str)
                    .filter(|k| *k != "model")
                    .collect()
            })
            .unwrap_or_default();
        let err = |key: &str, msg: String, v: Option<&Value>| space_error(path, text, key, msg, v);
        let mut params = Vec::new();
        for (key, spec) in &obj {
            if key == "model" {
                if spec.as_str().and_then(ModelKind::parse) != Some(kind) {
                    return Err(err(
                        key,
                        format!("the space is for another model; tuning {}", kind.name()),
                        Some(spec),
                    ));
                }
                continue;
            }
            if !valid.contains(&key.as_str()) {
                return Err(err(
                    key,
                    format!(
                        "unknown parameter for {}; valid: {}",
                        kind.name(),
                        valid.join(", ")
                    ),
                    None,
                ));
            }
            let dist = parse_dist(spec).map_err(|m| err(key, m, Some(spec)))?;
            // Every value the distribution can produce must be one the model accepts: check
            // the bounds (and each choice) through the model's own parameter validation.
            let probes: Vec<Value> = match &dist {
                Dist::Choice(c) => c.clone(),
                Dist::Fixed(v) => vec![v.clone()],
                d => vec![d.value(Coord::Num(0.0)), d.value(Coord::Num(1.0))],
            };
            for probe in &probes {
                let mut one = Map::new();
                one.insert(key.clone(), probe.clone());
                if let Err(e) = ModelSpec::from_params(kind, &one) {
                    return Err(err(
                        key,
                        format!("value rejected by {}: {e}", kind.name()),
                        Some(probe),
                    ));
                }
            }
            params.push((key.clone(), dist));
        }
        if !params.iter().any(|(_, d)| d.is_searched()) {
            return Err(Error::Parse {
                path: path.to_path_buf(),
                line: 1,
                message: "the space searches no parameter (every entry is a fixed value)".into(),
                value: None,
            });
        }
        Ok(SearchSpace {
            model: kind,
            params,
        })
    }

    fn sample(&self, rng: &mut Rng) -> Vec<Coord> {
        self.params.iter().map(|(_, d)| d.sample(rng)).collect()
    }

    /// The parameter values at `point` (searched and fixed ones).
    fn values(&self, point: &[Coord]) -> Map<String, Value> {
        self.params
            .iter()
            .zip(point)
            .map(|((k, d), &c)| (k.clone(), d.value(c)))
            .collect()
    }
}

/// A top-N figure of [`crate::evaluation::metrics::RankingMetrics`] a search can optimise.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RankingMeasure {
    Precision,
    Recall,
    Ndcg,
    Map,
    HitRate,
}

impl RankingMeasure {
    const ALL: [RankingMeasure; 5] = [
        RankingMeasure::Precision,
        RankingMeasure::Recall,
        RankingMeasure::Ndcg,
        RankingMeasure::Map,
        RankingMeasure::HitRate,
    ];

    pub fn name(self) -> &'static str {
        match self {
            RankingMeasure::Precision => "precision",
            RankingMeasure::Recall => "recall",
            RankingMeasure::Ndcg => "ndcg",
            RankingMeasure::Map => "map",
            RankingMeasure::HitRate => "hit_rate",
        }
    }

    /// This measure's fold mean (or std) in a cross-validation summary.
    fn of(self, s: &EvalSummary) -> Option<f64> {
        match self {
            RankingMeasure::Precision => s.precision,
            RankingMeasure::Recall => s.recall,
            RankingMeasure::Ndcg => s.ndcg,
            RankingMeasure::Map => s.map,
            RankingMeasure::HitRate => s.hit_rate,
        }
    }
}

/// The figure a search optimises. Written (CLI, JSON) as `rmse` or `<measure>@<k>`, e.g.
/// `ndcg@10`, `recall@20`, `hit_rate@5`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(into = "String", try_from = "String")]
pub enum Metric {
    /// Root mean squared error of the held-out explicit ratings (lower is better), by k-fold
    /// cross-validation over the ratings. Rating models only.
    Rmse,
    /// A top-`k` figure over held-out *interactions* (higher is better): k-fold
    /// cross-validation over every user's interactions, rated or not
    /// ([`crate::evaluation::evaluate::cross_validate_interactions`]), every held-out book relevant
    /// ([`Relevance::Interactions`]). Every model.
    Ranking { measure: RankingMeasure, k: usize },
}

impl Metric {
    /// NDCG@k.
    pub fn ndcg(k: usize) -> Metric {
        Metric::Ranking {
            measure: RankingMeasure::Ndcg,
            k,
        }
    }

    pub fn name(self) -> String {
        match self {
            Metric::Rmse => "rmse".to_string(),
            Metric::Ranking { measure, k } => format!("{}@{k}", measure.name()),
        }
    }

    /// Parses `rmse` or `<measure>@<k>` (measure: precision, recall, ndcg, map, hit_rate;
    /// k ≥ 1); a bare measure name means k = 10. Case and `-`/`_` in `hit_rate` are free.
    pub fn parse(s: &str) -> Result<Metric> {
        let text = s.trim().to_ascii_lowercase().replace('-', "_");
        let bad = |why: &str| {
            Error::param(
                "metric",
                crate::error::excerpt(s.trim(), 40),
                format!(
                    "{why}; use rmse or precision@k, recall@k, ndcg@k, map@k, hit_rate@k \
                     (k ≥ 1, e.g. ndcg@10)"
                ),
            )
        };
        if text == "rmse" {
            return Ok(Metric::Rmse);
        }
        let (name, k) = match text.split_once('@') {
            Some((name, k)) => (name, Some(k)),
            None => (text.as_str(), None),
        };
        let name = if name == "hitrate" || name == "hit" {
            "hit_rate"
        } else {
            name
        };
        let measure = RankingMeasure::ALL
            .into_iter()
            .find(|m| m.name() == name)
            .ok_or_else(|| bad("unknown metric"))?;
        let k = match k {
            None => 10,
            Some(k) => match k.parse::<usize>() {
                Ok(k) if k >= 1 => k,
                _ => return Err(bad("the list length k must be a whole number ≥ 1")),
            },
        };
        Ok(Metric::Ranking { measure, k })
    }

    /// Lower is better: the loss of a metric value.
    fn loss(self, value: f64) -> f64 {
        match self {
            Metric::Rmse => value,
            Metric::Ranking { .. } => -value,
        }
    }

    /// What the folds are made of under this metric.
    pub fn folds_over(self) -> FoldsOver {
        match self {
            Metric::Rmse => FoldsOver::Ratings,
            Metric::Ranking { .. } => FoldsOver::Interactions,
        }
    }

    /// The evaluation options a trial (and a `--test-fraction` holdout) is scored with: for
    /// RMSE no ranking (it costs a top-N query per user); for a ranking metric list length
    /// `k`, every held-out interaction relevant, and otherwise [`EvalOptions::default`]
    /// (books with ≥ 5 training interactions recommendable, ≤ 5,000 sampled users), as
    /// `bookrec evaluate --split interactions --relevance interactions -k K`.
    pub fn eval_options(self) -> EvalOptions {
        match self {
            Metric::Rmse => EvalOptions {
                ranking_k: None,
                ..EvalOptions::default()
            },
            Metric::Ranking { k, .. } => EvalOptions {
                ranking_k: Some(k),
                relevance: Relevance::Interactions,
                ..EvalOptions::default()
            },
        }
    }

    /// The holdout split that matches this metric's folds: a random split of the ratings for
    /// RMSE (as `evaluate --test-fraction F`), a per-user split of the interactions for a
    /// ranking metric (as `evaluate --split interactions --test-fraction F`).
    pub fn holdout(self, test_fraction: f64) -> Split {
        match self {
            Metric::Rmse => Split::Random { test_fraction },
            Metric::Ranking { .. } => Split::Interactions { test_fraction },
        }
    }

    /// The figure in one report's ranking metrics or RMSE (NaN if absent).
    pub fn value_in(self, report: &EvalReport) -> f64 {
        match self {
            Metric::Rmse => report.rmse,
            Metric::Ranking { measure, .. } => {
                report.ranking.as_ref().map_or(f64::NAN, |m| match measure {
                    RankingMeasure::Precision => m.precision,
                    RankingMeasure::Recall => m.recall,
                    RankingMeasure::Ndcg => m.ndcg,
                    RankingMeasure::Map => m.map,
                    RankingMeasure::HitRate => m.hit_rate,
                })
            }
        }
    }

    /// Refuses RMSE for a model that predicts no ratings.
    pub fn check_model(self, kind: ModelKind) -> Result<()> {
        if self == Metric::Rmse && !kind.predicts_ratings() {
            return Err(Error::param(
                "metric",
                "rmse",
                format!(
                    "cannot score {}: it is a ranking model and predicts no ratings; tune it \
                     on held-out interactions with a ranking metric such as ndcg@10",
                    kind.name()
                ),
            ));
        }
        Ok(())
    }
}

impl From<Metric> for String {
    fn from(m: Metric) -> String {
        m.name()
    }
}

impl TryFrom<String> for Metric {
    type Error = Error;
    fn try_from(s: String) -> Result<Metric> {
        Metric::parse(&s)
    }
}

/// What the cross-validation folds of a search hold out.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FoldsOver {
    /// Explicit ratings ([`crate::evaluation::split::k_fold`]).
    #[default]
    Ratings,
    /// Every user's interactions, rated or not ([`crate::evaluation::split::interaction_k_fold`]).
    Interactions,
}

/// How proposals are made.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Strategy {
    Random,
    Tpe,
}

impl Strategy {
    pub fn parse(s: &str) -> Result<Strategy> {
        match s.trim().to_ascii_lowercase().as_str() {
            "random" => Ok(Strategy::Random),
            "tpe" => Ok(Strategy::Tpe),
            other => Err(Error::param(
                "search",
                crate::error::excerpt(other, 40),
                "must be random or tpe",
            )),
        }
    }
}

/// Options of [`tune`].
#[derive(Clone, Debug)]
pub struct TuneOptions {
    pub trials: usize,
    pub folds: usize,
    pub metric: Metric,
    pub strategy: Strategy,
    /// Seeds the proposals, the folds and (unless the space sets `seed`) the models.
    pub seed: u64,
    /// Random trials before TPE starts modelling; `None` = max(5, min(20, trials / 3)).
    pub startup: Option<usize>,
}

impl Default for TuneOptions {
    fn default() -> Self {
        TuneOptions {
            trials: 30,
            folds: 3,
            metric: Metric::Rmse,
            strategy: Strategy::Tpe,
            seed: 0,
            startup: None,
        }
    }
}

/// One evaluated parameter combination.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Trial {
    /// 0-based, in proposal order.
    pub trial: usize,
    /// Values of the space's parameters (the rest are the model defaults).
    pub params: Map<String, Value>,
    /// Fold mean and sample standard deviation of the metric (NaN, JSON `null`, if the trial
    /// failed).
    #[serde(deserialize_with = "nan_if_null")]
    pub mean: f64,
    #[serde(deserialize_with = "nan_if_null")]
    pub std: f64,
    /// Fold means of RMSE and MAE of the held-out explicit ratings (always computed; NaN for a
    /// model that predicts no ratings).
    #[serde(deserialize_with = "nan_if_null")]
    pub rmse: f64,
    #[serde(deserialize_with = "nan_if_null")]
    pub mae: f64,
    /// Mean seconds to fit one fold.
    pub fit_seconds: f64,
    /// Why the trial failed (e.g. a combination the model rejects).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// Reads a float written by serde_json, which writes NaN as `null`.
fn nan_if_null<'de, D: serde::Deserializer<'de>>(d: D) -> std::result::Result<f64, D::Error> {
    Ok(Option::<f64>::deserialize(d)?.unwrap_or(f64::NAN))
}

/// All trials of a search and the best one.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct TuneReport {
    pub model: String,
    pub metric: Metric,
    pub strategy: Strategy,
    pub folds: usize,
    pub seed: u64,
    /// Whether the trials of a batch ran in parallel (single-threaded models) or in turn.
    pub parallel_trials: bool,
    /// Explicit ratings in the searched data.
    pub n_ratings: usize,
    /// What the folds held out (ratings for RMSE, interactions for ranking metrics).
    #[serde(default)]
    pub folds_over: FoldsOver,
    /// Interactions in the searched data, rated and unrated (0 in reports written before
    /// this field existed).
    #[serde(default)]
    pub n_interactions: usize,
    pub seconds: f64,
    pub trials: Vec<Trial>,
    /// Index into `trials` of the best successful trial.
    pub best: usize,
    /// The full parameters of the best trial, including `"model"` (a [`ModelSpec`] in JSON).
    pub best_params: Value,
}

impl TuneReport {
    pub fn best_trial(&self) -> &Trial {
        &self.trials[self.best]
    }

    /// The best model specification, ready to fit.
    pub fn best_spec(&self) -> Result<ModelSpec> {
        serde_json::from_value(self.best_params.clone())
            .map_err(|e| Error::Invalid(format!("best parameters do not form a model: {e}")))
    }

    /// The trial table as CSV: `trial`, one column per space parameter, the metric's mean and
    /// std, `rmse`, `mae`, `fit_seconds`, `error`.
    pub fn to_csv(&self) -> String {
        let keys: Vec<&String> = self
            .trials
            .first()
            .map(|t| t.params.keys().collect())
            .unwrap_or_default();
        let m = self.metric.name();
        let mut out = String::from("trial");
        for k in &keys {
            out.push(',');
            out.push_str(&csv_field(k));
        }
        out.push_str(&format!(",{m}_mean,{m}_std,rmse,mae,fit_seconds,error\n"));
        for t in &self.trials {
            out.push_str(&t.trial.to_string());
            for k in &keys {
                out.push(',');
                let v = match t.params.get(*k) {
                    Some(Value::String(s)) => s.clone(),
                    Some(v) => v.to_string(),
                    None => String::new(),
                };
                out.push_str(&csv_field(&v));
            }
            out.push_str(&format!(
                ",{:.6},{:.6},{:.6},{:.6},{:.4},{}\n",
                t.mean,
                t.std,
                t.rmse,
                t.mae,
                t.fit_seconds,
                csv_field(t.error.as_deref().unwrap_or(""))
            ));
        }
        out
    }

    /// Writes `tune_<model>.csv` and `tune_<model>.json` into `dir` (created if missing);
    /// returns the two paths.
    pub fn write(&self, dir: &Path) -> Result<(PathBuf, PathBuf)> {
        let io = |path: &Path| {
            let path = path.to_path_buf();
            move |source| Error::Io { path, source }
        };
        std::fs::create_dir_all(dir).map_err(io(dir))?;
        let csv = dir.join(format!("tune_{}.csv", self.model));
        let json = dir.join(format!("tune_{}.json", self.model));
        std::fs::write(&csv, self.to_csv()).map_err(io(&csv))?;
        let text = serde_json::to_string_pretty(self)
            .map_err(|e| Error::Invalid(format!("cannot encode the tuning report: {e}")))?;
        std::fs::write(&json, text).map_err(io(&json))?;
        Ok((csv, json))
    }
}

fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

impl fmt::Display for TuneReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let b = self.best_trial();
        let m = self.metric.name();
        let data = match self.folds_over {
            FoldsOver::Ratings => format!("{} ratings", self.n_ratings),
            FoldsOver::Interactions => format!(
                "{} interactions ({} rated)",
                self.n_interactions, self.n_ratings
            ),
        };
        writeln!(
            f,
            "{} search, {} trials of {}, {}-fold CV on {data}, {:.1} s",
            match self.strategy {
                Strategy::Random => "random",
                Strategy::Tpe => "TPE",
            },
            self.trials.len(),
            self.model,
            self.folds,
            self.seconds
        )?;
        let rmse = if b.rmse.is_nan() || self.metric == Metric::Rmse {
            String::new()
        } else {
            format!("rmse {:.4}, ", b.rmse)
        };
        writeln!(
            f,
            "best: trial {}  {m} {:.4} ± {:.4}  ({rmse}fit {:.2} s/fold)",
            b.trial, b.mean, b.std, b.fit_seconds
        )?;
        write!(f, "best parameters: {}", self.best_params)
    }
}

/// Models whose fit already uses every core; their trials run one at a time.
fn fits_in_parallel(kind: ModelKind) -> bool {
    matches!(
        kind,
        ModelKind::Svd | ModelKind::Als | ModelKind::Knn | ModelKind::Ncf | ModelKind::Ials
    )
}

/// Searches `space` on `data` (see the module doc). Errors: invalid options, folds the data
/// cannot be split into, or every trial failing (the first failure is returned).
pub fn tune(
    data: &Interactions,
    space: &SearchSpace,
    opts: &TuneOptions,
    progress: &dyn Progress,
) -> Result<TuneReport> {
    if opts.trials == 0 {
        return Err(Error::param("trials", 0, "must be at least 1"));
    }
    let kind = space.model;
    opts.metric.check_model(kind)?;
    // Checks the fold count against the data once, before any trial.
    match opts.metric.folds_over() {
        FoldsOver::Ratings => fold_assignment(data, opts.folds, opts.seed).map(drop)?,
        FoldsOver::Interactions => {
            interaction_fold_assignment(data, opts.folds, opts.seed).map(drop)?
        }
    }
    let eval_opts = opts.metric.eval_options();
    let startup = opts
        .startup
        .unwrap_or_else(|| (opts.trials / 3).clamp(5, 20));
    let parallel = !fits_in_parallel(kind);
    let started = Instant::now();
    let mut rng = Rng::new(opts.seed);
    let mut points: Vec<Vec<Coord>> = Vec::new();
    let mut trials: Vec<Trial> = Vec::new();

    progress.start(&format!("tune {}", kind.name()), opts.trials as u64);
    while trials.len() < opts.trials {
        let n = BATCH.min(opts.trials - trials.len());
        let batch: Vec<Vec<Coord>> = (0..n)
            .map(|_| {
                if opts.strategy == Strategy::Tpe && trials.len() >= startup {
                    propose_tpe(space, &points, &trials, opts.metric, &mut rng)
                } else {
                    space.sample(&mut rng)
                }
            })
            .collect();
        let run = |(j, point): (usize, &Vec<Coord>)| {
            let t = run_trial(data, space, point, trials.len() + j, opts, &eval_opts);
            progress.inc(1);
            t
        };
        let done: Vec<Trial> = if parallel {
            batch.par_iter().enumerate().map(run).collect()
        } else {
            batch.iter().enumerate().map(run).collect()
        };
        points.extend(batch);
        trials.extend(done);
    }
    let best = trials
        .iter()
        .enumerate()
        .filter(|(_, t)| t.error.is_none() && t.mean.is_finite())
        .min_by(|a, b| {
            opts.metric
                .loss(a.1.mean)
                .total_cmp(&opts.metric.loss(b.1.mean))
                .then(a.0.cmp(&b.0))
        })
        .map(|(i, _)| i);
    let Some(best) = best else {
        let why = trials
            .iter()
            .find_map(|t| t.error.clone())
            .unwrap_or_else(|| "no finite metric".into());
        return Err(Error::Invalid(format!("every tuning trial failed: {why}")));
    };
    let best_params = trial_spec(space, &trials[best].params, opts.seed)?.params_json();
    let b = &trials[best];
    progress.finish(&format!(
        "best {} {:.4} ± {:.4} (trial {})",
        opts.metric.name(),
        b.mean,
        b.std,
        b.trial
    ));
    Ok(TuneReport {
        model: kind.name().to_string(),
        metric: opts.metric,
        strategy: opts.strategy,
        folds: opts.folds,
        seed: opts.seed,
        parallel_trials: parallel,
        n_ratings: data.len(),
        folds_over: opts.metric.folds_over(),
        n_interactions: data.len() + data.n_implicit(),
        seconds: started.elapsed().as_secs_f64(),
        trials,
        best,
        best_params,
    })
}

/// The model spec of a trial: the space's values over the defaults, seeded with `seed` unless
/// the space sets `seed`.
fn trial_spec(space: &SearchSpace, values: &Map<String, Value>, seed: u64) -> Result<ModelSpec> {
    let mut overrides = values.clone();
    let defaults = ModelSpec::default_for(space.model).params_json();
    if defaults.get("seed").is_some() && !overrides.contains_key("seed") {
        overrides.insert("seed".into(), seed.into());
    }
    ModelSpec::from_params(space.model, &overrides)
}

fn run_trial(
    data: &Interactions,
    space: &SearchSpace,
    point: &[Coord],
    index: usize,
    opts: &TuneOptions,
    eval_opts: &EvalOptions,
) -> Trial {
    let params = space.values(point);
    let cv = match opts.metric.folds_over() {
        FoldsOver::Ratings => cross_validate,
        FoldsOver::Interactions => cross_validate_interactions,
    };
    let result = trial_spec(space, &params, opts.seed)
        .and_then(|spec| cv(&spec, data, opts.folds, opts.seed, eval_opts, &NoProgress));
    match result {
        Ok(cv) => {
            let (mean, std) = match opts.metric {
                Metric::Rmse => (cv.mean.rmse, cv.std.rmse),
                Metric::Ranking { measure, .. } => (
                    measure.of(&cv.mean).unwrap_or(f64::NAN),
                    measure.of(&cv.std).unwrap_or(f64::NAN),
                ),
            };
            Trial {
                trial: index,
                params,
                mean,
                std,
                rmse: cv.mean.rmse,
                mae: cv.mean.mae,
                fit_seconds: cv.mean.fit_seconds,
                error: None,
            }
        }
        Err(e) => Trial {
            trial: index,
            params,
            mean: f64::NAN,
            std: f64::NAN,
            rmse: f64::NAN,
            mae: f64::NAN,
            fit_seconds: 0.0,
            error: Some(e.to_string()),
        },
    }
}

/// The loss of a finished trial; failures are worst.
fn trial_loss(t: &Trial, metric: Metric) -> f64 {
    if t.error.is_some() || !t.mean.is_finite() {
        f64::INFINITY
    } else {
        metric.loss(t.mean)
    }
}

/// One TPE proposal from the finished trials (see the module doc).
fn propose_tpe(
    space: &SearchSpace,
    points: &[Vec<Coord>],
    trials: &[Trial],
    metric: Metric,
    rng: &mut Rng,
) -> Vec<Coord> {
    let mut order: Vec<usize> = (0..trials.len()).collect();
    order.sort_by(|&a, &b| {
        trial_loss(&trials[a], metric)
            .total_cmp(&trial_loss(&trials[b], metric))
            .then(a.cmp(&b))
    });
    let n_good = ((GAMMA * trials.len() as f64).ceil() as usize).clamp(1, trials.len());
    let (good, bad) = order.split_at(n_good);
    let models: Vec<(Parzen, Parzen)> = space
        .params
        .iter()
        .enumerate()
        .map(|(d, (_, dist))| {
            let of = |set: &[usize]| Parzen::new(dist, set.iter().map(|&t| points[t][d]));
            (of(good), of(bad))
        })
        .collect();
    let mut best: Option<(f64, Vec<Coord>)> = None;
    for _ in 0..CANDIDATES {
        let cand: Vec<Coord> = models.iter().map(|(l, _)| l.sample(rng)).collect();
        let score: f64 = models
            .iter()
            .zip(&cand)
            .map(|((l, g), &c)| l.density(c).ln() - g.density(c).ln())
            .sum();
        if best.as_ref().is_none_or(|(s, _)| score > *s) {
            best = Some((score, cand));
        }
    }
    best.map_or_else(|| space.sample(rng), |(_, c)| c)
}

/// A one-dimensional Parzen density on a parameter's coordinate (see the module doc).
enum Parzen {
    /// Observations in [0, 1] and the Gaussian bandwidth; mixed with the uniform prior.
    Num { obs: Vec<f64>, sigma: f64 },
    /// Smoothed category probabilities.
    Cat(Vec<f64>),
    /// A fixed parameter.
    Fixed,
}

impl Parzen {
    fn new(dist: &Dist, coords: impl Iterator<Item = Coord>) -> Parzen {
        match dist {
            Dist::Fixed(_) => Parzen::Fixed,
            Dist::Choice(c) => {
                let mut counts = vec![1.0; c.len()];
                for coord in coords {
                    if let Coord::Cat(i) = coord {
                        if let Some(n) = counts.get_mut(i) {
                            *n += 1.0;
                        }
                    }
                }
                let total: f64 = counts.iter().sum();
                Parzen::Cat(counts.into_iter().map(|n| n / total).collect())
            }
            _ => {
                let obs: Vec<f64> = coords
                    .filter_map(|c| match c {
                        Coord::Num(u) => Some(u),
                        _ => None,
                    })
                    .collect();
                let n = obs.len() as f64;
                let sigma = if obs.len() < 2 {
                    0.25
                } else {
                    let mean = obs.iter().sum::<f64>() / n;
                    let sd =
                        (obs.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1.0)).sqrt();
                    (1.06 * sd * n.powf(-0.2)).clamp(0.04, 0.5)
                };
                Parzen::Num { obs, sigma }
            }
        }
    }

    fn sample(&self, rng: &mut Rng) -> Coord {
        match self {
            Parzen::Fixed => Coord::None,
            Parzen::Cat(p) => {
                let mut x = rng.next_f64();
                for (i, &pi) in p.iter().enumerate() {
                    if x < pi {
                        return Coord::Cat(i);
                    }
                    x -= pi;
                }
                Coord::Cat(p.len().saturating_sub(1))
            }
            Parzen::Num { obs, sigma } => {
                // Component 0 is the uniform prior, 1..=n the Gaussians.
                let c = rng.below(obs.len() as u64 + 1) as usize;
                if c == 0 {
                    return Coord::Num(rng.next_f64());
                }
                let mu = obs[c - 1];
                for _ in 0..8 {
                    let x = mu + sigma * rng.normal();
                    if (0.0..=1.0).contains(&x) {
                        return Coord::Num(x);
                    }
                }
                Coord::Num(mu.clamp(0.0, 1.0))
            }
        }
    }

    fn density(&self, c: Coord) -> f64 {
        match (self, c) {
            (Parzen::Cat(p), Coord::Cat(i)) => p.get(i).copied().unwrap_or(f64::MIN_POSITIVE),
            (Parzen::Num { obs, sigma }, Coord::Num(x)) => {
                let norm = 1.0 / (sigma * (2.0 * std::f64::consts::PI).sqrt());
                let sum: f64 = obs
                    .iter()
                    .map(|mu| norm * (-0.5 * ((x - mu) / sigma).powi(2)).exp())
                    .sum();
                (1.0 + sum) / (obs.len() as f64 + 1.0)
            }
            _ => 1.0,
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn default_spaces_parse_for_every_tunable_model() {
        for kind in ModelKind::ALL {
            match SearchSpace::default_for(kind) {
                Ok(s) => assert!(!s.params.is_empty(), "{}", kind.name()),
                Err(e) => {
                    // mean and popularity have no parameters.
                    assert!(
                        matches!(kind, ModelKind::Mean | ModelKind::Popularity),
                        "{}: {e}",
                        kind.name()
                    );
                    assert!(matches!(e, Error::Param { .. }));
                }
            }
        }
    }

    #[test]
    fn values_cover_the_bounds() {
        assert_eq!(Dist::Int([1, 3]).value(Coord::Num(0.0)), Value::from(1));
        assert_eq!(Dist::Int([1, 3]).value(Coord::Num(0.999)), Value::from(3));
        assert_eq!(Dist::Int([1, 3]).value(Coord::Num(1.0)), Value::from(3));
        assert_eq!(
            Dist::LogInt([2, 200]).value(Coord::Num(0.0)),
            Value::from(2)
        );
        assert_eq!(
            Dist::LogInt([2, 200]).value(Coord::Num(1.0)),
            Value::from(200)
        );
        assert_eq!(
            Dist::LogUniform([0.01, 1.0]).value(Coord::Num(0.5)),
            Value::from(0.1)
        );
        assert_eq!(
            Dist::Uniform([1.0, 2.0]).value(Coord::Num(0.25)),
            Value::from(1.25)
        );
        assert_eq!(round_sig(0.012345), 0.0123);
        assert_eq!(round_sig(123.45), 123.0);
    }

    #[test]
    fn metric_and_strategy_names() {
        assert_eq!(Metric::parse("NDCG@10").unwrap(), Metric::ndcg(10));
        assert_eq!(Metric::parse("ndcg").unwrap(), Metric::ndcg(10));
        assert_eq!(Metric::parse(" rmse ").unwrap(), Metric::Rmse);
        assert_eq!(
            Metric::parse("Hit-Rate@5").unwrap(),
            Metric::Ranking {
                measure: RankingMeasure::HitRate,
                k: 5
            }
        );
        for name in [
            "precision@3",
            "recall@20",
            "ndcg@10",
            "map@1",
            "hit_rate@10",
            "rmse",
        ] {
            let m = Metric::parse(name).unwrap();
            assert_eq!(m.name(), name);
            // Serialised as its name, read back from it.
            let json = serde_json::to_value(m).unwrap();
            assert_eq!(json, Value::from(name));
            assert_eq!(serde_json::from_value::<Metric>(json).unwrap(), m);
        }
        for bad in [
            "mae", "foo", "ndcg@0", "ndcg@", "ndcg@ten", "ndcg@-1", "auc@10", "",
        ] {
            match Metric::parse(bad) {
                Err(Error::Param { name, reason, .. }) => {
                    assert_eq!(name, "metric");
                    assert!(reason.contains("ndcg@10"), "{bad}: {reason}");
                }
                other => panic!("{bad}: {other:?}"),
            }
        }
        assert!(serde_json::from_value::<Metric>(Value::from("ndcg@0")).is_err());
        // RMSE needs predicted ratings.
        for kind in ModelKind::ALL {
            let r = Metric::Rmse.check_model(kind);
            assert_eq!(r.is_ok(), kind.predicts_ratings(), "{}", kind.name());
            assert!(Metric::ndcg(10).check_model(kind).is_ok());
        }
        assert_eq!(Strategy::parse("tpe").unwrap(), Strategy::Tpe);
        assert!(Strategy::parse("grid").is_err());
    }

    #[test]
    fn tpe_concentrates_near_good_trials() {
        // One parameter; trials near u = 0.8 were good, elsewhere bad: proposals must cluster
        // around 0.8 far more than uniform sampling would.
        let space = SearchSpace {
            model: ModelKind::Svd,
            params: vec![("reg".into(), Dist::Uniform([0.0, 1.0]))],
        };
        let mut points = Vec::new();
        let mut trials = Vec::new();
        for i in 0..20 {
            let u = i as f64 / 19.0;
            points.push(vec![Coord::Num(u)]);
            trials.push(Trial {
                trial: i,
                params: Map::new(),
                mean: (u - 0.8).abs(),
                std: 0.0,
                rmse: 0.0,
                mae: 0.0,
                fit_seconds: 0.0,
                error: None,
            });
        }
        let mut rng = Rng::new(3);
        let near = (0..100)
            .filter(
                |_| match propose_tpe(&space, &points, &trials, Metric::Rmse, &mut rng)[0] {
                    Coord::Num(u) => (u - 0.8).abs() < 0.15,
                    _ => false,
                },
            )
            .count();
        // Uniform sampling would land within 0.15 of 0.8 about 30 % of the time.
        assert!(near > 70, "{near}");
    }
}
