//! Value types: `float[N,3]`, `float` (a scalar), `float[]` (rank unknown), `seq(T)`,
//! `map(K, T)`, `optional(T)`, `sparse_tensor(float[2,3])`, `opaque(domain, name)`.
//!
//! Note the one surprise of the syntax, kept from onnx: a bare element type is a *scalar*, and
//! empty brackets mean *rank unknown*. Dimensions are numbers, symbols (`N`, or quoted for any
//! other string, `"N+1"`) or `?`.

use crate::cursor::{PResult, Parser};
use crate::names::{is_identifier, is_type_word, prim_type, write_display, write_name};
use ferry_ir::{DataType, Dim, DimValue, Shape, TensorType, Type, TypeKind};

/// Types nested deeper than this (`seq(seq(...))`) are refused: a guard against stack
/// exhaustion on crafted input.
pub(crate) const MAX_TYPE_DEPTH: usize = 64;

impl Parser<'_> {
    /// Whether the next token starts a type.
    pub(crate) fn at_type(&self) -> bool {
        let t = self.peek();
        t.kind == crate::lexer::Kind::Ident && is_type_word(self.text(t))
    }

    pub(crate) fn parse_type(&mut self) -> PResult<Type> {
        let start = self.peek().start;
        if self.type_depth >= MAX_TYPE_DEPTH {
            return Err(
                self.error_at(start, format!("types nest deeper than {MAX_TYPE_DEPTH} levels"))
            );
        }
        self.type_depth += 1;
        let t = self.type_inner();
        self.type_depth -= 1;
        t.map(|kind| Type { kind: Some(kind), denotation: None })
    }

    fn type_inner(&mut self) -> PResult<TypeKind> {
        let word = self.ident("a type such as float[N,3], int64 or seq(float)")?;
        if let Some(elem) = prim_type(&word.text) {
            return Ok(TypeKind::Tensor(self.tensor_type(elem)?));
        }
        if !is_type_word(&word.text) {
            return Err(self.error_at(word.pos, format!("'{}' is not a type", word.text)));
        }
        let open = format!("after '{}'", word.text);
        self.expect(b'(', &open)?;
        let kind = match word.text.as_str() {
            "seq" => TypeKind::Sequence(Some(Box::new(self.parse_type()?))),
            "optional" => TypeKind::Optional(Some(Box::new(self.parse_type()?))),
            "map" => {
                let key = self.elem_type("the key type of the map, such as int64 or string")?;
                self.expect(b',', "after the map's key type")?;
                TypeKind::Map { key: Some(key), value: Some(Box::new(self.parse_type()?)) }
            }
            "sparse_tensor" => {
                let elem = self.elem_type("the element type of the sparse tensor")?;
                TypeKind::SparseTensor(self.tensor_type(elem)?)
            }
            "opaque" => self.opaque()?,
            other => {
                return Err(self.error_at(word.pos, format!("'{other}' is not a type")));
            }
        };
        self.expect(b')', &format!("to close the {} type", word.text))?;
        Ok(kind)
    }

    fn elem_type(&mut self, what: &str) -> PResult<DataType> {
        let word = self.ident(what)?;
        prim_type(&word.text).ok_or_else(|| {
            self.error_at(word.pos, format!("expected {what}, found '{}'", word.text))
        })
    }

    /// The optional `[dims]` after an element type.
    fn tensor_type(&mut self, elem: DataType) -> PResult<TensorType> {
        let shape = if self.eat(b'[') {
            if self.eat(b']') {
                None
            } else {
                let mut dims = Vec::new();
                loop {
                    dims.push(self.dim()?);
                    if !self.eat(b',') {
                        break;
                    }
                }
                self.expect(b']', "to close the dimensions")?;
                Some(Shape { dims })
            }
        } else {
            Some(Shape::default())
        };
        Ok(TensorType { elem: Some(elem), shape })
    }

    fn dim(&mut self) -> PResult<Dim> {
        use crate::lexer::Kind;
        let t = self.peek();
        let value = match t.kind {
            Kind::Punct(b'?') => {
                self.bump();
                DimValue::Unknown
            }
            Kind::Int => DimValue::Known(self.int("a dimension")?),
            Kind::Ident | Kind::Str => DimValue::Symbol(self.quotable("a dimension")?.text),
            _ => return Err(self.expected("a dimension: a number, a name such as N, or ?")),
        };
        Ok(Dim { value, denotation: None })
    }

    /// After `opaque(`: nothing, a name, or a domain and a name.
    fn opaque(&mut self) -> PResult<TypeKind> {
        if self.at_punct(b')') {
            return Ok(TypeKind::Opaque { domain: None, name: None });
        }
        let first = self.dotted("the opaque type's name (or its domain)")?;
        if self.eat(b',') {
            let name = self.quotable("the opaque type's name")?.text;
            return Ok(TypeKind::Opaque { domain: Some(first), name: Some(name) });
        }
        Ok(TypeKind::Opaque { domain: None, name: Some(first) })
    }

    /// `a.b.c`, or one quoted string.
    fn dotted(&mut self, what: &str) -> PResult<String> {
        let mut s = self.quotable(what)?.text;
        while self.eat(b'.') {
            s.push('.');
            s.push_str(&self.ident(what)?.text);
        }
        Ok(s)
    }
}

