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

use anyhow::Result;
use bookrec_core::data::{
    load_catalog, load_ratings, Catalog, CleaningReport, ItemGroups, LoadOptions,
};
use bookrec_core::Interactions;

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

/// Loads a ratings file and, if `books` is given, attaches the catalogue's book groups
/// (side information for `hybrid`) to it.
pub fn load_with_books(
    path: &Path,
    opts: &LoadOptions,
    books: Option<&Catalog>,
) -> Result<(Interactions, CleaningReport)> {
    let (mut data, report) = load(path, opts)?;
    if let Some(catalog) = books {
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
        data.item_groups = Some(std::sync::Arc::new(groups));
    }
    Ok((data, report))
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
