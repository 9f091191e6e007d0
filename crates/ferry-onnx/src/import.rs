//! `ModelProto` -> IR.
//!
//! The importer takes the decoded protobuf by value and moves every payload (tensor bytes, typed
//! data vectors) into the IR, so nothing is copied twice. It keeps everything the file says,
//! including fields the IR does not interpret, so that [`crate::export`] reproduces the input.
//!
//! Names are resolved per graph in two steps: first every definition (inputs, initializers, node
//! outputs) is collected, then uses are bound. A graph may therefore list its nodes out of
//! order: the importer accepts it, refuses a true cycle (naming its nodes), and either sorts the
//! nodes (when asked: `LoadOptions::sort_nodes`) or keeps the file's order and warns.

use crate::external::Resolver;
use crate::proto;
use crate::{Error, Result};
use ferry_ir::{
    AttrValue, Attribute, DeclSite, DeviceConfiguration, Dim, DimValue, ExternalData, Function,
    Graph, Initializer, Model, Node, NodeDeviceConfiguration, OpsetImport, Segment, Shape,
    ShardedDim, ShardingSpec, SimpleShardedDim, SparseTensor, StringEntry, Tensor,
    TensorAnnotation, TensorData, TensorType, TrainingInfo, Type, TypeKind, ValueDef, ValueId,
    ValueInfo,
};
use ferry_ir::{DataType, topo};
use rustc_hash::{FxHashMap as HashMap, FxHashSet as HashSet};

/// Subgraphs nested deeper than this are refused (a guard against stack exhaustion from crafted
/// files; real models nest a handful of levels).
pub const MAX_GRAPH_DEPTH: usize = 32;

/// Names visible from enclosing graphs while a subgraph is imported.
struct Scope<'a> {
    names: &'a HashMap<String, ValueId>,
    parent: Option<&'a Scope<'a>>,
}

impl Scope<'_> {
    fn contains(&self, name: &str) -> bool {
        self.names.contains_key(name) || self.parent.is_some_and(|p| p.contains(name))
    }
}

pub(crate) struct Importer<'r> {
    pub(crate) external: &'r mut Resolver,
    /// Put unsorted graphs in topological order (an opt-in normalization; see ARCHITECTURE.md).
    pub(crate) sort_nodes: bool,
    pub(crate) warnings: Vec<String>,
}

