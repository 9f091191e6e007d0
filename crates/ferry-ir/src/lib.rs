//! ferry's intermediate representation of ML models.
//!
//! One IR for every frontend (ONNX, TensorFlow, TFLite) and backend. Nodes and values live in
//! per-graph arenas addressed by typed handles; each value has one definition and a use list;
//! tensors hold their bytes without copying them. Operators are open: a node is an op type, a
//! domain and attributes, so operators and domains ferry has never heard of pass through intact.
//!
//! This crate knows nothing of protobuf, files, threads or backends.

pub mod arena;
mod attr;
mod bind;
mod calls;
mod dtype;
mod graph;
mod meta;
mod model;
mod tensor;
pub mod topo;
mod types;

pub use arena::{Arena, Id};
pub use attr::{AttrValue, Attribute, attr_type};
pub use calls::{CallCycle, FunctionKey, function_call_cycle};
pub use dtype::{DataType, TypeClass, TypeInfo};
pub use graph::{
    DeclSite, Graph, Initializer, Node, NodeId, NodeIds, Use, UseSlot, Value, ValueDef, ValueId,
    ValueInfo,
};
pub use meta::{
    DeviceConfiguration, NodeDeviceConfiguration, OpsetImport, ShardedDim, ShardingSpec,
    SimpleShardedDim, StringEntry, TensorAnnotation, canonical_domain,
};
pub use model::{Function, Model, TensorSite, TrainingInfo};
pub use tensor::{ExternalData, ExternalSource, Segment, SparseTensor, Tensor, TensorData};
pub use types::{Dim, DimValue, Shape, TensorType, Type, TypeKind};
