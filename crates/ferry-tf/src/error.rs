//! Errors of the TensorFlow frontend. Every message names what it is about (file and offset,
//! node, tensor), because a conversion error is only useful if the user can find the culprit.

use std::fmt;
use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{path}: {source}")]
    Io { path: PathBuf, source: std::io::Error },
    /// A file whose bytes are not what its format promises (bad protobuf, table, offsets).
    #[error("{path}: {msg}")]
    Format { path: PathBuf, msg: String },
    /// A graph that is well-formed protobuf but cannot be converted as it stands.
    #[error("{0}")]
    Graph(String),
    /// Every operator the converter has no rule for, all at once.
    #[error("{0}")]
    Unsupported(UnsupportedOps),
}

/// The unsupported operators of a graph: op type, how many nodes use it, and their names.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct UnsupportedOps {
    pub ops: Vec<(String, Vec<String>)>,
}

impl fmt::Display for UnsupportedOps {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let nodes: usize = self.ops.iter().map(|(_, n)| n.len()).sum();
        write!(
            f,
            "{} unsupported TensorFlow operator type(s) in {nodes} node(s) (--allow-custom-ops keeps them as custom nodes):",
            self.ops.len()
        )?;
        for (op, names) in &self.ops {
            const SHOWN: usize = 5;
            let mut list = names.iter().take(SHOWN).cloned().collect::<Vec<_>>().join(", ");
            if names.len() > SHOWN {
                list.push_str(&format!(", ... ({} more)", names.len() - SHOWN));
            }
            write!(f, "\n  {op} x{}: {list}", names.len())?;
        }
        Ok(())
    }
}

pub type Result<T> = std::result::Result<T, Error>;

/// Shorthand for a graph error.
pub(crate) fn graph_err(msg: impl Into<String>) -> Error {
    Error::Graph(msg.into())
}
