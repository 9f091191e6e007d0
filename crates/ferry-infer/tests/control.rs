//! Inference through control flow (If, Loop, Scan), sequences and optionals, the `ai.onnx.ml`
//! operators and the training operators, on small graphs built with the IR API.

mod common;
use ferry_ir::{
    AttrValue, Attribute, DataType, DimValue, Graph, Initializer, Model, Node, OpsetImport, Tensor,
    TensorData, Type, TypeKind, ValueId, ValueInfo,
};
use std::path::Path;

/// `"N,3,?"` as declared dimensions.
fn dims(spec: &str) -> Vec<DimValue> {
    spec.split(',')
        .filter(|s| !s.is_empty())
        .map(|s| match s.trim() {
            "?" => DimValue::Unknown,
            t => t.parse().map_or_else(|_| DimValue::Symbol(t.to_string()), DimValue::Known),
        })
        .collect()
}

fn info(ty: Type) -> ValueInfo {
    ValueInfo { ty: Some(ty), ..Default::default() }
}

fn input(g: &mut Graph, name: &str, elem: DataType, shape: &str) -> ValueId {
    g.add_input(name, info(Type::tensor(elem, dims(shape))))
}

/// A formal input with no declared type (subgraph inputs usually have one, but need not).
fn untyped_input(g: &mut Graph, name: &str) -> ValueId {
    g.add_input(name, ValueInfo::default())
}

fn tensor(name: &str, elem: DataType, shape: &[i64], data: TensorData) -> Tensor {
    let mut t = Tensor::from_raw(name, elem, shape.to_vec(), Default::default());
    t.data = data;
    t
}

fn ints(name: &str, shape: &[i64], v: &[i64]) -> Tensor {
    tensor(name, DataType::INT64, shape, TensorData::Int64(v.to_vec()))
}

fn floats(name: &str, shape: &[i64], v: &[f32]) -> Tensor {
    tensor(name, DataType::FLOAT, shape, TensorData::Float(v.to_vec()))
}

fn boolean(name: &str, b: bool) -> Tensor {
    tensor(name, DataType::BOOL, &[], TensorData::Int32(vec![i32::from(b)]))
}

fn init(g: &mut Graph, t: Tensor) -> ValueId {
    let name = t.name.clone().unwrap_or_default();
    g.add_initializer(name, Initializer::Dense(t))
}

fn node(g: &mut Graph, n: Node, ins: &[Option<ValueId>], outs: &[&str]) -> Vec<ValueId> {
    let outs: Vec<Option<&str>> = outs.iter().map(|s| Some(*s)).collect();
    g.add_node(n, ins, &outs).1.into_iter().map(Option::unwrap).collect()
}

fn one(g: &mut Graph, n: Node, ins: &[Option<ValueId>], out: &str) -> ValueId {
    node(g, n, ins, &[out])[0]
}

fn graph_attr(name: &str, g: Graph) -> Attribute {
    Attribute::new(name, AttrValue::Graph(Box::new(g)))
}

fn int_attr(name: &str, v: i64) -> Attribute {
    Attribute::new(name, AttrValue::Int(v))
}

fn ints_attr(name: &str, v: &[i64]) -> Attribute {
    Attribute::new(name, AttrValue::Ints(v.to_vec()))
}

fn strings_attr(name: &str, v: &[&str]) -> Attribute {
    Attribute::new(
        name,
        AttrValue::Strings(v.iter().map(|s| s.as_bytes().to_vec().into()).collect()),
    )
}

fn floats_attr(name: &str, v: &[f32]) -> Attribute {
    Attribute::new(name, AttrValue::Floats(v.to_vec()))
}

fn build(g: Graph, opsets: &[(&str, i64)]) -> Model {
    Model {
        ir_version: Some(10),
        opset_imports: opsets
            .iter()
            .map(|(d, v)| OpsetImport { domain: Some(d.to_string()), version: Some(*v) })
            .collect(),
        graph: Some(g),
        ..Default::default()
    }
}

