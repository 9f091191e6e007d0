//! Numeric check: does a rewritten model compute what the original computes?
//!
//! [`check`] feeds the original and the result the same seeded random inputs ([`random`]), with
//! shapes from the original's inputs ([`shapes`]: `--input-shape` pins; other open dims are 1
//! on axis 0 and 32 elsewhere),
//! runs both in a reference runtime, and compares every output ([`compare`]: floats within
//! `atol + rtol * |original|`, NaN equal to NaN, integers, bools and strings exactly).
//!
//! References, tried in order until one runs both models:
//!
//! 1. tract-onnx ([`tract_ref`]), built in: optimized path, typed path as the fallback, and a
//!    list of operators it is known to compute wrongly, for which it is not asked;
//! 2. onnxruntime, with the `ort` feature: loaded at run time from the library that
//!    `ORT_DYLIB_PATH` names. It covers ONNX-ML, `com.microsoft` and `Loop`, which tract lacks.
//!
//! To build and test with onnxruntime (CI runs without it; the tests then skip its cases):
//!
//! ```sh
//! ~/.cache/ferry-anchors/bin/pip install onnxruntime==1.32.0   # or any venv
//! export ORT_DYLIB_PATH=~/.cache/ferry-anchors/lib/python3.11/site-packages/onnxruntime/capi/libonnxruntime.so.1.32.0
//! cargo test -p ferry-verify --features ort
//! cargo build --release -p ferry-cli --features ort            # ferry optimize uses it too
//! ```
//!
//! The verdict is never a silent pass: a model no reference can run (or whose inputs cannot be
//! made up) is [`Verdict::NotChecked`] with the reasons. A reference that runs the original but
//! fails on the result is a failure ([`Verdict::ResultFails`]) unless a later reference runs
//! both and they agree. A mismatch found by a reference is final: both models ran in the same
//! runtime on the same inputs.

pub mod compare;
mod local;
#[cfg(feature = "ort")]
mod ort_ref;
pub mod random;
pub mod shapes;
pub mod tensor;
pub mod tract_ref;

pub use compare::{Agreement, Difference, Tolerance, ValueDiff};
pub use local::{Scope, check_local};
pub use shapes::{InputShapes, InputSpec, input_specs, pin_input_shapes};
pub use tensor::{Data, HostTensor};

use ferry_ir::Model;
use std::path::Path;

/// Problems with the request itself (not verdicts about the models).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// `--input-shape` does not parse or does not fit the model.
    #[error("{0}")]
    InputShape(String),
    /// Recorded inputs that do not match the model's inputs.
    #[error("{0}")]
    Inputs(String),
}

/// A model to run, and the directory its external data is relative to (`None` for a model
/// whose tensors are all in memory).
#[derive(Clone, Copy)]
pub struct Subject<'a> {
    pub model: &'a Model,
    pub dir: Option<&'a Path>,
}

/// How to check.
#[derive(Clone, Debug)]
pub struct Options {
    /// How many random input sets (onnxsim's `check_n`).
    pub runs: usize,
    pub tolerance: Tolerance,
    /// Seed of the first input set; run `i` uses `seed + i`.
    pub seed: u64,
    pub input_shapes: InputShapes,
    /// Above this many nodes (all graphs), tract goes straight to its typed path: its optimizer
    /// takes tens of seconds and more on large graphs, which a check must not. Measured (whole
    /// check of a model against itself, 2 cores): a 4,961-node transformer 2.4 s typed, 4.7 s
    /// optimized; a 1,493-node detector 3.7 s typed, 2.0 s optimized (convolutions run faster
    /// there); a 20k-node CNN takes minutes to optimize (research/tract-as-reference.md).
    pub large_graph: usize,
    /// Try onnxruntime after tract (only with the `ort` feature and `ORT_DYLIB_PATH` set).
    pub use_ort: bool,
    /// For [`check_local`]: how many claims of each kind of rewrite to run, cheapest first
    /// (0: all of them).
    pub per_kind: usize,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            runs: 1,
            tolerance: Tolerance::default(),
            seed: 0,
            input_shapes: InputShapes::default(),
            large_graph: 5000,
            use_ort: true,
            per_kind: 1,
        }
    }
}

