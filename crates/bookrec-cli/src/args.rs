//! Command-line arguments. Flags map one-to-one onto core option structs.

use std::path::PathBuf;

use anyhow::{bail, Context, Result};
use bookrec_core::data::{
    parse_separator, BadLinePolicy, ColumnRef, DuplicatePolicy, Encoding, ItemLevel, LoadOptions,
};
use bookrec_core::models::{ModelKind, ModelSpec, RecommendOptions};
use bookrec_core::RatingScale;
use clap::{Args, Parser, Subcommand};

#[derive(Parser, Debug)]
#[command(
    name = "bookrec",
    version,
    about = "Personalized book recommendations: load and clean ratings, train and evaluate \
             collaborative-filtering models, recommend.",
    after_help = "Run `bookrec demo` for an end-to-end tour on embedded data."
)]
pub struct Cli {
    /// Show step timings (-v) or debug detail (-vv) on stderr. BOOKREC_LOG overrides.
    #[arg(short, long, action = clap::ArgAction::Count, global = true)]
    pub verbose: u8,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Read a ratings file (and optionally a catalogue) and print the cleaning report.
    Inspect(InspectArgs),
    /// Train on a split and report RMSE, MAE, ranking metrics and timings.
    Evaluate(EvaluateArgs),
    /// Train a model on all ratings and write a model file.
    Train(TrainArgs),
    /// Top-N unseen books for a user from a model file.
    Recommend(RecommendArgs),
    /// Books most similar to a book, from a model file.
    Similar(SimilarArgs),
    /// Generate a synthetic ratings CSV with planted low-rank structure.
    Synth(SynthArgs),
    /// Serve the web app and JSON API over a model file.
    Serve(bookrec_server::ServeArgs),
    /// Run the whole pipeline on the embedded demo data set (no download needed), then serve it.
    Demo(DemoArgs),
    /// Search hyper-parameters by cross-validation (random or TPE) and report the best.
    Tune(TuneArgs),
    /// Convert the export directory of a Spark training job into a model file.
    ImportSpark(ImportSparkArgs),
    /// Reader accounts and API tokens for `bookrec serve --auth accounts`.
    Accounts(crate::commands::accounts::AccountsArgs),
}

/// How to read a ratings file. Everything is sniffed unless forced.
#[derive(Args, Debug, Clone, Default)]
pub struct LoadArgs {
    /// Field separator: a character, `\t`/`tab`, or a multi-character separator like `::`.
    #[arg(long)]
    pub sep: Option<String>,
    /// The first line is data, not a header.
    #[arg(long, conflicts_with = "header")]
    pub no_header: bool,
    /// The first line is a header.
    #[arg(long)]
    pub header: bool,
    /// Text encoding: utf-8 or latin-1 (cp1252).
    #[arg(long)]
    pub encoding: Option<String>,
    /// User column: header name or 0-based index.
    #[arg(long)]
    pub user_col: Option<String>,
    /// Book column: header name or 0-based index.
    #[arg(long)]
    pub item_col: Option<String>,
    /// Rating column: header name or 0-based index.
    #[arg(long)]
    pub rating_col: Option<String>,
    /// Timestamp column (seconds since epoch): header name or 0-based index.
    #[arg(long)]
    pub timestamp_col: Option<String>,
    /// Valid explicit ratings, e.g. `1:10`; others are dropped and counted.
    #[arg(long, value_name = "MIN:MAX")]
    pub rating_scale: Option<String>,
    /// Duplicate (user, book) pairs: keep the `last`, take the `mean`, or `error`.
    #[arg(long, default_value = "last")]
    pub duplicates: String,
    /// Malformed lines: `skip` (counted, reported) or `error`.
    #[arg(long, default_value = "skip")]
    pub bad_lines: String,
    /// Rating 0: `auto` (implicit when all other ratings are ≥ 1), `implicit`, or `rating`.
    #[arg(long, default_value = "auto")]
    pub zeros: String,
}

