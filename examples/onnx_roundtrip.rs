//! Loads an ONNX model with ferry and writes it back, timing each stage.
//!
//! ```text
//! cargo run --release -p ferry-examples --example onnx_roundtrip -- IN.onnx OUT.onnx
//! cargo run --release -p ferry-examples --example onnx_roundtrip -- --load-only IN.onnx
//! ```
//!
//! The stages are those of `ferry::onnx::load` and `ferry::onnx::save`, called one by one:
//! map the file, decode the protobuf (tensor payloads stay slices of the map), import into the
//! IR; then export to a `ModelProto`, encode it, write it atomically. A model with external data
//! is written with `save` as a whole, which also writes its data files beside OUT. The last
//! line is JSON, for scripts.

use bytes::Bytes;
use clap::Parser;
use ferry::onnx::{LoadOptions, proto};
use prost::Message;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

#[derive(Parser)]
#[command(about = "Load an ONNX model with ferry and save it again, with timings")]
struct Cli {
    /// Only load (map, decode, import) and print the node count.
    #[arg(long)]
    load_only: bool,
    #[arg(value_name = "IN.onnx")]
    input: PathBuf,
    #[arg(value_name = "OUT.onnx", required_unless_present = "load_only")]
    output: Option<PathBuf>,
}

type Result<T> = std::result::Result<T, Box<dyn std::error::Error>>;

/// Maps the file read-only, as `ferry::onnx::load` does.
#[allow(unsafe_code)]
fn map_file(path: &Path) -> Result<Bytes> {
    let file = std::fs::File::open(path)?;
    if file.metadata()?.len() == 0 {
        return Ok(Bytes::new());
    }
    // SAFETY: the map is read-only; like any reader of a mapped file, this assumes nobody
    // truncates the file while it is being read.
    let map = unsafe { memmap2::Mmap::map(&file) }?;
    Ok(Bytes::from_owner(map))
}

struct Clock {
    last: Instant,
    stages: Vec<(&'static str, f64)>,
}

impl Clock {
    fn lap(&mut self, stage: &'static str) {
        let now = Instant::now();
        self.stages.push((stage, (now - self.last).as_secs_f64()));
        self.last = now;
    }
}

fn run(cli: &Cli) -> Result<()> {
    let start = Instant::now();
    let mut clock = Clock { last: start, stages: Vec::new() };
    let bytes = map_file(&cli.input).map_err(|e| format!("{}: {e}", cli.input.display()))?;
    let file_len = bytes.len();
    clock.lap("map");
    let decoded = ferry::onnx::decode(bytes, &cli.input.display().to_string())?;
    clock.lap("decode");
    let dir = match cli.input.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let loaded = ferry::onnx::import(decoded, Some(dir), &LoadOptions::default())?;
    clock.lap("import");
    for w in &loaded.warnings {
        eprintln!("warning: {w}");
    }
    let model = loaded.model;
    let nodes = model.graph.as_ref().map_or(0, |g| g.node_count_recursive());
    if let Some(out) = &cli.output {
        let mut external = false;
        model.for_each_tensor(&mut |t| external |= t.is_external());
        if external {
            ferry::onnx::save(&ferry::check::validate(&model), out)?;
            clock.lap("save");
        } else {
            let p: proto::ModelProto = ferry::onnx::to_proto(&model);
            clock.lap("export");
            if p.encoded_len() > i32::MAX as usize {
                return Err(format!("{}: past protobuf's 2 GiB limit", out.display()).into());
            }
            let buf = p.encode_to_vec();
            clock.lap("encode");
            ferry::onnx::atomic_write(out, |f| f.write_all(&buf))?;
            clock.lap("write");
            // The process is about to exit: let the OS reclaim these instead of freeing them.
            std::mem::forget((p, buf));
        }
    }
    let total = start.elapsed().as_secs_f64();
    let ms = |s: f64| format!("{:.1} ms", s * 1e3);
    let stages: Vec<String> =
        clock.stages.iter().map(|(name, s)| format!("{name} {}", ms(*s))).collect();
    println!("{}: {nodes} nodes, {file_len} bytes", cli.input.display());
    println!("{} | total {}", stages.join(", "), ms(total));
    let mut json = format!(r#"{{"nodes_before": {nodes}, "nodes_after": {nodes}"#);
    for (name, s) in &clock.stages {
        json.push_str(&format!(r#", "{name}_s": {s:.6}"#));
    }
    json.push_str(&format!(r#", "total_s": {total:.6}}}"#));
    println!("{json}");
    std::mem::forget(model);
    Ok(())
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(&cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("onnx_roundtrip: {e}");
            ExitCode::FAILURE
        }
    }
}
