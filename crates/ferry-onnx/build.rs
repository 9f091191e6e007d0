//! Generates the prost types for the ONNX schema in `proto/onnx/` at build time.
//!
//! `protox` compiles the `.proto` files in Rust, so building ferry needs no system `protoc`;
//! since nothing generated is checked in, the code can never drift from the vendored schema.

use std::path::PathBuf;

fn main() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../proto");
    let files = [root.join("onnx/onnx-ml.proto"), root.join("onnx/onnx-data.proto")];
    for f in &files {
        println!("cargo:rerun-if-changed={}", f.display());
    }
    let descriptors = match protox::compile(&files, [&root]) {
        Ok(d) => d,
        Err(e) => panic!("cannot compile the ONNX schema: {e}"),
    };
    let mut config = prost_build::Config::new();
    // Tensor payloads become `bytes::Bytes`, so decoding from a memory map slices instead of copying.
    config.bytes(["."]);
    if let Err(e) = config.compile_fds(descriptors) {
        panic!("cannot generate Rust code for the ONNX schema: {e}");
    }
}
