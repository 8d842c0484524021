//! `Model`: a fitted model (shared, immutable) with its model-file metadata.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use bookrec_core::data::{normalize_id_str, AlignedRatings, Catalog};
use bookrec_core::evaluation::evaluate::{cross_validate as core_cv, evaluate_fitted, EvalOptions};
use bookrec_core::model_file::{load_model, save_model, ModelMeta};
use bookrec_core::models::{
    Factors, Fallback, FittedModel, ModelKind, ModelSpec, RecommendOptions, ScoredItem, Scorer,
};
use bookrec_core::progress::NoProgress;
use bookrec_core::recommend::lists::WorkLists;
use bookrec_core::recommend::{
    check_min_rating, check_pair, document, Listed, Recommender, Request, Served,
};
use bookrec_core::Error;
use numpy::{IntoPyArray, PyArray1, PyArray2};
use pyo3::prelude::*;

use crate::arrays::{borrowed_1d, borrowed_2d};
use crate::catalog::Books;
use crate::errors::{param, to_py, IntoPyResult};
use crate::ratings::Ratings;

/// A numpy view of one factor matrix of `slf`'s model (None for models without factors).
fn factor_view<'py>(
    slf: &Bound<'py, Model>,
    matrix: fn(&Factors) -> &Vec<f32>,
) -> PyResult<Option<Bound<'py, PyArray2<f32>>>> {
    let this = slf.get();
    let (Some((stride, cols)), Scorer::Factors(f)) = (this.factor_shape(), &this.model.scorer)
    else {
        return Ok(None);
    };
    let data = matrix(f);
    borrowed_2d(slf, data, data.len() / stride, cols, stride).map(Some)
}

/// A fitted model. Frozen: its parameters never change, so numpy views of them stay valid for
/// as long as any view (or this object) is alive.
#[pyclass(frozen, module = "bookrec._bookrec")]
pub struct Model {
    pub model: Arc<FittedModel>,
    meta: ModelMeta,
    /// The works of this model's books for the last catalogue asked about (`None`: no
    /// catalogue), so a loop over readers builds them once. Holding the catalogue's `Arc`
    /// keeps it alive, so `Arc::ptr_eq` cannot mistake a new catalogue at a reused address
    /// for the old one.
    lists: Mutex<Option<CachedLists>>,
}

/// The catalogue some [`WorkLists`] were built for (`None`: no catalogue), and the lists.
type CachedLists = (Option<Arc<Catalog>>, Arc<WorkLists>);

impl Model {
    fn new(model: FittedModel, meta: ModelMeta) -> Self {
        Model {
            model: Arc::new(model),
            meta,
            lists: Mutex::new(None),
        }
    }

    /// [`WorkLists`] of this model for `books` (none: an empty catalogue).
    fn lists_for(&self, books: Option<&Books>) -> Arc<WorkLists> {
        let catalog = books.map(|b| &b.inner);
        let same = |cached: &Option<Arc<Catalog>>| match (cached, catalog) {
            (None, None) => true,
            (Some(a), Some(b)) => Arc::ptr_eq(a, b),
            _ => false,
        };
        let mut cache = self.lists.lock().unwrap_or_else(|e| e.into_inner());
        if let Some((_, lists)) = cache.as_ref().filter(|(cached, _)| same(cached)) {
            return Arc::clone(lists);
        }
        let empty = Catalog::default();
        let lists = Arc::new(WorkLists::new(
            &self.model,
            catalog.map_or(&empty, |c| &**c),
        ));
        *cache = Some((catalog.cloned(), Arc::clone(&lists)));
        lists
    }

    /// This model served for one call, its lists made of works from `books`.
    fn served(&self, books: Option<&Books>) -> Served {
        Served::with_lists(self.model.clone(), None, self.lists_for(books))
    }
}

pub(crate) fn kind_of(name: &str) -> PyResult<ModelKind> {
    ModelKind::parse(name.trim()).ok_or_else(|| {
        let all: Vec<&str> = ModelKind::ALL.iter().map(|k| k.name()).collect();
        param(
            "model",
            name,
            &format!("unknown model; choose one of {}", all.join(", ")),
        )
    })
}

/// The spec for `kind` with `params_json` (a JSON object of overrides) applied and checked.
fn spec_of(kind: &str, params_json: &str) -> PyResult<ModelSpec> {
    let kind = kind_of(kind)?;
    let overrides: serde_json::Map<String, serde_json::Value> =
        serde_json::from_str(params_json)
            .map_err(|e| param("params", params_json, &format!("not a JSON object: {e}")))?;
    ModelSpec::from_params(kind, &overrides).py_err()
}

