//! Rules for one node against its operator's schema: the operator exists at the model's opset,
//! input and output counts, required inputs present, attributes known, of the right type and
//! present when required, and input types allowed by the type constraints.

use crate::diag::Sink;
use crate::typestr;
use ferry_ir::{AttrValue, Graph, Node, NodeId, Type, attr_type};
use ferry_ops::{OpSchema, Opt};
use std::collections::HashMap;

/// What a node is checked against.
pub(crate) struct NodeCtx<'a> {
    /// Imported opset versions by canonical domain ("" for ai.onnx).
    pub opsets: &'a HashMap<String, i64>,
    /// Model-local functions by (canonical domain, name, overload).
    pub functions: &'a HashMap<ferry_ir::FunctionKey, usize>,
    /// The node sits in a function body (where attribute references are allowed).
    pub in_function: bool,
}

/// The domains whose operators ONNX itself defines: nodes there must match a schema.
const STANDARD: [&str; 4] = ["", "ai.onnx.ml", "ai.onnx.preview.training", "ai.onnx.preview"];

pub(crate) fn check_node(
    g: &Graph,
    id: NodeId,
    ctx: &NodeCtx<'_>,
    types: &dyn Fn(ferry_ir::ValueId) -> Option<Type>,
    sink: &mut Sink<'_>,
) {
    let n = g.node(id);
    let label = Some(n.label());
    if n.op_type.is_empty() {
        sink.error("empty-op-type", label, "the node has no op_type");
        return;
    }
    for a in &n.attributes {
        if a.ref_attr_name.is_some() && !ctx.in_function {
            sink.error(
                "attribute-reference",
                label.clone(),
                format!(
                    "attribute '{}' refers to a function attribute outside a function body",
                    a.name
                ),
            );
        }
    }
    let domain = n.canonical_domain().to_string();
    let Some(&version) = ctx.opsets.get(&domain) else {
        let shown = if domain.is_empty() { "ai.onnx" } else { &domain };
        sink.error(
            "no-opset-import",
            label,
            format!("the model imports no opset for domain '{shown}'"),
        );
        return;
    };
    if ctx.functions.contains_key(&n.call_key()) {
        return;
    }
    if !STANDARD.contains(&domain.as_str()) {
        return; // A custom domain: ferry has no schema to hold the node to.
    }
    let Some(schema) = ferry_ops::lookup(&domain, &n.op_type, version) else {
        let shown = if domain.is_empty() { "ai.onnx" } else { &domain };
        let first = ferry_ops::versions(&domain, &n.op_type).first().map(|s| s.since_version);
        let msg = match first {
            Some(v) => format!(
                "{} is not defined in {shown} opset {version} (it first appears in opset {v})",
                n.op_type
            ),
            None => format!("no operator {} is registered in domain {shown}", n.op_type),
        };
        sink.error("unknown-op", label, msg);
        return;
    };
    if schema.deprecated {
        sink.error(
            "deprecated-op",
            label.clone(),
            format!(
                "{} is deprecated as of {} opset {}",
                n.op_type,
                shown_domain(&domain),
                schema.since_version
            ),
        );
    }
    check_arity(n, schema, sink);
    check_attributes(n, schema, sink);
    check_types(n, schema, types, sink);
}

fn shown_domain(d: &str) -> &str {
    if d.is_empty() { "ai.onnx" } else { d }
}

fn count_range(min: u32, max: u32) -> String {
    match (min, max) {
        (a, b) if a == b => format!("{a}"),
        (a, u32::MAX) => format!("at least {a}"),
        (a, b) => format!("{a} to {b}"),
    }
}

fn check_arity(n: &Node, s: &OpSchema, sink: &mut Sink<'_>) {
    let label = || Some(n.label());
    let (ni, no) = (n.inputs().len() as u64, n.outputs().len() as u64);
    if ni < u64::from(s.min_input) || ni > u64::from(s.max_input) {
        sink.error(
            "input-count",
            label(),
            format!(
                "{} takes {} inputs at this opset, the node has {ni}",
                n.op_type,
                count_range(s.min_input, s.max_input)
            ),
        );
    }
    if no < u64::from(s.min_output) || no > u64::from(s.max_output) {
        sink.error(
            "output-count",
            label(),
            format!(
                "{} has {} outputs at this opset, the node has {no}",
                n.op_type,
                count_range(s.min_output, s.max_output)
            ),
        );
    }
    for (i, formal) in s.inputs.iter().enumerate() {
        if formal.option == Opt::Single && n.inputs().get(i).is_some_and(Option::is_none) {
            sink.error(
                "missing-input",
                label(),
                format!(
                    "input {i} ('{}') of {} is required but the node leaves it empty",
                    formal.name, n.op_type
                ),
            );
        }
    }
}

