//! `ferry optimize IN OUT`: run the optimizer's pass pipeline, check the result numerically
//! against the original, and write it.
//!
//! Prints a before/after table (nodes per op type over every graph, parameter bytes, file size),
//! the time and rewrites of each pass, and the check's verdict; `--json` prints the same for
//! machines.
//!
//! The numeric check (`ferry_verify`) is on by default with one random input set (`--check N`
//! for more, `--check 0` for none). It runs the regions the passes rewrote
//! (`ferry_verify::check_local`; the whole models where those cannot decide), or the whole
//! models with `--check-whole`. Its verdicts and what the command does with them:
//!
//! - agree: OUT is written, exit 0;
//! - mismatch (an output differs, the outputs changed, or the reference runs the original but not
//!   the result): OUT is **not** written, the report names the first differing output, exit 1.
//!   A model that fails the check is not one to ship, and writing it would invite that; rerun
//!   with `--check 0` to get it anyway (e.g. to bisect with `--stop-after`);
//! - not checked (no reference runs the original, or its inputs cannot be made up): OUT is
//!   written, the report says `not checked: <reason>`, exit 0. That is not a mismatch, but it
//!   is never reported as a pass either.

use ferry::ir::{Initializer, Model, TensorData};
use ferry::onnx::{self, LoadOptions};
use ferry::passes::{self, FoldConstants, Pass, PassCx, PassError, PassManager, PipelineReport};
use ferry::verify::{self, InputShapes, Report, Subject, Verdict};
use serde_json::json;
use std::collections::BTreeMap;
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// onnxsim's `--no-large-tensor` without a size: 1 KiB ("1KB", which onnxsim reads as 1024).
const NO_LARGE_TENSOR_BYTES: u64 = 1024;

/// Models with more nodes than this get a progress spinner (when stderr is a terminal): below,
/// the whole command takes well under a second.
const PROGRESS_NODES: usize = 5000;

#[derive(clap::Args)]
#[command(after_help = "The result is compared with the original on random inputs (tract-onnx \
                        as the reference; onnxruntime too when built with the `ort` feature and \
                        ORT_DYLIB_PATH set): by default the regions the passes rewrote, \
                        with --check-whole the whole models. A mismatch exits 1 without \
                        writing OUT; a model no reference can run is written and reported as \
                        'not checked: <reason>'.")]
pub struct Args {
    /// The model to optimize.
    #[arg(required_unless_present = "list_passes")]
    input: Option<PathBuf>,
    /// Where to write the result (external data goes beside it).
    #[arg(required_unless_present = "list_passes")]
    output: Option<PathBuf>,
    /// Run only these passes, in this order (comma-separated; see --list-passes).
    #[arg(long, value_name = "A,B", value_delimiter = ',')]
    passes: Vec<String>,
    /// Leave these passes out of the pipeline (comma-separated).
    #[arg(long, value_name = "A,B", value_delimiter = ',')]
    skip: Vec<String>,
    /// List the passes of the default pipeline, in order, and exit.
    #[arg(long)]
    list_passes: bool,
    /// Print JSON for machines instead of the table.
    #[arg(long)]
    json: bool,
    /// Run the structural checker after every pass and stop at the first pass that breaks the
    /// model, naming it.
    #[arg(long)]
    verify_each: bool,
    /// Stop after N rewrites in total (to find a bad rewrite by bisection).
    #[arg(long, value_name = "N")]
    stop_after: Option<usize>,
    /// Compare the result with the original on N random input sets (0: no check).
    #[arg(long, value_name = "N", default_value_t = 1)]
    check: usize,
    /// Run the whole original and the whole result in the check. By default only the regions
    /// the passes rewrote are run (one of each kind of rewrite), which takes milliseconds where
    /// whole large models take a reference runtime seconds to minutes; the whole models are
    /// still run when the regions cannot decide (a region differs, or it has subgraphs).
    #[arg(long)]
    check_whole: bool,
    /// How many rewritten values of each kind of rewrite the check runs, cheapest first (0: all
    /// of them). Not used with --check-whole.
    #[arg(long, value_name = "N", default_value_t = 1)]
    check_per_kind: usize,
    /// Relative tolerance of the check: |result - original| <= atol + rtol * |original|.
    #[arg(long, value_name = "X", default_value_t = 1e-4)]
    rtol: f64,
    /// Absolute tolerance of the check.
    #[arg(long, value_name = "X", default_value_t = 1e-5)]
    atol: f64,
    /// Seed of the check's random inputs (input set i uses SEED + i).
    #[arg(long, value_name = "SEED", default_value_t = 0)]
    seed: u64,
    /// Pin an input's shape: NAME:D1,D2,... (or D1,D2,... for a model with one input).
    /// Repeatable, and several may follow one flag (onnxsim's form; put them after IN OUT).
    /// Written into OUT, so the passes can fold what the pinned shape decides, and used for the
    /// check's inputs. Open dims not pinned stay open in OUT; the check makes them 1 on axis 0
    /// and 32 elsewhere.
    #[arg(long = "input-shape", value_name = "NAME:D1,D2", num_args = 1..)]
    input_shape: Vec<String>,
    /// Do not fold constants into tensors larger than 1 KiB (onnxsim's --no-large-tensor).
    #[arg(long)]
    no_large_tensor: bool,
    /// Do not fold constants into tensors larger than BYTES (implies --no-large-tensor).
    #[arg(long, value_name = "BYTES")]
    size_threshold: Option<u64>,
    /// Fold the defaults of graph inputs backed by initializers as constants, as onnxsim does
    /// (the result then ignores a value passed for such an input). Off by default.
    #[arg(long)]
    fold_input_initializers: bool,
}

