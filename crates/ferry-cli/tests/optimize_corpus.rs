//! `ferry optimize` (numeric check on) over every ONNX model of the shared corpus: prints one
//! line per model (checked by which reference / not checked and why / mismatch, and whether the
//! rewritten regions or the whole models were run) and fails on any mismatch or failed run.
//! Skips when `FERRY_CORPUS` is unset.
//!
//! onnxruntime joins tract as a reference when the binary has the `ort` feature and
//! `ORT_DYLIB_PATH` is set (see crates/ferry-verify); CI runs with tract alone.

use serde_json::Value as Json;
use std::path::Path;
use std::process::Command;
use std::time::Instant;

/// Inputs the default open-dim rule gets wrong for a model, pinned as a user would: these silero
/// VAD models take any number of audio samples but need at least 512 (their STFT reflect-pads
/// by 32), and a state batch matching the input's.
fn pins(name: &str) -> &'static [&'static str] {
    const SILERO: &[&str] = &[
        "silero-vad__silero_vad",
        "silero-vad__silero_vad_16k_op15",
        "silero-vad__silero_vad_half",
        "silero-vad__silero_vad_op18_ifless",
    ];
    if SILERO.contains(&name) { &["--input-shape", "input:1,512", "state:2,1,128"] } else { &[] }
}

#[test]
fn optimize_checks_every_corpus_model() {
    let Some(corpus) = std::env::var_os("FERRY_CORPUS").map(std::path::PathBuf::from) else {
        eprintln!("skipped: FERRY_CORPUS is not set");
        return;
    };
    let mut models: Vec<_> = std::fs::read_dir(corpus.join("models"))
        .map(|rd| rd.flatten().map(|e| e.path()).collect())
        .unwrap_or_default();
    models.retain(|p: &std::path::PathBuf| p.extension().is_some_and(|e| e == "onnx"));
    models.sort();
    assert!(!models.is_empty(), "no .onnx models under {}", corpus.display());
    let dir = tempfile::tempdir().unwrap();
    let start = Instant::now();
    let (mut by_ref, mut not_checked, mut failures) =
        (std::collections::BTreeMap::<String, usize>::new(), 0, Vec::new());
    let (mut local, mut whole) = (0, 0);
    println!("{:<56} {:>6} {:>6}  check", "model", "nodes", "after");
    for m in &models {
        let name = m.file_stem().unwrap_or_default().to_string_lossy().into_owned();
        let out = dir.path().join(format!("{name}.onnx"));
        let mut args = vec!["optimize".as_ref(), m.as_os_str(), out.as_os_str(), "--json".as_ref()];
        args.extend(pins(&name).iter().map(|s| Path::new(s).as_os_str()));
        let o = Command::new(env!("CARGO_BIN_EXE_ferry")).args(&args).output().expect("run ferry");
        let doc: Json = serde_json::from_slice(&o.stdout).unwrap_or(Json::Null);
        let c = &doc["check"];
        let mut line = c["message"].as_str().unwrap_or("").to_string();
        match c["scope"]["whole"].as_bool() {
            Some(false) => {
                local += 1;
                line = format!(
                    "[regions: {} of {} rewritten values] {line}",
                    c["scope"]["checked_values"], c["scope"]["rewritten_values"]
                );
            }
            Some(true) => {
                whole += 1;
                let why = c["notes"].get(0).and_then(Json::as_str).unwrap_or("");
                line = format!("[whole: {why}] {line}");
            }
            None => {}
        }
        println!(
            "{name:<56} {:>6} {:>6}  {}",
            doc["nodes"]["before"],
            doc["nodes"]["after"],
            if line.is_empty() { String::from_utf8_lossy(&o.stderr).into_owned() } else { line }
        );
        match (o.status.success(), c["status"].as_str()) {
            (true, Some("ok")) => {
                *by_ref.entry(c["reference"].as_str().unwrap_or("?").to_string()).or_default() += 1
            }
            (true, Some("not checked")) => not_checked += 1,
            _ => failures.push(format!("{name}: {}", String::from_utf8_lossy(&o.stderr).trim())),
        }
    }
    println!(
        "{} models in {:.1} s: checked {by_ref:?} ({local} by their rewritten regions, {whole} \
         whole), not checked {not_checked}, failed {}",
        models.len(),
        start.elapsed().as_secs_f64(),
        failures.len()
    );
    assert!(failures.is_empty(), "ferry optimize failed its check:\n{}", failures.join("\n"));
}
