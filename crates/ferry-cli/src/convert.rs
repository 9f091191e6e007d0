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
    let validated = ferry::check::validate(&loaded.model);
    crate::check::warn_invalid(&validated);
    let report = onnx::save_with(&validated, output, &onnx::SaveOptions { layout })?;
    let nodes = loaded.model.graph.as_ref().map_or(0, |g| g.node_count_recursive());
    println!("wrote {} ({} bytes, {nodes} nodes)", output.display(), report.model_bytes);
    for (path, len) in &report.data_files {
        println!("  external data {} ({len} bytes)", path.display());
    }
    Ok(())
}

/// The data layout the convert flags ask for. `--external-data` without a file name writes
/// `OUT.data` beside OUT (onnx's convention).
pub fn layout(
    output: &Path,
    external_data: Option<String>,
    size_threshold: u64,
    align: u64,
    inline: bool,
) -> onnx::DataLayout {
    match (external_data, inline) {
        (_, true) => onnx::DataLayout::Inline,
        (Some(file), _) => {
            let file = if file.is_empty() {
                let name = output.file_name().map(|n| n.to_string_lossy().into_owned());
                format!("{}.data", name.unwrap_or_else(|| "model".into()))
            } else {
                file
            };
            onnx::DataLayout::External { file, threshold: size_threshold, align }
        }
        (None, false) => onnx::DataLayout::Keep,
    }
}
