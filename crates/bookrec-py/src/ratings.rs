//! `Ratings` (an `Interactions` plus its cleaning report), reading, building from columns, and
//! splitting.

use std::path::PathBuf;
use std::sync::Arc;

use bookrec_core::data::{
    load_ratings, normalize_id_str, parse_rating_scale, parse_separator, BadLinePolicy, ColumnRef,
    DuplicatePolicy, EditionMerge, Encoding, ItemLevel, ItemPrep, LoadOptions,
};
use bookrec_core::evaluation::split::{k_fold, train_test_split, Split};
use bookrec_core::progress::NoProgress;
use bookrec_core::{Error, Interactions, RatingScale, Vocab};
use numpy::{IntoPyArray, PyArray1, PyReadonlyArray1};
use pyo3::prelude::*;
use pyo3::types::PyList;

use crate::catalog::Books;
use crate::errors::{param, IntoPyResult};

/// Explicit ratings (plus implicit interactions) over user and book vocabularies. Immutable:
/// splits and models share it without copying.
#[pyclass(frozen, module = "bookrec._bookrec")]
pub struct Ratings {
    pub inner: Arc<Interactions>,
    /// The loader's cleaning report as JSON, for ratings read from a file.
    report: Option<String>,
    /// What merging editions into works did ([`EditionMerge`] as JSON), for ratings prepared
    /// at the works level.
    merge: Option<String>,
}

impl Ratings {
    pub fn new(data: Interactions, report: Option<String>) -> Self {
        Ratings {
            inner: Arc::new(data),
            report,
            merge: None,
        }
    }

    fn merged(data: Interactions, report: Option<String>, merge: Option<EditionMerge>) -> Self {
        Ratings {
            merge: merge.and_then(|m| serde_json::to_string(&m).ok()),
            ..Ratings::new(data, report)
        }
    }
}

/// Runs `f` without the GIL on the core's preparation for the catalogue `books` at the level
/// `items` ("isbn" or "works"), with the policy `duplicates` ("last", "mean" or "error").
fn with_prep<T: Send>(
    py: Python<'_>,
    books: &Books,
    items: &str,
    duplicates: &str,
    f: impl FnOnce(ItemPrep<'_>, DuplicatePolicy) -> bookrec_core::Result<T> + Send,
) -> PyResult<T> {
    let level: ItemLevel = items.parse().py_err()?;
    let duplicates: DuplicatePolicy = duplicates.parse().py_err()?;
    let catalog = Arc::clone(&books.inner);
    py.detach(move || {
        let prep = ItemPrep {
            catalog: &catalog,
            level,
        };
        f(prep, duplicates)
    })
    .py_err()
}

/// The columns of a `Ratings`, for `to_pandas`: vocabularies plus per-row indices, so pandas
/// can build the id columns with one vectorised take instead of a Python loop.
type Columns<'py> = (
    Bound<'py, PyList>,
    Bound<'py, PyList>,
    Bound<'py, PyArray1<u32>>,
    Bound<'py, PyArray1<u32>>,
    Bound<'py, PyArray1<f32>>,
    Option<Bound<'py, PyArray1<i64>>>,
);

fn vocab_list<'py>(py: Python<'py>, vocab: &Vocab) -> PyResult<Bound<'py, PyList>> {
    PyList::new(py, vocab.ids())
}

#[pymethods]
impl Ratings {
    fn __len__(&self) -> usize {
        self.inner.len()
    }

    #[getter]
    fn n_users(&self) -> usize {
        self.inner.n_users()
    }

    #[getter]
    fn n_items(&self) -> usize {
        self.inner.n_items()
    }

    #[getter]
    fn n_implicit(&self) -> usize {
        self.inner.n_implicit()
    }

    #[getter]
    fn has_timestamps(&self) -> bool {
        self.inner.timestamp.is_some()
    }

    #[getter]
    fn rating_scale(&self) -> (f32, f32) {
        (self.inner.scale.min, self.inner.scale.max)
    }

    #[getter]
    fn global_mean(&self) -> f32 {
        self.inner.global_mean()
    }

    /// Users and books with at least one explicit rating in this set (a split shares the full
    /// vocabularies, so `n_users` counts every user of the original file).
    fn active_counts(&self) -> (usize, usize) {
        let count = |n: usize, idx: &[u32]| {
            let mut seen = vec![false; n];
            idx.iter().for_each(|&i| seen[i as usize] = true);
            seen.into_iter().filter(|&s| s).count()
        };
        (
            count(self.inner.n_users(), &self.inner.user),
            count(self.inner.n_items(), &self.inner.item),
        )
    }