fn rec_options(min_support: u32, exclude_seen: bool) -> RecommendOptions {
    RecommendOptions {
        min_support,
        exclude_seen,
    }
}

fn eval_options(
    k: Option<usize>,
    relevance_threshold: Option<f32>,
    min_support: u32,
    max_ranking_users: Option<usize>,
) -> EvalOptions {
    EvalOptions {
        ranking_k: k,
        relevance_threshold,
        recommend: rec_options(min_support, true),
        max_ranking_users,
        ..EvalOptions::default()
    }
}

pub(crate) fn to_json<T: serde::Serialize>(value: &T) -> PyResult<String> {
    serde_json::to_string(value).map_err(|e| to_py(Error::Invalid(e.to_string())))
}

/// Scored books as (raw book ids, scores).
type Scored = (Vec<String>, Vec<f32>);

/// A reader's list as (raw book ids, scores, the rating model's predictions, the rest of the
/// API's document as JSON: `user_id`, `known_user`, `source`, `ranker`, `score_kind`, ...).
type Recommended = (Vec<String>, Vec<f32>, Vec<Option<f32>>, String);

/// A core list as (raw book ids, scores, the rating model's predictions).
fn listed(items: &[Listed]) -> (Vec<String>, Vec<f32>, Vec<Option<f32>>) {
    let mut out = (Vec::new(), Vec::new(), Vec::new());
    for l in items {
        out.0.push(l.book_id.clone());
        out.1.push(l.score);
        out.2.push(l.predicted_rating);
    }
    out
}

/// `items` (indices of `model`'s vocabulary) as raw book ids and scores.
fn scored(model: &FittedModel, items: &[ScoredItem]) -> Scored {
    items
        .iter()
        .map(|s| (model.items.id(s.item).to_string(), s.score))
        .unzip()
}

impl Model {
    /// (stride, factor count) of a factor model; None for bias-only models and knn.
    fn factor_shape(&self) -> Option<(usize, usize)> {
        match &self.model.scorer {
            Scorer::Factors(f) if f.k > 0 => {
                // Rows are padded to a multiple of the SIMD width; the view shows only the
                // model's own factors (zero padding columns would confuse users).
                let declared = self
                    .model
                    .params
                    .get("factors")
                    .and_then(|v| v.as_u64())
                    .map_or(f.k, |n| n as usize);
                Some((f.k, declared.min(f.k)))
            }
            _ => None,
        }
    }

    /// Row of each of `n` indices in a factor matrix (-1 = none); None without factors.
    fn factor_rows(&self, n: usize, row: fn(&Factors, u32) -> Option<usize>) -> Option<Vec<i64>> {
        let Scorer::Factors(f) = &self.model.scorer else {
            return None;
        };
        self.factor_shape()?;
        Some(
            (0..n as u32)
                .map(|i| row(f, i).map_or(-1, |r| r as i64))
                .collect(),
        )
    }

    fn biases(&self) -> (&[f32], &[f32]) {
        match &self.model.scorer {
            Scorer::Factors(f) => (&f.user_bias, &f.item_bias),
            Scorer::Knn(k) => (&k.user_bias, &k.item_bias),
            Scorer::Ncf(n) => (&n.user_bias, &n.item_bias),
        }
    }
}

#[pymethods]
impl Model {
    /// Fits model `kind` with hyper-parameter overrides `params_json` on `train`, releasing the
    /// GIL while it trains.
    #[staticmethod]
    fn fit(py: Python<'_>, kind: &str, params_json: &str, train: &Ratings) -> PyResult<Model> {
        let spec = spec_of(kind, params_json)?;
        let data = train.inner.clone();
        let (model, meta) = py
            .detach(move || {
                bookrec_core::evaluation::evaluate::fit_and_describe(&spec, &data, &NoProgress)
            })
            .py_err()?;
        Ok(Model::new(model, meta))
    }

    /// Reads a model file written by `bookrec train` or `save`.
    #[staticmethod]
    fn load(py: Python<'_>, path: PathBuf) -> PyResult<Model> {
        let (model, meta) = py.detach(|| load_model(&path)).py_err()?;
        Ok(Model::new(model, meta))
    }

    /// Writes the model file (the CLI's format).
    fn save(&self, py: Python<'_>, path: PathBuf) -> PyResult<()> {
        let model = self.model.clone();
        let meta = self.meta.clone();
        py.detach(move || save_model(&model, &meta, &path)).py_err()
    }

