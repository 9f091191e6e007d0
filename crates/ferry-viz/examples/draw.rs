//! Draws a model as SVG (laid out by ferry) or DOT, and says how big the picture is.
//!
//! ```sh
//! cargo run -p ferry-viz --example draw -- model.onnx model.svg [--collapse]
//! ```
//!
//! The SVG opens in any browser; hovering a box shows the node's name, every attribute and its
//! inputs and outputs. `--collapse` draws runs of identical layers once, in a box marked `×N`.

use ferry_viz::{ItemKind, Options};
use std::process::ExitCode;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let collapse = args.iter().any(|a| a == "--collapse");
    let files: Vec<&String> = args.iter().filter(|a| !a.starts_with("--")).collect();
    let [model, out] = files.as_slice() else {
        eprintln!("usage: draw MODEL.onnx OUT.svg|OUT.dot [--collapse]");
        return ExitCode::from(2);
    };
    match run(model, out, Options { collapse }) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run(model: &str, out: &str, opts: Options) -> Result<(), Box<dyn std::error::Error>> {
    let model = ferry_onnx::load(model)?;
    let scene = ferry_viz::scene(&model, &opts)?;
    let folds = scene.items.iter().filter(|i| matches!(i.kind, ItemKind::Block { .. })).count();
    let text = if out.ends_with(".dot") {
        ferry_viz::dot(&model, &opts)?
    } else {
        ferry_viz::svg(&model, &opts)?
    };
    std::fs::write(out, &text)?;
    println!(
        "wrote {out}: {} boxes ({} at the top level, {folds} folded blocks), {} bytes",
        scene.item_count(),
        scene.items.len(),
        text.len()
    );
    Ok(())
}
