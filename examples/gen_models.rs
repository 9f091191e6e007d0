//! Generates deterministic synthetic ONNX models with the ferry IR.
//!
//! ```text
//! cargo run --release -p ferry-examples --example gen_models -- transformer --layers 12 tfm12.onnx
//! cargo run --release -p ferry-examples --example gen_models -- weights --mbytes 1024 w1g.onnx
//! cargo run --release -p ferry-examples --example gen_models -- \
//!     weights --mbytes 3072 --external w3g.onnx.data w3g.onnx
//! cargo run --release -p ferry-examples --example gen_models -- cnn --blocks 4000 cnn.onnx
//! ```
//!
//! Weights are float32 from a seeded SplitMix64 and are generated while writing, so memory stays
//! small whatever the model's size. Inline models are limited to protobuf's 2 GiB; past that,
//! `--external NAME` puts every weight of 1 KiB or more into the file NAME beside the model.

use clap::{Args, Parser, Subcommand};
use ferry_gen::{CnnSpec, Synth, TransformerSpec};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

#[derive(Parser)]
#[command(about = "Generate deterministic synthetic ONNX models")]
struct Cli {
    #[command(subcommand)]
    kind: Kind,
}

#[derive(Subcommand)]
enum Kind {
    /// A pre-norm transformer encoder: 99 nodes per layer (decomposed LayerNorm, Q/K/V with
    /// head reshapes, Softmax attention, erf Gelu), input x: float[N,S,hidden].
    Transformer {
        /// Encoder layers.
        #[arg(long)]
        layers: usize,
        /// Hidden size (the last dim of x).
        #[arg(long, default_value_t = 256, value_parser = positive())]
        hidden: i64,
        /// Attention heads; must divide the hidden size.
        #[arg(long, default_value_t = 4, value_parser = positive())]
        heads: i64,
        /// Inner size of the feed-forward block.
        #[arg(long, default_value_t = 1024, value_parser = positive())]
        ffn: i64,
        #[command(flatten)]
        out: Output,
    },
    /// A chain of MatMul with square float32 weights adding up to MBYTES MiB.
    Weights {
        /// MiB of weights (rounded up to whole weights).
        #[arg(long)]
        mbytes: u64,
        /// Side of each square weight (2048: 16 MiB each).
        #[arg(long, default_value_t = 2048, value_parser = positive())]
        dim: i64,
        #[command(flatten)]
        out: Output,
    },
    /// Conv/BatchNormalization/Relu blocks with residual Adds and MaxPools (~5 nodes per block),
    /// then GlobalAveragePool, Flatten, Gemm.
    Cnn {
        /// Blocks after the stem.
        #[arg(long)]
        blocks: usize,
        /// Channels of every conv.
        #[arg(long, default_value_t = 16, value_parser = positive())]
        channels: i64,
        /// Input height and width.
        #[arg(long, default_value_t = 32, value_parser = positive())]
        size: i64,
        #[command(flatten)]
        out: Output,
    },
}

#[derive(Args)]
struct Output {
    /// Put the weights in this data file (a plain name, created beside OUT) instead of inline.
    #[arg(long, value_name = "FILE_NAME")]
    external: Option<String>,
    /// Seed of the weight generator.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// The model file to write.
    #[arg(value_name = "OUT.onnx")]
    path: PathBuf,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let start = Instant::now();
    let (synth, out) = match cli.kind {
        Kind::Transformer { layers, hidden, heads, ffn, out } => {
            if hidden % heads != 0 {
                eprintln!("gen_models: --hidden {hidden} does not split into {heads} heads");
                return ExitCode::from(2);
            }
            let spec = TransformerSpec { layers, hidden, heads, ffn };
            (ferry_gen::transformer(&spec, out.seed), out)
        }
        Kind::Weights { mbytes, dim, out } => (ferry_gen::weights(mbytes, dim, out.seed), out),
        Kind::Cnn { blocks, channels, size, out } => {
            let spec = CnnSpec { blocks, channels, size, ..CnnSpec::new(blocks) };
            (ferry_gen::cnn(&spec, out.seed), out)
        }
    };
    let built = start.elapsed();
    let summary = describe(&synth);
    match synth.write(&out.path, out.external.as_deref()) {
        Ok(report) => {
            let data = match &report.data_file {
                Some((p, n)) => format!(", external data {} ({n} bytes)", p.display()),
                None => String::new(),
            };
            println!(
                "{}: {summary}; model file {} bytes{data}; built in {:.2}s, written in {:.2}s",
                out.path.display(),
                report.model_bytes,
                built.as_secs_f64(),
                (start.elapsed() - built).as_secs_f64()
            );
            ExitCode::SUCCESS
        }
        Err(e) => {
            let hint = if out.external.is_none() && e.to_string().contains("2 GiB") {
                " (add --external FILE_NAME)"
            } else {
                ""
            };
            eprintln!("gen_models: {e}{hint}");
            ExitCode::FAILURE
        }
    }
}

/// Sizes from 1 to 65536.
fn positive() -> clap::builder::RangedI64ValueParser<i64> {
    clap::value_parser!(i64).range(1..=65536)
}

fn describe(s: &Synth) -> String {
    format!(
        "{} nodes, {} initializers, {:.1} MiB of weights",
        s.node_count(),
        s.weights.len(),
        s.payload_bytes() as f64 / f64::from(1 << 20)
    )
}
