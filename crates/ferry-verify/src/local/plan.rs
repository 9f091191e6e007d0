//! The diff of two graphs, the claims it makes, the kinds they fall in, and the pair of small
//! models that checks the cheapest claims of each kind.

use super::cone::{Cone, Read, Side, attr_summary, same_operator, tensor_eq};
use crate::shapes::{InputShapes, InputSpec, pin_input_shapes};
use ferry_infer::{Dim, Ty};
use ferry_ir::{DataType, Graph, Initializer, Model, Node, Tensor, ValueDef, ValueId, ValueInfo};
use std::collections::hash_map::DefaultHasher;
use std::collections::{HashMap, HashSet};
use std::hash::{Hash, Hasher};

/// Integer constants with at most this many elements are part of a claim's kind by value.
const SMALL_INTEGERS: u64 = 16;

/// Boundary values larger than this are walked through rather than made up.
const MAX_BOUNDARY_ELEMENTS: usize = 1 << 22;

/// How many times a claim's cones are widened to make their inputs independent.
const MAX_WIDENINGS: usize = 8;

/// How much of the rewrite a local check ran.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Scope {
    /// Values of the result defined differently from the original's value of the same name.
    pub rewritten: usize,
    /// Kinds of rewrite among them (same operators, attributes and shapes on both sides).
    pub kinds: usize,
    /// Claims run (the cheapest of each kind, or all).
    pub checked: usize,
    /// Nodes in the two models run: the original's regions and the result's.
    pub nodes: (usize, usize),
}

/// The two small models to run, their inputs, and what they cover.
pub(crate) struct Plan {
    pub original: Model,
    pub result: Model,
    pub inputs: Vec<InputSpec>,
    /// Per output: an intermediate value (compared relative to its tensor's scale) rather than
    /// a graph output (compared as the whole check compares outputs).
    pub scaled: Vec<bool>,
    pub scope: Scope,
}

/// A value of the result the rewrite claims equal to the original's of the same name, with
/// its cones and inputs on both sides.
struct Claim {
    name: String,
    result: Cone,
    original: Cone,
    /// The cones' inputs (the union of both sides'), by name.
    inputs: Vec<String>,
}

/// A concrete tensor type: element type and dims.
type Concrete = (DataType, Vec<usize>);

/// Each side's value types for the check's input shapes, by [`ValueId::index`].
struct Types {
    o: Vec<Option<Concrete>>,
    r: Vec<Option<Concrete>>,
}

