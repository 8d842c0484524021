//! Data: reading ratings and catalogue files as users hand them over, cleaning them with a
//! report, and encoding them into [`Interactions`] (vocabularies + sparse matrix).

mod interactions;
mod vocab;

pub use interactions::{AlignedRatings, Csr, Interactions, RatingScale};
pub use vocab::Vocab;
