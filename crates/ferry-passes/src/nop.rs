//! The machinery shared by the `eliminate_nop_*` passes: each says, for one operator, when a
//! node's output is its input unchanged (a [`Rule`]); [`run`] finds such nodes in every graph of
//! a model and forwards their input to their readers with [`scope::forward`] (graph output names
//! kept, subgraph reads rebound).
//!
//! Rules that need types or shapes get them from `ferry_infer::facts` through [`PassCx::facts`]
//! (inferred once and shared by the passes of a round until one changes the model), asked for
//! only when the model has a node the rule looks at. Facts exist for the main graph and the
//! subgraphs inference sees in general (If branches); Loop and Scan bodies and function bodies get
//! none, and rules that need facts leave their nodes alone there. Facts of a value stay valid
//! while the pass edits its graph: forwarding removes nodes and rewires readers but never
//! changes what a surviving value holds.

use crate::forward::Sweeper;
use crate::fuse_bn::constant;
use crate::scope::{drop_unused_captures_below, forward};
use crate::{Changed, PassCx, PassError};
use ferry_infer::{Dim, Fact, Facts, Konst};
use ferry_ir::{Graph, Model, Node, NodeId, ValueId};

/// When a node of one operator is a no-op.
pub(crate) trait Rule: Sync {
    /// The default-domain operators the rule looks at.
    fn ops(&self) -> &'static [&'static str];
    /// Whether [`Rule::forwarded`] can use facts (then inference runs when a candidate exists).
    fn wants_facts(&self) -> bool;
    /// `(input, output)` when node `id` (one of [`Rule::ops`]) passes `input` through unchanged
    /// as `output`. `facts` are the graph's inferred facts, indexed by value, when known.
    fn forwarded(&self, g: &Graph, id: NodeId, cx: &RuleCx) -> Option<(ValueId, ValueId)>;
}

/// What a rule knows about the graph it looks at.
pub(crate) struct RuleCx<'a> {
    pub facts: Option<&'a [Fact]>,
    pub opset: Option<i64>,
}

impl RuleCx<'_> {
    pub fn fact(&self, v: ValueId) -> Option<&Fact> {
        self.facts?.get(v.index())
    }

    /// The inferred or declared shape of `v`.
    pub fn shape(&self, v: ValueId) -> Option<&[Dim]> {
        self.fact(v)?.shape()
    }

    /// The contents of `v` when it is a constant (an initializer that is not a graph input, or
    /// a `Constant` node's value) small enough to decode, or when inference knows them.
    pub fn value(&self, g: &Graph, v: ValueId) -> Option<Konst> {
        if let Some(t) = constant(g, v) {
            return ferry_infer::konst::tensor_value(t);
        }
        self.fact(v)?.value.clone()
    }

    /// The integer contents of `v` (see [`RuleCx::value`]), every element a known number.
    pub fn ints(&self, g: &Graph, v: ValueId) -> Option<Vec<i64>> {
        self.value(g, v)?.ints()
    }
}

/// The sole input and output of `n` when it has exactly one of each, both present.
pub(crate) fn unary(n: &Node) -> Option<(ValueId, ValueId)> {
    match (n.inputs(), n.outputs()) {
        ([Some(i)], [Some(o)]) => Some((*i, *o)),
        _ => None,
    }
}

/// The first input and the sole output of `n`, when present.
pub(crate) fn first_in_out(n: &Node) -> Option<(ValueId, ValueId)> {
    match (n.inputs().first(), n.outputs()) {
        (Some(Some(i)), [Some(o)]) => Some((*i, *o)),
        _ => None,
    }
}

fn is_candidate(rule: &dyn Rule, n: &Node) -> bool {
    n.canonical_domain().is_empty() && rule.ops().contains(&n.op_type.as_str())
}

fn has_candidates(rule: &dyn Rule, g: &Graph) -> bool {
    g.nodes().any(|(_, n)| is_candidate(rule, n) || n.subgraphs().any(|s| has_candidates(rule, s)))
}

/// Runs `rule` over the main graph (with facts when it wants them), its subgraphs and the
/// function bodies (without facts), in that order.
pub(crate) fn run(rule: &dyn Rule, model: &mut Model, cx: &PassCx) -> Result<Changed, PassError> {
    let main = model.graph.as_ref().is_some_and(|g| has_candidates(rule, g));
    let funcs = model.functions.iter().any(|f| has_candidates(rule, &f.body));
    if !main && !funcs {
        return Ok(Changed::NONE);
    }
    let mut rewrites = 0;
    if main {
        let facts = if rule.wants_facts() { Some(cx.facts(model)) } else { None };
        if let Some(g) = &mut model.graph {
            rewrites += walk(rule, g, facts.as_deref(), cx, cx.opset);
            drop_unused_captures_below(g);
        }
    }
    if funcs {
        let model_opset = model.default_opset();
        for f in &mut model.functions {
            let opset = f
                .opset_imports
                .iter()
                .find(|o| o.canonical_domain().is_empty())
                .and_then(|o| o.version)
                .or(model_opset);
            let fcx = cx.nested(cx.budget());
            rewrites += walk(rule, &mut f.body, None, &fcx, opset);
            cx.set_budget(fcx.budget());
            drop_unused_captures_below(&mut f.body);
        }
    }
    Ok(Changed { rewrites })
}

/// Forwards the no-op nodes of `g`, then of its subgraphs; returns how many went.
fn walk(
    rule: &dyn Rule,
    g: &mut Graph,
    facts: Option<&Facts>,
    cx: &PassCx,
    opset: Option<i64>,
) -> usize {
    // Looked up before `g` changes: facts are found by the graph's address and hold for its
    // values as they are now (forwarding removes nodes but changes no surviving value).
    let rcx = RuleCx { facts: facts.and_then(|f| f.graph(g)), opset };
    let mut sw = Sweeper::default();
    let mut rewrites = 0;
    let mut cur = g.first_node();
    while let Some(id) = cur {
        cur = g.next_node(id);
        if cx.exhausted() {
            break;
        }
        if !is_candidate(rule, g.node(id)) {
            continue;
        }
        let Some((inp, out)) = rule.forwarded(g, id, &rcx) else { continue };
        if forward(g, &mut sw, cx, id, inp, out) {
            rewrites += 1;
        }
    }
    let owners: Vec<NodeId> = g.node_ids().filter(|&id| g.node(id).has_subgraphs()).collect();
    for id in owners {
        let mut attributes = std::mem::take(&mut g.node_mut(id).attributes);
        for a in &mut attributes {
            for sub in a.value.graphs_mut() {
                let sub_cx = cx.nested(cx.budget());
                rewrites += walk(rule, sub, facts, &sub_cx, opset);
                cx.set_budget(sub_cx.budget());
            }
        }
        g.node_mut(id).attributes = attributes;
    }
    sw.finish(g);
    rewrites
}

/// Whether two dimensions are the same number for every run: both known and equal, or the same
/// symbolic expression (inference gives equal expressions only to dimensions it proved equal).
pub(crate) fn same_dim(a: &Dim, b: &Dim) -> bool {
    match (a, b) {
        (Dim::Expr(x), Dim::Expr(y)) => x == y,
        _ => false,
    }
}

/// Whether `d` is the known number `n`.
pub(crate) fn is_known(d: &Dim, n: i64) -> bool {
    d.as_const() == Some(n)
}
