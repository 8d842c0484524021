//! Serving a ranking model (ials): scores are labelled as preferences, never as ratings.
#![allow(clippy::unwrap_used)]

mod common;

use bookrec_core::models::{ModelKind, ModelSpec};
use bookrec_core::progress::NoProgress;
use bookrec_server::{AppState, Settings, Store};
use common::*;

fn ials_state(dir: &std::path::Path) -> AppState {
    let spec = ModelSpec::from_params(ModelKind::Ials, &serde_json::Map::new()).unwrap();
    let model = spec.fit(&fixture_train(), &NoProgress).unwrap();
    let store = Store::open(&dir.join("ratings.sqlite")).unwrap();
    AppState::new(
        model,
        fixture_catalog(),
        store,
        Settings {
            min_support: 5,
            model_path: None,
        },
    )
}

#[tokio::test]
async fn ials_scores_are_preferences_not_ratings() {
    let dir = tempfile::tempdir().unwrap();
    let state = ials_state(dir.path());
    let a = get(&state, "/api/users/1/recommendations").await;
    let j = a.json();
    assert_eq!(j["score_kind"], "preference", "{j}");
    let items = j["items"].as_array().unwrap();
    assert!(!items.is_empty());
    for r in items {
        assert!(r["predicted_rating"].is_null(), "{r}");
        assert!(r["score"].as_f64().unwrap().is_finite());
    }
    let page = get(&state, "/?user=1").await;
    assert!(page.body.contains("match "), "{}", page.body);
    assert!(!page.body.contains(" predicted</div>"));

    // A rating model keeps its predicted ratings.
    let svd = state_in(dir.path());
    let j = get(&svd, "/api/users/1/recommendations").await.json();
    assert_eq!(j["score_kind"], "predicted_rating");
    let first = &j["items"][0];
    assert_eq!(first["predicted_rating"], first["score"]);
}
