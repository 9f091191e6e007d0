//! The ONNX textual syntax for ferry's IR: the language of `onnx.parser` and `onnx.printer`
//! (onnx's `docs/Syntax.md`).
//!
//! ```text
//! <ir_version: 10, opset_import: ["" : 21]>
//! agraph (float[N,3] X, float[3] B) => (float[N,3] Y)
//!    <float[3] B = {0.5, 0.5, 0.5}>
//! {
//!    T = Relu (X)
//!    Y = Add (T, B)
//! }
//! ```
//!
//! Its main use is writing small graphs for tests (checker, inference, optimizer passes) in a
//! few readable lines, and reading a model back as text (`ferry print`). Text onnx parses means
//! the same here; ferry additionally reads quoted operator, attribute and subgraph names, lists
//! of tensors, graphs and types, and packs 4- and 2-bit tensor literals the way ONNX stores
//! them (see `tensors.rs`).
//!
//! - [`parse_model`] / [`parse_graph`]: text -> IR, binding names exactly as `ferry-onnx`'s
//!   importer binds a `ModelProto`, with errors at a line and column.
//! - [`print_model`] / [`print_graph`]: IR -> text that parses back to the same graph,
//!   deterministically. The syntax has no place for some fields (doc strings, metadata, sparse
//!   tensors, training info, ...); [`print_model_report`] also lists what was left out.

mod ast;
mod attrs;
mod build;
mod calls;
mod cursor;
mod error;
mod lexer;
mod names;
mod parser;
mod print_attr;
mod print_tensor;
mod printer;
mod tensors;
mod types;

pub use error::ParseError;

use ferry_ir::{Graph, Model};

/// Parses a model: an optional `<ir_version: .., opset_import: [..]>` header, the main graph,
/// then model-local functions.
pub fn parse_model(text: &str) -> Result<Model, ParseError> {
    let ast = cursor::Parser::new(text).model()?;
    build::Builder { src: text }.model(ast)
}

/// Parses one graph, `name (inputs) => (outputs) { nodes }`, with nothing around it.
pub fn parse_graph(text: &str) -> Result<Graph, ParseError> {
    let ast = cursor::Parser::new(text).graph_only()?;
    build::Builder { src: text }.graph(ast, None)
}

/// A printed model and what the syntax could not carry.
#[derive(Clone, Debug, Default)]
pub struct Printed {
    pub text: String,
    /// One line per field or value left out (or written inexactly), saying where it was:
    /// `graph 'main' / node 'n1' (Conv): doc_string`. Empty when the text carries everything
    /// the syntax can express about the model.
    pub dropped: Vec<String>,
}

/// Prints a model in the text syntax.
pub fn print_model(model: &Model) -> String {
    print_model_report(model).text
}

/// Prints a model and lists what the syntax could not carry.
pub fn print_model_report(model: &Model) -> Printed {
    let mut p = printer::Printer::default();
    let mut text = String::new();
    p.model(&mut text, model);
    Printed { text, dropped: p.dropped }
}

/// Prints one graph (no model header, no functions).
pub fn print_graph(graph: &Graph) -> String {
    print_graph_report(graph).text
}

/// Prints one graph and lists what the syntax could not carry.
pub fn print_graph_report(graph: &Graph) -> Printed {
    let mut p = printer::Printer::default();
    let mut text = String::new();
    p.graph(&mut text, graph, 0, &printer::graph_path(graph));
    text.push('\n');
    Printed { text, dropped: p.dropped }
}