impl Importer<'_> {
    pub(crate) fn model(&mut self, mp: proto::ModelProto) -> Result<Model> {
        let graph = match mp.graph {
            Some(g) => {
                let path = format!("graph '{}'", g.name.as_deref().unwrap_or(""));
                Some(self.graph(g, None, &path, 0)?)
            }
            None => None,
        };
        // Training graphs may read the main graph's initializers by name.
        let main_names: HashMap<String, ValueId> = match &graph {
            Some(g) => g.values().map(|(id, v)| (v.name.clone(), id)).collect(),
            None => HashMap::default(),
        };
        let main_scope = Scope { names: &main_names, parent: None };
        let mut training_info = Vec::with_capacity(mp.training_info.len());
        for (i, t) in mp.training_info.into_iter().enumerate() {
            let mut sub = |g: Option<proto::GraphProto>, what: &str| -> Result<Option<Graph>> {
                g.map(|g| {
                    self.graph(g, Some(&main_scope), &format!("training_info[{i}].{what}"), 1)
                })
                .transpose()
            };
            training_info.push(TrainingInfo {
                initialization: sub(t.initialization, "initialization")?,
                algorithm: sub(t.algorithm, "algorithm")?,
                initialization_binding: entries(t.initialization_binding),
                update_binding: entries(t.update_binding),
            });
        }
        let mut functions = Vec::with_capacity(mp.functions.len());
        for f in mp.functions {
            functions.push(self.function(f)?);
        }
        check_function_recursion(&functions)?;
        Ok(Model {
            ir_version: mp.ir_version,
            opset_imports: opsets(mp.opset_import),
            producer_name: mp.producer_name,
            producer_version: mp.producer_version,
            domain: mp.domain,
            model_version: mp.model_version,
            doc_string: mp.doc_string,
            graph,
            metadata_props: entries(mp.metadata_props),
            training_info,
            functions,
            configurations: mp
                .configuration
                .into_iter()
                .map(|c| DeviceConfiguration {
                    name: c.name,
                    num_devices: c.num_devices,
                    devices: c.device,
                })
                .collect(),
        })
    }

    fn function(&mut self, f: proto::FunctionProto) -> Result<Function> {
        let path = format!("function '{}'", f.name.as_deref().unwrap_or(""));
        let body = proto::GraphProto {
            node: f.node,
            input: f.input.into_iter().map(name_only).collect(),
            output: f.output.into_iter().map(name_only).collect(),
            value_info: f.value_info,
            ..Default::default()
        };
        let body = self.graph(body, None, &path, 0)?;
        let mut attribute_defaults = Vec::with_capacity(f.attribute_proto.len());
        for a in f.attribute_proto {
            attribute_defaults.push(self.attribute(a, None, &|| path.clone(), 0)?);
        }
        Ok(Function {
            name: f.name,
            domain: f.domain,
            overload: f.overload,
            attributes: f.attribute,
            attribute_defaults,
            body,
            opset_imports: opsets(f.opset_import),
            doc_string: f.doc_string,
            metadata_props: entries(f.metadata_props),
        })
    }

    fn graph(
        &mut self,
        gp: proto::GraphProto,
        outer: Option<&Scope<'_>>,
        path: &str,
        depth: usize,
    ) -> Result<Graph> {
        if depth > MAX_GRAPH_DEPTH {
            return Err(Error::invalid(
                path,
                format!("subgraphs nest deeper than {MAX_GRAPH_DEPTH} levels"),
            ));
        }
        let mut g = Graph::new();
        g.name = gp.name;
        g.doc_string = gp.doc_string;
        g.metadata_props = entries(gp.metadata_props);
        g.quantization_annotations = gp
            .quantization_annotation
            .into_iter()
            .map(|a| TensorAnnotation {
                tensor_name: a.tensor_name,
                quant_parameter_tensor_names: entries(a.quant_parameter_tensor_names),
            })
            .collect();

        let mut names: HashMap<String, ValueId> =
            HashMap::with_capacity_and_hasher(gp.node.len() * 2, Default::default());
        let mut declared: HashSet<ValueId> = HashSet::default();
        let dup = |what: &str, name: &str| {
            Error::invalid(path, format!("{what} '{name}' is defined more than once"))
        };

        for vi in gp.input {
            let (name, info) = value_info(vi);
            if names.contains_key(&name) {
                return Err(dup("graph input", &name));
            }
            let v = g.add_input(name.clone(), info);
            declared.insert(v);
            names.insert(name, v);
        }
        for tp in gp.initializer {
            let name = tp.name.clone().unwrap_or_default();
            let t = self.tensor(tp, &|| path.to_string())?;
            self.bind_initializer(&mut g, &mut names, name, Initializer::Dense(t), path)?;
        }
        for sp in gp.sparse_initializer {
            let name = sp.values.as_ref().and_then(|v| v.name.clone()).unwrap_or_default();
            let s = self.sparse(sp, &|| path.to_string())?;
            self.bind_initializer(
                &mut g,
                &mut names,
                name,
                Initializer::Sparse(Box::new(s)),
                path,
            )?;
        }

        // Nodes: create them with their outputs first, so that inputs can refer forward.
        let mut pending = Vec::with_capacity(gp.node.len());
        for np in gp.node {
            let outs: Vec<Option<&str>> =
                np.output.iter().map(|o| (!o.is_empty()).then_some(o.as_str())).collect();
            for o in outs.iter().flatten() {
                if names.contains_key(*o) {
                    let node = np.name.as_deref().unwrap_or("");
                    return Err(Error::invalid(
                        path,
                        format!(
                            "value '{o}' is defined more than once (again as an output of node '{node}' ({}))",
                            np.op_type.as_deref().unwrap_or("")
                        ),
                    ));
                }
            }
            let mut node = Node::new(np.op_type.unwrap_or_default());
            node.domain = np.domain;
            node.overload = np.overload;
            node.name = np.name;
            node.doc_string = np.doc_string;
            node.metadata_props = entries(np.metadata_props);
            node.device_configurations =
                np.device_configurations.into_iter().map(device_configuration).collect();
            let (id, out_ids) = g.add_node(node, &[], &outs);
            for (name, v) in np.output.iter().zip(&out_ids) {
                if let Some(v) = v
                    && names.insert(name.clone(), *v).is_some()
                {
                    return Err(dup("value", name));
                }
            }
            pending.push((id, np.input, np.attribute));
        }

        // Bind inputs, then import attributes (subgraphs see every name of this graph).
        for (id, inputs, _) in &pending {
            for name in inputs {
                let v = if name.is_empty() {
                    None
                } else {
                    Some(g.bind_name(&mut names, name, |n| outer.is_some_and(|s| s.contains(n))))
                };
                g.push_node_input(*id, v);
            }
        }
        for (id, _, attrs) in pending {
            let node_path = || format!("{path} / node {}", g.node(id).label());
            let mut imported = Vec::with_capacity(attrs.len());
            let mut captured: Vec<String> = Vec::new();
            {
                let scope = Scope { names: &names, parent: outer };
                for a in attrs {
                    let attr = self.attribute(a, Some(&scope), &node_path, depth + 1)?;
                    for sub in attr.value.graphs() {
                        for &c in sub.captures() {
                            captured.push(sub.value(c).name.clone());
                        }
                    }
                    imported.push(attr);
                }
            }
            g.node_mut(id).attributes = imported;
            let mut seen = HashSet::default();
            let mut implicit = Vec::new();
            for name in captured {
                let v = g.bind_name(&mut names, &name, |n| outer.is_some_and(|s| s.contains(n)));
                if seen.insert(v) {
                    implicit.push(v);
                }
            }
            g.add_implicit_inputs(id, &implicit);
        }

        for (i, vi) in gp.output.into_iter().enumerate() {
            let (name, info) = value_info(vi);
            let v = g.bind_name(&mut names, &name, |n| outer.is_some_and(|s| s.contains(n)));
            // List first: adding an output drops the overrides of that list, and this entry's
            // own override must survive.
            g.add_output(v);
            g.record_declaration(&mut declared, v, DeclSite::Output, i, info);
        }
        for (i, vi) in gp.value_info.into_iter().enumerate() {
            let (name, info) = value_info(vi);
            let v = match names.get(&name) {
                Some(&v) => v,
                None => {
                    let v = g.add_undefined(name.clone());
                    names.insert(name, v);
                    v
                }
            };
            g.record_declaration(&mut declared, v, DeclSite::ValueInfo, i, info);
            g.add_value_info(v);
        }

        if !topo::is_sorted(&g) {
            let order = topo::sorted_order(&g)
                .map_err(|source| Error::Cycle { location: path.to_string(), source })?;
            if self.sort_nodes {
                g.set_node_order(&order);
            } else {
                self.warnings.push(format!(
                    "{path}: nodes are not in topological order (kept as written; sorting is opt-in)"
                ));
            }
        }
        Ok(g)
    }

    fn bind_initializer(
        &mut self,
        g: &mut Graph,
        names: &mut HashMap<String, ValueId>,
        name: String,
        init: Initializer,
        path: &str,
    ) -> Result<()> {
        match names.get(&name) {
            Some(&v) if g.value(v).def() == ValueDef::Input && g.value(v).initializer.is_none() => {
                g.attach_initializer(v, init);
            }
            Some(_) => {
                return Err(Error::invalid(
                    path,
                    format!("initializer '{name}' is defined more than once"),
                ));
            }
            None => {
                let v = g.add_initializer(name.clone(), init);
                names.insert(name, v);
            }
        }
        Ok(())
    }

    fn attribute(
        &mut self,
        ap: proto::AttributeProto,
        scope: Option<&Scope<'_>>,
        path: &dyn Fn() -> String,
        depth: usize,
    ) -> Result<Attribute> {
        let name = ap.name.unwrap_or_default();
        let set = [
            ap.f.is_some(),
            ap.i.is_some(),
            ap.s.is_some(),
            ap.t.is_some(),
            ap.g.is_some(),
            ap.sparse_tensor.is_some(),
            ap.tp.is_some(),
            !ap.floats.is_empty(),
            !ap.ints.is_empty(),
            !ap.strings.is_empty(),
            !ap.tensors.is_empty(),
            !ap.graphs.is_empty(),
            !ap.sparse_tensors.is_empty(),
            !ap.type_protos.is_empty(),
        ];
        if set.iter().filter(|&&s| s).count() > 1 {
            return Err(Error::invalid(
                path(),
                format!("attribute '{name}' sets more than one value field"),
            ));
        }
        let apath = || format!("{}.{name}", path());
        let value = if let Some(f) = ap.f {
            AttrValue::Float(f)
        } else if let Some(i) = ap.i {
            AttrValue::Int(i)
        } else if let Some(s) = ap.s {
            AttrValue::String(s)
        } else if let Some(t) = ap.t {
            AttrValue::Tensor(Box::new(self.tensor(t, &apath)?))
        } else if let Some(gp) = ap.g {
            AttrValue::Graph(Box::new(self.graph(gp, scope, &apath(), depth)?))
        } else if let Some(s) = ap.sparse_tensor {
            AttrValue::SparseTensor(Box::new(self.sparse(s, &apath)?))
        } else if let Some(tp) = ap.tp {
            AttrValue::Type(Box::new(ty(tp)))
        } else if !ap.floats.is_empty() {
            AttrValue::Floats(ap.floats)
        } else if !ap.ints.is_empty() {
            AttrValue::Ints(ap.ints)
        } else if !ap.strings.is_empty() {
            AttrValue::Strings(ap.strings)
        } else if !ap.tensors.is_empty() {
            let mut v = Vec::with_capacity(ap.tensors.len());
            for t in ap.tensors {
                v.push(self.tensor(t, &apath)?);
            }
            AttrValue::Tensors(v)
        } else if !ap.graphs.is_empty() {
            let mut v = Vec::with_capacity(ap.graphs.len());
            for (i, gp) in ap.graphs.into_iter().enumerate() {
                v.push(self.graph(gp, scope, &format!("{}[{i}]", apath()), depth)?);
            }
            AttrValue::Graphs(v)
        } else if !ap.sparse_tensors.is_empty() {
            let mut v = Vec::with_capacity(ap.sparse_tensors.len());
            for s in ap.sparse_tensors {
                v.push(self.sparse(s, &apath)?);
            }
            AttrValue::SparseTensors(v)
        } else if !ap.type_protos.is_empty() {
            AttrValue::Types(ap.type_protos.into_iter().map(ty).collect())
        } else {
            AttrValue::Empty
        };
        Ok(Attribute {
            name,
            ref_attr_name: ap.ref_attr_name,
            doc_string: ap.doc_string,
            declared: ap.r#type,
            value,
        })
    }

    fn sparse(
        &mut self,
        sp: proto::SparseTensorProto,
        path: &dyn Fn() -> String,
    ) -> Result<SparseTensor> {
        Ok(SparseTensor {
            values: sp.values.map(|t| self.tensor(t, path)).transpose()?,
            indices: sp.indices.map(|t| self.tensor(t, path)).transpose()?,
            dims: sp.dims,
        })
    }

    pub(crate) fn tensor(
        &mut self,
        tp: proto::TensorProto,
        path: &dyn Fn() -> String,
    ) -> Result<Tensor> {
        let name = tp.name.clone().unwrap_or_default();
        let external = tp.data_location == Some(proto::tensor_proto::DataLocation::External as i32);
        let fields = [
            ("raw_data", tp.raw_data.is_some()),
            ("float_data", !tp.float_data.is_empty()),
            ("int32_data", !tp.int32_data.is_empty()),
            ("int64_data", !tp.int64_data.is_empty()),
            ("double_data", !tp.double_data.is_empty()),
            ("uint64_data", !tp.uint64_data.is_empty()),
            ("string_data", !tp.string_data.is_empty()),
            ("external_data", external || !tp.external_data.is_empty()),
        ];
        let present: Vec<&str> = fields.iter().filter(|f| f.1).map(|f| f.0).collect();
        if present.len() > 1 {
            return Err(Error::invalid(
                path(),
                format!(
                    "tensor '{name}' stores its data in more than one field ({})",
                    present.join(", ")
                ),
            ));
        }
        let data = if external {
            let mut ext = ExternalData { entries: entries(tp.external_data), source: None };
            ext.source = self.external.resolve(&name, &ext)?;
            TensorData::External(ext)
        } else if !tp.external_data.is_empty() {
            return Err(Error::invalid(
                path(),
                format!(
                    "tensor '{name}' has external_data entries but data_location is not EXTERNAL"
                ),
            ));
        } else if let Some(raw) = tp.raw_data {
            TensorData::Raw(raw)
        } else if !tp.float_data.is_empty() {
            TensorData::Float(tp.float_data)
        } else if !tp.int32_data.is_empty() {
            TensorData::Int32(tp.int32_data)
        } else if !tp.int64_data.is_empty() {
            TensorData::Int64(tp.int64_data)
        } else if !tp.double_data.is_empty() {
            TensorData::Double(tp.double_data)
        } else if !tp.uint64_data.is_empty() {
            TensorData::Uint64(tp.uint64_data)
        } else if !tp.string_data.is_empty() {
            TensorData::String(tp.string_data)
        } else {
            TensorData::None
        };
        let t = Tensor {
            name: tp.name,
            dtype: tp.data_type.map(DataType),
            dims: tp.dims,
            data,
            segment: tp.segment.map(|s| Segment { begin: s.begin, end: s.end }),
            doc_string: tp.doc_string,
            metadata_props: entries(tp.metadata_props),
            data_location: tp.data_location,
        };
        crate::guard::check_tensor(&t, &name).map_err(|m| Error::invalid(path(), m))?;
        Ok(t)
    }
}

