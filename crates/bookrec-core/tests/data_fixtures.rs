//! Ratings and catalogue loading on small hand-written fixtures (tests/data/): every dialect,
//! every cleaning rule, every malformed input.

#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};

use bookrec_core::data::{
    load_catalog, load_ratings, missing_from_catalog, parse_catalog, parse_ratings, BadLinePolicy,
    ColumnRef, DuplicatePolicy, Encoding, Interactions, LoadOptions, RatingScale, MAX_RECORD,
};
use bookrec_core::progress::NoProgress;
use bookrec_core::Error;

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data")
        .join(name)
}

fn load(
    name: &str,
    opts: &LoadOptions,
) -> bookrec_core::Result<(Interactions, bookrec_core::data::CleaningReport)> {
    load_ratings(&fixture(name), opts, &NoProgress)
}

/// (user, item, rating) triplets of the explicit ratings, by raw id.
fn triplets(d: &Interactions) -> Vec<(String, String, f32)> {
    (0..d.len())
        .map(|k| {
            (
                d.users.id(d.user[k]).to_string(),
                d.items.id(d.item[k]).to_string(),
                d.rating[k],
            )
        })
        .collect()
}

fn t(u: &str, i: &str, r: f32) -> (String, String, f32) {
    (u.to_string(), i.to_string(), r)
}

#[test]
fn comma_with_header_normalises_ids() {
    let (d, r) = load("comma_header.csv", &LoadOptions::default()).unwrap();
    assert_eq!(r.format.separator, ",");
    assert!(r.format.header);
    assert_eq!(r.format.quoting, "none");
    assert_eq!(r.format.encoding, Encoding::Utf8);
    assert_eq!(r.format.line_ending, "LF");
    // " 0002005018 " is the same book as "0002005018": a duplicate, the last (4) wins.
    assert_eq!(r.duplicates.pairs, 1);
    assert_eq!(
        triplets(&d),
        vec![
            t("2", "042512164X", 3.0),
            t("1", "0002005018", 4.0),
            t("3", "B00005PJ9D", 2.0)
        ]
    );
    assert_eq!(r.items.raw_distinct, 4);
    assert_eq!(r.items.distinct, 3);
    assert_eq!((d.scale.min, d.scale.max), (1.0, 5.0));
}

#[test]
fn semicolon_quoted_crlf_without_header_and_implicit_zeros() {
    let (d, r) = load(
        "semicolon_quoted_crlf_noheader.csv",
        &LoadOptions::default(),
    )
    .unwrap();
    assert_eq!(r.format.separator, ";");
    assert!(!r.format.header);
    assert_eq!(r.format.quoting, "all fields");
    assert_eq!(r.format.line_ending, "CRLF");
    assert_eq!(r.rows_read, 5);
    assert!(r.implicit_zeros && r.implicit_zeros_auto);
    assert_eq!((r.rows_kept, r.implicit), (3, 2));
    assert_eq!(d.implicit_user.len(), 2);
    assert_eq!(d.users.id(d.implicit_user[0]), "276725");
    assert_eq!(d.items.id(d.implicit_item[1]), "0446520802");
    assert_eq!(r.columns.user, "#0");
    // Zeros as ratings when asked.
    let opts = LoadOptions {
        implicit_zeros: Some(false),
        ..Default::default()
    };
    let (d, r) = load("semicolon_quoted_crlf_noheader.csv", &opts).unwrap();
    assert_eq!((r.rows_kept, r.implicit), (5, 0));
    assert_eq!(d.scale.min, 0.0);
}

#[test]
fn tab_with_timestamp_and_half_stars() {
    let (d, r) = load("tab_timestamp.tsv", &LoadOptions::default()).unwrap();
    assert_eq!(r.format.separator, "\t");
    assert!(r.to_string().contains("separator tab"));
    assert!(r.timestamp);
    assert_eq!(r.columns.timestamp.as_deref(), Some("\"timestamp\" (#3)"));
    assert_eq!(r.columns.item, "\"movieId\" (#1)");
    assert_eq!(
        d.timestamp.as_ref().unwrap(),
        &vec![1260759144, 1260759179, 835355493, 835355681]
    );
    assert_eq!(d.rating, vec![2.5, 3.0, 4.0, 5.0]);
}

