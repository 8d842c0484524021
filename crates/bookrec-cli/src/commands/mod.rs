//! One module per verb. Each `run` parses nothing and decides nothing the core can decide.

pub mod accounts;
pub mod demo;
pub mod evaluate;
pub mod inspect;
pub mod recommend;
pub mod serve;
pub mod spark;
pub mod synth;
pub mod train;
pub mod tune;

use std::path::Path;
use std::sync::Arc;

use anyhow::Result;
use bookrec_core::data::{
    load_catalog, load_ratings, Catalog, CleaningReport, DuplicatePolicy, EditionMerge, ItemLevel,
    ItemPrep, LoadOptions,
};
use bookrec_core::Interactions;

use crate::args::BooksArgs;
use crate::progress::Bars;

/// Loads and cleans a ratings file with progress, logging the one-line outcome.
pub fn load(path: &Path, opts: &LoadOptions) -> Result<(Interactions, CleaningReport)> {
    let (data, report) = load_ratings(path, opts, &Bars::new())?;
    tracing::info!(
        "{}: {} explicit ratings, {} implicit, {} users, {} books",
        path.display(),
        data.len(),
        data.n_implicit(),
        data.n_users(),
        data.n_items()
    );
    Ok((data, report))
}

/// The catalogue of `--books` and the `--items` level: what turns loaded ratings into the
/// ratings a model is fitted on, and what evaluation ranks.
pub struct Books {
    pub catalog: Option<Arc<Catalog>>,
    pub level: ItemLevel,
}

impl Books {
    pub fn load(args: &BooksArgs) -> Result<Self> {
        let level = args.item_level()?;
        let catalog = load_books(args.books.as_deref())?.map(Arc::new);
        Ok(Books { catalog, level })
    }

    /// The core's preparation for this catalogue and level ([`ItemPrep`]), if there is a
    /// catalogue; without one, ratings are fitted as loaded.
    fn prep(&self) -> Option<ItemPrep<'_>> {
        self.catalog.as_deref().map(|catalog| ItemPrep {
            catalog,
            level: self.level,
        })
    }

    /// `data` as a model is fitted on it ([`ItemPrep::for_fitting`]): with `--items works`,
    /// editions merged into works; with a catalogue, its book groups attached.
    pub fn for_fitting(
        &self,
        data: Interactions,
        duplicates: DuplicatePolicy,
    ) -> Result<Interactions> {
        let Some(prep) = self.prep() else {
            return Ok(data);
        };
        let (data, merge) = prep.for_fitting(data, None, duplicates)?;
        log_prepared(&data, merge);
        Ok(data)
    }

    /// A train/test split of ratings as the file has them, re-expressed for evaluation
    /// ([`ItemPrep::holdout`]: held-out editions merged into their training works).
    pub fn holdout(
        &self,
        train: Interactions,
        test: Interactions,
        duplicates: DuplicatePolicy,
    ) -> Result<(Interactions, Interactions)> {
        let Some(prep) = self.prep() else {
            return Ok((train, test));
        };
        let (train, test, merge) = prep.holdout(train, test, duplicates)?;
        log_prepared(&train, merge);
        Ok((train, test))
    }

    /// Loads a ratings file and prepares it for fitting ([`Self::for_fitting`]).
    pub fn load_for_fitting(&self, path: &Path, opts: &LoadOptions) -> Result<Interactions> {
        let (data, _) = load(path, opts)?;
        self.for_fitting(data, opts.duplicates)
    }
}

/// Logs what preparing ratings for fitting did: the edition merge, the book groups.
fn log_prepared(data: &Interactions, merge: Option<EditionMerge>) {
    if let Some(merge) = merge {
        tracing::info!("{merge}");
    }
    if let Some(groups) = &data.item_groups {
        tracing::info!(
            "book groups: {}",
            groups
                .columns
                .iter()
                .map(|c| format!("{} {}", c.n_groups, c.kind.name()))
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
}

/// Loads a catalogue if a path is given.
pub fn load_books(path: Option<&Path>) -> Result<Option<Catalog>> {
    match path {
        None => Ok(None),
        Some(p) => Ok(Some(load_catalog(p, &Bars::new())?.0)),
    }
}

/// "Title — Author (year)" for a book id, or the bare id when there is no catalogue entry.
pub fn describe(catalog: Option<&Catalog>, id: &str) -> (String, String) {
    match catalog.and_then(|c| c.get(id)) {
        Some(b) => {
            let year = b.year.map(|y| format!(" ({y})")).unwrap_or_default();
            (format!("{}{year}", b.title), b.author.clone())
        }
        None if catalog.is_some() => (String::from("(not in catalogue)"), String::new()),
        None => (String::new(), String::new()),
    }
}
