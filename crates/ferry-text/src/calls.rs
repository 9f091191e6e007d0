//! Model-local functions that call each other in a cycle.
//!
//! `ferry-onnx` refuses such models at import (expanding them would never end), so the text
//! parser refuses them too: every `Model` ferry holds has a finite call graph. (The same check
//! lives in the importer; it would be better as one `ferry-ir` helper both use.)

use ferry_ir::{Function, Graph, canonical_domain};
use std::collections::HashMap;

type Key = (String, String, String);

fn key(domain: Option<&str>, name: &str, overload: Option<&str>) -> Key {
    (canonical_domain(domain).to_string(), name.to_string(), overload.unwrap_or("").to_string())
}

/// The first function (by index) on a call cycle, and the cycle as `f -> g -> f`.
pub(crate) fn function_cycle(functions: &[Function]) -> Option<(usize, String)> {
    let index: HashMap<Key, usize> = functions
        .iter()
        .enumerate()
        .map(|(i, f)| {
            let k =
                key(f.domain.as_deref(), f.name.as_deref().unwrap_or(""), f.overload.as_deref());
            (k, i)
        })
        .collect();
    fn calls(g: &Graph, index: &HashMap<Key, usize>, out: &mut Vec<usize>) {
        for (_, n) in g.nodes() {
            let k = key(n.domain.as_deref(), &n.op_type, n.overload.as_deref());
            if let Some(&i) = index.get(&k) {
                out.push(i);
            }
            for sub in n.subgraphs() {
                calls(sub, index, out);
            }
        }
    }
    let callees: Vec<Vec<usize>> = functions
        .iter()
        .map(|f| {
            let mut out = Vec::new();
            calls(&f.body, &index, &mut out);
            out
        })
        .collect();
    // Iterative depth-first search; 0 = unvisited, 1 = on the current path, 2 = finished.
    let mut state = vec![0u8; functions.len()];
    for root in 0..functions.len() {
        if state[root] != 0 {
            continue;
        }
        state[root] = 1;
        let mut stack = vec![(root, 0usize)];
        while let Some(top) = stack.last_mut() {
            let (f, next) = *top;
            let Some(&callee) = callees[f].get(next) else {
                state[f] = 2;
                stack.pop();
                continue;
            };
            top.1 += 1;
            match state[callee] {
                0 => {
                    state[callee] = 1;
                    stack.push((callee, 0));
                }
                1 => {
                    let start = stack.iter().position(|&(g, _)| g == callee).unwrap_or(0);
                    let name = |i: usize| functions[i].name.clone().unwrap_or_default();
                    let mut path: Vec<String> =
                        stack[start..].iter().map(|&(g, _)| name(g)).collect();
                    path.push(name(callee));
                    return Some((callee, path.join(" -> ")));
                }
                _ => {}
            }
        }
    }
    None
}
