//! Walks a model's graphs in order, runs each node's inference function, merges what it finds
//! with what the file declares, and (in write mode) records the result in the IR.

use crate::ctx::{Ctx, Stop};
use crate::fact::{Fact, Ty};
use crate::konst;
use crate::merge::merge;
use crate::ops;
use crate::{Diagnostic, Report};
use ferry_ir::{
    AttrValue, Attribute, Function, Graph, Initializer, Model, NodeId, ValueDef, ValueId,
};
use std::collections::HashMap;

/// Looks up facts about names of enclosing graphs.
pub(crate) type Outer<'a> = &'a dyn Fn(&str) -> Option<Fact>;

pub(crate) struct Driver<'m> {
    pub opsets: HashMap<String, i64>,
    pub functions: HashMap<ferry_ir::FunctionKey, &'m Function>,
    pub report: Report,
    /// Nesting of function calls being inferred (a guard; recursion is refused at import).
    depth: usize,
    /// Counter for the fresh symbols given to dimensions nothing determines.
    fresh: usize,
    /// Initializers that are also graph inputs are read as unknown inputs, not as their
    /// defaults (for rewrites, which must hold whatever a caller passes).
    pub ignore_input_defaults: bool,
    /// When set, the facts about every value of each graph of the model inferred in place
    /// (the main graph, If branches, ...), keyed by the graph's address.
    pub keep: Option<HashMap<usize, Vec<Fact>>>,
    /// Whether the graph being inferred is one of the model's own, reached from the main
    /// graph through subgraphs inferred in place (not a probe copy, not a function body).
    in_place: bool,
}

const MAX_DEPTH: usize = 64;

