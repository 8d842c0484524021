//! Metric values on hand-computed lists, and bounds on arbitrary ones.
#![allow(clippy::unwrap_used)]

use bookrec_core::evaluation::metrics::{
    average_precision_at_k, mae, ndcg_at_k, precision_at_k, ranking_metrics, recall_at_k, rmse,
};
use proptest::prelude::*;

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() < 1e-12
}

#[test]
fn rmse_and_mae_by_hand() {
    // Errors 1, 0, 2: RMSE = √(5/3), MAE = 1.
    let (p, t) = ([1.0f32, 2.0, 3.0], [2.0f32, 2.0, 5.0]);
    assert!(close(rmse(&p, &t), (5.0f64 / 3.0).sqrt()));
    assert!(close(mae(&p, &t), 1.0));
}

#[test]
fn list_metrics_by_hand() {
    // recs [1, 9, 2, 8], relevant {1, 2, 3}, k = 4: hits at ranks 1 and 3.
    let (recs, rel) = ([1u32, 9, 2, 8], [3u32, 2, 1]);
    assert!(close(precision_at_k(&recs, &rel, 4), 0.5));
    assert!(close(recall_at_k(&recs, &rel, 4), 2.0 / 3.0));
    // AP = (1/1 + 2/3) / min(3, 4) = 5/9.
    assert!(close(average_precision_at_k(&recs, &rel, 4), 5.0 / 9.0));
    // DCG = 1 + 1/log2(4) = 1.5; IDCG = 1 + 1/log2(3) + 1/log2(4).
    let idcg = 1.0 + 1.0 / 3f64.log2() + 0.5;
    assert!(close(ndcg_at_k(&recs, &rel, 4), 1.5 / idcg));
    // k = 2 reads only [1, 9]: precision 1/2, recall 1/3, AP = 1 / min(3, 2), IDCG of 2 hits.
    assert!(close(precision_at_k(&recs, &rel, 2), 0.5));
    assert!(close(recall_at_k(&recs, &rel, 2), 1.0 / 3.0));
    assert!(close(average_precision_at_k(&recs, &rel, 2), 0.5));
    assert!(close(
        ndcg_at_k(&recs, &rel, 2),
        1.0 / (1.0 + 1.0 / 3f64.log2())
    ));
    // [rel, non, rel] with 2 relevant.
    assert!(close(
        ndcg_at_k(&[5, 6, 7], &[5, 7], 3),
        1.5 / (1.0 + 1.0 / 3f64.log2())
    ));
    // A short list is penalised in precision only.
    assert!(close(precision_at_k(&[1], &[1], 10), 0.1));
    assert!(close(ndcg_at_k(&[1], &[1], 10), 1.0));
}

#[test]
fn ranking_metrics_by_hand() {
    let recs = vec![vec![1, 2], vec![3, 4], vec![5, 6]];
    // User 0: hit at rank 1 of 1 relevant; user 1: no hit; user 2: no relevant (skipped).
    let rel = vec![vec![1], vec![9, 8], vec![]];
    let m = ranking_metrics(&recs, &rel, 2, 8.0, 10);
    assert_eq!(m.users_evaluated, 2);
    assert!(close(m.precision, (0.5 + 0.0) / 2.0));
    assert!(close(m.recall, 0.5));
    assert!(close(m.ndcg, 0.5));
    assert!(close(m.map, 0.5));
    assert!(close(m.hit_rate, 0.5));
    // Distinct recommended among evaluated users: 1, 2, 3, 4 of 10 candidates.
    assert!(close(m.coverage, 0.4));
    assert_eq!((m.k, m.relevance_threshold), (2, 8.0));
    let none = ranking_metrics(&[], &[], 10, 8.0, 10);
    assert_eq!(
        (none.users_evaluated, none.ndcg, none.coverage),
        (0, 0.0, 0.0)
    );
}

proptest! {
    #[test]
    fn rating_errors_are_ordered(pairs in prop::collection::vec((-10f32..10.0, -10f32..10.0), 1..100)) {
        let (p, t): (Vec<f32>, Vec<f32>) = pairs.into_iter().unzip();
        let (r, a) = (rmse(&p, &t), mae(&p, &t));
        let max_err = p.iter().zip(&t).map(|(&x, &y)| (x as f64 - y as f64).abs()).fold(0.0, f64::max);
        prop_assert!(a >= 0.0);
        prop_assert!(r >= a - 1e-9, "rmse {} < mae {}", r, a);
        prop_assert!(r <= max_err + 1e-9);
        prop_assert_eq!(rmse(&t, &t), 0.0);
        prop_assert_eq!(mae(&t, &t), 0.0);
    }

    #[test]
    fn list_metrics_are_bounded(
        recs in prop::collection::vec(0u32..30, 0..25),
        rel in prop::collection::vec(0u32..30, 0..12),
        k in 1usize..20,
    ) {
        for v in [
            precision_at_k(&recs, &rel, k),
            recall_at_k(&recs, &rel, k),
            ndcg_at_k(&recs, &rel, k),
            average_precision_at_k(&recs, &rel, k),
        ] {
            prop_assert!((0.0..=1.0 + 1e-12).contains(&v), "{}", v);
        }
        // A perfect list (the distinct relevant ids, in any order) scores 1 on NDCG and AP.
        let mut perfect = rel.clone();
        perfect.sort_unstable();
        perfect.dedup();
        if !perfect.is_empty() {
            prop_assert!(close(ndcg_at_k(&perfect, &rel, k), 1.0));
            prop_assert!(close(average_precision_at_k(&perfect, &rel, k), 1.0));
            let expected_recall = perfect.len().min(k) as f64 / perfect.len() as f64;
            prop_assert!(close(recall_at_k(&perfect, &rel, k), expected_recall));
        }
    }

    #[test]
    fn ranking_metrics_are_bounded(
        users in prop::collection::vec(
            (prop::collection::vec(0u32..40, 0..15), prop::collection::vec(0u32..40, 0..8)),
            0..20,
        ),
        k in 1usize..12,
    ) {
        let (recs, rel): (Vec<Vec<u32>>, Vec<Vec<u32>>) = users.into_iter().unzip();
        let m = ranking_metrics(&recs, &rel, k, 7.3, 40);
        prop_assert_eq!(m.users_evaluated, rel.iter().filter(|r| !r.is_empty()).count());
        for v in [m.precision, m.recall, m.ndcg, m.map, m.hit_rate, m.coverage] {
            prop_assert!((0.0..=1.0 + 1e-12).contains(&v), "{:?}", m);
        }
        prop_assert!(m.precision <= m.hit_rate + 1e-12);
        prop_assert!(m.ndcg <= m.hit_rate + 1e-12);
    }
}
