//! Convolutions: `Conv`, `ConvTranspose`, their integer and quantized forms, `DeformConv` and
//! `Col2Im`; and the sliding-window arithmetic (`auto_pad`, `pads`, `strides`, `dilations`,
//! `ceil_mode`) that the pooling operators share.
//!
//! Spatial sizes follow ONNX's own inference where dimensions are numbers. Where they are
//! symbols, the same formula is kept as an expression (`floor((H-3)/2)+1`, `H` for `SAME` with
//! stride 1, `ceil((H)/2)` for `SAME` with stride 2) instead of being dropped.

use super::Registry;
use super::util::{const_ints, show, tensor};
use crate::ctx::{Ctx, Res, Stop, invalid, need};
use crate::sym::Dim;
use ferry_ir::DataType;

pub fn register(r: &mut Registry) {
    r.add("", &["Conv"], conv);
    r.add("", &["ConvInteger"], conv_integer);
    r.add("", &["QLinearConv"], qlinear_conv);
    r.add("", &["DeformConv"], deform_conv);
    r.add("", &["ConvTranspose"], conv_transpose);
    r.add("", &["Col2Im"], col2im);
}

/// How padding is chosen.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Pad {
    /// Begin pads then end pads, one per spatial axis (`NOTSET`, and `VALID` as all zeros).
    Explicit(Vec<i64>),
    /// `SAME_UPPER` (`true`) or `SAME_LOWER` (`false`): the output is `ceil(in / stride)`.
    Same(bool),
}

/// A sliding window over `n` spatial axes.
#[derive(Clone, Debug)]
pub(crate) struct Window {
    pub kernel: Vec<i64>,
    pub strides: Vec<i64>,
    pub dilations: Vec<i64>,
    pub pad: Pad,
    pub ceil_mode: bool,
}

/// Reads an attribute of one entry per spatial axis, defaulting to all `fill`.
fn per_axis(ctx: &Ctx<'_>, name: &str, n: usize, fill: i64) -> Result<Vec<i64>, Stop> {
    match ctx.attr_ints(name) {
        Some(v) if !v.is_empty() => {
            if v.len() != n {
                return invalid(format!("{name} has {} entries for {n} spatial axes", v.len()));
            }
            Ok(v)
        }
        _ => Ok(vec![fill; n]),
    }
}

impl Window {
    /// Reads the window attributes of a node over `n` spatial axes; `kernel` comes from the
    /// `kernel_shape` attribute or, when that is absent, from the caller (a weight's shape).
    pub(crate) fn read(ctx: &Ctx<'_>, n: usize, kernel: Option<Vec<i64>>) -> Result<Window, Stop> {
        let kernel = match ctx.attr_ints("kernel_shape") {
            Some(k) if !k.is_empty() => k,
            _ => need(kernel)?,
        };
        if kernel.len() != n {
            return invalid(format!(
                "kernel_shape has {} entries for {n} spatial axes",
                kernel.len()
            ));
        }
        let strides = per_axis(ctx, "strides", n, 1)?;
        let dilations = per_axis(ctx, "dilations", n, 1)?;
        if strides.iter().chain(&dilations).chain(&kernel).any(|&v| v <= 0) {
            return invalid("kernel_shape, strides and dilations must be positive");
        }
        let auto_pad = ctx.attr_str("auto_pad").unwrap_or_else(|| "NOTSET".to_string());
        let pad = match auto_pad.as_str() {
            "SAME_UPPER" => Pad::Same(true),
            "SAME_LOWER" => Pad::Same(false),
            "VALID" => Pad::Explicit(vec![0; 2 * n]),
            "NOTSET" | "" => match ctx.attr_ints("pads") {
                Some(p) if !p.is_empty() => {
                    if p.len() != 2 * n {
                        return invalid(format!(
                            "pads has {} entries for {n} spatial axes",
                            p.len()
                        ));
                    }
                    Pad::Explicit(p)
                }
                _ => Pad::Explicit(vec![0; 2 * n]),
            },
            other => return invalid(format!("auto_pad '{other}' is not a padding mode")),
        };
        let ceil_mode = ctx.attr_int("ceil_mode").unwrap_or(0) != 0;
        Ok(Window { kernel, strides, dilations, pad, ceil_mode })
    }

    fn effective_kernel(&self, i: usize) -> i64 {
        (self.kernel[i] - 1) * self.dilations[i] + 1
    }