/// Nodes per op type (domain-qualified outside the default domain) over every graph.
fn op_counts(model: &Model) -> BTreeMap<String, usize> {
    let mut counts = BTreeMap::new();
    model.visit_graphs(&mut |_, g| {
        for (_, n) in g.nodes() {
            let key = match n.canonical_domain() {
                "" => n.op_type.clone(),
                d => format!("{d}.{}", n.op_type),
            };
            *counts.entry(key).or_insert(0) += 1;
        }
    });
    counts
}

/// Bytes of every initializer in every graph (dense: packed size; strings and sparse: stored
/// size), as `ferry info` counts them.
fn parameter_bytes(model: &Model) -> u64 {
    let mut total = 0u64;
    model.visit_graphs(&mut |_, g| {
        for (_, v) in g.values() {
            let n = match &v.initializer {
                Some(Initializer::Dense(t)) => match (t.nbytes(), &t.data) {
                    (_, TensorData::String(_)) | (None, _) => t.stored_len(),
                    (Some(n), _) => n,
                },
                Some(Initializer::Sparse(s)) => {
                    s.values.iter().chain(&s.indices).map(|t| t.stored_len()).sum()
                }
                None => 0,
            };
            total = total.saturating_add(n);
        }
    });
    total
}

/// The largest tensor constant folding may make, from `--no-large-tensor`/`--size-threshold`.
fn fold_limit(args: &Args) -> Option<u64> {
    args.size_threshold.or(args.no_large_tensor.then_some(NO_LARGE_TENSOR_BYTES))
}

fn pipeline(args: &Args) -> Result<Vec<Box<dyn Pass>>, String> {
    let known: Vec<&str> = passes::all_passes().iter().map(|p| p.name()).collect();
    for s in &args.skip {
        if !known.contains(&s.as_str()) {
            return Err(PassError::UnknownPass(s.clone()).to_string());
        }
    }
    let chosen: Vec<&str> = if args.passes.is_empty() {
        known.clone()
    } else {
        args.passes.iter().map(String::as_str).collect()
    };
    let chosen: Vec<&str> =
        chosen.into_iter().filter(|p| !args.skip.iter().any(|s| s == p)).collect();
    let mut list = passes::passes_by_name(&chosen).map_err(|e| e.to_string())?;
    let limit = fold_limit(args);
    if limit.is_some() || args.fold_input_initializers {
        let configured = || {
            let mut fold = FoldConstants::default();
            if let Some(limit) = limit {
                fold = fold.with_max_bytes(limit);
            }
            if args.fold_input_initializers {
                fold = fold.with_input_defaults();
            }
            fold
        };
        for p in &mut list {
            if p.name() == "fold_constants" {
                *p = Box::new(configured());
            }
        }
    }
    Ok(list)
}

/// A pass that shows its name on a spinner before it runs (the manager calls `run_model` once
/// per pass and round, before the pass visits the graphs).
struct Shown {
    inner: Box<dyn Pass>,
    bar: indicatif::ProgressBar,
}

