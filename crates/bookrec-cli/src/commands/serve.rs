//! `bookrec serve`: the web app and JSON API over a model file (bookrec-server).

use anyhow::Result;
use bookrec_server::security::AuthMode;
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
            let (state, listener) = bookrec_server::start(config.clone()).await?;
            let addr = listener.local_addr()?;
            let auth = ServeArgs::security(&config, &addr).auth;
            println!("serving http://{addr}/  (Ctrl-C to stop)");
            println!("auth: {}", auth_line(auth));
            let (books, works) = state.listable();
            println!("lists: {books} books in {works} works can be listed");
            bookrec_server::serve_configured(state, listener, &config).await
        })
}

/// The start-up line that says who may see and change readers' data.
fn auth_line(auth: AuthMode) -> &'static str {
    match auth {
        AuthMode::Open => "open (anyone who reaches this address may read and write any reader's ratings; --auth accounts to require sign-in)",
        AuthMode::Accounts => "accounts (readers sign in or send a bearer token; `bookrec accounts` creates accounts and tokens)",
    }
}