/// What the check found.
#[derive(Clone, Debug, PartialEq)]
pub enum Verdict {
    /// Every output agreed on every run.
    Agree {
        /// The reference that ran both models (`tract`, `tract (typed path)`, `onnxruntime`).
        reference: String,
        runs: usize,
        outputs: usize,
        /// The largest differences seen (within the tolerance).
        worst: Agreement,
    },
    /// An output differs (the first one found, in output order of the first run that differs).
    Mismatch { reference: String, run: usize, output: String, difference: Difference },
    /// The result's outputs are not the original's (names or count).
    Outputs { original: Vec<String>, result: Vec<String> },
    /// A reference runs the original but fails on the result (and no other reference ran both).
    ResultFails { reference: String, error: String },
    /// No reference could run the original (or the inputs could not be made up).
    NotChecked { reason: String },
}

impl Verdict {
    /// Whether the result must not be trusted (a mismatch, different outputs, or a result that
    /// does not run where the original does).
    pub fn is_failure(&self) -> bool {
        !matches!(self, Verdict::Agree { .. } | Verdict::NotChecked { .. })
    }
}

impl std::fmt::Display for Verdict {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Verdict::Agree { reference, runs, outputs, worst } => write!(
                f,
                "ok: {outputs} outputs agree on {runs} random input sets ({reference}; max abs \
                 error {:.2e}, max rel error {:.2e})",
                worst.max_abs, worst.max_rel
            ),
            Verdict::Mismatch { reference, run, output, difference } => {
                write!(
                    f,
                    "mismatch: output '{output}' differs ({reference}, run {run}): {difference}"
                )
            }
            Verdict::Outputs { original, result } => write!(
                f,
                "mismatch: the result's outputs {result:?} are not the original's {original:?}"
            ),
            Verdict::ResultFails { reference, error } => {
                write!(f, "mismatch: {reference} runs the original but not the result: {error}")
            }
            Verdict::NotChecked { reason } => write!(f, "not checked: {reason}"),
        }
    }
}

/// The verdict, the inputs it was reached with, and what each reference said on the way.
#[derive(Clone, Debug, PartialEq)]
pub struct Report {
    pub verdict: Verdict,
    /// The inputs fed (name, element type, shape); empty when none could be made.
    pub inputs: Vec<InputSpec>,
    /// Why references before the deciding one were passed over, in order.
    pub notes: Vec<String>,
    /// For a verdict reached by [`check_local`] on the rewritten regions: what they covered.
    /// `None` when the whole models were run.
    pub scope: Option<Scope>,
}

/// A model prepared in one reference runtime.
pub(crate) trait Runner: Send + Sync {
    /// The reference and path, for the report.
    fn label(&self) -> String;
    /// The outputs for `inputs` (fed inputs in graph order), in graph output order.
    fn run(&self, inputs: &[HostTensor]) -> Result<Vec<HostTensor>, String>;
}

/// Checks `result` against `original` on `opts.runs` seeded random input sets.
pub fn check(original: Subject, result: Subject, opts: &Options) -> Result<Report, Error> {
    let specs = match input_specs(original.model, &opts.input_shapes)? {
        Ok(s) => s,
        Err(reason) => return Ok(not_checked(reason, Vec::new())),
    };
    if opts.runs == 0 {
        return Ok(not_checked("no runs were asked for".into(), specs));
    }
    match random_sets(&specs, opts) {
        Ok(sets) => Ok(check_inputs(original, result, specs, &sets, opts, &[])),
        Err(reason) => Ok(not_checked(reason, specs)),
    }
}

/// `opts.runs` seeded random input sets for `specs` (set `i` from seed `opts.seed + i`).
fn random_sets(specs: &[InputSpec], opts: &Options) -> Result<Vec<Vec<HostTensor>>, String> {
    let mut sets = Vec::with_capacity(opts.runs);
    for run in 0..opts.runs {
        let mut rng = random::Rng::new(opts.seed.wrapping_add(run as u64));
        let set: Result<Vec<_>, _> =
            specs.iter().map(|spec| random::random_tensor(spec, &mut rng)).collect();
        sets.push(set?);
    }
    Ok(sets)
}

