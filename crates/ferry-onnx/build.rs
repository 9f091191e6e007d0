//! Generates the prost types for the ONNX schema in `proto/onnx/` at build time.
//!
//! `protox` compiles the `.proto` files in Rust, so building ferry needs no system `protoc`;
//! since nothing generated is checked in, the code can never drift from the vendored schema.

use std::path::PathBuf;

fn main() {
    // Read at run time, not baked in with env!(): the build script binary may be reused from a
    // checkout in another directory that shares the target directory.
    let manifest = std::env::var("CARGO_MANIFEST_DIR").unwrap_or_else(|_| ".".into());
    let root = PathBuf::from(manifest).join("../../proto");
    let files = [root.join("onnx/onnx-ml.proto"), root.join("onnx/onnx-data.proto")];
    for f in &files {
        println!("cargo:rerun-if-changed={}", f.display());
    }
    let descriptors = match protox::compile(&files, [&root]) {
        Ok(d) => d,
        Err(e) => panic!("cannot compile the ONNX schema: {e}"),
    };
    write_field_table(&descriptors);
    let mut config = prost_build::Config::new();
    // Tensor payloads become `bytes::Bytes`, so decoding from a memory map slices instead of copying.
    config.bytes(["."]);
    if let Err(e) = config.compile_fds(descriptors) {
        panic!("cannot generate Rust code for the ONNX schema: {e}");
    }
}

/// A message's full name and its fields: (number, message type or "", name).
type MessageFields = (String, Vec<(i32, String, String)>);

/// Writes `schema_fields.rs`: for every message, its field numbers and, for message-typed fields,
/// the message type. `unknown.rs` walks raw bytes with it to name fields the schema does not
/// know (prost drops those silently; ferry reports them).
fn write_field_table(fds: &prost_types::FileDescriptorSet) {
    fn walk(prefix: &str, msg: &prost_types::DescriptorProto, out: &mut Vec<MessageFields>) {
        let name = format!("{prefix}.{}", msg.name());
        let fields = msg
            .field
            .iter()
            .map(|f| {
                // Type 11 is TYPE_MESSAGE in descriptor.proto.
                let ty =
                    if f.r#type == Some(11) { f.type_name().to_string() } else { String::new() };
                (f.number(), ty, f.name().to_string())
            })
            .collect();
        out.push((name.clone(), fields));
        for nested in &msg.nested_type {
            walk(&name, nested, out);
        }
    }
    let mut messages = Vec::new();
    for file in &fds.file {
        let prefix = format!(".{}", file.package());
        for m in &file.message_type {
            walk(&prefix, m, &mut messages);
        }
    }
    messages.sort();
    messages.dedup_by(|a, b| a.0 == b.0);
    let mut code = String::from(
        "/// (message, [(field number, message type or \"\", field name)]), sorted by message.\n",
    );
    code.push_str("pub(crate) type Field = (u32, &'static str, &'static str);\n");
    code.push_str("pub(crate) static MESSAGES: &[(&str, &[Field])] = &[\n");
    for (name, fields) in &messages {
        code.push_str(&format!("    ({name:?}, &["));
        for (n, ty, fname) in fields {
            code.push_str(&format!("({n}, {ty:?}, {fname:?}), "));
        }
        code.push_str("]),\n");
    }
    code.push_str("];\n");
    let out = PathBuf::from(std::env::var("OUT_DIR").unwrap_or_else(|_| ".".into()))
        .join("schema_fields.rs");
    if let Err(e) = std::fs::write(&out, code) {
        panic!("cannot write {}: {e}", out.display());
    }
}