fn name_only(name: String) -> proto::ValueInfoProto {
    proto::ValueInfoProto { name: Some(name), ..Default::default() }
}

fn value_info(vi: proto::ValueInfoProto) -> (String, ValueInfo) {
    let info = ValueInfo {
        ty: vi.r#type.map(ty),
        doc_string: vi.doc_string,
        metadata_props: entries(vi.metadata_props),
    };
    (vi.name.unwrap_or_default(), info)
}

pub(crate) fn entries(v: Vec<proto::StringStringEntryProto>) -> Vec<StringEntry> {
    v.into_iter().map(|e| StringEntry { key: e.key, value: e.value }).collect()
}

fn opsets(v: Vec<proto::OperatorSetIdProto>) -> Vec<OpsetImport> {
    v.into_iter().map(|o| OpsetImport { domain: o.domain, version: o.version }).collect()
}

fn ty(tp: proto::TypeProto) -> Type {
    use proto::type_proto::Value as V;
    let boxed = |t: Option<Box<proto::TypeProto>>| t.map(|t| Box::new(ty(*t)));
    let kind = tp.value.map(|v| match v {
        V::TensorType(t) => TypeKind::Tensor(TensorType {
            elem: t.elem_type.map(DataType),
            shape: t.shape.map(shape),
        }),
        V::SparseTensorType(t) => TypeKind::SparseTensor(TensorType {
            elem: t.elem_type.map(DataType),
            shape: t.shape.map(shape),
        }),
        V::SequenceType(s) => TypeKind::Sequence(boxed(s.elem_type)),
        V::OptionalType(o) => TypeKind::Optional(boxed(o.elem_type)),
        V::MapType(m) => {
            TypeKind::Map { key: m.key_type.map(DataType), value: boxed(m.value_type) }
        }
        V::OpaqueType(o) => TypeKind::Opaque { domain: o.domain, name: o.name },
    });
    Type { kind, denotation: tp.denotation }
}

