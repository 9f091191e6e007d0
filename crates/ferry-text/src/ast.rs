//! The parsed text before names are bound: graphs, nodes and attributes as written.
//!
//! Binding cannot happen while parsing: a node may read a value that a later node defines (an
//! unsorted graph), and a subgraph may read any value of its enclosing graphs, including ones
//! defined after the node that owns it. So the parser builds this tree, and `build` turns it
//! into IR graphs in the same order `ferry-onnx`'s importer binds a `GraphProto`, giving the
//! same values, uses and captures.
//!
//! Types and tensors need no binding and are parsed straight into IR types.

use ferry_ir::{AttrValue, OpsetImport, StringEntry, Tensor, Type};

/// A name and the byte offset where it was written (for errors found while binding).
#[derive(Clone, Debug)]
pub(crate) struct Name {
    pub text: String,
    pub pos: usize,
}

/// A value declaration: a graph input or output, or a `value_info` entry.
#[derive(Clone, Debug)]
pub(crate) struct Decl {
    pub name: Name,
    pub ty: Option<Type>,
}

#[derive(Clone, Debug, Default)]
pub(crate) struct GraphAst {
    pub name: Option<String>,
    pub pos: usize,
    pub inputs: Vec<Decl>,
    pub outputs: Vec<Decl>,
    /// Initializers, named by their tensor's name, with where each was written.
    pub initializers: Vec<(usize, Tensor)>,
    pub value_info: Vec<Decl>,
    pub nodes: Vec<NodeAst>,
}

#[derive(Clone, Debug)]
pub(crate) struct NodeAst {
    pub pos: usize,
    pub name: Option<String>,
    /// Output names; "" is an unused optional output.
    pub outputs: Vec<Name>,
    pub domain: Option<String>,
    pub op_type: String,
    pub overload: Option<String>,
    pub attributes: Vec<AttrAst>,
    /// Input names; "" is an omitted optional input.
    pub inputs: Vec<Name>,
}

#[derive(Clone, Debug)]
pub(crate) struct AttrAst {
    pub name: String,
    /// `@name`: the value comes from the enclosing function's attribute.
    pub ref_attr_name: Option<String>,
    /// The `AttributeType` code, from the `: type` annotation or inferred from the value.
    pub declared: Option<i32>,
    pub value: AttrValueAst,
}

/// An attribute value; graphs stay unbound until their enclosing graph's names are known.
#[derive(Clone, Debug)]
pub(crate) enum AttrValueAst {
    Plain(AttrValue),
    Graph(Box<GraphAst>),
    Graphs(Vec<GraphAst>),
}

/// A model-local function as written.
#[derive(Clone, Debug, Default)]
pub(crate) struct FunctionAst {
    pub pos: usize,
    pub name: String,
    pub domain: Option<String>,
    pub overload: Option<String>,
    pub doc_string: Option<String>,
    pub opset_imports: Vec<OpsetImport>,
    pub attributes: Vec<String>,
    pub attribute_defaults: Vec<AttrAst>,
    pub inputs: Vec<Name>,
    pub outputs: Vec<Name>,
    /// Types given on inputs and outputs, then the `<...>` list, in that order (as onnx does).
    pub value_info: Vec<Decl>,
    pub nodes: Vec<NodeAst>,
}

/// The `<key: value, ...>` header of a model.
#[derive(Clone, Debug, Default)]
pub(crate) struct ModelHeader {
    pub ir_version: Option<i64>,
    pub opset_imports: Vec<OpsetImport>,
    pub producer_name: Option<String>,
    pub producer_version: Option<String>,
    pub domain: Option<String>,
    pub model_version: Option<i64>,
    pub doc_string: Option<String>,
    pub metadata_props: Vec<StringEntry>,
}

#[derive(Clone, Debug)]
pub(crate) struct ModelAst {
    pub header: ModelHeader,
    pub graph: GraphAst,
    pub functions: Vec<FunctionAst>,
}
