//! Evaluation on the real Book-Crossing ratings: the holdout is a partition, unknown users and
//! books are counted, the regularised baseline beats the global mean, and per-user holdout
//! leaves no test user unknown. Skipped with a notice when ../shared/data is absent.
#![allow(clippy::unwrap_used)]

use std::path::PathBuf;

use bookrec_core::data::{load_ratings, LoadOptions};
use bookrec_core::evaluation::evaluate::{evaluate, EvalOptions};
use bookrec_core::evaluation::split::{train_test_split, Split};
use bookrec_core::models::{ModelKind, ModelSpec};
use bookrec_core::progress::NoProgress;

fn bx_ratings() -> Option<PathBuf> {
    let p = PathBuf::from(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../../shared/data/book-crossing/BX-Book-Ratings.csv"
    ));
    if p.exists() {
        Some(p)
    } else {
        eprintln!(
            "NOTICE: {} not found; skipping the Book-Crossing evaluation",
            p.display()
        );
        None
    }
}

#[test]
fn bx_holdout_and_per_user_evaluation() {
    let Some(path) = bx_ratings() else {
        return;
    };
    let (data, _) = load_ratings(&path, &LoadOptions::default(), &NoProgress).unwrap();
    let opts = EvalOptions {
        max_ranking_users: Some(1_000),
        ..EvalOptions::default()
    };

    let (train, test) = train_test_split(&data, &Split::Random { test_fraction: 0.2 }, 42).unwrap();
    assert_eq!(train.len() + test.len(), data.len());
    assert_eq!(test.len(), (data.len() as f64 * 0.2).round() as usize);
    let (_, mean) = evaluate(&ModelSpec::Mean, &train, &test, &opts, &NoProgress).unwrap();
    let baseline_spec = ModelSpec::default_for(ModelKind::Baseline);
    let (_, base) = evaluate(&baseline_spec, &train, &test, &opts, &NoProgress).unwrap();
    println!("{mean}\n{base}");
    // A random holdout of this sparse data leaves thousands of test users and books unseen.
    assert!(
        base.n_unknown_user > 1_000 && base.n_unknown_item > 10_000,
        "{base:?}"
    );
    assert_eq!(
        (mean.n_unknown_user, mean.n_unknown_item),
        (base.n_unknown_user, base.n_unknown_item)
    );
    assert!((1.80..1.90).contains(&mean.rmse), "{}", mean.rmse);
    assert!(
        base.rmse < mean.rmse - 0.1 && base.mae < mean.mae,
        "{} vs {}",
        base.rmse,
        mean.rmse
    );
    let ranking = base.ranking.unwrap();
    assert_eq!(ranking.users_evaluated, 1_000);
    assert_eq!(ranking.relevance_threshold, 7.3);

    // Per-user holdout: every test user has training ratings, so none falls back for its user.
    let (train, test) =
        train_test_split(&data, &Split::PerUser { test_fraction: 0.2 }, 42).unwrap();
    let (_, base) = evaluate(&baseline_spec, &train, &test, &opts, &NoProgress).unwrap();
    assert_eq!(base.n_unknown_user, 0);
    assert!(base.n_unknown_item > 0);
}
