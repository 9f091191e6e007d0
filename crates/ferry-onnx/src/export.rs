//! IR -> `ModelProto`.
//!
//! The exact inverse of [`crate::import`]: every optional field the importer kept is written back
//! as it was, tensor payloads go back to the field they came from (cloning a `Bytes` is a
//! reference-count bump, not a copy), and lists keep their order.

use crate::proto;
use ferry_ir::{
    AttrValue, Attribute, DeclSite, DimValue, Function, Graph, Initializer, Model,
    NodeDeviceConfiguration, OpsetImport, Shape, SparseTensor, StringEntry, Tensor, TensorData,
    Type, TypeKind, ValueId,
};

pub fn model(m: &Model) -> proto::ModelProto {
    proto::ModelProto {
        ir_version: m.ir_version,
        opset_import: opsets(&m.opset_imports),
        producer_name: m.producer_name.clone(),
        producer_version: m.producer_version.clone(),
        domain: m.domain.clone(),
        model_version: m.model_version,
        doc_string: m.doc_string.clone(),
        graph: m.graph.as_ref().map(graph),
        metadata_props: entries(&m.metadata_props),
        training_info: m
            .training_info
            .iter()
            .map(|t| proto::TrainingInfoProto {
                initialization: t.initialization.as_ref().map(graph),
                algorithm: t.algorithm.as_ref().map(graph),
                initialization_binding: entries(&t.initialization_binding),
                update_binding: entries(&t.update_binding),
            })
            .collect(),
        functions: m.functions.iter().map(function).collect(),
        configuration: m
            .configurations
            .iter()
            .map(|c| proto::DeviceConfigurationProto {
                name: c.name.clone(),
                num_devices: c.num_devices,
                device: c.devices.clone(),
            })
            .collect(),
    }
}

fn function(f: &Function) -> proto::FunctionProto {
    let body = graph(&f.body);
    proto::FunctionProto {
        name: f.name.clone(),
        input: body.input.into_iter().map(|v| v.name.unwrap_or_default()).collect(),
        output: body.output.into_iter().map(|v| v.name.unwrap_or_default()).collect(),
        attribute: f.attributes.clone(),
        attribute_proto: f.attribute_defaults.iter().map(attribute).collect(),
        node: body.node,
        doc_string: f.doc_string.clone(),
        opset_import: opsets(&f.opset_imports),
        domain: f.domain.clone(),
        overload: f.overload.clone(),
        value_info: body.value_info,
        metadata_props: entries(&f.metadata_props),
    }
}

pub fn graph(g: &Graph) -> proto::GraphProto {
    let name = |v: &Option<ValueId>| v.map(|v| g.value(v).name.clone()).unwrap_or_default();
    let decl = |site: DeclSite, list: &[ValueId]| -> Vec<proto::ValueInfoProto> {
        list.iter()
            .enumerate()
            .map(|(i, &v)| {
                let value = g.value(v);
                let info = g.decl_override(site, i).unwrap_or(&value.info);
                proto::ValueInfoProto {
                    name: (!value.name.is_empty()).then(|| value.name.clone()),
                    r#type: info.ty.as_ref().map(ty),
                    doc_string: info.doc_string.clone(),
                    metadata_props: entries(&info.metadata_props),
                }
            })
            .collect()
    };
    let node = g
        .nodes()
        .map(|(_, n)| proto::NodeProto {
            input: n.inputs().iter().map(name).collect(),
            output: n.outputs().iter().map(name).collect(),
            name: n.name.clone(),
            // Required fields left empty are written as absent (see ARCHITECTURE.md).
            op_type: (!n.op_type.is_empty()).then(|| n.op_type.clone()),
            domain: n.domain.clone(),
            overload: n.overload.clone(),
            attribute: n.attributes.iter().map(attribute).collect(),
            doc_string: n.doc_string.clone(),
            metadata_props: entries(&n.metadata_props),
            device_configurations: n
                .device_configurations
                .iter()
                .map(device_configuration)
                .collect(),
        })
        .collect();
    let initializer = g
        .initializers()
        .iter()
        .filter_map(|&v| match &g.value(v).initializer {
            Some(Initializer::Dense(t)) => Some(tensor(t)),
            _ => None,
        })
        .collect();
    let sparse_initializer = g
        .sparse_initializers()
        .iter()
        .filter_map(|&v| match &g.value(v).initializer {
            Some(Initializer::Sparse(s)) => Some(sparse(s)),
            _ => None,
        })
        .collect();
    proto::GraphProto {
        node,
        name: g.name.clone(),
        initializer,
        sparse_initializer,
        doc_string: g.doc_string.clone(),
        input: decl(DeclSite::Input, g.inputs()),
        output: decl(DeclSite::Output, g.outputs()),
        value_info: decl(DeclSite::ValueInfo, g.value_info()),
        quantization_annotation: g
            .quantization_annotations
            .iter()
            .map(|a| proto::TensorAnnotation {
                tensor_name: a.tensor_name.clone(),
                quant_parameter_tensor_names: entries(&a.quant_parameter_tensor_names),
            })
            .collect(),
        metadata_props: entries(&g.metadata_props),
    }
}

