//! Works: the ISBN editions of one book (hardcover, paperback, book club, ISBN-13…) grouped
//! into one thing a reader recognises. One definition, used by every list (see
//! [`crate::recommend::lists`]) and by the `hybrid` model's work groups
//! ([`super::GroupKind::Work`]).
//!
//! Two books of an item vocabulary are one work when
//! 1. their ids are the ISBN-10 and ISBN-13 forms of one number ([`isbn_stem`]: the nine
//!    digits the two forms share), or
//! 2. their catalogue entries agree on [`work_key`]: the title without parenthesised or
//!    bracketed parts and without a subtitle after `:` or `;`, reduced to lower-case letters
//!    and digits, plus the author's surname ([`surname`]).
//!
//! A book without a catalogue entry (or with an empty title or author) is its own work unless
//! rule 1 joins it to one. Each work has a representative edition: the one readers know best
//! (a catalogue entry with a title first, then one with a cover, then the most ratings).
//!
//! Measured on Book-Crossing (README, "Works"): rule 2 merges 270k catalogue entries into
//! fewer works; false merges were counted on a sample checked by eye.

use rustc_hash::FxHashMap;

use super::groups::normalize_name;
use super::{Catalog, Vocab};

/// The nine digits shared by the ISBN-10 and ISBN-13 (978-prefixed) forms of one number, or
/// `None` for an id that is neither form. `0345339703` and `9780345339706` → `034533970`.
/// Check digits are not verified: ids come from the data as written.
pub fn isbn_stem(id: &str) -> Option<&str> {
    let b = id.as_bytes();
    match b.len() {
        10 if b[..9].iter().all(u8::is_ascii_digit) && (b[9].is_ascii_digit() || b[9] == b'X') => {
            Some(&id[..9])
        }
        13 if id.starts_with("978") && b.iter().all(u8::is_ascii_digit) => Some(&id[3..12]),
        _ => None,
    }
}

/// Name suffixes that are not surnames ("Martin Luther King Jr." → "king").
const SUFFIXES: &[&str] = &["jr", "sr", "ii", "iii", "iv", "phd", "md", "esq"];

/// An author's surname, normalised: the first author of "A and B" / "A & B" / "A; B" / "A/B";
/// of "Surname, Given" the part before the comma, else the last word that is not a suffix
/// such as "Jr.". "J. R. R. Tolkien" and "TOLKIEN, J.R.R." → "tolkien".
pub fn surname(author: &str) -> String {
    let lower = author.to_lowercase();
    let first = [" and ", " & ", ";", "/"]
        .iter()
        .fold(lower.as_str(), |s, sep| s.split(sep).next().unwrap_or(s));
    if let Some((before, _)) = first.split_once(',') {
        let s = normalize_name(before);
        if !s.is_empty() && !SUFFIXES.contains(&s.as_str()) {
            return s;
        }
    }
    first
        .split(|c: char| c.is_whitespace() || c == '.' || c == ',')
        .map(normalize_name)
        .rfind(|w| !w.is_empty() && !SUFFIXES.contains(&w.as_str()))
        .unwrap_or_default()
}

/// A title reduced to what stays the same across editions: parenthesised and bracketed parts
/// dropped ("(Paperback)", "[Harry Potter 1]"), the subtitle after the first `:` or `;` dropped,
/// then lower-case letters and digits only. The whole title normalised if that leaves nothing.
pub fn work_title(title: &str) -> String {
    let mut out = String::with_capacity(title.len());
    let mut depth = 0usize;
    for c in title.chars() {
        match c {
            '(' | '[' => depth += 1,
            ')' | ']' => depth = depth.saturating_sub(1),
            ':' | ';' if depth == 0 => break,
            _ if depth == 0 => out.push(c),
            _ => {}
        }
    }
    let t = normalize_name(&out);
    if t.is_empty() {
        normalize_name(title)
    } else {
        t
    }
}

/// The key two catalogued editions of one work share: `work_title|surname`; empty when the
/// title or the author is (such a book is a work of its own).
pub fn work_key(title: &str, author: &str) -> String {
    let (t, s) = (work_title(title), surname(author));
    if t.is_empty() || s.is_empty() {
        String::new()
    } else {
        format!("{t}|{s}")
    }
}