impl LoadArgs {
    pub fn to_options(&self) -> Result<LoadOptions> {
        let col = |s: &Option<String>| -> Result<Option<ColumnRef>> {
            s.as_deref()
                .map(|v| v.parse::<ColumnRef>().map_err(anyhow::Error::from))
                .transpose()
        };
        Ok(LoadOptions {
            sep: self.sep.as_deref().map(parse_separator).transpose()?,
            has_header: match (self.header, self.no_header) {
                (true, _) => Some(true),
                (_, true) => Some(false),
                _ => None,
            },
            encoding: self
                .encoding
                .as_deref()
                .map(|e| e.parse::<Encoding>())
                .transpose()?,
            user_col: col(&self.user_col)?,
            item_col: col(&self.item_col)?,
            rating_col: col(&self.rating_col)?,
            timestamp_col: col(&self.timestamp_col)?,
            rating_scale: self.rating_scale.as_deref().map(parse_scale).transpose()?,
            duplicates: self.duplicates.parse::<DuplicatePolicy>()?,
            bad_lines: self.bad_lines.parse::<BadLinePolicy>()?,
            implicit_zeros: match self.zeros.as_str() {
                "auto" => None,
                "implicit" => Some(true),
                "rating" => Some(false),
                other => bail!("--zeros must be auto, implicit or rating, not {other:?}"),
            },
        })
    }
}

/// Parses `MIN:MAX` (also accepts `MIN-MAX` and `MIN..MAX`).
pub fn parse_scale(s: &str) -> Result<RatingScale> {
    let (a, b) = s
        .split_once(':')
        .or_else(|| s.split_once(".."))
        .or_else(|| s.split_once('-').filter(|(a, _)| !a.is_empty()))
        .with_context(|| format!("--rating-scale must look like 1:10, not {s:?}"))?;
    let min: f32 = a
        .trim()
        .parse()
        .with_context(|| format!("bad scale minimum {a:?}"))?;
    let max: f32 = b
        .trim()
        .parse()
        .with_context(|| format!("bad scale maximum {b:?}"))?;
    if !(min.is_finite() && max.is_finite() && min < max) {
        bail!("--rating-scale needs finite MIN < MAX, got {s:?}");
    }
    Ok(RatingScale::new(min, max))
}

/// A model name plus `-p key=value` hyper-parameters.
#[derive(Args, Debug, Clone)]
pub struct ModelArgs {
    /// Model: mean, baseline, svd, svdpp, als, knn, ials, popularity. `evaluate` accepts a
    /// comma-separated list.
    #[arg(short, long, default_value = "svd")]
    pub model: String,
    /// Hyper-parameter override, repeatable: `-p factors=50 -p lr=0.01`. Unknown keys are
    /// rejected with the list of valid ones; `bookrec train --model svd --show-params` lists them.
    #[arg(short = 'p', long = "param", value_name = "KEY=VALUE")]
    pub params: Vec<String>,
}

impl ModelArgs {
    pub fn kinds(&self) -> Result<Vec<ModelKind>> {
        self.model
            .split(',')
            .map(|name| {
                let name = name.trim();
                ModelKind::parse(name).with_context(|| {
                    let all: Vec<&str> = ModelKind::ALL.iter().map(|k| k.name()).collect();
                    format!("unknown model {name:?}; choose one of {}", all.join(", "))
                })
            })
            .collect()
    }

    /// The spec for `kind`, with overrides applied. With several models (`lenient`), a key only
    /// some models know is applied to those that know it. `seed` seeds the model unless
    /// `-p seed=…` was given.
    pub fn spec(&self, kind: ModelKind, lenient: bool, seed: Option<u64>) -> Result<ModelSpec> {
        let mut overrides = serde_json::Map::new();
        for p in &self.params {
            let (k, v) = p
                .split_once('=')
                .with_context(|| format!("-p expects KEY=VALUE, got {p:?}"))?;
            overrides.insert(
                k.trim().to_string(),
                serde_json::Value::String(v.trim().into()),
            );
        }
        let defaults = ModelSpec::default_for(kind).params_json();
        let known = defaults.as_object();
        let knows = |k: &str| known.is_some_and(|m| m.contains_key(k));
        if lenient {
            overrides.retain(|k, _| knows(k));
        }
        if let Some(seed) = seed {
            if knows("seed") && !overrides.contains_key("seed") {
                overrides.insert("seed".into(), serde_json::Value::from(seed));
            }
        }
        Ok(ModelSpec::from_params(kind, &overrides)?)
    }
}

