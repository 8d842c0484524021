//! `hybrid` on a planted problem that needs its side information: each book's mean rating is
//! mostly its author's, most books have one or two ratings (many none in training), and
//! readers' biases follow how many books they picked up without rating. The biases-only
//! `baseline` can learn neither; `hybrid` must beat it (and itself without the catalogue) on
//! held-out ratings, overall and on the books and readers without training ratings, and
//! survive a model-file round trip.
#![allow(clippy::unwrap_used)]

use std::sync::Arc;

use bookrec_core::data::{Book, Catalog, Interactions, ItemGroups, RatingScale};
use bookrec_core::evaluation::split::{train_test_split, Split};
use bookrec_core::models::{Fallback, FittedModel, ModelKind, ModelSpec};
use bookrec_core::progress::NoProgress;
use bookrec_core::rng::Rng;

const USERS: usize = 900;
const BOOKS: usize = 1500;
const AUTHORS: usize = 60;

/// The planted data set with its catalogue groups attached, and the catalogue.
fn planted() -> (Interactions, Catalog) {
    let mut rng = Rng::new(7);
    let author_effect: Vec<f64> = (0..AUTHORS).map(|_| 1.5 * rng.normal()).collect();
    let book_effect: Vec<f64> = (0..BOOKS).map(|_| 0.2 * rng.normal()).collect();
    // Activity: reader u picks up n_u ∈ {0, 1, 3, 7, 15} books without rating them; the more,
    // the harsher the reader (−0.6 per doubling).
    let level: Vec<u32> = (0..USERS).map(|_| rng.below(5) as u32).collect();
    let user_effect: Vec<f64> = level
        .iter()
        .map(|&l| 1.2 - 0.6 * l as f64 + 0.2 * rng.normal())
        .collect();
    let mut triplets = Vec::new();
    for (u, ue) in user_effect.iter().enumerate() {
        // 1–6 ratings each, so some readers have all their ratings held out.
        for _ in 0..1 + rng.below(6) {
            // Power-law-ish popularity: book index ~ BOOKS · x³.
            let b = ((rng.next_f64().powi(3)) * BOOKS as f64) as usize % BOOKS;
            let r = 6.0 + ue + author_effect[b % AUTHORS] + book_effect[b] + rng.normal();
            triplets.push((
                format!("u{u}"),
                format!("b{b}"),
                r.round().clamp(1.0, 10.0) as f32,
            ));
        }
    }
    let mut data = Interactions::from_triplets(triplets, Some(RatingScale::new(1.0, 10.0)));
    let mut items = (*data.items).clone();
    for (u, &l) in level.iter().enumerate() {
        let user = data.users.get(&format!("u{u}")).unwrap_or(u32::MAX);
        for k in 0..(1u32 << l) - 1 {
            data.implicit_user.push(user);
            data.implicit_item.push(items.intern(&format!("x{u}-{k}")));
        }
    }
    data.items = Arc::new(items);
    let catalog = Catalog::from_books(
        (0..BOOKS)
            .map(|b| Book {
                id: format!("b{b}"),
                title: format!("Title {b}"),
                author: format!("Author {}", b % AUTHORS),
                year: None,
                publisher: None,
                genre: None,
                image_url: None,
            })
            .collect(),
    );
    data.item_groups = Some(Arc::new(ItemGroups::from_catalog(&catalog, &data.items)));
    (data, catalog)
}

fn rmse(
    model: &FittedModel,
    test: &Interactions,
    rows: impl Fn(&FittedModel, u32, u32) -> bool,
) -> (f64, usize) {
    let (mut se, mut n) = (0.0, 0usize);
    for k in 0..test.len() {
        let (u, i) = (test.user[k], test.item[k]);
        if rows(model, u, i) {
            let p = model.predict_idx(Some(u), Some(i)).value as f64;
            se += (p - test.rating[k] as f64).powi(2);
            n += 1;
        }
    }
    ((se / n.max(1) as f64).sqrt(), n)
}

#[test]
fn side_information_beats_its_components() {
    let (data, _) = planted();
    let (train, test) = train_test_split(&data, &Split::Random { test_fraction: 0.2 }, 0).unwrap();
    let spec = |kind| ModelSpec::default_for(kind);
    let baseline = spec(ModelKind::Baseline).fit(&train, &NoProgress).unwrap();
    let hybrid = spec(ModelKind::Hybrid).fit(&train, &NoProgress).unwrap();
    let mut bare = train.clone();
    bare.item_groups = None;
    bare.implicit_user.clear();
    bare.implicit_item.clear();
    let hybrid_bare = spec(ModelKind::Hybrid).fit(&bare, &NoProgress).unwrap();

    let all = |_: &FittedModel, _: u32, _: u32| true;
    let (b, n) = rmse(&baseline, &test, all);
    let (h, _) = rmse(&hybrid, &test, all);
    let (hb, _) = rmse(&hybrid_bare, &test, all);
    eprintln!("held-out rmse over {n}: baseline {b:.3}, hybrid {h:.3}, hybrid without side information {hb:.3}");
    assert!(h < b - 0.1, "hybrid {h} vs baseline {b}");
    assert!(
        h < hb - 0.1,
        "hybrid {h} vs itself without side information {hb}"
    );

    // Books without training ratings: the author's bias, not μ + b_u.
    let cold_book = |m: &FittedModel, _: u32, i: u32| !m.knows_item(i);
    let (b, n) = rmse(&baseline, &test, cold_book);
    let (h, _) = rmse(&hybrid, &test, cold_book);
    eprintln!("books without training ratings ({n} ratings): baseline {b:.3}, hybrid {h:.3}");
    assert!(
        n > 20 && h < b - 0.2,
        "cold books: hybrid {h} vs baseline {b}"
    );
    // Readers without training ratings: their activity level's bias.
    let cold_user = |m: &FittedModel, u: u32, _: u32| !m.knows_user(u);
    let (b, n) = rmse(&baseline, &test, cold_user);
    let (h, _) = rmse(&hybrid, &test, cold_user);
    eprintln!("readers without training ratings ({n} ratings): baseline {b:.3}, hybrid {h:.3}");
    assert!(n > 10 && h < b, "cold readers: hybrid {h} vs baseline {b}");

    // Still flagged as fallbacks, and the model file keeps the side biases.
    let k = (0..test.len())
        .find(|&k| !hybrid.knows_item(test.item[k]) && hybrid.knows_user(test.user[k]))
        .unwrap();
    let p = hybrid.predict_idx(Some(test.user[k]), Some(test.item[k]));
    assert_eq!(p.fallback, Fallback::UnknownItem);
    let plain = hybrid.predict_idx(Some(test.user[k]), None).value;
    assert_ne!(p.value, plain, "the author's bias is used");
    let back: FittedModel = bincode::deserialize(&bincode::serialize(&hybrid).unwrap()).unwrap();
    for k in 0..test.len() {
        let (u, i) = (Some(test.user[k]), Some(test.item[k]));
        assert_eq!(back.predict_idx(u, i), hybrid.predict_idx(u, i));
    }
}

#[test]
fn groups_follow_the_catalogue_through_splits() {
    let (data, catalog) = planted();
    let (train, _) = train_test_split(&data, &Split::Random { test_fraction: 0.2 }, 1).unwrap();
    let groups = train.item_groups.as_ref().unwrap();
    assert!(Arc::ptr_eq(groups, data.item_groups.as_ref().unwrap()));
    let rebuilt = ItemGroups::from_catalog(&catalog, &train.items);
    assert_eq!(**groups, rebuilt);
}