fn shape(s: proto::TensorShapeProto) -> Shape {
    use proto::tensor_shape_proto::dimension::Value as D;
    Shape {
        dims: s
            .dim
            .into_iter()
            .map(|d| Dim {
                value: match d.value {
                    Some(D::DimValue(n)) => DimValue::Known(n),
                    Some(D::DimParam(p)) => DimValue::Symbol(p),
                    None => DimValue::Unknown,
                },
                denotation: d.denotation,
            })
            .collect(),
    }
}

fn device_configuration(d: proto::NodeDeviceConfigurationProto) -> NodeDeviceConfiguration {
    use proto::simple_sharded_dim_proto::Dim as D;
    NodeDeviceConfiguration {
        configuration_id: d.configuration_id,
        pipeline_stage: d.pipeline_stage,
        sharding_specs: d
            .sharding_spec
            .into_iter()
            .map(|s| ShardingSpec {
                tensor_name: s.tensor_name,
                devices: s.device,
                index_to_device_group_map: s
                    .index_to_device_group_map
                    .into_iter()
                    .map(|e| (e.key, e.value))
                    .collect(),
                sharded_dims: s
                    .sharded_dim
                    .into_iter()
                    .map(|sd| ShardedDim {
                        axis: sd.axis,
                        simple_sharding: sd
                            .simple_sharding
                            .into_iter()
                            .map(|ss| SimpleShardedDim {
                                dim: ss.dim.map(|d| match d {
                                    D::DimValue(n) => DimValue::Known(n),
                                    D::DimParam(p) => DimValue::Symbol(p),
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

/// Refuses model-local functions that call themselves, directly or through others: expanding
/// them would never end. The error lists the call path.
fn check_function_recursion(functions: &[Function]) -> Result<()> {
    match ferry_ir::function_call_cycle(functions) {
        None => Ok(()),
        Some(c) => Err(Error::invalid(
            format!("function '{}'", functions[c.function].name.as_deref().unwrap_or("")),
            format!("model-local functions call each other in a cycle: {}", c.path.join(" -> ")),
        )),
    }
}
