//! The engine API this crate uses, gathered in one place (all from bookrec-core).

pub use bookrec_core::data::{load_catalog, Book, Catalog, CatalogReport};
pub use bookrec_core::model_file::{load_model, ModelMeta};
pub use bookrec_core::models::{
    Fallback, FittedModel, ModelKind, Prediction, RecommendOptions, ScoredItem,
};
pub use bookrec_core::recommend::{check_min_rating, check_pair, PairCheck, Served};
