//! Proof that a model was validated.
//!
//! Every writer of a model file (`ferry_onnx::save`, the Triton repository writer, ...) takes a
//! [`Validated`] rather than a bare model, so nothing is emitted without the checker having run:
//! the writer, or its caller, sees the report and decides what to do about errors (`convert`
//! warns and writes, a serving repository refuses). Only [`validate`] makes one.

use crate::{Report, check_full};
use ferry_ir::Model;

/// A model together with the report of its full check.
pub struct Validated<'m> {
    model: &'m Model,
    report: Report,
}

impl<'m> Validated<'m> {
    pub fn model(&self) -> &'m Model {
        self.model
    }

    pub fn report(&self) -> &Report {
        &self.report
    }

    /// No errors (warnings allowed).
    pub fn is_valid(&self) -> bool {
        self.report.is_valid()
    }
}

/// Runs the full check ([`check_full`]: rules, schemas and inference) and returns the proof.
pub fn validate(model: &Model) -> Validated<'_> {
    Validated { model, report: check_full(model) }
}
