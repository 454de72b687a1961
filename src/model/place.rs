//! Where things are and when they changed: a place in the repository (a path and lines) and a
//! commit described for people. Leaves of the model, which the rest of it refers to.

use serde::{Deserialize, Serialize};

use crate::lines::LineRange;

/// A place in the repository: a path and a line range.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Place {
    pub path: String,
    pub lines: LineRange,
}

/// A commit, described for people.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Commit {
    pub id: String,
    pub short: String,
    /// `YYYY-MM-DD`.
    pub date: String,
    pub subject: String,
    /// The author's name.
    #[serde(default)]
    pub author: String,
    /// The pull-request number the subject carries (`... (#123)`).
    #[serde(default)]
    pub pr: Option<u64>,
}
