//! End-to-end tests of the `bookrec` binary: real processes, real files.
#![allow(clippy::unwrap_used)]

mod common;

use std::path::Path;

use common::{bookrec, demo_files, fails, ok, s};

#[test]
fn inspect_json_reports_counts() {
    let dir = tempfile::tempdir().unwrap();
    let (ratings, books) = demo_files(dir.path());
    let out = ok(&[
        "inspect",
        "--ratings",
        s(&ratings),
        "--books",
        s(&books),
        "--json",
    ]);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    let text = v.to_string();
    assert!(v["ratings"].is_object(), "{text}");
    assert!(v["catalog"].is_object(), "{text}");
    // Every demo rating's book is in the demo catalogue.
    assert!(text.contains("missing_from_catalog"), "{text}");
}

#[test]
fn evaluate_json_has_the_documented_keys() {
    let dir = tempfile::tempdir().unwrap();
    let (ratings, _) = demo_files(dir.path());
    let out = ok(&[
        "evaluate",
        "--ratings",
        s(&ratings),
        "--model",
        "baseline",
        "--json",
        "--seed",
        "3",
    ]);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    for key in ["model", "rmse", "mae", "fit_seconds", "n_train", "n_test"] {
        assert!(!v[key].is_null(), "missing {key} in {v}");
    }
    let rmse = v["rmse"].as_f64().unwrap();
    assert!(rmse > 0.5 && rmse < 2.5, "{rmse}");
    // Same seed, same split, same numbers.
    let again: serde_json::Value = serde_json::from_str(&ok(&[
        "evaluate",
        "--ratings",
        s(&ratings),
        "--model",
        "baseline",
        "--json",
        "--seed",
        "3",
    ]))
    .unwrap();
    assert_eq!(v["rmse"], again["rmse"]);
}

#[test]
fn kfold_json_lifts_means_and_keeps_folds() {
    let dir = tempfile::tempdir().unwrap();
    let (ratings, _) = demo_files(dir.path());
    let out = ok(&[
        "evaluate",
        "--ratings",
        s(&ratings),
        "--model",
        "mean,baseline",
        "--folds",
        "3",
        "--json",
        "-k",
        "0",
    ]);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    let arr = v.as_array().unwrap();
    assert_eq!(arr.len(), 2);
    for m in arr {
        assert_eq!(m["folds"].as_array().unwrap().len(), 3);
        assert!(m["rmse"].as_f64().unwrap() > 0.0);
        assert!(m["std"]["rmse"].as_f64().unwrap() >= 0.0);
    }
    assert!(arr[1]["rmse"].as_f64().unwrap() < arr[0]["rmse"].as_f64().unwrap());
}

#[test]
fn given_train_and_test_files() {
    let dir = tempfile::tempdir().unwrap();
    let train = dir.path().join("train.csv");
    let test = dir.path().join("test.csv");
    std::fs::write(
        &train,
        "user,book,rating\n1,a,5\n1,b,3\n2,a,4\n2,c,2\n3,b,1\n",
    )
    .unwrap();
    std::fs::write(&test, "user,book,rating\n1,c,2\n9,a,4\n").unwrap();
    let out = ok(&[
        "evaluate",
        "--train",
        s(&train),
        "--test",
        s(&test),
        "--model",
        "baseline",
        "--json",
        "-k",
        "0",
    ]);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["n_train"], 5);
    assert_eq!(v["n_test"], 2);
    assert_eq!(v["n_unknown_user"], 1);
}

