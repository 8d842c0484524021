//! Training on works: a reader's ratings of several editions of one work ([`Works`]) merged
//! into one rating of the work, before fitting (`--items works`).
//!
//! Book-Crossing rates ISBN rows: *The Fellowship of the Ring* has a dozen editions, each with
//! its own handful of ratings, so a factor model learns a dozen weak item vectors instead of
//! one strong one. [`EditionMap`] re-expresses ratings so that each work is one item, named by
//! its representative edition's id (so titles and covers still resolve in the catalogue). A
//! reader who rated two editions of a work keeps one rating of it, chosen by the
//! [`DuplicatePolicy`] that governs repeated ratings of one book (`last`: the later row in
//! file order; `mean`: their mean; `error`: refused, naming the reader and both books).

use std::fmt;
use std::str::FromStr;
use std::sync::Arc;

use rustc_hash::FxHashMap;
use serde::{Deserialize, Serialize};

use super::{Catalog, DuplicatePolicy, Interactions, ItemGroups, Vocab, Works};
use crate::{Error, Result};

/// What the models see as one item.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ItemLevel {
    /// Each book id (ISBN) as the ratings file has it.
    #[default]
    Isbn,
    /// Each work: the editions of one book merged ([`EditionMap`]); needs a catalogue.
    Works,
}

impl FromStr for ItemLevel {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self> {
        match s.trim().to_ascii_lowercase().as_str() {
            "isbn" | "isbns" | "books" | "editions" => Ok(ItemLevel::Isbn),
            "works" | "work" => Ok(ItemLevel::Works),
            _ => Err(Error::param("items", s, "expected isbn or works")),
        }
    }
}

impl fmt::Display for ItemLevel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ItemLevel::Isbn => "isbn",
            ItemLevel::Works => "works",
        })
    }
}

/// What [`EditionMap::merge`] did to one set of ratings.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct EditionMerge {
    /// Explicit ratings before and after.
    pub ratings_before: usize,
    pub ratings_after: usize,
    /// (reader, work) pairs that had ratings of two or more editions.
    pub pairs_merged: usize,
    /// Distinct books before, distinct works after.
    pub books_before: usize,
    pub works_after: usize,
}

impl fmt::Display for EditionMerge {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "editions merged into works: {} books → {} works, {} ratings → {} ({} readers' ratings of several editions of one work merged)",
            self.books_before, self.works_after, self.ratings_before, self.ratings_after, self.pairs_merged
        )
    }
}

/// Book id → id of its work's representative edition, for a training set's books (and the
/// books of other sets given with it, such as a test set, so that held-out editions join
/// the training set's works).
#[derive(Clone, Debug)]
pub struct EditionMap {
    /// Only ids whose representative is another id; every other id stands for itself.
    representative: FxHashMap<String, String>,
}

impl EditionMap {
    /// Works of the books of `train` and `others` by `catalog` ([`Works::build`]); each work is
    /// represented by the edition with the most ratings in `train` (with a title and cover
    /// first), so a book only `others` hold never displaces a trained edition.
    pub fn build(catalog: &Catalog, train: &Interactions, others: &[&Interactions]) -> Self {
        let mut items: Vocab = (*train.items).clone();
        for other in others {
            for id in other.items.ids() {
                items.intern(id);
            }
        }
        let mut counts = train.item_counts();
        counts.resize(items.len(), 0);
        let works = Works::build(catalog, &items, &counts);
        let representative = (0..items.len() as u32)
            .filter_map(|i| {
                let rep = works.representative(works.work_of(i)?);
                (rep != i).then(|| (items.id(i).to_string(), items.id(rep).to_string()))
            })
            .collect();
        EditionMap { representative }
    }

    /// The id of `id`'s work: its representative edition's id (`id` itself for a book this map
    /// does not know or that represents its work).
    pub fn work_id<'a>(&'a self, id: &'a str) -> &'a str {
        self.representative.get(id).map_or(id, String::as_str)
    }

