//! `bookrec serve`: the web app and JSON API over a model file (bookrec-server).

use anyhow::Result;
use bookrec_server::{ServeArgs, ServeConfig};

pub fn run(args: ServeArgs) -> Result<()> {
    serve(args.into_config())
}

/// Runs the server on a multi-threaded tokio runtime until SIGINT/SIGTERM; prints its URL
/// once the models are loaded and the address is bound (not before: a bad model file or a busy
/// port must not look like a running server).
pub fn serve(config: ServeConfig) -> Result<()> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?
        .block_on(async {
            let (state, listener) = bookrec_server::start(config).await?;
            println!(
                "serving http://{}/  (Ctrl-C to stop)",
                listener.local_addr()?
            );
            bookrec_server::serve_on(state, listener).await
        })
}
