//! The picture's content, before any geometry: which boxes there are, what they say, and which
//! edges join them.
//!
//! One [`Scene`] per graph. Graph inputs, captured outer values and graph outputs become small
//! "pill" items; every node becomes a box; constant inputs are folded into the label of the box
//! that reads them instead of getting boxes and edges of their own, because a 1,000-node model
//! has about as many weights as ops and drawing them doubles the picture for no insight.
//! Constants are initializers (including inputs that have an initializer as default) and
//! `Constant` nodes, which are initializers in another form (paddle2onnx stores every weight as
//! one). Subgraphs (If/Loop/Scan bodies) become child scenes of their node's box. Both renderers
//! (SVG and DOT) draw from this.

use crate::label::{
    attr_lines, attr_value, constant_summary, folded_identity, folded_name, formal_input,
    initializer_text, is_foldable_constant, type_label,
};
use ferry_ir::{Graph, Model, Node, OpsetImport, ValueDef, ValueId};
use ferry_ops::OpSchema;
use std::collections::HashMap;
use std::collections::hash_map::DefaultHasher;
use std::hash::{Hash, Hasher};

/// What an item stands for.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum ItemKind {
    /// A node.
    Op,
    /// A graph input.
    Input,
    /// A graph output.
    Output,
    /// A value a subgraph reads from an enclosing graph.
    Capture,
    /// A value read but defined nowhere (ill-formed graphs), or a graph output that is a
    /// constant.
    Other,
    /// `count` consecutive alike blocks, folded into one (see `collapse`); the child scene
    /// shows one of them.
    Block { count: usize },
}

/// One box (or pill) of a scene.
#[derive(Clone, Debug)]
pub struct Item {
    pub kind: ItemKind,
    /// Op type for boxes, value name for pills.
    pub title: String,
    /// Lines under the title: key attributes, then folded constants.
    pub lines: Vec<String>,
    /// Everything known about the item, for hover text.
    pub tooltip: String,
    /// Scenes drawn inside this item's box: subgraphs, or a folded block's body.
    pub children: Vec<Child>,
    /// Equal for items that look and connect the same; drives block folding.
    pub signature: u64,
    pub in_ports: usize,
    pub out_ports: usize,
}

#[derive(Clone, Debug)]
pub struct Child {
    pub label: String,
    pub scene: Scene,
}

/// A value flowing from one item to another.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Edge {
    pub from: usize,
    pub from_port: usize,
    pub to: usize,
    /// `None` for implicit reads (a subgraph of `to` captures the value).
    pub to_port: Option<usize>,
    /// Declared element type and shape of the value, shortened for the picture, or empty.
    pub label: String,
    /// The full declared type, for hover text.
    pub detail: String,
}

/// The items and edges of one graph. Items are in graph order: pills first, then nodes.
#[derive(Clone, Debug, Default)]
pub struct Scene {
    pub items: Vec<Item>,
    pub edges: Vec<Edge>,
}

impl Scene {
    /// Number of items, counting those inside children.
    pub fn item_count(&self) -> usize {
        self.items
            .iter()
            .map(|i| 1 + i.children.iter().map(|c| c.scene.item_count()).sum::<usize>())
            .sum()
    }
}

fn pill(kind: ItemKind, title: &str, tooltip: String) -> Item {
    Item {
        kind,
        title: title.to_string(),
        lines: Vec::new(),
        tooltip,
        children: Vec::new(),
        signature: 0,
        in_ports: 1,
        out_ports: 1,
    }
}

/// The operator sets in force, to find each node's schema.
#[derive(Clone, Copy)]
pub struct Opsets<'m>(&'m [OpsetImport]);

impl<'m> Opsets<'m> {
    pub fn of(model: &'m Model) -> Opsets<'m> {
        Opsets(&model.opset_imports)
    }

    fn schema(self, n: &Node) -> Option<&'static OpSchema> {
        let domain = n.canonical_domain();
        let version = self.0.iter().find(|o| o.canonical_domain() == domain)?.version?;
        ferry_ops::lookup(domain, &n.op_type, version)
    }
}

/// A constant input as its readers show it: the line's text after the input's name, and what
/// makes two constants alike for folding repeated blocks (type and dims, not values).
struct Folded {
    text: String,
    identity: String,
}

/// Every value of `g` that is folded into its readers' labels.
fn constants(g: &Graph) -> HashMap<ValueId, Folded> {
    let mut folded = HashMap::new();
    for (v, value) in g.values() {
        if let Some(init) = &value.initializer {
            let text = initializer_text(init);
            folded.insert(v, Folded { text, identity: folded_identity(init) });
        }
    }
    for (_, n) in g.nodes() {
        let Some(Some(out)) = n.outputs().first() else { continue };
        if is_foldable_constant(n) && !g.is_graph_output(*out) {
            let (text, identity) = constant_summary(n);
            folded.insert(*out, Folded { text, identity });
        }
    }
    folded
}

