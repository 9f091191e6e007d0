//! Signal processing: `DFT` (axis an attribute in opset 17, an input from 20), `STFT`, the
//! cosine-sum windows and `MelWeightMatrix`. Lengths given as scalar inputs are read from their
//! tracked contents, symbolic ones included.

use super::Registry;
use super::util::{axis, dtype_attr, tensor};
use crate::ctx::{Ctx, Res, invalid};
use crate::fact::Data;
use crate::sym::Dim;
use ferry_ir::DataType;

pub fn register(r: &mut Registry) {
    r.add("", &["DFT"], dft);
    r.add("", &["STFT"], stft);
    r.add("", &["HannWindow", "HammingWindow", "BlackmanWindow"], window);
    r.add("", &["MelWeightMatrix"], mel_weight_matrix);
}

/// The one number a scalar (or one-element) input holds, as a dimension.
fn scalar_dim(ctx: &Ctx<'_>, i: usize) -> Option<Dim> {
    let k = ctx.input(i)?.value.as_ref()?;
    match &k.data {
        Data::Int(v) if v.len() == 1 => Some(v[0].clone()),
        Data::Float(v) if v.len() == 1 && v[0].fract() == 0.0 => Some(Dim::known(v[0] as i64)),
        _ => None,
    }
}

/// `floor(n/2) + 1`: the bins of a one-sided spectrum of length `n`.
fn half_plus_one(n: &Dim) -> Dim {
    n.floor_div(2).add(&Dim::known(1))
}

fn dft(ctx: &mut Ctx<'_>) -> Res {
    let elem = ctx.elem(0);
    let Some(s) = ctx.shape(0).map(<[Dim]>::to_vec) else {
        ctx.set_tensor(0, elem, None);
        return Ok(());
    };
    let rank = s.len();
    if rank < 2 {
        return invalid(
            "DFT input needs rank 2 or more (the last axis holds real/imaginary parts)",
        );
    }
    let onesided = ctx.attr_int("onesided").unwrap_or(0) != 0;
    let inverse = ctx.attr_int("inverse").unwrap_or(0) != 0;
    let last = s[rank - 1].as_const();
    match (onesided, inverse, last) {
        (true, true, Some(n)) if n != 2 => {
            return invalid("an inverse one-sided DFT needs complex input (last dimension 2)");
        }
        (true, false, Some(n)) if n != 1 => {
            return invalid("a one-sided DFT needs real input (last dimension 1)");
        }
        _ => {}
    }
    let parts = Dim::known(if onesided && inverse { 1 } else { 2 });
    let a = if ctx.opset >= 20 {
        if ctx.has_input(2) { scalar_dim(ctx, 2).and_then(|d| d.as_const()) } else { Some(-2) }
    } else {
        Some(ctx.attr_int("axis").unwrap_or(1))
    };
    let mut out = s.clone();
    out[rank - 1] = parts.clone();
    let Some(a) = a else {
        // The axis is not known: only the last dimension can be told, and the others only if
        // the transformed axis keeps its length.
        if onesided || ctx.has_input(1) {
            out = vec![Dim::Unknown; rank];
            out[rank - 1] = parts;
        }
        ctx.set_tensor(0, elem, Some(out));
        return Ok(());
    };
    if a == -1 || a == rank as i64 - 1 {
        return invalid(format!("DFT axis {a} is the real/imaginary axis"));
    }
    let ax = axis(a, rank)?;
    out[ax] = if ctx.has_input(1) {
        match scalar_dim(ctx, 1) {
            Some(len) if onesided && !inverse => half_plus_one(&len),
            Some(len) => len,
            None => Dim::Unknown,
        }
    } else if onesided && inverse {
        // IRFFT: the full signal of an even length 2*(n-1).
        Dim::known(2).mul(&s[ax].sub(&Dim::known(1)))
    } else if onesided {
        half_plus_one(&s[ax])
    } else {
        s[ax].clone()
    };
    ctx.set_tensor(0, elem, Some(out));
    Ok(())
}

fn stft(ctx: &mut Ctx<'_>) -> Res {
    let elem = ctx.elem(0);
    let Some(s) = ctx.shape(0).map(<[Dim]>::to_vec) else {
        ctx.set_tensor(0, elem, None);
        return Ok(());
    };
    if s.len() < 2 {
        return invalid(format!(
            "STFT signal must be [batch, length, 1 or 2], not rank {}",
            s.len()
        ));
    }
    let onesided = ctx.attr_int("onesided").unwrap_or(1) != 0;
    let window_len = if ctx.has_input(2) {
        match ctx.shape(2) {
            Some([n]) => Some(n.clone()),
            Some(w) => return invalid(format!("STFT window must be 1-D, not rank {}", w.len())),
            None => Some(Dim::Unknown),
        }
    } else {
        None
    };
    let frame_len = if ctx.has_input(3) {
        let given = scalar_dim(ctx, 3).unwrap_or(Dim::Unknown);
        if let (Some(w), Some(f)) = (window_len.as_ref().and_then(Dim::as_const), given.as_const())
            && w != f
        {
            return invalid(format!("STFT window has length {w}, frame_length is {f}"));
        }
        match (&given, &window_len) {
            (Dim::Unknown, Some(w)) => w.clone(),
            _ => given,
        }
    } else {
        window_len.unwrap_or(Dim::Unknown)
    };
    let frames = match scalar_dim(ctx, 1).and_then(|d| d.as_const()) {
        Some(step) if step > 0 => s[1].sub(&frame_len).floor_div(step).add(&Dim::known(1)),
        Some(step) => return invalid(format!("STFT frame_step is {step}")),
        None => Dim::Unknown,
    };
    let bins = if onesided { half_plus_one(&frame_len) } else { frame_len };
    ctx.set_tensor(0, elem, Some(vec![s[0].clone(), frames, bins, Dim::known(2)]));
    Ok(())
}

fn window(ctx: &mut Ctx<'_>) -> Res {
    let elem = dtype_attr(ctx, "output_datatype").unwrap_or(DataType::FLOAT);
    if let Some(r) = ctx.rank(0)
        && r != 0
    {
        return invalid(format!("{} size must be a scalar, not rank {r}", ctx.op()));
    }
    let size = scalar_dim(ctx, 0).unwrap_or(Dim::Unknown);
    if let Some(n) = size.as_const()
        && n <= 0
    {
        return invalid(format!("{} size is {n}", ctx.op()));
    }
    ctx.set_type(0, tensor(Some(elem), Some(vec![size])));
    Ok(())
}

fn mel_weight_matrix(ctx: &mut Ctx<'_>) -> Res {
    let elem = dtype_attr(ctx, "output_datatype").unwrap_or(DataType::FLOAT);
    let bins = scalar_dim(ctx, 0).unwrap_or(Dim::Unknown);
    let dft_len = scalar_dim(ctx, 1).unwrap_or(Dim::Unknown);
    ctx.set_type(0, tensor(Some(elem), Some(vec![half_plus_one(&dft_len), bins])));
    Ok(())
}
