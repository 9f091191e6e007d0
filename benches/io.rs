//! ONNX I/O throughput, stage by stage: `cargo bench -p ferry-benches`.
//!
//! For each input model, six benchmarks (criterion group = model, function = stage):
//! - `decode`: `ferry::onnx::decode` of the file's bytes, already in memory as `Bytes`;
//! - `import`: `ModelProto` -> IR (a fresh clone of the proto per iteration, made untimed);
//! - `export`: IR -> `ModelProto` (`to_proto`);
//! - `encode`: `ModelProto` -> `Vec<u8>`;
//! - `load`: the whole `ferry::onnx::load` from the file, in page cache;
//! - `save`: the whole `ferry::onnx::save` into a temporary directory (synced, renamed).
//!
//! Throughput is the model file's size, so criterion reports MiB/s; a summary at the end lists,
//! per model and stage, the median time per iteration, MiB/s and nodes/s.
//!
//! Inputs are generated into a temporary directory with `ferry_gen` (the `gen_models` example's
//! library): transformers of 12 and 200 layers and a CNN of 4000 blocks. With `FERRY_CORPUS` set,
//! the three largest `.onnx` files in `$FERRY_CORPUS/models` join them.
//! `FERRY_BENCH_QUICK=1` keeps only the small generated models (for a smoke run).

use bytes::Bytes;
use criterion::{Criterion, SamplingMode, Throughput};
use ferry::onnx::{LoadOptions, proto};
use ferry_gen::{CnnSpec, TransformerSpec};
use prost::Message;
use std::cell::RefCell;
use std::hint::black_box;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

struct Input {
    name: String,
    path: PathBuf,
    file_len: u64,
}

const STAGES: [&str; 6] = ["decode", "import", "export", "encode", "load", "save"];

/// The median per-iteration time of each stage of one model, from the measured samples.
struct Row {
    name: String,
    nodes: usize,
    file_len: u64,
    medians: Vec<Option<f64>>,
}

fn generated(dir: &Path, quick: bool) -> Vec<Input> {
    let mut specs = vec![
        ("tfm_L12", ferry_gen::transformer(&TransformerSpec::new(12), 0)),
        ("cnn_B4000", ferry_gen::cnn(&CnnSpec::new(4000), 1)),
    ];
    if !quick {
        specs.insert(1, ("tfm_L200", ferry_gen::transformer(&TransformerSpec::new(200), 0)));
    }
    specs
        .into_iter()
        .map(|(name, synth)| {
            let path = dir.join(format!("{name}.onnx"));
            let report = synth
                .write_inline(&path)
                .unwrap_or_else(|e| panic!("cannot write {}: {e}", path.display()));
            Input { name: name.into(), path, file_len: report.model_bytes }
        })
        .collect()
}

fn corpus() -> Vec<Input> {
    let Some(root) = std::env::var_os("FERRY_CORPUS") else { return Vec::new() };
    let dir = Path::new(&root).join("models");
    let entries = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("FERRY_CORPUS: cannot list {}: {e}", dir.display()));
    let mut found: Vec<Input> = entries
        .filter_map(|e| e.ok())
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "onnx") && p.is_file())
        .map(|path| {
            let file_len = std::fs::metadata(&path).map_or(0, |m| m.len());
            let stem = path.file_stem().unwrap_or_default().to_string_lossy().into_owned();
            Input { name: stem, path, file_len }
        })
        .collect();
    found.sort_by(|a, b| b.file_len.cmp(&a.file_len).then_with(|| a.name.cmp(&b.name)));
    found.truncate(3);
    found
}

/// Runs `routine` on a fresh `setup()` value per iteration, timing the routine only (setup and
/// the drop of its result are untimed, as with criterion's `iter_batched` per iteration), and
/// records the mean time per iteration of every call.
fn timed<I, O>(
    samples: &RefCell<Vec<f64>>,
    iters: u64,
    mut setup: impl FnMut() -> I,
    mut routine: impl FnMut(I) -> O,
) -> Duration {
    let mut total = Duration::ZERO;
    for _ in 0..iters {
        let input = setup();
        let start = Instant::now();
        let out = black_box(routine(black_box(input)));
        total += start.elapsed();
        drop(out);
    }
    samples.borrow_mut().push(total.as_secs_f64() / iters.max(1) as f64);
    total
}

fn median(mut v: Vec<f64>) -> Option<f64> {
    if v.is_empty() {
        return None;
    }
    v.sort_by(f64::total_cmp);
    let n = v.len();
    Some(if n % 2 == 1 { v[n / 2] } else { (v[n / 2 - 1] + v[n / 2]) / 2.0 })
}

