//! Collaborative-filtering models.
//!
//! Every model is fitted from an [`Interactions`] train set into one [`FittedModel`]: the
//! vocabularies, rating scale, global mean, the training ratings by user (to exclude seen books
//! and explain recommendations), item popularity, and a [`Scorer`] holding the learned
//! parameters. Prediction, top-N, similar items, fold-in of a new user and the unknown-user /
//! unknown-book fallback are written once here, not per model.

use std::sync::{Arc, Mutex, OnceLock};

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::data::{Csr, Interactions, RatingScale, Vocab};
use crate::progress::Progress;
use crate::{Error, Result};

mod als;
mod baseline;
mod factor;
mod hybrid;
mod ials;
mod knn;
mod mean;
mod ncf;
mod popularity;
mod serve;
mod svd;
mod svdpp;

pub use als::{als_half_sweep, AlsParams};
pub use baseline::{BaselineMethod, BaselineParams};
pub use factor::Factors;
pub use hybrid::HybridParams;
pub use ials::IalsParams;
pub use knn::{KnnParams, KnnScorer, Similarity};
pub use ncf::{Dense, NcfParams, NcfScorer, NcfUser};
pub use svd::SvdParams;
pub use svdpp::SvdppParams;

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
    Ials,
    Popularity,
    Ncf,
    Hybrid,
}

impl ModelKind {
    pub const ALL: [ModelKind; 10] = [
        ModelKind::Mean,
        ModelKind::Baseline,
        ModelKind::Svd,
        ModelKind::Svdpp,
        ModelKind::Als,
        ModelKind::Knn,
        ModelKind::Ials,
        ModelKind::Popularity,
        ModelKind::Ncf,
        ModelKind::Hybrid,
    ];

    pub fn name(self) -> &'static str {
        match self {
            ModelKind::Mean => "mean",
            ModelKind::Baseline => "baseline",
            ModelKind::Svd => "svd",
            ModelKind::Svdpp => "svdpp",
            ModelKind::Als => "als",
            ModelKind::Knn => "knn",
            ModelKind::Ials => "ials",
            ModelKind::Popularity => "popularity",
            ModelKind::Ncf => "ncf",
            ModelKind::Hybrid => "hybrid",
        }
    }

    /// True if the model learns biases for users and books without training ratings (from
    /// side information: `hybrid`'s catalogue groups and implicit-activity levels). The
    /// fallback for an unknown user or book then adds their stored bias instead of 0; for
    /// every other model those biases are meaningless (e.g. ncf's random initialisation).
    pub fn has_cold_biases(self) -> bool {
        matches!(self, ModelKind::Hybrid)
    }

    /// True if the model predicts ratings on the data's scale. False for the ranking models:
    /// `ials` scores are preferences (≈ 1 = likely to read), `popularity` scores are numbers of
    /// interactions; neither is clipped to the rating scale, RMSE/MAE do not apply to them, and
    /// their scores must not be labelled as ratings. Ranking models are fitted on every
    /// interaction (explicit and implicit) and exclude all of a reader's books when
    /// recommending.
    pub fn predicts_ratings(self) -> bool {
        !matches!(self, ModelKind::Ials | ModelKind::Popularity)
    }

    pub fn parse(name: &str) -> Option<Self> {
        ModelKind::ALL
            .into_iter()
            .find(|k| k.name().eq_ignore_ascii_case(name))
    }
}

/// Why a prediction is not the model's personalised rule. (Models with side-information biases,
/// [`ModelKind::has_cold_biases`], also add the unknown side's learned bias, 0 without side
/// information.)
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

/// Compact rows for the indices with `counts > 0`, in index order: (row of each index or
/// `u32::MAX`, the indices having rows).
pub(crate) fn compact_rows(counts: &[u32]) -> (Vec<u32>, Vec<u32>) {
    let mut rows = vec![u32::MAX; counts.len()];
    let mut members = Vec::new();
    for (idx, &c) in counts.iter().enumerate() {
        if c > 0 {
            rows[idx] = members.len() as u32;
            members.push(idx as u32);
        }
    }
    (rows, members)
}

