//! onnxruntime's `com.microsoft` operators that its offline optimizer leaves in exported models
//! (`ort_*.ortopt` files): element-wise fusions whose output has the shape of their (broadcast)
//! inputs. Without them, every shape computed downstream of such a node is unknown, and the
//! optimizer cannot fold the shape arithmetic of the following layers.
//!
//! Semantics from onnxruntime's contrib operator documentation (ContribOperators.md):
//! `Gelu(X)`, `QuickGelu(X)`, `BiasGelu(A, B)`, `FastGelu(X, bias?)` keep the broadcast shape
//! and X's element type; `BiasAdd(X, bias, skip)` and `SkipLayerNormalization`'s first output
//! (and its fourth, the sum of input, skip and bias) have X's shape.

use super::Registry;
use super::util::{broadcast_inputs, optional, tensor};
use crate::ctx::{Ctx, Res};

const MS: &str = "com.microsoft";

pub fn register(r: &mut Registry) {
    r.add(MS, &["Gelu", "QuickGelu", "BiasGelu", "FastGelu", "BiasAdd"], broadcast_like_x);
    r.add(MS, &["SkipLayerNormalization", "SkipSimplifiedLayerNormalization"], skip_layer_norm);
}

/// Output 0: the inputs broadcast together, with input 0's element type.
fn broadcast_like_x(ctx: &mut Ctx<'_>) -> Res {
    let inputs: Vec<usize> = (0..ctx.num_inputs()).collect();
    let shape = optional(broadcast_inputs(ctx, inputs))?;
    ctx.set_type(0, tensor(ctx.elem(0), shape));
    Ok(())
}

/// Outputs 0 and 3 have the input's type; mean and inverse deviation (1, 2) are left unknown
/// (their shape depends on onnxruntime's build).
fn skip_layer_norm(ctx: &mut Ctx<'_>) -> Res {
    let ty = tensor(ctx.elem(0), ctx.shape(0).map(<[_]>::to_vec));
    ctx.set_type(0, ty.clone());
    if ctx.num_outputs() > 3 {
        ctx.set_type(3, ty);
    }
    Ok(())
}
