//! Golden tests: `tests/golden/<pass>/<case>.onnxtxt` holds a model in the ONNX text syntax, a
//! line `# ---- after: N rewrites ----`, and the model the pass must leave (printed by
//! `ferry_text`). The pass named by the directory runs alone, to a fixed point, with
//! `verify_each`. `BLESS=1` rewrites the expected part from what the pass does.

use ferry_passes::{PassManager, passes_by_name};
use std::path::{Path, PathBuf};

const MARK: &str = "# ---- after: ";

fn golden_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/golden")
}

fn run_case(pass: &str, path: &Path, bless: bool) -> Result<(), String> {
    let text = std::fs::read_to_string(path).map_err(|e| e.to_string())?;
    let (before, after) = match text.find(MARK) {
        Some(i) => (&text[..i], Some(&text[i..])),
        None => (text.as_str(), None),
    };
    let mut model = ferry_text::parse_model(before).map_err(|e| format!("before: {e}"))?;
    let valid_before = ferry_check::check_full(&model).is_valid();
    let manager = PassManager::new(passes_by_name(&[pass]).map_err(|e| e.to_string())?)
        .verify_each(true)
        .max_rounds(4);
    let report = manager.run(&mut model).map_err(|e| e.to_string())?;
    if !report.converged {
        return Err(format!("did not converge in {} rounds", report.rounds));
    }
    let got = ferry_text::print_model(&model);
    let after_report = ferry_check::check_full(&model);
    if valid_before && !after_report.is_valid() {
        let errors: Vec<String> = after_report.errors().map(|d| d.to_string()).collect();
        return Err(format!("the result is invalid: {}", errors.join("; ")));
    }
    let header = format!("{MARK}{} rewrites ----\n", report.rewrites);
    if bless {
        let new = format!("{}{header}{got}", before.trim_end().to_string() + "\n\n");
        std::fs::write(path, new).map_err(|e| e.to_string())?;
        return Ok(());
    }
    let after = after.ok_or("no expected part; run with BLESS=1")?;
    let (head, body) = after.split_once('\n').unwrap_or((after, ""));
    let want_header = format!("{head}\n");
    let want_model = ferry_text::parse_model(body).map_err(|e| format!("after: {e}"))?;
    let want = ferry_text::print_model(&want_model);
    if want_header != header {
        return Err(format!("expected `{}`, got `{}`", want_header.trim(), header.trim()));
    }
    if want != got {
        return Err(format!("expected:\n{want}\ngot:\n{got}"));
    }
    Ok(())
}

#[test]
fn golden() {
    let bless = std::env::var_os("BLESS").is_some();
    let mut failures = Vec::new();
    let mut cases = 0;
    let mut dirs: Vec<_> = std::fs::read_dir(golden_dir()).unwrap().flatten().collect();
    dirs.sort_by_key(|e| e.path());
    for dir in dirs {
        let pass = dir.file_name().to_string_lossy().into_owned();
        let files = ferry_testkit::find_files(&dir.path(), &|p| {
            p.extension().is_some_and(|x| x == "onnxtxt")
        });
        assert!(!files.is_empty(), "no cases for {pass}");
        for f in files {
            cases += 1;
            if let Err(e) = run_case(&pass, &f, bless) {
                failures.push(format!("{}: {e}", f.display()));
            }
        }
    }
    assert!(cases > 0);
    assert!(
        failures.is_empty(),
        "{} of {cases} golden cases failed:\n{}",
        failures.len(),
        failures.join("\n\n")
    );
}

/// Every pass has golden cases.
#[test]
fn every_pass_has_cases() {
    for p in ferry_passes::all_passes() {
        let dir = golden_dir().join(p.name());
        assert!(dir.is_dir(), "no golden directory for {}", p.name());
    }
}
