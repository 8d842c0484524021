//! Shared server state: the loaded model (and ranker, if any) + catalogue + search index behind
//! an [`ArcSwap`] (readers take a cheap `Arc` snapshot per request; a reload swaps in a new
//! snapshot atomically, in-flight requests finish on the old one), and the ratings store.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::SystemTime;

use anyhow::Context;
use arc_swap::ArcSwap;
use bookrec_core::progress::NoProgress;

use crate::engine::{check_min_rating, check_pair, PairCheck, Served};
use crate::engine::{load_catalog, load_model, Catalog, FittedModel, RecommendOptions};
use crate::search::SearchIndex;
use crate::store::Store;
use crate::templates::Templates;

/// Everything a request reads, swapped as one unit.
pub struct Loaded {
    /// The `--model` file: supplies predicted ratings, and ranks unless there is a ranker.
    pub model: Served,
    /// The `--ranker` file, if any: chooses and orders the lists (see
    /// [`bookrec_core::recommend`]).
    pub ranker: Option<Served>,
    /// What [`check_pair`] found about the two (with a ranker).
    pub pair: Option<PairCheck>,
    pub catalog: Arc<Catalog>,
    pub search: Arc<SearchIndex>,
    /// When this model was loaded (for /readyz and the admin answer).
    pub loaded_at: SystemTime,
}

/// Settings fixed for the life of the server.
#[derive(Clone, Debug)]
pub struct Settings {
    /// Books with fewer training ratings than this are never recommended (nor shown as
    /// similar): a book rated once or twice has factors that are mostly noise.
    pub min_support: u32,
    /// Books the rating model predicts below this are left out of recommendations (filled
    /// from further down the ranking); a request's `?min_rating=` overrides it. `None`: none.
    pub min_rating: Option<f32>,
    /// The model file `POST /admin/reload` re-reads; `None` for an in-memory model (demo).
    pub model_path: Option<PathBuf>,
    /// The ranker file `POST /admin/reload` re-reads with the model, if the server has one.
    pub ranker_path: Option<PathBuf>,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            min_support: RecommendOptions::default().min_support,
            min_rating: None,
            model_path: None,
            ranker_path: None,
        }
    }
}

/// The model and the optional ranker, checked to work together (see [`check_pair`]).
fn load_pair(
    model: FittedModel,
    ranker: Option<FittedModel>,
    min_support: u32,
    catalog: &Catalog,
) -> anyhow::Result<(Served, Option<Served>, Option<PairCheck>)> {
    let pair = ranker.as_ref().map(|r| check_pair(&model, r)).transpose()?;
    if let Some(p) = pair.filter(|p| p.books_unknown_to_model > 0) {
        tracing::warn!(
            ranker_books = p.ranker_books,
            without_rating = p.books_unknown_to_model,
            "the ranker knows books the rating model does not: they are listed without a predicted rating"
        );
    }
    // Works, the popular list and the top-N scorer are built once per model, here (and again
    // on each hot reload): the start-up log says what that costs.
    let started = std::time::Instant::now();
    let served = Served::with_catalog(model, Some(min_support), catalog);
    let ranker = ranker.map(|r| Served::with_catalog(r, Some(min_support), catalog));
    let (books, works) = ranker.as_ref().unwrap_or(&served).lists.listable(false);
    tracing::info!(
        books,
        works,
        prepared_ms = started.elapsed().as_millis() as u64,
        "listable: catalogued books the ranking model can list, and their works"
    );
    Ok((served, ranker, pair))
}

fn read_model(path: &Path) -> anyhow::Result<FittedModel> {
    Ok(load_model(path)
        .with_context(|| format!("loading model {}", path.display()))?
        .0)
}

struct Inner {
    loaded: ArcSwap<Loaded>,
    store: Arc<Store>,
    settings: Settings,
    templates: Templates,
    reload_lock: tokio::sync::Mutex<()>,
}

/// Cheap to clone (one `Arc`).
#[derive(Clone)]
pub struct AppState {
    inner: Arc<Inner>,
}

impl AppState {
    /// State from an in-memory model and catalogue (used by tests).
    pub fn new(model: FittedModel, catalog: Catalog, store: Store, settings: Settings) -> Self {
        let model = Served::with_catalog(model, Some(settings.min_support), &catalog);
        Self::assemble(model, None, None, catalog, store, settings)
    }

    /// State from an in-memory model, an optional ranker and a catalogue; fails if the two
    /// models cannot work together (see [`check_pair`]).
    pub fn with_ranker(
        model: FittedModel,
        ranker: Option<FittedModel>,
        catalog: Catalog,
        store: Store,
        settings: Settings,
    ) -> anyhow::Result<Self> {
        let (model, ranker, pair) = load_pair(model, ranker, settings.min_support, &catalog)?;
        Ok(Self::assemble(
            model, ranker, pair, catalog, store, settings,
        ))
    }

