//! Input -> `dir/model.onnx` -> `load` (memory map, external data resolution).
//!
//! The directory also holds a small fixed data file, `w.bin` (4 KiB), so that external-data
//! references can resolve: their location, offset and length checks and the lazily mapped slices
//! are exercised. For a model that loads, every resolved external tensor is read and must have
//! the length it claims, and the model is exported.
#![no_main]

use ferry_ir::TensorData;
use libfuzzer_sys::fuzz_target;
use std::path::PathBuf;
use std::sync::OnceLock;

const DATA_LEN: usize = 4096;

fn dir() -> &'static PathBuf {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let d = std::env::temp_dir().join(format!("ferry-fuzz-load-file.{}", std::process::id()));
        std::fs::create_dir_all(&d).expect("create the fuzz directory");
        let data: Vec<u8> = (0..DATA_LEN).map(|i| (i * 7 % 251) as u8).collect();
        let w = d.join("w.bin");
        let _ = std::fs::remove_file(&w);
        std::fs::write(&w, data).expect("write w.bin");
        d
    })
}

fuzz_target!(|data: &[u8]| {
    let path = dir().join("model.onnx");
    // Unlink rather than truncate: nothing may still map the previous file, but be safe.
    let _ = std::fs::remove_file(&path);
    std::fs::write(&path, data).expect("write model.onnx");
    let Ok(model) = ferry_onnx::load(&path) else { return };
    model.for_each_tensor(&mut |t| {
        if let TensorData::External(e) = &t.data
            && let Some(source) = &e.source
        {
            let bytes = source.bytes().expect("a resolved external tensor must be readable");
            assert_eq!(bytes.len() as u64, source.len(), "external slice has the wrong length");
        }
    });
    let _ = ferry_onnx::to_bytes(&model);
});
