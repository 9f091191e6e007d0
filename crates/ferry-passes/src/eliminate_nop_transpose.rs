//! `eliminate_nop_transpose`: removes `Transpose` nodes (default domain) whose `perm` is the
//! identity permutation `[0, 1, ..., n-1]`.
//!
//! Guards: the `perm` attribute must be present (without it Transpose reverses the axes, a no-op
//! only for rank 0 or 1, which this pass does not rely on type information to tell); an empty
//! `perm` is not treated as the identity; and the rest as for `eliminate_identity` (graph output
//! names kept, captured outputs kept).

use crate::forward::{Sweeper, bypass};
use crate::{Changed, Pass, PassCx, PassError};
use ferry_ir::Graph;

pub struct EliminateNopTranspose;

impl Pass for EliminateNopTranspose {
    fn name(&self) -> &'static str {
        "eliminate_nop_transpose"
    }

    fn description(&self) -> &'static str {
        "remove Transpose nodes with the identity permutation"
    }

    fn run(&self, g: &mut Graph, cx: &PassCx) -> Result<Changed, PassError> {
        let mut sw = Sweeper::default();
        let mut rewrites = 0;
        let mut cur = g.first_node();
        while let Some(id) = cur {
            cur = g.next_node(id);
            let n = g.node(id);
            if n.op_type != "Transpose" || !n.canonical_domain().is_empty() {
                continue;
            }
            let Some(perm) = n.attr("perm").and_then(|a| a.as_ints()) else { continue };
            let identity = !perm.is_empty() && perm.iter().enumerate().all(|(i, &p)| p == i as i64);
            let (Some(Some(inp)), Some(Some(out))) = (n.inputs().first(), n.outputs().first())
            else {
                continue;
            };
            if !identity || n.inputs().len() != 1 || n.outputs().len() != 1 {
                continue;
            }
            let (inp, out) = (*inp, *out);
            if bypass(g, &mut sw, cx, id, inp, out) {
                rewrites += 1;
            }
        }
        sw.finish(g);
        Ok(Changed { rewrites })
    }
}