    fn assemble(
        model: Served,
        ranker: Option<Served>,
        pair: Option<PairCheck>,
        catalog: Catalog,
        store: Store,
        settings: Settings,
    ) -> Self {
        let search = Arc::new(build_search(&catalog));
        let loaded = Loaded {
            model,
            ranker,
            pair,
            catalog: Arc::new(catalog),
            search,
            loaded_at: SystemTime::now(),
        };
        AppState {
            inner: Arc::new(Inner {
                loaded: ArcSwap::from_pointee(loaded),
                store: Arc::new(store),
                settings,
                templates: Templates::new(),
                reload_lock: tokio::sync::Mutex::new(()),
            }),
        }
    }

    /// Loads the model file, the ranker file (if any), the catalogue (if any) and opens the
    /// ratings database. Blocking. A `min_rating` the model cannot apply (see
    /// [`check_min_rating`]) is an error.
    pub fn load(
        model_path: &Path,
        ranker_path: Option<&Path>,
        books_path: Option<&Path>,
        db_path: &Path,
        min_support: u32,
        min_rating: Option<f32>,
    ) -> anyhow::Result<Self> {
        let model = read_model(model_path)?;
        if let Some(m) = min_rating {
            check_min_rating(&model, m)?;
        }
        let ranker = ranker_path.map(read_model).transpose()?;
        let catalog = match books_path {
            Some(p) => {
                load_catalog(p, &NoProgress)
                    .with_context(|| format!("loading catalogue {}", p.display()))?
                    .0
            }
            None => Catalog::default(),
        };
        let store = Store::open(db_path)?;
        AppState::with_ranker(
            model,
            ranker,
            catalog,
            store,
            Settings {
                min_support,
                min_rating,
                model_path: Some(model_path.to_path_buf()),
                ranker_path: ranker_path.map(Path::to_path_buf),
            },
        )
    }

    /// A snapshot of the current model, catalogue and index.
    pub fn loaded(&self) -> Arc<Loaded> {
        self.inner.loaded.load_full()
    }

    /// (books, works) the ranking model's lists can hold with the catalogue (uncatalogued
    /// books left out): what `/readyz` and the start-up lines report.
    pub fn listable(&self) -> (usize, usize) {
        let loaded = self.loaded();
        let ranking = loaded.ranker.as_ref().unwrap_or(&loaded.model);
        ranking.lists.listable(false)
    }

    pub fn store(&self) -> Arc<Store> {
        Arc::clone(&self.inner.store)
    }

    pub fn settings(&self) -> &Settings {
        &self.inner.settings
    }

    pub fn templates(&self) -> &Templates {
        &self.inner.templates
    }

    pub fn recommend_options(&self) -> RecommendOptions {
        RecommendOptions {
            min_support: self.inner.settings.min_support,
            exclude_seen: true,
        }
    }

    /// Re-reads the model file (and the ranker file, if any), checks that they work together,
    /// and swaps them in as one unit. On any error (missing, truncated, corrupted, wrong
    /// version, an incompatible pair) the current models keep serving and the error is
    /// returned. Reloads are serialised; the catalogue and search index are kept.
    pub async fn reload(&self) -> Result<Arc<Loaded>, ReloadError> {
        let settings = &self.inner.settings;
        let path = settings
            .model_path
            .clone()
            .ok_or(ReloadError::NoModelFile)?;
        let _guard = self.inner.reload_lock.lock().await;
        let (model_path, ranker_path) = (path.clone(), settings.ranker_path.clone());
        let min_support = settings.min_support;
        let catalog = Arc::clone(&self.loaded().catalog);
        let (model, ranker, pair) = tokio::task::spawn_blocking(move || {
            let model = read_model(&model_path)?;
            let ranker = ranker_path.as_deref().map(read_model).transpose()?;
            load_pair(model, ranker, min_support, &catalog)
        })
        .await
        .map_err(|e| ReloadError::Rejected(format!("loader task failed: {e}")))?
        .map_err(|e| ReloadError::Rejected(format!("{e:#}")))?;
        let old = self.loaded();
        let fresh = Arc::new(Loaded {
            model,
            ranker,
            pair,
            catalog: Arc::clone(&old.catalog),
            search: Arc::clone(&old.search),
            loaded_at: SystemTime::now(),
        });
        self.inner.loaded.store(Arc::clone(&fresh));
        tracing::info!(path = %path.display(), users = fresh.model.fitted.users.len(),
            books = fresh.model.fitted.items.len(),
            ranker = fresh.ranker.as_ref().map(|r| r.fitted.kind.name()), "model reloaded");
        Ok(fresh)
    }

    /// The model files a reload re-reads (the model, then the ranker if any).
    pub fn model_files(&self) -> Vec<PathBuf> {
        let s = &self.inner.settings;
        s.model_path.iter().chain(&s.ranker_path).cloned().collect()
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ReloadError {
    #[error("this server was started from an in-memory model; there is no model file to reload")]
    NoModelFile,
    #[error("new model rejected, still serving the previous one: {0}")]
    Rejected(String),
}

fn build_search(catalog: &Catalog) -> SearchIndex {
    SearchIndex::build(
        catalog
            .iter()
            .map(|b| (b.id.as_str(), b.title.as_str(), b.author.as_str())),
    )
}
