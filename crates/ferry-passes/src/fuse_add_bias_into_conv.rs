//! `fuse_add_bias_into_conv` (onnxoptimizer's name): `Add(Conv(X, W, B), c)` with a constant
//! `c` that adds one number per output channel becomes `Conv(X, W, B + c)` (`B` = 0 when the
//! Conv has none). The same for `ConvTranspose`.
//!
//! Guards (the pair is left alone otherwise):
//!
//! - the Add is in the default domain with two inputs, one output and no attributes; either
//!   input may be the Conv's;
//! - the Conv/ConvTranspose (default domain, one output) has constant float32 weights of rank 3
//!   or more and, when present, a constant float32 bias of shape `[C]` (`C` output channels:
//!   `W.dims[0]` for Conv, `group * W.dims[1]` for ConvTranspose);
//! - its output is read by the Add alone, is not a graph output, not read by name from a
//!   subgraph and not protected;
//! - `c` is a float32 constant that broadcasts along the channel axis only: right-aligned
//!   against the output's rank (the weight's), every dim is 1 but the channel one, which is 1 or
//!   `C`, and it has no more dims than the output. So `[C,1,1]`, `[1,C,1,1]`, `[1]` and scalars
//!   qualify, `[C]` (which would run along the last spatial axis) does not, and nothing makes
//!   the Add's result larger than the Conv's;
//! - every new bias value is finite;
//! - the Conv's output takes the Add's output's name (`forward::merge_into_producer`), so
//!   that a surviving name keeps its meaning; a graph output keeps its name either way.
//!
//! The new bias goes where it does not change anything else: over the old bias when the Conv is
//! its only reader; else over `c` when the Add is its only reader (the Conv then reads `c`, and
//! a `Constant` node making `c` moves before the Conv); else into a new initializer (main graphs
//! only; see `constants`).

use crate::affine::{
    absorb_into_producers, binary_with_constant, conv_before, per_channel, wire_bias,
};
use crate::constants::{Placer, f32_tensor, only_reader, overwrite};
use crate::fuse_bn::constant;
use crate::{Changed, Pass, PassCx, PassError};
use ferry_ir::{Graph, NodeId, ValueId};

pub struct FuseAddBiasIntoConv;

/// A fusion worked out but not made yet.
struct Plan {
    conv: NodeId,
    mid: ValueId,
    out: ValueId,
    c: ValueId,
    bias: Vec<f32>,
    /// Where the bias goes: over `c` (rewired into the Conv) instead of the Conv's bias slot.
    into_c: bool,
}

fn plan(g: &Graph, cx: &PassCx, placer: &mut Placer, add: NodeId) -> Option<Plan> {
    for (mid, c, out) in binary_with_constant(g, add, "Add") {
        let Some(conv) = conv_before(g, cx, mid, add) else { continue };
        let rank = conv.w_dims.len();
        let Some(cv) = per_channel(constant(g, c)?, rank, 1, conv.channels) else { continue };
        let old =
            conv.b.as_ref().map(|(_, v)| v.clone()).unwrap_or_else(|| vec![0.0; conv.channels]);
        let bias: Vec<f32> = old.iter().zip(&cv).map(|(b, c)| b + c).collect();
        if bias.iter().any(|x| !x.is_finite()) {
            continue;
        }
        let slot_ok = conv.b.is_some() && placer.can_place(g, cx, conv.conv, 2);
        let b_in_place = conv.b.as_ref().is_some_and(|(b, _)| only_reader(g, cx, *b, conv.conv, 2));
        let c_free = only_reader(g, cx, c, add, 0) || only_reader(g, cx, c, add, 1);
        let into_c = !b_in_place && c_free;
        if !into_c && !slot_ok && !placer.can_add(g, cx) {
            continue;
        }
        return Some(Plan { conv: conv.conv, mid, out, c, bias, into_c });
    }
    None
}

impl Pass for FuseAddBiasIntoConv {
    fn name(&self) -> &'static str {
        "fuse_add_bias_into_conv"
    }

    fn description(&self) -> &'static str {
        "fold a constant per-channel Add after a Conv/ConvTranspose into its bias"
    }

    fn run(&self, g: &mut Graph, cx: &PassCx) -> Result<Changed, PassError> {
        Ok(absorb_into_producers(
            g,
            cx,
            "_bias",
            |g, placer, id| plan(g, cx, placer, id).map(|p| (p.mid, p.out, p)),
            |g, placer, p, base| {
                let t = f32_tensor(vec![p.bias.len() as i64], &p.bias);
                if p.into_c {
                    overwrite(g, p.c, t);
                    wire_bias(g, p.conv, p.c);
                } else {
                    placer.place(g, cx, p.conv, 2, base, t);
                }
            },
        ))
    }
}