/// The learned parameters of a fitted model.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum Scorer {
    /// Bias / latent-factor models (mean, baseline, svd, svdpp, als).
    Factors(Factors),
    /// Item-based k nearest neighbours.
    Knn(KnnScorer),
    /// Neural collaborative filtering (NeuMF).
    Ncf(NcfScorer),
}

/// Serving caches derived from the model on first use (not saved in model files; a clone
/// starts empty).
#[derive(Debug, Default)]
pub(crate) struct ServeCache {
    /// Items with at least one training rating, most popular first (ties: lower index), so the
    /// candidates passing any `min_support` are a prefix.
    by_popularity: OnceLock<Vec<u32>>,
    /// ‖q_i‖ per factor row, for `similar` on factor models.
    item_norms: OnceLock<Vec<f32>>,
    /// Candidate books (index order) per `min_support` value seen so far (a handful).
    candidates: Mutex<Vec<(u32, Arc<Vec<u32>>)>>,
    /// YᵀY + λI over the book factors, for ials fold-in.
    gram: OnceLock<Vec<f32>>,
}

impl Clone for ServeCache {
    fn clone(&self) -> Self {
        ServeCache::default()
    }
}

/// A fitted model: everything needed to predict and recommend, and to be saved to a file
/// (serde-serialisable; [`crate::model_file`] writes it in a versioned, checksummed container).
/// Build one with [`FittedModel::new`] (or [`ModelSpec::fit`]).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct FittedModel {
    pub kind: ModelKind,
    /// Hyper-parameters exactly as used for fitting (JSON object). Stored as JSON text inside
    /// model files, since non-self-describing formats (bincode) cannot hold a `Value`.
    #[serde(with = "json_text")]
    pub params: serde_json::Value,
    pub users: Arc<Vocab>,
    pub items: Arc<Vocab>,
    pub scale: RatingScale,
    /// μ, mean training rating.
    pub global_mean: f32,
    /// Training ratings by user (row = user index). A user with an empty row is "unknown".
    pub seen: Csr,
    /// Number of training ratings per item (0 = unknown book).
    pub item_popularity: Vec<u32>,
    pub scorer: Scorer,
    #[serde(skip)]
    pub(crate) cache: ServeCache,
}