    #[getter]
    fn kind(&self) -> &'static str {
        self.model.kind.name()
    }

    /// Hyper-parameters as fitted (JSON object, including `"model"`).
    #[getter]
    fn params_json(&self) -> String {
        self.model.params.to_string()
    }

    /// Model-file metadata (format version, fingerprint, training metrics, ...) as JSON.
    #[getter]
    fn meta_json(&self) -> PyResult<String> {
        to_json(&self.meta)
    }

    #[getter]
    fn global_mean(&self) -> f32 {
        self.model.global_mean
    }

    #[getter]
    fn rating_scale(&self) -> (f32, f32) {
        (self.model.scale.min, self.model.scale.max)
    }

    fn user_ids(&self) -> Vec<&str> {
        self.model.users.ids().collect()
    }

    fn item_ids(&self) -> Vec<&str> {
        self.model.items.ids().collect()
    }

    /// p_u, shape (users with factors, factors): a read-only view into the model. Row `r`
    /// belongs to the user whose entry in `user_factor_rows()` is `r`. None without factors.
    fn user_factors<'py>(slf: &Bound<'py, Self>) -> PyResult<Option<Bound<'py, PyArray2<f32>>>> {
        factor_view(slf, |f| &f.user_factors)
    }

    /// q_i, shape (books with factors, factors), as `user_factors`.
    fn item_factors<'py>(slf: &Bound<'py, Self>) -> PyResult<Option<Bound<'py, PyArray2<f32>>>> {
        factor_view(slf, |f| &f.item_factors)
    }

    /// For each user of the vocabulary, its row in `user_factors` (-1 = no vector: no
    /// training ratings). None without factors.
    fn user_factor_rows<'py>(&self, py: Python<'py>) -> Option<Bound<'py, PyArray1<i64>>> {
        self.factor_rows(self.model.users.len(), Factors::user_row)
            .map(|rows| rows.into_pyarray(py))
    }

    /// For each book of the vocabulary, its row in `item_factors` (-1 = none).
    fn item_factor_rows<'py>(&self, py: Python<'py>) -> Option<Bound<'py, PyArray1<i64>>> {
        self.factor_rows(self.model.items.len(), Factors::item_row)
            .map(|rows| rows.into_pyarray(py))
    }

    /// b_u (one per user), a read-only view; None if the model has no user biases.
    fn user_bias<'py>(slf: &Bound<'py, Self>) -> PyResult<Option<Bound<'py, PyArray1<f32>>>> {
        let (bu, _) = slf.get().biases();
        if bu.is_empty() {
            return Ok(None);
        }
        borrowed_1d(slf, bu).map(Some)
    }

    /// b_i (one per book), a read-only view; None if the model has no book biases.
    fn item_bias<'py>(slf: &Bound<'py, Self>) -> PyResult<Option<Bound<'py, PyArray1<f32>>>> {
        let (_, bi) = slf.get().biases();
        if bi.is_empty() {
            return Ok(None);
        }
        borrowed_1d(slf, bi).map(Some)
    }

    /// Training ratings per book.
    fn item_popularity<'py>(&self, py: Python<'py>) -> Bound<'py, PyArray1<u32>> {
        self.model.item_popularity.clone().into_pyarray(py)
    }

    /// True if the user has training ratings.
    fn knows_user(&self, id: &str) -> bool {
        self.model
            .users
            .get(&normalize_id_str(id))
            .is_some_and(|u| self.model.knows_user(u))
    }

    /// Predicted ratings for (user, book) pairs of raw ids, and per pair the fallback code:
    /// 0 personalised, 1 unknown user, 2 unknown book, 3 both unknown.
    #[allow(clippy::type_complexity)]
    fn predict<'py>(
        &self,
        py: Python<'py>,
        users: Vec<String>,
        items: Vec<String>,
    ) -> PyResult<(Bound<'py, PyArray1<f32>>, Bound<'py, PyArray1<u8>>)> {
        if users.len() != items.len() {
            return Err(param(
                "items",
                format!("{} users, {} books", users.len(), items.len()),
                "users and items must have the same length",
            ));
        }
        let model = self.model.clone();
        let (values, codes): (Vec<f32>, Vec<u8>) = py.detach(move || {
            let aligned = AlignedRatings {
                user: users
                    .iter()
                    .map(|u| model.users.get(&normalize_id_str(u)))
                    .collect(),
                item: items
                    .iter()
                    .map(|i| model.items.get(&normalize_id_str(i)))
                    .collect(),
                rating: vec![0.0; users.len()],
            };
            model
                .predict_all(&aligned)
                .into_iter()
                .map(|p| {
                    let code = match p.fallback {
                        Fallback::None => 0,
                        Fallback::UnknownUser => 1,
                        Fallback::UnknownItem => 2,
                        Fallback::UnknownBoth => 3,
                    };
                    (p.value, code)
                })
                .unzip()
        });
        Ok((values.into_pyarray(py), codes.into_pyarray(py)))
    }

    /// Top-`n` books for a user, as the CLI's `bookrec recommend [--ranker] [--min-rating]`:
    /// a user with training ratings gets the ranking model's personalised list (`ranker`'s if
    /// given, else this model's); any other user its `n` most popular books (scored by their
    /// number of ratings). With a ranker, this model predicts each listed book's rating; with
    /// `min_rating`, books it predicts lower are left out and the list is filled from further
    /// down. Returns (book ids, scores, this model's predicted ratings, known user); a ranker
    /// that cannot work with this model, or a `min_rating` it cannot apply, is a `ParamError`.
    /// With `books`, lists hold works: one edition per work, none the reader has, only
    /// catalogued books unless `include_uncatalogued` (see
    /// `bookrec_core::recommend::lists`).
    #[pyo3(signature = (user, n, exclude_seen, min_support, ranker=None, min_rating=None, books=None, include_uncatalogued=false))]
    // PyO3 maps keyword arguments one to one; a struct would not cross the boundary.
    #[allow(clippy::too_many_arguments)]
    fn recommend(
        &self,
        py: Python<'_>,
        user: &str,
        n: usize,
        exclude_seen: bool,
        min_support: u32,
        ranker: Option<PyRef<'_, Model>>,
        min_rating: Option<f32>,
        books: Option<PyRef<'_, Books>>,
        include_uncatalogued: bool,
    ) -> PyResult<Recommended> {
        let opts = rec_options(min_support, exclude_seen);
        if let Some(r) = &ranker {
            check_pair(&self.model, &r.model)
                .map_err(|e| param("ranker", r.model.kind.name(), &e.to_string()))?;
        }
        if let Some(m) = min_rating {
            check_min_rating(&self.model, m).map_err(|e| param("min_rating", m, &e.to_string()))?;
        }
        // The core's one list (bookrec_core::recommend), as `bookrec recommend` and the web
        // app build it; no candidate cache (one request per call).
        let model = self.served(books.as_deref());
        let ranker = ranker.map(|r| r.served(books.as_deref()));
        let user = normalize_id_str(user).into_owned();
        let list = py
            .detach(|| {
                Recommender::new(&model, ranker.as_ref()).recommend(&Request {
                    min_rating,
                    include_uncatalogued,
                    ..Request::new(Some(user.as_str()), n, opts)
                })
            })
            .py_err()?;
        let (ids, scores, predicted) = listed(&list.items);
        // The document's fields beside its items, under the API's names (the items become
        // the DataFrame's rows).
        let mut doc =
            document::recommendations(&user, &list, &model.fitted, &Catalog::default(), |_| {
                Vec::new()
            });
        doc.items.clear();
        Ok((ids, scores, predicted, to_json(&doc)?))
    }

    /// The `n` books most similar to `book` (empty for bias-only models); an unknown book is
    /// an `UnknownBookError`. With `books`, one edition per work, never one of `book` itself,
    /// and only catalogued books unless `include_uncatalogued` (see
    /// `bookrec_core::recommend::lists`).
    #[pyo3(signature = (book, n, min_support, books=None, include_uncatalogued=false))]
    fn similar(
        &self,
        py: Python<'_>,
        book: &str,
        n: usize,
        min_support: u32,
        books: Option<PyRef<'_, Books>>,
        include_uncatalogued: bool,
    ) -> PyResult<Scored> {
        let id = normalize_id_str(book);
        if !self
            .model
            .items
            .get(&id)
            .is_some_and(|i| self.model.knows_item(i))
        {
            return Err(to_py(Error::UnknownItem(id.to_string())));
        }
        let served = self.served(books.as_deref());
        let list = py
            .detach(|| {
                Recommender::new(&served, None).similar(
                    &id,
                    n,
                    min_support,
                    None,
                    include_uncatalogued,
                )
            })
            .py_err()?;
        Ok(list
            .map(|l| l.items.into_iter().unzip())
            .unwrap_or_default())
    }

    /// Top-`n` books for a new reader given only their ratings (fold-in, no retraining).
    /// Returns (book ids, scores, ids of rated books the model does not know, ignored).
    fn fold_in(
        &self,
        py: Python<'_>,
        books: Vec<String>,
        ratings: Vec<f32>,
        n: usize,
        min_support: u32,
    ) -> PyResult<(Vec<String>, Vec<f32>, Vec<String>)> {
        if books.len() != ratings.len() {
            return Err(param(
                "ratings",
                format!("{} books, {} ratings", books.len(), ratings.len()),
                "one rating per book",
            ));
        }
        if let Some(r) = ratings.iter().find(|r| !r.is_finite()) {
            return Err(param("ratings", r, "ratings must be finite numbers"));
        }
        let mut known = Vec::with_capacity(books.len());
        let mut ignored = Vec::new();
        for (b, &r) in books.iter().zip(&ratings) {
            let id = normalize_id_str(b);
            match self
                .model
                .items
                .get(&id)
                .filter(|&i| self.model.knows_item(i))
            {
                Some(_) => known.push((id.into_owned(), r)),
                None => ignored.push(id.into_owned()),
            }
        }
        // A new reader known only by their ratings: the core's fold-in list.
        let given: Vec<(&str, f32)> = known.iter().map(|(id, r)| (id.as_str(), *r)).collect();
        let served = self.served(None);
        let list = py
            .detach(|| {
                Recommender::new(&served, None).recommend(&Request {
                    ratings: &given,
                    ..Request::new(None, n, rec_options(min_support, true))
                })
            })
            .py_err()?;
        let (ids, scores, _) = listed(&list.items);
        Ok((ids, scores, ignored))
    }

    /// The `n` most-rated books with at least `min_support` ratings, scored by rating count.
    fn popular(&self, n: usize, min_support: u32) -> Scored {
        scored(
            &self.model,
            &self.model.popular(n, &rec_options(min_support, true)),
        )
    }

    /// Evaluates on `test` (RMSE, MAE, ranking metrics at `k`); the report as JSON. With
    /// `books`, lists are ranked as served (works, catalogued books only) and a hit is any
    /// edition of a held-out work (the CLI's `evaluate --books`).
    #[pyo3(signature = (test, k, relevance_threshold, min_support, max_ranking_users, books=None))]
    #[allow(clippy::too_many_arguments)]
    fn evaluate(
        &self,
        py: Python<'_>,
        test: &Ratings,
        k: Option<usize>,
        relevance_threshold: Option<f32>,
        min_support: u32,
        max_ranking_users: Option<usize>,
        books: Option<PyRef<'_, Books>>,
    ) -> PyResult<String> {
        let opts = EvalOptions {
            works: books.map(|b| Arc::clone(&b.inner)),
            ..eval_options(k, relevance_threshold, min_support, max_ranking_users)
        };
        let model = self.model.clone();
        let data = test.inner.clone();
        let report = py
            .detach(move || evaluate_fitted(&model, &data, &opts))
            .py_err()?;
        to_json(&report)
    }

    fn __repr__(&self) -> String {
        format!(
            "<bookrec fitted {} model: {} users, {} books>",
            self.model.kind.name(),
            self.model.users.len(),
            self.model.items.len()
        )
    }
}