/// The works of an item vocabulary (see the module documentation).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Works {
    /// Work of each item (index = item index); ids are `0..n_works`.
    work: Vec<u32>,
    /// Representative edition of each work (an item index).
    representative: Vec<u32>,
    /// Whether each item has a catalogue entry with a title (it can be shown as a book).
    catalogued: Vec<bool>,
    /// Whether a catalogue was given at all (without one, nothing counts as uncatalogued).
    has_catalog: bool,
}

impl Works {
    /// Works of the books of `items`; `counts[i]` (ratings of item i, e.g. the model's training
    /// counts) chooses each work's representative edition. An empty catalogue gives the works
    /// of rule 1 only.
    pub fn build(catalog: &Catalog, items: &Vocab, counts: &[u32]) -> Self {
        let n = items.len();
        let mut catalogued = vec![false; n];
        let mut has_cover = vec![false; n];
        // Rule 2's key of each catalogued item; rule 1 lends it to the other forms of its
        // ISBN (an uncatalogued ISBN-13 joins its catalogued ISBN-10).
        let mut keys: Vec<String> = vec![String::new(); n];
        let mut by_stem: FxHashMap<&str, usize> = FxHashMap::default();
        for (i, id) in items.ids().enumerate() {
            if let Some(b) = catalog.get(id).filter(|b| !b.title.trim().is_empty()) {
                catalogued[i] = true;
                has_cover[i] = b.image_url.as_deref().is_some_and(|u| !u.trim().is_empty());
                keys[i] = work_key(&b.title, &b.author);
            }
            if let Some(stem) = isbn_stem(id) {
                let first = *by_stem.entry(stem).or_insert(i);
                if keys[first].is_empty() && !keys[i].is_empty() {
                    by_stem.insert(stem, i);
                }
            }
        }
        let mut ids: FxHashMap<String, u32> = FxHashMap::default();
        let mut work = vec![0u32; n];
        for (i, id) in items.ids().enumerate() {
            // The item that speaks for this ISBN number (a catalogued form if there is one).
            let lead = isbn_stem(id)
                .and_then(|s| by_stem.get(s).copied())
                .unwrap_or(i);
            let key = if !keys[lead].is_empty() {
                format!("t:{}", keys[lead])
            } else {
                format!(
                    "i:{}",
                    isbn_stem(items.id(lead as u32)).unwrap_or(items.id(lead as u32))
                )
            };
            let next = ids.len() as u32;
            work[i] = *ids.entry(key).or_insert(next);
        }
        let mut representative = vec![u32::MAX; ids.len()];
        let rank = |i: usize| {
            (
                catalogued[i],
                has_cover[i],
                counts.get(i).copied().unwrap_or(0),
            )
        };
        for i in 0..n {
            let r = &mut representative[work[i] as usize];
            // Ties keep the lower index (first seen).
            if *r == u32::MAX || rank(i) > rank(*r as usize) {
                *r = i as u32;
            }
        }
        Works {
            work,
            representative,
            catalogued,
            has_catalog: !catalog.is_empty(),
        }
    }

    /// Number of items covered.
    pub fn n_items(&self) -> usize {
        self.work.len()
    }

    /// Number of works.
    pub fn n_works(&self) -> usize {
        self.representative.len()
    }

    /// The work of `item`; `None` for an index outside the vocabulary.
    pub fn work_of(&self, item: u32) -> Option<u32> {
        self.work.get(item as usize).copied()
    }

    /// The edition lists show for `work`.
    pub fn representative(&self, work: u32) -> u32 {
        self.representative[work as usize]
    }

    /// True if `item` is its work's representative edition.
    pub fn is_representative(&self, item: u32) -> bool {
        self.work_of(item)
            .is_some_and(|w| self.representative(w) == item)
    }

    /// True if `item` can be shown as a book: it has a catalogue entry with a title, or no
    /// catalogue was given (then every book is shown by its id).
    pub fn is_catalogued(&self, item: u32) -> bool {
        !self.has_catalog || self.catalogued.get(item as usize).copied().unwrap_or(false)
    }

    /// Whether a catalogue was given.
    pub fn has_catalog(&self) -> bool {
        self.has_catalog
    }

