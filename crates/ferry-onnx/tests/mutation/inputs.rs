use super::*;

// ------------------------------------------------------------------------------------------------
// Inputs

pub(crate) struct Input {
    /// Path relative to its set's root, for messages.
    pub(crate) name: String,
    pub(crate) bytes: Bytes,
    pub(crate) tree: Option<Vec<Field>>,
}

pub(crate) const MAX_INPUT: u64 = 4 << 20;

/// Every `n`-th file, spread over the sorted list, at most `max` of them.
pub(crate) fn spread(files: Vec<PathBuf>, max: usize) -> Vec<PathBuf> {
    if files.len() <= max {
        return files;
    }
    let step = files.len() as f64 / max as f64;
    (0..max).map(|i| files[(i as f64 * step) as usize].clone()).collect()
}

/// (testdata inputs, corpus inputs)
pub(crate) fn load_inputs() -> (Vec<Input>, Vec<Input>) {
    let read = |p: &Path, root: &Path| -> Option<Input> {
        let meta = std::fs::metadata(p).ok()?;
        if meta.len() > MAX_INPUT {
            return None;
        }
        let bytes = Bytes::from(std::fs::read(p).ok()?);
        let tree = parse(&bytes, 0);
        let name = p.strip_prefix(root).unwrap_or(p).display().to_string();
        Some(Input { name, bytes, tree })
    };
    let root = repo_root();
    let is_onnx = |p: &Path| p.extension().is_some_and(|x| x == "onnx");
    let testdata: Vec<Input> = find_files(&root.join("testdata/onnx"), &is_onnx)
        .iter()
        .filter_map(|p| read(p, &root))
        .collect();
    let mut corpus = Vec::new();
    if let Some(c) = std::env::var_os("FERRY_CORPUS").map(PathBuf::from) {
        let small = |p: &Path| std::fs::metadata(p).is_ok_and(|m| m.len() <= MAX_INPUT);
        let models: Vec<PathBuf> = find_files(&c.join("models"), &|p| is_onnx(p) && small(p));
        let conformance: Vec<PathBuf> = find_files(&c.join("onnx-conformance"), &|p| {
            p.file_name().is_some_and(|n| n == "model.onnx") && small(p)
        });
        for p in spread(models, 16).iter().chain(&spread(conformance, 48)) {
            corpus.extend(read(p, &c));
        }
    }
    (testdata, corpus)
}
