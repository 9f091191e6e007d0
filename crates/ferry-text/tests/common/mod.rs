//! Shared by the integration tests: finding models, and comparing two IR models structurally.
#![allow(dead_code)]

pub mod compare;

#[allow(unused_imports)] // each test binary uses a different part
pub use ferry_testkit::{conformance_dir, onnx_files, repo_root};
