//! Small records shared by models, graphs, nodes and tensors.

/// A key/value string pair (ONNX `StringStringEntryProto`). Both halves are optional in the
/// format; keeping them so preserves a file exactly.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Default)]
pub struct StringEntry {
    pub key: Option<String>,
    pub value: Option<String>,
}

impl StringEntry {
    pub fn new(key: impl Into<String>, value: impl Into<String>) -> StringEntry {
        StringEntry { key: Some(key.into()), value: Some(value.into()) }
    }
}

/// An operator set the model imports (`domain` "" or absent is the default `ai.onnx` set).
#[derive(Clone, Debug, PartialEq, Eq, Hash, Default)]
pub struct OpsetImport {
    pub domain: Option<String>,
    pub version: Option<i64>,
}

impl OpsetImport {
    /// The domain with ONNX's aliases folded: absent, "" and "ai.onnx" are all the default set.
    pub fn canonical_domain(&self) -> &str {
        canonical_domain(self.domain.as_deref())
    }
}

/// Folds ONNX's spellings of the default operator domain into "".
pub fn canonical_domain(domain: Option<&str>) -> &str {
    match domain {
        None | Some("") | Some("ai.onnx") => "",
        Some(d) => d,
    }
}

/// A multi-device configuration the model describes (ONNX `DeviceConfigurationProto`).
#[derive(Clone, Debug, PartialEq, Default)]
pub struct DeviceConfiguration {
    pub name: Option<String>,
    pub num_devices: Option<i32>,
    pub devices: Vec<String>,
}

/// How one node is placed in a multi-device configuration (ONNX `NodeDeviceConfigurationProto`).
#[derive(Clone, Debug, PartialEq, Default)]
pub struct NodeDeviceConfiguration {
    pub configuration_id: Option<String>,
    pub sharding_specs: Vec<ShardingSpec>,
    pub pipeline_stage: Option<i32>,
}

#[derive(Clone, Debug, PartialEq, Default)]
pub struct ShardingSpec {
    /// The sharded value, by name: these records describe the node, not the value graph.
    pub tensor_name: Option<String>,
    pub devices: Vec<i64>,
    pub index_to_device_group_map: Vec<(Option<i64>, Vec<i64>)>,
    pub sharded_dims: Vec<ShardedDim>,
}

#[derive(Clone, Debug, PartialEq, Default)]
pub struct ShardedDim {
    pub axis: Option<i64>,
    pub simple_sharding: Vec<SimpleShardedDim>,
}

#[derive(Clone, Debug, PartialEq, Default)]
pub struct SimpleShardedDim {
    pub dim: Option<crate::DimValue>,
    pub num_shards: Option<i64>,
}

/// Quantization parameters attached to a value by name (ONNX `TensorAnnotation`).
#[derive(Clone, Debug, PartialEq, Default)]
pub struct TensorAnnotation {
    pub tensor_name: Option<String>,
    pub quant_parameter_tensor_names: Vec<StringEntry>,
}