/// Appends `ty` in the text syntax, or says why it cannot be written (a part the syntax
/// requires is unknown). Denotations are not written: the syntax has no place for them (see
/// [`has_denotation`]).
pub(crate) fn write_type(out: &mut String, ty: &Type) -> Result<(), String> {
    let Some(kind) = &ty.kind else {
        return Err("a type with no kind".into());
    };
    let inner = |out: &mut String, t: &Option<Box<Type>>, what: &str| match t {
        Some(t) => write_type(out, t),
        None => Err(format!("{what} without an element type")),
    };
    match kind {
        TypeKind::Tensor(t) => write_tensor_type(out, t),
        TypeKind::SparseTensor(t) => {
            out.push_str("sparse_tensor(");
            write_tensor_type(out, t)?;
            out.push(')');
            Ok(())
        }
        TypeKind::Sequence(t) => {
            out.push_str("seq(");
            inner(out, t, "a sequence")?;
            out.push(')');
            Ok(())
        }
        TypeKind::Optional(t) => {
            out.push_str("optional(");
            inner(out, t, "an optional")?;
            out.push(')');
            Ok(())
        }
        TypeKind::Map { key, value } => {
            out.push_str("map(");
            out.push_str(&elem_name(*key, "a map key")?);
            out.push_str(", ");
            inner(out, value, "a map")?;
            out.push(')');
            Ok(())
        }
        TypeKind::Opaque { domain, name } => {
            let domain = domain.as_deref().unwrap_or("");
            let name = name.as_deref().unwrap_or("");
            out.push_str("opaque(");
            match (domain.is_empty(), name.is_empty()) {
                (true, true) => {}
                (true, false) => write_dotted(out, name),
                (false, false) => {
                    write_dotted(out, domain);
                    out.push_str(", ");
                    write_name(out, name);
                }
                (false, true) => return Err("an opaque type with a domain but no name".into()),
            }
            out.push(')');
            Ok(())
        }
    }
}

fn write_dotted(out: &mut String, s: &str) {
    if s.split('.').all(is_identifier) {
        out.push_str(s);
    } else {
        crate::names::write_quoted(out, s);
    }
}

fn elem_name(elem: Option<DataType>, what: &str) -> Result<String, String> {
    let e = elem.ok_or_else(|| format!("{what} without an element type"))?;
    match e.text_name() {
        Some(n) if e != DataType::UNDEFINED => Ok(n),
        _ => Err(format!("element type code {} has no name in the syntax", e.0)),
    }
}

fn write_tensor_type(out: &mut String, t: &TensorType) -> Result<(), String> {
    out.push_str(&elem_name(t.elem, "a tensor type")?);
    match &t.shape {
        None => out.push_str("[]"),
        Some(s) if s.dims.is_empty() => {}
        Some(s) => {
            out.push('[');
            for (i, d) in s.dims.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                match &d.value {
                    DimValue::Known(n) => write_display(out, n),
                    DimValue::Symbol(s) => write_name(out, s),
                    DimValue::Unknown => out.push('?'),
                }
            }
            out.push(']');
        }
    }
    Ok(())
}

/// Whether `ty` carries denotations (of the type or of a dimension), which the syntax drops.
pub(crate) fn has_denotation(ty: &Type) -> bool {
    let boxed = |t: &Option<Box<Type>>| t.as_deref().is_some_and(has_denotation);
    let dims = |t: &TensorType| {
        t.shape.as_ref().is_some_and(|s| s.dims.iter().any(|d| d.denotation.is_some()))
    };
    ty.denotation.is_some()
        || match &ty.kind {
            Some(TypeKind::Tensor(t)) | Some(TypeKind::SparseTensor(t)) => dims(t),
            Some(TypeKind::Sequence(t)) | Some(TypeKind::Optional(t)) => boxed(t),
            Some(TypeKind::Map { value, .. }) => boxed(value),
            _ => false,
        }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn roundtrip(text: &str) -> String {
        let mut p = Parser::new(text);
        let ty = p.parse_type().unwrap_or_else(|e| panic!("{text}: {e}"));
        assert!(p.at_eof(), "{text}: trailing tokens");
        let mut out = String::new();
        write_type(&mut out, &ty).unwrap();
        out
    }

    #[test]
    fn types_print_as_parsed() {
        for t in [
            "float[N,3]",
            "float",
            "float[]",
            "int64[?,-1,\"N+1\"]",
            "seq(map(string, optional(float[2])))",
            "sparse_tensor(float[2,3])",
            "opaque()",
            "opaque(x.y)",
            "opaque(dom.a, name)",
            "float8e4m3fn[1]",
        ] {
            assert_eq!(roundtrip(t), t);
        }
        assert_eq!(roundtrip("float [ N , 3 ]"), "float[N,3]");
    }

    #[test]
    fn errors() {
        let err = |t: &str| Parser::new(t).parse_type().unwrap_err().to_string();
        assert_eq!(
            err("map(float[2], int64)"),
            "1:10: expected ',' after the map's key type, found '['"
        );
        assert_eq!(err("flot[2]"), "1:1: 'flot' is not a type");
        assert!(err(&"seq(".repeat(100)).contains("nest deeper"));
    }
}