#[test]
fn double_colon_separator_positional_timestamp() {
    let (d, r) = load("doublecolon.dat", &LoadOptions::default()).unwrap();
    assert_eq!(r.format.separator, "::");
    assert!(!r.format.header);
    assert_eq!(r.columns.timestamp.as_deref(), Some("#3"));
    assert_eq!(d.len(), 4);
    assert_eq!(d.timestamp.as_ref().unwrap()[0], 978300760);
    // The same file with the separator forced, spelled as a user would.
    let opts = LoadOptions {
        sep: Some(bookrec_core::data::parse_separator("::").unwrap()),
        has_header: Some(false),
        ..Default::default()
    };
    let (d2, _) = load("doublecolon.dat", &opts).unwrap();
    assert_eq!(triplets(&d), triplets(&d2));
}

#[test]
fn latin1_bytes_are_decoded() {
    let (d, r) = load("latin1_semicolon.csv", &LoadOptions::default()).unwrap();
    assert_eq!(r.format.encoding, Encoding::Latin1);
    assert!(
        r.format.header,
        "non-numeric first row over numeric data is a header"
    );
    assert_eq!(d.users.id(0), "mélanie");
    assert_eq!(d.items.id(0), "Les Misérables");
    assert_eq!(d.users.len(), 2);
    // Forcing UTF-8 is obeyed (the bytes are not UTF-8, so they show as U+FFFD).
    let opts = LoadOptions {
        encoding: Some(Encoding::Utf8),
        ..Default::default()
    };
    let (d, _) = load("latin1_semicolon.csv", &opts).unwrap();
    assert_eq!(d.users.id(0), "m\u{FFFD}lanie");
}

#[test]
fn quotes_doubled_backslash_and_multiline() {
    let (d, r) = load("pipe_quotes.csv", &LoadOptions::default()).unwrap();
    assert_eq!(r.format.separator, "|");
    assert_eq!(r.format.escapes.len(), 2, "{:?}", r.format.escapes);
    assert_eq!(
        triplets(&d),
        vec![
            t("alice", "The \"Best\" Book", 5.0),
            t("bob", "multi\nline title", 4.0),
            // Stray quotes at the ends of an id are removed by the id rule.
            t("carol", "escaped", 3.0),
        ]
    );
}

#[test]
fn duplicate_policies() {
    let opts = |p| LoadOptions {
        duplicates: p,
        ..Default::default()
    };
    let (d, r) = load("duplicates.csv", &opts(DuplicatePolicy::KeepLast)).unwrap();
    assert_eq!((r.duplicates.pairs, r.duplicates.rows_removed), (1, 2));
    assert_eq!(r.rows_kept, 3);
    assert_eq!(triplets(&d)[1], t("u1", "a", 5.0));
    let (d, _) = load("duplicates.csv", &opts(DuplicatePolicy::Mean)).unwrap();
    let k = triplets(&d).iter().position(|x| x.0 == "u1").unwrap();
    assert!((d.rating[k] - 11.0 / 3.0).abs() < 1e-6);
    let e = load("duplicates.csv", &opts(DuplicatePolicy::Error)).unwrap_err();
    let msg = e.to_string();
    assert!(
        msg.contains("duplicates.csv") && msg.contains("lines 2 and 5"),
        "{msg}"
    );
}

