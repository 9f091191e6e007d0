//! Attention and the operators of recent opsets built around it: `Attention` (3-D inputs with
//! packed heads or 4-D inputs, key/value caches, the QK output), `RotaryEmbedding`, `SwiGLU`,
//! `LinearAttention`, `CausalConvWithState`, and `ai.onnx.preview` `FlexAttention`.

use super::Registry;
use super::util::{same_as_input, show, tensor};
use crate::ctx::{Ctx, Res, Stop, invalid};
use crate::sym::Dim;

pub fn register(r: &mut Registry) {
    r.add("", &["Attention"], attention);
    r.add("", &["RotaryEmbedding"], rotary_embedding);
    r.add("", &["SwiGLU"], swiglu);
    r.add("", &["LinearAttention"], linear_attention);
    r.add("", &["CausalConvWithState"], causal_conv_with_state);
    r.add("ai.onnx.preview", &["FlexAttention"], flex_attention);
}

/// A head count attribute, required (and positive) when heads are packed into the last axis.
fn heads(ctx: &Ctx<'_>, name: &str) -> Result<i64, Stop> {
    match ctx.attr_int(name) {
        Some(h) if h > 0 => Ok(h),
        Some(h) => invalid(format!("{name} is {h}; it must be positive")),
        None => invalid(format!("{} with 3-D inputs needs the {name} attribute", ctx.op())),
    }
}

/// `packed / heads`: the per-head size of a packed last dimension.
fn per_head(packed: &Dim, heads: i64) -> Result<Dim, Stop> {
    if let Some(n) = packed.as_const()
        && n % heads != 0
    {
        return invalid(format!("hidden size {n} is not a multiple of {heads} heads"));
    }
    Ok(packed.div(&Dim::known(heads)))
}

/// An input of `Attention` in the 4-D view `[batch, heads, sequence, head_size]`: 4-D inputs
/// as they are, 3-D ones `[batch, sequence, heads*head_size]` unpacked with `heads`.
fn view4(ctx: &Ctx<'_>, i: usize, heads_attr: &str) -> Result<Option<Vec<Dim>>, Stop> {
    match ctx.shape(i) {
        None => Ok(None),
        Some(s) if s.len() == 4 => Ok(Some(s.to_vec())),
        Some(s) if s.len() == 3 => {
            let h = heads(ctx, heads_attr)?;
            Ok(Some(vec![s[0].clone(), Dim::known(h), s[1].clone(), per_head(&s[2], h)?]))
        }
        Some(s) => invalid(format!("Attention input {i} {} must have rank 3 or 4", show(s))),
    }
}

fn dim(v: &Option<Vec<Dim>>, i: usize) -> Dim {
    v.as_ref().map_or(Dim::Unknown, |s| s[i].clone())
}

/// First known of several facts about one dimension (a number over a symbol).
fn pick(ds: &[Dim]) -> Dim {
    ds.iter().fold(Dim::Unknown, |acc, d| acc.unify(d).unwrap_or(acc.clone()))
}

/// Outputs `Y`, `present_key`, `present_value`, `qk_matmul_output`.
fn attention(ctx: &mut Ctx<'_>) -> Res {
    let q_elem = ctx.elem(0);
    let v_elem = ctx.elem(2);
    let q_rank = ctx.rank(0);
    let q = view4(ctx, 0, "q_num_heads")?;
    let k = view4(ctx, 1, "kv_num_heads")?;
    let v = view4(ctx, 2, "kv_num_heads")?;
    let past_k = if ctx.has_input(4) { view4(ctx, 4, "kv_num_heads")? } else { None };
    let past_v = if ctx.has_input(5) { view4(ctx, 5, "kv_num_heads")? } else { None };
    let has_past = ctx.has_input(4);
    let batch = pick(&[dim(&q, 0), dim(&k, 0), dim(&v, 0)]);
    let kv_heads = pick(&[dim(&k, 1), dim(&v, 1)]);
    let kv_len = pick(&[dim(&k, 2), dim(&v, 2)]);
    let total =
        if has_past { pick(&[dim(&past_k, 2), dim(&past_v, 2)]).add(&kv_len) } else { kv_len };
    let y = match q_rank {
        Some(4) => Some(vec![batch.clone(), dim(&q, 1), dim(&q, 2), dim(&v, 3)]),
        Some(3) => {
            let packed = dim(&v, 3).mul(&Dim::known(heads(ctx, "q_num_heads")?));
            Some(vec![batch.clone(), dim(&q, 2), packed])
        }
        _ => None,
    };
    ctx.set_type(0, tensor(q_elem, y));
    if ctx.num_outputs() > 1 {
        let shape = vec![batch.clone(), kv_heads.clone(), total.clone(), dim(&k, 3)];
        ctx.set_type(1, tensor(ctx.elem(4).or(ctx.elem(1)), Some(shape)));
    }
    if ctx.num_outputs() > 2 {
        let shape = vec![batch.clone(), kv_heads, total.clone(), dim(&v, 3)];
        ctx.set_type(2, tensor(ctx.elem(5).or(v_elem), Some(shape)));
    }
    if ctx.num_outputs() > 3 {
        let shape = vec![batch, dim(&q, 1), dim(&q, 2), total];
        ctx.set_type(3, tensor(q_elem, Some(shape)));
    }
    Ok(())
}

fn rotary_embedding(ctx: &mut Ctx<'_>) -> Res {
    same_as_input(ctx, 0, 0)
}

