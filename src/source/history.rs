//! History for relocation: the commits between two revisions and the per-file line hunks of
//! each step, with rename detection.

use std::collections::HashMap;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, OnceLock, PoisonError};

use git2::{Delta, Diff, DiffFindOptions, DiffOptions, Oid, Repository, Sort};
use rayon::prelude::*;

use super::{GitRepo, SourceError, git_error, trees};

/// One changed region of a file between two versions, 1-based as git prints it
/// (`@@ -old_start,old_lines +new_start,new_lines @@`). A pure insertion has `old_lines == 0`
/// and `old_start` is the line it follows; a pure deletion has `new_lines == 0`. The lines
/// themselves are kept as hashes, so a line that the hunk removes and adds back unchanged (a
/// large hunk around a few kept lines) can be told from an edited one.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Hunk {
    pub old_start: u32,
    pub old_lines: u32,
    pub new_start: u32,
    pub new_lines: u32,
    /// A hash of each removed line, in order (`old_lines` of them, when known).
    pub old_hashes: Vec<u64>,
    /// A hash of each added line, in order (`new_lines` of them, when known).
    pub new_hashes: Vec<u64>,
    /// The tokens and brackets of each removed line (`old_lines` of them, when known), to tell
    /// which new lines a rewritten one became.
    pub old_shapes: Vec<LineShape>,
    /// The same of each added line (`new_lines` of them, when known).
    pub new_shapes: Vec<LineShape>,
}

impl Hunk {
    /// A hunk of these lines (git's numbering), its lines to be recorded with
    /// [`Hunk::remove`] and [`Hunk::add`] in order.
    pub(crate) fn at(old_start: u32, old_lines: u32, new_start: u32, new_lines: u32) -> Hunk {
        Hunk {
            old_start,
            old_lines,
            new_start,
            new_lines,
            old_hashes: Vec::with_capacity(old_lines as usize),
            new_hashes: Vec::with_capacity(new_lines as usize),
            old_shapes: Vec::with_capacity(old_lines as usize),
            new_shapes: Vec::with_capacity(new_lines as usize),
        }
    }

    /// Records the next line the hunk removes, as the diff gives it (line end included).
    pub(crate) fn remove(&mut self, line: &[u8]) {
        self.old_hashes.push(line_hash(line));
        self.old_shapes.push(line_shape(line));
    }

    /// Records the next line the hunk adds, as the diff gives it (line end included).
    pub(crate) fn add(&mut self, line: &[u8]) {
        self.new_hashes.push(line_hash(line));
        self.new_shapes.push(line_shape(line));
    }
}

/// What a line holds: its tokens (words, numbers, string literals, operators), each as a
/// 32-bit hash, sorted and without repeats, and how many brackets it opens minus how many it
/// closes. Comparing the tokens of a rewritten line and of the lines that replaced it says
/// which of them carry its code, also when a statement was re-wrapped over several lines or
/// joined onto one.
///
/// Comments are not part of it. `first` is the hash of its first token (0: none) and `last`
/// its last byte of code (0: none), for telling whether a run of lines begins and ends as a
/// rewritten one did.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct LineShape {
    pub tokens: Box<[u32]>,
    pub balance: i16,
    pub first: u32,
    pub last: u8,
}

/// The [`LineShape`] of a line of Go.
pub fn line_shape(line: &[u8]) -> LineShape {
    fn hash(token: &[u8]) -> u32 {
        use std::hash::{Hash, Hasher};
        let mut hasher = rustc_hash::FxHasher::default();
        token.hash(&mut hasher);
        let h = hasher.finish();
        (h ^ (h >> 32)) as u32
    }
    let mut tokens: Vec<u32> = Vec::new();
    let mut balance: i16 = 0;
    let mut first = 0;
    let mut last = 0;
    let mut i = 0;
    while i < line.len() {
        let c = line[i];
        let start = i;
        i += 1;
        if c == b'/' && line.get(i) == Some(&b'/') {
            break;
        }
        if !c.is_ascii_whitespace() {
            last = c;
        }
        match c {
            b'(' | b'{' | b'[' => balance = balance.saturating_add(1),
            b')' | b'}' | b']' => balance = balance.saturating_sub(1),
            b'"' | b'`' | b'\'' => {
                while i < line.len() && line[i] != c {
                    i += if line[i] == b'\\' && c != b'`' { 2 } else { 1 };
                }
                i = (i + 1).min(line.len());
                last = line[i - 1];
                tokens.push(hash(&line[start..i]));
            }
            _ if c.is_ascii_alphanumeric() || c == b'_' || c >= 0x80 => {
                while i < line.len()
                    && (line[i].is_ascii_alphanumeric() || line[i] == b'_' || line[i] >= 0x80)
                {
                    i += 1;
                }
                last = line[i - 1];
                tokens.push(hash(&line[start..i]));
            }
            _ if c.is_ascii_whitespace() || matches!(c, b',' | b';' | b'.') => {}
            _ => {
                while i < line.len() && b"!=<>&|+-*^:%".contains(&line[i]) {
                    i += 1;
                }
                last = line[i - 1];
                tokens.push(hash(&line[start..i]));
            }
        }
    }
    if let Some(&t) = tokens.first() {
        first = t;
    }
    tokens.sort_unstable();
    tokens.dedup();
    LineShape {
        tokens: tokens.into_boxed_slice(),
        balance,
        first,
        last,
    }
}

