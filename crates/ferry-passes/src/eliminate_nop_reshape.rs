//! `eliminate_nop_reshape`: removes `Reshape` nodes (default domain) whose target shape is the
//! input's own shape, so the data and its shape come out as they went in.
//!
//! The input's shape comes from inference (`ferry_infer::facts`); its dimensions may be symbolic
//! (`[batch, 16, 64]`). The target is a constant or a value whose contents inference knows,
//! possibly symbolic too (`Concat(Shape(x)[0], 16, 64)` is `[batch, 16, 64]`). The node goes when
//! the target has the input's rank and, position by position, each target entry is:
//!
//! - the same dimension as the input's (the same number, or the same symbolic expression, which
//!   inference only derives for dimensions it proved equal);
//! - `0` with `allowzero` unset or 0 (the entry copies the input's dimension);
//! - `-1`, for at most one entry: every other entry matching, the inferred dimension is what is
//!   left, the input's own;
//! - or, for at most one entry instead of a `-1`, a known positive size `c` where the input's
//!   dimension `d` is not a known number, when every other input dimension is a known non-zero
//!   number: the element counts then agree only if `d == c` (`[n, 1, 32]` to `[20, 1, 32]`).
//!
//! Guards (the node stays otherwise): an input rank or target unknown; any other target entry;
//! `allowzero = 1` with a `0` entry the input's dimension is not known to be; two inputs and one
//! output not all present. One difference with the original: an input the Reshape would reject
//! (a `-1` on a tensor with zero elements, which is ambiguous; an element count that does not
//! match the known size) is rejected by the original model and passed through without the
//! node. The rest as for every forwarding rewrite (`scope::forward`). Merging a Reshape of a
//! Reshape is `fuse_consecutive_reshapes`' job, not this pass's.

use crate::nop::{Rule, RuleCx, is_known, run, same_dim};
use crate::{Changed, Pass, PassCx, PassError};
use ferry_ir::{Graph, Model, NodeId, ValueId};

pub struct EliminateNopReshape;

struct ReshapeRule;

impl Rule for ReshapeRule {
    fn ops(&self) -> &'static [&'static str] {
        &["Reshape"]
    }

    fn wants_facts(&self) -> bool {
        true
    }

    fn forwarded(&self, g: &Graph, id: NodeId, cx: &RuleCx) -> Option<(ValueId, ValueId)> {
        let n = g.node(id);
        let (inp, target, out) = match (n.inputs(), n.outputs()) {
            ([Some(i), Some(t)], [Some(o)]) => (*i, *t, *o),
            _ => return None,
        };
        let allowzero = n.attr("allowzero").and_then(|a| a.as_int()).unwrap_or(0) != 0;
        let shape = cx.shape(inp)?;
        let k = cx.value(g, target)?;
        let want = k.dims_data()?;
        if k.dims.len() != 1 || want.len() != shape.len() {
            return None;
        }
        // Positions not proven equal: `-1` entries, and known sizes where the input's
        // dimension is not a known number.
        let mut free = Vec::new();
        for (i, (t, d)) in want.iter().zip(shape).enumerate() {
            let ok = if same_dim(t, d) {
                true
            } else if is_known(t, 0) {
                !allowzero
            } else if is_known(t, -1)
                || (t.as_const().is_some_and(|c| c > 0) && d.as_const().is_none())
            {
                free.push(i);
                true
            } else {
                false
            };
            if !ok {
                return None;
            }
        }
        match free.as_slice() {
            [] => Some((inp, out)),
            [i] if is_known(&want[*i], -1) => Some((inp, out)),
            // A known size `c` against an input dimension `d`: with every other dimension a
            // known non-zero number, the element counts match only when `d == c`.
            [i] => shape
                .iter()
                .enumerate()
                .all(|(j, d)| j == *i || d.as_const().is_some_and(|n| n > 0))
                .then_some((inp, out)),
            _ => None,
        }
    }
}

impl Pass for EliminateNopReshape {
    fn name(&self) -> &'static str {
        "eliminate_nop_reshape"
    }

    fn description(&self) -> &'static str {
        "remove Reshape to the shape the input already has"
    }

    /// The work happens in [`Pass::run_model`], which infers shapes.
    fn run(&self, _graph: &mut Graph, _cx: &PassCx) -> Result<Changed, PassError> {
        Ok(Changed::NONE)
    }

    fn run_model(&self, model: &mut Model, cx: &PassCx) -> Result<Changed, PassError> {
        run(&ReshapeRule, model, cx)
    }
}
