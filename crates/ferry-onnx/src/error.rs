//! Errors of the ONNX reader and writer. Each says what failed and where: the file, the graph path,
//! the node or the tensor.

use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{what} is not a valid ONNX protobuf: {message}")]
    Decode { what: String, message: String },
    /// The file parsed but describes something ferry refuses to build a model from.
    #[error("{location}: {message}")]
    Invalid { location: String, message: String },
    #[error("{location}: {source}")]
    Cycle {
        location: String,
        #[source]
        source: ferry_ir::topo::CycleError,
    },
    /// An external-data reference that is unsafe or does not match its file.
    #[error("tensor '{tensor}': external data: {message}")]
    ExternalData { tensor: String, message: String },
    /// The model cannot be written as asked.
    #[error("cannot write {path}: {message}")]
    Write { path: PathBuf, message: String },
}

impl Error {
    pub(crate) fn invalid(location: impl Into<String>, message: impl Into<String>) -> Error {
        Error::Invalid { location: location.into(), message: message.into() }
    }

    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Error {
        Error::Io { path: path.into(), source }
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
