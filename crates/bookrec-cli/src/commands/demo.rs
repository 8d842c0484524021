//! `bookrec demo`: the whole pipeline on the embedded demo data (a real catalogue of well-known
//! books, ratings generated from readers with planted genre tastes): clean → compare models →
//! train → save → recommend, so the recommendations can be checked against the planted tastes.

use anyhow::Result;
use bookrec_core::data::{load_catalog, LoadOptions};
use bookrec_core::demo::{demo_data, write_demo_files};
use bookrec_core::evaluate::{evaluate, fit_and_describe, EvalOptions};
use bookrec_core::io::save_model;
use bookrec_core::models::{ModelKind, ModelSpec, RecommendOptions};
use bookrec_core::split::{train_test_split, Split};

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
    let (data, report) = super::load(&ratings_path, &LoadOptions::default())?;
    let (catalog, _) = load_catalog(&books_path, &Bars::new())?;
    println!("{report}\n");

    println!("== 2. Models on a random 80/20 split (seed {})", args.seed);
    let (train, test) = train_test_split(&data, &Split::Random { test_fraction: 0.2 }, args.seed)?;
    let opts = EvalOptions::default();
    let mut rows = Vec::new();
    let mut best: Option<(ModelKind, f64)> = None;
    for kind in ModelKind::ALL {
        let spec = ModelSpec::default_for(kind);
        let (_, r) = evaluate(&spec, &train, &test, &opts, &Bars::new())?;
        let ndcg = r.ranking.as_ref().map_or(0.0, |m| m.ndcg);
        if best.is_none_or(|(_, b)| ndcg > b) {
            best = Some((kind, ndcg));
        }
        rows.push(vec![
            r.model.clone(),
            bookrec_core::evaluate::format_error(r.rmse),
            bookrec_core::evaluate::format_error(r.mae),
            format!("{ndcg:.4}"),
            format!("{:.3}", r.fit_seconds),
        ]);
    }
    print!(
        "{}",
        table::render(&["model", "rmse", "mae", "ndcg@10", "fit s"], &rows)
    );

    let best = best.map_or(ModelKind::Svd, |(kind, _)| kind);
    println!(
        "\n== 3. Train the model with the best ndcg@10 ({}) on all ratings and save it",
        best.name()
    );
    let spec = ModelSpec::default_for(best);
    let (model, meta) = fit_and_describe(&spec, &data, &Bars::new())?;
    let model_path = args.dir.join(format!("demo-{}.bkr", best.name()));
    save_model(&model, &meta, &model_path)?;
    println!("wrote {}", model_path.display());

    println!("\n== 4. Recommendations for readers with planted tastes");
    let truth = demo_data(args.seed);
    let rec_opts = RecommendOptions::default();
    for user in truth.users.iter().take(3) {
        let Some(u) = model.users.get(&user.id) else {
            continue;
        };
        println!(
            "\nuser {} (planted favourite genres: {})",
            user.id,
            user.favourite_genres.join(", ")
        );
        let recs = model.recommend(u, 10, &rec_opts);
        let body: Vec<Vec<String>> = recs
            .iter()
            .map(|s| {
                let id = model.items.id(s.item);
                let book = catalog.get(id);
                vec![
                    format!("{:.2}", s.score),
                    book.map(|b| b.title.clone())
                        .unwrap_or_else(|| id.to_string()),
                    book.map(|b| b.author.clone()).unwrap_or_default(),
                    book.and_then(|b| b.genre.clone()).unwrap_or_default(),
                ]
            })
            .collect();
        print!(
            "{}",
            table::render(&["predicted", "title", "author", "genre"], &body)
        );
    }
    println!(
        "\nTry: bookrec recommend --model {} --books {} --user 7",
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
    config.books_path = Some(books_path);
    config.db_path = args.dir.join("ratings.sqlite");
    config.addr = args.addr;
    super::serve::serve(config)
}
