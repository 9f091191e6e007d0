//! Image operators: resampling (`Resize`, `Upsample`, `GridSample`, `AffineGrid`), block
//! rearrangements (`DepthToSpace`, `SpaceToDepth`), `CenterCropPad`, `ImageDecoder` and
//! `NonMaxSuppression`.
//!
//! `Resize` computes sizes the way ONNX does: `floor(in * scale)` in single precision for
//! scales, the given sizes otherwise (rescaled uniformly under `keep_aspect_ratio_policy`).

use super::Registry;
use super::util::{axis, const_dims, show, tensor};
use crate::ctx::{Ctx, Res, Stop, invalid};
use crate::fact::Data;
use crate::sym::Dim;
use ferry_ir::DataType;

pub fn register(r: &mut Registry) {
    r.add("", &["Resize"], resize);
    r.add("", &["Upsample"], upsample);
    r.add("", &["GridSample"], grid_sample);
    r.add("", &["AffineGrid"], affine_grid);
    r.add("", &["DepthToSpace"], depth_to_space);
    r.add("", &["SpaceToDepth"], space_to_depth);
    r.add("", &["CenterCropPad"], center_crop_pad);
    r.add("", &["ImageDecoder"], image_decoder);
    r.add("", &["NonMaxSuppression"], non_max_suppression);
}

/// Input `i`'s contents as floats (scales).
fn const_floats(ctx: &Ctx<'_>, i: usize) -> Option<Vec<f64>> {
    let k = ctx.input(i)?.value.as_ref()?;
    match &k.data {
        Data::Float(v) => Some(v.clone()),
        Data::Int(v) => v.iter().map(|d| d.as_const().map(|n| n as f64)).collect(),
        Data::Str(_) => None,
    }
}

/// Number of elements of a 1-D input from its shape (contents unknown), `None` when unknown.
fn length_of(ctx: &Ctx<'_>, i: usize) -> Option<i64> {
    let s = ctx.shape(i)?;
    if s.len() != 1 {
        return None;
    }
    s[0].as_const()
}

/// `floor(d * scale)` computed in single precision, as ONNX does.
fn scaled(d: &Dim, scale: f64) -> Dim {
    let scale = scale as f32;
    match d.as_const() {
        Some(n) => Dim::known((n as f32 * scale).floor() as i64),
        None if scale == 1.0 => d.clone(),
        None if scale.fract() == 0.0 && scale > 0.0 => d.mul(&Dim::known(scale as i64)),
        None => Dim::Unknown,
    }
}

/// The axes a `Resize` acts on (opset 18 `axes`), resolved; all axes when absent.
fn resize_axes(ctx: &Ctx<'_>, rank: usize) -> Result<Vec<usize>, Stop> {
    match ctx.attr_ints("axes").filter(|a| !a.is_empty()) {
        Some(a) => {
            let v: Vec<usize> = a.iter().map(|&x| axis(x, rank)).collect::<Result<_, _>>()?;
            let mut sorted = v.clone();
            sorted.sort_unstable();
            sorted.dedup();
            if sorted.len() != v.len() {
                return invalid(format!("Resize axes {a:?} repeat an axis"));
            }
            Ok(v)
        }
        None => Ok((0..rank).collect()),
    }
}

fn resize(ctx: &mut Ctx<'_>) -> Res {
    let elem = ctx.elem(0);
    let Some(xs) = ctx.shape(0).map(<[Dim]>::to_vec) else {
        ctx.set_type(0, tensor(elem, None));
        return Ok(());
    };
    let rank = xs.len();
    let (scales_at, sizes_at) = if ctx.opset < 11 { (1, None) } else { (2, Some(3)) };
    let axes = resize_axes(ctx, rank)?;
    let mut out = xs.clone();
    let sizes = sizes_at.filter(|&i| ctx.has_input(i) && length_of(ctx, i) != Some(0));
    if let Some(si) = sizes {
        let Some(sizes) = const_dims(ctx, si) else {
            for &a in &axes {
                out[a] = Dim::Unknown;
            }
            ctx.set_type(0, tensor(elem, Some(out)));
            return Ok(());
        };
        if sizes.len() != axes.len() {
            return invalid(format!(
                "Resize sizes has {} entries for {} axes",
                sizes.len(),
                axes.len()
            ));
        }
        let policy = ctx.attr_str("keep_aspect_ratio_policy").unwrap_or_else(|| "stretch".into());
        if policy == "stretch" {
            for (&a, d) in axes.iter().zip(sizes) {
                out[a] = d;
            }
        } else {
            let known: Option<Vec<(i64, i64)>> = axes
                .iter()
                .zip(&sizes)
                .map(|(&a, d)| Some((d.as_const()?, xs[a].as_const()?)))
                .collect();
            let Some(known) = known else {
                for &a in &axes {
                    out[a] = Dim::Unknown;
                }
                ctx.set_type(0, tensor(elem, Some(out)));
                return Ok(());
            };
            let ratios = known.iter().map(|&(s, d)| s as f32 / d as f32);
            let scale = match policy.as_str() {
                "not_larger" => ratios.fold(f32::MAX, f32::min),
                "not_smaller" => ratios.fold(f32::MIN, f32::max),
                other => return invalid(format!("keep_aspect_ratio_policy '{other}' is unknown")),
            };
            for (&a, &(_, d)) in axes.iter().zip(&known) {
                out[a] = Dim::known((scale * d as f32).round() as i64);
            }
        }
    } else if ctx.has_input(scales_at) {
        match const_floats(ctx, scales_at) {
            Some(scales) => {
                if scales.len() != axes.len() {
                    return invalid(format!(
                        "Resize scales has {} entries for {} axes",
                        scales.len(),
                        axes.len()
                    ));
                }
                for (&a, &s) in axes.iter().zip(&scales) {
                    out[a] = scaled(&xs[a], s);
                }
            }
            None => {
                for &a in &axes {
                    out[a] = Dim::Unknown;
                }
            }
        }
    } else {
        for &a in &axes {
            out[a] = Dim::Unknown;
        }
    }
    ctx.set_type(0, tensor(elem, Some(out)));
    Ok(())
}