impl Plan {
    /// Diffs `result` against `original` and plans the check of `per_kind` claims of each kind
    /// (0: every claim), or says why it cannot be local.
    pub fn new(
        original: &Model,
        result: &Model,
        specs: &[InputSpec],
        per_kind: usize,
    ) -> Result<Plan, String> {
        if !original.functions.is_empty() || !result.functions.is_empty() {
            return Err("the model defines functions".into());
        }
        if original.opset_imports != result.opset_imports {
            return Err("the result imports other opsets".into());
        }
        let o = Side::new(original).ok_or("the original has no graph")?;
        let r = Side::new(result).ok_or("the result has no graph")?;
        // Inference on both: the result's often knows more (its shape arithmetic is folded),
        // the original's covers names the result no longer has. Shared values are equal in
        // both, so either's type serves (a wrong one shows as a failure, never as a pass).
        // (Large stacks: inference recurses over deep graphs, as the runtimes do.)
        let (types_o, types_r) = std::thread::scope(|s| {
            let big = || std::thread::Builder::new().stack_size(64 << 20);
            let o = big().spawn_scoped(s, || concrete_types(original, specs));
            let r = big().spawn_scoped(s, || concrete_types(result, specs));
            (joined(o), joined(r))
        });
        let types = Types { o: types_o?, r: types_r? };
        let mut diff = Diff { o: &o, r: &r, types: &types, specs, shared: Vec::new() };
        let len = r.g.values().map(|(v, _)| v.index() + 1).max().unwrap_or(0);
        let mut shared = vec![false; len];
        for (v, _) in r.g.values() {
            shared[v.index()] = diff.compute_shared(v);
        }
        diff.shared = shared;

        let mut claims = Vec::new();
        let mut order: Vec<(usize, ValueId)> = Vec::new();
        for (v, value) in r.g.values() {
            let Some(ov) = o.find(&value.name) else { continue };
            // A graph output is always compared when it changed, even where one side made it a
            // constant (nothing downstream would compare it).
            let output = r.g.is_graph_output(v);
            if !(output || diff.shared(&value.name)) || diff.same_def(v, ov) {
                continue;
            }
            let pos = match value.def() {
                ValueDef::Node { node, .. } => r.position(node) + 1,
                ValueDef::Initializer | ValueDef::Input => 0,
                _ if value.uses().is_empty() && !r.g.is_graph_output(v) => continue,
                _ => return Err(format!("value '{}' is defined nowhere", value.name)),
            };
            order.push((pos, v));
        }
        order.sort();
        for (_, v) in order {
            claims.push(diff.claim(v)?);
        }

        let mut kinds: Vec<(u64, Vec<usize>)> = Vec::new();
        let mut kind_of: HashMap<u64, usize> = HashMap::new();
        for (i, c) in claims.iter().enumerate() {
            let k = diff.kind(c);
            let slot = *kind_of.entry(k).or_insert_with(|| {
                kinds.push((k, Vec::new()));
                kinds.len() - 1
            });
            kinds[slot].1.push(i);
        }
        // The cheapest claims of each kind (elements fed and compared; the earlier on a tie): a
        // kind's claims differ in sizes and weights only, and the sizes are what the check
        // pays for.
        let per_kind = if per_kind == 0 { usize::MAX } else { per_kind };
        let mut picks: Vec<usize> = Vec::new();
        for (_, members) in &kinds {
            let mut by_cost: Vec<(bool, usize, usize)> = members
                .iter()
                .map(|&i| (diff.empty(&claims[i]), diff.cost(&claims[i]), i))
                .collect();
            by_cost.sort_unstable();
            picks.extend(by_cost.iter().take(per_kind).map(|&(_, _, i)| i));
        }
        picks.sort_unstable();
        let mut inputs = Vec::new();
        let mut scaled = Vec::new();
        let mut om = Builder::new(&o);
        let mut rm = Builder::new(&r);
        for (k, &i) in picks.iter().enumerate() {
            let c = &claims[i];
            for name in &c.inputs {
                let ty = diff.input_type(name)?;
                inputs.push(InputSpec { name: format!("{name}#{k}"), elem: ty.0, shape: ty.1 });
            }
            let out_ty = diff.type_of(&c.name);
            scaled.push(r.find(&c.name).is_none_or(|v| !r.g.is_graph_output(v)));
            om.add(k, c, &c.original, out_ty.as_ref())?;
            rm.add(k, c, &c.result, out_ty.as_ref())?;
        }
        let scope = Scope {
            rewritten: claims.len(),
            kinds: kinds.len(),
            checked: picks.len(),
            nodes: (om.g.node_count(), rm.g.node_count()),
        };
        Ok(Plan { original: om.finish(&inputs), result: rm.finish(&inputs), inputs, scaled, scope })
    }
}

/// The result of a thread computing types, or why there is none.
fn joined<T>(
    h: std::io::Result<std::thread::ScopedJoinHandle<'_, Result<T, String>>>,
) -> Result<T, String> {
    match h {
        Ok(h) => h.join().unwrap_or_else(|_| Err("inference panicked".into())),
        Err(e) => Err(format!("cannot start a thread: {e}")),
    }
}

/// A model's value types for the check's input shapes (by [`ValueId::index`] of its main
/// graph): inference on a copy with the inputs pinned.
fn concrete_types(original: &Model, specs: &[InputSpec]) -> Result<Vec<Option<Concrete>>, String> {
    let mut pinned = original.clone();
    pin_input_shapes(&mut pinned, &InputShapes::from_specs(specs)).map_err(|e| e.to_string())?;
    let (facts, _) = ferry_infer::facts(&mut pinned);
    let g = pinned.graph.as_ref().ok_or("the original has no graph")?;
    let facts = facts.graph(g).ok_or("inference kept nothing for the main graph")?;
    Ok(facts
        .iter()
        .map(|f| {
            let elem = f.elem()?;
            let dims = f
                .shape()?
                .iter()
                .map(|d| match d {
                    Dim::Expr(e) => e.as_const().and_then(|n| usize::try_from(n).ok()),
                    Dim::Unknown => None,
                })
                .collect::<Option<Vec<usize>>>()?;
            Some((elem, dims))
        })
        .collect())
}

