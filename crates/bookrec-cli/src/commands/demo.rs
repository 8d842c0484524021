//! `bookrec demo`: the whole pipeline on the embedded demo data (a real catalogue of well-known
//! books, ratings generated from readers with planted genre tastes): clean → compare models →
//! train → save → recommend, so the recommendations can be checked against the planted tastes.
//!
//! The lists come from the model with the best NDCG@10 on the split. When that is a ranking
//! model (ials, popularity), it is served as the ranker and the rating model with the best
//! NDCG@10 supplies the predicted ratings (`bookrec serve --model R --ranker K`), so the page
//! shows both, and books the rating model predicts below the middle of the rating scale are
//! left out (`--min-rating`): the ranker finds what the reader's neighbours read, the rating
//! model says whether this reader would like it. Otherwise the best model is served alone.

use std::sync::Arc;

use anyhow::Result;
use bookrec_core::data::{load_catalog, ItemLevel, LoadOptions};
use bookrec_core::datasets::demo::{demo_data, write_demo_files};
use bookrec_core::evaluation::evaluate::{evaluate, fit_and_describe, EvalOptions};
use bookrec_core::evaluation::split::{train_test_split, Split};
use bookrec_core::model_file::save_model;
use bookrec_core::models::{FittedModel, ModelKind, ModelSpec, RecommendOptions};
use bookrec_core::recommend::{Recommender, Request, Served, Source};

use crate::args::DemoArgs;
use crate::progress::Bars;
use crate::table;

