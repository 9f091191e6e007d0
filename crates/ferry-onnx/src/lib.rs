//! ONNX for ferry: reads `ModelProto` files into the shared IR and writes them back, losslessly.
//!
//! - [`load`] / [`load_with`] / [`load_bytes`]: memory-map or take bytes, decode with prost
//!   (tensor payloads stay slices of the input), import into [`ferry_ir::Model`].
//! - [`save`]: export and write atomically, external data first.
//! - [`proto`]: the prost types generated from `proto/onnx/onnx-ml.proto` at build time.

pub mod error;
pub mod export;
pub mod external;
mod guard;
mod import;
mod io;
mod save;
mod unknown;

pub use error::{Error, Result};
pub use import::MAX_GRAPH_DEPTH;
pub use io::{
    LoadOptions, Loaded, decode, import, import_tensor, is_contained, load, load_bytes, load_with,
    to_bytes, to_proto,
};
pub use save::{
    DataLayout, SaveOptions, SaveReport, StagedModel, atomic_write, save, save_with, stage_model,
};

/// Types generated from the vendored ONNX schema (`proto/onnx/`).
#[allow(clippy::all, missing_docs)]
pub mod proto {
    include!(concat!(env!("OUT_DIR"), "/onnx.rs"));
}
