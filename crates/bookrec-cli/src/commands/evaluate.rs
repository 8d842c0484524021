//! `bookrec evaluate`: holdout, k-fold or given train/test evaluation of one or more models,
//! printed as a side-by-side table or JSON.

use anyhow::{bail, Result};
use bookrec_core::data::ItemLevel;
use bookrec_core::evaluation::evaluate::{
    cross_validate, evaluate, evaluate_fitted, format_error, CvReport, EvalOptions, EvalReport,
};
use bookrec_core::evaluation::metrics::Relevance;
use bookrec_core::evaluation::split::{train_test_split, Split};
use bookrec_core::model_file::load_model;

use crate::args::EvaluateArgs;
use crate::progress::Bars;
use crate::table;

pub fn run(args: EvaluateArgs) -> Result<()> {
    let opts = args.load.to_options()?;
    let kinds = args.model.kinds()?;
    let lenient = kinds.len() > 1;
    let relevance = match args.relevance.as_str() {
        "rating" | "ratings" => Relevance::Rating,
        "interaction" | "interactions" => Relevance::Interactions,
        other => bail!("--relevance must be rating or interactions, not {other:?}"),
    };
    let eval_opts = EvalOptions {
        ranking_k: (args.k > 0).then_some(args.k),
        relevance_threshold: args.relevance_threshold,
        recommend: args.rec.options(),
        relevance,
        ..EvalOptions::default()
    };
    if let Some(path) = &args.model_file {
        let Some(test) = &args.test else {
            bail!("--model-file needs --test FILE (the ratings to score it on)");
        };
        let (model, _) = load_model(path)?;
        let (test, _) = super::load(test, &opts)?;
        let report = evaluate_fitted(&model, &test, &eval_opts)?;
        return print_holdout(&[report], args.json);
    }
    let bars = Bars::new();
    // Hyper-parameters are checked before any data is read, so a typo fails in milliseconds.
    let specs = kinds
        .iter()
        .map(|&kind| {
            let spec = args.model.spec(kind, lenient, Some(args.seed))?;
            spec.check()?;
            Ok(spec)
        })
        .collect::<Result<Vec<_>>>()?;
    let books = super::Books::load(&args.catalog)?;
    let eval_opts = EvalOptions {
        works: books.catalog.clone(),
        ..eval_opts
    };

    if let Some(folds) = args.folds {
        let Some(path) = &args.ratings else {
            bail!("--folds needs --ratings (a single file to split)");
        };
        // Folds of work-level ratings when training on works: every fold scores works.
        let data = books.load_for_fitting(path, &opts)?;
        let mut reports = Vec::new();
        for spec in &specs {
            reports.push(cross_validate(
                spec, &data, folds, args.seed, &eval_opts, &bars,
            )?);
        }
        print_cv(&reports, args.json)?;
        return Ok(());
    }

    // Split the ratings as the file has them, then re-express both parts: ISBN-level and
    // work-level training are scored on the same held-out ratings.
    let (train, test) = match (&args.train, &args.test, &args.ratings) {
        (Some(train), Some(test), _) => (super::load(train, &opts)?.0, super::load(test, &opts)?.0),
        (_, _, Some(path)) => {
            let (data, _) = super::load(path, &opts)?;
            let split = match args.split.as_str() {
                "random" => Split::Random {
                    test_fraction: args.test_fraction,
                },
                "user" | "per-user" => Split::PerUser {
                    test_fraction: args.test_fraction,
                },
                "temporal" | "time" => Split::Temporal {
                    test_fraction: args.test_fraction,
                },
                "interactions" => Split::Interactions {
                    test_fraction: args.test_fraction,
                },
                other => {
                    bail!("--split must be random, user, temporal or interactions, not {other:?}")
                }
            };
            train_test_split(&data, &split, args.seed)?
        }
        _ => bail!(
            "give --ratings FILE, --train FILE --test FILE, or --model-file MODEL --test FILE"
        ),
    };
    let (train, test) = books.holdout(train, test, opts.duplicates)?;
    let mut reports = Vec::new();
    for spec in &specs {
        let (_, report) = evaluate(spec, &train, &test, &eval_opts, &bars)?;
        reports.push(report);
    }
    print_holdout(&reports, args.json)
}

fn print_holdout(reports: &[EvalReport], json: bool) -> Result<()> {
    if json {
        let text = if reports.len() == 1 {
            serde_json::to_string_pretty(&reports[0])?
        } else {
            serde_json::to_string_pretty(reports)?
        };
        println!("{text}");
        return Ok(());
    }
    let first = &reports[0];
    println!(
        "train {} ratings, test {} ratings ({} with unknown user, {} with unknown book: fallback predictions)",
        first.n_train, first.n_test, first.n_unknown_user, first.n_unknown_item
    );
    let k = first.ranking.as_ref().map(|r| r.k);
    let mut header = vec!["model", "rmse", "mae", "fit s", "predict s"];
    let ranking_cols = [
        "precision@k",
        "recall@k",
        "ndcg@k",
        "map@k",
        "hit rate",
        "coverage",
    ];
    if k.is_some() {
        header.extend(ranking_cols);
    }
    let rows: Vec<Vec<String>> = reports
        .iter()
        .map(|r| {
            let mut row = vec![
                r.model.clone(),
                format_error(r.rmse),
                format_error(r.mae),
                format!("{:.3}", r.fit_seconds),
                format!("{:.3}", r.predict_seconds),
            ];
            if let Some(m) = &r.ranking {
                row.extend(
                    [m.precision, m.recall, m.ndcg, m.map, m.hit_rate, m.coverage]
                        .map(|v| format!("{v:.4}")),
                );
            }
            row
        })
        .collect();
    print!("{}", table::render(&header, &rows));
    if let Some(m) = &first.ranking {
        let relevant = match m.relevance {
            Relevance::Rating => format!("test ratings >= {}", m.relevance_threshold),
            Relevance::Interactions => "any held-out interaction".to_string(),
        };
        // With a catalogue the columns count works, not ISBN rows: say so where they are read.
        let by_work = if m.level == ItemLevel::Works {
            "; lists and hits by work"
        } else {
            ""
        };
        println!(
            "ranking: k = {}, relevant = {relevant}, {} users evaluated{by_work}",
            m.k, m.users_evaluated
        );
    }
    if reports.iter().any(|r| r.rmse.is_nan()) {
        println!("rmse/mae n/a: ranking models score preferences, not ratings");
    }
    Ok(())
}

fn print_cv(reports: &[CvReport], json: bool) -> Result<()> {
    if json {
        let objs: Vec<serde_json::Value> = reports.iter().map(cv_json).collect::<Result<_>>()?;
        let text = if objs.len() == 1 {
            serde_json::to_string_pretty(&objs[0])?
        } else {
            serde_json::to_string_pretty(&objs)?
        };
        println!("{text}");
        return Ok(());
    }
    for r in reports {
        println!("{r}\n");
    }
    Ok(())
}

/// The CV report with the fold means lifted to the top level, so `rmse`, `mae`,
/// `fit_seconds`, `n_train`, `n_test` read the same as for a holdout run.
fn cv_json(r: &CvReport) -> Result<serde_json::Value> {
    let mut obj = serde_json::Map::new();
    obj.insert("model".into(), serde_json::Value::String(r.model.clone()));
    if let serde_json::Value::Object(mean) = serde_json::to_value(&r.mean)? {
        obj.extend(mean);
    }
    obj.insert("std".into(), serde_json::to_value(&r.std)?);
    obj.insert("folds".into(), serde_json::to_value(&r.folds)?);
    Ok(serde_json::Value::Object(obj))
}
