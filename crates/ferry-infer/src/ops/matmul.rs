//! Matrix products: `MatMul` (numpy semantics: 1-D operands promoted and their axis dropped,
//! batch dimensions broadcast), its integer and quantized forms, `Gemm` and `Einsum`.

use super::Registry;
use super::util::{broadcast2, show, tensor};
use crate::ctx::{Ctx, Res, Stop, invalid, need};
use crate::sym::Dim;
use ferry_ir::DataType;
use std::collections::BTreeMap;

pub fn register(r: &mut Registry) {
    r.add("", &["MatMul"], matmul);
    r.add("", &["MatMulInteger"], matmul_integer);
    r.add("", &["QLinearMatMul"], qlinear_matmul);
    r.add("", &["Gemm"], gemm);
    r.add("", &["Einsum"], einsum);
}

/// Whether two dimensions that must be equal can be (unknown or symbolic ones can).
fn compatible(a: &Dim, b: &Dim) -> bool {
    match (a.as_const(), b.as_const()) {
        (Some(x), Some(y)) => x == y,
        _ => true,
    }
}

/// The shape of `a @ b` under numpy's `matmul` rules.
pub(crate) fn matmul_shape(a: &[Dim], b: &[Dim]) -> Result<Vec<Dim>, Stop> {
    if a.is_empty() || b.is_empty() {
        return invalid("MatMul operands must have rank 1 or more");
    }
    let (a_rows, a_k) =
        if a.len() == 1 { (None, &a[0]) } else { (Some(&a[a.len() - 2]), &a[a.len() - 1]) };
    let (b_k, b_cols) =
        if b.len() == 1 { (&b[0], None) } else { (&b[b.len() - 2], Some(&b[b.len() - 1])) };
    if !compatible(a_k, b_k) {
        return invalid(format!(
            "MatMul inner dimensions differ: {} and {} ({a_k} vs {b_k})",
            show(a),
            show(b)
        ));
    }
    let a_batch = if a.len() > 2 { &a[..a.len() - 2] } else { &[][..] };
    let b_batch = if b.len() > 2 { &b[..b.len() - 2] } else { &[][..] };
    let mut out = broadcast2(a_batch, b_batch)?;
    if let Some(m) = a_rows {
        out.push(m.clone());
    }
    if let Some(n) = b_cols {
        out.push(n.clone());
    }
    Ok(out)
}

/// Output shape of a matmul-like node from inputs `a` and `b`, or `None` when either shape is
/// unknown.
fn product_shape(ctx: &Ctx<'_>, a: usize, b: usize) -> Result<Option<Vec<Dim>>, Stop> {
    match (ctx.shape(a), ctx.shape(b)) {
        (Some(x), Some(y)) => matmul_shape(x, y).map(Some),
        _ => Ok(None),
    }
}

fn matmul(ctx: &mut Ctx<'_>) -> Res {
    let elem = ctx.elem(0).or_else(|| ctx.elem(1));
    let shape = product_shape(ctx, 0, 1)?;
    ctx.set_type(0, tensor(elem, shape));
    Ok(())
}

fn matmul_integer(ctx: &mut Ctx<'_>) -> Res {
    let shape = product_shape(ctx, 0, 1)?;
    ctx.set_type(0, tensor(Some(DataType::INT32), shape));
    Ok(())
}

/// Inputs `a, a_scale, a_zero_point, b, b_scale, b_zero_point, y_scale, y_zero_point`; the
/// output has `y_zero_point`'s type.
fn qlinear_matmul(ctx: &mut Ctx<'_>) -> Res {
    let elem = ctx.elem(7);
    let shape = product_shape(ctx, 0, 3)?;
    ctx.set_type(0, tensor(elem, shape));
    Ok(())
}

fn gemm(ctx: &mut Ctx<'_>) -> Res {
    let elem = ctx.elem(0).or_else(|| ctx.elem(1));
    let (Some(a), Some(b)) = (ctx.shape(0), ctx.shape(1)) else {
        ctx.set_type(0, tensor(elem, Some(vec![Dim::Unknown, Dim::Unknown])));
        return Ok(());
    };
    if a.len() != 2 || b.len() != 2 {
        return invalid(format!("Gemm needs rank-2 operands, got {} and {}", show(a), show(b)));
    }
    let ta = ctx.attr_int("transA").unwrap_or(0) != 0;
    let tb = ctx.attr_int("transB").unwrap_or(0) != 0;
    let (m, ka) = if ta { (&a[1], &a[0]) } else { (&a[0], &a[1]) };
    let (kb, n) = if tb { (&b[1], &b[0]) } else { (&b[0], &b[1]) };
    if !compatible(ka, kb) {
        return invalid(format!("Gemm inner dimensions differ: {ka} vs {kb}"));
    }
    let out = vec![m.clone(), n.clone()];
    ctx.set_type(0, tensor(elem, Some(out)));
    Ok(())
}