/// Checks `result` against `original` on given input sets (each in the order of the original's
/// fed inputs, e.g. the ONNX backend tests' recorded `input_*.pb`). Shapes come from the first
/// set; `opts.runs`, `seed` and `input_shapes` are not used.
pub fn check_with_inputs(
    original: Subject,
    result: Subject,
    sets: &[Vec<HostTensor>],
    opts: &Options,
) -> Result<Report, Error> {
    let specs = match input_specs(original.model, &InputShapes::default())? {
        Ok(s) => s,
        Err(reason) => return Ok(not_checked(reason, Vec::new())),
    };
    let Some(first) = sets.first() else {
        return Ok(not_checked("no input sets were given".into(), specs));
    };
    if sets.iter().any(|s| s.len() != specs.len()) {
        return Err(Error::Inputs(format!(
            "the model has {} inputs to feed, an input set has {}",
            specs.len(),
            sets.iter().map(Vec::len).find(|&n| n != specs.len()).unwrap_or(0)
        )));
    }
    let specs: Vec<InputSpec> = specs
        .into_iter()
        .zip(first)
        .map(|(s, t)| InputSpec { shape: t.shape.clone(), elem: t.data.elem_type(), ..s })
        .collect();
    Ok(check_inputs(original, result, specs, sets, opts, &[]))
}

fn not_checked(reason: String, inputs: Vec<InputSpec>) -> Report {
    Report { verdict: Verdict::NotChecked { reason }, inputs, notes: Vec::new(), scope: None }
}

/// The references to try, in order.
fn references(opts: &Options) -> Vec<Reference> {
    let mut refs = vec![Reference::Tract];
    if opts.use_ort && cfg!(feature = "ort") {
        refs.push(Reference::Ort);
    }
    refs
}

#[derive(Clone, Copy)]
enum Reference {
    Tract,
    Ort,
}

impl Reference {
    fn name(self) -> &'static str {
        match self {
            Reference::Tract => "tract",
            Reference::Ort => "onnxruntime",
        }
    }

    fn prepare(
        self,
        s: &Subject,
        specs: &[InputSpec],
        opts: &Options,
    ) -> Result<Box<dyn Runner>, String> {
        match self {
            Reference::Tract => tract_ref::prepare(s, specs, opts.large_graph)
                .map(|r| Box::new(r) as Box<dyn Runner>),
            #[cfg(feature = "ort")]
            Reference::Ort => ort_ref::prepare(s, specs).map(|r| Box::new(r) as Box<dyn Runner>),
            #[cfg(not(feature = "ort"))]
            Reference::Ort => Err("ferry was built without the ort feature".into()),
        }
    }
}

fn output_names(m: &Model) -> Vec<String> {
    m.graph
        .as_ref()
        .map(|g| g.outputs().iter().map(|&v| g.value(v).name.clone()).collect())
        .unwrap_or_default()
}

