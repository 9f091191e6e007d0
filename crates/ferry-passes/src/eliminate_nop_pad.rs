//! `eliminate_nop_pad`: removes `Pad` nodes (default domain) whose pads are all zero: nothing is
//! added or cut on any side, in any mode, so the output is the input.
//!
//! The pads are the `pads` attribute before opset 11 and the second input from opset 11 on; that
//! input must be a constant (an initializer that is not a graph input, or a `Constant` node) or
//! a value whose contents inference knows. The constant value and, from opset 18, the `axes`
//! input play no part when nothing is padded.
//!
//! Guards (the node stays otherwise): pads unknown or not all zero; an unknown opset with the
//! pads in neither place; the rest as for every forwarding rewrite (`scope::forward`: graph
//! output names kept, subgraph reads rebound, protected names kept).

use crate::nop::{Rule, RuleCx, first_in_out, run};
use crate::{Changed, Pass, PassCx, PassError};
use ferry_ir::{Graph, Model, NodeId, ValueId};

pub struct EliminateNopPad;

struct PadRule;

/// The pads of a `Pad` node, from its attribute (before opset 11) or its second input.
pub(crate) fn pads(g: &Graph, id: NodeId, cx: &RuleCx) -> Option<Vec<i64>> {
    let n = g.node(id);
    let from_attr = n.attr("pads").and_then(|a| a.as_ints()).map(<[i64]>::to_vec);
    match cx.opset {
        Some(v) if v < 11 => from_attr,
        Some(_) => cx.ints(g, n.inputs().get(1).copied().flatten()?),
        None => from_attr.or_else(|| cx.ints(g, n.inputs().get(1).copied().flatten()?)),
    }
}

impl Rule for PadRule {
    fn ops(&self) -> &'static [&'static str] {
        &["Pad"]
    }

    fn wants_facts(&self) -> bool {
        true
    }

    fn forwarded(&self, g: &Graph, id: NodeId, cx: &RuleCx) -> Option<(ValueId, ValueId)> {
        let (inp, out) = first_in_out(g.node(id))?;
        let pads = pads(g, id, cx)?;
        pads.iter().all(|&p| p == 0).then_some((inp, out))
    }
}

impl Pass for EliminateNopPad {
    fn name(&self) -> &'static str {
        "eliminate_nop_pad"
    }

    fn description(&self) -> &'static str {
        "remove Pad whose pads are all zero"
    }

    /// The work happens in [`Pass::run_model`] (pads may be known by inference only).
    fn run(&self, _graph: &mut Graph, _cx: &PassCx) -> Result<Changed, PassError> {
        Ok(Changed::NONE)
    }

    fn run_model(&self, model: &mut Model, cx: &PassCx) -> Result<Changed, PassError> {
        run(&PadRule, model, cx)
    }
}
