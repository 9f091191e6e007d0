//! Errors of the serving-metadata writers.
//!
//! A model server checks every request against the metadata, so a wrong datatype or shape is a
//! silent contract break. Each refusal therefore names the tensor (and whether it is an input or
//! an output) and says why, instead of writing a best guess.

use std::fmt;
use std::path::PathBuf;

/// Which side of the model a tensor is on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Role {
    Input,
    Output,
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Role::Input => "input",
            Role::Output => "output",
        })
    }
}

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The model has no main graph, so it has no inputs or outputs to describe.
    #[error("the model has no graph, so it has no inputs or outputs to describe")]
    NoGraph,
    /// One tensor cannot be described in the target format.
    #[error("{role} '{name}': {reason}")]
    Tensor { role: Role, name: String, reason: String },
    /// A model name the target cannot use (Triton makes it a directory name).
    #[error("model name '{name}': {reason}")]
    Name { name: String, reason: String },
    /// A version the target cannot use (Triton makes it a numbered directory).
    #[error("model version '{version}': {reason}")]
    Version { version: String, reason: String },
    /// The checker found errors: a model server would be handed a model it may not load.
    #[error("the model is invalid ({count} errors), first: {first}")]
    Invalid { count: usize, first: String },
    /// Reading or writing the model copy failed.
    #[error(transparent)]
    Onnx(#[from] ferry_onnx::Error),
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

impl Error {
    pub(crate) fn tensor(role: Role, name: &str, reason: impl Into<String>) -> Error {
        Error::Tensor { role, name: name.to_string(), reason: reason.into() }
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