/// A readable type: `float[N,3]`, `seq(int64[?])`, `map(string,float[])`, `float[*]` (no shape).
/// The fresh symbols inference gives undetermined dims (`unk_ferry_N`) read as `?`.
fn show(t: Option<&Type>) -> String {
    let Some(t) = t else { return "none".into() };
    match &t.kind {
        Some(TypeKind::Tensor(tt)) => {
            let e = tt.elem.map_or("?".to_string(), |e| format!("{e}").to_lowercase());
            match &tt.shape {
                None => format!("{e}[*]"),
                Some(s) => {
                    let d: Vec<String> =
                        s.dims.iter().map(|d| common::dim_text(&d.value)).collect();
                    format!("{e}[{}]", d.join(","))
                }
            }
        }
        Some(TypeKind::Sequence(e)) => format!("seq({})", show(e.as_deref())),
        Some(TypeKind::Optional(e)) => format!("optional({})", show(e.as_deref())),
        Some(TypeKind::Map { key, value }) => format!(
            "map({},{})",
            key.map_or("?".to_string(), |k| format!("{k}").to_lowercase()),
            show(value.as_deref())
        ),
        _ => "other".into(),
    }
}

fn ty_of(m: &Model, name: &str) -> String {
    let g = m.graph.as_ref().unwrap();
    show(g.find_value(name).and_then(|v| g.value(v).ty()))
}

/// The type of `name` inside graph attribute `attr` of the node producing `producer_output`.
fn ty_in_body(m: &Model, producer_output: &str, attr: &str, name: &str) -> String {
    let g = m.graph.as_ref().unwrap();
    let v = g.find_value(producer_output).unwrap();
    let n = g.node(g.value(v).producer().unwrap());
    let AttrValue::Graph(body) = &n.attr(attr).unwrap().value else { panic!("no graph") };
    show(body.find_value(name).and_then(|v| body.value(v).ty()))
}

fn run(m: &mut Model) {
    let report = ferry_infer::infer(m);
    assert!(report.diagnostics.is_empty(), "{:?}", report.diagnostics);
}

/// The body of a loop whose carried `y` grows by one element per iteration (`Concat` with a
/// constant), with the per-iteration `Shape(y_in)` as scan output.
fn growing_body() -> Graph {
    let mut b = Graph::new();
    input(&mut b, "iter", DataType::INT64, "");
    let cond_in = input(&mut b, "cond_in", DataType::BOOL, "");
    let y_in = untyped_input(&mut b, "y_in");
    let extra = init(&mut b, floats("extra", &[1], &[1.0]));
    let cond_out = one(&mut b, Node::new("Identity"), &[Some(cond_in)], "cond_out");
    let y_out = one(
        &mut b,
        Node::new("Concat").with_attr(int_attr("axis", 0)),
        &[Some(y_in), Some(extra)],
        "y_out",
    );
    let s = one(&mut b, Node::new("Shape"), &[Some(y_in)], "shape_in");
    b.set_outputs(vec![cond_out, y_out, s]);
    b
}

/// With a known trip count the loop is run iteration by iteration: the carried tensor's final
/// length is exact, and the scan output has the trip count as its leading dimension.
#[test]
fn loop_with_a_known_trip_count_gives_the_grown_shape() {
    let mut g = Graph::new();
    let m = init(&mut g, ints("m", &[], &[3]));
    let cond = init(&mut g, boolean("go", true));
    let y0 = input(&mut g, "y0", DataType::FLOAT, "2");
    node(
        &mut g,
        Node::new("Loop").with_attr(graph_attr("body", growing_body())),
        &[Some(m), Some(cond), Some(y0)],
        &["y_final", "shapes"],
    );
    let mut model = build(g, &[("", 21)]);
    run(&mut model);
    assert_eq!(ty_of(&model, "y_final"), "float[5]");
    assert_eq!(ty_of(&model, "shapes"), "int64[3,1]");
    // What is recorded in the body holds for every iteration: the length is a fresh symbol.
    assert_eq!(ty_in_body(&model, "y_final", "body", "y_out"), "float[y_in__d0+1]");

    // Too many iterations to run one by one: the trip count still sizes the scan output.
    let mut g = Graph::new();
    let m = init(&mut g, ints("m", &[], &[1000]));
    let y0 = input(&mut g, "y0", DataType::FLOAT, "2");
    node(
        &mut g,
        Node::new("Loop").with_attr(graph_attr("body", growing_body())),
        &[Some(m), None, Some(y0)],
        &["y_final", "shapes"],
    );
    let mut big = build(g, &[("", 21)]);
    run(&mut big);
    assert_eq!(ty_of(&big, "y_final"), "float[?]");
    assert_eq!(ty_of(&big, "shapes"), "int64[1000,1]");
}

