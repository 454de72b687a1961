//! Turns the raw node tree into the validated model, collecting every problem with its position.
//!
//! `readers` holds the validator and the readers of values every part of the file uses
//! (mappings with their allowed keys, text, lists, numbers, regexes); `document` reads the
//! file, its claims and refs; `expectations` reads each expectation kind.

mod document;
mod expectations;
mod readers;
mod review;

use std::path::Path;

use super::model::*;
use super::node::Node;
use readers::Validator;
pub use readers::{TOTAL_REGEX_BYTES, did_you_mean, regex_nfa_bytes};
pub use review::waivers_too_far;

/// One configuration problem, at a 1-based line and column of the anchors file.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Problem {
    pub position: Position,
    pub message: String,
}

/// Every mapping the validator reads, by what it is, with the keys it accepts there: the JSON
/// Schema (docs/anchors.schema.json) is tested against this table, so the two cannot drift apart.
pub fn accepted_keys() -> [(&'static str, &'static [&'static str]); 10] {
    [
        ("anchors.yaml", document::TOP_KEYS),
        ("claim", document::CLAIM_KEYS),
        ("ref", document::REF_KEYS),
        ("approved", review::APPROVED_KEYS),
        ("waiver", review::WAIVER_KEYS),
        (ExpectationKind::Call.name(), expectations::CALL_KEYS),
        (ExpectationKind::Routes.name(), expectations::ROUTES_KEYS),
        (
            ExpectationKind::FailClosed.name(),
            expectations::FAIL_CLOSED_KEYS,
        ),
        (ExpectationKind::Tls.name(), expectations::TLS_KEYS),
        (ExpectationKind::Query.name(), expectations::QUERY_KEYS),
    ]
}

/// Validates a parsed document; `Err` holds every problem found, in file order.
pub fn validate(root: &Node, source: &str, path: &Path) -> Result<AnchorsFile, Vec<Problem>> {
    let mut v = Validator::new(source);
    let file = v.file(root, path);
    v.problems.sort();
    v.problems.dedup();
    match file {
        Some(file) if v.problems.is_empty() => Ok(file),
        _ => Err(v.problems),
    }
}

/// Validates one expectation on its own (the node of a `- call: ...` item's mapping).
pub fn expectation(node: &Node, source: &str) -> Result<Expectation, Vec<Problem>> {
    let mut v = Validator::new(source);
    let expectation = v.expectation(node);
    v.problems.sort();
    match expectation {
        Some(e) if v.problems.is_empty() => Ok(e),
        _ => Err(v.problems),
    }
}
