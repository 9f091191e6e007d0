//! Graph-building helpers over the ferry IR, and weights whose bytes are made only when written.

use crate::rng::{SplitMix64, derive_seed, signed_unit};
use bytes::Bytes;
use ferry::ir::{
    AttrValue, Attribute, DataType, Graph, Initializer, Model, Node, OpsetImport, Tensor,
    TensorData, ValueId,
};
use std::collections::HashMap;
use std::io::{self, Write};

/// How a weight's elements are chosen.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Fill {
    /// Uniform in `[-scale, scale)`, from the weight's own seed.
    Uniform(f32),
    /// Every element the same.
    Const(f32),
}

/// A float32 initializer whose payload is produced on demand.
///
/// In the graph, the initializer holds no data ([`TensorData::None`]) until the model is
/// materialized or written, so a model with gigabytes of weights costs almost no memory to
/// build, and writers can stream the payload a chunk at a time.
#[derive(Clone, Debug)]
pub struct Weight {
    /// The initializer's value in the main graph.
    pub value: ValueId,
    pub name: String,
    pub dims: Vec<i64>,
    pub fill: Fill,
    pub seed: u64,
}

/// Elements generated per chunk when streaming a payload (even, so pairs never straddle chunks).
const CHUNK_ELEMS: usize = 16 * 1024;

impl Weight {
    pub fn element_count(&self) -> u64 {
        self.dims.iter().map(|&d| d as u64).product()
    }

    /// Payload size in bytes (float32, packed).
    pub fn byte_len(&self) -> u64 {
        self.element_count() * 4
    }

    /// Writes the payload (little-endian float32) in chunks of 64 KiB.
    pub fn write_to(&self, w: &mut impl Write) -> io::Result<()> {
        let mut buf = Vec::with_capacity(CHUNK_ELEMS * 4);
        let mut rng = SplitMix64::new(self.seed);
        let mut left = self.element_count();
        while left > 0 {
            let n = left.min(CHUNK_ELEMS as u64) as usize;
            buf.clear();
            match self.fill {
                Fill::Const(c) => {
                    for _ in 0..n {
                        buf.extend_from_slice(&c.to_le_bytes());
                    }
                }
                Fill::Uniform(scale) => {
                    let mut i = 0;
                    while i < n {
                        let r = rng.next_u64();
                        buf.extend_from_slice(&(signed_unit(r as u32) * scale).to_le_bytes());
                        if i + 1 < n {
                            let v = signed_unit((r >> 32) as u32) * scale;
                            buf.extend_from_slice(&v.to_le_bytes());
                        }
                        i += 2;
                    }
                }
            }
            w.write_all(&buf)?;
            left -= n as u64;
        }
        Ok(())
    }

    /// The whole payload in memory.
    pub fn bytes(&self) -> Bytes {
        let mut v = Vec::with_capacity(self.byte_len() as usize);
        // Writing into a Vec cannot fail.
        self.write_to(&mut v).unwrap_or_else(|e| unreachable!("{e}"));
        Bytes::from(v)
    }
}

/// A generated model whose weights are still descriptions (see [`Weight`]).
#[derive(Clone, Debug)]
pub struct Synth {
    pub model: Model,
    pub weights: Vec<Weight>,
}

impl Synth {
    pub fn graph(&self) -> &Graph {
        self.model.graph.as_ref().unwrap_or_else(|| unreachable!("a generated model has a graph"))
    }

    pub fn node_count(&self) -> usize {
        self.graph().node_count()
    }

    /// Bytes of all weight payloads.
    pub fn payload_bytes(&self) -> u64 {
        self.weights.iter().map(Weight::byte_len).sum()
    }

    /// The dense tensor behind a weight.
    pub(crate) fn tensor_mut<'m>(model: &'m mut Model, w: &Weight) -> &'m mut Tensor {
        let g =
            model.graph.as_mut().unwrap_or_else(|| unreachable!("a generated model has a graph"));
        match &mut g.value_mut(w.value).initializer {
            Some(Initializer::Dense(t)) => t,
            _ => unreachable!("weight '{}' is a dense initializer", w.name),
        }
    }

    /// The model with every payload generated and held in memory (`raw_data`).
    pub fn materialize(mut self) -> Model {
        for w in &self.weights {
            Synth::tensor_mut(&mut self.model, w).data = TensorData::Raw(w.bytes());
        }
        self.model
    }
}

/// Builds a graph with exporter-style names: nodes `/scope/Op`, `/scope/Op_1`, ...; node outputs
/// `<node name>_output_0`; weights by their dotted parameter names.
pub struct Builder {
    pub graph: Graph,
    weights: Vec<Weight>,
    used: HashMap<String, u32>,
    seed: u64,
}

