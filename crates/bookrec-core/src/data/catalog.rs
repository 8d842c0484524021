//! The book catalogue: [`Book`]s by id, loaded from a CSV whose columns are found by header
//! name (BX-Books.csv, or a plain `book_id,title,author,year,genre` file), with text repair
//! (see [`text`](super::text)) and a [`CatalogReport`].

use std::fmt;
use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use rustc_hash::FxHashMap;
use serde::{Deserialize, Serialize};

use super::csv::{for_each_record, Feed, Item, Parser};
use super::ids::normalize_id;
use super::report::{thousands, BadLine, BadLines, MAX_EXAMPLES};
use super::sniff::{header_key, sniff, trim_field};
use super::text::{self, TextFixes};
use super::{BadLinePolicy, Encoding, Interactions};
use crate::progress::{NoProgress, Progress};
use crate::{Error, Result};

/// One book of the catalogue. `id` is normalised like rating ids
/// ([`normalize_id`](super::normalize_id)).
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct Book {
    pub id: String,
    pub title: String,
    pub author: String,
    /// Year of publication; `None` when missing or impossible (0, in the future).
    pub year: Option<u16>,
    pub publisher: Option<String>,
    pub genre: Option<String>,
    pub image_url: Option<String>,
}

/// Books by id. Serialised as the list of books; the index is rebuilt on load.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(from = "Vec<Book>", into = "Vec<Book>")]
pub struct Catalog {
    books: Vec<Book>,
    index: FxHashMap<String, u32>,
}

impl Catalog {
    /// Builds from books; of books sharing an id, the first is kept.
    pub fn from_books(books: Vec<Book>) -> Self {
        let mut c = Catalog::default();
        for b in books {
            c.insert(b);
        }
        c
    }

    /// Adds a book unless its id is taken; returns whether it was added.
    fn insert(&mut self, book: Book) -> bool {
        if self.index.contains_key(&book.id) {
            return false;
        }
        self.index.insert(book.id.clone(), self.books.len() as u32);
        self.books.push(book);
        true
    }

    pub fn get(&self, id: &str) -> Option<&Book> {
        self.index.get(id).map(|&i| &self.books[i as usize])
    }

    pub fn contains(&self, id: &str) -> bool {
        self.index.contains_key(id)
    }

    pub fn len(&self) -> usize {
        self.books.len()
    }

    pub fn is_empty(&self) -> bool {
        self.books.is_empty()
    }

    pub fn iter(&self) -> std::slice::Iter<'_, Book> {
        self.books.iter()
    }

    pub fn books(&self) -> &[Book] {
        &self.books
    }
}

impl From<Vec<Book>> for Catalog {
    fn from(books: Vec<Book>) -> Self {
        Catalog::from_books(books)
    }
}

impl From<Catalog> for Vec<Book> {
    fn from(c: Catalog) -> Self {
        c.books
    }
}

/// Years that cannot be a publication year.
#[derive(Serialize, Clone, Debug, Default)]
pub struct ImpossibleYears {
    /// Year 0 (the dump's "unknown").
    pub zero: u64,
    /// After the current year (e.g. 2030, 2050).
    pub future: u64,
    /// Not a number.
    pub not_a_number: u64,
    /// The year the future check used.
    pub current_year: i64,
    /// (book id, year as written) of the first future or non-numeric years.
    pub examples: Vec<(String, String)>,
}

/// Text repair totals over all text fields.
#[derive(Serialize, Clone, Debug, Default)]
pub struct TextRepairs {
    /// Fields where at least one mojibake sequence was repaired.
    pub fields_repaired: u64,
    pub sequences_repaired: u64,
    /// Fields left with at least one U+FFFD mark (a character lost beyond repair).
    pub fields_marked: u64,
    pub sequences_marked: u64,
    /// Fields with HTML entities (`&amp;`) decoded.
    pub fields_with_entities: u64,
    pub entities_decoded: u64,
    /// Fields that were not valid UTF-8 in an otherwise UTF-8 file, read as latin-1.
    pub fields_latin1_fallback: u64,
    /// A few (before, after) examples of repaired fields.
    pub examples: Vec<(String, String)>,
}