/// With an unknown trip count, a dimension that changes across iterations is unknown after the
/// loop and a fresh symbol inside the body; dimensions that do not change are kept.
#[test]
fn loop_with_an_unknown_trip_count_widens_what_changes() {
    let mut g = Graph::new();
    let m = input(&mut g, "m", DataType::INT64, "");
    let y0 = input(&mut g, "y0", DataType::FLOAT, "2");
    node(
        &mut g,
        Node::new("Loop").with_attr(graph_attr("body", growing_body())),
        &[Some(m), None, Some(y0)],
        &["y_final", "shapes"],
    );
    let mut model = build(g, &[("", 21)]);
    run(&mut model);
    assert_eq!(ty_of(&model, "y_final"), "float[?]");
    assert_eq!(ty_of(&model, "shapes"), "int64[?,1]");
    assert_eq!(ty_in_body(&model, "y_final", "body", "y_in"), "float[y_in__d0]");
    assert_eq!(ty_in_body(&model, "y_final", "body", "y_out"), "float[y_in__d0+1]");
    assert_eq!(ty_in_body(&model, "y_final", "body", "shape_in"), "int64[1]");
}

/// A carried value that keeps its shape keeps it through the loop, symbolic dims included, and
/// a trip count known only symbolically (`M = N` from a `Shape`) still sizes the scan outputs.
#[test]
fn loop_keeps_stable_shapes_and_symbolic_trip_counts() {
    let mut body = Graph::new();
    input(&mut body, "i", DataType::INT64, "");
    input(&mut body, "c", DataType::BOOL, "");
    let acc = input(&mut body, "acc", DataType::FLOAT, "N,4");
    let x = body.add_capture("x");
    let sum = one(&mut body, Node::new("Add"), &[Some(acc), Some(x)], "sum");
    let c = body.inputs()[1];
    let c_out = one(&mut body, Node::new("Identity"), &[Some(c)], "c_out");
    body.set_outputs(vec![c_out, sum, sum]);

    let mut g = Graph::new();
    let x = input(&mut g, "x", DataType::FLOAT, "N,4");
    let shape = one(&mut g, Node::new("Shape"), &[Some(x)], "shape");
    let zero = init(&mut g, ints("zero", &[], &[0]));
    let n = one(&mut g, Node::new("Gather"), &[Some(shape), Some(zero)], "n");
    let (id, _) = g.add_node(
        Node::new("Loop").with_attr(graph_attr("body", body)),
        &[Some(n), None, Some(x)],
        &[Some("total"), Some("partial")],
    );
    g.add_implicit_input(id, x);
    let mut model = build(g, &[("", 21)]);
    run(&mut model);
    for n in ["sum", "c_out", "acc", "x"] {
        eprintln!("{n}: {}", ty_in_body(&model, "total", "body", n));
    }
    eprintln!("n: {} partial: {}", ty_of(&model, "n"), ty_of(&model, "partial"));
    assert_eq!(ty_of(&model, "total"), "float[N,4]");
    assert_eq!(ty_of(&model, "partial"), "float[N,N,4]");
}

/// A `while` loop (as tf2onnx writes them) whose condition depends on a carried counter only:
/// it is run iteration by iteration until the condition turns false, which gives the trip count
/// that sizes the scan output.
#[test]
fn while_loop_on_a_counter_finds_its_trip_count() {
    let mut body = Graph::new();
    input(&mut body, "iter", DataType::INT64, "");
    input(&mut body, "cond_in", DataType::BOOL, "");
    let k = input(&mut body, "k", DataType::INT64, "");
    let one_v = init(&mut body, ints("one", &[], &[1]));
    let five = init(&mut body, ints("five", &[], &[5]));
    let k_next = one(&mut body, Node::new("Add"), &[Some(k), Some(one_v)], "k_next");
    let go = one(&mut body, Node::new("Less"), &[Some(k_next), Some(five)], "go");
    let x = body.add_capture("x");
    let row = one(&mut body, Node::new("Identity"), &[Some(x)], "row");
    body.set_outputs(vec![go, k_next, row]);

    let mut g = Graph::new();
    let m = init(&mut g, ints("m", &[], &[100]));
    let cond = init(&mut g, boolean("start", true));
    let k0 = init(&mut g, ints("k0", &[], &[0]));
    let x = input(&mut g, "x", DataType::FLOAT, "3");
    let (id, _) = g.add_node(
        Node::new("Loop").with_attr(graph_attr("body", body)),
        &[Some(m), Some(cond), Some(k0)],
        &[Some("k_final"), Some("rows")],
    );
    g.add_implicit_input(id, x);
    // The final counter is known too: it sizes a ConstantOfShape.
    let k_final = g.find_value("k_final").unwrap();
    let axes = init(&mut g, ints("axes", &[1], &[0]));
    let k_vec = one(&mut g, Node::new("Unsqueeze"), &[Some(k_final), Some(axes)], "k_vec");
    one(&mut g, Node::new("ConstantOfShape"), &[Some(k_vec)], "zeros");
    let mut model = build(g, &[("", 21)]);
    run(&mut model);
    assert_eq!(ty_of(&model, "rows"), "float[5,3]");
    assert_eq!(ty_of(&model, "k_final"), "int64[]");
    assert_eq!(ty_of(&model, "zeros"), "float[5]");
    // The body's own record is for any iteration: the counter's value is not fixed there.
    assert_eq!(ty_in_body(&model, "rows", "body", "go"), "bool[]");
}

