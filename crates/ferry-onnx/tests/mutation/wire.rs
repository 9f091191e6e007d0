use super::*;

// ------------------------------------------------------------------------------------------------
// Protobuf wire tree

#[derive(Clone)]
pub(crate) enum Val {
    Varint(u64),
    I64(u64),
    I32(u32),
    /// A length-delimited field that did not parse as a message (string, bytes, packed scalars).
    Len(Bytes),
    /// A length-delimited field that parsed as a message.
    Msg(Vec<Field>),
}

#[derive(Clone)]
pub(crate) struct Field {
    pub(crate) num: u64,
    pub(crate) val: Val,
}

pub(crate) fn read_varint(b: &[u8], pos: &mut usize) -> Option<u64> {
    let mut v = 0u64;
    for i in 0..10 {
        let byte = *b.get(*pos)?;
        *pos += 1;
        v |= u64::from(byte & 0x7f) << (7 * i);
        if byte < 0x80 {
            return Some(v);
        }
    }
    None
}

pub(crate) fn put_varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

/// Parses `b` as a message; length-delimited fields that parse as messages become subtrees.
pub(crate) fn parse(b: &Bytes, depth: usize) -> Option<Vec<Field>> {
    let mut pos = 0;
    let mut out = Vec::new();
    while pos < b.len() {
        let key = read_varint(b, &mut pos)?;
        let num = key >> 3;
        if num == 0 || num >= 1 << 29 {
            return None;
        }
        let val = match key & 7 {
            0 => Val::Varint(read_varint(b, &mut pos)?),
            1 => {
                let s = b.get(pos..pos + 8)?;
                pos += 8;
                Val::I64(u64::from_le_bytes(s.try_into().ok()?))
            }
            2 => {
                let len = usize::try_from(read_varint(b, &mut pos)?).ok()?;
                if len > b.len() - pos {
                    return None;
                }
                let sub = b.slice(pos..pos + len);
                pos += len;
                match (len > 0 && depth < 64).then(|| parse(&sub, depth + 1)).flatten() {
                    Some(m) => Val::Msg(m),
                    None => Val::Len(sub),
                }
            }
            5 => {
                let s = b.get(pos..pos + 4)?;
                pos += 4;
                Val::I32(u32::from_le_bytes(s.try_into().ok()?))
            }
            _ => return None,
        };
        out.push(Field { num, val });
    }
    Some(out)
}

pub(crate) fn encode(fields: &[Field], out: &mut Vec<u8>) {
    for f in fields {
        match &f.val {
            Val::Varint(v) => {
                put_varint(out, f.num << 3);
                put_varint(out, *v);
            }
            Val::I64(v) => {
                put_varint(out, (f.num << 3) | 1);
                out.extend_from_slice(&v.to_le_bytes());
            }
            Val::I32(v) => {
                put_varint(out, (f.num << 3) | 5);
                out.extend_from_slice(&v.to_le_bytes());
            }
            Val::Len(b) => {
                put_varint(out, (f.num << 3) | 2);
                put_varint(out, b.len() as u64);
                out.extend_from_slice(b);
            }
            Val::Msg(m) => {
                let mut sub = Vec::new();
                encode(m, &mut sub);
                put_varint(out, (f.num << 3) | 2);
                put_varint(out, sub.len() as u64);
                out.extend_from_slice(&sub);
            }
        }
    }
}

pub(crate) type Pred<'a> = &'a dyn Fn(&Field) -> bool;

pub(crate) fn count(fields: &[Field], pred: Pred) -> usize {
    fields
        .iter()
        .map(|f| usize::from(pred(f)) + if let Val::Msg(m) = &f.val { count(m, pred) } else { 0 })
        .sum()
}

/// Finds the `k`-th field (pre-order) matching `pred`; `path` gets the indices leading to it.
pub(crate) fn find_path(
    fields: &[Field],
    k: &mut usize,
    pred: Pred,
    path: &mut Vec<usize>,
) -> bool {
    for (i, f) in fields.iter().enumerate() {
        if pred(f) {
            if *k == 0 {
                path.push(i);
                return true;
            }
            *k -= 1;
        }
        if let Val::Msg(m) = &f.val {
            path.push(i);
            if find_path(m, k, pred, path) {
                return true;
            }
            path.pop();
        }
    }
    false
}

/// A uniformly chosen field matching `pred`, as a path of indices.
pub(crate) fn pick_field(root: &[Field], rng: &mut Rng, pred: Pred) -> Option<Vec<usize>> {
    let n = count(root, pred);
    if n == 0 {
        return None;
    }
    let mut k = rng.below(n);
    let mut path = Vec::new();
    find_path(root, &mut k, pred, &mut path).then_some(path)
}

/// The message holding the field at `path`.
pub(crate) fn parent_mut<'a>(root: &'a mut Vec<Field>, path: &[usize]) -> &'a mut Vec<Field> {
    let mut cur = root;
    for &i in &path[..path.len() - 1] {
        cur = match &mut cur[i].val {
            Val::Msg(m) => m,
            _ => panic!("path through a non-message field"),
        };
    }
    cur
}

pub(crate) fn field_at<'a>(root: &'a [Field], path: &[usize]) -> &'a Field {
    let mut cur = root;
    for &i in &path[..path.len() - 1] {
        cur = match &cur[i].val {
            Val::Msg(m) => m,
            _ => panic!("path through a non-message field"),
        };
    }
    &cur[path[path.len() - 1]]
}

/// Field numbers along a path, e.g. `7.1.5` (graph, node, attribute).
pub(crate) fn path_name(root: &[Field], path: &[usize]) -> String {
    let mut cur = root;
    let mut parts = Vec::new();
    for &i in path {
        parts.push(cur[i].num.to_string());
        if let Val::Msg(m) = &cur[i].val {
            cur = m;
        }
    }
    parts.join(".")
}
