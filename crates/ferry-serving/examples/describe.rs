//! How a model would be described to model servers, in every form ferry writes.
//!
//! ```sh
//! cargo run -p ferry-serving --example describe -- model.onnx [MAX_BATCH_SIZE]
//! ```
//!
//! Prints the Open Inference Protocol metadata (what KServe, MLServer and Triton answer on
//! `GET v2/models/{name}`), the Triton `config.pbtxt`, and Seldon Core 1's `metadata.yaml`.
//! A model with a tensor no format can name is reported with the tensor's name.

use ferry_serving::{ServeOptions, kserve, seldon, triton};
use std::process::ExitCode;

fn main() -> ExitCode {
    let mut args = std::env::args().skip(1);
    let Some(path) = args.next() else {
        eprintln!("usage: describe MODEL.onnx [MAX_BATCH_SIZE]");
        return ExitCode::from(2);
    };
    let max_batch_size = args.next().and_then(|n| n.parse().ok()).unwrap_or(0);
    match run(&path, max_batch_size) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run(path: &str, max_batch_size: u32) -> Result<(), Box<dyn std::error::Error>> {
    let model = ferry_onnx::load(path)?;
    let opts = ServeOptions::for_path(path.as_ref());

    let meta = kserve::model_metadata(&model, &opts)?;
    println!("== Open Inference Protocol: GET v2/models/{}\n{}", meta.name, meta.to_json());

    let config = triton::model_config(&model, &opts, max_batch_size)?;
    println!("== Triton {}/config.pbtxt\n{}", config.name, config.to_pbtxt());

    println!("== Seldon Core 1 metadata.yaml\n{}", seldon::metadata_yaml(&meta));
    Ok(())
}
