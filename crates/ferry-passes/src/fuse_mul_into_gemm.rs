//! `fuse_mul_into_gemm`: `Mul(Gemm(A, B, C), s)` with a constant `s` becomes one Gemm. A single
//! number scales `alpha` and `beta` (`alpha * s`, `beta * s`: nothing else changes, so `B` and
//! `C` may be computed). A row of numbers `[N]` / `[1, N]` (one per output column) scales `B`'s
//! columns and `C` along its columns instead.
//!
//! Guards (the pair is left alone otherwise):
//!
//! - the Mul is in the default domain with two inputs, one output and no attributes; either
//!   input may be the Gemm's;
//! - the Gemm is in the default domain with one output, `transA`/`transB` 0 or 1 and opset 7 or
//!   later (see `fuse_add_bias_into_gemm`);
//! - its output is read by the Mul alone, is not a graph output, not read by name from a
//!   subgraph and not protected;
//! - `s` is a float32 constant with at most two dims; right-aligned `[s0, s1]`, `s0` is 1 (a
//!   per-row scale would have to scale `A`) and `s1` is 1 or `N`;
//! - per column: `B` is a float32 constant of rank 2 read by this Gemm alone (rewritten in
//!   place; a shared weight would be copied, growing the model); `C`, when present, a float32
//!   constant with at most two dims whose right-aligned first dim is 1 (scaled along the
//!   columns it becomes `[1, N]` when it had two dims, else `[N]`); a computed `C` is not fused;
//! - every new number is finite;
//! - the Gemm's output takes the Mul's output's name (`forward::merge_into_producer`).
//!
//! A new `C` goes over the old one when the Gemm is its only reader, else into a new
//! initializer (main graphs only; see `constants`). Products are computed in f64 and rounded
//! once to f32.

use crate::affine::{
    GemmLike, absorb_into_producers, as_2d, at, binary_with_constant, gemm_before,
};
use crate::constants::{Placer, f32_tensor, only_reader, overwrite};
use crate::fuse_bn::{constant, f32_values};
use crate::{Changed, Pass, PassCx, PassError};
use ferry_ir::{AttrValue, Attribute, DataType, Graph, NodeId, ValueId};

pub struct FuseMulIntoGemm;

enum Change {
    /// Scale alpha and beta by one number.
    Scalar(f32),
    /// New `B` values and, when there is a `C`, its new dims and values.
    Columns { b: ValueId, b_dims: Vec<i64>, b_new: Vec<f32>, c_new: Option<(Vec<i64>, Vec<f32>)> },
}

struct Plan {
    gemm: GemmLike,
    mid: ValueId,
    out: ValueId,
    change: Change,
}

fn columns(
    g: &Graph,
    cx: &PassCx,
    placer: &mut Placer,
    gemm: &GemmLike,
    sv: &[f32],
) -> Option<Change> {
    let bt = constant(g, gemm.b)?;
    if bt.dims.len() != 2 || !only_reader(g, cx, gemm.b, gemm.gemm, 1) {
        return None;
    }
    let n_axis = usize::from(!gemm.trans_b);
    let n = usize::try_from(bt.dims[n_axis]).ok()?;
    if sv.len() != n {
        return None;
    }
    let bv = f32_values(bt)?;
    let cols = usize::try_from(bt.dims[1]).ok()?;
    let b_new: Vec<f32> = bv
        .iter()
        .enumerate()
        .map(|(i, &x)| {
            let col = if gemm.trans_b { i / cols.max(1) } else { i % cols.max(1) };
            (f64::from(x) * f64::from(sv[col])) as f32
        })
        .collect();
    let c_new = match gemm.c {
        None => None,
        Some(c) => {
            let ct = constant(g, c).filter(|t| t.dtype == Some(DataType::FLOAT))?;
            let cd = as_2d(&ct.dims)?;
            if cd[0] != 1 || (cd[1] != 1 && cd[1] != n as i64) {
                return None;
            }
            let cv = f32_values(ct)?;
            let values: Vec<f32> =
                (0..n).map(|j| (f64::from(at(&cv, cd, 0, j)) * f64::from(sv[j])) as f32).collect();
            let dims = if ct.dims.len() == 2 { vec![1, n as i64] } else { vec![n as i64] };
            if !placer.can_place(g, cx, gemm.gemm, 2) {
                return None;
            }
            Some((dims, values))
        }
    };
    let all = b_new.iter().chain(c_new.iter().flat_map(|(_, v)| v));
    if all.into_iter().any(|x| !x.is_finite()) {
        return None;
    }
    Some(Change::Columns { b: gemm.b, b_dims: bt.dims.clone(), b_new, c_new })
}

fn plan(g: &Graph, cx: &PassCx, placer: &mut Placer, mul: NodeId) -> Option<Plan> {
    for (mid, s, out) in binary_with_constant(g, mul, "Mul") {
        let Some(gemm) = gemm_before(g, cx, mid, mul) else { continue };
        let Some(st) = constant(g, s).filter(|t| t.dtype == Some(DataType::FLOAT)) else {
            continue;
        };
        let Some(sd) = as_2d(&st.dims) else { continue };
        let Some(sv) = f32_values(st) else { continue };
        let change = if sd == [1, 1] {
            let s = sv[0];
            let ok = [gemm.alpha * s, gemm.beta * s].iter().all(|x| x.is_finite());
            if !ok {
                continue;
            }
            Change::Scalar(s)
        } else if sd[0] == 1 {
            let Some(c) = columns(g, cx, placer, &gemm, &sv) else { continue };
            c
        } else {
            continue;
        };
        return Some(Plan { gemm, mid, out, change });
    }
    None
}

fn set_float(g: &mut Graph, node: NodeId, name: &str, value: f32) {
    let n = g.node_mut(node);
    match n.attributes.iter_mut().find(|a| a.name == name) {
        Some(a) => a.value = AttrValue::Float(value),
        None => n.attributes.push(Attribute::new(name, AttrValue::Float(value))),
    }
}

impl Pass for FuseMulIntoGemm {
    fn name(&self) -> &'static str {
        "fuse_mul_into_gemm"
    }

    fn description(&self) -> &'static str {
        "fold a constant Mul (one number, or one per column) after a Gemm into it"
    }

    fn run(&self, g: &mut Graph, cx: &PassCx) -> Result<Changed, PassError> {
        Ok(absorb_into_producers(
            g,
            cx,
            "_c",
            |g, placer, id| plan(g, cx, placer, id).map(|p| (p.mid, p.out, p)),
            |g, placer, p, base| {
                let gemm = p.gemm.gemm;
                match p.change {
                    Change::Scalar(s) => {
                        set_float(g, gemm, "alpha", p.gemm.alpha * s);
                        if p.gemm.c.is_some() {
                            set_float(g, gemm, "beta", p.gemm.beta * s);
                        }
                    }
                    Change::Columns { b, b_dims, b_new, c_new } => {
                        overwrite(g, b, f32_tensor(b_dims, &b_new));
                        if let Some((dims, v)) = c_new {
                            placer.place(g, cx, gemm, 2, base, f32_tensor(dims, &v));
                        }
                    }
                }
            },
        ))
    }
}
