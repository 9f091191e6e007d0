//! Naming protobuf fields the vendored schema does not know.
//!
//! prost decodes by the schema and drops fields it does not know without a word: a file from a
//! newer onnx would silently lose them. ferry does not keep such fields yet, but it says so: when
//! the decoded model does not re-encode to the input's length (the cheap sign that something was
//! not understood), this module walks the raw bytes against the schema's field table (generated
//! by `build.rs`) and names each unknown field with the path to it.

include!(concat!(env!("OUT_DIR"), "/schema_fields.rs"));

/// At most this many unknown fields are named; the rest are counted.
const MAX_REPORTED: usize = 20;
/// Protobuf nesting ferry's decoder accepts (prost's limit); deeper bytes were refused already.
const MAX_DEPTH: u32 = 100;

fn fields_of(message: &str) -> Option<&'static [Field]> {
    MESSAGES.binary_search_by(|(name, _)| (*name).cmp(message)).ok().map(|i| MESSAGES[i].1)
}

fn varint(buf: &[u8], pos: &mut usize) -> Option<u64> {
    let mut value = 0u64;
    for shift in (0..64).step_by(7) {
        let b = *buf.get(*pos)?;
        *pos += 1;
        value |= u64::from(b & 0x7f) << shift;
        if b & 0x80 == 0 {
            return Some(value);
        }
    }
    None
}

/// Descriptions of the unknown fields in `bytes`, a serialized `ModelProto`.
pub fn unknown_fields(bytes: &[u8]) -> Vec<String> {
    let mut out = Vec::new();
    let mut extra = 0usize;
    scan(bytes, ".onnx.ModelProto", "ModelProto", 0, &mut out, &mut extra);
    if extra > 0 {
        out.push(format!("... and {extra} more unknown fields"));
    }
    out
}

fn scan(
    buf: &[u8],
    message: &str,
    path: &str,
    depth: u32,
    out: &mut Vec<String>,
    extra: &mut usize,
) {
    let Some(fields) = fields_of(message) else { return };
    if depth > MAX_DEPTH {
        return;
    }
    let short = message.rsplit('.').next().unwrap_or(message);
    let mut pos = 0;
    let mut index: std::collections::HashMap<u32, usize> = std::collections::HashMap::new();
    while pos < buf.len() {
        let Some(tag) = varint(buf, &mut pos) else { return };
        let (number, wire) = ((tag >> 3) as u32, tag & 7);
        let end = match wire {
            0 => {
                if varint(buf, &mut pos).is_none() {
                    return;
                }
                pos
            }
            1 => pos.saturating_add(8),
            5 => pos.saturating_add(4),
            2 => {
                let Some(len) = varint(buf, &mut pos) else { return };
                let Some(end) = usize::try_from(len).ok().and_then(|l| pos.checked_add(l)) else {
                    return;
                };
                end
            }
            // Groups (3, 4) are not used by ONNX; anything else is corrupt.
            _ => {
                note(out, extra, format!("field {number} of {short} at {path} (wire type {wire})"));
                return;
            }
        };
        if end > buf.len() {
            return;
        }
        match fields.iter().find(|f| f.0 == number) {
            None => note(out, extra, format!("field {number} of {short} at {path}")),
            Some((_, ty, name)) if !ty.is_empty() && wire == 2 => {
                let i = index.entry(number).or_insert(0);
                let sub_path = format!("{path}.{name}[{i}]");
                *i += 1;
                let payload = &buf[pos..end];
                scan(payload, ty, &sub_path, depth + 1, out, extra);
            }
            Some(_) => {}
        }
        pos = end;
    }
}

fn note(out: &mut Vec<String>, extra: &mut usize, what: String) {
    if out.len() < MAX_REPORTED {
        out.push(what);
    } else {
        *extra += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_unknown_fields_with_their_path() {
        use prost::Message;
        let model = crate::proto::ModelProto {
            ir_version: Some(10),
            graph: Some(crate::proto::GraphProto {
                node: vec![crate::proto::NodeProto {
                    op_type: Some("Relu".into()),
                    ..Default::default()
                }],
                ..Default::default()
            }),
            ..Default::default()
        };
        let known = model.encode_to_vec();
        assert!(unknown_fields(&known).is_empty());
        // Append field 99 (varint 7) to the first node, and field 77 (bytes) to the model.
        let mut node =
            crate::proto::NodeProto { op_type: Some("Relu".into()), ..Default::default() }
                .encode_to_vec();
        node.extend_from_slice(&[0x98, 0x06, 0x07]);
        let mut graph = vec![0x0a, node.len() as u8];
        graph.extend_from_slice(&node);
        let mut bytes = vec![0x08, 10, 0x3a, graph.len() as u8];
        bytes.extend_from_slice(&graph);
        bytes.extend_from_slice(&[0xea, 0x04, 0x02, b'h', b'i']);
        let found = unknown_fields(&bytes);
        assert_eq!(
            found,
            [
                "field 99 of NodeProto at ModelProto.graph[0].node[0]",
                "field 77 of ModelProto at ModelProto"
            ]
        );
    }
}
