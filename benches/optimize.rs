//! Optimizer throughput: `cargo bench -p ferry-benches --bench optimize`.
//!
//! For each input model (criterion group = model), with a rayon pool of one thread (`1t`) and of
//! every available thread (`Nt`, N = `available_parallelism`):
//! - `pipeline/<pool>`: the whole default pipeline, `PassManager::default().run`, to its fixed
//!   point, on a fresh clone of the loaded model per iteration (the clone and the drop of the
//!   result are untimed);
//! - `pass/<name>/<pool>`: each pass of `ferry::passes::all_passes()` alone (one round of a
//!   one-pass manager, so passes that need inference pay for it, as the first such pass of a
//!   pipeline round does) on the unoptimized model; on models of 20k nodes or more in the
//!   widest pool only, unless `FERRY_BENCH_ALL_POOLS=1` (the full bench then takes about
//!   twice as long).
//!
//! The pipeline is whatever `all_passes()` holds when the bench is built, never a list of its
//! own. Throughput is the model's node count, so criterion reports nodes/s. A summary at the
//! end lists per model the median pipeline time, µs per node, the 1-thread over all-threads
//! speedup and the three most expensive passes (alone, and inside one pipeline run), then how
//! time grows along the transformer series: µs per node per size and, per pass, the growth
//! exponent between the two largest sizes (1 = linear, 2 = quadratic), from the fastest sample
//! of each benchmark (the machine is shared; other load only ever adds time).
//!
//! Inputs are generated into a temporary directory with `ferry_gen` and loaded back as
//! `ferry optimize` loads them (tensors are slices of the memory-mapped file): transformers of
//! ~1k, 10k, 50k and 100k nodes (hidden 64, ffn 256, so 100k nodes weigh ~200 MiB) and CNNs of
//! ~1k and 20k nodes. With `FERRY_CORPUS` set, the three largest `.onnx` files in
//! `$FERRY_CORPUS/models` join them. `FERRY_BENCH_QUICK=1` keeps only the two ~1k-node
//! generated models (for a smoke run).

use criterion::{BenchmarkId, Criterion, SamplingMode, Throughput};
use ferry::ir::Model;
use ferry::onnx::LoadOptions;
use ferry::passes::{Pass, PassManager, PipelineReport, all_passes};
use ferry_gen::{CnnSpec, Synth, TransformerSpec};
use rayon::ThreadPool;
use std::cell::RefCell;
use std::hint::black_box;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// Layers of the generated transformers (99 nodes per layer + 11), smallest first.
const TRANSFORMER_LAYERS: [(&str, usize); 4] =
    [("tfm_1k", 10), ("tfm_10k", 101), ("tfm_50k", 505), ("tfm_100k", 1010)];
/// Blocks of the generated CNNs (~5.06 nodes per block + 6).
const CNN_BLOCKS: [(&str, usize); 2] = [("cnn_1k", 196), ("cnn_20k", 3950)];
/// Criterion's smallest sample count; the models are large enough for its statistics.
const SAMPLE_SIZE: usize = 10;
/// Models with fewer nodes get every pass timed in every pool (see `bench_model`).
const ALL_POOLS_BELOW: usize = 20_000;

/// Where a model comes from; generated ones are made only when their turn comes, so one
/// large model is in memory at a time.
enum Source {
    Transformer(usize),
    Cnn(usize),
    File(PathBuf),
}

struct Input {
    name: String,
    source: Source,
}

/// A thread pool and the label of its benchmarks.
struct Pool {
    label: String,
    pool: ThreadPool,
}

/// Seconds per run over criterion's measurement samples.
#[derive(Clone, Copy)]
struct Stat {
    median: f64,
    /// The fastest sample: on a shared machine, other processes only ever add time, so the
    /// minimum is the steadier figure for how time grows with size.
    min: f64,
}

