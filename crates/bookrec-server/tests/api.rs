//! Router tests: every endpoint and every error path, through `app(state).oneshot(request)`.
#![allow(clippy::unwrap_used)]

mod common;

use std::net::SocketAddr;

use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{Request, StatusCode};
use common::*;
use serde_json::Value;

fn ids(items: &Value) -> Vec<String> {
    items
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            r.pointer("/book/id")
                .or_else(|| r.get("id"))
                .unwrap()
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect()
}

fn assert_json_error(a: &Answer, status: StatusCode, needle: &str) {
    assert_eq!(a.status, status, "{}", a.body);
    assert!(
        a.content_type.starts_with("application/json"),
        "{}",
        a.content_type
    );
    let msg = a.json()["error"].as_str().unwrap().to_string();
    assert!(
        msg.to_lowercase().contains(&needle.to_lowercase()),
        "{msg:?} lacks {needle:?}"
    );
}

// ---------------------------------------------------------------------------------------------
// ops

#[tokio::test]
async fn healthz_and_readyz() {
    let dir = tempfile::tempdir().unwrap();
    let state = state_in(dir.path());
    let a = get(&state, "/healthz").await;
    assert_eq!(a.status, StatusCode::OK);
    assert_eq!(a.json()["status"], "ok");
    let a = get(&state, "/readyz").await;
    assert_eq!(a.status, StatusCode::OK);
    let j = a.json();
    assert_eq!(j["status"], "ready");
    assert_eq!(j["model"], "svd");
    assert_eq!(j["users"], 30);
    assert_eq!(j["books"], 14);
    assert_eq!(j["catalog_books"], 14);
    assert_eq!(j["stored_ratings"], 0);
}

#[tokio::test]
async fn openapi_document_lists_every_api_route() {
    let dir = tempfile::tempdir().unwrap();
    let state = state_in(dir.path());
    let a = get(&state, "/openapi.json").await;
    assert_eq!(a.status, StatusCode::OK);
    let doc = a.json();
    assert!(doc["openapi"].as_str().unwrap().starts_with("3."));
    for path in [
        "/api/users/{id}/recommendations",
        "/api/users/{id}/ratings",
        "/api/books",
        "/api/books/{id}",
        "/api/books/{id}/similar",
        "/healthz",
        "/readyz",
        "/admin/reload",
    ] {
        assert!(doc["paths"].get(path).is_some(), "missing {path}");
    }
    assert!(doc["paths"]["/api/users/{id}/ratings"]["post"]["requestBody"].is_object());
    assert!(doc["components"]["schemas"]["RecommendationsResponse"].is_object());
}

