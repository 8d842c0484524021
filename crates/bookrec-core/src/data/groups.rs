//! Book groups from the catalogue: the side information the `hybrid` model shrinks book biases
//! towards.
//!
//! Each book of the item vocabulary gets at most one group per [`GroupKind`]: its author, its
//! work (its ISBN editions: hardcover, paperback, book club…, as [`Works`] defines them, the
//! definition every list uses), its publisher and its five-year publication period. Names are compared after
//! [`normalize_name`], so "J. K. Rowling" and "J.K. ROWLING" are one author. Books missing from
//! the catalogue, or with an empty field, have no group of that kind ([`NO_GROUP`]).
//!
//! The groups ride along with the [`Interactions`](super::Interactions) they index
//! (`Interactions::item_groups`, shared by every split of the data since splits share the item
//! vocabulary), so every fit path (evaluate, cross-validation, tune) sees them without extra
//! arguments; models that do not use side information ignore them.

use rustc_hash::FxHashMap;

use super::{Catalog, Vocab, Works};

/// "This book has no group of this kind."
pub const NO_GROUP: u32 = u32::MAX;

/// What a group column groups books by.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum GroupKind {
    /// Normalised author name.
    Author,
    /// The book's work ([`Works`]: ISBN forms of one number, or the same title without
    /// subtitle and edition notes by the same author's surname); books of works without any
    /// catalogue entry have none.
    Work,
    /// Normalised publisher name.
    Publisher,
    /// Publication year / 5 (years the catalogue flags as impossible have none).
    Period,
}

impl GroupKind {
    pub const ALL: [GroupKind; 4] = [
        GroupKind::Author,
        GroupKind::Work,
        GroupKind::Publisher,
        GroupKind::Period,
    ];

    pub fn name(self) -> &'static str {
        match self {
            GroupKind::Author => "author",
            GroupKind::Work => "work",
            GroupKind::Publisher => "publisher",
            GroupKind::Period => "period",
        }
    }
}

/// One kind of group: the group of each book (index = book index, [`NO_GROUP`] = none) and the
/// number of groups (ids are `0..n_groups`).
#[derive(Clone, Debug, PartialEq)]
pub struct GroupColumn {
    pub kind: GroupKind,
    pub group: Vec<u32>,
    pub n_groups: usize,
}

/// Group columns over an item vocabulary.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ItemGroups {
    pub columns: Vec<GroupColumn>,
}

/// Lower-cased alphanumeric characters only: "J. K. Rowling" → "jkrowling".
pub fn normalize_name(s: &str) -> String {
    s.chars()
        .filter(|c| c.is_alphanumeric())
        .flat_map(char::to_lowercase)
        .collect()
}

/// Interns keys into dense group ids; an empty key is [`NO_GROUP`].
#[derive(Default)]
struct Interner {
    ids: FxHashMap<String, u32>,
}

impl Interner {
    fn id(&mut self, key: String) -> u32 {
        if key.is_empty() {
            return NO_GROUP;
        }
        let next = self.ids.len() as u32;
        *self.ids.entry(key).or_insert(next)
    }
}

impl ItemGroups {
    /// Groups of every book of `items` found in `catalog` (ids are looked up as normalised by
    /// the catalogue loader and the ratings loader alike).
    pub fn from_catalog(catalog: &Catalog, items: &Vocab) -> Self {
        let mut interners: Vec<Interner> =
            GroupKind::ALL.iter().map(|_| Interner::default()).collect();
        let mut columns: Vec<Vec<u32>> = GroupKind::ALL
            .iter()
            .map(|_| vec![NO_GROUP; items.len()])
            .collect();
        for (idx, id) in items.ids().enumerate() {
            let Some(book) = catalog.get(id) else {
                continue;
            };
            let author = normalize_name(&book.author);
            for (k, kind) in GroupKind::ALL.iter().enumerate() {
                let key = match kind {
                    GroupKind::Author => author.clone(),
                    GroupKind::Work => continue,
                    GroupKind::Publisher => {
                        normalize_name(book.publisher.as_deref().unwrap_or_default())
                    }
                    GroupKind::Period => book.year.map(|y| (y / 5).to_string()).unwrap_or_default(),
                };
                columns[k][idx] = interners[k].id(key);
            }
        }
        // Works come from their one definition; a work with no catalogued edition has no
        // side information to share, so it gets no group (as before).
        let works = Works::build(catalog, items, &[]);
        let k = GroupKind::ALL
            .iter()
            .position(|&g| g == GroupKind::Work)
            .unwrap_or_default();
        for idx in 0..items.len() as u32 {
            let Some(w) = works.work_of(idx) else {
                continue;
            };
            let rep = works.representative(w);
            if works.has_catalog() && works.is_catalogued(rep) {
                columns[k][idx as usize] = interners[k].id(format!("{w}"));
            }
        }
        ItemGroups {
            columns: GroupKind::ALL
                .iter()
                .zip(columns)
                .zip(interners)
                .map(|((&kind, group), interner)| GroupColumn {
                    kind,
                    group,
                    n_groups: interner.ids.len(),
                })
                .collect(),
        }
    }

    /// The column of `kind`, if present.
    pub fn column(&self, kind: GroupKind) -> Option<&GroupColumn> {
        self.columns.iter().find(|c| c.kind == kind)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::data::Book;

    fn book(id: &str, title: &str, author: &str, year: Option<u16>, publisher: &str) -> Book {
        Book {
            id: id.into(),
            title: title.into(),
            author: author.into(),
            year,
            publisher: Some(publisher.into()),
            genre: None,
            image_url: None,
        }
    }

    #[test]
    fn names_and_titles_normalise() {
        assert_eq!(normalize_name("J. K. Rowling"), "jkrowling");
        assert_eq!(normalize_name("J.K. ROWLING"), "jkrowling");
    }

    #[test]
    fn editions_share_a_work_and_missing_books_have_no_group() {
        let catalog = Catalog::from_books(vec![
            book("A", "Dune", "Frank Herbert", Some(1990), "Ace"),
            book("B", "Dune (Paperback)", "HERBERT, FRANK", Some(1999), "ace"),
            book("C", "Dune", "Frank Herbert", None, ""),
            book("D", "Children of Dune", "Frank Herbert", Some(1976), "Ace"),
        ]);
        let mut items = Vocab::new();
        for id in ["A", "B", "C", "D", "E"] {
            items.intern(id);
        }
        let g = ItemGroups::from_catalog(&catalog, &items);
        let col = |k| &g.column(k).unwrap().group;
        let work = col(GroupKind::Work);
        assert_eq!(work[0], work[2]);
        assert_eq!(
            work[0], work[1],
            "a reversed author name is the same surname"
        );
        assert_ne!(work[0], work[3]);
        assert_eq!(work[4], NO_GROUP);
        let author = col(GroupKind::Author);
        assert_eq!((author[0], author[3]), (author[2], author[0]));
        let publisher = col(GroupKind::Publisher);
        assert_eq!(publisher[0], publisher[1]);
        assert_eq!(publisher[2], NO_GROUP);
        let period = col(GroupKind::Period);
        assert_eq!(period[2], NO_GROUP);
        assert_ne!(period[0], period[1]);
        assert_eq!(g.column(GroupKind::Author).unwrap().n_groups, 2);
    }
}