#[test]
fn out_of_scale_dropped_and_counted() {
    let opts = LoadOptions {
        rating_scale: Some(RatingScale::new(1.0, 5.0)),
        ..Default::default()
    };
    let (d, r) = load("out_of_scale.csv", &opts).unwrap();
    assert_eq!(r.out_of_scale.count, 2);
    assert_eq!(
        r.out_of_scale
            .examples
            .iter()
            .map(|e| (e.line, e.value))
            .collect::<Vec<_>>(),
        vec![(3, 7.0), (4, -1.0)]
    );
    assert_eq!(d.len(), 3);
    assert!(!r.scale_inferred);
    // Inferred: five ratings fit no standard scale, so the observed range is the scale.
    let (d, r) = load("out_of_scale.csv", &LoadOptions::default()).unwrap();
    assert_eq!((d.scale.min, d.scale.max), (-1.0, 7.0));
    assert!(r.scale_inferred);
}

#[test]
fn malformed_lines_skipped_with_line_numbers() {
    let (d, r) = load("malformed.csv", &LoadOptions::default()).unwrap();
    println!("{r}");
    assert_eq!(r.rows_read, 12);
    let bad: Vec<(u64, &str)> = r
        .bad_lines
        .examples
        .iter()
        .map(|b| (b.line, b.reason.as_str()))
        .collect();
    assert_eq!(
        bad,
        vec![
            (3, "expected 3 fields, found 2"),
            (4, "non-numeric rating"),
            (5, "unterminated quoted field"),
            (7, "rating is not a finite number"),
            (8, "rating is not a finite number"),
            (12, "expected 3 fields, found 4"),
        ]
    );
    assert_eq!(r.bad_lines.count, 6);
    assert_eq!(
        (
            r.missing.rows,
            r.missing.user,
            r.missing.item,
            r.missing.rating
        ),
        (3, 1, 1, 1)
    );
    assert_eq!(r.missing.example_lines, vec![9, 10, 11]);
    assert_eq!(
        triplets(&d),
        vec![t("u1", "a", 4.0), t("u5", "e", 5.0), t("u11", "k", 2.0)]
    );
    assert_eq!(
        r.rows_read,
        r.explicit_read
            + r.implicit_read
            + r.bad_lines.count
            + r.missing.rows
            + r.out_of_scale.count
    );
    let text = r.to_string();
    assert!(
        text.contains("line 4: non-numeric rating: \"good\""),
        "{text}"
    );
}

#[test]
fn malformed_lines_error_policy_names_file_line_value() {
    let opts = LoadOptions {
        bad_lines: BadLinePolicy::Error,
        ..Default::default()
    };
    match load("malformed.csv", &opts).unwrap_err() {
        Error::Parse {
            path,
            line,
            message,
            value,
        } => {
            assert!(path.ends_with("malformed.csv"));
            assert_eq!(line, 3);
            assert!(message.contains("expected 3 fields"), "{message}");
            assert_eq!(value.as_deref(), Some("u2,b"));
        }
        e => panic!("unexpected {e:?}"),
    }
}

#[test]
fn unusable_files_give_one_clear_error() {
    for (name, needle) in [
        ("empty.csv", "empty"),
        ("header_only.csv", "header but no data"),
        ("binary.csv", "binary"),
    ] {
        let e = load(name, &LoadOptions::default()).unwrap_err();
        let msg = e.to_string();
        assert!(matches!(e, Error::Data { .. }), "{name}: {e:?}");
        assert!(msg.contains(name) && msg.contains(needle), "{name}: {msg}");
    }
    let e = load("no-such-file.csv", &LoadOptions::default()).unwrap_err();
    assert!(matches!(e, Error::Io { .. }));
}

