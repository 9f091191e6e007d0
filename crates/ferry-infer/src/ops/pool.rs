//! Pooling: the windowed pools (`AveragePool`, `MaxPool` with its `Indices`, `LpPool`) share
//! the window arithmetic of the convolutions; the global pools keep batch and channels and make
//! every spatial axis 1; the region pools produce one map per region of interest.

use super::Registry;
use super::conv::Window;
use super::util::{const_dims, show, tensor};
use crate::ctx::{Ctx, Res, Stop, invalid};
use crate::sym::Dim;
use ferry_ir::DataType;

pub fn register(r: &mut Registry) {
    r.add("", &["AveragePool", "MaxPool", "LpPool"], pool);
    r.add("", &["GlobalAveragePool", "GlobalMaxPool", "GlobalLpPool"], global_pool);
    r.add("", &["MaxRoiPool"], max_roi_pool);
    r.add("", &["RoiAlign"], roi_align);
    r.add("", &["MaxUnpool"], max_unpool);
}

fn pool(ctx: &mut Ctx<'_>) -> Res {
    let elem = ctx.elem(0);
    let kernel_rank = ctx.attr_ints("kernel_shape").map(|k| k.len());
    let shape = match ctx.shape(0).map(<[Dim]>::to_vec) {
        None => kernel_rank.map(|n| vec![Dim::Unknown; n + 2]),
        Some(xs) => {
            if xs.len() < 2 {
                return invalid(format!("{} input {} needs rank 2 or more", ctx.op(), show(&xs)));
            }
            let win = Window::read(ctx, xs.len() - 2, None)?;
            let mut out = vec![xs[0].clone(), xs[1].clone()];
            out.extend(win.out_dims(&xs[2..])?);
            Some(out)
        }
    };
    if ctx.num_outputs() > 1 {
        ctx.set_type(1, tensor(Some(DataType::INT64), shape.clone()));
    }
    ctx.set_type(0, tensor(elem, shape));
    Ok(())
}

fn global_pool(ctx: &mut Ctx<'_>) -> Res {
    let elem = ctx.elem(0);
    let shape = match ctx.shape(0) {
        None => None,
        Some(xs) if xs.len() < 2 => {
            return invalid(format!("{} input {} needs rank 2 or more", ctx.op(), show(xs)));
        }
        Some(xs) => {
            let mut out = xs[..2].to_vec();
            out.extend(vec![Dim::known(1); xs.len() - 2]);
            Some(out)
        }
    };
    ctx.set_type(0, tensor(elem, shape));
    Ok(())
}

/// Channels of a feature map input (its dimension 1), when known.
fn channels(ctx: &Ctx<'_>, i: usize) -> Result<Dim, Stop> {
    match ctx.shape(i) {
        Some(s) if s.len() != 4 => {
            invalid(format!("{} input {} must have rank 4", ctx.op(), show(s)))
        }
        Some(s) => Ok(s[1].clone()),
        None => Ok(Dim::Unknown),
    }
}

/// Number of regions: the first dimension of input `i`.
fn regions(ctx: &Ctx<'_>, i: usize) -> Dim {
    ctx.shape(i).and_then(|s| s.first().cloned()).unwrap_or(Dim::Unknown)
}

fn max_roi_pool(ctx: &mut Ctx<'_>) -> Res {
    let elem = ctx.elem(0);
    let c = channels(ctx, 0)?;
    let pooled = ctx.attr_ints("pooled_shape").unwrap_or_default();
    if pooled.len() != 2 {
        return invalid("MaxRoiPool needs pooled_shape with two entries");
    }
    let out = vec![regions(ctx, 1), c, Dim::known(pooled[0]), Dim::known(pooled[1])];
    ctx.set_type(0, tensor(elem, Some(out)));
    Ok(())
}

/// `RoiAlign(X [N,C,H,W], rois [R,4], batch_indices [R]) -> [R, C, output_height, output_width]`.
fn roi_align(ctx: &mut Ctx<'_>) -> Res {
    let elem = ctx.elem(0);
    let c = channels(ctx, 0)?;
    let r = match regions(ctx, 1) {
        Dim::Unknown => regions(ctx, 2),
        d => d,
    };
    let h = ctx.attr_int("output_height").unwrap_or(1);
    let w = ctx.attr_int("output_width").unwrap_or(1);
    ctx.set_type(0, tensor(elem, Some(vec![r, c, Dim::known(h), Dim::known(w)])));
    Ok(())
}

fn max_unpool(ctx: &mut Ctx<'_>) -> Res {
    let elem = ctx.elem(0);
    if ctx.has_input(2) {
        // The output shape is given as an input.
        let shape = const_dims(ctx, 2).or_else(|| {
            let s = ctx.shape(2)?;
            let n = s.first()?.as_const()?;
            (s.len() == 1).then(|| vec![Dim::Unknown; n.max(0) as usize])
        });
        ctx.set_type(0, tensor(elem, shape));
        return Ok(());
    }
    let Some(xs) = ctx.shape(0).map(<[Dim]>::to_vec) else {
        let rank = ctx.attr_ints("kernel_shape").map(|k| k.len() + 2);
        ctx.set_type(0, tensor(elem, rank.map(|r| vec![Dim::Unknown; r])));
        return Ok(());
    };
    if xs.len() < 2 {
        return invalid(format!("MaxUnpool input {} needs rank 2 or more", show(&xs)));
    }
    let win = Window::read(ctx, xs.len() - 2, None)?;
    let n = win.kernel.len();
    let pads = match &win.pad {
        super::conv::Pad::Explicit(p) => p.clone(),
        super::conv::Pad::Same(_) => return invalid("MaxUnpool takes explicit pads"),
    };
    let mut out = vec![xs[0].clone(), xs[1].clone()];
    for (i, d) in xs[2..].iter().enumerate() {
        let extra = win.kernel[i] - pads[i] - pads[i + n];
        out.push(d.sub(&Dim::known(1)).mul(&Dim::known(win.strides[i])).add(&Dim::known(extra)));
    }
    ctx.set_type(0, tensor(elem, Some(out)));
    Ok(())
}
