//! `eliminate_nop_slice`: removes `Slice` nodes (default domain) that take every element of
//! every axis they slice, in order.
//!
//! Each sliced axis must have step 1 and cover the whole axis: the start is 0 (or a negative
//! start at or before the axis' beginning, `start <= -dim`, for a known `dim`), and the end is at
//! or past the end (`i64::MAX`, as exporters write "to the end", or `end >= dim` for a known
//! `dim`). An axis whose dimension is symbolic also qualifies when inference gives the output the
//! same dimension as the input there (with step 1, only the whole axis has the whole length).
//! Starts, ends, axes and steps are the attributes before opset 10 and inputs from then on,
//! constants or values whose contents inference knows; shapes come from `ferry_infer::facts`.
//!
//! Guards (the node stays otherwise): any of starts/ends/axes/steps unknown, or of different
//! lengths; a step other than 1 (a reversed or strided slice); a negative axis with the input's
//! rank unknown; an end below `i64::MAX` on an axis whose length is not known; the rest as for
//! every forwarding rewrite (`scope::forward`: graph output names kept, subgraph reads rebound,
//! protected names kept). `i32::MAX` is not taken as "to the end" without a known dimension: a
//! dimension can exceed it.

use crate::nop::{Rule, RuleCx, run, same_dim};
use crate::{Changed, Pass, PassCx, PassError};
use ferry_infer::Dim;
use ferry_ir::{Graph, Model, NodeId, ValueId};

pub struct EliminateNopSlice;

struct SliceRule;

/// The four integer lists of a Slice: starts, ends, axes (when given) and steps (when given).
type Params = (Vec<i64>, Vec<i64>, Option<Vec<i64>>, Option<Vec<i64>>);

fn params(g: &Graph, id: NodeId, cx: &RuleCx) -> Option<Params> {
    let n = g.node(id);
    let attrs = cx.opset.is_some_and(|v| v < 10);
    if attrs {
        let get = |name: &str| n.attr(name).and_then(|a| a.as_ints()).map(<[i64]>::to_vec);
        return Some((get("starts")?, get("ends")?, get("axes"), None));
    }
    let input = |i: usize| n.inputs().get(i).copied().flatten();
    let list = |i: usize| -> Option<Option<Vec<i64>>> {
        match input(i) {
            None => Some(None),
            Some(v) => cx.ints(g, v).map(Some),
        }
    };
    Some((cx.ints(g, input(1)?)?, cx.ints(g, input(2)?)?, list(3)?, list(4)?))
}

/// Whether slicing `[start, end)` with step 1 covers an axis of dimension `dim` (the output's
/// dimension there is `out`).
fn whole_axis(start: i64, end: i64, dim: Option<&Dim>, out: Option<&Dim>) -> bool {
    if let (Some(d), Some(o)) = (dim, out)
        && same_dim(d, o)
    {
        return true;
    }
    let known = dim.and_then(Dim::as_const);
    let start_ok = start == 0 || known.is_some_and(|d| start <= -d);
    let end_ok = end == i64::MAX || known.is_some_and(|d| end >= d);
    start_ok && end_ok
}

impl Rule for SliceRule {
    fn ops(&self) -> &'static [&'static str] {
        &["Slice"]
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
        let (starts, ends, axes, steps) = params(g, id, cx)?;
        let len = starts.len();
        let axes = axes.unwrap_or_else(|| (0..len as i64).collect());
        let steps = steps.unwrap_or_else(|| vec![1; len]);
        if ends.len() != len || axes.len() != len || steps.len() != len {
            return None;
        }
        let shape = cx.shape(inp);
        let out_shape = cx.shape(out);
        for i in 0..len {
            if steps[i] != 1 {
                return None;
            }
            let axis = if axes[i] < 0 {
                axes[i].checked_add(i64::try_from(shape?.len()).ok()?)?
            } else {
                axes[i]
            };
            let axis = usize::try_from(axis).ok()?;
            let dim = shape.and_then(|s| s.get(axis));
            let odim = out_shape.and_then(|s| s.get(axis));
            if !whole_axis(starts[i], ends[i], dim, odim) {
                return None;
            }
        }
        Some((inp, out))
    }
}

impl Pass for EliminateNopSlice {
    fn name(&self) -> &'static str {
        "eliminate_nop_slice"
    }

    fn description(&self) -> &'static str {
        "remove Slice that takes every element of the axes it slices"
    }

    /// The work happens in [`Pass::run_model`], which infers shapes.
    fn run(&self, _graph: &mut Graph, _cx: &PassCx) -> Result<Changed, PassError> {
        Ok(Changed::NONE)
    }

    fn run_model(&self, model: &mut Model, cx: &PassCx) -> Result<Changed, PassError> {
        run(&SliceRule, model, cx)
    }
}
