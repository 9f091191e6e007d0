//! The conversion context: the IR graph being built, the TensorFlow tensors converted so far,
//! and the layout each one is held in.
//!
//! Layout: TensorFlow's image ops work on NHWC, ONNX's on NCHW. Rather than wrapping every
//! layout-sensitive op in a pair of Transposes, a converted tensor remembers whether the IR value
//! holds it as TensorFlow has it (`cf == false`) or channels-first (`cf == true`: axes permuted
//! by `[0, r-1, 1, ..., r-2]`). Element-wise ops, BiasAdd and reductions carry channels-first
//! values through; an op that needs TensorFlow's layout gets a Transpose inserted (once per
//! value). A chain Conv → BiasAdd → Relu → Pool → Conv thus has one Transpose at its entry and
//! one where the layout is given back, which is what an optimizer would reach by cancelling
//! pairs, made directly.

use crate::error::{Result, graph_err};
use crate::flatten::TfNode;
use crate::proto::{self, attr_value::Value as AV};
use crate::tensor;
use ferry_ir::{AttrValue, Attribute, DataType, Graph, Initializer, Node, Tensor, ValueId};
use std::collections::HashMap;

/// A converted TensorFlow tensor.
#[derive(Clone, Debug)]
pub struct TfVal {
    pub id: ValueId,
    /// The IR value holds the tensor channels-first (see the module docs).
    pub cf: bool,
    /// TensorFlow's (not the permuted) shape when known; `-1` for unknown sizes.
    pub shape: Option<Vec<i64>>,
    pub dtype: Option<DataType>,
}

impl TfVal {
    pub fn rank(&self) -> Option<usize> {
        self.shape.as_ref().map(|s| s.len())
    }
}

/// The permutation that takes a TensorFlow-layout tensor of rank `r` to channels-first.
pub fn to_cf_perm(r: usize) -> Vec<i64> {
    let mut p = vec![0i64];
    p.push(r as i64 - 1);
    p.extend(1..r as i64 - 1);
    p
}

/// The inverse of [`to_cf_perm`].
pub fn from_cf_perm(r: usize) -> Vec<i64> {
    let mut p = vec![0i64];
    p.extend(2..r as i64);
    p.push(1);
    p
}

pub struct Ctx<'a> {
    pub g: Graph,
    pub vals: HashMap<(String, usize), TfVal>,
    pub opset: i64,
    pub library: &'a HashMap<String, proto::FunctionDef>,
    pub allow_custom: bool,
    /// Set when a node went to the custom domain.
    pub used_custom_domain: bool,
    pub(crate) names: HashMap<String, usize>,
    to_native: HashMap<ValueId, ValueId>,
    to_cf: HashMap<ValueId, ValueId>,
}

impl<'a> Ctx<'a> {
    pub fn new(opset: i64, library: &'a HashMap<String, proto::FunctionDef>) -> Ctx<'a> {
        Ctx {
            g: Graph::new(),
            vals: HashMap::new(),
            opset,
            library,
            allow_custom: false,
            used_custom_domain: false,
            names: HashMap::new(),
            to_native: HashMap::new(),
            to_cf: HashMap::new(),
        }
    }

    /// A value name not used before, based on `base`.
    pub fn fresh(&mut self, base: &str) -> String {
        let n = self.names.entry(base.to_string()).or_insert(0);
        *n += 1;
        if *n == 1 { base.to_string() } else { format!("{base}__{}", *n - 1) }
    }

    /// Adds a node `op` with `inputs` and `n_out` outputs named after `name`. When every input
    /// is a constant and ferry's folding kernels evaluate the op, the outputs are constants
    /// instead: TensorFlow graphs compute shapes, axes and masks from constants, and rules that
    /// need those as numbers (reduction axes, slice bounds) then see them.
    pub fn emit(
        &mut self,
        op: &str,
        name: &str,
        inputs: &[ValueId],
        attrs: Vec<Attribute>,
        n_out: usize,
    ) -> Vec<ValueId> {
        let consts: Option<Vec<&Tensor>> = inputs.iter().map(|&v| self.const_of(v)).collect();
        if let Some(consts) = consts.filter(|c| !c.is_empty()) {
            let mut node = Node::new(op);
            node.attributes = attrs.clone();
            let args: Vec<Option<&Tensor>> = consts.into_iter().map(Some).collect();
            if let Ok(Some(outs)) = ferry_fold::evaluate(&node, self.opset, &args)
                && outs.len() == n_out
            {
                return outs
                    .into_iter()
                    .enumerate()
                    .map(|(i, t)| {
                        let base = if i == 0 { name.to_string() } else { format!("{name}:{i}") };
                        self.add_const(&base, t)
                    })
                    .collect();
            }
        }
        let ins: Vec<Option<ValueId>> = inputs.iter().map(|&v| Some(v)).collect();
        self.emit_opt(op, name, &ins, attrs, n_out).1
    }

    /// Like [`Ctx::emit`], with optional (absent) inputs; also returns the node.
    pub fn emit_opt(
        &mut self,
        op: &str,
        name: &str,
        inputs: &[Option<ValueId>],
        attrs: Vec<Attribute>,
        n_out: usize,
    ) -> (ferry_ir::NodeId, Vec<ValueId>) {
        let node_name = self.fresh(&format!("{name}/{op}"));
        let outs: Vec<String> = (0..n_out)
            .map(|i| if i == 0 { self.fresh(name) } else { self.fresh(&format!("{name}:{i}")) })
            .collect();
        let outs_ref: Vec<Option<&str>> = outs.iter().map(|s| Some(s.as_str())).collect();
        let mut node = Node::new(op).with_name(node_name);
        node.attributes = attrs;
        let (id, o) = self.g.add_node(node, inputs, &outs_ref);
        (id, o.into_iter().flatten().collect())
    }

    /// A context for a subgraph: its own graph and tensors, the same names (ONNX names are
    /// unique across nested graphs) until [`Ctx::end_sub`] hands them back.
    pub fn begin_sub(&mut self) -> Ctx<'a> {
        let mut sub = Ctx::new(self.opset, self.library);
        sub.allow_custom = self.allow_custom;
        sub.names = std::mem::take(&mut self.names);
        sub
    }

