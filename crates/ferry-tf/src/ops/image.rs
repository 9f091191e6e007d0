//! Image resizing: ResizeBilinear and ResizeNearestNeighbor (Keras UpSampling2D, tf.image.resize)
//! to ONNX Resize on the channels-first tensor.
//!
//! TensorFlow's coordinate conventions map onto ONNX's: `align_corners` is `align_corners`;
//! `half_pixel_centers` is `half_pixel` (nearest: rounding halves up, which is TensorFlow's floor
//! of the unshifted coordinate); neither is `asymmetric` (nearest: floor). The target size is (N, C) of the
//! input followed by TensorFlow's `size`.

use super::{Rule, as_i64, dtype_of};
use crate::ctx::{Ctx, TfVal, int_attr, str_attr};
use crate::error::Result;
use crate::flatten::TfNode;
use crate::tensor;

pub fn lookup(op: &str) -> Option<Rule> {
    Some(match op {
        "ResizeBilinear" | "ResizeNearestNeighbor" => resize,
        _ => return None,
    })
}

fn resize(cx: &mut Ctx, n: &TfNode) -> Result<Vec<TfVal>> {
    let x = cx.input(n, 0)?;
    let size = cx.input(n, 1)?;
    if x.rank().is_some_and(|r| r != 4) {
        return Err(n.err("images must be 4-D (NHWC)"));
    }
    let align = n.attr_b("align_corners").unwrap_or(false);
    let half = n.attr_b("half_pixel_centers").unwrap_or(false);
    let bilinear = n.op == "ResizeBilinear";
    let (coord, nearest) = match (align, half, bilinear) {
        (true, _, true) => ("align_corners", None),
        (false, true, true) => ("half_pixel", None),
        (false, false, true) => ("asymmetric", None),
        (true, _, false) => ("align_corners", Some("round_prefer_ceil")),
        // floor((o + 0.5) * scale) = round_prefer_ceil((o + 0.5) * scale - 0.5)
        (false, true, false) => ("half_pixel", Some("round_prefer_ceil")),
        (false, false, false) => ("asymmetric", Some("floor")),
    };
    let mut attrs = vec![
        str_attr("mode", if bilinear { "linear" } else { "nearest" }),
        str_attr("coordinate_transformation_mode", coord),
    ];
    if let Some(m) = nearest {
        attrs.push(str_attr("nearest_mode", m));
    }
    let xi = cx.channels_first(&x, n)?;
    let hw = cx.const_of(size.id).and_then(tensor::ints);
    let nc = x.shape.as_ref().map(|s| [s[0], s[3]]).filter(|v| v.iter().all(|&d| d >= 0));
    let sizes = match (&hw, nc) {
        (Some(hw), Some([b, c])) if hw.len() == 2 => {
            cx.const_i64(&format!("{}/sizes", n.name), &[b, c, hw[0], hw[1]])
        }
        _ => {
            let s = cx.emit1("Shape", &format!("{}/shape", n.name), &[xi], vec![]);
            let start = cx.const_i64(&format!("{}/start", n.name), &[0]);
            let end = cx.const_i64(&format!("{}/end", n.name), &[2]);
            let s = cx.emit1("Slice", &format!("{}/nc", n.name), &[s, start, end], vec![]);
            let hw = as_i64(cx, &size, &format!("{}/hw", n.name))?;
            cx.emit1("Concat", &format!("{}/sizes", n.name), &[s, hw], vec![int_attr("axis", 0)])
        }
    };
    let (_, outs) = cx.emit_opt("Resize", &n.name, &[Some(xi), None, None, Some(sizes)], attrs, 1);
    let shape = match (&x.shape, &hw) {
        (Some(s), Some(hw)) if hw.len() == 2 => Some(vec![s[0], hw[0], hw[1], s[3]]),
        _ => None,
    };
    Ok(vec![TfVal { id: outs[0], cf: true, shape, dtype: dtype_of(n, &x) }])
}
