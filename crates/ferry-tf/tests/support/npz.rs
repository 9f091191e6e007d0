//! Reads the `.npz` files of recorded inputs and outputs (`np.savez`: a zip of `.npy` members,
//! stored without compression). Only what the test data uses: little-endian f4/f8/i4/i8/b1.

use std::collections::BTreeMap;
use std::path::Path;

pub struct Npy {
    /// numpy's type string, e.g. `<f4`.
    pub descr: String,
    pub shape: Vec<usize>,
    /// Raw little-endian element bytes, C order.
    pub data: Vec<u8>,
}

fn le(b: &[u8], at: usize, n: usize) -> Result<u64, String> {
    let s = b.get(at..at + n).ok_or("truncated zip header")?;
    Ok(s.iter().rev().fold(0u64, |a, &x| (a << 8) | u64::from(x)))
}

/// Every member of the archive, by name without `.npy`.
pub fn read(path: &Path) -> Result<BTreeMap<String, Npy>, String> {
    let b = std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let mut out = BTreeMap::new();
    let mut at = 0usize;
    while le(&b, at, 4).ok() == Some(0x0403_4b50) {
        let flags = le(&b, at + 6, 2)?;
        let method = le(&b, at + 8, 2)?;
        let mut size = le(&b, at + 18, 4)?;
        let name_len = le(&b, at + 26, 2)? as usize;
        let extra_len = le(&b, at + 28, 2)? as usize;
        if method != 0 || flags & 8 != 0 {
            return Err(format!("{}: only stored members with sizes are read", path.display()));
        }
        let name_at = at + 30;
        let name =
            String::from_utf8_lossy(b.get(name_at..name_at + name_len).ok_or("name")?).into_owned();
        let extra = b.get(name_at + name_len..name_at + name_len + extra_len).ok_or("extra")?;
        if size == 0xFFFF_FFFF {
            // zip64: the extra field with id 1 holds the uncompressed then compressed size.
            let mut e = 0;
            while e + 4 <= extra.len() {
                let (id, len) = (le(extra, e, 2)?, le(extra, e + 2, 2)? as usize);
                if id == 1 {
                    size = le(extra, e + 4 + 8, 8).or_else(|_| le(extra, e + 4, 8))?;
                }
                e += 4 + len;
            }
        }
        let data_at = name_at + name_len + extra_len;
        let data = b.get(data_at..data_at + size as usize).ok_or("member past the end")?;
        out.insert(name.trim_end_matches(".npy").to_string(), parse_npy(data)?);
        at = data_at + size as usize;
    }
    Ok(out)
}

fn parse_npy(b: &[u8]) -> Result<Npy, String> {
    if b.get(..6) != Some(b"\x93NUMPY".as_slice()) {
        return Err("not an .npy member".into());
    }
    let major = b[6];
    let (hlen, start) =
        if major == 1 { (le(b, 8, 2)? as usize, 10) } else { (le(b, 8, 4)? as usize, 12) };
    let header = std::str::from_utf8(b.get(start..start + hlen).ok_or("header")?)
        .map_err(|e| e.to_string())?;
    let field = |key: &str| -> Result<&str, String> {
        let i = header.find(key).ok_or(format!("no {key} in {header}"))?;
        Ok(header[i + key.len()..].trim_start_matches([':', ' ']))
    };
    let descr =
        field("'descr'")?.trim_start_matches('\'').split('\'').next().unwrap_or("").to_string();
    if field("'fortran_order'")?.starts_with("True") {
        return Err("Fortran-order arrays are not read".into());
    }
    let shape_text = field("'shape'")?;
    let inner = &shape_text[1..shape_text.find(')').ok_or("shape")?];
    let shape = inner
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| s.parse::<usize>().map_err(|e| e.to_string()))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Npy { descr, shape, data: b[start + hlen..].to_vec() })
}

impl Npy {
    /// The elements as f64, for comparing.
    pub fn to_f64(&self) -> Result<Vec<f64>, String> {
        let d = &self.data;
        Ok(match self.descr.as_str() {
            "<f4" => d
                .chunks_exact(4)
                .map(|c| f64::from(f32::from_le_bytes([c[0], c[1], c[2], c[3]])))
                .collect(),
            "<f8" => d
                .chunks_exact(8)
                .map(|c| f64::from_le_bytes(c.try_into().unwrap_or([0; 8])))
                .collect(),
            "<i4" => d
                .chunks_exact(4)
                .map(|c| f64::from(i32::from_le_bytes([c[0], c[1], c[2], c[3]])))
                .collect(),
            "<i8" => d
                .chunks_exact(8)
                .map(|c| i64::from_le_bytes(c.try_into().unwrap_or([0; 8])) as f64)
                .collect(),
            "|b1" => d.iter().map(|&x| f64::from(x)).collect(),
            other => return Err(format!("dtype {other} is not read")),
        })
    }
}
