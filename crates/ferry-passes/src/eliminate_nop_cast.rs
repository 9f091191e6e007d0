//! `eliminate_nop_cast`: removes `Cast` nodes that convert to the type their input already has,
//! and `CastLike` nodes whose two inputs have the same element type (default domain).
//!
//! A cast to the input's own element type returns the input unchanged, whatever its `saturate`
//! or rounding attributes say (they only govern conversions between different types).
//!
//! Guards (the node stays otherwise):
//!
//! - the input's element type must be known from inference or the file's declarations
//!   (`ferry_infer::facts`, where initializers that are also graph inputs count as inputs of
//!   their declared type only): an unknown type proves nothing. Function bodies and Loop/Scan
//!   bodies have no facts, so their casts stay;
//! - `Cast` has one input and one output and its `to` attribute is present; `CastLike` has two
//!   inputs (the second's element type known too) and one output;
//! - the rest as for every forwarding rewrite (`scope::forward`): a graph output keeps its name
//!   (given to the cast's input, which must then be made by a node of the same graph and not be
//!   a graph output itself), subgraphs reading the output by name are rebound to the input's
//!   name, protected names stay.

use crate::nop::{Rule, RuleCx, run};
use crate::{Changed, Pass, PassCx, PassError};
use ferry_ir::{DataType, Graph, Model, NodeId, ValueId};

pub struct EliminateNopCast;

struct CastRule;

impl Rule for CastRule {
    fn ops(&self) -> &'static [&'static str] {
        &["Cast", "CastLike"]
    }

    fn wants_facts(&self) -> bool {
        true
    }

    fn forwarded(&self, g: &Graph, id: NodeId, cx: &RuleCx) -> Option<(ValueId, ValueId)> {
        let n = g.node(id);
        let (inp, out) = match n.outputs() {
            [Some(o)] => (n.inputs().first().copied().flatten()?, *o),
            _ => return None,
        };
        let from = cx.fact(inp)?.elem()?;
        let to = if n.op_type == "Cast" {
            if n.inputs().len() != 1 {
                return None;
            }
            let code = n.attr("to")?.as_int()?;
            DataType(i32::try_from(code).ok()?)
        } else {
            match n.inputs() {
                [Some(_), Some(like)] => cx.fact(*like)?.elem()?,
                _ => return None,
            }
        };
        (from == to).then_some((inp, out))
    }
}

impl Pass for EliminateNopCast {
    fn name(&self) -> &'static str {
        "eliminate_nop_cast"
    }

    fn description(&self) -> &'static str {
        "remove Cast/CastLike to the element type the input already has"
    }

    /// The work happens in [`Pass::run_model`], which infers types.
    fn run(&self, _graph: &mut Graph, _cx: &PassCx) -> Result<Changed, PassError> {
        Ok(Changed::NONE)
    }

    fn run_model(&self, model: &mut Model, cx: &PassCx) -> Result<Changed, PassError> {
        run(&CastRule, model, cx)
    }
}
