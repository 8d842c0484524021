//! The search space: one distribution per hyper-parameter ([`Dist`]), parsed and validated
//! from JSON (a `--space` file or the built-in [`default_space_json`]), and the map from a
//! point of the unit cube to parameter values (see the [`tune`](super) module doc).

use std::path::Path;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::models::{ModelKind, ModelSpec};
use crate::rng::Rng;
use crate::{Error, Result};

/// A distribution of one hyper-parameter (see the [`tune`](super) module doc for the JSON form).
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
pub(super) enum Coord {
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

    /// Reads and validates a space file (see the [`tune`](super) module doc).
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

    pub(super) fn sample(&self, rng: &mut Rng) -> Vec<Coord> {
        self.params.iter().map(|(_, d)| d.sample(rng)).collect()
    }

    /// The parameter values at `point` (searched and fixed ones).
    pub(super) fn values(&self, point: &[Coord]) -> Map<String, Value> {
        self.params
            .iter()
            .zip(point)
            .map(|((k, d), &c)| (k.clone(), d.value(c)))
            .collect()
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
}