/// The hash [`Hunk`] keeps of a line's text (without its line ending).
pub fn line_hash(line: &[u8]) -> u64 {
    use std::hash::{Hash, Hasher};
    let line = line.strip_suffix(b"\n").unwrap_or(line);
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    let mut hasher = rustc_hash::FxHasher::default();
    line.hash(&mut hasher);
    hasher.finish()
}

/// Calls `f` with each line of `bytes`, without its `\n`: every piece between two `\n`, the
/// last one too unless `bytes` ends with `\n` (so empty `bytes` is one empty line), as
/// `bytes.split(|b| *b == b'\n')` less its empty last piece. The move search splits thousands
/// of files this way: `memchr` finds the line ends many bytes at a time.
pub fn each_line<'b>(bytes: &'b [u8], mut f: impl FnMut(&'b [u8])) {
    let mut start = 0;
    for end in memchr::memchr_iter(b'\n', bytes) {
        f(&bytes[start..end]);
        start = end + 1;
    }
    if !bytes.ends_with(b"\n") {
        f(&bytes[start..]);
    }
}

/// The hash of each line of `bytes` ([`each_line`]) with the whitespace around it trimmed, as
/// the move search compares lines.
pub fn hash_lines(bytes: &[u8]) -> Vec<u64> {
    let mut hashes = Vec::new();
    each_line(bytes, |line| hashes.push(line_hash(line.trim_ascii())));
    hashes
}

/// What the move search asks of a file's content to tell whether it could hold some lines:
/// its [`hash_lines`], sorted and deduplicated.
pub fn line_set(bytes: &[u8]) -> Vec<u64> {
    into_set(hash_lines(bytes))
}

/// `hashes` sorted and deduplicated, as a [`line_set`].
fn into_set(mut hashes: Vec<u64>) -> Vec<u64> {
    hashes.sort_unstable();
    hashes.dedup();
    // Kept for the run: no room past its lines.
    hashes.shrink_to_fit();
    hashes
}

/// The [`line_set`]s of the blobs of a run, by blob id: the move search asks them of the
/// files it searches, and the walk that comes before it makes them of the versions it diffs,
/// from the lines its diffs interned (each distinct line hashed once), so that the search need
/// not read those again.
#[derive(Default)]
pub struct LineSets(Mutex<HashMap<String, Arc<LineSet>>>);

impl LineSets {
    /// The slot of each blob of `ids`, in order: an empty one where none was asked for yet.
    pub fn slots<'i>(&self, ids: impl IntoIterator<Item = &'i str>) -> Vec<Arc<LineSet>> {
        let mut known = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        ids.into_iter()
            .map(|id| Arc::clone(known.entry(id.to_string()).or_default()))
            .collect()
    }

    /// The slot of blob `id` ([`LineSets::slots`]).
    pub fn slot(&self, id: &str) -> Arc<LineSet> {
        let mut slots = self.slots([id]);
        slots.swap_remove(0)
    }
}

/// The line set of one blob, made once for the run however many ask for it at the same time;
/// `None` inside when the blob is refused.
#[derive(Default)]
pub struct LineSet {
    /// Taken by the first search to ask for the blob, which reads it.
    taken: AtomicBool,
    set: OnceLock<Option<Arc<Vec<u64>>>>,
}

impl LineSet {
    /// True for the first to take the blob: it is the one to read it.
    pub fn take(&self) -> bool {
        !self.taken.swap(true, Ordering::AcqRel)
    }

    /// The set, made by `make` unless it is made already (or being made: then it waits).
    pub fn get_or_make(
        &self,
        make: impl FnOnce() -> Option<Arc<Vec<u64>>>,
    ) -> Option<&Arc<Vec<u64>>> {
        self.set.get_or_init(make).as_ref()
    }
}

/// A step of a chain at which a followed path changed, with its blob before and after
/// (`None`: absent).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Touch {
    pub step: usize,
    pub old_blob: Option<String>,
    pub new_blob: Option<String>,
}

/// The touches of one path from its changes along trees numbered from `base` (the first tree
/// is the starting state, not a touch).
fn touches(changes: &[(usize, Option<Oid>)], base: usize) -> Vec<Touch> {
    changes
        .windows(2)
        .map(|w| Touch {
            step: base + w[1].0,
            old_blob: w[0].1.map(|o| o.to_string()),
            new_blob: w[1].1.map(|o| o.to_string()),
        })
        .collect()
}

/// What one step of history did to one file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FileChange {
    /// Content changed in place (hunks without context lines).
    Modified { hunks: Vec<Hunk> },
    /// Renamed or moved (possibly edited on the way).
    Renamed { new_path: String, hunks: Vec<Hunk> },
    /// Deleted with no rename found.
    Deleted,
}

/// A commit, described for people.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CommitInfo {
    pub id: String,
    pub short: String,
    /// Author date, `YYYY-MM-DD` (UTC).
    pub date: String,
    pub subject: String,
    /// The author's name.
    pub author: String,
}

/// The newer side of a diff step.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Endpoint {
    Commit(String),
    /// The working tree, uncommitted and untracked files included.
    Worktree,
}

/// Days since 1970-01-01 to a civil date (Howard Hinnant's algorithm), for author dates.
fn civil_date(seconds: i64) -> String {
    let days = seconds.div_euclid(86_400);
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!("{year:04}-{month:02}-{day:02}")
}