    /// Takes back the names of a subgraph context; returns its graph.
    pub fn end_sub(&mut self, sub: Ctx<'a>) -> Graph {
        self.names = sub.names;
        self.used_custom_domain |= sub.used_custom_domain;
        sub.g
    }

    /// Like [`Ctx::emit`] with one output.
    pub fn emit1(
        &mut self,
        op: &str,
        name: &str,
        inputs: &[ValueId],
        attrs: Vec<Attribute>,
    ) -> ValueId {
        self.emit(op, name, inputs, attrs, 1)[0]
    }

    pub fn add_const(&mut self, name: &str, mut t: Tensor) -> ValueId {
        let n = self.fresh(name);
        t.name = Some(n.clone());
        self.g.add_initializer(n, Initializer::Dense(t))
    }

    pub fn const_i64(&mut self, name: &str, vals: &[i64]) -> ValueId {
        let t = tensor::i64_tensor(name, vec![vals.len() as i64], vals);
        self.add_const(name, t)
    }

    pub fn const_scalar(&mut self, name: &str, dtype: DataType, v: f64) -> Result<ValueId> {
        let t = tensor::scalar_tensor(name, dtype, v)
            .ok_or_else(|| graph_err(format!("{name}: no {dtype} constant of {v}")))?;
        Ok(self.add_const(name, t))
    }

    /// The constant tensor bound to `v`, if it is an initializer.
    pub fn const_of(&self, v: ValueId) -> Option<&Tensor> {
        match &self.g.value(v).initializer {
            Some(Initializer::Dense(t)) => Some(t),
            _ => None,
        }
    }

    /// The converted input `i` of `n`.
    pub fn input(&self, n: &TfNode, i: usize) -> Result<TfVal> {
        let (src, k) = n
            .inputs
            .get(i)
            .ok_or_else(|| graph_err(format!("node {} ({}): missing input {i}", n.name, n.op)))?;
        self.vals.get(&(src.clone(), *k)).cloned().ok_or_else(|| {
            graph_err(format!("node {} ({}): input {src}:{k} was not converted", n.name, n.op))
        })
    }

    /// Input `i` of `n` as a list of integers; it must be a constant.
    pub fn const_ints(&self, n: &TfNode, i: usize, what: &str) -> Result<Vec<i64>> {
        let v = self.input(n, i)?;
        self.const_of(v.id).and_then(tensor::ints).ok_or_else(|| {
            graph_err(format!(
                "node {} ({}): the {what} (input {i}) must be a constant integer tensor",
                n.name, n.op
            ))
        })
    }

    /// The channel count of `v` when all its spatial sizes are 1 (a squeeze-and-excite gate,
    /// [N, 1, 1, C]): moving its channels is then a Reshape (keeping N with a 0), not a
    /// Transpose.
    fn unit_spatial(&self, v: &TfVal) -> Option<i64> {
        let s = v.shape.as_ref().filter(|s| s.len() >= 3)?;
        let c = *s.last()?;
        (c > 0 && s[1..s.len() - 1].iter().all(|&d| d == 1)).then_some(c)
    }

