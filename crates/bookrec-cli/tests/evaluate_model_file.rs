//! `bookrec evaluate --model-file MODEL --test FILE`: scoring a saved model, and the `train`
//! flags around it (native train refuses the Spark-only holdout flags; `--show-params`).
#![allow(clippy::unwrap_used)]

mod common;

use std::path::{Path, PathBuf};

use common::{bookrec, fails, ok, s};

/// The demo ratings split by line: every fifth rating into test.csv, the rest into train.csv.
fn split_demo(dir: &Path) -> (PathBuf, PathBuf) {
    let (ratings, _) = bookrec_core::datasets::demo::write_demo_files(
        dir,
        bookrec_core::datasets::demo::DEMO_SEED,
    )
    .unwrap();
    let text = std::fs::read_to_string(ratings).unwrap();
    let mut lines = text.lines();
    let header = lines.next().unwrap();
    let (mut train, mut test) = (format!("{header}\n"), format!("{header}\n"));
    for (k, line) in lines.enumerate() {
        let out = if k % 5 == 0 { &mut test } else { &mut train };
        out.push_str(line);
        out.push('\n');
    }
    let (train_path, test_path) = (dir.join("train.csv"), dir.join("test.csv"));
    std::fs::write(&train_path, train).unwrap();
    std::fs::write(&test_path, test).unwrap();
    (train_path, test_path)
}

#[test]
fn a_saved_model_scores_as_evaluate_trained_it() {
    let dir = tempfile::tempdir().unwrap();
    let (train, test) = split_demo(dir.path());
    let model = dir.path().join("svd.bkr");
    // A fixed SGD grid, so the two fits are bit-identical whatever the thread count.
    let params = ["--model", "svd", "-p", "blocks=2", "-p", "epochs=10"];
    let trained: serde_json::Value = serde_json::from_str(&ok(&[
        &[
            "evaluate",
            "--train",
            s(&train),
            "--test",
            s(&test),
            "--json",
        ][..],
        &params,
        &["--seed", "5"],
    ]
    .concat()))
    .unwrap();
    ok(&[
        &["train", "--ratings", s(&train), "--out", s(&model)][..],
        &params,
        &["--seed", "5"],
    ]
    .concat());
    let scored: serde_json::Value = serde_json::from_str(&ok(&[
        "evaluate",
        "--model-file",
        s(&model),
        "--test",
        s(&test),
        "--json",
    ]))
    .unwrap();
    for key in [
        "model",
        "rmse",
        "mae",
        "n_train",
        "n_test",
        "n_unknown_user",
        "n_unknown_item",
        "ranking",
    ] {
        assert_eq!(scored[key], trained[key], "{key}: {scored} vs {trained}");
    }
    assert!(
        scored["ranking"]["ndcg"].as_f64().unwrap() > 0.0,
        "{scored}"
    );
    assert_eq!(scored["fit_seconds"], 0.0);

    // The table is today's evaluate table, one row for the model.
    let table = ok(&[
        "evaluate",
        "--model-file",
        s(&model),
        "--test",
        s(&test),
        "-k",
        "5",
    ]);
    assert!(table.starts_with("train "), "{table}");
    assert!(
        table.contains("precision@k") && table.contains("\nsvd "),
        "{table}"
    );
    assert!(table.contains("ranking: k = 5"), "{table}");
}

#[test]
fn a_test_file_that_does_not_fit_the_model_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let train = dir.path().join("train.csv");
    std::fs::write(
        &train,
        "user,book,rating\n1,a,5\n1,b,3\n2,a,4\n2,c,2\n3,b,1\n3,c,4\n",
    )
    .unwrap();
    let model = dir.path().join("m.bkr");
    ok(&[
        "train",
        "--ratings",
        s(&train),
        "--model",
        "baseline",
        "--out",
        s(&model),
    ]);

    // Another data set's scale: 1–10 ratings against a 1–5 model.
    let ten = dir.path().join("ten.csv");
    std::fs::write(&ten, "user,book,rating\n1,c,8\n2,b,10\n3,a,2\n").unwrap();
    let err = fails(&["evaluate", "--model-file", s(&model), "--test", s(&ten)]);
    assert!(
        err.contains("2 of 3 test ratings lie outside the model's rating scale 1–5"),
        "{err}"
    );
    assert!(err.contains("e.g. 8 by user \"1\" for book \"c\""), "{err}");

    // Ids the model never saw (e.g. the columns swapped, or another data set).
    let swapped = dir.path().join("swapped.csv");
    std::fs::write(&swapped, "book,user,rating\nx,7,4\ny,8,2\n").unwrap();
    let err = fails(&[
        "evaluate",
        "--model-file",
        s(&model),
        "--test",
        s(&swapped),
        "--user-col",
        "0",
        "--item-col",
        "1",
    ]);
    assert!(
        err.contains("none of the test set's 2 users is in the model"),
        "{err}"
    );
    assert!(err.contains("user \"x\""), "{err}");

    // Some unknown users are normal: they are predicted by the fallback and counted.
    let partly = dir.path().join("partly.csv");
    std::fs::write(&partly, "user,book,rating\n1,c,2\n9,a,4\n").unwrap();
    let v: serde_json::Value = serde_json::from_str(&ok(&[
        "evaluate",
        "--model-file",
        s(&model),
        "--test",
        s(&partly),
        "--json",
        "-k",
        "0",
    ]))
    .unwrap();
    assert_eq!(v["n_test"], 2);
    assert_eq!(v["n_unknown_user"], 1);

    // A missing model file names it; the flags that train a model do not apply.
    let err = fails(&[
        "evaluate",
        "--model-file",
        s(&dir.path().join("nope.bkr")),
        "--test",
        s(&partly),
    ]);
    assert!(err.contains("nope.bkr"), "{err}");
    let err = fails(&[
        "evaluate",
        "--model-file",
        s(&model),
        "--test",
        s(&partly),
        "-p",
        "factors=5",
    ]);
    assert!(
        err.contains("--model-file") && err.contains("--param"),
        "{err}"
    );
    let err = fails(&["evaluate", "--model-file", s(&model)]);
    assert!(err.contains("--test"), "{err}");
}

#[test]
fn native_train_refuses_the_spark_holdout_flags() {
    let dir = tempfile::tempdir().unwrap();
    let (train, test) = split_demo(dir.path());
    let out = dir.path().join("m.bkr");
    for extra in [["--test-fraction", "0.2"], ["--test", s(&test)]] {
        let err = fails(
            &[
                &["train", "--ratings", s(&train), "--out", s(&out)][..],
                &extra,
            ]
            .concat(),
        );
        assert!(
            err.contains("native `train` fits every rating")
                && err.contains("evaluate --model-file"),
            "{err}"
        );
    }
    assert!(!out.exists());
}

#[test]
fn show_params_prints_numbers_as_typed_and_explains_blocks() {
    let out = bookrec(&["train", "--model", "svd", "--show-params"]);
    assert!(out.status.success());
    let stdout = String::from_utf8(out.stdout).unwrap();
    let v: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert!(stdout.contains("\"lr\": 0.005,"), "{stdout}");
    assert!(stdout.contains("\"reg\": 0.02,"), "{stdout}");
    assert_eq!(v["blocks"], 0);
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(
        stderr.starts_with("blocks: ") && stderr.contains("0 = automatic"),
        "{stderr}"
    );
}