#[test]
fn train_recommend_similar_round_trip() {
    let dir = tempfile::tempdir().unwrap();
    let (ratings, books) = demo_files(dir.path());
    let model = dir.path().join("m.bkr");
    let out = ok(&[
        "train",
        "--ratings",
        s(&ratings),
        "--model",
        "svd",
        "-p",
        "factors=16",
        "--out",
        s(&model),
    ]);
    let rmse = out.split("training rmse ").nth(1).unwrap_or_default();
    assert!(
        rmse.split(';')
            .next()
            .is_some_and(|r| r.len() == 6 && r.parse::<f64>().is_ok()),
        "{out}"
    );
    let out = ok(&[
        "recommend",
        "--model",
        s(&model),
        "--user",
        "1",
        "-n",
        "5",
        "--books",
        s(&books),
        "--json",
    ]);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["known_user"], true);
    // The document of GET /api/users/{id}/recommendations.
    assert_eq!(v["user_id"], "1");
    assert_eq!(v["source"], "personal");
    assert_eq!(v["score_kind"], "predicted_rating");
    assert_eq!(v["n_stored_ratings_used"], 0);
    let recs = v["items"].as_array().unwrap();
    assert_eq!(recs.len(), 5);
    assert!(recs
        .iter()
        .all(|r| !r["book"]["title"].as_str().unwrap().is_empty()));
    assert!(recs.iter().all(|r| r["book"]["in_catalog"] == true));
    // Scores are sorted best first.
    let scores: Vec<f64> = recs.iter().map(|r| r["score"].as_f64().unwrap()).collect();
    assert!(scores.windows(2).all(|w| w[0] >= w[1]), "{scores:?}");

    let unknown = ok(&[
        "recommend",
        "--model",
        s(&model),
        "--user",
        "no-such-reader",
        "--json",
    ]);
    let v: serde_json::Value = serde_json::from_str(&unknown).unwrap();
    assert_eq!(v["known_user"], false);
    assert_eq!(v["source"], "popular");
    assert!(
        v["message"].as_str().unwrap().contains("most popular"),
        "{v}"
    );
    assert_eq!(v["items"].as_array().unwrap().len(), 10);

    let book = recs[0]["book"]["id"].as_str().unwrap();
    let sim = ok(&[
        "similar",
        "--model",
        s(&model),
        "--book",
        book,
        "-n",
        "3",
        "--json",
    ]);
    let v: serde_json::Value = serde_json::from_str(&sim).unwrap();
    // The document of GET /api/books/{id}/similar.
    assert_eq!(v["book_id"], book);
    assert_eq!(v["items"].as_array().unwrap().len(), 3);
    assert!(v["items"][0]["similarity"].as_f64().unwrap() > 0.0, "{v}");
    // --min-support leaves out books with fewer training ratings, as in `recommend`.
    let similar = |support: &str| {
        ok(&[
            "similar",
            "--model",
            s(&model),
            "--book",
            book,
            "--min-support",
            support,
        ])
    };
    let out = similar("1000000");
    assert!(out.contains("no other book has at least 1000000"), "{out}");
    let out = similar("1");
    assert!(out.lines().any(|l| l.starts_with("10  ")), "{out}");
    for bad in ["-1", "many"] {
        let flag = format!("--min-support={bad}");
        let err = fails(&["similar", "--model", s(&model), "--book", book, &flag]);
        assert!(err.contains("--min-support") && err.contains(bad), "{err}");
    }
}

#[test]
fn malformed_input_gives_one_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.csv");
    std::fs::write(&bad, "u,i,r\n1,a,5\n2,b,five\n").unwrap();
    let err = fails(&["inspect", "--ratings", s(&bad), "--bad-lines", "error"]);
    assert!(err.contains("bad.csv:3") && err.contains("five"), "{err}");

    let err = fails(&["inspect", "--ratings", "/no/such/file.csv"]);
    assert!(err.contains("/no/such/file.csv"), "{err}");
    assert_eq!(
        err.matches("No such file").count(),
        1,
        "cause repeated: {err}"
    );

    let empty = dir.path().join("empty.csv");
    std::fs::write(&empty, "").unwrap();
    assert!(fails(&["inspect", "--ratings", s(&empty)]).contains("empty"));

    let err = fails(&["inspect", "--ratings", s(&bad), "--rating-scale", "10:1"]);
    assert!(err.contains("rating-scale"), "{err}");
    let err = fails(&["inspect", "--ratings", s(&bad), "--sep", ""]);
    assert!(err.contains("separator"), "{err}");

    let err = fails(&[
        "evaluate",
        "--ratings",
        s(&bad),
        "--model",
        "svd",
        "-p",
        "factors=0",
    ]);
    assert!(err.contains("factors"), "{err}");
    let err = fails(&["evaluate", "--ratings", s(&bad), "--model", "nope"]);
    assert!(err.contains("unknown model"), "{err}");

    let err = fails(&["recommend", "--model", s(&bad), "--user", "1"]);
    assert!(err.contains("not a bookrec model file"), "{err}");
}

