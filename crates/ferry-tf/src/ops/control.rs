//! Functional control flow: `While`/`StatelessWhile` to ONNX `Loop`, `If`/`StatelessIf` to
//! ONNX `If`. The bodies are library functions, converted by the same rules into subgraphs.
//!
//! `While(vars) {cond, body}` runs `body` while `cond(vars)`; ONNX's Loop checks its condition
//! before each iteration from a value the previous one produced. So the first condition is
//! `cond` computed on the initial values in the enclosing graph, and the Loop body runs `body`
//! and then `cond` on the new values. Loop variables the body passes through unchanged
//! (invariants, like an LSTM's weights) whose initial value is a constant are bound to a copy
//! of that constant inside the body, so ops there that need constant inputs still see one.
//!
//! A branch of `If` has no inputs in ONNX: it reads the If's operands from the enclosing graph
//! by name (captures, which become implicit inputs of the If node).

use super::Rule;
use crate::convert::{convert_nodes, dependency_order, without_unused_initializers};
use crate::ctx::{Ctx, TfVal, int_attr};
use crate::error::Result;
use crate::flatten::{FunctionBody, TfNode, function_body};
use crate::proto::attr_value::Value as AV;
use crate::tensor::{ir_dims, onnx_dtype, shape_dims};
use ferry_ir::{AttrValue, Attribute, DataType, Graph, Type, ValueDef, ValueId, ValueInfo};
use std::collections::HashMap;

pub fn lookup(op: &str) -> Option<Rule> {
    Some(match op {
        "While" | "StatelessWhile" => while_loop,
        "If" | "StatelessIf" => if_node,
        _ => return None,
    })
}

fn body_of(cx: &Ctx, n: &TfNode, attr: &str) -> Result<FunctionBody> {
    let f = n.attr_func(attr).ok_or_else(|| n.err(format!("no function attribute {attr}")))?;
    let def =
        cx.library.get(&f).ok_or_else(|| n.err(format!("function {f} is not in the library")))?;
    function_body(def, cx.library)
}

/// Runs `body` in `cx` with its arguments bound to `args`; returns its results in TensorFlow's
/// layout. The body's own tensor names live in a scope of their own.
fn run_body(cx: &mut Ctx, n: &TfNode, body: &FunctionBody, args: &[TfVal]) -> Result<Vec<TfVal>> {
    if args.len() != body.args.len() {
        return Err(n.err(format!(
            "{} arguments for a body taking {}",
            args.len(),
            body.args.len()
        )));
    }
    let saved = std::mem::take(&mut cx.vals);
    let result = (|| {
        for ((name, _), v) in body.args.iter().zip(args) {
            cx.vals.insert((name.clone(), 0), v.clone());
        }
        let index: HashMap<&str, usize> =
            body.nodes.iter().enumerate().map(|(i, b)| (b.name.as_str(), i)).collect();
        let (order, _) =
            dependency_order(&body.nodes, &index, &body.rets, &|b: &TfNode| b.op == "_Arg")?;
        convert_nodes(cx, &body.nodes, &order)?;
        let mut outs = Vec::new();
        for r in &body.rets {
            let v = cx
                .vals
                .get(r)
                .cloned()
                .ok_or_else(|| n.err(format!("body result {}:{} missing", r.0, r.1)))?;
            let id = cx.native(&v)?;
            outs.push(TfVal { id, cf: false, ..v });
        }
        Ok(outs)
    })();
    cx.vals = saved;
    result
}

/// Makes `vals` the outputs of the subgraph `g`, through an Identity where a value is not a
/// node output of this graph or appears twice (ONNX outputs are distinct node results).
fn set_outputs(cx: &mut Ctx, vals: &[TfVal]) {
    let mut ids: Vec<ValueId> = Vec::new();
    for v in vals {
        let mut id = v.id;
        let own = matches!(cx.g.value(id).def(), ValueDef::Node { .. });
        if !own || ids.contains(&id) {
            let name = format!("{}_out", cx.g.value(id).name);
            id = cx.emit1("Identity", &name, &[id], vec![]);
        }
        cx.g.value_mut(id).info.ty = v.dtype.map(|d| tensor_type(d, v.shape.as_deref()));
        ids.push(id);
    }
    cx.g.set_outputs(ids);
}

fn tensor_type(dt: DataType, shape: Option<&[i64]>) -> Type {
    match shape {
        Some(s) => Type::tensor(dt, ir_dims(s)),
        None => {
            let mut t = Type::tensor(dt, []);
            if let Some(ferry_ir::TypeKind::Tensor(tt)) = &mut t.kind {
                tt.shape = None;
            }
            t
        }
    }
}