impl Pass for Shown {
    fn name(&self) -> &'static str {
        self.inner.name()
    }
    fn description(&self) -> &'static str {
        self.inner.description()
    }
    fn run(&self, graph: &mut ferry::ir::Graph, cx: &PassCx) -> Result<passes::Changed, PassError> {
        self.inner.run(graph, cx)
    }
    fn run_model(&self, model: &mut Model, cx: &PassCx) -> Result<passes::Changed, PassError> {
        self.bar.set_message(format!("pass {}", self.inner.name()));
        self.inner.run_model(model, cx)
    }
}

/// A spinner on stderr for large models, when stderr is a terminal.
fn spinner(model: &Model) -> Option<indicatif::ProgressBar> {
    let mut nodes = 0;
    model.visit_graphs(&mut |_, g| nodes += g.node_count());
    if nodes <= PROGRESS_NODES || !std::io::stderr().is_terminal() {
        return None;
    }
    let bar = indicatif::ProgressBar::new_spinner();
    bar.set_style(
        indicatif::ProgressStyle::with_template("{spinner} {elapsed:>4} {msg}")
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_spinner()),
    );
    bar.enable_steady_tick(Duration::from_millis(120));
    Some(bar)
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

/// Everything the table and the JSON show.
struct Outcome<'a> {
    input: &'a Path,
    output: &'a Path,
    before: BTreeMap<String, usize>,
    after: BTreeMap<String, usize>,
    params: (u64, u64),
    /// File size of IN, and of OUT when written.
    sizes: (u64, Option<u64>),
    report: PipelineReport,
    valid: bool,
    check: Option<(Report, Duration)>,
    total: Duration,
}

pub fn run(args: &Args) -> Result<(), String> {
    if args.list_passes {
        for p in passes::all_passes() {
            println!("{:<32} {}", p.name(), p.description());
        }
        return Ok(());
    }
    let (Some(input), Some(output)) = (&args.input, &args.output) else {
        return Err("IN and OUT are required".into());
    };
    let shapes = InputShapes::parse(&args.input_shape).map_err(|e| e.to_string())?;
    let mut pipeline = pipeline(args)?;
    let size_before = std::fs::metadata(input)
        .map(|m| m.len())
        .map_err(|e| format!("{}: {e}", input.display()))?;
    let start = Instant::now();
    let loaded = onnx::load_with(input, &LoadOptions::default()).map_err(|e| e.to_string())?;
    crate::print_warnings(&loaded.warnings);
    let mut model = loaded.model;
    let original = (args.check > 0).then(|| model.clone());
    verify::pin_input_shapes(&mut model, &shapes).map_err(|e| e.to_string())?;
    let bar = spinner(&model);
    if let Some(bar) = &bar {
        pipeline = pipeline
            .into_iter()
            .map(|inner| Box::new(Shown { inner, bar: bar.clone() }) as Box<dyn Pass>)
            .collect();
    }
    let manager =
        PassManager::new(pipeline).verify_each(args.verify_each).stop_after(args.stop_after);
    let before = op_counts(&model);
    let params_before = parameter_bytes(&model);
    let report = manager.run(&mut model).map_err(|e| e.to_string())?;
    let after = op_counts(&model);
    let params = (params_before, parameter_bytes(&model));
    // The result is validated and written to temporary files while the check runs; it is
    // renamed into place only if the check does not fail (dropping the staged files deletes
    // them).
    let (staged, check) = std::thread::scope(|s| {
        let stager = s.spawn(|| {
            let validated = ferry::check::validate(&model);
            crate::check::warn_invalid(&validated);
            let staged = onnx::stage_model(&validated, output, &onnx::SaveOptions::default());
            (validated.is_valid(), staged)
        });
        let check = original.as_ref().map(|original| {
            if let Some(bar) = &bar {
                bar.set_message("numeric check");
            }
            let t = Instant::now();
            let dir = input.parent();
            let opts = verify::Options {
                runs: args.check,
                tolerance: verify::Tolerance { rtol: args.rtol, atol: args.atol },
                seed: args.seed,
                input_shapes: shapes.clone(),
                per_kind: args.check_per_kind,
                ..verify::Options::default()
            };
            let (a, b) = (Subject { model: original, dir }, Subject { model: &model, dir });
            let report = if args.check_whole {
                verify::check(a, b, &opts)
            } else {
                verify::check_local(a, b, &opts)
            };
            report.map(|r| (r, t.elapsed()))
        });
        let staged = stager.join().map_err(|_| "writing the result panicked".to_string());
        (staged, check)
    });
    let (valid, staged) = staged?;
    let check = check.transpose().map_err(|e| e.to_string())?;
    let failed = check.as_ref().is_some_and(|(r, _)| r.verdict.is_failure());
    let mut written = None;
    if !failed {
        if let Some(bar) = &bar {
            bar.set_message(format!("writing {}", output.display()));
        }
        let saved = staged.and_then(onnx::StagedModel::commit).map_err(|e| e.to_string())?;
        written = Some(saved.model_bytes);
    }
    if let Some(bar) = bar {
        bar.finish_and_clear();
    }
    let outcome = Outcome {
        input,
        output,
        before,
        after,
        params,
        sizes: (size_before, written),
        report,
        valid,
        check,
        total: start.elapsed(),
    };
    if args.json {
        print_json(&outcome, args);
    } else {
        print_table(&outcome);
    }
    match &outcome.check {
        Some((r, _)) if failed => Err(format!(
            "numeric check failed, {} not written (--check 0 writes it unchecked): {}",
            output.display(),
            r.verdict
        )),
        _ => Ok(()),
    }
}

