//! ferry's optimizer: graph rewrites ("passes") over the IR and a [`PassManager`] that runs them.
//!
//! A [`Pass`] rewrites one graph at a time. The manager applies it to the main graph, to every
//! subgraph (If/Loop/Scan bodies, which belong to their node and are walked recursively) and to
//! every function body; function bodies are independent and run in parallel with rayon. Results
//! do not depend on the thread count: each graph is rewritten by one thread, in a fixed order.
//!
//! Passes are named as onnxoptimizer/onnxslim users know them; [`all_passes`] lists them in the
//! default pipeline order. Every pass states its guard conditions (when it leaves a node alone)
//! in its module documentation.
//!
//! Nothing here checks numerics: a pass is correct by its guards and by the golden tests in
//! `tests/golden/`.

mod affine;
mod chain;
mod constants;
mod eliminate_common_subexpression;
mod eliminate_deadend;
mod eliminate_duplicate_initializer;
mod eliminate_identity;
mod eliminate_if_with_const_cond;
mod eliminate_nop_arithmetic;
mod eliminate_nop_cast;
mod eliminate_nop_concat;
mod eliminate_nop_dropout;
mod eliminate_nop_expand;
mod eliminate_nop_flatten;
mod eliminate_nop_pad;
mod eliminate_nop_reshape;
mod eliminate_nop_slice;
mod eliminate_nop_split;
mod eliminate_nop_transpose;
mod eliminate_reshape_around_elementwise;
mod eliminate_unused_initializer;
mod fold_constants;
mod fold_shapes;
mod forward;
mod fuse_add_bias_into_conv;
mod fuse_add_bias_into_gemm;
mod fuse_bn;
mod fuse_consecutive_concats;
mod fuse_consecutive_reshapes;
mod fuse_consecutive_slices;
mod fuse_consecutive_squeezes;
mod fuse_consecutive_transposes;
mod fuse_consecutive_unsqueezes;
mod fuse_gemm;
mod fuse_mul_into_conv;
mod fuse_mul_into_gemm;
mod fuse_pad_into_conv;
mod fuse_pad_into_pool;
mod fuse_unsqueeze_transpose_squeeze;
mod manager;
mod nop;
mod rebuild;
mod scope;

pub use eliminate_common_subexpression::EliminateCommonSubexpression;
pub use eliminate_deadend::EliminateDeadend;
pub use eliminate_duplicate_initializer::EliminateDuplicateInitializer;
pub use eliminate_identity::EliminateIdentity;
pub use eliminate_if_with_const_cond::EliminateIfWithConstCond;
pub use eliminate_nop_arithmetic::EliminateNopArithmetic;
pub use eliminate_nop_cast::EliminateNopCast;
pub use eliminate_nop_concat::EliminateNopConcat;
pub use eliminate_nop_dropout::EliminateNopDropout;
pub use eliminate_nop_expand::EliminateNopExpand;
pub use eliminate_nop_flatten::EliminateNopFlatten;
pub use eliminate_nop_pad::EliminateNopPad;
pub use eliminate_nop_reshape::EliminateNopReshape;
pub use eliminate_nop_slice::EliminateNopSlice;
pub use eliminate_nop_split::EliminateNopSplit;
pub use eliminate_nop_transpose::EliminateNopTranspose;
pub use eliminate_reshape_around_elementwise::EliminateReshapeAroundElementwise;
pub use eliminate_unused_initializer::EliminateUnusedInitializer;
pub use fold_constants::FoldConstants;
pub use fold_shapes::FoldShapes;
pub use fuse_add_bias_into_conv::FuseAddBiasIntoConv;
pub use fuse_add_bias_into_gemm::FuseAddBiasIntoGemm;
pub use fuse_bn::FuseBnIntoConv;
pub use fuse_consecutive_concats::FuseConsecutiveConcats;
pub use fuse_consecutive_reshapes::FuseConsecutiveReshapes;
pub use fuse_consecutive_slices::FuseConsecutiveSlices;
pub use fuse_consecutive_squeezes::FuseConsecutiveSqueezes;
pub use fuse_consecutive_transposes::FuseConsecutiveTransposes;
pub use fuse_consecutive_unsqueezes::FuseConsecutiveUnsqueezes;
pub use fuse_gemm::FuseMatmulAddIntoGemm;
pub use fuse_mul_into_conv::FuseMulIntoConv;
pub use fuse_mul_into_gemm::FuseMulIntoGemm;
pub use fuse_pad_into_conv::FusePadIntoConv;
pub use fuse_pad_into_pool::FusePadIntoPool;
pub use fuse_unsqueeze_transpose_squeeze::FuseUnsqueezeTransposeSqueeze;
pub use manager::{PassManager, PassStats, PipelineReport};