/// What was measured on one model, per pool (pipeline) and per pass and pool.
struct Row {
    name: String,
    nodes: usize,
    nodes_after: usize,
    report: PipelineReport,
    /// Per pool, the pipeline's time.
    pipeline: Vec<Option<Stat>>,
    /// Per pass (pipeline order), per pool, the time of the pass alone;
    /// `None` where the pass failed on this model (reported when it happened).
    passes: Vec<(&'static str, Vec<Option<Stat>>)>,
}

/// The transformer and CNN shapes of the benchmarks (and of `scripts/bench_optimize.sh`).
fn transformer_spec(layers: usize) -> TransformerSpec {
    TransformerSpec { layers, hidden: 64, heads: 4, ffn: 256 }
}

fn inputs(quick: bool) -> Vec<Input> {
    let mut list: Vec<Input> = Vec::new();
    let tfm = if quick { &TRANSFORMER_LAYERS[..1] } else { &TRANSFORMER_LAYERS[..] };
    let cnn = if quick { &CNN_BLOCKS[..1] } else { &CNN_BLOCKS[..] };
    for &(name, layers) in tfm {
        list.push(Input { name: name.into(), source: Source::Transformer(layers) });
    }
    for &(name, blocks) in cnn {
        list.push(Input { name: name.into(), source: Source::Cnn(blocks) });
    }
    list.extend(corpus());
    list
}

/// The three largest `.onnx` files of `$FERRY_CORPUS/models`, largest first.
fn corpus() -> Vec<Input> {
    let Some(root) = std::env::var_os("FERRY_CORPUS") else { return Vec::new() };
    let dir = Path::new(&root).join("models");
    let entries = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("FERRY_CORPUS: cannot list {}: {e}", dir.display()));
    let mut found: Vec<(u64, String, PathBuf)> = entries
        .filter_map(|e| e.ok())
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "onnx") && p.is_file())
        .map(|path| {
            let len = std::fs::metadata(&path).map_or(0, |m| m.len());
            let stem = path.file_stem().unwrap_or_default().to_string_lossy().into_owned();
            (len, stem, path)
        })
        .collect();
    found.sort_by(|a, b| b.0.cmp(&a.0).then_with(|| a.1.cmp(&b.1)));
    found.truncate(3);
    found.into_iter().map(|(_, name, path)| Input { name, source: Source::File(path) }).collect()
}

/// Loads the model as `ferry optimize` does: generated models are written to `dir` first so
/// their tensors are slices of a memory-mapped file, like a user's.
fn load(input: &Input, dir: &Path) -> Model {
    let synth: Synth = match input.source {
        Source::Transformer(layers) => ferry_gen::transformer(&transformer_spec(layers), 0),
        Source::Cnn(blocks) => ferry_gen::cnn(&CnnSpec::new(blocks), 1),
        Source::File(ref path) => {
            return ferry::onnx::load_with(path, &LoadOptions::default())
                .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
                .model;
        }
    };
    let path = dir.join(format!("{}.onnx", input.name));
    synth.write_inline(&path).unwrap_or_else(|e| panic!("cannot write {}: {e}", path.display()));
    let model = ferry::onnx::load_with(&path, &LoadOptions::default())
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .model;
    // The map stays alive through the model's tensors; the name can go.
    let _ = std::fs::remove_file(&path);
    model
}

fn node_count(model: &Model) -> usize {
    model.graph.as_ref().map_or(0, |g| g.node_count_recursive())
}

/// Runs `manager` `iters` times inside `pool`, each on a fresh clone of `model` (the clone and
/// the drop untimed), and records the mean time per run in `samples`.
fn timed(
    samples: &RefCell<Vec<f64>>,
    pool: &ThreadPool,
    iters: u64,
    model: &Model,
    manager: &PassManager,
) -> Duration {
    let total = pool.install(|| {
        let mut total = Duration::ZERO;
        for _ in 0..iters {
            let mut m = model.clone();
            let start = Instant::now();
            let report = manager.run(black_box(&mut m));
            total += start.elapsed();
            // It ran untimed on the same input before, so an error here is a nondeterminism bug.
            black_box(report).expect("the pipeline failed on a rerun");
            drop(m);
        }
        total
    });
    samples.borrow_mut().push(total.as_secs_f64() / iters.max(1) as f64);
    total
}

/// The median and minimum of the last `SAMPLE_SIZE` recorded means: criterion's measurement
/// (earlier ones were its warm-up).
fn stat(samples: RefCell<Vec<f64>>) -> Option<Stat> {
    let s = samples.into_inner();
    let mut v = s[s.len().saturating_sub(SAMPLE_SIZE)..].to_vec();
    if v.is_empty() {
        return None;
    }
    v.sort_by(f64::total_cmp);
    let n = v.len();
    let median = if n % 2 == 1 { v[n / 2] } else { (v[n / 2 - 1] + v[n / 2]) / 2.0 };
    Some(Stat { median, min: v[0] })
}

/// Benchmarks `manager` on `model` in the pools `which` selects; the times per pool (`None`
/// for the others).
fn bench_manager(
    group: &mut criterion::BenchmarkGroup<'_, criterion::measurement::WallTime>,
    id: &str,
    pools: &[Pool],
    which: impl Fn(usize) -> bool,
    model: &Model,
    manager: &PassManager,
) -> Vec<Option<Stat>> {
    pools
        .iter()
        .enumerate()
        .map(|(i, p)| {
            if !which(i) {
                return None;
            }
            let samples = RefCell::default();
            group.bench_function(BenchmarkId::new(id, &p.label), |b| {
                b.iter_custom(|n| timed(&samples, &p.pool, n, model, manager))
            });
            stat(samples)
        })
        .collect()
}

