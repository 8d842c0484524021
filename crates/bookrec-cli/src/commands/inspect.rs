//! `bookrec inspect`: the cleaning report of a ratings file, cross-checked with a catalogue.

use anyhow::Result;
use bookrec_core::data::{load_catalog, missing_from_catalog};

use crate::args::InspectArgs;
use crate::progress::Bars;

pub fn run(args: InspectArgs) -> Result<()> {
    let opts = args.load.to_options()?;
    let (data, report) = super::load(&args.ratings, &opts)?;
    let catalog = match &args.books {
        Some(p) => Some(load_catalog(p, &Bars::new())?),
        None => None,
    };
    let missing = catalog
        .as_ref()
        .map(|(cat, _)| missing_from_catalog(&data, cat));
    if args.json {
        let json = serde_json::json!({
            "ratings": report,
            "catalog": catalog.as_ref().map(|(_, r)| r),
            "missing_from_catalog": missing,
        });
        println!("{}", serde_json::to_string_pretty(&json)?);
    } else {
        println!("{report}");
        if let Some((_, cat_report)) = &catalog {
            println!("\n{cat_report}");
        }
        if let Some(m) = &missing {
            println!("\n{m}");
        }
    }
    Ok(())
}