struct Diff<'a, 'm> {
    o: &'a Side<'m>,
    r: &'a Side<'m>,
    types: &'a Types,
    specs: &'a [InputSpec],
    /// [`Diff::shared`] for each result value, by [`ValueId::index`].
    shared: Vec<bool>,
}

impl Diff<'_, '_> {
    /// Whether `name` denotes the same value in both graphs as far as the diff goes: equal
    /// constants, or values that vary with the inputs in both. A constant computed on one side
    /// only, or two constants that differ, are each side's own business (passes fold constants
    /// into new tensors and may keep their names): cones compute them instead of comparing.
    fn shared(&self, name: &str) -> bool {
        let Some(b) = self.r.find(name) else { return false };
        self.shared.get(b.index()).copied().unwrap_or(false)
    }

    fn compute_shared(&self, b: ValueId) -> bool {
        let Some(a) = self.o.find(&self.r.g.value(b).name) else { return false };
        match (self.o.konst(a), self.r.konst(b)) {
            (Some(x), Some(y)) => tensor_eq(x, y),
            (None, None) => {
                self.o.init(a).is_none()
                    && self.r.init(b).is_none()
                    && self.o.varying(a)
                    && self.r.varying(b)
            }
            _ => false,
        }
    }

    /// Whether result value `r` is defined as original value `o` is, from equal inputs.
    fn same_def(&self, r: ValueId, o: ValueId) -> bool {
        let (rv, ov) = (self.r.g.value(r), self.o.g.value(o));
        if self.r.konst(r).is_some() || self.o.konst(o).is_some() {
            return self.shared(&rv.name);
        }
        if rv.initializer.is_some() || ov.initializer.is_some() {
            return false;
        }
        match (rv.def(), ov.def()) {
            (ValueDef::Input, ValueDef::Input) => true,
            (ValueDef::Node { node: rn, output: ri }, ValueDef::Node { node: on, output: oi }) => {
                let (a, b) = (self.r.g.node(rn), self.o.g.node(on));
                let names = |g: &Graph, vs: &[Option<ValueId>]| -> Vec<Option<String>> {
                    vs.iter().map(|v| v.map(|v| g.value(v).name.clone())).collect()
                };
                // What subgraphs read from outer scope counts as input too.
                let implicit = |g: &Graph, n: &ferry_ir::Node| -> Vec<String> {
                    let mut v: Vec<String> =
                        n.implicit_inputs().iter().map(|&v| g.value(v).name.clone()).collect();
                    v.sort();
                    v
                };
                let (ri_names, oi_names) = (implicit(self.r.g, a), implicit(self.o.g, b));
                ri == oi
                    && same_operator(a, b)
                    && ri_names == oi_names
                    && ri_names.iter().all(|n| self.shared(n))
                    && names(self.r.g, a.outputs()) == names(self.o.g, b.outputs())
                    && a.inputs().len() == b.inputs().len()
                    && a.inputs().iter().zip(b.inputs()).all(|(x, y)| match (x, y) {
                        (None, None) => true,
                        (Some(x), Some(y)) => {
                            let name = &self.r.g.value(*x).name;
                            if name == &self.o.g.value(*y).name {
                                self.shared(name)
                            } else {
                                // A constant renamed (duplicates shared, Constant nodes made
                                // initializers) is still the same input.
                                match (self.r.konst(*x), self.o.konst(*y)) {
                                    (Some(p), Some(q)) => tensor_eq(p, q),
                                    _ => false,
                                }
                            }
                        }
                        _ => false,
                    })
            }
            _ => false,
        }
    }

    /// How a cone reads `v` of `side` (the same decision on both sides for shared names).
    fn read(&self, side: &Side, v: ValueId, pulled: &HashSet<String>) -> Read {
        let value = side.g.value(v);
        if value.initializer.is_none() && value.def() == ValueDef::Input {
            return Read::Boundary;
        }
        let name = value.name.as_str();
        if side.konst(v).is_some() || value.initializer.is_some() {
            return Read::Const;
        }
        if self.shared(name) && !pulled.contains(name) && self.feedable(name) {
            return Read::Boundary;
        }
        Read::Inside
    }

