//! `bookrec-server`: serve a model file. (The `bookrec` CLI's `serve`/`demo` do the same through
//! the library.) Every flag also reads an environment variable.

use clap::Parser;

#[derive(Parser, Debug)]
#[command(
    name = "bookrec-server",
    version,
    about = "Serve bookrec recommendations over HTTP"
)]
struct Args {
    #[command(flatten)]
    serve: bookrec_server::ServeArgs,
}

fn main() -> anyhow::Result<()> {
    bookrec_server::init_logging();
    let config = Args::parse().serve.into_config();
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?
        .block_on(bookrec_server::serve(config))
}