/// What loading a catalogue found and did.
#[derive(Serialize, Clone, Debug)]
pub struct CatalogReport {
    pub file: PathBuf,
    /// The separator as it is in the file.
    pub separator: String,
    pub encoding: Encoding,
    pub line_ending: String,
    /// Field → header column used (`None` = absent from the file).
    pub columns: Vec<(String, Option<String>)>,
    /// Data records read (bad lines included).
    pub rows_read: u64,
    pub books: u64,
    pub bad_lines: BadLines,
    /// Rows without an id (dropped).
    pub missing_ids: u64,
    /// Rows whose id was already taken (the first is kept).
    pub duplicate_ids: u64,
    pub duplicate_examples: Vec<String>,
    pub missing_titles: u64,
    pub missing_authors: u64,
    pub missing_years: u64,
    pub impossible_years: ImpossibleYears,
    pub text: TextRepairs,
    pub seconds: f64,
}

const ID_NAMES: &[&str] = &["isbn", "id", "bookid", "itemid", "item", "book"];
const TITLE_NAMES: &[&str] = &["title", "booktitle", "name"];
const AUTHOR_NAMES: &[&str] = &["author", "bookauthor", "authors", "writer"];
const YEAR_NAMES: &[&str] = &[
    "year",
    "yearofpublication",
    "publicationyear",
    "published",
    "pubyear",
];
const PUBLISHER_NAMES: &[&str] = &["publisher"];
const GENRE_NAMES: &[&str] = &["genre", "genres", "category", "subject"];
/// In order of preference: the medium cover first.
const IMAGE_NAMES: &[&str] = &[
    "imageurlm",
    "image",
    "imageurl",
    "cover",
    "coverurl",
    "thumbnail",
    "imageurll",
    "imageurls",
];

/// Reads a catalogue file.
pub fn load_catalog(path: &Path, progress: &dyn Progress) -> Result<(Catalog, CatalogReport)> {
    let mut file = File::open(path).map_err(|source| Error::Io {
        path: path.to_path_buf(),
        source,
    })?;
    let total = file.metadata().map(|m| m.len()).unwrap_or(0);
    read_catalog(&mut file, path, total, progress)
}

/// [`load_catalog`] over bytes in memory; `source` names them in messages.
pub fn parse_catalog(bytes: &[u8], source: &Path) -> Result<(Catalog, CatalogReport)> {
    let mut reader = bytes;
    read_catalog(&mut reader, source, bytes.len() as u64, &NoProgress)
}

/// The current calendar year (UTC).
fn current_year() -> i64 {
    let days = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs() / 86400)
        .unwrap_or(0) as i64;
    // 400 Gregorian years are 146097 days.
    let mut y = 1970 + days * 400 / 146097;
    while super::ratings::days_from_civil(y + 1, 1, 1) <= days {
        y += 1;
    }
    while super::ratings::days_from_civil(y, 1, 1) > days {
        y -= 1;
    }
    y
}

