//! `bookrec train`: fit one model on every rating of a file and write a model file.

use std::time::{Instant, SystemTime, UNIX_EPOCH};

use anyhow::{Context, Result};
use bookrec_core::evaluate::{evaluate_fitted, EvalOptions};
use bookrec_core::io::{fingerprint, save_model, ModelMeta, FORMAT_VERSION};
use bookrec_core::models::{FittedModel, ModelSpec};
use bookrec_core::Interactions;

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
        return Ok(());
    }
    let (Some(ratings), Some(out)) = (&args.ratings, &args.out) else {
        anyhow::bail!("`train` needs --ratings FILE and --out MODEL");
    };
    let (data, _) = super::load(ratings, &args.load.to_options()?)?;
    let (model, meta) = fit_and_describe(&spec, &data)?;
    save_model(&model, &meta, out).with_context(|| format!("writing {}", out.display()))?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&meta)?);
    } else {
        println!(
            "trained {} on {} ratings ({} users, {} books) in {:.2}s; training rmse {}; wrote {}",
            spec.kind().name(),
            data.len(),
            data.n_users(),
            data.n_items(),
            meta.training_metrics["fit_seconds"]
                .as_f64()
                .unwrap_or(f64::NAN),
            meta.training_metrics["train_rmse"],
            out.display()
        );
    }
    Ok(())
}

/// Fits `spec` on `data` and builds the model file metadata (fingerprint, fit time, training
/// error). Shared by `train` and `demo`.
pub fn fit_and_describe(spec: &ModelSpec, data: &Interactions) -> Result<(FittedModel, ModelMeta)> {
    let started = Instant::now();
    let model = spec.fit(data, &Bars::new())?;
    let fit_seconds = started.elapsed().as_secs_f64();
    let on_train = evaluate_fitted(
        &model,
        data,
        &EvalOptions {
            ranking_k: None,
            ..EvalOptions::default()
        },
    )?;
    let meta = ModelMeta {
        format_version: FORMAT_VERSION,
        bookrec_version: env!("CARGO_PKG_VERSION").to_string(),
        engine: "native".to_string(),
        created_unix: SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0),
        data_fingerprint: fingerprint(data),
        n_train: data.len(),
        training_metrics: serde_json::json!({
            "fit_seconds": fit_seconds,
            "train_rmse": on_train.rmse,
            "train_mae": on_train.mae,
            "params": spec.params_json(),
        }),
    };
    Ok((model, meta))
}
