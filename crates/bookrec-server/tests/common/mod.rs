//! Shared test fixtures: a small hand-built model with two planted tastes (fantasy, crime) and
//! a catalogue with the awkward cases (accents, a rated book missing from the catalogue, a
//! catalogue book the model never saw, a rarely rated book).
#![allow(dead_code, clippy::unwrap_used)]

use axum::body::Body;
use axum::http::{Request, StatusCode};
use bookrec_core::data::{Interactions, RatingScale};
use bookrec_core::models::{Factors, FittedModel, ModelKind, Scorer};
use bookrec_server::engine::{Book, Catalog};
use bookrec_server::{AppState, Settings, Store};
use http_body_util::BodyExt;
use std::path::Path;
use tower::ServiceExt;

/// Books "F0".."F5" are fantasy, "C0".."C5" crime; "RARE" is fantasy and rated once (below
/// the minimum support); "NOCAT" is crime, rated in the data but missing from the catalogue.
pub const FANTASY: [&str; 6] = ["F0", "F1", "F2", "F3", "F4", "F5"];
pub const CRIME: [&str; 6] = ["C0", "C1", "C2", "C3", "C4", "C5"];

/// Training ratings: users "1".."15" like fantasy, "16".."30" crime. User j (0-based) rates
/// own[j % 6] = 9, own[(j + 3) % 6] = 8 and other[j % 6] = 3 — so user "1" rated F0 = 9,
/// F3 = 8, C0 = 3. Users "16".."22" also rate NOCAT = 7; user "2" rates RARE = 10.
pub fn fixture_ratings() -> Vec<(String, String, f32)> {
    let mut out = Vec::new();
    for j in 0..30usize {
        let (own, other) = if j < 15 {
            (FANTASY, CRIME)
        } else {
            (CRIME, FANTASY)
        };
        let user = (j + 1).to_string();
        out.push((user.clone(), own[j % 6].to_string(), 9.0));
        out.push((user.clone(), own[(j + 3) % 6].to_string(), 8.0));
        out.push((user.clone(), other[j % 6].to_string(), 3.0));
        if (15..22).contains(&j) {
            out.push((user.clone(), "NOCAT".to_string(), 7.0));
        }
        if j == 1 {
            out.push((user, "RARE".to_string(), 10.0));
        }
    }
    out
}

pub fn fixture_train() -> Interactions {
    Interactions::from_triplets(
        fixture_ratings()
            .iter()
            .map(|(u, i, r)| (u.as_str(), i.as_str(), *r)),
        Some(RatingScale::new(1.0, 10.0)),
    )
}

/// A factor model with planted parameters (not fitted): r̂ = μ + b_i + q_iᵀp_u with
/// q = (1, 0) for fantasy, (0, 1) for crime, p = (1.5, −0.5) for fantasy readers and
/// (−0.5, 1.5) for crime readers, b_i = 0.05·(i mod 6) per book so rankings are strict (RARE has
/// the largest bias: it would top every fantasy list without the minimum-support rule).
pub fn fixture_model() -> FittedModel {
    let train = fixture_train();
    let (n_users, n_items) = (train.users.len(), train.items.len());
    let mut item_factors = vec![0f32; 2 * n_items];
    let mut item_bias = vec![0f32; n_items];
    for (i, id) in train.items.ids().enumerate() {
        let fantasy = id.starts_with('F') || id == "RARE";
        item_factors[2 * i..2 * i + 2].copy_from_slice(if fantasy {
            &[1.0, 0.0]
        } else {
            &[0.0, 1.0]
        });
        let n: usize = id[1..].parse().unwrap_or(1);
        item_bias[i] = if id == "RARE" { 0.9 } else { 0.05 * n as f32 };
    }
    let mut user_factors = vec![0f32; 2 * n_users];
    for (u, id) in train.users.ids().enumerate() {
        let fantasy = id.parse::<usize>().unwrap() <= 15;
        user_factors[2 * u..2 * u + 2].copy_from_slice(if fantasy {
            &[1.5, -0.5]
        } else {
            &[-0.5, 1.5]
        });
    }
    let scorer = Scorer::Factors(Factors {
        k: 2,
        user_bias: vec![0.0; n_users],
        item_bias,
        user_factors,
        item_factors,
        fold_in_reg: 0.1,
        fold_in_reg_per_rating: 0.02,
        ..Default::default()
    });
    FittedModel::new(
        ModelKind::Svd,
        serde_json::json!({"factors": 2}),
        &train,
        scorer,
    )
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
        book(
            "F0",
            "The Hobbit",
            "J. R. R. Tolkien",
            Some(1937),
            "fantasy",
        ),
        book(
            "F1",
            "A Wizard of Earthsea",
            "Ursula K. Le Guin",
            Some(1968),
            "fantasy",
        ),
        book(
            "F2",
            "Die Unendliche Geschichte",
            "Michael Ende",
            Some(1979),
            "fantasy",
        ),
        book(
            "F3",
            "Les Contes de Pérrault",
            "Charles Perrault",
            Some(1697),
            "fantasy",
        ),
        book(
            "F4",
            "The Name of the Wind",
            "Patrick Rothfuss",
            Some(2007),
            "fantasy",
        ),
        book("F5", "Mort", "Terry Pratchett", Some(1987), "fantasy"),
        book(
            "C0",
            "The Big Sleep",
            "Raymond Chandler",
            Some(1939),
            "crime",
        ),
        book(
            "C1",
            "Murder on the Orient Express",
            "Agatha Christie",
            Some(1934),
            "crime",
        ),
        book("C2", "Millénium", "Stieg Larsson", Some(2005), "crime"),
        book(
            "C3",
            "The Maltese Falcon",
            "Dashiell Hammett",
            Some(1930),
            "crime",
        ),
        book("C4", "Gone Girl", "Gillian Flynn", Some(2012), "crime"),
        book(
            "C5",
            "Smilla's Sense of Snow",
            "Peter Høeg",
            Some(1992),
            "crime",
        ),
        book("RARE", "An Obscure Fantasy", "Nobody", None, "fantasy"),
        // In the catalogue, never rated: searchable, has a page, no neighbours.
        book(
            "UNRATED",
            "Erzählungen",
            "Thomas Mann",
            Some(1920),
            "classic",
        ),
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
            ..Settings::default()
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
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.body))
    }
}

pub async fn send(state: &AppState, req: Request<Body>) -> Answer {
    let res = bookrec_server::app(state.clone())
        .oneshot(req)
        .await
        .unwrap();
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
