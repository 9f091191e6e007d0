//! Graphs: nodes and values in arenas, with use lists and an editable node order.
//!
//! Invariants the editing methods maintain (and that `Graph::verify_links` checks in tests):
//! - every value has exactly one definition ([`ValueDef`]): a graph input, an initializer, a node
//!   output, a capture from an enclosing graph, or nothing (`Undefined`, kept so that ill-formed
//!   files survive for the checker to report);
//! - a value's use list holds exactly the (node, slot) pairs that read it, including the implicit
//!   reads of a node whose subgraphs capture it;
//! - the node order is a doubly linked list, so nodes can be inserted and removed while walking it.
//!
//! Subgraphs (If/Loop/Scan bodies) are owned by their node's attributes. A value a subgraph reads
//! from an enclosing scope appears inside the subgraph as a `Captured` value with the same name,
//! and on the owning node as an implicit input; that is what keeps topological order, dead-code
//! and use counts right without looking into subgraphs.

use crate::arena::{Arena, Id};
use crate::{
    AttrValue, Attribute, NodeDeviceConfiguration, SparseTensor, StringEntry, Tensor, Type,
};
use crate::{TensorAnnotation, canonical_domain};
use std::collections::HashMap;

pub type ValueId = Id<Value>;
pub type NodeId = Id<Node>;

/// The declared facts about a value (ONNX `ValueInfoProto` minus the name).
#[derive(Clone, Debug, PartialEq, Default)]
pub struct ValueInfo {
    pub ty: Option<Type>,
    pub doc_string: Option<String>,
    pub metadata_props: Vec<StringEntry>,
}

#[derive(Clone, Debug)]
pub struct Value {
    pub name: String,
    pub info: ValueInfo,
    pub initializer: Option<Initializer>,
    def: ValueDef,
    uses: Vec<Use>,
    /// How many entries of the graph's `value_info` list name this value, so removing a node
    /// need not scan the list (which would make removing many nodes quadratic).
    info_entries: u32,
}

/// A constant bound to a value in the graph's initializer lists.
#[derive(Clone, Debug, PartialEq)]
pub enum Initializer {
    Dense(Tensor),
    Sparse(Box<SparseTensor>),
}

/// How a value comes to exist.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ValueDef {
    /// A graph input; it may also carry an initializer, which is then its default.
    Input,
    /// An initializer that is not a graph input.
    Initializer,
    /// Output number `output` of `node`.
    Node { node: NodeId, output: u32 },
    /// Defined in an enclosing graph and read here by name.
    Captured,
    /// Defined nowhere. Only ill-formed files (or a `value_info` entry for a value that does not
    /// exist) produce these; the checker reports them.
    Undefined,
}

/// One read of a value.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Use {
    pub node: NodeId,
    pub slot: UseSlot,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum UseSlot {
    /// The node's input number `n`.
    Input(u32),
    /// A subgraph of the node reads the value from outer scope.
    Implicit,
}

#[derive(Clone, Debug)]
pub struct Node {
    pub op_type: String,
    /// The operator domain as written: absent, "" and "ai.onnx" all mean the default set.
    pub domain: Option<String>,
    pub overload: Option<String>,
    pub name: Option<String>,
    pub attributes: Vec<Attribute>,
    pub doc_string: Option<String>,
    pub metadata_props: Vec<StringEntry>,
    pub device_configurations: Vec<NodeDeviceConfiguration>,
    inputs: Vec<Option<ValueId>>,
    outputs: Vec<Option<ValueId>>,
    implicit_inputs: Vec<ValueId>,
    prev: Option<NodeId>,
    next: Option<NodeId>,
}

/// The list a declaration of a value sits in, for declarations that differ from the value's own.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum DeclSite {
    Input,
    Output,
    ValueInfo,
}

