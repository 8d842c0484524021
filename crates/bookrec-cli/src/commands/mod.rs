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
    load_catalog, load_ratings, Catalog, CleaningReport, DuplicatePolicy, EditionMap, ItemGroups,
    ItemLevel, LoadOptions,
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

    /// The works of `train`'s books and of `others`' (e.g. a test set, whose held-out
    /// editions then count as their training works), when there is a catalogue.
    pub fn editions(&self, train: &Interactions, others: &[&Interactions]) -> Option<EditionMap> {
        self.catalog
            .as_deref()
            .map(|c| EditionMap::build(c, train, others))
    }

    /// `data` as a model is fitted on it: with `--items works`, editions merged into works
    /// (by `editions`, else by `data`'s own works); with a catalogue, its book groups attached
    /// (side information for `hybrid`).
    pub fn for_fitting(
        &self,
        data: Interactions,
        editions: Option<&EditionMap>,
        duplicates: DuplicatePolicy,
    ) -> Result<Interactions> {
        let Some(catalog) = self.catalog.as_deref() else {
            return Ok(data);
        };
        let mut data = match self.level {
            ItemLevel::Isbn => data,
            ItemLevel::Works => {
                let own;
                let editions = match editions {
                    Some(e) => e,
                    None => {
                        own = EditionMap::build(catalog, &data, &[]);
                        &own
                    }
                };
                let (merged, report) = editions.merge(&data, duplicates)?;
                tracing::info!("{report}");
                merged
            }
        };
        let groups = ItemGroups::from_catalog(catalog, &data.items);
        tracing::info!(
            "book groups: {}",
            groups
                .columns
                .iter()
                .map(|c| format!("{} {}", c.n_groups, c.kind.name()))
                .collect::<Vec<_>>()
                .join(", ")
        );
        data.item_groups = Some(Arc::new(groups));
        Ok(data)
    }

    /// A train/test split of ratings as the file has them, re-expressed for evaluation: train
    /// ready for fitting ([`Self::for_fitting`], editions merged by `duplicates` when training
    /// on works) and, with a catalogue, held-out editions merged into their training works
    /// whichever level the model is trained at (the ranking metrics count works then), so
    /// ISBN-level and work-level training score the same held-out ratings. A reader's
    /// held-out ratings of several editions are scored as their mean: the target is not the
    /// training data, so `--duplicates` (which may be `error`) does not decide it.
    pub fn holdout(
        &self,
        train: Interactions,
        test: Interactions,
        duplicates: DuplicatePolicy,
    ) -> Result<(Interactions, Interactions)> {
        let editions = self.editions(&train, &[&test]);
        let test = match &editions {
            Some(editions) => editions.merge(&test, DuplicatePolicy::Mean)?.0,
            None => test,
        };
        Ok((
            self.for_fitting(train, editions.as_ref(), duplicates)?,
            test,
        ))
    }

    /// Loads a ratings file and prepares it for fitting ([`Self::for_fitting`]).
    pub fn load_for_fitting(&self, path: &Path, opts: &LoadOptions) -> Result<Interactions> {
        let (data, _) = load(path, opts)?;
        self.for_fitting(data, None, opts.duplicates)
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
