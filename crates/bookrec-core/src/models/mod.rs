//! Collaborative-filtering models.
//!
//! Every model is fitted from an [`Interactions`] train set into one [`FittedModel`]: the
//! vocabularies, rating scale, global mean, the training ratings by user (to exclude seen books
//! and explain recommendations), item popularity, and a [`Scorer`] holding the learned
//! parameters. Prediction, top-N, similar items, fold-in of a new user and the unknown-user /
//! unknown-book fallback are written once here, not per model.

use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::data::{AlignedRatings, Csr, Interactions, RatingScale, Vocab};
use crate::progress::Progress;
use crate::Result;

/// Model names as used on the command line and in model files.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ModelKind {
    Mean,
    Baseline,
    Svd,
    Svdpp,
    Als,
    Knn,
}

impl ModelKind {
    pub const ALL: [ModelKind; 6] = [
        ModelKind::Mean,
        ModelKind::Baseline,
        ModelKind::Svd,
        ModelKind::Svdpp,
        ModelKind::Als,
        ModelKind::Knn,
    ];

    pub fn name(self) -> &'static str {
        match self {
            ModelKind::Mean => "mean",
            ModelKind::Baseline => "baseline",
            ModelKind::Svd => "svd",
            ModelKind::Svdpp => "svdpp",
            ModelKind::Als => "als",
            ModelKind::Knn => "knn",
        }
    }

    pub fn parse(name: &str) -> Option<Self> {
        ModelKind::ALL
            .into_iter()
            .find(|k| k.name().eq_ignore_ascii_case(name))
    }
}

/// Why a prediction is not the model's personalised rule.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Fallback {
    /// Personalised prediction.
    None,
    /// User unknown to the training data: μ + b_i.
    UnknownUser,
    /// Book unknown to the training data: μ + b_u.
    UnknownItem,
    /// Both unknown: μ.
    UnknownBoth,
}

/// A predicted rating, clipped to the rating scale, and whether it is a fallback.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Prediction {
    pub value: f32,
    pub fallback: Fallback,
}

/// A book and its score (predicted rating for recommendations, similarity for `similar`).
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct ScoredItem {
    pub item: u32,
    pub score: f32,
}

/// Latent-factor parameters shared by mean, baseline, svd, svdpp and als:
/// r̂(u,i) = μ + b_u + b_i + q_iᵀp_u, with `k` = 0 for the bias-only models.
/// Factors are row-major, `k` f32 per user/item.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Factors {
    pub k: usize,
    pub user_bias: Vec<f32>,
    pub item_bias: Vec<f32>,
    pub user_factors: Vec<f32>,
    pub item_factors: Vec<f32>,
}

/// The learned parameters of a fitted model.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum Scorer {
    Factors(Factors),
}

/// A fitted model: everything needed to predict and recommend, and to be saved to a file
/// (serde-serialisable; [`crate::io`] writes it in a versioned, checksummed container).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct FittedModel {
    pub kind: ModelKind,
    /// Hyper-parameters exactly as used for fitting (JSON object).
    pub params: serde_json::Value,
    pub users: Arc<Vocab>,
    pub items: Arc<Vocab>,
    pub scale: RatingScale,
    /// μ, mean training rating.
    pub global_mean: f32,
    /// Training ratings by user (row = user index).
    pub seen: Csr,
    /// Number of training ratings per item.
    pub item_popularity: Vec<u32>,
    pub scorer: Scorer,
}

/// Options for top-N.
#[derive(Clone, Debug)]
pub struct RecommendOptions {
    /// Only books with at least this many training ratings are recommended (a book rated once
    /// is noise a reader would not want).
    pub min_support: u32,
    /// Exclude books the user rated in training.
    pub exclude_seen: bool,
}

impl Default for RecommendOptions {
    fn default() -> Self {
        RecommendOptions {
            min_support: 5,
            exclude_seen: true,
        }
    }
}

/// A model name plus its hyper-parameters: validated (`check`) and fitted (`fit`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "model", rename_all = "lowercase")]
#[non_exhaustive]
pub enum ModelSpec {
    Mean,
}

impl ModelSpec {
    pub fn kind(&self) -> ModelKind {
        match self {
            ModelSpec::Mean => ModelKind::Mean,
        }
    }

    /// Validates hyper-parameters (typed [`crate::Error::Param`] on failure).
    pub fn check(&self) -> Result<()> {
        todo!("models helper")
    }

    /// Fits the model on `train`.
    pub fn fit(&self, _train: &Interactions, _progress: &dyn Progress) -> Result<FittedModel> {
        todo!("models helper")
    }
}

impl FittedModel {
    /// Predicts r̂(u,i) for indices in this model's vocabularies; `None` = unknown. Clipped to
    /// the scale; unknown users/books fall back to biases / μ (the one place this is decided).
    pub fn predict_idx(&self, _user: Option<u32>, _item: Option<u32>) -> Prediction {
        todo!("models helper")
    }

    /// Predicts for raw ids.
    pub fn predict(&self, user_id: &str, item_id: &str) -> Prediction {
        self.predict_idx(self.users.get(user_id), self.items.get(item_id))
    }

    /// Predicts a whole aligned test set (in parallel).
    pub fn predict_all(&self, _test: &AlignedRatings) -> Vec<Prediction> {
        todo!("models helper")
    }

    /// Top-`n` books for a known user, best first.
    pub fn recommend(&self, _user: u32, _n: usize, _opts: &RecommendOptions) -> Vec<ScoredItem> {
        todo!("models helper")
    }

    /// Top-`n` books for a user given only their ratings (fold-in: no retraining). Items the
    /// ratings name are excluded.
    pub fn recommend_for_ratings(
        &self,
        _ratings: &[(u32, f32)],
        _n: usize,
        _opts: &RecommendOptions,
    ) -> Vec<ScoredItem> {
        todo!("models helper")
    }

    /// The `n` books most similar to `item`, most similar first.
    pub fn similar(&self, _item: u32, _n: usize) -> Vec<ScoredItem> {
        todo!("models helper")
    }

    /// The `n` most-rated books with at least `min_support` ratings (for unknown users).
    pub fn popular(&self, _n: usize, _opts: &RecommendOptions) -> Vec<ScoredItem> {
        todo!("models helper")
    }
}