/// A condition that is false from the start: the body never runs, the carried values are the
/// initial ones and the scan outputs are empty.
#[test]
fn loop_that_never_runs() {
    let mut g = Graph::new();
    let cond = init(&mut g, boolean("stop", false));
    let y0 = input(&mut g, "y0", DataType::FLOAT, "2");
    node(
        &mut g,
        Node::new("Loop").with_attr(graph_attr("body", growing_body())),
        &[None, Some(cond), Some(y0)],
        &["y_final", "shapes"],
    );
    let mut model = build(g, &[("", 21)]);
    run(&mut model);
    assert_eq!(ty_of(&model, "y_final"), "float[2]");
    assert_eq!(ty_of(&model, "shapes"), "int64[0,1]");
}

/// A branch producing a constant shape vector.
fn branch(name: &str, out: &str, v: &[i64]) -> Graph {
    let mut b = Graph::new();
    let k = one(
        &mut b,
        Node::new("Constant").with_attr(Attribute::new(
            "value",
            AttrValue::Tensor(Box::new(ints(name, &[v.len() as i64], v))),
        )),
        &[],
        out,
    );
    b.set_outputs(vec![k]);
    b
}

/// `If` whose branches differ in shape: what they agree on is kept, the rest is unknown; with a
/// known condition the taken branch's facts, contents included, come through (here a shape
/// that a `Reshape` then uses).
#[test]
fn if_joins_branches_or_takes_the_known_one() {
    for (cond_known, reshaped) in
        [(Some(true), "float[2,6]"), (Some(false), "float[3,4]"), (None, "float[?,?]")]
    {
        let mut g = Graph::new();
        let cond = match cond_known {
            Some(b) => init(&mut g, boolean("cond", b)),
            None => input(&mut g, "cond", DataType::BOOL, ""),
        };
        let x = input(&mut g, "x", DataType::FLOAT, "12");
        let target = one(
            &mut g,
            Node::new("If")
                .with_attr(graph_attr("then_branch", branch("t", "t_out", &[2, 6])))
                .with_attr(graph_attr("else_branch", branch("e", "e_out", &[3, 4]))),
            &[Some(cond)],
            "target",
        );
        one(&mut g, Node::new("Reshape"), &[Some(x), Some(target)], "y");
        let mut model = build(g, &[("", 21)]);
        run(&mut model);
        assert_eq!(ty_of(&model, "target"), "int64[2]");
        assert_eq!(ty_of(&model, "y"), reshaped, "condition {cond_known:?}");
    }

    // Different lengths: rank 1 with an unknown length. Different ranks: no shape.
    let mut g = Graph::new();
    let cond = input(&mut g, "cond", DataType::BOOL, "");
    one(
        &mut g,
        Node::new("If")
            .with_attr(graph_attr("then_branch", branch("t", "t_out", &[2, 6])))
            .with_attr(graph_attr("else_branch", branch("e", "e_out", &[1, 2, 6]))),
        &[Some(cond)],
        "lens",
    );
    let mut then_b = Graph::new();
    let x = then_b.add_capture("x");
    let t = one(&mut then_b, Node::new("Identity"), &[Some(x)], "t_x");
    then_b.set_outputs(vec![t]);
    let mut else_b = Graph::new();
    let x2 = else_b.add_capture("x");
    let axes = init(&mut else_b, ints("axes", &[1], &[0]));
    let e = one(&mut else_b, Node::new("Unsqueeze"), &[Some(x2), Some(axes)], "e_x");
    else_b.set_outputs(vec![e]);
    let xv = input(&mut g, "x", DataType::FLOAT, "N,3");
    let (id, _) = g.add_node(
        Node::new("If")
            .with_attr(graph_attr("then_branch", then_b))
            .with_attr(graph_attr("else_branch", else_b)),
        &[Some(cond)],
        &[Some("ranks")],
    );
    g.add_implicit_input(id, xv);
    let mut model = build(g, &[("", 21)]);
    run(&mut model);
    assert_eq!(ty_of(&model, "lens"), "int64[?]");
    assert_eq!(ty_of(&model, "ranks"), "float[*]");
}