fn describe(commit: &git2::Commit<'_>) -> CommitInfo {
    let id = commit.id().to_string();
    CommitInfo {
        short: id[..7.min(id.len())].to_string(),
        id,
        date: civil_date(commit.author().when().seconds()),
        subject: commit
            .summary_bytes()
            .map(|s| String::from_utf8_lossy(s).into_owned())
            .unwrap_or_default(),
        author: String::from_utf8_lossy(commit.author().name_bytes()).into_owned(),
    }
}

/// Pairs deleted files with added ones as renames. Copies are not looked for: a copy leaves
/// its original in place, which is where the ref stays (a deleted original pairs as a
/// rename), and looking for them makes libgit2 compare every modified file too, which took a
/// fifth of a relocation run in the bench.
fn find_similar(diff: &mut Diff<'_>) -> Result<(), git2::Error> {
    let mut find = DiffFindOptions::new();
    find.renames(true).rename_threshold(50);
    diff.find_similar(Some(&mut find))
}

fn hunks_of(diff: &Diff<'_>, index: usize) -> Result<Vec<Hunk>, git2::Error> {
    match git2::Patch::from_diff(diff, index)? {
        Some(patch) => hunks_of_patch(&patch),
        None => Ok(Vec::new()),
    }
}

/// libgit2's hunks between two blobs, no context lines: what [`TextDiffs::hunks`] must give.
fn libgit2_hunks(old: &git2::Blob<'_>, new: &git2::Blob<'_>) -> Result<Vec<Hunk>, git2::Error> {
    let mut options = DiffOptions::new();
    options.context_lines(0);
    let patch = git2::Patch::from_blobs(old, None, new, None, Some(&mut options))?;
    hunks_of_patch(&patch)
}

/// Whether libgit2 diffs two blobs with its automatic driver: it looks up the `diff`
/// attribute of the path it names them by when given none (`file`), in the repository's
/// attribute files. Set (`binary`, `-diff`, a named driver), blobs are left to libgit2.
fn diff_attribute_unset(repo: &Repository) -> bool {
    matches!(
        repo.get_attr_bytes(
            Path::new("file"),
            "diff",
            git2::AttrCheckFlags::FILE_THEN_INDEX
        ),
        Ok(None)
    )
}

/// Changed lines, at most, of a diff made in-process: below it, libgit2's Myers diff (the one
/// git itself uses) never reaches its cost heuristics, which cut an expensive search short
/// (from 256 steps of one split on), so the diff is the exact algorithm both implement.
const MAX_TEXT_DIFF_CHANGES: u32 = 255;

/// The bytes libgit2 checks for a NUL to call a blob binary (and then gives no hunks).
const BINARY_CHECK_BYTES: usize = 8000;

/// Line diffs made in-process, one after another, sharing one interner: the successive
/// versions of a file (each pair's old side the one before's new side) have their lines
/// interned once. The tokens a line gets do not change a diff, which compares them only for
/// equality.
#[derive(Default)]
struct TextDiffs<'a> {
    input: gix_imara_diff::InternedInput<&'a [u8]>,
    /// The bytes the `after` tokens of `input` are the lines of.
    after: Option<&'a [u8]>,
    /// The trimmed [`line_hash`] of each token's line, as far as asked ([`TextDiffs::line_set`]).
    hashes: Vec<Option<u64>>,
}

impl<'a> TextDiffs<'a> {
    /// The [`line_set`] of the version the last diff ([`TextDiffs::hunks`], when it gave
    /// hunks) had `before` (`false`) or `after` (`true`), from its interned lines.
    fn line_set(&mut self, after: bool) -> Vec<u64> {
        let input = &self.input;
        let tokens = if after { &input.after } else { &input.before };
        // No line at all is one empty line to `line_set`, as to every reader of a file.
        if tokens.is_empty() {
            return line_set(b"");
        }
        self.hashes
            .resize(input.interner.num_tokens() as usize, None);
        into_set(
            tokens
                .iter()
                .map(|&token| {
                    *self.hashes[token.0 as usize]
                        .get_or_insert_with(|| line_hash(input.interner[token].trim_ascii()))
                })
                .collect(),
        )
    }

    /// The hunks [`libgit2_hunks`] gives for `old` and `new`, made in-process with
    /// `gix-imara-diff`: the same Myers diff as git's xdiff on the same records (lines with
    /// their line ends, compared byte for byte), its hunks slid as xdiff's
    /// `xdl_change_compact` slides them. `None` where libgit2 would answer otherwise or it is
    /// not sure to be the same: a blob libgit2 takes for binary, one larger than
    /// [`super::MAX_FILE_BYTES`], or a diff of more than [`MAX_TEXT_DIFF_CHANGES`] lines.
    fn hunks(&mut self, old: &'a [u8], new: &'a [u8]) -> Option<Vec<Hunk>> {
        use gix_imara_diff::{Algorithm, Diff, sources::byte_lines};
        let binary = |bytes: &[u8]| {
            memchr::memchr(0, &bytes[..bytes.len().min(BINARY_CHECK_BYTES)]).is_some()
        };
        if binary(old) || binary(new) || old.len().max(new.len()) > super::MAX_FILE_BYTES {
            return None;
        }
        let input = &mut self.input;
        if self.after.is_some_and(|after| std::ptr::eq(after, old)) {
            std::mem::swap(&mut input.before, &mut input.after);
        } else {
            input.update_before(byte_lines(old));
        }
        input.update_after(byte_lines(new));
        self.after = Some(new);
        let mut diff = Diff::compute(Algorithm::Myers, input);
        if diff.count_removals() + diff.count_additions() > MAX_TEXT_DIFF_CHANGES {
            return None;
        }
        diff.postprocess_no_heuristic(input);
        Some(
            diff.hunks()
                .map(|h| {
                    let (old_lines, new_lines) = (h.before.len() as u32, h.after.len() as u32);
                    // 1-based; a side with no lines names the line the change follows.
                    let mut hunk = Hunk::at(
                        h.before.start + u32::from(old_lines > 0),
                        old_lines,
                        h.after.start + u32::from(new_lines > 0),
                        new_lines,
                    );
                    for token in &input.before[h.before.start as usize..h.before.end as usize] {
                        hunk.remove(input.interner[*token]);
                    }
                    for token in &input.after[h.after.start as usize..h.after.end as usize] {
                        hunk.add(input.interner[*token]);
                    }
                    hunk
                })
                .collect(),
        )
    }
}

