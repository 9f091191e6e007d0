//! The shape of an operator schema, as the generated table spells it.

/// One version of one operator: what it accepts from `since_version` until the next version.
#[derive(Debug)]
pub struct OpSchema {
    /// "" for the default `ai.onnx` domain.
    pub domain: &'static str,
    pub name: &'static str,
    pub since_version: u32,
    pub deprecated: bool,
    /// The operator is defined by a function body (possibly context dependent) in onnx.
    pub has_function: bool,
    pub min_input: u32,
    /// `u32::MAX`: unbounded.
    pub max_input: u32,
    pub min_output: u32,
    pub max_output: u32,
    pub inputs: &'static [Formal],
    pub outputs: &'static [Formal],
    /// Sorted by name.
    pub attributes: &'static [AttrSchema],
    pub type_constraints: &'static [TypeConstraint],
}

/// A formal input or output.
#[derive(Debug)]
pub struct Formal {
    pub name: &'static str,
    /// A type parameter (`T`) or a fixed type (`tensor(int64)`).
    pub type_str: &'static str,
    pub option: Opt,
    /// For variadics: all actual parameters share one type.
    pub homogeneous: bool,
    /// For variadics: the least number of actual parameters.
    pub min_arity: u32,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Opt {
    Single,
    Optional,
    Variadic,
}

#[derive(Debug)]
pub struct AttrSchema {
    pub name: &'static str,
    /// ONNX `AttributeType` code (see `ferry_ir::attr_type`).
    pub ty: i32,
    pub required: bool,
    pub default: Option<AttrDefault>,
}

#[derive(Debug)]
pub enum AttrDefault {
    Int(i64),
    /// IEEE-754 bits, so defaults are exact.
    Float(u32),
    String(&'static str),
    Ints(&'static [i64]),
    Floats(&'static [u32]),
    Strings(&'static [&'static str]),
}

/// The types a type parameter may take, as ONNX type strings (`tensor(float)`, `seq(tensor(int64))`).
#[derive(Debug)]
pub struct TypeConstraint {
    pub param: &'static str,
    pub allowed: &'static [&'static str],
}

impl OpSchema {
    pub fn attribute(&self, name: &str) -> Option<&'static AttrSchema> {
        self.attributes.binary_search_by(|a| a.name.cmp(name)).ok().map(|i| &self.attributes[i])
    }

    pub fn type_constraint(&self, param: &str) -> Option<&'static TypeConstraint> {
        self.type_constraints.iter().find(|t| t.param == param)
    }
}

impl AttrDefault {
    pub fn as_f32(&self) -> Option<f32> {
        match self {
            AttrDefault::Float(bits) => Some(f32::from_bits(*bits)),
            _ => None,
        }
    }
}
