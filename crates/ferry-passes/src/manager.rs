//! The pass manager: runs a pipeline over every graph of a model until nothing changes.

use crate::{Changed, FactsCache, Pass, PassCx, PassError, all_passes};
use ferry_ir::{Graph, Model};
use rayon::prelude::*;
use std::collections::HashSet;
use std::time::{Duration, Instant};

/// Runs passes over a model: the main graph, its subgraphs (recursively, after their owner's
/// graph) and function bodies (in parallel with each other and with the main graph). Training
/// graphs are left alone, and the names they or their bindings mention are protected.
///
/// The pipeline repeats until a round changes nothing (a fixed point) or `max_rounds` rounds
/// have run; the report says which.
pub struct PassManager {
    passes: Vec<Box<dyn Pass>>,
    max_rounds: usize,
    verify_each: bool,
    stop_after: Option<usize>,
}

/// What one pass did over a whole pipeline run.
#[derive(Clone, Debug, PartialEq)]
pub struct PassStats {
    pub name: &'static str,
    /// How many times the pass ran over the model (once per round).
    pub runs: usize,
    pub rewrites: usize,
    pub time: Duration,
}

/// What a pipeline run did.
#[derive(Clone, Debug, PartialEq)]
pub struct PipelineReport {
    /// Per pass, in pipeline order.
    pub passes: Vec<PassStats>,
    pub rounds: usize,
    /// The last round changed nothing. `false` when the round limit or the rewrite limit
    /// stopped the run first.
    pub converged: bool,
    /// `stop_after` ended the run.
    pub stopped_by_rewrite_limit: bool,
    pub rewrites: usize,
}

impl Default for PassManager {
    fn default() -> Self {
        PassManager::new(all_passes())
    }
}

impl PassManager {
    /// Default round limit: the passes here converge in two or three rounds on real models.
    pub const DEFAULT_MAX_ROUNDS: usize = 10;

    pub fn new(passes: Vec<Box<dyn Pass>>) -> PassManager {
        PassManager {
            passes,
            max_rounds: Self::DEFAULT_MAX_ROUNDS,
            verify_each: false,
            stop_after: None,
        }
    }

    /// The hard limit on rounds of the whole pipeline (at least 1).
    pub fn max_rounds(mut self, rounds: usize) -> Self {
        self.max_rounds = rounds.max(1);
        self
    }

    /// After every pass, run the structural checker (`ferry_check::check`) and the IR's link
    /// check on every graph; a problem the model did not have before the pipeline fails the run
    /// with the name of the pass that introduced it.
    pub fn verify_each(mut self, on: bool) -> Self {
        self.verify_each = on;
        self
    }

    /// Stop after `n` rewrites in total, to find the rewrite that breaks a model by bisection.
    /// With a limit, graphs are visited one after the other (the limit is consumed in a fixed
    /// order), so the result is the same for any thread count.
    pub fn stop_after(mut self, n: Option<usize>) -> Self {
        self.stop_after = n;
        self
    }

    pub fn pass_names(&self) -> Vec<&'static str> {
        self.passes.iter().map(|p| p.name()).collect()
    }

    pub fn run(&self, model: &mut Model) -> Result<PipelineReport, PassError> {
        let protected = protected_names(model);
        let baseline = if self.verify_each { problems(model) } else { Vec::new() };
        let mut stats: Vec<PassStats> = self
            .passes
            .iter()
            .map(|p| PassStats { name: p.name(), runs: 0, rewrites: 0, time: Duration::ZERO })
            .collect();
        let mut budget = self.stop_after;
        let mut report = PipelineReport {
            passes: Vec::new(),
            rounds: 0,
            converged: false,
            stopped_by_rewrite_limit: false,
            rewrites: 0,
        };
        let facts = FactsCache::default();
        'rounds: for _ in 0..self.max_rounds {
            report.rounds += 1;
            let mut round = 0;
            for (pass, st) in self.passes.iter().zip(&mut stats) {
                if budget == Some(0) {
                    report.stopped_by_rewrite_limit = true;
                    break 'rounds;
                }
                let start = Instant::now();
                let changed = run_on_model(pass.as_ref(), model, &protected, budget, &facts)?;
                if changed.is_changed() {
                    facts.invalidate();
                }
                st.time += start.elapsed();
                st.runs += 1;
                st.rewrites += changed.rewrites;
                round += changed.rewrites;
                if let Some(b) = &mut budget {
                    *b -= changed.rewrites.min(*b);
                }
                if self.verify_each {
                    let new: Vec<String> =
                        problems(model).into_iter().filter(|p| !baseline.contains(p)).collect();
                    if !new.is_empty() {
                        return Err(PassError::Broke { pass: pass.name().into(), problems: new });
                    }
                }
            }
            if round == 0 {
                report.converged = true;
                break;
            }
        }
        if budget == Some(0) && !report.converged {
            report.stopped_by_rewrite_limit = true;
        }
        report.rewrites = stats.iter().map(|s| s.rewrites).sum();
        report.passes = stats;
        Ok(report)
    }
}

