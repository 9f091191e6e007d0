//! Binding names: the parsed tree becomes IR graphs.
//!
//! This follows `ferry-onnx`'s importer step by step, so a text and the `ModelProto` onnx's
//! parser makes of it give the same IR: per graph, inputs first, then initializers (bound to an
//! input of the same name if there is one), then every node with its outputs, then node inputs
//! (a name not defined here is captured from an enclosing graph, or else `Undefined`), then
//! attributes (subgraphs see every name of this graph; what they capture becomes the node's
//! implicit inputs), then outputs and `value_info`. A value declared twice with different types
//! keeps the first in `Value::info` and the others as declaration overrides.
//!
//! What the importer refuses is refused here too, with the place in the text: a name defined
//! twice, a cycle among nodes, functions that call each other in a cycle.

use crate::ast::{AttrAst, AttrValueAst, Decl, FunctionAst, GraphAst, ModelAst, NodeAst};
use crate::cursor::PResult;
use crate::error::ParseError;
use ferry_ir::{
    AttrValue, Attribute, DeclSite, Function, Graph, Initializer, Model, Node, ValueDef, ValueId,
    ValueInfo, topo,
};
use std::collections::{HashMap, HashSet};

/// Names visible from enclosing graphs while a subgraph is built.
pub(crate) struct Scope<'a> {
    names: &'a HashMap<String, ValueId>,
    parent: Option<&'a Scope<'a>>,
}

impl Scope<'_> {
    fn contains(&self, name: &str) -> bool {
        self.names.contains_key(name) || self.parent.is_some_and(|p| p.contains(name))
    }
}

pub(crate) struct Builder<'s> {
    pub(crate) src: &'s str,
}

