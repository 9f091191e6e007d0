//! Training operators of `ai.onnx.preview.training`: optimizers update each optimized tensor and
//! its state tensors in place (outputs shaped like the matching inputs), and `Gradient` gives
//! each differentiated input's gradient, shaped like that input.

use super::Registry;
use crate::ctx::{Ctx, Res, invalid};
use crate::fact::Fact;

const TRAINING: &str = "ai.onnx.preview.training";

pub fn register(r: &mut Registry) {
    r.add(TRAINING, &["Adagrad"], adagrad);
    r.add(TRAINING, &["Momentum"], momentum);
    r.add(TRAINING, &["Adam"], adam);
    r.add(TRAINING, &["Gradient"], gradient);
}

/// Inputs are (R, T) then `groups` blocks of `n` tensors each (X, G, then state tensors); output
/// block `k` has the types of input block `from[k]`.
fn optimizer(ctx: &mut Ctx<'_>, groups: usize, from: &[usize]) -> Res {
    let adjustable = ctx.num_inputs().saturating_sub(2);
    if ctx.num_inputs() < 2 || !adjustable.is_multiple_of(groups) {
        return invalid(format!(
            "{} takes R, T and {groups} equally long lists of tensors, not {} inputs",
            ctx.op(),
            ctx.num_inputs()
        ));
    }
    let n = adjustable / groups;
    if ctx.num_outputs() > from.len() * n {
        return invalid(format!(
            "{} has {} outputs, at most {}",
            ctx.op(),
            ctx.num_outputs(),
            from.len() * n
        ));
    }
    for (k, &block) in from.iter().enumerate() {
        for i in 0..n {
            if let Some(ty) = ctx.input(2 + block * n + i).and_then(|f| f.ty.clone()) {
                ctx.set(k * n + i, Fact::of_type(ty));
            }
        }
    }
    Ok(())
}

/// (R, T, X..., G..., H...) -> (X_new..., H_new...).
fn adagrad(ctx: &mut Ctx<'_>) -> Res {
    optimizer(ctx, 3, &[0, 2])
}

/// (R, T, X..., G..., V...) -> (X_new..., V_new...).
fn momentum(ctx: &mut Ctx<'_>) -> Res {
    optimizer(ctx, 3, &[0, 2])
}

/// (R, T, X..., G..., V..., H...) -> (X_new..., V_new..., H_new...).
fn adam(ctx: &mut Ctx<'_>) -> Res {
    optimizer(ctx, 4, &[0, 2, 3])
}

/// Inputs are the values named by `xs` then those named by `zs`; output `i` is the gradient of
/// `y` with respect to `xs[i]`, shaped like it.
fn gradient(ctx: &mut Ctx<'_>) -> Res {
    let xs = ctx.attr_strings("xs").map_or(0, |v| v.len());
    if ctx.num_outputs() > xs || ctx.num_inputs() < xs {
        return invalid(format!(
            "Gradient with {xs} names in xs has {} inputs and {} outputs",
            ctx.num_inputs(),
            ctx.num_outputs()
        ));
    }
    for i in 0..ctx.num_outputs() {
        if let Some(ty) = ctx.input(i).and_then(|f| f.ty.clone()) {
            ctx.set(i, Fact::of_type(ty));
        }
    }
    Ok(())
}
