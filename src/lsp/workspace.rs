//! What the server knows: the open buffers, the anchors file (its last valid model, and the
//! problems of the text being typed), the repository's working tree, each claim's last report
//! and the docs pages checked against the refs. Re-checks are incremental: an edit re-verifies
//! only the claims it can change.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::hash::{Hash, Hasher};
use std::path::{Path, PathBuf};

use super::check::{check_docs, open_worktree, verify_claims};
use super::loaded::{Buffer, Loaded};
use crate::anchors::node::{Node, NodeValue};
use crate::anchors::{self, AnchorsError, Problem};
use crate::docs::DocsCheck;
use crate::lines::Position;
use crate::source::WORKTREE;

/// Claims verified between two looks at whether the editor sent something newer: a check of
/// every claim (the first, or after `repo:` changed) gives way to edits within one chunk.
pub const CHUNK: usize = 256;

/// The whole state.
#[derive(Debug, Default)]
pub struct Workspace {
    /// Where the anchors file is looked for when none is open.
    pub root: Option<PathBuf>,
    pub buffers: HashMap<PathBuf, Buffer>,
    pub anchors_path: Option<PathBuf>,
    /// Problems of the anchors text as it is now (a file mid-edit); the last valid model stays
    /// in `loaded` meanwhile, so the Go files and pages keep their diagnostics.
    pub problems: Vec<Problem>,
    /// Why the anchors file cannot be used at all (unreadable, not found).
    pub load_error: Option<String>,
    pub loaded: Option<Loaded>,
}

/// What an edit asks to re-check.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Pending {
    /// Reload the anchors file (it changed, or the server starts).
    pub reload: bool,
    /// Re-verify every claim.
    pub all: bool,
    /// Re-verify these claims.
    pub claims: BTreeSet<String>,
    /// Re-read and re-check the docs pages.
    pub docs: bool,
}

impl Pending {
    pub fn is_empty(&self) -> bool {
        *self == Pending::default()
    }

    pub fn merge(&mut self, other: Pending) {
        self.reload |= other.reload;
        self.all |= other.all;
        self.docs |= other.docs;
        self.claims.extend(other.claims);
    }
}

/// A stable hash of a YAML node's content, without its positions.
fn content_hash(node: &Node, hasher: &mut impl Hasher) {
    match &node.value {
        NodeValue::Null => 0u8.hash(hasher),
        NodeValue::Bool(b) => (1u8, b).hash(hasher),
        NodeValue::Int(i) => (2u8, i).hash(hasher),
        NodeValue::Float(f) => (3u8, f.to_bits()).hash(hasher),
        NodeValue::Str(s) => (4u8, s).hash(hasher),
        NodeValue::Seq(items) => {
            (5u8, items.len()).hash(hasher);
            for item in items {
                content_hash(item, hasher);
            }
        }
        NodeValue::Map(entries) => {
            (6u8, entries.len()).hash(hasher);
            for (k, v) in entries {
                content_hash(k, hasher);
                content_hash(v, hasher);
            }
        }
    }
}

/// Each claim's content hash by id, from the anchors text.
fn fingerprints(source: &str) -> HashMap<String, u64> {
    let mut out = HashMap::new();
    let Ok(root) = anchors::node::parse_document(source) else {
        return out;
    };
    let NodeValue::Map(top) = &root.value else {
        return out;
    };
    let claims = top.iter().find_map(|(k, v)| match &k.value {
        NodeValue::Str(key) if key == "claims" => Some(v),
        _ => None,
    });
    let Some(Node {
        value: NodeValue::Seq(items),
        ..
    }) = claims
    else {
        return out;
    };
    for item in items {
        let NodeValue::Map(entries) = &item.value else {
            continue;
        };
        let id = entries
            .iter()
            .find_map(|(k, v)| match (&k.value, &v.value) {
                (NodeValue::Str(key), NodeValue::Str(id)) if key == "id" => Some(id.clone()),
                _ => None,
            });
        if let Some(id) = id {
            let mut hasher = std::collections::hash_map::DefaultHasher::new();
            content_hash(item, &mut hasher);
            out.insert(id, hasher.finish());
        }
    }
    out
}

/// Is `path` an anchors file by its name?
pub fn is_anchors_file(path: &Path) -> bool {
    path.file_name().is_some_and(|n| n == anchors::FILE_NAME)
}

impl Workspace {
    /// The text of `path`: the open buffer's, else the file's.
    pub fn text_of(&self, path: &Path) -> Option<String> {
        match self.buffers.get(path) {
            Some(buffer) => Some(buffer.text.clone()),
            None => std::fs::read_to_string(path).ok(),
        }
    }

    /// The path from the repository root of a file in the working tree.
    pub fn repo_relative(&self, path: &Path) -> Option<String> {
        let workdir = self.loaded.as_ref()?.workdir()?;
        let rel = match path.strip_prefix(workdir) {
            Ok(rel) => rel.to_path_buf(),
            // The editor may name the tree through a link (a temp dir, a home directory).
            Err(_) => {
                let canonical = workdir.canonicalize().ok()?;
                let dir = path.parent()?.canonicalize().ok()?;
                dir.strip_prefix(&canonical).ok()?.join(path.file_name()?)
            }
        };
        let text = rel.to_str()?.replace('\\', "/");
        (!text.is_empty()).then_some(text)
    }

