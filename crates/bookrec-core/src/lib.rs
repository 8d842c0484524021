//! bookrec-core: the engine behind the `bookrec` CLI, web app and Python package.
//!
//! Pipeline, one folder per stage:
//!
//! ratings CSV (or [`datasets`]: the embedded demo set, synthetic data) ─► [`data`] (sniff,
//! parse, clean, report) ─► [`Interactions`] (vocabularies + COO ratings, CSR views) ─►
//! [`models`] (fit, on the hot loops of [`kernels`]) ─► [`model_file`] (versioned model file;
//! Spark import) ─► [`recommend`] (every reader's list and similar books — personal, fold-in,
//! popular, ranker + rating model — for the CLI, Python and the web app alike). Beside the
//! line, [`evaluation`] splits the data, scores fitted models on what was held out and tunes
//! their hyper-parameters. [`error`], [`progress`] and [`rng`] serve every stage.
//!
//! Raw ids (ISBN strings, integer user ids) appear only at the edges; inside, users and books are
//! dense `u32` indices owned by a [`Vocab`].

pub mod data;
pub mod datasets;
pub mod error;
pub mod evaluation;
pub mod kernels;
pub mod model_file;
pub mod models;
pub mod progress;
pub mod recommend;
pub mod rng;

pub use data::{Csr, Interactions, RatingScale, Vocab};
pub use error::{Error, Result};