impl Builder<'_> {
    fn err(&self, pos: usize, msg: String) -> ParseError {
        ParseError::at(self.src, pos, msg)
    }

    pub(crate) fn model(&self, ast: ModelAst) -> PResult<Model> {
        let h = ast.header;
        let graph = self.graph(ast.graph, None)?;
        let mut functions = Vec::with_capacity(ast.functions.len());
        let mut positions = Vec::with_capacity(ast.functions.len());
        for f in ast.functions {
            positions.push(f.pos);
            functions.push(self.function(f)?);
        }
        if let Some((i, cycle)) = crate::calls::function_cycle(&functions) {
            return Err(self.err(
                positions[i],
                format!("model-local functions call each other in a cycle: {cycle}"),
            ));
        }
        Ok(Model {
            ir_version: h.ir_version,
            opset_imports: h.opset_imports,
            producer_name: h.producer_name,
            producer_version: h.producer_version,
            domain: h.domain,
            model_version: h.model_version,
            doc_string: h.doc_string,
            graph: Some(graph),
            metadata_props: h.metadata_props,
            functions,
            ..Model::default()
        })
    }

    fn function(&self, f: FunctionAst) -> PResult<Function> {
        let named = |names: Vec<crate::ast::Name>| -> Vec<Decl> {
            names.into_iter().map(|name| Decl { name, ty: None }).collect()
        };
        let body = GraphAst {
            name: None,
            pos: f.pos,
            inputs: named(f.inputs),
            outputs: named(f.outputs),
            initializers: Vec::new(),
            value_info: f.value_info,
            nodes: f.nodes,
        };
        let body = self.graph(body, None)?;
        let mut attribute_defaults = Vec::with_capacity(f.attribute_defaults.len());
        for a in f.attribute_defaults {
            attribute_defaults.push(self.attribute(a, None)?);
        }
        Ok(Function {
            name: Some(f.name),
            domain: f.domain,
            overload: f.overload,
            attributes: f.attributes,
            attribute_defaults,
            body,
            opset_imports: f.opset_imports,
            doc_string: f.doc_string,
            metadata_props: Vec::new(),
        })
    }

    pub(crate) fn graph(&self, ast: GraphAst, outer: Option<&Scope<'_>>) -> PResult<Graph> {
        let mut g = Graph::new();
        g.name = ast.name;
        let mut names: HashMap<String, ValueId> = HashMap::with_capacity(ast.nodes.len() * 2);
        let mut declared: HashSet<ValueId> = HashSet::new();

        for d in ast.inputs {
            if names.contains_key(&d.name.text) {
                let msg = format!("graph input '{}' is declared twice", d.name.text);
                return Err(self.err(d.name.pos, msg));
            }
            let v = g.add_input(d.name.text.clone(), info(d.ty));
            declared.insert(v);
            names.insert(d.name.text, v);
        }
        for (pos, t) in ast.initializers {
            let name = t.name.clone().unwrap_or_default();
            match names.get(&name) {
                Some(&v)
                    if g.value(v).def() == ValueDef::Input && g.value(v).initializer.is_none() =>
                {
                    g.attach_initializer(v, Initializer::Dense(t));
                }
                Some(_) => {
                    let msg = format!("initializer '{name}' is defined more than once");
                    return Err(self.err(pos, msg));
                }
                None => {
                    let v = g.add_initializer(name.clone(), Initializer::Dense(t));
                    names.insert(name, v);
                }
            }
        }

        // Nodes with their outputs first, so that inputs may refer forward.
        let mut pending = Vec::with_capacity(ast.nodes.len());
        for n in ast.nodes {
            let NodeAst { pos, name, outputs, domain, op_type, overload, attributes, inputs } = n;
            let outs: Vec<Option<&str>> =
                outputs.iter().map(|o| (!o.text.is_empty()).then_some(o.text.as_str())).collect();
            for o in &outputs {
                if !o.text.is_empty() && names.contains_key(&o.text) {
                    let msg = format!("value '{}' is defined more than once", o.text);
                    return Err(self.err(o.pos, msg));
                }
            }
            let mut node = Node::new(op_type);
            node.domain = domain;
            node.overload = overload;
            node.name = name;
            let (id, out_ids) = g.add_node(node, &[], &outs);
            for (o, v) in outputs.iter().zip(&out_ids) {
                if let Some(v) = v
                    && names.insert(o.text.clone(), *v).is_some()
                {
                    let msg = format!("value '{}' is an output of this node twice", o.text);
                    return Err(self.err(o.pos, msg));
                }
            }
            pending.push((id, pos, inputs, attributes));
        }

        for (id, _, inputs, _) in &pending {
            for name in inputs {
                let v = (!name.text.is_empty()).then(|| {
                    g.bind_name(&mut names, &name.text, |n| outer.is_some_and(|s| s.contains(n)))
                });
                g.push_node_input(*id, v);
            }
        }
        for (id, _, _, attrs) in pending {
            let mut built = Vec::with_capacity(attrs.len());
            let mut captured: Vec<String> = Vec::new();
            {
                let scope = Scope { names: &names, parent: outer };
                for a in attrs {
                    let attr = self.attribute(a, Some(&scope))?;
                    for sub in attr.value.graphs() {
                        captured.extend(sub.captures().iter().map(|&c| sub.value(c).name.clone()));
                    }
                    built.push(attr);
                }
            }
            g.node_mut(id).attributes = built;
            for name in captured {
                let v = g.bind_name(&mut names, &name, |n| outer.is_some_and(|s| s.contains(n)));
                g.add_implicit_input(id, v);
            }
        }

        for (i, d) in ast.outputs.into_iter().enumerate() {
            let v = g.bind_name(&mut names, &d.name.text, |n| outer.is_some_and(|s| s.contains(n)));
            // Listed first: `add_output` drops the list's overrides, so one recorded before it
            // would be lost (ferry-onnx's importer declares first, and loses them).
            g.add_output(v);
            g.record_declaration(&mut declared, v, DeclSite::Output, i, info(d.ty));
        }
        for (i, d) in ast.value_info.into_iter().enumerate() {
            let v = match names.get(&d.name.text) {
                Some(&v) => v,
                None => {
                    let v = g.add_undefined(d.name.text.clone());
                    names.insert(d.name.text, v);
                    v
                }
            };
            g.record_declaration(&mut declared, v, DeclSite::ValueInfo, i, info(d.ty));
            g.add_value_info(v);
        }

        if !topo::is_sorted(&g)
            && let Err(cycle) = topo::sorted_order(&g)
        {
            return Err(self.err(ast.pos, cycle.to_string()));
        }
        Ok(g)
    }

    fn attribute(&self, a: AttrAst, scope: Option<&Scope<'_>>) -> PResult<Attribute> {
        let value = match a.value {
            AttrValueAst::Plain(v) => v,
            AttrValueAst::Graph(g) => AttrValue::Graph(Box::new(self.graph(*g, scope)?)),
            AttrValueAst::Graphs(gs) => {
                let mut out = Vec::with_capacity(gs.len());
                for g in gs {
                    out.push(self.graph(g, scope)?);
                }
                AttrValue::Graphs(out)
            }
        };
        Ok(Attribute {
            name: a.name,
            ref_attr_name: a.ref_attr_name,
            doc_string: None,
            declared: a.declared,
            value,
        })
    }
}

fn info(ty: Option<ferry_ir::Type>) -> ValueInfo {
    ValueInfo { ty, ..ValueInfo::default() }
}
