//! `bookrec._bookrec`: the Rust half of the `bookrec` Python package.
//!
//! Thin wrappers only: every decision (parsing, cleaning, splitting, fitting, fallbacks,
//! top-N) is made by `bookrec_core`; this crate converts arguments and results and releases
//! the GIL around long calls. The user-facing API (scikit-learn style estimators, pandas
//! DataFrames, keyword arguments) is the pure-Python layer in `python/bookrec/`.

mod arrays;
mod catalog;
mod errors;
mod model;
mod ratings;
mod serve;
mod tune;

use pyo3::prelude::*;

/// Version of the engine (the workspace version; the Python package reports the same).
const VERSION: &str = env!("CARGO_PKG_VERSION");

#[pymodule]
fn _bookrec(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("__version__", VERSION)?;
    m.add("FORMAT_VERSION", bookrec_core::model_file::FORMAT_VERSION)?;
    m.add("DEMO_SEED", bookrec_core::datasets::demo::DEMO_SEED)?;
    m.add_class::<ratings::Ratings>()?;
    m.add_class::<catalog::Books>()?;
    m.add_class::<model::Model>()?;
    m.add_class::<serve::Server>()?;
    m.add_function(wrap_pyfunction!(ratings::read_ratings, m)?)?;
    m.add_function(wrap_pyfunction!(ratings::split, m)?)?;
    m.add_function(wrap_pyfunction!(ratings::kfold, m)?)?;
    m.add_function(wrap_pyfunction!(ratings::holdout_with_books, m)?)?;
    m.add_function(wrap_pyfunction!(ratings::normalize_ids, m)?)?;
    m.add_function(wrap_pyfunction!(catalog::read_books, m)?)?;
    m.add_function(wrap_pyfunction!(catalog::write_demo_files, m)?)?;
    m.add_function(wrap_pyfunction!(model::default_params, m)?)?;
    m.add_function(wrap_pyfunction!(model::model_names, m)?)?;
    m.add_function(wrap_pyfunction!(model::cross_validate, m)?)?;
    m.add_function(wrap_pyfunction!(serve::serve, m)?)?;
    m.add_function(wrap_pyfunction!(tune::tune, m)?)?;
    Ok(())
}