    /// `data` with one item per work ([`Self::work_id`]) and one rating per reader and work
    /// under `policy` (see the module documentation). Implicit interactions follow their
    /// books; one with a work the reader rated, or repeated, is dropped. The result has no
    /// item groups: attach the catalogue's groups for the new items if a model needs them.
    ///
    /// Errors: with [`DuplicatePolicy::Error`], the first reader who rated two editions of one
    /// work ([`Error::Invalid`]).
    pub fn merge(
        &self,
        data: &Interactions,
        policy: DuplicatePolicy,
    ) -> Result<(Interactions, EditionMerge)> {
        let mut items = Vocab::new();
        let work_of: Vec<u32> = data
            .items
            .ids()
            .map(|id| items.intern(self.work_id(id)))
            .collect();

        // Output row of each (reader, work), in order of first rating; the sum and count
        // serve `Mean`, the latest row `KeepLast`.
        let mut row_of: FxHashMap<(u32, u32), usize> = FxHashMap::default();
        let (mut user, mut item, mut rating) = (Vec::new(), Vec::new(), Vec::new());
        let mut timestamp = data.timestamp.as_ref().map(|_| Vec::new());
        let (mut sum, mut count, mut source) = (Vec::new(), Vec::<u32>::new(), Vec::new());
        for k in 0..data.len() {
            let (u, w, r) = (data.user[k], work_of[data.item[k] as usize], data.rating[k]);
            let ts = data.timestamp.as_ref().map(|t| t[k]);
            match row_of.get(&(u, w)) {
                None => {
                    row_of.insert((u, w), user.len());
                    user.push(u);
                    item.push(w);
                    rating.push(r);
                    if let (Some(out), Some(ts)) = (timestamp.as_mut(), ts) {
                        out.push(ts);
                    }
                    sum.push(f64::from(r));
                    count.push(1);
                    source.push(data.item[k]);
                }
                Some(&row) => {
                    if policy == DuplicatePolicy::Error {
                        return Err(Error::Invalid(format!(
                            "reader {} rated two editions of one work ({} and {}); merging them needs --duplicates last or mean",
                            data.users.id(u),
                            data.items.id(source[row]),
                            data.items.id(data.item[k])
                        )));
                    }
                    sum[row] += f64::from(r);
                    count[row] += 1;
                    rating[row] = match policy {
                        DuplicatePolicy::Mean => (sum[row] / f64::from(count[row])) as f32,
                        _ => r,
                    };
                    if let (Some(out), Some(ts)) = (timestamp.as_mut(), ts) {
                        out[row] = out[row].max(ts);
                    }
                }
            }
        }

        let (mut implicit_user, mut implicit_item) = (Vec::new(), Vec::new());
        for (&u, &i) in data.implicit_user.iter().zip(&data.implicit_item) {
            let w = work_of[i as usize];
            if let std::collections::hash_map::Entry::Vacant(e) = row_of.entry((u, w)) {
                e.insert(usize::MAX);
                implicit_user.push(u);
                implicit_item.push(w);
            }
        }

        let report = EditionMerge {
            ratings_before: data.len(),
            ratings_after: user.len(),
            pairs_merged: count.iter().filter(|&&c| c > 1).count(),
            books_before: data.n_items(),
            works_after: items.len(),
        };
        let merged = Interactions {
            users: Arc::clone(&data.users),
            items: Arc::new(items),
            user,
            item,
            rating,
            timestamp,
            implicit_user,
            implicit_item,
            scale: data.scale,
            item_groups: None,
        };
        Ok((merged, report))
    }
}

/// A catalogue and an item level: what turns loaded ratings into the ratings a model is
/// fitted on and evaluated against (the CLI's `--books FILE --items LEVEL`, Python's
/// `Ratings.with_books` and `bookrec.holdout_with_books`).
#[derive(Clone, Copy, Debug)]
pub struct ItemPrep<'a> {
    pub catalog: &'a Catalog,
    pub level: ItemLevel,
}

