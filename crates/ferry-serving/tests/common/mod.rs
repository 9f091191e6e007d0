//! Helpers shared by the serving tests: building small models, golden files, and reading a
//! `config.pbtxt` back through Triton's own schema.

#![allow(dead_code)] // each test binary uses a different part

use ferry_ir::{DataType, DimValue, Graph, Model, Node, OpsetImport, Type, ValueInfo};
use prost_reflect::{DynamicMessage, MessageDescriptor, ReflectMessage, Value};
use std::path::PathBuf;
use std::sync::OnceLock;

/// A model whose graph passes each `(name, type)` input through an Identity to an output named
/// `<name>_out` of the same type.
pub fn passthrough(tensors: &[(&str, Type)]) -> Model {
    let mut g = Graph::new();
    for (name, ty) in tensors {
        let info = ValueInfo { ty: Some(ty.clone()), ..ValueInfo::default() };
        let x = g.add_input(*name, info);
        let out = format!("{name}_out");
        let (_, outs) = g.add_node(Node::new("Identity"), &[Some(x)], &[Some(&out)]);
        let y = outs[0].expect("Identity has an output");
        g.value_mut(y).info.ty = Some(ty.clone());
        g.add_output(y);
    }
    Model {
        ir_version: Some(10),
        opset_imports: vec![OpsetImport { domain: Some(String::new()), version: Some(21) }],
        producer_name: Some("ferry-tests".into()),
        graph: Some(g),
        ..Model::default()
    }
}

pub fn tensor(elem: DataType, dims: &[DimValue]) -> Type {
    Type::tensor(elem, dims.iter().cloned())
}

pub fn n(v: i64) -> DimValue {
    DimValue::Known(v)
}

pub fn sym(s: &str) -> DimValue {
    DimValue::Symbol(s.into())
}

fn golden_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../testdata/serving")
}

/// Compares `actual` with `testdata/serving/<name>`, after writing ferry's version as
/// `<ferry_version>` so a version bump does not touch every golden file. With `FERRY_BLESS=1`
/// the file is (re)written instead.
pub fn golden(name: &str, actual: &str) {
    let actual = actual.replace(env!("CARGO_PKG_VERSION"), "<ferry_version>");
    let path = golden_dir().join(name);
    if std::env::var_os("FERRY_BLESS").is_some() {
        std::fs::write(&path, &actual).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        return;
    }
    let want = std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!("{}: {e} (run with FERRY_BLESS=1 to create it)", path.display())
    });
    assert!(
        want == actual,
        "{} differs from what ferry writes now (FERRY_BLESS=1 rewrites it):\n--- want\n{want}\n--- got\n{actual}",
        path.display()
    );
}

/// Triton's `inference.ModelConfig`, compiled from the vendored `proto/triton/model_config.proto`.
pub fn model_config_descriptor() -> MessageDescriptor {
    static DESC: OnceLock<MessageDescriptor> = OnceLock::new();
    DESC.get_or_init(|| {
        let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../proto/triton");
        let mut compiler = protox::Compiler::new([dir]).expect("protox include path");
        compiler.open_file("model_config.proto").expect("compile model_config.proto");
        compiler
            .descriptor_pool()
            .get_message_by_name("inference.ModelConfig")
            .expect("ModelConfig in the schema")
    })
    .clone()
}

/// One `ModelInput`/`ModelOutput` as Triton's parser reads it.
#[derive(Debug, PartialEq, Eq)]
pub struct ParsedTensor {
    pub name: String,
    /// The `DataType` enumerator's name, looked up in the schema.
    pub data_type: String,
    pub dims: Vec<i64>,
    /// `reshape.shape` when `reshape` is set.
    pub reshape: Option<Vec<i64>>,
}

/// The fields of a `config.pbtxt` ferry fills in, parsed with protobuf's text format against
/// Triton's schema.
#[derive(Debug, PartialEq, Eq)]
pub struct ParsedConfig {
    pub name: String,
    pub platform: String,
    pub max_batch_size: i32,
    pub inputs: Vec<ParsedTensor>,
    pub outputs: Vec<ParsedTensor>,
}

pub fn parse_config(text: &str) -> Result<ParsedConfig, String> {
    let desc = model_config_descriptor();
    let msg = DynamicMessage::parse_text_format(desc, text).map_err(|e| e.to_string())?;
    let string = |m: &DynamicMessage, f: &str| {
        m.get_field_by_name(f).and_then(|v| v.as_str().map(str::to_string)).unwrap_or_default()
    };
    let ints = |v: Option<std::borrow::Cow<'_, Value>>| -> Vec<i64> {
        v.and_then(|v| v.as_list().map(|l| l.iter().filter_map(Value::as_i64).collect()))
            .unwrap_or_default()
    };
    let tensors = |field: &str| -> Vec<ParsedTensor> {
        let Some(list) = msg.get_field_by_name(field) else { return Vec::new() };
        let list = list.as_list().map(<[Value]>::to_vec).unwrap_or_default();
        list.iter()
            .filter_map(Value::as_message)
            .map(|t| {
                let enum_desc = t
                    .descriptor()
                    .get_field_by_name("data_type")
                    .and_then(|f| f.kind().as_enum().cloned())
                    .expect("data_type is an enum");
                let number =
                    t.get_field_by_name("data_type").and_then(|v| v.as_enum_number()).unwrap_or(-1);
                let data_type = enum_desc
                    .get_value(number)
                    .map_or_else(|| format!("#{number}"), |v| v.name().to_string());
                let reshape = t.has_field_by_name("reshape").then(|| {
                    let r = t.get_field_by_name("reshape").expect("reshape is set");
                    ints(r.as_message().and_then(|m| m.get_field_by_name("shape")))
                });
                ParsedTensor {
                    name: string(t, "name"),
                    data_type,
                    dims: ints(t.get_field_by_name("dims")),
                    reshape,
                }
            })
            .collect()
    };
    Ok(ParsedConfig {
        name: string(&msg, "name"),
        platform: string(&msg, "platform"),
        max_batch_size: msg
            .get_field_by_name("max_batch_size")
            .and_then(|v| v.as_i32())
            .unwrap_or_default(),
        inputs: tensors("input"),
        outputs: tensors("output"),
    })
}
