//! The result cache (`--cache DIR`), so a run on an unchanged repository neither reads, parses
//! nor evaluates.
//!
//! Two kinds of entries. By blob: what a ref's expectations said at a range of a blob, keyed by
//! (blob id, range and expectation set, tool version). A git blob id names its content exactly,
//! and the first-pass check of a ref depends only on that content, the range and the
//! expectations, so a hit is as good as a fresh evaluation; only checks that held are stored.
//! By commit: the whole report of a ref whose answer looked beyond one blob (history from its
//! `at`, relocation into other files, the culprit search), keyed by (commit id, the ref with
//! its `at` or diff base, tool version). All of that is fixed by the commit ids, so these are
//! kept only when the verified revision and every `at` are full commit ids, never for
//! `WORKTREE` or a name like `HEAD~3`.
//!
//! One JSON file per blob and per commit, written atomically (temp file + rename); a file that
//! does not parse, names another object or another tool version is ignored and rewritten,
//! never trusted.

use std::collections::HashMap;
use std::io::Write;
use std::path::PathBuf;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::anchors::Ref;
use crate::expect::ExpectationResult;
use crate::lines::{LineNo, LineRange};
use crate::report::RefReport;

/// Bumped when the stored shape, the meaning of a key or the wording of a stored message
/// changes (2: a `not` that holds names nothing outside its range; 3: results stored as the
/// report model serializes them, in one file shape for blobs and commits; 4: a range cites
/// the constructs whose head line it holds, so a check's outcome changed meaning).
const FORMAT: u32 = 4;

fn tool() -> String {
    format!("anchorcheck {}", env!("CARGO_PKG_VERSION"))
}

/// A cache directory.
#[derive(Clone, Debug)]
pub struct ResultCache {
    dir: PathBuf,
}

/// What the first-pass check of one ref found at its range.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CachedCheck {
    pub expectations: Vec<ExpectationResult>,
    pub parse_errors: Vec<LineNo>,
}

impl CachedCheck {
    pub fn of(report: &RefReport) -> CachedCheck {
        CachedCheck {
            expectations: report.expectations.clone(),
            parse_errors: report.parse_errors.clone(),
        }
    }
}

/// The checks stored for one blob, by key.
#[derive(Debug, Default)]
pub struct BlobChecks {
    checks: HashMap<String, CachedCheck>,
}

impl BlobChecks {
    pub fn get(&self, r: &Ref, range: LineRange) -> Option<&CachedCheck> {
        self.checks.get(&key(r, range))
    }
}

/// The range, symbol and expectations of a ref, spelt out exactly (regexes and queries by
/// their source), so two refs share an entry only when they ask the same question.
fn key(r: &Ref, range: LineRange) -> String {
    let symbol = r.symbol.as_ref().map(|s| s.value.as_str());
    format!("{range}\u{1f}{symbol:?}\u{1f}{:?}", r.expect)
}

/// One cache file: the entries for one object (a blob's checks, a commit's reports), by key,
/// sorted so that the same entries always make the same file.
#[derive(Serialize, Deserialize)]
struct StoredFile<V> {
    format: u32,
    tool: String,
    object: String,
    entries: Vec<(String, V)>,
}

/// Only checks that held are ever stored; anything else was not written by us.
fn held(check: &CachedCheck) -> bool {
    !check.expectations.is_empty() && check.expectations.iter().all(|e| e.ok)
}

/// The whole reports stored for one commit, by [`report_key`].
#[derive(Debug, Default)]
pub struct CommitReports {
    reports: HashMap<String, RefReport>,
}

impl CommitReports {
    pub fn get(&self, key: &str) -> Option<&RefReport> {
        self.reports.get(key)
    }
}

/// The key of a ref's whole report at a commit: the ref as written, the commit its history
/// starts from (`at`, or `diff`'s base) and whether touched lines are reported. `None` when
/// that start is not a full commit id, whose history a later run could see differently.
pub fn report_key(r: &Ref, at: Option<&str>, report_touch: bool) -> Option<String> {
    if at.is_some_and(|a| !is_object_id(a)) {
        return None;
    }
    Some(format!(
        "{}\u{1f}{}\u{1f}{at:?}\u{1f}{report_touch}",
        r.path.value,
        key(r, r.lines.value)
    ))
}

