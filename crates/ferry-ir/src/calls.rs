//! How nodes call model-local functions, and the one check every frontend needs: functions must
//! not call each other in a cycle (expanding them would never end).

use crate::{Function, Graph, Node, canonical_domain};
use std::collections::HashMap;

/// What identifies a model-local function to a caller: (canonical domain, name, overload).
pub type FunctionKey = (String, String, String);

impl Function {
    /// The key nodes call this function by.
    pub fn key(&self) -> FunctionKey {
        (
            canonical_domain(self.domain.as_deref()).to_string(),
            self.name.clone().unwrap_or_default(),
            self.overload.clone().unwrap_or_default(),
        )
    }
}

impl Node {
    /// The function key this node would call, if a function by that key exists.
    pub fn call_key(&self) -> FunctionKey {
        (
            self.canonical_domain().to_string(),
            self.op_type.clone(),
            self.overload.clone().unwrap_or_default(),
        )
    }
}

/// A cycle of calls between model-local functions: the index of the first function found on it,
/// and the names along it, ending where they start (`f -> g -> f`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CallCycle {
    pub function: usize,
    pub path: Vec<String>,
}

/// Finds a cycle of calls among `functions` (their bodies' nodes and subgraphs), if any.
pub fn function_call_cycle(functions: &[Function]) -> Option<CallCycle> {
    let index: HashMap<FunctionKey, usize> =
        functions.iter().enumerate().map(|(i, f)| (f.key(), i)).collect();
    fn calls(g: &Graph, index: &HashMap<FunctionKey, usize>, out: &mut Vec<usize>) {
        for (_, n) in g.nodes() {
            if let Some(&i) = index.get(&n.call_key()) {
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
                    return Some(CallCycle { function: callee, path });
                }
                _ => {}
            }
        }
    }
    None
}
