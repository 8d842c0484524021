//! Contract suite of the one recommender (`bookrec_core::recommend`), run for every model
//! (`ModelKind::ALL`) served alone and with an ials ranker: the minimum predicted rating,
//! exclusion of everything the reader has, the unknown reader's popular list, and a new reader
//! by fold-in. These are the lists the CLI, Python and the web app all print.
#![allow(clippy::unwrap_used)]

use bookrec_core::data::{Interactions, RatingScale};
use bookrec_core::models::{FittedModel, ModelKind, ModelSpec, RecommendOptions};
use bookrec_core::progress::NoProgress;
use bookrec_core::recommend::{check_min_rating, check_pair, Recommender, Request, Served, Source};
use bookrec_core::rng::Rng;

const USERS: usize = 90;
const ITEMS: usize = 70;

/// Two genres of readers and books on a 1–10 scale (8–9 within genre, 3–4 across), about 30%
/// of cells rated, so lists have low- and high-rated candidates to choose from.
fn data() -> Interactions {
    let mut rng = Rng::new(11);
    let mut triplets = Vec::new();
    for u in 0..USERS {
        for i in 0..ITEMS {
            if rng.next_f32() < 0.3 {
                let same = u % 2 == i % 2;
                let r = if same { 8.5 } else { 3.5 } + 0.8 * rng.normal() as f32;
                triplets.push((format!("u{u}"), format!("b{i}"), r.round().clamp(1.0, 10.0)));
            }
        }
    }
    Interactions::from_triplets(triplets, Some(RatingScale::new(1.0, 10.0)))
}

/// Small settings so the suite runs fast in the dev profile.
fn fit(kind: ModelKind, train: &Interactions) -> FittedModel {
    let mut o = serde_json::Map::new();
    match kind {
        ModelKind::Svd | ModelKind::Svdpp | ModelKind::Ncf => {
            o.insert("factors".into(), 6.into());
            o.insert("epochs".into(), 15.into());
        }
        ModelKind::Als | ModelKind::Ials => {
            o.insert("factors".into(), 4.into());
        }
        _ => {}
    }
    ModelSpec::from_params(kind, &o)
        .unwrap()
        .fit(train, &NoProgress)
        .unwrap()
}

fn opts() -> RecommendOptions {
    RecommendOptions {
        min_support: 1,
        exclude_seen: true,
    }
}

/// The reader's training books, as ids.
fn books_of(model: &FittedModel, user: &str) -> Vec<String> {
    let u = model.users.get(user).unwrap();
    let (items, _) = model.seen.row(u as usize);
    items
        .iter()
        .map(|&i| model.items.id(i).to_string())
        .collect()
}