/// The entries of the cache file at `path` for `object`; none when it is missing, does not
/// parse, or was written for another object, format or tool version.
fn read_entries<V: DeserializeOwned>(path: Option<PathBuf>, object: &str) -> Vec<(String, V)> {
    let Some(bytes) = path.and_then(|p| std::fs::read(p).ok()) else {
        return Vec::new();
    };
    match serde_json::from_slice::<StoredFile<V>>(&bytes) {
        Ok(stored)
            if stored.format == FORMAT && stored.tool == tool() && stored.object == object =>
        {
            stored.entries
        }
        _ => Vec::new(),
    }
}

/// A full git object id (SHA-1 or SHA-256, hex): names one blob or commit for good.
fn is_object_id(id: &str) -> bool {
    matches!(id.len(), 40 | 64) && id.bytes().all(|b| b.is_ascii_hexdigit())
}

impl ResultCache {
    pub fn new(dir: impl Into<PathBuf>) -> ResultCache {
        ResultCache { dir: dir.into() }
    }

    fn file(&self, blob: &str) -> Option<PathBuf> {
        is_object_id(blob).then(|| self.dir.join(format!("{blob}.json")))
    }

    fn commit_file(&self, commit: &str) -> Option<PathBuf> {
        is_object_id(commit).then(|| self.dir.join(format!("commit-{commit}.json")))
    }

    /// The checks stored for `blob`; empty when there are none or the file is not ours.
    pub fn load(&self, blob: &str) -> BlobChecks {
        let checks = read_entries(self.file(blob), blob)
            .into_iter()
            .filter(|(_, check)| held(check))
            .collect();
        BlobChecks { checks }
    }

    /// Adds `fresh` checks to those already loaded for `blob` and writes the file atomically.
    /// Failures are ignored: the cache only ever saves work.
    pub fn store<'r>(
        &self,
        blob: &str,
        mut known: BlobChecks,
        fresh: impl Iterator<Item = (&'r Ref, LineRange, CachedCheck)>,
    ) {
        for (r, range, check) in fresh {
            if held(&check) {
                known.checks.insert(key(r, range), check);
            }
        }
        self.write_entries(self.file(blob), blob, known.checks);
    }

    /// The reports stored for refs at `commit`; empty when there are none or the file is not
    /// ours.
    pub fn load_commit(&self, commit: &str) -> CommitReports {
        CommitReports {
            reports: read_entries(self.commit_file(commit), commit)
                .into_iter()
                .collect(),
        }
    }

    /// Adds `fresh` reports (by [`report_key`]) to those already loaded for `commit` and
    /// writes the file atomically. Failures are ignored: the cache only ever saves work.
    pub fn store_commit(
        &self,
        commit: &str,
        mut known: CommitReports,
        fresh: impl Iterator<Item = (String, RefReport)>,
    ) {
        known.reports.extend(fresh);
        self.write_entries(self.commit_file(commit), commit, known.reports);
    }

    fn write_entries<V: Serialize>(
        &self,
        path: Option<PathBuf>,
        object: &str,
        entries: HashMap<String, V>,
    ) {
        let Some(path) = path else { return };
        let mut entries: Vec<(String, V)> = entries.into_iter().collect();
        entries.sort_by(|a, b| a.0.cmp(&b.0));
        let stored = StoredFile {
            format: FORMAT,
            tool: tool(),
            object: object.to_string(),
            entries,
        };
        let _ = self.write_atomically(&path, &stored);
    }

    fn write_atomically(
        &self,
        path: &std::path::Path,
        stored: &impl Serialize,
    ) -> std::io::Result<()> {
        std::fs::create_dir_all(&self.dir)?;
        let mut temp = tempfile::NamedTempFile::new_in(&self.dir)?;
        serde_json::to_writer(&mut temp, stored)?;
        temp.flush()?;
        temp.persist(path).map_err(|e| e.error)?;
        Ok(())
    }
}
