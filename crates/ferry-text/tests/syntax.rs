//! What the parser builds, beyond what the golden files compare with onnx: bindings (captures,
//! undefined names, declaration overrides), ferry's extensions, the printer's exact layout, and
//! what printing reports as dropped.

mod common;

use ferry_ir::{AttrValue, DataType, DeclSite, Graph, TensorData, ValueDef};

fn graph(text: &str) -> Graph {
    ferry_text::parse_graph(text).unwrap_or_else(|e| panic!("{e:#}"))
}

fn roundtrip(text: &str) -> String {
    let m = ferry_text::parse_model(text).unwrap_or_else(|e| panic!("{e:#}"));
    let printed = ferry_text::print_model_report(&m);
    assert!(printed.dropped.is_empty(), "{:?}", printed.dropped);
    let again = ferry_text::parse_model(&printed.text)
        .unwrap_or_else(|e| panic!("{e:#}\n{}", printed.text));
    common::compare::models(&m, &again).unwrap_or_else(|d| panic!("{d}\n{}", printed.text));
    printed.text
}

#[test]
fn subgraphs_capture_outer_values() {
    let g = graph(
        "g (bool c, float[2] x) => (float[2] y) {
            s = Relu (x)
            y = If (c) <then_branch = t () => (float[2] a) { a = Add (s, x) },
                        else_branch = e () => (float[2] b) { b = Neg (late) }>
            late = Abs (x)
        }",
    );
    g.verify_links().expect("links");
    let (if_id, if_node) = g.nodes().find(|(_, n)| n.op_type == "If").expect("If");
    let implicit: Vec<&str> =
        if_node.implicit_inputs().iter().map(|&v| g.value(v).name.as_str()).collect();
    assert_eq!(implicit, ["s", "x", "late"]);
    let then = if_node.attr("then_branch").expect("then").value.graphs()[0].clone();
    let captured: Vec<_> = then.captures().iter().map(|&v| then.value(v).name.clone()).collect();
    assert_eq!(captured, ["s", "x"]);
    assert!(then.values().all(|(_, v)| v.def() != ValueDef::Undefined));
    // `late` is defined after the If: an unsorted graph, kept as written.
    assert_eq!(g.node_ids().position(|n| n == if_id), Some(1));
}

#[test]
fn undefined_names_and_overrides() {
    let g = graph(
        "g (float[2] x) => (float[2] y, float[3] y) <float[4] y, float[2] ghost> {
            y = Add (x, missing)
        }",
    );
    let missing = g.find_value("missing").expect("missing");
    assert_eq!(g.value(missing).def(), ValueDef::Undefined);
    let ghost = g.find_value("ghost").expect("ghost");
    assert_eq!(g.value(ghost).def(), ValueDef::Undefined);
    // The first declaration of y is its info; the later, different ones are overrides.
    let y = g.outputs()[0];
    assert_eq!(g.value(y).ty().map(|t| t.to_string()), Some("float[2]".into()));
    assert_eq!(
        g.decl_override(DeclSite::Output, 1).and_then(|i| i.ty.as_ref()).map(|t| t.to_string()),
        Some("float[3]".into())
    );
    assert_eq!(
        g.decl_override(DeclSite::ValueInfo, 0).and_then(|i| i.ty.as_ref()).map(|t| t.to_string()),
        Some("float[4]".into())
    );
    let text = ferry_text::print_graph(&g);
    let again = graph(&text);
    common::compare::graphs("g", &g, &again).unwrap();
}

#[test]
fn input_with_initializer_binds_to_the_input() {
    let g = graph("g (float[2] X, float[2] W = {1.0, 2.0}) => (float[2] Y) { Y = Add (X, W) }");
    let w = g.inputs()[1];
    assert_eq!(g.value(w).def(), ValueDef::Input);
    assert!(g.value(w).initializer.is_some());
    assert_eq!(g.initializers(), [w]);
    // Printed the way onnx prints it: the input, and the initializer in the <...> list.
    assert_eq!(
        ferry_text::print_graph(&g),
        "g (float[2] X, float[2] W) => (float[2] Y)\n   <float[2] W = {1.0, 2.0}>\n{\n   Y = Add (X, W)\n}\n"
    );
}

#[test]
fn packed_tensor_literals_hold_one_value_per_element() {
    let g = graph(
        "g () => () <int4[3] a = {1, -2, 3}, uint2[5] b = {1, 2, 3, 0, 3}, float6e2m3[2] c = {4, 40}> { }",
    );
    let data = |name: &str| {
        let v = g.find_value(name).expect(name);
        match &g.value(v).initializer {
            Some(ferry_ir::Initializer::Dense(t)) => t.data.clone(),
            other => panic!("{other:?}"),
        }
    };
    // int4: two per byte, low nibble first, as onnx.helper.make_tensor packs them.
    assert_eq!(data("a"), TensorData::Int32(vec![0xE1, 0x03]));
    assert_eq!(data("b"), TensorData::Int32(vec![0b11_10_01, 0b11]));
    assert_eq!(data("c"), TensorData::Int32(vec![4, 40]));
    let text = ferry_text::print_graph(&g);
    assert!(text.contains("int4[3] a = {1, -2, 3}"), "{text}");
    assert!(text.contains("uint2[5] b = {1, 2, 3, 0, 3}"), "{text}");
}

