//! `eliminate_nop_arithmetic`: removes element-wise arithmetic with a constant that leaves its
//! other input unchanged: `x + 0`, `0 + x`, `x - 0`, `x * 1`, `1 * x`, `x / 1` (every element of
//! the constant 0, or 1). Readers of the result read `x` instead.
//!
//! Guards (the node stays otherwise):
//!
//! - the node is a default-domain `Add`, `Sub`, `Mul` or `Div` with two inputs, one output and
//!   no attributes (the opset-1-6 `broadcast`/`axis` forms are left alone);
//! - the constant (a dense initializer that is not a graph input, or a `Constant` node) has an
//!   element type whose numbers can be read (floats of 16, 32 and 64 bits, integers) and every
//!   element is exactly the identity (for 0, also -0.0: `x + -0.0` is `x` bit for bit; `x + 0.0`
//!   turns a -0.0 into +0.0, which compares equal, as onnxsim and onnxslim also accept);
//! - broadcasting must not change the shape: the result must have `x`'s shape. A constant with
//!   one element needs `x`'s rank to be at least its own (known from a declared type, a constant,
//!   or type inference; a scalar constant needs nothing); one with more elements needs each of
//!   its dims other than 1 to equal `x`'s dim there, known as a number;
//! - the output is replaced as `eliminate_identity` replaces an Identity's (see
//!   `forward::bypass`: a graph output keeps its name, taken over by `x` when `x` is made by a
//!   node of the graph; an output read by name from a subgraph stays).
//!
//! Inference (`PassCx::facts`, shared) runs only when a node passes every other guard but the
//! shape of `x` is not declared; graphs without facts use declared types alone.

use crate::fold_constants::for_each_subgraph;
use crate::forward::{Sweeper, bypass};
use crate::fuse_bn::constant;
use crate::{Changed, Pass, PassCx, PassError};
use ferry_infer::{Fact, Facts};
use ferry_ir::{DataType, DimValue, Graph, Model, NodeId, Tensor, ValueId};

pub struct EliminateNopArithmetic;

/// Whether every element of `t` is exactly `one` (1) or zero (0 or -0).
fn all_identity(t: &Tensor, one: bool) -> Option<bool> {
    let dtype = t.dtype?;
    if t.segment.is_some() || t.is_external() {
        return None;
    }
    let n = usize::try_from(t.element_count()?).ok()?;
    let width = match dtype {
        DataType::FLOAT16 | DataType::BFLOAT16 | DataType::INT16 | DataType::UINT16 => 2,
        DataType::FLOAT | DataType::INT32 | DataType::UINT32 => 4,
        DataType::DOUBLE | DataType::INT64 | DataType::UINT64 => 8,
        DataType::INT8 | DataType::UINT8 => 1,
        _ => return None,
    };
    let bytes = t.le_bytes().ok()?;
    if bytes.len() != n.checked_mul(width)? {
        return None;
    }
    // The sign bit of floats, which a zero may carry.
    let sign: u64 = match dtype {
        DataType::FLOAT16 | DataType::BFLOAT16 => 0x8000,
        DataType::FLOAT => 0x8000_0000,
        DataType::DOUBLE => 0x8000_0000_0000_0000,
        _ => 0,
    };
    let one_bits: u64 = match dtype {
        DataType::FLOAT16 => 0x3C00,
        DataType::BFLOAT16 => 0x3F80,
        DataType::FLOAT => 0x3F80_0000,
        DataType::DOUBLE => 0x3FF0_0000_0000_0000,
        _ => 1,
    };
    Some(bytes.chunks_exact(width).all(|c| {
        let mut b = [0u8; 8];
        b[..width].copy_from_slice(c);
        let bits = u64::from_le_bytes(b);
        if one { bits == one_bits } else { bits & !sign == 0 }
    }))
}

/// A node that is a no-op by its constant: (x, out, the constant's dims).
fn candidate(g: &Graph, id: NodeId) -> Option<(ValueId, ValueId, Vec<i64>)> {
    let n = g.node(id);
    if !n.canonical_domain().is_empty()
        || n.inputs().len() != 2
        || n.outputs().len() != 1
        || !n.attributes.is_empty()
    {
        return None;
    }
    let (a, b, out) = (n.inputs()[0]?, n.inputs()[1]?, n.outputs()[0]?);
    // (identity is one, the constant may be the first input)
    let (one, commutes) = match n.op_type.as_str() {
        "Add" => (false, true),
        "Sub" => (false, false),
        "Mul" => (true, true),
        "Div" => (true, false),
        _ => return None,
    };
    let orders: &[(ValueId, ValueId)] = if commutes { &[(a, b), (b, a)] } else { &[(a, b)] };
    for &(x, c) in orders {
        if x == c || constant(g, x).is_some() {
            continue;
        }
        let Some(t) = constant(g, c) else { continue };
        if all_identity(t, one) == Some(true) {
            return Some((x, out, t.dims.clone()));
        }
    }
    None
}

