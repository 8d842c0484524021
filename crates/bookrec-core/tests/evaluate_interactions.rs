//! Ranking on held-out interactions: a rating model's lists skip the reader's unrated training
//! books too, so a book the reader already holds never takes a top-N slot.
#![allow(clippy::unwrap_used)]

use std::sync::Arc;

use bookrec_core::data::{Interactions, RatingScale, Vocab};
use bookrec_core::evaluation::evaluate::{evaluate, EvalOptions};
use bookrec_core::evaluation::metrics::Relevance;
use bookrec_core::models::{ModelKind, ModelSpec, RecommendOptions};
use bookrec_core::progress::NoProgress;

fn frame(
    rated: &[(u32, u32, f32)],
    implicit: &[(u32, u32)],
    users: &Arc<Vocab>,
    items: &Arc<Vocab>,
) -> Interactions {
    Interactions {
        users: users.clone(),
        items: items.clone(),
        user: rated.iter().map(|t| t.0).collect(),
        item: rated.iter().map(|t| t.1).collect(),
        rating: rated.iter().map(|t| t.2).collect(),
        timestamp: None,
        implicit_user: implicit.iter().map(|t| t.0).collect(),
        implicit_item: implicit.iter().map(|t| t.1).collect(),
        scale: RatingScale::new(1.0, 10.0),
        item_groups: None,
    }
}

#[test]
fn unrated_training_books_are_not_recommended_back() {
    let mut users = Vocab::new();
    for u in ["reader", "o1", "o2", "o3"] {
        users.intern(u);
    }
    let mut items = Vocab::new();
    for i in ["a", "loved", "liked", "meh"] {
        items.intern(i);
    }
    let (users, items) = (Arc::new(users), Arc::new(items));
    // Book 1 ("loved") is rated 10 by everyone else, book 2 ("liked") 8, book 3 ("meh") 3. The
    // reader rated only book 0 but holds book 1 unrated; they later read book 2.
    let mut rated = vec![(0, 0, 6.0)];
    for u in 1..4 {
        rated.extend([(u, 0, 6.0), (u, 1, 10.0), (u, 2, 8.0), (u, 3, 3.0)]);
    }
    let train = frame(&rated, &[(0, 1)], &users, &items);
    let test = frame(&[(0, 2, 8.0)], &[], &users, &items);
    let opts = EvalOptions {
        ranking_k: Some(1),
        relevance: Relevance::Interactions,
        recommend: RecommendOptions {
            min_support: 1,
            exclude_seen: true,
        },
        ..EvalOptions::default()
    };
    let spec = ModelSpec::default_for(ModelKind::Baseline);
    let (model, report) = evaluate(&spec, &train, &test, &opts, &NoProgress).unwrap();
    // The model alone would put the held book first ...
    let top = model.recommend(0, 1, &opts.recommend);
    assert_eq!(top[0].item, 1);
    // ... but the evaluation skips it, so the read book is the hit.
    let r = report.ranking.unwrap();
    assert_eq!(r.users_evaluated, 1);
    assert_eq!(r.hit_rate, 1.0, "{r:?}");
}
