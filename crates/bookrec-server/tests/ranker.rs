//! Serving a ranking model (ials): scores are labelled as preferences, never as ratings; with
//! `--ranker`, the ranker chooses and orders the lists and the rating model predicts the
//! ratings of the listed books. The two-model tests go through a real HTTP server on a
//! loopback port.
#![allow(clippy::unwrap_used)]

mod common;

use std::net::SocketAddr;

use axum::http::StatusCode;
use bookrec_core::data::{Interactions, RatingScale};
use bookrec_core::model_file::{save_model, ModelMeta};
use bookrec_core::models::{FittedModel, ModelKind, ModelSpec, RecommendOptions};
use bookrec_core::progress::NoProgress;
use bookrec_server::{AppState, Settings, Store};
use common::*;
use serde_json::Value;

fn ials_state(dir: &std::path::Path) -> AppState {
    let store = Store::open(&dir.join("ratings.sqlite")).unwrap();
    AppState::new(
        fit_ials(&fixture_train()),
        fixture_catalog(),
        store,
        Settings {
            min_support: 5,
            ..Settings::default()
        },
    )
}

fn fit_ials(train: &Interactions) -> FittedModel {
    let spec = ModelSpec::from_params(ModelKind::Ials, &serde_json::Map::new()).unwrap();
    spec.fit(train, &NoProgress).unwrap()
}

#[tokio::test]
async fn ials_scores_are_preferences_not_ratings() {
    let dir = tempfile::tempdir().unwrap();
    let state = ials_state(dir.path());
    // Uncatalogued books too, so the list is the engine's.
    let a = get(
        &state,
        "/api/users/1/recommendations?include_uncatalogued=true",
    )
    .await;
    let j = a.json();
    assert_eq!(j["score_kind"], "preference", "{j}");
    assert_eq!(j["ranker"], "ials");
    assert!(j["rating_model"].is_null(), "{j}");
    let items = j["items"].as_array().unwrap();
    assert!(!items.is_empty());
    // The served scores are the engine's preferences (not offset by μ, not clipped).
    let model = &state.loaded().model.fitted;
    let want = model.recommend(model.users.get("1").unwrap(), 10, &opts());
    assert_eq!(items.len(), want.len());
    for (r, w) in items.iter().zip(&want) {
        assert!(r["predicted_rating"].is_null(), "{r}");
        assert_eq!(r["book"]["id"], model.items.id(w.item));
        assert!((r["score"].as_f64().unwrap() - w.score as f64).abs() < 1e-6);
    }
    let page = get(&state, "/?user=1").await;
    assert!(page.body.contains("match "), "{}", page.body);
    assert!(!page.body.contains(" predicted</div>"));

    // A rating model keeps its predicted ratings.
    let svd = state_in(dir.path());
    let j = get(&svd, "/api/users/1/recommendations").await.json();
    assert_eq!(j["score_kind"], "predicted_rating");
    assert_eq!(j["ranker"], "svd");
    assert_eq!(j["rating_model"], "svd");
    let first = &j["items"][0];
    assert_eq!(first["predicted_rating"], first["score"]);
}

// ---------------------------------------------------------------------------------------------
// Two models: svd (the fixture) predicts, ials ranks.

/// A book the ranker knows and the rating model does not.
const EXTRA: &str = "EXTRA";

/// The fixture's ratings plus `EXTRA`, read by crime readers "16".."25" (so "26".."30" get it
/// recommended by the ranker), fitted by ials over its own vocabularies.
fn ranker_model() -> FittedModel {
    let mut ratings = fixture_ratings();
    for u in 16..=25 {
        ratings.push((u.to_string(), EXTRA.to_string(), 8.0));
    }
    let train = Interactions::from_triplets(
        ratings.iter().map(|(u, i, r)| (u.as_str(), i.as_str(), *r)),
        Some(RatingScale::new(1.0, 10.0)),
    );
    fit_ials(&train)
}

fn opts() -> RecommendOptions {
    RecommendOptions {
        min_support: 5,
        exclude_seen: true,
    }
}