pub fn run(args: DemoArgs) -> Result<()> {
    std::fs::create_dir_all(&args.dir)?;
    let (ratings_path, books_path) = write_demo_files(&args.dir, args.seed)?;
    println!(
        "== 1. Data: wrote {} and {}",
        ratings_path.display(),
        books_path.display()
    );
    let catalog = Arc::new(load_catalog(&books_path, &Bars::new())?.0);
    let load_options = LoadOptions::default();
    let (data, report) = super::load(&ratings_path, &load_options)?;
    println!("{report}\n");

    println!("== 2. Models on a random 80/20 split (seed {})", args.seed);
    // The catalogue's groups (author, work, period) are hybrid's side information, and lists
    // are ranked as works, as the page serves them.
    let books = super::Books {
        catalog: Some(Arc::clone(&catalog)),
        level: ItemLevel::Isbn,
    };
    let (train, test) = train_test_split(&data, &Split::Random { test_fraction: 0.2 }, args.seed)?;
    let (train, test) = books.holdout(train, test, load_options.duplicates)?;
    let opts = EvalOptions {
        works: Some(Arc::clone(&catalog)),
        ..EvalOptions::default()
    };
    let mut rows = Vec::new();
    // The best model by NDCG@10, and the best rating model.
    let mut best: Option<(ModelKind, f64)> = None;
    let mut best_rating: Option<(ModelKind, f64)> = None;
    for kind in ModelKind::ALL {
        let spec = ModelSpec::default_for(kind);
        let (_, r) = evaluate(&spec, &train, &test, &opts, &Bars::new())?;
        let ndcg = r.ranking.as_ref().map_or(0.0, |m| m.ndcg);
        if best.is_none_or(|(_, b)| ndcg > b) {
            best = Some((kind, ndcg));
        }
        if kind.predicts_ratings() && best_rating.is_none_or(|(_, b)| ndcg > b) {
            best_rating = Some((kind, ndcg));
        }
        rows.push(vec![
            r.model.clone(),
            bookrec_core::evaluation::evaluate::format_error(r.rmse),
            bookrec_core::evaluation::evaluate::format_error(r.mae),
            format!("{ndcg:.4}"),
            format!("{:.3}", r.fit_seconds),
        ]);
    }
    print!(
        "{}",
        table::render(&["model", "rmse", "mae", "ndcg@10", "fit s"], &rows)
    );

    let best = best.map_or(ModelKind::Svd, |(kind, _)| kind);
    let rating_kind = best_rating.map_or(ModelKind::Svd, |(kind, _)| kind);
    let ranker_kind = (!best.predicts_ratings()).then_some(best);
    let data = books.for_fitting(data, load_options.duplicates)?;
    let train_and_save = |kind: ModelKind| -> Result<(FittedModel, std::path::PathBuf)> {
        let (model, meta) = fit_and_describe(&ModelSpec::default_for(kind), &data, &Bars::new())?;
        let path = args.dir.join(format!("demo-{}.bkr", kind.name()));
        save_model(&model, &meta, &path)?;
        println!("wrote {}", path.display());
        Ok((model, path))
    };
    match ranker_kind {
        Some(r) => println!(
            "\n== 3. The best ndcg@10 is a ranking model ({}): train it to rank, and the best \
             rating model ({}) to predict ratings, on all ratings, and save them",
            r.name(),
            rating_kind.name()
        ),
        None => println!(
            "\n== 3. Train the model with the best ndcg@10 ({}) on all ratings and save it",
            rating_kind.name()
        ),
    }
    let (model, model_path) = train_and_save(rating_kind)?;
    let ranker = ranker_kind.map(train_and_save).transpose()?;
    // Only a ranker's list can hold books the rating model expects the reader to dislike.
    let min_rating = ranker.as_ref().map(|_| model.scale.midpoint());
    if let Some(min) = min_rating {
        println!(
            "   Books {} predicts below {min} (the middle of the rating scale) are left out \
             of the ranker's lists (--min-rating {min}).",
            model.kind.name()
        );
    }
    let (ranker, ranker_path) = match ranker {
        Some((r, path)) => (Some(Served::with_catalog(r, None, &catalog)), Some(path)),
        None => (None, None),
    };
    let model = Served::with_catalog(model, None, &catalog);
    // The lists `bookrec recommend` prints for these files and flags (with a ranker, the
    // rating model predicts the ranker's books).
    let recommender = Recommender::new(&model, ranker.as_ref());

    println!("\n== 4. Recommendations for readers with planted tastes");
    let truth = demo_data(args.seed);
    for user in truth.users.iter().take(3) {
        let list = recommender.recommend(&Request {
            min_rating,
            ..Request::new(Some(user.id.as_str()), 10, RecommendOptions::default())
        })?;
        if list.source() == Source::Popular {
            continue;
        }
        println!(
            "\nuser {} (planted favourite genres: {})",
            user.id,
            user.favourite_genres.join(", ")
        );
        let body: Vec<Vec<String>> = list
            .items
            .iter()
            .map(|l| {
                let book = catalog.get(&l.book_id);
                let mut row = Vec::new();
                if ranker.is_some() {
                    row.push(format!("{:.2}", l.score));
                }
                row.extend([
                    l.predicted_rating
                        .map_or("–".to_string(), |v| format!("{v:.2}")),
                    book.map(|b| b.title.clone())
                        .unwrap_or_else(|| l.book_id.clone()),
                    book.map(|b| b.author.clone()).unwrap_or_default(),
                    book.and_then(|b| b.genre.clone()).unwrap_or_default(),
                ]);
                row
            })
            .collect();
        let mut header = Vec::new();
        if ranker.is_some() {
            header.push("match");
        }
        header.extend(["predicted", "title", "author", "genre"]);
        print!("{}", table::render(&header, &body));
    }
    let ranker_flag = ranker_path
        .as_ref()
        .zip(min_rating)
        .map(|(path, min)| format!(" --ranker {} --min-rating {min}", path.display()))
        .unwrap_or_default();
    println!(
        "\nTry: {} recommend --model {}{ranker_flag} --books {} --user 7",
        command_name(),
        model_path.display(),
        books_path.display()
    );
    if args.no_serve {
        return Ok(());
    }
    println!(
        "\n== 5. Web app: open the URL below and type a reader id (1–{}).",
        truth.users.len()
    );
    let mut config = bookrec_server::ServeConfig::new(&model_path);
    config.ranker_path = ranker_path;
    config.min_rating = min_rating;
    config.books_path = Some(books_path);
    config.db_path = args.dir.join("ratings.sqlite");
    config.addr = args.addr;
    super::serve::serve(config)
}

/// How to run this binary from a shell: `bookrec` when that name on the PATH is this very
/// program (e.g. after `make demo`, which installs it), else its full path (e.g. under
/// `cargo run`), so the printed "Try:" command works as pasted.
fn command_name() -> String {
    let me = std::env::current_exe().ok();
    let on_path = super::spark::on_path("bookrec");
    let same = |a: &std::path::Path, b: &std::path::Path| {
        a.canonicalize()
            .ok()
            .is_some_and(|a| b.canonicalize().ok() == Some(a))
    };
    match (me, on_path) {
        (Some(me), Some(p)) if same(&me, &p) => "bookrec".to_string(),
        (Some(me), _) => me.display().to_string(),
        (None, _) => "bookrec".to_string(),
    }
}