/// Scan (opset 9+): the body sees slices without the scan axis, scan outputs are stacked along
/// `scan_output_axes` (negative counts from the back of the output) with the sequence length.
#[test]
fn scan_slices_and_stacks_along_the_given_axes() {
    let mut body = Graph::new();
    let s_in = input(&mut body, "s_in", DataType::FLOAT, "3");
    let x_t = untyped_input(&mut body, "x_t");
    let s_out = one(&mut body, Node::new("Identity"), &[Some(s_in)], "s_out");
    let y = one(&mut body, Node::new("Add"), &[Some(x_t), Some(s_in)], "y_t");
    body.set_outputs(vec![s_out, y]);

    let mut g = Graph::new();
    let s0 = input(&mut g, "s0", DataType::FLOAT, "3");
    let x = input(&mut g, "x", DataType::FLOAT, "N,T,3");
    node(
        &mut g,
        Node::new("Scan")
            .with_attr(graph_attr("body", body))
            .with_attr(int_attr("num_scan_inputs", 1))
            .with_attr(ints_attr("scan_input_axes", &[1]))
            .with_attr(ints_attr("scan_output_axes", &[-1])),
        &[Some(s0), Some(x)],
        &["s_final", "ys"],
    );
    let mut model = build(g, &[("", 21)]);
    run(&mut model);
    assert_eq!(ty_in_body(&model, "ys", "body", "x_t"), "float[N,3]");
    assert_eq!(ty_in_body(&model, "ys", "body", "y_t"), "float[N,3]");
    assert_eq!(ty_of(&model, "s_final"), "float[3]");
    assert_eq!(ty_of(&model, "ys"), "float[N,3,T]");
}

/// Scan-8: every input has a leading batch axis, scan inputs iterate along axis 1.
#[test]
fn scan_8_keeps_the_batch_axis() {
    let mut body = Graph::new();
    let s_in = input(&mut body, "s_in", DataType::FLOAT, "2");
    let x_t = input(&mut body, "x_t", DataType::FLOAT, "2");
    let s_out = one(&mut body, Node::new("Add"), &[Some(s_in), Some(x_t)], "s_out");
    let y = one(&mut body, Node::new("Identity"), &[Some(s_out)], "y_t");
    body.set_outputs(vec![s_out, y]);

    let mut g = Graph::new();
    let s0 = input(&mut g, "s0", DataType::FLOAT, "B,2");
    let x = input(&mut g, "x", DataType::FLOAT, "B,7,2");
    node(
        &mut g,
        Node::new("Scan")
            .with_attr(graph_attr("body", body))
            .with_attr(int_attr("num_scan_inputs", 1)),
        &[None, Some(s0), Some(x)],
        &["s_final", "ys"],
    );
    let mut model = build(g, &[("", 8)]);
    run(&mut model);
    assert_eq!(ty_of(&model, "s_final"), "float[B,2]");
    assert_eq!(ty_of(&model, "ys"), "float[B,7,2]");
}

