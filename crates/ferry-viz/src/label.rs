//! What the boxes and edges say: attributes, folded constants, value types.
//!
//! A box must be readable at a glance, so it shows the op type, then the attributes that change
//! what the op computes (`kernel_shape`, `strides`, `perm`, `axis`, `to`, ...) shortened to one
//! line each, then the constant inputs folded into it (type, and the values themselves when they
//! are a few integers or a scalar, since a Reshape's target shape or a Gather's index is what the
//! reader wants to know). Everything else goes into the hover tooltip.
//!
//! When the operator's schema is known (`ferry-ops`), attributes set to their default value are
//! left out (a Gemm's `alpha=1.0` says nothing) and folded constants are named by the schema's
//! input name (`W`, `B`, `scale`) instead of the exporter's long weight names.

use crate::text::{clip_end, clip_name};
use ferry_ir::{
    AttrValue, Attribute, DataType, DimValue, Initializer, Node, Tensor, Type, TypeKind,
};
use ferry_ops::{AttrDefault, OpSchema, Opt};

/// Longest attribute line in a box, in characters.
const ATTR_CHARS: usize = 34;
/// Longest folded-constant name in a box.
const NAME_CHARS: usize = 22;
/// Longest symbolic dim name in an edge label.
const DIM_CHARS: usize = 12;
/// At most this many attribute lines per box; the rest are counted in a final line.
const MAX_ATTR_LINES: usize = 6;
/// Integer constants with at most this many elements show their values (other constants only
/// when they hold one element).
const SHOWN_VALUES: u64 = 8;

/// Attributes that say most about an op, shown first when a node has many.
const KEY_ATTRS: &[&str] = &[
    "kernel_shape",
    "strides",
    "pads",
    "dilations",
    "group",
    "perm",
    "axis",
    "axes",
    "to",
    "mode",
    "keepdims",
    "transA",
    "transB",
    "epsilon",
    "alpha",
    "beta",
    "value",
];

/// The attribute lines of a node's box: subgraph attributes are left out (they are drawn), and
/// so are attributes that hold their schema's default.
pub fn attr_lines(node: &Node, schema: Option<&OpSchema>) -> Vec<String> {
    let mut attrs: Vec<&Attribute> = node
        .attributes
        .iter()
        .filter(|a| a.value.graphs().is_empty() && !is_default(a, schema))
        .collect();
    attrs.sort_by_key(|a| KEY_ATTRS.iter().position(|k| *k == a.name).unwrap_or(KEY_ATTRS.len()));
    let mut lines: Vec<String> = attrs
        .iter()
        .take(MAX_ATTR_LINES)
        .map(|a| clip_end(&format!("{}={}", a.name, attr_value(a)), ATTR_CHARS))
        .collect();
    if attrs.len() > MAX_ATTR_LINES {
        lines.push(format!("+{} more", attrs.len() - MAX_ATTR_LINES));
    }
    lines
}

/// Whether `a` says nothing its absence would not: its value is the schema's default, or it is
/// an all-zero `pads` / all-one `strides` or `dilations` (which schemas leave without a default
/// but document as the meaning of absence).
fn is_default(a: &Attribute, schema: Option<&OpSchema>) -> bool {
    match (&a.value, a.name.as_str()) {
        (AttrValue::Ints(v), "pads") => return v.iter().all(|&x| x == 0),
        (AttrValue::Ints(v), "strides" | "dilations") => return v.iter().all(|&x| x == 1),
        _ => {}
    }
    let Some(default) = schema.and_then(|s| s.attribute(&a.name)).and_then(|s| s.default.as_ref())
    else {
        return false;
    };
    match (&a.value, default) {
        (AttrValue::Int(v), AttrDefault::Int(d)) => v == d,
        (AttrValue::Float(v), AttrDefault::Float(bits)) => v.to_bits() == *bits,
        (AttrValue::String(v), AttrDefault::String(d)) => v.as_ref() == d.as_bytes(),
        (AttrValue::Ints(v), AttrDefault::Ints(d)) => v.as_slice() == *d,
        (AttrValue::Floats(v), AttrDefault::Floats(d)) => {
            v.len() == d.len() && v.iter().zip(d.iter()).all(|(x, b)| x.to_bits() == *b)
        }
        _ => false,
    }
}

