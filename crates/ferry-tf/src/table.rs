//! The sorted string table (LevelDB's table format) of a checkpoint's `.index` file.
//!
//! Layout: data blocks, a meta-index block, an index block, then a 48-byte footer holding the
//! meta-index and index block handles (varint offset and size each) and the magic number. Each
//! block is followed by a 1-byte compression type and a 4-byte checksum; its entries share key
//! prefixes with the previous entry (shared length, unshared length, value length, unshared key
//! bytes, value), and it ends with a restart-point array and its length. The index block maps
//! each data block's last key to its handle. Every offset and length is checked against the file.

use bytes::Bytes;

const MAGIC: u64 = 0xdb47_7524_8b80_fb57;
const FOOTER: usize = 48;

/// Every (key, value) of the table, in order; the error names the byte offset.
pub fn read_all(file: &Bytes) -> Result<Vec<(Vec<u8>, Bytes)>, String> {
    if file.len() < FOOTER {
        return Err(format!("{} bytes is too short for a table footer", file.len()));
    }
    let footer = &file[file.len() - FOOTER..];
    let magic = u64::from_le_bytes(footer[40..48].try_into().map_err(|_| "footer")?);
    if magic != MAGIC {
        return Err(format!("bad table magic {magic:#x} at offset {}", file.len() - 8));
    }
    let mut pos = 0;
    let _meta = handle(footer, &mut pos).ok_or("bad meta-index handle in the footer")?;
    let index = handle(footer, &mut pos).ok_or("bad index handle in the footer")?;
    let index_block = block(file, index)?;
    let mut out = Vec::new();
    for (_, h) in entries(&index_block, index.0)? {
        let mut p = 0;
        let h = handle(&h, &mut p)
            .ok_or_else(|| format!("bad block handle in the index block at offset {}", index.0))?;
        out.extend(entries(&block(file, h)?, h.0)?);
    }
    Ok(out)
}

fn varint(b: &[u8], pos: &mut usize) -> Option<u64> {
    let mut v = 0u64;
    for shift in (0..64).step_by(7) {
        let byte = *b.get(*pos)?;
        *pos += 1;
        v |= u64::from(byte & 0x7f) << shift;
        if byte & 0x80 == 0 {
            return Some(v);
        }
    }
    None
}

pub(crate) fn read_varint(b: &[u8], pos: &mut usize) -> Option<u64> {
    varint(b, pos)
}

fn handle(b: &[u8], pos: &mut usize) -> Option<(u64, u64)> {
    Some((varint(b, pos)?, varint(b, pos)?))
}

/// The contents of the block at `(offset, size)`, which must be uncompressed.
fn block(file: &Bytes, (off, size): (u64, u64)) -> Result<Bytes, String> {
    let end = off
        .checked_add(size)
        .and_then(|e| e.checked_add(5))
        .filter(|&e| e <= file.len() as u64)
        .ok_or_else(|| {
            format!(
                "block at offset {off} of {size} bytes runs past the end ({} bytes)",
                file.len()
            )
        })?;
    let (off, size) = (off as usize, size as usize);
    match file[(end - 5) as usize] {
        0 => Ok(file.slice(off..off + size)),
        1 => Err(format!("block at offset {off} is Snappy-compressed, which is not supported")),
        t => Err(format!("block at offset {off} has unknown compression type {t}")),
    }
}

fn entries(b: &Bytes, at: u64) -> Result<Vec<(Vec<u8>, Bytes)>, String> {
    let bad = |what: &str| format!("block at offset {at}: {what}");
    if b.len() < 4 {
        return Err(bad("too short"));
    }
    let restarts =
        u32::from_le_bytes(b[b.len() - 4..].try_into().map_err(|_| bad("restarts"))?) as usize;
    let limit = restarts
        .checked_mul(4)
        .and_then(|r| r.checked_add(4))
        .and_then(|r| b.len().checked_sub(r))
        .ok_or_else(|| bad("restart array larger than the block"))?;
    let mut out: Vec<(Vec<u8>, Bytes)> = Vec::new();
    let mut pos = 0;
    let mut key: Vec<u8> = Vec::new();
    while pos < limit {
        let shared = varint(b, &mut pos).ok_or_else(|| bad("bad entry header"))? as usize;
        let unshared = varint(b, &mut pos).ok_or_else(|| bad("bad entry header"))? as usize;
        let vlen = varint(b, &mut pos).ok_or_else(|| bad("bad entry header"))? as usize;
        if shared > key.len() {
            return Err(bad("entry shares more key bytes than the previous key has"));
        }
        let kend = pos
            .checked_add(unshared)
            .filter(|&e| e <= limit)
            .ok_or_else(|| bad("key past the block"))?;
        let vend = kend
            .checked_add(vlen)
            .filter(|&e| e <= limit)
            .ok_or_else(|| bad("value past the block"))?;
        key.truncate(shared);
        key.extend_from_slice(&b[pos..kend]);
        out.push((key.clone(), b.slice(kend..vend)));
        pos = vend;
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_and_bad_magic() {
        assert!(read_all(&Bytes::from_static(&[0; 10])).unwrap_err().contains("too short"));
        assert!(read_all(&Bytes::from(vec![0u8; 60])).unwrap_err().contains("magic"));
    }

    #[test]
    fn block_bounds() {
        // A footer whose index handle points past the end.
        let mut f = vec![0u8; 48];
        f[0] = 0; // meta offset
        f[1] = 0; // meta size
        f[2] = 0x7f; // index offset 127
        f[3] = 0x10; // index size 16
        f[40..48].copy_from_slice(&MAGIC.to_le_bytes());
        let e = read_all(&Bytes::from(f)).unwrap_err();
        assert!(e.contains("offset 127") && e.contains("past the end"), "{e}");
    }
}