fn attribute(a: &Attribute) -> proto::AttributeProto {
    let mut p = proto::AttributeProto {
        name: (!a.name.is_empty()).then(|| a.name.clone()),
        ref_attr_name: a.ref_attr_name.clone(),
        doc_string: a.doc_string.clone(),
        r#type: a.declared,
        ..Default::default()
    };
    match &a.value {
        AttrValue::Empty => {}
        AttrValue::Float(f) => p.f = Some(*f),
        AttrValue::Int(i) => p.i = Some(*i),
        AttrValue::String(s) => p.s = Some(s.clone()),
        AttrValue::Tensor(t) => p.t = Some(tensor(t)),
        AttrValue::Graph(g) => p.g = Some(graph(g)),
        AttrValue::SparseTensor(s) => p.sparse_tensor = Some(sparse(s)),
        AttrValue::Type(t) => p.tp = Some(ty(t)),
        AttrValue::Floats(v) => p.floats = v.clone(),
        AttrValue::Ints(v) => p.ints = v.clone(),
        AttrValue::Strings(v) => p.strings = v.clone(),
        AttrValue::Tensors(v) => p.tensors = v.iter().map(tensor).collect(),
        AttrValue::Graphs(v) => p.graphs = v.iter().map(graph).collect(),
        AttrValue::SparseTensors(v) => p.sparse_tensors = v.iter().map(sparse).collect(),
        AttrValue::Types(v) => p.type_protos = v.iter().map(ty).collect(),
    }
    p
}

pub fn tensor(t: &Tensor) -> proto::TensorProto {
    let mut p = proto::TensorProto {
        dims: t.dims.clone(),
        data_type: t.dtype.map(|d| d.0),
        segment: t.segment.map(|s| proto::tensor_proto::Segment { begin: s.begin, end: s.end }),
        name: t.name.clone(),
        doc_string: t.doc_string.clone(),
        data_location: t.data_location,
        metadata_props: entries(&t.metadata_props),
        ..Default::default()
    };
    match &t.data {
        TensorData::None => {}
        TensorData::Raw(b) => p.raw_data = Some(b.clone()),
        TensorData::Float(v) => p.float_data = v.clone(),
        TensorData::Int32(v) => p.int32_data = v.clone(),
        TensorData::Int64(v) => p.int64_data = v.clone(),
        TensorData::Double(v) => p.double_data = v.clone(),
        TensorData::Uint64(v) => p.uint64_data = v.clone(),
        TensorData::String(v) => p.string_data = v.clone(),
        TensorData::External(e) => p.external_data = entries(&e.entries),
    }
    p
}

fn sparse(s: &SparseTensor) -> proto::SparseTensorProto {
    proto::SparseTensorProto {
        values: s.values.as_ref().map(tensor),
        indices: s.indices.as_ref().map(tensor),
        dims: s.dims.clone(),
    }
}

