//! `fuse_consecutive_transposes`: `Transpose(Transpose(x, p1), p2)` becomes `Transpose(x, p)` with
//! `p[i] = p1[p2[i]]`; the first Transpose goes when nothing else reads it.
//!
//! Guards: both nodes are default-domain Transposes with one input and one output and an explicit
//! `perm` (a missing perm means "reverse the axes", which needs the rank); both perms are
//! permutations of `0..n` of the same length. The second node keeps its name and output, so graph
//! output names never change. A composed identity permutation is left for
//! `eliminate_nop_transpose`. The first node is removed only when its output has no other reader,
//! is not a graph output and is not read by name from a subgraph.

use crate::forward::{Sweeper, captured};
use crate::{Changed, Pass, PassCx, PassError};
use ferry_ir::{AttrValue, Attribute, Graph, NodeId};

pub struct FuseConsecutiveTransposes;

/// The explicit `perm` of Transpose node `id` (one input, one output), when it is a permutation.
pub(crate) fn perm_of(g: &Graph, id: NodeId) -> Option<Vec<i64>> {
    let n = g.node(id);
    if n.op_type != "Transpose"
        || !n.canonical_domain().is_empty()
        || n.inputs().len() != 1
        || n.outputs().len() != 1
        || n.inputs()[0].is_none()
        || n.outputs()[0].is_none()
    {
        return None;
    }
    let perm = n.attr("perm")?.as_ints()?.to_vec();
    let mut seen = vec![false; perm.len()];
    for &p in &perm {
        let i = usize::try_from(p).ok().filter(|&i| i < perm.len())?;
        if std::mem::replace(&mut seen[i], true) {
            return None;
        }
    }
    (!perm.is_empty()).then_some(perm)
}

impl Pass for FuseConsecutiveTransposes {
    fn name(&self) -> &'static str {
        "fuse_consecutive_transposes"
    }

    fn description(&self) -> &'static str {
        "merge a Transpose of a Transpose into one"
    }

    fn run(&self, g: &mut Graph, cx: &PassCx) -> Result<Changed, PassError> {
        let mut sw = Sweeper::default();
        let mut rewrites = 0;
        let mut cur = g.first_node();
        while let Some(id) = cur {
            cur = g.next_node(id);
            let Some(p2) = perm_of(g, id) else { continue };
            let Some(mid) = g.node(id).inputs()[0] else { continue };
            let Some(first) = g.value(mid).producer() else { continue };
            let Some(p1) = perm_of(g, first) else { continue };
            if p1.len() != p2.len() || !cx.allow() {
                continue;
            }
            let composed: Vec<i64> = p2.iter().map(|&j| p1[j as usize]).collect();
            let x = g.node(first).inputs()[0];
            g.set_node_input(id, 0, x);
            let n = g.node_mut(id);
            match n.attributes.iter_mut().find(|a| a.name == "perm") {
                Some(a) => a.value = AttrValue::Ints(composed),
                None => n.attributes.push(Attribute::new("perm", AttrValue::Ints(composed))),
            }
            rewrites += 1;
            let dead = g.value(mid).uses().is_empty()
                && !g.is_graph_output(mid)
                && !captured(g, mid)
                && !cx.protected.contains(&g.value(mid).name);
            if dead {
                if cur == Some(first) {
                    cur = g.next_node(first);
                }
                sw.remove_node(g, first);
            }
        }
        sw.finish(g);
        Ok(Changed { rewrites })
    }
}
