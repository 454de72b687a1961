//! The state a verification reads and writes: the open buffers' text, and a valid anchors file
//! with everything verified from it. `workspace` keeps them and decides what to re-check;
//! `check` runs one verification on them.

use std::collections::HashMap;
use std::path::Path;

use crate::anchors::{AnchorsFile, Claim, Ref};
use crate::docs::{DocsCheck, Page};
use crate::model::{ClaimReport, RefReport};
use crate::source::Snapshot;

/// An open document: the editor's text, which wins over the file on disk.
#[derive(Clone, Debug)]
pub struct Buffer {
    pub text: String,
    pub version: i32,
}

/// A valid anchors file and everything verified from it.
#[derive(Debug)]
pub struct Loaded {
    pub anchors: AnchorsFile,
    /// The text it was parsed from.
    pub source: String,
    /// Each claim's content, positions left out: an edit elsewhere in the file that only moves
    /// a claim does not re-check it.
    pub(super) fingerprints: HashMap<String, u64>,
    /// The working tree (`None` with why when the repository cannot be opened).
    pub snapshot: Result<Snapshot, String>,
    /// The last report of each claim, by id.
    pub reports: HashMap<String, ClaimReport>,
    /// Why the last verification could not run at all.
    pub run_error: Option<String>,
    /// The docs pages as checked: name as written, full path, text or why it is unreadable.
    pub pages: Vec<Page>,
    pub docs: DocsCheck,
}

impl Loaded {
    /// The repository's working tree root.
    pub fn workdir(&self) -> Option<&Path> {
        self.snapshot.as_ref().ok()?.git().workdir()
    }

    /// Each ref of the file with its claim and last report, in file order.
    pub fn refs(&self) -> impl Iterator<Item = (&Claim, &Ref, Option<&RefReport>)> + '_ {
        self.anchors.claims.iter().flat_map(move |claim| {
            let report = self.reports.get(&claim.id.value);
            claim
                .refs
                .iter()
                .enumerate()
                .map(move |(i, r)| (claim, r, report.and_then(|c| c.refs.get(i))))
        })
    }

    /// The page a full path is, by its name as written in `docs:`.
    pub fn page_named(&self, path: &Path) -> Option<&Page> {
        self.pages.iter().find(|page| page.full == path)
    }
}