    /// Whether a shared value can be fed random values: a floating-point tensor of known,
    /// moderate size. Others (shape arithmetic, indices, masks) are computed instead.
    fn feedable(&self, name: &str) -> bool {
        match self.type_of(name) {
            Some((elem, dims)) => {
                matches!(elem, DataType::FLOAT | DataType::DOUBLE | DataType::FLOAT16)
                    && dims
                        .iter()
                        .try_fold(1usize, |a, &d| a.checked_mul(d))
                        .is_some_and(|n| n <= MAX_BOUNDARY_ELEMENTS)
            }
            None => false,
        }
    }

    /// What running a claim costs, roughly: the elements it is fed and compares.
    fn cost(&self, c: &Claim) -> usize {
        let elements = |name: &String| {
            self.input_type(name)
                .map_or(0, |(_, dims)| dims.iter().fold(1usize, |a, &d| a.saturating_mul(d)))
        };
        c.inputs.iter().chain([&c.name]).map(elements).fold(0, usize::saturating_add)
    }

    /// Whether the claim's value has no elements (comparing it proves nothing).
    fn empty(&self, c: &Claim) -> bool {
        self.input_type(&c.name).is_ok_and(|(_, dims)| dims.contains(&0))
    }

    /// The concrete type of a value of both graphs, from either's inference.
    fn type_of(&self, name: &str) -> Option<Concrete> {
        let o = self.o.find(name).and_then(|v| self.types.o.get(v.index()).cloned().flatten());
        o.or_else(|| self.r.find(name).and_then(|v| self.types.r.get(v.index()).cloned().flatten()))
    }

    /// The cones of `v` (a result value) on both sides, widened until their inputs do not
    /// depend on one another.
    fn claim(&self, v: ValueId) -> Result<Claim, String> {
        let name = self.r.g.value(v).name.clone();
        let ov = self.o.find(&name).ok_or_else(|| format!("'{name}' is not in the original"))?;
        let mut pulled = HashSet::new();
        for _ in 0..MAX_WIDENINGS {
            let read_r = |s: &Side, x: ValueId| self.read(s, x, &pulled);
            let result = self.r.cone(v, &read_r)?;
            let original = self.o.cone(ov, &read_r)?;
            let mut inputs: Vec<String> = Vec::new();
            for b in result.boundary.iter().chain(&original.boundary) {
                if !inputs.contains(b) {
                    inputs.push(b.clone());
                }
            }
            // Inputs both sides read may be related in any way: each side computes the claim
            // from them alike. One side alone reading an input that depends on another (a
            // common subexpression kept on one side) would compare different things.
            let all: HashSet<&str> = inputs.iter().map(String::as_str).collect();
            let dependent: Vec<String> = inputs
                .iter()
                .filter(|b| !self.is_graph_input(b))
                .filter(|b| !(result.boundary.contains(b) && original.boundary.contains(b)))
                .filter(|b| {
                    let others: HashSet<&str> =
                        all.iter().copied().filter(|x| x != &b.as_str()).collect();
                    self.o.reaches(b, &others) || self.r.reaches(b, &others)
                })
                .cloned()
                .collect();
            if dependent.is_empty() {
                inputs.sort_by_key(|b| (!self.is_graph_input(b), b.clone()));
                return Ok(Claim { name, result, original, inputs });
            }
            pulled.extend(dependent);
        }
        Err(format!("the inputs of the region computing '{name}' stay dependent"))
    }

    fn is_graph_input(&self, name: &str) -> bool {
        self.specs.iter().any(|s| s.name == name)
    }

    /// The type a cone input is fed with.
    fn input_type(&self, name: &str) -> Result<Concrete, String> {
        if let Some(s) = self.specs.iter().find(|s| s.name == name) {
            return Ok((s.elem, s.shape.clone()));
        }
        self.type_of(name).ok_or_else(|| format!("no concrete type for '{name}'"))
    }

