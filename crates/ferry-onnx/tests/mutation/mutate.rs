use super::*;

// ------------------------------------------------------------------------------------------------
// Mutations

pub(crate) const INTERESTING_BYTES: [u8; 4] = [0x00, 0xFF, 0x7F, 0x80];

pub(crate) fn interesting_varint(rng: &mut Rng, old: u64) -> u64 {
    let table: [u64; 21] = [
        0,
        1,
        2,
        0x7f,
        0x80,
        0xff,
        0x100,
        0x7fff_ffff,
        0x8000_0000,
        0xffff_ffff,
        0x1_0000_0000,
        1 << 40,
        1 << 62,
        i64::MAX as u64,
        1 << 63,
        u64::MAX,
        (-2i64) as u64,
        old.wrapping_add(1),
        old.wrapping_sub(1),
        old.wrapping_mul(2),
        rng.next() % 33,
    ];
    match rng.below(table.len() + 1) {
        i if i < table.len() => table[i],
        _ => rng.next(),
    }
}

pub(crate) fn interesting_string(rng: &mut Rng) -> Vec<u8> {
    const TABLE: &[&[u8]] = &[
        b"",
        b".",
        b"..",
        b"../weights.bin",
        b"/etc/passwd",
        b"weights.bin",
        b"more.bin",
        b"w.bin",
        b"model.onnx",
        b"sub/dir/w.bin",
        b"a//b",
        b"missing.bin",
        b"\0",
        b"weights.bin\0x",
        b"location",
        b"offset",
        b"length",
        b"checksum",
        b"0",
        b"-1",
        b"18446744073709551615",
        b"18446744073709551616",
        b" 12 ",
        b"4096",
        b"",
        b"ai.onnx",
        b"ai.onnx.ml",
        b"com.microsoft",
        b"If",
        b"Loop",
        b"Scan",
        b"Constant",
        b"\xff\xfe\xc3",
        b"\xc3\xa9t\xc3\xa9",
    ];
    match rng.below(TABLE.len() + 1) {
        i if i < TABLE.len() => TABLE[i].to_vec(),
        _ => vec![b'A'; 1 + rng.below(4096)],
    }
}

pub(crate) fn is_any(_: &Field) -> bool {
    true
}
pub(crate) fn is_varint(f: &Field) -> bool {
    matches!(f.val, Val::Varint(_))
}
pub(crate) fn is_fixed(f: &Field) -> bool {
    matches!(f.val, Val::I32(_) | Val::I64(_))
}
pub(crate) fn is_len(f: &Field) -> bool {
    matches!(f.val, Val::Len(_))
}
pub(crate) fn is_short_len(f: &Field) -> bool {
    matches!(&f.val, Val::Len(b) if b.len() <= 64)
}