/// The schema's name for input `slot` (`X`, `W`, `B`), if the schema is known. Inputs past a
/// variadic formal share its name with the position appended.
pub fn formal_input(schema: Option<&OpSchema>, slot: usize) -> Option<String> {
    let formals = schema?.inputs;
    for (i, f) in formals.iter().enumerate() {
        if f.option == Opt::Variadic && slot >= i {
            return Some(format!("{}[{}]", f.name, slot - i));
        }
        if i == slot {
            return Some(f.name.to_string());
        }
    }
    None
}

/// An attribute value in full, for tooltips and (clipped) for boxes.
pub fn attr_value(a: &Attribute) -> String {
    let list = |items: Vec<String>| format!("[{}]", items.join(","));
    match &a.value {
        AttrValue::Empty => match &a.ref_attr_name {
            Some(r) => format!("@{r}"),
            None => "[]".into(),
        },
        AttrValue::Float(f) => fmt_float(f64::from(*f)),
        // `Cast(to=1)` means nothing to a reader; `to=float` does.
        AttrValue::Int(i) if a.name == "to" => dtype_name(DataType(*i as i32)),
        AttrValue::Int(i) => i.to_string(),
        AttrValue::String(s) => quoted(s),
        AttrValue::Tensor(t) => tensor_summary(t),
        AttrValue::SparseTensor(s) => format!("sparse{:?}", s.dims),
        AttrValue::Type(t) => t.to_string(),
        AttrValue::Floats(v) => list(v.iter().map(|f| fmt_float(f64::from(*f))).collect()),
        AttrValue::Ints(v) => list(v.iter().map(i64::to_string).collect()),
        AttrValue::Strings(v) => list(v.iter().map(|s| quoted(s)).collect()),
        AttrValue::Tensors(v) => list(v.iter().map(tensor_summary).collect()),
        AttrValue::SparseTensors(v) => format!("{} sparse tensors", v.len()),
        AttrValue::Types(v) => list(v.iter().map(Type::to_string).collect()),
        AttrValue::Graph(_) => "<graph>".into(),
        AttrValue::Graphs(v) => format!("<{} graphs>", v.len()),
    }
}

/// A string attribute as a quoted literal, with quotes, backslashes and control characters
/// escaped (`"a\0b"`): labels must stay one line and printable, whatever the file holds.
fn quoted(bytes: &[u8]) -> String {
    format!("\"{}\"", String::from_utf8_lossy(bytes).escape_debug())
}

fn dtype_name(d: DataType) -> String {
    d.to_string()
}

fn fmt_float(f: f64) -> String {
    if f != 0.0 && (f.abs() < 1e-3 || f.abs() >= 1e6) {
        format!("{f:.3e}")
    } else {
        let s = format!("{f:.4}");
        let s = s.trim_end_matches('0');
        s.strip_suffix('.').map_or_else(|| s.to_string(), |t| format!("{t}.0"))
    }
}

/// `float[64,3,7,7]`, plus the values when there are only a few: `int64[3] = [1,-1,768]`.
pub fn tensor_summary(t: &Tensor) -> String {
    let ty = match t.dtype {
        Some(d) => dtype_name(d),
        None => "?".into(),
    };
    let dims: Vec<String> = t.dims.iter().map(i64::to_string).collect();
    let mut s = format!("{ty}[{}]", dims.join(","));
    if let Some(values) = small_values(t) {
        s.push_str(" = ");
        s.push_str(&values);
    }
    s
}

