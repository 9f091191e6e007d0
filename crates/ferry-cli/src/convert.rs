//! `ferry convert IN OUT`: ONNX to ONNX, or TensorFlow (frozen GraphDef `.pb`, SavedModel
//! directory) to ONNX. The input format is judged from the content unless `--from` says.

use ferry::onnx::{self, LoadOptions};
use ferry::tf;
use std::path::Path;

/// Input formats `--from` can force.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum From {
    Onnx,
    /// A frozen TensorFlow GraphDef (`.pb`).
    Tf,
    /// A TensorFlow SavedModel directory.
    Savedmodel,
}

/// The flags for TensorFlow input (tf2onnx's spelling where it has one).
#[derive(clap::Args, Debug, Default)]
pub struct TfArgs {
    /// Input format (default: judged from the content).
    #[arg(long, value_enum)]
    pub from: Option<From>,
    /// TensorFlow graph inputs, comma-separated, each a tensor with an optional shape:
    /// `x:0[1,224,224,3],mask:0` (-1 or ? for an unknown size). Default: the placeholders the
    /// outputs depend on (SavedModel: the signature's inputs).
    #[arg(long, value_name = "LIST")]
    pub inputs: Option<String>,
    /// TensorFlow graph outputs, comma-separated tensors (default: the graph's sinks; SavedModel:
    /// the signature's outputs).
    #[arg(long, value_name = "LIST")]
    pub outputs: Option<String>,
    /// SavedModel signature to convert.
    #[arg(long, default_value = "serving_default")]
    pub signature: String,
    /// Inputs (comma-separated) to take channels-first (NCHW) instead of TensorFlow's NHWC.
    #[arg(long, value_name = "LIST")]
    pub inputs_as_nchw: Option<String>,
    /// Keep TensorFlow ops ferry cannot convert as nodes of the `ai.ferry.tf` domain instead of
    /// failing.
    #[arg(long)]
    pub allow_custom_ops: bool,
    /// ONNX opset of a converted TensorFlow model (14 to 21).
    #[arg(long, default_value_t = 17)]
    pub opset: i64,
}

/// Splits a comma-separated list, keeping commas inside brackets (`x:0[1,2],y`).
fn split_list(s: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut depth = 0i32;
    let mut cur = String::new();
    for c in s.chars() {
        match c {
            '[' => depth += 1,
            ']' => depth -= 1,
            ',' if depth == 0 => {
                out.push(std::mem::take(&mut cur).trim().to_string());
                continue;
            }
            _ => {}
        }
        cur.push(c);
    }
    if !cur.trim().is_empty() {
        out.push(cur.trim().to_string());
    }
    out.retain(|x| !x.is_empty());
    out
}

/// `name:0[1,224,224,3]` as an input spec.
pub fn parse_input(s: &str) -> Result<tf::InputSpec, String> {
    let Some((name, rest)) = s.split_once('[') else {
        return Ok(tf::InputSpec { tensor: s.to_string(), shape: None, name: None });
    };
    let dims = rest.strip_suffix(']').ok_or_else(|| format!("--inputs: {s}: missing ]"))?;
    let shape =
        dims.split(',')
            .map(str::trim)
            .filter(|d| !d.is_empty())
            .map(|d| match d {
                "?" | "-1" => Ok(-1),
                d => d.parse::<i64>().ok().filter(|&v| v >= 0).ok_or_else(|| {
                    format!("--inputs: {s}: {d} is not a dimension (a size, -1 or ?)")
                }),
            })
            .collect::<Result<Vec<_>, _>>()?;
    Ok(tf::InputSpec { tensor: name.to_string(), shape: Some(shape), name: None })
}

/// Converts a TensorFlow model to IR with the flags' options.
fn load_tf(input: &Path, args: &TfArgs) -> Result<ferry::ir::Model, String> {
    let mut opts = tf::Options {
        allow_custom_ops: args.allow_custom_ops,
        opset: args.opset,
        ..Default::default()
    };
    if let Some(list) = &args.inputs {
        opts.inputs = split_list(list).iter().map(|s| parse_input(s)).collect::<Result<_, _>>()?;
    }
    if let Some(list) = &args.outputs {
        opts.outputs = split_list(list)
            .into_iter()
            .map(|t| tf::OutputSpec { tensor: t, name: None })
            .collect();
    }
    if let Some(list) = &args.inputs_as_nchw {
        opts.inputs_as_nchw = split_list(list);
    }
    tf::load(input, &args.signature, &opts).map_err(|e| e.to_string())
}

pub fn run(
    input: &Path,
    output: &Path,
    sort: bool,
    layout: onnx::DataLayout,
    tf_args: &TfArgs,
) -> Result<(), String> {
    let from = tf_args.from.unwrap_or_else(|| match tf::detect(input) {
        tf::Format::SavedModel => From::Savedmodel,
        tf::Format::GraphDef => From::Tf,
        tf::Format::Other => From::Onnx,
    });
    if from == From::Tf && input.is_dir() {
        return Err(format!(
            "{}: --from tf wants a GraphDef file, this is a directory",
            input.display()
        ));
    }
    if from == From::Savedmodel && !input.is_dir() {
        return Err(format!("{}: --from savedmodel wants a SavedModel directory", input.display()));
    }
    if from != From::Onnx {
        let model = load_tf(input, tf_args)?;
        let validated = ferry::check::validate(&model);
        crate::check::warn_invalid(&validated);
        let report = onnx::save_with(&validated, output, &onnx::SaveOptions { layout })
            .map_err(|e| e.to_string())?;
        let nodes = model.graph.as_ref().map_or(0, |g| g.node_count_recursive());
        println!("wrote {} ({} bytes, {nodes} nodes)", output.display(), report.model_bytes);
        for (path, len) in &report.data_files {
            println!("  external data {} ({len} bytes)", path.display());
        }
        return Ok(());
    }
    if tf_args.inputs.is_some() || tf_args.outputs.is_some() || tf_args.inputs_as_nchw.is_some() {
        return Err(format!(
            "{}: --inputs, --outputs and --inputs-as-nchw apply to TensorFlow models; this is read as ONNX",
            input.display()
        ));
    }
    run_onnx(input, output, sort, layout).map_err(|e| e.to_string())
}

fn run_onnx(
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn input_lists() {
        assert_eq!(split_list("x:0[1,224,224,3], y:0"), vec!["x:0[1,224,224,3]", "y:0"]);
        let i = parse_input("x:0[1,?,-1,3]").unwrap();
        assert_eq!((i.tensor.as_str(), i.shape), ("x:0", Some(vec![1, -1, -1, 3])));
        assert!(parse_input("x:0[1,a]").unwrap_err().contains("a is not a dimension"));
        assert!(parse_input("x:0[1").unwrap_err().contains("missing ]"));
    }
}
