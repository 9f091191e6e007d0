//! Dropping values a pass made obsolete: initializers nothing reads, `value_info` entries of
//! values whose producer went, and captures nothing reads, in place through
//! [`Graph::remove_values`] once at the end of a pass.

use ferry_ir::{Graph, ValueDef, ValueId};
use std::collections::HashSet;

/// Removes `drop` from `g` in place, when there is anything to drop (see
/// [`Graph::remove_values`]).
pub(crate) fn drop_values(g: &mut Graph, drop: &HashSet<ValueId>) {
    if drop.is_empty() {
        return;
    }
    g.remove_values(drop);
}

/// The values among `candidates` that a removal left undefined and unread, so only their
/// `value_info` entries keep them alive: these entries are dropped with them.
pub(crate) fn stale(g: &Graph, candidates: &[ValueId]) -> HashSet<ValueId> {
    candidates
        .iter()
        .copied()
        .filter(|&v| {
            let val = g.value(v);
            val.def() == ValueDef::Undefined && val.uses().is_empty() && !g.is_graph_output(v)
        })
        .collect()
}