/// Builds the scene of `g` and, recursively, of its subgraphs.
pub fn scene(g: &Graph, opsets: Opsets<'_>) -> Scene {
    let mut s = Scene::default();
    let folded = constants(g);
    let drawn = |n: &Node| {
        !(is_foldable_constant(n) && n.outputs()[0].is_some_and(|o| folded.contains_key(&o)))
    };
    // Where each value comes from: (item, output port).
    let mut source: HashMap<ValueId, (usize, usize)> = HashMap::new();
    for &v in g.inputs() {
        let value = g.value(v);
        if value.initializer.is_some() {
            continue;
        }
        let tip = format!("input {}: {}", value.name, type_label(value.ty()));
        source.insert(v, (s.items.len(), 0));
        s.items.push(pill(ItemKind::Input, &value.name, tip));
    }
    for &v in g.captures() {
        let value = g.value(v);
        let tip = format!("{} (read from the enclosing graph)", value.name);
        source.insert(v, (s.items.len(), 0));
        s.items.push(pill(ItemKind::Capture, &value.name, tip));
    }
    let mut node_item: HashMap<ferry_ir::NodeId, usize> = HashMap::new();
    for (id, n) in g.nodes().filter(|(_, n)| drawn(n)) {
        node_item.insert(id, s.items.len());
        for (port, out) in n.outputs().iter().enumerate() {
            if let Some(o) = out {
                source.insert(*o, (s.items.len(), port));
            }
        }
        s.items.push(node_box(g, n, opsets, &folded));
    }
    let mut source_of = |s: &mut Scene, v: ValueId| -> (usize, usize) {
        if let Some(&src) = source.get(&v) {
            return src;
        }
        let value = g.value(v);
        let tip = match value.def() {
            ValueDef::Undefined => format!("{}: read here but defined nowhere", value.name),
            _ => format!("{}: a constant", value.name),
        };
        let at = (s.items.len(), 0);
        s.items.push(pill(ItemKind::Other, &value.name, tip));
        source.insert(v, at);
        at
    };
    for (id, n) in g.nodes().filter(|(_, n)| drawn(n)) {
        let to = node_item[&id];
        for (slot, input) in n.inputs().iter().enumerate() {
            let Some(v) = *input else { continue };
            if folded.contains_key(&v) {
                continue;
            }
            let (from, from_port) = source_of(&mut s, v);
            let (label, detail) = labels(g, v);
            s.edges.push(Edge { from, from_port, to, to_port: Some(slot), label, detail });
        }
        for &v in n.implicit_inputs() {
            let (from, from_port) = source_of(&mut s, v);
            let (label, detail) = labels(g, v);
            s.edges.push(Edge { from, from_port, to, to_port: None, label, detail });
        }
    }
    for &v in g.outputs() {
        let value = g.value(v);
        let (from, from_port) = source_of(&mut s, v);
        let tip = format!("output {}: {}", value.name, type_label(value.ty()));
        let to = s.items.len();
        s.items.push(pill(ItemKind::Output, &value.name, tip));
        let (label, detail) = labels(g, v);
        s.edges.push(Edge { from, from_port, to, to_port: Some(0), label, detail });
    }
    s
}

/// An edge's label and hover text for value `v`.
fn labels(g: &Graph, v: ValueId) -> (String, String) {
    let ty = g.value(v).ty();
    (type_label(ty), ty.map(|t| t.to_string()).unwrap_or_default())
}

fn node_box(g: &Graph, n: &Node, opsets: Opsets<'_>, folded: &HashMap<ValueId, Folded>) -> Item {
    let schema = opsets.schema(n);
    let mut lines = attr_lines(n, schema);
    let mut hasher = DefaultHasher::new();
    n.op_type.hash(&mut hasher);
    n.canonical_domain().hash(&mut hasher);
    lines.hash(&mut hasher);
    n.inputs().len().hash(&mut hasher);
    n.outputs().len().hash(&mut hasher);
    let mut tip = match n.name.as_deref() {
        Some(name) if !name.is_empty() => format!("{name}\n{}", op_name(n)),
        _ => op_name(n),
    };
    for a in &n.attributes {
        if a.value.graphs().is_empty() {
            tip.push_str(&format!("\n  {} = {}", a.name, attr_value(a)));
        }
    }
    for (slot, input) in n.inputs().iter().enumerate() {
        let Some(v) = *input else { continue };
        let value = g.value(v);
        tip.push_str(&format!("\n  in {slot}: {} {}", value.name, type_label(value.ty())));
        if let Some(f) = folded.get(&v) {
            let name = folded_name(formal_input(schema, slot), &value.name);
            lines.push(format!("{name} {}", f.text));
            (slot, &f.identity).hash(&mut hasher);
        }
    }
    for (slot, out) in n.outputs().iter().enumerate() {
        if let Some(v) = *out {
            let value = g.value(v);
            tip.push_str(&format!("\n  out {slot}: {} {}", value.name, type_label(value.ty())));
        }
    }
    let mut children = Vec::new();
    for a in &n.attributes {
        let graphs = a.value.graphs();
        for (i, sub) in graphs.iter().enumerate() {
            let label = if graphs.len() > 1 { format!("{}[{i}]", a.name) } else { a.name.clone() };
            let scene = scene(sub, opsets);
            scene_signature(&scene).hash(&mut hasher);
            children.push(Child { label, scene });
        }
    }
    Item {
        kind: ItemKind::Op,
        title: n.op_type.clone(),
        lines,
        tooltip: tip,
        children,
        signature: hasher.finish(),
        in_ports: n.inputs().len().max(1),
        out_ports: n.outputs().len().max(1),
    }
}

fn op_name(n: &Node) -> String {
    match n.canonical_domain() {
        "" => n.op_type.clone(),
        d => format!("{d}::{}", n.op_type),
    }
}

/// A digest of a whole scene (items and wiring), so that nodes owning equal subgraphs compare
/// equal.
pub fn scene_signature(s: &Scene) -> u64 {
    let mut h = DefaultHasher::new();
    for i in &s.items {
        i.signature.hash(&mut h);
        i.kind.hash(&mut h);
    }
    for e in &s.edges {
        (e.from, e.from_port, e.to, e.to_port).hash(&mut h);
    }
    h.finish()
}
