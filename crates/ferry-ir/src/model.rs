//! Models and model-local functions.

use crate::{
    AttrValue, Attribute, DeviceConfiguration, Graph, Initializer, OpsetImport, StringEntry, Tensor,
};

/// A whole model: one main graph plus the functions and metadata around it.
#[derive(Clone, Debug, Default)]
pub struct Model {
    pub ir_version: Option<i64>,
    pub opset_imports: Vec<OpsetImport>,
    pub producer_name: Option<String>,
    pub producer_version: Option<String>,
    pub domain: Option<String>,
    pub model_version: Option<i64>,
    pub doc_string: Option<String>,
    /// Absent only in ill-formed files; kept optional so that they still round-trip.
    pub graph: Option<Graph>,
    pub metadata_props: Vec<StringEntry>,
    pub training_info: Vec<TrainingInfo>,
    pub functions: Vec<Function>,
    pub configurations: Vec<DeviceConfiguration>,
}

/// A function defined in the model, callable as an operator `(domain, name[, overload])`.
#[derive(Clone, Debug, Default)]
pub struct Function {
    pub name: Option<String>,
    pub domain: Option<String>,
    pub overload: Option<String>,
    /// Attribute parameters without a default.
    pub attributes: Vec<String>,
    /// Attribute parameters with a default value.
    pub attribute_defaults: Vec<Attribute>,
    /// The body. Its inputs and outputs carry names only: functions are typed by their callers.
    pub body: Graph,
    pub opset_imports: Vec<OpsetImport>,
    pub doc_string: Option<String>,
    pub metadata_props: Vec<StringEntry>,
}

/// Training information (ONNX `TrainingInfoProto`): graphs that initialize and update the
/// model's state, with bindings by name to the main graph's initializers.
#[derive(Clone, Debug, Default)]
pub struct TrainingInfo {
    pub initialization: Option<Graph>,
    pub algorithm: Option<Graph>,
    pub initialization_binding: Vec<StringEntry>,
    pub update_binding: Vec<StringEntry>,
}

impl Model {
    /// The version of the default (`ai.onnx`) operator set, if imported.
    pub fn default_opset(&self) -> Option<i64> {
        self.opset_version("")
    }

    /// The imported version of an operator domain ("" and "ai.onnx" are the same domain).
    pub fn opset_version(&self, domain: &str) -> Option<i64> {
        let want = crate::canonical_domain(Some(domain));
        self.opset_imports.iter().find(|o| o.canonical_domain() == want).and_then(|o| o.version)
    }

    /// Every graph of the model: the main graph, its subgraphs, function bodies and training
    /// graphs, depth first, with a path string describing where each sits.
    pub fn visit_graphs<'m>(&'m self, f: &mut dyn FnMut(&str, &'m Graph)) {
        fn walk<'m>(path: String, g: &'m Graph, f: &mut dyn FnMut(&str, &'m Graph)) {
            f(&path, g);
            for (_, n) in g.nodes() {
                for a in &n.attributes {
                    for (i, sub) in a.value.graphs().iter().enumerate() {
                        walk(format!("{path}/{}.{}[{i}]", n.label(), a.name), sub, f);
                    }
                }
            }
        }
        if let Some(g) = &self.graph {
            walk("graph".into(), g, f);
        }
        for func in &self.functions {
            let name = func.name.as_deref().unwrap_or("?");
            walk(format!("function {name}"), &func.body, f);
        }
        for (i, t) in self.training_info.iter().enumerate() {
            if let Some(g) = &t.initialization {
                walk(format!("training_info[{i}].initialization"), g, f);
            }
            if let Some(g) = &t.algorithm {
                walk(format!("training_info[{i}].algorithm"), g, f);
            }
        }
    }