#[derive(Clone, Debug, Default)]
pub struct Graph {
    pub name: Option<String>,
    pub doc_string: Option<String>,
    pub metadata_props: Vec<StringEntry>,
    pub quantization_annotations: Vec<TensorAnnotation>,
    values: Arena<Value>,
    nodes: Arena<Node>,
    first: Option<NodeId>,
    last: Option<NodeId>,
    inputs: Vec<ValueId>,
    outputs: Vec<ValueId>,
    initializers: Vec<ValueId>,
    sparse_initializers: Vec<ValueId>,
    value_info: Vec<ValueId>,
    captures: Vec<ValueId>,
    /// Captures by name, so a subgraph reading thousands of outer names stays linear.
    capture_index: HashMap<String, ValueId>,
    /// A value declared twice with different facts (say a graph output whose `value_info` entry
    /// disagrees with its `output` entry) keeps the first declaration in `Value::info` and the
    /// others here, keyed by list and position, so the file is reproduced as written. Editing
    /// that list through the API drops its overrides.
    decl_overrides: HashMap<(DeclSite, usize), ValueInfo>,
}

impl Value {
    pub fn def(&self) -> ValueDef {
        self.def
    }

    pub fn uses(&self) -> &[Use] {
        &self.uses
    }

    /// The node producing this value, if any.
    pub fn producer(&self) -> Option<NodeId> {
        match self.def {
            ValueDef::Node { node, .. } => Some(node),
            _ => None,
        }
    }

    pub fn ty(&self) -> Option<&Type> {
        self.info.ty.as_ref()
    }
}

impl Node {
    pub fn new(op_type: impl Into<String>) -> Node {
        Node {
            op_type: op_type.into(),
            domain: None,
            overload: None,
            name: None,
            attributes: Vec::new(),
            doc_string: None,
            metadata_props: Vec::new(),
            device_configurations: Vec::new(),
            inputs: Vec::new(),
            outputs: Vec::new(),
            implicit_inputs: Vec::new(),
            prev: None,
            next: None,
        }
    }

    pub fn with_domain(mut self, domain: impl Into<String>) -> Node {
        self.domain = Some(domain.into());
        self
    }

    pub fn with_name(mut self, name: impl Into<String>) -> Node {
        self.name = Some(name.into());
        self
    }

    pub fn with_attr(mut self, attr: Attribute) -> Node {
        self.attributes.push(attr);
        self
    }

    /// Inputs in order; `None` is an omitted optional input (written as "").
    pub fn inputs(&self) -> &[Option<ValueId>] {
        &self.inputs
    }

    /// Outputs in order; `None` is an unused optional output (written as "").
    pub fn outputs(&self) -> &[Option<ValueId>] {
        &self.outputs
    }

    /// Values of the enclosing graph that this node's subgraphs read, in first-use order.
    pub fn implicit_inputs(&self) -> &[ValueId] {
        &self.implicit_inputs
    }

    /// The domain with ONNX's aliases for the default set folded to "".
    pub fn canonical_domain(&self) -> &str {
        canonical_domain(self.domain.as_deref())
    }

    pub fn attr(&self, name: &str) -> Option<&Attribute> {
        self.attributes.iter().find(|a| a.name == name)
    }

    /// A label for messages: the node name if it has one, else `op_type`.
    pub fn label(&self) -> String {
        match self.name.as_deref() {
            Some(n) if !n.is_empty() => format!("'{n}' ({})", self.op_type),
            _ => format!("unnamed {}", self.op_type),
        }
    }

    /// Subgraphs held by this node's attributes, in attribute order.
    pub fn subgraphs(&self) -> impl Iterator<Item = &Graph> {
        self.attributes.iter().flat_map(|a| a.value.graphs())
    }

    pub fn subgraphs_mut(&mut self) -> impl Iterator<Item = &mut Graph> {
        self.attributes.iter_mut().flat_map(|a| a.value.graphs_mut())
    }

    pub fn has_subgraphs(&self) -> bool {
        self.attributes
            .iter()
            .any(|a| matches!(a.value, AttrValue::Graph(_) | AttrValue::Graphs(_)))
    }
}