/// `scaled[i]`: compare output `i` with [`compare::compare_scaled`] (an intermediate value)
/// rather than [`compare::compare`] (a model output; also for outputs past the slice's end).
fn check_inputs(
    original: Subject,
    result: Subject,
    specs: Vec<InputSpec>,
    sets: &[Vec<HostTensor>],
    opts: &Options,
    scaled: &[bool],
) -> Report {
    let names = output_names(original.model);
    let result_names = output_names(result.model);
    let mut report = Report {
        verdict: Verdict::NotChecked { reason: String::new() },
        inputs: specs,
        notes: Vec::new(),
        scope: None,
    };
    if names != result_names {
        report.verdict = Verdict::Outputs { original: names, result: result_names };
        return report;
    }
    let mut result_failure: Option<(String, String)> = None;
    'refs: for r in references(opts) {
        let specs = &report.inputs;
        let (a, b) =
            guarded_pair(|| r.prepare(&original, specs, opts), || r.prepare(&result, specs, opts));
        let a = match a {
            Ok(a) => a,
            Err(e) => {
                report.notes.push(format!("{}: cannot run the original: {e}", r.name()));
                continue;
            }
        };
        let b = match b {
            Ok(b) => b,
            Err(e) => {
                // The original counts as run only when it runs on every input set: a model that
                // loads but fails on these inputs can, once a rewrite makes its shapes constant,
                // fail to load at all (onnxruntime's load-time inference then sees the break),
                // which says nothing against the rewrite.
                let label = a.label();
                match sets
                    .iter()
                    .enumerate()
                    .find_map(|(i, set)| guarded(|| a.run(set)).err().map(|e| (i, e)))
                {
                    Some((run, why)) => report.notes.push(format!(
                        "{label}: the original fails on input set {run}: {why} (and the result \
                         does not load: {e})"
                    )),
                    None => {
                        result_failure.get_or_insert((label, e));
                        report
                            .notes
                            .push(format!("{}: runs the original but not the result", r.name()));
                    }
                }
                continue;
            }
        };
        let label = a.label();
        let mut worst = Agreement::default();
        for (run, set) in sets.iter().enumerate() {
            let (want, got) = guarded_pair(|| a.run(set), || b.run(set));
            let want = match want {
                Ok(o) => o,
                Err(e) => {
                    report
                        .notes
                        .push(format!("{label}: the original fails on input set {run}: {e}"));
                    continue 'refs;
                }
            };
            let got = match got {
                Ok(o) => o,
                Err(e) => {
                    result_failure.get_or_insert((label.clone(), e));
                    report.notes.push(format!("{label}: runs the original but not the result"));
                    continue 'refs;
                }
            };
            if want.len() != names.len() || got.len() != names.len() {
                report.notes.push(format!(
                    "{label}: returned {} and {} outputs for {} declared",
                    want.len(),
                    got.len(),
                    names.len()
                ));
                continue 'refs;
            }
            for (i, ((name, w), g)) in names.iter().zip(&want).zip(&got).enumerate() {
                let compared = if scaled.get(i).copied().unwrap_or(false) {
                    compare::compare_scaled(w, g, opts.tolerance)
                } else {
                    compare::compare(w, g, opts.tolerance)
                };
                match compared {
                    Ok(agree) => worst.merge(agree),
                    Err(difference) => {
                        report.verdict = Verdict::Mismatch {
                            reference: label,
                            run,
                            output: name.clone(),
                            difference,
                        };
                        return report;
                    }
                }
            }
        }
        report.verdict =
            Verdict::Agree { reference: label, runs: sets.len(), outputs: names.len(), worst };
        return report;
    }
    report.verdict = match result_failure {
        Some((reference, error)) => Verdict::ResultFails { reference, error },
        None => Verdict::NotChecked { reason: report.notes.join("; ") },
    };
    report
}

/// Runs `f`, turning a panic inside a reference runtime into an error: a bug in tract must not
/// take ferry down. The panic hook is silenced meanwhile (the CLI's hook would report an
/// internal error of ferry); nothing else runs while the check does.
pub(crate) fn guarded<T>(f: impl FnOnce() -> Result<T, String>) -> Result<T, String> {
    let hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(|_| {}));
    let r = catch(f);
    std::panic::set_hook(hook);
    r
}

/// Runs `fa` and `fb` at the same time, each guarded as by [`guarded`]: the original and the
/// result are independent, and on large graphs a reference takes seconds per model to prepare
/// and to run. The second runs on a thread with a large stack (runtimes recurse over graphs).
fn guarded_pair<A: Send, B: Send>(
    fa: impl FnOnce() -> Result<A, String> + Send,
    fb: impl FnOnce() -> Result<B, String> + Send,
) -> (Result<A, String>, Result<B, String>) {
    let hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(|_| {}));
    let pair = std::thread::scope(|s| {
        let spawned =
            std::thread::Builder::new().stack_size(64 << 20).spawn_scoped(s, || catch(fb));
        match spawned {
            Ok(handle) => {
                let a = catch(fa);
                let b = handle.join().unwrap_or_else(|_| Err("the runtime panicked".into()));
                (a, b)
            }
            Err(e) => (catch(fa), Err(format!("cannot start a thread: {e}"))),
        }
    });
    std::panic::set_hook(hook);
    pair
}

/// `f`'s result, or its panic as an error message.
fn catch<T>(f: impl FnOnce() -> Result<T, String>) -> Result<T, String> {
    match std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)) {
        Ok(r) => r,
        Err(p) => {
            let msg = p
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| p.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "unknown panic".into());
            Err(format!("the runtime panicked: {}", shorten(&msg)))
        }
    }
}

/// Runtime errors can run to pages (tract prints whole node protos): one line, 300 characters.
pub(crate) fn shorten(s: &str) -> String {
    let line = s.split_whitespace().collect::<Vec<_>>().join(" ");
    match line.char_indices().nth(300) {
        Some((i, _)) => format!("{}...", &line[..i]),
        None => line,
    }
}