/// Serde adapter: a JSON value as its JSON text.
mod json_text {
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    pub fn serialize<S: Serializer>(v: &serde_json::Value, s: S) -> Result<S::Ok, S::Error> {
        v.to_string().serialize(s)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<serde_json::Value, D::Error> {
        let text = String::deserialize(d)?;
        serde_json::from_str(&text).map_err(serde::de::Error::custom)
    }
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
/// JSON form: `{"model": "svd", "factors": 100, ...}`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "model", rename_all = "lowercase")]
#[non_exhaustive]
pub enum ModelSpec {
    Mean,
    Baseline(BaselineParams),
    Svd(SvdParams),
    Svdpp(SvdppParams),
    Als(AlsParams),
    Knn(KnnParams),
    Ials(IalsParams),
    Popularity,
    Ncf(NcfParams),
    Hybrid(HybridParams),
}

/// A hyper-parameter struct: defaults, its JSON keys, and range checks.
pub(crate) trait ParamSet: Default + Serialize + DeserializeOwned {
    /// The serde field names, in declaration order (checked against serde in tests).
    const KEYS: &'static [&'static str];
    fn check(&self) -> Result<()>;
}

/// `value` must be finite and > 0.
pub(crate) fn check_positive(name: &'static str, value: f32) -> Result<()> {
    if value.is_finite() && value > 0.0 {
        Ok(())
    } else {
        Err(Error::param(name, value, "must be a finite number > 0"))
    }
}

/// `value` must be finite and ≥ 0.
pub(crate) fn check_non_negative(name: &'static str, value: f32) -> Result<()> {
    if value.is_finite() && value >= 0.0 {
        Ok(())
    } else {
        Err(Error::param(name, value, "must be a finite number >= 0"))
    }
}

/// `value` must be finite.
pub(crate) fn check_finite(name: &'static str, value: f32) -> Result<()> {
    if value.is_finite() {
        Ok(())
    } else {
        Err(Error::param(name, value, "must be finite"))
    }
}

/// `value` must be ≥ 1.
pub(crate) fn check_at_least_one(name: &'static str, value: usize) -> Result<()> {
    if value >= 1 {
        Ok(())
    } else {
        Err(Error::param(name, value, "must be at least 1"))
    }
}

/// Applies `overrides` to the defaults of `P`. A string value is parsed as JSON when the
/// parameter is not itself a string (so CLI `-p factors=50` works); unknown keys and values of
/// the wrong type are reported by key, with the valid keys listed.
fn params_with<P: ParamSet>(
    kind: ModelKind,
    overrides: &serde_json::Map<String, serde_json::Value>,
) -> Result<P> {
    let serde_json::Value::Object(mut obj) = serde_json::to_value(P::default())
        .map_err(|e| Error::Invalid(format!("cannot encode default parameters: {e}")))?
    else {
        return Err(Error::Invalid("parameters must encode as an object".into()));
    };
    let valid = || P::KEYS.join(", ");
    for (key, value) in overrides {
        let Some(&name) = P::KEYS.iter().find(|k| **k == key.as_str()) else {
            return Err(Error::param(
                "key",
                crate::error::excerpt(key, 60),
                format!("unknown parameter for {}; valid: {}", kind.name(), valid()),
            ));
        };
        let wants_string = matches!(obj.get(name), Some(serde_json::Value::String(_)));
        let value = match value {
            serde_json::Value::String(s) if !wants_string => {
                serde_json::from_str(s.trim()).unwrap_or_else(|_| value.clone())
            }
            _ => value.clone(),
        };
        obj.insert(name.to_string(), value.clone());
        if let Err(e) = serde_json::from_value::<P>(serde_json::Value::Object(obj.clone())) {
            return Err(Error::param(
                name,
                crate::error::excerpt(&value.to_string(), 60),
                format!("wrong type: {e}"),
            ));
        }
    }
    serde_json::from_value(serde_json::Value::Object(obj))
        .map_err(|e| Error::Invalid(format!("invalid parameters for {}: {e}", kind.name())))
}

impl ModelSpec {
    pub fn kind(&self) -> ModelKind {
        match self {
            ModelSpec::Mean => ModelKind::Mean,
            ModelSpec::Baseline(_) => ModelKind::Baseline,
            ModelSpec::Svd(_) => ModelKind::Svd,
            ModelSpec::Svdpp(_) => ModelKind::Svdpp,
            ModelSpec::Als(_) => ModelKind::Als,
            ModelSpec::Knn(_) => ModelKind::Knn,
            ModelSpec::Ials(_) => ModelKind::Ials,
            ModelSpec::Popularity => ModelKind::Popularity,
            ModelSpec::Ncf(_) => ModelKind::Ncf,
            ModelSpec::Hybrid(_) => ModelKind::Hybrid,
        }
    }

    /// The model with all defaults (Surprise's defaults where Surprise has the model).
    pub fn default_for(kind: ModelKind) -> ModelSpec {
        match kind {
            ModelKind::Mean => ModelSpec::Mean,
            ModelKind::Baseline => ModelSpec::Baseline(BaselineParams::default()),
            ModelKind::Svd => ModelSpec::Svd(SvdParams::default()),
            ModelKind::Svdpp => ModelSpec::Svdpp(SvdppParams::default()),
            ModelKind::Als => ModelSpec::Als(AlsParams::default()),
            ModelKind::Knn => ModelSpec::Knn(KnnParams::default()),
            ModelKind::Ials => ModelSpec::Ials(IalsParams::default()),
            ModelKind::Popularity => ModelSpec::Popularity,
            ModelKind::Ncf => ModelSpec::Ncf(NcfParams::default()),
            ModelKind::Hybrid => ModelSpec::Hybrid(HybridParams::default()),
        }
    }

