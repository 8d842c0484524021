//! Splits partition the ratings: disjoint, complete, per-user and temporal guarantees, k-fold
//! coverage, determinism.
#![allow(clippy::unwrap_used)]

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use bookrec_core::evaluation::split::{k_fold, train_test_split, Split};
use bookrec_core::{Error, Interactions, RatingScale};
use proptest::prelude::*;

/// Ratings whose value is the row number, so every subset says exactly which rows it holds;
/// timestamps drawn from a small range so ties occur; a few implicit interactions.
fn data(rows: &[(u8, u8, i64)]) -> Interactions {
    let mut d = Interactions::from_triplets(
        rows.iter()
            .enumerate()
            .map(|(k, &(u, i, _))| (format!("u{u}"), format!("b{i}"), k as f32)),
        Some(RatingScale::new(0.0, 1000.0)),
    );
    d.timestamp = Some(rows.iter().map(|r| r.2).collect());
    d.implicit_user = vec![0, 0];
    d.implicit_item = vec![0, 0];
    d
}

fn row_ids(d: &Interactions) -> Vec<usize> {
    d.rating.iter().map(|&r| r as usize).collect()
}

fn rows_strategy() -> impl Strategy<Value = Vec<(u8, u8, i64)>> {
    prop::collection::vec((0u8..8, 0u8..12, 0i64..20), 1..80)
}

fn per_user(d: &Interactions) -> BTreeMap<u32, Vec<usize>> {
    let mut m: BTreeMap<u32, Vec<usize>> = BTreeMap::new();
    for (k, &u) in d.user.iter().enumerate() {
        m.entry(u).or_default().push(k);
    }
    m
}

/// Disjoint, complete, file order kept, vocabularies shared, implicit only in train.
fn check_partition(
    all: &Interactions,
    train: &Interactions,
    test: &Interactions,
) -> Result<(), TestCaseError> {
    let (tr, te) = (row_ids(train), row_ids(test));
    prop_assert!(
        tr.windows(2).all(|w| w[0] < w[1]),
        "train not in file order"
    );
    prop_assert!(te.windows(2).all(|w| w[0] < w[1]), "test not in file order");
    let mut union: Vec<usize> = tr.iter().chain(&te).copied().collect();
    union.sort_unstable();
    prop_assert_eq!(union, (0..all.len()).collect::<Vec<_>>());
    for (d, rows) in [(train, &tr), (test, &te)] {
        for (k, &r) in rows.iter().enumerate() {
            prop_assert_eq!(d.user[k], all.user[r]);
            prop_assert_eq!(d.item[k], all.item[r]);
            prop_assert_eq!(
                d.timestamp.as_ref().unwrap()[k],
                all.timestamp.as_ref().unwrap()[r]
            );
        }
        prop_assert!(Arc::ptr_eq(&d.users, &all.users) && Arc::ptr_eq(&d.items, &all.items));
    }
    prop_assert_eq!(train.n_implicit(), all.n_implicit());
    prop_assert_eq!(test.n_implicit(), 0);
    Ok(())
}

fn expected_holdout(n: usize, frac: f64) -> usize {
    if n < 2 {
        0
    } else {
        ((frac * n as f64).round() as usize).clamp(1, n - 1)
    }
}