fn hunks_of_patch(patch: &git2::Patch<'_>) -> Result<Vec<Hunk>, git2::Error> {
    let mut hunks = Vec::with_capacity(patch.num_hunks());
    for i in 0..patch.num_hunks() {
        let (h, _) = patch.hunk(i)?;
        let mut hunk = Hunk::at(h.old_start(), h.old_lines(), h.new_start(), h.new_lines());
        for l in 0..patch.num_lines_in_hunk(i)? {
            let line = patch.line_in_hunk(i, l)?;
            match line.origin() {
                '-' => hunk.remove(line.content()),
                '+' => hunk.add(line.content()),
                _ => {}
            }
        }
        hunks.push(hunk);
    }
    Ok(hunks)
}

/// The first-parent chain from one commit to a later one, oldest first, the start included:
/// each commit's id and tree, nothing more until a step turns out to matter.
#[derive(Clone, Debug)]
pub struct Chain {
    commits: Vec<(Oid, Oid)>,
}

impl Chain {
    /// Commits in the chain, the start included.
    pub fn len(&self) -> usize {
        self.commits.len()
    }

    pub fn is_empty(&self) -> bool {
        self.commits.is_empty()
    }

    /// The full id of commit `i` (0 is the start).
    pub fn id(&self, i: usize) -> String {
        self.commits[i].0.to_string()
    }
}

/// One version of a path, walking back from a commit: the newest commit holding it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PathVersion {
    /// The newest commit (walking back) at which the path had this content.
    pub commit: String,
    /// The blob id; `None` when the path did not exist there.
    pub blob: Option<String>,
}

/// What walking back from a commit found for a set of paths.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PathHistory {
    /// For each path asked for, its versions newest first (the first is the starting commit's).
    pub versions: Vec<Vec<PathVersion>>,
    /// How many commits were walked, the start included.
    pub walked: usize,
    /// True when the walk reached the first commit before its bound.
    pub complete: bool,
}

/// A file that differs between two commits.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChangedPath {
    pub path: String,
    /// The blob before; `None` when the file was added.
    pub old_blob: Option<String>,
    /// The blob after; `None` when the file was deleted.
    pub new_blob: Option<String>,
    /// Whether the file after is a symbolic link: its blob is where it points, not code.
    pub new_link: bool,
}

impl GitRepo {
    /// The commit `spec` names, or `None` when the repository lacks it (a shallow clone).
    pub fn find_commit(&self, spec: &str) -> Result<Option<CommitInfo>, SourceError> {
        self.with_repo(|repo| match repo.revparse_single(spec) {
            Ok(object) => Ok(object.peel_to_commit().ok().map(|c| describe(&c))),
            Err(_) => Ok(None),
        })
        .map_err(git_error)?
    }

