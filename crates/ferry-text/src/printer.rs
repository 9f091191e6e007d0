//! IR -> text: models, graphs, functions and nodes.
//!
//! The layout follows onnx's printer (three-space indentation, the initializers in `<...>`
//! under the graph's signature, a node's attributes after its inputs when they hold
//! subgraphs), with two differences for readability: attribute types are written only when the
//! value alone would not say them (an empty list), and long signatures and initializer lists
//! break one entry per line.
//!
//! Whatever the syntax cannot carry (doc strings, metadata, sparse tensors, ...) is left out
//! and recorded in `dropped`, one line per item with where it was, so callers can say so.
//! The output always parses back.

use crate::names::{write_list, write_name, write_op, write_quoted};
use crate::print_tensor::{write_tensor_head, write_tensor_values};
use crate::types::{has_denotation, write_type};
use ferry_ir::{
    DeclSite, Function, Graph, Initializer, Model, NodeId, OpsetImport, ValueId, ValueInfo,
};
use std::collections::HashSet;

pub(crate) const INDENT: &str = "   ";
/// Lines longer than this break into one entry per line (where the syntax allows).
const WIDTH: usize = 100;

#[derive(Default)]
pub(crate) struct Printer {
    pub(crate) dropped: Vec<String>,
}

fn indent(out: &mut String, level: usize) {
    for _ in 0..level {
        out.push_str(INDENT);
    }
}

impl Printer {
    pub(crate) fn lose(&mut self, path: &str, what: impl std::fmt::Display) {
        self.dropped.push(format!("{path}: {what}"));
    }

    pub(crate) fn model(&mut self, out: &mut String, m: &Model) {
        let mut fields = Vec::new();
        let quoted = |s: &str| {
            let mut q = String::new();
            write_quoted(&mut q, s);
            q
        };
        if let Some(v) = m.ir_version {
            fields.push(format!("ir_version: {v}"));
        }
        if !m.opset_imports.is_empty() {
            fields.push(format!("opset_import: {}", self.opsets(&m.opset_imports, "model")));
        }
        let strings = [
            ("producer_name", &m.producer_name),
            ("producer_version", &m.producer_version),
            ("domain", &m.domain),
        ];
        for (key, v) in strings {
            if let Some(v) = v {
                fields.push(format!("{key}: {}", quoted(v)));
            }
        }
        if let Some(v) = m.model_version {
            fields.push(format!("model_version: {v}"));
        }
        if let Some(v) = &m.doc_string {
            fields.push(format!("doc_string: {}", quoted(v)));
        }
        if !m.metadata_props.is_empty() {
            let mut s = String::from("metadata_props: ");
            crate::print_tensor::write_pairs(&mut s, &m.metadata_props);
            fields.push(s);
        }
        write_fields(out, &fields);
        match &m.graph {
            Some(g) => self.graph(out, g, 0, &graph_path(g)),
            None => {
                self.lose("model", "it has no graph; an empty one named \"\" is printed");
                out.push_str("\"\" () => () {\n}");
            }
        }
        out.push('\n');
        for f in &m.functions {
            out.push('\n');
            self.function(out, f);
            out.push('\n');
        }
        if !m.training_info.is_empty() {
            self.lose("model", "training_info (the syntax has none)");
        }
        if !m.configurations.is_empty() {
            self.lose("model", "device configurations (the syntax has none)");
        }
    }

    fn opsets(&mut self, opsets: &[OpsetImport], path: &str) -> String {
        let mut s = String::from("[");
        for (i, o) in opsets.iter().enumerate() {
            if i > 0 {
                s.push_str(", ");
            }
            write_quoted(&mut s, o.domain.as_deref().unwrap_or(""));
            s.push_str(" : ");
            match o.version {
                Some(v) => s.push_str(&v.to_string()),
                None => {
                    self.lose(path, "an opset import without version (printed as 0)");
                    s.push('0');
                }
            }
        }
        s.push(']');
        s
    }