/// `Y = Swish(A) * B` for `A` and `B` of one shape.
fn swiglu(ctx: &mut Ctx<'_>) -> Res {
    let elem = ctx.elem(0).or_else(|| ctx.elem(1));
    let shape = match (ctx.shape(0), ctx.shape(1)) {
        (Some(a), Some(b)) => {
            if a.len() != b.len() {
                return invalid(format!(
                    "SwiGLU inputs {} and {} differ in shape",
                    show(a),
                    show(b)
                ));
            }
            let dims: Result<Vec<Dim>, (i64, i64)> =
                a.iter().zip(b).map(|(x, y)| x.unify(y)).collect();
            Some(dims.or_else(|(p, q)| invalid(format!("SwiGLU inputs differ: {p} vs {q}")))?)
        }
        (Some(a), None) | (None, Some(a)) => Some(a.to_vec()),
        (None, None) => None,
    };
    ctx.set_type(0, tensor(elem, shape));
    Ok(())
}

/// `LinearAttention(query [B,T,Hq*dk], key [B,T,Hkv*dk], value [B,T,Hkv*dv], past_state)`
/// gives `output [B,T,Hq*dv]` and `present_state [B,Hkv,dk,dv]`.
fn linear_attention(ctx: &mut Ctx<'_>) -> Res {
    let elem = ctx.elem(0);
    let hq = heads(ctx, "q_num_heads")?;
    let hkv = heads(ctx, "kv_num_heads")?;
    let rank3 = |i: usize| -> Result<Option<Vec<Dim>>, Stop> {
        match ctx.shape(i) {
            Some(s) if s.len() != 3 => {
                invalid(format!("LinearAttention input {i} {} must have rank 3", show(s)))
            }
            s => Ok(s.map(<[Dim]>::to_vec)),
        }
    };
    let (q, k, v) = (rank3(0)?, rank3(1)?, rank3(2)?);
    let past = if ctx.has_input(3) { ctx.shape(3).map(<[Dim]>::to_vec) } else { None };
    let batch = pick(&[dim(&q, 0), dim(&k, 0), dim(&v, 0)]);
    let steps = pick(&[dim(&q, 1), dim(&k, 1), dim(&v, 1)]);
    let dk = match (&q, &k) {
        (Some(q), _) => per_head(&q[2], hq)?,
        (None, Some(k)) => per_head(&k[2], hkv)?,
        _ => Dim::Unknown,
    };
    let dv = match &v {
        Some(v) => per_head(&v[2], hkv)?,
        None => Dim::Unknown,
    };
    let dk = pick(&[dk, past.as_ref().and_then(|p| p.get(2).cloned()).unwrap_or(Dim::Unknown)]);
    let dv = pick(&[dv, past.as_ref().and_then(|p| p.get(3).cloned()).unwrap_or(Dim::Unknown)]);
    let out = vec![batch.clone(), steps, dv.mul(&Dim::known(hq))];
    ctx.set_type(0, tensor(elem, Some(out)));
    if ctx.num_outputs() > 1 {
        let state_elem = ctx.elem(3).or(elem);
        ctx.set_type(1, tensor(state_elem, Some(vec![batch, Dim::known(hkv), dk, dv])));
    }
    Ok(())
}

/// `CausalConvWithState(input [B,C,L], weight [C,1,k], bias, past_state)` gives `output`
/// shaped like `input` and `present_state [B,C,k-1]`.
fn causal_conv_with_state(ctx: &mut Ctx<'_>) -> Res {
    let elem = ctx.elem(0);
    let xs = ctx.shape(0).map(<[Dim]>::to_vec);
    if let Some(x) = &xs
        && x.len() != 3
    {
        return invalid(format!("CausalConvWithState input {} must have rank 3", show(x)));
    }
    ctx.set_type(0, tensor(elem, xs.clone()));
    let width = match ctx.shape(1) {
        Some(w) if w.len() == 3 => w[2].sub(&Dim::known(1)),
        Some(w) => {
            return invalid(format!("CausalConvWithState weight {} must have rank 3", show(w)));
        }
        None => Dim::Unknown,
    };
    let past = if ctx.has_input(3) { ctx.shape(3).map(<[Dim]>::to_vec) } else { None };
    let width = pick(&[width, dim(&past, 2)]);
    let state =
        vec![pick(&[dim(&xs, 0), dim(&past, 0)]), pick(&[dim(&xs, 1), dim(&past, 1)]), width];
    if ctx.num_outputs() > 1 {
        ctx.set_type(1, tensor(elem, Some(state)));
    }
    Ok(())
}

/// `FlexAttention(Q [B,Hq,L,E], K [B,Hkv,S,E], V [B,Hkv,S,Ev]) -> [B,Hq,L,Ev]`.
fn flex_attention(ctx: &mut Ctx<'_>) -> Res {
    let elem = ctx.elem(0);
    let rank4 = |i: usize| -> Result<Option<Vec<Dim>>, Stop> {
        match ctx.shape(i) {
            Some(s) if s.len() != 4 => {
                invalid(format!("FlexAttention input {i} {} must have rank 4", show(s)))
            }
            s => Ok(s.map(<[Dim]>::to_vec)),
        }
    };
    let (q, k, v) = (rank4(0)?, rank4(1)?, rank4(2)?);
    let out = vec![pick(&[dim(&q, 0), dim(&k, 0), dim(&v, 0)]), dim(&q, 1), dim(&q, 2), dim(&v, 3)];
    ctx.set_type(0, tensor(elem, Some(out)));
    Ok(())
}
