//! `ferry optimize IN OUT`: run the optimizer's pass pipeline and write the result.
//!
//! Prints a before/after table (nodes per op type over every graph, file size) and the time and
//! rewrites of each pass. The result is checked structurally (the full checker runs before
//! writing, as for every writer) but not numerically yet: that is said in `--help` and in the
//! output.

use ferry::ir::Model;
use ferry::onnx::{self, LoadOptions};
use ferry::passes::{self, PassManager, PipelineReport};
use serde_json::json;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

const NOT_CHECKED: &str = "not checked: numeric comparison of the result with the original is \
                           not implemented yet";

#[derive(clap::Args)]
#[command(after_help = "The result passes ferry's checker but is NOT numerically checked yet: \
                        no reference runtime compares it with the original in this version.")]
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

fn pipeline(args: &Args) -> Result<Vec<Box<dyn passes::Pass>>, String> {
    let known: Vec<&str> = passes::all_passes().iter().map(|p| p.name()).collect();
    for s in &args.skip {
        if !known.contains(&s.as_str()) {
            return Err(passes::PassError::UnknownPass(s.clone()).to_string());
        }
    }
    let chosen: Vec<&str> = if args.passes.is_empty() {
        known.clone()
    } else {
        args.passes.iter().map(String::as_str).collect()
    };
    let chosen: Vec<&str> =
        chosen.into_iter().filter(|p| !args.skip.iter().any(|s| s == p)).collect();
    passes::passes_by_name(&chosen).map_err(|e| e.to_string())
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
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
    let manager =
        PassManager::new(pipeline(args)?).verify_each(args.verify_each).stop_after(args.stop_after);
    let size_before = std::fs::metadata(input)
        .map(|m| m.len())
        .map_err(|e| format!("{}: {e}", input.display()))?;
    let start = Instant::now();
    let loaded = onnx::load_with(input, &LoadOptions::default()).map_err(|e| e.to_string())?;
    crate::print_warnings(&loaded.warnings);
    let mut model = loaded.model;
    let before = op_counts(&model);
    let report = manager.run(&mut model).map_err(|e| e.to_string())?;
    let after = op_counts(&model);
    let validated = ferry::check::validate(&model);
    crate::check::warn_invalid(&validated);
    let saved = onnx::save_with(&validated, output, &onnx::SaveOptions::default())
        .map_err(|e| e.to_string())?;
    let total = start.elapsed();
    let sizes = (size_before, saved.model_bytes);
    if args.json {
        print_json(input, output, &before, &after, sizes, &report, total, validated.is_valid());
    } else {
        print_table(output, &before, &after, sizes, &report, total);
    }
    Ok(())
}

#[allow(clippy::too_many_arguments)]
fn print_json(
    input: &Path,
    output: &Path,
    before: &BTreeMap<String, usize>,
    after: &BTreeMap<String, usize>,
    sizes: (u64, u64),
    report: &PipelineReport,
    total: Duration,
    valid: bool,
) {
    let ops: BTreeMap<&String, serde_json::Value> = before
        .keys()
        .chain(after.keys())
        .map(|k| {
            let b = before.get(k).copied().unwrap_or(0);
            let a = after.get(k).copied().unwrap_or(0);
            (k, json!({"before": b, "after": a}))
        })
        .collect();
    let passes: Vec<serde_json::Value> = report
        .passes
        .iter()
        .map(|p| json!({"name": p.name, "runs": p.runs, "rewrites": p.rewrites, "time_ms": ms(p.time)}))
        .collect();
    let doc = json!({
        "input": input.display().to_string(),
        "output": output.display().to_string(),
        "nodes": {"before": before.values().sum::<usize>(), "after": after.values().sum::<usize>()},
        "ops": ops,
        "file_bytes": {"before": sizes.0, "after": sizes.1},
        "passes": passes,
        "rounds": report.rounds,
        "converged": report.converged,
        "stopped_by_rewrite_limit": report.stopped_by_rewrite_limit,
        "rewrites": report.rewrites,
        "valid": valid,
        "numeric_check": NOT_CHECKED,
        "total_ms": ms(total),
    });
    println!("{}", serde_json::to_string_pretty(&doc).unwrap_or_default());
}

fn print_table(
    output: &Path,
    before: &BTreeMap<String, usize>,
    after: &BTreeMap<String, usize>,
    sizes: (u64, u64),
    report: &PipelineReport,
    total: Duration,
) {
    let width = before.keys().chain(after.keys()).map(String::len).max().unwrap_or(0).max(18);
    println!("{:<width$} {:>8} {:>8}", "op type", "before", "after");
    let keys: std::collections::BTreeSet<&String> = before.keys().chain(after.keys()).collect();
    for k in keys {
        let b = before.get(k).copied().unwrap_or(0);
        let a = after.get(k).copied().unwrap_or(0);
        let mark = if a != b { " *" } else { "" };
        println!("{k:<width$} {b:>8} {a:>8}{mark}");
    }
    let (nb, na): (usize, usize) = (before.values().sum(), after.values().sum());
    println!("{:<width$} {nb:>8} {na:>8}", "nodes");
    println!("{:<width$} {:>8} {:>8}", "file bytes", sizes.0, sizes.1);
    println!();
    let pw = report.passes.iter().map(|p| p.name.len()).max().unwrap_or(0).max(4);
    println!("{:<pw$} {:>8} {:>10}", "pass", "rewrites", "time ms");
    for p in &report.passes {
        println!("{:<pw$} {:>8} {:>10.3}", p.name, p.rewrites, ms(p.time));
    }
    let state = if report.converged {
        "converged".to_string()
    } else if report.stopped_by_rewrite_limit {
        "stopped by --stop-after".to_string()
    } else {
        "round limit reached without converging".to_string()
    };
    println!("{} rounds ({state}), {} rewrites", report.rounds, report.rewrites);
    println!("wrote {} in {:.1} ms", output.display(), ms(total));
    println!("note: {NOT_CHECKED}");
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
}
