//! Writing models: data layout, staging, and the atomic commit.
//!
//! Every file is first written in full to a temporary file in its target directory and synced
//! ("staged"). Only when all of them are staged are they renamed into place, data files first and
//! the model last. Any failure before that point deletes the temporaries and leaves every
//! existing file untouched; a rename replaces a symlink at the target instead of writing through
//! it.
//!
//! Tensor bytes are streamed: whole data files are copied with `std::io::copy` (which uses
//! `copy_file_range` on Linux), slices of data files are read in bounded chunks with positioned
//! reads, never through the memory map, so copying gigabytes of weights does not grow the
//! process's resident memory.

use crate::external::{DataFile, FileSlice, check_location};
use crate::io::check_size;
use crate::{Error, Result, export};
use bytes::Bytes;
use ferry_check::Validated;
use ferry_ir::{ExternalData, ExternalSource, Model, StringEntry, TensorData, TensorSite};
use prost::Message;
use std::collections::BTreeMap;
use std::io::{Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Where tensor data goes when a model is written.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum DataLayout {
    /// As in the model: inline tensors stay inline, external ones keep their files and offsets.
    #[default]
    Keep,
    /// Initializers of at least `threshold` bytes go to one data file `file` beside the model,
    /// each at an offset that is a multiple of `align`; everything else is stored inline.
    External { file: String, threshold: u64, align: u64 },
    /// Everything inline (refused if the model would pass protobuf's 2 GiB - 1 limit).
    Inline,
}

#[derive(Clone, Debug, Default)]
pub struct SaveOptions {
    pub layout: DataLayout,
}

/// What `save` wrote.
#[derive(Debug, Default)]
pub struct SaveReport {
    pub model_bytes: u64,
    /// External data files written (or left in place because they already were the target),
    /// with their sizes.
    pub data_files: Vec<(PathBuf, u64)>,
}

/// Writes a validated model to `path` with its data laid out as it is.
///
/// Writers take [`Validated`] (from `ferry_check::validate`), never a bare model: nothing leaves
/// ferry unchecked. What to do about errors in the report is the caller's decision.
pub fn save(model: &Validated<'_>, path: impl AsRef<Path>) -> Result<SaveReport> {
    save_with(model, path, &SaveOptions::default())
}

/// Writes a validated model to `path`, laying out tensor data as `opts` says.
pub fn save_with(
    validated: &Validated<'_>,
    path: impl AsRef<Path>,
    opts: &SaveOptions,
) -> Result<SaveReport> {
    stage_model(validated, path, opts)?.commit()
}

/// A model written in full to synced temporary files beside its destination, not yet in place.
/// [`StagedModel::commit`] renames the files into place; dropping it deletes them, leaving
/// every existing file untouched. This lets a caller write while it still decides whether to
/// keep the result (`ferry optimize` stages while its numeric check runs).
pub struct StagedModel {
    staged: Vec<Staged>,
    report: SaveReport,
}

impl StagedModel {
    /// Renames the files into place, data files first, and says what was written.
    pub fn commit(self) -> Result<SaveReport> {
        commit(self.staged)?;
        Ok(self.report)
    }
}

/// Does all of [`save_with`] but the renames.
pub fn stage_model(
    validated: &Validated<'_>,
    path: impl AsRef<Path>,
    opts: &SaveOptions,
) -> Result<StagedModel> {
    let model = validated.model();
    let path = path.as_ref();
    let dir = parent_dir(path);
    let mut report = SaveReport::default();
    let mut staged = Vec::new();
    let laid_out;
    let model = match &opts.layout {
        DataLayout::Keep => {
            staged.extend(stage_external(model, &dir, &mut report)?);
            model
        }
        DataLayout::Inline => {
            let mut m = model.clone();
            inline_external(&mut m, |_| true)?;
            laid_out = m;
            &laid_out
        }
        DataLayout::External { file, threshold, align } => {
            let rel = check_location(file)
                .map_err(|message| Error::Write { path: dir.join(file), message })?;
            let mut m = model.clone();
            let pieces = externalize(&mut m, file, *threshold, (*align).max(1))?;
            inline_external(&mut m, |_| true)?;
            let dest = dir.join(rel);
            let len = pieces.last().map_or(0, |p| p.offset + p.len);
            staged.push(stage(&dest, |f| write_pieces(f, &pieces))?);
            report.data_files.push((dest, len));
            laid_out = m;
            &laid_out
        }
    };
    let p = export::model(model);
    let len = p.encoded_len();
    check_size(len, path)?;
    staged.push(stage(path, |f| {
        let mut out = FileBuf::new(f);
        p.encode(&mut out).map_err(std::io::Error::other)?;
        out.finish()
    })?);
    report.model_bytes = len as u64;
    Ok(StagedModel { staged, report })
}

fn parent_dir(path: &Path) -> PathBuf {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

/// A fully written, synced temporary file waiting to be renamed to `dest`.
pub struct Staged {
    tmp: tempfile::NamedTempFile,
    dest: PathBuf,
}

/// Writes a file's content to a synced temporary file beside `dest`.
pub fn stage(
    dest: &Path,
    fill: impl FnOnce(&mut std::fs::File) -> std::io::Result<()>,
) -> Result<Staged> {
    let dir = parent_dir(dest);
    if !dir.is_dir() {
        std::fs::create_dir_all(&dir).map_err(|e| Error::io(&dir, e))?;
    }
    let name = dest.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    // Temporary files are private (0600) by default; the output should get the permissions any
    // newly created file gets (0666 less the umask), or keep those of the file it replaces.
    let perms = match std::fs::metadata(dest) {
        Ok(m) if m.is_file() => m.permissions(),
        _ => std::os::unix::fs::PermissionsExt::from_mode(0o666),
    };
    let mut tmp = tempfile::Builder::new()
        .prefix(&format!(".{name}."))
        .suffix(".tmp")
        .permissions(perms)
        .tempfile_in(&dir)
        .map_err(|e| Error::io(&dir, e))?;
    fill(tmp.as_file_mut()).map_err(|e| Error::io(dest, e))?;
    tmp.as_file().sync_all().map_err(|e| Error::io(dest, e))?;
    Ok(Staged { tmp, dest: dest.to_path_buf() })
}

/// Renames staged files into place, in order.
pub fn commit(staged: Vec<Staged>) -> Result<()> {
    let mut dirs = Vec::new();
    for s in staged {
        let dir = parent_dir(&s.dest);
        s.tmp.persist(&s.dest).map_err(|e| Error::io(&s.dest, e.error))?;
        if !dirs.contains(&dir) {
            dirs.push(dir);
        }
    }
    for d in dirs {
        if let Ok(f) = std::fs::File::open(&d) {
            // Makes the renames durable; some filesystems cannot sync a directory.
            let _ = f.sync_all();
        }
    }
    Ok(())
}

/// Writes one file atomically (stage + commit).
pub fn atomic_write(
    path: &Path,
    fill: impl FnOnce(&mut std::fs::File) -> std::io::Result<()>,
) -> Result<()> {
    commit(vec![stage(path, fill)?])
}

/// Where one tensor's bytes come from when a data file is written.
enum PieceData {
    Bytes(Bytes),
    FileRange(Arc<DataFile>, u64),
    Source(Arc<dyn ExternalSource>),
}

struct Piece {
    tensor: String,
    offset: u64,
    len: u64,
    data: PieceData,
}

fn piece_data(t: &ferry_ir::Tensor) -> Result<PieceData> {
    let name = t.name.clone().unwrap_or_default();
    if let TensorData::External(e) = &t.data {
        let Some(s) = &e.source else {
            return Err(Error::ExternalData {
                tensor: name,
                message: "its data was never read, so it cannot be written".into(),
            });
        };
        return Ok(match s.as_any().downcast_ref::<FileSlice>() {
            Some(fs) => PieceData::FileRange(fs.file.clone(), fs.offset),
            None => PieceData::Source(s.clone()),
        });
    }
    t.le_bytes()
        .map(PieceData::Bytes)
        .map_err(|message| Error::ExternalData { tensor: name, message })
}

/// Moves initializers of at least `threshold` bytes into `file`, returning the write plan.
fn externalize(m: &mut Model, file: &str, threshold: u64, align: u64) -> Result<Vec<Piece>> {
    let mut pieces = Vec::new();
    let mut offset = 0u64;
    let mut err = None;
    m.for_each_tensor_mut(&mut |site, t| {
        if err.is_some() || site != TensorSite::Initializer {
            return;
        }
        let Some(len) = t.nbytes() else { return };
        if len < threshold || t.dtype == Some(ferry_ir::DataType::STRING) {
            return;
        }
        let data = match piece_data(t) {
            Ok(d) => d,
            Err(e) => {
                err = Some(e);
                return;
            }
        };
        let start = offset.div_ceil(align).saturating_mul(align);
        offset = start.saturating_add(len);
        pieces.push(Piece { tensor: t.name.clone().unwrap_or_default(), offset: start, len, data });
        t.data = TensorData::External(ExternalData {
            entries: vec![
                StringEntry::new("location", file),
                StringEntry::new("offset", start.to_string()),
                StringEntry::new("length", len.to_string()),
            ],
            source: None,
        });
        t.data_location = Some(1);
    });
    match err {
        Some(e) => Err(e),
        None => Ok(pieces),
    }
}

/// Pulls external tensors chosen by `pick` (and still resolved to a source) back inline.
fn inline_external(m: &mut Model, pick: impl Fn(&ferry_ir::Tensor) -> bool) -> Result<()> {
    let mut err = None;
    m.for_each_tensor_mut(&mut |_, t| {
        let TensorData::External(e) = &t.data else { return };
        if e.source.is_none() || !pick(t) || err.is_some() {
            return;
        }
        match t.le_bytes() {
            Ok(b) => {
                t.data = TensorData::Raw(b);
                t.data_location = None;
            }
            Err(message) => {
                err = Some(Error::ExternalData {
                    tensor: t.name.clone().unwrap_or_default(),
                    message,
                })
            }
        }
    });
    err.map_or(Ok(()), Err)
}

fn write_pieces(out: &mut std::fs::File, pieces: &[Piece]) -> std::io::Result<()> {
    let mut pos = 0u64;
    for p in pieces {
        if p.offset > pos {
            // Alignment padding: zeros.
            std::io::copy(&mut std::io::Read::take(std::io::repeat(0), p.offset - pos), out)?;
        }
        match &p.data {
            PieceData::Bytes(b) => out.write_all(b)?,
            PieceData::Source(s) => out.write_all(&s.bytes().map_err(std::io::Error::other)?)?,
            PieceData::FileRange(f, start) => copy_range(&f.path, *start, p.len, out)?,
        }
        pos = p.offset + p.len;
    }
    Ok(())
}

/// Copies `len` bytes at `start` of the file at `path` to `out`. Between two files,
/// `std::io::copy` of a `Take<File>` uses `copy_file_range`: the kernel moves the bytes, none
/// pass through this process's memory.
fn copy_range(path: &Path, start: u64, len: u64, out: &mut std::fs::File) -> std::io::Result<()> {
    let mut f = std::fs::File::open(path)?;
    f.seek(SeekFrom::Start(start))?;
    let copied = std::io::copy(&mut std::io::Read::take(f, len), out)?;
    if copied != len {
        return Err(std::io::Error::new(
            std::io::ErrorKind::UnexpectedEof,
            format!("{} ended {} bytes early", path.display(), len - copied),
        ));
    }
    Ok(())
}

/// Tensor name, offset, length and data source of an external tensor, grouped by file.
type PendingPiece = (String, u64, u64, Result<PieceData>);

/// Stages the data files of a model whose external tensors keep their layout.
fn stage_external(model: &Model, dir: &Path, report: &mut SaveReport) -> Result<Vec<Staged>> {
    let mut by_location: BTreeMap<String, Vec<PendingPiece>> = BTreeMap::new();
    let mut err = None;
    model.for_each_tensor(&mut |t| {
        if let TensorData::External(e) = &t.data {
            let tensor = t.name.clone().unwrap_or_default();
            let Some(loc) = e.location() else {
                err.get_or_insert(Error::ExternalData {
                    tensor,
                    message: "no 'location' entry".into(),
                });
                return;
            };
            let num = |k: &str| e.get(k).and_then(|o| o.trim().parse::<u64>().ok());
            let len = e.source.as_ref().map(|s| s.len()).or_else(|| num("length")).unwrap_or(0);
            by_location.entry(loc.to_string()).or_default().push((
                tensor,
                num("offset").unwrap_or(0),
                len,
                piece_data(t),
            ));
        }
    });
    if let Some(e) = err {
        return Err(e);
    }
    let mut staged = Vec::new();
    for (loc, entries) in by_location {
        let rel = check_location(&loc)
            .map_err(|message| Error::ExternalData { tensor: entries[0].0.clone(), message })?;
        let dest = dir.join(&rel);
        let mut pieces = Vec::with_capacity(entries.len());
        for (tensor, offset, len, data) in entries {
            pieces.push(Piece { tensor, offset, len, data: data? });
        }
        // All tensors from one unchanged source file: copy or keep that file whole.
        let files: Vec<Option<&Arc<DataFile>>> = pieces
            .iter()
            .map(|p| match &p.data {
                PieceData::FileRange(f, _) => Some(f),
                _ => None,
            })
            .collect();
        if let Some(Some(src)) = files.first()
            && files.iter().all(|f| f.is_some_and(|f| Arc::ptr_eq(f, src)))
        {
            let same = match (std::fs::canonicalize(&src.path), std::fs::canonicalize(&dest)) {
                (Ok(a), Ok(b)) => a == b,
                _ => false,
            };
            if !same {
                let mut input =
                    std::fs::File::open(&src.path).map_err(|e| Error::io(&src.path, e))?;
                staged.push(stage(&dest, |out| std::io::copy(&mut input, out).map(|_| ()))?);
            }
            report.data_files.push((dest, src.len));
            continue;
        }
        pieces.sort_by_key(|p| p.offset);
        for w in pieces.windows(2) {
            if w[0].offset + w[0].len > w[1].offset {
                return Err(Error::ExternalData {
                    tensor: w[1].tensor.clone(),
                    message: format!("overlaps tensor '{}' in '{loc}'", w[0].tensor),
                });
            }
        }
        let total = pieces.last().map_or(0, |p| p.offset + p.len);
        staged.push(stage(&dest, |out| {
            out.seek(SeekFrom::Start(0))?;
            write_pieces(out, &pieces)
        })?);
        report.data_files.push((dest, total));
    }
    Ok(staged)
}

/// Streams prost's encoder into a file through a fixed buffer, so writing a model never holds
/// its whole encoding in memory (an inline model's tensor bytes go from the input's memory map
/// straight to the file).
struct FileBuf<'f> {
    file: &'f mut std::fs::File,
    buf: Vec<u8>,
    error: Option<std::io::Error>,
}

impl<'f> FileBuf<'f> {
    const CAPACITY: usize = 1 << 20;

    fn new(file: &'f mut std::fs::File) -> FileBuf<'f> {
        FileBuf { file, buf: Vec::with_capacity(Self::CAPACITY), error: None }
    }

    fn flush_buf(&mut self) {
        if self.error.is_none()
            && let Err(e) = self.file.write_all(&self.buf)
        {
            self.error = Some(e);
        }
        self.buf.clear();
    }

    /// Writes what is left and reports the first error any write met.
    fn finish(mut self) -> std::io::Result<()> {
        self.flush_buf();
        self.error.take().map_or(Ok(()), Err)
    }
}

// SAFETY: `chunk_mut` hands out only the vector's spare capacity, and `advance_mut` extends the
// length by at most what `chunk_mut` offered (prost writes into the chunk before advancing).
#[allow(unsafe_code)]
unsafe impl bytes::BufMut for FileBuf<'_> {
    fn remaining_mut(&self) -> usize {
        usize::MAX - self.buf.len()
    }

    unsafe fn advance_mut(&mut self, cnt: usize) {
        let new_len = self.buf.len() + cnt;
        assert!(new_len <= self.buf.capacity(), "advance_mut past the chunk");
        // SAFETY: the caller initialised `cnt` bytes of the chunk returned by `chunk_mut`.
        unsafe { self.buf.set_len(new_len) };
        if self.buf.len() == self.buf.capacity() {
            self.flush_buf();
        }
    }

    fn chunk_mut(&mut self) -> &mut bytes::buf::UninitSlice {
        if self.buf.len() == self.buf.capacity() {
            self.flush_buf();
        }
        self.buf.spare_capacity_mut().into()
    }

    /// Large slices (tensor payloads) bypass the buffer.
    fn put_slice(&mut self, src: &[u8]) {
        if src.len() >= Self::CAPACITY {
            self.flush_buf();
            if self.error.is_none()
                && let Err(e) = self.file.write_all(src)
            {
                self.error = Some(e);
            }
            return;
        }
        let mut rest = src;
        while !rest.is_empty() {
            let room = self.buf.capacity() - self.buf.len();
            if room == 0 {
                self.flush_buf();
                continue;
            }
            let n = room.min(rest.len());
            self.buf.extend_from_slice(&rest[..n]);
            rest = &rest[n..];
        }
    }
}