/// One structure-aware mutation of `tree`; returns its description.
pub(crate) fn mutate_tree(tree: &mut Vec<Field>, rng: &mut Rng, pool: &[&Input]) -> Option<String> {
    let op = rng.below(9);
    match op {
        0 => {
            let path = pick_field(tree, rng, &is_varint)?;
            let name = path_name(tree, &path);
            let parent = parent_mut(tree, &path);
            let f = &mut parent[*path.last()?];
            let Val::Varint(old) = f.val else { return None };
            let new = interesting_varint(rng, old);
            f.val = Val::Varint(new);
            Some(format!("tree: varint {name} {old} -> {new}"))
        }
        1 => {
            let path = pick_field(tree, rng, &is_any)?;
            let name = path_name(tree, &path);
            parent_mut(tree, &path).remove(*path.last()?);
            Some(format!("tree: delete field {name}"))
        }
        2 => {
            let path = pick_field(tree, rng, &is_any)?;
            let name = path_name(tree, &path);
            let parent = parent_mut(tree, &path);
            let i = *path.last()?;
            let copy = parent[i].clone();
            let at = rng.below(parent.len() + 1);
            parent.insert(at, copy);
            Some(format!("tree: duplicate field {name} to index {at}"))
        }
        3 => {
            // Transplant: a field from this or another model into a message of this model that
            // already has a field with the same number (so it is likely the same kind of field).
            let donor = pool[rng.below(pool.len())];
            let dtree = donor.tree.as_ref()?;
            let dpath = pick_field(dtree, rng, &is_any)?;
            let field = field_at(dtree, &dpath).clone();
            let num = field.num;
            let same = move |f: &Field| f.num == num;
            let path = pick_field(tree, rng, &same)?;
            let name = path_name(tree, &path);
            let parent = parent_mut(tree, &path);
            let at = rng.below(parent.len() + 1);
            parent.insert(at, field);
            Some(format!(
                "tree: transplant field {} of {} next to {name} (index {at})",
                path_name(dtree, &dpath),
                donor.name
            ))
        }
        4 => {
            let path = pick_field(tree, rng, &is_len)?;
            let name = path_name(tree, &path);
            // Half the time another short string of this model (names collide: duplicate
            // definitions, cycles, captures), else an interesting one.
            let new = if rng.chance(1, 2) {
                let other = pick_field(tree, rng, &is_short_len)?;
                match &field_at(tree, &other).val {
                    Val::Len(b) => b.to_vec(),
                    _ => return None,
                }
            } else {
                interesting_string(rng)
            };
            let shown = String::from_utf8_lossy(&new[..new.len().min(40)]).into_owned();
            let parent = parent_mut(tree, &path);
            parent[*path.last()?].val = Val::Len(Bytes::from(new));
            Some(format!("tree: string {name} := {shown:?}"))
        }
        5 => {
            let path = pick_field(tree, rng, &is_any)?;
            let name = path_name(tree, &path);
            let parent = parent_mut(tree, &path);
            let f = &mut parent[*path.last()?];
            let new = if rng.chance(1, 2) {
                1 + rng.below(26) as u64
            } else {
                (f.num + 1 + rng.below(3) as u64).saturating_sub(2).max(1)
            };
            f.num = new;
            Some(format!("tree: renumber field {name} -> {new}"))
        }
        6 => {
            let path = pick_field(tree, rng, &is_any)?;
            let name = path_name(tree, &path);
            let parent = parent_mut(tree, &path);
            let i = *path.last()?;
            let j = rng.below(parent.len());
            parent.swap(i, j);
            Some(format!("tree: swap field {name} with sibling index {j}"))
        }
        7 => {
            let path = pick_field(tree, rng, &is_fixed)?;
            let name = path_name(tree, &path);
            let parent = parent_mut(tree, &path);
            let f = &mut parent[*path.last()?];
            let bits = rng.next();
            match &mut f.val {
                Val::I32(v) => {
                    *v = *rng.pick(&[0x7fc0_0001, 0x7f80_0000, 0xff80_0000, 0, bits as u32]);
                }
                Val::I64(v) => *v = *rng.pick(&[0x7ff8_0000_0000_0001, 0, u64::MAX, bits]),
                _ => return None,
            }
            Some(format!("tree: fixed {name} := random/special"))
        }
        _ => {
            // Wrap: a message field becomes a field inside a copy of its own parent message,
            // nesting the structure one level deeper (deep subgraphs, deep types).
            let is_msg = |f: &Field| matches!(f.val, Val::Msg(_));
            let path = pick_field(tree, rng, &is_msg)?;
            let name = path_name(tree, &path);
            let parent = parent_mut(tree, &path);
            let i = *path.last()?;
            let inner = parent[i].clone();
            if let Val::Msg(m) = &mut parent[i].val {
                let times = 1 + rng.below(8);
                for _ in 0..times {
                    let copy = Field { num: inner.num, val: Val::Msg(std::mem::take(m)) };
                    m.push(copy);
                }
                Some(format!("tree: nest field {name} into itself {times}x"))
            } else {
                None
            }
        }
    }
}

