//! `fuse_unsqueeze_transpose_squeeze`: `Squeeze(Transpose(Unsqueeze(x, a), p), s)` becomes
//! `Transpose(x, q)` when the Squeeze removes exactly the unit axes the Unsqueeze inserted.
//!
//! PyTorch exports multi-head attention's "split into q, k, v" this way: a unit axis is added,
//! moved by a 5-D Transpose and squeezed again. Axes of size one carry no data, so the three
//! nodes move the other axes only: `q` is `p` without the inserted axes, renumbered to `x`'s
//! axes. onnxsim produces the same single Transpose.
//!
//! Guards (the nodes stay as they are):
//!
//! - all three are default-domain nodes with explicit, readable axes (attribute before opset 13,
//!   constant input after) and an explicit `perm` that is a permutation;
//! - the Squeeze's axes, normalized, are exactly the positions the inserted axes reach after the
//!   Transpose;
//! - the Unsqueeze's and the Transpose's outputs are read only by the next node of the chain and
//!   are not graph outputs, not read by name from a subgraph, not protected; the Squeeze's output
//!   is not a graph output, not read from a subgraph, not protected.
//!
//! The Transpose is rewritten in place (input `x`, perm `q`, and the Squeeze output's name and
//! declared type), the Squeeze's readers read it, and the Squeeze and the Unsqueeze go. An identity `q`
//! is left to `eliminate_nop_transpose`.

use crate::chain::{pinned, producer};
use crate::constants::normalize_axes;
use crate::forward::Sweeper;
use crate::fuse_consecutive_squeezes::squeeze_axes;
use crate::fuse_consecutive_transposes::perm_of;
use crate::{Changed, Pass, PassCx, PassError};
use ferry_ir::{AttrValue, Graph, NodeId, ValueId};

pub struct FuseUnsqueezeTransposeSqueeze;

impl Pass for FuseUnsqueezeTransposeSqueeze {
    fn name(&self) -> &'static str {
        "fuse_unsqueeze_transpose_squeeze"
    }

    fn description(&self) -> &'static str {
        "turn Squeeze(Transpose(Unsqueeze(x))) that only moves inserted unit axes into one Transpose"
    }

    fn run(&self, g: &mut Graph, cx: &PassCx) -> Result<Changed, PassError> {
        let mut sw = Sweeper::default();
        let mut rewrites = 0;
        let mut cur = g.first_node();
        while let Some(squeeze) = cur {
            cur = g.next_node(squeeze);
            let Some(plan) = plan(g, cx, squeeze) else { continue };
            if !cx.allow() {
                break;
            }
            let Plan { unsqueeze, transpose, x, t_out, s_out, perm } = plan;
            g.set_node_input(transpose, 0, Some(x));
            let node = g.node_mut(transpose);
            if let Some(a) = node.attributes.iter_mut().find(|a| a.name == "perm") {
                a.value = AttrValue::Ints(perm);
            }
            // The Transpose now makes what the Squeeze made: take its declared type.
            g.value_mut(t_out).info = g.value(s_out).info.clone();
            g.replace_all_uses(s_out, t_out);
            for n in [squeeze, unsqueeze] {
                if cur == Some(n) {
                    cur = g.next_node(n);
                }
            }
            // ... and its name: a name that survives a rewrite keeps denoting its value.
            let name = g.value(s_out).name.clone();
            sw.remove_node(g, squeeze);
            sw.remove_node(g, unsqueeze);
            g.value_mut(t_out).name = name;
            rewrites += 1;
        }
        sw.finish(g);
        Ok(Changed { rewrites })
    }
}

struct Plan {
    unsqueeze: NodeId,
    transpose: NodeId,
    x: ValueId,
    t_out: ValueId,
    s_out: ValueId,
    perm: Vec<i64>,
}

fn plan(g: &Graph, cx: &PassCx, squeeze: NodeId) -> Option<Plan> {
    let s_axes = squeeze_axes(g, squeeze, "Squeeze")?;
    let s_out = g.node(squeeze).outputs()[0]?;
    if pinned(g, cx, s_out) {
        return None;
    }
    let (transpose, t_out) = producer(g, squeeze, 0, "Transpose")?;
    let perm = perm_of(g, transpose)?;
    let (unsqueeze, u_out) = producer(g, transpose, 0, "Unsqueeze")?;
    let x = g.node(unsqueeze).inputs().first().copied().flatten()?;
    let u_axes = squeeze_axes(g, unsqueeze, "Unsqueeze")?;
    for (v, reader) in [(u_out, transpose), (t_out, squeeze)] {
        let uses = g.value(v).uses();
        if pinned(g, cx, v) || uses.len() != 1 || uses[0].node != reader {
            return None;
        }
    }
    let rank = perm.len();
    let inserted = normalize_axes(&u_axes, Some(rank))?;
    let mut squeezed = normalize_axes(&s_axes, Some(rank))?;
    squeezed.sort_unstable();
    // Where the inserted axes are after the Transpose: output position j holds input axis p[j].
    let moved: Vec<usize> = (0..rank).filter(|&j| inserted.contains(&(perm[j] as usize))).collect();
    if moved != squeezed || inserted.len() != u_axes.len() {
        return None;
    }
    // Input axis u of the Transpose is axis u - (inserted axes before u) of x.
    let of_x = |u: usize| (u - inserted.iter().filter(|&&a| a < u).count()) as i64;
    let q: Vec<i64> =
        perm.iter().map(|&p| p as usize).filter(|p| !inserted.contains(p)).map(of_x).collect();
    Some(Plan { unsqueeze, transpose, x, t_out, s_out, perm: q })
}
