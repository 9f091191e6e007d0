//! onnxruntime as the second reference (cargo feature `ort`).
//!
//! The library is loaded at run time from the file `ORT_DYLIB_PATH` names, so ferry neither
//! links nor downloads onnxruntime. The onnxruntime Python wheel ships one:
//!
//! ```sh
//! pip install onnxruntime==1.32.0
//! export ORT_DYLIB_PATH=$(python -c 'import onnxruntime, pathlib; \
//!     print(next(pathlib.Path(onnxruntime.__file__).parent.glob("capi/libonnxruntime.so.*")))')
//! cargo test -p ferry-verify --features ort
//! ```
//!
//! Graph optimizations are off (`ORT_DISABLE_ALL`): the reference should run the graph as
//! written, not a rewrite of its own. It covers what tract lacks: ONNX-ML, `com.microsoft`
//! contrib operators, `Loop`. Outputs that are not tensors (a ZipMap's sequence of maps) are not
//! compared; such a model is not checked by onnxruntime.

use crate::shapes::InputSpec;
use crate::tensor::{Data, HostTensor};
use crate::{Runner, Subject};
use ort::session::builder::GraphOptimizationLevel;
use ort::session::{Session, SessionInputValue};
use ort::value::{DynValue, Tensor, TensorElementType, ValueType};
use std::borrow::Cow;
use std::sync::{Mutex, OnceLock};

/// The environment, made once per process from `ORT_DYLIB_PATH` (or why it cannot be).
fn environment() -> Result<&'static ort::environment::Environment, String> {
    static ENV: OnceLock<Result<ort::environment::Environment, String>> = OnceLock::new();
    ENV.get_or_init(|| {
        let path = std::env::var_os("ORT_DYLIB_PATH").ok_or_else(|| {
            "ORT_DYLIB_PATH is not set (point it at libonnxruntime.so, e.g. the one in the \
             onnxruntime Python wheel's capi/ folder)"
                .to_string()
        })?;
        let builder = ort::init_from(&path)
            .map_err(|e| format!("cannot load {}: {e}", std::path::Path::new(&path).display()))?;
        builder.with_name("ferry-verify").build().map_err(|e| e.to_string())
    })
    .as_ref()
    .map_err(Clone::clone)
}

pub(crate) struct OrtRunner {
    session: Mutex<Session>,
    inputs: Vec<String>,
    outputs: Vec<String>,
}

/// A session for `subject`, or why onnxruntime cannot load it.
pub(crate) fn prepare(subject: &Subject, specs: &[InputSpec]) -> Result<OrtRunner, String> {
    let env = environment()?;
    let bytes = ferry_onnx::to_bytes(subject.model).map_err(|e| e.to_string())?;
    let mut builder = Session::builder(env)
        .map_err(|e| e.to_string())?
        .with_optimization_level(GraphOptimizationLevel::Disable)
        .map_err(|e| e.to_string())?
        .with_log_level(ort::logging::LogLevel::Fatal)
        .map_err(|e| e.to_string())?;
    if let Some(dir) = subject.dir.and_then(|d| d.to_str()) {
        builder = builder
            .with_config_entry("session.model_external_initializers_file_folder_path", dir)
            .map_err(|e| e.to_string())?;
    }
    let session = builder.commit_from_memory(&bytes).map_err(|e| crate::shorten(&e.to_string()))?;
    let outputs = session.outputs().iter().map(|o| o.name().to_string()).collect();
    Ok(OrtRunner {
        session: Mutex::new(session),
        inputs: specs.iter().map(|s| s.name.clone()).collect(),
        outputs,
    })
}

impl Runner for OrtRunner {
    fn label(&self) -> String {
        "onnxruntime".into()
    }

