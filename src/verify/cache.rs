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
//! One JSON file per blob and per commit, written through `crate::atomic`; a file that
//! does not parse, names another object or another tool version is ignored and rewritten,
//! never trusted. Files are read without following links, and only up to
//! [`MAX_CACHE_FILE_BYTES`].
//!
//! Whoever can write the cache directory can make a broken claim `verified`. With a key
//! (`ANCHORCHECK_CACHE_KEY`), every file starts with a line holding an HMAC-SHA256 of the rest
//! under that key, and files that are unsigned or signed with another key are ignored (and
//! rewritten), so only runs that know the key can vouch for code.

use std::collections::HashMap;
use std::path::PathBuf;

use hmac::{KeyInit, Mac};

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::anchors::{Ref, canonical};
use crate::lines::{LineNo, LineRange};
use crate::model::ExpectationResult;
use crate::model::RefReport;

/// Bumped when the stored shape, the meaning of a key or the wording of a stored message
/// changes (2: a `not` that holds names nothing outside its range; 3: results stored as the
/// report model serializes them, in one file shape for blobs and commits; 4: a range cites
/// the constructs whose head line it holds, so a check's outcome changed meaning; 5: ranges
/// mapped through history keep their shape, refs without `at` follow history; 6: code moved
/// with its names renamed, and short citations through the function around them, are
/// followed, so a stored broken or ambiguous outcome may now be drifted; 7: guards as Go is
/// written — switch and select cases, loop exits, returned errors that may be nil, and guards
/// narrowed since `at` — so a stored check that held may no longer; 8: relocation moves a ref
/// only to where the cited code went, so a stored drifted or ambiguous outcome may now be
/// broken, and a drifted ref's culprit is the commit that moved it; `tls`, `routes` and `call`
/// judge the conditions around a construct, so a stored check that held may no longer; 9: keys
/// are the canonical serialisation of the expectations, not their `Debug` text).
const FORMAT: u32 = 9;

fn tool() -> String {
    format!("anchorcheck {}", env!("CARGO_PKG_VERSION"))
}

/// The largest cache file read; a bigger one is ignored (a commit's file for 10,000 failing
/// refs is a few megabytes).
pub const MAX_CACHE_FILE_BYTES: usize = 64 * 1024 * 1024;

/// How a signed cache file begins: this, the hex HMAC-SHA256 of the rest, a newline.
const SIGNATURE_PREFIX: &[u8] = b"anchorcheck-hmac-sha256 ";

/// The secret that signs cache files. Its `Debug` never shows it.
#[derive(Clone, PartialEq, Eq)]
pub struct CacheKey(Vec<u8>);

impl CacheKey {
    pub fn new(secret: impl Into<Vec<u8>>) -> CacheKey {
        CacheKey(secret.into())
    }

    fn mac(&self, body: &[u8]) -> hmac::Hmac<sha2::Sha256> {
        // HMAC takes keys of any length.
        let mut mac = <hmac::Hmac<sha2::Sha256> as KeyInit>::new_from_slice(&self.0)
            .unwrap_or_else(|_| unreachable!("HMAC accepts every key length"));
        mac.update(body);
        mac
    }

    /// `body` with its signature line in front.
    fn sign(&self, body: &[u8]) -> Vec<u8> {
        let tag = self.mac(body).finalize().into_bytes();
        let mut out = SIGNATURE_PREFIX.to_vec();
        for byte in tag.iter() {
            out.extend_from_slice(format!("{byte:02x}").as_bytes());
        }
        out.push(b'\n');
        out.extend_from_slice(body);
        out
    }

    /// The body of a file signed with this key; `None` when unsigned or signed otherwise.
    fn verify<'f>(&self, file: &'f [u8]) -> Option<&'f [u8]> {
        let (tag, body) = split_signature(file)?;
        let tag = decode_hex(tag)?;
        self.mac(body).verify_slice(&tag).ok()?;
        Some(body)
    }
}

impl std::fmt::Debug for CacheKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("CacheKey(..)")
    }
}

/// The hex tag and the body of a signed file.
fn split_signature(file: &[u8]) -> Option<(&[u8], &[u8])> {
    let rest = file.strip_prefix(SIGNATURE_PREFIX)?;
    let newline = rest.iter().position(|&b| b == b'\n')?;
    Some((&rest[..newline], &rest[newline + 1..]))
}

