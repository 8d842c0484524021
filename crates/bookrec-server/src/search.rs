//! Catalogue search by title or author: case- and accent-insensitive, prefix and substring.
//!
//! Text is *folded* once at start-up: transliterated to ASCII (`deunicode`: "Mötley" → "Motley",
//! "Ærø" → "AEro"), lower-cased, and every run of non-alphanumerics collapsed to one space. A
//! query is folded the same way and matched as a substring of the folded title or author
//! (`memchr::memmem`, a linear scan: ~270k Book-Crossing titles take a few milliseconds, run off
//! the async runtime). Results are ranked by match tier, then by the caller's popularity:
//!
//! | tier | match |
//! |---|---|
//! | 0 | title starts with the query |
//! | 1 | a word of the title starts with the query |
//! | 2 | author starts with the query, or one of its words does |
//! | 3 | title or author contains the query |
//! | 4 | every query word occurs somewhere in title + author ("tolkien hobbit") |

use memchr::memmem;

/// Folds text for matching (see the module docs).
pub fn fold(text: &str) -> String {
    let ascii = deunicode::deunicode(text);
    let mut out = String::with_capacity(ascii.len());
    let mut pending_space = false;
    for c in ascii.chars() {
        if c.is_ascii_alphanumeric() {
            if pending_space && !out.is_empty() {
                out.push(' ');
            }
            pending_space = false;
            out.push(c.to_ascii_lowercase());
        } else {
            pending_space = true;
        }
    }
    out
}

struct Entry {
    id: Box<str>,
    title: Box<str>,
    author: Box<str>,
}

/// A folded copy of the catalogue's titles and authors.
#[derive(Default)]
pub struct SearchIndex {
    entries: Vec<Entry>,
}

/// One search result: the book id and how it matched (lower tier = better).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Hit {
    pub id: String,
    pub tier: u8,
}

impl SearchIndex {
    /// Builds the index from `(id, title, author)` triples.
    pub fn build<'a>(books: impl IntoIterator<Item = (&'a str, &'a str, &'a str)>) -> Self {
        let entries = books
            .into_iter()
            .map(|(id, title, author)| Entry {
                id: id.into(),
                title: fold(title).into(),
                author: fold(author).into(),
            })
            .collect();
        SearchIndex { entries }
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The best `limit` matches for `query`, ranked by tier and then by `popularity(id)`
    /// (higher first), then by id for determinism. An empty folded query matches nothing.
    pub fn search(&self, query: &str, limit: usize, popularity: impl Fn(&str) -> u32) -> Vec<Hit> {
        let q = fold(query);
        if q.is_empty() || limit == 0 {
            return Vec::new();
        }
        let whole = memmem::Finder::new(q.as_bytes());
        let words: Vec<memmem::Finder<'_>> = q
            .split(' ')
            .map(|w| memmem::Finder::new(w.as_bytes()))
            .collect();
        let mut hits: Vec<(u8, u32, &str)> = Vec::new();
        for e in &self.entries {
            let (title, author) = (e.title.as_bytes(), e.author.as_bytes());
            let tier = if title.starts_with(q.as_bytes()) {
                0
            } else if let Some(pos) = whole.find(title) {
                if word_start(title, pos) || whole.find_iter(title).any(|p| word_start(title, p)) {
                    1
                } else {
                    3
                }
            } else if let Some(pos) = whole.find(author) {
                if word_start(author, pos) || whole.find_iter(author).any(|p| word_start(author, p))
                {
                    2
                } else {
                    3
                }
            } else if words.len() > 1
                && words
                    .iter()
                    .all(|w| w.find(title).is_some() || w.find(author).is_some())
            {
                4
            } else {
                continue;
            };
            hits.push((tier, popularity(&e.id), &e.id));
        }
        hits.sort_unstable_by(|a, b| a.0.cmp(&b.0).then(b.1.cmp(&a.1)).then(a.2.cmp(b.2)));
        hits.truncate(limit);
        hits.into_iter()
            .map(|(tier, _, id)| Hit {
                id: id.to_string(),
                tier,
            })
            .collect()
    }
}

fn word_start(text: &[u8], pos: usize) -> bool {
    pos == 0 || text[pos - 1] == b' '
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn index() -> SearchIndex {
        SearchIndex::build([
            ("1", "The Hobbit", "J. R. R. Tolkien"),
            ("2", "Die Erzählungen", "Thomas Mann"),
            (
                "3",
                "Harry Potter and the Sorcerer's Stone",
                "J. K. Rowling",
            ),
            (
                "4",
                "Harry Potter and the Chamber of Secrets",
                "J. K. Rowling",
            ),
            ("5", "Mötley Crüe: The Dirt", "Neil Strauss"),
            ("6", "Thebes", "Anon"),
        ])
    }

    fn ids(hits: Vec<Hit>) -> Vec<String> {
        hits.into_iter().map(|h| h.id).collect()
    }

    #[test]
    fn folds_case_accents_and_punctuation() {
        assert_eq!(fold("  Mötley   Crüe: THE Dirt!"), "motley crue the dirt");
        assert_eq!(fold("Erzählungen"), "erzahlungen");
        assert_eq!(fold("…"), "");
    }

    #[test]
    fn accent_and_case_insensitive_in_both_directions() {
        let ix = index();
        assert_eq!(ids(ix.search("erzahl", 10, |_| 0)), vec!["2"]);
        assert_eq!(ids(ix.search("ERZÄHL", 10, |_| 0)), vec!["2"]);
        assert_eq!(ids(ix.search("motley crue", 10, |_| 0)), vec!["5"]);
    }

    #[test]
    fn ranks_prefix_before_word_before_author_before_substring() {
        let ix = index();
        let hits = ix.search("the", 10, |_| 0);
        let got: Vec<(String, u8)> = hits.into_iter().map(|h| (h.id, h.tier)).collect();
        // "The Hobbit" and "Thebes" start with it; the Potters and Mötley have the word.
        assert_eq!(&got[..2], &[("1".into(), 0), ("6".into(), 0)]);
        assert!(got[2..].iter().all(|(_, t)| *t == 1), "{got:?}");
        assert_eq!(ids(ix.search("rowling", 10, |_| 0)), vec!["3", "4"]);
        assert_eq!(ix.search("obbit", 10, |_| 0)[0].tier, 3);
        assert_eq!(ix.search("tolkien hobbit", 10, |_| 0)[0].tier, 4);
    }

    #[test]
    fn popularity_breaks_ties_and_limit_applies() {
        let ix = index();
        let pop = |id: &str| if id == "4" { 100 } else { 1 };
        assert_eq!(ids(ix.search("harry potter", 1, pop)), vec!["4"]);
        assert!(ix.search("", 10, |_| 0).is_empty());
        assert!(ix.search("?!", 10, |_| 0).is_empty());
        assert!(ix.search("zzzz", 10, |_| 0).is_empty());
    }
}
