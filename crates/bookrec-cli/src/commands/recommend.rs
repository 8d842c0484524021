//! `bookrec recommend` and `bookrec similar`: read a model file, answer for one user or book.

use anyhow::{Context, Result};
use bookrec_core::data::Catalog;
use bookrec_core::model_file::load_model;
use bookrec_core::models::{FittedModel, ModelKind};
use bookrec_core::recommend::{
    check_min_rating, check_pair, document, Listed, Recommender, Request, Served, Source,
};

use crate::args::{RecommendArgs, SimilarArgs};
use crate::table;

pub fn run(args: RecommendArgs) -> Result<()> {
    let (model, _) = load_model(&args.model)?;
    // With a ranker, the ranker chooses the books and the model predicts their ratings
    // (bookrec_core::recommend, as `bookrec serve --ranker`).
    let ranker = match &args.ranker {
        Some(path) => {
            let (ranker, _) = load_model(path)?;
            check_pair(&model, &ranker)
                .with_context(|| format!("cannot rank with {}", path.display()))?;
            Some(ranker)
        }
        None => None,
    };
    let catalog = super::load_books(args.books.as_deref())?;
    let user = args.user.trim();
    let min_rating = args
        .min_rating
        .map(|m| check_min_rating(&model, m))
        .transpose()
        .context("--min-rating")?;
    // One request: no candidate cache (building it costs more than one top-N). With a
    // catalogue, lists hold works (one edition each, only catalogued books).
    let no_catalog = Catalog::default();
    let books = catalog.as_ref().unwrap_or(&no_catalog);
    let model = Served::with_catalog(model, None, books);
    let ranker = ranker.map(|r| Served::with_catalog(r, None, books));
    let list = Recommender::new(&model, ranker.as_ref()).recommend(&Request {
        min_rating,
        include_uncatalogued: args.include_uncatalogued,
        ..Request::new(Some(user), args.n, args.rec.options())
    })?;
    let ranking = &*ranker.as_ref().unwrap_or(&model).fitted;
    let model = &*model.fitted;
    if args.json {
        // The document of GET /api/users/{id}/recommendations; no stored ratings here
        // (`n_stored_ratings_used` is 0) and no explanations (`because` is empty).
        let doc = document::recommendations(
            user,
            &list,
            model,
            catalog.as_ref().unwrap_or(&Catalog::default()),
            |_| Vec::new(),
        );
        println!("{}", serde_json::to_string_pretty(&doc)?);
        return Ok(());
    }
    let rows = rows(catalog.as_ref(), &list.items);
    // Shown beside the ranker's own score; without a ranker the model's score is the rating.
    let predicted: Option<Vec<Option<f32>>> = ranker
        .as_ref()
        .map(|_| list.items.iter().map(|l| l.predicted_rating).collect());
    let by = match &ranker {
        Some(r) => format!(
            "ranked by {}, predicted ratings by {}",
            r.fitted.kind.name(),
            model.kind.name()
        ),
        None => format!("{} model", model.kind.name()),
    };
    let by = match min_rating {
        Some(m) => format!("{by}; only books predicted at least {m}"),
        None => by,
    };
    if list.source() != Source::Popular {
        let listed = match list.items.len() {
            0 => "no books".to_string(),
            1 => "1 book".to_string(),
            n => format!("{n} books"),
        };
        println!("Top {listed} for user {user} ({by}):");
    } else {
        let popular = match list.items.len() {
            0 => "no popular books".to_string(),
            1 => "the most popular book".to_string(),
            n => format!("the {n} most popular books"),
        };
        println!(
            "User {user:?} is not in the {} model's training data; showing {popular} instead ({by}).",
            ranking.kind.name(),
        );
    }
    // A ranking model's scores are preferences (ials) or counts, never predicted ratings; an
    // unknown reader's popular works are scored by their damped mean rating, see
    // `bookrec_core::recommend::popular_ranking`.
    let score = match ranking.kind {
        _ if list.source() == Source::Popular => Score::new("mean rating", 2),
        k if k.predicts_ratings() => Score::new("predicted", 2),
        ModelKind::Popularity => Score::new("readers", 0),
        _ => Score::new("preference", 2),
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
    let no_catalog = Catalog::default();
    let served = Served::with_catalog(model, None, catalog.as_ref().unwrap_or(&no_catalog));
    let list = Recommender::new(&served, None)
        .similar(
            book,
            args.n,
            args.rec.min_support,
            None,
            args.include_uncatalogued,
        )?
        .with_context(|| format!("book {book:?} is not in the model's training data"))?;
    let model: &FittedModel = &served.fitted;
    if args.json {
        // The document of GET /api/books/{id}/similar.
        let doc = document::similar(
            book,
            &list,
            model,
            catalog.as_ref().unwrap_or(&Catalog::default()),
        );
        println!("{}", serde_json::to_string_pretty(&doc)?);
        return Ok(());
    }
    let rows: Vec<Row> = list
        .items
        .iter()
        .map(|(id, similarity)| Row::new(catalog.as_ref(), id, *similarity))
        .collect();
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

impl Row {
    fn new(catalog: Option<&Catalog>, id: &str, score: f32) -> Row {
        let (title, author) = super::describe(catalog, id);
        Row {
            id: id.to_string(),
            title,
            author,
            score,
        }
    }
}

fn rows(catalog: Option<&Catalog>, items: &[Listed]) -> Vec<Row> {
    items
        .iter()
        .map(|l| Row::new(catalog, &l.book_id, l.score))
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
