//! `bookrec recommend` and `bookrec similar`: read a model file, answer for one user or book.

use anyhow::{Context, Result};
use bookrec_core::data::Catalog;
use bookrec_core::io::load_model;
use bookrec_core::lists::WorkLists;
use bookrec_core::models::{FittedModel, ModelKind, ScoredItem};
use bookrec_server::ranking::{check_min_rating, check_pair, recommend_for, ReaderList};

use crate::args::{RecommendArgs, SimilarArgs};
use crate::table;

pub fn run(args: RecommendArgs) -> Result<()> {
    let (model, _) = load_model(&args.model)?;
    // With a ranker, the ranker chooses the books and the model predicts their ratings
    // (bookrec_server::ranking, as `bookrec serve --ranker`).
    let ranker = match &args.ranker {
        Some(path) => {
            let (ranker, _) = load_model(path)?;
            check_pair(&model, &ranker)
                .with_context(|| format!("cannot rank with {}", path.display()))?;
            Some(ranker)
        }
        None => None,
    };
    let ranking = ranker.as_ref().unwrap_or(&model);
    let catalog = super::load_books(args.books.as_deref())?;
    let opts = args.rec.options();
    let user = args.user.trim();
    let min_rating = args
        .min_rating
        .map(|m| check_min_rating(&model, m).map_err(anyhow::Error::msg))
        .transpose()
        .context("--min-rating")?;
    let ReaderList {
        items,
        predicted,
        known,
    } = recommend_for(
        &model,
        ranker.as_ref(),
        user,
        args.n,
        &opts,
        min_rating,
        &WorkLists::new(ranking, catalog.as_ref().unwrap_or(&Catalog::default())),
        args.include_uncatalogued,
    );
    let rows = rows(ranking, catalog.as_ref(), &items);
    // Shown beside the ranker's own score; without a ranker the model's score is the rating.
    let predicted = ranker.as_ref().map(|_| predicted);
    if args.json {
        let mut recs = rows_json(&rows);
        if let Some(predicted) = &predicted {
            for (r, p) in recs.iter_mut().zip(predicted) {
                r["predicted_rating"] = serde_json::json!(p);
            }
        }
        let json = serde_json::json!({
            "user": user,
            "known_user": known,
            "strategy": if known { "personalised" } else { "popular (unknown user)" },
            "ranker": ranking.kind.name(),
            "rating_model": ranker.as_ref().map(|_| model.kind.name()),
            "min_rating": min_rating,
            "score": match (known, ranking.kind.predicts_ratings()) {
                (false, _) => "damped mean rating of the work",
                (true, true) => "predicted rating",
                (true, false) => "ranking score (not a rating)",
            },
            "recommendations": recs,
        });
        println!("{}", serde_json::to_string_pretty(&json)?);
        return Ok(());
    }
    let by = match &ranker {
        Some(r) => format!(
            "ranked by {}, predicted ratings by {}",
            r.kind.name(),
            model.kind.name()
        ),
        None => format!("{} model", model.kind.name()),
    };
    let by = match min_rating {
        Some(m) => format!("{by}; only books predicted at least {m}"),
        None => by,
    };
    if known {
        let listed = match items.len() {
            0 => "no books".to_string(),
            1 => "1 book".to_string(),
            n => format!("{n} books"),
        };
        println!("Top {listed} for user {user} ({by}):");
    } else {
        let popular = match items.len() {
            0 => "no popular books".to_string(),
            1 => "the most popular book".to_string(),
            n => format!("the {n} most popular books"),
        };
        println!(
            "User {user:?} is not in the {} model's training data; showing {popular} instead ({by}).",
            ranking.kind.name(),
        );
    }
    // A ranking model's scores are preferences (ials) or counts, never predicted ratings.
    // Counts print as whole numbers.
    let score = match (known, ranking.kind) {
        // Popular works are ranked by their damped mean rating (bookrec_core::lists).
        (false, _) => Score::new("damped mean", 2),
        (true, k) if k.predicts_ratings() => Score::new("predicted", 2),
        (true, ModelKind::Popularity) => Score::new("readers", 0),
        (true, _) => Score::new("preference", 2),
    };
    print_rows(&rows, score, predicted.as_deref());
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
    let lists = WorkLists::new(&model, catalog.as_ref().unwrap_or(&Catalog::default()));
    let items = lists
        .filter(&[item], args.include_uncatalogued)
        .top(args.n, |m| model.similar_with(item, m, &args.rec.options()));
    let rows = rows(&model, catalog.as_ref(), &items);
    if args.json {
        let json = serde_json::json!({ "book": book, "similar": rows_json(&rows) });
        println!("{}", serde_json::to_string_pretty(&json)?);
        return Ok(());
    }
    let (title, author) = super::describe(catalog.as_ref(), book);
    println!("Books similar to {book} {title} {author}:");
    if rows.is_empty() {
        if model.similar(item, 1).is_empty() {
            println!("(the {} model has no item similarity)", model.kind.name());
        } else {
            println!(
                "(no other book has at least {} training ratings: lower --min-support)",
                args.rec.min_support
            );
        }
    }
    print_rows(&rows, Score::new("similarity", 2), None);
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

/// The score column of a table: its header and decimals.
#[derive(Clone, Copy)]
struct Score {
    name: &'static str,
    decimals: usize,
}

impl Score {
    fn new(name: &'static str, decimals: usize) -> Self {
        Score { name, decimals }
    }
}

/// The table of books; `predicted` adds a column of another model's predicted ratings ("–"
/// for a book it does not know).
fn print_rows(rows: &[Row], score: Score, predicted: Option<&[Option<f32>]>) {
    let body: Vec<Vec<String>> = rows
        .iter()
        .enumerate()
        .map(|(k, r)| {
            let mut row = vec![
                format!("{}", k + 1),
                r.id.clone(),
                format!("{:.*}", score.decimals, r.score),
            ];
            if let Some(p) = predicted {
                row.push(
                    p.get(k)
                        .copied()
                        .flatten()
                        .map_or("–".to_string(), |v| format!("{v:.2}")),
                );
            }
            row.extend([table::clip(&r.title, 60), table::clip(&r.author, 30)]);
            row
        })
        .collect();
    let mut header = vec!["#", "book", score.name];
    if predicted.is_some() {
        header.push("predicted");
    }
    header.extend(["title", "author"]);
    print!("{}", table::render(&header, &body));
}