/// The elements of a small numeric tensor, or `None` when there are many, they are not numbers,
/// or they cannot be read (unresolved external data).
fn small_values(t: &Tensor) -> Option<String> {
    let n = t.element_count()?;
    let dtype = t.dtype?;
    let integer = matches!(dtype, DataType::INT64 | DataType::INT32);
    if n > SHOWN_VALUES || (!integer && n > 1) {
        return None;
    }
    let bytes = t.le_bytes().ok()?;
    let width = match dtype {
        DataType::INT64 | DataType::DOUBLE => 8,
        DataType::INT32 | DataType::FLOAT => 4,
        _ => return None,
    };
    if bytes.len() as u64 != n * width as u64 {
        return None;
    }
    let values: Vec<String> = bytes
        .chunks_exact(width)
        .map(|c| match dtype {
            DataType::INT64 => i64::from_le_bytes(c.try_into().unwrap_or([0; 8])).to_string(),
            DataType::INT32 => i32::from_le_bytes(c.try_into().unwrap_or([0; 4])).to_string(),
            DataType::FLOAT => {
                fmt_float(f64::from(f32::from_le_bytes(c.try_into().unwrap_or([0; 4]))))
            }
            _ => fmt_float(f64::from_le_bytes(c.try_into().unwrap_or([0; 8]))),
        })
        .collect();
    Some(if t.dims.is_empty() { values.join(",") } else { format!("[{}]", values.join(",")) })
}

/// What a folded initializer's line says after the input's name: `float[64,3,7,7]`.
pub fn initializer_text(init: &Initializer) -> String {
    let what = match init {
        Initializer::Dense(t) => tensor_summary(t),
        Initializer::Sparse(s) => {
            let dims: Vec<String> = s.dims.iter().map(i64::to_string).collect();
            format!("sparse[{}]", dims.join(","))
        }
    };
    clip_end(&what, ATTR_CHARS)
}

/// The name a folded constant goes by in a box: the schema's input name when known, else the
/// value's name, shortened.
pub fn folded_name(formal: Option<String>, value_name: &str) -> String {
    formal.unwrap_or_else(|| clip_name(value_name, NAME_CHARS))
}

/// The element type and shape a value is declared with, as an edge label (`float[N,3,224,224]`),
/// or empty when nothing is declared. Long dim names are shortened (exporters produce names
/// like `p2o.DynamicDimension.0` that would run across the picture); the tooltip has them.
pub fn type_label(ty: Option<&Type>) -> String {
    let Some(t) = ty else { return String::new() };
    match &t.kind {
        None => String::new(),
        Some(TypeKind::Tensor(tt)) => {
            let elem = tt.elem.map_or_else(|| "?".to_string(), |e| e.to_string());
            let Some(shape) = &tt.shape else { return elem };
            let dims: Vec<String> = shape
                .dims
                .iter()
                .map(|d| match &d.value {
                    DimValue::Known(n) => n.to_string(),
                    DimValue::Symbol(s) => short_symbol(s),
                    DimValue::Unknown => "?".to_string(),
                })
                .collect();
            format!("{elem}[{}]", dims.join(","))
        }
        // Other types can nest deeply; the tooltip has the rest.
        Some(_) => clip_end(&t.to_string(), 40),
    }
}

/// A symbolic dim as the picture shows it: short names as they are, long names by their tail
/// (`…Dimension.0`), and long expressions (`((h-1)/2)+1`, from shape inference) as `?`, since a
/// clipped expression means nothing. The edge's hover text has the full type.
fn short_symbol(s: &str) -> String {
    if s.chars().count() <= DIM_CHARS {
        s.to_string()
    } else if s.chars().all(|c| c.is_alphanumeric() || matches!(c, '.' | '_' | ':' | '/')) {
        clip_name(s, DIM_CHARS)
    } else {
        "?".to_string()
    }
}

/// Whether `n` is a `Constant` node whose value can be folded into its readers' labels like an
/// initializer (some exporters, paddle2onnx among them, store every weight this way).
pub fn is_foldable_constant(n: &Node) -> bool {
    n.op_type == "Constant"
        && n.canonical_domain().is_empty()
        && n.inputs().is_empty()
        && n.outputs().len() == 1
        && n.attributes.len() == 1
}

/// A `Constant` node's value as a folded line's text (`float[16,3,3,3]`, `int64[] = 1`), and
/// its structural identity.
pub fn constant_summary(n: &Node) -> (String, String) {
    let Some(a) = n.attributes.first() else { return ("?".into(), "?".into()) };
    match &a.value {
        AttrValue::Tensor(t) => (tensor_summary(t), format!("{:?}{:?}", t.dtype, t.dims)),
        AttrValue::SparseTensor(s) => {
            (format!("sparse{:?}", s.dims), format!("sparse{:?}", s.dims))
        }
        _ => (format!("{}={}", a.name, attr_value(a)), a.name.clone()),
    }
}