/// Which books may be recommended.
#[derive(Args, Debug, Clone)]
pub struct RecArgs {
    /// Only list books with at least this many training ratings.
    #[arg(long, default_value_t = RecommendOptions::default().min_support)]
    pub min_support: u32,
}

impl RecArgs {
    pub fn options(&self) -> RecommendOptions {
        RecommendOptions {
            min_support: self.min_support,
            ..RecommendOptions::default()
        }
    }
}

#[derive(Args, Debug)]
pub struct InspectArgs {
    /// Ratings CSV (user, book, rating[, timestamp]).
    #[arg(long)]
    pub ratings: PathBuf,
    /// Book catalogue CSV (id, title, author, year, ...), cross-checked against the ratings.
    #[arg(long)]
    pub books: Option<PathBuf>,
    /// Print one JSON object instead of text.
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub load: LoadArgs,
}

/// The book catalogue, for the models and evaluations that use it.
#[derive(Args, Debug)]
pub struct BooksArgs {
    /// Book catalogue CSV: each book's author, work (title + author across editions),
    /// publisher and publication period become side information for `hybrid` (other models
    /// ignore it); evaluation ranks lists of works, as they are served.
    #[arg(long)]
    pub books: Option<PathBuf>,
    /// What a model sees as one item: `isbn` (each book id of the ratings file) or `works`
    /// (a reader's ratings of several editions of one work merged into one, under
    /// --duplicates; needs --books).
    #[arg(long, default_value = "isbn", value_name = "isbn|works")]
    pub items: String,
}

impl BooksArgs {
    pub fn item_level(&self) -> Result<ItemLevel> {
        let level: ItemLevel = self.items.parse()?;
        if level == ItemLevel::Works && self.books.is_none() {
            bail!("--items works needs --books FILE (the catalogue that says which editions are one work)");
        }
        Ok(level)
    }
}

#[derive(Args, Debug)]
pub struct EvaluateArgs {
    /// Ratings CSV to split (omit with --train/--test or --model-file/--test).
    #[arg(long, required_unless_present_any = ["train", "model_file"])]
    pub ratings: Option<PathBuf>,
    /// Given training file (with --test).
    #[arg(long, requires = "test", conflicts_with = "ratings")]
    pub train: Option<PathBuf>,
    /// Given test file (with --train or --model-file).
    #[arg(long, conflicts_with = "ratings")]
    pub test: Option<PathBuf>,
    /// Score this saved model (from `train`, `tune --save-model` or `import-spark`) on --test
    /// instead of training one; --model/-p/--seed/--books do not apply.
    #[arg(long, value_name = "MODEL", requires = "test",
          conflicts_with_all = ["ratings", "train", "folds", "params", "books", "items"])]
    pub model_file: Option<PathBuf>,
    #[command(flatten)]
    pub model: ModelArgs,
    /// Held-out fraction for a holdout split.
    #[arg(long, default_value_t = 0.2, conflicts_with = "folds")]
    pub test_fraction: f64,
    /// k-fold cross-validation instead of a holdout split.
    #[arg(long)]
    pub folds: Option<usize>,
    /// Holdout split: `random`, `user` (each test user keeps ratings in train), `temporal`, or
    /// `interactions` (per-user holdout of explicit and implicit interactions, for ranking).
    #[arg(long, default_value = "random")]
    pub split: String,
    /// Seed for the split and the models.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Cut-off k for ranking metrics (0 disables them).
    #[arg(short = 'k', long, default_value_t = 10)]
    pub k: usize,
    /// Ratings at or above this count as relevant for ranking metrics (default: see docs).
    #[arg(long)]
    pub relevance_threshold: Option<f32>,
    /// What is relevant for ranking metrics: `rating` (a held-out rating at or above the
    /// threshold) or `interactions` (any held-out interaction; pair with
    /// `--split interactions`).
    #[arg(long, default_value = "rating")]
    pub relevance: String,
    #[command(flatten)]
    pub rec: RecArgs,
    /// Print JSON (one object for one model, an array for several).
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub load: LoadArgs,
    #[command(flatten)]
    pub catalog: BooksArgs,
}

