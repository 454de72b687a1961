//! One evaluator per expectation kind, all behind [`evaluate`].

use crate::anchors::Expectation;
use crate::go::GoFile;
use crate::lines::{LineNo, LineRange};

/// The outcome of one expectation on one range of one file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ExpectationResult {
    /// The anchors.yaml key (`call`, `routes`, ...).
    pub kind: &'static str,
    pub ok: bool,
    /// What matched, or why it failed, naming the nearest near-miss line.
    pub message: String,
    /// Lines of the constructs that satisfied it (for `not`, the lines that violated it).
    pub matches: Vec<LineRange>,
    /// For a failure, the line most worth pointing at.
    pub near_miss: Option<LineNo>,
}

/// Evaluates `expectation` on the nodes of `file` lying wholly inside `range`.
pub fn evaluate(expectation: &Expectation, file: &GoFile, range: LineRange) -> ExpectationResult {
    let _ = (expectation, file, range);
    todo!("helper implements")
}
