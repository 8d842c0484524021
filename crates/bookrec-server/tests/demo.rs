//! End to end on the real engine: the embedded demo data is written, loaded and cleaned,
//! `svd` is fitted, and the served pages and API must recommend books from each reader's
//! planted favourite genres.
#![allow(clippy::unwrap_used)]

mod common;

use bookrec_core::data::{load_catalog, load_ratings, LoadOptions};
use bookrec_core::datasets::demo::{demo_data, write_demo_files, DEMO_SEED};
use bookrec_core::models::{ModelKind, ModelSpec};
use bookrec_core::progress::NoProgress;
use bookrec_server::{AppState, Settings, Store};
use common::get;

#[tokio::test]
async fn demo_readers_get_books_from_their_favourite_genres() {
    let dir = tempfile::tempdir().unwrap();
    let (ratings_path, books_path) = write_demo_files(dir.path(), DEMO_SEED).unwrap();
    let (data, _) = load_ratings(&ratings_path, &LoadOptions::default(), &NoProgress).unwrap();
    let (catalog, _) = load_catalog(&books_path, &NoProgress).unwrap();
    let genre_of: std::collections::HashMap<String, String> = catalog
        .iter()
        .map(|b| (b.id.clone(), b.genre.clone().unwrap_or_default()))
        .collect();
    let model = ModelSpec::default_for(ModelKind::Svd)
        .fit(&data, &NoProgress)
        .unwrap();
    let store = Store::open(&dir.path().join("r.sqlite")).unwrap();
    let state = AppState::new(model, catalog, store, Settings::default());

    let truth = demo_data(DEMO_SEED);
    let (mut in_favourites, mut total) = (0, 0);
    let mut chance = 0.0;
    for user in truth.users.iter().take(20) {
        let a = get(
            &state,
            &format!("/api/users/{}/recommendations?n=10", user.id),
        )
        .await;
        assert_eq!(a.status, axum::http::StatusCode::OK, "{}", a.body);
        let j = a.json();
        if j["source"] == "popular" {
            continue;
        }
        // Share of the catalogue in this reader's favourite genres: what a random list gets.
        let fav = genre_of
            .values()
            .filter(|g| user.favourite_genres.contains(g))
            .count();
        chance += 10.0 * fav as f64 / genre_of.len() as f64;
        for item in j["items"].as_array().unwrap() {
            let id = item["book"]["id"].as_str().unwrap();
            total += 1;
            in_favourites += usize::from(user.favourite_genres.contains(&genre_of[id]));
        }
    }
    assert!(total >= 150, "too few personal lists: {total} items");
    let share = in_favourites as f64 / total as f64;
    let chance = chance / total as f64;
    assert!(
        share > 2.0 * chance,
        "{share:.2} of recommendations in favourite genres; chance is {chance:.2}"
    );

    // Explanations: every reason shown is a book of the recommended book's genre (at the
    // 0.2 similarity minimum, 12 of svd's 31 were not), and the reader page renders them with
    // titles from the real catalogue.
    let (mut explained, mut reasons) = (Vec::new(), 0);
    for user in truth.users.iter().take(20) {
        let j = get(
            &state,
            &format!("/api/users/{}/recommendations?n=10", user.id),
        )
        .await
        .json();
        for item in j["items"].as_array().unwrap() {
            let genre = &genre_of[item["book"]["id"].as_str().unwrap()];
            let because = item["because"].as_array().unwrap();
            for b in because {
                reasons += 1;
                assert_eq!(
                    &genre_of[b["book_id"].as_str().unwrap()],
                    genre,
                    "{} because of {}",
                    item["book"]["title"],
                    b["title"]
                );
            }
            if !because.is_empty() {
                explained.push(user.id.clone());
            }
        }
    }
    assert!(reasons >= 5, "only {reasons} reasons in 20 readers' lists");
    let user = &explained[0];
    let page = get(&state, &format!("/?user={user}")).await;
    assert_eq!(page.status, axum::http::StatusCode::OK);
    assert!(
        page.body.contains("because you rated"),
        "no explanation on the page"
    );
    let j = get(&state, &format!("/api/users/{user}/recommendations?n=3"))
        .await
        .json();
    let title = j["items"][0]["book"]["title"].as_str().unwrap().to_string();
    let escaped = title
        .replace('&', "&amp;")
        .replace('\'', "&#x27;")
        .replace('"', "&quot;");
    assert!(page.body.contains(&escaped), "{title} not on the page");
}