#[derive(Args, Debug)]
pub struct TrainArgs {
    /// Ratings CSV.
    #[arg(long, required_unless_present = "show_params")]
    pub ratings: Option<PathBuf>,
    #[command(flatten)]
    pub model: ModelArgs,
    /// Where to write the model file.
    #[arg(long, short, required_unless_present = "show_params")]
    pub out: Option<PathBuf>,
    /// Seed (overrides the model's `seed` parameter).
    #[arg(long)]
    pub seed: Option<u64>,
    /// Print the model's hyper-parameters and defaults, and exit.
    #[arg(long)]
    pub show_params: bool,
    /// Print a JSON summary.
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub load: LoadArgs,
    #[command(flatten)]
    pub catalog: BooksArgs,
    /// `native` (in memory, here) or `spark` (a PySpark job through spark-submit, imported
    /// into the model file; `--model als` only; --ratings may then be anything Spark reads).
    #[arg(long, default_value = "native", value_parser = ["native", "spark"])]
    pub engine: String,
    /// Spark master (--engine spark): local[*], local[2], spark://host:7077, yarn, k8s://…
    #[arg(long, default_value = "local[*]")]
    pub master: String,
    /// Spark configuration (--engine spark), repeatable: `--spark-conf spark.driver.memory=8g`.
    #[arg(long = "spark-conf", value_name = "KEY=VALUE")]
    pub spark_conf: Vec<String>,
    /// Keep the Spark job's export in this local directory (default: a temporary one).
    #[arg(long)]
    pub export_dir: Option<PathBuf>,
    /// Fraction of ratings Spark holds out for RMSE/MAE (--engine spark). Default: none, so
    /// Spark trains on every rating, as native `train` does.
    #[arg(long, conflicts_with = "test")]
    pub test_fraction: Option<f64>,
    /// Given test ratings for Spark's RMSE/MAE instead of a held-out fraction.
    #[arg(long)]
    pub test: Option<PathBuf>,
}

#[derive(Args, Debug)]
pub struct ImportSparkArgs {
    /// Export directory written by the Spark job (`bookrec train --engine spark --export-dir`).
    pub dir: PathBuf,
    /// Where to write the model file.
    #[arg(long, short)]
    pub out: PathBuf,
    /// Print the model metadata as JSON.
    #[arg(long)]
    pub json: bool,
}

#[derive(Args, Debug)]
pub struct RecommendArgs {
    /// Model file written by `bookrec train`.
    #[arg(long)]
    pub model: PathBuf,
    /// A second model file that chooses and orders the books (e.g. trained with `--model
    /// ials`); --model then supplies the predicted ratings.
    #[arg(long)]
    pub ranker: Option<PathBuf>,
    /// User id as in the ratings file.
    #[arg(long)]
    pub user: String,
    /// Number of books.
    #[arg(short, long, default_value_t = 10)]
    pub n: usize,
    /// Leave out books the model predicts below this rating (e.g. 6 on a 1–10 scale), filling
    /// the list from further down the ranking: with --ranker, drops the ranker's picks the
    /// model expects the reader to dislike.
    #[arg(long)]
    pub min_rating: Option<f32>,
    /// Catalogue CSV for titles and authors; lists then hold one edition per work and only
    /// catalogued books.
    #[arg(long)]
    pub books: Option<PathBuf>,
    /// With --books, list books missing from the catalogue too (by default lists hold only
    /// books the catalogue describes).
    #[arg(long)]
    pub include_uncatalogued: bool,
    #[command(flatten)]
    pub rec: RecArgs,
    /// Print one JSON object instead of a table.
    #[arg(long)]
    pub json: bool,
}