    /// Builds from a kind plus user overrides, e.g. `{"factors": 50, "lr": 0.01}` (values may
    /// be JSON strings such as `"50"`, as they arrive from the CLI). Unknown keys or wrong types
    /// give [`Error::Param`] naming the key and listing the valid keys. Ranges are checked too.
    pub fn from_params(
        kind: ModelKind,
        overrides: &serde_json::Map<String, serde_json::Value>,
    ) -> Result<ModelSpec> {
        let spec = match kind {
            ModelKind::Mean | ModelKind::Popularity => {
                if let Some(key) = overrides.keys().next() {
                    return Err(Error::param(
                        "key",
                        crate::error::excerpt(key, 60),
                        format!(
                            "unknown parameter for {}; it has no parameters",
                            kind.name()
                        ),
                    ));
                }
                ModelSpec::default_for(kind)
            }
            ModelKind::Baseline => ModelSpec::Baseline(params_with(kind, overrides)?),
            ModelKind::Svd => ModelSpec::Svd(params_with(kind, overrides)?),
            ModelKind::Svdpp => ModelSpec::Svdpp(params_with(kind, overrides)?),
            ModelKind::Als => ModelSpec::Als(params_with(kind, overrides)?),
            ModelKind::Knn => ModelSpec::Knn(params_with(kind, overrides)?),
            ModelKind::Ials => ModelSpec::Ials(params_with(kind, overrides)?),
            ModelKind::Ncf => ModelSpec::Ncf(params_with(kind, overrides)?),
            ModelKind::Hybrid => ModelSpec::Hybrid(params_with(kind, overrides)?),
        };
        spec.check()?;
        Ok(spec)
    }

    /// The full parameter set including `"model"`, for model files and reports. Float
    /// parameters are f32; they go through JSON text (shortest round-trip form) so that they read
    /// as typed, `0.005`, where `to_value`'s widening to f64 would give 0.004999999888241291.
    pub fn params_json(&self) -> serde_json::Value {
        serde_json::to_string(self)
            .and_then(|text| serde_json::from_str(&text))
            .unwrap_or(serde_json::Value::Null)
    }

    /// Parameters whose value needs a word of explanation beyond its name, e.g. a 0 that means
    /// "automatic", as (key, explanation); shown by `bookrec train --show-params`.
    pub fn param_notes(&self) -> &'static [(&'static str, &'static str)] {
        match self {
            ModelSpec::Svd(_) => &[(
                "blocks",
                "grid size G of the parallel SGD (G×G blocks of users × books); 0 = automatic: \
                 one block row per thread, fewer on small data; 1 = plain sequential SGD",
            )],
            _ => &[],
        }
    }

    /// Validates hyper-parameters (typed [`crate::Error::Param`] on failure).
    pub fn check(&self) -> Result<()> {
        match self {
            ModelSpec::Mean | ModelSpec::Popularity => Ok(()),
            ModelSpec::Baseline(p) => p.check(),
            ModelSpec::Svd(p) => p.check(),
            ModelSpec::Svdpp(p) => p.check(),
            ModelSpec::Als(p) => p.check(),
            ModelSpec::Knn(p) => p.check(),
            ModelSpec::Ials(p) => p.check(),
            ModelSpec::Ncf(p) => p.check(),
            ModelSpec::Hybrid(p) => p.check(),
        }
    }

    /// Fits the model on `train` (explicit ratings; svdpp also reads the implicit ones, and
    /// ials fits every interaction, so it also accepts a train set with only implicit ones).
    /// Checks the parameters first; an empty train set or a non-finite rating is
    /// [`Error::Invalid`]. Reports one progress unit per epoch / iteration.
    pub fn fit(&self, train: &Interactions, progress: &dyn Progress) -> Result<FittedModel> {
        self.check()?;
        let name = self.kind().name();
        let ranking = !self.kind().predicts_ratings();
        let implicit_only = ranking && train.n_implicit() > 0;
        if train.is_empty() && !implicit_only {
            return Err(Error::Invalid(format!(
                "cannot fit {name}: the training set has no explicit ratings"
            )));
        }
        if let Some(k) = train.rating.iter().position(|r| !r.is_finite()) {
            return Err(Error::Invalid(format!(
                "cannot fit {name}: training rating #{k} is {}",
                train.rating[k]
            )));
        }
        let n_items = train.n_items();
        if train.item.iter().any(|&i| i as usize >= n_items)
            || train.user.iter().any(|&u| u as usize >= train.n_users())
        {
            return Err(Error::Invalid(format!(
                "cannot fit {name}: a rating refers to a user or book outside the vocabulary"
            )));
        }
        check_implicit(train)?;
        let scorer = match self {
            ModelSpec::Mean => mean::fit(train, progress),
            ModelSpec::Baseline(p) => baseline::fit(p, train, progress),
            ModelSpec::Svd(p) => svd::fit(p, train, progress),
            ModelSpec::Svdpp(p) => svdpp::fit(p, train, progress)?,
            ModelSpec::Als(p) => als::fit(p, train, progress),
            ModelSpec::Knn(p) => knn::fit(p, train, progress),
            ModelSpec::Ials(p) => ials::fit(p, train, progress),
            ModelSpec::Popularity => popularity::fit(train, progress),
            ModelSpec::Ncf(p) => ncf::fit(p, train, progress)?,
            ModelSpec::Hybrid(p) => hybrid::fit(p, train, progress),
        };
        let mut model = FittedModel::new(self.kind(), self.params_json(), train, scorer);
        if ranking {
            // A ranking model knows every interaction: recommendations exclude books read
            // without a rating too, and popularity counts them.
            model.seen = ials::interactions_by_user(train);
            model.item_popularity = ials::column_counts(&model.seen, train.n_items());
        }
        Ok(model)
    }
}

