//! Ranking metrics see planted structure: on the demo ratings (users generated with genre
//! tastes), a personalised model must rank held-out liked books far better than the
//! non-personalised global mean, and every metric must respond the same way.
#![allow(clippy::unwrap_used)]

use bookrec_core::datasets::demo::{demo_data, DEMO_SEED};
use bookrec_core::evaluation::evaluate::{evaluate, EvalOptions, EvalReport};
use bookrec_core::evaluation::split::{train_test_split, Split};
use bookrec_core::models::{ModelKind, ModelSpec};
use bookrec_core::progress::NoProgress;
use bookrec_core::Interactions;

/// The explicit demo ratings (`user_id,book_id,rating`, 0 = implicit and skipped).
fn demo_ratings() -> Interactions {
    let csv = demo_data(DEMO_SEED).ratings_csv;
    let triplets: Vec<(String, String, f32)> = csv
        .lines()
        .skip(1)
        .filter_map(|line| {
            let mut f = line.split(',');
            let (u, b, r) = (f.next()?, f.next()?, f.next()?.parse::<f32>().ok()?);
            (r > 0.0).then(|| (u.to_string(), b.to_string(), r))
        })
        .collect();
    Interactions::from_triplets(triplets, None)
}

fn run(kind: ModelKind, train: &Interactions, test: &Interactions) -> EvalReport {
    let opts = EvalOptions {
        max_ranking_users: None,
        ..EvalOptions::default()
    };
    evaluate(
        &ModelSpec::default_for(kind),
        train,
        test,
        &opts,
        &NoProgress,
    )
    .unwrap()
    .1
}

#[test]
fn personalised_model_beats_the_mean_on_every_ranking_metric() {
    let data = demo_ratings();
    assert!(data.len() > 10_000, "{} ratings", data.len());
    let (train, test) = train_test_split(&data, &Split::PerUser { test_fraction: 0.2 }, 7).unwrap();
    let mean = run(ModelKind::Mean, &train, &test);
    for kind in [ModelKind::Svd, ModelKind::Als, ModelKind::Knn] {
        let r = run(kind, &train, &test);
        let (m, b) = (r.ranking.as_ref().unwrap(), mean.ranking.as_ref().unwrap());
        assert_eq!(m.users_evaluated, b.users_evaluated);
        assert!(r.rmse < mean.rmse);
        assert!(
            m.precision > b.precision && m.recall > b.recall,
            "{kind:?}: {m:?} vs {b:?}"
        );
        assert!(
            m.ndcg > b.ndcg && m.map > b.map && m.hit_rate > b.hit_rate,
            "{kind:?}: {m:?} vs {b:?}"
        );
        assert!(m.coverage > b.coverage, "{kind:?}");
    }
}