    /// `v` in TensorFlow's layout.
    pub fn native(&mut self, v: &TfVal) -> Result<ValueId> {
        if !v.cf {
            return Ok(v.id);
        }
        if let Some(&n) = self.to_native.get(&v.id) {
            return Ok(n);
        }
        let r = v.rank().ok_or_else(|| graph_err("channels-first value of unknown rank"))?;
        let name = format!("{}_nhwc", self.g.value(v.id).name);
        let out = match self.unit_spatial(v) {
            Some(c) => {
                let mut dims = vec![0];
                dims.extend(std::iter::repeat_n(1, r - 2));
                dims.push(c);
                let s = self.const_i64(&format!("{name}/shape"), &dims);
                self.emit1("Reshape", &name, &[v.id, s], vec![])
            }
            None => {
                self.emit1("Transpose", &name, &[v.id], vec![ints_attr("perm", &from_cf_perm(r))])
            }
        };
        self.to_native.insert(v.id, out);
        self.to_cf.insert(out, v.id);
        Ok(out)
    }

    /// `v` channels-first; its rank must be known.
    pub fn channels_first(&mut self, v: &TfVal, who: &TfNode) -> Result<ValueId> {
        if v.cf {
            return Ok(v.id);
        }
        if let Some(&n) = self.to_cf.get(&v.id) {
            return Ok(n);
        }
        let r = v.rank().ok_or_else(|| {
            graph_err(format!("node {} ({}): input of unknown rank", who.name, who.op))
        })?;
        let name = format!("{}_nchw", self.g.value(v.id).name);
        let out = match self.unit_spatial(v) {
            Some(c) => {
                let mut dims = vec![0, c];
                dims.extend(std::iter::repeat_n(1, r - 2));
                let s = self.const_i64(&format!("{name}/shape"), &dims);
                self.emit1("Reshape", &name, &[v.id, s], vec![])
            }
            None => {
                self.emit1("Transpose", &name, &[v.id], vec![ints_attr("perm", &to_cf_perm(r))])
            }
        };
        self.to_cf.insert(v.id, out);
        self.to_native.insert(out, v.id);
        Ok(out)
    }
}

pub fn ints_attr(name: &str, v: &[i64]) -> Attribute {
    Attribute::new(name, AttrValue::Ints(v.to_vec()))
}

pub fn int_attr(name: &str, v: i64) -> Attribute {
    Attribute::new(name, AttrValue::Int(v))
}

pub fn float_attr(name: &str, v: f32) -> Attribute {
    Attribute::new(name, AttrValue::Float(v))
}

pub fn str_attr(name: &str, v: &str) -> Attribute {
    Attribute::new(name, AttrValue::String(bytes::Bytes::copy_from_slice(v.as_bytes())))
}

/// Attribute accessors on TensorFlow nodes.
impl TfNode {
    fn av(&self, name: &str) -> Option<&AV> {
        self.attrs.get(name).and_then(|a| a.value.as_ref())
    }

    pub fn attr_i(&self, name: &str) -> Option<i64> {
        match self.av(name) {
            Some(AV::I(i)) => Some(*i),
            _ => None,
        }
    }

    pub fn attr_f(&self, name: &str) -> Option<f32> {
        match self.av(name) {
            Some(AV::F(f)) => Some(*f),
            _ => None,
        }
    }

    pub fn attr_b(&self, name: &str) -> Option<bool> {
        match self.av(name) {
            Some(AV::B(b)) => Some(*b),
            _ => None,
        }
    }

    pub fn attr_s(&self, name: &str) -> Option<String> {
        match self.av(name) {
            Some(AV::S(s)) => Some(String::from_utf8_lossy(s).into_owned()),
            _ => None,
        }
    }

    pub fn attr_type(&self, name: &str) -> Option<i32> {
        match self.av(name) {
            Some(AV::Type(t)) => Some(*t),
            _ => None,
        }
    }

    pub fn attr_ints(&self, name: &str) -> Option<Vec<i64>> {
        match self.av(name) {
            Some(AV::List(l)) => Some(l.i.clone()),
            _ => None,
        }
    }

    pub fn attr_shape(&self, name: &str) -> Option<Option<Vec<i64>>> {
        match self.av(name) {
            Some(AV::Shape(s)) => Some(tensor::shape_dims(Some(s))),
            _ => None,
        }
    }

    pub fn attr_func(&self, name: &str) -> Option<String> {
        match self.av(name) {
            Some(AV::Func(f)) => Some(f.name.clone()),
            _ => None,
        }
    }

    /// The ONNX element type named by type attribute `name` (`T`, `DstT`, `dtype`...).
    pub fn onnx_type(&self, name: &str) -> Option<DataType> {
        self.attr_type(name).and_then(tensor::onnx_dtype)
    }

    /// An error about this node.
    pub fn err(&self, msg: impl std::fmt::Display) -> crate::error::Error {
        graph_err(format!("node {} ({}): {msg}", self.name, self.op))
    }

    /// The `data_format` attribute says channels-first (NCHW/NCDHW).
    pub fn is_nchw(&self) -> bool {
        self.attr_s("data_format").is_some_and(|f| f.starts_with("NC"))
    }
}