#[test]
fn forced_columns_by_name_and_index() {
    let opts = LoadOptions {
        user_col: Some(ColumnRef::Index(1)),
        item_col: Some("user_id".parse().unwrap()),
        rating_col: Some(ColumnRef::Name("RATING".into())),
        ..Default::default()
    };
    let (d, r) = load("comma_header.csv", &opts).unwrap();
    assert_eq!(r.columns.user, "\"book_id\" (#1)");
    assert_eq!(r.columns.item, "\"user_id\" (#0)");
    let u = d.users.get("0002005018").unwrap();
    let i = d.items.get("1").unwrap();
    let k = (0..d.len()).find(|&k| d.user[k] == u).unwrap();
    assert_eq!((d.item[k], d.rating[k]), (i, 4.0));
    let bad = LoadOptions {
        item_col: Some(ColumnRef::Name("isbn13".into())),
        ..Default::default()
    };
    let e = load("comma_header.csv", &bad).unwrap_err().to_string();
    assert!(e.contains("isbn13") && e.contains("book_id"), "{e}");
    let bad = LoadOptions {
        rating_col: Some(ColumnRef::Index(7)),
        ..Default::default()
    };
    assert!(load("comma_header.csv", &bad).is_err());
}

#[test]
fn huge_line_is_a_counted_bad_line() {
    let mut bytes = b"user,item,rating\nu1,a,4\nu2,".to_vec();
    bytes.extend(std::iter::repeat_n(b'b', 3 * MAX_RECORD));
    bytes.extend_from_slice(b",5\nu3,c,3\n");
    let (d, r) = parse_ratings(
        &bytes,
        Path::new("huge.csv"),
        &LoadOptions::default(),
        &NoProgress,
    )
    .unwrap();
    assert_eq!(d.len(), 2);
    assert_eq!(r.bad_lines.count, 1);
    assert_eq!(r.bad_lines.examples[0].line, 3);
    assert!(r.bad_lines.examples[0].reason.contains("longer than 1 MiB"));
    assert!(r.bad_lines.examples[0].excerpt.chars().count() <= 81);
}

/// A large clean file read by two parallel readers equals the sequential read (the Error
/// policy forces one reader), including when the split point falls inside a quoted field.
#[test]
fn parallel_read_equals_sequential() {
    let mut bytes = b"user;item;rating\n".to_vec();
    let mut k = 0u64;
    while bytes.len() < 9 << 20 {
        bytes.extend_from_slice(
            format!("u{};\"i{}\";{}\n", k % 5000, (k * 7919) % 60000, k % 11).as_bytes(),
        );
        k += 1;
    }
    let mid = bytes.len() / 2;
    let mut quoted = bytes.clone();
    // A multi-line quoted id straddling the middle.
    let long_id: Vec<u8> = b"u1;\"spans\n"
        .iter()
        .copied()
        .chain(std::iter::repeat_n(b'x', 200_000))
        .chain(b"\nlines\";3\n".iter().copied())
        .collect();
    let at = mid - 100_000 + memchr_pos(&quoted[mid - 100_000..], b'\n') + 1;
    quoted.splice(at..at, long_id);
    for input in [&bytes, &quoted] {
        let p = Path::new("big.csv");
        let (a, ra) = parse_ratings(input, p, &LoadOptions::default(), &NoProgress).unwrap();
        let seq = LoadOptions {
            bad_lines: BadLinePolicy::Error,
            ..Default::default()
        };
        let (b, rb) = parse_ratings(input, p, &seq, &NoProgress).unwrap();
        assert_eq!(a.len(), b.len());
        let first_diff = (0..a.len()).find(|&k| a.user[k] != b.user[k] || a.item[k] != b.item[k]);
        assert_eq!(
            first_diff,
            None,
            "{:?}",
            first_diff.map(|k| (
                k,
                a.users.id(a.user[k]),
                b.users.id(b.user[k]),
                a.items.id(a.item[k]),
                b.items.id(b.item[k])
            ))
        );
        assert!(a.user == b.user);
        assert!(a.item == b.item);
        assert!(a.rating == b.rating);
        assert!(a.implicit_item == b.implicit_item);
        assert!(a.users.ids().eq(b.users.ids()));
        assert!(a.items.ids().eq(b.items.ids()));
        assert_eq!(ra.rows_read, rb.rows_read);
        assert_eq!(ra.items.raw_distinct, rb.items.raw_distinct);
        assert_eq!(ra.duplicates.pairs, rb.duplicates.pairs);
    }
}

