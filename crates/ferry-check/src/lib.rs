//! ferry's checker: the structural rules of ONNX's `check_model(full_check=True)` that do not
//! need inference, and ferry's own, over the IR.
//!
//! Every problem is collected (never only the first), each with the rule it breaks, where it is
//! and what was expected. Rules:
//!
//! | rule | what |
//! |---|---|
//! | `ir-version` | the model states an IR version ferry knows (1..=14) |
//! | `opset-import` | IR >= 3 models import opsets; no domain imported at two versions |
//! | `no-opset-import` | each node's domain is imported |
//! | `unknown-op` | standard-domain nodes name an operator that exists at the imported opset |
//! | `deprecated-op` | ... and is not deprecated there |
//! | `input-count`, `output-count`, `missing-input` | arity against the schema |
//! | `attribute-unknown`, `attribute-type`, `attribute-required`, `attribute-reference` | attributes against the schema |
//! | `type-constraint` | known input types are allowed, and agree where they share a parameter |
//! | `undefined-value`, `topological-order` | every input is defined, by an earlier node |
//! | `output-not-produced` | graph outputs are defined |
//! | `missing-type`, `empty-name` | the main graph's interface is named and typed |
//! | `ir3-initializer-not-input` | before IR 4, initializers must be graph inputs |
//! | `outer-scope` | a subgraph's outer-scope reads resolve |
//! | `unused-initializer` (warning) | initializers are used |
//! | `shape-inference`, `type-conflict` | ([`check_full`] only) inference accepts every node and agrees with the declared types |
//!
//! Import already refuses what cannot be represented (duplicate names, tensor sizes that disagree
//! with dims, cycles, recursive functions), so those never reach the checker.

mod diag;
mod graph;
mod node;
mod typestr;
mod validated;

pub use diag::{Diagnostic, Report, Severity};
pub use validated::{Validated, validate};

use ferry_ir::{FunctionKey, Model};
use graph::{GraphCtx, GraphKind, check_graph};
use node::NodeCtx;
use std::collections::{HashMap, HashSet};

/// The newest IR version ferry understands.
pub const MAX_IR_VERSION: i64 = 14;

/// Names visible from enclosing graphs.
pub(crate) struct Scope<'a> {
    names: &'a HashSet<&'a str>,
    parent: Option<&'a Scope<'a>>,
}

impl Scope<'_> {
    fn contains(&self, name: &str) -> bool {
        self.names.contains(name) || self.parent.is_some_and(|p| p.contains(name))
    }
}

fn opset_map(
    imports: &[ferry_ir::OpsetImport],
    report: &mut Report,
    where_: &str,
) -> HashMap<String, i64> {
    let mut map = HashMap::new();
    for o in imports {
        let domain = o.canonical_domain().to_string();
        let version = o.version.unwrap_or(0);
        if let Some(previous) = map.insert(domain.clone(), version) {
            // The same import twice is harmless (sklearn-onnx writes it); two versions conflict.
            let (severity, message) = if previous == version {
                (
                    Severity::Warning,
                    format!("domain '{domain}' is imported twice (version {version})"),
                )
            } else {
                (
                    Severity::Error,
                    format!("domain '{domain}' is imported at versions {previous} and {version}"),
                )
            };
            report.diagnostics.push(Diagnostic {
                severity,
                rule: "opset-import",
                graph: where_.to_string(),
                node: None,
                message,
            });
        }
    }
    map
}

/// The full check, like onnx's `check_model(full_check=True)`: the structural and schema rules
/// of [`check`], plus type and shape inference, whose findings are errors here (`shape-inference`:
/// a node whose operator cannot accept its inputs; `type-conflict`: a declared type that
/// contradicts the inferred one).
pub fn check_full(model: &Model) -> Report {
    let mut report = check(model);
    for d in ferry_infer::check(model).diagnostics {
        report.diagnostics.push(Diagnostic {
            severity: Severity::Error,
            rule: d.rule,
            graph: d.graph,
            node: d.node,
            message: d.message,
        });
    }
    report
}

/// Checks a model and returns every problem found.
pub fn check(model: &Model) -> Report {
    let mut report = Report::default();
    let model_error = |rule: &'static str, message: String, report: &mut Report| {
        report.diagnostics.push(Diagnostic {
            severity: Severity::Error,
            rule,
            graph: "model".into(),
            node: None,
            message,
        });
    };
    match model.ir_version {
        None => {
            model_error("ir-version", "the model does not state its IR version".into(), &mut report)
        }
        Some(v) if !(1..=MAX_IR_VERSION).contains(&v) => model_error(
            "ir-version",
            format!("IR version {v} is outside the versions ferry knows (1 to {MAX_IR_VERSION})"),
            &mut report,
        ),
        _ => {}
    }
    if model.ir_version.is_some_and(|v| v >= 3) && model.opset_imports.is_empty() {
        model_error("opset-import", "the model imports no operator sets".into(), &mut report);
    }
    let opsets = opset_map(&model.opset_imports, &mut report, "model");
    let functions: HashMap<FunctionKey, usize> =
        model.functions.iter().enumerate().map(|(i, f)| (f.key(), i)).collect();
    let empty = HashSet::new();
    let root = Scope { names: &empty, parent: None };
    if let Some(g) = &model.graph {
        let ctx = GraphCtx {
            nodes: NodeCtx { opsets: &opsets, functions: &functions, in_function: false },
            ir_version: model.ir_version,
            kind: GraphKind::Main,
        };
        let path = format!("graph '{}'", g.name.as_deref().unwrap_or(""));
        check_graph(g, &path, &ctx, &root, &mut report);
        // Training graphs read the main graph's names.
        let names: HashSet<&str> = g.values().map(|(_, v)| v.name.as_str()).collect();
        let main_scope = Scope { names: &names, parent: None };
        for (i, t) in model.training_info.iter().enumerate() {
            for (what, tg) in [("initialization", &t.initialization), ("algorithm", &t.algorithm)] {
                if let Some(tg) = tg {
                    let ctx = GraphCtx {
                        kind: GraphKind::Training,
                        ..GraphCtx { nodes: NodeCtx { ..ctx.nodes }, ..ctx }
                    };
                    check_graph(
                        tg,
                        &format!("training_info[{i}].{what}"),
                        &ctx,
                        &main_scope,
                        &mut report,
                    );
                }
            }
        }
    } else {
        model_error("missing-graph", "the model has no graph".into(), &mut report);
    }
    for f in &model.functions {
        let path = format!("function '{}'", f.name.as_deref().unwrap_or(""));
        // A function uses its own opset imports, falling back to the model's.
        let own = opset_map(&f.opset_imports, &mut report, &path);
        let mut fops = opsets.clone();
        fops.extend(own);
        let ctx = GraphCtx {
            nodes: NodeCtx { opsets: &fops, functions: &functions, in_function: true },
            ir_version: model.ir_version,
            kind: GraphKind::Function,
        };
        check_graph(&f.body, &path, &ctx, &root, &mut report);
    }
    report
}
