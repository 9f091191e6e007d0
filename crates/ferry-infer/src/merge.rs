//! Combining two facts about one value (inferred and declared): the result is as specific as
//! either, and disagreement is reported.

use crate::fact::{Fact, TensorTy, Ty};
use crate::sym::Dim;

fn merge_tensor(a: &TensorTy, b: &TensorTy) -> Result<TensorTy, String> {
    let elem = match (a.elem, b.elem) {
        (Some(x), Some(y)) if x != y => {
            return Err(format!("inferred element type {x}, declared {y}"));
        }
        (x, y) => x.or(y),
    };
    let shape = match (&a.shape, &b.shape) {
        (Some(x), Some(y)) => {
            if x.len() != y.len() {
                return Err(format!("inferred rank {}, declared rank {}", x.len(), y.len()));
            }
            let mut dims = Vec::with_capacity(x.len());
            for (i, (p, q)) in x.iter().zip(y).enumerate() {
                match p.unify(q) {
                    Ok(d) => dims.push(d),
                    Err((m, n)) => {
                        return Err(format!("dimension {i}: inferred {m}, declared {n}"));
                    }
                }
            }
            Some(dims)
        }
        (x, y) => x.clone().or_else(|| y.clone()),
    };
    Ok(TensorTy { elem, shape })
}

/// The most specific type consistent with both.
pub fn merge_ty(a: &Ty, b: &Ty) -> Result<Ty, String> {
    let inner = |x: &Option<Box<Ty>>, y: &Option<Box<Ty>>| -> Result<Option<Box<Ty>>, String> {
        Ok(match (x, y) {
            (Some(p), Some(q)) => Some(Box::new(merge_ty(p, q)?)),
            (p, q) => p.clone().or_else(|| q.clone()),
        })
    };
    Ok(match (a, b) {
        (Ty::Tensor(x), Ty::Tensor(y)) => Ty::Tensor(merge_tensor(x, y)?),
        (Ty::Sparse(x), Ty::Sparse(y)) => Ty::Sparse(merge_tensor(x, y)?),
        (Ty::Seq(x), Ty::Seq(y)) => Ty::Seq(inner(x, y)?),
        (Ty::Optional(x), Ty::Optional(y)) => Ty::Optional(inner(x, y)?),
        (Ty::Map(k1, v1), Ty::Map(k2, v2)) => {
            if let (Some(p), Some(q)) = (k1, k2)
                && p != q
            {
                return Err(format!("inferred map key {p}, declared {q}"));
            }
            Ty::Map(k1.or(*k2), inner(v1, v2)?)
        }
        (Ty::Other(_), _) => b.clone(),
        (_, Ty::Other(_)) => a.clone(),
        (x, y) => return Err(format!("inferred {}, declared {}", kind(x), kind(y))),
    })
}

fn kind(t: &Ty) -> &'static str {
    match t {
        Ty::Tensor(_) => "a tensor",
        Ty::Sparse(_) => "a sparse tensor",
        Ty::Seq(_) => "a sequence",
        Ty::Optional(_) => "an optional",
        Ty::Map(..) => "a map",
        Ty::Other(_) => "an opaque type",
    }
}

/// Merges `inferred` with `declared`; contents come from inference.
pub fn merge(inferred: &Fact, declared: &Fact) -> Result<Fact, String> {
    let ty = match (&inferred.ty, &declared.ty) {
        (Some(a), Some(b)) => Some(merge_ty(a, b)?),
        (a, b) => a.clone().or_else(|| b.clone()),
    };
    Ok(Fact { ty, value: inferred.value.clone().or_else(|| declared.value.clone()) })
}

/// The type two branches (of an If, say) can both produce: what they agree on, unknown where
/// they differ.
pub fn join_ty(a: &Ty, b: &Ty) -> Ty {
    match (a, b) {
        (Ty::Tensor(x), Ty::Tensor(y)) => Ty::Tensor(TensorTy {
            elem: if x.elem == y.elem { x.elem } else { None },
            shape: match (&x.shape, &y.shape) {
                (Some(p), Some(q)) if p.len() == q.len() => Some(
                    p.iter()
                        .zip(q)
                        .map(|(m, n)| if m == n { m.clone() } else { Dim::Unknown })
                        .collect(),
                ),
                _ => None,
            },
        }),
        (Ty::Seq(Some(x)), Ty::Seq(Some(y))) => Ty::Seq(Some(Box::new(join_ty(x, y)))),
        (Ty::Optional(Some(x)), Ty::Optional(Some(y))) => {
            Ty::Optional(Some(Box::new(join_ty(x, y))))
        }
        (x, y) if x == y => x.clone(),
        (x, _) => x.clone(),
    }
}