    fn run(&self, inputs: &[HostTensor]) -> Result<Vec<HostTensor>, String> {
        let mut feeds: Vec<(Cow<'_, str>, SessionInputValue<'_>)> = Vec::new();
        for (name, t) in self.inputs.iter().zip(inputs) {
            feeds.push((Cow::Borrowed(name.as_str()), to_ort(t)?.into()));
        }
        let mut session = self.session.lock().map_err(|_| "session lock poisoned".to_string())?;
        let outs = session.run(feeds).map_err(|e| crate::shorten(&e.to_string()))?;
        self.outputs
            .iter()
            .map(|name| {
                let v = outs.get(name).ok_or_else(|| format!("no output {name}"))?;
                from_ort(name, v)
            })
            .collect()
    }
}

fn to_ort(t: &HostTensor) -> Result<DynValue, String> {
    let shape: Vec<i64> = t.shape.iter().map(|&d| d as i64).collect();
    let e = |e: ort::Error| e.to_string();
    Ok(match &t.data {
        Data::F16(v) => Tensor::from_array((shape, v.clone())).map_err(e)?.into_dyn(),
        Data::F32(v) => Tensor::from_array((shape, v.clone())).map_err(e)?.into_dyn(),
        Data::F64(v) => Tensor::from_array((shape, v.clone())).map_err(e)?.into_dyn(),
        Data::I8(v) => Tensor::from_array((shape, v.clone())).map_err(e)?.into_dyn(),
        Data::I16(v) => Tensor::from_array((shape, v.clone())).map_err(e)?.into_dyn(),
        Data::I32(v) => Tensor::from_array((shape, v.clone())).map_err(e)?.into_dyn(),
        Data::I64(v) => Tensor::from_array((shape, v.clone())).map_err(e)?.into_dyn(),
        Data::U8(v) => Tensor::from_array((shape, v.clone())).map_err(e)?.into_dyn(),
        Data::U16(v) => Tensor::from_array((shape, v.clone())).map_err(e)?.into_dyn(),
        Data::U32(v) => Tensor::from_array((shape, v.clone())).map_err(e)?.into_dyn(),
        Data::U64(v) => Tensor::from_array((shape, v.clone())).map_err(e)?.into_dyn(),
        Data::Bool(v) => Tensor::from_array((shape, v.clone())).map_err(e)?.into_dyn(),
        Data::Str(v) => Tensor::from_string_array((shape, v.as_slice())).map_err(e)?.into_dyn(),
    })
}

fn from_ort(name: &str, v: &DynValue) -> Result<HostTensor, String> {
    let ValueType::Tensor { ty, .. } = v.dtype() else {
        return Err(format!("output {name} is a {}, not a tensor", v.dtype()));
    };
    fn get<T: ort::value::PrimitiveTensorElementType + Clone>(
        v: &DynValue,
    ) -> Result<(Vec<usize>, Vec<T>), String> {
        let (shape, data) = v.try_extract_tensor::<T>().map_err(|e| e.to_string())?;
        let shape = shape.iter().map(|&d| usize::try_from(d).unwrap_or(0)).collect();
        Ok((shape, data.to_vec()))
    }
    macro_rules! take {
        ($variant:ident, $t:ty) => {{
            let (shape, data) = get::<$t>(v)?;
            HostTensor { shape, data: Data::$variant(data) }
        }};
    }
    Ok(match ty {
        TensorElementType::Float16 => take!(F16, half::f16),
        TensorElementType::Float32 => take!(F32, f32),
        TensorElementType::Float64 => take!(F64, f64),
        TensorElementType::Int8 => take!(I8, i8),
        TensorElementType::Int16 => take!(I16, i16),
        TensorElementType::Int32 => take!(I32, i32),
        TensorElementType::Int64 => take!(I64, i64),
        TensorElementType::Uint8 => take!(U8, u8),
        TensorElementType::Uint16 => take!(U16, u16),
        TensorElementType::Uint32 => take!(U32, u32),
        TensorElementType::Uint64 => take!(U64, u64),
        TensorElementType::Bool => take!(Bool, bool),
        TensorElementType::String => {
            let (shape, data) = v.try_extract_strings().map_err(|e| e.to_string())?;
            let shape = shape.iter().map(|&d| usize::try_from(d).unwrap_or(0)).collect();
            HostTensor { shape, data: Data::Str(data) }
        }
        other => return Err(format!("output {name} has element type {other:?}")),
    })
}
