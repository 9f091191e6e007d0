//! `eliminate_nop_expand`: removes `Expand` nodes (default domain) whose target shape
//! broadcasts to the input's own shape, so nothing is repeated.
//!
//! Expand's output shape is the numpy broadcast of the input's shape and the target. With the
//! two right-aligned, that is the input's shape exactly when the target has no more dimensions
//! than the input and each of its entries is `1` or the input's dimension at that position (the
//! same number, or the same symbolic expression, which inference derives only for dimensions it
//! proved equal). The input's shape comes from inference (`ferry_infer::facts`); the target is a
//! constant or a value whose contents inference knows.
//!
//! Guards (the node stays otherwise): input shape or target unknown; a target longer than the
//! input's rank (it would add dimensions); any other entry; two inputs and one output not all
//! present. The rest as for every forwarding rewrite (`scope::forward`: graph output names kept,
//! subgraph reads rebound, protected names kept).

use crate::nop::{Rule, RuleCx, is_known, run, same_dim};
use crate::{Changed, Pass, PassCx, PassError};
use ferry_ir::{Graph, Model, NodeId, ValueId};

pub struct EliminateNopExpand;

struct ExpandRule;

impl Rule for ExpandRule {
    fn ops(&self) -> &'static [&'static str] {
        &["Expand"]
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
        let shape = cx.shape(inp)?;
        let k = cx.value(g, target)?;
        let want = k.dims_data()?;
        if k.dims.len() != 1 || want.len() > shape.len() {
            return None;
        }
        let offset = shape.len() - want.len();
        let fits = want.iter().zip(&shape[offset..]).all(|(t, d)| is_known(t, 1) || same_dim(t, d));
        fits.then_some((inp, out))
    }
}

impl Pass for EliminateNopExpand {
    fn name(&self) -> &'static str {
        "eliminate_nop_expand"
    }

    fn description(&self) -> &'static str {
        "remove Expand whose target broadcasts to the input's own shape"
    }

    /// The work happens in [`Pass::run_model`], which infers shapes.
    fn run(&self, _graph: &mut Graph, _cx: &PassCx) -> Result<Changed, PassError> {
        Ok(Changed::NONE)
    }

    fn run_model(&self, model: &mut Model, cx: &PassCx) -> Result<Changed, PassError> {
        run(&ExpandRule, model, cx)
    }
}
