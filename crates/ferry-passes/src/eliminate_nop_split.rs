//! `eliminate_nop_split`: removes `Split` nodes (default domain) with a single output, which is
//! the whole input.
//!
//! Without split sizes (no `split` attribute before opset 13, no second input from opset 13, or
//! `num_outputs = 1` from opset 18) one output takes everything. With sizes given, the one size
//! must equal the input's dimension along `axis` (a runtime rejects anything else), which is
//! checked against the inferred shape (`ferry_infer::facts`): the node stays when that
//! dimension or the size is not known to be the same number or symbolic expression.
//!
//! Guards (the node stays otherwise): not exactly one output; an omitted data input; sizes given
//! and not proven to cover the axis; the rest as for every forwarding rewrite (`scope::forward`:
//! graph output names kept, subgraph reads rebound, protected names kept).

use crate::nop::{Rule, RuleCx, run, same_dim};
use crate::{Changed, Pass, PassCx, PassError};
use ferry_ir::{Graph, Model, NodeId, ValueId};

pub struct EliminateNopSplit;

struct SplitRule;

impl Rule for SplitRule {
    fn ops(&self) -> &'static [&'static str] {
        &["Split"]
    }

    fn wants_facts(&self) -> bool {
        true
    }

    fn forwarded(&self, g: &Graph, id: NodeId, cx: &RuleCx) -> Option<(ValueId, ValueId)> {
        let n = g.node(id);
        let (inp, out) = match n.outputs() {
            [Some(o)] => (n.inputs().first().copied().flatten()?, *o),
            _ => return None,
        };
        let from_attr = n.attr("split").and_then(|a| a.as_ints());
        let sizes = match n.inputs().get(1).copied().flatten() {
            Some(v) => Some(cx.value(g, v)?.dims_data()?.to_vec()),
            None => from_attr.map(|s| s.iter().map(|&x| ferry_infer::Dim::known(x)).collect()),
        };
        let Some(sizes) = sizes else { return Some((inp, out)) };
        let [size] = sizes.as_slice() else { return None };
        let shape = cx.shape(inp)?;
        let axis = n.attr("axis").and_then(|a| a.as_int()).unwrap_or(0);
        let rank = i64::try_from(shape.len()).ok()?;
        let axis = if axis < 0 { axis + rank } else { axis };
        let dim = shape.get(usize::try_from(axis).ok()?)?;
        same_dim(size, dim).then_some((inp, out))
    }
}

impl Pass for EliminateNopSplit {
    fn name(&self) -> &'static str {
        "eliminate_nop_split"
    }

    fn description(&self) -> &'static str {
        "remove Split into a single output"
    }

    /// The work happens in [`Pass::run_model`] (split sizes need inferred shapes).
    fn run(&self, _graph: &mut Graph, _cx: &PassCx) -> Result<Changed, PassError> {
        Ok(Changed::NONE)
    }

    fn run_model(&self, model: &mut Model, cx: &PassCx) -> Result<Changed, PassError> {
        run(&SplitRule, model, cx)
    }
}
