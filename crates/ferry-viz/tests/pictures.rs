//! Pictures of built models and of the corpus: every node drawn once, no two boxes of one
//! scene overlapping, every edge drawn, constants folded, subgraphs nested, repeated blocks
//! folded with `collapse`, and the output deterministic.

use ferry_ir::{
    AttrValue, Attribute, DataType, DimValue, Graph, Initializer, Model, Node, OpsetImport, Tensor,
    Type, ValueId, ValueInfo,
};
use ferry_viz::{ItemKind, Options, dot, scene, svg};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

fn info(elem: DataType, dims: &[DimValue]) -> ValueInfo {
    ValueInfo { ty: Some(Type::tensor(elem, dims.iter().cloned())), ..ValueInfo::default() }
}

fn weight(g: &mut Graph, name: &str, dims: Vec<i64>) -> ValueId {
    let n: i64 = dims.iter().product();
    let t = Tensor::from_raw(
        name,
        DataType::FLOAT,
        dims,
        bytes::Bytes::from(vec![0u8; 4 * n as usize]),
    );
    g.add_initializer(name, Initializer::Dense(t))
}

fn model(g: Graph) -> Model {
    Model {
        ir_version: Some(10),
        opset_imports: vec![OpsetImport { domain: Some(String::new()), version: Some(21) }],
        graph: Some(g),
        ..Model::default()
    }
}

/// A stack of `layers` transformer-like layers of 25 nodes each (attention with q/k/v
/// branches, residual adds, an MLP), so `layers = 40` is a 1,000-node model.
fn transformer(layers: usize) -> Model {
    let mut g = Graph::new();
    let dims = [DimValue::Symbol("batch".into()), DimValue::Known(16), DimValue::Known(64)];
    let mut x = g.add_input("x", info(DataType::FLOAT, &dims));
    let op = |g: &mut Graph, op: &str, inputs: &[ValueId], attrs: Vec<Attribute>| -> ValueId {
        let name = format!("v{}", g.value_count());
        let mut node = Node::new(op);
        for a in attrs {
            node = node.with_attr(a);
        }
        let ins: Vec<Option<ValueId>> = inputs.iter().copied().map(Some).collect();
        let (_, outs) = g.add_node(node, &ins, &[Some(&name)]);
        outs[0].unwrap()
    };
    for l in 0..layers {
        let w = |g: &mut Graph, what: &str, d: Vec<i64>| weight(g, &format!("layer{l}.{what}"), d);
        let scale = w(&mut g, "ln1.scale", vec![64]);
        let ln1 = op(&mut g, "LayerNormalization", &[x, scale], vec![]);
        let mut heads = Vec::new();
        for p in ["q", "k", "v"] {
            let wp = w(&mut g, p, vec![64, 64]);
            let mm = op(&mut g, "MatMul", &[ln1, wp], vec![]);
            let shape = w(&mut g, &format!("{p}.shape"), vec![3]);
            let mm = op(&mut g, "Reshape", &[mm, shape], vec![]);
            let perm = Attribute::new("perm", AttrValue::Ints(vec![0, 2, 1]));
            heads.push(op(&mut g, "Transpose", &[mm], vec![perm]));
        }
        let scores = op(&mut g, "MatMul", &[heads[0], heads[1]], vec![]);
        let scaled = op(&mut g, "Mul", &[scores, scores], vec![]);
        let axis = Attribute::new("axis", AttrValue::Int(-1));
        let probs = op(&mut g, "Softmax", &[scaled], vec![axis]);
        let probs = op(&mut g, "Identity", &[probs], vec![]);
        let ctx = op(&mut g, "MatMul", &[probs, heads[2]], vec![]);
        let wo = w(&mut g, "o", vec![64, 64]);
        let proj = op(&mut g, "MatMul", &[ctx, wo], vec![]);
        let res1 = op(&mut g, "Add", &[x, proj], vec![]);
        let scale2 = w(&mut g, "ln2.scale", vec![64]);
        let ln2 = op(&mut g, "LayerNormalization", &[res1, scale2], vec![]);
        let w1 = w(&mut g, "fc1", vec![64, 256]);
        let h = op(&mut g, "MatMul", &[ln2, w1], vec![]);
        let b1 = w(&mut g, "fc1.bias", vec![256]);
        let hb = op(&mut g, "Add", &[h, b1], vec![]);
        let act = op(&mut g, "Gelu", &[hb], vec![]);
        let w2 = w(&mut g, "fc2", vec![256, 64]);
        let h2 = op(&mut g, "MatMul", &[act, w2], vec![]);
        let b2 = w(&mut g, "fc2.bias", vec![64]);
        let hb2 = op(&mut g, "Add", &[h2, b2], vec![]);
        let d = op(&mut g, "Identity", &[hb2], vec![]);
        x = op(&mut g, "Add", &[res1, d], vec![]);
    }
    g.value_mut(x).info = info(DataType::FLOAT, &dims);
    g.add_output(x);
    model(g)
}