/// The check's result for `--json`.
fn check_json(check: &Option<(Report, Duration)>, args: &Args) -> serde_json::Value {
    let Some((r, time)) = check else {
        return json!({"status": "off", "message": "not checked: --check 0"});
    };
    let inputs: Vec<serde_json::Value> = r
        .inputs
        .iter()
        .map(|s| {
            let ty = s.elem.text_name().unwrap_or_else(|| format!("{:?}", s.elem));
            json!({"name": s.name, "type": ty, "shape": s.shape})
        })
        .collect();
    let mut doc = json!({
        "message": r.verdict.to_string(),
        "runs_requested": args.check,
        "rtol": args.rtol,
        "atol": args.atol,
        "seed": args.seed,
        "inputs": inputs,
        "notes": r.notes,
        "time_ms": ms(*time),
        "scope": match &r.scope {
            None => json!({"whole": true}),
            Some(s) => json!({
                "whole": false, "rewritten_values": s.rewritten, "kinds": s.kinds,
                "checked_values": s.checked, "nodes_original": s.nodes.0, "nodes_result": s.nodes.1,
            }),
        },
    });
    let extra = match &r.verdict {
        Verdict::Agree { reference, runs, outputs, worst } => json!({
            "status": "ok", "reference": reference, "runs": runs, "outputs": outputs,
            "max_abs_error": worst.max_abs, "max_rel_error": worst.max_rel,
        }),
        Verdict::Mismatch { reference, run, output, difference } => {
            let mut m = json!({
                "status": "mismatch", "reference": reference, "run": run, "output": output,
                "difference": difference.to_string(),
            });
            if let verify::Difference::Values(d) = difference {
                m["index"] = json!(d.index);
                m["original"] = json!(d.original);
                m["result"] = json!(d.result);
                m["count"] = json!(d.count);
                m["total"] = json!(d.total);
                m["max_abs_error"] = json!(d.max_abs);
                m["max_rel_error"] = json!(d.max_rel);
            }
            m
        }
        Verdict::Outputs { original, result } => json!({
            "status": "mismatch", "outputs_original": original, "outputs_result": result,
        }),
        Verdict::ResultFails { reference, error } => json!({
            "status": "mismatch", "reference": reference, "error": error,
        }),
        Verdict::NotChecked { reason } => json!({"status": "not checked", "reason": reason}),
    };
    if let (Some(doc), Some(extra)) = (doc.as_object_mut(), extra.as_object()) {
        doc.extend(extra.clone());
    }
    doc
}