fn memchr_pos(hay: &[u8], b: u8) -> usize {
    hay.iter().position(|&x| x == b).unwrap()
}

#[test]
fn bx_style_catalogue() {
    let (c, r) = load_catalog(&fixture("catalog_bx_style.csv"), &NoProgress).unwrap();
    println!("{r}");
    assert_eq!(r.encoding, Encoding::Latin1);
    assert_eq!(r.rows_read, 6);
    assert_eq!(r.bad_lines.count, 1);
    assert_eq!(r.bad_lines.examples[0].line, 7);
    assert_eq!(r.duplicate_ids, 1);
    assert_eq!(c.len(), 4);
    let b = c.get("3404921038").unwrap();
    assert_eq!(b.title, "Der illustrierte Mann. Erzählungen.");
    assert_eq!(b.publisher.as_deref(), Some("Lübbe"));
    assert_eq!(b.year, None);
    assert_eq!(b.image_url.as_deref(), Some("m"));
    let b = c.get("0805051732").unwrap();
    assert_eq!(b.title, "The Word \"Desire\"");
    assert_eq!(b.publisher.as_deref(), Some("Henry Holt & Company"));
    let b = c.get("3442721652").unwrap();
    assert_eq!(b.title, "Alles flie\u{FFFD}t");
    assert_eq!(b.author, "Barnabé Müller");
    assert_eq!(b.year, None);
    assert_eq!((r.impossible_years.zero, r.impossible_years.future), (1, 1));
    assert_eq!(r.text.fields_repaired, 3);
    assert_eq!(r.text.sequences_repaired, 3);
    assert_eq!((r.text.fields_marked, r.text.sequences_marked), (1, 1));
    assert_eq!(r.text.entities_decoded, 1);
    assert_eq!(
        c.get("0002005018").unwrap().image_url.as_deref(),
        Some("http://x/M.jpg")
    );
}

#[test]
fn utf8_comma_catalogue_and_missing_books() {
    let bytes = std::fs::read(fixture("catalog_utf8.csv")).unwrap();
    let (c, r) = parse_catalog(&bytes, Path::new("catalog_utf8.csv")).unwrap();
    assert_eq!(r.encoding, Encoding::Utf8);
    assert_eq!(c.len(), 4);
    let dune = c.get("042512164X").unwrap();
    assert_eq!(dune.title, "Dune, Messiah");
    assert_eq!(dune.genre.as_deref(), Some("Science Fiction"));
    assert_eq!(dune.year, None);
    assert_eq!(c.get("0385504209").unwrap().title, "Café Tales");
    assert_eq!(c.get("0002005018").unwrap().year, Some(2001));
    assert_eq!(c.get("0316666343").unwrap().year, None);
    assert_eq!((r.impossible_years.zero, r.impossible_years.future), (1, 1));

    // Ratings of comma_header.csv: 0002005018 and 042512164X are catalogued, B00005PJ9D not.
    let (d, _) = load("comma_header.csv", &LoadOptions::default()).unwrap();
    let m = missing_from_catalog(&d, &c);
    assert_eq!((m.ratings, m.books, m.explicit), (1, 1, 1));
    assert_eq!(m.examples, vec!["B00005PJ9D".to_string()]);
    assert!(m.to_string().contains("1 of 3 books"), "{m}");

    // Catalogue serde round trip keeps lookups working.
    let json = serde_json::to_string(&c).unwrap();
    let back: bookrec_core::data::Catalog = serde_json::from_str(&json).unwrap();
    assert_eq!(back.get("042512164X"), c.get("042512164X"));
}

