//! `eliminate_unused_initializer`: drops initializers (dense and sparse) that nothing reads.
//!
//! Guards: an initializer that is also a graph input stays (it is the input's default, part of the
//! model's interface); so does one that is a graph output, one read by name from a subgraph (that
//! shows as an implicit use on the owning node), and one whose name training information
//! mentions. Run `eliminate_deadend` first to free the initializers that only dead nodes read.

use crate::rebuild;
use crate::{Changed, Pass, PassCx, PassError};
use ferry_ir::{Graph, ValueDef, ValueId};
use std::collections::HashSet;

pub struct EliminateUnusedInitializer;

impl Pass for EliminateUnusedInitializer {
    fn name(&self) -> &'static str {
        "eliminate_unused_initializer"
    }

    fn description(&self) -> &'static str {
        "drop initializers nothing reads (not graph inputs or outputs)"
    }

    fn run(&self, g: &mut Graph, cx: &PassCx) -> Result<Changed, PassError> {
        let outputs: HashSet<ValueId> = g.outputs().iter().copied().collect();
        let mut drop = HashSet::new();
        for &v in g.initializers().iter().chain(g.sparse_initializers()) {
            let val = g.value(v);
            let unused = val.def() == ValueDef::Initializer
                && val.uses().is_empty()
                && !outputs.contains(&v)
                && !cx.protected.contains(&val.name);
            if unused {
                if !cx.allow() {
                    break;
                }
                drop.insert(v);
            }
        }
        let rewrites = drop.len();
        rebuild::drop_values(g, &drop);
        Ok(Changed { rewrites })
    }
}
