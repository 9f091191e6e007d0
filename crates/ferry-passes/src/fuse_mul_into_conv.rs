//! `fuse_mul_into_conv`: `Mul(Conv(X, W, B), s)` with a constant `s` that scales each output
//! channel by one number becomes `Conv(X, W', B')` with `W'` = `W` scaled along its output
//! channels and `B' = B * s`. The same for `ConvTranspose`, whose weight is laid out
//! `[C_in, C_out / group, k...]` (see `affine::output_channel`).
//!
//! Guards (the pair is left alone otherwise):
//!
//! - the Mul is in the default domain with two inputs, one output and no attributes; either
//!   input may be the Conv's;
//! - the Conv/ConvTranspose (default domain, one output) has constant float32 weights of rank 3
//!   or more, read by this node alone (they are rewritten in place: a shared weight would have
//!   to be copied, growing the model), and when present a constant float32 bias `[C]`;
//! - its output is read by the Mul alone, is not a graph output, not read by name from a
//!   subgraph and not protected;
//! - `s` is a float32 constant that broadcasts along the channel axis only (right-aligned
//!   against the output's rank, all dims 1 but the channel one, which is 1 or `C`; no more dims
//!   than the output), so the Mul's result is never larger than the Conv's;
//! - every new number is finite;
//! - the Conv's output takes the Mul's output's name (`forward::merge_into_producer`).
//!
//! The new bias goes over the old one when the Conv is its only reader, else over `s` when the
//! Mul is its only reader (the Conv then reads `s`; a `Constant` node making it moves before the
//! Conv), else into a new initializer (main graphs only; see `constants`). The products are
//! computed in f64 and rounded once to f32.

use crate::affine::{
    absorb_into_producers, binary_with_constant, conv_before, output_channel, per_channel,
    wire_bias,
};
use crate::constants::{Placer, f32_tensor, only_reader, overwrite};
use crate::fuse_bn::constant;
use crate::{Changed, Pass, PassCx, PassError};
use ferry_ir::{Graph, NodeId, ValueId};

pub struct FuseMulIntoConv;

struct Plan {
    conv: NodeId,
    mid: ValueId,
    out: ValueId,
    s: ValueId,
    w: ValueId,
    w_dims: Vec<i64>,
    w_new: Vec<f32>,
    /// The new bias, and whether it goes over `s`.
    b_new: Option<(Vec<f32>, bool)>,
}

fn plan(g: &Graph, cx: &PassCx, placer: &mut Placer, mul: NodeId) -> Option<Plan> {
    for (mid, s, out) in binary_with_constant(g, mul, "Mul") {
        let Some(conv) = conv_before(g, cx, mid, mul) else { continue };
        if !only_reader(g, cx, conv.w, conv.conv, 1) {
            continue;
        }
        let rank = conv.w_dims.len();
        let Some(sv) = per_channel(constant(g, s)?, rank, 1, conv.channels) else { continue };
        let channel = output_channel(&conv);
        let w_new: Vec<f32> = conv
            .w_values
            .iter()
            .enumerate()
            .map(|(i, &x)| (f64::from(x) * f64::from(sv[channel(i)])) as f32)
            .collect();
        if w_new.iter().any(|x| !x.is_finite()) {
            continue;
        }
        let b_new = match &conv.b {
            None => None,
            Some((b, values)) => {
                let nb: Vec<f32> = values
                    .iter()
                    .zip(&sv)
                    .map(|(&b, &s)| (f64::from(b) * f64::from(s)) as f32)
                    .collect();
                if nb.iter().any(|x| !x.is_finite()) {
                    continue;
                }
                let b_in_place = only_reader(g, cx, *b, conv.conv, 2);
                let s_free = only_reader(g, cx, s, mul, 0) || only_reader(g, cx, s, mul, 1);
                let into_s = !b_in_place && s_free;
                if !b_in_place && !into_s && !placer.can_add(g, cx) {
                    continue;
                }
                Some((nb, into_s))
            }
        };
        return Some(Plan {
            conv: conv.conv,
            mid,
            out,
            s,
            w: conv.w,
            w_dims: conv.w_dims.clone(),
            w_new,
            b_new,
        });
    }
    None
}

impl Pass for FuseMulIntoConv {
    fn name(&self) -> &'static str {
        "fuse_mul_into_conv"
    }

    fn description(&self) -> &'static str {
        "fold a constant per-channel Mul after a Conv/ConvTranspose into its weights and bias"
    }

    fn run(&self, g: &mut Graph, cx: &PassCx) -> Result<Changed, PassError> {
        Ok(absorb_into_producers(
            g,
            cx,
            "_bias",
            |g, placer, id| plan(g, cx, placer, id).map(|p| (p.mid, p.out, p)),
            |g, placer, p, base| {
                overwrite(g, p.w, f32_tensor(p.w_dims, &p.w_new));
                if let Some((b, into_s)) = p.b_new {
                    let t = f32_tensor(vec![b.len() as i64], &b);
                    if into_s {
                        overwrite(g, p.s, t);
                        wire_bias(g, p.conv, p.s);
                    } else {
                        placer.place(g, cx, p.conv, 2, base, t);
                    }
                }
            },
        ))
    }
}