/// One operand (or the result) of an einsum equation: its labels, with `None` where the
/// ellipsis stands.
type Term = Vec<Option<u8>>;

fn parse_term(t: &str) -> Result<Term, Stop> {
    let b = t.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'.' => {
                if b.get(i..i + 3) != Some(b"...") || out.contains(&None) {
                    return invalid(format!("Einsum term '{t}' has a malformed ellipsis"));
                }
                out.push(None);
                i += 3;
            }
            c if c.is_ascii_alphabetic() => {
                out.push(Some(c));
                i += 1;
            }
            c => return invalid(format!("Einsum term '{t}' has character '{}'", c as char)),
        }
    }
    Ok(out)
}

fn einsum(ctx: &mut Ctx<'_>) -> Res {
    let elem = (0..ctx.num_inputs()).find_map(|i| ctx.elem(i));
    let eq: String =
        need(ctx.attr_str("equation"))?.chars().filter(|c| !c.is_whitespace()).collect();
    let (lhs, rhs) = match eq.split_once("->") {
        Some((l, r)) => (l, Some(r)),
        None => (eq.as_str(), None),
    };
    let terms: Vec<Term> = lhs.split(',').map(parse_term).collect::<Result<_, _>>()?;
    if terms.len() != ctx.num_inputs() {
        return invalid(format!(
            "Einsum equation has {} operands but the node has {} inputs",
            terms.len(),
            ctx.num_inputs()
        ));
    }
    let shapes: Option<Vec<Vec<Dim>>> =
        (0..ctx.num_inputs()).map(|i| ctx.shape(i).map(<[Dim]>::to_vec)).collect();
    let Some(shapes) = shapes else {
        ctx.set_type(0, tensor(elem, None));
        return Ok(());
    };
    let mut labels: BTreeMap<u8, Dim> = BTreeMap::new();
    let mut counts: BTreeMap<u8, usize> = BTreeMap::new();
    let mut ellipsis: Option<Vec<Dim>> = None;
    for (term, shape) in terms.iter().zip(&shapes) {
        let letters = term.iter().filter(|l| l.is_some()).count();
        let has_ellipsis = term.len() > letters;
        if shape.len() < letters || (!has_ellipsis && shape.len() != letters) {
            return invalid(format!("Einsum operand {} does not match its term", show(shape)));
        }
        let ell_rank = shape.len() - letters;
        let mut at = 0;
        for l in term {
            match l {
                None => {
                    let part = &shape[at..at + ell_rank];
                    ellipsis = Some(match ellipsis {
                        None => part.to_vec(),
                        Some(acc) => broadcast2(&acc, part)?,
                    });
                    at += ell_rank;
                }
                Some(c) => {
                    let d = &shape[at];
                    *counts.entry(*c).or_insert(0) += 1;
                    let merged = match labels.get(c) {
                        None => d.clone(),
                        // A label may be 1 in one operand where another broadcasts it.
                        Some(prev) => match (prev.as_const(), d.as_const()) {
                            (Some(1), _) => d.clone(),
                            (_, Some(1)) => prev.clone(),
                            (Some(x), Some(y)) if x != y => {
                                return invalid(format!(
                                    "Einsum label '{}' has sizes {x} and {y}",
                                    *c as char
                                ));
                            }
                            _ => prev.unify(d).unwrap_or(Dim::Unknown),
                        },
                    };
                    labels.insert(*c, merged);
                    at += 1;
                }
            }
        }
    }
    let ell = ellipsis.unwrap_or_default();
    let mut out = Vec::new();
    match rhs {
        Some(r) => {
            for l in parse_term(r)? {
                match l {
                    None => out.extend(ell.iter().cloned()),
                    Some(c) => out.push(need(labels.get(&c).cloned()).or_else(|_| {
                        invalid(format!("Einsum output label '{}' is not in any input", c as char))
                    })?),
                }
            }
        }
        None => {
            out.extend(ell.iter().cloned());
            for (c, d) in &labels {
                if counts.get(c) == Some(&1) {
                    out.push(d.clone());
                }
            }
        }
    }
    ctx.set_type(0, tensor(elem, Some(out)));
    Ok(())
}
