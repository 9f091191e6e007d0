//! TensorFlow checkpoints in the tensor-bundle format (`variables/variables.index` plus data
//! shards `variables.data-NNNNN-of-MMMMM`).
//!
//! The index is a sorted string table (`table.rs`) mapping each checkpoint key to a
//! `BundleEntryProto` (type, shape, shard, offset, size, CRC32C); the empty key holds the
//! `BundleHeaderProto` (shard count, endianness). Values are read as slices of the memory-mapped
//! shard, after checking offset + size against the shard and the size against type and shape,
//! and the checksum against the bytes.

use crate::error::{Error, Result};
use crate::io::map_file;
use crate::proto;
use crate::table;
use crate::tensor::{onnx_dtype, shape_dims, tf_dtype_name};
use bytes::Bytes;
use ferry_ir::{DataType, Tensor};
use prost::Message;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

pub struct Bundle {
    prefix: PathBuf,
    entries: BTreeMap<String, Bytes>,
    num_shards: i32,
    shards: BTreeMap<i32, Bytes>,
}

impl Bundle {
    /// Opens the bundle at `prefix` (`.../variables/variables`).
    pub fn open(prefix: &Path) -> Result<Bundle> {
        let index_path = with_suffix(prefix, ".index");
        let fmt = |msg: String| Error::Format { path: index_path.clone(), msg };
        let bytes = map_file(&index_path)?;
        let mut entries = BTreeMap::new();
        for (k, v) in table::read_all(&bytes).map_err(fmt)? {
            let k = String::from_utf8(k).map_err(|_| fmt("a key is not UTF-8".into()))?;
            entries.insert(k, v);
        }
        let header = entries
            .get("")
            .ok_or_else(|| fmt("no bundle header (empty key)".into()))
            .and_then(|h| {
                proto::BundleHeaderProto::decode(h.clone())
                    .map_err(|e| fmt(format!("bad bundle header: {e}")))
            })?;
        if header.endianness != 0 {
            return Err(fmt("big-endian checkpoints are not supported".into()));
        }
        if header.num_shards <= 0 {
            return Err(fmt(format!("{} shards", header.num_shards)));
        }
        Ok(Bundle {
            prefix: prefix.to_path_buf(),
            entries,
            num_shards: header.num_shards,
            shards: BTreeMap::new(),
        })
    }

    fn index_path(&self) -> PathBuf {
        with_suffix(&self.prefix, ".index")
    }

    pub fn contains(&self, key: &str) -> bool {
        !key.is_empty() && self.entries.contains_key(key)
    }

    fn entry(&self, key: &str) -> Result<proto::BundleEntryProto> {
        let path = self.index_path();
        let raw = self.entries.get(key).filter(|_| !key.is_empty()).ok_or_else(|| {
            Error::Format { path: path.clone(), msg: format!("no checkpoint entry {key:?}") }
        })?;
        proto::BundleEntryProto::decode(raw.clone())
            .map_err(|e| Error::Format { path, msg: format!("entry {key:?}: {e}") })
    }

    /// The bytes of `e`'s value, checked against its shard.
    fn data(&mut self, key: &str, e: &proto::BundleEntryProto) -> Result<(Bytes, PathBuf)> {
        if e.shard_id < 0 || e.shard_id >= self.num_shards {
            return Err(Error::Format {
                path: self.index_path(),
                msg: format!("entry {key:?}: shard {} of {}", e.shard_id, self.num_shards),
            });
        }
        let path = with_suffix(
            &self.prefix,
            &format!(".data-{:05}-of-{:05}", e.shard_id, self.num_shards),
        );
        let shard = match self.shards.entry(e.shard_id) {
            std::collections::btree_map::Entry::Occupied(o) => o.into_mut(),
            std::collections::btree_map::Entry::Vacant(v) => v.insert(map_file(&path)?),
        };
        let range = u64::try_from(e.offset)
            .ok()
            .zip(u64::try_from(e.size).ok())
            .and_then(|(o, s)| Some((o, o.checked_add(s)?)))
            .filter(|&(_, end)| end <= shard.len() as u64);
        let Some((start, end)) = range else {
            return Err(Error::Format {
                path,
                msg: format!(
                    "entry {key:?}: offset {} + size {} lies outside the shard ({} bytes)",
                    e.offset,
                    e.size,
                    shard.len()
                ),
            });
        };
        Ok((shard.slice(start as usize..end as usize), path))
    }

