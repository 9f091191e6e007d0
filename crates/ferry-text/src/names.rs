//! Which names print bare and which need quotes, and the keywords of the syntax.
//!
//! A name prints bare only if it lexes as one identifier *and* cannot be mistaken for something
//! else where names appear: a type keyword (`float`, `seq`, ...) starts a type in value lists,
//! and `inf`/`nan` are float literals in attribute values. Everything else is quoted, which the
//! parser accepts wherever a value, node, graph, function or attribute name goes.

use ferry_ir::DataType;
use std::fmt::Write;

/// The element type named `name` in the text syntax (`float`, `int64`, `float8e4m3fn`, ...).
pub(crate) fn prim_type(name: &str) -> Option<DataType> {
    if name.bytes().any(|b| b.is_ascii_uppercase()) {
        return None;
    }
    DataType::ALL.iter().copied().find(|&d| {
        d != DataType::UNDEFINED && d.info().is_some_and(|i| i.name.eq_ignore_ascii_case(name))
    })
}

/// Words that start a type besides the element type names.
const TYPE_WORDS: &[&str] = &["seq", "map", "optional", "sparse_tensor", "opaque"];

/// Whether an identifier starts a type.
pub(crate) fn is_type_word(word: &str) -> bool {
    TYPE_WORDS.contains(&word) || prim_type(word).is_some()
}

/// Whether an identifier is a float literal (`inf`, `infinity`, `nan`, in any case).
pub(crate) fn is_float_word(word: &str) -> bool {
    ["inf", "infinity", "nan"].iter().any(|w| w.eq_ignore_ascii_case(word))
}

/// Whether `s` lexes as a single identifier.
pub(crate) fn is_identifier(s: &str) -> bool {
    let mut bytes = s.bytes();
    matches!(bytes.next(), Some(b'a'..=b'z' | b'A'..=b'Z' | b'_'))
        && bytes.all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

/// Whether `s` can be printed without quotes in any name position.
pub(crate) fn is_bare(s: &str) -> bool {
    is_identifier(s) && !is_type_word(s) && !is_float_word(s)
}

/// Appends `s` as a string literal: quotes around it, backslashes before `"` and `\`.
pub(crate) fn write_quoted(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        if c == '"' || c == '\\' {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('"');
}

/// Appends a name, quoted unless it is bare.
pub(crate) fn write_name(out: &mut String, s: &str) {
    if is_bare(s) {
        out.push_str(s);
    } else {
        write_quoted(out, s);
    }
}

/// Appends a dotted domain prefix and operator type (`com.example.Foo`); parts that are not
/// identifiers are quoted (a ferry extension: onnx's parser takes identifiers only).
pub(crate) fn write_op(out: &mut String, domain: &str, op: &str) {
    if !domain.is_empty() {
        if domain.split('.').all(is_identifier) {
            out.push_str(domain);
        } else {
            write_quoted(out, domain);
        }
        out.push('.');
    }
    if is_identifier(op) {
        out.push_str(op);
    } else {
        write_quoted(out, op);
    }
}

/// Appends a string that may hold any bytes. Returns false when they are not UTF-8: the text
/// then holds a lossy rendering (the syntax has no byte escapes).
pub(crate) fn write_bytes(out: &mut String, b: &[u8]) -> bool {
    match std::str::from_utf8(b) {
        Ok(s) => {
            write_quoted(out, s);
            true
        }
        Err(_) => {
            write_quoted(out, &String::from_utf8_lossy(b));
            false
        }
    }
}

/// Appends `items` separated by `sep`, each written by `f`.
pub(crate) fn write_list<T>(
    out: &mut String,
    items: impl IntoIterator<Item = T>,
    sep: &str,
    mut f: impl FnMut(&mut String, T),
) {
    for (i, item) in items.into_iter().enumerate() {
        if i > 0 {
            out.push_str(sep);
        }
        f(out, item);
    }
}

/// Appends a displayable value (numbers, mostly).
pub(crate) fn write_display(out: &mut String, v: impl std::fmt::Display) {
    let _ = write!(out, "{v}");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoting() {
        let mut s = String::new();
        for n in ["X", "_x1", "float", "NaN", "a b", "", "1x", "say \"hi\""] {
            write_name(&mut s, n);
            s.push(' ');
        }
        assert_eq!(s, "X _x1 \"float\" \"NaN\" \"a b\" \"\" \"1x\" \"say \\\"hi\\\"\" ");
        assert_eq!(prim_type("float8e4m3fn"), Some(DataType::FLOAT8E4M3FN));
        assert_eq!(prim_type("undefined"), None);
        let mut op = String::new();
        write_op(&mut op, "com.ms-x", "Foo");
        assert_eq!(op, "\"com.ms-x\".Foo");
    }
}
