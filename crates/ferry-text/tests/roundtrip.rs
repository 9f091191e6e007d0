//! print -> parse must give back the same model, for every model of the ONNX backend test
//! suite (`FERRY_CONFORMANCE_DIR`) and of `testdata/onnx/`.
//!
//! "The same" is `common::compare::models`: nodes, declarations with types, initializers
//! with bytes, functions. A model whose printing dropped something the syntax cannot carry
//! (`print_model_report`'s `dropped`) may differ, and is listed with the reason; a model that
//! dropped nothing must compare equal. Printing the re-parsed model must also give exactly the
//! same text (the printer is deterministic and the parser loses nothing it printed).

mod common;

use std::path::{Path, PathBuf};

enum Outcome {
    Same,
    /// ferry-onnx refuses the file (a deliberately broken test model): nothing to print.
    NotLoadable(String),
    /// Differs, and the printer said what it left out.
    Lossy {
        diff: Option<String>,
        dropped: Vec<String>,
    },
}

fn roundtrip(path: &Path) -> Result<Outcome, String> {
    let opts = ferry_onnx::LoadOptions { resolve_external: false, sort_nodes: false };
    let model = match ferry_onnx::load_with(path, &opts) {
        Ok(l) => l.model,
        Err(e) => return Ok(Outcome::NotLoadable(e.to_string())),
    };
    let printed = ferry_text::print_model_report(&model);
    let reparsed = ferry_text::parse_model(&printed.text)
        .map_err(|e| format!("the printed text does not parse: {e:#}"))?;
    let again = ferry_text::print_model(&reparsed);
    if again != printed.text {
        let line = again.lines().zip(printed.text.lines()).position(|(a, b)| a != b);
        return Err(format!("printing the re-parsed model changes the text (line {line:?})"));
    }
    let diff = common::compare::models(&model, &reparsed).err();
    match (diff, printed.dropped.is_empty()) {
        (None, true) => Ok(Outcome::Same),
        (diff, false) => Ok(Outcome::Lossy { diff, dropped: printed.dropped }),
        (Some(d), true) => Err(format!("differs although nothing was dropped: {d}")),
    }
}

fn run(label: &str, root: &Path, files: &[PathBuf]) {
    let (mut same, mut lossy, mut failures, mut refused) = (0, Vec::new(), Vec::new(), Vec::new());
    for f in files {
        let name = f.strip_prefix(root).unwrap_or(f).display().to_string();
        match roundtrip(f) {
            Ok(Outcome::Same) => same += 1,
            Ok(Outcome::NotLoadable(e)) => refused.push(format!("{name}: {e}")),
            Ok(Outcome::Lossy { diff, dropped }) => lossy.push((name, diff, dropped)),
            Err(e) => failures.push(format!("{name}: {e}")),
        }
    }
    println!(
        "{label}: {same} of {} models print and parse back to the same graph; {} carry something \
         the syntax cannot express",
        files.len() - refused.len(),
        lossy.len()
    );
    for r in &refused {
        println!("  not loadable, skipped: {r}");
    }
    for (name, diff, dropped) in &lossy {
        let effect = match diff {
            Some(d) => format!("differs: {d}"),
            None => "the compared structure survives".to_string(),
        };
        println!("  {name}: {effect}; dropped {}: {}", dropped.len(), dropped[0]);
    }
    assert!(failures.is_empty(), "{} failures:\n{}", failures.len(), failures.join("\n"));
}

#[test]
fn testdata_models() {
    let root = common::repo_root().join("testdata/onnx");
    let files = common::onnx_files(&root);
    assert!(!files.is_empty(), "no models in {}", root.display());
    run("testdata", &root, &files);
}

#[test]
fn backend_suite() {
    let Some(dir) = common::conformance_dir() else { return };
    let files = common::onnx_files(&dir);
    assert!(files.len() > 1000, "only {} models in {}", files.len(), dir.display());
    run("ONNX backend suite", &dir, &files);
}

/// The shared corpus of real models (`FERRY_CORPUS`, as for ferry-onnx's round trip), if set.
#[test]
fn corpus_models() {
    let Some(dir) = std::env::var_os("FERRY_CORPUS").map(PathBuf::from) else {
        println!("skipped: FERRY_CORPUS is not set");
        return;
    };
    let root = dir.join("models");
    let files = common::onnx_files(&root);
    run("shared corpus", &root, &files);
}
