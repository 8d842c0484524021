//! The embedded demo data set: a catalogue of 450 real, well-known books in 14 genres
//! (`data/demo/books.csv`, compiled into the binary) and ratings generated from 1,500 simulated
//! readers with planted genre tastes, so `bookrec demo` runs end to end without a download and
//! its recommendations can be checked by eye.
//!
//! ## Catalogue
//! `book_id,title,author,year,genre`, UTF-8, comma-separated, RFC 4180 quoting (titles such as
//! "I, Robot" are quoted). Ids are `DB0001`…`DB0450` (not ISBNs). `year` is the year of first
//! publication in book form, in the original language; it is left empty where that is not a
//! single well-established year (ancient and medieval texts, some novels first serialised and
//! then issued in volumes over several years).
//!
//! ## Rating model
//! Every simulated user `u` has 1–3 favourite genres (50 % one, 30 % two, 20 % three), drawn
//! with genre popularity `∝ (rank + 1)^-0.8` over a seeded ranking of the genres; the
//! favourites get mixing weights `∝ (j + 1)^-1.5`, so the first favourite dominates. The user
//! interacts with `n_u = 10 + ⌊71·x²⌋` books (x uniform, so 10–80, most users few): each pick
//! is, with probability 0.85, a book from a favourite genre (chosen by mixing weight),
//! otherwise a book from any genre (chosen by genre popularity); within a genre books are
//! picked by a log-normal popularity that is correlated with their quality. A pick is
//!
//! * implicit (written as rating 0, as in Book-Crossing) with probability 0.3, else
//! * explicit on the 1–10 scale:
//!   `r = clip(round(μ + b_u + q_i + a(u, g_i) + ε), 1, 10)` with `μ = 5.8`,
//!   user bias `b_u ~ N(0, 0.8²)`, book quality `q_i ~ N(0, 0.7²)`, genre affinity
//!   `a = +2` for a favourite genre and `−1` otherwise, and noise `ε ~ N(0, 1.2²)`.
//!
//! So a user rates books in their favourite genres about 3 points higher than the rest, which
//! a collaborative-filtering model can only learn from co-rating patterns (it never sees the
//! genres). Everything is determined by the seed; [`DEMO_SEED`] is the one the CLI uses.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use crate::rng::Rng;
use crate::{Error, Result};

/// The embedded catalogue (`book_id,title,author,year,genre`).
pub const DEMO_BOOKS_CSV: &str = include_str!("../../data/demo/books.csv");

/// The seed `bookrec demo` uses.
pub const DEMO_SEED: u64 = 42;

/// Number of simulated users; their ids are `"1"`…`"1500"`.
pub const DEMO_USERS: usize = 1500;

/// The exact header of the embedded catalogue.
pub const DEMO_BOOKS_HEADER: &str = "book_id,title,author,year,genre";

const BASE_RATING: f64 = 5.8;
const USER_BIAS_STD: f64 = 0.8;
const BOOK_QUALITY_STD: f64 = 0.7;
const FAVOURITE_AFFINITY: f64 = 2.0;
const OTHER_AFFINITY: f64 = -1.0;
const NOISE_STD: f64 = 1.2;
const P_FAVOURITE_PICK: f64 = 0.85;
const P_IMPLICIT: f64 = 0.3;
const GENRE_POPULARITY_EXPONENT: f64 = 0.8;
const FAVOURITE_MIX_EXPONENT: f64 = 1.5;
/// Log-normal popularity: `log w_i = POP_SIGMA · (ρ·q_i/σ_q + √(1−ρ²)·z_i)`.
const POP_SIGMA: f64 = 1.1;
const POP_QUALITY_CORR: f64 = 0.5;

/// One book of the embedded catalogue.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DemoBook {
    pub id: String,
    pub title: String,
    pub author: String,
    /// Year of first publication, when it is a single well-defined year.
    pub year: Option<i32>,
    pub genre: String,
}

/// A simulated user and the genres they were generated to like (the planted truth).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DemoUser {
    pub id: String,
    /// Favourite genres, strongest first.
    pub favourite_genres: Vec<String>,
}

/// Generated demo ratings and the users behind them.
#[derive(Clone, Debug)]
pub struct DemoData {
    /// `user_id,book_id,rating` with a header line; rating 0 = implicit interaction.
    pub ratings_csv: String,
    pub users: Vec<DemoUser>,
}

/// The embedded catalogue, parsed.
pub fn demo_books() -> Vec<DemoBook> {
    // The file is compiled in and checked by the tests, so a failure here is a build defect,
    // not bad user input.
    parse_catalogue(DEMO_BOOKS_CSV, Path::new("data/demo/books.csv"))
        .expect("the embedded demo catalogue is valid (checked by tests)")
}