/// Runs `pass` over every graph of the model (training graphs aside).
fn run_on_model(
    pass: &dyn Pass,
    model: &mut Model,
    protected: &HashSet<String>,
    budget: Option<usize>,
    facts: &FactsCache,
) -> Result<Changed, PassError> {
    let model_opset = model.default_opset();
    let function_opset = |f: &ferry_ir::Function| {
        f.opset_imports
            .iter()
            .find(|o| o.canonical_domain().is_empty())
            .and_then(|o| o.version)
            .or(model_opset)
    };
    let model_cx = PassCx::new(model_opset, protected).with_budget(budget).with_facts_cache(facts);
    let mut total = pass.run_model(model, &model_cx)?;
    let budget = model_cx.budget();
    if budget.is_some() {
        // Sequential, so the limit is consumed in one fixed order.
        let mut left = budget;
        if let Some(g) = &mut model.graph {
            let cx = PassCx::new(model_opset, protected).with_budget(left);
            total += run_on_graph(pass, g, &cx)?;
            left = cx.budget();
        }
        for f in &mut model.functions {
            let opset = function_opset(f);
            let mut cx = PassCx::new(opset, protected).with_budget(left);
            cx.nested = true;
            total += run_on_graph(pass, &mut f.body, &cx)?;
            left = cx.budget();
        }
        return Ok(total);
    }
    let opsets: Vec<Option<i64>> = model.functions.iter().map(function_opset).collect();
    let (main, funcs) = rayon::join(
        || match &mut model.graph {
            Some(g) => run_on_graph(pass, g, &PassCx::new(model_opset, protected)),
            None => Ok(Changed::NONE),
        },
        || {
            model
                .functions
                .par_iter_mut()
                .zip(opsets.par_iter())
                .map(|(f, &opset)| {
                    let mut cx = PassCx::new(opset, protected);
                    cx.nested = true;
                    run_on_graph(pass, &mut f.body, &cx)
                })
                .collect::<Vec<_>>()
        },
    );
    total += main?;
    for r in funcs {
        total += r?;
    }
    Ok(total)
}

/// Runs `pass` on `g`, then on the subgraphs of the nodes that remain, in node order.
fn run_on_graph(pass: &dyn Pass, g: &mut Graph, cx: &PassCx) -> Result<Changed, PassError> {
    let mut total = pass.run(g, cx)?;
    let owners: Vec<_> = g.node_ids().filter(|&id| g.node(id).has_subgraphs()).collect();
    for id in owners {
        let mut attributes = std::mem::take(&mut g.node_mut(id).attributes);
        let mut result = Ok(());
        for a in &mut attributes {
            for sub in a.value.graphs_mut() {
                let sub_cx = cx.nested(cx.budget());
                match run_on_graph(pass, sub, &sub_cx) {
                    Ok(c) => total += c,
                    Err(e) => result = Err(e),
                }
                cx.set_budget(sub_cx.budget());
            }
        }
        g.node_mut(id).attributes = attributes;
        result?;
    }
    Ok(total)
}

/// Names the training information mentions: bindings and every value of its graphs.
fn protected_names(model: &Model) -> HashSet<String> {
    let mut names = HashSet::new();
    for t in &model.training_info {
        for e in t.initialization_binding.iter().chain(&t.update_binding) {
            names.extend(e.key.clone());
            names.extend(e.value.clone());
        }
        for g in t.initialization.iter().chain(&t.algorithm) {
            collect_names(g, &mut names);
        }
    }
    names
}

fn collect_names(g: &Graph, names: &mut HashSet<String>) {
    for (_, v) in g.values() {
        names.insert(v.name.clone());
    }
    for (_, n) in g.nodes() {
        for sub in n.subgraphs() {
            collect_names(sub, names);
        }
    }
}

/// Structural errors and broken links, as comparable strings.
fn problems(model: &Model) -> Vec<String> {
    let mut out: Vec<String> = ferry_check::check(model).errors().map(|d| d.to_string()).collect();
    model.visit_graphs(&mut |path, g| {
        if let Err(e) = g.verify_links() {
            out.push(format!("{path}: links: {e}"));
        }
    });
    out
}
