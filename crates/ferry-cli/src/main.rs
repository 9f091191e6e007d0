//! `ferry`: the command-line tool.
//!
//! Command names and flags are a contract with users' scripts: add, never rename.
//! Errors print one line (`error: ...`) and exit with status 1; usage errors exit with 2.

mod check;
mod convert;
mod graph;
mod infer;
mod info;
mod optimize;
mod print;
mod serve_meta;

use clap::{Parser, Subcommand};

use std::path::PathBuf;
use std::process::ExitCode;

/// Loading a model allocates many small objects (names, attributes, one per node and tensor);
/// mimalloc serves those markedly faster than the system allocator.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

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
    /// Infer every value's type and shape and write the model with them in `value_info`.
    Infer { input: PathBuf, output: PathBuf },
    /// Check a model against ONNX's rules and the operator schemas; exit 1 if it is invalid.
    Check {
        model: PathBuf,
        /// Print JSON for machines instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Print a model in the ONNX text syntax (onnx.printer's language, which ferry parses too).
    Print { model: PathBuf },
    /// Summarize a model: versions, inputs and outputs, node and parameter counts, op histogram.
    Info {
        model: PathBuf,
        /// Print JSON for machines instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Read a model and write it in another place or format: ONNX, or TensorFlow (frozen
    /// GraphDef .pb or SavedModel directory) to ONNX.
    ///
    /// External data is written beside OUT under the same file names as in the input.
    Convert {
        input: PathBuf,
        output: PathBuf,
        /// Put nodes in topological order if they are not (the only rewrite convert does).
        #[arg(long)]
        sort: bool,
        /// Store initializers of at least --size-threshold bytes in one external data file
        /// beside OUT (default name: OUT's file name + ".data").
        #[arg(long, value_name = "FILE", num_args = 0..=1, default_missing_value = "", conflicts_with = "inline")]
        external_data: Option<String>,
        /// With --external-data: smallest initializer, in bytes, that goes to the data file.
        #[arg(long, value_name = "BYTES", default_value_t = 1024, requires = "external_data")]
        size_threshold: u64,
        /// With --external-data: align each tensor's offset to a multiple of BYTES so runtimes
        /// can memory-map it (e.g. 4096 or 65536).
        #[arg(long, value_name = "BYTES", default_value_t = 4096, requires = "external_data")]
        align: u64,
        /// Store every tensor inside the model file (refused past protobuf's 2 GiB - 1 limit).
        #[arg(long)]
        inline: bool,
        #[command(flatten)]
        tf: convert::TfArgs,
    },
    /// Describe a model to a model server: Open Inference Protocol (KServe v2) JSON, or a
    /// Triton config.pbtxt / model repository.
    ServeMeta(serve_meta::Args),
    /// Draw a model: SVG laid out by ferry (no Graphviz needed), or Graphviz DOT.
    Graph(graph::Args),
    /// Simplify a model with the optimizer's passes, checked numerically against the original.
    Optimize(optimize::Args),
}

fn main() -> ExitCode {
    std::panic::set_hook(Box::new(|info| {
        eprintln!("error: internal error in ferry (please report it): {info}");
    }));
    let cli = Cli::parse();
    let result: Result<(), String> = match cli.command {
        Command::Info { model, json } => info::run(&model, json).map_err(|e| e.to_string()),
        Command::Print { model } => print::run(&model),
        Command::Check { model, json } => check::run(&model, json).map_err(|e| e.to_string()),
        Command::Infer { input, output } => infer::run(&input, &output).map_err(|e| e.to_string()),
        Command::ServeMeta(args) => serve_meta::run(&args),
        Command::Graph(args) => graph::run(&args),
        Command::Optimize(args) => optimize::run(&args),
        Command::Convert {
            input,
            output,
            sort,
            external_data,
            size_threshold,
            align,
            inline,
            tf,
        } => {
            let layout = convert::layout(&output, external_data, size_threshold, align, inline);
            convert::run(&input, &output, sort, layout, &tf)
        }
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