    /// The tensor stored under `key`, as a slice of the shard (no copy); `name` is its IR name.
    pub fn tensor(&mut self, key: &str, name: &str) -> Result<Tensor> {
        let e = self.entry(key)?;
        let fmt = |path: &Path, msg: String| Error::Format {
            path: path.to_path_buf(),
            msg: format!("entry {key:?}: {msg}"),
        };
        let index = self.index_path();
        if !e.slices.is_empty() {
            return Err(fmt(&index, "partitioned (sliced) variables are not supported".into()));
        }
        let dtype = onnx_dtype(e.dtype).ok_or_else(|| {
            fmt(&index, format!("type {} has no ONNX equivalent", tf_dtype_name(e.dtype)))
        })?;
        let dims = shape_dims(e.shape.as_ref())
            .filter(|d| d.iter().all(|&x| x >= 0))
            .ok_or_else(|| fmt(&index, "shape not fully known".into()))?;
        let count = dims.iter().try_fold(1u64, |a, &d| a.checked_mul(d as u64));
        let (data, path) = self.data(key, &e)?;
        let crc = if dtype == DataType::STRING {
            string_crc(&data, count.unwrap_or(0)).map_err(|m| fmt(&path, m))?
        } else {
            masked_crc32c(&data)
        };
        if crc != e.crc32c {
            return Err(fmt(
                &path,
                format!("checksum {crc:#010x} differs from the index's {:#010x}", e.crc32c),
            ));
        }
        if dtype == DataType::STRING {
            let n = count.ok_or_else(|| fmt(&path, "element count overflows".into()))?;
            let strings = decode_strings(&data, n).map_err(|m| fmt(&path, m))?;
            let mut t = Tensor::from_raw(name, dtype, dims, Bytes::new());
            t.data = ferry_ir::TensorData::String(strings);
            return Ok(t);
        }
        let want = count.and_then(|c| dtype.byte_len(c));
        if want != Some(data.len() as u64) {
            return Err(fmt(
                &path,
                format!("{} bytes for a {dims:?} {} tensor", data.len(), tf_dtype_name(e.dtype)),
            ));
        }
        Ok(Tensor::from_raw(name, dtype, dims, data))
    }
}

fn with_suffix(prefix: &Path, suffix: &str) -> PathBuf {
    let mut s = prefix.as_os_str().to_owned();
    s.push(suffix);
    PathBuf::from(s)
}

/// A string tensor's bundle encoding: one varint64 length per element, a 4-byte checksum of
/// the lengths, then the bytes of every element back to back.
fn decode_strings(data: &Bytes, n: u64) -> std::result::Result<Vec<Bytes>, String> {
    let mut pos = 0;
    let mut lens = Vec::new();
    for i in 0..n {
        let l = table::read_varint(data, &mut pos)
            .ok_or_else(|| format!("bad length of string {i}"))?;
        lens.push(l);
    }
    pos = pos
        .checked_add(4)
        .filter(|&p| p <= data.len())
        .ok_or("string lengths run past the value")?;
    let mut out = Vec::new();
    for l in lens {
        let end = usize::try_from(l)
            .ok()
            .and_then(|l| pos.checked_add(l))
            .filter(|&e| e <= data.len())
            .ok_or("a string runs past the value")?;
        out.push(data.slice(pos..end));
        pos = end;
    }
    Ok(out)
}

/// The checksum TensorFlow records for a string tensor: CRC-32C over each length's low four
/// bytes, little-endian (not the varint stored), then the stored 4-byte length checksum, then
/// the string bytes; masked.
fn string_crc(data: &[u8], n: u64) -> std::result::Result<u32, String> {
    let mut pos = 0;
    let mut crc = !0u32;
    for i in 0..n {
        let l = table::read_varint(data, &mut pos)
            .ok_or_else(|| format!("bad length of string {i}"))?;
        crc = crc32c_extend(crc, &l.to_le_bytes()[..4]);
    }
    crc = crc32c_extend(crc, data.get(pos..).unwrap_or_default());
    Ok(mask(!crc))
}

fn mask(crc: u32) -> u32 {
    crc.rotate_right(15).wrapping_add(0xa282_ead8)
}

/// CRC-32C (Castagnoli), masked as TensorFlow stores it.
fn masked_crc32c(data: &[u8]) -> u32 {
    mask(!crc32c_extend(!0u32, data))
}

/// Continues a (non-finalized) CRC-32C over `data`.
fn crc32c_extend(mut crc: u32, data: &[u8]) -> u32 {
    const fn table() -> [u32; 256] {
        let mut t = [0u32; 256];
        let mut i = 0;
        while i < 256 {
            let mut c = i as u32;
            let mut k = 0;
            while k < 8 {
                c = if c & 1 != 0 { (c >> 1) ^ 0x82f6_3b78 } else { c >> 1 };
                k += 1;
            }
            t[i] = c;
            i += 1;
        }
        t
    }
    static TABLE: [u32; 256] = table();
    for &b in data {
        crc = TABLE[((crc ^ u32::from(b)) & 0xff) as usize] ^ (crc >> 8);
    }
    crc
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crc32c_known_value() {
        // CRC-32C of "123456789" is 0xe3069283 (the standard check value).
        let unmasked = masked_crc32c(b"123456789").wrapping_sub(0xa282_ead8).rotate_left(15);
        assert_eq!(unmasked, 0xe306_9283);
    }

    #[test]
    fn strings_are_bounded() {
        let data = Bytes::from_static(&[3, 0, 0, 0, 0, b'a']);
        assert!(decode_strings(&data, 1).unwrap_err().contains("past"));
        let ok = Bytes::from_static(&[1, 0, 0, 0, 0, b'a']);
        assert_eq!(decode_strings(&ok, 1).unwrap(), vec![Bytes::from_static(b"a")]);
    }
}