#[test]
fn catalogue_without_header_is_refused() {
    let e = parse_catalog(b"1,Dune,Herbert\n2,Emma,Austen\n", Path::new("c.csv")).unwrap_err();
    assert!(e.to_string().contains("header"), "{e}");
    assert!(parse_catalog(b"", Path::new("c.csv")).is_err());
}

/// The embedded demo catalogue (plain UTF-8, `book_id,title,author,year,genre`) loads whole.
#[test]
fn demo_catalogue_loads_cleanly() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("data/demo/books.csv");
    let (c, r) = load_catalog(&path, &NoProgress).unwrap();
    assert_eq!(r.encoding, Encoding::Utf8);
    assert_eq!(r.bad_lines.count, 0, "{r}");
    assert_eq!(r.duplicate_ids, 0);
    assert_eq!(r.rows_read, c.len() as u64);
    assert!(c.len() >= 200);
    assert_eq!(
        r.columns
            .iter()
            .filter_map(|(k, v)| v.as_ref().map(|v| format!("{k}={v}")))
            .collect::<Vec<_>>(),
        vec![
            "id=book_id",
            "title=title",
            "author=author",
            "year=year",
            "genre=genre"
        ]
    );
    let hobbit = c.get("DB0001").unwrap();
    assert_eq!(hobbit.title, "The Hobbit");
    assert_eq!(hobbit.year, Some(1937));
    assert_eq!(hobbit.genre.as_deref(), Some("Fantasy"));
    assert!(c
        .iter()
        .all(|b| !b.title.is_empty() && !b.author.is_empty()));
}

#[test]
fn report_serialises_for_scripts() {
    let (_, r) = load("malformed.csv", &LoadOptions::default()).unwrap();
    let v = serde_json::to_value(&r).unwrap();
    for key in [
        "rows_read",
        "rows_kept",
        "implicit",
        "bad_lines",
        "missing",
        "duplicates",
        "out_of_scale",
        "users",
        "items",
        "density",
        "histogram",
        "format",
    ] {
        assert!(v.get(key).is_some(), "missing key {key}");
    }
    assert_eq!(v["bad_lines"]["count"], 6);
    assert_eq!(v["bad_lines"]["examples"][0]["line"], 3);
    assert_eq!(v["format"]["separator"], ",");
}

/// Progress receives the file size as total and exactly that many bytes in increments,
/// also when the file is read by two readers.
#[test]
fn progress_covers_the_file() {
    use std::sync::atomic::{AtomicU64, Ordering};
    use std::sync::Mutex;
    #[derive(Default)]
    struct Count {
        total: AtomicU64,
        done: AtomicU64,
        finished: Mutex<Vec<String>>,
    }
    impl bookrec_core::progress::Progress for Count {
        fn start(&self, _stage: &str, total: u64) {
            self.total.store(total, Ordering::Relaxed);
        }
        fn inc(&self, n: u64) {
            self.done.fetch_add(n, Ordering::Relaxed);
        }
        fn finish(&self, summary: &str) {
            self.finished.lock().unwrap().push(summary.to_string());
        }
    }
    let mut big = b"user,item,rating\n".to_vec();
    let mut k = 0u64;
    while big.len() < 9 << 20 {
        big.extend_from_slice(format!("u{},i{},{}\n", k % 777, k % 31_337, 1 + k % 5).as_bytes());
        k += 1;
    }
    let dir = tempfile::tempdir().unwrap();
    for (name, bytes) in [("small.csv", &b"u,i,r\n1,2,3\n"[..]), ("big.csv", &big[..])] {
        let path = dir.path().join(name);
        std::fs::write(&path, bytes).unwrap();
        let p = Count::default();
        load_ratings(&path, &LoadOptions::default(), &p).unwrap();
        assert_eq!(
            p.total.load(Ordering::Relaxed),
            bytes.len() as u64,
            "{name}"
        );
        assert_eq!(p.done.load(Ordering::Relaxed), bytes.len() as u64, "{name}");
        assert_eq!(p.finished.lock().unwrap().len(), 1);
    }
}