impl<'m> Driver<'m> {
    pub fn new(opsets: HashMap<String, i64>, functions: &'m [Function]) -> Driver<'m> {
        let functions = functions.iter().map(|f| (f.key(), f)).collect();
        Driver {
            opsets,
            functions,
            report: Report::default(),
            depth: 0,
            fresh: 0,
            ignore_input_defaults: false,
            keep: None,
            in_place: true,
        }
    }

    fn diag(&mut self, graph: &str, node: Option<String>, rule: &'static str, message: String) {
        self.report.diagnostics.push(Diagnostic { graph: graph.to_string(), node, rule, message });
    }

    /// Infers `g`. `inputs` (for subgraphs and function bodies) gives facts for its formal
    /// inputs; `outer` resolves captured names. With `write`, inferred types are stored in the
    /// graph's values and recorded as `value_info`. Returns facts for the graph outputs.
    pub fn graph(
        &mut self,
        g: &mut Graph,
        path: &str,
        inputs: Option<Vec<Fact>>,
        outer: Outer<'_>,
        bindings: Option<&HashMap<String, Attribute>>,
        write: bool,
    ) -> Vec<Fact> {
        let slots = g.values().map(|(id, _)| id.index() + 1).max().unwrap_or(0);
        let mut facts: Vec<Fact> = vec![Fact::default(); slots];
        let formal = inputs.is_some();
        let given = inputs.unwrap_or_default();
        for (i, v) in g.inputs().to_vec().into_iter().enumerate() {
            let declared = Fact { ty: g.value(v).ty().and_then(Ty::from_ir), value: None };
            let fact = match given.get(i).map(|f| (f, merge(f, &declared))) {
                Some((_, Ok(merged))) => {
                    // A subgraph's formal inputs record what its node passes in, as onnx does.
                    if write
                        && formal
                        && let Some(ty) = &merged.ty
                    {
                        let ir = ty.to_ir();
                        if g.value(v).ty() != Some(&ir) {
                            g.value_mut(v).info.ty = Some(ir);
                        }
                    }
                    merged
                }
                Some((f, Err(_))) => f.clone(),
                None => declared,
            };
            facts[v.index()] = fact;
        }
        for (id, v) in g.values() {
            match (&v.initializer, v.def()) {
                (Some(Initializer::Dense(t)), ValueDef::Initializer) => {
                    facts[id.index()] = konst::from_tensor(t)
                }
                // An initializer that is also an input is a default a caller may override. Like
                // onnx's inference, ferry reasons with the default (before IR 4 every weight is
                // such an input, and shapes are computed from them); the declared type, when
                // there is one, still wins over the default's shape.
                (Some(Initializer::Dense(_)), ValueDef::Input) if self.ignore_input_defaults => {}
                (Some(Initializer::Dense(t)), ValueDef::Input) => {
                    let k = konst::from_tensor(t);
                    let f = &mut facts[id.index()];
                    if f.ty.is_none() {
                        f.ty = k.ty;
                    }
                    f.value = k.value;
                }
                (_, ValueDef::Captured) => facts[id.index()] = outer(&v.name).unwrap_or_default(),
                _ => {}
            }
        }
        let ids: Vec<NodeId> = g.node_ids().collect();
        let mut names: Option<HashMap<String, ValueId>> = None;
        for id in ids {
            let node = g.node(id);
            let input_facts: Vec<Option<Fact>> =
                node.inputs().iter().map(|v| v.map(|v| facts[v.index()].clone())).collect();
            let n_out = node.outputs().len();
            let domain = node.canonical_domain().to_string();
            let key = node.call_key();
            let mut attrs = std::mem::take(&mut g.node_mut(id).attributes);
            let node = g.node(id);
            let result: Result<Vec<Fact>, Stop> = if let Some(f) = self.functions.get(&key).copied()
            {
                self.call_function(
                    f,
                    &attrs,
                    &input_facts,
                    n_out,
                    &format!("{path} / {}", node.label()),
                )
            } else if let Some(op) = ops::lookup(&domain, &node.op_type) {
                // The attributes are taken out of the node while it is inferred: look at them.
                let has_subgraphs = attrs
                    .iter()
                    .any(|a| matches!(a.value, AttrValue::Graph(_) | AttrValue::Graphs(_)));
                if has_subgraphs && names.is_none() {
                    names = Some(g.values().map(|(id, v)| (v.name.clone(), id)).collect());
                }
                let opset = self.opsets.get(&domain).copied().unwrap_or(0);
                let schema = ferry_ops::lookup(&domain, &node.op_type, opset);
                let local = |name: &str| -> Option<Fact> {
                    match names.as_ref().and_then(|m| m.get(name)) {
                        Some(v) => Some(facts[v.index()].clone()),
                        None => outer(name),
                    }
                };
                // Node labels are built only when needed: this loop runs for every node.
                let sub_path = || format!("{path} / {}", node.label());
                let mut sub =
                    |sg: &mut Graph, ins: Vec<Fact>, own: bool| -> Result<Vec<Fact>, String> {
                        let outer_in_place = self.in_place;
                        self.in_place = outer_in_place && own;
                        let outs = self.graph(sg, &sub_path(), Some(ins), &local, bindings, write);
                        self.in_place = outer_in_place;
                        Ok(outs)
                    };
                let mut ctx = Ctx {
                    node,
                    attrs: &mut attrs,
                    bindings,
                    opset,
                    schema,
                    inputs: input_facts,
                    outputs: vec![Fact::default(); n_out],
                    subgraph: &mut sub,
                };
                let r = op(&mut ctx);
                let outputs = std::mem::take(&mut ctx.outputs);
                match r {
                    Ok(()) => Ok(outputs),
                    Err(Stop::Unknown) => Ok(outputs),
                    Err(e) => Err(e),
                }
            } else {
                self.report.unsupported += 1;
                Ok(vec![Fact::default(); n_out])
            };
            g.node_mut(id).attributes = attrs;
            let outputs = match result {
                Ok(o) => o,
                Err(Stop::Invalid(msg)) => {
                    self.diag(path, Some(g.node(id).label()), "shape-inference", msg);
                    vec![Fact::default(); n_out]
                }
                Err(Stop::Unknown) => vec![Fact::default(); n_out],
            };
            let outs: Vec<Option<ValueId>> = g.node(id).outputs().to_vec();
            for (slot, out) in outs.iter().enumerate() {
                let Some(v) = out else { continue };
                let inferred = outputs.get(slot).cloned().unwrap_or_default();
                let declared = Fact { ty: g.value(*v).ty().and_then(Ty::from_ir), value: None };
                let fact = match merge(&inferred, &declared) {
                    Ok(mut f) => {
                        self.name_unknown_dims(&mut f);
                        f
                    }
                    Err(msg) => {
                        let name = g.value(*v).name.clone();
                        self.diag(
                            path,
                            Some(g.node(id).label()),
                            "type-conflict",
                            format!("output '{name}': {msg}"),
                        );
                        declared
                    }
                };
                // A tensor type without an element type says nothing a file can hold
                // (elem_type 0 would read as UNDEFINED): such facts stay in memory only.
                let writable = match &fact.ty {
                    Some(crate::fact::Ty::Tensor(t)) | Some(crate::fact::Ty::Sparse(t)) => {
                        t.elem.is_some()
                    }
                    Some(_) => true,
                    None => false,
                };
                if write
                    && writable
                    && let Some(ty) = &fact.ty
                {
                    let ir = ty.to_ir();
                    if g.value(*v).ty() != Some(&ir) {
                        g.value_mut(*v).info.ty = Some(ir);
                    }
                }
                facts[v.index()] = fact;
            }
        }
        if write {
            record_value_info(g);
        }
        let outputs = g.outputs().iter().map(|v| facts[v.index()].clone()).collect();
        if self.in_place
            && let Some(keep) = &mut self.keep
        {
            keep.insert(g as *const Graph as usize, facts);
        }
        outputs
    }

    /// Gives every dimension of a node output that nothing determines a fresh symbol of its
    /// own, as onnx does (`unk__N`): the dimension stays unknown in size, but everything computed
    /// from it downstream refers to the same symbol, so equal sizes are still seen as equal.
    fn name_unknown_dims(&mut self, f: &mut Fact) {
        fn walk(t: &mut crate::fact::Ty, fresh: &mut usize) {
            match t {
                crate::fact::Ty::Tensor(tt) | crate::fact::Ty::Sparse(tt) => {
                    for d in tt.shape.iter_mut().flatten() {
                        if *d == crate::sym::Dim::Unknown {
                            *d = crate::sym::Dim::symbol(&format!("unk_ferry_{fresh}"));
                            *fresh += 1;
                        }
                    }
                }
                crate::fact::Ty::Seq(Some(e)) | crate::fact::Ty::Optional(Some(e)) => {
                    walk(e, fresh)
                }
                crate::fact::Ty::Map(_, Some(v)) => walk(v, fresh),
                _ => {}
            }
        }
        if let Some(t) = &mut f.ty {
            walk(t, &mut self.fresh);
        }
    }

    fn call_function(
        &mut self,
        f: &'m Function,
        call_attrs: &[Attribute],
        inputs: &[Option<Fact>],
        n_out: usize,
        path: &str,
    ) -> Result<Vec<Fact>, Stop> {
        if self.depth >= MAX_DEPTH {
            return Err(Stop::Unknown);
        }
        let mut bindings: HashMap<String, Attribute> =
            f.attribute_defaults.iter().map(|a| (a.name.clone(), a.clone())).collect();
        for a in call_attrs {
            bindings.insert(a.name.clone(), a.clone());
        }
        let mut body = f.body.clone();
        let ins = inputs.iter().map(|i| i.clone().unwrap_or_default()).collect();
        self.depth += 1;
        let outer_in_place = std::mem::replace(&mut self.in_place, false);
        // Function bodies may import their own opsets.
        let saved = self.opsets.clone();
        for o in &f.opset_imports {
            self.opsets.insert(o.canonical_domain().to_string(), o.version.unwrap_or(0));
        }
        let outs = self.graph(&mut body, path, Some(ins), &|_| None, Some(&bindings), false);
        self.opsets = saved;
        self.in_place = outer_in_place;
        self.depth -= 1;
        let mut outs = outs;
        outs.resize(n_out, Fact::default());
        Ok(outs)
    }
}

/// Lists node outputs that now have a type in `value_info`, as `infer_shapes` does.
fn record_value_info(g: &mut Graph) {
    let listed: std::collections::HashSet<ValueId> =
        g.value_info().iter().chain(g.outputs()).copied().collect();
    let mut add = Vec::new();
    for (_, n) in g.nodes() {
        for v in n.outputs().iter().flatten() {
            if !listed.contains(v) && g.value(*v).ty().is_some() {
                add.push(*v);
            }
        }
    }
    for v in add {
        g.add_value_info(v);
    }
}

/// Runs inference over a whole model.
pub(crate) fn run(model: &mut Model, write: bool) -> Report {
    run_with(model, write, |_| {}).0
}

/// Runs inference over a whole model with a driver set up by `setup`; returns the report and
/// the facts the driver kept.
pub(crate) fn run_with(
    model: &mut Model,
    write: bool,
    setup: impl FnOnce(&mut Driver<'_>),
) -> (Report, Option<HashMap<usize, Vec<Fact>>>) {
    let opsets: HashMap<String, i64> = model
        .opset_imports
        .iter()
        .map(|o| (o.canonical_domain().to_string(), o.version.unwrap_or(0)))
        .collect();
    let Model { graph, functions, .. } = model;
    let mut driver = Driver::new(opsets, functions);
    setup(&mut driver);
    if let Some(g) = graph {
        let path = format!("graph '{}'", g.name.as_deref().unwrap_or(""));
        driver.graph(g, &path, None, &|_| None, None, write);
    }
    (driver.report, driver.keep)
}