/// Sequences: construction joins element shapes, splitting and concatenating keep symbolic
/// dims, SequenceMap maps its body over elements.
#[test]
fn sequence_operators() {
    let mut g = Graph::new();
    let a = input(&mut g, "a", DataType::FLOAT, "N,3");
    let b = input(&mut g, "b", DataType::FLOAT, "N,5");
    one(&mut g, Node::new("SequenceConstruct"), &[Some(a), Some(b)], "ab");
    let parts = one(
        &mut g,
        Node::new("SplitToSequence")
            .with_attr(int_attr("axis", 1))
            .with_attr(int_attr("keepdims", 0)),
        &[Some(b)],
        "columns",
    );
    let k = init(&mut g, ints("k", &[2], &[2, 3]));
    one(
        &mut g,
        Node::new("SplitToSequence").with_attr(int_attr("axis", 1)),
        &[Some(b), Some(k)],
        "uneven",
    );
    let two = init(&mut g, ints("two", &[], &[2]));
    one(&mut g, Node::new("SplitToSequence"), &[Some(a), Some(two)], "rows");
    one(
        &mut g,
        Node::new("ConcatFromSequence")
            .with_attr(int_attr("axis", -1))
            .with_attr(int_attr("new_axis", 1)),
        &[Some(parts)],
        "stacked",
    );
    let empty = one(
        &mut g,
        Node::new("SequenceEmpty").with_attr(int_attr("dtype", i64::from(DataType::INT64.0))),
        &[],
        "empty",
    );
    let pos = init(&mut g, ints("pos", &[], &[0]));
    let shape = one(&mut g, Node::new("Shape"), &[Some(a)], "shape_a");
    let ins =
        one(&mut g, Node::new("SequenceInsert"), &[Some(empty), Some(shape), Some(pos)], "ins");
    one(&mut g, Node::new("SequenceAt"), &[Some(ins), Some(pos)], "at");
    one(&mut g, Node::new("SequenceLength"), &[Some(ins)], "len");

    let mut body = Graph::new();
    let e = input(&mut body, "e", DataType::FLOAT, "?");
    let sh = one(&mut body, Node::new("Shape"), &[Some(e)], "e_shape");
    body.set_outputs(vec![sh]);
    one(
        &mut g,
        Node::new("SequenceMap").with_attr(graph_attr("body", body)),
        &[Some(parts)],
        "shapes",
    );

    let mut model = build(g, &[("", 21)]);
    run(&mut model);
    assert_eq!(ty_of(&model, "ab"), "seq(float[N,?])");
    assert_eq!(ty_of(&model, "columns"), "seq(float[N])");
    assert_eq!(ty_of(&model, "uneven"), "seq(float[N,?])");
    assert_eq!(ty_of(&model, "rows"), "seq(float[?,3])");
    assert_eq!(ty_of(&model, "stacked"), "float[N,?]");
    assert_eq!(ty_of(&model, "empty"), "seq(int64[*])");
    assert_eq!(ty_of(&model, "ins"), "seq(int64[*])");
    assert_eq!(ty_of(&model, "at"), "int64[*]");
    assert_eq!(ty_of(&model, "len"), "int64[]");
    assert_eq!(ty_of(&model, "shapes"), "seq(int64[1])");
}

/// Optionals wrap and unwrap; an omitted optional input is known to hold nothing, which a
/// following `If` on `OptionalHasElement` turns into the else branch's exact facts.
#[test]
fn optionals() {
    let mut g = Graph::new();
    let x = input(&mut g, "x", DataType::FLOAT, "N,2");
    let opt = one(&mut g, Node::new("Optional"), &[Some(x)], "opt");
    one(&mut g, Node::new("OptionalGetElement"), &[Some(opt)], "got");
    let seq_ty = Type {
        kind: Some(TypeKind::Sequence(Some(Box::new(Type::tensor(DataType::INT64, dims("3")))))),
        denotation: None,
    };
    one(
        &mut g,
        Node::new("Optional").with_attr(Attribute::new("type", AttrValue::Type(Box::new(seq_ty)))),
        &[],
        "none_seq",
    );
    let has = one(&mut g, Node::new("OptionalHasElement"), &[None], "has");
    let y = input(&mut g, "y", DataType::FLOAT, "6");
    let target = one(
        &mut g,
        Node::new("If")
            .with_attr(graph_attr("then_branch", branch("t", "t_out", &[6])))
            .with_attr(graph_attr("else_branch", branch("e", "e_out", &[2, 3]))),
        &[Some(has)],
        "target",
    );
    one(&mut g, Node::new("Reshape"), &[Some(y), Some(target)], "reshaped");
    let mut model = build(g, &[("", 18)]);
    run(&mut model);
    assert_eq!(ty_of(&model, "opt"), "optional(float[N,2])");
    assert_eq!(ty_of(&model, "got"), "float[N,2]");
    assert_eq!(ty_of(&model, "none_seq"), "optional(seq(int64[3]))");
    assert_eq!(ty_of(&model, "has"), "bool[]");
    assert_eq!(ty_of(&model, "reshaped"), "float[2,3]");
}