/// The structural identity of a constant input: type and dims, not name or values.
pub fn folded_identity(init: &Initializer) -> String {
    match init {
        Initializer::Dense(t) => format!("{:?}{:?}", t.dtype, t.dims),
        Initializer::Sparse(s) => format!("sparse{:?}", s.dims),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;

    #[test]
    fn strings_are_escaped() {
        let a = Attribute::new("s", AttrValue::String(bytes::Bytes::from_static(b"h\xc3\xa9\"\0")));
        assert_eq!(attr_value(&a), "\"hé\\\"\\0\"");
    }

    #[test]
    fn long_dims_are_shortened() {
        let t = Type::tensor(
            DataType::FLOAT,
            [
                DimValue::Symbol("batch".into()),
                DimValue::Symbol("p2o.DynamicDimension.0".into()),
                DimValue::Symbol("((p2o.DynamicDimension.1-1)/2)+1".into()),
                DimValue::Symbol("4*batch".into()),
            ],
        );
        assert_eq!(type_label(Some(&t)), "float[batch,…Dimension.0,?,4*batch]");
    }

    #[test]
    fn floats_are_short() {
        assert_eq!(fmt_float(1.0), "1.0");
        assert_eq!(fmt_float(0.5), "0.5");
        assert_eq!(fmt_float(1e-5), "1.000e-5");
    }

    #[test]
    fn small_constants_show_values() {
        let raw: Vec<u8> = [1i64, -1, 768].iter().flat_map(|v| v.to_le_bytes()).collect();
        let t = Tensor::from_raw("shape", DataType::INT64, vec![3], Bytes::from(raw));
        assert_eq!(tensor_summary(&t), "int64[3] = [1,-1,768]");
        let big = Tensor::from_raw("w", DataType::FLOAT, vec![64, 3], Bytes::from(vec![0u8; 768]));
        assert_eq!(tensor_summary(&big), "float[64,3]");
        let bias = Tensor::from_raw("b", DataType::FLOAT, vec![2], Bytes::from(vec![0u8; 8]));
        assert_eq!(tensor_summary(&bias), "float[2]");
        let one = Tensor::from_raw("o", DataType::FLOAT, vec![1], Bytes::from(vec![0u8; 4]));
        assert_eq!(tensor_summary(&one), "float[1] = [0.0]");
        let half = Tensor::from_raw(
            "h",
            DataType::FLOAT,
            vec![],
            Bytes::from(0.5f32.to_le_bytes().to_vec()),
        );
        assert_eq!(tensor_summary(&half), "float[] = 0.5");
    }

    #[test]
    fn cast_targets_are_named() {
        let node = Node::new("Cast").with_attr(Attribute::new("to", AttrValue::Int(10)));
        assert_eq!(attr_lines(&node, None), vec!["to=float16".to_string()]);
    }

    #[test]
    fn defaults_are_hidden_and_inputs_named_by_the_schema() {
        let gemm = ferry_ops::lookup("", "Gemm", 13);
        let node = Node::new("Gemm")
            .with_attr(Attribute::new("alpha", AttrValue::Float(1.0)))
            .with_attr(Attribute::new("transB", AttrValue::Int(1)));
        assert_eq!(attr_lines(&node, gemm), vec!["transB=1".to_string()]);
        assert_eq!(formal_input(gemm, 1).as_deref(), Some("B"));
        let concat = ferry_ops::lookup("", "Concat", 13);
        assert_eq!(formal_input(concat, 2).as_deref(), Some("inputs[2]"));
        let conv = Node::new("Conv")
            .with_attr(Attribute::new("pads", AttrValue::Ints(vec![0, 0, 0, 0])))
            .with_attr(Attribute::new("strides", AttrValue::Ints(vec![2, 2])));
        assert_eq!(attr_lines(&conv, None), vec!["strides=[2,2]".to_string()]);
    }
}