/// Keeps a picture for looking at when `FERRY_VIZ_OUT` names a directory.
fn save(name: &str, picture: &str) {
    if let Some(dir) = std::env::var_os("FERRY_VIZ_OUT") {
        let path = PathBuf::from(dir).join(name);
        std::fs::write(&path, picture).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    }
}

/// Boxes (x, y, w, h, scene) in absolute coordinates; `scene` numbers the translated group a
/// box is drawn in, so boxes of one scene can be compared with each other.
fn boxes(svg: &str) -> Vec<(f64, f64, f64, f64, usize)> {
    let attr = |tag: &str, name: &str| -> f64 {
        let key = format!(" {name}=\"");
        let at = tag.find(&key).map(|i| i + key.len()).expect("attribute present");
        tag[at..].split('"').next().unwrap().parse().unwrap()
    };
    let mut out = Vec::new();
    // Stack of (x offset, y offset, scene id) per open <g>.
    let mut stack: Vec<(f64, f64, usize)> = vec![(0.0, 0.0, 0)];
    let mut scenes = 0;
    for tag in svg.split('<').skip(1) {
        let (ox, oy, scene) = *stack.last().unwrap();
        if let Some(rest) = tag.strip_prefix("g transform=\"translate(") {
            let nums: Vec<f64> =
                rest.split(')').next().unwrap().split(',').map(|v| v.parse().unwrap()).collect();
            scenes += 1;
            stack.push((ox + nums[0], oy + nums[1], scenes));
        } else if tag.starts_with("g>") || tag.starts_with("g ") {
            stack.push((ox, oy, scene));
        } else if tag.starts_with("/g>") {
            stack.pop();
        } else if tag.starts_with("rect class=\"box\"")
            || tag.starts_with("rect class=\"blockbox\"")
        {
            out.push((
                ox + attr(tag, "x"),
                oy + attr(tag, "y"),
                attr(tag, "width"),
                attr(tag, "height"),
                scene,
            ));
        }
    }
    out
}

fn assert_no_overlaps(svg: &str, what: &str) {
    let b = boxes(svg);
    for i in 0..b.len() {
        for j in i + 1..b.len() {
            let (p, q) = (b[i], b[j]);
            if p.4 != q.4 {
                continue;
            }
            let apart =
                p.0 + p.2 <= q.0 || q.0 + q.2 <= p.0 || p.1 + p.3 <= q.1 || q.1 + q.3 <= p.1;
            assert!(apart, "{what}: boxes {p:?} and {q:?} overlap");
        }
    }
}

