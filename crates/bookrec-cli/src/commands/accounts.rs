//! `bookrec accounts`: reader accounts and API tokens in a server's SQLite database (see
//! `bookrec_server::store::accounts`). Passwords are read from stdin, never from the command
//! line (where `ps` and shell history would show them); a new token is printed alone on the
//! last line of stdout so scripts can take it with `tail -n 1`.

use std::io::BufRead;
use std::path::PathBuf;

use anyhow::{bail, Context, Result};
use bookrec_server::store::accounts::TOKEN_PREFIX_LEN;
use bookrec_server::Store;
use clap::{Args, Subcommand};

#[derive(Args, Debug)]
pub struct AccountsArgs {
    #[command(subcommand)]
    pub action: AccountsAction,
}

#[derive(Subcommand, Debug)]
pub enum AccountsAction {
    /// Create a reader's account, or set a new password (read from the first line of stdin).
    Add {
        /// The server's ratings database (`bookrec serve --db`).
        #[arg(long, env = "BOOKREC_DB", default_value = "bookrec-ratings.sqlite")]
        db: PathBuf,
        /// Reader ID, e.g. a Book-Crossing user id.
        #[arg(long)]
        user: String,
    },
    /// Issue a new API token for a reader; printed once, alone on the last line of stdout.
    Token {
        #[arg(long, env = "BOOKREC_DB", default_value = "bookrec-ratings.sqlite")]
        db: PathBuf,
        #[arg(long)]
        user: String,
        /// An admin token: may call /admin/* and read or write any reader's data.
        #[arg(long)]
        admin: bool,
    },
    /// Revoke a token, named by its first 12 characters (as `token` prints) or in full.
    Revoke {
        #[arg(long, env = "BOOKREC_DB", default_value = "bookrec-ratings.sqlite")]
        db: PathBuf,
        #[arg(long)]
        token_prefix: String,
    },
}

pub fn run(args: AccountsArgs) -> Result<()> {
    match args.action {
        AccountsAction::Add { db, user } => {
            let user = check_user(&user)?;
            let mut password = String::new();
            std::io::stdin()
                .lock()
                .read_line(&mut password)
                .context("reading the password from stdin")?;
            let password = password.trim_end_matches(['\r', '\n']);
            let store = open(&db)?;
            store
                .set_password(user, password)
                .with_context(|| format!("setting the password of reader {user:?}"))?;
            println!(
                "reader {user:?} can now sign in (database {})",
                db.display()
            );
        }
        AccountsAction::Token { db, user, admin } => {
            let user = check_user(&user)?;
            let store = open(&db)?;
            let token = store.create_token(user, admin)?;
            println!(
                "new {}token for reader {user:?} (revoke with: bookrec accounts revoke --db {} --token-prefix {}):",
                if admin { "admin " } else { "" },
                db.display(),
                &token[..TOKEN_PREFIX_LEN]
            );
            println!("{token}");
        }
        AccountsAction::Revoke { db, token_prefix } => {
            if token_prefix.len() < TOKEN_PREFIX_LEN {
                bail!(
                    "--token-prefix must have at least {TOKEN_PREFIX_LEN} characters (like `bkr_0123abcd`), so one typo cannot revoke several tokens"
                );
            }
            let n = open(&db)?.revoke_tokens(&token_prefix)?;
            if n == 0 {
                bail!(
                    "no live token starts with {token_prefix:?} in {}",
                    db.display()
                );
            }
            println!("revoked {n} token{}", if n == 1 { "" } else { "s" });
        }
    }
    Ok(())
}

/// The same reader-ID rules as the server's.
fn check_user(user: &str) -> Result<&str> {
    Ok(bookrec_server::views::check_id("reader", user)?)
}

fn open(db: &std::path::Path) -> Result<Store> {
    Store::open(db).with_context(|| format!("opening the ratings database {}", db.display()))
}
