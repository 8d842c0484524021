//! Fuzzing the loaders with proptest: arbitrary bytes, and structured CSV with random
//! corruption. Every input must give `Ok` with a consistent report, or one clear error naming
//! the source — never a panic. Case counts are fixed so the run is a known size; the total is
//! printed per test (`cargo test --test data_fuzz -- --nocapture`).

#![allow(clippy::unwrap_used)]

use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};

use bookrec_core::data::{
    parse_catalog, parse_ratings, BadLinePolicy, CleaningReport, DuplicatePolicy, Interactions,
    LoadOptions,
};
use bookrec_core::progress::NoProgress;
use bookrec_core::Error;
use proptest::prelude::*;

const SOURCE: &str = "fuzz.csv";

/// Checks an outcome: the report's books balance, or the error names the source.
fn check(out: &bookrec_core::Result<(Interactions, CleaningReport)>) -> Result<(), TestCaseError> {
    match out {
        Ok((d, r)) => {
            prop_assert_eq!(
                r.rows_read,
                r.explicit_read
                    + r.implicit_read
                    + r.bad_lines.count
                    + r.missing.rows
                    + r.out_of_scale.count
            );
            prop_assert_eq!(
                r.rows_kept + r.implicit + r.duplicates.rows_removed,
                r.explicit_read + r.implicit_read
            );
            prop_assert_eq!(d.len() as u64, r.rows_kept);
            prop_assert!(d.user.iter().all(|&u| (u as usize) < d.n_users()));
            prop_assert!(d.item.iter().all(|&i| (i as usize) < d.n_items()));
            prop_assert!(d.rating.iter().all(|&x| d.scale.contains(x)));
            let _ = r.to_string();
        }
        Err(e) => {
            let msg = e.to_string();
            match e {
                Error::Param { .. } | Error::Invalid(_) => {}
                _ => prop_assert!(msg.contains(SOURCE), "error without the file name: {}", msg),
            }
            prop_assert!(
                msg.len() < 2000,
                "error message too long: {} bytes",
                msg.len()
            );
        }
    }
    Ok(())
}

fn corruptions() -> impl Strategy<Value = Vec<(usize, u8)>> {
    prop::collection::vec(
        (
            any::<usize>(),
            prop::sample::select(vec![
                b'"', b'\\', b';', b',', b'\n', b'\r', 0u8, 0xC3, b'x', b'9',
            ]),
        ),
        0..6,
    )
}

/// A ratings CSV in one of several dialects, then a few random bytes overwritten or inserted.
fn structured() -> impl Strategy<Value = Vec<u8>> {
    let row = (
        "[0-9a-z\"' ]{0,6}",
        "[0-9Xx\"]{0,11}",
        prop::sample::select(vec![
            "0", "1", "5", "10", "3.5", "NaN", "", "x", "-2", "1e3",
        ]),
    );
    (
        prop::collection::vec(row, 0..40),
        prop::sample::select(vec![",", ";", "\t", "::", "|"]),
        any::<bool>(),
        any::<bool>(),
        any::<bool>(),
        corruptions(),
    )
        .prop_map(|(rows, sep, header, quote, crlf, corrupt)| {
            let nl = if crlf { "\r\n" } else { "\n" };
            let q = |s: &str| {
                if quote {
                    format!("\"{}\"", s.replace('"', "\"\""))
                } else {
                    s.to_string()
                }
            };
            let mut text = String::new();
            if header {
                text += &format!("{}{sep}{}{sep}{}{nl}", q("user"), q("isbn"), q("rating"));
            }
            for (u, i, r) in rows {
                text += &format!("{}{sep}{}{sep}{}{nl}", q(&u), q(&i), q(r));
            }
            let mut bytes = text.into_bytes();
            for (at, b) in corrupt {
                if bytes.is_empty() {
                    bytes.push(b);
                } else if at % 2 == 0 {
                    let k = at % bytes.len();
                    bytes[k] = b;
                } else {
                    let k = at % (bytes.len() + 1);
                    bytes.insert(k, b);
                }
            }
            bytes
        })
}

fn options() -> impl Strategy<Value = LoadOptions> {
    (any::<bool>(), any::<bool>(), 0..3u8).prop_map(|(strict, zeros, dup)| LoadOptions {
        bad_lines: if strict {
            BadLinePolicy::Error
        } else {
            BadLinePolicy::Skip
        },
        implicit_zeros: zeros.then_some(false),
        duplicates: [
            DuplicatePolicy::KeepLast,
            DuplicatePolicy::Mean,
            DuplicatePolicy::Error,
        ][dup as usize],
        ..Default::default()
    })
}

/// Runs `cases` inputs of `strategy` through `test`, panicking on the first failure (after
/// shrinking), and prints how many ran.
fn fuzz<S: Strategy>(
    name: &str,
    cases: u32,
    strategy: S,
    test: impl Fn(S::Value) -> Result<(), TestCaseError>,
) {
    let ran = AtomicU64::new(0);
    let mut runner = proptest::test_runner::TestRunner::new(ProptestConfig {
        cases,
        failure_persistence: None,
        ..ProptestConfig::default()
    });
    let counted = |v| {
        ran.fetch_add(1, Ordering::Relaxed);
        test(v)
    };
    if let Err(e) = runner.run(&strategy, counted) {
        panic!("{name}: {e}");
    }
    eprintln!(
        "data_fuzz {name}: {} inputs ran, no panic",
        ran.load(Ordering::Relaxed)
    );
}

#[test]
fn arbitrary_bytes_never_panic() {
    fuzz(
        "arbitrary bytes",
        20_000,
        prop::collection::vec(any::<u8>(), 0..300),
        |bytes| {
            let out = parse_ratings(
                &bytes,
                Path::new(SOURCE),
                &LoadOptions::default(),
                &NoProgress,
            );
            let _ = parse_catalog(&bytes, Path::new(SOURCE));
            check(&out)
        },
    );
}

#[test]
fn corrupted_csv_never_panics() {
    fuzz(
        "corrupted csv",
        10_000,
        (structured(), options()),
        |(bytes, opts)| {
            let out = parse_ratings(&bytes, Path::new(SOURCE), &opts, &NoProgress);
            let mut catalog = b"isbn,title,author,year\n".to_vec();
            catalog.extend_from_slice(&bytes);
            let _ = parse_catalog(&catalog, Path::new(SOURCE));
            check(&out)
        },
    );
}

#[test]
fn clean_structured_csv_loads() {
    fuzz(
        "clean csv",
        1_000,
        prop::collection::vec(("[a-z]{1,4}", "[0-9]{1,5}", 1..=5u8), 1..60),
        |rows| {
            // Well-formed input must load, with every row accounted for.
            let mut text = String::from("user;isbn;rating\n");
            for (u, i, r) in &rows {
                text += &format!("{u};{i};{r}\n");
            }
            let out = parse_ratings(
                text.as_bytes(),
                Path::new(SOURCE),
                &LoadOptions::default(),
                &NoProgress,
            );
            check(&out)?;
            let (_, r) = out.map_err(|e| TestCaseError::fail(e.to_string()))?;
            prop_assert_eq!(r.rows_read, rows.len() as u64);
            prop_assert_eq!(r.bad_lines.count, 0);
            Ok(())
        },
    );
}