fn check_attributes(n: &Node, s: &OpSchema, sink: &mut Sink<'_>) {
    for a in &n.attributes {
        let Some(sa) = s.attribute(&a.name) else {
            sink.error(
                "attribute-unknown",
                Some(n.label()),
                format!("{} has no attribute '{}' at this opset", n.op_type, a.name),
            );
            continue;
        };
        // A reference to a function attribute carries its type but no value.
        if a.ref_attr_name.is_some() {
            continue;
        }
        let actual = match (&a.value, a.declared) {
            (AttrValue::Empty, Some(d)) => d,
            (v, _) => v.type_code(),
        };
        if let Some(d) = a.declared
            && d != attr_type::UNDEFINED
            && d != actual
        {
            sink.error(
                "attribute-type",
                Some(n.label()),
                format!(
                    "attribute '{}' is declared as type {} but holds a value of type {}",
                    a.name,
                    type_name(d),
                    type_name(actual)
                ),
            );
        } else if actual != sa.ty {
            sink.error(
                "attribute-type",
                Some(n.label()),
                format!(
                    "attribute '{}' of {} must be {}, found {}",
                    a.name,
                    n.op_type,
                    type_name(sa.ty),
                    type_name(actual)
                ),
            );
        }
    }
    for sa in s.attributes.iter().filter(|a| a.required) {
        if n.attr(sa.name).is_none() {
            sink.error(
                "attribute-required",
                Some(n.label()),
                format!("{} requires attribute '{}'", n.op_type, sa.name),
            );
        }
    }
}

fn type_name(code: i32) -> &'static str {
    match code {
        attr_type::FLOAT => "FLOAT",
        attr_type::INT => "INT",
        attr_type::STRING => "STRING",
        attr_type::TENSOR => "TENSOR",
        attr_type::GRAPH => "GRAPH",
        attr_type::FLOATS => "FLOATS",
        attr_type::INTS => "INTS",
        attr_type::STRINGS => "STRINGS",
        attr_type::TENSORS => "TENSORS",
        attr_type::GRAPHS => "GRAPHS",
        attr_type::SPARSE_TENSOR => "SPARSE_TENSOR",
        attr_type::SPARSE_TENSORS => "SPARSE_TENSORS",
        attr_type::TYPE_PROTO => "TYPE_PROTO",
        attr_type::TYPE_PROTOS => "TYPE_PROTOS",
        _ => "UNDEFINED",
    }
}

/// Input types (where known) must be allowed by the schema, and inputs sharing a type parameter
/// must agree on it.
fn check_types(
    n: &Node,
    s: &OpSchema,
    types: &dyn Fn(ferry_ir::ValueId) -> Option<Type>,
    sink: &mut Sink<'_>,
) {
    let mut bound: HashMap<&str, (String, usize)> = HashMap::new();
    for (i, input) in n.inputs().iter().enumerate() {
        let Some(v) = input else { continue };
        let Some(formal) =
            s.inputs.get(i).or_else(|| s.inputs.last().filter(|f| f.option == Opt::Variadic))
        else {
            continue;
        };
        let Some(actual) = types(*v).as_ref().and_then(typestr::of_type) else { continue };
        let (allowed, param): (Vec<String>, Option<&str>) = match s.type_constraint(formal.type_str)
        {
            Some(tc) => {
                (tc.allowed.iter().map(|a| typestr::canonical(a)).collect(), Some(tc.param))
            }
            None => (vec![typestr::canonical(formal.type_str)], None),
        };
        if !allowed.contains(&actual) {
            sink.error(
                "type-constraint",
                Some(n.label()),
                format!(
                    "input {i} ('{}') of {} has type {actual}, which {} does not allow",
                    formal.name,
                    n.op_type,
                    param.map_or_else(
                        || format!("'{}'", formal.type_str),
                        |p| format!("type parameter {p}")
                    )
                ),
            );
            continue;
        }
        let homogeneous = formal.option != Opt::Variadic || formal.homogeneous;
        if let (Some(p), true) = (param, homogeneous) {
            match bound.get(p) {
                Some((t, j)) if *t != actual => sink.error(
                    "type-constraint",
                    Some(n.label()),
                    format!("inputs {j} and {i} of {} must share type parameter {p}, but are {t} and {actual}", n.op_type),
                ),
                Some(_) => {}
                None => {
                    bound.insert(p, (actual, i));
                }
            }
        }
    }
}
