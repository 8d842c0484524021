//! Train/test splits: random holdout, per-user holdout, temporal (per-user leave-latest-out) and
//! k-fold.
//!
//! Every split is a partition of the explicit ratings: each row lands in exactly one of train or
//! test (for k-fold: in exactly one test fold). Train and test share the input's vocabularies
//! (`Arc`), so indices agree without re-mapping. Train sets keep the implicit interactions
//! (Book-Crossing's zeros: feedback SVD++ may read, never a prediction target); test sets never
//! carry them. Rows inside each returned set keep their input (file) order. All randomness comes
//! from [`Rng::new`]`(seed)`, so a seed fixes the split on every platform.

use serde::{Deserialize, Serialize};

use crate::data::Interactions;
use crate::rng::Rng;
use crate::{Error, Result};

/// How to hold out test ratings.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Split {
    /// A uniformly random `round(test_fraction · n)` of all ratings (at least 1, never all).
    /// Users and books seen only in test are unknown to the model and get fallback
    /// predictions.
    Random { test_fraction: f64 },
    /// For each user with at least 2 ratings, a random `round(test_fraction · n_u)` of their
    /// ratings, at least 1 and never all, so every test user keeps ratings in train. Users with
    /// a single rating stay entirely in train.
    PerUser { test_fraction: f64 },
    /// Per-user leave-latest-out: for each user with at least 2 ratings, their
    /// `round(test_fraction · n_u)` most recent ratings by timestamp (at least 1, never all;
    /// ties broken by file order, later rows counting as more recent). Chosen over a single
    /// global cut-off date because a global cut leaves most test users with no training
    /// history at all, which measures the fallback rather than the model. Needs a timestamp
    /// column.
    Temporal { test_fraction: f64 },
    /// Per-user holdout of *interactions* for ranking evaluation: for each user with at least
    /// 2 interactions (explicit ratings and implicit ones together), a random
    /// `round(test_fraction · n_u)` of them, at least 1 and never all. Unlike the other splits
    /// the test set carries its held-out implicit interactions (in `implicit_user` /
    /// `implicit_item`), so "did the reader pick this book up" can be the relevance
    /// ([`Relevance::Interactions`](super::metrics::Relevance::Interactions)); RMSE/MAE still
    /// use only its explicit rows. Explicit models train on the explicit part of train; ials on
    /// all of it.
    Interactions { test_fraction: f64 },
}

impl Split {
    pub fn test_fraction(&self) -> f64 {
        match *self {
            Split::Random { test_fraction }
            | Split::PerUser { test_fraction }
            | Split::Temporal { test_fraction }
            | Split::Interactions { test_fraction } => test_fraction,
        }
    }
}

