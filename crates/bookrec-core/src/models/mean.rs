//! The global mean: r̂(u,i) = μ. The floor every other model must beat.

use super::{Factors, Scorer};
use crate::data::Interactions;
use crate::progress::Progress;

/// No parameters: empty bias vectors mean "no per-user or per-item terms" (so fold-in and
/// explanations are empty too); μ lives in the [`super::FittedModel`].
pub(crate) fn fit(_train: &Interactions, progress: &dyn Progress) -> Scorer {
    progress.start("mean", 1);
    progress.inc(1);
    progress.finish("done");
    Scorer::Factors(Factors::default())
}
