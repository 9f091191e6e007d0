//! `eliminate_identity`: removes `Identity` nodes (default domain).
//!
//! Readers of the Identity's output read its input instead. Guards (see `forward::bypass`):
//!
//! - the output is read by name from a nested subgraph (outer-scope references are names, and
//!   this pass does not rename inside subgraphs): kept;
//! - the output is a graph output (or a subgraph's output): the output's name is kept by giving
//!   it to the Identity's input, which is only done when that input is made by a node of the
//!   same graph, is not itself a graph output, is not captured by a nested subgraph and is not
//!   protected; an Identity of a graph input, an initializer, an outer-scope value or another
//!   graph output stays;
//! - an Identity with an omitted input or output stays (the checker reports it).

use crate::forward::{Sweeper, bypass};
use crate::{Changed, Pass, PassCx, PassError};
use ferry_ir::Graph;

pub struct EliminateIdentity;

impl Pass for EliminateIdentity {
    fn name(&self) -> &'static str {
        "eliminate_identity"
    }

    fn description(&self) -> &'static str {
        "remove Identity nodes, keeping graph output names"
    }

    fn run(&self, g: &mut Graph, cx: &PassCx) -> Result<Changed, PassError> {
        let mut sw = Sweeper::default();
        let mut rewrites = 0;
        let mut cur = g.first_node();
        while let Some(id) = cur {
            cur = g.next_node(id);
            let n = g.node(id);
            if n.op_type != "Identity" || !n.canonical_domain().is_empty() {
                continue;
            }
            let (Some(Some(inp)), Some(Some(out))) = (n.inputs().first(), n.outputs().first())
            else {
                continue;
            };
            if n.inputs().len() == 1 && n.outputs().len() == 1 {
                let (inp, out) = (*inp, *out);
                if bypass(g, &mut sw, cx, id, inp, out) {
                    rewrites += 1;
                }
            }
        }
        sw.finish(g);
        Ok(Changed { rewrites })
    }
}
