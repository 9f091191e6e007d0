//! Fresh names for the nodes and functions the lowering creates.
//!
//! Node names must not collide with any node of the graph; function names must not collide
//! with any function in the library, and TensorFlow requires them to be valid op names, so they
//! are built from letters, digits and `_` only.

use std::collections::HashSet;

use crate::proto::GraphDef;

pub(crate) struct Names {
    nodes: HashSet<String>,
    functions: HashSet<String>,
}

impl Names {
    pub(crate) fn of(graph: &GraphDef) -> Names {
        let nodes = graph.node.iter().map(|n| n.name.clone()).collect();
        let functions = graph
            .library
            .iter()
            .flat_map(|l| &l.function)
            .filter_map(|f| f.signature.as_ref().map(|s| s.name.clone()))
            .collect();
        Names { nodes, functions }
    }

    /// `base` itself when no node has that name, else `base/suffix`, numbered if needed.
    pub(crate) fn fresh_node(&mut self, base: &str, suffix: &str) -> String {
        if self.nodes.insert(base.to_string()) {
            return base.to_string();
        }
        self.fresh_child(base, suffix)
    }

    /// `base/suffix`, numbered if taken.
    pub(crate) fn fresh_child(&mut self, base: &str, suffix: &str) -> String {
        let first = format!("{base}/{suffix}");
        if self.nodes.insert(first.clone()) {
            return first;
        }
        let mut k = 1usize;
        loop {
            let candidate = format!("{base}/{suffix}_{k}");
            if self.nodes.insert(candidate.clone()) {
                return candidate;
            }
            k += 1;
        }
    }

    /// A function-name stem from a frame or node name.
    pub(crate) fn function_base(&self, from: &str) -> String {
        let cleaned: String =
            from.chars().map(|c| if c.is_ascii_alphanumeric() { c } else { '_' }).collect();
        format!("ferry_{}", cleaned.trim_matches('_'))
    }

    pub(crate) fn fresh_function(&mut self, base: &str) -> String {
        if self.functions.insert(base.to_string()) {
            return base.to_string();
        }
        let mut k = 1usize;
        loop {
            let candidate = format!("{base}_{k}");
            if self.functions.insert(candidate.clone()) {
                return candidate;
            }
            k += 1;
        }
    }
}
