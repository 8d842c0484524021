//! `bookrec serve`: the web app and JSON API over a model file (bookrec-server).

use anyhow::Result;
use bookrec_server::{ServeArgs, ServeConfig};

pub fn run(args: ServeArgs) -> Result<()> {
    serve(args.into_config())
}

/// Runs the server on a multi-threaded tokio runtime until SIGINT/SIGTERM.
pub fn serve(config: ServeConfig) -> Result<()> {
    println!("serving http://{}/  (Ctrl-C to stop)", config.addr);
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?
        .block_on(bookrec_server::serve(config))
}
