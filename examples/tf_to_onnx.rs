//! Converts a TensorFlow model (frozen GraphDef `.pb` or SavedModel directory) to ONNX with the
//! ferry library, checks it, and writes it.
//!
//! ```text
//! cargo run --release -p ferry-examples --example tf_to_onnx -- model.pb model.onnx
//! cargo run --release -p ferry-examples --example tf_to_onnx -- saved_model_dir model.onnx
//! ```
//!
//! The steps are those `ferry convert` takes: `ferry::tf::load` (format from the content,
//! SavedModel signature `serving_default`), `ferry::check::validate` (the full checker, with
//! shape inference), then `ferry::onnx::save`, which only takes a validated model.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [input, output] = &args[..] else {
        eprintln!("usage: tf_to_onnx MODEL.pb|SAVED_MODEL_DIR OUT.onnx");
        return ExitCode::from(2);
    };
    let (input, output) = (PathBuf::from(input), PathBuf::from(output));
    let t = Instant::now();
    let model = match ferry::tf::load(&input, "serving_default", &ferry::tf::Options::default()) {
        Ok(m) => m,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::FAILURE;
        }
    };
    let converted = t.elapsed();
    let validated = ferry::check::validate(&model);
    let errors: Vec<String> = validated.report().errors().map(|e| e.to_string()).collect();
    for e in &errors {
        eprintln!("check: {e}");
    }
    if let Err(e) = ferry::onnx::save(&validated, &output) {
        eprintln!("error: {e}");
        return ExitCode::FAILURE;
    }
    let nodes = model.graph.as_ref().map_or(0, |g| g.node_count());
    println!(
        "{} -> {}: {nodes} nodes, converted in {:.2} ms, {} checker errors",
        input.display(),
        output.display(),
        converted.as_secs_f64() * 1e3,
        errors.len()
    );
    if errors.is_empty() { ExitCode::SUCCESS } else { ExitCode::FAILURE }
}
