//! `bookrec serve`: the web app and JSON API over a model file (bookrec-server).

use std::time::Duration;

use anyhow::Result;
use bookrec_server::ServeConfig;

use crate::args::ServeArgs;

pub fn run(args: ServeArgs) -> Result<()> {
    let mut config = ServeConfig::new(args.model);
    config.books_path = args.books;
    config.db_path = args.db;
    config.addr = args.addr;
    config.min_support = args.min_support;
    config.watch_model = !args.no_watch;
    config.watch_interval = Duration::from_secs(2);
    serve(config)
}

/// Runs the server on a multi-threaded tokio runtime until SIGINT/SIGTERM.
pub fn serve(config: ServeConfig) -> Result<()> {
    println!("serving http://{}/  (Ctrl-C to stop)", config.addr);
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?
        .block_on(bookrec_server::serve(config))
}