use ferry_ir::Graph;
use std::cell::Cell;
use std::collections::HashSet;

/// What a pass run changed: the number of rewrites (nodes removed, rewired or merged, initializers
/// dropped). Zero means the graph is untouched.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Changed {
    pub rewrites: usize,
}

impl Changed {
    pub const NONE: Changed = Changed { rewrites: 0 };

    pub fn is_changed(self) -> bool {
        self.rewrites > 0
    }
}

impl std::ops::AddAssign for Changed {
    fn add_assign(&mut self, rhs: Changed) {
        self.rewrites += rhs.rewrites;
    }
}

/// Why a pipeline stopped with an error.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum PassError {
    /// A pass met a graph it cannot work on (the graph is left as it was).
    #[error("pass {pass}: {message}")]
    Failed { pass: String, message: String },
    /// `verify_each`: after this pass the model breaks rules it did not break before.
    #[error("pass {pass} broke the model: {}", .problems.join("; "))]
    Broke { pass: String, problems: Vec<String> },
    /// An unknown pass name in a pipeline description.
    #[error("unknown pass '{0}' (see --list-passes)")]
    UnknownPass(String),
}

/// What a pass may know about the graph it rewrites.
pub struct PassCx<'a> {
    /// The version of the default operator set that applies to the graph (the model's, or the
    /// function's for a function body), when imported.
    pub opset: Option<i64>,
    /// Whether the graph is a subgraph (an If/Loop/Scan body) or a function body. Its outputs
    /// are then matched by position and read by name from its owner, like a main graph's.
    pub nested: bool,
    /// Names that something outside the graphs refers to (training-info bindings): values with
    /// these names are kept.
    pub protected: &'a HashSet<String>,
    /// Rewrites still allowed (`None`: unlimited); see [`PassManager::stop_after`].
    budget: Cell<Option<usize>>,
    /// Inference results shared by the passes of a pipeline (see [`PassCx::facts`]).
    facts: Option<&'a FactsCache>,
}

/// What type and shape inference knows about the model, computed once and shared by the passes
/// that need it until one of them changes the model. Inference is the most expensive step of
/// several passes; without sharing, every such pass would run it again on an unchanged model.
#[derive(Default)]
pub struct FactsCache {
    slot: std::cell::RefCell<Option<std::sync::Arc<ferry_infer::Facts>>>,
}

impl FactsCache {
    /// Forgets the facts: the model changed.
    pub fn invalidate(&self) {
        self.slot.borrow_mut().take();
    }
}

impl<'a> PassCx<'a> {
    pub fn new(opset: Option<i64>, protected: &'a HashSet<String>) -> PassCx<'a> {
        PassCx { opset, nested: false, protected, budget: Cell::new(None), facts: None }
    }

    /// Shares `cache` between the passes run with this context (the manager does this).
    pub fn with_facts_cache(mut self, cache: &'a FactsCache) -> PassCx<'a> {
        self.facts = Some(cache);
        self
    }

    /// What inference knows about `model` as it is now (`ferry_infer::facts`: initializers that
    /// are also graph inputs count as unknown). Computed once per state of the model when the
    /// manager shares a cache; a pass must look up everything it needs before it changes the
    /// model, since facts are found by graph and value handles.
    pub fn facts(&self, model: &mut ferry_ir::Model) -> std::sync::Arc<ferry_infer::Facts> {
        if let Some(cache) = self.facts
            && let Some(f) = cache.slot.borrow().as_ref()
        {
            return f.clone();
        }
        let facts = std::sync::Arc::new(ferry_infer::facts(model).0);
        if let Some(cache) = self.facts {
            *cache.slot.borrow_mut() = Some(facts.clone());
        }
        facts
    }

    /// Limits the rewrites passes may make through this context.
    pub fn with_budget(self, budget: Option<usize>) -> PassCx<'a> {
        self.budget.set(budget);
        self
    }

    /// Asks to make one rewrite; `false` when the budget is spent (the pass must then leave the
    /// graph as it is at this point).
    pub fn allow(&self) -> bool {
        match self.budget.get() {
            None => true,
            Some(0) => false,
            Some(n) => {
                self.budget.set(Some(n - 1));
                true
            }
        }
    }

    /// Whether the budget is spent.
    pub fn exhausted(&self) -> bool {
        self.budget.get() == Some(0)
    }

    pub(crate) fn budget(&self) -> Option<usize> {
        self.budget.get()
    }

    pub(crate) fn set_budget(&self, budget: Option<usize>) {
        self.budget.set(budget);
    }

    /// The context for a subgraph or function body of this graph, sharing the budget.
    pub(crate) fn nested(&self, budget: Option<usize>) -> PassCx<'a> {
        PassCx {
            opset: self.opset,
            nested: true,
            protected: self.protected,
            budget: Cell::new(budget),
            facts: None,
        }
    }
}

