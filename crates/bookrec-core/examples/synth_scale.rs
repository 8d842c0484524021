//! Scale check of the synthetic generator: `cargo run --release -p bookrec-core --example
//! synth_scale -- USERS BOOKS RATINGS [OUT.csv]`. Writes the CSV when OUT is given (streamed),
//! else builds the data in memory; prints the summary as JSON. Measure peak memory with
//! `/usr/bin/time -v`.

use bookrec_core::datasets::synth::{synth_interactions, write_synth_csv, SynthParams};
use bookrec_core::progress::NoProgress;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.len() < 3 {
        return Err("usage: synth_scale USERS BOOKS RATINGS [OUT.csv]".into());
    }
    let params = SynthParams {
        users: args[0].parse()?,
        books: args[1].parse()?,
        ratings: args[2].parse()?,
        ..SynthParams::default()
    };
    let summary = match args.get(3) {
        Some(out) => write_synth_csv(&params, std::path::Path::new(out), &NoProgress)?,
        None => {
            let (data, summary) = synth_interactions(&params)?;
            eprintln!(
                "{} ratings in memory, {} users, {} books",
                data.len(),
                data.n_users(),
                data.n_items()
            );
            summary
        }
    };
    println!("{}", serde_json::to_string_pretty(&summary)?);
    Ok(())
}
