//! `fuse_pad_into_pool` (onnxoptimizer's name): `AveragePool(Pad(x))` or `MaxPool(Pad(x))`
//! becomes the pool of `x` with the Pad's spatial pads added to the pool's own `pads`, when the
//! pool's implicit padding computes what the explicit Pad did.
//!
//! What a pool does with its own padding decides which Pad it can absorb:
//!
//! - `AveragePool` with `count_include_pad = 1` averages padded cells as zeros, dividing by the
//!   whole window: an explicit Pad of zeros followed by any AveragePool without own padding, or
//!   with own padding counted (`count_include_pad = 1`), is an AveragePool with the summed pads
//!   and `count_include_pad = 1`. With its own pads not counted (`count_include_pad = 0` and
//!   non-zero pads) the two paddings would need different divisors: not fused. Before opset 7
//!   AveragePool had no `count_include_pad` and never counted padding: not fused there.
//! - `MaxPool` ignores padded cells, which is what padding with `-inf` does, as long as every
//!   window still holds a real element (else the explicit version yields `-inf` where the pool
//!   has no defined value): so only a Pad of `-inf` (floating-point types), with `dilations`
//!   all 1 and every summed pad smaller than the kernel on its axis. A zero Pad is *not* fused
//!   into MaxPool: `max(0, negative values)` is 0, not the largest value. The `Indices` output
//!   would count positions in the padded tensor: a MaxPool using it is not fused.
//!
//! Guards common to both (the pair is left alone otherwise): the Pad conditions of
//! `fuse_pad_into_conv` (constant mode, known non-negative pads, no batch/channel padding, read
//! only by this pool as its input, not a graph output, not read by a subgraph, not protected);
//! `auto_pad` absent or `NOTSET`; `ceil_mode` absent or 0 (with ceil mode, whether a last
//! partial window is kept depends on where the input ends, which the explicit Pad moved); the
//! pool's `pads`, if present, have two entries per spatial axis; `kernel_shape` present; an
//! `axes` input of the Pad needs the rank, taken from `kernel_shape`. `LpPool` and the global
//! pools are not fused.

use crate::forward::Sweeper;
use crate::fuse_pad_into_conv::{
    PadInfo, drop_pad, explicit_pads, merged_pads, pad_before, set_attr,
};
use crate::{Changed, Pass, PassCx, PassError};
use ferry_ir::{AttrValue, Graph, Node};

pub struct FusePadIntoPool;

/// The pool's new `pads` when `p` fuses into it.
fn fused(pool: &Node, p: &PadInfo, opset: i64) -> Option<Vec<i64>> {
    let kernel = pool.attr("kernel_shape")?.as_ints()?;
    if p.begin.len() != kernel.len() + 2 {
        return None;
    }
    let pads = merged_pads(pool, p)?;
    let [value] = p.value.as_deref()? else { return None };
    let own_pads =
        pool.attr("pads").and_then(|a| a.as_ints()).is_some_and(|v| v.iter().any(|&x| x != 0));
    match pool.op_type.as_str() {
        "AveragePool" => {
            // `count_include_pad` exists from opset 7; before, padding was never counted.
            if opset < 7 {
                return None;
            }
            let counted = pool.attr("count_include_pad").and_then(|a| a.as_int()).unwrap_or(0) != 0;
            (*value == 0.0 && (counted || !own_pads)).then_some(pads)
        }
        "MaxPool" => {
            if *value != f64::NEG_INFINITY || pool.outputs().iter().skip(1).any(Option::is_some) {
                return None;
            }
            let dilated = pool
                .attr("dilations")
                .and_then(|a| a.as_ints())
                .is_some_and(|d| d.iter().any(|&x| x != 1));
            let spatial = kernel.len();
            if dilated || pads.len() != 2 * spatial {
                return None;
            }
            let small = (0..spatial).all(|i| pads[i] < kernel[i] && pads[i + spatial] < kernel[i]);
            small.then_some(pads)
        }
        _ => None,
    }
}

impl Pass for FusePadIntoPool {
    fn name(&self) -> &'static str {
        "fuse_pad_into_pool"
    }

    fn description(&self) -> &'static str {
        "fold a spatial-only Pad into AveragePool (zeros, counted) or MaxPool (-inf) pads"
    }

    fn run(&self, g: &mut Graph, cx: &PassCx) -> Result<Changed, PassError> {
        let mut sw = Sweeper::default();
        let mut rewrites = 0;
        let mut cur = g.first_node();
        while let Some(id) = cur {
            cur = g.next_node(id);
            let n = g.node(id);
            let pool = matches!(n.op_type.as_str(), "AveragePool" | "MaxPool");
            let ceil = n.attr("ceil_mode").and_then(|a| a.as_int()).unwrap_or(0) != 0;
            if !pool || !n.canonical_domain().is_empty() || !explicit_pads(n) || ceil {
                continue;
            }
            let rank = n.attr("kernel_shape").and_then(|a| a.as_ints()).map(|k| k.len() + 2);
            let Some(p) = pad_before(g, cx, id, rank) else { continue };
            let Some(pads) = fused(g.node(id), &p, cx.opset.unwrap_or(0)) else { continue };
            if !cx.allow() {
                break;
            }
            let node = g.node_mut(id);
            if node.op_type == "AveragePool" {
                set_attr(node, "count_include_pad", AttrValue::Int(1));
            }
            set_attr(node, "pads", AttrValue::Ints(pads));
            drop_pad(g, &mut sw, id, &p);
            rewrites += 1;
        }
        sw.finish(g);
        Ok(Changed { rewrites })
    }
}
