//! `eliminate_common_subexpression`: when two nodes compute the same thing, the later one goes and
//! its readers read the earlier one (the survivor is always the earliest in node order, so the
//! result does not depend on hashing or threads).
//!
//! Two nodes are the same when they have the same op type, domain and overload, the same inputs
//! (the same values, omitted inputs in the same places), the same outputs present, and equal
//! attributes (same names and values, compared bit for bit for floats, order ignored).
//!
//! Guards: only the default and `ai.onnx.ml` domains (a custom op may have effects or state);
//! never nodes with subgraph attributes (comparing graphs is not attempted); never random or
//! otherwise nondeterministic ops (`RandomNormal`, `RandomNormalLike`, `RandomUniform`,
//! `RandomUniformLike`, `Bernoulli`, `Multinomial`, `Dropout`); never nodes without outputs. A
//! duplicate whose output is a graph output, is read by name from a subgraph or is protected
//! stays (merging would rename an output).

use crate::forward::{Sweeper, captured};
use crate::{Changed, Pass, PassCx, PassError};
use ferry_ir::{AttrValue, Attribute, Graph, Node, NodeId, ValueId};
use std::collections::HashMap;
use std::collections::HashSet;

pub struct EliminateCommonSubexpression;

/// Operators whose result differs from run to run (or that draw random numbers).
pub const NONDETERMINISTIC: &[&str] = &[
    "RandomNormal",
    "RandomNormalLike",
    "RandomUniform",
    "RandomUniformLike",
    "Bernoulli",
    "Multinomial",
    "Dropout",
];

fn eligible(n: &Node) -> bool {
    let domain = n.canonical_domain();
    (domain.is_empty() || domain == "ai.onnx.ml")
        && !n.outputs().is_empty()
        && !n.has_subgraphs()
        && !(domain.is_empty() && NONDETERMINISTIC.contains(&n.op_type.as_str()))
}

fn floats_eq(a: &[f32], b: &[f32]) -> bool {
    a.len() == b.len() && a.iter().zip(b).all(|(x, y)| x.to_bits() == y.to_bits())
}

fn value_eq(a: &AttrValue, b: &AttrValue) -> bool {
    use AttrValue::*;
    match (a, b) {
        (Empty, Empty) => true,
        (Float(x), Float(y)) => x.to_bits() == y.to_bits(),
        (Int(x), Int(y)) => x == y,
        (String(x), String(y)) => x == y,
        (Tensor(x), Tensor(y)) => x == y,
        (SparseTensor(x), SparseTensor(y)) => x == y,
        (Type(x), Type(y)) => x == y,
        (Floats(x), Floats(y)) => floats_eq(x, y),
        (Ints(x), Ints(y)) => x == y,
        (Strings(x), Strings(y)) => x == y,
        (Tensors(x), Tensors(y)) => x == y,
        (SparseTensors(x), SparseTensors(y)) => x == y,
        (Types(x), Types(y)) => x == y,
        _ => false,
    }
}

fn attr_eq(a: &Attribute, b: &Attribute) -> bool {
    a.name == b.name
        && a.ref_attr_name == b.ref_attr_name
        && a.declared == b.declared
        && value_eq(&a.value, &b.value)
}

fn same(a: &Node, b: &Node) -> bool {
    if a.op_type != b.op_type
        || a.canonical_domain() != b.canonical_domain()
        || a.overload != b.overload
        || a.inputs() != b.inputs()
        || a.outputs().len() != b.outputs().len()
        || a.outputs().iter().zip(b.outputs()).any(|(x, y)| x.is_some() != y.is_some())
        || a.attributes.len() != b.attributes.len()
    {
        return false;
    }
    let mut x: Vec<&Attribute> = a.attributes.iter().collect();
    let mut y: Vec<&Attribute> = b.attributes.iter().collect();
    x.sort_by(|p, q| p.name.cmp(&q.name));
    y.sort_by(|p, q| p.name.cmp(&q.name));
    x.iter().zip(&y).all(|(p, q)| attr_eq(p, q))
}

/// What two equal nodes surely share; `same` decides.
type Key = (String, String, Vec<Option<ValueId>>);

impl Pass for EliminateCommonSubexpression {
    fn name(&self) -> &'static str {
        "eliminate_common_subexpression"
    }

    fn description(&self) -> &'static str {
        "merge nodes computing the same value (not random ops, not subgraphs)"
    }

    fn run(&self, g: &mut Graph, cx: &PassCx) -> Result<Changed, PassError> {
        let mut seen: HashMap<Key, Vec<NodeId>> = HashMap::new();
        let mut sw = Sweeper::default();
        let mut rewrites = 0;
        let mut protected_or_output: HashSet<ValueId> = g.outputs().iter().copied().collect();
        if !cx.protected.is_empty() {
            protected_or_output
                .extend(g.values().filter(|(_, v)| cx.protected.contains(&v.name)).map(|(i, _)| i));
        }
        let mut cur = g.first_node();
        while let Some(id) = cur {
            cur = g.next_node(id);
            let n = g.node(id);
            if !eligible(n) {
                continue;
            }
            let key: Key =
                (n.op_type.clone(), n.canonical_domain().to_string(), n.inputs().to_vec());
            let earlier =
                seen.get(&key).and_then(|c| c.iter().copied().find(|&e| same(g.node(e), n)));
            let Some(survivor) = earlier else {
                seen.entry(key).or_default().push(id);
                continue;
            };
            let pairs: Vec<(ValueId, ValueId)> = n
                .outputs()
                .iter()
                .zip(g.node(survivor).outputs())
                .filter_map(|(d, s)| Some(((*d)?, (*s)?)))
                .collect();
            let blocked =
                pairs.iter().any(|&(d, _)| protected_or_output.contains(&d) || captured(g, d));
            if blocked {
                seen.entry(key).or_default().push(id);
                continue;
            }
            if !cx.allow() {
                break;
            }
            for (d, s) in pairs {
                g.replace_all_uses(d, s);
            }
            sw.remove_node(g, id);
            rewrites += 1;
        }
        sw.finish(g);
        Ok(Changed { rewrites })
    }
}
