//! Element-type names: ONNX codes to the Open Inference Protocol's `datatype` strings and to
//! Triton's `DataType` enum.
//!
//! The protocol's tensor data types are BOOL, UINT8..UINT64, INT8..INT64, FP16, FP32, FP64 and
//! BYTES (strings travel as length-prefixed bytes). Triton adds BF16, both in its HTTP/gRPC
//! protocol and as `TYPE_BF16` in `model_config.proto`; other servers speaking the protocol
//! (KServe's Python server, MLServer) reject it, so the protocol table accepts BF16 only when
//! the caller says the server is Triton. Everything else ONNX can express (complex numbers, the
//! float8/float6/float4 families, int4/int2) has no name in either table and is refused, because
//! a made-up string would be accepted by nobody and discovered only at request time.

use ferry_ir::DataType;

/// One row of the table: an ONNX element type and its names, if any.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DatatypeRow {
    pub onnx: DataType,
    /// Open Inference Protocol `datatype`; `None` when the protocol has none.
    pub protocol: Option<&'static str>,
    /// Triton `model_config.proto` `DataType` enumerator; `None` when Triton has none.
    pub triton: Option<&'static str>,
}

const fn row(onnx: DataType, protocol: &'static str, triton: &'static str) -> DatatypeRow {
    DatatypeRow { onnx, protocol: Some(protocol), triton: Some(triton) }
}

const fn none(onnx: DataType) -> DatatypeRow {
    DatatypeRow { onnx, protocol: None, triton: None }
}

/// Every known ONNX element type, in ONNX code order. BF16's protocol name is listed although
/// [`protocol_datatype`] gives it out only when asked to (see the module notes).
pub const TABLE: &[DatatypeRow] = &[
    none(DataType::UNDEFINED),
    row(DataType::FLOAT, "FP32", "TYPE_FP32"),
    row(DataType::UINT8, "UINT8", "TYPE_UINT8"),
    row(DataType::INT8, "INT8", "TYPE_INT8"),
    row(DataType::UINT16, "UINT16", "TYPE_UINT16"),
    row(DataType::INT16, "INT16", "TYPE_INT16"),
    row(DataType::INT32, "INT32", "TYPE_INT32"),
    row(DataType::INT64, "INT64", "TYPE_INT64"),
    row(DataType::STRING, "BYTES", "TYPE_STRING"),
    row(DataType::BOOL, "BOOL", "TYPE_BOOL"),
    row(DataType::FLOAT16, "FP16", "TYPE_FP16"),
    row(DataType::DOUBLE, "FP64", "TYPE_FP64"),
    row(DataType::UINT32, "UINT32", "TYPE_UINT32"),
    row(DataType::UINT64, "UINT64", "TYPE_UINT64"),
    none(DataType::COMPLEX64),
    none(DataType::COMPLEX128),
    row(DataType::BFLOAT16, "BF16", "TYPE_BF16"),
    none(DataType::FLOAT8E4M3FN),
    none(DataType::FLOAT8E4M3FNUZ),
    none(DataType::FLOAT8E5M2),
    none(DataType::FLOAT8E5M2FNUZ),
    none(DataType::UINT4),
    none(DataType::INT4),
    none(DataType::FLOAT4E2M1),
    none(DataType::FLOAT8E8M0),
    none(DataType::UINT2),
    none(DataType::INT2),
    none(DataType::FLOAT6E2M3),
    none(DataType::FLOAT6E3M2),
];

fn lookup(elem: DataType) -> Option<&'static DatatypeRow> {
    TABLE.iter().find(|r| r.onnx == elem)
}

/// Says what the element type is, for messages: `complex64`, or the raw code when unknown.
fn describe(elem: DataType) -> String {
    match elem.info() {
        Some(_) => elem.to_string(),
        None => format!("code {} (unknown to ferry)", elem.0),
    }
}

/// The Open Inference Protocol `datatype` for `elem`, or why there is none.
///
/// `allow_bf16` admits `BF16`, which only Triton understands.
pub fn protocol_datatype(elem: DataType, allow_bf16: bool) -> Result<&'static str, String> {
    if elem == DataType::BFLOAT16 && !allow_bf16 {
        return Err("element type bfloat16 is BF16 only in Triton's extension of the Open \
                    Inference Protocol, not in the protocol itself; allow it explicitly \
                    (--allow-bf16) when the server is Triton"
            .into());
    }
    match lookup(elem).and_then(|r| r.protocol) {
        Some(name) => Ok(name),
        None => {
            Err(format!("element type {} has no Open Inference Protocol datatype", describe(elem)))
        }
    }
}

/// The Triton `DataType` enumerator (`TYPE_FP32`, ...) for `elem`, or why there is none.
pub fn triton_datatype(elem: DataType) -> Result<&'static str, String> {
    match lookup(elem).and_then(|r| r.triton) {
        Some(name) => Ok(name),
        None => Err(format!("element type {} has no Triton data_type", describe(elem))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_covers_every_known_code_once_in_order() {
        let codes: Vec<DataType> = TABLE.iter().map(|r| r.onnx).collect();
        assert_eq!(codes, DataType::ALL);
    }

    #[test]
    fn bf16_needs_consent_for_the_protocol_but_not_for_triton() {
        assert!(protocol_datatype(DataType::BFLOAT16, false).unwrap_err().contains("--allow-bf16"));
        assert_eq!(protocol_datatype(DataType::BFLOAT16, true), Ok("BF16"));
        assert_eq!(triton_datatype(DataType::BFLOAT16), Ok("TYPE_BF16"));
    }

    #[test]
    fn unknown_codes_are_refused_by_number() {
        let e = protocol_datatype(DataType(99), true).unwrap_err();
        assert!(e.contains("code 99"), "{e}");
        assert!(triton_datatype(DataType(99)).is_err());
    }
}
