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
//! (e.g. `factors` 0) is an [`Error::Parse`](crate::Error::Parse) naming the file, the line of
//! the key and the key.
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
//! *interactions* for every model: [`super::evaluate::cross_validate_interactions`] deals
//! each user's interactions, rated or not, to the k folds
//! ([`super::split::interaction_k_fold`]), every held-out book is relevant and each model's
//! list skips all of the reader's training interactions — `bookrec evaluate --split
//! interactions --relevance interactions` with k folds instead of one holdout (options in
//! [`Metric::eval_options`]). Explicit models fit the explicit part of each training fold,
//! `ials` all of it. The table reports the fold mean ±
//! sample standard deviation.

mod metric;
mod search;
mod space;

pub use metric::{FoldsOver, Metric, RankingMeasure};
pub use search::{tune, Strategy, Trial, TuneOptions, TuneReport, BATCH};
pub use space::{default_space_json, Dist, SearchSpace};
