//! The result cache (`--cache DIR`): what a ref's expectations said at a range of a blob, keyed
//! by (blob id, range and expectation set, tool version), so a run on an unchanged repository
//! neither parses nor evaluates.
//!
//! A git blob id names its content exactly, and the first-pass check of a ref depends only on
//! that content, the range and the expectations, so a hit is as good as a fresh evaluation.
//! Only checks that held are stored: a failing ref is relocated, which looks beyond the blob.
//! One JSON file per blob, written atomically (temp file + rename); a file that does not parse,
//! names another blob or another tool version is ignored and rewritten, never trusted.

use std::collections::HashMap;
use std::io::Write;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::anchors::Ref;
use crate::expect::ExpectationResult;
use crate::lines::{LineNo, LineRange};
use crate::report::RefReport;

/// Bumped when the stored shape, the meaning of a key or the wording of a stored message
/// changes (2: a `not` that holds names nothing outside its range).
const FORMAT: u32 = 2;

/// Every `kind` an [`ExpectationResult`] can have, to turn stored names back into them.
const KINDS: [&str; 13] = [
    "all",
    "any",
    "call",
    "fail_closed",
    "identifier",
    "not",
    "query",
    "regex",
    "routes",
    "string",
    "symbol",
    "text",
    "tls",
];

fn tool() -> String {
    format!("anchorcheck {}", env!("CARGO_PKG_VERSION"))
}

/// A cache directory.
#[derive(Clone, Debug)]
pub struct ResultCache {
    dir: PathBuf,
}

/// What the first-pass check of one ref found at its range.
#[derive(Clone, Debug, PartialEq, Eq)]
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

#[derive(Serialize, Deserialize)]
struct StoredFile {
    format: u32,
    tool: String,
    blob: String,
    entries: Vec<StoredEntry>,
}

#[derive(Serialize, Deserialize)]
struct StoredEntry {
    key: String,
    expectations: Vec<StoredResult>,
    parse_errors: Vec<u32>,
}

#[derive(Serialize, Deserialize)]
struct StoredResult {
    kind: String,
    ok: bool,
    message: String,
    matches: Vec<[u32; 2]>,
    near_miss: Option<u32>,
}

fn store_result(e: &ExpectationResult) -> StoredResult {
    StoredResult {
        kind: e.kind.to_string(),
        ok: e.ok,
        message: e.message.clone(),
        matches: e
            .matches
            .iter()
            .map(|m| [m.start().get(), m.end().get()])
            .collect(),
        near_miss: e.near_miss.map(LineNo::get),
    }
}

fn load_result(s: StoredResult) -> Option<ExpectationResult> {
    let kind = KINDS.iter().find(|k| **k == s.kind)?;
    let matches = s
        .matches
        .into_iter()
        .map(|[a, b]| LineRange::new(LineNo::new(a)?, LineNo::new(b)?))
        .collect::<Option<Vec<_>>>()?;
    let near_miss = match s.near_miss {
        Some(n) => Some(LineNo::new(n)?),
        None => None,
    };
    Some(ExpectationResult {
        kind,
        ok: s.ok,
        message: s.message,
        matches,
        near_miss,
        // Only checks that held are stored, and their messages name nothing outside the range.
        range_only: None,
    })
}

fn load_entry(e: StoredEntry) -> Option<(String, CachedCheck)> {
    let expectations = e
        .expectations
        .into_iter()
        .map(load_result)
        .collect::<Option<Vec<_>>>()?;
    // Only checks that held are ever stored; anything else was not written by us.
    if expectations.is_empty() || !expectations.iter().all(|e| e.ok) {
        return None;
    }
    let parse_errors = e
        .parse_errors
        .into_iter()
        .map(LineNo::new)
        .collect::<Option<Vec<_>>>()?;
    Some((
        e.key,
        CachedCheck {
            expectations,
            parse_errors,
        },
    ))
}

fn is_blob_id(id: &str) -> bool {
    matches!(id.len(), 40 | 64) && id.bytes().all(|b| b.is_ascii_hexdigit())
}

impl ResultCache {
    pub fn new(dir: impl Into<PathBuf>) -> ResultCache {
        ResultCache { dir: dir.into() }
    }

    fn file(&self, blob: &str) -> Option<PathBuf> {
        is_blob_id(blob).then(|| self.dir.join(format!("{blob}.json")))
    }

    /// The checks stored for `blob`; empty when there are none or the file is not ours.
    pub fn load(&self, blob: &str) -> BlobChecks {
        let Some(path) = self.file(blob) else {
            return BlobChecks::default();
        };
        let Ok(bytes) = std::fs::read(&path) else {
            return BlobChecks::default();
        };
        let Ok(stored) = serde_json::from_slice::<StoredFile>(&bytes) else {
            return BlobChecks::default();
        };
        if stored.format != FORMAT || stored.tool != tool() || stored.blob != blob {
            return BlobChecks::default();
        }
        let checks = stored.entries.into_iter().filter_map(load_entry).collect();
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
        let Some(path) = self.file(blob) else { return };
        for (r, range, check) in fresh {
            if !check.expectations.is_empty() && check.expectations.iter().all(|e| e.ok) {
                known.checks.insert(key(r, range), check);
            }
        }
        let mut entries: Vec<StoredEntry> = known
            .checks
            .into_iter()
            .map(|(key, check)| StoredEntry {
                key,
                expectations: check.expectations.iter().map(store_result).collect(),
                parse_errors: check.parse_errors.iter().map(|l| l.get()).collect(),
            })
            .collect();
        entries.sort_by(|a, b| a.key.cmp(&b.key));
        let stored = StoredFile {
            format: FORMAT,
            tool: tool(),
            blob: blob.to_string(),
            entries,
        };
        let _ = self.write_atomically(&path, &stored);
    }

    fn write_atomically(&self, path: &std::path::Path, stored: &StoredFile) -> std::io::Result<()> {
        std::fs::create_dir_all(&self.dir)?;
        let mut temp = tempfile::NamedTempFile::new_in(&self.dir)?;
        serde_json::to_writer(&mut temp, stored)?;
        temp.flush()?;
        temp.persist(path).map_err(|e| e.error)?;
        Ok(())
    }
}
