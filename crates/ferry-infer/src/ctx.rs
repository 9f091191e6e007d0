//! What an operator's inference function sees: its node's attributes (with schema defaults),
//! the facts about its inputs, and a way to infer its subgraphs; and where it puts its outputs.

use crate::fact::{Fact, TensorTy, Ty};
use crate::sym::Dim;
use ferry_ir::{AttrValue, Attribute, DataType, Graph, Node, Tensor};
use ferry_ops::{AttrDefault, OpSchema};
use std::collections::HashMap;

/// Infers a subgraph given facts for its formal inputs; returns facts for its outputs. Provided
/// by the driver. The flag says whether the graph is the node's own attribute (`true`) or a
/// probe copy (`false`, e.g. a loop body inferred for one iteration): only facts about the
/// model's own graphs, inferred for their general inputs, may be kept (see [`crate::facts`]).
pub type SubgraphFn<'a> = dyn FnMut(&mut Graph, Vec<Fact>, bool) -> Result<Vec<Fact>, String> + 'a;

/// Why an inference function stopped without (all) its outputs.
#[derive(Debug, PartialEq)]
pub enum Stop {
    /// Something it needs is not known (an input type, a shape, a constant): not a problem in
    /// the model, only a limit of what can be inferred.
    Unknown,
    /// The node is wrong (shapes that cannot broadcast, an axis out of range): reported.
    Invalid(String),
}

/// The result of an operator's inference function.
pub type Res = Result<(), Stop>;

/// `Stop::Invalid` with a message.
pub fn invalid<T>(msg: impl Into<String>) -> Result<T, Stop> {
    Err(Stop::Invalid(msg.into()))
}

/// Turns "not known" into a quiet stop: `need(ctx.shape(0))?`.
pub fn need<T>(x: Option<T>) -> Result<T, Stop> {
    x.ok_or(Stop::Unknown)
}

pub struct Ctx<'a> {
    pub node: &'a Node,
    /// Attributes, taken out of the node while it is inferred (so subgraphs can be inferred in
    /// place, mutably).
    pub(crate) attrs: &'a mut Vec<Attribute>,
    /// In a function body: the call site's attributes, for `ref_attr_name` references.
    pub(crate) bindings: Option<&'a HashMap<String, Attribute>>,
    /// The imported version of the node's domain.
    pub opset: i64,
    pub schema: Option<&'static OpSchema>,
    pub(crate) inputs: Vec<Option<Fact>>,
    pub(crate) outputs: Vec<Fact>,
    pub(crate) subgraph: &'a mut SubgraphFn<'a>,
}

impl<'a> Ctx<'a> {
    pub fn op(&self) -> &str {
        &self.node.op_type
    }

    pub fn num_inputs(&self) -> usize {
        self.inputs.len()
    }

    pub fn num_outputs(&self) -> usize {
        self.outputs.len()
    }

    /// Whether input `i` is given (not omitted, not past the end).
    pub fn has_input(&self, i: usize) -> bool {
        self.inputs.get(i).is_some_and(Option::is_some)
    }

    /// The facts about input `i`; `None` when it is omitted.
    pub fn input(&self, i: usize) -> Option<&Fact> {
        self.inputs.get(i).and_then(Option::as_ref)
    }

    /// Input `i`'s tensor type; stops inference of this node quietly when it is not known.
    pub fn tensor(&self, i: usize) -> Result<&TensorTy, Stop> {
        self.input(i).and_then(Fact::tensor).ok_or(Stop::Unknown)
    }

    pub fn elem(&self, i: usize) -> Option<DataType> {
        self.input(i).and_then(Fact::elem)
    }

    pub fn shape(&self, i: usize) -> Option<&[Dim]> {
        self.input(i).and_then(Fact::shape)
    }

    pub fn rank(&self, i: usize) -> Option<usize> {
        self.shape(i).map(<[Dim]>::len)
    }

    /// All attributes of the node, as written.
    pub fn attributes(&self) -> &[Attribute] {
        self.attrs
    }

    /// The attribute as written on the node, references resolved against the call site.
    pub fn attr(&self, name: &str) -> Option<&Attribute> {
        let a = self.attrs.iter().find(|a| a.name == name)?;
        match (&a.ref_attr_name, self.bindings) {
            (Some(r), Some(b)) => b.get(r),
            (Some(_), None) => None,
            (None, _) => Some(a),
        }
    }

