//! `bookrec`: the command-line face of bookrec-core. Parses arguments, calls the core, prints.
//! All logic lives in bookrec-core; this crate only wires flags to it.

mod args;
mod commands;
mod progress;
mod table;

use clap::Parser;

use crate::args::{Cli, Command};

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    init_logging(cli.verbose);
    let result = match cli.command {
        Command::Inspect(a) => commands::inspect::run(a),
        Command::Evaluate(a) => commands::evaluate::run(a),
        Command::Train(a) if a.engine == "spark" => commands::spark::train(a),
        Command::Train(a) => commands::train::run(a),
        Command::Recommend(a) => commands::recommend::run(a),
        Command::Similar(a) => commands::recommend::run_similar(a),
        Command::Synth(a) => commands::synth::run(a),
        Command::Serve(a) => commands::serve::run(a),
        Command::Demo(a) => commands::demo::run(a),
        Command::Tune(a) => commands::tune::run(a),
        Command::ImportSpark(a) => commands::spark::import(a),
        Command::Accounts(a) => commands::accounts::run(a),
    };
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("error: {}", one_sentence(&err));
            std::process::ExitCode::FAILURE
        }
    }
}

/// `-v` shows step timings (info), `-vv` debug detail; BOOKREC_LOG or RUST_LOG override. Logs go to stderr so `--json` output on
/// stdout stays machine-readable.
fn init_logging(verbose: u8) {
    let level = match verbose {
        0 => "warn",
        1 => "info",
        _ => "debug",
    };
    // BOOKREC_LOG first, then the conventional RUST_LOG (both are EnvFilter directives).
    let filter = tracing_subscriber::EnvFilter::try_from_env("BOOKREC_LOG")
        .or_else(|_| tracing_subscriber::EnvFilter::try_from_default_env())
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(level));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_target(false)
        .compact()
        .init();
}

/// The error and its causes as one line, skipping a cause whose text the message before it
/// already contains (core errors quote their I/O cause).
fn one_sentence(err: &anyhow::Error) -> String {
    let mut out = String::new();
    for cause in err.chain() {
        let text = cause.to_string();
        if out.contains(&text) {
            continue;
        }
        if !out.is_empty() {
            out.push_str(": ");
        }
        out.push_str(&text);
    }
    out
}