fn read_catalog(
    reader: &mut (dyn Read + Send),
    path: &Path,
    total_bytes: u64,
    progress: &dyn Progress,
) -> Result<(Catalog, CatalogReport)> {
    let t0 = Instant::now();
    progress.start("reading catalogue", total_bytes);
    let mut feed = Feed::new(reader, path)?;
    let known: Vec<&str> = [
        ID_NAMES,
        TITLE_NAMES,
        AUTHOR_NAMES,
        YEAR_NAMES,
        PUBLISHER_NAMES,
        GENRE_NAMES,
        IMAGE_NAMES,
    ]
    .concat();
    let sn = sniff(&feed.buf, feed.eof, path, None, None, &known)?;
    // Encoding from the first chunk; a later field that is not UTF-8 falls back to latin-1.
    let encoding = match std::str::from_utf8(&feed.buf) {
        Ok(_) => Encoding::Utf8,
        Err(e) if e.error_len().is_none() => Encoding::Utf8,
        Err(_) => Encoding::Latin1,
    };
    let header: Vec<String> = sn.rows[0]
        .iter()
        .map(|f| text::decode(trim_field(f), encoding).into_owned())
        .collect();
    let keys: Vec<String> = header.iter().map(|h| header_key(h)).collect();
    let find = |names: &[&str]| names.iter().find_map(|n| keys.iter().position(|k| k == n));
    let col_id = find(ID_NAMES);
    let (Some(col_id), true) = (col_id, sn.has_header) else {
        return Err(Error::Data {
            path: path.to_path_buf(),
            message: format!(
                "a catalogue needs a header row naming its columns (isbn / book_id / id, title, \
                 author, year, publisher, genre, image); first row is {header:?}"
            ),
        });
    };
    let col = [
        find(TITLE_NAMES),
        find(AUTHOR_NAMES),
        find(YEAR_NAMES),
        find(PUBLISHER_NAMES),
        find(GENRE_NAMES),
        find(IMAGE_NAMES),
    ];
    let [col_title, col_author, col_year, col_publisher, col_genre, col_image] = col;
    let width = header.len();
    let this_year = current_year();

    let mut parser = Parser::new(sn.dialect.clone());
    feed.pos = sn.skip;
    let mut catalog = Catalog::default();
    let mut rep = CatalogReport {
        file: path.to_path_buf(),
        separator: String::from_utf8_lossy(&sn.dialect.sep).into_owned(),
        encoding,
        line_ending: sn.line_ending.to_string(),
        columns: [
            ("id", Some(col_id)),
            ("title", col_title),
            ("author", col_author),
            ("year", col_year),
            ("publisher", col_publisher),
            ("genre", col_genre),
            ("image_url", col_image),
        ]
        .into_iter()
        .map(|(f, c)| (f.to_string(), c.map(|j| header[j].clone())))
        .collect(),
        rows_read: 0,
        books: 0,
        bad_lines: BadLines {
            policy: BadLinePolicy::Skip,
            ..Default::default()
        },
        missing_ids: 0,
        duplicate_ids: 0,
        duplicate_examples: Vec::new(),
        missing_titles: 0,
        missing_authors: 0,
        missing_years: 0,
        impossible_years: ImpossibleYears {
            current_year: this_year,
            ..Default::default()
        },
        text: TextRepairs::default(),
        seconds: 0.0,
    };
    let mut header_pending = true;

    for_each_record(&mut feed, &mut parser, progress, |item| {
        if std::mem::take(&mut header_pending) {
            return Ok(());
        }
        rep.rows_read += 1;
        let mut bad = |line: u64, reason: String, excerpt: String| {
            rep.bad_lines.count += 1;
            if rep.bad_lines.examples.len() < MAX_EXAMPLES {
                rep.bad_lines.examples.push(BadLine {
                    line,
                    reason,
                    excerpt,
                });
            }
        };
        let (parser, buf) = match item {
            Item::Bad {
                line,
                reason,
                excerpt,
            } => {
                bad(line, reason.message(), excerpt.to_string());
                return Ok(());
            }
            Item::Record { line, parser, buf } => {
                if parser.n_fields() != width {
                    let first = parser.field(buf, 0).unwrap_or_default();
                    bad(
                        line,
                        format!("expected {width} fields, found {}", parser.n_fields()),
                        super::csv::excerpt_bytes(first),
                    );
                    return Ok(());
                }
                (parser, buf)
            }
        };
        let raw = |j: usize| parser.field(buf, j).unwrap_or_default();
        let id = normalize_id(raw(col_id));
        if id.is_empty() {
            rep.missing_ids += 1;
            return Ok(());
        }
        let id = text::decode(&id, encoding).into_owned();
        let mut text_field = |j: Option<usize>| -> Option<String> {
            let bytes = raw(j?).trim_ascii();
            if bytes.is_empty() {
                return None;
            }
            let decoded = match (encoding, std::str::from_utf8(bytes)) {
                (Encoding::Utf8, Err(_)) => {
                    rep.text.fields_latin1_fallback += 1;
                    text::decode(bytes, Encoding::Latin1)
                }
                _ => text::decode(bytes, encoding),
            };
            let (fixed, f): (_, TextFixes) = text::repair(&decoded);
            let t = &mut rep.text;
            if f.repaired > 0 {
                t.fields_repaired += 1;
                t.sequences_repaired += u64::from(f.repaired);
            }
            if f.unrepairable > 0 {
                t.fields_marked += 1;
                t.sequences_marked += u64::from(f.unrepairable);
            }
            if f.entities > 0 {
                t.fields_with_entities += 1;
                t.entities_decoded += u64::from(f.entities);
            }
            if f.repaired + f.unrepairable > 0 && t.examples.len() < 10 {
                t.examples.push((decoded.to_string(), fixed.to_string()));
            }
            Some(fixed.into_owned())
        };
        let title = text_field(col_title);
        let author = text_field(col_author);
        let publisher = text_field(col_publisher);
        let genre = text_field(col_genre);
        let image_url = col_image
            .map(|j| String::from_utf8_lossy(raw(j).trim_ascii()).into_owned())
            .filter(|s| !s.is_empty());
        rep.missing_titles += u64::from(title.is_none());
        rep.missing_authors += u64::from(author.is_none());
        let year = match col_year.map(|j| trim_field(raw(j))) {
            None | Some([]) => {
                rep.missing_years += 1;
                None
            }
            Some(y) => {
                let years = &mut rep.impossible_years;
                let example = |years: &mut ImpossibleYears| {
                    if years.examples.len() < MAX_EXAMPLES {
                        years
                            .examples
                            .push((id.clone(), String::from_utf8_lossy(y).into_owned()));
                    }
                };
                match std::str::from_utf8(y)
                    .ok()
                    .and_then(|s| s.parse::<i64>().ok())
                {
                    Some(0) => {
                        years.zero += 1;
                        None
                    }
                    Some(v) if v > this_year => {
                        years.future += 1;
                        example(years);
                        None
                    }
                    Some(v) if v < 0 => {
                        years.not_a_number += 1;
                        example(years);
                        None
                    }
                    Some(v) => u16::try_from(v).ok(),
                    None => {
                        years.not_a_number += 1;
                        example(years);
                        None
                    }
                }
            }
        };
        let book = Book {
            id,
            title: title.unwrap_or_default(),
            author: author.unwrap_or_default(),
            year,
            publisher,
            genre,
            image_url,
        };
        let id_for_dup = (rep.duplicate_examples.len() < MAX_EXAMPLES).then(|| book.id.clone());
        if !catalog.insert(book) {
            rep.duplicate_ids += 1;
            if let Some(id) = id_for_dup {
                rep.duplicate_examples.push(id);
            }
        }
        Ok(())
    })?;
    if header_pending || catalog.is_empty() {
        return Err(Error::Data {
            path: path.to_path_buf(),
            message: format!(
                "no books: {} rows read, {} bad lines{}",
                rep.rows_read,
                rep.bad_lines.count,
                rep.bad_lines
                    .examples
                    .first()
                    .map(|b| format!(" (first: line {}: {})", b.line, b.reason))
                    .unwrap_or_default()
            ),
        });
    }
    rep.books = catalog.len() as u64;
    rep.seconds = t0.elapsed().as_secs_f64();
    progress.finish(&format!("{} books", rep.books));
    Ok((catalog, rep))
}

