//! Model-local functions that call each other in a cycle.
//!
//! `ferry-onnx` refuses such models at import (expanding them would never end), so the text
//! parser refuses them too: every `Model` ferry holds has a finite call graph. The check itself
//! is `ferry_ir::function_call_cycle`, shared by both.

use ferry_ir::Function;

/// The first function (by index) on a call cycle, and the cycle as `f -> g -> f`.
pub(crate) fn function_cycle(functions: &[Function]) -> Option<(usize, String)> {
    ferry_ir::function_call_cycle(functions).map(|c| (c.function, c.path.join(" -> ")))
}
