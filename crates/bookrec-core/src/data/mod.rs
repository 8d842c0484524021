//! Data: reading ratings and catalogue files as users hand them over, cleaning them with a
//! report, and encoding them into [`Interactions`] (vocabularies + sparse matrix).
//!
//! * [`load_ratings`] / [`parse_ratings`]: sniff the format ([`LoadOptions`] forces any part
//!   of it), parse streaming with bounded memory (records over [`MAX_RECORD`] are bad lines),
//!   clean (implicit zeros, rating scale, duplicates, bad lines, missing values) and report
//!   ([`CleaningReport`]).
//! * [`load_catalog`] / [`parse_catalog`]: the book catalogue ([`Catalog`] of [`Book`]s), with
//!   mojibake repair ([`text`]) and a [`CatalogReport`].
//! * [`EditionMap`]: ratings of several editions of one work ([`Works`]) merged into one
//!   rating of the work, for training on works (`--items works`).
//! * Ids (users and books, in both kinds of file) are normalised by one documented rule:
//!   [`normalize_id`] (see [`ids`]).

mod catalog;
mod csv;
mod editions;
mod groups;
pub mod ids;
mod interactions;
mod intern;
mod options;
mod ratings;
mod report;
mod sniff;
pub mod text;
mod vocab;
mod works;

pub use catalog::{
    load_catalog, missing_from_catalog, parse_catalog, Book, Catalog, CatalogReport, MissingBooks,
};
pub use csv::{MAX_FIELDS, MAX_RECORD};
pub use editions::{EditionMap, EditionMerge, ItemLevel, ItemPrep};
pub use groups::{normalize_name, GroupColumn, GroupKind, ItemGroups, NO_GROUP};
pub use ids::{normalize_id, normalize_id_str};
pub use interactions::{AlignedRatings, Csr, Interactions, RatingScale};
pub use options::{
    parse_rating_scale, parse_separator, BadLinePolicy, ColumnRef, DuplicatePolicy, Encoding,
    LoadOptions,
};
pub use ratings::{load_ratings, parse_ratings};
pub use report::{
    BadLine, BadLines, CleaningReport, ColumnsUsed, DetectedFormat, Duplicates, HistogramBin,
    IdCounts, MissingValues, OutOfScale, OutOfScaleValue, MAX_EXAMPLES,
};
pub use vocab::Vocab;
pub use works::{isbn_stem, surname, work_key, work_title, Works};