impl fmt::Display for CatalogReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "Catalogue: {}", self.file.display())?;
        writeln!(
            f,
            "  format: separator {}, {}, line ending {}",
            super::report::show_separator(&self.separator),
            self.encoding,
            self.line_ending
        )?;
        let cols: Vec<String> = self
            .columns
            .iter()
            .map(|(k, v)| format!("{k} = {}", v.as_deref().unwrap_or("-")))
            .collect();
        writeln!(f, "  columns: {}", cols.join(", "))?;
        writeln!(f, "  rows read:        {:>10}", thousands(self.rows_read))?;
        writeln!(f, "  books:            {:>10}", thousands(self.books))?;
        writeln!(
            f,
            "  bad lines:        {:>10}",
            thousands(self.bad_lines.count)
        )?;
        for b in &self.bad_lines.examples {
            writeln!(f, "      line {}: {}: {:?}", b.line, b.reason, b.excerpt)?;
        }
        writeln!(
            f,
            "  duplicate ids:    {:>10}  (first kept){}",
            thousands(self.duplicate_ids),
            if self.duplicate_examples.is_empty() {
                String::new()
            } else {
                format!(
                    " e.g. {}",
                    self.duplicate_examples[..self.duplicate_examples.len().min(5)].join(", ")
                )
            }
        )?;
        writeln!(
            f,
            "  missing:          ids {}, titles {}, authors {}, years {}",
            self.missing_ids, self.missing_titles, self.missing_authors, self.missing_years
        )?;
        let y = &self.impossible_years;
        writeln!(
            f,
            "  impossible years: {:>10}  (0: {}, after {}: {}, not a number: {}){}",
            thousands(y.zero + y.future + y.not_a_number),
            thousands(y.zero),
            y.current_year,
            y.future,
            y.not_a_number,
            if y.examples.is_empty() {
                String::new()
            } else {
                format!(
                    " e.g. {}",
                    y.examples
                        .iter()
                        .take(5)
                        .map(|(id, v)| format!("{id}: {v}"))
                        .collect::<Vec<_>>()
                        .join(", ")
                )
            }
        )?;
        let t = &self.text;
        writeln!(
            f,
            "  text repaired:    {:>10}  fields ({} mojibake sequences fixed)",
            thousands(t.fields_repaired),
            thousands(t.sequences_repaired)
        )?;
        writeln!(
            f,
            "  text marked �:    {:>10}  fields ({} characters lost beyond repair, left as U+FFFD)",
            thousands(t.fields_marked),
            thousands(t.sequences_marked)
        )?;
        writeln!(
            f,
            "  HTML entities:    {:>10}  fields ({} entities decoded)",
            thousands(t.fields_with_entities),
            thousands(t.entities_decoded)
        )?;
        if t.fields_latin1_fallback > 0 {
            writeln!(
                f,
                "  latin-1 fallback: {:>10}  fields (not valid UTF-8)",
                t.fields_latin1_fallback
            )?;
        }
        for (before, after) in t.examples.iter().take(3) {
            writeln!(f, "      {before:?} → {after:?}")?;
        }
        write!(f, "  loaded in {:.3} s", self.seconds)
    }
}

