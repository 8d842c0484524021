//! `tune`: the engine's hyper-parameter search (`bookrec_core::evaluation::tune`, the code behind
//! `bookrec tune`) on an in-memory ratings set; the report comes back as JSON.

use std::path::Path;
use std::sync::Arc;

use bookrec_core::evaluation::tune::{
    tune as core_tune, Metric, SearchSpace, Strategy, TuneOptions,
};
use bookrec_core::progress::NoProgress;
use pyo3::prelude::*;

use crate::catalog::Books;
use crate::errors::IntoPyResult;
use crate::model::{kind_of, to_json};
use crate::ratings::Ratings;

/// Searches `kind`'s hyper-parameters on `ratings` (see `bookrec.tune`). The space is the
/// model's built-in one, `space_json` (a JSON object in the `--space` format, named
/// `space_name` in errors), or the file `space_path`. Everything is validated before the first
/// trial; the GIL is released during the search. With `books`, ranking metrics score lists of
/// works as served (`bookrec tune --books`). Returns the `TuneReport` as JSON.
#[pyfunction]
#[pyo3(signature = (kind, ratings, trials, folds, metric, search, seed, space_json=None,
                    space_path=None, space_name="<space dict>", books=None))]
#[allow(clippy::too_many_arguments)]
pub fn tune(
    py: Python<'_>,
    kind: &str,
    ratings: &Ratings,
    trials: usize,
    folds: usize,
    metric: &str,
    search: &str,
    seed: u64,
    space_json: Option<&str>,
    space_path: Option<&str>,
    space_name: &str,
    books: Option<PyRef<'_, Books>>,
) -> PyResult<String> {
    let kind = kind_of(kind)?;
    let space = match (space_json, space_path) {
        (Some(text), _) => SearchSpace::parse(kind, text, Path::new(space_name)),
        (None, Some(path)) => SearchSpace::load(kind, Path::new(path)),
        (None, None) => SearchSpace::default_for(kind),
    }
    .py_err()?;
    let opts = TuneOptions {
        trials,
        folds,
        metric: Metric::parse(metric).py_err()?,
        strategy: Strategy::parse(search).py_err()?,
        seed,
        startup: None,
        works: books.map(|b| Arc::clone(&b.inner)),
    };
    opts.metric.check_model(kind).py_err()?;
    let data = ratings.inner.clone();
    let report = py
        .detach(move || core_tune(&data, &space, &opts, &NoProgress))
        .py_err()?;
    to_json(&report)
}