    fn function(&mut self, out: &mut String, f: &Function) {
        let name = f.name.as_deref().unwrap_or("");
        let path = format!("function '{name}'");
        let mut fields = Vec::new();
        for (key, v) in
            [("domain", &f.domain), ("overload", &f.overload), ("doc_string", &f.doc_string)]
        {
            if let Some(v) = v {
                let mut s = format!("{key}: ");
                write_quoted(&mut s, v);
                fields.push(s);
            }
        }
        if !f.opset_imports.is_empty() {
            fields.push(format!("opset_import: {}", self.opsets(&f.opset_imports, &path)));
        }
        if !f.metadata_props.is_empty() {
            self.lose(&path, "metadata_props");
        }
        write_fields(out, &fields);
        write_name(out, name);
        out.push(' ');
        if !f.attributes.is_empty() || !f.attribute_defaults.is_empty() {
            let mut params: Vec<String> = f
                .attributes
                .iter()
                .map(|a| {
                    let mut s = String::new();
                    write_name(&mut s, a);
                    s
                })
                .collect();
            for a in &f.attribute_defaults {
                let mut s = String::new();
                if self.attr(&mut s, a, 0, &path) {
                    params.push(s);
                }
            }
            out.push('<');
            out.push_str(&params.join(", "));
            out.push_str("> ");
        }
        let body = &f.body;
        let names = |ids: &[ValueId]| -> Vec<String> {
            ids.iter()
                .map(|&v| {
                    let mut s = String::new();
                    write_name(&mut s, &body.value(v).name);
                    s
                })
                .collect()
        };
        for &v in body.inputs().iter().chain(body.outputs()) {
            if body.value(v).info.ty.is_some() {
                let what = "a type on a function input or output outside value_info";
                self.lose(&format!("{path} / value '{}'", body.value(v).name), what);
            }
        }
        write_signature(out, &names(body.inputs()), &names(body.outputs()), 0);
        self.graph_rest(out, body, 0, &path, false);
    }

    /// `name (inputs) => (outputs) <inits> { nodes }` at indentation `level` (the level of the
    /// line it starts on; its nodes go one deeper).
    pub(crate) fn graph(&mut self, out: &mut String, g: &Graph, level: usize, path: &str) {
        write_name(out, g.name.as_deref().unwrap_or(""));
        out.push(' ');
        let inputs: Vec<String> =
            (0..g.inputs().len()).map(|i| self.decl(g, DeclSite::Input, i, path)).collect();
        let outputs: Vec<String> =
            (0..g.outputs().len()).map(|i| self.decl(g, DeclSite::Output, i, path)).collect();
        write_signature(out, &inputs, &outputs, level);
        self.graph_rest(out, g, level, path, true);
    }

    /// After the signature: `<initializers, value infos>` and the node list. Function bodies
    /// (`with_inits` false) have no syntax for initializers.
    fn graph_rest(
        &mut self,
        out: &mut String,
        g: &Graph,
        level: usize,
        path: &str,
        with_inits: bool,
    ) {
        if g.doc_string.is_some() {
            self.lose(path, "doc_string");
        }
        if !g.metadata_props.is_empty() {
            self.lose(path, "metadata_props");
        }
        if !g.quantization_annotations.is_empty() {
            self.lose(path, "quantization annotations");
        }
        for &v in g.sparse_initializers() {
            let what = "sparse initializer (the syntax has no sparse tensors)";
            self.lose(&format!("{path} / '{}'", g.value(v).name), what);
        }
        self.unlisted_infos(g, path);
        let mut entries = Vec::new();
        for &v in g.initializers() {
            if !with_inits {
                self.lose(&format!("{path} / '{}'", g.value(v).name), "initializer in a function");
                continue;
            }
            if let Some(s) = self.initializer(g, v, path) {
                entries.push(s);
            }
        }
        for i in 0..g.value_info().len() {
            entries.push(self.decl(g, DeclSite::ValueInfo, i, path));
        }
        if entries.is_empty() {
            out.push_str(" {\n");
        } else {
            out.push('\n');
            let one_line = entries.iter().map(|e| e.len() + 2).sum::<usize>();
            if (level + 1) * INDENT.len() + one_line + 2 <= WIDTH {
                indent(out, level + 1);
                out.push('<');
                out.push_str(&entries.join(", "));
                out.push_str(">\n");
            } else {
                indent(out, level + 1);
                out.push_str("<\n");
                for (i, e) in entries.iter().enumerate() {
                    indent(out, level + 2);
                    out.push_str(e);
                    out.push_str(if i + 1 < entries.len() { ",\n" } else { "\n" });
                }
                indent(out, level + 1);
                out.push_str(">\n");
            }
            indent(out, level);
            out.push_str("{\n");
        }
        for id in g.node_ids() {
            self.node(out, g, id, level + 1, path);
        }
        indent(out, level);
        out.push('}');
    }

