//! The local check: run only what a rewrite changed, not the whole model.
//!
//! Running both whole models costs a reference runtime seconds to minutes on large graphs
//! (tract's graph preparation grows faster than linearly, and a model's full inference is
//! paid twice), while a pass pipeline rewrites a few patterns many times. So the default check
//! compares the two graphs by name and runs only the changed regions:
//!
//! 1. **Diff.** A value of the result whose name the original also has, and whose definition
//!    differs (another operator, other attributes, other input names, a folded constant in place
//!    of a node), is a *claim*: the rewrite says it still equals the original's value. Values
//!    defined alike, from equal inputs, are equal without running anything; every difference
//!    reaches some claim downstream, and the graph outputs are always claimable names.
//! 2. **Cones.** For a claim, each side's cone is the nodes that compute it, walked back until
//!    values both graphs share ([`cone`]). Those become the cone's inputs, fed random values of
//!    the shapes inference gives them for the check's input shapes. Shared values that are not
//!    floating point (shape arithmetic, indices, masks) or whose shape is unknown are walked
//!    through instead, since random ones would mean nothing; so are shared inputs that depend
//!    on another input of the same cone (a common subexpression), so that the cone's inputs are
//!    independent.
//! 3. **Kinds.** Claims whose cones have the same operators, attributes, constant shapes, small
//!    integer constants and single-value constants (but those of `Add`/`Sub`/`Mul`/`Div`, which
//!    are weights), and input shape classes (rank, and which dims are 0 or 1), and are the same
//!    output of their node, on both sides are one *kind* (one
//!    rewrite applied in many places); the cheapest claim of each kind (fewest elements fed
//!    and compared) is run, or more ([`crate::Options::per_kind`]; [`plan::Plan`]).
//! 4. **Run.** The chosen cones, each renamed apart (`name#k`), form one small model per side,
//!    which the reference runs as in the whole-model check, on the same random inputs.
//!
//! What this proves: a chosen claim computes the same function of its cone's inputs on both
//! sides, for the random inputs tried, so it holds for the real values too. A claim not chosen
//! is trusted because a claim of its kind held (same operators, attributes, small integer
//! constants and steering scalars, and shapes that broadcast alike; only sizes, weights and
//! arithmetic scalars differ): a pass bug that depends on those values alone can pass unseen,
//! which `--check-per-kind 0` (every claim) or `--check-whole` rules out. A local failure is not final: the whole models are then checked,
//! and that verdict stands, so the local check can make ferry slower but never refuses a model
//! the whole check accepts. What it cannot localize (subgraphs, model functions, another
//! opset) is checked whole as well.

mod cone;
mod plan;

pub use plan::Scope;

use crate::{Error, Options, Report, Subject, Verdict, check_inputs, input_specs, not_checked};

/// Checks `result` against `original` on their changed regions (see the module documentation),
/// falling back to the whole models where that cannot decide.
pub fn check_local(original: Subject, result: Subject, opts: &Options) -> Result<Report, Error> {
    let specs = match input_specs(original.model, &opts.input_shapes)? {
        Ok(s) => s,
        Err(reason) => return Ok(not_checked(reason, Vec::new())),
    };
    if opts.runs == 0 {
        return Ok(not_checked("no runs were asked for".into(), specs));
    }
    let (names, result_names) =
        (crate::output_names(original.model), crate::output_names(result.model));
    if names != result_names {
        let verdict = Verdict::Outputs { original: names, result: result_names };
        return Ok(Report { verdict, inputs: specs, notes: Vec::new(), scope: None });
    }
    // The inputs must be the original's (names, order, element types); the whole check says
    // what differs.
    let same_inputs = match input_specs(result.model, &opts.input_shapes) {
        Ok(Ok(r)) => {
            r.iter().map(|s| (&s.name, s.elem)).eq(specs.iter().map(|s| (&s.name, s.elem)))
        }
        _ => false,
    };
    if !same_inputs {
        let why = "checked whole: the result's inputs are not the original's".to_string();
        return whole(original, result, opts, why);
    }
    let plan =
        crate::guarded(|| plan::Plan::new(original.model, result.model, &specs, opts.per_kind));
    let plan = match plan {
        Ok(plan) => plan,
        Err(why) => return whole(original, result, opts, format!("checked whole: {why}")),
    };
    if plan.scope.rewritten == 0 {
        let verdict = Verdict::Agree {
            reference: "no value was rewritten".into(),
            runs: 0,
            outputs: names.len(),
            worst: Default::default(),
        };
        return Ok(Report { verdict, inputs: specs, notes: Vec::new(), scope: Some(plan.scope) });
    }
    let plan::Plan { original: regions_o, result: regions_r, inputs, scaled, scope } = plan;
    let sets = match crate::random_sets(&inputs, opts) {
        Ok(sets) => sets,
        Err(reason) => {
            return whole(original, result, opts, format!("checked whole: {reason}"));
        }
    };
    let a = Subject { model: &regions_o, dir: original.dir };
    let b = Subject { model: &regions_r, dir: result.dir };
    // The regions are small and many: tract's optimizer would cost more than it saves.
    let typed = Options { large_graph: 0, ..opts.clone() };
    let local = check_inputs(a, b, inputs, &sets, &typed, &scaled);
    match local.verdict {
        Verdict::Agree { .. } => Ok(Report { inputs: specs, scope: Some(scope), ..local }),
        ref v => {
            let why = format!("the rewritten regions alone gave \"{v}\"; checked whole");
            let mut report = whole(original, result, opts, why)?;
            report.notes.splice(1..1, local.notes);
            Ok(report)
        }
    }
}

/// The whole-model check, with `why` first among the notes.
fn whole(original: Subject, result: Subject, opts: &Options, why: String) -> Result<Report, Error> {
    let mut report = crate::check(original, result, opts)?;
    report.notes.insert(0, why);
    Ok(report)
}