/// The element types (`T`/`Tout`) and shapes (`output_shapes`) a control-flow node declares.
fn declared(n: &TfNode, types: &str) -> (Vec<Option<DataType>>, Vec<Option<Vec<i64>>>) {
    let list = |name: &str| match n.attrs.get(name).and_then(|a| a.value.as_ref()) {
        Some(AV::List(l)) => Some(l.clone()),
        _ => None,
    };
    let t =
        list(types).map(|l| l.r#type.iter().map(|&t| onnx_dtype(t)).collect()).unwrap_or_default();
    let variant: Vec<bool> =
        list(types).map(|l| l.r#type.iter().map(|&t| is_handle(t)).collect()).unwrap_or_default();
    // A variant (TensorList) is declared as a scalar; its dense form's shape comes from its
    // value instead.
    let s = list("output_shapes")
        .map(|l| {
            l.shape
                .iter()
                .enumerate()
                .map(|(i, s)| {
                    if variant.get(i).copied().unwrap_or(false) {
                        None
                    } else {
                        shape_dims(Some(s))
                    }
                })
                .collect()
        })
        .unwrap_or_default();
    (t, s)
}

/// A variant (TensorList, dense here) or resource (a variable, a constant here): TensorFlow
/// declares these as scalars, whatever their value's shape.
fn is_handle(tf_type: i32) -> bool {
    matches!(tf_type % 100, 20 | 21)
}

/// Loop variable `i` of a While is a variant or resource handle.
fn declared_variant(n: &TfNode, i: usize) -> bool {
    match n.attrs.get("T").and_then(|a| a.value.as_ref()) {
        Some(AV::List(l)) => l.r#type.get(i).is_some_and(|&t| is_handle(t)),
        _ => false,
    }
}

fn as_bool(cx: &mut Ctx, v: &TfVal, name: &str) -> Result<ValueId> {
    let id = cx.native(v)?;
    if v.dtype == Some(DataType::BOOL) {
        return Ok(id);
    }
    Ok(cx.emit1("Cast", name, &[id], vec![int_attr("to", i64::from(DataType::BOOL.0))]))
}

fn while_loop(cx: &mut Ctx, n: &TfNode) -> Result<Vec<TfVal>> {
    let inits: Vec<TfVal> = (0..n.inputs.len()).map(|i| cx.input(n, i)).collect::<Result<_>>()?;
    let mut natives = Vec::new();
    for v in &inits {
        let id = cx.native(v)?;
        natives.push(TfVal { id, cf: false, ..v.clone() });
    }
    let cond = body_of(cx, n, "cond")?;
    let body = body_of(cx, n, "body")?;
    let (types, shapes) = declared(n, "T");
    let first = run_body(cx, n, &cond, &natives)?;
    let c0v = first.first().ok_or_else(|| n.err("cond returns nothing"))?.clone();
    let c0 = as_bool(cx, &c0v, &format!("{}/cond0", n.name))?;

    let mut sub = cx.begin_sub();
    let iter_name = sub.fresh(&format!("{}/iteration", n.name));
    sub.g.add_input(
        iter_name,
        ValueInfo { ty: Some(Type::tensor(DataType::INT64, [])), ..Default::default() },
    );
    let cond_name = sub.fresh(&format!("{}/cond_in", n.name));
    sub.g.add_input(
        cond_name,
        ValueInfo { ty: Some(Type::tensor(DataType::BOOL, [])), ..Default::default() },
    );
    let mut args = Vec::new();
    // Loop variables the ONNX Loop carries; constant invariants live in the body only.
    let mut carried = Vec::new();
    for (i, v) in natives.iter().enumerate() {
        let dtype = types.get(i).copied().flatten().or(v.dtype);
        // Without a declared shape, the rank of the initial value (TensorFlow changes a loop
        // variable's rank only under an unknown-rank invariant, which declares no shape).
        let is_list = declared_variant(n, i);
        let shape = shapes.get(i).cloned().flatten().or_else(|| {
            if is_list {
                // A dense list keeps its shape across iterations (writes do not resize it).
                v.shape.clone()
            } else {
                v.shape.as_ref().map(|s| vec![-1; s.len()])
            }
        });
        let arg_name = body.args.get(i).map_or("var", |a| a.0.as_str());
        let invariant = body.rets.get(i).is_some_and(|r| r.0 == arg_name && r.1 == 0);
        let constant = if invariant { cx.const_of(v.id).cloned() } else { None };
        let shape = match &constant {
            Some(t) => Some(t.dims.clone()),
            None => shape,
        };
        let id = match constant {
            Some(t) => sub.add_const(&format!("{}/{arg_name}", n.name), t),
            None => {
                carried.push(i);
                let name = sub.fresh(&format!("{}/{arg_name}", n.name));
                let ty = dtype.map(|d| tensor_type(d, shape.as_deref()));
                sub.g.add_input(name, ValueInfo { ty, ..Default::default() })
            }
        };
        args.push(TfVal { id, cf: false, shape, dtype });
    }
    let outcome = (|| {
        let outs = run_body(&mut sub, n, &body, &args)?;
        let again = run_body(&mut sub, n, &cond, &outs)?;
        let c = again.first().ok_or_else(|| n.err("cond returns nothing"))?.clone();
        let cid = as_bool(&mut sub, &c, &format!("{}/cond", n.name))?;
        let mut results =
            vec![TfVal { id: cid, cf: false, shape: Some(vec![]), dtype: Some(DataType::BOOL) }];
        results.extend(carried.iter().map(|&i| TfVal {
            dtype: types.get(i).copied().flatten().or(outs[i].dtype),
            shape: shapes.get(i).cloned().flatten(),
            ..outs[i].clone()
        }));
        set_outputs(&mut sub, &results);
        Ok(outs.len())
    })();
    let graph: Graph = cx.end_sub(sub);
    let mut graph = without_unused_initializers(&graph);
    graph.name = Some(format!("{}/body", n.name));
    let count = outcome?;
    if count != natives.len() {
        return Err(
            n.err(format!("body returns {count} values for {} loop variables", natives.len()))
        );
    }
    let mut ins: Vec<Option<ValueId>> = vec![None, Some(c0)];
    ins.extend(carried.iter().map(|&i| Some(natives[i].id)));
    let attrs = vec![Attribute::new("body", AttrValue::Graph(Box::new(graph)))];
    let (_, loop_outs) = cx.emit_opt("Loop", &n.name, &ins, attrs, carried.len());
    // A constant invariant's final value is its initial one.
    let mut outs: Vec<ValueId> = natives.iter().map(|v| v.id).collect();
    for (&i, id) in carried.iter().zip(loop_outs) {
        outs[i] = id;
    }
    Ok(outs
        .into_iter()
        .enumerate()
        .map(|(i, id)| TfVal {
            id,
            cf: false,
            shape: shapes.get(i).cloned().flatten().or_else(|| {
                if declared_variant(n, i) {
                    natives[i].shape.clone()
                } else {
                    natives[i].shape.as_ref().map(|s| vec![-1; s.len()])
                }
            }),
            dtype: types.get(i).copied().flatten().or(natives[i].dtype),
        })
        .collect())
}

fn if_node(cx: &mut Ctx, n: &TfNode) -> Result<Vec<TfVal>> {
    let c = cx.input(n, 0)?;
    let cond = as_bool(cx, &c, &format!("{}/cond", n.name))?;
    let operands: Vec<TfVal> =
        (1..n.inputs.len()).map(|i| cx.input(n, i)).collect::<Result<_>>()?;
    let mut natives = Vec::new();
    for v in &operands {
        let id = cx.native(v)?;
        natives.push(TfVal { id, cf: false, ..v.clone() });
    }
    let (types, shapes) = declared(n, "Tout");
    let mut graphs = Vec::new();
    let mut captured: Vec<ValueId> = Vec::new();
    for branch in ["then_branch", "else_branch"] {
        let body = body_of(cx, n, branch)?;
        let mut sub = cx.begin_sub();
        let mut args = Vec::new();
        for v in &natives {
            // A branch reads an enclosing value by its name.
            let name = cx.g.value(v.id).name.clone();
            let id = match cx.const_of(v.id).cloned() {
                Some(t) => sub.add_const(&format!("{name}_const"), t),
                None => sub.g.add_capture(&name),
            };
            args.push(TfVal { id, ..v.clone() });
        }
        let outcome = (|| {
            let outs = run_body(&mut sub, n, &body, &args)?;
            let outs: Vec<TfVal> = outs
                .into_iter()
                .enumerate()
                .map(|(i, o)| TfVal {
                    dtype: types.get(i).copied().flatten().or(o.dtype),
                    shape: shapes.get(i).cloned().flatten(),
                    ..o
                })
                .collect();
            set_outputs(&mut sub, &outs);
            Ok::<_, crate::error::Error>(outs.len())
        })();
        for (v, a) in natives.iter().zip(&args) {
            if sub.g.value(a.id).def() == ValueDef::Captured
                && !sub.g.value(a.id).uses().is_empty()
                && !captured.contains(&v.id)
            {
                captured.push(v.id);
            }
        }
        let mut g = without_unused_initializers(&cx.end_sub(sub));
        g.name = Some(format!("{}/{branch}", n.name));
        let count = outcome?;
        graphs.push((branch, g, count));
    }
    let count = graphs[0].2;
    if graphs[1].2 != count {
        return Err(n.err(format!("branches return {} and {} values", count, graphs[1].2)));
    }
    let attrs = graphs
        .into_iter()
        .map(|(b, g, _)| Attribute::new(b, AttrValue::Graph(Box::new(g))))
        .collect();
    let (node, outs) = cx.emit_opt("If", &n.name, &[Some(cond)], attrs, count);
    cx.g.add_implicit_inputs(node, &captured);
    Ok(outs
        .into_iter()
        .enumerate()
        .map(|(i, id)| TfVal {
            id,
            cf: false,
            shape: shapes.get(i).cloned().flatten(),
            dtype: types.get(i).copied().flatten(),
        })
        .collect())
}