fn print_json(o: &Outcome, args: &Args) {
    let ops: BTreeMap<&String, serde_json::Value> = o
        .before
        .keys()
        .chain(o.after.keys())
        .map(|k| {
            let b = o.before.get(k).copied().unwrap_or(0);
            let a = o.after.get(k).copied().unwrap_or(0);
            (k, json!({"before": b, "after": a}))
        })
        .collect();
    let passes: Vec<serde_json::Value> = o
        .report
        .passes
        .iter()
        .map(|p| json!({"name": p.name, "runs": p.runs, "rewrites": p.rewrites, "time_ms": ms(p.time)}))
        .collect();
    let check = check_json(&o.check, args);
    let doc = json!({
        "input": o.input.display().to_string(),
        "output": o.output.display().to_string(),
        "written": o.sizes.1.is_some(),
        "nodes": {"before": o.before.values().sum::<usize>(), "after": o.after.values().sum::<usize>()},
        "ops": ops,
        "parameter_bytes": {"before": o.params.0, "after": o.params.1},
        "file_bytes": {"before": o.sizes.0, "after": o.sizes.1},
        "passes": passes,
        "rounds": o.report.rounds,
        "converged": o.report.converged,
        "stopped_by_rewrite_limit": o.report.stopped_by_rewrite_limit,
        "rewrites": o.report.rewrites,
        "valid": o.valid,
        "numeric_check": check["message"],
        "check": check,
        "total_ms": ms(o.total),
    });
    println!("{}", serde_json::to_string_pretty(&doc).unwrap_or_default());
}

