//! `ferry convert IN OUT`.

use ferry::onnx::{self, LoadOptions};
use std::path::Path;

pub fn run(
    input: &Path,
    output: &Path,
    sort: bool,
    layout: onnx::DataLayout,
) -> Result<(), onnx::Error> {
    let opts = LoadOptions { sort_nodes: sort, ..LoadOptions::default() };
    let loaded = onnx::load_with(input, &opts)?;
    crate::print_warnings(&loaded.warnings);
    let report = onnx::save_with(&loaded.model, output, &onnx::SaveOptions { layout })?;
    let nodes = loaded.model.graph.as_ref().map_or(0, |g| g.node_count_recursive());
    println!("wrote {} ({} bytes, {nodes} nodes)", output.display(), report.model_bytes);
    for (path, len) in &report.data_files {
        println!("  external data {} ({len} bytes)", path.display());
    }
    Ok(())
}