    /// A hash of everything that makes two claims the same rewrite: both cones' operators,
    /// attributes and wiring, constants' types and dims, and the inputs' and claim's types.
    fn kind(&self, c: &Claim) -> u64 {
        let mut h = DefaultHasher::new();
        for (side, cone) in [(self.r, &c.result), (self.o, &c.original)] {
            let mut s = String::new();
            let pos: HashMap<ValueId, (usize, usize)> = cone
                .nodes
                .iter()
                .enumerate()
                .flat_map(|(i, &n)| {
                    let outs = side.g.node(n).outputs();
                    outs.iter().enumerate().filter_map(move |(j, o)| o.map(|o| (o, (i, j))))
                })
                .collect();
            for &n in &cone.nodes {
                let node = side.g.node(n);
                s.push_str(&node.op_type);
                s.push('@');
                s.push_str(node.canonical_domain());
                s.push('(');
                for a in &node.attributes {
                    attr_summary(a, &mut s);
                }
                for v in node.inputs() {
                    match v {
                        None => s.push_str("-,"),
                        Some(v) => {
                            let name = &side.g.value(*v).name;
                            if let Some((i, j)) = pos.get(v) {
                                s.push_str(&format!("n{i}.{j},"));
                            } else if let Some(k) = c.inputs.iter().position(|b| b == name) {
                                s.push_str(&format!("i{k},"));
                            } else if let Some(t) = side.konst(*v) {
                                let arithmetic = node.canonical_domain().is_empty()
                                    && matches!(
                                        node.op_type.as_str(),
                                        "Add" | "Sub" | "Mul" | "Div"
                                    );
                                const_summary(t, !arithmetic, &mut s);
                            } else if side.init(*v).is_some() {
                                s.push_str("sparse,");
                            }
                        }
                    }
                }
                s.push(')');
            }
            // Which output the claim is: outputs of one node are different rewrites.
            match side.find(&c.name) {
                Some(v) => match (pos.get(&v), side.konst(v)) {
                    (Some((i, j)), _) => s.push_str(&format!("=n{i}.{j}")),
                    (None, Some(t)) => const_summary(t, true, &mut s),
                    (None, None) => s.push_str("=?"),
                },
                None => s.push_str("=?"),
            }
            s.hash(&mut h);
        }
        for b in c.inputs.iter().chain([&c.name]) {
            match self.input_type(b) {
                Ok((elem, dims)) => (elem.0, shape_class(&dims)).hash(&mut h),
                Err(_) => 0u8.hash(&mut h),
            }
        }
        h.finish()
    }
}

/// What of a shape makes rewrites behave differently: the rank, which dims are 1
/// (broadcasting) and which are 0 (empty tensors). Claims of one rewrite in layers of different
/// widths are one kind.
fn shape_class<D: Copy + TryInto<i64>>(dims: &[D]) -> Vec<u8> {
    dims.iter()
        .map(|&d| match d.try_into().ok() {
            Some(0) => 0,
            Some(1) => 1,
            _ => 2,
        })
        .collect()
}

/// A constant for a kind: its type and shape class, and its contents when they steer what an
/// operator does rather than weigh its data: integer tensors of up to [`SMALL_INTEGERS`]
/// elements (axes, shapes, indices, pads) and, when `steering`, single values of any type
/// (exponents, bounds, pad values). Callers pass `steering: false` for operands of `Add`,
/// `Sub`, `Mul` and `Div`, where a single value is a scale or shift like any weight (per-layer
/// affine parameters would otherwise make every layer a kind of its own). Per-channel
/// parameters and weights may differ within a kind.
pub(super) fn const_summary(t: &Tensor, steering: bool, s: &mut String) {
    s.push_str(&format!("c{:?}{:?}", t.dtype, shape_class(&t.dims)));
    let integer = t.dtype.is_some_and(|d| {
        matches!(
            d,
            DataType::INT8
                | DataType::INT16
                | DataType::INT32
                | DataType::INT64
                | DataType::UINT8
                | DataType::UINT16
                | DataType::UINT32
                | DataType::UINT64
                | DataType::BOOL
        )
    });
    let limit = match (integer, steering) {
        (true, _) => SMALL_INTEGERS,
        (false, true) => 1,
        (false, false) => 0,
    };
    if t.element_count().is_some_and(|n| n <= limit) {
        match t.le_bytes() {
            Ok(b) => s.push_str(&format!("{:?}", b.as_ref())),
            Err(_) => s.push('?'),
        }
    }
    s.push(',');
}

/// One side's small model, built cone by cone.
struct Builder<'a, 'm> {
    side: &'a Side<'m>,
    g: Graph,
    consts: HashMap<String, ValueId>,
    outputs: Vec<ValueId>,
}

impl<'a, 'm> Builder<'a, 'm> {
    fn new(side: &'a Side<'m>) -> Self {
        Builder { side, g: Graph::new(), consts: HashMap::new(), outputs: Vec::new() }
    }