/// Splits `data` into (train, test) as `split` says, deterministically for `seed`.
///
/// Errors: [`Error::Param`] if `test_fraction` is not strictly between 0 and 1;
/// [`Error::Invalid`] if `data` is empty, too small to put a rating on each side, or (temporal)
/// has no timestamps.
pub fn train_test_split(
    data: &Interactions,
    split: &Split,
    seed: u64,
) -> Result<(Interactions, Interactions)> {
    let frac = split.test_fraction();
    if !(frac > 0.0 && frac < 1.0) {
        return Err(Error::param(
            "test_fraction",
            frac,
            "must be strictly between 0 and 1",
        ));
    }
    if data.is_empty() {
        return Err(Error::Invalid(
            "cannot split an empty set of ratings".to_string(),
        ));
    }
    let n = data.len();
    let mut rng = Rng::new(seed);
    if let Split::Interactions { .. } = split {
        return Ok(interaction_split(data, frac, &mut rng));
    }
    let mut is_test = vec![false; n];
    match split {
        Split::Random { .. } => {
            if n < 2 {
                return Err(Error::Invalid(format!(
                    "cannot split {n} rating into train and test: need at least 2"
                )));
            }
            let mut rows: Vec<usize> = (0..n).collect();
            rng.shuffle(&mut rows);
            for &r in &rows[..holdout_count(n, frac)] {
                is_test[r] = true;
            }
        }
        Split::PerUser { .. } => {
            for mut rows in rows_by_user(data) {
                if rows.len() >= 2 {
                    rng.shuffle(&mut rows);
                    for &r in &rows[..holdout_count(rows.len(), frac)] {
                        is_test[r] = true;
                    }
                }
            }
        }
        Split::Interactions { .. } => {}
        Split::Temporal { .. } => {
            let ts = data.timestamp.as_deref().ok_or_else(|| {
                Error::Invalid(
                    "a temporal split needs a timestamp column, and these ratings have none \
                     (use a random or per-user split)"
                        .to_string(),
                )
            })?;
            for mut rows in rows_by_user(data) {
                if rows.len() >= 2 {
                    // Stable sort: equal timestamps keep file order, so later rows are "newer".
                    rows.sort_by_key(|&r| ts[r]);
                    let h = holdout_count(rows.len(), frac);
                    for &r in &rows[rows.len() - h..] {
                        is_test[r] = true;
                    }
                }
            }
        }
    }
    let (train_rows, test_rows): (Vec<usize>, Vec<usize>) = (0..n).partition(|&r| !is_test[r]);
    if test_rows.is_empty() {
        return Err(Error::Invalid(format!(
            "no user has 2 or more ratings, so a {} split leaves the test set empty",
            match split {
                Split::Temporal { .. } => "temporal",
                _ => "per-user",
            }
        )));
    }
    Ok((
        data.subset(&train_rows, true),
        data.subset(&test_rows, false),
    ))
}

/// Splits `data` into `folds` (train, test) pairs whose test sets are disjoint, of sizes differing
/// by at most one, and together cover every rating exactly once; each train set is the
/// complement of its test set.
///
/// Errors: [`Error::Param`] if `folds < 2` or `folds` exceeds the number of ratings;
/// [`Error::Invalid`] if `data` is empty.
pub fn k_fold(
    data: &Interactions,
    folds: usize,
    seed: u64,
) -> Result<Vec<(Interactions, Interactions)>> {
    let assignment = fold_assignment(data, folds, seed)?;
    Ok((0..folds).map(|f| fold(data, &assignment, f)).collect())
}

/// The fold of every row (see [`k_fold`]); lets cross-validation build one fold at a time
/// instead of holding all k train sets.
pub(crate) fn fold_assignment(data: &Interactions, folds: usize, seed: u64) -> Result<Vec<usize>> {
    if data.is_empty() {
        return Err(Error::Invalid(
            "cannot split an empty set of ratings".to_string(),
        ));
    }
    let n = data.len();
    if folds < 2 || folds > n {
        return Err(Error::param(
            "folds",
            folds,
            format!("must be between 2 and the number of ratings ({n})"),
        ));
    }
    let mut order: Vec<usize> = (0..n).collect();
    Rng::new(seed).shuffle(&mut order);
    // Contiguous chunks of the shuffled order, the first n % folds one row longer.
    let mut fold_of = vec![0usize; n];
    let (base, extra) = (n / folds, n % folds);
    let mut start = 0;
    for f in 0..folds {
        let len = base + usize::from(f < extra);
        for &r in &order[start..start + len] {
            fold_of[r] = f;
        }
        start += len;
    }
    Ok(fold_of)
}

/// (train, test) of fold `f` under `assignment`.
pub(crate) fn fold(
    data: &Interactions,
    assignment: &[usize],
    f: usize,
) -> (Interactions, Interactions) {
    let (test_rows, train_rows): (Vec<usize>, Vec<usize>) =
        (0..data.len()).partition(|&r| assignment[r] == f);
    (
        data.subset(&train_rows, true),
        data.subset(&test_rows, false),
    )
}