#[tokio::test]
async fn docs_page_and_static_assets_are_embedded() {
    let dir = tempfile::tempdir().unwrap();
    let state = state_in(dir.path());
    let a = get(&state, "/docs").await;
    assert_eq!(a.status, StatusCode::OK);
    assert!(a.content_type.starts_with("text/html"));
    assert!(a.body.contains("/static/docs.js"));
    assert!(
        !a.body.contains("cdn"),
        "docs page must not load from a CDN"
    );
    for (file, mime, needle) in [
        ("app.css", "text/css", ".cover"),
        ("start.js", "text/javascript", "recommendations"),
        ("docs.js", "text/javascript", "/openapi.json"),
    ] {
        let a = get(&state, &format!("/static/{file}")).await;
        assert_eq!(a.status, StatusCode::OK, "{file}");
        assert!(
            a.content_type.starts_with(mime),
            "{file}: {}",
            a.content_type
        );
        assert!(a.body.contains(needle), "{file}");
    }
    assert_eq!(
        get(&state, "/static/nope.js").await.status,
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn unknown_routes_are_404_json_for_api_and_html_for_pages() {
    let dir = tempfile::tempdir().unwrap();
    let state = state_in(dir.path());
    assert_json_error(
        &get(&state, "/api/nope").await,
        StatusCode::NOT_FOUND,
        "no such page",
    );
    let a = get(&state, "/nope").await;
    assert_eq!(a.status, StatusCode::NOT_FOUND);
    assert!(a.content_type.starts_with("text/html"));
    assert!(a.body.contains("no such page"));
}

#[tokio::test]
async fn admin_reload_is_loopback_only_and_needs_a_model_file() {
    let dir = tempfile::tempdir().unwrap();
    let state = state_in(dir.path());
    // No peer address known (not served with connect info) → refused.
    let a = send(
        &state,
        Request::post("/admin/reload").body(Body::empty()).unwrap(),
    )
    .await;
    assert_json_error(&a, StatusCode::FORBIDDEN, "localhost");
    let with_peer = |ip: [u8; 4]| {
        let mut req = Request::post("/admin/reload").body(Body::empty()).unwrap();
        req.extensions_mut()
            .insert(ConnectInfo(SocketAddr::from((ip, 40000))));
        req
    };
    let a = send(&state, with_peer([192, 168, 1, 7])).await;
    assert_json_error(&a, StatusCode::FORBIDDEN, "localhost");
    // Loopback, but this state came from memory: nothing to reload, clear message.
    let a = send(&state, with_peer([127, 0, 0, 1])).await;
    assert_json_error(&a, StatusCode::UNPROCESSABLE_ENTITY, "no model file");
    // GET is not a reload; wrong methods answer in JSON too.
    assert_json_error(
        &get(&state, "/admin/reload").await,
        StatusCode::METHOD_NOT_ALLOWED,
        "GET is not supported",
    );
    let a = send(
        &state,
        Request::delete("/api/books/F0")
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    assert_json_error(
        &a,
        StatusCode::METHOD_NOT_ALLOWED,
        "DELETE is not supported",
    );
}

// ---------------------------------------------------------------------------------------------
// users

#[tokio::test]
async fn recommendations_for_a_known_user() {
    let dir = tempfile::tempdir().unwrap();
    let state = state_in(dir.path());
    let a = get(&state, "/api/users/1/recommendations").await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.body);
    let j = a.json();
    assert_eq!(j["user_id"], "1");
    assert_eq!(j["known_user"], true);
    assert_eq!(j["source"], "personal");
    assert!(j["message"].is_null());
    let got = ids(&j["items"]);
    // 14 books − 3 rated − RARE (below min support) − NOCAT (not in the catalogue) = 9.
    assert_eq!(got.len(), 9, "{got:?}");
    // User 1 likes fantasy: the 4 unrated fantasy books come first, in bias order.
    assert_eq!(&got[..4], &["F5", "F4", "F2", "F1"]);
    for seen in ["F0", "F3", "C0", "RARE"] {
        assert!(!got.contains(&seen.to_string()), "{seen} in {got:?}");
    }
    let first = &j["items"][0];
    assert_eq!(first["book"]["title"], "Mort");
    assert_eq!(first["book"]["author"], "Terry Pratchett");
    assert_eq!(first["book"]["year"], 1987);
    let predicted = first["predicted_rating"].as_f64().unwrap();
    let want = fixture_model().predict("1", "F5").value as f64;
    assert!((predicted - want).abs() < 1e-4, "{predicted} vs {want}");
    // A book rated in the data but missing from the catalogue is left out by default; asked
    // for, it shows, marked as such.
    assert!(!got.contains(&"NOCAT".to_string()), "{got:?}");
    let all = get(
        &state,
        "/api/users/1/recommendations?include_uncatalogued=true",
    )
    .await
    .json();
    let nocat = all["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["book"]["id"] == "NOCAT")
        .unwrap();
    assert_eq!(nocat["book"]["in_catalog"], false);
    assert_eq!(nocat["book"]["title"], "Book NOCAT");

    // Without explanations: the same list, no reasons.
    let plain = get(&state, "/api/users/1/recommendations?explain=false")
        .await
        .json();
    assert_eq!(ids(&plain["items"]), got);
    assert!(plain["items"]
        .as_array()
        .unwrap()
        .iter()
        .all(|r| r["because"].as_array().unwrap().is_empty()));

    let a = get(&state, "/api/users/16/recommendations?n=3").await;
    let got = ids(&a.json()["items"]);
    assert_eq!(got.len(), 3);
    assert!(
        got.iter().all(|id| id.starts_with('C') || id == "NOCAT"),
        "{got:?}"
    );
}

#[tokio::test]
async fn recommendations_explain_with_highly_rated_books() {
    let dir = tempfile::tempdir().unwrap();
    let state = state_in(dir.path());
    let j = get(&state, "/api/users/1/recommendations?n=1").await.json();
    let because = j["items"][0]["because"].as_array().unwrap();
    assert!(!because.is_empty(), "no explanation: {j}");
    // User 1 rated F0 (9) and F3 (8) highly, C0 (3) low: a fantasy pick is explained by those.
    for b in because {
        let id = b["book_id"].as_str().unwrap();
        assert!(id == "F0" || id == "F3", "{b}");
        assert!(b["rating"].as_f64().unwrap() >= 8.0);
    }
}

#[tokio::test]
async fn unknown_user_gets_popular_books_and_a_message() {
    let dir = tempfile::tempdir().unwrap();
    let state = state_in(dir.path());
    let a = get(&state, "/api/users/999999/recommendations?n=5").await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.body);
    let j = a.json();
    assert_eq!(j["known_user"], false);
    assert_eq!(j["source"], "popular");
    assert!(j["message"].as_str().unwrap().contains("don't know"));
    let got = ids(&j["items"]);
    assert_eq!(got.len(), 5);
    assert!(!got.contains(&"RARE".to_string()));
    for item in j["items"].as_array().unwrap() {
        let p = item["predicted_rating"].as_f64().unwrap();
        assert!((1.0..=10.0).contains(&p));
        assert!(item["because"].as_array().unwrap().is_empty());
    }
}

#[tokio::test]
async fn bad_user_ids_and_n_are_clear_4xx() {
    let dir = tempfile::tempdir().unwrap();
    let state = state_in(dir.path());
    let long = "9".repeat(65);
    for (uri, status, needle) in [
        (
            format!("/api/users/{long}/recommendations"),
            StatusCode::BAD_REQUEST,
            "too long",
        ),
        (
            "/api/users/a%20b/recommendations".into(),
            StatusCode::BAD_REQUEST,
            "spaces",
        ),
        (
            "/api/users/%20/recommendations".into(),
            StatusCode::BAD_REQUEST,
            "empty",
        ),
        (
            "/api/users/1/recommendations?n=abc".into(),
            StatusCode::BAD_REQUEST,
            "whole number",
        ),
        (
            "/api/users/1/recommendations?n=-3".into(),
            StatusCode::BAD_REQUEST,
            "whole number",
        ),
        (
            "/api/users/1/recommendations?n=1e9".into(),
            StatusCode::BAD_REQUEST,
            "whole number",
        ),
        (
            "/api/users/1/recommendations?n=0".into(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "between 1 and 100",
        ),
        (
            "/api/users/1/recommendations?n=101".into(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "between 1 and 100",
        ),
        (
            "/api/users/1/recommendations?n=99999999999999999999999".into(),
            StatusCode::BAD_REQUEST,
            "whole number",
        ),
        (
            format!("/api/users/{long}/ratings"),
            StatusCode::BAD_REQUEST,
            "too long",
        ),
        (
            "/api/users/1/recommendations?explain=maybe".into(),
            StatusCode::BAD_REQUEST,
            "true or false",
        ),
        (
            "/api/users/1/recommendations?include_uncatalogued=maybe".into(),
            StatusCode::BAD_REQUEST,
            "true or false",
        ),
        (
            "/api/books/F0/similar?include_uncatalogued=2".into(),
            StatusCode::BAD_REQUEST,
            "true or false",
        ),
    ] {
        let a = get(&state, &uri).await;
        assert_json_error(&a, status, needle);
    }
}

#[tokio::test]
async fn ratings_of_a_user_highest_first_and_unknown_user_404() {
    let dir = tempfile::tempdir().unwrap();
    let state = state_in(dir.path());
    let a = get(&state, "/api/users/1/ratings").await;
    assert_eq!(a.status, StatusCode::OK);
    let j = a.json();
    assert_eq!(j["known_user"], true);
    let got: Vec<(String, f64)> = j["ratings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            assert_eq!(r["source"], "training");
            (
                r["book"]["id"].as_str().unwrap().to_string(),
                r["rating"].as_f64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        got,
        vec![("F0".into(), 9.0), ("F3".into(), 8.0), ("C0".into(), 3.0)]
    );
    assert_json_error(
        &get(&state, "/api/users/777/ratings").await,
        StatusCode::NOT_FOUND,
        "unknown user",
    );
}

#[tokio::test]
async fn posted_ratings_are_stored_and_change_recommendations() {
    let dir = tempfile::tempdir().unwrap();
    let state = state_in(dir.path());
    let before = ids(&get(&state, "/api/users/1/recommendations").await.json()["items"]);
    assert!(before.contains(&"F5".to_string()));

    let a = post_json(
        &state,
        "/api/users/1/ratings",
        r#"{"book_id":"F5","rating":10}"#,
    )
    .await;
    assert_eq!(a.status, StatusCode::CREATED, "{}", a.body);
    let ack = a.json();
    assert_eq!(ack["user_id"], "1");
    assert_eq!(ack["book_id"], "F5");
    assert_eq!(ack["rating"], 10.0);
    // A stored rating replaces the training rating of the same book.
    let a = post_json(
        &state,
        "/api/users/1/ratings",
        r#"{"book_id":"C0","rating":1.5}"#,
    )
    .await;
    assert_eq!(a.status, StatusCode::CREATED);

    let j = get(&state, "/api/users/1/ratings").await.json();
    let ratings = j["ratings"].as_array().unwrap();
    assert_eq!(ratings.len(), 4, "{j}");
    assert_eq!(ratings[0]["book"]["id"], "F5");
    assert_eq!(ratings[0]["source"], "stored");
    let c1: Vec<&Value> = ratings.iter().filter(|r| r["book"]["id"] == "C0").collect();
    assert_eq!(c1.len(), 1);
    assert_eq!(c1[0]["rating"], 1.5);
    assert_eq!(c1[0]["source"], "stored");

    let j = get(&state, "/api/users/1/recommendations").await.json();
    assert_eq!(j["source"], "fold_in");
    assert_eq!(j["n_ratings_used"], 4);
    let after = ids(&j["items"]);
    assert!(
        !after.contains(&"F5".to_string()),
        "rated book still recommended"
    );
    assert_ne!(before, after);
    assert_eq!(get(&state, "/readyz").await.json()["stored_ratings"], 2);
}

#[tokio::test]
async fn a_new_reader_gets_fold_in_recommendations_from_a_few_ratings() {
    let dir = tempfile::tempdir().unwrap();
    let state = state_in(dir.path());
    for (book, r) in [("C0", 10), ("C2", 9), ("C3", 9), ("F0", 2)] {
        let a = post_json(
            &state,
            "/api/users/guest-0123456789ab/ratings",
            &format!(r#"{{"book_id":"{book}","rating":{r}}}"#),
        )
        .await;
        assert_eq!(a.status, StatusCode::CREATED, "{}", a.body);
    }
    let j = get(&state, "/api/users/guest-0123456789ab/ratings")
        .await
        .json();
    assert_eq!(j["known_user"], false);
    assert_eq!(j["ratings"].as_array().unwrap().len(), 4);
    let j = get(&state, "/api/users/guest-0123456789ab/recommendations?n=3")
        .await
        .json();
    assert_eq!(j["source"], "fold_in", "{j}");
    assert_eq!(j["known_user"], false);
    let got = ids(&j["items"]);
    assert_eq!(got.len(), 3);
    for id in &got {
        assert!(
            ["C1", "C4", "C5", "NOCAT"].contains(&id.as_str()),
            "{got:?}"
        );
    }
}

#[tokio::test]
async fn bad_ratings_are_rejected_with_clear_messages() {
    let dir = tempfile::tempdir().unwrap();
    let state = state_in(dir.path());
    let url = "/api/users/1/ratings";
    for (body, status, needle) in [
        (
            r#"{"book_id":"F5","rating":11}"#,
            StatusCode::UNPROCESSABLE_ENTITY,
            "between 1 and 10",
        ),
        (
            r#"{"book_id":"F5","rating":0}"#,
            StatusCode::UNPROCESSABLE_ENTITY,
            "between 1 and 10",
        ),
        (
            r#"{"book_id":"F5","rating":-1e40}"#,
            StatusCode::UNPROCESSABLE_ENTITY,
            "between 1 and 10",
        ),
        (
            r#"{"book_id":"F5","rating":"ten"}"#,
            StatusCode::UNPROCESSABLE_ENTITY,
            "rating",
        ),
        (
            r#"{"book_id":"F5"}"#,
            StatusCode::UNPROCESSABLE_ENTITY,
            "missing field `rating`",
        ),
        (
            r#"{"book_id":"F5","rating":5"#,
            StatusCode::BAD_REQUEST,
            "json",
        ),
        ("", StatusCode::BAD_REQUEST, "json"),
        (
            r#"{"book_id":"NOPE","rating":5}"#,
            StatusCode::NOT_FOUND,
            "unknown book",
        ),
        (
            r#"{"book_id":"","rating":5}"#,
            StatusCode::BAD_REQUEST,
            "empty",
        ),
    ] {
        let a = post_json(&state, url, body).await;
        assert_json_error(&a, status, needle);
    }
    // No content type.
    let a = send(
        &state,
        Request::post(url)
            .body(Body::from(r#"{"book_id":"F5","rating":5}"#))
            .unwrap(),
    )
    .await;
    assert_json_error(&a, StatusCode::BAD_REQUEST, "content-type");
    // Bad user id in the path.
    let a = post_json(
        &state,
        "/api/users/a%0Ab/ratings",
        r#"{"book_id":"F5","rating":5}"#,
    )
    .await;
    assert_json_error(&a, StatusCode::BAD_REQUEST, "control");
    // Nothing was stored by any of these.
    assert_eq!(get(&state, "/readyz").await.json()["stored_ratings"], 0);
}

// ---------------------------------------------------------------------------------------------
// books

#[tokio::test]
async fn book_metadata_and_edge_cases() {
    let dir = tempfile::tempdir().unwrap();
    let state = state_in(dir.path());
    let j = get(&state, "/api/books/F0").await.json();
    assert_eq!(j["title"], "The Hobbit");
    assert_eq!(j["author"], "J. R. R. Tolkien");
    assert_eq!(j["year"], 1937);
    assert_eq!(j["publisher"], "Test House");
    assert_eq!(j["genre"], "fantasy");
    assert_eq!(j["image_url"], "http://images.example.invalid/hobbit.jpg");
    assert_eq!(j["n_ratings"], 7); // 5 fantasy readers + 2 crime readers' low ratings
    assert_eq!(j["in_catalog"], true);
    // Non-http cover URLs from a catalogue file are dropped.
    assert!(get(&state, "/api/books/F1").await.json()["image_url"].is_null());
    let j = get(&state, "/api/books/UNRATED").await.json();
    assert_eq!(j["n_ratings"], 0);
    let j = get(&state, "/api/books/NOCAT").await.json();
    assert_eq!(j["in_catalog"], false);
    assert_json_error(
        &get(&state, "/api/books/0000000000").await,
        StatusCode::NOT_FOUND,
        "unknown book",
    );
    let long = "X".repeat(100);
    assert_json_error(
        &get(&state, &format!("/api/books/{long}")).await,
        StatusCode::BAD_REQUEST,
        "too long",
    );
}

#[tokio::test]
async fn similar_books() {
    let dir = tempfile::tempdir().unwrap();
    let state = state_in(dir.path());
    let a = get(&state, "/api/books/F0/similar?n=5").await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.body);
    let j = a.json();
    assert_eq!(j["book_id"], "F0");
    let got = ids(&j["items"]);
    assert_eq!(got.len(), 5, "{got:?}");
    assert!(!got.contains(&"F0".to_string()));
    assert!(!got.contains(&"RARE".to_string()), "below min support");
    assert!(got.iter().all(|id| id.starts_with('F')), "{got:?}");
    // A catalogue book the model never saw: no neighbours, not an error.
    let j = get(&state, "/api/books/UNRATED/similar").await.json();
    assert!(j["items"].as_array().unwrap().is_empty());
    assert_json_error(
        &get(&state, "/api/books/NOPE/similar").await,
        StatusCode::NOT_FOUND,
        "unknown book",
    );
    assert_json_error(
        &get(&state, "/api/books/F0/similar?n=x").await,
        StatusCode::BAD_REQUEST,
        "whole number",
    );
    assert_json_error(
        &get(&state, "/api/books/F0/similar?n=1000").await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "between",
    );
}

#[tokio::test]
async fn search_is_case_and_accent_insensitive() {
    let dir = tempfile::tempdir().unwrap();
    let state = state_in(dir.path());
    for (q, want) in [
        ("tolkien", "F0"),
        ("HOBB", "F0"),
        ("erzahlungen", "UNRATED"),
        ("Erzählungen", "UNRATED"),
        ("millenium", "C2"),
        ("hoeg", "C5"),
        ("orient%20express", "C1"),
        ("christie%20murder", "C1"),
    ] {
        let a = get(&state, &format!("/api/books?q={q}")).await;
        assert_eq!(a.status, StatusCode::OK, "{q}: {}", a.body);
        let got = ids(&a.json()["items"]);
        assert_eq!(got.first().map(String::as_str), Some(want), "{q}: {got:?}");
    }
    // "the": prefix matches first, more ratings first among them.
    let got = ids(&get(&state, "/api/books?q=the&n=3").await.json()["items"]);
    assert_eq!(got.len(), 3);
    assert!(
        got.iter()
            .all(|id| ["F0", "F4", "C0", "C3"].contains(&id.as_str())),
        "{got:?}"
    );
    assert!(get(&state, "/api/books?q=zzzz").await.json()["items"]
        .as_array()
        .unwrap()
        .is_empty());
    let long = "a".repeat(201);
    for (uri, status, needle) in [
        (
            "/api/books".to_string(),
            StatusCode::BAD_REQUEST,
            "search query",
        ),
        (
            "/api/books?q=".into(),
            StatusCode::BAD_REQUEST,
            "search query",
        ),
        (
            "/api/books?q=%20%20".into(),
            StatusCode::BAD_REQUEST,
            "search query",
        ),
        (
            format!("/api/books?q={long}"),
            StatusCode::BAD_REQUEST,
            "too long",
        ),
        (
            "/api/books?q=a&n=0".into(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "between",
        ),
        (
            "/api/books?q=a&n=x".into(),
            StatusCode::BAD_REQUEST,
            "whole number",
        ),
    ] {
        assert_json_error(&get(&state, &uri).await, status, needle);
    }
}

// ---------------------------------------------------------------------------------------------
// pages

fn assert_html(a: &Answer, status: StatusCode) {
    assert_eq!(a.status, status, "{}", a.body);
    assert!(
        a.content_type.starts_with("text/html"),
        "{}",
        a.content_type
    );
    assert!(a.body.contains("</html>"));
}

#[tokio::test]
async fn home_page_form_and_user_results() {
    let dir = tempfile::tempdir().unwrap();
    let state = state_in(dir.path());
    let a = get(&state, "/").await;
    assert_html(&a, StatusCode::OK);
    assert!(a
        .body
        .contains(r#"<form class="user-form" method="get" action="/">"#));
    assert!(a.body.contains(r#"name="user""#));

    let a = get(&state, "/?user=1").await;
    assert_html(&a, StatusCode::OK);
    let (recs, rated) = a.body.split_once(r#"<aside class="rated">"#).unwrap();
    for title in [
        "Mort",
        "The Name of the Wind",
        "Die Unendliche Geschichte",
        "A Wizard of Earthsea",
    ] {
        assert!(recs.contains(title), "{title} not recommended on the page");
    }
    assert!(recs.contains("predicted"));
    assert!(recs.contains("because you rated"));
    // Rated books, highest first.
    let hobbit = rated.find("The Hobbit").unwrap();
    let contes = rated.find("Les Contes de Pérrault").unwrap();
    let sleep = rated.find("The Big Sleep").unwrap();
    assert!(hobbit < contes && contes < sleep);
    assert!(rated.contains("hobbit.jpg"));
    // Cover with a URL gets an <img> over the placeholder; no javascript: URL is rendered.
    assert!(a.body.contains(r#"class="ph""#));
    assert!(!a.body.contains("javascript:"));
}

#[tokio::test]
async fn home_page_unknown_user_and_bad_input() {
    let dir = tempfile::tempdir().unwrap();
    let state = state_in(dir.path());
    let a = get(&state, "/?user=424242").await;
    assert_html(&a, StatusCode::OK);
    assert!(
        a.body.contains("We don&#x27;t know reader") || a.body.contains("We don't know reader"),
        "{}",
        a.body
    );
    assert!(a.body.contains("Popular books"));
    assert!(a.body.contains("Mort") || a.body.contains("The Hobbit"));

    let long = "1".repeat(300);
    let a = get(&state, &format!("/?user={long}")).await;
    assert_html(&a, StatusCode::BAD_REQUEST);
    assert!(a.body.contains("too long"));
    let a = get(&state, "/?user=%3Cscript%3Ealert(1)%3C/script%3E%20x").await;
    assert_html(&a, StatusCode::BAD_REQUEST);
    assert!(!a.body.contains("<script>alert"), "input must be escaped");
    let a = get(&state, "/?user=1&n=lots").await;
    assert_html(&a, StatusCode::BAD_REQUEST);
    assert!(a.body.contains("whole number"));
}

#[tokio::test]
async fn book_page_and_search_page() {
    let dir = tempfile::tempdir().unwrap();
    let state = state_in(dir.path());
    let a = get(&state, "/books/F0").await;
    assert_html(&a, StatusCode::OK);
    assert!(a.body.contains("The Hobbit"));
    assert!(a.body.contains("1937"));
    assert!(a.body.contains("Readers who liked this also liked"));
    assert!(a.body.contains("hobbit.jpg"));
    let similar = a.body.split_once(r#"id="similar""#).unwrap().1;
    assert!(similar.contains("Mort"));
    assert!(!similar.contains("Gone Girl"));
    let a = get(&state, "/books/NOPE").await;
    assert_html(&a, StatusCode::NOT_FOUND);
    assert!(a.body.contains("There is no book"));
    let a = get(&state, &format!("/books/{}", "x".repeat(80))).await;
    assert_html(&a, StatusCode::BAD_REQUEST);

    let a = get(&state, "/search").await;
    assert_html(&a, StatusCode::OK);
    let a = get(&state, "/search?q=ENDE").await;
    assert_html(&a, StatusCode::OK);
    assert!(a.body.contains("Die Unendliche Geschichte"));
    let a = get(&state, &format!("/search?q={}", "q".repeat(300))).await;
    assert_html(&a, StatusCode::BAD_REQUEST);
    assert!(a.body.contains("too long"));
    let a = get(&state, "/search?q=%3Cb%3Ebold").await;
    assert!(!a.body.contains("<b>bold"));
}

#[tokio::test]
async fn cold_start_page_lists_popular_books_to_rate() {
    let dir = tempfile::tempdir().unwrap();
    let state = state_in(dir.path());
    let a = get(&state, "/start").await;
    assert_html(&a, StatusCode::OK);
    assert!(a.body.contains("/static/start.js"));
    assert!(a.body.contains(r#"data-scale-min="1""#));
    assert!(a.body.contains(r#"data-scale-max="10""#));
    assert!(a.body.contains("data-book-id="));
}

#[tokio::test]
async fn rating_form_stores_and_redirects_to_the_reader_page() {
    let dir = tempfile::tempdir().unwrap();
    let state = state_in(dir.path());
    // The page puts the browser's CSRF cookie value into the form (double submit).
    let csrf = "ab".repeat(32);
    let form = |body: &str| {
        Request::post("/rate")
            .header("content-type", "application/x-www-form-urlencoded")
            .header("cookie", format!("bookrec_csrf={csrf}"))
            .body(Body::from(format!("{body}&csrf={csrf}")))
            .unwrap()
    };
    let a = send(&state, form("user=1&book_id=F5&rating=10")).await;
    assert_eq!(a.status, StatusCode::SEE_OTHER, "{}", a.body);
    assert_eq!(a.location.as_deref(), Some("/?user=1"));
    let page = get(&state, "/?user=1").await;
    assert!(page.body.contains(r#"<span class="tag">new</span>"#));

    let a = send(&state, form("user=1&book_id=F5&rating=42")).await;
    assert_html(&a, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(a.body.contains("between 1 and 10"));
    let a = send(&state, form("user=1&book_id=F5&rating=ten")).await;
    assert_html(&a, StatusCode::BAD_REQUEST);
    let a = send(&state, form("user=1&rating=5")).await;
    assert_html(&a, StatusCode::BAD_REQUEST);
    assert!(
        a.body.contains("needs the fields user, book_id and rating")
            && a.body.contains("missing field"),
        "{}",
        a.body
    );
    let a = send(&state, form("user=1&book_id=NOPE&rating=5")).await;
    assert_html(&a, StatusCode::NOT_FOUND);
}