/// Checks the implicit columns of `train` before fitting (svdpp and the ranking models read
/// them).
pub(crate) fn check_implicit(train: &Interactions) -> Result<()> {
    if train.implicit_user.len() != train.implicit_item.len() {
        return Err(Error::Invalid(
            "implicit user and item columns differ in length".into(),
        ));
    }
    if train
        .implicit_user
        .iter()
        .any(|&u| u as usize >= train.n_users())
        || train
            .implicit_item
            .iter()
            .any(|&i| i as usize >= train.n_items())
    {
        return Err(Error::Invalid(
            "an implicit interaction refers to a user or book outside the vocabulary".into(),
        ));
    }
    Ok(())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn keys_of<P: ParamSet>() -> Vec<String> {
        match serde_json::to_value(P::default()).unwrap() {
            serde_json::Value::Object(o) => o.keys().cloned().collect(),
            _ => panic!("not an object"),
        }
    }

    #[test]
    fn keys_match_serde() {
        fn same<P: ParamSet>() {
            let mut a = keys_of::<P>();
            let mut b: Vec<String> = P::KEYS.iter().map(|s| s.to_string()).collect();
            a.sort();
            b.sort();
            assert_eq!(a, b);
            P::default().check().unwrap();
        }
        same::<BaselineParams>();
        same::<SvdParams>();
        same::<SvdppParams>();
        same::<AlsParams>();
        same::<KnnParams>();
        same::<IalsParams>();
        same::<NcfParams>();
        same::<HybridParams>();
    }

    #[test]
    fn overrides_parse_strings_and_report_keys() {
        let mut o = serde_json::Map::new();
        o.insert("factors".into(), "50".into());
        o.insert("lr".into(), serde_json::json!(0.01));
        let spec = ModelSpec::from_params(ModelKind::Svd, &o).unwrap();
        let ModelSpec::Svd(p) = &spec else { panic!() };
        assert_eq!((p.factors, p.lr), (50, 0.01));
        assert_eq!(spec.params_json()["model"], "svd");
        let back: ModelSpec = serde_json::from_value(spec.params_json()).unwrap();
        assert_eq!(back, spec);

        let mut bad = serde_json::Map::new();
        bad.insert("factorz".into(), 3.into());
        let e = ModelSpec::from_params(ModelKind::Svd, &bad).unwrap_err();
        let msg = e.to_string();
        assert!(matches!(e, Error::Param { .. }));
        assert!(
            msg.contains("factorz") && msg.contains("factors, epochs"),
            "{msg}"
        );

        let mut wrong = serde_json::Map::new();
        wrong.insert("factors".into(), "many".into());
        match ModelSpec::from_params(ModelKind::Svd, &wrong).unwrap_err() {
            Error::Param { name, .. } => assert_eq!(name, "factors"),
            e => panic!("{e}"),
        }
        let mut method = serde_json::Map::new();
        method.insert("method".into(), "sgd".into());
        let ModelSpec::Baseline(b) = ModelSpec::from_params(ModelKind::Baseline, &method).unwrap()
        else {
            panic!()
        };
        assert_eq!(b.method, BaselineMethod::Sgd);
    }
}