/// Row numbers of every user's interactions: 0..n are the explicit ratings, n.. the implicit
/// interactions (row n + r is implicit row r), in file order within each kind.
fn interactions_by_user(data: &Interactions) -> Vec<Vec<usize>> {
    let n = data.len();
    let m = data.implicit_user.len().min(data.implicit_item.len());
    let mut by_user: Vec<Vec<usize>> = vec![Vec::new(); data.n_users()];
    for (r, &u) in data.user.iter().enumerate() {
        by_user[u as usize].push(r);
    }
    for (r, &u) in data.implicit_user[..m].iter().enumerate() {
        if let Some(rows) = by_user.get_mut(u as usize) {
            rows.push(n + r);
        }
    }
    by_user
}

/// The interactions of `data` (numbered as in [`interactions_by_user`]) for which `keep` holds,
/// explicit rows as ratings and implicit rows in `implicit_user` / `implicit_item`.
fn interaction_subset(data: &Interactions, keep: impl Fn(usize) -> bool) -> Interactions {
    let n = data.len();
    let m = data.implicit_user.len().min(data.implicit_item.len());
    let rows: Vec<usize> = (0..n).filter(|&r| keep(r)).collect();
    let mut set = data.subset(&rows, false);
    for r in (0..m).filter(|&r| keep(n + r)) {
        set.implicit_user.push(data.implicit_user[r]);
        set.implicit_item.push(data.implicit_item[r]);
    }
    set
}

/// [`Split::Interactions`]: rows 0..n are the explicit ratings, n.. the implicit interactions.
fn interaction_split(
    data: &Interactions,
    frac: f64,
    rng: &mut Rng,
) -> (Interactions, Interactions) {
    let m = data.implicit_user.len().min(data.implicit_item.len());
    let mut is_test = vec![false; data.len() + m];
    for mut rows in interactions_by_user(data) {
        if rows.len() >= 2 {
            rng.shuffle(&mut rows);
            for &r in &rows[..holdout_count(rows.len(), frac)] {
                is_test[r] = true;
            }
        }
    }
    (
        interaction_subset(data, |r| !is_test[r]),
        interaction_subset(data, |r| is_test[r]),
    )
}

/// Per-user k-fold cross-validation over *interactions* (explicit ratings and implicit ones
/// together), the k-fold counterpart of [`Split::Interactions`]: each user's interactions are
/// shuffled and dealt to the folds in turn, starting at a random fold, so fold `f`'s test set
/// holds ⌊n_u/k⌋ or ⌈n_u/k⌉ of every user's n_u interactions and every test user keeps at
/// least one in training (n_u ≥ 2, k ≥ 2). Users with a single interaction stay in every
/// training set. Test sets carry their held-out implicit interactions; the test sets of the
/// k folds are disjoint and together cover every interaction of users with n_u ≥ 2.
///
/// Errors: [`Error::Param`] if `folds < 2` or larger than the most interactions of one user
/// (a fold would hold out nothing); [`Error::Invalid`] if no user has 2 interactions.
pub fn interaction_k_fold(
    data: &Interactions,
    folds: usize,
    seed: u64,
) -> Result<Vec<(Interactions, Interactions)>> {
    let assignment = interaction_fold_assignment(data, folds, seed)?;
    Ok((0..folds)
        .map(|f| interaction_fold(data, &assignment, f))
        .collect())
}

/// The fold of every interaction (see [`interaction_k_fold`]; `None`: always in training),
/// numbered as in [`interactions_by_user`].
pub(crate) fn interaction_fold_assignment(
    data: &Interactions,
    folds: usize,
    seed: u64,
) -> Result<Vec<Option<usize>>> {
    let by_user = interactions_by_user(data);
    let most = by_user.iter().map(Vec::len).max().unwrap_or(0);
    if most < 2 {
        return Err(Error::Invalid(
            "no user has 2 or more interactions, so folds over interactions would leave every \
             test set empty"
                .to_string(),
        ));
    }
    if folds < 2 || folds > most {
        return Err(Error::param(
            "folds",
            folds,
            format!(
                "must be between 2 and the most interactions of one user ({most}) for folds \
                 over interactions"
            ),
        ));
    }
    let m = data.implicit_user.len().min(data.implicit_item.len());
    let mut fold_of = vec![None; data.len() + m];
    let mut rng = Rng::new(seed);
    for mut rows in by_user {
        if rows.len() >= 2 {
            rng.shuffle(&mut rows);
            let start = rng.below(folds as u64) as usize;
            for (p, &r) in rows.iter().enumerate() {
                fold_of[r] = Some((start + p) % folds);
            }
        }
    }
    Ok(fold_of)
}

