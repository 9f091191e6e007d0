//! Type and shape inference for ferry's IR.
//!
//! For every node, an inference function derives its outputs' types and shapes from its inputs'
//! facts ([`Fact`]: type with symbolic dims, and contents of small tensors), its attributes and
//! its subgraphs. Dimensions are integer polynomials over symbols ([`sym::Expr`]): `N`,
//! `batch*8`, `seq+1`. Integer tensor contents are tracked as dimensions, so shape arithmetic
//! done by graphs (`Shape -> Gather -> Concat -> Reshape`) yields shapes too.
//!
//! What the file declares is merged with what is inferred; a disagreement is reported as a
//! `type-conflict` diagnostic, not skipped.

pub mod ctx;
mod driver;
pub mod fact;
pub mod konst;
pub mod merge;
pub mod ops;
pub mod sym;

pub use ctx::{Ctx, Res, Stop};
pub use fact::{Data, Fact, Konst, TensorTy, Ty};
pub use sym::{Dim, Expr};

use ferry_ir::{Graph, Model, ValueId};
use std::collections::HashMap;

/// A problem inference found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Diagnostic {
    /// `shape-inference` (a node whose inputs its operator cannot accept) or `type-conflict`
    /// (inference and the file's declarations disagree).
    pub rule: &'static str,
    pub graph: String,
    pub node: Option<String>,
    pub message: String,
}

impl std::fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "error[{}]: {}", self.rule, self.graph)?;
        if let Some(n) = &self.node {
            write!(f, " / node {n}")?;
        }
        write!(f, ": {}", self.message)
    }
}

#[derive(Clone, Debug, Default)]
pub struct Report {
    pub diagnostics: Vec<Diagnostic>,
    /// Nodes whose operator has no inference function in ferry.
    pub unsupported: usize,
}

/// Infers types and shapes and records them in the model: values get their inferred types and
/// node outputs are listed in `value_info` (what `onnx.shape_inference.infer_shapes` does).
pub fn infer(model: &mut Model) -> Report {
    driver::run(model, true)
}

/// Infers without changing the model (on a copy of its main graph) and returns the report.
pub fn check(model: &Model) -> Report {
    let mut copy = model.clone();
    driver::run(&mut copy, false)
}

/// What inference knows about the values of a model's graphs: the main graph and the subgraphs
/// it infers for their general inputs (If branches, SequenceMap bodies). Loop and Scan bodies
/// are inferred on copies, iteration by iteration, so nothing is known about them here: a fact
/// kept for a graph holds for every run of it.
///
/// Facts are looked up by the graph itself, so they stay valid only while the model is not
/// changed (a rewrite must collect what it needs before it edits).
pub struct Facts {
    graphs: HashMap<usize, Vec<Fact>>,
}

impl Facts {
    /// The facts about `g`'s values, indexed by [`ValueId::index`], when `g` was inferred.
    pub fn graph(&self, g: &Graph) -> Option<&[Fact]> {
        self.graphs.get(&(g as *const Graph as usize)).map(Vec::as_slice)
    }

    /// Takes the facts about `g` out (see [`Facts::graph`]).
    pub fn take(&mut self, g: &Graph) -> Option<Vec<Fact>> {
        self.graphs.remove(&(g as *const Graph as usize))
    }

    /// The fact about value `v` of `g`.
    pub fn value(&self, g: &Graph, v: ValueId) -> Option<&Fact> {
        self.graph(g)?.get(v.index())
    }
}

/// Infers without recording anything in the model and returns what is known about every value.
/// Initializers that are also graph inputs count as unknown inputs, not as their defaults: the
/// facts hold for whatever a caller passes, so rewrites may rely on them. (The model is
/// borrowed mutably only to infer subgraphs in place; it is left as it was.)
pub fn facts(model: &mut Model) -> (Facts, Report) {
    let (report, kept) = driver::run_with(model, false, |d| {
        d.ignore_input_defaults = true;
        d.keep = Some(HashMap::new());
    });
    (Facts { graphs: kept.unwrap_or_default() }, report)
}
