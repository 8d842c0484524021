//! `bookrec train`: fit one model on every rating of a file and write a model file.

use anyhow::{Context, Result};
use bookrec_core::data::ItemLevel;
use bookrec_core::evaluation::evaluate::fit_and_describe;
use bookrec_core::model_file::save_model;

use crate::args::TrainArgs;
use crate::progress::Bars;

pub fn run(args: TrainArgs) -> Result<()> {
    let kinds = args.model.kinds()?;
    let [kind] = kinds[..] else {
        anyhow::bail!("`train` takes one model, got {:?}", args.model.model);
    };
    let spec = args.model.spec(kind, false, args.seed)?;
    if args.show_params {
        println!("{}", serde_json::to_string_pretty(&spec.params_json())?);
        // On stderr, so stdout stays one JSON object for scripts.
        for (key, note) in spec.param_notes() {
            eprintln!("{key}: {note}");
        }
        return Ok(());
    }
    let (Some(ratings), Some(out)) = (&args.ratings, &args.out) else {
        anyhow::bail!("`train` needs --ratings FILE and --out MODEL");
    };
    if args.test.is_some() || args.test_fraction.is_some() {
        // Silently fitting every rating would leave the user thinking they got a held-out score.
        anyhow::bail!(
            "native `train` fits every rating and evaluates nothing (--test and --test-fraction \
             are for --engine spark); score the written model with `bookrec evaluate \
             --model-file MODEL --test FILE`, or compare on a split with `bookrec evaluate`"
        );
    }
    let books = super::Books::load(&args.catalog)?;
    let data = books.load_for_fitting(ratings, &args.load.to_options()?)?;
    let (model, meta) = fit_and_describe(&spec, &data, &Bars::new())?;
    save_model(&model, &meta, out).with_context(|| format!("writing {}", out.display()))?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&meta)?);
    } else {
        let fit_seconds = meta.training_metrics["fit_seconds"].as_f64();
        // A ranking model (ials, popularity) predicts no ratings, so it has no RMSE to show.
        let train_rmse = meta.training_metrics["train_rmse"]
            .as_f64()
            .map(|r| format!("; training rmse {r:.4}"))
            .unwrap_or_default();
        // With --items works each item is a work (named by one edition), not a book row.
        let items = match books.level {
            ItemLevel::Works => "works",
            ItemLevel::Isbn => "books",
        };
        println!(
            "trained {} on {} ratings ({} users, {} {items}) in {:.2}s{train_rmse}; wrote {}",
            spec.kind().name(),
            data.len(),
            data.n_users(),
            data.n_items(),
            fit_seconds.unwrap_or(f64::NAN),
            out.display()
        );
    }
    Ok(())
}
