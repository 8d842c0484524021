//! bookrec-core: the engine behind the `bookrec` CLI, web app and Python package.
//!
//! Pipeline: ratings CSV ─► [`data`] (sniff, parse, clean, report) ─► [`Interactions`]
//! (vocabularies + COO ratings, CSR views) ─► [`split`] ─► [`models`] (fit) ─► [`metrics`] /
//! [`evaluate`] ─► [`io`] (versioned model file) ─► [`recommend`] (every reader's list and similar
//! books — personal, fold-in, popular, ranker + rating model — for the CLI, Python and the web
//! app alike).
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