    /// The commits after `from` up to and including `to`, along first parents, oldest first,
    /// that changed the file at `path` (its blob differs from the first parent's), at most
    /// `limit` of the newest. `None` when `from` is not in the repository (a shallow clone).
    pub fn commits_changing(
        &self,
        path: &str,
        from: &str,
        to: &str,
        limit: usize,
    ) -> Result<Option<Vec<CommitInfo>>, SourceError> {
        self.with_repo_dirs(|repo, dirs| -> Result<Option<_>, git2::Error> {
            let Ok(from) = Oid::from_str(from).and_then(|id| repo.find_commit(id)) else {
                return Ok(None);
            };
            let to = Oid::from_str(to)?;
            let mut blob_at = |commit: &git2::Commit<'_>| -> Option<Oid> {
                Some(super::lookup(repo, dirs, commit.tree_id(), path).ok()?.id)
            };
            let mut walk = repo.revwalk()?;
            walk.set_sorting(Sort::TOPOLOGICAL)?;
            walk.simplify_first_parent()?;
            walk.push(to)?;
            walk.hide(from.id())?;
            let mut found = Vec::new();
            for oid in walk {
                let commit = repo.find_commit(oid?)?;
                let before = commit.parent(0).ok().and_then(|p| blob_at(&p));
                if blob_at(&commit) != before {
                    found.push(describe(&commit));
                    if found.len() == limit {
                        break;
                    }
                }
            }
            found.reverse();
            Ok(Some(found))
        })
        .map_err(git_error)?
        .map_err(git_error)
    }

    /// The commits from `from` up to and including `to`, oldest first, along first parents,
    /// `from` first. Composing the diffs of consecutive steps gives the diff from `from` to
    /// `to` even when `from` sits on a merged side branch.
    pub fn chain(&self, from: &str, to: &str) -> Result<Chain, SourceError> {
        self.with_repo(|repo| -> Result<Vec<(Oid, Oid)>, git2::Error> {
            let from = repo.find_commit(Oid::from_str(from)?)?;
            let to = Oid::from_str(to)?;
            // Usually `from` is on the first-parent line of `to`: walk back to it.
            let mut line = Vec::new();
            let mut next = Some(to);
            while let Some(id) = next {
                if id == from.id() {
                    line.push((from.id(), from.tree_id()));
                    line.reverse();
                    return Ok(line);
                }
                let commit = repo.find_commit(id)?;
                line.push((id, commit.tree_id()));
                next = commit.parent_id(0).ok();
            }
            // It is not (a merged side branch): the first-parent commits not reachable from it.
            let mut walk = repo.revwalk()?;
            walk.set_sorting(Sort::TOPOLOGICAL | Sort::REVERSE)?;
            walk.simplify_first_parent()?;
            walk.push(to)?;
            walk.hide(from.id())?;
            let mut commits = vec![(from.id(), from.tree_id())];
            for oid in walk {
                let commit = repo.find_commit(oid?)?;
                commits.push((commit.id(), commit.tree_id()));
            }
            Ok(commits)
        })
        .map_err(git_error)?
        .map(|commits| Chain { commits })
        .map_err(git_error)
    }

    /// For each of `paths`, the commits of `chain` after `from` (by index) at which it differs
    /// from the commit before, with its blob before and after, reading only the directories on
    /// the way to those paths whose ids changed. Long chains are compared in parallel stretches.
    pub fn touched_steps(
        &self,
        chain: &Chain,
        from: usize,
        paths: &[String],
    ) -> Result<Vec<Vec<Touch>>, SourceError> {
        /// Commits per stretch: each stretch reads its first tree whole.
        const STRETCH: usize = 512;
        let trees: Vec<Oid> = chain.commits[from.min(chain.len())..]
            .iter()
            .map(|c| c.1)
            .collect();
        // Stretch k compares trees lo - 1 ..= hi - 1 (the first from nothing), reporting the
        // changes at lo..hi.
        let stretches: Vec<usize> = (0..trees.len()).step_by(STRETCH).collect();
        let found: Vec<Vec<Vec<Touch>>> = stretches
            .par_iter()
            .map(|&lo| {
                let start = lo.saturating_sub(1);
                let hi = (lo + STRETCH).min(trees.len());
                let changes = self
                    .with_repo(|repo| trees::scan(repo, trees[start..hi].iter().copied(), paths))
                    .map_err(git_error)?
                    .map_err(git_error)?;
                Ok(changes
                    .into_iter()
                    .map(|path| touches(&path, from + start))
                    .collect())
            })
            .collect::<Result<_, SourceError>>()?;
        let mut steps: Vec<Vec<Touch>> = vec![Vec::new(); paths.len()];
        for stretch in found {
            for (all, some) in steps.iter_mut().zip(stretch) {
                all.extend(some);
            }
        }
        Ok(steps)
    }

    /// The hunks between each pair of blobs of `pairs` (old, new), in order (no context lines),
    /// as a tree diff would give them: for the successive versions of one file, where each
    /// pair's old blob is usually the one before's new blob, which is then read only once.
    /// Diffed in-process where that gives libgit2's hunks (the same Myers diff), else by libgit2.
    ///
    /// The [`line_set`] of each blob diffed in-process is kept in `sets`, from the lines the
    /// diff interned, unless the content rules refuse the blob.
    pub fn blob_hunks_along(
        &self,
        pairs: &[(String, String)],
        sets: &LineSets,
    ) -> Result<Vec<Vec<Hunk>>, SourceError> {
        self.with_repo(|repo| -> Result<Vec<Vec<Hunk>>, git2::Error> {
            let in_process = *self.text_diffs.get_or_init(|| diff_attribute_unset(repo));
            let ids: Vec<(Oid, Oid)> = pairs
                .iter()
                .map(|(old, new)| Ok((Oid::from_str(old)?, Oid::from_str(new)?)))
                .collect::<Result<_, git2::Error>>()?;
            // Every blob of the run read once, and kept while the interner holds their lines;
            // but one over `MAX_FILE_BYTES` (never diffed in-process) is read again when its
            // pair comes, rather than kept for the whole run.
            let mut blobs: HashMap<Oid, Option<git2::Blob<'_>>> = HashMap::new();
            for id in ids.iter().flat_map(|(old, new)| [*old, *new]) {
                if let std::collections::hash_map::Entry::Vacant(slot) = blobs.entry(id) {
                    let blob = repo.find_blob(id)?;
                    slot.insert((blob.size() <= super::MAX_FILE_BYTES).then_some(blob));
                }
            }
            let mut text = TextDiffs::default();
            let mut out = Vec::with_capacity(pairs.len());
            for (old, new) in &ids {
                let hunks = match (&blobs[old], &blobs[new]) {
                    (Some(old_blob), Some(new_blob)) => match in_process
                        .then(|| text.hunks(old_blob.content(), new_blob.content()))
                        .flatten()
                    {
                        Some(hunks) => {
                            for (id, blob, after) in [(old, old_blob, false), (new, new_blob, true)]
                            {
                                // Content the rules refuse is left to the search's read, which
                                // refuses it.
                                if super::content_refusal(blob.content()).is_none() {
                                    sets.slot(&id.to_string())
                                        .get_or_make(|| Some(Arc::new(text.line_set(after))));
                                }
                            }
                            hunks
                        }
                        None => libgit2_hunks(old_blob, new_blob)?,
                    },
                    _ => libgit2_hunks(&repo.find_blob(*old)?, &repo.find_blob(*new)?)?,
                };
                out.push(hunks);
            }
            Ok(out)
        })
        .map_err(git_error)?
        .map_err(git_error)
    }

    /// The versions of each of `paths` walking back from commit `from` along first parents,
    /// through at most `depth` commits before it, reading only what changed (as `git log --
    /// PATH` does).
    pub fn path_versions(
        &self,
        from: &str,
        paths: &[String],
        depth: usize,
    ) -> Result<PathHistory, SourceError> {
        self.with_repo(|repo| -> Result<PathHistory, git2::Error> {
            let mut commits: Vec<(Oid, Oid)> = Vec::new();
            let mut next = Some(Oid::from_str(from)?);
            while let Some(id) = next {
                if commits.len() > depth {
                    break;
                }
                let commit = repo.find_commit(id)?;
                commits.push((id, commit.tree_id()));
                next = commit.parent_id(0).ok();
            }
            let complete = next.is_none();
            let changes = trees::scan(repo, commits.iter().map(|c| c.1), paths)?;
            let versions = changes
                .into_iter()
                .map(|path| {
                    path.into_iter()
                        .map(|(i, blob)| PathVersion {
                            commit: commits[i].0.to_string(),
                            blob: blob.map(|b| b.to_string()),
                        })
                        .collect()
                })
                .collect();
            Ok(PathHistory {
                versions,
                walked: commits.len(),
                complete,
            })
        })
        .map_err(git_error)?
        .map_err(git_error)
    }

    /// Every file that differs between commits `old` and `new`, reading only the directories
    /// whose ids differ.
    pub fn changed_paths(&self, old: &str, new: &str) -> Result<Vec<ChangedPath>, SourceError> {
        self.with_repo(|repo| -> Result<Vec<ChangedPath>, git2::Error> {
            let old = repo.find_commit(Oid::from_str(old)?)?.tree_id();
            let new = repo.find_commit(Oid::from_str(new)?)?.tree_id();
            Ok(trees::changed_files(repo, old, new)?
                .into_iter()
                .map(|f| ChangedPath {
                    path: f.path,
                    old_blob: f.old.map(|o| o.to_string()),
                    new_blob: f.new.map(|o| o.to_string()),
                    new_link: f.new_link,
                })
                .collect())
        })
        .map_err(git_error)?
        .map_err(git_error)
    }

    /// What changed in each of `paths` between commit `old` and `new`: one tree diff for all of
    /// them, and a rename search only when one of them disappeared.
    pub fn changes(
        &self,
        old: &str,
        new: &Endpoint,
        paths: &[String],
    ) -> Result<HashMap<String, FileChange>, SourceError> {
        self.with_repo(|repo| changes_in(repo, old, new, paths))
            .map_err(git_error)?
            .map_err(git_error)
    }
}