/// (train, test) of interaction fold `f` under `assignment`.
pub(crate) fn interaction_fold(
    data: &Interactions,
    assignment: &[Option<usize>],
    f: usize,
) -> (Interactions, Interactions) {
    (
        interaction_subset(data, |r| assignment[r] != Some(f)),
        interaction_subset(data, |r| assignment[r] == Some(f)),
    )
}

/// `round(frac · n)` clamped to `[1, n - 1]`; `n >= 2`.
fn holdout_count(n: usize, frac: f64) -> usize {
    ((frac * n as f64).round() as usize).clamp(1, n - 1)
}

/// Row numbers of each user's ratings, in file order.
fn rows_by_user(data: &Interactions) -> Vec<Vec<usize>> {
    let mut by_user: Vec<Vec<usize>> = vec![Vec::new(); data.n_users()];
    for (r, &u) in data.user.iter().enumerate() {
        by_user[u as usize].push(r);
    }
    by_user
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn toy() -> Interactions {
        Interactions::from_triplets(
            [
                ("u1", "a", 1.0),
                ("u1", "b", 2.0),
                ("u1", "c", 3.0),
                ("u1", "d", 4.0),
                ("u2", "a", 5.0),
                ("u3", "b", 4.0),
                ("u3", "c", 3.0),
            ],
            None,
        )
    }

    #[test]
    fn holdout_count_bounds() {
        assert_eq!(holdout_count(2, 0.01), 1);
        assert_eq!(holdout_count(2, 0.99), 1);
        assert_eq!(holdout_count(10, 0.2), 2);
        assert_eq!(holdout_count(4, 0.5), 2);
    }

    #[test]
    fn per_user_keeps_single_rating_users_in_train() {
        let data = toy();
        let (train, test) =
            train_test_split(&data, &Split::PerUser { test_fraction: 0.5 }, 1).unwrap();
        // u1: 2 of 4 held out, u2 (1 rating) none, u3: 1 of 2.
        assert_eq!(test.len(), 3);
        assert_eq!(train.len(), 4);
        assert!(!test.user.contains(&1));
    }

    #[test]
    fn temporal_holds_out_latest() {
        let mut data = toy();
        data.timestamp = Some(vec![40, 30, 20, 10, 5, 1, 2]);
        let (train, test) = train_test_split(
            &data,
            &Split::Temporal {
                test_fraction: 0.25,
            },
            0,
        )
        .unwrap();
        // u1's latest is row 0 (item a, t=40); u3's latest is row 6 (item c, t=2).
        assert_eq!(test.timestamp.as_deref(), Some(&[40i64, 2][..]));
        assert_eq!(test.item, vec![0, 2]);
        assert_eq!(train.len(), 5);
    }

    #[test]
    fn interaction_split_partitions_explicit_and_implicit() {
        let mut data = toy();
        // u2 (index 1) gets 3 implicit interactions (b, c, d), u3 (index 2) one (a).
        data.implicit_user = vec![1, 1, 1, 2];
        data.implicit_item = vec![1, 2, 3, 0];
        let (train, test) =
            train_test_split(&data, &Split::Interactions { test_fraction: 0.5 }, 3).unwrap();
        assert_eq!(train.len() + test.len(), data.len());
        assert_eq!(train.n_implicit() + test.n_implicit(), data.n_implicit());
        // u1: 4 interactions → 2 held out; u2: 4 → 2; u3: 3 → round(1.5) = 2.
        let held = |u: u32| {
            test.user.iter().filter(|&&x| x == u).count()
                + test.implicit_user.iter().filter(|&&x| x == u).count()
        };
        assert_eq!((held(0), held(1), held(2)), (2, 2, 2));
        // Every pair lands on exactly one side.
        let mut pairs: Vec<(u32, u32)> = Vec::new();
        for set in [&train, &test] {
            pairs.extend(set.user.iter().copied().zip(set.item.iter().copied()));
            pairs.extend(
                set.implicit_user
                    .iter()
                    .copied()
                    .zip(set.implicit_item.iter().copied()),
            );
        }
        pairs.sort_unstable();
        let before = pairs.len();
        pairs.dedup();
        assert_eq!(before, pairs.len());
        assert_eq!(before, data.len() + data.n_implicit());
    }

    #[test]
    fn interaction_folds_partition_each_users_interactions() {
        let mut data = toy();
        data.implicit_user = vec![1, 1, 1, 2];
        data.implicit_item = vec![1, 2, 3, 0];
        let folds = interaction_k_fold(&data, 3, 7).unwrap();
        let pairs = |set: &Interactions| {
            let mut p: Vec<(u32, u32)> = set.user.iter().copied().zip(set.item.clone()).collect();
            p.extend(
                set.implicit_user
                    .iter()
                    .copied()
                    .zip(set.implicit_item.clone()),
            );
            p.sort_unstable();
            p
        };
        let all = pairs(&interaction_subset(&data, |_| true));
        let mut tested = Vec::new();
        for (train, test) in &folds {
            // Train and test partition the interactions.
            let mut both = pairs(train);
            both.extend(pairs(test));
            both.sort_unstable();
            assert_eq!(both, all);
            // Every user (all have ≥ 2 here) keeps at least one interaction in training, and
            // holds out ⌊n_u/3⌋ or ⌈n_u/3⌉: u1 4 → 1..2, u2 4 → 1..2, u3 3 → 1.
            for (u, n_u) in [(0u32, 4usize), (1, 4), (2, 3)] {
                let held = pairs(test).iter().filter(|p| p.0 == u).count();
                assert!(
                    held >= n_u / 3 && held <= n_u.div_ceil(3),
                    "user {u}: {held}"
                );
                assert!(pairs(train).iter().any(|p| p.0 == u));
            }
            tested.extend(pairs(test));
        }
        // The test sets are disjoint and cover everything.
        tested.sort_unstable();
        assert_eq!(tested, all);
        // Same seed, same folds.
        let again = interaction_k_fold(&data, 3, 7).unwrap();
        assert_eq!(pairs(&again[1].1), pairs(&folds[1].1));
        // Too many folds for the busiest user (4 interactions), or too few.
        for k in [1, 5] {
            assert!(matches!(
                interaction_k_fold(&data, k, 0).unwrap_err(),
                Error::Param { .. }
            ));
        }
        let lonely = Interactions::from_triplets([("u1", "a", 1.0), ("u2", "b", 2.0)], None);
        assert!(matches!(
            interaction_k_fold(&lonely, 2, 0).unwrap_err(),
            Error::Invalid(_)
        ));
    }

    #[test]
    fn temporal_without_timestamps_is_an_error() {
        let err = train_test_split(&toy(), &Split::Temporal { test_fraction: 0.2 }, 0).unwrap_err();
        assert!(matches!(err, Error::Invalid(_)), "{err}");
    }

    #[test]
    fn bad_parameters() {
        for f in [0.0, 1.0, -0.5, f64::NAN, 2.0] {
            let err = train_test_split(&toy(), &Split::Random { test_fraction: f }, 0).unwrap_err();
            assert!(matches!(err, Error::Param { .. }), "{err}");
        }
        assert!(matches!(
            k_fold(&toy(), 1, 0).unwrap_err(),
            Error::Param { .. }
        ));
        assert!(matches!(
            k_fold(&toy(), 8, 0).unwrap_err(),
            Error::Param { .. }
        ));
        let empty = Interactions::from_triplets(Vec::<(&str, &str, f32)>::new(), None);
        assert!(matches!(
            k_fold(&empty, 2, 0).unwrap_err(),
            Error::Invalid(_)
        ));
        assert!(matches!(
            train_test_split(&empty, &Split::Random { test_fraction: 0.2 }, 0).unwrap_err(),
            Error::Invalid(_)
        ));
    }
}