impl ItemPrep<'_> {
    /// `data` as a model is fitted on it: at [`ItemLevel::Works`], editions merged into works
    /// (by `editions`, else by `data`'s own works) under `duplicates`, with what the merge did;
    /// at either level the catalogue's book groups attached (side information for `hybrid`).
    pub fn for_fitting(
        &self,
        data: Interactions,
        editions: Option<&EditionMap>,
        duplicates: DuplicatePolicy,
    ) -> Result<(Interactions, Option<EditionMerge>)> {
        let (mut data, merge) = match self.level {
            ItemLevel::Isbn => (data, None),
            ItemLevel::Works => {
                let own;
                let editions = match editions {
                    Some(e) => e,
                    None => {
                        own = EditionMap::build(self.catalog, &data, &[]);
                        &own
                    }
                };
                let (merged, report) = editions.merge(&data, duplicates)?;
                (merged, Some(report))
            }
        };
        data.item_groups = Some(Arc::new(ItemGroups::from_catalog(
            self.catalog,
            &data.items,
        )));
        Ok((data, merge))
    }

    /// A train/test split of ratings as the file has them, re-expressed for evaluation: train
    /// ready for fitting ([`Self::for_fitting`]) and held-out editions merged into their
    /// training works whichever level the model is trained at (the ranking metrics count
    /// works then), so ISBN-level and work-level training score the same held-out ratings. A
    /// reader's held-out ratings of several editions are scored as their mean: the target is
    /// not the training data, so `duplicates` (which may be `Error`) does not decide it.
    pub fn holdout(
        &self,
        train: Interactions,
        test: Interactions,
        duplicates: DuplicatePolicy,
    ) -> Result<(Interactions, Interactions, Option<EditionMerge>)> {
        let editions = EditionMap::build(self.catalog, &train, &[&test]);
        let (test, _) = editions.merge(&test, DuplicatePolicy::Mean)?;
        let (train, merge) = self.for_fitting(train, Some(&editions), duplicates)?;
        Ok((train, test, merge))
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::data::{Book, RatingScale};

    fn book(id: &str, title: &str) -> Book {
        Book {
            id: id.into(),
            title: title.into(),
            author: "J. R. R. Tolkien".into(),
            year: None,
            publisher: None,
            genre: None,
            image_url: None,
        }
    }

    /// "a" and "b" are editions of one work ("b" more rated), "c" another work.
    fn catalog() -> Catalog {
        Catalog::from_books(vec![
            book("a", "The Hobbit (Paperback)"),
            book("b", "The Hobbit: or There and Back Again"),
            book("c", "The Silmarillion"),
        ])
    }

    fn ratings(rows: &[(&str, &str, f32)]) -> Interactions {
        Interactions::from_triplets(rows.iter().copied(), Some(RatingScale::new(1.0, 10.0)))
    }

    #[test]
    fn editions_become_one_rating_of_the_work() {
        let train = ratings(&[
            ("u1", "a", 4.0),
            ("u1", "b", 8.0),
            ("u2", "b", 6.0),
            ("u2", "c", 9.0),
            ("u3", "b", 7.0),
        ]);
        let map = EditionMap::build(&catalog(), &train, &[]);
        assert_eq!(map.work_id("a"), "b");
        assert_eq!(map.work_id("b"), "b");
        assert_eq!(map.work_id("unknown"), "unknown");

        let (last, report) = map.merge(&train, DuplicatePolicy::KeepLast).unwrap();
        let rows = |d: &Interactions| -> Vec<(String, String, f32)> {
            (0..d.len())
                .map(|k| {
                    (
                        d.users.id(d.user[k]).to_string(),
                        d.items.id(d.item[k]).to_string(),
                        d.rating[k],
                    )
                })
                .collect()
        };
        assert_eq!(
            rows(&last),
            vec![
                ("u1".into(), "b".into(), 8.0),
                ("u2".into(), "b".into(), 6.0),
                ("u2".into(), "c".into(), 9.0),
                ("u3".into(), "b".into(), 7.0),
            ]
        );
        assert_eq!(
            report,
            EditionMerge {
                ratings_before: 5,
                ratings_after: 4,
                pairs_merged: 1,
                books_before: 3,
                works_after: 2,
            }
        );
        let (mean, _) = map.merge(&train, DuplicatePolicy::Mean).unwrap();
        assert_eq!(mean.rating[0], 6.0);
        let err = map.merge(&train, DuplicatePolicy::Error).unwrap_err();
        assert!(
            err.to_string()
                .contains("reader u1 rated two editions of one work (a and b)"),
            "{err}"
        );
    }

    #[test]
    fn held_out_editions_join_the_training_work_and_implicit_pairs_follow() {
        let train = ratings(&[("u1", "b", 8.0), ("u2", "c", 9.0)]);
        let mut test = ratings(&[("u1", "a", 5.0)]);
        // A held-out edition ("a") only the test set has, and an implicit interaction with
        // a work the reader also rated, which is dropped.
        let map = EditionMap::build(&catalog(), &train, &[&test]);
        assert_eq!(map.work_id("a"), "b");
        test.implicit_user = vec![0, 0];
        test.implicit_item = vec![0, 0];
        let (merged, _) = map.merge(&test, DuplicatePolicy::KeepLast).unwrap();
        assert_eq!(merged.items.id(merged.item[0]), "b");
        assert!(merged.implicit_user.is_empty());
    }

    /// Preparing for fitting attaches the book groups at both levels and merges only at
    /// `works`; a holdout scores the test set's ratings of two editions as one, their mean,
    /// at either level, whatever the training policy.
    #[test]
    fn item_prep_merges_at_the_works_level_and_holds_out_works_at_both() {
        let catalog = catalog();
        let data = ratings(&[("u1", "a", 4.0), ("u1", "b", 8.0), ("u2", "c", 9.0)]);
        let prep = |level| ItemPrep {
            catalog: &catalog,
            level,
        };
        let (isbn, merge) = prep(ItemLevel::Isbn)
            .for_fitting(data.clone(), None, DuplicatePolicy::Error)
            .unwrap();
        assert!(merge.is_none() && isbn.item_groups.is_some());
        assert_eq!((isbn.len(), isbn.n_items()), (3, 3));
        let (works, merge) = prep(ItemLevel::Works)
            .for_fitting(data.clone(), None, DuplicatePolicy::Mean)
            .unwrap();
        assert!(works.item_groups.is_some());
        assert_eq!((works.len(), works.n_items()), (2, 2));
        assert_eq!(merge.unwrap().pairs_merged, 1);
        assert!(prep(ItemLevel::Works)
            .for_fitting(data, None, DuplicatePolicy::Error)
            .is_err());

        let train = ratings(&[("u1", "b", 8.0), ("u2", "c", 9.0), ("u3", "b", 7.0)]);
        let test = ratings(&[("u2", "a", 4.0), ("u2", "b", 6.0)]);
        for level in [ItemLevel::Isbn, ItemLevel::Works] {
            let (_, test, _) = prep(level)
                .holdout(train.clone(), test.clone(), DuplicatePolicy::Error)
                .unwrap();
            assert_eq!(test.len(), 1, "{level}");
            assert_eq!(test.items.id(test.item[0]), "b");
            assert_eq!(test.rating[0], 5.0);
        }
    }

    #[test]
    fn item_levels_parse() {
        assert_eq!("works".parse::<ItemLevel>().unwrap(), ItemLevel::Works);
        assert_eq!("ISBN".parse::<ItemLevel>().unwrap(), ItemLevel::Isbn);
        assert!("pages".parse::<ItemLevel>().is_err());
    }
}
