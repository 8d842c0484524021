//! Hot reload from a model file: a corrupted or truncated file is rejected and the old model
//! keeps serving; a valid new file is swapped in atomically.
#![allow(clippy::unwrap_used)]

mod common;

use std::net::SocketAddr;

use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{Request, StatusCode};
use bookrec_core::model_file::{save_model, ModelMeta};
use bookrec_core::models::Scorer;
use bookrec_server::AppState;
use common::*;

fn reload_request() -> Request<Body> {
    let mut req = Request::post("/admin/reload").body(Body::empty()).unwrap();
    req.extensions_mut()
        .insert(ConnectInfo(SocketAddr::from(([127, 0, 0, 1], 50000))));
    req
}

fn crime_for_reader_1() -> bookrec_core::models::FittedModel {
    let mut model = fixture_model();
    let Scorer::Factors(f) = &mut model.scorer else {
        panic!()
    };
    let row = f.user_row(model.users.get("1").unwrap()).unwrap();
    f.user_factors[2 * row..2 * row + 2].copy_from_slice(&[-0.5, 1.5]);
    model
}

async fn top(state: &AppState, user: &str) -> String {
    let a = get(state, &format!("/api/users/{user}/recommendations?n=1")).await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.body);
    a.json()["items"][0]["book"]["id"]
        .as_str()
        .unwrap()
        .to_string()
}

/// The fixture model saved as `model.bkr` in `dir`, and a server state loaded from it.
fn served_model_file(dir: &std::path::Path) -> (std::path::PathBuf, AppState) {
    let model_path = dir.join("model.bkr");
    let meta = ModelMeta::new("test", &fixture_train(), serde_json::json!({}));
    save_model(&fixture_model(), &meta, &model_path).unwrap();
    let state = AppState::load(&model_path, None, None, &dir.join("r.sqlite"), 5, None).unwrap();
    (model_path, state)
}

#[tokio::test]
async fn reload_rejects_bad_files_and_swaps_good_ones() {
    let dir = tempfile::tempdir().unwrap();
    let (model_path, state) = served_model_file(dir.path());
    let meta = ModelMeta::new("test", &fixture_train(), serde_json::json!({}));
    assert_eq!(top(&state, "1").await, "F5"); // a fantasy reader
                                              // Without a catalogue, books show by id.
    let j = get(&state, "/api/books/F5").await.json();
    assert_eq!(j["title"], "Book F5");
    assert_eq!(j["in_catalog"], false);

    let good = std::fs::read(&model_path).unwrap();
    let mut flipped = good.clone();
    flipped[good.len() / 2] ^= 0xff;
    for (what, bytes) in [
        ("corrupted", flipped),
        ("truncated", good[..good.len() / 3].to_vec()),
        ("empty", Vec::new()),
        ("not a model", b"hello, I am a CSV file\n1,2,3\n".to_vec()),
    ] {
        std::fs::write(&model_path, bytes).unwrap();
        let a = send(&state, reload_request()).await;
        assert_eq!(
            a.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{what}: {}",
            a.body
        );
        assert!(
            a.json()["error"]
                .as_str()
                .unwrap()
                .contains("still serving"),
            "{what}"
        );
        assert_eq!(
            top(&state, "1").await,
            "F5",
            "{what}: old model must keep serving"
        );
    }
    std::fs::remove_file(&model_path).unwrap();
    assert_eq!(
        send(&state, reload_request()).await.status,
        StatusCode::UNPROCESSABLE_ENTITY
    );

    // A valid new model where reader 1 turned to crime.
    save_model(&crime_for_reader_1(), &meta, &model_path).unwrap();
    let a = send(&state, reload_request()).await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.body);
    assert_eq!(a.json()["status"], "reloaded");
    let now = top(&state, "1").await;
    assert!(now.starts_with('C') || now == "NOCAT", "{now}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replacing_the_model_file_swaps_the_model() {
    let dir = tempfile::tempdir().unwrap();
    let (model_path, state) = served_model_file(dir.path());
    let meta = ModelMeta::new("test", &fixture_train(), serde_json::json!({}));
    let interval = std::time::Duration::from_millis(100);
    tokio::spawn(bookrec_server::watch_model_files(state.clone(), interval));
    assert_eq!(top(&state, "1").await, "F5");
    tokio::time::sleep(interval * 3).await;

    // A corrupted file is ignored: the old model keeps serving.
    std::fs::write(&model_path, b"garbage").unwrap();
    tokio::time::sleep(interval * 6).await;
    assert_eq!(top(&state, "1").await, "F5");

    // Replaced the way deployments do it: write aside, rename over.
    let tmp = dir.path().join("model.bkr.new");
    save_model(&crime_for_reader_1(), &meta, &tmp).unwrap();
    std::fs::rename(&tmp, &model_path).unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let now = top(&state, "1").await;
        if now.starts_with('C') || now == "NOCAT" {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "new model file not picked up"
        );
        tokio::time::sleep(interval).await;
    }
}
