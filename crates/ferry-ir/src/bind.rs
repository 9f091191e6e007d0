//! Binding names to values while a graph is built from a named form (an ONNX file, the text
//! syntax): the steps every frontend takes the same way, kept in one place.

use crate::{DeclSite, Graph, ValueId, ValueInfo};
use std::collections::{HashMap, HashSet};
use std::hash::BuildHasher;

impl Graph {
    /// The value `name` refers to: one already in `names`, else a capture when an enclosing graph
    /// defines it (`outer_defines`), else a fresh `Undefined` value for the checker to report.
    /// The result is recorded in `names`.
    pub fn bind_name<S: BuildHasher>(
        &mut self,
        names: &mut HashMap<String, ValueId, S>,
        name: &str,
        outer_defines: impl Fn(&str) -> bool,
    ) -> ValueId {
        if let Some(&v) = names.get(name) {
            return v;
        }
        let v = if outer_defines(name) { self.add_capture(name) } else { self.add_undefined(name) };
        names.insert(name.to_string(), v);
        v
    }

    /// Records a declaration of `v` at `site[index]`: the first one seen (tracked in `declared`)
    /// becomes the value's info; a later one that differs is kept as an override of that site.
    pub fn record_declaration<S: BuildHasher>(
        &mut self,
        declared: &mut HashSet<ValueId, S>,
        v: ValueId,
        site: DeclSite,
        index: usize,
        info: ValueInfo,
    ) {
        if declared.insert(v) {
            self.value_mut(v).info = info;
        } else if self.value(v).info != info {
            self.set_decl_override(site, index, info);
        }
    }
}
