//! `ferry graph MODEL -o OUT.svg|OUT.dot [--collapse]`: a picture of the model.
//!
//! The format follows the output's extension: `.svg` is laid out by ferry (no Graphviz needed),
//! `.dot` (or `.gv`) is Graphviz source.

use ferry::onnx::{self, LoadOptions};
use ferry::viz::{self, Options};
use std::io::Write;
use std::path::PathBuf;

#[derive(clap::Args)]
pub struct Args {
    model: PathBuf,
    /// The picture to write: OUT.svg, or OUT.dot for Graphviz.
    #[arg(short = 'o', long = "output", value_name = "OUT.svg|OUT.dot")]
    output: PathBuf,
    /// Draw runs of alike consecutive blocks (stacked layers) once, in a box marked ×N.
    #[arg(long)]
    collapse: bool,
}

pub fn run(args: &Args) -> Result<(), String> {
    let ext = args.output.extension().map(|e| e.to_string_lossy().to_ascii_lowercase());
    let dot = match ext.as_deref() {
        Some("svg") => false,
        Some("dot") | Some("gv") => true,
        _ => {
            return Err(format!(
                "{}: cannot tell the picture format from the file name; use .svg or .dot",
                args.output.display()
            ));
        }
    };
    // The picture needs no weights beyond the few small constants it prints, and those are
    // skipped when their data is external; so external data files are not opened.
    let load = LoadOptions { resolve_external: false, ..LoadOptions::default() };
    let loaded = onnx::load_with(&args.model, &load).map_err(|e| e.to_string())?;
    crate::print_warnings(&loaded.warnings);
    // Edges are labelled with types: inferred ones, so that every edge has one, not only the
    // few a file declares.
    let mut model = loaded.model;
    ferry::infer::infer(&mut model);
    let opts = Options { collapse: args.collapse };
    let text = if dot { viz::dot(&model, &opts) } else { viz::svg(&model, &opts) }
        .map_err(|e| e.to_string())?;
    onnx::atomic_write(&args.output, |f| f.write_all(text.as_bytes()))
        .map_err(|e| e.to_string())?;
    println!("wrote {}", args.output.display());
    Ok(())
}