    /// What changing (or opening, saving, closing) `path` asks to re-check.
    pub fn affected_by(&self, path: &Path) -> Pending {
        let mut pending = Pending::default();
        if self.anchors_path.as_deref() == Some(path)
            || (self.anchors_path.is_none() && is_anchors_file(path))
        {
            pending.reload = true;
            return pending;
        }
        let Some(loaded) = &self.loaded else {
            return pending;
        };
        if loaded.page_named(path).is_some() {
            pending.docs = true;
        }
        if let Some(rel) = self.repo_relative(path) {
            for (claim, r, report) in loaded.refs() {
                let moved_here = report.is_some_and(|rr| rr.current().path == rel);
                if r.path.value == rel || moved_here {
                    pending.claims.insert(claim.id.value.clone());
                }
            }
        }
        pending
    }

    /// Carries out `pending`: reloads the anchors file, re-verifies what it asks (in chunks of
    /// [`CHUNK`] claims, stopping after one when `superseded` says the editor sent something
    /// newer), re-checks the docs pages. Returns what is left to verify.
    pub fn run(&mut self, mut pending: Pending, superseded: &dyn Fn() -> bool) -> Pending {
        if pending.reload {
            match self.reload() {
                Some(changed) => pending.merge(changed),
                None => return Pending::default(),
            }
        }
        let Some(loaded) = self.loaded.as_mut() else {
            return Pending::default();
        };
        let ids: Vec<String> = if pending.all {
            loaded
                .anchors
                .claims
                .iter()
                .map(|c| c.id.value.clone())
                .collect()
        } else {
            // Claims since removed from the file are not asked for.
            let present: HashSet<&str> = loaded
                .anchors
                .claims
                .iter()
                .map(|c| c.id.value.as_str())
                .collect();
            pending
                .claims
                .iter()
                .filter(|id| present.contains(id.as_str()))
                .cloned()
                .collect()
        };
        // HEAD may have moved since (a commit, a checkout): history starts from where it is.
        if !ids.is_empty()
            && let Ok(snapshot) = &loaded.snapshot
            && let Ok(fresh) = snapshot.git().resolve(WORKTREE)
        {
            loaded.snapshot = Ok(fresh);
        }
        let mut chunks = ids.chunks(CHUNK);
        for chunk in chunks.by_ref() {
            verify_claims(loaded, &self.buffers, chunk.to_vec());
            pending.docs = true;
            if superseded() {
                break;
            }
        }
        let left = Pending {
            claims: chunks.flatten().cloned().collect(),
            ..Pending::default()
        };
        if pending.docs {
            check_docs(loaded, &self.buffers);
        }
        left
    }

    /// Reads and validates the anchors file; on success, what changed in it to re-check.
    /// `None` when there is no valid model to check with.
    pub(super) fn reload(&mut self) -> Option<Pending> {
        let path = match &self.anchors_path {
            Some(p) => p.clone(),
            None => {
                let root = self.root.clone()?;
                match anchors::discover(&root) {
                    Ok(p) => {
                        self.anchors_path = Some(p.clone());
                        p
                    }
                    Err(e) => {
                        self.load_error = Some(e.to_string());
                        return None;
                    }
                }
            }
        };
        let display = PathBuf::from(path.file_name().unwrap_or(path.as_os_str()));
        let parsed = match self.buffers.get(&path) {
            Some(buffer) => anchors::parse(&buffer.text, &path, &display)
                .map(|file| (file, buffer.text.clone())),
            None => anchors::load(&path, &display),
        };
        let (file, source) = match parsed {
            Ok(parsed) => parsed,
            Err(AnchorsError::Invalid { problems, .. }) => {
                self.problems = problems;
                self.load_error = None;
                return None;
            }
            Err(e) => {
                self.problems.clear();
                self.load_error = Some(e.to_string());
                return None;
            }
        };
        self.problems.clear();
        self.load_error = None;
        let prints = fingerprints(&source);
        let mut pending = Pending {
            docs: true,
            ..Pending::default()
        };
        // The same repository keeps its snapshot and the reports of unchanged claims.
        let (snapshot, mut reports, old_prints) = match self.loaded.take() {
            Some(old) if old.anchors.repo == file.repo && old.snapshot.is_ok() => {
                (old.snapshot, old.reports, old.fingerprints)
            }
            _ => {
                pending.all = true;
                (open_worktree(&file), HashMap::new(), HashMap::new())
            }
        };
        // Claims that are new or whose content changed are re-checked; removed ones dropped.
        reports.retain(|id, _| prints.contains_key(id));
        for claim in &file.claims {
            let id = &claim.id.value;
            let now = prints.get(id);
            let kept = reports.contains_key(id) && now.is_some() && old_prints.get(id) == now;
            if !kept {
                pending.claims.insert(id.clone());
            }
        }
        self.loaded = Some(Loaded {
            anchors: file,
            source,
            fingerprints: prints,
            snapshot,
            reports,
            run_error: None,
            pages: Vec::new(),
            docs: DocsCheck::default(),
        });
        Some(pending)
    }
}

/// Where a problem of the anchors file is, for a whole-file message.
pub const FILE_START: Position = Position { line: 1, column: 1 };