/// A manager running one pass of the default pipeline, once.
fn single(pass: Box<dyn Pass>) -> PassManager {
    PassManager::new(vec![pass]).max_rounds(1)
}

fn bench_model(c: &mut Criterion, input: &Input, dir: &Path, pools: &[Pool]) -> Option<Row> {
    let start = Instant::now();
    let model = load(input, dir);
    let nodes = node_count(&model);
    eprintln!("{}: {nodes} nodes, loaded in {:.2}s", input.name, start.elapsed().as_secs_f64());

    // One untimed run in the widest pool: the pipeline must work here before it is timed, and
    // its report tells what each pass costs inside the pipeline.
    let manager = PassManager::default();
    let mut optimized = model.clone();
    let widest = &pools[pools.len() - 1].pool;
    let report = match widest.install(|| manager.run(&mut optimized)) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("{}: the pipeline failed, model skipped: {e}", input.name);
            return None;
        }
    };
    let nodes_after = node_count(&optimized);
    drop(optimized);

    let mut group = c.benchmark_group(&input.name);
    group.throughput(Throughput::Elements(nodes as u64));
    group.sample_size(SAMPLE_SIZE);
    group.sampling_mode(SamplingMode::Flat);
    // Large models run one iteration per sample: the warm-up is one run, the measurement ten.
    let big = nodes >= 5000;
    group.warm_up_time(Duration::from_millis(if big { 1 } else { 50 }));
    group.measurement_time(Duration::from_millis(if big { 10 } else { 200 }));

    let pipeline = bench_manager(&mut group, "pipeline", pools, |_| true, &model, &manager);
    // Passes use threads only across function bodies and in folding kernels, so on large models
    // (where every run costs seconds) each pass alone is timed in the widest pool only, unless
    // FERRY_BENCH_ALL_POOLS=1: that keeps the whole bench near ten minutes on two cores.
    let every_pool = nodes < ALL_POOLS_BELOW
        || std::env::var_os("FERRY_BENCH_ALL_POOLS").is_some_and(|v| v != "0");
    let pass_pools = |i: usize| every_pool || i + 1 == pools.len();
    let mut passes = Vec::new();
    for (i, pass) in all_passes().into_iter().enumerate() {
        let name = pass.name();
        let alone = single(pass);
        let mut probe = model.clone();
        if let Err(e) = widest.install(|| alone.run(&mut probe)) {
            eprintln!("{}: pass {name} failed alone, not timed: {e}", input.name);
            passes.push((name, vec![None; pools.len()]));
            continue;
        }
        drop(probe);
        let id = format!("pass/{i:02}_{name}");
        passes.push((name, bench_manager(&mut group, &id, pools, pass_pools, &model, &alone)));
    }
    group.finish();
    Some(Row { name: input.name.clone(), nodes, nodes_after, report, pipeline, passes })
}

fn ms(s: f64) -> String {
    format!("{:.1}", s * 1e3)
}

/// The `k` largest `(name, seconds)` pairs, as "name ms, ...".
fn top(mut v: Vec<(&str, f64)>, k: usize) -> String {
    v.sort_by(|a, b| b.1.total_cmp(&a.1));
    v.iter().take(k).map(|(n, t)| format!("{n} {}", ms(*t))).collect::<Vec<_>>().join(", ")
}

fn print_summary(rows: &[Row], pools: &[Pool]) {
    let wide = pools.len() - 1;
    println!();
    println!(
        "ferry optimize, default pipeline ({} passes): median time per run; speedup = {} / {}",
        all_passes().len(),
        pools[0].label,
        pools[wide].label
    );
    println!(
        "{:<38} {:>7} {:>6} {:>6} {:>10} {:>10} {:>8} {:>7}",
        "model",
        "nodes",
        "after",
        "rounds",
        format!("ms {}", pools[0].label),
        format!("ms {}", pools[wide].label),
        "µs/node",
        "speedup"
    );
    for r in rows {
        let median = |t: Option<Stat>| t.map(|t| t.median);
        let (one, all) = (median(r.pipeline[0]), median(r.pipeline[wide]));
        let fmt = |t: Option<f64>| t.map_or("-".into(), ms);
        let per_node =
            all.map_or("-".into(), |t| format!("{:.2}", t * 1e6 / r.nodes.max(1) as f64));
        let speedup = match (one, all) {
            (Some(a), Some(b)) if b > 0.0 => format!("{:.2}", a / b),
            _ => "-".into(),
        };
        println!(
            "{:<38} {:>7} {:>6} {:>6} {:>10} {:>10} {:>8} {:>7}",
            r.name,
            r.nodes,
            r.nodes_after,
            r.report.rounds,
            fmt(one),
            fmt(all),
            per_node,
            speedup
        );
    }
    println!();
    println!(
        "most expensive passes, ms ({}): alone on the unoptimized model (median) | inside one pipeline run (all rounds)",
        pools[wide].label
    );
    for r in rows {
        let alone: Vec<(&str, f64)> =
            r.passes.iter().filter_map(|(n, t)| t[wide].map(|t| (*n, t.median))).collect();
        let inside: Vec<(&str, f64)> =
            r.report.passes.iter().map(|p| (p.name, p.time.as_secs_f64())).collect();
        println!("{:<38} {} | {}", r.name, top(alone, 3), top(inside, 3));
    }
    print_scaling(rows, pools);
}