/// One byte-level mutation of `b`; returns its description.
pub(crate) fn mutate_bytes(b: &mut Vec<u8>, rng: &mut Rng, pool: &[&Input]) -> String {
    let len = b.len();
    match rng.below(8) {
        0 if len > 0 => {
            let n = 1 + rng.below(8);
            for _ in 0..n {
                let i = rng.below(len);
                b[i] ^= 1 << rng.below(8);
            }
            format!("bytes: flip {n} bits")
        }
        1 if len > 0 => {
            let n = rng.small_len(16);
            let at = rng.below(len);
            for x in &mut b[at..(at + n).min(len)] {
                *x = rng.next() as u8;
            }
            format!("bytes: overwrite {n} at {at} with random")
        }
        2 if len > 0 => {
            let n = 1 + rng.below(4);
            let at = rng.below(len);
            let v = *rng.pick(&INTERESTING_BYTES);
            for x in &mut b[at..(at + n).min(len)] {
                *x = v;
            }
            format!("bytes: set {n} at {at} to {v:#04x}")
        }
        3 => {
            let at = rng.below(len + 1);
            b.truncate(at);
            format!("bytes: truncate at {at} of {len}")
        }
        4 if len > 0 => {
            let at = rng.below(len);
            let n = rng.small_len(len - at);
            let to = rng.below(len + 1);
            let chunk = b[at..at + n].to_vec();
            b.splice(to..to, chunk);
            format!("bytes: duplicate {at}..+{n} to {to}")
        }
        5 if len > 0 => {
            let at = rng.below(len);
            let n = rng.small_len(len - at);
            b.drain(at..at + n);
            format!("bytes: delete {at}..+{n}")
        }
        6 => {
            let donor = pool[rng.below(pool.len())];
            let d = &donor.bytes;
            if d.is_empty() {
                return "bytes: splice from an empty model (no-op)".into();
            }
            let from = rng.below(d.len());
            let n = rng.small_len(d.len() - from);
            let to = rng.below(len + 1);
            if rng.chance(1, 2) {
                b.splice(to..to, d[from..from + n].iter().copied());
                format!("bytes: insert {}[{from}..+{n}] at {to}", donor.name)
            } else {
                let end = (to + n).min(len);
                b.splice(to..end, d[from..from + n].iter().copied());
                format!("bytes: overwrite at {to} with {}[{from}..+{n}]", donor.name)
            }
        }
        _ => {
            const BIG: [u64; 8] = [
                0xffff_ffff,
                0x7fff_ffff,
                0x8000_0000,
                1 << 40,
                1 << 62,
                u64::MAX,
                i64::MAX as u64,
                0x1_0000_0000,
            ];
            let v = if rng.chance(3, 4) { *rng.pick(&BIG) } else { rng.next() >> rng.below(64) };
            let mut ins = Vec::new();
            let tagged = rng.chance(1, 2);
            if tagged {
                // A length-delimited key first, so the varint is read as a length.
                put_varint(&mut ins, ((1 + rng.below(26) as u64) << 3) | 2);
            }
            put_varint(&mut ins, v);
            let to = rng.below(len + 1);
            b.splice(to..to, ins);
            format!("bytes: insert {}varint {v:#x} at {to}", if tagged { "key + " } else { "" })
        }
    }
}

pub(crate) struct Case {
    pub(crate) input: usize,
    pub(crate) bytes: Vec<u8>,
    pub(crate) desc: Vec<String>,
    /// Also write to a file and go through `load` (and sometimes `save`).
    pub(crate) file: bool,
    pub(crate) save: bool,
}

pub(crate) fn make_case(seed: u64, testdata: &[Input], corpus: &[Input], pool: &[&Input]) -> Case {
    let mut rng = Rng(seed);
    // Half the cases start from the project's own models (which cover the features), half from
    // the corpus selection when there is one.
    let input = if corpus.is_empty() || rng.chance(1, 2) {
        rng.below(testdata.len())
    } else {
        testdata.len() + rng.below(corpus.len())
    };
    let src = pool[input];
    let (n_tree, n_bytes) = match rng.below(10) {
        0..=3 => (1 + rng.below(3), 0),
        4..=6 => (0, 1 + rng.below(3)),
        _ => (1 + rng.below(2), 1 + rng.below(2)),
    };
    let mut desc = Vec::new();
    let mut bytes = match (&src.tree, n_tree) {
        (Some(t), n) if n > 0 => {
            let mut t = t.clone();
            for _ in 0..n {
                // A mutation that finds nothing to act on is retried a few times.
                for _ in 0..4 {
                    if let Some(d) = mutate_tree(&mut t, &mut rng, pool) {
                        desc.push(d);
                        break;
                    }
                }
            }
            let mut out = Vec::with_capacity(src.bytes.len() + 64);
            encode(&t, &mut out);
            out
        }
        _ => src.bytes.to_vec(),
    };
    for _ in 0..n_bytes.max(usize::from(desc.is_empty())) {
        desc.push(mutate_bytes(&mut bytes, &mut rng, pool));
    }
    let file = rng.chance(1, 8);
    let save = file && rng.chance(1, 4);
    Case { input, bytes, desc, file, save }
}
