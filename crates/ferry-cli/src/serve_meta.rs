//! `ferry serve-meta MODEL --format kserve-v2|triton`: describe a model to a model server.
//!
//! - `kserve-v2`: the Open Inference Protocol model metadata JSON (what `GET v2/models/{name}`
//!   returns; MLServer/Seldon serve the same), to stdout or `-o FILE`.
//! - `triton --repo DIR`: a Triton repository entry, `DIR/<name>/config.pbtxt` plus
//!   `DIR/<name>/<version>/model.onnx` and its external data. Without `--repo`, only the
//!   `config.pbtxt` text, to stdout or `-o FILE`.

use clap::ValueEnum;
use ferry::onnx::{self, LoadOptions};
use ferry::serving::{self, DEFAULT_PLATFORM, ServeOptions, SignatureOptions};
use std::io::Write;
use std::path::{Path, PathBuf};

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// Open Inference Protocol (KServe v2) model metadata JSON.
    #[value(name = "kserve-v2")]
    KserveV2,
    /// Triton config.pbtxt (with --repo: a whole model repository entry).
    Triton,
}

#[derive(clap::Args)]
pub struct Args {
    model: PathBuf,
    #[arg(long, value_enum)]
    format: Format,
    /// Write to FILE instead of stdout (the JSON, or the config.pbtxt text without --repo).
    #[arg(short = 'o', long = "output", value_name = "FILE")]
    output: Option<PathBuf>,
    /// With --format triton: write DIR/<name>/config.pbtxt and DIR/<name>/<version>/model.onnx.
    #[arg(long, value_name = "DIR", conflicts_with = "output")]
    repo: Option<PathBuf>,
    /// With --format triton: largest batch Triton may form (0, the default: no batching, dims
    /// are the full shapes; above 0 every leading dim must be dynamic and is left out of dims).
    #[arg(long, value_name = "N")]
    max_batch_size: Option<u32>,
    /// The platform string servers know the runtime by.
    #[arg(long, value_name = "P", default_value = DEFAULT_PLATFORM)]
    platform: String,
    /// Admit bfloat16 tensors as BF16 in kserve-v2 JSON (only Triton understands BF16; Triton
    /// configs always admit it).
    #[arg(long)]
    allow_bf16: bool,
    /// Also list graph inputs that have an initializer (a default value).
    #[arg(long)]
    include_initializer_inputs: bool,
    /// Model name (default: the model file's stem).
    #[arg(long, value_name = "N")]
    name: Option<String>,
    /// Model version (Triton: a positive integer, the version directory's name).
    #[arg(long = "version", value_name = "V", default_value = "1")]
    model_version: String,
}

pub fn run(args: &Args) -> Result<(), String> {
    if args.format == Format::KserveV2 {
        if args.repo.is_some() {
            return Err(
                "--repo writes a Triton model repository; use it with --format triton".into()
            );
        }
        if args.max_batch_size.is_some() {
            return Err("--max-batch-size is a Triton setting; use it with --format triton".into());
        }
    }
    let mut opts = ServeOptions::for_path(&args.model);
    if let Some(name) = &args.name {
        opts.name = name.clone();
    }
    opts.version = args.model_version.clone();
    opts.platform = args.platform.clone();
    opts.allow_bf16 = args.allow_bf16;
    opts.signature =
        SignatureOptions { include_initializer_inputs: args.include_initializer_inputs };
    // Weights are needed only to copy the model into a repository.
    let load = LoadOptions { resolve_external: args.repo.is_some(), ..LoadOptions::default() };
    let loaded = onnx::load_with(&args.model, &load).map_err(|e| e.to_string())?;
    crate::print_warnings(&loaded.warnings);
    // Shapes come from the file's declarations completed by inference (which never contradicts
    // them): an output declared `float[?,?]` that inference knows as `[N,1000]` is described so.
    let mut described = loaded.model;
    ferry::infer::infer(&mut described);
    let model = &described;
    let max_batch_size = args.max_batch_size.unwrap_or(0);
    match (args.format, &args.repo) {
        (Format::KserveV2, _) => {
            let meta = serving::kserve::model_metadata(model, &opts).map_err(|e| e.to_string())?;
            emit(&meta.to_json(), args.output.as_deref())
        }
        (Format::Triton, None) => {
            let config = serving::triton::model_config(model, &opts, max_batch_size)
                .map_err(|e| e.to_string())?;
            emit(&config.to_pbtxt(), args.output.as_deref())
        }
        (Format::Triton, Some(dir)) => {
            let validated = ferry::check::validate(model);
            let report = serving::repo::write_repository(&validated, &opts, max_batch_size, dir)
                .map_err(|e| e.to_string())?;
            println!("wrote {}", report.config_path.display());
            println!("wrote {}", report.model_path.display());
            for (path, len) in &report.data_files {
                println!("  external data {} ({len} bytes)", path.display());
            }
            Ok(())
        }
    }
}

/// Prints `text`, or writes it atomically to `path`.
fn emit(text: &str, path: Option<&Path>) -> Result<(), String> {
    match path {
        None => std::io::stdout()
            .write_all(text.as_bytes())
            .map_err(|e| format!("cannot write to stdout: {e}")),
        Some(p) => {
            onnx::atomic_write(p, |f| f.write_all(text.as_bytes())).map_err(|e| e.to_string())
        }
    }
}
