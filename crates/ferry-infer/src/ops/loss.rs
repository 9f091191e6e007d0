//! Losses: `NegativeLogLikelihoodLoss` and `SoftmaxCrossEntropyLoss`. With `reduction = none`
//! the loss has the target's shape `[N, d1, ..., dk]`; otherwise it is a scalar. The optional
//! `log_prob` output of `SoftmaxCrossEntropyLoss` has the scores' type.

use super::Registry;
use super::util::tensor;
use crate::ctx::{Ctx, Res, invalid};
use crate::fact::Fact;
use crate::sym::Dim;

pub fn register(r: &mut Registry) {
    r.add("", &["NegativeLogLikelihoodLoss", "SoftmaxCrossEntropyLoss"], loss);
}

fn loss(ctx: &mut Ctx<'_>) -> Res {
    let elem = ctx.elem(0);
    let input = ctx.shape(0).map(<[Dim]>::to_vec);
    let target = ctx.shape(1).map(<[Dim]>::to_vec);
    if let Some(s) = &input
        && s.len() < 2
    {
        return invalid(format!("{} input must be [N, C, ...], not rank {}", ctx.op(), s.len()));
    }
    // The target is the input without its class axis.
    let expected: Option<Vec<Dim>> = input.as_ref().map(|s| {
        let mut t = vec![s[0].clone()];
        t.extend(s[2..].iter().cloned());
        t
    });
    let per_element = match (expected, target) {
        (Some(e), Some(t)) => {
            if e.len() != t.len() {
                return invalid(format!(
                    "{} target has rank {}, the input's needs {}",
                    ctx.op(),
                    t.len(),
                    e.len()
                ));
            }
            let mut out = Vec::with_capacity(e.len());
            for (i, (p, q)) in e.iter().zip(&t).enumerate() {
                out.push(p.unify(q).or_else(|(a, b)| {
                    invalid(format!("{} target dimension {i} is {b}, the input's {a}", ctx.op()))
                })?);
            }
            Some(out)
        }
        (e, t) => t.or(e),
    };
    let reduction = ctx.attr_str("reduction").unwrap_or_else(|| "mean".to_string());
    let shape = if reduction == "none" { per_element } else { Some(Vec::new()) };
    ctx.set_type(0, tensor(elem, shape));
    if ctx.op() == "SoftmaxCrossEntropyLoss" && ctx.num_outputs() > 1 {
        let ty = ctx.input(0).and_then(|f| f.ty.clone());
        if let Some(ty) = ty {
            ctx.set(1, Fact::of_type(ty));
        }
    }
    Ok(())
}
