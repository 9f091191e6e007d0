//! `ferry print MODEL`: the model in the ONNX text syntax, the language of `onnx.printer` and
//! `onnx.parser`, which `ferry_text::parse_model` reads back.
//!
//! External data is not read: external tensors print as their `["location": ...]` references.
//! What the syntax has no place for (doc strings, metadata, sparse tensors, ...) is left out,
//! and a warning on stderr says how many items and names the first few, so a user never
//! mistakes the text for the whole model.

use ferry::onnx::{self, LoadOptions};
use std::io::Write;
use std::path::Path;

/// How many dropped items the warning lists by name.
const SHOWN: usize = 5;

pub fn run(path: &Path) -> Result<(), String> {
    let opts = LoadOptions { resolve_external: false, sort_nodes: false };
    let loaded = onnx::load_with(path, &opts).map_err(|e| e.to_string())?;
    crate::print_warnings(&loaded.warnings);
    let printed = ferry::text::print_model_report(&loaded.model);
    if !printed.dropped.is_empty() {
        let n = printed.dropped.len();
        eprintln!("warning: the text syntax cannot carry {n} item(s) of this model; left out:");
        for d in printed.dropped.iter().take(SHOWN) {
            eprintln!("warning:   {d}");
        }
        if n > SHOWN {
            eprintln!("warning:   ... and {} more", n - SHOWN);
        }
    }
    let mut out = std::io::stdout().lock();
    match out.write_all(printed.text.as_bytes()).and_then(|()| out.flush()) {
        // `ferry print m.onnx | head` closes the pipe early: not an error.
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => {
            Err(format!("cannot write to stdout: {e}"))
        }
        _ => Ok(()),
    }
}
