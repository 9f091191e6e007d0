//! `eliminate_nop_concat`: removes `Concat` nodes (default domain) with a single input, whose
//! output is that input whatever the axis.
//!
//! Guards (the node stays otherwise): more than one input, an omitted input, or not exactly one
//! output; the rest as for every forwarding rewrite (`scope::forward`: graph output names kept,
//! subgraph reads rebound, protected names kept). Needs no types, so function bodies and
//! Loop/Scan bodies are covered too.

use crate::nop::{Rule, RuleCx, run, unary};
use crate::{Changed, Pass, PassCx, PassError};
use ferry_ir::{Graph, Model, NodeId, ValueId};

pub struct EliminateNopConcat;

struct ConcatRule;

impl Rule for ConcatRule {
    fn ops(&self) -> &'static [&'static str] {
        &["Concat"]
    }

    fn wants_facts(&self) -> bool {
        false
    }

    fn forwarded(&self, g: &Graph, id: NodeId, _cx: &RuleCx) -> Option<(ValueId, ValueId)> {
        unary(g.node(id))
    }
}

impl Pass for EliminateNopConcat {
    fn name(&self) -> &'static str {
        "eliminate_nop_concat"
    }

    fn description(&self) -> &'static str {
        "remove Concat of a single input"
    }

    /// The work happens in [`Pass::run_model`], with the other no-op eliminations' walk.
    fn run(&self, _graph: &mut Graph, _cx: &PassCx) -> Result<Changed, PassError> {
        Ok(Changed::NONE)
    }

    fn run_model(&self, model: &mut Model, cx: &PassCx) -> Result<Changed, PassError> {
        run(&ConcatRule, model, cx)
    }
}
