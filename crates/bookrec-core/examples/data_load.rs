//! Times loading + cleaning a ratings file (and optionally a catalogue):
//! `cargo run --release -p bookrec-core --example data_load -- RATINGS [BOOKS]`.
//! `RUNS=1` (default 3) loads once, e.g. to measure peak memory with `/usr/bin/time -v`.

use std::path::PathBuf;
use std::time::Instant;

use bookrec_core::data::{load_catalog, load_ratings, LoadOptions};
use bookrec_core::progress::NoProgress;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let ratings = PathBuf::from(args.next().ok_or("usage: data_load RATINGS [BOOKS]")?);
    let runs: usize = std::env::var("RUNS")
        .ok()
        .and_then(|r| r.parse().ok())
        .unwrap_or(3);
    for run in 0..runs {
        let t = Instant::now();
        let (data, report) = load_ratings(&ratings, &LoadOptions::default(), &NoProgress)?;
        println!(
            "run {run}: ratings load + clean {:.3} s ({} explicit, {} implicit)",
            t.elapsed().as_secs_f64(),
            data.len(),
            data.n_implicit()
        );
        if run + 1 == runs {
            println!("{report}");
        }
    }
    if let Some(books) = args.next() {
        let t = Instant::now();
        let (catalog, report) = load_catalog(&PathBuf::from(books), &NoProgress)?;
        println!(
            "catalogue {:.3} s ({} books)",
            t.elapsed().as_secs_f64(),
            catalog.len()
        );
        println!("{report}");
    }
    Ok(())
}
