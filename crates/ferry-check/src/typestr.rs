//! ONNX type strings (`tensor(float)`, `seq(tensor(int64))`, `map(string, float)`), as operator
//! schemas write their type constraints, and the same strings for IR types, in one canonical
//! spelling so that the two can be compared.

use ferry_ir::{Type, TypeKind};

/// The canonical spelling of a schema type string: no spaces, and map values written as
/// tensor types (schemas write `map(string, float)`, meaning a map to float tensors).
pub fn canonical(schema: &str) -> String {
    let s: String = schema.chars().filter(|c| !c.is_whitespace()).collect();
    fix_maps(&s)
}

fn fix_maps(s: &str) -> String {
    let Some(start) = s.find("map(") else { return s.to_string() };
    let inner_start = start + 4;
    // Find the matching close paren of this map(...).
    let mut depth = 1;
    let mut end = None;
    for (i, c) in s[inner_start..].char_indices() {
        match c {
            '(' => depth += 1,
            ')' => {
                depth -= 1;
                if depth == 0 {
                    end = Some(inner_start + i);
                    break;
                }
            }
            _ => {}
        }
    }
    let Some(end) = end else { return s.to_string() };
    let inner = &s[inner_start..end];
    let fixed = match inner.split_once(',') {
        Some((k, v)) if !v.contains('(') => format!("{k},tensor({v})"),
        Some((k, v)) => format!("{k},{}", fix_maps(v)),
        None => inner.to_string(),
    };
    format!("{}map({fixed}){}", &s[..start], fix_maps(&s[end + 1..]))
}

/// The canonical type string of an IR type, or `None` when part of it is unknown.
pub fn of_type(t: &Type) -> Option<String> {
    Some(match t.kind.as_ref()? {
        TypeKind::Tensor(tt) => format!("tensor({})", tt.elem?.text_name()?),
        TypeKind::SparseTensor(tt) => format!("sparse_tensor({})", tt.elem?.text_name()?),
        TypeKind::Sequence(e) => format!("seq({})", of_type(e.as_ref()?)?),
        TypeKind::Optional(e) => format!("optional({})", of_type(e.as_ref()?)?),
        TypeKind::Map { key, value } => {
            format!("map({},{})", key.as_ref()?.text_name()?, of_type(value.as_ref()?)?)
        }
        TypeKind::Opaque { .. } => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use ferry_ir::DataType;

    #[test]
    fn spellings_agree() {
        assert_eq!(canonical("map(string, float)"), "map(string,tensor(float))");
        assert_eq!(canonical("seq(map(int64, float))"), "seq(map(int64,tensor(float)))");
        assert_eq!(canonical("tensor(float16)"), "tensor(float16)");
        let t = Type::tensor(DataType::FLOAT16, []);
        assert_eq!(of_type(&t).as_deref(), Some("tensor(float16)"));
        let m = Type {
            kind: Some(TypeKind::Map {
                key: Some(DataType::STRING),
                value: Some(Box::new(Type::tensor(DataType::FLOAT, []))),
            }),
            denotation: None,
        };
        assert_eq!(of_type(&m).as_deref(), Some("map(string,tensor(float))"));
    }
}