    /// One node on its own line (subgraphs continue over following lines).
    fn node(&mut self, out: &mut String, g: &Graph, id: NodeId, level: usize, path: &str) {
        let n = g.node(id);
        let path = format!("{path} / node {}", n.label());
        if n.doc_string.is_some() {
            self.lose(&path, "doc_string");
        }
        if !n.metadata_props.is_empty() {
            self.lose(&path, "metadata_props");
        }
        if !n.device_configurations.is_empty() {
            self.lose(&path, "device configurations");
        }
        indent(out, level);
        if let Some(name) = &n.name {
            out.push('[');
            write_name(out, name);
            out.push_str("] ");
        }
        let value_name = |v: &Option<ValueId>| v.map_or("", |v| g.value(v).name.as_str());
        write_list(out, n.outputs(), ", ", |o, v| write_name(o, value_name(v)));
        out.push_str(if n.outputs().is_empty() { "= " } else { " = " });
        write_op(out, n.domain.as_deref().unwrap_or(""), &n.op_type);
        if let Some(ov) = n.overload.as_deref().filter(|o| !o.is_empty()) {
            out.push(':');
            write_name(out, ov);
        }
        let mut attrs = String::new();
        let mut first = true;
        for a in &n.attributes {
            let mut s = String::new();
            if self.attr(&mut s, a, level, &path) {
                attrs.push_str(if first { "<" } else { ", " });
                attrs.push_str(&s);
                first = false;
            }
        }
        if !first {
            attrs.push('>');
        }
        let mut inputs = String::from("(");
        write_list(&mut inputs, n.inputs(), ", ", |o, v| write_name(o, value_name(v)));
        inputs.push(')');
        let (before, after) = if n.has_subgraphs() { (inputs, attrs) } else { (attrs, inputs) };
        for part in [before, after] {
            if !part.is_empty() {
                out.push(' ');
                out.push_str(&part);
            }
        }
        out.push('\n');
    }

    /// `type name` for declaration `index` of `site` (its override if it has one).
    fn decl(&mut self, g: &Graph, site: DeclSite, index: usize, path: &str) -> String {
        let list = match site {
            DeclSite::Input => g.inputs(),
            DeclSite::Output => g.outputs(),
            DeclSite::ValueInfo => g.value_info(),
        };
        let v = g.value(list[index]);
        let info = g.decl_override(site, index).unwrap_or(&v.info);
        let path = format!("{path} / value '{}'", v.name);
        let mut s = String::new();
        self.info_extras(info, &path);
        if let Some(ty) = &info.ty {
            match write_type(&mut s, ty) {
                Ok(()) => s.push(' '),
                Err(why) => {
                    s.clear();
                    self.lose(&path, format!("its type ({why})"));
                }
            }
        }
        write_name(&mut s, &v.name);
        s
    }