/// Model and ranker written to files and loaded the way `bookrec serve --model M --ranker R`
/// does.
fn two_model_state(dir: &std::path::Path) -> AppState {
    let meta = ModelMeta::new("test", &fixture_train(), serde_json::json!({}));
    save_model(&fixture_model(), &meta, &dir.join("svd.bkr")).unwrap();
    save_model(&ranker_model(), &meta, &dir.join("ials.bkr")).unwrap();
    AppState::load(
        &dir.join("svd.bkr"),
        Some(&dir.join("ials.bkr")),
        None,
        &dir.join("ratings.sqlite"),
        5,
        None,
    )
    .unwrap()
}

/// Serves `state` on a loopback port (with the peer address, as `bookrec serve` does).
async fn listen(state: &AppState) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let app = bookrec_server::app(state.clone());
    tokio::spawn(async move {
        axum::serve(
            listener,
            app.into_make_service_with_connect_info::<SocketAddr>(),
        )
        .await
        .unwrap()
    });
    addr
}

/// One HTTP/1.1 request over a fresh TCP connection: status and body.
async fn http(addr: SocketAddr, method: &str, path: &str, body: &str) -> (StatusCode, String) {
    use std::io::{Read, Write};
    let req = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    let out = tokio::task::spawn_blocking(move || {
        let mut s = std::net::TcpStream::connect(addr).unwrap();
        s.set_read_timeout(Some(std::time::Duration::from_secs(30)))
            .unwrap();
        s.write_all(req.as_bytes()).unwrap();
        let mut out = String::new();
        s.read_to_string(&mut out).unwrap();
        out
    })
    .await
    .unwrap();
    let status: u16 = out.split(' ').nth(1).unwrap().parse().unwrap();
    let (head, body) = out.split_once("\r\n\r\n").unwrap();
    // Small bodies come back whole; a chunked one would start with its hex length.
    assert!(
        !head.to_ascii_lowercase().contains("chunked"),
        "chunked answer: {head}"
    );
    (StatusCode::from_u16(status).unwrap(), body.to_string())
}

async fn get_json(addr: SocketAddr, path: &str) -> Value {
    let (status, body) = http(addr, "GET", path, "").await;
    assert_eq!(status, StatusCode::OK, "{path}: {body}");
    serde_json::from_str(&body).unwrap()
}

