//! `fuse_add_bias_into_gemm`: `Add(Gemm(A, B, C), D)` with a constant `D` becomes
//! `Gemm(A, B, C')` with `C' = beta * C + D` (`C' = D` without a `C`) and `beta = 1`.
//!
//! Guards (the pair is left alone otherwise):
//!
//! - the Add is in the default domain with two inputs, one output and no attributes; either
//!   input may be the Gemm's;
//! - the Gemm is in the default domain with one output, `transA`/`transB` 0 or 1, and the opset
//!   is at least 7 (a unidirectionally broadcast `C`; without a `C`, at least 11, where `C`
//!   became optional);
//! - its output is read by the Add alone, is not a graph output, not read by name from a
//!   subgraph and not protected;
//! - `D` is a float32 constant with at most two dims that broadcasts to the Gemm's `[M, N]`
//!   without making it larger: right-aligned `[d0, d1]` with each 1 or equal to the known `M`
//!   (from `A`'s declared type or the output's) or `N` (from `B`'s or the output's); a size that
//!   is not known is not assumed;
//! - `C`, when present, is a float32 constant with at most two dims broadcasting the same way
//!   (the sum then has the larger of the two shapes, which may not hold more elements than `C`
//!   and `D` together: a `[N]` row plus an `[M, 1]` column is not spelled out as `[M, N]`); a
//!   computed `C` is not fused;
//! - every new number is finite;
//! - the Gemm's output takes the Add's output's name (`forward::merge_into_producer`).
//!
//! `C'` goes over `C` when the Gemm is its only reader, else over (or, without a `C`, simply
//! as) `D` when the Add is its only reader (a `Constant` node making it moves before the Gemm),
//! else into a new initializer (main graphs only; see `constants`).

use crate::affine::{
    absorb_into_producers, as_2d, at, binary_with_constant, gemm_before, gemm_dims, wire_bias,
};
use crate::constants::{Placer, f32_tensor, only_reader, overwrite};
use crate::fuse_bn::{constant, f32_values};
use crate::{Changed, Pass, PassCx, PassError};
use ferry_ir::{AttrValue, DataType, Graph, NodeId, Tensor, ValueId};

pub struct FuseAddBiasIntoGemm;

/// Where `C'` (dims, values) goes.
enum Target {
    /// Into the Gemm's `C` slot through [`Placer::place`] (over the old `C` when the Gemm is its
    /// only reader, else a new initializer).
    Place(Vec<i64>, Vec<f32>),
    /// Over `D`, which is rewired into the Gemm; `None`: `D` itself is `C'`.
    IntoD(Option<(Vec<i64>, Vec<f32>)>),
}

struct Plan {
    gemm: NodeId,
    mid: ValueId,
    out: ValueId,
    d: ValueId,
    target: Target,
}

/// Whether `dims` (right-aligned to 2) broadcasts to `[M, N]` without growing it.
fn fits(dims: [i64; 2], m: Option<i64>, n: Option<i64>) -> bool {
    (dims[0] == 1 || Some(dims[0]) == m) && (dims[1] == 1 || Some(dims[1]) == n)
}

fn float_constant(g: &Graph, v: ValueId) -> Option<&Tensor> {
    constant(g, v).filter(|t| t.dtype == Some(DataType::FLOAT))
}

fn plan(g: &Graph, cx: &PassCx, placer: &mut Placer, add: NodeId) -> Option<Plan> {
    for (mid, d, out) in binary_with_constant(g, add, "Add") {
        let Some(gemm) = gemm_before(g, cx, mid, add) else { continue };
        let Some(dt) = float_constant(g, d) else { continue };
        let (m, n) = gemm_dims(g, &gemm, mid);
        let Some(dd) = as_2d(&dt.dims) else { continue };
        if !fits(dd, m, n) {
            continue;
        }
        let d_free = only_reader(g, cx, d, add, 0) || only_reader(g, cx, d, add, 1);
        let Some(c) = gemm.c else {
            let target = if d_free {
                Target::IntoD(None)
            } else if placer.can_add(g, cx) {
                Target::Place(dt.dims.clone(), f32_values(dt)?)
            } else {
                continue;
            };
            return Some(Plan { gemm: gemm.gemm, mid, out, d, target });
        };
        let Some(ct) = float_constant(g, c) else { continue };
        let Some(cd) = as_2d(&ct.dims) else { continue };
        if !fits(cd, m, n) {
            continue;
        }
        let (cv, dv) = (f32_values(ct)?, f32_values(dt)?);
        let shape = [cd[0].max(dd[0]), cd[1].max(dd[1])];
        // A row and a column would sum to a full [M, N] matrix: not worth growing the model.
        if shape[0].saturating_mul(shape[1]) as usize > cv.len() + dv.len() {
            continue;
        }
        let rank = ct.dims.len().max(dt.dims.len());
        let beta = f64::from(gemm.beta);
        let mut values = Vec::new();
        for i in 0..shape[0] as usize {
            for j in 0..shape[1] as usize {
                let x = beta * f64::from(at(&cv, cd, i, j)) + f64::from(at(&dv, dd, i, j));
                values.push(x as f32);
            }
        }
        if values.iter().any(|x| !x.is_finite()) {
            continue;
        }
        let dims = shape[2 - rank..].to_vec();
        let target = if only_reader(g, cx, c, gemm.gemm, 2) {
            Target::Place(dims, values)
        } else if d_free {
            Target::IntoD(Some((dims, values)))
        } else if placer.can_add(g, cx) {
            Target::Place(dims, values)
        } else {
            continue;
        };
        return Some(Plan { gemm: gemm.gemm, mid, out, d, target });
    }
    None
}

impl Pass for FuseAddBiasIntoGemm {
    fn name(&self) -> &'static str {
        "fuse_add_bias_into_gemm"
    }

    fn description(&self) -> &'static str {
        "fold a constant Add after a Gemm into its C"
    }

    fn run(&self, g: &mut Graph, cx: &PassCx) -> Result<Changed, PassError> {
        Ok(absorb_into_producers(
            g,
            cx,
            "_bias",
            |g, placer, id| plan(g, cx, placer, id).map(|p| (p.mid, p.out, p)),
            |g, placer, p, base| {
                match p.target {
                    Target::Place(dims, v) => {
                        placer.place(g, cx, p.gemm, 2, base, f32_tensor(dims, &v));
                    }
                    Target::IntoD(t) => {
                        if let Some((dims, v)) = t {
                            overwrite(g, p.d, f32_tensor(dims, &v));
                        }
                        wire_bias(g, p.gemm, p.d);
                    }
                }
                let n = g.node_mut(p.gemm);
                if let Some(a) = n.attributes.iter_mut().find(|a| a.name == "beta") {
                    a.value = AttrValue::Float(1.0);
                }
            },
        ))
    }
}