proptest! {
    #[test]
    fn random_split_partitions(rows in rows_strategy(), frac in 0.01f64..0.99, seed: u64) {
        let all = data(&rows);
        let split = Split::Random { test_fraction: frac };
        match train_test_split(&all, &split, seed) {
            Ok((train, test)) => {
                check_partition(&all, &train, &test)?;
                prop_assert_eq!(test.len(), expected_holdout(all.len(), frac));
                let (train2, test2) = train_test_split(&all, &split, seed).unwrap();
                prop_assert_eq!(row_ids(&train2), row_ids(&train));
                prop_assert_eq!(row_ids(&test2), row_ids(&test));
            }
            Err(e) => {
                prop_assert_eq!(all.len(), 1);
                prop_assert!(matches!(e, Error::Invalid(_)), "{}", e);
            }
        }
    }

    #[test]
    fn per_user_and_temporal_keep_every_test_user_in_train(
        rows in rows_strategy(), frac in 0.01f64..0.99, seed: u64, temporal: bool,
    ) {
        let all = data(&rows);
        let split = if temporal {
            Split::Temporal { test_fraction: frac }
        } else {
            Split::PerUser { test_fraction: frac }
        };
        let by_user = per_user(&all);
        match train_test_split(&all, &split, seed) {
            Ok((train, test)) => {
                check_partition(&all, &train, &test)?;
                let train_users: BTreeSet<u32> = train.user.iter().copied().collect();
                prop_assert!(test.user.iter().all(|u| train_users.contains(u)));
                let test_by_user = per_user(&test);
                for (u, rows) in &by_user {
                    let held = test_by_user.get(u).map_or(0, Vec::len);
                    prop_assert_eq!(held, expected_holdout(rows.len(), frac), "user {}", u);
                }
                if temporal {
                    let ts = |d: &Interactions, k: usize| d.timestamp.as_ref().unwrap()[k];
                    let train_by_user = per_user(&train);
                    for (u, test_rows) in &test_by_user {
                        let newest_train = train_by_user[u].iter().map(|&k| ts(&train, k)).max().unwrap();
                        let oldest_test = test_rows.iter().map(|&k| ts(&test, k)).min().unwrap();
                        prop_assert!(oldest_test >= newest_train, "user {}", u);
                    }
                }
                let (train2, _) = train_test_split(&all, &split, seed).unwrap();
                prop_assert_eq!(row_ids(&train2), row_ids(&train));
            }
            Err(e) => {
                prop_assert!(by_user.values().all(|r| r.len() < 2));
                prop_assert!(matches!(e, Error::Invalid(_)), "{}", e);
            }
        }
    }

    #[test]
    fn k_fold_covers_each_row_once(rows in rows_strategy(), folds in 2usize..8, seed: u64) {
        let all = data(&rows);
        match k_fold(&all, folds, seed) {
            Ok(splits) => {
                prop_assert_eq!(splits.len(), folds);
                let mut count = vec![0usize; all.len()];
                let sizes: Vec<usize> = splits.iter().map(|(_, te)| te.len()).collect();
                for (train, test) in &splits {
                    check_partition(&all, train, test)?;
                    for r in row_ids(test) {
                        count[r] += 1;
                    }
                }
                prop_assert!(count.iter().all(|&c| c == 1), "{:?}", count);
                let (lo, hi) = (sizes.iter().min().unwrap(), sizes.iter().max().unwrap());
                prop_assert!(hi - lo <= 1 && *lo >= 1, "{:?}", sizes);
                let again = k_fold(&all, folds, seed).unwrap();
                for ((_, a), (_, b)) in splits.iter().zip(&again) {
                    prop_assert_eq!(row_ids(a), row_ids(b));
                }
            }
            Err(e) => {
                prop_assert!(folds > all.len());
                prop_assert!(matches!(e, Error::Param { .. }), "{}", e);
            }
        }
    }
}

#[test]
fn different_seeds_give_different_splits() {
    let rows: Vec<(u8, u8, i64)> = (0..200)
        .map(|k| ((k % 7) as u8, (k % 11) as u8, k as i64))
        .collect();
    let all = data(&rows);
    let split = Split::Random { test_fraction: 0.2 };
    let (_, a) = train_test_split(&all, &split, 1).unwrap();
    let (_, b) = train_test_split(&all, &split, 2).unwrap();
    assert_ne!(row_ids(&a), row_ids(&b));
    assert_eq!(a.len(), 40);
}

#[test]
fn split_serialises_with_its_kind() {
    let s = Split::PerUser { test_fraction: 0.2 };
    let json = serde_json::to_string(&s).unwrap();
    assert_eq!(json, r#"{"kind":"per_user","test_fraction":0.2}"#);
    assert_eq!(serde_json::from_str::<Split>(&json).unwrap(), s);
}