#[derive(Args, Debug)]
pub struct SimilarArgs {
    /// Model file written by `bookrec train`.
    #[arg(long)]
    pub model: PathBuf,
    /// Book id (e.g. ISBN) as in the ratings file.
    #[arg(long)]
    pub book: String,
    /// Number of books.
    #[arg(short, long, default_value_t = 10)]
    pub n: usize,
    #[command(flatten)]
    pub rec: RecArgs,
    /// Catalogue CSV for titles and authors; lists then hold one edition per work (never one
    /// of the book itself) and only catalogued books.
    #[arg(long)]
    pub books: Option<PathBuf>,
    /// With --books, list books missing from the catalogue too (by default lists hold only
    /// books the catalogue describes).
    #[arg(long)]
    pub include_uncatalogued: bool,
    /// Print one JSON object instead of a table.
    #[arg(long)]
    pub json: bool,
}

#[derive(Args, Debug)]
pub struct SynthArgs {
    /// Number of users.
    #[arg(long)]
    pub users: usize,
    /// Number of books.
    #[arg(long)]
    pub books: usize,
    /// Number of ratings (distinct user–book pairs).
    #[arg(long)]
    pub ratings: usize,
    /// Planted rank.
    #[arg(long, default_value_t = 10)]
    pub rank: usize,
    /// Standard deviation of the rating noise.
    #[arg(long, default_value_t = 1.0)]
    pub noise: f32,
    /// Seed of the generator (the same seed gives the same file).
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Rating scale of the generated integer ratings, e.g. `1:5` for MovieLens-shaped data.
    #[arg(long, value_name = "MIN:MAX", default_value = "1:10")]
    pub rating_scale: String,
    /// Output CSV.
    #[arg(long, short)]
    pub out: PathBuf,
    /// Print the summary (counts, noise, best achievable RMSE, seconds) as JSON.
    #[arg(long)]
    pub json: bool,
}

#[derive(Args, Debug)]
pub struct DemoArgs {
    /// Where to write the demo files and model.
    #[arg(long, default_value = "bookrec-demo")]
    pub dir: PathBuf,
    /// Seed for the generated ratings.
    #[arg(long, default_value_t = bookrec_core::datasets::demo::DEMO_SEED)]
    pub seed: u64,
    /// Address the demo web app listens on.
    #[arg(long, default_value = "127.0.0.1:8000")]
    pub addr: std::net::SocketAddr,
    /// Stop after the printed tour instead of serving the web app.
    #[arg(long)]
    pub no_serve: bool,
}

#[derive(Args, Debug)]
pub struct TuneArgs {
    /// Ratings CSV.
    #[arg(long)]
    pub ratings: PathBuf,
    /// Model to tune: baseline, svd, svdpp, als, knn, ncf, hybrid (any metric) or ials (a
    /// ranking metric).
    #[arg(short, long)]
    pub model: String,
    /// Number of parameter combinations tried.
    #[arg(long, default_value_t = 30)]
    pub trials: usize,
    /// Cross-validation folds per trial.
    #[arg(long, default_value_t = 3)]
    pub folds: usize,
    /// Metric to optimise: rmse (lower is better; k-fold over ratings) or a ranking metric
    /// ndcg@K, precision@K, recall@K, map@K, hit_rate@K (higher is better; k-fold over every
    /// user's interactions, each held-out book relevant).
    #[arg(long, default_value = "rmse")]
    pub metric: String,
    /// Search strategy: tpe (model-guided after random start-up trials) or random.
    #[arg(long, default_value = "tpe")]
    pub search: String,
    /// Search space JSON file (default: the model's built-in space; format in the README).
    #[arg(long)]
    pub space: Option<PathBuf>,
    /// Seed of the proposals, folds, models and the --test-fraction split.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Hold out this fraction first (rmse: the split of `evaluate --test-fraction F`; a ranking
    /// metric: that of `evaluate --split interactions --test-fraction F`, same seed), tune on
    /// the rest only, then report the best parameters' test figures.
    #[arg(long)]
    pub test_fraction: Option<f64>,
    /// Where the trial table is written (tune_<model>.csv and .json).
    #[arg(long, default_value = "bookrec-tune")]
    pub out_dir: PathBuf,
    /// Train the best parameters on every rating of the file and write this model file.
    #[arg(long)]
    pub save_model: Option<PathBuf>,
    /// Print the report as JSON.
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub load: LoadArgs,
    #[command(flatten)]
    pub catalog: BooksArgs,
}
