//! Normalizations: the normalized output always has the input's type and shape; what differs is
//! the statistics some of them also return (`BatchNormalization` in training mode,
//! `LayerNormalization`'s mean and inverse standard deviation).

use super::Registry;
use super::util::{axis, same_as_input, show, tensor};
use crate::ctx::{Ctx, Res, invalid};
use crate::sym::Dim;
use ferry_ir::DataType;

pub fn register(r: &mut Registry) {
    r.add("", &["BatchNormalization"], batch_norm);
    r.add("", &["LayerNormalization"], layer_norm);
    r.add(
        "",
        &["InstanceNormalization", "GroupNormalization", "RMSNormalization", "LRN"],
        same_shape,
    );
}

fn same_shape(ctx: &mut Ctx<'_>) -> Res {
    same_as_input(ctx, 0, 0)
}

/// Outputs: `Y`, then (training) the running or batch statistics, each of shape `[C]`.
/// Opset 14 and later: `running_mean`, `running_var` typed like inputs 3 and 4. Before:
/// `mean`, `var`, `saved_mean`, `saved_var`, typed like the input.
fn batch_norm(ctx: &mut Ctx<'_>) -> Res {
    let x = ctx.input(0).cloned();
    let mut c = match ctx.shape(0) {
        Some(s) if s.len() >= 2 => s[1].clone(),
        Some(s) if s.len() == 1 => Dim::known(1),
        Some(s) => return invalid(format!("BatchNormalization input {} has rank 0", show(s))),
        None => Dim::Unknown,
    };
    for i in 1..5 {
        if let Some(s) = ctx.shape(i) {
            if s.len() != 1 {
                return invalid(format!(
                    "BatchNormalization input {i} {} must have rank 1",
                    show(s)
                ));
            }
            c = c.unify(&s[0]).or_else(|(p, q)| {
                invalid(format!("BatchNormalization channel counts differ: {p} vs {q}"))
            })?;
        }
    }
    if let Some(ty) = x.and_then(|f| f.ty) {
        ctx.set_type(0, ty);
    }
    for o in 1..ctx.num_outputs() {
        let elem = if ctx.opset >= 14 { ctx.elem(o + 2) } else { ctx.elem(0) };
        ctx.set_type(o, tensor(elem, Some(vec![c.clone()])));
    }
    Ok(())
}

/// `Mean` and `InvStdDev` keep the leading dimensions up to `axis` and are 1 after it; their
/// element type is `stash_type`.
fn layer_norm(ctx: &mut Ctx<'_>) -> Res {
    let x = ctx.input(0).cloned();
    if let Some(ty) = x.and_then(|f| f.ty) {
        ctx.set_type(0, ty);
    }
    if ctx.num_outputs() < 2 {
        return Ok(());
    }
    let stash = ctx
        .attr_int("stash_type")
        .and_then(|c| i32::try_from(c).ok())
        .map_or(DataType::FLOAT, DataType);
    let shape = match ctx.shape(0) {
        Some(s) => {
            let a = axis(ctx.attr_int("axis").unwrap_or(-1), s.len())?;
            let mut out = s[..a].to_vec();
            out.extend(vec![Dim::known(1); s.len() - a]);
            Some(out)
        }
        None => None,
    };
    for o in 1..ctx.num_outputs().min(3) {
        ctx.set_type(o, tensor(Some(stash), shape.clone()));
    }
    Ok(())
}