    fn cleaning_report_json(&self) -> Option<String> {
        self.report.clone()
    }

    /// (user vocabulary, book vocabulary, user index, book index, rating, timestamp or None).
    fn columns<'py>(&self, py: Python<'py>) -> PyResult<Columns<'py>> {
        let d = &self.inner;
        Ok((
            vocab_list(py, &d.users)?,
            vocab_list(py, &d.items)?,
            d.user.clone().into_pyarray(py),
            d.item.clone().into_pyarray(py),
            d.rating.clone().into_pyarray(py),
            d.timestamp.clone().map(|t| t.into_pyarray(py)),
        ))
    }

    /// The explicit ratings as a CSR matrix (indptr, indices, values): row = user index,
    /// column = book index, in the vocabularies' order.
    #[allow(clippy::type_complexity)]
    fn csr<'py>(
        &self,
        py: Python<'py>,
    ) -> (
        Bound<'py, PyArray1<u64>>,
        Bound<'py, PyArray1<u32>>,
        Bound<'py, PyArray1<f32>>,
    ) {
        let data = self.inner.clone();
        let csr = py.detach(move || data.by_user());
        let indptr: Vec<u64> = csr.indptr.iter().map(|&p| p as u64).collect();
        (
            indptr.into_pyarray(py),
            csr.indices.into_pyarray(py),
            csr.values.into_pyarray(py),
        )
    }

    fn user_ids<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyList>> {
        vocab_list(py, &self.inner.users)
    }

    fn item_ids<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyList>> {
        vocab_list(py, &self.inner.items)
    }

    /// The implicit interactions as (user ids, book ids).
    fn implicit_columns(&self) -> (Vec<String>, Vec<String>) {
        let d = &self.inner;
        (
            d.implicit_user
                .iter()
                .map(|&u| d.users.id(u).to_string())
                .collect(),
            d.implicit_item
                .iter()
                .map(|&i| d.items.id(i).to_string())
                .collect(),
        )
    }

    /// These ratings as a model is fitted on them with the catalogue `books` (the CLI's
    /// `--books FILE --items LEVEL --duplicates POLICY`): the book groups (author, work,
    /// publisher, period) attached as `hybrid`'s side information, and at `items = "works"` a
    /// reader's ratings of several editions of one work merged into one rating of the work
    /// under `duplicates` ("last", "mean" or "error"). Splits keep the groups.
    #[pyo3(signature = (books, items="isbn", duplicates="last"))]
    fn with_books(
        &self,
        py: Python<'_>,
        books: &Books,
        items: &str,
        duplicates: &str,
    ) -> PyResult<Ratings> {
        let data = (*self.inner).clone();
        let (data, merge) = with_prep(py, books, items, duplicates, |prep, duplicates| {
            prep.for_fitting(data, None, duplicates)
        })?;
        Ok(Ratings::merged(data, self.report.clone(), merge))
    }

    /// What merging editions into works did, as JSON (`None` unless these ratings were
    /// prepared at the works level).
    #[getter]
    fn edition_merge_json(&self) -> Option<String> {
        self.merge.clone()
    }

    /// Groups per attached catalogue column (`{"author": 1234, ...}`; empty when none).
    #[getter]
    fn book_groups(&self) -> Vec<(String, usize)> {
        self.inner
            .item_groups
            .iter()
            .flat_map(|g| &g.columns)
            .map(|c| (c.kind.name().to_string(), c.n_groups))
            .collect()
    }

    /// Builds from per-row ids and ratings. Ids are normalised like the loader's; a repeated
    /// (user, book) pair keeps its last rating (the loader's default policy); a non-finite
    /// rating is a `DataError`. `scale` defaults to the observed range.
    #[staticmethod]
    #[pyo3(signature = (users, items, ratings, timestamps=None, scale=None))]
    fn from_columns(
        py: Python<'_>,
        users: Vec<String>,
        items: Vec<String>,
        ratings: PyReadonlyArray1<'_, f32>,
        timestamps: Option<PyReadonlyArray1<'_, i64>>,
        scale: Option<(f32, f32)>,
    ) -> PyResult<Ratings> {
        let ratings = ratings.as_array().to_vec();
        let timestamps = timestamps.map(|t| t.as_array().to_vec());
        let n = ratings.len();
        if users.len() != n || items.len() != n || timestamps.as_ref().is_some_and(|t| t.len() != n)
        {
            return Err(param(
                "columns",
                format!(
                    "{} users, {} books, {} ratings",
                    users.len(),
                    items.len(),
                    n
                ),
                "all columns must have the same length",
            ));
        }
        let scale = scale.map(|(a, b)| check_scale(a, b)).transpose()?;
        let data = py
            .detach(move || build_from_columns(users, items, ratings, timestamps, scale))
            .py_err()?;
        Ok(Ratings::new(data, None))
    }

    fn __repr__(&self) -> String {
        format!(
            "<bookrec.Ratings: {} ratings, {} users, {} books, {} implicit>",
            self.inner.len(),
            self.inner.n_users(),
            self.inner.n_items(),
            self.inner.n_implicit()
        )
    }
}

