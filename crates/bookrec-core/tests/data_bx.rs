//! The real Book-Crossing dump, exactly as shipped, loads with default options and gives the
//! documented counts. Skipped with a notice when ../shared/data is absent.

#![allow(clippy::unwrap_used)]

use std::path::PathBuf;

use bookrec_core::data::{load_catalog, load_ratings, missing_from_catalog, LoadOptions};
use bookrec_core::progress::NoProgress;

fn bx(file: &str) -> Option<PathBuf> {
    let dir = PathBuf::from(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../../shared/data/book-crossing"
    ));
    let p = dir.join(file);
    if p.exists() {
        Some(p)
    } else {
        eprintln!(
            "NOTICE: {} not found; skipping the Book-Crossing test",
            p.display()
        );
        None
    }
}

#[test]
fn bx_ratings_load_with_default_options() {
    let Some(path) = bx("BX-Book-Ratings.csv") else {
        return;
    };
    let (data, report) = load_ratings(&path, &LoadOptions::default(), &NoProgress).unwrap();
    println!("{report}");
    assert_eq!(report.rows_read, 1_149_780);
    assert_eq!(report.explicit_read, 433_671);
    assert_eq!(report.implicit_read, 716_109);
    assert_eq!(report.bad_lines.count, 0);
    assert_eq!(report.missing.rows, 0);
    // One real duplicate appears after id normalisation: user 11676 rated both
    // `"0432534220"` (stray quotes, line 45329) and `0432534220` (line 49511); the last wins.
    assert_eq!(report.duplicates.pairs, 1);
    assert_eq!(report.duplicates.rows_removed, 1);
    assert_eq!(report.rows_kept, 433_670);
    assert_eq!(report.implicit, 716_109);
    assert_eq!(data.len(), 433_670);
    assert_eq!(data.n_implicit(), 716_109);
    let u = data.users.get("11676").unwrap();
    let i = data.items.get("0432534220").unwrap();
    let k = (0..data.len())
        .find(|&k| data.user[k] == u && data.item[k] == i)
        .unwrap();
    assert_eq!(data.rating[k], 5.0);
    assert_eq!(report.out_of_scale.count, 0);
    assert!(report.implicit_zeros);
    assert_eq!((data.scale.min, data.scale.max), (1.0, 10.0));
    assert_eq!(report.users.distinct, 105_283);
    assert_eq!(report.users.raw_distinct, 105_283);
    assert_eq!(report.items.raw_distinct, 340_556);
    // Normalisation (lowercase x, stray quotes and spaces) merges some spellings.
    assert_eq!(report.items.distinct, data.n_items());
    assert!(report.items.distinct < 340_556, "{}", report.items.distinct);
    assert!(report.items.distinct > 340_000);
    // Format as documented in PROVENANCE.txt.
    assert_eq!(report.format.separator, ";");
    assert_eq!(report.format.line_ending, "CRLF");
    assert!(report.format.header);
    assert_eq!(report.format.quoting, "all fields");
    assert_eq!(report.format.encoding, bookrec_core::data::Encoding::Latin1);
    // Histogram of explicit ratings: 10 values, 8 the most common.
    assert_eq!(report.histogram.len(), 10);
    let eight = report.histogram.iter().find(|b| b.value == 8.0).unwrap();
    assert_eq!(eight.count, 103_736);
    let total: u64 = report.histogram.iter().map(|b| b.count).sum();
    assert_eq!(total, report.rows_kept);
    // Ids: leading zeros kept, the X check digit uppercased.
    assert!(data.items.get("0155061224").is_some());
    assert!(data.items.get("042512164X").is_some());
    assert!(data.items.get("042512164x").is_none());
    assert!(data.users.get("276725").is_some());
}

#[test]
fn bx_books_load_and_repair() {
    let Some(path) = bx("BX-Books.csv") else {
        return;
    };
    let (catalog, report) = load_catalog(&path, &NoProgress).unwrap();
    println!("{report}");
    assert_eq!(report.rows_read, 271_379);
    assert_eq!(report.bad_lines.count, 0);
    assert_eq!(
        report.books + report.duplicate_ids,
        271_379 - report.missing_ids
    );
    assert!(report.books > 271_000);
    // Year 0 is "unknown" in the dump; a few years are in the future (2030, 2050).
    assert_eq!(report.impossible_years.zero, 4_619);
    assert!(
        report.impossible_years.future >= 9,
        "{:?}",
        report.impossible_years
    );
    assert!(report
        .impossible_years
        .examples
        .iter()
        .any(|(_, y)| y == "2050"));
    // Mojibake: thousands of fields repaired, a few hundred left visibly marked.
    assert!(
        report.text.fields_repaired > 8_000,
        "{:?}",
        report.text.fields_repaired
    );
    assert!(
        report.text.fields_marked > 300,
        "{:?}",
        report.text.fields_marked
    );
    assert!(report.text.entities_decoded > 20_000);

    let mummies = catalog.get("0393045218").unwrap();
    assert_eq!(mummies.title, "The Mummies of Urumchi");
    assert_eq!(mummies.publisher.as_deref(), Some("W. W. Norton & Company"));
    assert_eq!(mummies.year, Some(1999));
    assert!(mummies.image_url.as_deref().unwrap().contains("MZZZZZZZ"));
    // `\"` escapes inside quoted fields.
    assert_eq!(
        catalog.get("0805051732").unwrap().title,
        "The Word \"Desire\""
    );
    // Repaired double encodings, none left behind in these titles.
    let all_titles: Vec<&str> = catalog.iter().map(|b| b.title.as_str()).collect();
    assert!(all_titles.iter().any(|t| t.contains("Erzählungen")));
    assert!(!all_titles.iter().any(|t| t.contains("Ã?Â¤")));
    assert!(catalog
        .iter()
        .any(|b| b.publisher.as_deref() == Some("Lübbe")));

    let ratings = bx("BX-Book-Ratings.csv").unwrap();
    let (data, _) = load_ratings(&ratings, &LoadOptions::default(), &NoProgress).unwrap();
    let missing = missing_from_catalog(&data, &catalog);
    println!("{missing}");
    assert_eq!(missing.ratings, missing.explicit + missing.implicit);
    assert!(missing.books > 50_000 && missing.books < data.n_items() as u64);
    assert_eq!(missing.total_ratings, 1_149_779);
}
