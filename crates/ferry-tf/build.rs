//! Generates the prost types for TensorFlow's schemas in `proto/tensorflow/` at build time.
//!
//! As for the ONNX schema (`crates/ferry-onnx/build.rs`), `protox` compiles the `.proto` files in
//! Rust, so no system `protoc` is needed and nothing generated is checked in.

use std::path::PathBuf;

fn main() {
    // Read at run time, not baked in with env!(): the build script binary may be reused from a
    // checkout in another directory that shares the target directory.
    let manifest = std::env::var("CARGO_MANIFEST_DIR").unwrap_or_else(|_| ".".into());
    let root = PathBuf::from(manifest).join("../../proto/tensorflow");
    let files = [
        root.join("tensorflow/core/framework/graph.proto"),
        root.join("tensorflow/core/protobuf/saved_model.proto"),
        root.join("tensorflow/core/protobuf/tensor_bundle.proto"),
    ];
    println!("cargo:rerun-if-changed={}", root.display());
    let descriptors = match protox::compile(&files, [&root]) {
        Ok(d) => d,
        Err(e) => panic!("cannot compile the TensorFlow schema: {e}"),
    };
    let mut config = prost_build::Config::new();
    // Tensor payloads (`tensor_content`) become `bytes::Bytes`, so decoding from a memory map
    // slices instead of copying.
    config.bytes(["."]);
    // Ordered maps: a NodeDef's attributes are visited in the same order on every run, so
    // conversions are reproducible byte for byte.
    config.btree_map(["."]);
    if let Err(e) = config.compile_fds(descriptors) {
        panic!("cannot generate Rust code for the TensorFlow schema: {e}");
    }
}
