//! The inference functions, one family per file, registered by `(domain, op_type)`.
//!
//! A function reads its inputs' facts and attributes from [`Ctx`] and sets its outputs. It
//! returns `Err(Stop::Unknown)` (quietly, through `need`/`?`) when something it needs is not
//! known, and `Err(Stop::Invalid(..))` when the node is wrong. Version differences between
//! opsets are handled inside each function with `ctx.opset`.

pub mod util;

mod attention;
mod contrib;
mod control;
mod conv;
mod elementwise;
mod image;
mod index;
mod loss;
mod matmul;
mod ml;
mod norm;
mod pool;
mod quant;
mod reduce;
mod rnn;
mod sequence;
mod shape;
mod signal;
mod text;
mod training;

use crate::ctx::{Ctx, Res};
use std::collections::HashMap;
use std::sync::OnceLock;

pub type OpFn = fn(&mut Ctx<'_>) -> Res;

/// Inference functions by (canonical domain, op type).
#[derive(Default)]
pub struct Registry {
    map: HashMap<(&'static str, &'static str), OpFn>,
}

impl Registry {
    /// Registers `f` for each of `ops` in `domain` ("" is ai.onnx).
    pub fn add(&mut self, domain: &'static str, ops: &[&'static str], f: OpFn) {
        for op in ops {
            self.map.insert((domain, op), f);
        }
    }

    pub fn len(&self) -> usize {
        self.map.len()
    }

    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }

    pub fn contains(&self, domain: &str, op: &str) -> bool {
        self.map.contains_key(&(domain, op))
    }
}

fn registry() -> &'static Registry {
    static R: OnceLock<Registry> = OnceLock::new();
    R.get_or_init(|| {
        let mut r = Registry::default();
        elementwise::register(&mut r);
        shape::register(&mut r);
        matmul::register(&mut r);
        conv::register(&mut r);
        pool::register(&mut r);
        norm::register(&mut r);
        attention::register(&mut r);
        rnn::register(&mut r);
        image::register(&mut r);
        index::register(&mut r);
        loss::register(&mut r);
        quant::register(&mut r);
        reduce::register(&mut r);
        signal::register(&mut r);
        text::register(&mut r);
        control::register(&mut r);
        sequence::register(&mut r);
        ml::register(&mut r);
        training::register(&mut r);
        contrib::register(&mut r);
        r
    })
}

/// The inference function for `(domain, op)`, if ferry has one.
pub fn lookup(domain: &str, op: &str) -> Option<OpFn> {
    registry().map.get(&(domain, op)).copied()
}

/// Every `(domain, op)` that has an inference function.
pub fn covered() -> Vec<(&'static str, &'static str)> {
    let mut v: Vec<_> = registry().map.keys().copied().collect();
    v.sort();
    v
}