fn ml(op: &str) -> Node {
    Node::new(op).with_domain("ai.onnx.ml")
}

/// A classifier pipeline as sklearn converters write it: labels and per-class scores with the
/// batch dimension carried through, then ZipMap into a sequence of maps.
#[test]
fn ml_classifier_pipeline() {
    let mut g = Graph::new();
    let x = input(&mut g, "x", DataType::FLOAT, "N,4");
    let xn = one(
        &mut g,
        ml("Normalizer")
            .with_attr(Attribute::new("norm", AttrValue::String(b"L2".to_vec().into()))),
        &[Some(x)],
        "xn",
    );
    let outs = node(
        &mut g,
        ml("LinearClassifier")
            .with_attr(strings_attr("classlabels_strings", &["a", "b", "c"]))
            .with_attr(floats_attr("coefficients", &[0.0; 12]))
            .with_attr(floats_attr("intercepts", &[0.0; 3])),
        &[Some(xn)],
        &["label", "scores"],
    );
    one(
        &mut g,
        ml("ZipMap").with_attr(strings_attr("classlabels_strings", &["a", "b", "c"])),
        &[Some(outs[1])],
        "probs",
    );
    one(
        &mut g,
        ml("ZipMap").with_attr(ints_attr("classlabels_int64s", &[4, 5, 6])),
        &[Some(outs[1])],
        "probs_by_id",
    );
    node(
        &mut g,
        ml("TreeEnsembleClassifier").with_attr(ints_attr("classlabels_int64s", &[0, 1])),
        &[Some(x)],
        &["tree_label", "tree_scores"],
    );
    one(
        &mut g,
        ml("TreeEnsembleRegressor").with_attr(int_attr("n_targets", 2)),
        &[Some(x)],
        "tree_reg",
    );
    one(
        &mut g,
        ml("OneHotEncoder").with_attr(ints_attr("cats_int64s", &[1, 2, 3, 4, 5])),
        &[Some(x)],
        "onehot",
    );
    let v = input(&mut g, "v", DataType::FLOAT, "10");
    let idx = input(&mut g, "idx", DataType::INT64, "K");
    one(&mut g, ml("ArrayFeatureExtractor"), &[Some(v), Some(idx)], "picked_row");
    one(&mut g, ml("ArrayFeatureExtractor"), &[Some(x), Some(idx)], "picked");
    let words = input(&mut g, "words", DataType::STRING, "N");
    one(
        &mut g,
        ml("LabelEncoder")
            .with_attr(Attribute::new(
                "keys_tensor",
                AttrValue::Tensor(Box::new(tensor(
                    "k",
                    DataType::STRING,
                    &[1],
                    TensorData::String(vec![b"a".to_vec().into()]),
                ))),
            ))
            .with_attr(Attribute::new(
                "values_tensor",
                AttrValue::Tensor(Box::new(tensor(
                    "v",
                    DataType::INT16,
                    &[1],
                    TensorData::Int32(vec![7]),
                ))),
            )),
        &[Some(words)],
        "codes",
    );
    let two_cols = input(&mut g, "two_cols", DataType::INT64, "N,2");
    one(
        &mut g,
        ml("FeatureVectorizer").with_attr(ints_attr("inputdimensions", &[4, 2])),
        &[Some(x), Some(two_cols)],
        "features",
    );
    one(&mut g, ml("LinearRegressor").with_attr(int_attr("targets", 2)), &[Some(x)], "lin_reg");
    one(&mut g, ml("SVMRegressor"), &[Some(x)], "svm_reg");
    one(
        &mut g,
        ml("CategoryMapper")
            .with_attr(strings_attr("cats_strings", &["a", "b"]))
            .with_attr(ints_attr("cats_int64s", &[1, 2])),
        &[Some(words)],
        "categories",
    );
    let mut model = build(g, &[("", 21), ("ai.onnx.ml", 4)]);
    run(&mut model);
    assert_eq!(ty_of(&model, "features"), "float[N,6]");
    assert_eq!(ty_of(&model, "lin_reg"), "float[N,2]");
    assert_eq!(ty_of(&model, "svm_reg"), "float[N,1]");
    assert_eq!(ty_of(&model, "categories"), "int64[N]");
    assert_eq!(ty_of(&model, "xn"), "float[N,4]");
    assert_eq!(ty_of(&model, "label"), "string[N]");
    assert_eq!(ty_of(&model, "scores"), "float[N,3]");
    assert_eq!(ty_of(&model, "probs"), "seq(map(string,float[]))");
    assert_eq!(ty_of(&model, "probs_by_id"), "seq(map(int64,float[]))");
    assert_eq!(ty_of(&model, "tree_label"), "int64[N]");
    assert_eq!(ty_of(&model, "tree_scores"), "float[N,2]");
    assert_eq!(ty_of(&model, "tree_reg"), "float[N,2]");
    assert_eq!(ty_of(&model, "onehot"), "float[N,4,5]");
    assert_eq!(ty_of(&model, "picked_row"), "float[1,K]");
    assert_eq!(ty_of(&model, "picked"), "float[N,K]");
    assert_eq!(ty_of(&model, "codes"), "int16[N]");
}