fn diff_between<'r>(
    repo: &'r Repository,
    old: &str,
    new: &Endpoint,
    paths: Option<&[String]>,
) -> Result<Diff<'r>, git2::Error> {
    let old_tree = repo.find_commit(Oid::from_str(old)?)?.tree()?;
    let mut options = DiffOptions::new();
    options
        .context_lines(0)
        .include_untracked(true)
        .recurse_untracked_dirs(true);
    if let Some(paths) = paths {
        options.disable_pathspec_match(true);
        for p in paths {
            options.pathspec(p.as_str());
        }
    }
    match new {
        Endpoint::Commit(id) => {
            let new_tree = repo.find_commit(Oid::from_str(id)?)?.tree()?;
            repo.diff_tree_to_tree(Some(&old_tree), Some(&new_tree), Some(&mut options))
        }
        Endpoint::Worktree => {
            repo.diff_tree_to_workdir_with_index(Some(&old_tree), Some(&mut options))
        }
    }
}

fn path_of(file: git2::DiffFile<'_>) -> Option<String> {
    file.path().and_then(Path::to_str).map(str::to_string)
}

fn changes_in(
    repo: &Repository,
    old: &str,
    new: &Endpoint,
    paths: &[String],
) -> Result<HashMap<String, FileChange>, git2::Error> {
    let mut out = HashMap::new();
    if paths.is_empty() {
        return Ok(out);
    }
    let narrow = diff_between(repo, old, new, Some(paths))?;
    let mut lost = false;
    for (i, delta) in narrow.deltas().enumerate() {
        let Some(path) = path_of(delta.old_file()) else {
            continue;
        };
        match delta.status() {
            Delta::Modified | Delta::Typechange => {
                out.insert(
                    path,
                    FileChange::Modified {
                        hunks: hunks_of(&narrow, i)?,
                    },
                );
            }
            Delta::Deleted => lost = true,
            _ => {}
        }
    }
    if !lost {
        return Ok(out);
    }
    // A cited file disappeared: the rename search must see every file added or deleted (the
    // pairing is a best match among all of them), and only those.
    let mut full = match new {
        Endpoint::Commit(id) => {
            let old_tree = repo.find_commit(Oid::from_str(old)?)?.tree_id();
            let new_tree = repo.find_commit(Oid::from_str(id)?)?.tree_id();
            let coming_and_going: Vec<String> = trees::changed_files(repo, old_tree, new_tree)?
                .into_iter()
                .filter(|f| f.old.is_none() || f.new.is_none())
                .map(|f| f.path)
                .collect();
            diff_between(repo, old, new, Some(&coming_and_going))?
        }
        Endpoint::Worktree => diff_between(repo, old, new, None)?,
    };
    find_similar(&mut full)?;
    for (i, delta) in full.deltas().enumerate() {
        let Some(old_path) = path_of(delta.old_file()) else {
            continue;
        };
        if !paths.contains(&old_path) {
            continue;
        }
        let new_path = path_of(delta.new_file()).unwrap_or_default();
        match delta.status() {
            Delta::Renamed if new_path != old_path => {
                out.insert(
                    old_path,
                    FileChange::Renamed {
                        new_path,
                        hunks: hunks_of(&full, i)?,
                    },
                );
            }
            Delta::Deleted => {
                out.entry(old_path).or_insert(FileChange::Deleted);
            }
            _ => {}
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::collection::vec;
    use proptest::prelude::*;
    use proptest::test_runner::{Config, TestRunner};

    #[test]
    fn civil_dates_match_the_calendar() {
        assert_eq!(civil_date(0), "1970-01-01");
        assert_eq!(civil_date(951_782_400), "2000-02-29");
        assert_eq!(civil_date(1_790_000_000), "2026-09-21");
    }

    /// Lines that repeat in Go code, so that hunks can slide (which of two equal `}` lines an
    /// insertion follows is the compaction's choice), with one line ending in CRLF.
    const LINES: [&str; 8] = [
        "}\n",
        "\n",
        "\treturn err\n",
        "if err != nil {\n",
        "x := f()\n",
        "\t}\n",
        "y := 2\r\n",
        "// why\n",
    ];

    /// The file of `lines` (indices into [`LINES`]), its last line end dropped unless `eol`.
    fn text(lines: &[usize], eol: bool) -> Vec<u8> {
        let mut bytes: Vec<u8> = lines.iter().flat_map(|&l| LINES[l].bytes()).collect();
        if !eol && bytes.last() == Some(&b'\n') {
            bytes.pop();
        }
        bytes
    }

    /// `lines` with each edit (at, lines deleted there, lines inserted there) made in turn.
    fn edited(lines: &[usize], edits: &[(usize, usize, Vec<usize>)]) -> Vec<usize> {
        let mut out = lines.to_vec();
        for (at, deleted, inserted) in edits {
            let at = at % (out.len() + 1);
            let end = (at + deleted).min(out.len());
            out.splice(at..end, inserted.iter().copied());
        }
        out
    }

    fn blob<'r>(repo: &'r Repository, bytes: &[u8]) -> git2::Blob<'r> {
        repo.find_blob(repo.blob(bytes).unwrap()).unwrap()
    }

    /// One in-process diff, its interner fresh.
    fn text_hunks(old: &[u8], new: &[u8]) -> Option<Vec<Hunk>> {
        TextDiffs::default().hunks(old, new)
    }

    /// The in-process diff gives libgit2's hunks, line for line, on files of look-alike lines
    /// edited at random, version after version through one interner (as the successive
    /// versions of a file are diffed); and it does give them for most such pairs (they are
    /// small diffs). The line sets made from the lines it interned are the versions' own.
    #[test]
    fn in_process_hunks_are_libgit2s() {
        let dir = tempfile::tempdir().unwrap();
        let repo = Repository::init(dir.path()).unwrap();
        let made = std::cell::Cell::new(0);
        let cases = 256;
        let mut runner = TestRunner::new(Config {
            cases,
            failure_persistence: None,
            ..Config::default()
        });
        let edits = vec((0..60usize, 0..4usize, vec(0..LINES.len(), 0..4)), 0..8);
        let history = (
            vec(0..LINES.len(), 0..60),
            vec((edits, any::<bool>()), 1..4),
            any::<bool>(),
        );
        runner
            .run(&history, |(first, steps, first_eol)| {
                let mut lines = first.clone();
                let mut versions = vec![text(&first, first_eol)];
                for (edits, eol) in &steps {
                    lines = edited(&lines, edits);
                    versions.push(text(&lines, *eol));
                }
                let mut diffs = TextDiffs::default();
                for pair in versions.windows(2) {
                    let (old, new) = (&pair[0][..], &pair[1][..]);
                    let theirs = libgit2_hunks(&blob(&repo, old), &blob(&repo, new)).unwrap();
                    if let Some(ours) = diffs.hunks(old, new) {
                        made.set(made.get() + 1);
                        prop_assert_eq!(ours, theirs);
                        // And the line sets made from its interned lines are the files' own.
                        prop_assert_eq!(diffs.line_set(false), line_set(old));
                        prop_assert_eq!(diffs.line_set(true), line_set(new));
                    }
                }
                Ok(())
            })
            .unwrap();
        assert!(made.get() > cases, "{} pairs diffed in-process", made.get());
    }

    /// What the in-process diff leaves to libgit2: a blob libgit2 takes for binary (a NUL in
    /// its first 8000 bytes), and a diff large enough for xdiff's cost heuristics.
    #[test]
    fn binary_blobs_and_large_diffs_are_left_to_libgit2() {
        assert!(text_hunks(b"a\n", b"a\nb\n").is_some());
        assert!(text_hunks(b"a\n\0\n", b"a\n").is_none());
        assert!(text_hunks(b"a\n", b"a\n\0").is_none());
        let mut late_nul = vec![b'a'; BINARY_CHECK_BYTES];
        late_nul.push(0);
        assert!(text_hunks(&late_nul, b"a\n").is_some());
        let old: String = (0..200).map(|i| format!("old {i}\n")).collect();
        let new: String = (0..200).map(|i| format!("new {i}\n")).collect();
        assert!(text_hunks(old.as_bytes(), new.as_bytes()).is_none());
        assert!(text_hunks(old.as_bytes(), &new.as_bytes()[..new.len() / 4]).is_some());
    }

    /// The line set made for blob `id`, if any was.
    fn made(sets: &LineSets, id: &str) -> Option<Vec<u64>> {
        let known = sets.0.lock().unwrap();
        let set = known.get(id)?.set.get()?.as_ref()?;
        Some(set.to_vec())
    }

    /// The ids of `versions`, written as blobs of `repo`, and their successive pairs, as a walk
    /// diffs a file's versions.
    fn along<'v>(
        repo: &Repository,
        versions: impl IntoIterator<Item = &'v [u8]>,
    ) -> (Vec<String>, Vec<(String, String)>) {
        let ids: Vec<String> = versions
            .into_iter()
            .map(|v| repo.blob(v).unwrap().to_string())
            .collect();
        let pairs = ids
            .windows(2)
            .map(|w| (w[0].clone(), w[1].clone()))
            .collect();
        (ids, pairs)
    }

    /// A version over the size limit is not kept for the run but read again for its pairs,
    /// and diffed by libgit2, with the same hunks as a pair of small versions beside it.
    #[test]
    fn versions_over_the_size_limit_are_diffed_by_libgit2() {
        let dir = tempfile::tempdir().unwrap();
        let repo = Repository::init(dir.path()).unwrap();
        // Few long lines: the size, without a long diff.
        let line = format!("var x = {:?}\n", "x".repeat(1000));
        let big = line.repeat(super::super::MAX_FILE_BYTES / line.len() + 1);
        let versions: Vec<Vec<u8>> = vec![
            b"a\n".to_vec(),
            format!("a\n{big}").into_bytes(),
            format!("b\n{big}").into_bytes(),
            b"b\n".to_vec(),
        ];
        let (ids, pairs) = along(&repo, versions.iter().map(Vec::as_slice));
        let theirs: Vec<Vec<Hunk>> = versions
            .windows(2)
            .map(|w| libgit2_hunks(&blob(&repo, &w[0]), &blob(&repo, &w[1])).unwrap())
            .collect();
        let git = GitRepo::open(dir.path()).unwrap();
        let sets = LineSets::default();
        assert_eq!(git.blob_hunks_along(&pairs, &sets).unwrap(), theirs);
        assert_eq!(theirs[1][0].old_lines, 1);
        // Diffed by libgit2 alone, no version's lines were interned: no line set is kept.
        assert!(ids.iter().all(|id| made(&sets, id).is_none()));
    }

    /// A walk keeps the line set of each version it diffs in-process, made from the lines the
    /// diffs interned: the set of the content itself (an empty file's too), but for content
    /// the rules refuse (a Git LFS pointer), which the move search must not read.
    #[test]
    fn the_line_sets_kept_are_those_of_the_versions_diffed() {
        let dir = tempfile::tempdir().unwrap();
        let repo = Repository::init(dir.path()).unwrap();
        let lfs = b"version https://git-lfs.github.com/spec/v1\noid sha256:4d7a\nsize 12\n";
        let versions: [&[u8]; 5] = [
            b"package a\n\nfunc f() {\n\treturn\n}\n",
            b"package a\n\nfunc f() {\n    return\r\n}",
            b"",
            lfs,
            b"package a\n",
        ];
        let (ids, pairs) = along(&repo, versions);
        let git = GitRepo::open(dir.path()).unwrap();
        let sets = LineSets::default();
        git.blob_hunks_along(&pairs, &sets).unwrap();
        for (id, version) in ids.iter().zip(versions) {
            let kept = made(&sets, id);
            let expected = (version != lfs).then(|| line_set(version));
            assert_eq!(kept, expected, "{:?}", String::from_utf8_lossy(version));
        }
        // The two first versions differ only in whitespace around their lines.
        assert_eq!(made(&sets, &ids[0]), made(&sets, &ids[1]));
    }

    /// A repository whose attributes give blobs a diff driver (here `binary`: no hunks) has
    /// its blobs diffed by libgit2, which reads them; the in-process diff would not.
    #[test]
    fn a_diff_attribute_leaves_blob_diffs_to_libgit2() {
        let dir = tempfile::tempdir().unwrap();
        let repo = Repository::init(dir.path()).unwrap();
        let ids = |old: &[u8], new: &[u8]| {
            vec![(
                repo.blob(old).unwrap().to_string(),
                repo.blob(new).unwrap().to_string(),
            )]
        };
        let pairs = ids(b"a\n", b"a\nb\n");
        let git = GitRepo::open(dir.path()).unwrap();
        assert_eq!(
            git.blob_hunks_along(&pairs, &LineSets::default()).unwrap()[0].len(),
            1
        );
        std::fs::create_dir_all(dir.path().join(".git/info")).unwrap();
        std::fs::write(dir.path().join(".git/info/attributes"), "* binary\n").unwrap();
        let git = GitRepo::open(dir.path()).unwrap();
        assert_eq!(
            git.blob_hunks_along(&pairs, &LineSets::default()).unwrap(),
            vec![Vec::new()]
        );
    }
}