/// `Upsample`: scales as an attribute (opset 7) or as input 1 (opset 9).
fn upsample(ctx: &mut Ctx<'_>) -> Res {
    let elem = ctx.elem(0);
    let Some(xs) = ctx.shape(0).map(<[Dim]>::to_vec) else {
        ctx.set_type(0, tensor(elem, None));
        return Ok(());
    };
    let scales = if ctx.opset >= 9 {
        const_floats(ctx, 1)
    } else {
        ctx.attr_floats("scales").map(|v| v.into_iter().map(f64::from).collect())
    };
    let out = match scales {
        Some(s) if s.len() != xs.len() => {
            return invalid(format!(
                "Upsample scales has {} entries for rank {}",
                s.len(),
                xs.len()
            ));
        }
        Some(s) => xs.iter().zip(&s).map(|(d, &f)| scaled(d, f)).collect(),
        None => vec![Dim::Unknown; xs.len()],
    };
    ctx.set_type(0, tensor(elem, Some(out)));
    Ok(())
}

/// `GridSample(X [N, C, D1..Dr], grid [N, D1'..Dr', r]) -> [N, C, D1'..Dr']`.
fn grid_sample(ctx: &mut Ctx<'_>) -> Res {
    let elem = ctx.elem(0);
    let xs = ctx.shape(0).map(<[Dim]>::to_vec);
    let gs = ctx.shape(1).map(<[Dim]>::to_vec);
    let rank = xs.as_ref().map(Vec::len).or_else(|| gs.as_ref().map(Vec::len));
    let Some(rank) = rank else {
        ctx.set_type(0, tensor(elem, None));
        return Ok(());
    };
    if rank < 3 {
        return invalid(format!("GridSample inputs need rank 3 or more, got rank {rank}"));
    }
    if let (Some(x), Some(g)) = (&xs, &gs)
        && x.len() != g.len()
    {
        return invalid(format!(
            "GridSample input {} and grid {} differ in rank",
            show(x),
            show(g)
        ));
    }
    let n = match (&xs, &gs) {
        (Some(x), Some(g)) => x[0].unify(&g[0]).unwrap_or(Dim::Unknown),
        (Some(x), None) => x[0].clone(),
        (None, Some(g)) => g[0].clone(),
        (None, None) => Dim::Unknown,
    };
    let c = xs.as_ref().map_or(Dim::Unknown, |x| x[1].clone());
    let mut out = vec![n, c];
    match &gs {
        Some(g) => out.extend(g[1..rank - 1].iter().cloned()),
        None => out.extend(vec![Dim::Unknown; rank - 2]),
    }
    ctx.set_type(0, tensor(elem, Some(out)));
    Ok(())
}

/// `AffineGrid(theta [N, r, r+1], size [N, C, D1..Dr]) -> [N, D1..Dr, r]`.
fn affine_grid(ctx: &mut Ctx<'_>) -> Res {
    let elem = ctx.elem(0);
    let size = const_dims(ctx, 1);
    let len = size.as_ref().map(|s| s.len() as i64).or_else(|| length_of(ctx, 1));
    let Some(len) = len else {
        ctx.set_type(0, tensor(elem, None));
        return Ok(());
    };
    if len != 4 && len != 5 {
        return invalid(format!("AffineGrid size has {len} entries (4 or 5 expected)"));
    }
    let r = (len - 2) as usize;
    let n = match (&size, ctx.shape(0)) {
        (Some(s), _) => s[0].clone(),
        (None, Some(t)) if !t.is_empty() => t[0].clone(),
        _ => Dim::Unknown,
    };
    let mut out = vec![n];
    match &size {
        Some(s) => out.extend(s[2..].iter().cloned()),
        None => out.extend(vec![Dim::Unknown; r]),
    }
    out.push(Dim::known(r as i64));
    ctx.set_type(0, tensor(elem, Some(out)));
    Ok(())
}

