//! `eliminate_nop_flatten`: removes `Flatten` nodes (default domain) whose input already has the
//! 2-D shape Flatten would give it.
//!
//! Flatten makes `[d0 * ... * d(axis-1), d(axis) * ... * d(n-1)]`. For a 2-D input `[a, b]`
//! that is `[a, b]` itself with `axis` 1 (or -1); with `axis` 0 it is `[1, a*b]`, the input
//! when `a` is known to be 1 (`axis` -2 is 0); with `axis` 2 it is `[a*b, 1]`, the input when
//! `b` is known to be 1. The input's rank and dimensions come from inference
//! (`ferry_infer::facts`).
//!
//! Guards (the node stays otherwise): the input's rank unknown or not 2; an axis outside
//! `[-2, 2]`, or 0/2 without the dimension that would have to be 1 known to be 1; the rest as
//! for every forwarding rewrite (`scope::forward`: graph output names kept, subgraph reads
//! rebound, protected names kept).

use crate::nop::{Rule, RuleCx, is_known, run, unary};
use crate::{Changed, Pass, PassCx, PassError};
use ferry_ir::{Graph, Model, NodeId, ValueId};

pub struct EliminateNopFlatten;

struct FlattenRule;

impl Rule for FlattenRule {
    fn ops(&self) -> &'static [&'static str] {
        &["Flatten"]
    }

    fn wants_facts(&self) -> bool {
        true
    }

    fn forwarded(&self, g: &Graph, id: NodeId, cx: &RuleCx) -> Option<(ValueId, ValueId)> {
        let n = g.node(id);
        let (inp, out) = unary(n)?;
        let shape = cx.shape(inp)?;
        if shape.len() != 2 {
            return None;
        }
        let axis = n.attr("axis").and_then(|a| a.as_int()).unwrap_or(1);
        let same = match axis {
            1 | -1 => true,
            0 | -2 => is_known(&shape[0], 1),
            2 => is_known(&shape[1], 1),
            _ => false,
        };
        same.then_some((inp, out))
    }
}

impl Pass for EliminateNopFlatten {
    fn name(&self) -> &'static str {
        "eliminate_nop_flatten"
    }

    fn description(&self) -> &'static str {
        "remove Flatten of an input that is already 2-D in the shape Flatten makes"
    }

    /// The work happens in [`Pass::run_model`], which infers shapes.
    fn run(&self, _graph: &mut Graph, _cx: &PassCx) -> Result<Changed, PassError> {
        Ok(Changed::NONE)
    }

    fn run_model(&self, model: &mut Model, cx: &PassCx) -> Result<Changed, PassError> {
        run(&FlattenRule, model, cx)
    }
}