/// Parses a catalogue in the demo format: the exact header [`DEMO_BOOKS_HEADER`], then one
/// record of five RFC 4180 fields per line (quoted fields may contain commas and doubled
/// quotes, not line breaks); empty `year` = unknown. `path` only labels errors.
pub fn parse_catalogue(text: &str, path: &Path) -> Result<Vec<DemoBook>> {
    let err = |line: usize, message: &str, value: &str| Error::Parse {
        path: path.to_path_buf(),
        line: line as u64,
        message: message.to_string(),
        value: Some(crate::error::excerpt(value, 80)),
    };
    let mut lines = text.lines();
    let header = lines.next().unwrap_or("");
    if header.trim_end_matches('\r') != DEMO_BOOKS_HEADER {
        return Err(err(
            1,
            "expected the header `book_id,title,author,year,genre`",
            header,
        ));
    }
    let mut books = Vec::new();
    for (k, raw) in lines.enumerate() {
        let line_no = k + 2;
        let line = raw.trim_end_matches('\r');
        if line.is_empty() {
            continue;
        }
        let fields = split_record(line).ok_or_else(|| err(line_no, "unbalanced quotes", line))?;
        let [id, title, author, year, genre]: [String; 5] =
            fields.try_into().map_err(|f: Vec<String>| {
                err(line_no, &format!("{} fields, expected 5", f.len()), line)
            })?;
        if id.is_empty() || title.is_empty() || author.is_empty() || genre.is_empty() {
            return Err(err(line_no, "empty id, title, author or genre", line));
        }
        let year = if year.is_empty() {
            None
        } else {
            Some(
                year.parse::<i32>()
                    .map_err(|_| err(line_no, "year is not an integer", &year))?,
            )
        };
        books.push(DemoBook {
            id,
            title,
            author,
            year,
            genre,
        });
    }
    Ok(books)
}

/// Splits one RFC 4180 record; `None` if a quoted field is not closed or a closing quote is
/// followed by something other than a separator.
fn split_record(line: &str) -> Option<Vec<String>> {
    let mut fields = Vec::new();
    let mut chars = line.chars().peekable();
    loop {
        let mut field = String::new();
        if chars.peek() == Some(&'"') {
            chars.next();
            loop {
                match chars.next()? {
                    '"' if chars.peek() == Some(&'"') => {
                        chars.next();
                        field.push('"');
                    }
                    '"' => break,
                    c => field.push(c),
                }
            }
            match chars.next() {
                None => {
                    fields.push(field);
                    return Some(fields);
                }
                Some(',') => fields.push(field),
                Some(_) => return None,
            }
        } else {
            loop {
                match chars.next() {
                    None => {
                        fields.push(field);
                        return Some(fields);
                    }
                    Some(',') => {
                        fields.push(field);
                        break;
                    }
                    Some('"') => return None,
                    Some(c) => field.push(c),
                }
            }
        }
    }
}

/// Draws an index with probability proportional to `weights` (all ≥ 0, sum > 0).
fn pick_weighted(rng: &mut Rng, weights: &[f64]) -> usize {
    let total: f64 = weights.iter().sum();
    let mut x = rng.next_f64() * total;
    for (i, &w) in weights.iter().enumerate() {
        if x < w {
            return i;
        }
        x -= w;
    }
    weights.len() - 1
}

/// Generates the demo ratings for `seed` (see the module docs for the model).
pub fn demo_data(seed: u64) -> DemoData {
    let books = demo_books();
    let mut genres: Vec<&str> = Vec::new();
    let mut genre_of = Vec::with_capacity(books.len());
    for b in &books {
        let g = match genres.iter().position(|&g| g == b.genre) {
            Some(g) => g,
            None => {
                genres.push(&b.genre);
                genres.len() - 1
            }
        };
        genre_of.push(g);
    }
    let n_genres = genres.len();
    let mut books_in: Vec<Vec<usize>> = vec![Vec::new(); n_genres];
    for (i, &g) in genre_of.iter().enumerate() {
        books_in[g].push(i);
    }

    // Stream 0: book quality and popularity, genre popularity.
    let mut rng = Rng::stream(seed, 0);
    let quality: Vec<f64> = (0..books.len())
        .map(|_| BOOK_QUALITY_STD * rng.normal())
        .collect();
    let popularity: Vec<f64> = quality
        .iter()
        .map(|&q| {
            let z = rng.normal();
            let rho = POP_QUALITY_CORR;
            (POP_SIGMA * (rho * q / BOOK_QUALITY_STD + (1.0 - rho * rho).sqrt() * z)).exp()
        })
        .collect();
    let pop_in: Vec<Vec<f64>> = books_in
        .iter()
        .map(|ids| ids.iter().map(|&i| popularity[i]).collect())
        .collect();
    let mut genre_rank: Vec<usize> = (0..n_genres).collect();
    rng.shuffle(&mut genre_rank);
    let mut genre_weight = vec![0.0; n_genres];
    for (rank, &g) in genre_rank.iter().enumerate() {
        genre_weight[g] = ((rank + 1) as f64).powf(-GENRE_POPULARITY_EXPONENT);
    }

    let mut csv = String::from("user_id,book_id,rating\n");
    let mut users = Vec::with_capacity(DEMO_USERS);
    let mut picked: Vec<usize> = Vec::with_capacity(80);
    for u in 0..DEMO_USERS {
        let mut rng = Rng::stream(seed, 1 + u as u64);
        let x = rng.next_f64();
        let n_fav = if x < 0.5 {
            1
        } else if x < 0.8 {
            2
        } else {
            3
        };
        let mut favs: Vec<usize> = Vec::with_capacity(n_fav);
        let mut w = genre_weight.clone();
        for _ in 0..n_fav {
            let g = pick_weighted(&mut rng, &w);
            favs.push(g);
            w[g] = 0.0;
        }
        let mix: Vec<f64> = (0..n_fav)
            .map(|j| ((j + 1) as f64).powf(-FAVOURITE_MIX_EXPONENT))
            .collect();
        let bias = USER_BIAS_STD * rng.normal();
        let y = rng.next_f64();
        let n_books = 10 + (71.0 * y * y) as usize;

        picked.clear();
        let mut attempts = 0usize;
        while picked.len() < n_books {
            attempts += 1;
            let g = if rng.next_f64() < P_FAVOURITE_PICK {
                favs[pick_weighted(&mut rng, &mix)]
            } else {
                pick_weighted(&mut rng, &genre_weight)
            };
            // A user whose favourite genres are exhausted keeps drawing until the
            // non-favourite picks fill the quota; the cap only bounds the loop.
            let book = if attempts < 100 * n_books {
                books_in[g][pick_weighted(&mut rng, &pop_in[g])]
            } else {
                rng.below(books.len() as u64) as usize
            };
            if !picked.contains(&book) {
                picked.push(book);
            }
        }
        let uid = (u + 1).to_string();
        for &i in &picked {
            let implicit = rng.next_f64() < P_IMPLICIT;
            let affinity = if favs.contains(&genre_of[i]) {
                FAVOURITE_AFFINITY
            } else {
                OTHER_AFFINITY
            };
            let noise = NOISE_STD * rng.normal();
            let rating = if implicit {
                0
            } else {
                (BASE_RATING + bias + quality[i] + affinity + noise)
                    .round()
                    .clamp(1.0, 10.0) as i32
            };
            let _ = writeln!(csv, "{uid},{},{rating}", books[i].id);
        }
        users.push(DemoUser {
            id: uid,
            favourite_genres: favs.iter().map(|&g| genres[g].to_string()).collect(),
        });
    }
    DemoData {
        ratings_csv: csv,
        users,
    }
}