#[test]
fn a_thousand_node_model_is_drawn_whole_and_readable() {
    let m = transformer(40);
    assert_eq!(m.graph.as_ref().unwrap().node_count(), 1000);
    let picture = svg(&m, &Options::default()).unwrap();
    save("transformer40.svg", &picture);
    let b = boxes(&picture);
    // 1,000 node boxes + the input and output pills; no initializer boxes.
    assert_eq!(b.len(), 1002);
    assert_no_overlaps(&picture, "transformer(40)");
    assert_eq!(
        picture.matches("<path class=\"edge").count(),
        scene(&m, &Options::default()).unwrap().edges.len()
    );
    // Readable means laid out as a column of layers, not a wide band: a layer's three heads
    // side by side, never dozens of boxes in a row.
    let width: f64 =
        picture.split("width=\"").nth(1).unwrap().split('"').next().unwrap().parse().unwrap();
    assert!(width < 1200.0, "picture is {width} px wide");
    // Weights are folded into their readers, named by the schema.
    assert!(picture.contains("B float[64,64]"), "MatMul weight folded as its B input");
    assert!(picture.contains("Scale float[64]"));
    // Same model, same picture.
    assert_eq!(picture, svg(&m, &Options::default()).unwrap());
}

#[test]
fn collapse_folds_the_repeated_layers() {
    let m = transformer(40);
    let s = scene(&m, &Options { collapse: true }).unwrap();
    let blocks: Vec<&ItemKind> =
        s.items.iter().map(|i| &i.kind).filter(|k| matches!(k, ItemKind::Block { .. })).collect();
    assert_eq!(blocks, vec![&ItemKind::Block { count: 40 }]);
    let picture = svg(&m, &Options { collapse: true }).unwrap();
    save("transformer40_collapsed.svg", &picture);
    assert!(picture.contains("×40"));
    assert!(boxes(&picture).len() < 60, "one layer drawn, not forty");
    assert_no_overlaps(&picture, "transformer(40) collapsed");
    // The residual input enters the block twice (attention branch and the add after it).
    let body = &s.items.iter().find(|i| matches!(i.kind, ItemKind::Block { .. })).unwrap().children
        [0]
    .scene;
    let input = body.items.iter().position(|i| i.title == "block input").unwrap();
    assert!(body.edges.iter().filter(|e| e.from == input).count() >= 2);
}

/// `If` with one op in each branch, reading `x` from the outer graph.
fn with_subgraphs() -> Model {
    let mut g = Graph::new();
    let x = g.add_input("x", info(DataType::FLOAT, &[DimValue::Known(2)]));
    let c = g.add_input("c", info(DataType::BOOL, &[]));
    let branch = |op: &str| {
        let mut b = Graph::new();
        let cx = b.add_capture("x");
        let (_, outs) = b.add_node(Node::new(op), &[Some(cx)], &[Some("r")]);
        b.add_output(outs[0].unwrap());
        b
    };
    let node = Node::new("If")
        .with_attr(Attribute::new("then_branch", AttrValue::Graph(Box::new(branch("Relu")))))
        .with_attr(Attribute::new("else_branch", AttrValue::Graph(Box::new(branch("Neg")))));
    let (id, outs) = g.add_node(node, &[Some(c)], &[Some("y")]);
    g.add_implicit_input(id, x);
    g.add_output(outs[0].unwrap());
    model(g)
}

#[test]
fn subgraphs_are_drawn_inside_their_node() {
    let m = with_subgraphs();
    let picture = svg(&m, &Options::default()).unwrap();
    assert!(picture.contains(">then_branch</text>") && picture.contains(">else_branch</text>"));
    assert!(picture.contains(">Relu</text>") && picture.contains(">Neg</text>"));
    assert!(picture.contains("class=\"edge implicit\""), "the capture is a dashed edge");
    assert_no_overlaps(&picture, "If");
    let d = dot(&m, &Options::default()).unwrap();
    assert!(d.starts_with("digraph model {"));
    assert_eq!(d.matches("subgraph cluster_").count(), 3, "the If, and one per branch");
    assert!(d.contains("label=\"then_branch\"") && d.contains("style=dashed"));
}

