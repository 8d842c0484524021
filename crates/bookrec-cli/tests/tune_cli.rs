//! End-to-end tests of `bookrec tune`: real process, demo ratings, real files.
#![allow(clippy::unwrap_used)]

use std::path::Path;
use std::process::{Command, Output};

fn bookrec(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_bookrec"))
        .args(args)
        .env_remove("BOOKREC_LOG")
        .output()
        .unwrap()
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

#[test]
fn tune_writes_tables_reports_holdout_and_saves_the_best_model() {
    let dir = tempfile::tempdir().unwrap();
    let (ratings, _) =
        bookrec_core::demo::write_demo_files(dir.path(), bookrec_core::demo::DEMO_SEED).unwrap();
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
    let (fitted, _) = bookrec_core::io::load_model(&model).unwrap();
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
