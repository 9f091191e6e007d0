//! `ferry`: the command-line tool.
//!
//! Command names and flags are a contract with users' scripts: add, never rename.
//! Errors print one line (`error: ...`) and exit with status 1; usage errors exit with 2.

mod convert;
mod info;

use clap::{Parser, Subcommand};
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Parser)]
#[command(
    name = "ferry",
    version,
    about = "Carry trained models between ML frameworks and runtimes"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Summarize a model: versions, inputs and outputs, node and parameter counts, op histogram.
    Info {
        model: PathBuf,
        /// Print JSON for machines instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Read a model and write it in another place or format (ONNX to ONNX for now).
    ///
    /// External data is written beside OUT under the same file names as in the input.
    Convert {
        input: PathBuf,
        output: PathBuf,
        /// Put nodes in topological order if they are not (the only rewrite convert does).
        #[arg(long)]
        sort: bool,
    },
}

fn main() -> ExitCode {
    std::panic::set_hook(Box::new(|info| {
        eprintln!("error: internal error in ferry (please report it): {info}");
    }));
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Info { model, json } => info::run(&model, json),
        Command::Convert { input, output, sort } => convert::run(&input, &output, sort),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

/// Prints load warnings to stderr, one line each.
pub(crate) fn print_warnings(warnings: &[String]) {
    for w in warnings {
        eprintln!("warning: {w}");
    }
}