fn bench_model(c: &mut Criterion, input: &Input, out_dir: &Path) -> Row {
    let bytes = Bytes::from(
        std::fs::read(&input.path).unwrap_or_else(|e| panic!("{}: {e}", input.path.display())),
    );
    let dir = input.path.parent().map(Path::to_path_buf);
    let opts = LoadOptions::default();
    let what = input.path.display().to_string();
    let decoded = ferry::onnx::decode(bytes.clone(), &what).expect("decode");
    let model = ferry::onnx::import(decoded.clone(), dir.clone(), &opts).expect("import").model;
    let exported = ferry::onnx::to_proto(&model);
    let nodes = model.graph.as_ref().map_or(0, |g| g.node_count_recursive());
    let save_path = out_dir.join(format!("{}.onnx", input.name));

    let big = input.file_len > 200 << 20;
    let mut group = c.benchmark_group(&input.name);
    group.throughput(Throughput::Bytes(input.file_len));
    let sample_size = 10;
    group.sample_size(sample_size);
    group.sampling_mode(SamplingMode::Flat);
    group.warm_up_time(Duration::from_millis(if big { 1000 } else { 500 }));
    group.measurement_time(Duration::from_secs(if big { 4 } else { 2 }));

    let samples: Vec<RefCell<Vec<f64>>> = STAGES.iter().map(|_| RefCell::default()).collect();
    group.bench_function("decode", |b| {
        b.iter_custom(|n| {
            timed(&samples[0], n, || bytes.clone(), |b| ferry::onnx::decode(b, &what).unwrap())
        })
    });
    group.bench_function("import", |b| {
        b.iter_custom(|n| {
            timed(
                &samples[1],
                n,
                || decoded.clone(),
                |p: proto::ModelProto| ferry::onnx::import(p, dir.clone(), &opts).unwrap(),
            )
        })
    });
    group.bench_function("export", |b| {
        b.iter_custom(|n| timed(&samples[2], n, || (), |()| ferry::onnx::to_proto(&model)))
    });
    group.bench_function("encode", |b| {
        b.iter_custom(|n| timed(&samples[3], n, || (), |()| exported.encode_to_vec()))
    });
    group.bench_function("load", |b| {
        b.iter_custom(|n| {
            timed(&samples[4], n, || (), |()| ferry::onnx::load(&input.path).unwrap())
        })
    });
    // Validation is not part of the timed write; it is measured by `ferry check`.
    let validated = ferry::check::validate(&model);
    group.bench_function("save", |b| {
        b.iter_custom(|n| {
            timed(&samples[5], n, || (), |()| ferry::onnx::save(&validated, &save_path).unwrap())
        })
    });
    group.finish();
    let _ = std::fs::remove_file(&save_path);

    // The last `sample_size` calls are criterion's measurement; earlier ones were warm-up.
    let medians = samples
        .into_iter()
        .map(|s| {
            let s = s.into_inner();
            let skip = s.len().saturating_sub(sample_size);
            median(s[skip..].to_vec())
        })
        .collect();
    Row { name: input.name.clone(), nodes, file_len: input.file_len, medians }
}

fn print_summary(rows: &[Row]) {
    const MIB: f64 = (1 << 20) as f64;
    println!();
    println!("ferry ONNX I/O: median time per iteration, file MiB/s, nodes/s");
    println!(
        "{:<34} {:>7} {:>9} {:<7} {:>11} {:>10} {:>12}",
        "model", "nodes", "file MiB", "stage", "median ms", "MiB/s", "nodes/s"
    );
    for r in rows {
        for (stage, m) in STAGES.iter().zip(&r.medians) {
            let Some(t) = m else { continue };
            println!(
                "{:<34} {:>7} {:>9.1} {:<7} {:>11.3} {:>10.0} {:>12.0}",
                r.name,
                r.nodes,
                r.file_len as f64 / MIB,
                stage,
                t * 1e3,
                r.file_len as f64 / MIB / t,
                r.nodes as f64 / t
            );
        }
    }
}

fn main() {
    let mut c = Criterion::default().configure_from_args();
    let quick = std::env::var_os("FERRY_BENCH_QUICK").is_some_and(|v| v != "0");
    let tmp = tempfile::tempdir().expect("temporary directory");
    let out_dir = tmp.path().join("out");
    std::fs::create_dir_all(&out_dir).expect("output directory");
    let start = Instant::now();
    let mut inputs = generated(tmp.path(), quick);
    eprintln!("generated {} models in {:.1}s", inputs.len(), start.elapsed().as_secs_f64());
    inputs.extend(corpus());
    let rows: Vec<Row> = inputs.iter().map(|i| bench_model(&mut c, i, &out_dir)).collect();
    c.final_summary();
    print_summary(&rows);
}
