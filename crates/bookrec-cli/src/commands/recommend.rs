//! `bookrec recommend` and `bookrec similar`: read a model file, answer for one user or book.

use anyhow::{Context, Result};
use bookrec_core::data::Catalog;
use bookrec_core::io::load_model;
use bookrec_core::models::{FittedModel, ModelKind, ScoredItem};

use crate::args::{RecommendArgs, SimilarArgs};
use crate::table;

pub fn run(args: RecommendArgs) -> Result<()> {
    let (model, _) = load_model(&args.model)?;
    let catalog = super::load_books(args.books.as_deref())?;
    let opts = args.rec.options();
    let user = args.user.trim();
    let (items, known) = match model
        .users
        .get(user)
        .filter(|&u| model.seen.row_len(u as usize) > 0)
    {
        Some(u) => (model.recommend(u, args.n, &opts), true),
        None => (model.popular(args.n, &opts), false),
    };
    let rows = rows(&model, catalog.as_ref(), &items);
    if args.json {
        let json = serde_json::json!({
            "user": user,
            "known_user": known,
            "strategy": if known { "personalised" } else { "popular (unknown user)" },
            "score": match (known, model.kind.predicts_ratings()) {
                (false, true) => "training ratings",
                (false, false) => "training interactions",
                (true, true) => "predicted rating",
                (true, false) => "ranking score (not a rating)",
            },
            "recommendations": rows_json(&rows),
        });
        println!("{}", serde_json::to_string_pretty(&json)?);
        return Ok(());
    }
    if known {
        println!(
            "Top {} books for user {user} ({} model):",
            items.len(),
            model.kind.name()
        );
    } else {
        println!(
            "User {user:?} is not in the model's training data; showing the {} most popular books instead.",
            items.len()
        );
    }
    // A ranking model's scores are preferences (ials) or counts, never predicted ratings.
    let score_name = match (known, model.kind) {
        (false, k) if k.predicts_ratings() => "ratings",
        (false, _) => "interactions",
        (true, k) if k.predicts_ratings() => "predicted",
        (true, ModelKind::Popularity) => "readers",
        (true, _) => "preference",
    };
    print_rows(&rows, score_name);
    Ok(())
}

pub fn run_similar(args: SimilarArgs) -> Result<()> {
    let (model, _) = load_model(&args.model)?;
    let catalog = super::load_books(args.books.as_deref())?;
    let book = args.book.trim();
    let item = model
        .items
        .get(book)
        .with_context(|| format!("book {book:?} is not in the model's training data"))?;
    let items = model.similar(item, args.n);
    let rows = rows(&model, catalog.as_ref(), &items);
    if args.json {
        let json = serde_json::json!({ "book": book, "similar": rows_json(&rows) });
        println!("{}", serde_json::to_string_pretty(&json)?);
        return Ok(());
    }
    let (title, author) = super::describe(catalog.as_ref(), book);
    println!("Books similar to {book} {title} {author}:");
    if rows.is_empty() {
        println!("(the {} model has no item similarity)", model.kind.name());
    }
    print_rows(&rows, "similarity");
    Ok(())
}

struct Row {
    id: String,
    title: String,
    author: String,
    score: f32,
}

fn rows(model: &FittedModel, catalog: Option<&Catalog>, items: &[ScoredItem]) -> Vec<Row> {
    items
        .iter()
        .map(|s| {
            let id = model.items.id(s.item).to_string();
            let (title, author) = super::describe(catalog, &id);
            Row {
                id,
                title,
                author,
                score: s.score,
            }
        })
        .collect()
}

fn rows_json(rows: &[Row]) -> Vec<serde_json::Value> {
    rows.iter()
        .map(|r| serde_json::json!({"book_id": r.id, "title": r.title, "author": r.author, "score": r.score}))
        .collect()
}

fn print_rows(rows: &[Row], score_name: &str) {
    let body: Vec<Vec<String>> = rows
        .iter()
        .enumerate()
        .map(|(k, r)| {
            vec![
                format!("{}", k + 1),
                r.id.clone(),
                format!("{:.2}", r.score),
                r.title.clone(),
                r.author.clone(),
            ]
        })
        .collect();
    print!(
        "{}",
        table::render(&["#", "book", score_name, "title", "author"], &body)
    );
}
