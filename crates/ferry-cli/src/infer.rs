//! `ferry infer IN OUT`: writes the model with every inferred type and shape recorded in
//! `value_info` (what `onnx.shape_inference.infer_shapes_path` does). Symbolic dimensions are
//! written as `dim_param` expressions (`N`, `2*N`, `S+1`). Problems inference finds (a node its
//! operator cannot accept, a declaration that contradicts inference) are printed as warnings.

use ferry::onnx::{self, LoadOptions};
use std::path::Path;

pub fn run(input: &Path, output: &Path) -> Result<(), onnx::Error> {
    let loaded = onnx::load_with(input, &LoadOptions::default())?;
    crate::print_warnings(&loaded.warnings);
    let mut model = loaded.model;
    let report = ferry::infer::infer(&mut model);
    for d in &report.diagnostics {
        eprintln!("warning: {d}");
    }
    let validated = ferry::check::validate(&model);
    crate::check::warn_invalid(&validated);
    let written = onnx::save(&validated, output)?;
    let typed =
        model.graph.as_ref().map_or(0, |g| g.values().filter(|(_, v)| v.ty().is_some()).count());
    println!(
        "wrote {} ({} bytes): {typed} values typed, {} nodes without an inference rule",
        output.display(),
        written.model_bytes,
        report.unsupported
    );
    Ok(())
}