    fn default(&self, name: &str) -> Option<&'static AttrDefault> {
        self.schema?.attribute(name)?.default.as_ref()
    }

    pub fn attr_int(&self, name: &str) -> Option<i64> {
        match self.attr(name) {
            Some(a) => a.as_int(),
            None => match self.default(name) {
                Some(AttrDefault::Int(i)) => Some(*i),
                _ => None,
            },
        }
    }

    pub fn attr_float(&self, name: &str) -> Option<f32> {
        match self.attr(name) {
            Some(a) => a.as_float(),
            None => self.default(name).and_then(AttrDefault::as_f32),
        }
    }

    pub fn attr_ints(&self, name: &str) -> Option<Vec<i64>> {
        match self.attr(name) {
            Some(a) => a.as_ints().map(<[i64]>::to_vec),
            None => match self.default(name) {
                Some(AttrDefault::Ints(v)) => Some(v.to_vec()),
                _ => None,
            },
        }
    }

    pub fn attr_floats(&self, name: &str) -> Option<Vec<f32>> {
        match self.attr(name).map(|a| &a.value) {
            Some(AttrValue::Floats(v)) => Some(v.clone()),
            Some(AttrValue::Empty) => Some(Vec::new()),
            _ => None,
        }
    }

    pub fn attr_str(&self, name: &str) -> Option<String> {
        match self.attr(name) {
            Some(a) => a.as_str().map(str::to_string),
            None => match self.default(name) {
                Some(AttrDefault::String(s)) => Some((*s).to_string()),
                _ => None,
            },
        }
    }

    pub fn attr_strings(&self, name: &str) -> Option<Vec<String>> {
        match self.attr(name).map(|a| &a.value) {
            Some(AttrValue::Strings(v)) => {
                Some(v.iter().map(|s| String::from_utf8_lossy(s).into_owned()).collect())
            }
            _ => None,
        }
    }

    pub fn attr_tensor(&self, name: &str) -> Option<&Tensor> {
        self.attr(name).and_then(Attribute::as_tensor)
    }

    pub fn attr_type(&self, name: &str) -> Option<&ferry_ir::Type> {
        match self.attr(name).map(|a| &a.value) {
            Some(AttrValue::Type(t)) => Some(t),
            _ => None,
        }
    }

    /// Infers graph attribute `name` with facts for its formal inputs; returns its outputs'.
    pub fn infer_subgraph(&mut self, name: &str, inputs: Vec<Fact>) -> Result<Vec<Fact>, Stop> {
        let i = self
            .attrs
            .iter()
            .position(|a| a.name == name && matches!(a.value, AttrValue::Graph(_)))
            .ok_or_else(|| Stop::Invalid(format!("no graph attribute '{name}'")))?;
        let AttrValue::Graph(g) = &mut self.attrs[i].value else {
            return Err(Stop::Invalid(format!("no graph attribute '{name}'")));
        };
        (self.subgraph)(g, inputs, true).map_err(Stop::Invalid)
    }

    /// The formal inputs of graph attribute `name` (their count, for building input facts).
    pub fn subgraph_input_count(&self, name: &str) -> Option<usize> {
        self.attrs.iter().find(|a| a.name == name).and_then(|a| match &a.value {
            AttrValue::Graph(g) => Some(g.inputs().len()),
            _ => None,
        })
    }

    /// Declared type of formal input `i` of graph attribute `name`.
    pub fn subgraph_input_type(&self, name: &str, i: usize) -> Option<Ty> {
        self.attrs.iter().find(|a| a.name == name).and_then(|a| match &a.value {
            AttrValue::Graph(g) => {
                g.inputs().get(i).and_then(|&v| g.value(v).ty()).and_then(Ty::from_ir)
            }
            _ => None,
        })
    }

    pub fn set(&mut self, i: usize, fact: Fact) {
        if let Some(slot) = self.outputs.get_mut(i) {
            *slot = fact;
        }
    }

    pub fn set_type(&mut self, i: usize, ty: Ty) {
        self.set(i, Fact::of_type(ty));
    }

    pub fn set_tensor(&mut self, i: usize, elem: Option<DataType>, shape: Option<Vec<Dim>>) {
        self.set_type(i, Ty::Tensor(TensorTy { elem, shape }));
    }

    /// Output `i` so far (to refine after `set`).
    pub fn output_mut(&mut self, i: usize) -> Option<&mut Fact> {
        self.outputs.get_mut(i)
    }
}