fn ids(j: &Value) -> Vec<String> {
    j["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["book"]["id"].as_str().unwrap().to_string())
        .collect()
}

fn close(a: &Value, b: f32) -> bool {
    (a.as_f64().unwrap() - b as f64).abs() < 1e-4
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_ranker_orders_and_the_model_predicts() {
    let dir = tempfile::tempdir().unwrap();
    let state = two_model_state(dir.path());
    let addr = listen(&state).await;
    let loaded = state.loaded();
    let (svd, ials) = (
        &loaded.model.fitted,
        &loaded.ranker.as_ref().unwrap().fitted,
    );

    for user in ["1", "20", "26"] {
        let j = get_json(addr, &format!("/api/users/{user}/recommendations?n=10")).await;
        assert_eq!(j["ranker"], "ials", "{j}");
        assert_eq!(j["rating_model"], "svd");
        assert_eq!(j["score_kind"], "preference");
        assert_eq!(j["source"], "personal");
        assert_eq!(j["rating_fallback"], false);
        // The list is the ranker's, in its order, with its scores.
        let want = ials.recommend(ials.users.get(user).unwrap(), 10, &opts());
        let want_ids: Vec<&str> = want.iter().map(|s| ials.items.id(s.item)).collect();
        assert_eq!(ids(&j), want_ids, "user {user}");
        for (r, w) in j["items"].as_array().unwrap().iter().zip(&want) {
            assert!(close(&r["score"], w.score), "{r}");
            // The predicted rating is the rating model's, for this reader and book.
            let id = r["book"]["id"].as_str().unwrap();
            if id == EXTRA {
                assert!(r["predicted_rating"].is_null(), "{r}");
                assert_eq!(r["book"]["n_ratings"], 0);
            } else {
                let p = svd.predict(user, id);
                assert!(close(&r["predicted_rating"], p.value), "{user} {id}: {r}");
            }
        }
        if user == "26" {
            assert!(want_ids.contains(&EXTRA), "{want_ids:?}");
        }
    }

    // The rating model's own list on request: its order, its predictions as scores.
    let j = get_json(addr, "/api/users/1/recommendations?n=5&rank_by=rating").await;
    assert_eq!(j["ranker"], "svd");
    assert_eq!(j["score_kind"], "predicted_rating");
    let want = svd.recommend(svd.users.get("1").unwrap(), 5, &opts());
    let want_ids: Vec<&str> = want.iter().map(|s| svd.items.id(s.item)).collect();
    assert_eq!(ids(&j), want_ids);
    for r in j["items"].as_array().unwrap() {
        assert_eq!(r["predicted_rating"], r["score"]);
    }
    assert_eq!(
        ids(&get_json(addr, "/api/users/1/recommendations?rank_by=ranker").await),
        ids(&get_json(addr, "/api/users/1/recommendations").await)
    );

    // An unknown reader gets the ranker's popular works (bookrec_core::recommend::lists) with
    // the rating model's non-personal fallback μ + b_i, flagged.
    let j = get_json(addr, "/api/users/nobody/recommendations?n=5").await;
    assert_eq!(j["source"], "popular");
    assert_eq!(j["ranker"], "ials");
    assert_eq!(j["rating_fallback"], true);
    let lists = &loaded.ranker.as_ref().unwrap().lists;
    let popular: Vec<&str> = lists
        .popular(5, &opts(), lists.filter(&[], false))
        .iter()
        .map(|s| ials.items.id(s.item))
        .collect();
    assert_eq!(ids(&j), popular);
    for r in j["items"].as_array().unwrap() {
        let id = r["book"]["id"].as_str().unwrap();
        if id != EXTRA {
            assert!(close(
                &r["predicted_rating"],
                svd.predict("nobody", id).value
            ));
        }
    }

    // Similar books come from the ranker too.
    let j = get_json(addr, "/api/books/F0/similar?n=3").await;
    assert_eq!(j["ranker"], "ials");
    let j = get_json(addr, "/api/books/F0/similar?n=3&rank_by=rating").await;
    assert_eq!(j["ranker"], "svd");

    // Both models are reported.
    let j = get_json(addr, "/readyz").await;
    assert_eq!(j["model"], "svd");
    assert_eq!(j["ranker"]["model"], "ials");
    assert_eq!(j["ranker"]["books"], 15);
    assert_eq!(j["ranker"]["books_unknown_to_model"], 1);

    // The page shows the ranker's match score and the rating model's prediction, and says so.
    let (status, page) = http(addr, "GET", "/?user=26", "").await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        page.contains("Ranked by ials; predicted ratings by svd"),
        "{page}"
    );
    assert!(page.contains("match "), "{page}");
    assert!(page.contains(" predicted</div>"), "{page}");
    assert!(page.contains("ranker: ials"), "{page}");
    let (_, page) = http(addr, "GET", "/?user=26&rank_by=rating", "").await;
    assert!(page.contains("Ranked by svd."), "{page}");
    assert!(!page.contains("match "), "{page}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn both_models_fold_in_stored_ratings() {
    let dir = tempfile::tempdir().unwrap();
    let state = two_model_state(dir.path());
    let addr = listen(&state).await;
    let loaded = state.loaded();
    let (svd, ials) = (
        &loaded.model.fitted,
        &loaded.ranker.as_ref().unwrap().fitted,
    );

    // A new reader rates two crime books; a known fantasy reader adds one crime book.
    for (user, book, rating) in [("guest", "C0", 10), ("guest", "C1", 9), ("1", "C2", 10)] {
        let (status, body) = http(
            addr,
            "POST",
            &format!("/api/users/{user}/ratings"),
            &format!(r#"{{"book_id":"{book}","rating":{rating}}}"#),
        )
        .await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
    }
    for user in ["guest", "1"] {
        let j = get_json(addr, &format!("/api/users/{user}/recommendations?n=10")).await;
        assert_eq!(j["source"], "fold_in", "{j}");
        assert_eq!(j["ranker"], "ials");
        assert_eq!(j["rating_fallback"], false);
        let stored = state.store().ratings_for(user).unwrap();
        // Each model folds in its own view of the reader: training + stored ratings.
        let in_model = |m: &FittedModel| -> Vec<(u32, f32)> {
            let mut r: Vec<(u32, f32)> = match m.users.get(user).filter(|&u| m.knows_user(u)) {
                Some(u) => {
                    let (items, values) = m.seen.row(u as usize);
                    items.iter().copied().zip(values.iter().copied()).collect()
                }
                None => Vec::new(),
            };
            r.extend(
                stored
                    .iter()
                    .map(|s| (m.items.get(&s.book_id).unwrap(), s.rating)),
            );
            r
        };
        let want = ials.recommend_for_ratings(&in_model(ials), 10, &opts());
        let want_ids: Vec<&str> = want.iter().map(|s| ials.items.id(s.item)).collect();
        assert_eq!(ids(&j), want_ids, "{user}");
        let svd_ratings = in_model(svd);
        for (r, w) in j["items"].as_array().unwrap().iter().zip(&want) {
            assert!(close(&r["score"], w.score), "{r}");
            let id = r["book"]["id"].as_str().unwrap();
            match svd.items.get(id) {
                Some(i) => {
                    let p = svd.predict_for_ratings(&svd_ratings, i);
                    assert!(close(&r["predicted_rating"], p.value), "{user} {id}: {r}");
                }
                None => assert!(r["predicted_rating"].is_null(), "{r}"),
            }
        }
        // The stored crime ratings moved both: the guest's list starts with crime.
        if user == "guest" {
            let first = &want_ids[0];
            assert!(
                first.starts_with('C') || *first == "NOCAT" || *first == EXTRA,
                "{want_ids:?}"
            );
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rank_by_is_checked() {
    let dir = tempfile::tempdir().unwrap();
    let state = two_model_state(dir.path());
    let addr = listen(&state).await;
    for path in [
        "/api/users/1/recommendations?rank_by=ials",
        "/api/users/1/recommendations?rank_by=RANKER%20",
        "/api/books/F0/similar?rank_by=1",
    ] {
        let (status, body) = http(addr, "GET", path, "").await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{path}: {body}");
        let msg = serde_json::from_str::<Value>(&body).unwrap()["error"]
            .as_str()
            .unwrap()
            .to_string();
        assert!(
            msg.contains("rank_by must be \"ranker\" or \"rating\""),
            "{msg}"
        );
    }
    let (status, page) = http(addr, "GET", "/?user=1&rank_by=best", "").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(page.contains("rank_by must be"), "{page}");

    // Asking for a ranker on a server without one is well-formed but impossible: 422.
    let single = state_in(dir.path());
    let addr = listen(&single).await;
    let (status, body) = http(
        addr,
        "GET",
        "/api/users/1/recommendations?rank_by=ranker",
        "",
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert!(body.contains("no ranker"), "{body}");
    let j = get_json(addr, "/api/users/1/recommendations?rank_by=rating").await;
    assert_eq!(j["ranker"], "svd");

    // The API document describes the parameter and the fields.
    let doc = get_json(addr, "/openapi.json").await;
    for path in ["/api/users/{id}/recommendations", "/api/books/{id}/similar"] {
        let params = doc["paths"][path]["get"]["parameters"].as_array().unwrap();
        assert!(params.iter().any(|p| p["name"] == "rank_by"), "{path}");
    }
    let fields = &doc["components"]["schemas"]["RecommendationsResponse"]["properties"];
    for field in ["ranker", "score_kind", "rating_model", "rating_fallback"] {
        assert!(
            fields.get(field).is_some(),
            "{field} missing from the schema"
        );
    }
    assert_eq!(
        doc["components"]["schemas"]["RankBy"]["enum"],
        serde_json::json!(["ranker", "rating"])
    );
}

#[test]
fn incompatible_pairs_are_refused_at_start() {
    let dir = tempfile::tempdir().unwrap();
    let start = |model: FittedModel, ranker: FittedModel| {
        let store = Store::open(&dir.path().join("r.sqlite")).unwrap();
        match AppState::with_ranker(
            model,
            Some(ranker),
            fixture_catalog(),
            store,
            Settings::default(),
        ) {
            Ok(_) => panic!("accepted"),
            Err(e) => format!("{e:#}"),
        }
    };
    // A ranking model has no ratings to give.
    let err = start(ranker_model(), ranker_model());
    assert!(err.contains("does not predict ratings"), "{err}");
    // Another rating scale: trained on other data.
    let five = Interactions::from_triplets(
        [("1", "F0", 5.0), ("2", "F1", 4.0)],
        Some(RatingScale::new(1.0, 5.0)),
    );
    let err = start(fixture_model(), fit_ials(&five));
    assert!(err.contains("1–10") && err.contains("1–5"), "{err}");
    // No book in common.
    let other = Interactions::from_triplets(
        [("1", "X0", 5.0), ("2", "X1", 4.0), ("3", "X0", 7.0)],
        Some(RatingScale::new(1.0, 10.0)),
    );
    let err = start(fixture_model(), fit_ials(&other));
    assert!(err.contains("no book in common"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reload_reads_both_files_and_keeps_serving_on_a_bad_ranker() {
    let dir = tempfile::tempdir().unwrap();
    let state = two_model_state(dir.path());
    let addr = listen(&state).await;
    let before = get_json(addr, "/api/users/26/recommendations").await;

    // A corrupted ranker file: rejected, both old models keep serving.
    let ranker_path = dir.path().join("ials.bkr");
    let good = std::fs::read(&ranker_path).unwrap();
    std::fs::write(&ranker_path, &good[..good.len() / 2]).unwrap();
    let (status, body) = http(addr, "POST", "/admin/reload", "").await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert!(
        body.contains("ials.bkr") && body.contains("still serving"),
        "{body}"
    );
    assert_eq!(
        get_json(addr, "/api/users/26/recommendations").await,
        before
    );

    // A ranking model written over the rating model's file: an incompatible pair, rejected.
    std::fs::write(&ranker_path, &good).unwrap();
    std::fs::copy(&ranker_path, dir.path().join("svd.bkr")).unwrap();
    let (status, body) = http(addr, "POST", "/admin/reload", "").await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert!(body.contains("does not predict ratings"), "{body}");

    // Good files again: both reloaded and reported.
    let meta = ModelMeta::new("test", &fixture_train(), serde_json::json!({}));
    save_model(&fixture_model(), &meta, &dir.path().join("svd.bkr")).unwrap();
    let (status, body) = http(addr, "POST", "/admin/reload", "").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let j: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(j["model"], "svd");
    assert_eq!(j["ranker"]["model"], "ials");
    assert_eq!(j["ranker"]["books_unknown_to_model"], 1);
    assert_eq!(
        get_json(addr, "/api/users/26/recommendations").await,
        before
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_changed_ranker_file_is_picked_up() {
    let dir = tempfile::tempdir().unwrap();
    let state = two_model_state(dir.path());
    let interval = std::time::Duration::from_millis(100);
    tokio::spawn(bookrec_server::watch_model_files(state.clone(), interval));
    tokio::time::sleep(interval * 3).await;
    assert_eq!(
        get(&state, "/readyz").await.json()["ranker"]["books_unknown_to_model"],
        1
    );
    // The ranker retrained without EXTRA, written aside and renamed over.
    let meta = ModelMeta::new("test", &fixture_train(), serde_json::json!({}));
    let tmp = dir.path().join("ials.bkr.new");
    save_model(&fit_ials(&fixture_train()), &meta, &tmp).unwrap();
    std::fs::rename(&tmp, dir.path().join("ials.bkr")).unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let j = get(&state, "/readyz").await.json();
        if j["ranker"]["books_unknown_to_model"] == 0 {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "new ranker file not picked up: {j}"
        );
        tokio::time::sleep(interval).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn min_rating_leaves_out_books_predicted_low() {
    let dir = tempfile::tempdir().unwrap();
    let state = two_model_state(dir.path());
    let addr = listen(&state).await;
    // As the server compares them: f32 (JSON holds the f32's shortest decimal form).
    let predicted = |r: &Value| r["predicted_rating"].as_f64().map(|p| p as f32);
    let mut filled_from_below = false;
    for user in ["1", "20", "26", "nobody"] {
        // The ranker's list as deep as the API goes, with the rating model's predictions.
        let path = format!("/api/users/{user}/recommendations?explain=false");
        let all = get_json(addr, &format!("{path}&n=100")).await;
        assert!(all["min_rating"].is_null(), "{all}");
        let all = all["items"].as_array().unwrap();
        // A threshold that one of the first 4 books misses, so the list must be filled from
        // further down (the fixture's lists are short: min_support 5).
        assert!(all.len() > 4, "user {user}: {all:?}");
        let mut first: Vec<f32> = all[..4].iter().filter_map(predicted).collect();
        first.sort_by(f32::total_cmp);
        let min = first[1];
        let want: Vec<&str> = all
            .iter()
            .filter(|r| predicted(r).is_none_or(|p| p >= min))
            .take(4)
            .map(|r| r["book"]["id"].as_str().unwrap())
            .collect();
        let j = get_json(addr, &format!("{path}&n=4&min_rating={min}")).await;
        assert!(close(&j["min_rating"], min), "{j}");
        // The ranker's order, minus the books predicted lower, filled from further down.
        assert_eq!(ids(&j), want, "user {user}, min {min}");
        assert!(ids(&j) != ids(&get_json(addr, &format!("{path}&n=4")).await));
        filled_from_below |= want
            .iter()
            .any(|id| !all[..4].iter().any(|r| r["book"]["id"] == *id));
        for r in j["items"].as_array().unwrap() {
            assert!(predicted(r).is_none_or(|p| p >= min), "{r}");
        }
    }
    assert!(
        filled_from_below,
        "no list took books from beyond its first 4"
    );
    // The rating model ranking its own list: the books predicted at least the threshold,
    // best first (no deeper fetch is needed to know that).
    let path = "/api/users/1/recommendations?explain=false&rank_by=rating&n=10";
    let own = get_json(addr, path).await;
    let own = own["items"].as_array().unwrap();
    let min = predicted(&own[4]).unwrap();
    let want: Vec<&str> = own
        .iter()
        .filter(|r| predicted(r).is_some_and(|p| p >= min))
        .map(|r| r["book"]["id"].as_str().unwrap())
        .collect();
    assert!((5..10).contains(&want.len()), "{want:?}");
    assert_eq!(
        ids(&get_json(addr, &format!("{path}&min_rating={min}")).await),
        want
    );
    // A threshold few books reach gives fewer books, not an error.
    let j = get_json(addr, "/api/users/1/recommendations?n=10&min_rating=10").await;
    assert!(j["items"].as_array().unwrap().len() < 10, "{j}");
    // Empty = the server's default (none here).
    let j = get_json(addr, "/api/users/1/recommendations?min_rating=").await;
    assert!(j["min_rating"].is_null());

    // Malformed: 400; off the rating scale (1–10): 422. The page says the same.
    for (path, status, says) in [
        (
            "?min_rating=six",
            StatusCode::BAD_REQUEST,
            "min_rating must be a number",
        ),
        (
            "?min_rating=NaN",
            StatusCode::BAD_REQUEST,
            "min_rating must be a number",
        ),
        (
            "?min_rating=11",
            StatusCode::UNPROCESSABLE_ENTITY,
            "between 1 and 10",
        ),
        (
            "?min_rating=-1",
            StatusCode::UNPROCESSABLE_ENTITY,
            "between 1 and 10",
        ),
    ] {
        let (got, body) = http(
            addr,
            "GET",
            &format!("/api/users/1/recommendations{path}"),
            "",
        )
        .await;
        assert_eq!(got, status, "{path}: {body}");
        assert!(body.contains(says), "{path}: {body}");
    }
    let (status, page) = http(addr, "GET", "/?user=1&min_rating=six", "").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(page.contains("min_rating must be a number"), "{page}");
    let (status, page) = http(addr, "GET", "/?user=1&min_rating=7", "").await;
    assert_eq!(status, StatusCode::OK, "{page}");
    assert!(
        page.contains("only books predicted ★ 7.0 or more"),
        "{page}"
    );
    // The form's field keeps the value and offers the rating scale.
    assert!(
        page.contains(r#"name="min_rating""#)
            && page.contains(r#"value="7""#)
            && page.contains(r#"min="1.0" max="10.0""#),
        "{page}"
    );
    let (_, page) = http(addr, "GET", "/?user=1", "").await;
    assert!(!page.contains("only books predicted"), "{page}");

    // The API document describes the parameter and the field.
    let doc = get_json(addr, "/openapi.json").await;
    let params = doc["paths"]["/api/users/{id}/recommendations"]["get"]["parameters"]
        .as_array()
        .unwrap();
    assert!(params.iter().any(|p| p["name"] == "min_rating"));
    let fields = &doc["components"]["schemas"]["RecommendationsResponse"]["properties"];
    assert!(fields.get("min_rating").is_some());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_servers_min_rating_is_the_default_and_is_checked_at_start() {
    let dir = tempfile::tempdir().unwrap();
    two_model_state(dir.path());
    let load = |min_rating| {
        AppState::load(
            &dir.path().join("svd.bkr"),
            Some(&dir.path().join("ials.bkr")),
            None,
            &dir.path().join("ratings.sqlite"),
            5,
            min_rating,
        )
    };
    let state = load(Some(7.5)).unwrap();
    let addr = listen(&state).await;
    let j = get_json(addr, "/api/users/1/recommendations?explain=false").await;
    assert!(close(&j["min_rating"], 7.5), "{j}");
    for r in j["items"].as_array().unwrap() {
        assert!(
            r["predicted_rating"]
                .as_f64()
                .is_none_or(|p| p as f32 >= 7.5),
            "{r}"
        );
    }
    // A request may lower it.
    let j = get_json(
        addr,
        "/api/users/1/recommendations?explain=false&min_rating=1",
    )
    .await;
    assert!(close(&j["min_rating"], 1.0));
    assert_eq!(j["items"].as_array().unwrap().len(), 10);
    // The start page's popular books follow it too.
    let (status, _) = http(addr, "GET", "/start", "").await;
    assert_eq!(status, StatusCode::OK);

    for bad in [0.5, 10.5, f32::INFINITY] {
        let err = format!("{:#}", load(Some(bad)).err().unwrap());
        assert!(err.contains("min_rating must be between 1 and 10"), "{err}");
    }
    // A model that does not predict ratings cannot apply one.
    let (status, body) = http(
        listen(&ials_state(dir.path())).await,
        "GET",
        "/api/users/1/recommendations?min_rating=5",
        "",
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert!(
        body.contains("needs a model that predicts ratings"),
        "{body}"
    );
    // ... so its page offers no such field; the server's default is the field's placeholder.
    let (_, page) = http(listen(&ials_state(dir.path())).await, "GET", "/", "").await;
    assert!(!page.contains(r#"name="min_rating""#), "{page}");
    let (_, page) = http(addr, "GET", "/", "").await;
    assert!(page.contains(r#"placeholder="7.5""#), "{page}");
}
