//! `ferry check MODEL [--json]`: every problem the checker finds; exit status 1 when any is an
//! error.

use ferry::check::{Report, Severity};
use ferry::onnx::{self, LoadOptions};
use serde_json::json;
use std::path::Path;

/// Why `check` failed: the model could not be read, or it was read and is invalid.
#[derive(Debug)]
pub enum CheckError {
    Load(onnx::Error),
    Invalid { errors: usize },
}

impl std::fmt::Display for CheckError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            CheckError::Load(e) => write!(f, "{e}"),
            CheckError::Invalid { errors } => {
                write!(
                    f,
                    "the model is invalid: {errors} error{}",
                    if *errors == 1 { "" } else { "s" }
                )
            }
        }
    }
}

pub fn run(path: &Path, as_json: bool) -> Result<(), CheckError> {
    let loaded = onnx::load_with(path, &LoadOptions::default()).map_err(CheckError::Load)?;
    let report = ferry::check::check_full(&loaded.model);
    let errors = report.errors().count();
    if as_json {
        println!(
            "{}",
            serde_json::to_string_pretty(&to_json(&report, &loaded.warnings)).unwrap_or_default()
        );
    } else {
        crate::print_warnings(&loaded.warnings);
        for d in &report.diagnostics {
            println!("{d}");
        }
        let warnings = report.warnings().count();
        if errors == 0 {
            println!("{}: valid ({warnings} warnings)", path.display());
        }
    }
    if errors > 0 { Err(CheckError::Invalid { errors }) } else { Ok(()) }
}

fn to_json(report: &Report, load_warnings: &[String]) -> serde_json::Value {
    let diags: Vec<_> = report
        .diagnostics
        .iter()
        .map(|d| {
            json!({
                "severity": if d.severity == Severity::Error { "error" } else { "warning" },
                "rule": d.rule,
                "graph": d.graph,
                "node": d.node,
                "message": d.message,
            })
        })
        .collect();
    json!({
        "valid": report.is_valid(),
        "errors": report.errors().count(),
        "warnings": report.warnings().count(),
        "diagnostics": diags,
        "load_warnings": load_warnings,
    })
}

/// For commands that write a model anyway: one warning line per checker error (at most five,
/// then a count), so that nothing is written without the user hearing what is wrong with it.
pub fn warn_invalid(validated: &ferry::check::Validated<'_>) {
    let errors: Vec<String> = validated.report().errors().map(ToString::to_string).collect();
    for e in errors.iter().take(5) {
        eprintln!("warning: {e}");
    }
    if errors.len() > 5 {
        eprintln!("warning: ... and {} more errors (ferry check lists them all)", errors.len() - 5);
    }
}
