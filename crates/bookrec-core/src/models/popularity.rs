//! Popularity: ŝ(u,i) = n_i, the number of training interactions (explicit and implicit) of
//! book i — the same list for every reader. Not a rating predictor
//! ([`super::ModelKind::predicts_ratings`]): the floor a ranking model must beat, as `mean` is
//! for rating prediction.

use super::{ials, Factors, Scorer};
use crate::data::Interactions;
use crate::progress::Progress;

/// The counts live in `item_bias` (no user terms, no factors), so the shared scoring code
/// ranks by them and an unknown user's fallback is the same list.
pub(crate) fn fit(train: &Interactions, progress: &dyn Progress) -> Scorer {
    progress.start("popularity", 1);
    let seen = ials::interactions_by_user(train);
    let counts = ials::column_counts(&seen, train.n_items());
    progress.inc(1);
    progress.finish("done");
    Scorer::Factors(Factors {
        item_bias: counts.into_iter().map(|c| c as f32).collect(),
        ..Factors::default()
    })
}