fn check_scale(min: f32, max: f32) -> PyResult<RatingScale> {
    if min.is_finite() && max.is_finite() && min < max {
        Ok(RatingScale::new(min, max))
    } else {
        Err(param(
            "rating_scale",
            format!("({min}, {max})"),
            "needs finite MIN < MAX",
        ))
    }
}

fn build_from_columns(
    users: Vec<String>,
    items: Vec<String>,
    ratings: Vec<f32>,
    timestamps: Option<Vec<i64>>,
    scale: Option<RatingScale>,
) -> bookrec_core::Result<Interactions> {
    if let Some(k) = ratings.iter().position(|r| !r.is_finite()) {
        return Err(Error::Invalid(format!(
            "rating in row {k} (0-based; user {:?}, book {:?}) is {}; drop or fill missing ratings first",
            users[k], items[k], ratings[k]
        )));
    }
    for (what, ids) in [("user", &users), ("book", &items)] {
        if let Some(k) = ids.iter().position(|id| normalize_id_str(id).is_empty()) {
            return Err(Error::Invalid(format!(
                "{what} id in row {k} is empty ({:?})",
                ids[k]
            )));
        }
    }
    // Last occurrence of each (user, book) pair wins, keeping first-occurrence row order.
    let mut vu = Vocab::new();
    let mut vi = Vocab::new();
    let mut row_of: std::collections::HashMap<(u32, u32), usize> = Default::default();
    let (mut u, mut i, mut r) = (Vec::new(), Vec::new(), Vec::new());
    let mut t = timestamps.as_ref().map(|_| Vec::new());
    for k in 0..ratings.len() {
        let uk = vu.intern(&normalize_id_str(&users[k]));
        let ik = vi.intern(&normalize_id_str(&items[k]));
        let row = *row_of.entry((uk, ik)).or_insert_with(|| {
            u.push(uk);
            i.push(ik);
            r.push(0.0);
            if let Some(t) = t.as_mut() {
                t.push(0);
            }
            r.len() - 1
        });
        r[row] = ratings[k];
        if let (Some(t), Some(ts)) = (t.as_mut(), timestamps.as_ref()) {
            t[row] = ts[k];
        }
    }
    let scale = scale.unwrap_or_else(|| RatingScale::covering(&r));
    Ok(Interactions {
        users: Arc::new(vu),
        items: Arc::new(vi),
        user: u,
        item: i,
        rating: r,
        timestamp: t,
        implicit_user: Vec::new(),
        implicit_item: Vec::new(),
        scale,
        item_groups: None,
    })
}

/// Options exactly as the CLI's flags spell them (`--sep`, `--no-header`, `--zeros`, ...).
#[allow(clippy::too_many_arguments)]
fn load_options(
    sep: Option<&str>,
    header: Option<bool>,
    encoding: Option<&str>,
    user_col: Option<&str>,
    item_col: Option<&str>,
    rating_col: Option<&str>,
    timestamp_col: Option<&str>,
    rating_scale: Option<&str>,
    duplicates: &str,
    bad_lines: &str,
    zeros: &str,
) -> bookrec_core::Result<LoadOptions> {
    let col = |s: Option<&str>| s.map(str::parse::<ColumnRef>).transpose();
    Ok(LoadOptions {
        sep: sep.map(parse_separator).transpose()?,
        has_header: header,
        encoding: encoding.map(str::parse::<Encoding>).transpose()?,
        user_col: col(user_col)?,
        item_col: col(item_col)?,
        rating_col: col(rating_col)?,
        timestamp_col: col(timestamp_col)?,
        rating_scale: rating_scale.map(parse_rating_scale).transpose()?,
        duplicates: duplicates.parse::<DuplicatePolicy>()?,
        bad_lines: bad_lines.parse::<BadLinePolicy>()?,
        implicit_zeros: match zeros.trim().to_ascii_lowercase().as_str() {
            "auto" => None,
            "implicit" => Some(true),
            "rating" => Some(false),
            _ => {
                return Err(Error::param(
                    "zeros",
                    zeros,
                    "expected auto, implicit or rating",
                ))
            }
        },
    })
}

