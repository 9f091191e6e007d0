//! Graphviz DOT, for those who have Graphviz and want its layouts or its other output formats.
//!
//! The same content as the SVG: one box per node with its op type, key attributes and folded
//! constants; edges labelled with the value's type; subgraphs and folded blocks as clusters.
//! A box with children becomes a cluster holding the box itself and one sub-cluster per child,
//! so Graphviz draws the body next to the node that owns it.

use crate::view::{Item, ItemKind, Scene};
use std::fmt::Write as _;

/// The whole model as a DOT digraph.
pub fn render(scene: &Scene) -> String {
    let mut out = String::new();
    out.push_str("digraph model {\n");
    out.push_str("  graph [rankdir=TB, fontname=\"DejaVu Sans Mono\", fontsize=10];\n");
    out.push_str(
        "  node [shape=box, style=\"rounded,filled\", fillcolor=\"#fff9d9\", \
         fontname=\"DejaVu Sans Mono\", fontsize=10];\n",
    );
    out.push_str("  edge [fontname=\"DejaVu Sans Mono\", fontsize=8, color=\"#6b7487\"];\n");
    let mut next_cluster = 0;
    write_scene(&mut out, scene, "n", 1, &mut next_cluster);
    out.push_str("}\n");
    out
}

fn id(prefix: &str, i: usize) -> String {
    format!("{prefix}_{i}")
}

fn write_scene(out: &mut String, scene: &Scene, prefix: &str, depth: usize, clusters: &mut usize) {
    let indent = "  ".repeat(depth);
    for (i, item) in scene.items.iter().enumerate() {
        let node_id = id(prefix, i);
        if item.children.is_empty() {
            let _ = writeln!(out, "{indent}{node_id} {};", attrs(item));
            continue;
        }
        *clusters += 1;
        let _ = writeln!(out, "{indent}subgraph cluster_{} {{", *clusters);
        let label = match item.kind {
            ItemKind::Block { count } => format!("×{count}"),
            _ => item.title.clone(),
        };
        let _ = writeln!(out, "{indent}  label={}; style=dashed;", quote(&label));
        let _ = writeln!(out, "{indent}  {node_id} {};", attrs(item));
        for (c, child) in item.children.iter().enumerate() {
            *clusters += 1;
            let _ = writeln!(out, "{indent}  subgraph cluster_{} {{", *clusters);
            let _ = writeln!(out, "{indent}    label={}; style=dotted;", quote(&child.label));
            write_scene(out, &child.scene, &format!("{node_id}_{c}"), depth + 2, clusters);
            let _ = writeln!(out, "{indent}  }}");
        }
        let _ = writeln!(out, "{indent}}}");
    }
    for e in &scene.edges {
        let mut a = Vec::new();
        if !e.label.is_empty() {
            a.push(format!("label={}", quote(&e.label)));
        }
        if e.detail != e.label && !e.detail.is_empty() {
            a.push(format!("tooltip={}", quote(&e.detail)));
        }
        if e.to_port.is_none() {
            a.push("style=dashed".to_string());
        }
        let a = if a.is_empty() { String::new() } else { format!(" [{}]", a.join(", ")) };
        let _ = writeln!(out, "{indent}{} -> {}{a};", id(prefix, e.from), id(prefix, e.to));
    }
}

fn attrs(item: &Item) -> String {
    let mut label = item.title.clone();
    for l in &item.lines {
        label.push('\n');
        label.push_str(l);
    }
    let extra = match item.kind {
        ItemKind::Input => ", shape=oval, fillcolor=\"#dff3e4\"",
        ItemKind::Output => ", shape=oval, fillcolor=\"#fde2e1\"",
        ItemKind::Capture => ", shape=oval, fillcolor=\"#e4ecfb\"",
        ItemKind::Other => ", shape=oval, fillcolor=\"#eeeeee\"",
        ItemKind::Block { .. } => ", fillcolor=\"#fff7ec\", penwidth=2",
        ItemKind::Op => "",
    };
    format!("[label={}, tooltip={}{extra}]", quote(&label), quote(&item.tooltip))
}

/// A DOT double-quoted string: quotes and backslashes escaped, line breaks as `\n` (centred
/// lines in Graphviz), other control characters replaced.
fn quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            // Graphviz rejects control characters even inside quotes.
            c if c.is_control() => out.push('?'),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoting() {
        assert_eq!(quote("a\"b\\c\nd"), "\"a\\\"b\\\\c\\nd\"");
        assert_eq!(quote("a\0b\r"), "\"a?b?\"");
    }
}