    /// The pads ONNX chooses for a known input size (the `SAME_*` rule works from the residue
    /// of the input modulo the stride).
    fn pads_for(&self, i: usize, size: i64) -> (i64, i64) {
        let n = self.kernel.len();
        match &self.pad {
            Pad::Explicit(p) => (p[i], p[i + n]),
            Pad::Same(upper) => {
                let s = self.strides[i];
                let residual = if s > 1 { size.rem_euclid(s) } else { 0 };
                let ek = self.effective_kernel(i);
                let total = if residual == 0 { ek - s } else { ek - residual }.max(0);
                let (small, big) = (total / 2, total - total / 2);
                if *upper { (small, big) } else { (big, small) }
            }
        }
    }

    /// The output size along spatial axis `i` for an input of size `d`.
    pub(crate) fn out_dim(&self, i: usize, d: &Dim) -> Result<Dim, Stop> {
        let s = self.strides[i];
        let ek = self.effective_kernel(i);
        if let Some(size) = d.as_const() {
            let (pb, pe) = self.pads_for(i, size);
            let span = size + pb + pe - ek;
            let mut out = if self.ceil_mode { span + s - 1 } else { span }.div_euclid(s) + 1;
            // In ceil mode the last window must start inside the input or its begin padding.
            if self.ceil_mode && (out - 1) * s >= size + pb {
                out -= 1;
            }
            if out < 0 {
                return invalid(format!(
                    "the window (kernel {ek} with dilation, stride {s}) does not fit an input of size {size}"
                ));
            }
            return Ok(Dim::known(out));
        }
        let Dim::Expr(_) = d else { return Ok(Dim::Unknown) };
        Ok(match &self.pad {
            Pad::Same(_) if !self.ceil_mode || s == 1 => d.ceil_div(s),
            Pad::Same(_) => Dim::Unknown,
            Pad::Explicit(p) => {
                let n = self.kernel.len();
                let (pb, pe) = (p[i], p[i + n]);
                let span = d.add(&Dim::known(pb + pe - ek));
                if s == 1 {
                    // Ceil and floor agree; the ceil-mode edge case is decided by constants.
                    let out = span.add(&Dim::known(1));
                    if self.ceil_mode && pe - ek >= 0 { out.sub(&Dim::known(1)) } else { out }
                } else if self.ceil_mode {
                    Dim::Unknown
                } else {
                    span.floor_div(s).add(&Dim::known(1))
                }
            }
        })
    }

    /// Output sizes for all spatial axes.
    pub(crate) fn out_dims(&self, spatial: &[Dim]) -> Result<Vec<Dim>, Stop> {
        spatial.iter().enumerate().map(|(i, d)| self.out_dim(i, d)).collect()
    }
}

/// Known spatial sizes of a weight (its dims from index 2).
fn kernel_of(w: Option<&[Dim]>) -> Option<Vec<i64>> {
    let w = w?;
    if w.len() < 2 {
        return None;
    }
    w[2..].iter().map(Dim::as_const).collect()
}

/// Shared by the convolutions: input `x`, weight `w`, output type `elem`.
fn conv_like(ctx: &mut Ctx<'_>, x: usize, w: usize, elem: Option<DataType>) -> Res {
    let ws = ctx.shape(w).map(<[Dim]>::to_vec);
    let Some(xs) = ctx.shape(x).map(<[Dim]>::to_vec) else {
        let rank = ws.as_ref().map(Vec::len);
        ctx.set_type(0, tensor(elem, rank.map(|r| vec![Dim::Unknown; r])));
        return Ok(());
    };
    if xs.len() < 2 {
        return invalid(format!("{} input {} needs rank 2 or more", ctx.op(), show(&xs)));
    }
    if let Some(ws) = &ws
        && ws.len() != xs.len()
    {
        return invalid(format!(
            "{} input {} and weight {} differ in rank",
            ctx.op(),
            show(&xs),
            show(ws)
        ));
    }
    let n = xs.len() - 2;
    let channels = ws.as_ref().map_or(Dim::Unknown, |w| w[0].clone());
    let mut out = vec![xs[0].clone(), channels];
    match Window::read(ctx, n, kernel_of(ws.as_deref())) {
        Ok(win) => out.extend(win.out_dims(&xs[2..])?),
        Err(Stop::Unknown) => out.extend(vec![Dim::Unknown; n]),
        Err(e) => return Err(e),
    }
    ctx.set_type(0, tensor(elem, Some(out)));
    Ok(())
}

fn conv(ctx: &mut Ctx<'_>) -> Res {
    let elem = ctx.elem(0).or_else(|| ctx.elem(1));
    conv_like(ctx, 0, 1, elem)
}

fn conv_integer(ctx: &mut Ctx<'_>) -> Res {
    conv_like(ctx, 0, 1, Some(DataType::INT32))
}

/// Inputs `x, x_scale, x_zero_point, w, w_scale, w_zero_point, y_scale, y_zero_point, B`.
fn qlinear_conv(ctx: &mut Ctx<'_>) -> Res {
    let elem = ctx.elem(7);
    conv_like(ctx, 0, 3, elem)
}