/// Writes books.csv and ratings.csv into `dir` (created if missing); returns (ratings_path, books_path).
pub fn write_demo_files(dir: &Path, seed: u64) -> Result<(PathBuf, PathBuf)> {
    let io_err = |path: &Path| {
        let path = path.to_path_buf();
        move |source| Error::Io { path, source }
    };
    std::fs::create_dir_all(dir).map_err(io_err(dir))?;
    let ratings = dir.join("ratings.csv");
    let books = dir.join("books.csv");
    std::fs::write(&books, DEMO_BOOKS_CSV).map_err(io_err(&books))?;
    std::fs::write(&ratings, demo_data(seed).ratings_csv).map_err(io_err(&ratings))?;
    Ok((ratings, books))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn split_record_handles_quotes() {
        assert_eq!(
            split_record(r#"DB1,"I, Robot",Isaac Asimov,1950,SF"#).unwrap(),
            vec!["DB1", "I, Robot", "Isaac Asimov", "1950", "SF"]
        );
        assert_eq!(
            split_record(r#"a,"say ""hi""",,"#).unwrap(),
            vec!["a", r#"say "hi""#, "", ""]
        );
        assert_eq!(split_record(r#"a,"open"#), None);
        assert_eq!(split_record(r#"a,"x"y,b"#), None);
        assert_eq!(split_record(r#"a,b"c"#), None);
    }

    #[test]
    fn parse_catalogue_reports_line_and_value() {
        let p = Path::new("cat.csv");
        let ok = format!("{DEMO_BOOKS_HEADER}\nDB1,T,A,,G\r\nDB2,\"T, 2\",A,1999,G\n");
        let books = parse_catalogue(&ok, p).unwrap();
        assert_eq!(books.len(), 2);
        assert_eq!(books[0].year, None);
        assert_eq!(books[1].title, "T, 2");
        assert_eq!(books[1].year, Some(1999));

        let bad = format!("{DEMO_BOOKS_HEADER}\nDB1,T,A,,G\nDB2,T,A,19x9,G\n");
        match parse_catalogue(&bad, p).unwrap_err() {
            Error::Parse { line, value, .. } => {
                assert_eq!(line, 3);
                assert_eq!(value.as_deref(), Some("19x9"));
            }
            e => panic!("unexpected {e}"),
        }
        let short = format!("{DEMO_BOOKS_HEADER}\nDB1,T,A,G\n");
        assert!(matches!(
            parse_catalogue(&short, p),
            Err(Error::Parse { line: 2, .. })
        ));
        assert!(matches!(
            parse_catalogue("id,title\n", p),
            Err(Error::Parse { line: 1, .. })
        ));
    }

    #[test]
    fn pick_weighted_respects_zero_weights() {
        let mut rng = Rng::new(1);
        for _ in 0..1000 {
            assert_eq!(pick_weighted(&mut rng, &[0.0, 2.0, 0.0]), 1);
        }
    }
}