    /// Every tensor the model holds: initializers (dense, and the parts of sparse ones) and
    /// tensor-valued attributes, in all graphs and function bodies.
    pub fn for_each_tensor<'m>(&'m self, f: &mut dyn FnMut(&'m Tensor)) {
        fn attr<'m>(a: &'m Attribute, f: &mut dyn FnMut(&'m Tensor)) {
            match &a.value {
                AttrValue::Tensor(t) => f(t),
                AttrValue::Tensors(ts) => ts.iter().for_each(&mut *f),
                AttrValue::SparseTensor(s) => s.values.iter().chain(&s.indices).for_each(&mut *f),
                AttrValue::SparseTensors(ss) => {
                    ss.iter().flat_map(|s| s.values.iter().chain(&s.indices)).for_each(&mut *f)
                }
                _ => {}
            }
        }
        self.visit_graphs(&mut |_, g| {
            for (_, v) in g.values() {
                match &v.initializer {
                    Some(Initializer::Dense(t)) => f(t),
                    Some(Initializer::Sparse(s)) => {
                        s.values.iter().chain(&s.indices).for_each(&mut *f)
                    }
                    None => {}
                }
            }
            for (_, n) in g.nodes() {
                n.attributes.iter().for_each(|a| attr(a, f));
            }
        });
        for func in &self.functions {
            func.attribute_defaults.iter().for_each(|a| attr(a, f));
        }
    }

    /// Mutable access to every tensor of the model, with where it sits, in a fixed order:
    /// per graph (main, subgraphs depth-first, training graphs, function bodies) its initializers
    /// (dense, then sparse parts), then its nodes' tensor attributes; last, function defaults.
    pub fn for_each_tensor_mut(&mut self, f: &mut dyn FnMut(TensorSite, &mut Tensor)) {
        fn attr(a: &mut Attribute, f: &mut dyn FnMut(TensorSite, &mut Tensor)) {
            let site = TensorSite::Attribute;
            match &mut a.value {
                AttrValue::Tensor(t) => f(site, t),
                AttrValue::Tensors(ts) => ts.iter_mut().for_each(|t| f(site, t)),
                AttrValue::SparseTensor(s) => {
                    s.values.iter_mut().chain(s.indices.iter_mut()).for_each(|t| f(site, t))
                }
                AttrValue::SparseTensors(ss) => ss
                    .iter_mut()
                    .flat_map(|s| s.values.iter_mut().chain(s.indices.iter_mut()))
                    .for_each(|t| f(site, t)),
                AttrValue::Graph(g) => walk(g, f),
                AttrValue::Graphs(gs) => gs.iter_mut().for_each(|g| walk(g, f)),
                _ => {}
            }
        }
        fn walk(g: &mut Graph, f: &mut dyn FnMut(TensorSite, &mut Tensor)) {
            for v in g.initializers().to_vec() {
                if let Some(Initializer::Dense(t)) = &mut g.value_mut(v).initializer {
                    f(TensorSite::Initializer, t);
                }
            }
            for v in g.sparse_initializers().to_vec() {
                if let Some(Initializer::Sparse(s)) = &mut g.value_mut(v).initializer {
                    let site = TensorSite::SparseInitializer;
                    s.values.iter_mut().chain(s.indices.iter_mut()).for_each(|t| f(site, t));
                }
            }
            let ids: Vec<_> = g.node_ids().collect();
            for id in ids {
                for a in &mut g.node_mut(id).attributes {
                    attr(a, f);
                }
            }
        }
        if let Some(g) = &mut self.graph {
            walk(g, f);
        }
        for t in &mut self.training_info {
            for g in t.initialization.iter_mut().chain(t.algorithm.iter_mut()) {
                walk(g, f);
            }
        }
        for func in &mut self.functions {
            walk(&mut func.body, f);
        }
        for func in &mut self.functions {
            func.attribute_defaults.iter_mut().for_each(|a| attr(a, f));
        }
    }
}

/// Where a tensor sits in a model.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TensorSite {
    /// A dense initializer of some graph.
    Initializer,
    /// The values or indices of a sparse initializer.
    SparseInitializer,
    /// A tensor-valued attribute (a `Constant`'s value, say).
    Attribute,
}