#[test]
fn synth_writes_the_requested_ratings() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("synth.csv");
    let summary = ok(&[
        "synth",
        "--users",
        "300",
        "--books",
        "200",
        "--ratings",
        "5000",
        "--out",
        s(&out),
        "--json",
    ]);
    let v: serde_json::Value = serde_json::from_str(&summary).unwrap();
    assert_eq!(v["ratings"], 5000);
    let lines = std::fs::read_to_string(&out).unwrap().lines().count();
    assert_eq!(lines, 5001);
    assert!(fails(&[
        "synth",
        "--users",
        "2",
        "--books",
        "2",
        "--ratings",
        "10",
        "--out",
        s(&out)
    ])
    .contains("ratings"));
}

/// The raw Book-Crossing file loads through the CLI with no flags and the published counts.
#[test]
fn book_crossing_loads_with_no_flags() {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../../shared/data/book-crossing/BX-Book-Ratings.csv"
    );
    if !Path::new(path).exists() {
        eprintln!("skipping: {path} not present");
        return;
    }
    let v: serde_json::Value =
        serde_json::from_str(&ok(&["inspect", "--ratings", path, "--json"])).unwrap();
    let text = v.to_string();
    assert!(text.contains("1149780"), "{text}");
    assert!(text.contains("433671"), "{text}");
    assert!(text.contains("716109"), "{text}");
}

#[test]
fn demo_runs_end_to_end_without_serving() {
    let dir = tempfile::tempdir().unwrap();
    let out = ok(&["demo", "--dir", s(dir.path()), "--no-serve"]);
    for step in ["== 1.", "== 2.", "== 3.", "== 4."] {
        assert!(out.contains(step), "{out}");
    }
    assert!(out.contains("planted favourite genres"), "{out}");
    // With a ranker, no listed book is predicted below the middle of the scale (5.5).
    if out.contains("--min-rating 5.5") {
        let tour = &out[out.find("== 4.").unwrap()..];
        let predicted: Vec<f32> = tour
            .lines()
            .filter_map(|l| {
                // Table rows: "match  predicted  title …", both numbers with decimals.
                let mut cols = l.split_whitespace();
                let (score, predicted) = (cols.next()?, cols.next()?);
                score.parse::<f32>().ok()?;
                predicted.contains('.').then(|| predicted.parse().ok())?
            })
            .collect();
        assert!(predicted.len() >= 10, "{tour}");
        assert!(predicted.iter().all(|&p| p >= 5.5), "{tour}");
    }
    assert!(std::fs::read_dir(dir.path()).unwrap().any(|e| e
        .unwrap()
        .path()
        .extension()
        .is_some_and(|x| x == "bkr")));
}