#[test]
fn extensions_round_trip() {
    let text = roundtrip(
        r#"<ir_version: 10, opset_import: ["" : 21, "my-domain" : 1]>
        g (float[2] x) => (float[2] y) {
            y = "my-domain"."odd op" <"odd attr" = 1, ts = [float[1] {1.0}, int64 {2}], tps = [float[2], seq(int64)],
                gs = [a () => (float[1] o) { o = Constant <value = float[1] {1.0}> () }, "b c" () => (float z) { z = Identity (x) }]> (x)
        }"#,
    );
    assert!(text.contains(r#""my-domain"."odd op""#), "{text}");
    assert!(text.contains(r#""odd attr" = 1"#), "{text}");
    assert!(text.contains("ts = [float[1] {1.0}, int64 {2}]"), "{text}");
    assert!(text.contains("tps = [float[2], seq(int64)]"), "{text}");
    assert!(text.contains(r#""b c" () => (float z) {"#), "{text}");
}

#[test]
fn reserved_words_are_quoted() {
    let text = roundtrip(
        "<ir_version: 10> g (float[2] \"float\", float[2] \"nan\") => (float[2] \"seq\") {
            \"seq\" = Foo <sub = \"int64\" () => (\"map\") { \"map\" = Identity (\"float\") }> (\"float\", \"nan\")
        }",
    );
    assert!(text.contains(r#"g (float[2] "float", float[2] "nan") => (float[2] "seq")"#), "{text}");
    assert!(text.contains(r#"sub = "int64" () => ("map") {"#), "{text}");
}

#[test]
fn attribute_types_are_inferred_and_annotated_only_when_needed() {
    let g = graph(
        "g (X) => (Y) { Y = Foo <a = 1, b = 1.0, c: float = 2, d = [1, 2.5], e: ints = [], f = @ref, h: int = @ref> (X) }",
    );
    let n = g.node(g.first_node().expect("node"));
    let v = |name: &str| n.attr(name).expect(name);
    assert!(matches!(v("a").value, AttrValue::Int(1)));
    assert!(matches!(v("b").value, AttrValue::Float(f) if f == 1.0));
    assert!(matches!(v("c").value, AttrValue::Float(f) if f == 2.0));
    assert!(matches!(&v("d").value, AttrValue::Floats(f) if f == &[1.0, 2.5]));
    assert_eq!(v("e").as_ints(), Some(&[][..]));
    assert_eq!((v("f").ref_attr_name.as_deref(), v("f").declared), (Some("ref"), None));
    assert_eq!(v("h").declared, Some(ferry_ir::attr_type::INT));
    assert_eq!(
        ferry_text::print_graph(&g),
        "g (X) => (Y) {\n   Y = Foo <a = 1, b = 1.0, c = 2.0, d = [1.0, 2.5], e: ints = [], f = @ref, h: int = @ref> (X)\n}\n"
    );
}

#[test]
fn printer_layout() {
    let text = roundtrip(
        r#"<ir_version: 10, opset_import: ["" : 21]>
        main (float[N,3] X, bool c) => (float[N,3] Y) <float[3] b = {0.5, 0.5, 0.5}, float[N,3] T> {
            [relu] T = Relu (X)
            Y = If (c) <then_branch = t () => (float[N,3] o) { o = Add (T, b) }, else_branch = e () => (float[N,3] o2) { o2 = Identity (T) }>
        }"#,
    );
    assert_eq!(
        text,
        r#"<
   ir_version: 10,
   opset_import: ["" : 21]
>
main (float[N,3] X, bool c) => (float[N,3] Y)
   <float[3] b = {0.5, 0.5, 0.5}, float[N,3] T>
{
   [relu] T = Relu (X)
   Y = If (c) <then_branch = t () => (float[N,3] o) {
      o = Add (T, b)
   }, else_branch = e () => (float[N,3] o2) {
      o2 = Identity (T)
   }>
}
"#
    );
}

#[test]
fn dropped_fields_are_reported() {
    let mut m = ferry_text::parse_model(
        "<ir_version: 10> g (float[2] X) => (float[2] Y) { [n] Y = Relu (X) }",
    )
    .expect("parse");
    let g = m.graph.as_mut().expect("graph");
    g.doc_string = Some("graph doc".into());
    let id = g.first_node().expect("node");
    g.node_mut(id).doc_string = Some("node doc".into());
    let x = g.inputs()[0];
    g.value_mut(x).info.doc_string = Some("input doc".into());
    let printed = ferry_text::print_model_report(&m);
    assert_eq!(
        printed.dropped,
        [
            "graph 'g' / value 'X': doc_string",
            "graph 'g': doc_string",
            "graph 'g' / node 'n' (Relu): doc_string",
        ]
    );
    assert!(ferry_text::parse_model(&printed.text).is_ok());
}

#[test]
fn external_and_scalar_tensors() {
    let g = graph(
        r#"g () => () <float[4] w = ["location": "w.bin", "offset": "0"], float s = {2.0}, float[0] e = {}> { }"#,
    );
    let t = |name: &str| match &g.value(g.find_value(name).expect(name)).initializer {
        Some(ferry_ir::Initializer::Dense(t)) => t.clone(),
        other => panic!("{other:?}"),
    };
    assert!(t("w").is_external());
    assert_eq!(t("w").data_location, Some(1));
    assert_eq!((t("s").dtype, t("s").dims.len()), (Some(DataType::FLOAT), 0));
    assert_eq!(t("e").data, TensorData::None);
    let text = ferry_text::print_graph(&g);
    assert!(text.contains(r#"float[4] w = ["location": "w.bin", "offset": "0"]"#), "{text}");
    assert!(text.contains("float s = {2.0}") && text.contains("float[0] e = {}"), "{text}");
}