fn decode_hex(hex: &[u8]) -> Option<Vec<u8>> {
    if !hex.len().is_multiple_of(2) {
        return None;
    }
    hex.chunks(2)
        .map(|pair| u8::from_str_radix(std::str::from_utf8(pair).ok()?, 16).ok())
        .collect()
}

/// A cache directory.
#[derive(Clone, Debug)]
pub struct ResultCache {
    dir: PathBuf,
    key: Option<CacheKey>,
}

/// What the first-pass check of one ref found at its range.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CachedCheck {
    pub expectations: Vec<ExpectationResult>,
    pub parse_errors: Vec<LineNo>,
}

impl CachedCheck {
    pub fn of<O>(report: &RefReport<O>) -> CachedCheck {
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

/// The range, symbol and expectations of a ref, spelt out exactly by their canonical
/// serialisation (`anchors::canonical`), so two refs share an entry only when they ask the
/// same question.
fn key(r: &Ref, range: LineRange) -> String {
    let symbol = r.symbol.as_ref().map(|s| s.value.as_str());
    format!(
        "{range}\u{1f}{}\u{1f}{}",
        serde_json::json!(symbol),
        canonical::expectations(&r.expect)
    )
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
        "{}\u{1f}{}\u{1f}{}\u{1f}{report_touch}",
        r.path.value,
        key(r, r.lines.value),
        serde_json::json!(at)
    ))
}