    /// (books, works) a list can hold: books with `counts[i] > 0` that are catalogued (or any,
    /// with `include_uncatalogued`), and the works of those books.
    pub fn listable(&self, counts: &[u32], include_uncatalogued: bool) -> (usize, usize) {
        let mut works = vec![false; self.n_works()];
        let mut books = 0;
        for (i, &w) in self.work.iter().enumerate() {
            if counts.get(i).copied().unwrap_or(0) > 0
                && (include_uncatalogued || self.is_catalogued(i as u32))
            {
                books += 1;
                works[w as usize] = true;
            }
        }
        (books, works.iter().filter(|&&w| w).count())
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::data::Book;

    fn book(id: &str, title: &str, author: &str, cover: bool) -> Book {
        Book {
            id: id.into(),
            title: title.into(),
            author: author.into(),
            year: None,
            publisher: None,
            genre: None,
            image_url: cover.then(|| format!("http://img/{id}.jpg")),
        }
    }

    #[test]
    fn keys_normalise_titles_and_surnames() {
        assert_eq!(surname("J. R. R. Tolkien"), "tolkien");
        assert_eq!(surname("TOLKIEN, J.R.R."), "tolkien");
        assert_eq!(surname("Martin Luther King Jr."), "king");
        assert_eq!(surname("Stephen King and Peter Straub"), "king");
        assert_eq!(surname(""), "");
        assert_eq!(
            work_title("The Fellowship of the Ring (The Lord of the Rings, Part 1)"),
            "thefellowshipofthering"
        );
        assert_eq!(work_title("Dune: Deluxe Edition [Book 1]"), "dune");
        assert_eq!(work_title("Emma; or, a novel"), "emma");
        assert_eq!(work_title("(1984)"), "1984");
        assert_eq!(work_key("Dune", ""), "");
        assert_eq!(isbn_stem("0345339703"), Some("034533970"));
        assert_eq!(isbn_stem("9780345339706"), Some("034533970"));
        assert_eq!(isbn_stem("042512164X"), Some("042512164"));
        assert_eq!(isbn_stem("B0001"), None);
        assert_eq!(isbn_stem("9790345339706"), None);
    }

    #[test]
    fn editions_form_works_with_the_best_known_representative() {
        let catalog = Catalog::from_books(vec![
            book(
                "0345339703",
                "The Fellowship of the Ring (Paperback)",
                "J.R.R. TOLKIEN",
                true,
            ),
            book(
                "0618002227",
                "The Fellowship of the Ring",
                "J. R. R. Tolkien",
                true,
            ),
            book(
                "0618129030",
                "The Fellowship of the Ring: Being the First Part",
                "Tolkien, J.R.R.",
                false,
            ),
            book("0441172717", "Dune", "Frank Herbert", true),
            book("0000000000", "", "Nobody", true),
        ]);
        let mut items = Vocab::new();
        for id in [
            "0345339703",
            "0618002227",
            "0618129030",
            "0441172717",
            "9780441172719", // ISBN-13 of Dune, not in the catalogue
            "0000000000",
            "9999999999",
        ] {
            items.intern(id);
        }
        let counts = [5, 9, 50, 3, 7, 1, 2];
        let w = Works::build(&catalog, &items, &counts);
        let work = |i| w.work_of(i).unwrap();
        assert_eq!(work(0), work(1));
        assert_eq!(work(0), work(2));
        assert_eq!(work(3), work(4), "ISBN-13 and ISBN-10 of one number");
        assert_ne!(work(0), work(3));
        assert_ne!(work(5), work(6));
        assert_eq!(w.n_works(), 4);
        // Most ratings among the editions with a cover, not the coverless one with 50.
        assert_eq!(w.representative(work(0)), 1);
        // The catalogued form, though the uncatalogued one has more ratings.
        assert_eq!(w.representative(work(3)), 3);
        assert!(!w.is_catalogued(4) && !w.is_catalogued(5) && w.is_catalogued(3));
        assert_eq!(w.listable(&counts, false), (4, 2));
        assert_eq!(w.listable(&counts, true), (7, 4));
        let none = Works::build(&Catalog::default(), &items, &counts);
        assert!(none.is_catalogued(6));
        assert_eq!(none.work_of(3), none.work_of(4));
    }
}
