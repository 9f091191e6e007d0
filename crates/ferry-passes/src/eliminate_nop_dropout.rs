//! `eliminate_nop_dropout`: removes `Dropout` nodes (default domain) that run in inference mode,
//! where Dropout passes its input through.
//!
//! Guards:
//!
//! - the mask output is absent, or nothing reads it and it is not a graph output;
//! - from opset 12, the `training_mode` input is omitted, or is a constant false: a scalar bool
//!   initializer that is not a graph input (a graph input can be fed `true`), or the output of a
//!   `Constant` node holding false; anything else (a graph input, a computed value) keeps the node;
//! - before opset 7, Dropout had an `is_test` attribute whose default (0) means training: the node
//!   goes only with `is_test = 1`; an unknown opset keeps nodes that carry `is_test = 0`;
//! - the rest as for `eliminate_identity` (graph output names kept, captured outputs kept).

use crate::forward::{Sweeper, bypass};
use crate::{Changed, Pass, PassCx, PassError};
use ferry_ir::{AttrValue, DataType, Graph, Initializer, Tensor, TensorData, ValueDef, ValueId};

pub struct EliminateNopDropout;

/// Whether `t` is one bool element equal to false.
fn is_false(t: &Tensor) -> bool {
    if t.dtype != Some(DataType::BOOL) || t.dims.iter().product::<i64>() != 1 {
        return false;
    }
    match &t.data {
        TensorData::Raw(b) => b.len() == 1 && b[0] == 0,
        TensorData::Int32(v) => v.len() == 1 && v[0] == 0,
        _ => false,
    }
}

fn constant_false(g: &Graph, v: ValueId) -> bool {
    let val = g.value(v);
    match val.def() {
        ValueDef::Initializer => {
            matches!(&val.initializer, Some(Initializer::Dense(t)) if is_false(t))
        }
        ValueDef::Node { node, .. } => {
            let n = g.node(node);
            n.op_type == "Constant"
                && n.canonical_domain().is_empty()
                && n.attributes.len() == 1
                && n.attributes[0].name == "value"
                && matches!(&n.attributes[0].value, AttrValue::Tensor(t) if is_false(t))
        }
        _ => false,
    }
}

impl Pass for EliminateNopDropout {
    fn name(&self) -> &'static str {
        "eliminate_nop_dropout"
    }

    fn description(&self) -> &'static str {
        "remove Dropout in inference mode whose mask is unused"
    }

    fn run(&self, g: &mut Graph, cx: &PassCx) -> Result<Changed, PassError> {
        let mut sw = Sweeper::default();
        let mut rewrites = 0;
        let mut cur = g.first_node();
        while let Some(id) = cur {
            cur = g.next_node(id);
            let n = g.node(id);
            if n.op_type != "Dropout" || !n.canonical_domain().is_empty() {
                continue;
            }
            let (Some(Some(inp)), Some(Some(out))) = (n.inputs().first(), n.outputs().first())
            else {
                continue;
            };
            let (inp, out) = (*inp, *out);
            let mask_free = match n.outputs().get(1).copied().flatten() {
                None => true,
                Some(m) => g.value(m).uses().is_empty() && !g.is_graph_output(m),
            };
            let training = match n.inputs().get(2).copied().flatten() {
                None => false,
                Some(t) => !constant_false(g, t),
            };
            let is_test = n.attr("is_test").and_then(|a| a.as_int());
            let old_training = match cx.opset {
                Some(v) if v < 7 => is_test != Some(1),
                Some(_) => false,
                None => is_test == Some(0),
            };
            if n.outputs().len() > 2 || !mask_free || training || old_training {
                continue;
            }
            if bypass(g, &mut sw, cx, id, inp, out) {
                rewrites += 1;
            }
        }
        sw.finish(g);
        Ok(Changed { rewrites })
    }
}
