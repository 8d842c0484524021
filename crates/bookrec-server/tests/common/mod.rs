//! Shared test fixtures: a small hand-built model with two planted tastes (fantasy, crime) and
//! a catalogue with the awkward cases (accents, a rated book missing from the catalogue, a
//! catalogue book the model never saw, a rarely rated book).
#![allow(dead_code, clippy::unwrap_used)]

use std::path::Path;
use std::sync::Arc;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use bookrec_core::data::{Csr, RatingScale, Vocab};
use bookrec_core::models::{Factors, FittedModel, ModelKind, Scorer};
use bookrec_server::engine::{Book, Catalog};
use bookrec_server::{AppState, Settings, Store};
use http_body_util::BodyExt;
use tower::ServiceExt;

/// Books 0–5 fantasy ("F0".."F5"), 6–11 crime ("C0".."C5"), 12 = "RARE" (fantasy, rated once),
/// 13 = "NOCAT" (crime, rated in the data but missing from the catalogue).
pub const FANTASY: [&str; 6] = ["F0", "F1", "F2", "F3", "F4", "F5"];
pub const CRIME: [&str; 6] = ["C0", "C1", "C2", "C3", "C4", "C5"];

pub fn fixture_model() -> FittedModel {
    let items: Vocab = FANTASY
        .iter()
        .chain(CRIME.iter())
        .chain(["RARE", "NOCAT"].iter())
        .collect();
    // Users "1","2","3" like fantasy; "4","5","6" like crime.
    let users: Vocab = ["1", "2", "3", "4", "5", "6"].iter().collect();
    let n_items = items.len();
    let mut item_factors = Vec::new();
    let mut item_bias = Vec::new();
    for i in 0..n_items {
        let fantasy = i < 6 || i == 12;
        item_factors.extend_from_slice(if fantasy { &[1.0, 0.0] } else { &[0.0, 1.0] });
        // Small distinct biases make every ranking deterministic; RARE would top the list.
        item_bias.push(if i == 12 { 0.9 } else { 0.05 * (i % 6) as f32 });
    }
    let mut user_factors = Vec::new();
    for u in 0..users.len() {
        user_factors.extend_from_slice(if u < 3 { &[1.5, -0.5] } else { &[-0.5, 1.5] });
    }
    // Training ratings: each user rated two books of their genre highly and one other low.
    let (mut rows, mut cols, mut vals) = (Vec::new(), Vec::new(), Vec::new());
    for u in 0..6u32 {
        let (own, other) = if u < 3 { (0u32, 6u32) } else { (6, 0) };
        for (c, v) in [(own + u % 3, 9.0), (own + 3 + u % 3, 8.0), (other + u % 3, 3.0)] {
            rows.push(u);
            cols.push(c);
            vals.push(v);
        }
    }
    let seen = Csr::from_coo(users.len(), &rows, &cols, &vals);
    let mut item_popularity = vec![20u32; n_items];
    item_popularity[12] = 1;
    FittedModel {
        kind: ModelKind::Svd,
        params: serde_json::json!({"factors": 2}),
        users: Arc::new(users),
        items: Arc::new(items),
        scale: RatingScale::new(1.0, 10.0),
        global_mean: 7.0,
        seen,
        item_popularity,
        scorer: Scorer::Factors(Factors {
            k: 2,
            user_bias: vec![0.0; 6],
            item_bias,
            user_factors,
            item_factors,
        }),
    }
}

fn book(id: &str, title: &str, author: &str, year: Option<u16>, genre: &str) -> Book {
    Book {
        id: id.to_string(),
        title: title.to_string(),
        author: author.to_string(),
        year,
        publisher: Some("Test House".to_string()),
        genre: Some(genre.to_string()),
        image_url: None,
    }
}

pub fn fixture_catalog() -> Catalog {
    let mut books = vec![
        book("F0", "The Hobbit", "J. R. R. Tolkien", Some(1937), "fantasy"),
        book("F1", "A Wizard of Earthsea", "Ursula K. Le Guin", Some(1968), "fantasy"),
        book("F2", "Die Unendliche Geschichte", "Michael Ende", Some(1979), "fantasy"),
        book("F3", "Les Contes de Pérrault", "Charles Perrault", Some(1697), "fantasy"),
        book("F4", "The Name of the Wind", "Patrick Rothfuss", Some(2007), "fantasy"),
        book("F5", "Mort", "Terry Pratchett", Some(1987), "fantasy"),
        book("C0", "The Big Sleep", "Raymond Chandler", Some(1939), "crime"),
        book("C1", "Murder on the Orient Express", "Agatha Christie", Some(1934), "crime"),
        book("C2", "Millénium", "Stieg Larsson", Some(2005), "crime"),
        book("C3", "The Maltese Falcon", "Dashiell Hammett", Some(1930), "crime"),
        book("C4", "Gone Girl", "Gillian Flynn", Some(2012), "crime"),
        book("C5", "Smilla's Sense of Snow", "Peter Høeg", Some(1992), "crime"),
        book("RARE", "An Obscure Fantasy", "Nobody", None, "fantasy"),
        // In the catalogue, never rated: searchable, has a page, no neighbours.
        book("UNRATED", "Erzählungen", "Thomas Mann", Some(1920), "classic"),
    ];
    books[0].image_url = Some("http://images.example.invalid/hobbit.jpg".to_string());
    books[1].image_url = Some("javascript:alert(1)".to_string());
    Catalog::from_books(books)
}

pub fn state_in(dir: &Path) -> AppState {
    let store = Store::open(&dir.join("ratings.sqlite")).unwrap();
    AppState::new(
        fixture_model(),
        fixture_catalog(),
        store,
        Settings {
            min_support: 5,
            model_path: None,
        },
    )
}

pub struct Answer {
    pub status: StatusCode,
    pub content_type: String,
    pub body: String,
    pub location: Option<String>,
}

impl Answer {
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.body))
    }
}

pub async fn send(state: &AppState, req: Request<Body>) -> Answer {
    let res = bookrec_server::app(state.clone()).oneshot(req).await.unwrap();
    let status = res.status();
    let header = |name| {
        res.headers()
            .get(name)
            .map(|v: &axum::http::HeaderValue| v.to_str().unwrap().to_string())
    };
    let content_type = header("content-type").unwrap_or_default();
    let location = header("location");
    let bytes = res.into_body().collect().await.unwrap().to_bytes();
    Answer {
        status,
        content_type,
        body: String::from_utf8(bytes.to_vec()).unwrap(),
        location,
    }
}

pub async fn get(state: &AppState, uri: &str) -> Answer {
    send(state, Request::get(uri).body(Body::empty()).unwrap()).await
}

pub async fn post_json(state: &AppState, uri: &str, body: &str) -> Answer {
    send(
        state,
        Request::post(uri)
            .header("content-type", "application/json")
            .body(Body::from(body.to_string()))
            .unwrap(),
    )
    .await
}
