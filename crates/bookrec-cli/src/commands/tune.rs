//! `bookrec tune`: hyper-parameter search by cross-validation (over ratings for `--metric rmse`,
//! over every user's interactions for a ranking metric such as `ndcg@10`), optionally on the
//! training part of a holdout split (then scored once on the held-out part), optionally
//! training and saving the best model on all the data.

use anyhow::{Context, Result};
use bookrec_core::evaluation::evaluate::{evaluate, fit_and_describe, format_error, EvalReport};
use bookrec_core::evaluation::split::train_test_split;
use bookrec_core::evaluation::tune::{
    tune, Metric, SearchSpace, Strategy, TuneOptions, TuneReport,
};
use bookrec_core::model_file::save_model;
use bookrec_core::models::ModelKind;

use crate::args::TuneArgs;
use crate::progress::Bars;
use crate::table;

pub fn run(args: TuneArgs) -> Result<()> {
    let kind = ModelKind::parse(&args.model).with_context(|| {
        let all: Vec<&str> = ModelKind::ALL.iter().map(|k| k.name()).collect();
        format!(
            "unknown model {:?}; choose one of {}",
            args.model,
            all.join(", ")
        )
    })?;
    // Everything that can be wrong with the options is checked before the data is read.
    let space = match &args.space {
        Some(path) => SearchSpace::load(kind, path)?,
        None => SearchSpace::default_for(kind)?,
    };
    let mut opts = TuneOptions {
        trials: args.trials,
        folds: args.folds,
        metric: Metric::parse(&args.metric)?,
        strategy: Strategy::parse(&args.search)?,
        seed: args.seed,
        startup: None,
        works: None,
    };
    opts.metric.check_model(kind)?;
    let load = args.load.to_options()?;
    let bars = Bars::new();
    let books = super::Books::load(&args.catalog)?;
    let data = books.load_for_fitting(&args.ratings, &load)?;
    // With a catalogue, trial lists are works as served, as `evaluate --books` ranks them.
    opts.works = books.catalog.clone();

    let (report, holdout) = match args.test_fraction {
        Some(test_fraction) => {
            // RMSE: the random split of `evaluate --test-fraction F`; a ranking metric: the
            // per-user split of interactions of `evaluate --split interactions`.
            let split = opts.metric.holdout(test_fraction);
            let (train, test) = train_test_split(&data, &split, args.seed)?;
            let report = tune(&train, &space, &opts, &bars)?;
            let (_, test_report) = evaluate(
                &report.best_spec()?,
                &train,
                &test,
                &opts.eval_options(),
                &bars,
            )?;
            (report, Some(test_report))
        }
        None => (tune(&data, &space, &opts, &bars)?, None),
    };
    let (csv, json) = report.write(&args.out_dir)?;

    let saved = match &args.save_model {
        Some(out) => {
            let (model, meta) = fit_and_describe(&report.best_spec()?, &data, &bars)?;
            save_model(&model, &meta, out).with_context(|| format!("writing {}", out.display()))?;
            Some(out.display().to_string())
        }
        None => None,
    };

    if args.json {
        let mut obj = serde_json::Map::new();
        obj.insert("tune".into(), serde_json::to_value(&report)?);
        obj.insert("best_params".into(), report.best_params.clone());
        obj.insert("holdout".into(), serde_json::to_value(&holdout)?);
        obj.insert("csv".into(), csv.display().to_string().into());
        obj.insert("json".into(), json.display().to_string().into());
        obj.insert("saved_model".into(), serde_json::to_value(&saved)?);
        println!("{}", serde_json::to_string_pretty(&obj)?);
        return Ok(());
    }
    print_table(&report);
    println!("{report}");
    println!(
        "as flags: --model {} {}",
        report.model,
        param_flags(&report)
    );
    if let Some(t) = &holdout {
        print_holdout(t, report.metric);
    }
    println!("trial table: {} and {}", csv.display(), json.display());
    if let Some(out) = saved {
        println!(
            "trained the best parameters on all {} ratings; wrote {out}",
            data.len()
        );
    }
    Ok(())
}

/// The best parameters as `-p key=value` flags (only the space's parameters and the seed).
fn param_flags(report: &TuneReport) -> String {
    let best = report.best_trial();
    best.params
        .keys()
        .map(String::as_str)
        .chain(Some("seed").filter(|k| !best.params.contains_key(*k)))
        .filter_map(|k| {
            // The trial's values read as written (the spec widens f32 parameters).
            let v = best.params.get(k).or_else(|| report.best_params.get(k))?;
            let v = match v {
                serde_json::Value::String(s) => s.clone(),
                v => v.to_string(),
            };
            Some(format!("-p {k}={v}"))
        })
        .collect::<Vec<_>>()
        .join(" ")
}

fn print_holdout(t: &EvalReport, metric: Metric) {
    match (metric, &t.ranking) {
        (Metric::Ranking { .. }, Some(m)) => println!(
            "held-out interactions (never seen by the search; {} test users, every held-out book relevant): \
             {} {:.4}; precision@{k} {:.4}, recall@{k} {:.4}, ndcg@{k} {:.4}, map@{k} {:.4}, \
             hit rate {:.4}, coverage {:.4}; fit {:.2} s",
            m.users_evaluated,
            metric.name(),
            metric.value_in(t),
            m.precision,
            m.recall,
            m.ndcg,
            m.map,
            m.hit_rate,
            m.coverage,
            t.fit_seconds,
            k = m.k
        ),
        _ => println!(
            "held-out test ({} train / {} test ratings, never seen by the search): rmse {}, mae {}, fit {:.2} s",
            t.n_train,
            t.n_test,
            format_error(t.rmse),
            format_error(t.mae),
            t.fit_seconds
        ),
    }
}

/// The trial table, best first.
fn print_table(report: &TuneReport) {
    let keys: Vec<String> = report
        .trials
        .first()
        .map(|t| t.params.keys().cloned().collect())
        .unwrap_or_default();
    let metric = report.metric.name();
    let mut header: Vec<&str> = vec!["trial"];
    header.extend(keys.iter().map(String::as_str));
    let mean_std = format!("{metric} mean ± std");
    header.extend([mean_std.as_str(), "fit s/fold"]);
    let mut order: Vec<&bookrec_core::evaluation::tune::Trial> = report.trials.iter().collect();
    let sign = if report.metric == Metric::Rmse {
        1.0
    } else {
        -1.0
    };
    order.sort_by(|a, b| {
        let key = |t: &bookrec_core::evaluation::tune::Trial| {
            if t.mean.is_finite() {
                sign * t.mean
            } else {
                f64::INFINITY
            }
        };
        key(a).total_cmp(&key(b)).then(a.trial.cmp(&b.trial))
    });
    let rows: Vec<Vec<String>> = order
        .iter()
        .map(|t| {
            let mut row = vec![t.trial.to_string()];
            row.extend(keys.iter().map(|k| match t.params.get(k) {
                Some(serde_json::Value::String(s)) => s.clone(),
                Some(v) => v.to_string(),
                None => String::new(),
            }));
            match &t.error {
                Some(e) => row.push(format!("failed: {e}")),
                None => row.push(format!("{:.4} ± {:.4}", t.mean, t.std)),
            }
            row.push(format!("{:.2}", t.fit_seconds));
            row
        })
        .collect();
    print!("{}", table::render(&header, &rows));
}