/// Ratings whose book is not in the catalogue.
#[derive(Serialize, Clone, Debug, PartialEq)]
pub struct MissingBooks {
    /// Interactions (explicit + implicit) whose book is missing.
    pub ratings: u64,
    pub explicit: u64,
    pub implicit: u64,
    /// Distinct missing books.
    pub books: u64,
    /// All interactions and all distinct books of the data, for proportions.
    pub total_ratings: u64,
    pub total_books: u64,
    /// A few missing ids.
    pub examples: Vec<String>,
}

/// Counts ratings (explicit and implicit) whose book id is not in `catalog`.
pub fn missing_from_catalog(data: &Interactions, catalog: &Catalog) -> MissingBooks {
    let absent: Vec<bool> = data.items.ids().map(|id| !catalog.contains(id)).collect();
    let explicit = data.item.iter().filter(|&&i| absent[i as usize]).count() as u64;
    let implicit = data
        .implicit_item
        .iter()
        .filter(|&&i| absent[i as usize])
        .count() as u64;
    let mut used = vec![false; absent.len()];
    for &i in data.item.iter().chain(&data.implicit_item) {
        used[i as usize] = true;
    }
    let missing: Vec<usize> = (0..absent.len())
        .filter(|&i| absent[i] && used[i])
        .collect();
    MissingBooks {
        ratings: explicit + implicit,
        explicit,
        implicit,
        books: missing.len() as u64,
        total_ratings: (data.len() + data.n_implicit()) as u64,
        total_books: used.iter().filter(|&&u| u).count() as u64,
        examples: missing
            .iter()
            .take(10)
            .map(|&i| data.items.id(i as u32).to_string())
            .collect(),
    }
}

impl fmt::Display for MissingBooks {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let pct = |a: u64, b: u64| {
            if b == 0 {
                0.0
            } else {
                100.0 * a as f64 / b as f64
            }
        };
        write!(
            f,
            "Books missing from the catalogue: {} of {} books ({:.1}%), carrying {} of {} \
             interactions ({:.1}%: {} explicit, {} implicit){}",
            thousands(self.books),
            thousands(self.total_books),
            pct(self.books, self.total_books),
            thousands(self.ratings),
            thousands(self.total_ratings),
            pct(self.ratings, self.total_ratings),
            thousands(self.explicit),
            thousands(self.implicit),
            if self.examples.is_empty() {
                String::new()
            } else {
                format!("; e.g. {}", self.examples.join(", "))
            }
        )
    }
}
