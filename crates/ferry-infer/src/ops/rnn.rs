//! Recurrent layers (`RNN`, `GRU`, `LSTM`): `Y` is `[seq, directions, batch, hidden]` and the
//! final states `[directions, batch, hidden]`, or batch-first with `layout = 1`.

use super::Registry;
use super::util::{show, tensor};
use crate::ctx::{Ctx, Res, invalid};
use crate::sym::Dim;

pub fn register(r: &mut Registry) {
    r.add("", &["RNN", "GRU", "LSTM"], recurrent);
}

fn recurrent(ctx: &mut Ctx<'_>) -> Res {
    let elem = ctx.elem(0);
    let directions = match ctx.attr_str("direction").as_deref().unwrap_or("forward") {
        "forward" | "reverse" => Dim::known(1),
        "bidirectional" => Dim::known(2),
        other => {
            return invalid(format!(
                "direction '{other}' is not forward, reverse or bidirectional"
            ));
        }
    };
    // The hidden size: the attribute, or the last dimension of the recurrence weights
    // `R [directions, gates*hidden, hidden]`.
    let hidden = match ctx.attr_int("hidden_size") {
        Some(h) if h > 0 => Dim::known(h),
        _ => match ctx.shape(2) {
            Some(r) if r.len() == 3 => r[2].clone(),
            _ => Dim::Unknown,
        },
    };
    let batch_first = ctx.attr_int("layout").unwrap_or(0) != 0;
    let (seq, batch) = match ctx.shape(0) {
        Some(x) if x.len() != 3 => {
            return invalid(format!("{} input {} must have rank 3", ctx.op(), show(x)));
        }
        Some(x) if batch_first => (x[1].clone(), x[0].clone()),
        Some(x) => (x[0].clone(), x[1].clone()),
        None => (Dim::Unknown, Dim::Unknown),
    };
    let y = if batch_first {
        vec![batch.clone(), seq, directions.clone(), hidden.clone()]
    } else {
        vec![seq, directions.clone(), batch.clone(), hidden.clone()]
    };
    let state =
        if batch_first { vec![batch, directions, hidden] } else { vec![directions, batch, hidden] };
    ctx.set_type(0, tensor(elem, Some(y)));
    for o in 1..ctx.num_outputs().min(3) {
        ctx.set_type(o, tensor(elem, Some(state.clone())));
    }
    Ok(())
}
