//! Serving metadata for ferry models: what a model server needs to be told about a model,
//! written from the model itself.
//!
//! - [`kserve`]: the Open Inference Protocol (KServe v2) model metadata JSON, the answer to
//!   `GET v2/models/{name}`. MLServer and Seldon Core 2 serve the same document.
//! - [`triton`] and [`repo`]: a Triton `config.pbtxt`, and a whole model repository entry
//!   (`<name>/config.pbtxt` + `<name>/<version>/model.onnx`).
//! - [`seldon`]: Seldon Core 1 `metadata.yaml`.
//!
//! All of them start from the model's [`signature`]: its real inputs (initializers that double as
//! inputs are left out unless asked for) and outputs, as dense tensors with `-1` for dims that
//! vary. Element types go through the tables in [`datatype`]; a type a format has no name for is
//! an error naming the tensor, never an invented string.
//!
//! ```no_run
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! use ferry_serving::{ServeOptions, kserve};
//! let model = ferry_onnx::load("resnet50.onnx")?;
//! let opts = ServeOptions::new("resnet50");
//! print!("{}", kserve::model_metadata(&model, &opts)?.to_json());
//! # Ok(()) }
//! ```

pub mod datatype;
mod error;
pub mod kserve;
mod options;
pub mod repo;
pub mod seldon;
mod signature;
pub mod triton;

pub use error::{Error, Result, Role};
pub use options::{DEFAULT_PLATFORM, ServeOptions, model_properties};
pub use signature::{Signature, SignatureOptions, TensorSpec, signature};