    fn info_extras(&mut self, info: &ValueInfo, path: &str) {
        if info.doc_string.is_some() {
            self.lose(path, "doc_string");
        }
        if !info.metadata_props.is_empty() {
            self.lose(path, "metadata_props");
        }
        if info.ty.as_ref().is_some_and(has_denotation) {
            self.lose(path, "type denotation");
        }
    }

    /// Values whose info says something but that no declaration list holds: the text has
    /// nowhere to put it.
    fn unlisted_infos(&mut self, g: &Graph, path: &str) {
        let listed: HashSet<ValueId> =
            g.inputs().iter().chain(g.outputs()).chain(g.value_info()).copied().collect();
        for (id, v) in g.values() {
            if !listed.contains(&id) && v.info != ValueInfo::default() {
                let what = "type or doc declared outside inputs, outputs and value_info";
                self.lose(&format!("{path} / value '{}'", v.name), what);
            }
        }
    }

    /// `float[2] w = {1.0, 2.0}`, or `None` (recorded as dropped) if it cannot be written.
    fn initializer(&mut self, g: &Graph, v: ValueId, path: &str) -> Option<String> {
        let val = g.value(v);
        let path = format!("{path} / initializer '{}'", val.name);
        let Some(Initializer::Dense(t)) = &val.initializer else {
            return None;
        };
        self.tensor_extras(t, &path);
        let mut s = String::new();
        if let Err(why) = write_tensor_head(&mut s, t) {
            self.lose(&path, format!("the whole initializer: {why}"));
            return None;
        }
        s.push(' ');
        write_name(&mut s, &val.name);
        s.push_str(" = ");
        match write_tensor_values(&mut s, t) {
            Ok(None) => Some(s),
            Ok(Some(lost)) => {
                self.lose(&path, lost);
                Some(s)
            }
            Err(why) => {
                self.lose(&path, format!("the whole initializer: {why}"));
                None
            }
        }
    }

    pub(crate) fn tensor_extras(&mut self, t: &ferry_ir::Tensor, path: &str) {
        if t.segment.is_some() {
            self.lose(path, "segment");
        }
        if t.doc_string.is_some() {
            self.lose(path, "doc_string");
        }
        if !t.metadata_props.is_empty() {
            self.lose(path, "metadata_props");
        }
    }
}

/// `<\n   field,\n   field\n>\n`, or nothing for no fields.
fn write_fields(out: &mut String, fields: &[String]) {
    if fields.is_empty() {
        return;
    }
    out.push_str("<\n");
    for (i, f) in fields.iter().enumerate() {
        out.push_str(INDENT);
        out.push_str(f);
        out.push_str(if i + 1 < fields.len() { ",\n" } else { "\n" });
    }
    out.push_str(">\n");
}

/// `(a, b) => (c)`, one entry per line when that would be long.
fn write_signature(out: &mut String, inputs: &[String], outputs: &[String], level: usize) {
    let len = |v: &[String]| v.iter().map(|s| s.len() + 2).sum::<usize>();
    let line_start = out.rfind('\n').map_or(0, |i| i + 1);
    let used = out.len() - line_start;
    if used + len(inputs) + len(outputs) + 10 <= WIDTH {
        out.push('(');
        out.push_str(&inputs.join(", "));
        out.push_str(") => (");
        out.push_str(&outputs.join(", "));
        out.push(')');
        return;
    }
    let block = |out: &mut String, items: &[String]| {
        out.push('(');
        if items.is_empty() {
            out.push(')');
            return;
        }
        out.push('\n');
        for (i, s) in items.iter().enumerate() {
            indent(out, level + 1);
            out.push_str(s);
            out.push_str(if i + 1 < items.len() { ",\n" } else { "\n" });
        }
        indent(out, level);
        out.push(')');
    };
    block(out, inputs);
    out.push_str(" => ");
    block(out, outputs);
}

pub(crate) fn graph_path(g: &Graph) -> String {
    format!("graph '{}'", g.name.as_deref().unwrap_or(""))
}
