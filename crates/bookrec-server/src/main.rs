//! `bookrec-server`: serve a model file. (The `bookrec` CLI's `serve`/`demo` do the same through
//! the library.) Every flag also reads an environment variable.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::Parser;

#[derive(Parser, Debug)]
#[command(
    name = "bookrec-server",
    version,
    about = "Serve bookrec recommendations over HTTP"
)]
struct Args {
    /// Model file written by `bookrec train`.
    #[arg(long, env = "BOOKREC_MODEL")]
    model: PathBuf,
    /// Books CSV (titles, authors, cover URLs).
    #[arg(long, env = "BOOKREC_BOOKS")]
    books: Option<PathBuf>,
    /// SQLite database for submitted ratings (created on first run).
    #[arg(long, env = "BOOKREC_DB", default_value = "bookrec-ratings.sqlite")]
    db: PathBuf,
    /// Address to listen on.
    #[arg(long, env = "BOOKREC_ADDR", default_value = "127.0.0.1:8000")]
    addr: SocketAddr,
    /// Books with fewer training ratings are never recommended.
    #[arg(long, env = "BOOKREC_MIN_SUPPORT", default_value_t = bookrec_server::Settings::default().min_support)]
    min_support: u32,
    /// Do not watch the model file for changes (POST /admin/reload still works).
    #[arg(long, env = "BOOKREC_NO_WATCH")]
    no_watch: bool,
}

fn main() -> anyhow::Result<()> {
    bookrec_server::init_logging();
    let args = Args::parse();
    let mut config = bookrec_server::ServeConfig::new(args.model);
    config.books_path = args.books;
    config.db_path = args.db;
    config.addr = args.addr;
    config.min_support = args.min_support;
    config.watch_model = !args.no_watch;
    config.watch_interval = Duration::from_secs(2);
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?
        .block_on(bookrec_server::serve(config))
}
