//! Linear quantization: the output keeps the input's shape; its element type comes from the zero
//! point, the `output_dtype` attribute (opset 21+ for quantizing, 23+ for dequantizing) or the
//! scale, depending on the operator and its version.

use super::Registry;
use super::util::{dtype_attr, tensor};
use crate::ctx::{Ctx, Res, invalid};
use crate::fact::Ty;
use crate::sym::Dim;
use ferry_ir::DataType;

pub fn register(r: &mut Registry) {
    r.add("", &["QuantizeLinear"], quantize);
    r.add("", &["DequantizeLinear"], dequantize);
    r.add("", &["DynamicQuantizeLinear"], dynamic_quantize);
}

/// `output_dtype`, when set to something other than UNDEFINED.
fn output_dtype(ctx: &Ctx<'_>) -> Option<DataType> {
    dtype_attr(ctx, "output_dtype").filter(|&t| t != DataType::UNDEFINED)
}

fn quantize(ctx: &mut Ctx<'_>) -> Res {
    let shape = ctx.shape(0).map(<[Dim]>::to_vec);
    let attr = output_dtype(ctx);
    let elem = if ctx.has_input(2) {
        let zp = ctx.elem(2);
        if let (Some(z), Some(a)) = (zp, attr)
            && z != a
        {
            return invalid(format!("output_dtype {a} does not match the zero point's type {z}"));
        }
        // A zero point of unknown type leaves the output type open, unless the attribute says.
        zp.or(attr)
    } else {
        Some(attr.unwrap_or(DataType::UINT8))
    };
    ctx.set_type(0, tensor(elem, shape));
    Ok(())
}

fn dequantize(ctx: &mut Ctx<'_>) -> Res {
    let shape = ctx.shape(0).map(<[Dim]>::to_vec);
    let elem = if ctx.opset < 19 {
        Some(DataType::FLOAT)
    } else {
        output_dtype(ctx).or_else(|| ctx.elem(1))
    };
    ctx.set_type(0, tensor(elem, shape));
    Ok(())
}

fn dynamic_quantize(ctx: &mut Ctx<'_>) -> Res {
    let shape = ctx.shape(0).map(<[Dim]>::to_vec);
    ctx.set_type(0, tensor(Some(DataType::UINT8), shape));
    ctx.set_type(1, Ty::tensor(DataType::FLOAT, vec![]));
    ctx.set_type(2, Ty::tensor(DataType::UINT8, vec![]));
    Ok(())
}
