//! The figure a search optimises ([`Metric`]: RMSE, or a top-N measure at k), its direction,
//! and the folds and evaluation options it is scored with.

use serde::{Deserialize, Serialize};

use crate::evaluation::evaluate::{EvalOptions, EvalReport, EvalSummary};
use crate::evaluation::metrics::Relevance;
use crate::evaluation::split::Split;
use crate::models::ModelKind;
use crate::{Error, Result};

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
    pub(super) fn of(self, s: &EvalSummary) -> Option<f64> {
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
    pub(super) fn loss(self, value: f64) -> f64 {
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

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use serde_json::Value;

    use super::*;

    #[test]
    fn metric_names() {
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
    }
}
