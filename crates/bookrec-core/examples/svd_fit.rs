//! Times `svd` fits on a train file (e.g. the split written by `bench/compare_surprise.py`),
//! wall-clock and process CPU time, and prints the RMSE on a test file:
//! `cargo run --release -p bookrec-core --example svd_fit -- TRAIN TEST [RUNS] [key=value ...]`.
//! CPU time is the sum over the process's threads (`/proc/self/task/*/schedstat`, Linux), so it
//! stays meaningful on a loaded machine where wall-clock time does not.

use std::path::Path;
use std::time::Instant;

use bookrec_core::data::{load_ratings, LoadOptions};
use bookrec_core::evaluation::evaluate::{evaluate_fitted, EvalOptions};
use bookrec_core::models::{ModelKind, ModelSpec};
use bookrec_core::progress::NoProgress;

/// Nanoseconds of CPU used so far by all threads of this process (0 where unavailable).
fn cpu_ns() -> u64 {
    let Ok(dir) = std::fs::read_dir("/proc/self/task") else {
        return 0;
    };
    dir.flatten()
        .filter_map(|t| std::fs::read_to_string(t.path().join("schedstat")).ok())
        .filter_map(|s| s.split_whitespace().next()?.parse::<u64>().ok())
        .sum()
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (Some(train), Some(test)) = (args.first(), args.get(1)) else {
        return Err("usage: svd_fit TRAIN TEST [RUNS] [key=value ...]".into());
    };
    let runs: usize = args.get(2).and_then(|r| r.parse().ok()).unwrap_or(3);
    let mut overrides = serde_json::Map::new();
    for kv in args.iter().skip(3) {
        let (k, v) = kv.split_once('=').ok_or("key=value")?;
        overrides.insert(k.to_string(), serde_json::Value::String(v.to_string()));
    }
    let spec = ModelSpec::from_params(ModelKind::Svd, &overrides)?;
    let opts = LoadOptions::default();
    let (train, _) = load_ratings(Path::new(train), &opts, &NoProgress)?;
    let (test, _) = load_ratings(Path::new(test), &opts, &NoProgress)?;
    let eval = EvalOptions {
        ranking_k: None,
        ..EvalOptions::default()
    };
    for run in 0..runs {
        let (t, c) = (Instant::now(), cpu_ns());
        let model = spec.fit(&train, &NoProgress)?;
        let (wall, cpu) = (t.elapsed().as_secs_f64(), (cpu_ns() - c) as f64 * 1e-9);
        let report = evaluate_fitted(&model, &test, &eval)?;
        println!(
            "run {run}: fit {wall:.3} s wall, {cpu:.3} s CPU; rmse {:.5}",
            report.rmse
        );
    }
    Ok(())
}
