//! Printing attributes: `name = value`, with `name: type = ...` only where the value does not
//! say its type (an empty list) and `name: type = @ref` for references.
//!
//! Every value form prints so that the parser infers the same type back: floats always carry a
//! `.` or an exponent, tensors always carry `{...}` (or an external `[...]`), so they are not
//! read as ints or types.

use crate::attrs::attr_type_name;
use crate::names::{write_bytes, write_display, write_list, write_name};
use crate::print_tensor::{write_f32, write_tensor_head, write_tensor_values};
use crate::printer::Printer;
use crate::types::write_type;
use ferry_ir::{AttrValue, Attribute, Tensor, attr_type as at};

/// Whether an `AttributeType` code is a list type.
fn is_list(code: i32) -> bool {
    matches!(
        code,
        at::FLOATS
            | at::INTS
            | at::STRINGS
            | at::TENSORS
            | at::GRAPHS
            | at::SPARSE_TENSORS
            | at::TYPE_PROTOS
    )
}

impl Printer {
    /// Appends attribute `a` (of a node at indentation `level`). Returns false, having recorded
    /// why, when it cannot be written at all.
    pub(crate) fn attr(
        &mut self,
        out: &mut String,
        a: &Attribute,
        level: usize,
        path: &str,
    ) -> bool {
        let path = format!("{path} / attribute '{}'", a.name);
        if a.doc_string.is_some() {
            self.lose(&path, "doc_string");
        }
        write_name(out, &a.name);
        let declared = a.declared.filter(|&d| d != at::UNDEFINED);
        if let Some(r) = &a.ref_attr_name {
            if let Some(name) = declared.and_then(attr_type_name) {
                out.push_str(": ");
                out.push_str(name);
            }
            out.push_str(" = @");
            write_name(out, r);
            if !matches!(a.value, AttrValue::Empty) {
                self.lose(&path, "the value stored beside its @reference");
            }
            return true;
        }
        let code = a.value.type_code();
        if let AttrValue::Empty = a.value {
            return match declared.filter(|&d| is_list(d)).and_then(attr_type_name) {
                Some(name) => {
                    out.push_str(": ");
                    out.push_str(name);
                    out.push_str(" = []");
                    true
                }
                None => {
                    self.lose(&path, "the whole attribute: it has no value and no list type");
                    false
                }
            };
        }
        if let Some(d) = declared
            && d != code
        {
            let what = format!(
                "its declared type {} (its value is {})",
                attr_type_name(d).unwrap_or("?"),
                attr_type_name(code).unwrap_or("?")
            );
            self.lose(&path, what);
        }
        out.push_str(" = ");
        match &a.value {
            AttrValue::Empty => true,
            AttrValue::Float(f) => self.float(out, *f, &path),
            AttrValue::Int(i) => {
                write_display(out, i);
                true
            }
            AttrValue::String(s) => self.bytes(out, s, &path),
            AttrValue::Tensor(t) => self.tensor(out, t, &path),
            AttrValue::Graph(g) => {
                let gpath = format!("{path} / {}", crate::printer::graph_path(g));
                self.graph(out, g, level, &gpath);
                true
            }
            AttrValue::Type(t) => self.ty(out, t, &path),
            AttrValue::Floats(v) => self.list(out, v, |p, o, f| p.float(o, *f, &path)),
            AttrValue::Ints(v) => self.list(out, v, |_, o, i| {
                write_display(o, i);
                true
            }),
            AttrValue::Strings(v) => self.list(out, v, |p, o, s| p.bytes(o, s, &path)),
            AttrValue::Tensors(v) => self.list(out, v, |p, o, t| p.tensor(o, t, &path)),
            AttrValue::Graphs(v) => self.list(out, v, |p, o, g| {
                let gpath = format!("{path} / {}", crate::printer::graph_path(g));
                p.graph(o, g, level, &gpath);
                true
            }),
            AttrValue::Types(v) => self.list(out, v, |p, o, t| p.ty(o, t, &path)),
            AttrValue::SparseTensor(_) | AttrValue::SparseTensors(_) => {
                self.lose(&path, "the whole attribute: the syntax has no sparse tensors");
                false
            }
        }
    }

    /// `[a, b, ...]`; false if any element cannot be written.
    fn list<T>(
        &mut self,
        out: &mut String,
        items: &[T],
        mut f: impl FnMut(&mut Self, &mut String, &T) -> bool,
    ) -> bool {
        out.push('[');
        let mut ok = true;
        write_list(out, items, ", ", |o, item| ok &= f(self, o, item));
        out.push(']');
        ok
    }

    fn float(&mut self, out: &mut String, f: f32, path: &str) -> bool {
        if !write_f32(out, f) {
            self.lose(path, "a NaN payload");
        }
        true
    }

    fn bytes(&mut self, out: &mut String, s: &[u8], path: &str) -> bool {
        if !write_bytes(out, s) {
            self.lose(path, "bytes that are not UTF-8 (printed lossily)");
        }
        true
    }

    fn ty(&mut self, out: &mut String, t: &ferry_ir::Type, path: &str) -> bool {
        if let Err(why) = write_type(out, t) {
            self.lose(path, format!("the whole attribute: its type ({why})"));
            return false;
        }
        if crate::types::has_denotation(t) {
            self.lose(path, "type denotation");
        }
        true
    }

    /// `float[2] {1.0, 2.0}`, or `float[2] name {..}` for a named tensor.
    fn tensor(&mut self, out: &mut String, t: &Tensor, path: &str) -> bool {
        self.tensor_extras(t, path);
        let mut s = String::new();
        if let Err(why) = write_tensor_head(&mut s, t) {
            self.lose(path, format!("the whole attribute: {why}"));
            return false;
        }
        if let Some(name) = t.name.as_deref().filter(|n| !n.is_empty()) {
            s.push(' ');
            write_name(&mut s, name);
        }
        s.push(' ');
        match write_tensor_values(&mut s, t) {
            Ok(lost) => {
                if let Some(lost) = lost {
                    self.lose(path, lost);
                }
                out.push_str(&s);
                true
            }
            Err(why) => {
                self.lose(path, format!("the whole attribute: {why}"));
                false
            }
        }
    }
}