fn blocksize(ctx: &Ctx<'_>) -> Result<i64, Stop> {
    match ctx.attr_int("blocksize") {
        Some(b) if b > 0 => Ok(b),
        Some(b) => invalid(format!("blocksize {b} must be positive")),
        None => Err(Stop::Unknown),
    }
}

fn rank4(ctx: &Ctx<'_>) -> Result<Option<Vec<Dim>>, Stop> {
    match ctx.shape(0) {
        Some(s) if s.len() != 4 => {
            invalid(format!("{} input {} must have rank 4", ctx.op(), show(s)))
        }
        s => Ok(s.map(<[Dim]>::to_vec)),
    }
}

fn depth_to_space(ctx: &mut Ctx<'_>) -> Res {
    let elem = ctx.elem(0);
    let b = blocksize(ctx)?;
    let Some(s) = rank4(ctx)? else {
        ctx.set_type(0, tensor(elem, Some(vec![Dim::Unknown; 4])));
        return Ok(());
    };
    if let Some(c) = s[1].as_const()
        && c % (b * b) != 0
    {
        return invalid(format!("DepthToSpace channels {c} are not a multiple of {}", b * b));
    }
    let k = Dim::known(b);
    let out = vec![s[0].clone(), s[1].div(&Dim::known(b * b)), s[2].mul(&k), s[3].mul(&k)];
    ctx.set_type(0, tensor(elem, Some(out)));
    Ok(())
}

fn space_to_depth(ctx: &mut Ctx<'_>) -> Res {
    let elem = ctx.elem(0);
    let b = blocksize(ctx)?;
    let Some(s) = rank4(ctx)? else {
        ctx.set_type(0, tensor(elem, Some(vec![Dim::Unknown; 4])));
        return Ok(());
    };
    for d in &s[2..] {
        if let Some(n) = d.as_const()
            && n % b != 0
        {
            return invalid(format!("SpaceToDepth size {n} is not a multiple of blocksize {b}"));
        }
    }
    let k = Dim::known(b);
    let out = vec![s[0].clone(), s[1].mul(&Dim::known(b * b)), s[2].div(&k), s[3].div(&k)];
    ctx.set_type(0, tensor(elem, Some(out)));
    Ok(())
}

/// `CenterCropPad(input, shape)`: the dimensions named by `axes` (all by default) become
/// `shape`'s entries.
fn center_crop_pad(ctx: &mut Ctx<'_>) -> Res {
    let elem = ctx.elem(0);
    let Some(xs) = ctx.shape(0).map(<[Dim]>::to_vec) else {
        ctx.set_type(0, tensor(elem, None));
        return Ok(());
    };
    let axes: Vec<usize> = match ctx.attr_ints("axes").filter(|a| !a.is_empty()) {
        Some(a) => a.iter().map(|&x| axis(x, xs.len())).collect::<Result<_, _>>()?,
        None => (0..xs.len()).collect(),
    };
    let mut out = xs;
    match const_dims(ctx, 1) {
        Some(sizes) => {
            if sizes.len() != axes.len() {
                return invalid(format!(
                    "CenterCropPad shape has {} entries for {} axes",
                    sizes.len(),
                    axes.len()
                ));
            }
            for (&a, d) in axes.iter().zip(sizes) {
                out[a] = d;
            }
        }
        None => {
            for &a in &axes {
                out[a] = Dim::Unknown;
            }
        }
    }
    ctx.set_type(0, tensor(elem, Some(out)));
    Ok(())
}

/// Decoded images are `uint8 [H, W, channels]`: 3 channels for RGB and BGR, 1 for grayscale.
fn image_decoder(ctx: &mut Ctx<'_>) -> Res {
    let channels = match ctx.attr_str("pixel_format").as_deref().unwrap_or("RGB") {
        "RGB" | "BGR" => Dim::known(3),
        "Grayscale" => Dim::known(1),
        other => return invalid(format!("pixel_format '{other}' is not RGB, BGR or Grayscale")),
    };
    ctx.set_type(
        0,
        tensor(Some(DataType::UINT8), Some(vec![Dim::Unknown, Dim::Unknown, channels])),
    );
    Ok(())
}

/// Selected boxes, one row `[batch, class, box]` each; how many is known only at run time.
fn non_max_suppression(ctx: &mut Ctx<'_>) -> Res {
    ctx.set_type(0, tensor(Some(DataType::INT64), Some(vec![Dim::Unknown, Dim::known(3)])));
    Ok(())
}