/// Whether broadcasting `x` against a constant of dims `c` leaves `x`'s shape: `None` when the
/// shape of `x` is not known well enough to tell.
fn keeps_shape(g: &Graph, x: ValueId, c: &[i64], facts: Option<&[Fact]>) -> Option<bool> {
    if c.is_empty() {
        return Some(true);
    }
    // x's dims as far as known: Some(n) a number, None not known.
    let dims: Vec<Option<i64>> = if let Some(t) = constant(g, x) {
        t.dims.iter().map(|&d| Some(d)).collect()
    } else if let Some(shape) = g.value(x).ty().and_then(|t| t.as_tensor()?.shape.as_ref()) {
        shape
            .dims
            .iter()
            .map(|d| if let DimValue::Known(n) = d.value { Some(n) } else { None })
            .collect()
    } else {
        let shape = facts?.get(x.index())?.shape()?;
        shape.iter().map(|d| d.as_const()).collect()
    };
    if c.len() > dims.len() {
        return Some(false);
    }
    let offset = dims.len() - c.len();
    for (i, &cd) in c.iter().enumerate() {
        if cd == 1 {
            continue;
        }
        match dims[offset + i] {
            Some(d) if d == cd => {}
            Some(_) => return Some(false),
            None => return None,
        }
    }
    Some(true)
}

/// Removes the no-op nodes of `g` whose shapes are settled with `facts`.
fn eliminate(g: &mut Graph, cx: &PassCx, facts: Option<&[Fact]>) -> usize {
    let mut sw = Sweeper::default();
    let mut rewrites = 0;
    let mut cur = g.first_node();
    while let Some(id) = cur {
        cur = g.next_node(id);
        let Some((x, out, c)) = candidate(g, id) else { continue };
        if keeps_shape(g, x, &c, facts) == Some(true) && bypass(g, &mut sw, cx, id, x, out) {
            rewrites += 1;
        }
    }
    sw.finish(g);
    rewrites
}

/// Whether `g` or a subgraph has a candidate whose shape question declared types leave open.
fn undecided(g: &Graph) -> bool {
    g.nodes().any(|(id, n)| {
        candidate(g, id).is_some_and(|(x, _, c)| keeps_shape(g, x, &c, None).is_none())
            || n.subgraphs().any(undecided)
    })
}

/// Eliminates in `g`'s subgraphs, then in `g`, each with its facts where inference has them.
fn eliminate_with_facts(g: &mut Graph, cx: &PassCx, facts: &Facts) -> usize {
    // Subgraphs first: their facts are found by their address, which the rebuild that may end
    // the rewrite of `g` does not change, while `g`'s own handles may be renumbered.
    let rewrites = for_each_subgraph(g, &mut |sub| eliminate_with_facts(sub, cx, facts));
    match facts.graph(g) {
        Some(own) => rewrites + eliminate(g, cx, Some(own)),
        None => rewrites,
    }
}

impl Pass for EliminateNopArithmetic {
    fn name(&self) -> &'static str {
        "eliminate_nop_arithmetic"
    }

    fn description(&self) -> &'static str {
        "remove Add/Sub of 0 and Mul/Div by 1 that leave the shape unchanged"
    }

    fn run(&self, g: &mut Graph, cx: &PassCx) -> Result<Changed, PassError> {
        Ok(Changed { rewrites: eliminate(g, cx, None) })
    }

    /// With inferred shapes, for the nodes declared types leave open.
    fn run_model(&self, model: &mut Model, cx: &PassCx) -> Result<Changed, PassError> {
        if !model.graph.as_ref().is_some_and(undecided) {
            return Ok(Changed::NONE);
        }
        let facts = cx.facts(model);
        let Some(g) = &mut model.graph else { return Ok(Changed::NONE) };
        Ok(Changed { rewrites: eliminate_with_facts(g, cx, &facts) })
    }
}
