//! Attributes: `<kernel_shape = [3, 3], alpha = 0.5, mode = "constant">`.
//!
//! The value's syntax decides its type, as in onnx: `1` is an int, `1.0` a float, `"s"` a
//! string, `float[2] {1.0, 2.0}` a tensor, `float[2]` a type, `name (..) => (..) {..}` a graph,
//! `[...]` a list of any of those, `@name` a reference to an attribute of the enclosing
//! function. A `: type` annotation (`alpha: float = 1`) is needed only for an empty list, and
//! allows an integer where a float is declared.
//!
//! ferry extends onnx here in three unambiguous ways: lists of tensors, graphs and types (onnx
//! 1.23 parses them but drops their elements), subgraphs with a quoted name (`"then branch" ()
//! => ...`, which onnx reads as a string), and quoted attribute names. When ints and floats
//! are mixed in a list, the list is of floats.

use crate::ast::{AttrAst, AttrValueAst, GraphAst, Name};
use crate::cursor::{PResult, Parser};
use crate::lexer::{Kind, unescape};
use crate::names::{is_float_word, is_type_word};
use bytes::Bytes;
use ferry_ir::{AttrValue, Tensor, Type, attr_type as at};

/// Attribute type names in annotations, with their `AttributeType` codes.
const ATTR_TYPES: &[(&str, i32)] = &[
    ("float", at::FLOAT),
    ("int", at::INT),
    ("string", at::STRING),
    ("tensor", at::TENSOR),
    ("graph", at::GRAPH),
    ("sparse_tensor", at::SPARSE_TENSOR),
    ("type_proto", at::TYPE_PROTO),
    ("floats", at::FLOATS),
    ("ints", at::INTS),
    ("strings", at::STRINGS),
    ("tensors", at::TENSORS),
    ("graphs", at::GRAPHS),
    ("sparse_tensors", at::SPARSE_TENSORS),
    ("type_protos", at::TYPE_PROTOS),
];

/// The annotation name of an `AttributeType` code.
pub(crate) fn attr_type_name(code: i32) -> Option<&'static str> {
    ATTR_TYPES.iter().find(|(_, c)| *c == code).map(|(n, _)| *n)
}

/// The list type whose elements have type `code`, or `None` if `code` is not a single type.
fn list_of(code: i32) -> Option<i32> {
    match code {
        at::FLOAT => Some(at::FLOATS),
        at::INT => Some(at::INTS),
        at::STRING => Some(at::STRINGS),
        at::TENSOR => Some(at::TENSORS),
        at::GRAPH => Some(at::GRAPHS),
        at::SPARSE_TENSOR => Some(at::SPARSE_TENSORS),
        at::TYPE_PROTO => Some(at::TYPE_PROTOS),
        _ => None,
    }
}

/// One attribute value outside a list.
enum Single {
    Int(i64),
    Float(f32),
    Str(String),
    Tensor(Tensor),
    Graph(GraphAst),
    Type(Type),
    Ref(String),
}

impl Single {
    fn code(&self) -> i32 {
        match self {
            Single::Int(_) => at::INT,
            Single::Float(_) => at::FLOAT,
            Single::Str(_) => at::STRING,
            Single::Tensor(_) => at::TENSOR,
            Single::Graph(_) => at::GRAPH,
            Single::Type(_) => at::TYPE_PROTO,
            Single::Ref(_) => at::UNDEFINED,
        }
    }

    /// Applies an expected type: an int becomes a float where a float is declared.
    fn coerce(self, want: i32) -> Single {
        match self {
            Single::Int(i) if want == at::FLOAT => Single::Float(i as f32),
            s => s,
        }
    }
}

fn kind_name(code: i32) -> &'static str {
    match code {
        at::UNDEFINED => "an @reference",
        _ => attr_type_name(code).unwrap_or("?"),
    }
}

