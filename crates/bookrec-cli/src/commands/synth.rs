//! `bookrec synth`: write a synthetic ratings CSV with planted structure.

use anyhow::Result;
use bookrec_core::datasets::synth::{write_synth_csv, SynthParams};

use crate::args::SynthArgs;
use crate::progress::Bars;

pub fn run(args: SynthArgs) -> Result<()> {
    let scale = crate::args::parse_scale(&args.rating_scale)?;
    let params = SynthParams {
        scale_min: scale.min,
        scale_max: scale.max,
        users: args.users,
        books: args.books,
        ratings: args.ratings,
        rank: args.rank,
        noise_std: args.noise,
        seed: args.seed,
        ..SynthParams::default()
    };
    params.check()?;
    let summary = write_synth_csv(&params, &args.out, &Bars::new())?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&summary)?);
    } else {
        println!(
            "wrote {} ratings ({} users, {} books with ratings) to {} in {:.1}s; noise std {}, best achievable rmse ≈ {:.3}",
            summary.ratings,
            summary.users_with_ratings,
            summary.books_with_ratings,
            args.out.display(),
            summary.seconds,
            summary.noise_std,
            summary.true_rmse_floor
        );
    }
    Ok(())
}
