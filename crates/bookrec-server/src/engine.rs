//! The engine API this crate is written against, gathered in one place.
//!
//! TEMPORARY: `Book`, `Catalog`, `load_catalog` and `load_model` are stand-ins with the agreed
//! signatures until the data and io work lands in bookrec-core; then this module becomes plain
//! re-exports and the stand-ins are deleted.

pub use bookrec_core::models::{FittedModel, RecommendOptions, ScoredItem};

use std::collections::HashMap;
use std::path::Path;

use bookrec_core::progress::Progress;

#[derive(Clone, Debug, PartialEq)]
pub struct Book {
    pub id: String,
    pub title: String,
    pub author: String,
    pub year: Option<u16>,
    pub publisher: Option<String>,
    pub genre: Option<String>,
    pub image_url: Option<String>,
}

#[derive(Clone, Debug, Default)]
pub struct Catalog {
    books: Vec<Book>,
    index: HashMap<String, usize>,
}

impl Catalog {
    pub fn from_books(books: Vec<Book>) -> Self {
        let index = books
            .iter()
            .enumerate()
            .map(|(i, b)| (b.id.clone(), i))
            .collect();
        Catalog { books, index }
    }
    pub fn get(&self, id: &str) -> Option<&Book> {
        self.index.get(id).map(|&i| &self.books[i])
    }
    pub fn len(&self) -> usize {
        self.books.len()
    }
    pub fn is_empty(&self) -> bool {
        self.books.is_empty()
    }
    pub fn iter(&self) -> impl Iterator<Item = &Book> {
        self.books.iter()
    }
}

#[derive(Clone, Debug, Default)]
pub struct CatalogReport;

pub fn load_catalog(
    path: &Path,
    _progress: &dyn Progress,
) -> bookrec_core::Result<(Catalog, CatalogReport)> {
    Err(bookrec_core::Error::Invalid(format!(
        "{}: catalogue loading is not available in this build",
        path.display()
    )))
}

#[derive(Clone, Debug, Default)]
pub struct ModelMeta;

pub fn load_model(path: &Path) -> bookrec_core::Result<(FittedModel, ModelMeta)> {
    Err(bookrec_core::Error::ModelFile {
        path: path.to_path_buf(),
        message: "model loading is not available in this build".into(),
    })
}

/// TEMPORARY stand-in for `FittedModel::explain` / `explain_for_ratings` (inherent methods
/// take precedence once they exist, then this trait is deleted).
pub trait ExplainStandIn {
    fn explain(&self, user: u32, item: u32, n: usize) -> Vec<ScoredItem>;
    fn explain_for_ratings(&self, ratings: &[(u32, f32)], item: u32, n: usize) -> Vec<ScoredItem>;
}

impl ExplainStandIn for FittedModel {
    fn explain(&self, _user: u32, _item: u32, _n: usize) -> Vec<ScoredItem> {
        Vec::new()
    }
    fn explain_for_ratings(
        &self,
        _ratings: &[(u32, f32)],
        _item: u32,
        _n: usize,
    ) -> Vec<ScoredItem> {
        Vec::new()
    }
}
