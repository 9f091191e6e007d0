//! Diagnostics: every problem the checker finds, with where it is and which rule it breaks.

use std::fmt;

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Severity {
    Warning,
    Error,
}

/// One problem. `rule` is a stable identifier (`unknown-op`, `input-count`, ...) that tests and
/// `--json` users can match on; `message` is for people.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Diagnostic {
    pub severity: Severity,
    pub rule: &'static str,
    /// Where: `graph 'main'`, `graph 'main' / 'loop' (Loop).body`, `function 'f'`, `model`.
    pub graph: String,
    /// The node's label (`'conv1' (Conv)` or `unnamed Conv`), when the problem is at a node.
    pub node: Option<String>,
    pub message: String,
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sev = match self.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
        };
        write!(f, "{sev}[{}]: {}", self.rule, self.graph)?;
        if let Some(n) = &self.node {
            write!(f, " / node {n}")?;
        }
        write!(f, ": {}", self.message)
    }
}

/// All problems found in a model. A model is valid when the report has no errors.
#[derive(Clone, Debug, Default)]
pub struct Report {
    pub diagnostics: Vec<Diagnostic>,
}

impl Report {
    pub fn errors(&self) -> impl Iterator<Item = &Diagnostic> {
        self.diagnostics.iter().filter(|d| d.severity == Severity::Error)
    }

    pub fn warnings(&self) -> impl Iterator<Item = &Diagnostic> {
        self.diagnostics.iter().filter(|d| d.severity == Severity::Warning)
    }

    pub fn is_valid(&self) -> bool {
        self.errors().next().is_none()
    }

    pub fn has_rule(&self, rule: &str) -> bool {
        self.diagnostics.iter().any(|d| d.rule == rule)
    }
}

/// Collects diagnostics for one graph while the checker walks it.
pub(crate) struct Sink<'r> {
    pub report: &'r mut Report,
    pub graph: String,
}

impl Sink<'_> {
    pub fn error(&mut self, rule: &'static str, node: Option<String>, message: impl Into<String>) {
        self.push(Severity::Error, rule, node, message.into());
    }

    pub fn warning(
        &mut self,
        rule: &'static str,
        node: Option<String>,
        message: impl Into<String>,
    ) {
        self.push(Severity::Warning, rule, node, message.into());
    }

    fn push(
        &mut self,
        severity: Severity,
        rule: &'static str,
        node: Option<String>,
        message: String,
    ) {
        self.report.diagnostics.push(Diagnostic {
            severity,
            rule,
            graph: self.graph.clone(),
            node,
            message,
        });
    }
}