/// Runs the contract for one rating-or-ranking model with an optional ranker.
fn contract(model: &Served, ranker: Option<&Served>, case: &str) {
    let rec = Recommender::new(model, ranker);
    let ranking = &*ranker.unwrap_or(model).fitted;
    let rating = &*model.fitted;
    let ask = |user: Option<&'static str>| Request::new(user, 10, opts());

    // A known reader: a full list of books they have not rated, by the ranking model.
    let list = rec.recommend(&ask(Some("u3"))).unwrap();
    assert_eq!(list.source(), Source::Personal, "{case}");
    assert!(list.known_user(), "{case}");
    assert_eq!(list.items.len(), 10, "{case}");
    assert_eq!(list.ranker, ranking.kind, "{case}");
    let own = books_of(ranking, "u3");
    assert!(
        list.items.iter().all(|l| !own.contains(&l.book_id)),
        "{case}: the reader's own books are left out"
    );
    let want: Vec<u32> = ranking
        .recommend(ranking.users.get("u3").unwrap(), 10, &opts())
        .iter()
        .map(|s| s.item)
        .collect();
    let got: Vec<u32> = list.items.iter().map(|l| l.item).collect();
    assert_eq!(got, want, "{case}: the ranking model's own order");
    if rating.kind.predicts_ratings() {
        for l in &list.items {
            let p = rating.predict("u3", &l.book_id).value;
            let got = l.predicted_rating.unwrap();
            assert!((got - p).abs() < 1e-4, "{case}: predicted {got} vs {p}");
        }
    } else {
        assert!(
            list.items.iter().all(|l| l.predicted_rating.is_none()),
            "{case}"
        );
    }

    // Exclusion of everything the reader has, even with exclude_seen off: the list is filled
    // from further down and still holds 10 books.
    let everything = books_of(ranking, "u3");
    let everything: Vec<&str> = everything.iter().map(String::as_str).collect();
    let seen_too = RecommendOptions {
        exclude_seen: false,
        ..opts()
    };
    let unfiltered = rec
        .recommend(&Request::new(Some("u3"), 10, seen_too.clone()))
        .unwrap();
    assert!(
        unfiltered.items.iter().any(|l| own.contains(&l.book_id)),
        "{case}: without exclusions the reader's books compete (else this check proves nothing)"
    );
    let excluded = rec
        .recommend(&Request {
            exclude: &everything,
            ..Request::new(Some("u3"), 10, seen_too)
        })
        .unwrap();
    assert_eq!(excluded.items.len(), 10, "{case}");
    assert!(
        excluded.items.iter().all(|l| !own.contains(&l.book_id)),
        "{case}: excluded books are never listed"
    );

    // A minimum predicted rating: only the rating model's books at or above it, in the
    // ranking model's order, i.e. the deep list filtered.
    if rating.kind.predicts_ratings() {
        let deep = rec
            .recommend(&Request::new(Some("u3"), 60, opts()))
            .unwrap();
        let mut predicted: Vec<f32> = deep
            .items
            .iter()
            .filter_map(|l| l.predicted_rating)
            .collect();
        predicted.sort_by(|a, b| b.total_cmp(a));
        let min = check_min_rating(rating, predicted[predicted.len() / 3]).unwrap();
        let cut = rec
            .recommend(&Request {
                min_rating: Some(min),
                ..Request::new(Some("u3"), 10, opts())
            })
            .unwrap();
        let want: Vec<&str> = deep
            .items
            .iter()
            .filter(|l| l.predicted_rating.is_none_or(|p| p >= min))
            .take(10)
            .map(|l| l.book_id.as_str())
            .collect();
        let got: Vec<&str> = cut.items.iter().map(|l| l.book_id.as_str()).collect();
        assert_eq!(got, want, "{case}: min_rating {min}");
        assert!(!got.is_empty(), "{case}");
        assert_eq!(cut.min_rating, Some(min));
    } else {
        assert!(check_min_rating(rating, 5.0).is_err(), "{case}");
    }

    // An unknown reader: the ranking model's popular works (damped mean rating, decided
    // once in `popular_ranking`), scored by that mean; the rating model's predictions are
    // its fallback.
    let list = rec.recommend(&ask(Some("nobody"))).unwrap();
    assert_eq!(list.source(), Source::Popular, "{case}");
    assert!(!list.known_user(), "{case}");
    let (served, _) = rec.ranking(None).unwrap();
    let popular = served
        .lists
        .popular(10, &opts(), served.lists.filter(&[], false));
    assert!(!popular.is_empty(), "{case}");
    let got: Vec<(u32, f32)> = list.items.iter().map(|l| (l.item, l.score)).collect();
    let want: Vec<(u32, f32)> = popular.iter().map(|s| (s.item, s.score)).collect();
    assert_eq!(got, want, "{case}: popular order and scores");
    assert_eq!(
        list.rating_fallback,
        rating.kind.predicts_ratings(),
        "{case}"
    );

    // A new reader by fold-in: their ratings are folded in, their books left out, and the
    // list is the ranking model's fold-in list.
    let given = [("b0", 9.0), ("b2", 8.0), ("b4", 9.0), ("b1", 2.0)];
    let list = rec
        .recommend(&Request {
            ratings: &given,
            ..Request::new(None, 10, opts())
        })
        .unwrap();
    assert_eq!(list.source(), Source::FoldIn, "{case}");
    assert!(!list.known_user(), "{case}");
    assert_eq!(list.reader.given_used, 4, "{case}");
    assert_eq!(list.items.len(), 10, "{case}");
    assert!(
        list.items
            .iter()
            .all(|l| given.iter().all(|(b, _)| *b != l.book_id)),
        "{case}: the reader's rated books are left out"
    );
    let pairs: Vec<(u32, f32)> = given
        .iter()
        .map(|(b, r)| (ranking.items.get(b).unwrap(), *r))
        .collect();
    let want: Vec<u32> = ranking
        .recommend_for_ratings(&pairs, 10, &opts())
        .iter()
        .map(|s| s.item)
        .collect();
    let got: Vec<u32> = list.items.iter().map(|l| l.item).collect();
    assert_eq!(got, want, "{case}: fold-in order");
    assert!(
        !list.rating_fallback,
        "{case}: the rating model folds the reader in too"
    );
}

#[test]
fn every_model_alone_and_with_an_ials_ranker_keeps_the_list_contract() {
    let train = data();
    let ials = Served::new(fit(ModelKind::Ials, &train), Some(1));
    for kind in ModelKind::ALL {
        let fitted = fit(kind, &train);
        // The serving cache must not change a list: check with and without it.
        for cache in [None, Some(1)] {
            let model = Served::new(fitted.clone(), cache);
            contract(
                &model,
                None,
                &format!("{} alone (cache {cache:?})", kind.name()),
            );
            if kind.predicts_ratings() {
                check_pair(&model.fitted, &ials.fitted).unwrap();
                let case = format!("{} with an ials ranker (cache {cache:?})", kind.name());
                contract(&model, Some(&ials), &case);
            } else {
                assert!(
                    check_pair(&model.fitted, &ials.fitted).is_err(),
                    "{} cannot supply ratings for a ranker",
                    kind.name()
                );
            }
        }
    }
}

/// `rank_by` picks the model that ranks; asking for a ranker that is not there is an error.
#[test]
fn rank_by_picks_the_ranking_model() {
    use bookrec_core::recommend::RankBy;
    let train = data();
    let svd = Served::new(fit(ModelKind::Svd, &train), None);
    let ials = Served::new(fit(ModelKind::Ials, &train), None);
    let pair = Recommender::new(&svd, Some(&ials));
    let by = |rank_by| {
        pair.recommend(&Request {
            rank_by,
            ..Request::new(Some("u3"), 5, opts())
        })
        .unwrap()
    };
    assert_eq!(by(None).ranker, ModelKind::Ials);
    assert_eq!(by(Some(RankBy::Ranker)).ranker, ModelKind::Ials);
    let own = by(Some(RankBy::Rating));
    assert_eq!(own.ranker, ModelKind::Svd);
    assert!(own
        .items
        .iter()
        .all(|l| l.predicted_rating == Some(l.score)));
    let alone = Recommender::new(&svd, None);
    let err = alone
        .recommend(&Request {
            rank_by: Some(RankBy::Ranker),
            ..Request::new(Some("u3"), 5, opts())
        })
        .unwrap_err();
    assert!(err.to_string().contains("no ranker"), "{err}");
}