/// Reads and cleans a ratings file (`bookrec.read_ratings` documents the arguments).
#[pyfunction]
#[pyo3(signature = (path, sep=None, header=None, encoding=None, user_col=None, item_col=None,
                    rating_col=None, timestamp_col=None, rating_scale=None, duplicates="last",
                    bad_lines="skip", zeros="auto"))]
#[allow(clippy::too_many_arguments)]
pub fn read_ratings(
    py: Python<'_>,
    path: PathBuf,
    sep: Option<&str>,
    header: Option<bool>,
    encoding: Option<&str>,
    user_col: Option<&str>,
    item_col: Option<&str>,
    rating_col: Option<&str>,
    timestamp_col: Option<&str>,
    rating_scale: Option<&str>,
    duplicates: &str,
    bad_lines: &str,
    zeros: &str,
) -> PyResult<Ratings> {
    let opts = load_options(
        sep,
        header,
        encoding,
        user_col,
        item_col,
        rating_col,
        timestamp_col,
        rating_scale,
        duplicates,
        bad_lines,
        zeros,
    )
    .py_err()?;
    let (data, report) = py
        .detach(|| load_ratings(&path, &opts, &NoProgress))
        .py_err()?;
    let report = serde_json::to_string(&report).ok();
    Ok(Ratings::new(data, report))
}

/// Holdout split: `strategy` is `random`, `user` (per-user) or `temporal`.
#[pyfunction]
pub fn split(
    py: Python<'_>,
    ratings: &Ratings,
    strategy: &str,
    test_size: f64,
    seed: u64,
) -> PyResult<(Ratings, Ratings)> {
    let test_fraction = test_size;
    let split = match strategy.trim().to_ascii_lowercase().as_str() {
        "random" => Split::Random { test_fraction },
        "user" | "per-user" | "per_user" => Split::PerUser { test_fraction },
        "temporal" | "time" => Split::Temporal { test_fraction },
        _ => {
            return Err(param(
                "strategy",
                strategy,
                "expected random, user or temporal",
            ))
        }
    };
    let data = ratings.inner.clone();
    let (train, test) = py
        .detach(move || train_test_split(&data, &split, seed))
        .py_err()?;
    Ok((Ratings::new(train, None), Ratings::new(test, None)))
}

/// A train/test pair prepared with the catalogue `books` as `bookrec evaluate --train --test
/// --books --items --duplicates` prepares it: train as [`Ratings::with_books`] makes it, and
/// the test set's editions merged into the training set's works (a reader's held-out ratings
/// of several editions scored as their mean), at either level.
#[pyfunction]
#[pyo3(signature = (train, test, books, items="isbn", duplicates="last"))]
pub fn holdout_with_books(
    py: Python<'_>,
    train: &Ratings,
    test: &Ratings,
    books: &Books,
    items: &str,
    duplicates: &str,
) -> PyResult<(Ratings, Ratings)> {
    let (train_data, test_data) = ((*train.inner).clone(), (*test.inner).clone());
    let (train_data, test_data, merge) =
        with_prep(py, books, items, duplicates, |prep, duplicates| {
            prep.holdout(train_data, test_data, duplicates)
        })?;
    Ok((
        Ratings::merged(train_data, train.report.clone(), merge),
        Ratings::new(test_data, test.report.clone()),
    ))
}

/// k-fold cross-validation splits: `folds` (train, test) pairs.
#[pyfunction]
pub fn kfold(
    py: Python<'_>,
    ratings: &Ratings,
    folds: usize,
    seed: u64,
) -> PyResult<Vec<(Ratings, Ratings)>> {
    let data = ratings.inner.clone();
    let pairs = py.detach(move || k_fold(&data, folds, seed)).py_err()?;
    Ok(pairs
        .into_iter()
        .map(|(a, b)| (Ratings::new(a, None), Ratings::new(b, None)))
        .collect())
}

/// Normalises ids the way the loader does (trim, strip stray quotes, ISBN `x` → `X`).
#[pyfunction]
pub fn normalize_ids(ids: Vec<String>) -> Vec<String> {
    ids.iter()
        .map(|s| normalize_id_str(s).into_owned())
        .collect()
}
