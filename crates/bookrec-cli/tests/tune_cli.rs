//! End-to-end tests of `bookrec tune`: real process, demo ratings, real files.
#![allow(clippy::unwrap_used)]

mod common;

use common::{bookrec, s};

#[test]
fn tune_writes_tables_reports_holdout_and_saves_the_best_model() {
    let dir = tempfile::tempdir().unwrap();
    let (ratings, _) = bookrec_core::datasets::demo::write_demo_files(
        dir.path(),
        bookrec_core::datasets::demo::DEMO_SEED,
    )
    .unwrap();
    let out_dir = dir.path().join("results");
    let model = dir.path().join("best.bkr");
    let args = [
        "tune",
        "--ratings",
        s(&ratings),
        "--model",
        "baseline",
        "--trials",
        "6",
        "--folds",
        "2",
        "--test-fraction",
        "0.2",
        "--out-dir",
        s(&out_dir),
        "--save-model",
        s(&model),
        "--json",
    ];
    let out = bookrec(&args);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // Piped: no progress bars on stderr.
    assert!(
        out.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["tune"]["trials"].as_array().unwrap().len(), 6);
    assert_eq!(v["best_params"]["model"], "baseline");
    let holdout_rmse = v["holdout"]["rmse"].as_f64().unwrap();
    assert!(holdout_rmse > 0.0 && holdout_rmse < 3.0, "{holdout_rmse}");
    let csv = std::fs::read_to_string(out_dir.join("tune_baseline.csv")).unwrap();
    assert_eq!(csv.lines().count(), 7, "{csv}");
    assert!(out_dir.join("tune_baseline.json").exists());
    let (fitted, _) = bookrec_core::model_file::load_model(&model).unwrap();
    assert_eq!(fitted.kind.name(), "baseline");
    assert_eq!(fitted.params, v["best_params"]);

    // Same seed, same table (timings aside).
    let again = bookrec(&args);
    let w: serde_json::Value = serde_json::from_slice(&again.stdout).unwrap();
    let table = |v: &serde_json::Value| {
        let mut trials = v["tune"]["trials"].as_array().unwrap().clone();
        for t in &mut trials {
            t.as_object_mut().unwrap().remove("fit_seconds");
        }
        trials
    };
    assert_eq!(table(&v), table(&w));
    assert_eq!(v["holdout"]["rmse"], w["holdout"]["rmse"]);
}

#[test]
fn tune_rejects_a_bad_space_file_before_reading_data() {
    let dir = tempfile::tempdir().unwrap();
    let space = dir.path().join("space.json");
    std::fs::write(&space, "{\n  \"reg\": {\"log_uniform\": [0.1, 0.01]}\n}\n").unwrap();
    let out = bookrec(&[
        "tune",
        "--ratings",
        "/nonexistent/ratings.csv",
        "--model",
        "svd",
        "--space",
        s(&space),
    ]);
    assert!(!out.status.success());
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(
        err.starts_with("error: ") && err.contains("space.json:2:") && err.contains("`reg`"),
        "{err}"
    );
    let out = bookrec(&["tune", "--ratings", "x.csv", "--model", "mean"]);
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(err.contains("no hyper-parameters"), "{err}");
}

#[test]
fn tune_ials_for_ndcg_on_held_out_interactions() {
    let dir = tempfile::tempdir().unwrap();
    let (ratings, books) = bookrec_core::datasets::demo::write_demo_files(
        dir.path(),
        bookrec_core::datasets::demo::DEMO_SEED,
    )
    .unwrap();
    let space = dir.path().join("ials.json");
    std::fs::write(
        &space,
        r#"{"factors": {"log_int": [4, 32]}, "iterations": 4, "reg": {"log_uniform": [0.01, 10]}}"#,
    )
    .unwrap();
    let out_dir = dir.path().join("results");
    let model = dir.path().join("ials.bkr");
    let tune_ials = |extra: &[&str]| {
        let mut args = vec![
            "tune",
            "--ratings",
            s(&ratings),
            "--model",
            "ials",
            "--metric",
            "ndcg@10",
            "--space",
            s(&space),
            "--folds",
            "2",
            "--test-fraction",
            "0.2",
            "--out-dir",
            s(&out_dir),
            "--json",
        ];
        args.extend_from_slice(extra);
        bookrec(&args)
    };
    let out = tune_ials(&["--trials", "4", "--save-model", s(&model)]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let tune = &v["tune"];
    assert_eq!(tune["metric"], "ndcg@10");
    assert_eq!(tune["folds_over"], "interactions");
    let trials = tune["trials"].as_array().unwrap();
    assert_eq!(trials.len(), 4);
    let best = &trials[tune["best"].as_u64().unwrap() as usize];
    // ials predicts no ratings: its RMSE is null, its NDCG a fold mean in (0, 1].
    assert!(best["rmse"].is_null());
    let ndcg = best["mean"].as_f64().unwrap();
    assert!(ndcg > 0.0 && ndcg <= 1.0, "{ndcg}");
    for t in trials {
        assert!(t["mean"].as_f64().unwrap() <= ndcg);
    }
    // The holdout is the interactions split, scored on every held-out book.
    let ranking = &v["holdout"]["ranking"];
    assert_eq!(ranking["relevance"], "interactions");
    assert_eq!(ranking["k"], 10);
    assert!(ranking["ndcg"].as_f64().unwrap() > 0.0);
    assert_ne!(ranking["level"], "works");
    // With the catalogue, trials and the holdout rank works as served (`evaluate --books`).
    let with_books = tune_ials(&["--trials", "2", "--books", s(&books)]);
    assert!(with_books.status.success());
    let w: serde_json::Value = serde_json::from_slice(&with_books.stdout).unwrap();
    assert_eq!(w["holdout"]["ranking"]["level"], "works", "{w}");
    let missing = dir.path().join("missing.csv");
    let refused = tune_ials(&["--trials", "2", "--books", s(&missing)]);
    assert!(!refused.status.success());
    let err = String::from_utf8(refused.stderr).unwrap();
    assert!(err.contains("missing.csv"), "{err}");
    let csv = std::fs::read_to_string(out_dir.join("tune_ials.csv")).unwrap();
    assert!(
        csv.starts_with("trial,factors,iterations,reg,ndcg@10_mean,ndcg@10_std,"),
        "{csv}"
    );
    let (fitted, _) = bookrec_core::model_file::load_model(&model).unwrap();
    assert_eq!(fitted.kind.name(), "ials");
    assert_eq!(fitted.params, v["best_params"]);

    // The table for people: the metric, the interactions and the held-out figure.
    let text = bookrec(&[
        "tune",
        "--ratings",
        s(&ratings),
        "--model",
        "popularity",
        "--metric",
        "recall@5",
    ]);
    let err = String::from_utf8(text.stderr).unwrap();
    assert!(err.contains("no hyper-parameters"), "{err}");
}

#[test]
fn tune_rejects_bad_metrics_before_reading_data() {
    for (model, metric, want) in [
        ("svd", "ndcg@0", "k must be a whole number"),
        ("svd", "foo", "unknown metric"),
        ("ials", "rmse", "ranking model"),
    ] {
        let out = bookrec(&[
            "tune",
            "--ratings",
            "/nonexistent/ratings.csv",
            "--model",
            model,
            "--metric",
            metric,
        ]);
        assert!(!out.status.success());
        let err = String::from_utf8(out.stderr).unwrap();
        assert!(
            err.starts_with("error: ") && err.contains(want) && !err.contains("nonexistent"),
            "{metric}: {err}"
        );
    }
}
