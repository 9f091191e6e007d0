//! Writing a Triton model repository entry:
//!
//! ```text
//! DIR/<name>/config.pbtxt
//! DIR/<name>/<version>/model.onnx      (+ its external data files, beside it)
//! ```
//!
//! The configuration is built (and so every refusal happens) before anything is written. The
//! model copy goes first and the configuration last, each atomically, so a Triton instance
//! polling the repository never sees a configuration whose model is missing or half written.

use crate::error::{Error, Result};
use crate::options::ServeOptions;
use crate::triton::{ModelConfig, model_config};
use ferry_check::Validated;
use std::io::Write;
use std::path::{Path, PathBuf};

/// What [`write_repository`] wrote.
#[derive(Debug)]
pub struct RepoReport {
    pub config: ModelConfig,
    pub config_path: PathBuf,
    pub model_path: PathBuf,
    /// External data files written beside the model, with their sizes.
    pub data_files: Vec<(PathBuf, u64)>,
}

/// Triton's version directories are positive integers; anything else is skipped by the server.
pub fn check_triton_version(version: &str) -> Result<u64> {
    let refuse = |reason: &str| Error::Version { version: version.into(), reason: reason.into() };
    if version.is_empty() || !version.bytes().all(|b| b.is_ascii_digit()) {
        return Err(refuse("Triton's version directories are positive integers"));
    }
    match version.parse::<u64>() {
        Ok(0) => Err(refuse("Triton ignores version 0; versions start at 1")),
        Ok(n) => Ok(n),
        Err(_) => Err(refuse("is too large for a Triton version")),
    }
}

/// Writes a validated model and its configuration into the Triton repository at `repo`.
/// A model with checker errors is refused: a server would be handed a model it may not load.
pub fn write_repository(
    validated: &Validated<'_>,
    opts: &ServeOptions,
    max_batch_size: u32,
    repo: &Path,
) -> Result<RepoReport> {
    if !validated.is_valid() {
        let mut errors = validated.report().errors();
        let first = errors.next().map(ToString::to_string).unwrap_or_default();
        return Err(Error::Invalid { count: 1 + errors.count(), first });
    }
    let model = validated.model();
    let version = check_triton_version(&opts.version)?;
    let config = model_config(model, opts, max_batch_size)?;
    let model_dir = repo.join(&opts.name);
    let version_dir = model_dir.join(version.to_string());
    std::fs::create_dir_all(&version_dir)
        .map_err(|source| Error::Io { path: version_dir.clone(), source })?;
    let model_path = version_dir.join("model.onnx");
    let saved = ferry_onnx::save(validated, &model_path)?;
    let config_path = model_dir.join("config.pbtxt");
    let text = config.to_pbtxt();
    ferry_onnx::atomic_write(&config_path, |f| f.write_all(text.as_bytes()))?;
    Ok(RepoReport { config, config_path, model_path, data_files: saved.data_files })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_are_positive_integers() {
        assert_eq!(check_triton_version("3").unwrap(), 3);
        for bad in ["", "0", "v1", "1.0", "-1", "99999999999999999999999"] {
            assert!(check_triton_version(bad).is_err(), "{bad:?} accepted");
        }
    }
}