/// The default hyper-parameters of `kind` as a JSON object (without the `"model"` key).
#[pyfunction]
pub fn default_params(kind: &str) -> PyResult<String> {
    let mut params = ModelSpec::default_for(kind_of(kind)?).params_json();
    if let Some(obj) = params.as_object_mut() {
        obj.remove("model");
    }
    to_json(&params)
}

/// Model names the engine knows.
#[pyfunction]
pub fn model_names() -> Vec<&'static str> {
    ModelKind::ALL.iter().map(|k| k.name()).collect()
}

/// k-fold cross-validation of `kind` with `params_json` on `ratings`; the report as JSON.
#[pyfunction]
#[pyo3(signature = (kind, params_json, ratings, folds, seed, k, relevance_threshold, min_support,
                    max_ranking_users))]
#[allow(clippy::too_many_arguments)]
pub fn cross_validate(
    py: Python<'_>,
    kind: &str,
    params_json: &str,
    ratings: &Ratings,
    folds: usize,
    seed: u64,
    k: Option<usize>,
    relevance_threshold: Option<f32>,
    min_support: u32,
    max_ranking_users: Option<usize>,
) -> PyResult<String> {
    let spec = spec_of(kind, params_json)?;
    let opts = eval_options(k, relevance_threshold, min_support, max_ranking_users);
    let data = ratings.inner.clone();
    let report = py
        .detach(move || core_cv(&spec, &data, folds, seed, &opts, &NoProgress))
        .py_err()?;
    to_json(&report)
}