impl Parser<'_> {
    /// `< attr, attr, ... >`
    pub(crate) fn attr_list(&mut self) -> PResult<Vec<AttrAst>> {
        self.expect(b'<', "to open the attributes")?;
        let mut attrs = Vec::new();
        loop {
            let name = self.quotable("an attribute name")?;
            attrs.push(self.attr_after_name(name)?);
            if !self.eat(b',') {
                break;
            }
        }
        self.expect(b'>', "to close the attributes")?;
        Ok(attrs)
    }

    /// `(: type)? = value`, after the attribute's name.
    pub(crate) fn attr_after_name(&mut self, name: Name) -> PResult<AttrAst> {
        let mut annotation = None;
        if self.eat(b':') {
            let t = self.ident("an attribute type such as int, floats or tensor")?;
            let code = ATTR_TYPES.iter().find(|(n, _)| *n == t.text).map(|(_, c)| *c);
            let Some(code) = code else {
                let all: Vec<&str> = ATTR_TYPES.iter().map(|(n, _)| *n).collect();
                return Err(self.error_at(
                    t.pos,
                    format!(
                        "unknown attribute type '{}' (expected one of {})",
                        t.text,
                        all.join(", ")
                    ),
                ));
            };
            annotation = Some(code);
        }
        self.expect(b'=', &format!("after the attribute name '{}'", name.text))?;
        let value_pos = self.peek().start;
        let mut attr = AttrAst {
            name: name.text,
            ref_attr_name: None,
            declared: annotation,
            value: plain(AttrValue::Empty),
        };
        if self.eat(b'[') {
            let mut items = Vec::new();
            if !self.at_punct(b']') {
                loop {
                    items.push((self.peek().start, self.single()?));
                    if !self.eat(b',') {
                        break;
                    }
                }
            }
            self.expect(b']', "to close the list")?;
            let (declared, value) = self.list(&attr.name, items, annotation, value_pos)?;
            attr.declared = Some(declared);
            attr.value = value;
            return Ok(attr);
        }
        let value = self.single()?;
        if let Single::Ref(r) = value {
            attr.ref_attr_name = Some(r);
            return Ok(attr);
        }
        let value = match annotation {
            Some(want) => value.coerce(want),
            None => value,
        };
        if let Some(want) = annotation
            && want != value.code()
        {
            return Err(self.error_at(
                value_pos,
                format!(
                    "attribute '{}' is declared {} but its value is {}",
                    attr.name,
                    kind_name(want),
                    kind_name(value.code())
                ),
            ));
        }
        attr.declared = Some(value.code());
        attr.value = match value {
            Single::Int(i) => plain(AttrValue::Int(i)),
            Single::Float(f) => plain(AttrValue::Float(f)),
            Single::Str(s) => plain(AttrValue::String(Bytes::from(s))),
            Single::Tensor(t) => plain(AttrValue::Tensor(Box::new(t))),
            Single::Type(t) => plain(AttrValue::Type(Box::new(t))),
            Single::Graph(g) => AttrValueAst::Graph(Box::new(g)),
            Single::Ref(_) => plain(AttrValue::Empty),
        };
        Ok(attr)
    }

    /// Combines list items into one list value; returns its type code and value.
    fn list(
        &self,
        name: &str,
        items: Vec<(usize, Single)>,
        annotation: Option<i32>,
        pos: usize,
    ) -> PResult<(i32, AttrValueAst)> {
        let list_code = match annotation {
            Some(code) if list_of(code).is_some() => {
                return Err(self.error_at(
                    pos,
                    format!(
                        "attribute '{name}' is declared {} and cannot be a list",
                        kind_name(code)
                    ),
                ));
            }
            Some(code) => Some(code),
            None => None,
        };
        if items.is_empty() {
            let Some(code) = list_code else {
                return Err(self.error_at(
                    pos,
                    format!("an empty list needs its type, as in {name}: ints = []"),
                ));
            };
            return Ok((code, plain(AttrValue::Empty)));
        }
        // The element type: from the annotation, else the first item (ints widen to floats).
        let elem = match list_code {
            Some(code) => ATTR_TYPES
                .iter()
                .map(|(_, c)| *c)
                .find(|&c| list_of(c) == Some(code))
                .unwrap_or(at::UNDEFINED),
            None if items.iter().any(|(_, s)| matches!(s, Single::Float(_)))
                && items.iter().all(|(_, s)| matches!(s, Single::Float(_) | Single::Int(_))) =>
            {
                at::FLOAT
            }
            None => items[0].1.code(),
        };
        let code = list_of(elem).unwrap_or(at::UNDEFINED);
        macro_rules! collect {
            ($variant:ident) => {{
                let mut out = Vec::with_capacity(items.len());
                for (p, item) in items {
                    match item.coerce(elem) {
                        Single::$variant(v) => out.push(v),
                        other => {
                            return Err(self.error_at(
                                p,
                                format!(
                                    "the list '{name}' holds {} values, but this one is {}",
                                    kind_name(elem),
                                    kind_name(other.code())
                                ),
                            ));
                        }
                    }
                }
                out
            }};
        }
        let value = match elem {
            at::INT => plain(AttrValue::Ints(collect!(Int))),
            at::FLOAT => plain(AttrValue::Floats(collect!(Float))),
            at::STRING => {
                plain(AttrValue::Strings(collect!(Str).into_iter().map(Bytes::from).collect()))
            }
            at::TENSOR => plain(AttrValue::Tensors(collect!(Tensor))),
            at::TYPE_PROTO => plain(AttrValue::Types(collect!(Type))),
            at::GRAPH => AttrValueAst::Graphs(collect!(Graph)),
            at::SPARSE_TENSOR => {
                return Err(self.error_at(pos, "the text syntax has no sparse tensor values"));
            }
            _ => return Err(self.error_at(items[0].0, "an @reference cannot be a list element")),
        };
        Ok((code, value))
    }

    /// One value: number, string, tensor, type, graph or `@reference`.
    fn single(&mut self) -> PResult<Single> {
        let t = self.peek();
        match t.kind {
            Kind::Punct(b'@') => {
                self.bump();
                Ok(Single::Ref(self.quotable("the name of the function attribute")?.text))
            }
            Kind::Ident if is_type_word(self.text(t)) => {
                let ty = self.parse_type()?;
                let next = self.peek().kind;
                let tensor =
                    matches!(next, Kind::Punct(b'{' | b'=' | b'[') | Kind::Ident | Kind::Str);
                if !tensor {
                    return Ok(Single::Type(ty));
                }
                let name = if matches!(next, Kind::Ident | Kind::Str) {
                    Some(self.quotable("a tensor name")?.text)
                } else {
                    None
                };
                self.eat(b'=');
                Ok(Single::Tensor(self.tensor_literal(&ty, t.start, name)?))
            }
            Kind::Ident if is_float_word(self.text(t)) => Ok(Single::Float(self.float_value()?)),
            Kind::Ident => Ok(Single::Graph(self.graph()?)),
            Kind::Str if self.peek2().kind == Kind::Punct(b'(') => Ok(Single::Graph(self.graph()?)),
            Kind::Str => {
                self.bump();
                Ok(Single::Str(unescape(self.text(t))))
            }
            Kind::Int => Ok(Single::Int(self.int("an integer")?)),
            Kind::Float => Ok(Single::Float(self.float_value()?)),
            _ => Err(self.expected(
                "an attribute value (a number, string, tensor, type, graph, [list] or @reference)",
            )),
        }
    }
}

fn plain(v: AttrValue) -> AttrValueAst {
    AttrValueAst::Plain(v)
}