fn ty(t: &Type) -> proto::TypeProto {
    use proto::type_proto as tp;
    let boxed = |t: &Option<Box<Type>>| t.as_ref().map(|t| Box::new(ty(t)));
    let value = t.kind.as_ref().map(|k| match k {
        TypeKind::Tensor(t) => tp::Value::TensorType(tp::Tensor {
            elem_type: t.elem.map(|e| e.0),
            shape: t.shape.as_ref().map(shape),
        }),
        TypeKind::SparseTensor(t) => tp::Value::SparseTensorType(tp::SparseTensor {
            elem_type: t.elem.map(|e| e.0),
            shape: t.shape.as_ref().map(shape),
        }),
        TypeKind::Sequence(e) => {
            tp::Value::SequenceType(Box::new(tp::Sequence { elem_type: boxed(e) }))
        }
        TypeKind::Optional(e) => {
            tp::Value::OptionalType(Box::new(tp::Optional { elem_type: boxed(e) }))
        }
        TypeKind::Map { key, value } => tp::Value::MapType(Box::new(tp::Map {
            key_type: key.map(|k| k.0),
            value_type: boxed(value),
        })),
        TypeKind::Opaque { domain, name } => {
            tp::Value::OpaqueType(tp::Opaque { domain: domain.clone(), name: name.clone() })
        }
    });
    proto::TypeProto { value, denotation: t.denotation.clone() }
}

fn shape(s: &Shape) -> proto::TensorShapeProto {
    use proto::tensor_shape_proto::{Dimension, dimension::Value as D};
    proto::TensorShapeProto {
        dim: s
            .dims
            .iter()
            .map(|d| Dimension {
                value: match &d.value {
                    DimValue::Known(n) => Some(D::DimValue(*n)),
                    DimValue::Symbol(p) => Some(D::DimParam(p.clone())),
                    DimValue::Unknown => None,
                },
                denotation: d.denotation.clone(),
            })
            .collect(),
    }
}

fn entries(v: &[StringEntry]) -> Vec<proto::StringStringEntryProto> {
    v.iter()
        .map(|e| proto::StringStringEntryProto { key: e.key.clone(), value: e.value.clone() })
        .collect()
}

fn opsets(v: &[OpsetImport]) -> Vec<proto::OperatorSetIdProto> {
    v.iter()
        .map(|o| proto::OperatorSetIdProto { domain: o.domain.clone(), version: o.version })
        .collect()
}

fn device_configuration(d: &NodeDeviceConfiguration) -> proto::NodeDeviceConfigurationProto {
    use proto::simple_sharded_dim_proto::Dim as D;
    proto::NodeDeviceConfigurationProto {
        configuration_id: d.configuration_id.clone(),
        pipeline_stage: d.pipeline_stage,
        sharding_spec: d
            .sharding_specs
            .iter()
            .map(|s| proto::ShardingSpecProto {
                tensor_name: s.tensor_name.clone(),
                device: s.devices.clone(),
                index_to_device_group_map: s
                    .index_to_device_group_map
                    .iter()
                    .map(|(k, v)| proto::IntIntListEntryProto { key: *k, value: v.clone() })
                    .collect(),
                sharded_dim: s
                    .sharded_dims
                    .iter()
                    .map(|sd| proto::ShardedDimProto {
                        axis: sd.axis,
                        simple_sharding: sd
                            .simple_sharding
                            .iter()
                            .map(|ss| proto::SimpleShardedDimProto {
                                dim: ss.dim.as_ref().and_then(|d| match d {
                                    DimValue::Known(n) => Some(D::DimValue(*n)),
                                    DimValue::Symbol(p) => Some(D::DimParam(p.clone())),
                                    DimValue::Unknown => None,
                                }),
                                num_shards: ss.num_shards,
                            })
                            .collect(),
                    })
                    .collect(),
            })
            .collect(),
    }
}