/// The entries of the cache file `name` in `dir` for `object`; none when it is missing, a link,
/// too large, unsigned or signed with another key (when there is a key), does not parse, or
/// was written for another object, format or tool version.
fn read_entries<V: DeserializeOwned>(
    dir: &std::path::Path,
    key: Option<&CacheKey>,
    name: Option<String>,
    object: &str,
) -> Vec<(String, V)> {
    let Some(bytes) =
        name.and_then(|n| crate::source::local::read_beneath(dir, &n, MAX_CACHE_FILE_BYTES).ok())
    else {
        return Vec::new();
    };
    let body = match key {
        Some(key) => key.verify(&bytes),
        // Without a key a signature is not checked, only skipped.
        None => Some(split_signature(&bytes).map_or(&bytes[..], |(_, body)| body)),
    };
    let Some(body) = body else {
        return Vec::new();
    };
    match serde_json::from_slice::<StoredFile<V>>(body) {
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
    /// The cache in `dir`; with `key`, files are signed and only files signed with it are read.
    pub fn new(dir: impl Into<PathBuf>, key: Option<CacheKey>) -> ResultCache {
        ResultCache {
            dir: dir.into(),
            key,
        }
    }

    fn file(&self, blob: &str) -> Option<String> {
        is_object_id(blob).then(|| format!("{blob}.json"))
    }

    fn commit_file(&self, commit: &str) -> Option<String> {
        is_object_id(commit).then(|| format!("commit-{commit}.json"))
    }

    /// The checks stored for `blob`; empty when there are none or the file is not ours.
    pub fn load(&self, blob: &str) -> BlobChecks {
        let checks = read_entries(&self.dir, self.key.as_ref(), self.file(blob), blob)
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
            reports: read_entries(
                &self.dir,
                self.key.as_ref(),
                self.commit_file(commit),
                commit,
            )
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
        name: Option<String>,
        object: &str,
        entries: HashMap<String, V>,
    ) {
        let Some(path) = name.map(|n| self.dir.join(n)) else {
            return;
        };
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

    /// Writes `stored`, signed when there is a key, through [`crate::atomic`]: a reader sees
    /// the old file or the whole new one. Not flushed to disk: a lost entry costs only work.
    fn write_atomically(
        &self,
        path: &std::path::Path,
        stored: &impl Serialize,
    ) -> Result<(), Box<dyn std::error::Error>> {
        std::fs::create_dir_all(&self.dir)?;
        let body = serde_json::to_vec(stored)?;
        let file = match &self.key {
            Some(key) => key.sign(&body),
            None => body,
        };
        crate::atomic::write_atomically_unsynced(path, &file)?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const BLOB: &str = "0123456789abcdef0123456789abcdef01234567";

    fn stored(format: u32, tool: &str, object: &str) -> Vec<u8> {
        let file = StoredFile {
            format,
            tool: tool.to_string(),
            object: object.to_string(),
            entries: vec![("k".to_string(), 7u32)],
        };
        serde_json::to_vec(&file).unwrap()
    }

    /// Writes `bytes` as the cache file of [`BLOB`] in a new directory and reads it back.
    fn read(bytes: &[u8], key: Option<&CacheKey>) -> Vec<(String, u32)> {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join(format!("{BLOB}.json")), bytes).unwrap();
        read_entries(dir.path(), key, Some(format!("{BLOB}.json")), BLOB)
    }

    #[test]
    fn a_signature_verifies_only_under_its_key_and_body() {
        let key = CacheKey::new("s3cret");
        let signed = key.sign(b"body");
        assert!(signed.starts_with(SIGNATURE_PREFIX));
        assert_eq!(key.verify(&signed), Some(&b"body"[..]));
        assert_eq!(CacheKey::new("other").verify(&signed), None);
        let mut edited = signed.clone();
        *edited.last_mut().unwrap() = b'x';
        assert_eq!(key.verify(&edited), None, "edited body");
        assert_eq!(key.verify(b"body"), None, "unsigned");
        // A tag of the right shape that is not the body's.
        let zeros = [SIGNATURE_PREFIX, "00".repeat(32).as_bytes(), b"\nbody"].concat();
        assert_eq!(key.verify(&zeros), None);
        // Truncated, odd-length and non-hex tags.
        let tag_end = signed.iter().position(|&b| b == b'\n').unwrap();
        let truncated = [&signed[..tag_end - 2], &signed[tag_end..]].concat();
        assert_eq!(key.verify(&truncated), None);
        let odd = [&signed[..tag_end - 1], &signed[tag_end..]].concat();
        assert_eq!(key.verify(&odd), None);
        let not_hex = [SIGNATURE_PREFIX, "zz".repeat(32).as_bytes(), b"\nbody"].concat();
        assert_eq!(key.verify(&not_hex), None);
        assert!(!format!("{key:?}").contains("s3cret"));
    }

    #[test]
    fn entries_are_read_only_for_this_format_tool_and_object() {
        let ours = stored(FORMAT, &tool(), BLOB);
        assert_eq!(read(&ours, None), vec![("k".to_string(), 7)]);
        for (why, bytes) in [
            ("another format", stored(FORMAT + 1, &tool(), BLOB)),
            ("an older format", stored(FORMAT - 1, &tool(), BLOB)),
            (
                "another tool version",
                stored(FORMAT, "anchorcheck 0.0.0", BLOB),
            ),
            (
                "another object",
                stored(FORMAT, &tool(), &BLOB.replace('0', "f")),
            ),
            ("truncated", ours[..ours.len() - 3].to_vec()),
            ("empty", Vec::new()),
        ] {
            assert!(read(&bytes, None).is_empty(), "{why}");
        }
    }

    #[test]
    fn with_a_key_only_files_signed_with_it_are_read() {
        let key = CacheKey::new("s3cret");
        let body = stored(FORMAT, &tool(), BLOB);
        assert_eq!(read(&key.sign(&body), Some(&key)).len(), 1);
        assert!(read(&body, Some(&key)).is_empty(), "unsigned");
        let other = CacheKey::new("other").sign(&body);
        assert!(read(&other, Some(&key)).is_empty(), "another key");
        // Signed with the key, but not ours to read for other reasons.
        let old_tool = key.sign(&stored(FORMAT, "anchorcheck 0.0.0", BLOB));
        assert!(
            read(&old_tool, Some(&key)).is_empty(),
            "another tool version"
        );
        let old_format = key.sign(&stored(FORMAT + 1, &tool(), BLOB));
        assert!(read(&old_format, Some(&key)).is_empty(), "another format");
        // Without a key a signature line is skipped, not checked.
        assert_eq!(read(&other, None).len(), 1);
    }

    #[cfg(unix)]
    #[test]
    fn a_cache_file_that_is_a_link_is_not_read() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("elsewhere.json");
        std::fs::write(&target, stored(FORMAT, &tool(), BLOB)).unwrap();
        std::os::unix::fs::symlink(&target, dir.path().join(format!("{BLOB}.json"))).unwrap();
        let read: Vec<(String, u32)> =
            read_entries(dir.path(), None, Some(format!("{BLOB}.json")), BLOB);
        assert!(read.is_empty());
    }
}
