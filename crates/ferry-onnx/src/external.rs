//! Resolving external-data references safely, and reading them lazily.
//!
//! onnx's Python package has had path-traversal CVEs in this exact place, through `..`, absolute
//! paths, symlinks and hard links. A location is accepted only if it is a relative path made of
//! plain names, no component below the model's directory is a symbolic link, the file has a single
//! hard link, and `offset + length` (checked) lies inside it. Files are memory-mapped on first
//! access, so loading a model touches none of its weights.

use crate::{Error, Result};
use bytes::Bytes;
use ferry_ir::{ExternalData, ExternalSource};
use std::collections::HashMap;
use std::path::{Component, Path, PathBuf};
use std::sync::{Arc, OnceLock};

/// Turns `external_data` entries into sources, vetting each location against the model directory.
pub struct Resolver {
    /// The model's directory, or `None` for models read from bytes (external data refused).
    base: Option<PathBuf>,
    /// Resolve and check locations (`true`), or keep references without touching the disk.
    check: bool,
    files: HashMap<PathBuf, Arc<DataFile>>,
    pub warnings: Vec<String>,
}

/// One external data file, mapped on first use and shared by every tensor in it.
pub struct DataFile {
    pub path: PathBuf,
    pub len: u64,
    map: OnceLock<Result<Bytes, String>>,
}

/// A tensor's bytes: `len` bytes at `offset` of a data file.
pub struct FileSlice {
    pub file: Arc<DataFile>,
    pub offset: u64,
    pub len: u64,
}

impl DataFile {
    #[allow(unsafe_code)]
    fn map(&self) -> Result<Bytes, String> {
        self.map
            .get_or_init(|| {
                let f = std::fs::File::open(&self.path)
                    .map_err(|e| format!("{}: {e}", self.path.display()))?;
                // SAFETY: the map is read-only. ferry never writes to files it has mapped; another
                // process truncating the file while it is mapped would fault, which is the
                // documented limit of reading through a memory map.
                let map = unsafe { memmap2::Mmap::map(&f) }
                    .map_err(|e| format!("{}: cannot map: {e}", self.path.display()))?;
                Ok(Bytes::from_owner(map))
            })
            .clone()
    }
}

impl ExternalSource for FileSlice {
    fn bytes(&self) -> Result<Bytes, String> {
        let all = self.file.map()?;
        let start = usize::try_from(self.offset).map_err(|e| e.to_string())?;
        let end = usize::try_from(self.offset + self.len).map_err(|e| e.to_string())?;
        if end > all.len() {
            return Err(format!(
                "{} shrank to {} bytes since it was opened",
                self.file.path.display(),
                all.len()
            ));
        }
        Ok(all.slice(start..end))
    }

    fn len(&self) -> u64 {
        self.len
    }

    fn describe(&self) -> String {
        format!("{} [{}..+{}]", self.file.path.display(), self.offset, self.len)
    }

    fn as_any(&self) -> &dyn std::any::Any {
        self
    }
}

const KNOWN_KEYS: [&str; 4] = ["location", "offset", "length", "checksum"];

/// Checks that `location` is a relative path of plain names and returns it as a path.
pub fn check_location(location: &str) -> Result<PathBuf, String> {
    if location.is_empty() {
        return Err("the location is empty".into());
    }
    if location.contains('\0') {
        return Err(format!("location '{location}' contains a NUL byte"));
    }
    let path = Path::new(location);
    for c in path.components() {
        if !matches!(c, Component::Normal(_)) {
            return Err(format!(
                "location '{location}' must be a relative path of plain names \
                 (absolute paths, '..' and '.' are refused)"
            ));
        }
    }
    Ok(path.to_path_buf())
}

/// Joins `rel` (already checked) to `base` and refuses symlinks on the way and hard-linked files.
pub fn contained_file(base: &Path, rel: &Path) -> Result<(PathBuf, std::fs::Metadata), String> {
    let mut cur = base.to_path_buf();
    let comps: Vec<_> = rel.components().collect();
    for (i, c) in comps.iter().enumerate() {
        cur.push(c);
        let meta =
            std::fs::symlink_metadata(&cur).map_err(|e| format!("{}: {e}", cur.display()))?;
        if meta.file_type().is_symlink() {
            return Err(format!(
                "{} is a symbolic link, which could leave the model's directory",
                cur.display()
            ));
        }
        if i + 1 == comps.len() {
            if !meta.is_file() {
                return Err(format!("{} is not a regular file", cur.display()));
            }
            #[cfg(unix)]
            {
                use std::os::unix::fs::MetadataExt;
                if meta.nlink() > 1 {
                    return Err(format!(
                        "{} has {} hard links; a hard link can point outside the model's directory",
                        cur.display(),
                        meta.nlink()
                    ));
                }
            }
            return Ok((cur, meta));
        }
    }
    Err("the location is empty".into())
}

impl Resolver {
    pub fn new(base: Option<PathBuf>, check: bool) -> Resolver {
        Resolver { base, check, files: HashMap::new(), warnings: Vec::new() }
    }

    /// Vets `ext` and returns where its bytes are. `Ok(None)` when checking is turned off.
    pub fn resolve(
        &mut self,
        tensor: &str,
        ext: &ExternalData,
    ) -> Result<Option<Arc<dyn ExternalSource>>> {
        let err = |message: String| Error::ExternalData { tensor: tensor.to_string(), message };
        for e in &ext.entries {
            let key = e.key.as_deref().unwrap_or("");
            if !KNOWN_KEYS.contains(&key) {
                self.warnings
                    .push(format!("tensor '{tensor}': unknown external_data key '{key}' ignored"));
            }
        }
        if !self.check {
            return Ok(None);
        }
        let location = ext.location().ok_or_else(|| err("no 'location' entry".into()))?;
        let rel = check_location(location).map_err(err)?;
        let base = self.base.as_ref().ok_or_else(|| {
            err("the model was read from memory, so there is no directory to read external data from".into())
        })?;
        let number = |key: &str| -> Result<Option<u64>> {
            match ext.get(key) {
                None => Ok(None),
                Some(s) => s
                    .trim()
                    .parse::<u64>()
                    .map(Some)
                    .map_err(|_| err(format!("'{key}' is not a non-negative integer: '{s}'"))),
            }
        };
        let offset = number("offset")?.unwrap_or(0);
        let length = number("length")?;
        let file = match self.files.get(&rel) {
            Some(f) => f.clone(),
            None => {
                let (path, meta) = contained_file(base, &rel).map_err(err)?;
                let f = Arc::new(DataFile { path, len: meta.len(), map: OnceLock::new() });
                self.files.insert(rel.clone(), f.clone());
                f
            }
        };
        let len = match length {
            Some(l) => l,
            None => file.len.checked_sub(offset).ok_or_else(|| {
                err(format!("offset {offset} is past the end of {} ({} bytes)", location, file.len))
            })?,
        };
        let end = offset
            .checked_add(len)
            .ok_or_else(|| err(format!("offset {offset} + length {len} overflows")))?;
        if end > file.len {
            return Err(err(format!(
                "offset {offset} + length {len} = {end} is past the end of {location} ({} bytes)",
                file.len
            )));
        }
        Ok(Some(Arc::new(FileSlice { file, offset, len })))
    }
}