impl Graph {
    pub fn new() -> Graph {
        Graph::default()
    }

    // ---- reading ----

    pub fn value(&self, id: ValueId) -> &Value {
        &self.values[id]
    }

    pub fn value_mut(&mut self, id: ValueId) -> &mut Value {
        &mut self.values[id]
    }

    pub fn node(&self, id: NodeId) -> &Node {
        &self.nodes[id]
    }

    pub fn node_mut(&mut self, id: NodeId) -> &mut Node {
        &mut self.nodes[id]
    }

    pub fn values(&self) -> impl Iterator<Item = (ValueId, &Value)> {
        self.values.iter()
    }

    pub fn value_count(&self) -> usize {
        self.values.len()
    }

    pub fn node_count(&self) -> usize {
        self.nodes.len()
    }

    /// Nodes in this graph and, recursively, in all subgraphs.
    pub fn node_count_recursive(&self) -> usize {
        self.nodes
            .iter()
            .map(|(_, n)| 1 + n.subgraphs().map(Graph::node_count_recursive).sum::<usize>())
            .sum()
    }

    pub fn first_node(&self) -> Option<NodeId> {
        self.first
    }

    pub fn last_node(&self) -> Option<NodeId> {
        self.last
    }

    pub fn next_node(&self, id: NodeId) -> Option<NodeId> {
        self.nodes[id].next
    }

    pub fn prev_node(&self, id: NodeId) -> Option<NodeId> {
        self.nodes[id].prev
    }

