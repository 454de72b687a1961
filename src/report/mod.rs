//! The report model every output format renders, and the formats themselves (one module each).

pub mod json;
pub mod text;

use std::fmt;

use crate::anchors::ClaimStatus;
use crate::expect::ExpectationResult;
use crate::lines::{LineNo, LineRange};

/// The verdict of one ref, and of a claim (its worst ref). Ordered from best to worst.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Verdict {
    /// Every expectation holds in the cited range.
    Verified,
    /// The evidence holds at exactly one other place.
    Drifted,
    /// The evidence holds at several other places.
    Ambiguous,
    /// The evidence holds nowhere: gone or weakened.
    Broken,
    /// The cited file or range could not be checked.
    Error,
}

impl Verdict {
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Verified => "verified",
            Verdict::Drifted => "drifted",
            Verdict::Ambiguous => "ambiguous",
            Verdict::Broken => "broken",
            Verdict::Error => "error",
        }
    }
}

impl fmt::Display for Verdict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How relocated evidence was found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum How {
    History,
    Symbol,
    Search,
}

impl How {
    pub fn as_str(self) -> &'static str {
        match self {
            How::History => "history",
            How::Symbol => "symbol",
            How::Search => "search",
        }
    }
}

/// A place in the repository: a path and a line range.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Place {
    pub path: String,
    pub lines: LineRange,
}

/// Where drifted evidence went.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Relocation {
    pub place: Place,
    pub how: How,
}

/// The cited lines' text, for excerpts.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Excerpt {
    pub first_line: LineNo,
    pub lines: Vec<String>,
}

/// One verified ref.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RefReport {
    pub path: String,
    pub lines: LineRange,
    pub verdict: Verdict,
    /// For `error`: why the file or range could not be checked.
    pub error: Option<String>,
    pub relocated: Option<Relocation>,
    pub candidates: Vec<Place>,
    pub expectations: Vec<ExpectationResult>,
    /// Lines of the range holding syntax errors (evaluated anyway, tree-sitter recovers).
    pub parse_errors: Vec<LineNo>,
    /// The cited lines, kept for refs that did not verify.
    pub excerpt: Option<Excerpt>,
}

impl RefReport {
    /// One line saying why the ref did not verify (empty when it did).
    pub fn reason(&self) -> String {
        if let Some(error) = &self.error {
            return error.clone();
        }
        self.expectations
            .iter()
            .filter(|e| !e.ok)
            .map(|e| format!("{}: {}", e.kind, e.message))
            .collect::<Vec<_>>()
            .join("; ")
    }
}

/// One claim and its refs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClaimReport {
    pub id: String,
    pub title: Option<String>,
    pub status: ClaimStatus,
    pub owner: Option<String>,
    pub verdict: Verdict,
    pub refs: Vec<RefReport>,
}

/// A whole run: every selected claim in anchors.yaml order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Report {
    /// `anchorcheck 0.1.0`.
    pub tool: String,
    /// The repository as the user named it.
    pub repo: String,
    /// The revision as the user wrote it.
    pub rev: String,
    /// The commit it resolved to.
    pub commit: Option<String>,
    pub claims: Vec<ClaimReport>,
}

/// Claim counts by verdict.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Summary {
    pub claims: usize,
    pub refs: usize,
    pub verified: usize,
    pub drifted: usize,
    pub ambiguous: usize,
    pub broken: usize,
    pub error: usize,
}

impl fmt::Display for Summary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} claims: {} verified, {} drifted, {} ambiguous, {} broken, {} errors ({} refs checked)",
            self.claims,
            self.verified,
            self.drifted,
            self.ambiguous,
            self.broken,
            self.error,
            self.refs
        )
    }
}

impl Report {
    pub fn summary(&self) -> Summary {
        let mut s = Summary {
            claims: self.claims.len(),
            ..Summary::default()
        };
        for claim in &self.claims {
            s.refs += claim.refs.len();
            match claim.verdict {
                Verdict::Verified => s.verified += 1,
                Verdict::Drifted => s.drifted += 1,
                Verdict::Ambiguous => s.ambiguous += 1,
                Verdict::Broken => s.broken += 1,
                Verdict::Error => s.error += 1,
            }
        }
        s
    }

    /// True when every ref verified (or only drifted, with `allow_drift`).
    pub fn passed(&self, allow_drift: bool) -> bool {
        self.claims.iter().flat_map(|c| &c.refs).all(|r| {
            r.verdict == Verdict::Verified || (allow_drift && r.verdict == Verdict::Drifted)
        })
    }
}