    /// Adds claim `c`'s cone as copy number `k`: its inputs are `name#k`, its nodes' outputs
    /// `name#k`, its constants shared by name across copies.
    fn add(
        &mut self,
        k: usize,
        c: &Claim,
        cone: &Cone,
        out_ty: Option<&Concrete>,
    ) -> Result<(), String> {
        let src = self.side.g;
        let mut map: HashMap<ValueId, ValueId> = HashMap::new();
        for b in &c.inputs {
            let v = self.g.add_input(format!("{b}#{k}"), ValueInfo::default());
            // Only this side's own boundary reads the fed value: the same name can be a
            // constant here (the other side then made it an input), which must stay one.
            if cone.boundary.contains(b)
                && let Some(old) = self.side.find(b)
            {
                map.insert(old, v);
            }
        }
        let root = self.side.find(&c.name);
        if let Some(r) =
            root.filter(|&v| self.side.konst(v).is_some() || self.side.init(v).is_some())
        {
            // A constant claim: passed through an Identity, since runtimes treat a constant
            // that is also a graph output unevenly.
            let c0 = self.value(r, &map)?;
            let name = format!("{}#{k}", c.name);
            let (_, outs) = self.g.add_node(Node::new("Identity"), &[Some(c0)], &[Some(&name)]);
            let v = outs[0].ok_or("an Identity without its output")?;
            self.outputs.push(v);
            self.type_output(v, out_ty);
            return Ok(());
        }
        for &n in &cone.nodes {
            let node = src.node(n);
            let inputs: Vec<Option<ValueId>> = node
                .inputs()
                .iter()
                .map(|v| v.map(|v| self.value(v, &map)).transpose())
                .collect::<Result<_, _>>()?;
            let names: Vec<Option<String>> = node
                .outputs()
                .iter()
                .map(|o| o.map(|o| format!("{}#{k}", src.value(o).name)))
                .collect();
            let refs: Vec<Option<&str>> = names.iter().map(|n| n.as_deref()).collect();
            let mut copy = node.clone();
            copy.name = node.name.as_ref().map(|n| format!("{n}#{k}"));
            let (_, outs) = self.g.add_node(copy, &inputs, &refs);
            for (o, new) in node.outputs().iter().zip(outs) {
                if let (Some(o), Some(new)) = (o, new) {
                    map.insert(*o, new);
                }
            }
        }
        let v = root.and_then(|r| map.get(&r).copied());
        let v = v.ok_or_else(|| format!("the region of '{}' does not compute it", c.name))?;
        self.outputs.push(v);
        self.type_output(v, out_ty);
        Ok(())
    }

    /// The copy of `v` read by a cone node: mapped (an input or computed), or a constant.
    fn value(&mut self, v: ValueId, map: &HashMap<ValueId, ValueId>) -> Result<ValueId, String> {
        if let Some(&m) = map.get(&v) {
            return Ok(m);
        }
        let value = self.side.g.value(v);
        if let Some(&c) = self.consts.get(&value.name) {
            return Ok(c);
        }
        let init = value.initializer.clone().or_else(|| {
            let name = Some(value.name.clone());
            self.side.konst(v).map(|t| Initializer::Dense(Tensor { name, ..t.clone() }))
        });
        let init = init.ok_or_else(|| {
            format!("a region reads '{}', which it neither computes nor is fed", value.name)
        })?;
        let c = self.g.add_initializer(value.name.clone(), init);
        self.consts.insert(value.name.clone(), c);
        Ok(c)
    }

    fn type_output(&mut self, v: ValueId, ty: Option<&Concrete>) {
        if let Some((elem, dims)) = ty {
            let dims = dims.iter().map(|&d| Dim::known(d as i64)).collect();
            self.g.value_mut(v).info.ty = Some(Ty::tensor(*elem, dims).to_ir());
        }
    }

    fn finish(mut self, inputs: &[InputSpec]) -> Model {
        for (&v, spec) in self.g.inputs().to_vec().iter().zip(inputs) {
            let dims = spec.shape.iter().map(|&d| Dim::known(d as i64)).collect();
            self.g.value_mut(v).info.ty = Some(Ty::tensor(spec.elem, dims).to_ir());
        }
        self.g.set_outputs(std::mem::take(&mut self.outputs));
        let m = self.side.model;
        Model {
            ir_version: Some(m.ir_version.unwrap_or(4).max(4)),
            opset_imports: m.opset_imports.clone(),
            graph: Some(self.g),
            ..Model::default()
        }
    }
}