/// LabelEncoder across versions: version 1 swaps strings and int64s, version 2 takes the output
/// type from its `values_*` attribute.
#[test]
fn label_encoder_versions() {
    for (opset, attrs, want) in [
        (1, vec![strings_attr("classes_strings", &["a", "b"])], "int64[N,2]"),
        (
            2,
            vec![strings_attr("keys_strings", &["a"]), floats_attr("values_floats", &[0.5])],
            "float[N,2]",
        ),
    ] {
        let mut g = Graph::new();
        let x = input(&mut g, "x", DataType::STRING, "N,2");
        let mut n = ml("LabelEncoder");
        for a in attrs {
            n = n.with_attr(a);
        }
        one(&mut g, n, &[Some(x)], "y");
        let mut model = build(g, &[("", 21), ("ai.onnx.ml", opset)]);
        run(&mut model);
        assert_eq!(ty_of(&model, "y"), want, "ai.onnx.ml {opset}");
    }
}

/// Optimizers give each updated tensor the shape of the tensor it updates.
#[test]
fn training_optimizers() {
    let mut g = Graph::new();
    let r = input(&mut g, "r", DataType::FLOAT, "");
    let t = input(&mut g, "t", DataType::INT64, "");
    let names = ["x1", "x2", "g1", "g2", "v1", "v2", "h1", "h2"];
    let shapes = ["3", "N,2", "3", "N,2", "3", "N,2", "3", "N,2"];
    let mut ins = vec![Some(r), Some(t)];
    for (n, s) in names.iter().zip(shapes) {
        ins.push(Some(input(&mut g, n, DataType::FLOAT, s)));
    }
    node(
        &mut g,
        Node::new("Adam").with_domain("ai.onnx.preview.training"),
        &ins,
        &["x1n", "x2n", "v1n", "v2n", "h1n", "h2n"],
    );
    let mut model = build(g, &[("", 21), ("ai.onnx.preview.training", 1)]);
    run(&mut model);
    assert_eq!(ty_of(&model, "x2n"), "float[N,2]");
    assert_eq!(ty_of(&model, "v1n"), "float[3]");
    assert_eq!(ty_of(&model, "h2n"), "float[N,2]");
}

/// End to end through files: model-local functions (with attribute defaults and overloads), and
/// a Loop with an If inside followed by a Scan.
#[test]
fn files_with_functions_and_nested_control_flow() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../testdata/onnx");
    let erase_and_infer = |name: &str| -> Model {
        let mut m = ferry_onnx::load(dir.join(name)).unwrap();
        let g = m.graph.as_mut().unwrap();
        for v in g.outputs().to_vec() {
            g.value_mut(v).info.ty = None;
        }
        run(&mut m);
        m
    };
    let m = erase_and_infer("functions.onnx");
    assert_eq!(ty_of(&m, "y"), "float[N,3]");
    assert_eq!(ty_of(&m, "z"), "float[N,3]");
    let m = erase_and_infer("loop_scan.onnx");
    assert_eq!(ty_of(&m, "v_final"), "float[2]");
    assert_eq!(ty_of(&m, "v_all"), "float[?,2]");
    assert_eq!(ty_of(&m, "ys"), "float[T,2]");
    assert_eq!(ty_in_body(&m, "v_final", "body", "v_out"), "float[2]");
}
