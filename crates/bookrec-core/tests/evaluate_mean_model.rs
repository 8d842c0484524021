//! Evaluation end to end through the public API, with the global-mean model, whose
//! predictions are known in closed form (r̂ = μ of the training ratings for every row, known or
//! not), so RMSE, MAE, fallback counts and cross-validation figures can be computed by hand.
#![allow(clippy::unwrap_used)]

use bookrec_core::evaluation::evaluate::{cross_validate, evaluate, evaluate_fitted, EvalOptions};
use bookrec_core::evaluation::metrics::{mae, rmse};
use bookrec_core::evaluation::split::k_fold;
use bookrec_core::models::ModelSpec;
use bookrec_core::progress::NoProgress;
use bookrec_core::{Error, Interactions, RatingScale};

fn scale() -> Option<RatingScale> {
    Some(RatingScale::new(1.0, 10.0))
}

#[test]
fn given_train_and_test_files_with_different_vocabularies() {
    // μ = (8 + 4 + 6 + 6) / 4 = 6.
    let train = Interactions::from_triplets(
        [
            ("u1", "a", 8.0),
            ("u1", "b", 4.0),
            ("u2", "a", 6.0),
            ("u2", "c", 6.0),
        ],
        scale(),
    );
    let test = Interactions::from_triplets(
        [
            ("u2", "b", 9.0),
            ("u9", "a", 10.0),
            ("u1", "zz", 6.0),
            ("u8", "yy", 2.0),
        ],
        scale(),
    );
    let opts = EvalOptions {
        ranking_k: None,
        ..EvalOptions::default()
    };
    let (model, r) = evaluate(&ModelSpec::Mean, &train, &test, &opts, &NoProgress).unwrap();
    // Errors 3, 4, 0, -4.
    assert!((r.rmse - (41.0f64 / 4.0).sqrt()).abs() < 1e-6, "{}", r.rmse);
    assert!((r.mae - 11.0 / 4.0).abs() < 1e-6, "{}", r.mae);
    assert_eq!((r.n_train, r.n_test), (4, 4));
    assert_eq!((r.n_unknown_user, r.n_unknown_item), (2, 2));
    assert_eq!(r.model, "mean");
    assert!(r.fit_seconds >= 0.0 && r.predict_seconds >= 0.0);
    assert!(r.ranking.is_none());
    // The same model evaluated again: same figures, no fit time.
    let again = evaluate_fitted(&model, &test, &opts).unwrap();
    assert_eq!(
        (again.rmse, again.mae, again.fit_seconds),
        (r.rmse, r.mae, 0.0)
    );
    let text = r.to_string();
    assert!(text.contains("RMSE") && text.contains("3.2016"), "{text}");
}

fn synthetic(n_users: usize, n_items: usize) -> Interactions {
    let mut t = Vec::new();
    for u in 0..n_users {
        for i in 0..n_items {
            if (u * 7 + i * 3) % 5 < 2 {
                let r = 1 + (u * 3 + i * 5) % 10;
                t.push((format!("u{u}"), format!("b{i}"), r as f32));
            }
        }
    }
    Interactions::from_triplets(t, scale())
}

#[test]
fn cross_validation_matches_the_folds_by_hand() {
    let data = synthetic(30, 20);
    let opts = EvalOptions::default();
    let cv = cross_validate(&ModelSpec::Mean, &data, 4, 11, &opts, &NoProgress).unwrap();
    assert_eq!(cv.folds.len(), 4);
    let folds = k_fold(&data, 4, 11).unwrap();
    let mut expected = Vec::new();
    for ((train, test), report) in folds.iter().zip(&cv.folds) {
        let mu = train.global_mean();
        let pred = vec![mu; test.len()];
        assert!((report.rmse - rmse(&pred, &test.rating)).abs() < 1e-6);
        assert!((report.mae - mae(&pred, &test.rating)).abs() < 1e-6);
        assert_eq!((report.n_train, report.n_test), (train.len(), test.len()));
        let m = report.ranking.as_ref().unwrap();
        for v in [m.precision, m.recall, m.ndcg, m.map, m.hit_rate, m.coverage] {
            assert!((0.0..=1.0).contains(&v), "{m:?}");
        }
        expected.push(report.rmse);
    }
    let mean = expected.iter().sum::<f64>() / 4.0;
    let std = (expected.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / 3.0).sqrt();
    assert!((cv.mean.rmse - mean).abs() < 1e-12);
    assert!((cv.std.rmse - std).abs() < 1e-12);
    assert_eq!(cv.mean.n_test, data.len() as f64 / 4.0);
    assert!(cv.mean.ndcg.is_some());
    // Deterministic for a seed.
    let again = cross_validate(&ModelSpec::Mean, &data, 4, 11, &opts, &NoProgress).unwrap();
    for (a, b) in cv.folds.iter().zip(&again.folds) {
        assert_eq!((a.rmse, &a.ranking), (b.rmse, &b.ranking));
    }
    let text = cv.to_string();
    assert!(
        text.contains("mean ± std") && text.contains("4-fold"),
        "{text}"
    );
    let json = cv.summary_json();
    assert_eq!(json["folds"], 4);
    assert_eq!(json["rmse"], serde_json::json!(cv.mean.rmse));
}

#[test]
fn errors_are_typed() {
    let data = synthetic(5, 5);
    let empty = data.subset(&[], false);
    let opts = EvalOptions::default();
    assert!(matches!(
        evaluate(&ModelSpec::Mean, &data, &empty, &opts, &NoProgress).unwrap_err(),
        Error::Invalid(_)
    ));
    assert!(matches!(
        evaluate(&ModelSpec::Mean, &empty, &data, &opts, &NoProgress).unwrap_err(),
        Error::Invalid(_)
    ));
    assert!(matches!(
        cross_validate(&ModelSpec::Mean, &data, 1, 0, &opts, &NoProgress).unwrap_err(),
        Error::Param { .. }
    ));
    let bad = EvalOptions {
        max_ranking_users: Some(0),
        ..EvalOptions::default()
    };
    assert!(matches!(
        evaluate(&ModelSpec::Mean, &data, &data, &bad, &NoProgress).unwrap_err(),
        Error::Param { .. }
    ));
}