fn print_table(o: &Outcome) {
    let (before, after) = (&o.before, &o.after);
    let width = before.keys().chain(after.keys()).map(String::len).max().unwrap_or(0).max(18);
    println!("{:<width$} {:>10} {:>10}", "op type", "before", "after");
    let keys: std::collections::BTreeSet<&String> = before.keys().chain(after.keys()).collect();
    for k in keys {
        let b = before.get(k).copied().unwrap_or(0);
        let a = after.get(k).copied().unwrap_or(0);
        let mark = if a != b { " *" } else { "" };
        println!("{k:<width$} {b:>10} {a:>10}{mark}");
    }
    let (nb, na): (usize, usize) = (before.values().sum(), after.values().sum());
    println!("{:<width$} {nb:>10} {na:>10}", "nodes");
    println!("{:<width$} {:>10} {:>10}", "parameter bytes", o.params.0, o.params.1);
    let out_size = o.sizes.1.map_or("-".to_string(), |s| s.to_string());
    println!("{:<width$} {:>10} {:>10}", "file bytes", o.sizes.0, out_size);
    println!();
    let pw = o.report.passes.iter().map(|p| p.name.len()).max().unwrap_or(0).max(4);
    println!("{:<pw$} {:>8} {:>10}", "pass", "rewrites", "time ms");
    for p in &o.report.passes {
        println!("{:<pw$} {:>8} {:>10.3}", p.name, p.rewrites, ms(p.time));
    }
    let state = if o.report.converged {
        "converged".to_string()
    } else if o.report.stopped_by_rewrite_limit {
        "stopped by --stop-after".to_string()
    } else {
        "round limit reached without converging".to_string()
    };
    println!("{} rounds ({state}), {} rewrites", o.report.rounds, o.report.rewrites);
    match &o.check {
        None => println!("check: not checked: --check 0"),
        Some((r, t)) => {
            for n in &r.notes {
                println!("check note: {n}");
            }
            let shapes: Vec<String> =
                r.inputs.iter().map(|s| format!("{}:{:?}", s.name, s.shape)).collect();
            if !shapes.is_empty() {
                println!("check inputs: {}", shapes.join(" "));
            }
            if let Some(s) = &r.scope {
                println!(
                    "check scope: {} of {} rewritten values ({} kinds of rewrite; {} + {} nodes run)",
                    s.checked, s.rewritten, s.kinds, s.nodes.0, s.nodes.1
                );
            }
            println!("check: {} in {:.1} ms", r.verdict, ms(*t));
        }
    }
    match o.sizes.1 {
        Some(_) => println!("wrote {} in {:.1} ms", o.output.display(), ms(o.total)),
        None => println!("did not write {} ({:.1} ms)", o.output.display(), ms(o.total)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(input: &Path, output: &Path, passes: &[&str], skip: &[&str]) -> Args {
        Args {
            input: Some(input.to_path_buf()),
            output: Some(output.to_path_buf()),
            passes: passes.iter().map(|s| s.to_string()).collect(),
            skip: skip.iter().map(|s| s.to_string()).collect(),
            list_passes: false,
            json: false,
            verify_each: true,
            stop_after: None,
            check: 1,
            check_whole: false,
            check_per_kind: 1,
            rtol: 1e-4,
            atol: 1e-5,
            seed: 0,
            input_shape: Vec::new(),
            no_large_tensor: false,
            size_threshold: None,
            fold_input_initializers: false,
        }
    }

    /// A model with an Identity and a dead node, written with the IR's writer.
    fn write_model(dir: &Path) -> PathBuf {
        let text = r#"
            <ir_version: 10, opset_import: ["" : 21]>
            g (float[2] X) => (float[2] Y) {
               A = Identity (X)
               dead = Neg (A)
               Y = Relu (A)
            }"#;
        let model = ferry::text::parse_model(text).unwrap();
        let path = dir.join("in.onnx");
        onnx::save(&ferry::check::validate(&model), &path).unwrap();
        path
    }

    fn ops(path: &Path) -> Vec<String> {
        let m = onnx::load(path).unwrap();
        let g = m.graph.unwrap();
        g.nodes().map(|(_, n)| n.op_type.clone()).collect()
    }

    #[test]
    fn optimizes_and_writes_a_valid_model() {
        let dir = tempfile::tempdir().unwrap();
        let input = write_model(dir.path());
        let out = dir.path().join("out.onnx");
        run(&args(&input, &out, &[], &[])).unwrap();
        assert_eq!(ops(&out), ["Relu"]);
        let m = onnx::load(&out).unwrap();
        assert!(ferry::check::check_full(&m).is_valid());
    }

    #[test]
    fn passes_and_skip_choose_the_pipeline() {
        let dir = tempfile::tempdir().unwrap();
        let input = write_model(dir.path());
        let out = dir.path().join("out.onnx");
        run(&args(&input, &out, &["eliminate_deadend"], &[])).unwrap();
        assert_eq!(ops(&out), ["Identity", "Relu"]);
        run(&args(&input, &out, &[], &["eliminate_deadend"])).unwrap();
        assert_eq!(ops(&out), ["Neg", "Relu"]);
    }

    #[test]
    fn unknown_pass_names_are_errors() {
        let dir = tempfile::tempdir().unwrap();
        let input = write_model(dir.path());
        let out = dir.path().join("out.onnx");
        let e = run(&args(&input, &out, &["no_such_pass"], &[])).err().unwrap();
        assert!(e.contains("unknown pass 'no_such_pass'"), "{e}");
        let e = run(&args(&input, &out, &[], &["nope"])).err().unwrap();
        assert!(e.contains("unknown pass 'nope'"), "{e}");
        assert!(!out.exists());
    }

    #[test]
    fn op_counts_cover_subgraphs_and_domains() {
        let text = r#"
            <ir_version: 10, opset_import: ["" : 21, "com.x" : 1]>
            g (bool c, float[2] X) => (float[2] Y) {
               A = com.x.Foo (X)
               Y = If (c) <then_branch = t () => (float[2] a) { a = Neg (A) },
                           else_branch = e () => (float[2] b) { b = Neg (X) }>
            }"#;
        let m = ferry::text::parse_model(text).unwrap();
        let c = op_counts(&m);
        assert_eq!(c.get("Neg"), Some(&2));
        assert_eq!(c.get("com.x.Foo"), Some(&1));
        assert_eq!(c.get("If"), Some(&1));
    }

    #[test]
    fn the_fold_limit_comes_from_either_flag() {
        let p = Path::new("x");
        let mut a = args(p, p, &[], &[]);
        assert_eq!(fold_limit(&a), None);
        a.no_large_tensor = true;
        assert_eq!(fold_limit(&a), Some(1024));
        a.size_threshold = Some(64);
        assert_eq!(fold_limit(&a), Some(64));
        a.no_large_tensor = false;
        assert_eq!(fold_limit(&a), Some(64));
    }

    #[test]
    fn parameter_bytes_count_every_graph() {
        let text = r#"
            <ir_version: 10, opset_import: ["" : 21]>
            g (bool c) => (float[2] Y)
            <float[2] W = {1.0, 2.0}>
            {
               Y = If (c) <then_branch = t () => (float[2] a) <int64[3] K = {1, 2, 3}> {
                              a = Identity (W) },
                           else_branch = e () => (float[2] b) { b = Neg (W) }>
            }"#;
        let m = ferry::text::parse_model(text).unwrap();
        assert_eq!(parameter_bytes(&m), 8 + 24);
    }
}