#[test]
fn constant_nodes_fold_and_labels_escape() {
    let mut g = Graph::new();
    let x = g.add_input("x <&\"in\">", info(DataType::FLOAT, &[DimValue::Symbol("N".into())]));
    let raw: Vec<u8> = [1i64, -1].iter().flat_map(|v| v.to_le_bytes()).collect();
    let shape = Tensor::from_raw("s", DataType::INT64, vec![2], bytes::Bytes::from(raw));
    let konst = Node::new("Constant")
        .with_attr(Attribute::new("value", AttrValue::Tensor(Box::new(shape))));
    let (_, k) = g.add_node(konst, &[], &[Some("shape")]);
    let (_, y) = g.add_node(Node::new("Reshape"), &[Some(x), k[0]], &[Some("y")]);
    g.add_output(y[0].unwrap());
    let m = model(g);
    let s = scene(&m, &Options::default()).unwrap();
    assert_eq!(s.items.iter().filter(|i| i.kind == ItemKind::Op).count(), 1, "Constant folded");
    let picture = svg(&m, &Options::default()).unwrap();
    assert!(picture.contains("shape int64[2] = [1,-1]"), "folded under the schema's name");
    assert!(picture.contains("x &lt;&amp;&quot;in&quot;&gt;"));
    assert!(picture.contains("float[N]"), "edge labelled with the declared type");
    let d = dot(&m, &Options::default()).unwrap();
    assert!(d.contains("label=\"x <&\\\"in\\\">\""), "{d}");
}

fn onnx_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    let mut entries: Vec<_> = entries.flatten().map(|e| e.path()).collect();
    entries.sort();
    for p in entries {
        if p.is_dir() {
            onnx_files(&p, out);
        } else if p.extension().is_some_and(|e| e == "onnx") {
            out.push(p);
        }
    }
}

/// Every corpus model draws, as SVG (with and without folding) and DOT, without overlaps.
#[test]
fn corpus_pictures() {
    let Some(root) = std::env::var_os("FERRY_CORPUS").map(PathBuf::from) else {
        println!("skipped: FERRY_CORPUS is not set");
        return;
    };
    let mut files = Vec::new();
    onnx_files(&root, &mut files);
    let opts = ferry_onnx::LoadOptions { resolve_external: false, ..Default::default() };
    let mut drawn = 0;
    for f in &files {
        let Ok(loaded) = ferry_onnx::load_with(f, &opts) else { continue };
        let what = f.display().to_string();
        for collapse in [false, true] {
            let picture = svg(&loaded.model, &Options { collapse }).unwrap();
            assert_no_overlaps(&picture, &what);
        }
        assert!(dot(&loaded.model, &Options::default()).unwrap().ends_with("}\n"));
        drawn += 1;
    }
    println!("drew {drawn} of {} corpus models", files.len());
    assert!(drawn > 0);
}

/// Graphviz accepts every DOT file ferry writes for the project's test models (skipped when
/// Graphviz is not installed).
#[test]
fn graphviz_reads_the_dot() {
    if Command::new("dot").arg("-V").output().is_err() {
        println!("skipped: Graphviz's dot is not installed");
        return;
    }
    let mut models: Vec<(String, Model)> =
        vec![("if".into(), with_subgraphs()), ("transformer".into(), transformer(3))];
    let mut files = Vec::new();
    onnx_files(&Path::new(env!("CARGO_MANIFEST_DIR")).join("../../testdata/onnx"), &mut files);
    let opts = ferry_onnx::LoadOptions { resolve_external: false, ..Default::default() };
    for f in files {
        if let Ok(loaded) = ferry_onnx::load_with(&f, &opts) {
            models.push((f.display().to_string(), loaded.model));
        }
    }
    assert!(models.len() > 5);
    for (name, m) in &models {
        for collapse in [false, true] {
            let text = dot(m, &Options { collapse }).unwrap();
            let mut child = Command::new("dot")
                .arg("-Tsvg")
                .stdin(Stdio::piped())
                .stdout(Stdio::null())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap();
            child.stdin.take().unwrap().write_all(text.as_bytes()).unwrap();
            let out = child.wait_with_output().unwrap();
            let err = String::from_utf8_lossy(&out.stderr);
            assert!(out.status.success() && err.is_empty(), "{name}: {err}");
        }
    }
}