/// A rewrite of one graph. The manager applies it to every graph of a model.
pub trait Pass: Send + Sync {
    /// The name users select it by (`--passes`), onnxoptimizer's where one exists.
    fn name(&self) -> &'static str;
    /// One line for `--list-passes`.
    fn description(&self) -> &'static str;
    /// Rewrites `graph` (not its subgraphs: the manager walks those) and says what changed.
    fn run(&self, graph: &mut Graph, cx: &PassCx) -> Result<Changed, PassError>;
    /// Rewrites that need the whole model (its inferred types, or to tell function bodies from
    /// subgraphs) go here: called once per round, before `run` visits the graphs. `cx` is the
    /// main graph's. Default: nothing.
    fn run_model(&self, _model: &mut ferry_ir::Model, _cx: &PassCx) -> Result<Changed, PassError> {
        Ok(Changed::NONE)
    }
}

/// Every pass, in the default pipeline order.
pub fn all_passes() -> Vec<Box<dyn Pass>> {
    vec![
        Box::new(EliminateNopDropout),
        Box::new(EliminateIdentity),
        Box::new(EliminateNopTranspose),
        Box::new(EliminateNopCast),
        Box::new(EliminateNopReshape),
        Box::new(EliminateNopPad),
        Box::new(EliminateNopExpand),
        Box::new(EliminateNopConcat),
        Box::new(EliminateNopSplit),
        Box::new(EliminateNopSlice),
        Box::new(EliminateNopFlatten),
        // These two read inference facts too: next to the no-op passes, which rarely change the
        // model after the first round, they share one inference per round with them.
        Box::new(FuseMatmulAddIntoGemm),
        Box::new(EliminateNopArithmetic),
        Box::new(EliminateReshapeAroundElementwise),
        Box::new(FuseConsecutiveTransposes),
        Box::new(FuseConsecutiveSqueezes),
        Box::new(FuseConsecutiveUnsqueezes),
        Box::new(FuseUnsqueezeTransposeSqueeze),
        Box::new(FuseConsecutiveReshapes),
        Box::new(FuseConsecutiveSlices),
        Box::new(FuseConsecutiveConcats),
        Box::new(FuseBnIntoConv),
        Box::new(FuseAddBiasIntoConv),
        Box::new(FuseMulIntoConv),
        Box::new(FuseAddBiasIntoGemm),
        Box::new(FuseMulIntoGemm),
        Box::new(FusePadIntoConv),
        Box::new(FusePadIntoPool),
        Box::new(EliminateDuplicateInitializer),
        Box::new(EliminateCommonSubexpression),
        Box::new(FoldConstants::default()),
        Box::new(FoldShapes),
        Box::new(EliminateIfWithConstCond),
        Box::new(EliminateDeadend),
        Box::new(EliminateUnusedInitializer),
    ]
}

/// The passes named in `names` (in that order), or an error naming the first unknown one.
pub fn passes_by_name(names: &[&str]) -> Result<Vec<Box<dyn Pass>>, PassError> {
    names
        .iter()
        .map(|n| {
            all_passes()
                .into_iter()
                .find(|p| p.name() == *n)
                .ok_or_else(|| PassError::UnknownPass(n.to_string()))
        })
        .collect()
}
