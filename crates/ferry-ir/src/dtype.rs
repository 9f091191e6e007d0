//! Element types of tensors.
//!
//! [`DataType`] wraps the raw ONNX code instead of being a closed enum: a file written by a newer
//! exporter with a code ferry has never seen still round-trips, and code that needs to know the
//! type asks [`DataType::info`], which answers `None` for strangers.

use std::fmt;

/// An element type, identified by its ONNX `TensorProto.DataType` code.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct DataType(pub i32);

/// What ferry knows about a known element type.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TypeInfo {
    /// Upper-case ONNX name, e.g. `FLOAT16`.
    pub name: &'static str,
    /// Storage size of one element in bits; 0 for variable-size strings.
    pub bits: u32,
    pub class: TypeClass,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TypeClass {
    Float,
    SignedInt,
    UnsignedInt,
    Bool,
    String,
    Complex,
    Undefined,
}

macro_rules! data_types {
    ($($konst:ident = $code:literal, $bits:literal, $class:ident;)*) => {
        impl DataType {
            $(pub const $konst: DataType = DataType($code);)*

            /// Name, size and class of a known type; `None` for a code ferry does not know.
            pub fn info(self) -> Option<TypeInfo> {
                match self.0 {
                    $($code => Some(TypeInfo {
                        name: stringify!($konst),
                        bits: $bits,
                        class: TypeClass::$class,
                    }),)*
                    _ => None,
                }
            }

            /// Every code ferry knows, in code order.
            pub const ALL: &'static [DataType] = &[$(DataType($code)),*];
        }
    };
}

data_types! {
    UNDEFINED = 0, 0, Undefined;
    FLOAT = 1, 32, Float;
    UINT8 = 2, 8, UnsignedInt;
    INT8 = 3, 8, SignedInt;
    UINT16 = 4, 16, UnsignedInt;
    INT16 = 5, 16, SignedInt;
    INT32 = 6, 32, SignedInt;
    INT64 = 7, 64, SignedInt;
    STRING = 8, 0, String;
    BOOL = 9, 8, Bool;
    FLOAT16 = 10, 16, Float;
    DOUBLE = 11, 64, Float;
    UINT32 = 12, 32, UnsignedInt;
    UINT64 = 13, 64, UnsignedInt;
    COMPLEX64 = 14, 64, Complex;
    COMPLEX128 = 15, 128, Complex;
    BFLOAT16 = 16, 16, Float;
    FLOAT8E4M3FN = 17, 8, Float;
    FLOAT8E4M3FNUZ = 18, 8, Float;
    FLOAT8E5M2 = 19, 8, Float;
    FLOAT8E5M2FNUZ = 20, 8, Float;
    UINT4 = 21, 4, UnsignedInt;
    INT4 = 22, 4, SignedInt;
    FLOAT4E2M1 = 23, 4, Float;
    FLOAT8E8M0 = 24, 8, Float;
    UINT2 = 25, 2, UnsignedInt;
    INT2 = 26, 2, SignedInt;
    FLOAT6E2M3 = 27, 6, Float;
    FLOAT6E3M2 = 28, 6, Float;
}

impl DataType {
    pub fn is_known(self) -> bool {
        self.info().is_some()
    }

    /// Bits per element, `None` for strings, `UNDEFINED` and unknown codes.
    pub fn bits(self) -> Option<u32> {
        self.info().map(|i| i.bits).filter(|&b| b > 0)
    }

    /// Bytes needed to store `count` elements packed (sub-byte types round up), or `None` when
    /// the size is not fixed or overflows.
    pub fn byte_len(self, count: u64) -> Option<u64> {
        let bits = u64::from(self.bits()?);
        Some(count.checked_mul(bits)?.div_ceil(8))
    }

    /// Lower-case name as the ONNX text format writes it (`float`, `int64`, `float16`, ...).
    pub fn text_name(self) -> Option<String> {
        self.info().map(|i| i.name.to_ascii_lowercase())
    }
}

impl fmt::Debug for DataType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.info() {
            Some(i) => f.write_str(i.name),
            None => write!(f, "DataType({})", self.0),
        }
    }
}

impl fmt::Display for DataType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.text_name() {
            Some(n) => f.write_str(&n),
            None => write!(f, "dtype{}", self.0),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes() {
        assert_eq!(DataType::FLOAT.byte_len(3), Some(12));
        assert_eq!(DataType::INT4.byte_len(3), Some(2));
        assert_eq!(DataType::INT2.byte_len(5), Some(2));
        assert_eq!(DataType::STRING.byte_len(1), None);
        assert_eq!(DataType::FLOAT.byte_len(u64::MAX), None);
        assert_eq!(DataType(99).info(), None);
        assert_eq!(format!("{:?}", DataType(99)), "DataType(99)");
        assert_eq!(DataType::BFLOAT16.to_string(), "bfloat16");
        assert_eq!(DataType::ALL.len(), 29);
    }
}
