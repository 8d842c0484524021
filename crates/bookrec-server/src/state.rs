//! Shared server state: the loaded model + catalogue + search index behind an [`ArcSwap`]
//! (readers take a cheap `Arc` snapshot per request; a reload swaps in a new snapshot
//! atomically, in-flight requests finish on the old one), and the ratings store.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::SystemTime;

use anyhow::Context;
use arc_swap::ArcSwap;
use bookrec_core::progress::NoProgress;

use crate::engine::{load_catalog, load_model, Catalog, FittedModel, RecommendOptions};
use crate::fast::CandidateScorer;
use crate::search::SearchIndex;
use crate::store::Store;
use crate::templates::Templates;

/// Everything a request reads, swapped as one unit.
pub struct Loaded {
    pub model: FittedModel,
    /// Contiguous candidate factors for known users' top-N (factor models only).
    pub fast: Option<CandidateScorer>,
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
    /// The model file `POST /admin/reload` re-reads; `None` for an in-memory model (demo).
    pub model_path: Option<PathBuf>,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            min_support: RecommendOptions::default().min_support,
            model_path: None,
        }
    }
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
    /// State from an in-memory model and catalogue (used by `bookrec demo` and tests).
    pub fn new(model: FittedModel, catalog: Catalog, store: Store, settings: Settings) -> Self {
        let search = Arc::new(build_search(&catalog));
        let loaded = Loaded {
            fast: CandidateScorer::build(&model, settings.min_support),
            model,
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

    /// Loads the model file, the catalogue (if any) and opens the ratings database. Blocking.
    pub fn load(
        model_path: &Path,
        books_path: Option<&Path>,
        db_path: &Path,
        min_support: u32,
    ) -> anyhow::Result<Self> {
        let (model, _meta) = load_model(model_path)
            .with_context(|| format!("loading model {}", model_path.display()))?;
        let catalog = match books_path {
            Some(p) => {
                load_catalog(p, &NoProgress)
                    .with_context(|| format!("loading catalogue {}", p.display()))?
                    .0
            }
            None => Catalog::default(),
        };
        let store = Store::open(db_path)?;
        Ok(AppState::new(
            model,
            catalog,
            store,
            Settings {
                min_support,
                model_path: Some(model_path.to_path_buf()),
            },
        ))
    }

    /// A snapshot of the current model, catalogue and index.
    pub fn loaded(&self) -> Arc<Loaded> {
        self.inner.loaded.load_full()
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

    /// Re-reads the model file and swaps it in. On any error (missing, truncated, corrupted,
    /// wrong version) the current model keeps serving and the error is returned. Reloads are
    /// serialised; the catalogue and search index are kept.
    pub async fn reload(&self) -> Result<Arc<Loaded>, ReloadError> {
        let path = self
            .inner
            .settings
            .model_path
            .clone()
            .ok_or(ReloadError::NoModelFile)?;
        let _guard = self.inner.reload_lock.lock().await;
        let read_path = path.clone();
        let min_support = self.inner.settings.min_support;
        let (model, fast) = tokio::task::spawn_blocking(move || {
            load_model(&read_path).map(|(model, _meta)| {
                let fast = CandidateScorer::build(&model, min_support);
                (model, fast)
            })
        })
        .await
        .map_err(|e| ReloadError::Rejected(format!("loader task failed: {e}")))?
        .map_err(|e| ReloadError::Rejected(e.to_string()))?;
        let old = self.loaded();
        let fresh = Arc::new(Loaded {
            model,
            fast,
            catalog: Arc::clone(&old.catalog),
            search: Arc::clone(&old.search),
            loaded_at: SystemTime::now(),
        });
        self.inner.loaded.store(Arc::clone(&fresh));
        tracing::info!(path = %path.display(), users = fresh.model.users.len(),
            books = fresh.model.items.len(), "model reloaded");
        Ok(fresh)
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
