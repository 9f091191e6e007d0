//! Bad input gives an error at a line and column saying what was expected, never a panic.

mod common;

const HEAD: &str = "<ir_version: 10, opset_import: [\"\" : 21]>\n";

/// The one-line error for `text` (which must fail).
fn err(text: &str) -> String {
    match ferry_text::parse_model(text) {
        Ok(_) => panic!("parsed, but should not have:\n{text}"),
        Err(e) => e.to_string(),
    }
}

#[test]
fn syntax_errors_point_at_the_problem() {
    let cases: &[(&str, &str)] = &[
        (
            "g (float[2] X) => (float[2] Y) {\n   Y = Relu X\n}",
            "2:13: expected '(' to open the inputs of Relu, found 'X'",
        ),
        (
            "g (float[2] X) => (float[2] Y) {\n   Y Relu (X)\n}",
            "2:6: expected '=' after the node's outputs (a node reads: outputs = Op (inputs)), found 'Relu'",
        ),
        (
            "g (float[2] X) > (Y) { }",
            "1:16: expected '=>' between the graph's inputs and outputs, found '>'",
        ),
        (
            "g (float[2] X) = > (Y) { }",
            "1:16: expected '=>' between the graph's inputs and outputs, found '='",
        ),
        ("g (float[2 X) => (Y) { }", "1:12: expected ']' to close the dimensions, found 'X'"),
        (
            "g (flaot[2] X) => (Y) { }",
            "1:4: 'flaot' is not a type (expected an element type such as float or int64, or seq, map, optional, sparse_tensor, opaque)",
        ),
        (
            "g (X Y) => (Y) { }",
            "1:4: 'X' is not a type (expected an element type such as float or int64, or seq, map, optional, sparse_tensor, opaque)",
        ),
        ("g (float[2] X Y) => (Y) { }", "1:15: expected ')' after the graph's inputs, found 'Y'"),
        (
            "g (X) => (Y) {\n   Y = Relu (X)\n",
            "3:1: expected a node or '}' to close the node list, found the end of the input",
        ),
        (
            "g (X) => (Y) { Y = Foo <a = > (X) }",
            "1:29: expected an attribute value (a number, string, tensor, type, graph, [list] or @reference), found '>'",
        ),
        (
            "g (X) => (Y) { Y = Foo <a = []> (X) }",
            "1:29: an empty list needs its type, as in a: ints = []",
        ),
        (
            "g (X) => (Y) { Y = Foo <a: ints = 3> (X) }",
            "1:35: attribute 'a' is declared ints but its value is int",
        ),
        (
            "g (X) => (Y) { Y = Foo <a: int = [3]> (X) }",
            "1:34: attribute 'a' is declared int and cannot be a list",
        ),
        (
            "g (X) => (Y) { Y = Foo <a: integer = 3> (X) }",
            "1:28: unknown attribute type 'integer' (expected one of float, int, string, tensor, graph, sparse_tensor, type_proto, floats, ints, strings, tensors, graphs, sparse_tensors, type_protos)",
        ),
        (
            "g (X) => (Y) { Y = Foo <a = [1, \"x\"]> (X) }",
            "1:33: the list 'a' holds int values, but this one is string",
        ),
        (
            "g () => (Y) <float[3] w = {1.0, 2.0}> { }",
            "1:27: float[3] holds 3 values, but 2 are given",
        ),
        ("g () => (Y) <uint8[1] w = {256}> { }", "1:28: 256 is out of range for uint8 (0 to 255)"),
        (
            "g () => (Y) <int64[1] w = {1.5}> { }",
            "1:28: expected an integer (int64 value), found the number 1.5",
        ),
        (
            "g () => (Y) <float[N] w = {1.0}> { }",
            "1:14: the dims of a tensor value must be numbers of at least 0, not float[N]",
        ),
        ("g () => (Y) <float[1] w = {1e39}> { }", "1:28: 1e39 is out of range for float"),
        (
            "g () => (Y) <w = {1.0}> { }",
            "1:14: an initializer needs a tensor type before its name, as in float[2] w = {1.0, 2.0}",
        ),
        ("<ir_version: 10, ir_version: 11> g () => () { }", "1:18: 'ir_version' is given twice"),
        (
            "<ir_verison: 10> g () => () { }",
            "1:2: unknown model header field 'ir_verison' (expected one of ir_version, opset_import, producer_name, producer_version, domain, model_version, doc_string, metadata_props)",
        ),
        (
            "<opset_import: [\"\": x]> g () => () { }",
            "1:21: expected the opset version number, found 'x'",
        ),
        (
            "g (X) => (Y) { Y = Relu (X) } trailing",
            "1:39: expected '(' to open the function's inputs, found the end of the input",
        ),
        (
            "g (X) => (Y) { Y = Foo <s = \"open> (X) }",
            "1:29: this string is never closed (missing '\"')",
        ),
        ("g (X) => (Y) { Y = Foo (X) $ }", "1:28: unexpected character '$'"),
        (
            "g (X) => (Y) { Y = Foo <a = 99999999999999999999> (X) }",
            "1:29: 99999999999999999999 does not fit in 64 bits",
        ),
        ("", "1:1: expected a graph name, found the end of the input"),
    ];
    let mut wrong = Vec::new();
    for (text, want) in cases {
        let got = err(text);
        if got != *want {
            wrong.push(format!("{text:?}\n   got:  {got}\n   want: {want}"));
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

#[test]
fn structural_errors_point_at_the_name() {
    let cases: &[(&str, &str)] = &[
        ("g (X, X) => () { }", "1:7: graph input 'X' is declared twice"),
        (
            "g (X) => (Y) {\n   Y = Relu (X)\n   Y = Neg (X)\n}",
            "3:4: value 'Y' is defined more than once",
        ),
        ("g (X) => (Y) { Y = Relu (X)  X = Neg (Y) }", "1:30: value 'X' is defined more than once"),
        (
            "g () => (w) <float w = {1.0}, float w = {2.0}> { }",
            "1:37: initializer 'w' is defined more than once",
        ),
        (
            "g (X) => (Y) {\n   [a] A = Add (X, B)\n   [b] B = Relu (A)\n   Y = Identity (B)\n}",
            "1:1: the graph has a cycle through 'a' (Add) -> 'b' (Relu)",
        ),
        (
            "g (X) => (Y) { Y = local.F (X) }\n<domain: \"local\"> F (x) => (y) { y = local.G (x) }\n<domain: \"local\"> G (x) => (y) { y = local.F (x) }",
            "2:19: model-local functions call each other in a cycle: F -> G -> F",
        ),
    ];
    for (text, want) in cases {
        assert_eq!(&err(text), want, "{text}");
    }
}

#[test]
fn alternate_display_shows_the_line() {
    let e = ferry_text::parse_model(&format!("{HEAD}g (X) => (Y) {{\n   Y = Relu (X,, \n}}"))
        .expect_err("bad");
    assert_eq!(format!("{e:#}"), "4:1: expected ')' after the inputs of Relu, found '}'\n}\n^");
    let e = ferry_text::parse_graph("g (X) => (Y) {\n   Y = Relu X\n}").expect_err("bad");
    assert_eq!(
        format!("{e:#}"),
        "2:13: expected '(' to open the inputs of Relu, found 'X'\n   Y = Relu X\n            ^"
    );
}

#[test]
fn deep_nesting_is_refused_not_overflowed() {
    let mut g = String::from("g (bool c) => (y) { y = If (c) <then_branch = ");
    for _ in 0..40 {
        g.push_str("t () => (y) { y = If (c) <then_branch = ");
    }
    assert!(err(&g).contains("graphs nest deeper than 32 levels"), "{}", err(&g));
    let t = format!("g ({}float{} X) => () {{ }}", "seq(".repeat(200), ")".repeat(200));
    assert!(err(&t).contains("types nest deeper than 64 levels"));
}

/// A tiny deterministic generator (xorshift), so the test needs no dependency and always
/// covers the same cases.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

/// Truncations and small corruptions of printed models parse or fail, but never panic.
#[test]
fn truncated_and_corrupted_text_never_panics() {
    let root = common::repo_root().join("testdata/onnx");
    let mut texts: Vec<String> = common::onnx_files(&root)
        .iter()
        .filter_map(|p| {
            let opts = ferry_onnx::LoadOptions { resolve_external: false, sort_nodes: false };
            ferry_onnx::load_with(p, &opts).ok()
        })
        .map(|l| ferry_text::print_model(&l.model))
        .collect();
    let golden = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden");
    for e in std::fs::read_dir(golden).expect("golden").flatten() {
        if e.path().extension().is_some_and(|x| x == "onnxtxt") {
            texts.push(std::fs::read_to_string(e.path()).expect("snippet"));
        }
    }
    assert!(texts.len() > 30);
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let mut tried = 0;
    let junk = [
        "", "(", ")", "<", ">", "{", "}", "[", "]", ",", "=", "=>", "\"", "@", ":", ".", "-", "1",
        "1.5", "x", "float", "seq(", "#",
    ];
    for text in &texts {
        // Every truncation of short texts, a sample of long ones.
        let cuts: Vec<usize> = if text.len() <= 600 {
            (0..=text.len()).collect()
        } else {
            (0..300).map(|_| rng.below(text.len() + 1)).collect()
        };
        for cut in cuts {
            if text.is_char_boundary(cut) {
                let _ = ferry_text::parse_model(&text[..cut]);
                tried += 1;
            }
        }
        for _ in 0..200 {
            let at = rng.below(text.len() + 1);
            let len = rng.below(4).min(text.len() - at);
            if !text.is_char_boundary(at) || !text.is_char_boundary(at + len) {
                continue;
            }
            let mut bad = String::with_capacity(text.len() + 4);
            bad.push_str(&text[..at]);
            bad.push_str(junk[rng.below(junk.len())]);
            bad.push_str(&text[at + len..]);
            let _ = ferry_text::parse_model(&bad);
            tried += 1;
        }
    }
    println!("{tried} damaged texts parsed or refused without panicking");
}