/// How time grows along the transformer series: pipeline µs per node per size, and per pass
/// the µs per node at each size and the exponent k of t ~ n^k between the two largest sizes.
fn print_scaling(rows: &[Row], pools: &[Pool]) {
    let wide = pools.len() - 1;
    let series: Vec<&Row> = TRANSFORMER_LAYERS
        .iter()
        .filter_map(|(name, _)| rows.iter().find(|r| r.name == *name))
        .collect();
    if series.len() < 2 {
        return;
    }
    let per_node = |t: Option<f64>, r: &Row| t.map(|t| t * 1e6 / r.nodes.max(1) as f64);
    let cell = |v: Option<f64>| v.map_or("-".into(), |v| format!("{v:.3}"));
    let exponent = |a: Option<f64>, b: Option<f64>| match (a, b) {
        (Some(ta), Some(tb)) if ta > 0.0 && tb > 0.0 => {
            let (na, nb) = (series[series.len() - 2].nodes, series[series.len() - 1].nodes);
            format!("{:.2}", (tb / ta).ln() / (nb as f64 / na as f64).ln())
        }
        _ => "-".into(),
    };
    println!();
    println!(
        "scaling along the transformer series ({}, fastest sample): µs per node; k: t ~ n^k \
         between the two largest",
        pools[wide].label
    );
    let mut header = format!("{:<34}", "");
    for r in &series {
        header += &format!(" {:>10}", r.name);
    }
    println!("{header} {:>6}", "k");
    let mut line = format!("{:<34}", "pipeline");
    let times: Vec<Option<f64>> = series.iter().map(|r| r.pipeline[wide].map(|t| t.min)).collect();
    for (r, t) in series.iter().zip(&times) {
        line += &format!(" {:>10}", cell(per_node(*t, r)));
    }
    let flat: Vec<f64> = series.iter().zip(&times).filter_map(|(r, t)| per_node(*t, r)).collect();
    let spread = flat.iter().cloned().fold(f64::MIN, f64::max)
        / flat.iter().cloned().fold(f64::MAX, f64::min);
    println!(
        "{line} {:>6}   (max/min µs per node: {spread:.2})",
        exponent(times[times.len() - 2], times[times.len() - 1])
    );
    for (i, (name, _)) in series[0].passes.iter().enumerate() {
        let mut line = format!("{name:<34}");
        let times: Vec<Option<f64>> =
            series.iter().map(|r| r.passes[i].1[wide].map(|t| t.min)).collect();
        for (r, t) in series.iter().zip(&times) {
            line += &format!(" {:>10}", cell(per_node(*t, r)));
        }
        println!("{line} {:>6}", exponent(times[times.len() - 2], times[times.len() - 1]));
    }
}

fn main() {
    let mut c = Criterion::default().nresamples(2000).without_plots().configure_from_args();
    let quick = std::env::var_os("FERRY_BENCH_QUICK").is_some_and(|v| v != "0");
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let mut counts = vec![1];
    if threads > 1 {
        counts.push(threads);
    }
    let pools: Vec<Pool> = counts
        .into_iter()
        .map(|n| Pool {
            label: format!("{n}t"),
            pool: rayon::ThreadPoolBuilder::new()
                .num_threads(n)
                .build()
                .unwrap_or_else(|e| panic!("cannot start {n} threads: {e}")),
        })
        .collect();
    let tmp = tempfile::tempdir().expect("temporary directory");
    let start = Instant::now();
    let rows: Vec<Row> =
        inputs(quick).iter().filter_map(|i| bench_model(&mut c, i, tmp.path(), &pools)).collect();
    c.final_summary();
    print_summary(&rows, &pools);
    eprintln!("optimize bench: {:.0}s", start.elapsed().as_secs_f64());
}
