//! ferry: carry trained models between ML frameworks and the runtimes that serve them.
//!
//! This crate is the library's front door; it re-exports the IR ([`ir`]) and the ONNX reader and
//! writer ([`onnx`]).

pub use ferry_check as check;
pub use ferry_infer as infer;
pub use ferry_ir as ir;
pub use ferry_onnx as onnx;
pub use ferry_passes as passes;
pub use ferry_serving as serving;
pub use ferry_text as text;
pub use ferry_tf as tf;
pub use ferry_verify as verify;
pub use ferry_viz as viz;
