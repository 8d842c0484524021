//! The checks a rating model and a ranker pass before they serve lists together, and the check
//! of a minimum predicted rating. Each face calls them where the models are loaded (the CLI and
//! Python per call, the server at start and on every reload) and reports the core error its
//! own way (a sentence, a `ParamError`, a 422).

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::models::FittedModel;

/// Checks a minimum predicted rating (`--min-rating`, `?min_rating=`) for the rating model
/// `model`: it must predict ratings, and the threshold must lie on its rating scale (outside
/// it, the threshold would keep every book or none).
pub fn check_min_rating(model: &FittedModel, min_rating: f32) -> Result<f32> {
    if !model.kind.predicts_ratings() {
        return Err(Error::Invalid(format!(
            "min_rating needs a model that predicts ratings, and {0} does not (rank with {0} \
             beside a rating model such as svd, which then applies min_rating)",
            model.kind.name()
        )));
    }
    let scale = model.scale;
    if !min_rating.is_finite() || !scale.contains(min_rating) {
        return Err(Error::Invalid(format!(
            "min_rating must be between {} and {}, the rating scale (got {min_rating})",
            scale.min, scale.max
        )));
    }
    Ok(min_rating)
}

/// What [`check_pair`] found about a rating model and a ranker.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PairCheck {
    /// Books the ranker has training interactions for (the ones it can list).
    pub ranker_books: usize,
    /// Of those, books the rating model has no training ratings for: listed with
    /// `predicted_rating: null`.
    pub books_unknown_to_model: usize,
}

/// Checks that `model` can supply predicted ratings for the lists of `ranker`: `model` must
/// predict ratings (a ranking model has none to give: serve it alone, or as the ranker), both
/// must use the same rating scale (stored ratings are checked against it and folded into both),
/// and they must share at least one book (otherwise they were trained on different data).
/// Books only the ranker knows are allowed and counted.
pub fn check_pair(model: &FittedModel, ranker: &FittedModel) -> Result<PairCheck> {
    if !model.kind.predicts_ratings() {
        return Err(Error::Invalid(format!(
            "the model {0} does not predict ratings, so it cannot supply them for the ranker's \
             lists: give a rating model (e.g. svd) as --model, or serve {0} alone",
            model.kind.name()
        )));
    }
    if model.scale != ranker.scale {
        return Err(Error::Invalid(format!(
            "the model ({}) rates on {}–{} but the ranker ({}) on {}–{}: train both on the same data",
            model.kind.name(),
            model.scale.min,
            model.scale.max,
            ranker.kind.name(),
            ranker.scale.min,
            ranker.scale.max
        )));
    }
    let (mut ranker_books, mut unknown) = (0, 0);
    for i in 0..ranker.items.len() as u32 {
        if !ranker.knows_item(i) {
            continue;
        }
        ranker_books += 1;
        let id = ranker.items.id(i);
        if !model.items.get(id).is_some_and(|j| model.knows_item(j)) {
            unknown += 1;
        }
    }
    if ranker_books == unknown {
        return Err(Error::Invalid(format!(
            "the model ({}) and the ranker ({}) have no book in common: were they trained on \
             the same data?",
            model.kind.name(),
            ranker.kind.name()
        )));
    }
    Ok(PairCheck {
        ranker_books,
        books_unknown_to_model: unknown,
    })
}
