//! The committed table must be exactly what the generator writes from onnx.

use std::path::Path;
use std::process::Command;

#[test]
fn schema_table_matches_generator() {
    let Some(python) = std::env::var_os("FERRY_PYTHON") else {
        assert!(
            std::env::var_os("FERRY_REQUIRE_PYTHON").is_none(),
            "FERRY_PYTHON must point at a python with onnx (scripts/testdata-venv.sh)"
        );
        println!("skipped: FERRY_PYTHON is not set (scripts/test.sh sets it)");
        return;
    };
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scripts/gen_op_schemas.py");
    let out = Command::new(python).arg(&script).arg("--check").output().expect("run the generator");
    assert!(
        out.status.success(),
        "the schema table disagrees with the generator:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}