fn deform_conv(ctx: &mut Ctx<'_>) -> Res {
    let elem = ctx.elem(0).or_else(|| ctx.elem(1));
    conv_like(ctx, 0, 1, elem)
}

fn conv_transpose(ctx: &mut Ctx<'_>) -> Res {
    let elem = ctx.elem(0).or_else(|| ctx.elem(1));
    let ws = ctx.shape(1).map(<[Dim]>::to_vec);
    let Some(xs) = ctx.shape(0).map(<[Dim]>::to_vec) else {
        let rank = ws.as_ref().map(Vec::len);
        ctx.set_type(0, tensor(elem, rank.map(|r| vec![Dim::Unknown; r])));
        return Ok(());
    };
    if xs.len() < 2 {
        return invalid(format!("ConvTranspose input {} needs rank 2 or more", show(&xs)));
    }
    let n = xs.len() - 2;
    let group = ctx.attr_int("group").unwrap_or(1);
    let channels = match &ws {
        Some(w) if w.len() >= 2 => w[1].mul(&Dim::known(group)),
        _ => Dim::Unknown,
    };
    let mut out = vec![xs[0].clone(), channels];
    if let Some(shape) = ctx.attr_ints("output_shape").filter(|v| !v.is_empty()) {
        // Either the spatial sizes or (as exporters also write) the full output shape.
        let spatial = if shape.len() == n + 2 { &shape[2..] } else { &shape[..] };
        if spatial.len() != n {
            return invalid(format!("output_shape {shape:?} does not match {n} spatial axes"));
        }
        out.extend(spatial.iter().map(|&d| Dim::known(d)));
        ctx.set_type(0, tensor(elem, Some(out)));
        return Ok(());
    }
    let win = match Window::read(ctx, n, kernel_of(ws.as_deref())) {
        Ok(w) => w,
        Err(Stop::Unknown) => {
            out.extend(vec![Dim::Unknown; n]);
            ctx.set_type(0, tensor(elem, Some(out)));
            return Ok(());
        }
        Err(e) => return Err(e),
    };
    let output_padding = per_axis(ctx, "output_padding", n, 0)?;
    for (i, d) in xs[2..].iter().enumerate() {
        let s = win.strides[i];
        let ek = win.effective_kernel(i);
        let op = output_padding[i];
        out.push(match &win.pad {
            // SAME makes the output `in * stride` whatever the kernel and output padding (the
            // padding is derived from that size; the reference implementation agrees, where
            // onnx's own inference instead subtracts a clamped `kernel - stride`).
            Pad::Same(_) => d.mul(&Dim::known(s)),
            Pad::Explicit(p) => {
                let total = op + ek - p[i] - p[i + n];
                d.sub(&Dim::known(1)).mul(&Dim::known(s)).add(&Dim::known(total))
            }
        });
    }
    ctx.set_type(0, tensor(elem, Some(out)));
    Ok(())
}

/// `Col2Im(input [N, C*prod(block), L], image_shape, block_shape) -> [N, C, *image_shape]`.
fn col2im(ctx: &mut Ctx<'_>) -> Res {
    let elem = ctx.elem(0);
    let image = const_ints(ctx, 1);
    let block = const_ints(ctx, 2);
    let rank = image
        .as_ref()
        .map(Vec::len)
        .or_else(|| block.as_ref().map(Vec::len))
        .or_else(|| ctx.shape(1).and_then(|s| s.first()?.as_const()).map(|n| n as usize));
    let Some(n) = rank else {
        ctx.set_type(0, tensor(elem, None));
        return Ok(());
    };
    let xs = ctx.shape(0).map(<[Dim]>::to_vec);
    if let Some(xs) = &xs
        && xs.len() != 3
    {
        return invalid(format!("Col2Im input {} must have rank 3", show(xs)));
    }
    let batch = xs.as_ref().map_or(Dim::Unknown, |s| s[0].clone());
    let channels = match (&xs, &block) {
        (Some(s), Some(b)) => {
            let prod: i64 = b.iter().product();
            match s[1].as_const() {
                Some(c) if prod > 0 && c % prod != 0 => {
                    return invalid(format!(
                        "Col2Im input channels {c} are not a multiple of the block size {prod}"
                    ));
                }
                _ if prod > 0 => s[1].div(&Dim::known(prod)),
                _ => Dim::Unknown,
            }
        }
        _ => Dim::Unknown,
    };
    let mut out = vec![batch, channels];
    match image {
        Some(img) => out.extend(img.into_iter().map(Dim::known)),
        None => out.extend(vec![Dim::Unknown; n]),
    }
    ctx.set_type(0, tensor(elem, Some(out)));
    Ok(())
}