impl Builder {
    pub fn new(seed: u64) -> Builder {
        Builder { graph: Graph::new(), weights: Vec::new(), used: HashMap::new(), seed }
    }

    fn unique(&mut self, base: String) -> String {
        let n = self.used.entry(base.clone()).or_insert(0);
        *n += 1;
        if *n == 1 { base } else { format!("{base}_{}", *n - 1) }
    }

    /// Appends a one-output node `op` under `scope` and returns its output.
    pub fn op(
        &mut self,
        scope: &str,
        op: &str,
        inputs: &[ValueId],
        attrs: Vec<Attribute>,
    ) -> ValueId {
        let name = self.unique(format!("{scope}/{op}"));
        let out = format!("{name}_output_0");
        let mut node = Node::new(op).with_name(name);
        node.attributes = attrs;
        let inputs: Vec<_> = inputs.iter().copied().map(Some).collect();
        let (_, outs) = self.graph.add_node(node, &inputs, &[Some(&out)]);
        outs[0].unwrap_or_else(|| unreachable!("the output was named"))
    }

    /// A `Constant` node holding an int64 tensor (`dims` empty for a scalar).
    pub fn const_i64(&mut self, scope: &str, dims: &[i64], vals: &[i64]) -> ValueId {
        let raw: Vec<u8> = vals.iter().flat_map(|v| v.to_le_bytes()).collect();
        self.constant(scope, DataType::INT64, dims, raw)
    }

    /// A `Constant` node holding a float32 scalar.
    pub fn const_f32(&mut self, scope: &str, val: f32) -> ValueId {
        self.constant(scope, DataType::FLOAT, &[], val.to_le_bytes().to_vec())
    }

    fn constant(&mut self, scope: &str, dtype: DataType, dims: &[i64], raw: Vec<u8>) -> ValueId {
        let t = Tensor::from_raw("", dtype, dims.to_vec(), Bytes::from(raw));
        let t = Tensor { name: None, ..t };
        self.op(scope, "Constant", &[], vec![Attribute::new("value", AttrValue::Tensor(t.into()))])
    }

    /// A float32 initializer whose payload is generated later (see [`Weight`]).
    pub fn weight(&mut self, name: &str, dims: &[i64], fill: Fill) -> ValueId {
        let t = Tensor::from_raw(name, DataType::FLOAT, dims.to_vec(), Bytes::new());
        let t = Tensor { data: TensorData::None, ..t };
        let value = self.graph.add_initializer(name, Initializer::Dense(t));
        let seed = derive_seed(self.seed, self.weights.len() as u64);
        self.weights.push(Weight {
            value,
            name: name.to_string(),
            dims: dims.to_vec(),
            fill,
            seed,
        });
        value
    }

    /// `MatMul` with a `[fan_in, fan_out]` weight, plus a bias `Add` when `bias` is set.
    pub fn linear(
        &mut self,
        scope: &str,
        param: &str,
        x: ValueId,
        fan_in: i64,
        fan_out: i64,
        bias: bool,
    ) -> ValueId {
        let scale = (3.0 / fan_in as f32).sqrt();
        let w = self.weight(&format!("{param}.weight"), &[fan_in, fan_out], Fill::Uniform(scale));
        let y = self.op(scope, "MatMul", &[x, w], vec![]);
        if !bias {
            return y;
        }
        let b = self.weight(&format!("{param}.bias"), &[fan_out], Fill::Uniform(0.02));
        self.op(scope, "Add", &[y, b], vec![])
    }

    /// Wraps the graph into a model importing `ai.onnx` at `opset`.
    pub fn finish(mut self, name: &str, opset: i64) -> Synth {
        self.graph.name = Some(name.to_string());
        let model = Model {
            ir_version: Some(8),
            opset_imports: vec![OpsetImport { domain: Some(String::new()), version: Some(opset) }],
            producer_name: Some("ferry-gen".into()),
            producer_version: Some(env!("CARGO_PKG_VERSION").into()),
            graph: Some(self.graph),
            ..Default::default()
        };
        Synth { model, weights: self.weights }
    }
}

pub fn ints(name: &str, v: &[i64]) -> Attribute {
    Attribute::new(name, AttrValue::Ints(v.to_vec()))
}

pub fn int(name: &str, v: i64) -> Attribute {
    Attribute::new(name, AttrValue::Int(v))
}

pub fn float(name: &str, v: f32) -> Attribute {
    Attribute::new(name, AttrValue::Float(v))
}