/// A started server says on standard output where it is, who may use it, and how many books
/// and works its lists can hold (issue 16: "the start-up log says how many are listable").
#[test]
fn serve_prints_its_address_and_what_it_can_list() {
    use std::io::BufRead;
    let dir = tempfile::tempdir().unwrap();
    let (ratings, books) = demo_files(dir.path());
    let model = dir.path().join("m.bkr");
    ok(&[
        "train",
        "--ratings",
        s(&ratings),
        "--model",
        "baseline",
        "--out",
        s(&model),
    ]);
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_bookrec"))
        .args([
            "serve",
            "--model",
            s(&model),
            "--books",
            s(&books),
            "--db",
            s(&dir.path().join("r.sqlite")),
            "--addr",
            "127.0.0.1:0",
        ])
        .env_remove("BOOKREC_LOG")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let lines: Vec<String> = std::io::BufReader::new(child.stdout.take().unwrap())
        .lines()
        .take(3)
        .map(|l| l.unwrap())
        .collect();
    child.kill().unwrap();
    child.wait().unwrap();
    assert!(
        lines[0].starts_with("serving http://127.0.0.1:"),
        "{lines:?}"
    );
    assert!(lines[1].starts_with("auth: open"), "{lines:?}");
    let counts: Vec<usize> = lines[2].split(' ').filter_map(|w| w.parse().ok()).collect();
    assert!(lines[2].starts_with("lists: "), "{lines:?}");
    assert!(
        counts.len() == 2 && counts[1] > 0 && counts[1] <= counts[0],
        "{lines:?}"
    );
}

#[test]
fn serve_refuses_a_missing_or_corrupt_model() {
    let dir = tempfile::tempdir().unwrap();
    let err = fails(&[
        "serve",
        "--model",
        "/no/such/model.bkr",
        "--addr",
        "127.0.0.1:0",
    ]);
    assert!(err.contains("/no/such/model.bkr"), "{err}");
    let bad = dir.path().join("bad.bkr");
    std::fs::write(&bad, b"BOOKREC\0garbage").unwrap();
    let db = dir.path().join("r.sqlite");
    let err = fails(&[
        "serve",
        "--model",
        s(&bad),
        "--db",
        s(&db),
        "--addr",
        "127.0.0.1:0",
    ]);
    assert!(err.contains("bad.bkr"), "{err}");
}

/// The ranking model end to end: evaluate on held-out interactions (RMSE/MAE n/a), train,
/// recommend with honest score labels.
#[test]
fn ials_evaluate_train_recommend() {
    let dir = tempfile::tempdir().unwrap();
    let (ratings, _) = demo_files(dir.path());
    let out = ok(&[
        "evaluate",
        "--ratings",
        s(&ratings),
        "--model",
        "ials,popularity,svd",
        "-p",
        "factors=8",
        "-p",
        "iterations=5",
        "--split",
        "interactions",
        "--relevance",
        "interactions",
        "--json",
    ]);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    let reports = v.as_array().unwrap();
    assert_eq!(reports[0]["model"], "ials");
    assert!(reports[0]["rmse"].is_null() && reports[0]["mae"].is_null());
    assert!(reports[2]["rmse"].as_f64().unwrap() > 0.0);
    for r in reports {
        assert_eq!(r["ranking"]["relevance"], "interactions");
    }
    let ndcg = |i: usize| reports[i]["ranking"]["ndcg"].as_f64().unwrap();
    assert!(
        ndcg(0) > ndcg(1),
        "ials {} vs popularity {}",
        ndcg(0),
        ndcg(1)
    );
    let table = ok(&[
        "evaluate",
        "--ratings",
        s(&ratings),
        "--model",
        "ials",
        "-p",
        "iterations=3",
        "-k",
        "0",
    ]);
    assert!(table.contains("n/a"), "{table}");

    let model = dir.path().join("ials.bkr");
    let out = ok(&[
        "train",
        "--ratings",
        s(&ratings),
        "--model",
        "ials",
        "-p",
        "factors=8",
        "--out",
        s(&model),
    ]);
    // A ranking model has no training RMSE to report.
    assert!(
        out.starts_with("trained ials") && !out.contains("rmse"),
        "{out}"
    );
    let out = ok(&["recommend", "--model", s(&model), "--user", "1"]);
    assert!(
        out.contains("preference") && !out.contains("predicted"),
        "{out}"
    );
    let out = ok(&["recommend", "--model", s(&model), "--user", "1", "--json"]);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["score_kind"], "preference");
    assert!(v["rating_model"].is_null(), "{v}");
    assert_eq!(v["items"].as_array().unwrap().len(), 10);
}