    /// Node handles in graph order.
    ///
    /// To edit while walking, fetch the next handle with [`Graph::next_node`] before changing the
    /// current node; inserted nodes then appear or not depending on where they were put.
    pub fn node_ids(&self) -> NodeIds<'_> {
        NodeIds { graph: self, next: self.first }
    }

    /// Nodes in graph order.
    pub fn nodes(&self) -> impl Iterator<Item = (NodeId, &Node)> {
        self.node_ids().map(move |id| (id, &self.nodes[id]))
    }

    pub fn inputs(&self) -> &[ValueId] {
        &self.inputs
    }

    pub fn outputs(&self) -> &[ValueId] {
        &self.outputs
    }

    /// Dense initializers in file order.
    pub fn initializers(&self) -> &[ValueId] {
        &self.initializers
    }

    pub fn sparse_initializers(&self) -> &[ValueId] {
        &self.sparse_initializers
    }

    /// Values with a `value_info` entry, in file order.
    pub fn value_info(&self) -> &[ValueId] {
        &self.value_info
    }

    /// Values this graph reads from enclosing graphs, in first-use order.
    pub fn captures(&self) -> &[ValueId] {
        &self.captures
    }

    pub fn decl_override(&self, site: DeclSite, index: usize) -> Option<&ValueInfo> {
        self.decl_overrides.get(&(site, index))
    }

    /// Finds a value by name with a linear scan. Callers doing many lookups build a map.
    pub fn find_value(&self, name: &str) -> Option<ValueId> {
        self.values.iter().find(|(_, v)| v.name == name).map(|(id, _)| id)
    }

    pub fn is_graph_output(&self, v: ValueId) -> bool {
        self.outputs.contains(&v)
    }

    // ---- building ----

    fn alloc_value(&mut self, name: String, def: ValueDef) -> ValueId {
        self.values.alloc(Value {
            name,
            info: ValueInfo::default(),
            initializer: None,
            def,
            uses: Vec::new(),
            info_entries: 0,
        })
    }

    /// Appends a graph input.
    pub fn add_input(&mut self, name: impl Into<String>, info: ValueInfo) -> ValueId {
        let v = self.alloc_value(name.into(), ValueDef::Input);
        self.values[v].info = info;
        self.inputs.push(v);
        self.drop_overrides(DeclSite::Input);
        v
    }

    /// Appends an initializer (dense or sparse) that is not a graph input.
    pub fn add_initializer(&mut self, name: impl Into<String>, init: Initializer) -> ValueId {
        let v = self.alloc_value(name.into(), ValueDef::Initializer);
        self.attach_initializer(v, init);
        v
    }

    /// Binds an initializer to an existing input or initializer-less value and lists it.
    pub fn attach_initializer(&mut self, v: ValueId, init: Initializer) {
        match init {
            Initializer::Dense(_) => self.initializers.push(v),
            Initializer::Sparse(_) => self.sparse_initializers.push(v),
        }
        self.values[v].initializer = Some(init);
    }

    /// Creates a value read from an enclosing graph under `name` (or returns the existing one).
    pub fn add_capture(&mut self, name: &str) -> ValueId {
        if let Some(&v) = self.capture_index.get(name) {
            return v;
        }
        let v = self.alloc_value(name.to_string(), ValueDef::Captured);
        self.captures.push(v);
        self.capture_index.insert(name.to_string(), v);
        v
    }

    /// Creates a value that nothing defines (see [`ValueDef::Undefined`]).
    pub fn add_undefined(&mut self, name: impl Into<String>) -> ValueId {
        self.alloc_value(name.into(), ValueDef::Undefined)
    }

    /// Appends `v` to the graph outputs.
    pub fn add_output(&mut self, v: ValueId) {
        self.outputs.push(v);
        self.drop_overrides(DeclSite::Output);
    }

    /// Replaces the graph outputs.
    pub fn set_outputs(&mut self, outputs: Vec<ValueId>) {
        self.outputs = outputs;
        self.drop_overrides(DeclSite::Output);
    }

    /// Appends `v` to the `value_info` list.
    pub fn add_value_info(&mut self, v: ValueId) {
        self.value_info.push(v);
        self.values[v].info_entries += 1;
    }

    /// Records that the declaration at `site[index]` differs from the value's own info.
    pub fn set_decl_override(&mut self, site: DeclSite, index: usize, info: ValueInfo) {
        self.decl_overrides.insert((site, index), info);
    }

    fn drop_overrides(&mut self, site: DeclSite) {
        if !self.decl_overrides.is_empty() {
            self.decl_overrides.retain(|(s, _), _| *s != site);
        }
    }

    /// Appends `node` at the end of the graph, wiring `inputs` and creating one output value per
    /// name (`None` for an unused optional output). Returns the node and its output values.
    pub fn add_node(
        &mut self,
        node: Node,
        inputs: &[Option<ValueId>],
        outputs: &[Option<&str>],
    ) -> (NodeId, Vec<Option<ValueId>>) {
        let id = self.insert_detached(node, inputs, outputs);
        self.link_after(id, self.last);
        let outs = self.nodes[id].outputs.clone();
        (id, outs)
    }

    /// Like [`Graph::add_node`] but places the node just before `anchor`.
    pub fn insert_node_before(
        &mut self,
        anchor: NodeId,
        node: Node,
        inputs: &[Option<ValueId>],
        outputs: &[Option<&str>],
    ) -> (NodeId, Vec<Option<ValueId>>) {
        let id = self.insert_detached(node, inputs, outputs);
        let prev = self.nodes[anchor].prev;
        self.link_after(id, prev);
        let outs = self.nodes[id].outputs.clone();
        (id, outs)
    }

    fn insert_detached(
        &mut self,
        mut node: Node,
        inputs: &[Option<ValueId>],
        outputs: &[Option<&str>],
    ) -> NodeId {
        node.inputs.clear();
        node.outputs.clear();
        node.implicit_inputs.clear();
        node.prev = None;
        node.next = None;
        let id = self.nodes.alloc(node);
        for (slot, input) in inputs.iter().enumerate() {
            self.nodes[id].inputs.push(*input);
            if let Some(v) = input {
                self.values[*v].uses.push(Use { node: id, slot: UseSlot::Input(slot as u32) });
            }
        }
        for (i, name) in outputs.iter().enumerate() {
            let out = name.map(|n| {
                self.alloc_value(n.to_string(), ValueDef::Node { node: id, output: i as u32 })
            });
            self.nodes[id].outputs.push(out);
        }
        id
    }

    fn link_after(&mut self, id: NodeId, prev: Option<NodeId>) {
        let next = match prev {
            Some(p) => self.nodes[p].next,
            None => self.first,
        };
        self.nodes[id].prev = prev;
        self.nodes[id].next = next;
        match prev {
            Some(p) => self.nodes[p].next = Some(id),
            None => self.first = Some(id),
        }
        match next {
            Some(n) => self.nodes[n].prev = Some(id),
            None => self.last = Some(id),
        }
    }

    fn unlink(&mut self, id: NodeId) {
        let (prev, next) = (self.nodes[id].prev, self.nodes[id].next);
        match prev {
            Some(p) => self.nodes[p].next = next,
            None => self.first = next,
        }
        match next {
            Some(n) => self.nodes[n].prev = prev,
            None => self.last = prev,
        }
        self.nodes[id].prev = None;
        self.nodes[id].next = None;
    }

    /// Moves `id` to just before `anchor` (or to the end when `anchor` is `None`).
    pub fn move_node_before(&mut self, id: NodeId, anchor: Option<NodeId>) {
        if Some(id) == anchor {
            return;
        }
        self.unlink(id);
        let prev = match anchor {
            Some(a) => self.nodes[a].prev,
            None => self.last,
        };
        self.link_after(id, prev);
    }

    /// Re-links the nodes in exactly the given order, which must be a permutation of the nodes.
    pub fn set_node_order(&mut self, order: &[NodeId]) {
        assert_eq!(order.len(), self.nodes.len(), "set_node_order needs every node once");
        self.first = None;
        self.last = None;
        for &id in order {
            self.nodes[id].prev = None;
            self.nodes[id].next = None;
            self.link_after(id, self.last);
        }
    }

    // ---- rewiring ----

    /// Points input `slot` of `node` at `value` (or makes it an omitted optional input).
    pub fn set_node_input(&mut self, node: NodeId, slot: usize, value: Option<ValueId>) {
        let tag = UseSlot::Input(slot as u32);
        if let Some(old) = self.nodes[node].inputs[slot] {
            self.remove_use(old, Use { node, slot: tag });
        }
        self.nodes[node].inputs[slot] = value;
        if let Some(v) = value {
            self.values[v].uses.push(Use { node, slot: tag });
        }
    }

    /// Appends an input to `node`.
    pub fn push_node_input(&mut self, node: NodeId, value: Option<ValueId>) {
        self.nodes[node].inputs.push(None);
        let slot = self.nodes[node].inputs.len() - 1;
        self.set_node_input(node, slot, value);
    }

    /// Records that a subgraph of `node` reads `value` of this graph.
    pub fn add_implicit_input(&mut self, node: NodeId, value: ValueId) {
        if !self.nodes[node].implicit_inputs.contains(&value) {
            self.nodes[node].implicit_inputs.push(value);
            self.values[value].uses.push(Use { node, slot: UseSlot::Implicit });
        }
    }

    /// Records several implicit inputs at once; `values` must hold no duplicates and none the
    /// node already has (the importer's case), which keeps this linear in their number.
    pub fn add_implicit_inputs(&mut self, node: NodeId, values: &[ValueId]) {
        if self.nodes[node].implicit_inputs.is_empty() {
            self.nodes[node].implicit_inputs.extend_from_slice(values);
            for &v in values {
                self.values[v].uses.push(Use { node, slot: UseSlot::Implicit });
            }
        } else {
            for &v in values {
                self.add_implicit_input(node, v);
            }
        }
    }

    fn remove_use(&mut self, value: ValueId, u: Use) {
        let uses = &mut self.values[value].uses;
        if let Some(pos) = uses.iter().position(|x| *x == u) {
            uses.remove(pos);
        }
    }

    /// Makes every explicit reader of `old` (and the graph outputs) read `new` instead.
    /// Implicit reads by subgraphs go by name and are left to the caller.
    pub fn replace_all_uses(&mut self, old: ValueId, new: ValueId) {
        if old == new {
            return;
        }
        let uses: Vec<Use> = self.values[old].uses.clone();
        for u in uses {
            if let UseSlot::Input(slot) = u.slot {
                self.set_node_input(u.node, slot as usize, Some(new));
            }
        }
        let mut changed = false;
        for o in &mut self.outputs {
            if *o == old {
                *o = new;
                changed = true;
            }
        }
        if changed {
            self.drop_overrides(DeclSite::Output);
        }
    }

    /// Moves the implicit reads of `old` (subgraphs of this graph's nodes reading it from outer
    /// scope) to `new`. Subgraphs read outer values by name, so `new` must carry the name they
    /// read; explicit reads are left to [`Graph::replace_all_uses`].
    pub fn replace_implicit_uses(&mut self, old: ValueId, new: ValueId) {
        if old == new {
            return;
        }
        let implicit: Vec<Use> =
            self.values[old].uses.iter().filter(|u| u.slot == UseSlot::Implicit).copied().collect();
        for u in implicit {
            self.remove_use(old, u);
            let list = &mut self.nodes[u.node].implicit_inputs;
            if list.contains(&new) {
                list.retain(|&v| v != old);
            } else {
                for v in list.iter_mut().filter(|v| **v == old) {
                    *v = new;
                }
                self.values[new].uses.push(u);
            }
        }
    }

    /// Removes `node`: its input uses are dropped and its output values become `Undefined`
    /// (removed outright when nothing reads them and no list mentions them).
    pub fn remove_node(&mut self, node: NodeId) -> Node {
        self.unlink(node);
        let inputs = self.nodes[node].inputs.clone();
        for (slot, v) in inputs.iter().enumerate() {
            if let Some(v) = v {
                self.remove_use(*v, Use { node, slot: UseSlot::Input(slot as u32) });
            }
        }
        for v in self.nodes[node].implicit_inputs.clone() {
            self.remove_use(v, Use { node, slot: UseSlot::Implicit });
        }
        let removed = match self.nodes.remove(node) {
            Some(n) => n,
            None => panic!("remove_node on stale handle {node:?}"),
        };
        for out in removed.outputs.iter().flatten() {
            let listed = self.values[*out].info_entries > 0 || self.outputs.contains(out);
            if self.values[*out].uses.is_empty() && !listed {
                self.values.remove(*out);
            } else {
                self.values[*out].def = ValueDef::Undefined;
            }
        }
        removed
    }

    /// Removes, in place, the initializers and `value_info` entries of the values in `drop`
    /// (which nothing may read any longer), and the captures nothing reads, lists or outputs
    /// (a rewrite rebound their readers); values left with no definition, reader or listing
    /// leave the arena. Handles of everything else stay valid, and the lists keep their order.
    /// This is what a pass calls after it replaced values, instead of rebuilding the graph.
    pub fn remove_values(&mut self, drop: &std::collections::HashSet<ValueId>) {
        let gone = |v: &ValueId| drop.contains(v);
        if !drop.is_empty() {
            self.initializers.retain(|v| !gone(v));
            self.sparse_initializers.retain(|v| !gone(v));
            if self.value_info.iter().any(gone) {
                // `value_info` overrides are keyed by position: renumber the kept ones.
                let mut kept = Vec::with_capacity(self.value_info.len());
                let mut overrides = HashMap::new();
                for (i, &v) in self.value_info.iter().enumerate() {
                    if gone(&v) {
                        if let Some(val) = self.values.get_mut(v) {
                            val.info_entries = val.info_entries.saturating_sub(1);
                        }
                        continue;
                    }
                    if let Some(info) = self.decl_overrides.remove(&(DeclSite::ValueInfo, i)) {
                        overrides.insert((DeclSite::ValueInfo, kept.len()), info);
                    }
                    kept.push(v);
                }
                self.decl_overrides.retain(|(site, _), _| *site != DeclSite::ValueInfo);
                self.decl_overrides.extend(overrides);
                self.value_info = kept;
            }
        }
        let mut unread_captures = Vec::new();
        for &v in &self.captures {
            let val = &self.values[v];
            if val.uses.is_empty() && val.info_entries == 0 && !self.outputs.contains(&v) {
                unread_captures.push(v);
            }
        }
        if !unread_captures.is_empty() {
            self.captures.retain(|v| !unread_captures.contains(v));
            for v in &unread_captures {
                let name = &self.values[*v].name;
                self.capture_index.remove(name);
            }
        }
        for &v in drop {
            // A dropped initializer stops being one; a graph input keeps only its default gone.
            if let Some(val) = self.values.get_mut(v)
                && val.initializer.take().is_some()
                && val.def == ValueDef::Initializer
            {
                val.def = ValueDef::Undefined;
            }
        }
        for v in drop.iter().copied().chain(unread_captures) {
            let Some(val) = self.values.get(v) else { continue };
            let defined_by_node = matches!(val.def, ValueDef::Node { .. });
            if val.uses.is_empty()
                && !defined_by_node
                && val.def != ValueDef::Input
                && !self.outputs.contains(&v)
                && val.info_entries == 0
            {
                self.values.remove(v);
            }
        }
    }

    /// Checks the cross-links (use lists against node inputs, node list against arena).
    /// Returns a description of the first inconsistency. Meant for tests and `--verify-each`.
    pub fn verify_links(&self) -> Result<(), String> {
        let mut seen = 0usize;
        let mut prev = None;
        let mut cur = self.first;
        while let Some(id) = cur {
            let n = self.nodes.get(id).ok_or_else(|| format!("node list has stale {id:?}"))?;
            if n.prev != prev {
                return Err(format!("{id:?} has a wrong back link"));
            }
            seen += 1;
            if seen > self.nodes.len() {
                return Err("node list loops".into());
            }
            for (slot, v) in n.inputs.iter().enumerate() {
                if let Some(v) = v {
                    let u = Use { node: id, slot: UseSlot::Input(slot as u32) };
                    if !self.values[*v].uses.contains(&u) {
                        return Err(format!("{v:?} misses use {u:?}"));
                    }
                }
            }
            for (i, out) in n.outputs.iter().enumerate() {
                if let Some(o) = out {
                    let want = ValueDef::Node { node: id, output: i as u32 };
                    if self.values[*o].def != want {
                        return Err(format!("{o:?} does not name {id:?} as its producer"));
                    }
                }
            }
            prev = Some(id);
            cur = n.next;
        }
        if seen != self.nodes.len() || self.last != prev {
            return Err("node list does not cover the arena".into());
        }
        for (vid, v) in self.values.iter() {
            for u in &v.uses {
                let n =
                    self.nodes.get(u.node).ok_or_else(|| format!("{vid:?} used by stale node"))?;
                let ok = match u.slot {
                    UseSlot::Input(s) => n.inputs.get(s as usize) == Some(&Some(vid)),
                    UseSlot::Implicit => n.implicit_inputs.contains(&vid),
                };
                if !ok {
                    return Err(format!("{vid:?} lists a use {u:?} the node does not have"));
                }
            }
        }
        Ok(())
    }
}

/// Iterator over node handles in graph order.
pub struct NodeIds<'g> {
    graph: &'g Graph,
    next: Option<NodeId>,
}

impl Iterator for NodeIds<'_> {
    type Item = NodeId;
    fn next(&mut self) -> Option<NodeId> {
        let id = self.next?;
        self.next = self.graph.nodes[id].next;
        Some(id)
    }
}
