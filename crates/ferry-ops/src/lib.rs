//! ONNX operator schemas for every standard domain, with their full version history.
//!
//! The table is generated from the onnx package (`scripts/gen_op_schemas.py`) and committed; a
//! test reruns the generator and fails if the two disagree. Lookups follow ONNX's versioning
//! rule: a model importing opset `v` of a domain gets, for each operator, the schema with the
//! greatest `since_version <= v`.

mod schema;
#[rustfmt::skip]
mod schemas_generated;

pub use schema::{AttrDefault, AttrSchema, Formal, OpSchema, Opt, TypeConstraint};
pub use schemas_generated::SCHEMAS;

use std::collections::HashMap;
use std::sync::OnceLock;

/// Folds ONNX's spellings of the default domain ("", "ai.onnx") into "".
fn canonical(domain: &str) -> &str {
    if domain == "ai.onnx" { "" } else { domain }
}

/// Where each operator's versions are in [`SCHEMAS`]: domain -> name -> index range. Built once;
/// inference and the checker look an operator up for every node, and a binary search over the
/// table's string keys cost more than inferring many of the nodes.
type Index = HashMap<&'static str, HashMap<&'static str, (usize, usize)>>;

fn index() -> &'static Index {
    static INDEX: OnceLock<Index> = OnceLock::new();
    INDEX.get_or_init(|| {
        let mut index: Index = HashMap::new();
        for (i, s) in SCHEMAS.iter().enumerate() {
            index
                .entry(s.domain)
                .or_default()
                .entry(s.name)
                .and_modify(|r| r.1 = i + 1)
                .or_insert((i, i + 1));
        }
        index
    })
}

/// Every version of `(domain, name)`, oldest first.
pub fn versions(domain: &str, name: &str) -> &'static [OpSchema] {
    match index().get(canonical(domain)).and_then(|ops| ops.get(name)) {
        Some(&(start, end)) => &SCHEMAS[start..end],
        None => &[],
    }
}

/// The schema of `(domain, name)` in effect at opset `version` of its domain.
pub fn lookup(domain: &str, name: &str, version: i64) -> Option<&'static OpSchema> {
    versions(domain, name).iter().rev().find(|s| i64::from(s.since_version) <= version)
}

/// Whether ONNX defines `(domain, name)` at all (in any version).
pub fn is_known(domain: &str, name: &str) -> bool {
    !versions(domain, name).is_empty()
}

/// The domains the table covers.
pub fn domains() -> Vec<&'static str> {
    let mut d: Vec<&str> = SCHEMAS.iter().map(|s| s.domain).collect();
    d.dedup();
    d
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_is_sorted_and_lookups_follow_versions() {
        assert!(SCHEMAS.windows(2).all(|w| {
            (w[0].domain, w[0].name, w[0].since_version)
                < (w[1].domain, w[1].name, w[1].since_version)
        }));
        assert!(SCHEMAS.len() > 600);
        assert_eq!(lookup("", "Conv", 21).map(|s| s.since_version), Some(11));
        assert_eq!(lookup("ai.onnx", "Conv", 10).map(|s| s.since_version), Some(1));
        assert!(lookup("", "Conv", 0).is_none());
        assert_eq!(lookup("", "NoSuchOp", 21).map(|s| s.name), None);
        let reshape = lookup("", "Reshape", 13).unwrap();
        assert_eq!(reshape.inputs.len(), 2);
        let conv = lookup("", "Conv", 22).unwrap();
        assert_eq!(
            conv.attribute("group")
                .unwrap()
                .default
                .as_ref()
                .map(|d| matches!(d, AttrDefault::Int(1))),
            Some(true)
        );
        assert!(lookup("ai.onnx.ml", "ZipMap", 1).is_some());
        assert_eq!(domains(), ["", "ai.onnx.ml", "ai.onnx.preview", "ai.onnx.preview.training"]);
    }
}