/// `recommend --ranker`: the ranker's list, in its order, with the rating model's predicted
/// ratings; a pair that cannot work together is refused with one sentence.
#[test]
fn recommend_with_a_ranker() {
    let dir = tempfile::tempdir().unwrap();
    let (ratings, books) = demo_files(dir.path());
    let (svd, ials) = (dir.path().join("svd.bkr"), dir.path().join("ials.bkr"));
    for (kind, out, param) in [("svd", &svd, "factors=8"), ("ials", &ials, "factors=8")] {
        ok(&[
            "train",
            "--ratings",
            s(&ratings),
            "--model",
            kind,
            "-p",
            param,
            "--out",
            s(out),
        ]);
    }
    let json = |args: &[&str]| -> serde_json::Value { serde_json::from_str(&ok(args)).unwrap() };
    let ids = |v: &serde_json::Value| -> Vec<String> {
        v["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["book"]["id"].as_str().unwrap().to_string())
            .collect()
    };
    let pair = |extra: &[&str]| -> Vec<String> {
        let base = [
            "recommend",
            "--model",
            s(&svd),
            "--ranker",
            s(&ials),
            "--user",
            "7",
        ];
        base.iter().chain(extra).map(|a| a.to_string()).collect()
    };
    let run = |extra: &[&str]| ok(&pair(extra).iter().map(String::as_str).collect::<Vec<_>>());
    let alone = json(&["recommend", "--model", s(&ials), "--user", "7", "--json"]);
    let both: serde_json::Value = serde_json::from_str(&run(&["--json"])).unwrap();
    assert_eq!(both["ranker"], "ials");
    assert_eq!(both["rating_model"], "svd");
    assert_eq!(both["score_kind"], "preference");
    assert_eq!(ids(&both), ids(&alone));
    let (model, _) = bookrec_core::model_file::load_model(&svd).unwrap();
    for r in both["items"].as_array().unwrap() {
        let want = model.predict("7", r["book"]["id"].as_str().unwrap()).value as f64;
        let got = r["predicted_rating"].as_f64().unwrap();
        assert!((got - want).abs() < 1e-4, "{r}: want {want}");
    }
    let text = run(&["--books", s(&books)]);
    assert!(
        text.contains("ranked by ials, predicted ratings by svd"),
        "{text}"
    );
    assert!(
        text.contains("preference") && text.contains("predicted"),
        "{text}"
    );

    let err = fails(&[
        "recommend",
        "--model",
        s(&ials),
        "--ranker",
        s(&ials),
        "--user",
        "7",
    ]);
    assert!(err.contains("does not predict ratings"), "{err}");

    // --min-rating: the ranker's list without the books svd predicts below the threshold, in
    // the ranker's order, filled from further down.
    let deep: serde_json::Value = serde_json::from_str(&run(&["-n", "60", "--json"])).unwrap();
    let predicted = |r: &serde_json::Value| r["predicted_rating"].as_f64().unwrap() as f32;
    let deep = deep["items"].as_array().unwrap();
    let mut first: Vec<f32> = deep[..10].iter().map(predicted).collect();
    first.sort_by(f32::total_cmp);
    let min = first[3];
    let want: Vec<&str> = deep
        .iter()
        .filter(|r| predicted(r) >= min)
        .take(10)
        .map(|r| r["book"]["id"].as_str().unwrap())
        .collect();
    assert_eq!(want.len(), 10);
    let min_arg = min.to_string();
    let filtered: serde_json::Value =
        serde_json::from_str(&run(&["--min-rating", &min_arg, "--json"])).unwrap();
    assert_eq!(ids(&filtered), want);
    assert_eq!(filtered["min_rating"].as_f64().unwrap() as f32, min);
    let text = run(&["--min-rating", &min_arg]);
    assert!(
        text.contains(&format!("only books predicted at least {min}")),
        "{text}"
    );
    for (bad, says) in [
        ("11", "between 1 and 10"),
        ("0", "between 1 and 10"),
        ("NaN", "between 1 and 10"),
    ] {
        let err = fails(
            &pair(&["--min-rating", bad])
                .iter()
                .map(String::as_str)
                .collect::<Vec<_>>(),
        );
        assert!(
            err.contains("--min-rating") && err.contains(says),
            "{bad}: {err}"
        );
    }
    let err = fails(&[
        "recommend",
        "--model",
        s(&ials),
        "--user",
        "7",
        "--min-rating",
        "5",
    ]);
    assert!(err.contains("needs a model that predicts ratings"), "{err}");

    // svd ranking its own list: the books scored at least the threshold, best first.
    let svd_alone = |extra: &[&str]| {
        let mut args = vec!["recommend", "--model", s(&svd), "--user", "7", "--json"];
        args.extend_from_slice(extra);
        json(&args)
    };
    let own = svd_alone(&[]);
    let own = own["items"].as_array().unwrap();
    let score = |r: &serde_json::Value| r["score"].as_f64().unwrap() as f32;
    let min = score(&own[4]);
    let want: Vec<&str> = own
        .iter()
        .filter(|r| score(r) >= min)
        .map(|r| r["book"]["id"].as_str().unwrap())
        .collect();
    assert!((5..10).contains(&want.len()), "{want:?}");
    assert_eq!(ids(&svd_alone(&["--min-rating", &min.to_string()])), want);
}

#[test]
fn hybrid_uses_the_catalogue_given_with_books() {
    let dir = tempfile::tempdir().unwrap();
    let (ratings, books) = demo_files(dir.path());
    let rmse = |extra: &[&str]| {
        let mut args = vec!["evaluate", "--ratings", s(&ratings), "--model", "hybrid"];
        args.extend_from_slice(extra);
        args.extend_from_slice(&["-k", "0", "--json"]);
        let v: serde_json::Value = serde_json::from_str(&ok(&args)).unwrap();
        v["rmse"].as_f64().unwrap()
    };
    let with = rmse(&["--books", s(&books)]);
    let without = rmse(&[]);
    assert!(with.is_finite() && without.is_finite());
    assert_ne!(with, without, "--books must reach the model");
    let model = dir.path().join("hybrid.bkr");
    ok(&[
        "train",
        "--ratings",
        s(&ratings),
        "--books",
        s(&books),
        "--model",
        "hybrid",
        "--out",
        s(&model),
    ]);
    let err = fails(&[
        "tune",
        "--ratings",
        s(&ratings),
        "--books",
        s(&dir.path().join("missing.csv")),
        "--model",
        "hybrid",
    ]);
    assert!(err.contains("missing.csv"), "{err}");
}

#[test]
fn items_works_merges_editions_before_fitting() {
    let dir = tempfile::tempdir().unwrap();
    let books = dir.path().join("books.csv");
    std::fs::write(
        &books,
        "book_id,title,author\n\
         H1,The Hobbit (Paperback),J. R. R. Tolkien\n\
         H2,The Hobbit: or There and Back Again,\"TOLKIEN, J.R.R.\"\n\
         S1,The Silmarillion,J. R. R. Tolkien\n\
         D1,Dune,Frank Herbert\n\
         E1,Emma,Jane Austen\n",
    )
    .unwrap();
    let ratings = dir.path().join("ratings.csv");
    let mut text = String::from("user,book,rating\n");
    // Reader r0 rated both Hobbit editions; every reader rates some of the other books.
    text.push_str("r0,H1,9\nr0,H2,7\n");
    for u in 0..30 {
        for (k, b) in ["H2", "S1", "D1", "E1"].iter().enumerate() {
            if (u + k) % 3 != 0 {
                text.push_str(&format!("r{u},{b},{}\n", 3 + (u * 7 + k * 5) % 8));
            }
        }
    }
    std::fs::write(&ratings, text).unwrap();
    let train = |items: &str, duplicates: &str| {
        bookrec(&[
            "train",
            "--ratings",
            s(&ratings),
            "--books",
            s(&books),
            "--items",
            items,
            "--duplicates",
            duplicates,
            "--model",
            "baseline",
            "--out",
            s(&dir.path().join("m.bkr")),
        ])
    };
    let isbn = String::from_utf8(train("isbn", "mean").stdout).unwrap();
    let works = String::from_utf8(train("works", "mean").stdout).unwrap();
    assert!(isbn.contains("5 books"), "{isbn}");
    // H1 joins H2's work, and r0's two ratings of it become one; the items are works.
    assert!(works.contains("4 works"), "{works}");
    let n = |out: &str| {
        out.split(" ratings")
            .next()
            .unwrap()
            .rsplit(' ')
            .next()
            .unwrap()
            .parse::<usize>()
            .unwrap()
    };
    assert_eq!(n(&works) + 1, n(&isbn), "{isbn}\n{works}");

    let refused = train("works", "error");
    assert!(!refused.status.success());
    let err = String::from_utf8(refused.stderr).unwrap();
    assert!(
        err.contains("reader r0 rated two editions of one work (H1 and H2)"),
        "{err}"
    );
    let err = fails(&[
        "train",
        "--ratings",
        s(&ratings),
        "--items",
        "works",
        "--out",
        "x.bkr",
    ]);
    assert!(err.contains("--items works needs --books"), "{err}");
    let err = fails(&[
        "train",
        "--ratings",
        s(&ratings),
        "--books",
        s(&books),
        "--items",
        "pages",
        "--out",
        "x.bkr",
    ]);
    assert!(err.contains("isbn or works"), "{err}");

    let v: serde_json::Value = serde_json::from_str(&ok(&[
        "evaluate",
        "--ratings",
        s(&ratings),
        "--books",
        s(&books),
        "--items",
        "works",
        "--model",
        "baseline",
        "--json",
    ]))
    .unwrap();
    assert_eq!(v["ranking"]["level"], "works", "{v}");
    assert!(v["rmse"].as_f64().unwrap().is_finite());
    // The table says what its ranking columns count.
    let text = ok(&[
        "evaluate",
        "--ratings",
        s(&ratings),
        "--books",
        s(&books),
        "--model",
        "baseline",
    ]);
    assert!(text.contains("lists and hits by work"), "{text}");
    let text = ok(&["evaluate", "--ratings", s(&ratings), "--model", "baseline"]);
    assert!(!text.contains("by work"), "{text}");

    // ISBN-level training with --duplicates error still evaluates when a reader's held-out
    // ratings cover two editions of one work: they are scored as one rating of the work.
    let given_train = dir.path().join("train.csv");
    let given_test = dir.path().join("test.csv");
    let all = std::fs::read_to_string(&ratings).unwrap();
    let (held_out, kept): (Vec<&str>, Vec<&str>) =
        all.lines().skip(1).partition(|l| l.starts_with("r0,"));
    std::fs::write(
        &given_train,
        format!("user,book,rating\n{}\n", kept.join("\n")),
    )
    .unwrap();
    std::fs::write(
        &given_test,
        format!("user,book,rating\n{}\n", held_out.join("\n")),
    )
    .unwrap();
    let v: serde_json::Value = serde_json::from_str(&ok(&[
        "evaluate",
        "--train",
        s(&given_train),
        "--test",
        s(&given_test),
        "--books",
        s(&books),
        "--duplicates",
        "error",
        "--model",
        "baseline",
        "--json",
    ]))
    .unwrap();
    // r0's four held-out rows: both Hobbit editions become one rating of the work.
    assert_eq!(v["n_test"], 3, "{v}");
}
