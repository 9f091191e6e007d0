//! Bytes -> `load_bytes` -> `to_bytes`, and the export must be a fixed point.
//!
//! For any input that loads:
//! - `to_proto` and `to_bytes` agree;
//! - the exported bytes load again, and exporting that model gives the same bytes (the export is
//!   stable: import followed by export is idempotent on its own output);
//! - with `FERRY_FUZZ_LOSSLESS=1`, also the documented lossless property: the export encodes
//!   exactly like the decoded input (`encode(decode(input)) == to_bytes(load(input))`). Off by
//!   default because known presence gaps (absent `op_type`, attribute or value names exported as
//!   empty strings) trip it at once.
//!
//! An input that loads is loaded again with `sort_nodes` on; one that does not is retried with
//! `resolve_external` off. Those exports must re-load and be stable too.
#![no_main]

use bytes::Bytes;
use ferry_onnx::LoadOptions;
use libfuzzer_sys::fuzz_target;
use prost::Message;
use std::sync::OnceLock;

fn lossless_check() -> bool {
    static ON: OnceLock<bool> = OnceLock::new();
    *ON.get_or_init(|| std::env::var_os("FERRY_FUZZ_LOSSLESS").is_some_and(|v| v != "0"))
}

/// Loads `input`; when it loads, checks the export loads again to the same bytes. Returns the
/// export.
fn check(input: &Bytes, opts: &LoadOptions, what: &str) -> Option<Vec<u8>> {
    let loaded = ferry_onnx::load_bytes(input.clone(), None, opts).ok()?;
    let proto = ferry_onnx::to_proto(&loaded.model);
    // Refused only past protobuf's 2 GiB limit, which an input of a few MiB cannot reach.
    let first = ferry_onnx::to_bytes(&loaded.model)
        .unwrap_or_else(|e| panic!("{what}: to_bytes failed on a loaded model: {e}"));
    assert!(proto.encode_to_vec() == first, "{what}: to_proto and to_bytes disagree");
    let again = ferry_onnx::load_bytes(Bytes::from(first.clone()), None, opts)
        .unwrap_or_else(|e| panic!("{what}: the export does not load again: {e}"));
    let second = ferry_onnx::to_bytes(&again.model)
        .unwrap_or_else(|e| panic!("{what}: to_bytes failed on the re-loaded export: {e}"));
    assert!(
        first == second,
        "{what}: exporting the re-loaded export gives different bytes ({} vs {} bytes)",
        first.len(),
        second.len()
    );
    Some(first)
}

fuzz_target!(|data: &[u8]| {
    let input = Bytes::copy_from_slice(data);
    let default = LoadOptions::default();
    let Some(first) = check(&input, &default, "default options") else {
        // Without resolving external data, more inputs load: check those as well.
        let opts = LoadOptions { resolve_external: false, ..LoadOptions::default() };
        check(&input, &opts, "resolve_external off");
        return;
    };
    if lossless_check() {
        let decoded = ferry_onnx::decode(input.clone(), "the input").expect("it loaded");
        assert!(decoded.encode_to_vec() == first, "the export differs from the decoded input");
    }
    check(&input, &LoadOptions { sort_nodes: true, ..LoadOptions::default() }, "sort_nodes");
});
