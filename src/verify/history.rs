//! Maps a cited line range through the hunks of a diff, as `git log -L` does, but keeping the
//! range's shape: a cited line that still exists maps to exactly where it is now (also when
//! git's hunk around it is large), and the range grows or shrinks only by lines edited inside
//! it.

use std::cmp::{Ordering, Reverse};
use std::collections::{BTreeMap, HashMap, HashSet};

use rayon::prelude::*;
use similar::{Algorithm, DiffOp};

use crate::lines::{LineNo, LineRange};
use crate::source::history::{Chain, CommitInfo, Endpoint, FileChange, Hunk, LineSets, LineShape};
use crate::source::{Files, GitRepo, SourceError, WORKTREE};

/// Where `range` is after a change with these hunks (sorted by `old_start`, no context lines);
/// `None` when every line of it was deleted.
pub fn map_range(range: LineRange, hunks: &[Hunk]) -> Option<LineRange> {
    trace(range, hunks).lines
}

/// True when some hunk changes or deletes a line of `range` itself or inserts lines between its
/// ends (a line a hunk removes and adds back unchanged is not a change).
pub fn edits_inside(range: LineRange, hunks: &[Hunk]) -> bool {
    trace(range, hunks).edited
}

/// What a change did to a range.
struct Traced {
    lines: Option<LineRange>,
    edited: bool,
    /// Cited lines that are still there, unchanged.
    kept: u32,
    /// What was edited inside the range, in its own (old) line numbers, in order.
    changes: Changes,
}

/// The edits a change made inside a cited range, in the range's line numbers: the lines
/// changed or deleted, and lines inserted between two cited ones, for `diff` to name.
#[derive(Default)]
struct Changes {
    /// Cited lines changed or deleted, as ranges (adjacent ones merged).
    modified: Vec<(u32, u32)>,
    /// Lines inserted after a cited line (which is not the last): after which, how many.
    inserted: Vec<(u32, u32)>,
    /// The cited lines were moved less deep, every one of them unchanged but for its
    /// indentation ([`dedented`]): `modified` holds the whole range.
    reindented: bool,
}

impl Changes {
    fn modify(&mut self, from: u32, to: u32) {
        match self.modified.last_mut() {
            Some((_, end)) if *end + 1 >= from => *end = (*end).max(to),
            _ => self.modified.push((from, to)),
        }
    }

    fn insert(&mut self, after: u32, count: u32) {
        match self.inserted.last_mut() {
            Some((line, n)) if *line == after => *n += count,
            _ => self.inserted.push((after, count)),
        }
    }

    /// "line 34 modified", "lines 34 and 40-42 modified, 2 lines inserted after line 45".
    fn describe(&self) -> String {
        let mut parts = Vec::new();
        if !self.modified.is_empty() {
            let ranges: Vec<String> = self
                .modified
                .iter()
                .map(|&(a, b)| {
                    if a == b {
                        a.to_string()
                    } else {
                        format!("{a}-{b}")
                    }
                })
                .collect();
            let one = self.modified.len() == 1 && self.modified[0].0 == self.modified[0].1;
            parts.push(format!(
                "{} {} {}",
                if one { "line" } else { "lines" },
                join_and(&ranges),
                if self.reindented {
                    "re-indented"
                } else {
                    "modified"
                }
            ));
        }
        for &(after, n) in &self.inserted {
            parts.push(format!(
                "{n} line{} inserted after line {after}",
                if n == 1 { "" } else { "s" }
            ));
        }
        parts.join(", ")
    }
}

/// "a", "a and b", "a, b and c".
fn join_and(items: &[String]) -> String {
    match items {
        [] => String::new(),
        [one] => one.clone(),
        [rest @ .., last] => format!("{} and {last}", rest.join(", ")),
    }
}

/// The new lines that belong to a range, gathered in order: its lines that still exist, and
/// lines inserted or rewritten inside it.
#[derive(Default)]
struct Cover {
    first: Option<u32>,
    last: Option<u32>,
}

impl Cover {
    fn add(&mut self, from: u32, to: u32) {
        if from > to || from == 0 {
            return;
        }
        self.first = Some(self.first.map_or(from, |f| f.min(from)));
        self.last = Some(self.last.map_or(to, |l| l.max(to)));
    }

    fn range(&self) -> Option<LineRange> {
        LineRange::new(LineNo::new(self.first?)?, LineNo::new(self.last?)?)
    }
}

fn shifted(line: u32, delta: i64) -> u32 {
    u32::try_from(i64::from(line) + delta).unwrap_or(0)
}

fn trace(range: LineRange, hunks: &[Hunk]) -> Traced {
    let (a, b) = (range.start().get(), range.end().get());
    let mut cover = Cover::default();
    let mut edited = false;
    let mut kept = 0;
    let mut changes = Changes::default();
    let mut delta: i64 = 0;
    // The first line of the range not yet accounted for.
    let mut next = a;
    for h in hunks {
        if h.old_lines == 0 {
            // Lines inserted after old line `old_start`: inside only between two cited lines.
            let after = h.old_start;
            if after < a {
                delta += i64::from(h.new_lines);
                continue;
            }
            if after >= b {
                break;
            }
            cover.add(shifted(next, delta), shifted(after, delta));
            kept += after + 1 - next;
            cover.add(h.new_start, h.new_start + h.new_lines - 1);
            changes.insert(after, h.new_lines);
            edited = true;
            next = after + 1;
            delta += i64::from(h.new_lines);
            continue;
        }
        let old_end = h.old_start + h.old_lines - 1;
        if old_end < a {
            delta += i64::from(h.new_lines) - i64::from(h.old_lines);
            continue;
        }
        if h.old_start > b {
            break;
        }
        if next < h.old_start {
            cover.add(shifted(next, delta), shifted(h.old_start - 1, delta));
            kept += h.old_start - next;
        }
        let (edits, equal) = refine(h, a, b, &mut cover, &mut changes);
        edited |= edits;
        kept += equal;
        next = old_end + 1;
        delta += i64::from(h.new_lines) - i64::from(h.old_lines);
    }
    if next <= b {
        cover.add(shifted(next, delta), shifted(b, delta));
        kept += b + 1 - next;
    }
    Traced {
        lines: cover.range(),
        edited,
        kept,
        changes,
    }
}

/// [`trace`], and where the change moved the cited lines out of a construct into a shallower
/// one, unchanged but for their indentation ([`dedented`]), the lines they became. `texts`
/// reads the file before and after the change; it is asked only when the hunks suggest it
/// ([`reindent_suspected`]).
fn trace_step(
    range: LineRange,
    hunks: &[Hunk],
    texts: impl FnOnce() -> Option<(Vec<u8>, Vec<u8>)>,
) -> Traced {
    let traced = trace(range, hunks);
    if !traced.edited || !reindent_suspected(range, hunks) {
        return traced;
    }
    let Some(lines) = texts().and_then(|(old, new)| dedented(range, &old, &new)) else {
        return traced;
    };
    let (a, b) = (range.start().get(), range.end().get());
    Traced {
        lines: Some(lines),
        // Moved, not edited, as a move found in another file is (`moves::join`): every cited
        // line is there, and whether it holds is checked where it went. A line of the old
        // file that reads as it did (a new `if err != nil {` where the cited one was) is
        // not the cited construct left behind.
        edited: false,
        kept: range.len(),
        changes: Changes {
            modified: vec![(a, b)],
            inserted: Vec::new(),
            reindented: true,
        },
    }
}

/// True when at least half of the cited lines the hunks remove that hold code (tokens, not
/// only brackets or a comment), and at least one, come back among the added lines with the
/// same tokens and brackets: what a block moved to another depth looks like in a diff. A
/// cheap look at the hunks before [`dedented`] reads the texts.
fn reindent_suspected(range: LineRange, hunks: &[Hunk]) -> bool {
    let (a, b) = (range.start().get(), range.end().get());
    let known = |h: &Hunk| {
        h.old_shapes.len() == h.old_lines as usize && h.new_shapes.len() == h.new_lines as usize
    };
    if !hunks.iter().all(known) {
        return false;
    }
    let mut removed = hunks
        .iter()
        .flat_map(|h| {
            (h.old_start..)
                .zip(&h.old_shapes)
                .filter(|(line, _)| (a..=b).contains(line))
        })
        .filter(|(_, s)| !s.tokens.is_empty())
        .peekable();
    if removed.peek().is_none() {
        return false;
    }
    let added: rustc_hash::FxHashSet<&LineShape> = hunks
        .iter()
        .flat_map(|h| h.new_shapes.iter())
        .filter(|s| !s.tokens.is_empty())
        .collect();
    let (mut back, mut all) = (0usize, 0usize);
    for (_, shape) in removed {
        all += 1;
        back += usize::from(added.contains(shape));
    }
    back * 2 >= all
}

/// Where the cited lines `range` of `old` are in `new` when the change moved them one level
/// or more less deep and left them otherwise as they were: coredns's tls setup moved the body
/// of its `for c.Next()` loop into a function of its own, one tab less deep, and wrote new
/// code at the old depth that reads like it (`if len(args) != 1 {`, `return err`). A line
/// diff sees every cited line changed, pairs the unchanged brackets and short lines with the
/// new code, and the range lands among that code, where a look-alike may hold (a weakened
/// check could hide there, a sound one be called broken). A whitespace-blind diff of the
/// whole history fixes that but moves other refs on real repositories, so the rule is narrow:
///
/// - at least two cited lines hold code: one line found again, re-indented, says little (a
///   range history already moved onto other code by position took `statusCodes = ...`,
///   unique in its file, for where traefik's `DisableRetries()` went);
/// - every cited line, blank lines included, is one line of `new`, in order and without gaps,
///   equal once the whitespace around it is trimmed;
/// - those lines, so trimmed, occur exactly once in `old` (the cited place) and exactly once
///   in `new`: the same code, no look-alike to choose among;
/// - every non-blank cited line lost the same leading whitespace and kept the rest of its
///   indentation: the block moved out of a construct as a whole. Code moved deeper is left to
///   the line diff, whose range then takes in the new construct around it (an `if` wrapped
///   around a check must be seen by the check's expectations, not cut off).
fn dedented(range: LineRange, old: &[u8], new: &[u8]) -> Option<LineRange> {
    let (old, new) = (text_lines(old), text_lines(new));
    let (a, b) = (range.start().zero_based(), range.end().zero_based());
    let cited = old.get(a..=b)?;
    let keys: Vec<&str> = cited.iter().map(|l| l.trim()).collect();
    if keys.iter().filter(|k| !k.is_empty()).count() < 2 {
        return None;
    }
    let runs = |lines: &[&str]| -> Vec<usize> {
        let mut found = Vec::new();
        for p in 0..lines.len().saturating_sub(keys.len() - 1) {
            let same = lines[p..p + keys.len()]
                .iter()
                .zip(&keys)
                .all(|(l, k)| l.trim() == *k);
            if same {
                found.push(p);
                if found.len() > 1 {
                    break;
                }
            }
        }
        found
    };
    if runs(&old) != [a] {
        return None;
    }
    let [p] = runs(&new)[..] else {
        return None;
    };
    let mut lost: Option<&str> = None;
    for (o, n) in cited.iter().zip(&new[p..p + keys.len()]) {
        if o.trim().is_empty() {
            continue;
        }
        let indent = |l: &'_ str| l.len() - l.trim_start().len();
        let (old_indent, new_indent) = (&o[..indent(o)], &n[..indent(n)]);
        let gone = old_indent.strip_suffix(new_indent)?;
        if gone.is_empty() || lost.is_some_and(|l| l != gone) {
            return None;
        }
        lost = Some(gone);
    }
    Some(LineRange::from_zero_based(p, p + keys.len() - 1))
}

/// The lines of a text, without their endings.
fn text_lines(bytes: &[u8]) -> Vec<&str> {
    let text = std::str::from_utf8(bytes).unwrap_or("");
    let mut lines: Vec<&str> = text
        .split('\n')
        .map(|l| l.strip_suffix('\r').unwrap_or(l))
        .collect();
    if text.ends_with('\n') {
        lines.pop();
    }
    lines
}

/// The lines of hunk `h` that belong to the range `a..=b`: its cited lines the hunk removes
/// and adds back unchanged (matched by a patience diff of the hunk's own lines), and the lines
/// that replace or are inserted among cited lines. Says whether a cited line was really
/// edited, and how many came back unchanged.
fn refine(h: &Hunk, a: u32, b: u32, cover: &mut Cover, changes: &mut Changes) -> (bool, u32) {
    let known =
        h.old_hashes.len() == h.old_lines as usize && h.new_hashes.len() == h.new_lines as usize;
    let ops = if known {
        similar::capture_diff_slices(Algorithm::Patience, &h.old_hashes, &h.new_hashes)
    } else {
        // Without the lines, every line of the hunk counts as rewritten.
        vec![DiffOp::Replace {
            old_index: 0,
            old_len: h.old_lines as usize,
            new_index: 0,
            new_len: h.new_lines as usize,
        }]
    };
    let known_shapes = known
        && h.old_shapes.len() == h.old_lines as usize
        && h.new_shapes.len() == h.new_lines as usize;
    let mut edited = false;
    let mut kept = 0;
    let index = |i: usize| u32::try_from(i).unwrap_or(u32::MAX);
    let index_of = |i: u32| i as usize;
    for op in ops {
        let (old_index, old_len, new_index, new_len, equal) = match op {
            DiffOp::Equal {
                old_index,
                new_index,
                len,
            } => (old_index, len, new_index, len, true),
            DiffOp::Delete {
                old_index,
                old_len,
                new_index,
            } => (old_index, old_len, new_index, 0, false),
            DiffOp::Insert {
                old_index,
                new_index,
                new_len,
            } => (old_index, 0, new_index, new_len, false),
            DiffOp::Replace {
                old_index,
                old_len,
                new_index,
                new_len,
            } => (old_index, old_len, new_index, new_len, false),
        };
        let o1 = h.old_start + index(old_index);
        let n1 = h.new_start + index(new_index);
        let (old_len, new_len) = (index(old_len), index(new_len));
        if old_len == 0 {
            // Inserted after old line `o1 - 1`.
            if a < o1 && o1 <= b && new_len > 0 {
                cover.add(n1, n1 + new_len - 1);
                changes.insert(o1 - 1, new_len);
                edited = true;
            }
            continue;
        }
        let o2 = o1 + old_len - 1;
        let (x1, x2) = (o1.max(a), o2.min(b));
        if x1 > x2 {
            continue;
        }
        if equal {
            cover.add(n1 + (x1 - o1), n1 + (x2 - o1));
            kept += x2 - x1 + 1;
            continue;
        }
        edited = true;
        changes.modify(x1, x2);
        if new_len == 0 {
            continue;
        }
        let n2 = n1 + new_len - 1;
        // The new lines that carry the rewritten cited ones, when they can be told: the range
        // keeps to them at its ends (a line rewritten as eight keeps the one that holds its
        // code, a statement re-wrapped over five lines keeps all five).
        let successor = if known_shapes {
            successor(
                &h.old_shapes[index_of(x1 - h.old_start)..=index_of(x2 - h.old_start)],
                &h.new_shapes[index_of(n1 - h.new_start)..=index_of(n2 - h.new_start)],
            )
        } else {
            None
        };
        if let Some((p, q)) = successor {
            let lower = if o1 > a { n1 } else { n1 + p };
            let upper = if o2 < b { n2 } else { n1 + q };
            cover.add(lower, upper);
            continue;
        }
        let inside = x2 - x1 + 1;
        // A rewrite reaching an end of the range may also add code beyond it (the function
        // after a cited block's last line): there, it brings as many lines as it rewrote.
        let last = n1 + inside.min(new_len) - 1;
        let first = n2 + 1 - inside.min(new_len);
        match (o1.cmp(&a), o2.cmp(&b)) {
            // Strictly inside, or the whole range rewritten: all of its new lines are.
            (Ordering::Greater, Ordering::Less) | (Ordering::Equal, Ordering::Equal) => {
                cover.add(n1, n2)
            }
            // Reaching the end (from inside, or past it): its first new lines.
            (Ordering::Greater, _) | (Ordering::Equal, Ordering::Greater) => cover.add(n1, last),
            // Reaching the start (from inside, or before it): its last new lines.
            (Ordering::Equal | Ordering::Less, Ordering::Less | Ordering::Equal) => {
                cover.add(first, n2)
            }
            // The range lies inside the rewritten block: the lines at the same offsets.
            (Ordering::Less, Ordering::Greater) => cover.add(
                n1 + (x1 - o1).min(new_len - 1),
                n1 + (x2 - o1).min(new_len - 1),
            ),
        }
    }
    (edited, kept)
}

/// Cited lines rewritten together, at most, for their successor to be looked for line by line
/// (more is a block rewritten as a block, whose new lines all stand for it).
const MAX_REWRITTEN: usize = 6;

/// Of the lines `new` that replaced the lines `old`, the run that became them (0-based, first
/// and last), when one is clearly theirs. Runs whose tokens are alike enough (Jaccard
/// similarity of the token signatures, at least a third) and whose brackets balance as the old
/// lines' did are candidates (a range never cuts a construct the citation held whole: a
/// re-wrapped call with its closing `)`, a one-line function grown to four with its `}`, a
/// `return` after a new struct literal without the literal's `}`); of those, one beginning with
/// the same token and ending with the same character as the old lines comes first (a
/// statement, not the line of new code before it), then the one holding most of the old
/// tokens, then the one with the fewest others, then the shortest, then the first. Comments
/// are not compared. `None` when no run is alike enough: the caller falls back to position.
fn successor(old: &[LineShape], new: &[LineShape]) -> Option<(u32, u32)> {
    if old.is_empty() || old.len() > MAX_REWRITTEN || new.is_empty() {
        return None;
    }
    let target: rustc_hash::FxHashSet<u32> =
        old.iter().flat_map(|s| s.tokens.iter().copied()).collect();
    let balance: i32 = old.iter().map(|s| i32::from(s.balance)).sum();
    if target.is_empty() {
        return None;
    }
    let longest = old.len() * 6 + 6;
    let (begins, ends) = (old[0].first, old[old.len() - 1].last);
    // (same ends, shared tokens, all tokens, length, start, end)
    let mut best: Option<(bool, usize, usize, usize, usize, usize)> = None;
    let mut window: rustc_hash::FxHashSet<u32> = rustc_hash::FxHashSet::default();
    for p in 0..new.len() {
        window.clear();
        let (mut shared, mut sum) = (0usize, 0i32);
        for (q, shape) in new.iter().enumerate().skip(p).take(longest) {
            for &t in shape.tokens.iter() {
                if window.insert(t) && target.contains(&t) {
                    shared += 1;
                }
            }
            sum += i32::from(shape.balance);
            let all = target.len() + window.len() - shared;
            if shared * 3 < all {
                continue;
            }
            // A run whose brackets do not balance as the old lines' did cuts a construct
            // they held whole (or holds one they cut): not their successor.
            if sum != balance {
                continue;
            }
            let same_ends = new[p].first == begins && shape.last == ends;
            let better = match best {
                None => true,
                Some((edges, s, u, len, _, _)) => {
                    let key = (same_ends, shared, Reverse(all), Reverse(q - p));
                    key > (edges, s, Reverse(u), Reverse(len))
                }
            };
            if better {
                best = Some((same_ends, shared, all, q - p, p, q));
            }
        }
    }
    let (_, _, _, _, p, q) = best?;
    Some((index_u32(p), index_u32(q)))
}

fn index_u32(i: usize) -> u32 {
    u32::try_from(i).unwrap_or(u32::MAX)
}

/// Where one cited range went between its `at` commit and the verified revision.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Mapping {
    /// The path at the verified revision (a rename moves it).
    pub path: String,
    /// The lines there; `None` when every cited line was deleted.
    pub lines: Option<LineRange>,
    /// Each step of history that changed the cited file, oldest first.
    pub steps: Vec<Step>,
    /// How history touched the cited lines themselves (not merely shifted them), first time.
    pub touched: Option<String>,
    /// The file was deleted with no rename found; nothing more to follow.
    pub file_gone: bool,
    /// The commit that deleted it (`None` when not deleted, or deleted in the working tree).
    pub deleted_in: Option<Box<CommitInfo>>,
    /// The steps at which most of the cited lines disappeared (deleted or rewritten, or their
    /// file deleted with no rename), oldest first, for the search for a move git does not
    /// pair; emptied once that search was made.
    pub lost: Vec<Lost>,
    /// The move into another file that history followed, when git did not pair it.
    pub moved: Option<Box<Moved>>,
    /// Where the cited lines went when they moved into several files at once, each followed to
    /// the verified revision (path and lines there).
    pub move_candidates: Vec<(String, LineRange)>,
}

/// A move of the cited lines into another file that git did not pair as a rename.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Moved {
    pub commit: CommitInfo,
    pub from: String,
    pub to: String,
}

/// The most versions of one path diffed one after another as one task of the walk (see
/// [`Walk::follow`]).
const MAX_DIFF_RUN: usize = 8;

/// Steps of one walk at which the cited lines' disappearance is kept, at most (a range
/// rewritten over and over is not searched for each time).
const MAX_LOSSES: usize = 4;

/// A step at which most of the cited lines disappeared, and where they were just before.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Lost {
    /// The commit that removed them (`None`: the working tree).
    pub commit: Option<CommitInfo>,
    /// The commit before it, where they still were.
    pub before: String,
    /// Their path and lines at `before`.
    pub path: String,
    pub lines: LineRange,
}

/// The cited place after one commit (or the working tree, `commit: None`) that changed its file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Step {
    pub commit: Option<CommitInfo>,
    pub path: String,
    pub lines: Option<LineRange>,
    /// Whether the commit changed or deleted a cited line, or inserted lines between two (a
    /// rename or a shift is no edit).
    pub edited: bool,
}

/// What history could say about a ref with `at`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum HistoryOutcome {
    Mapped(Mapping),
    /// The `at` commit is not in the repository (a shallow clone, or a rewritten history).
    Unavailable(String),
}

/// One ref to follow: its cited path, lines and `at`.
#[derive(Clone, Debug)]
pub struct Tracked<'a> {
    pub path: &'a str,
    pub lines: LineRange,
    pub at: &'a str,
}

/// Maps every tracked ref from its `at` to `target` (whose commit is `target_commit`, or HEAD's
/// for the working tree). Refs sharing an `at` share one walk; of its commits, only those that
/// changed a followed file are diffed (found by comparing tree ids, as `git log -- PATH`
/// does), so the cost grows with the commits that touch cited files, not with all commits.
/// Walks from different commits run in parallel.
///
/// The walks keep in `sets` the line sets of the blobs they diff, for a move search.
pub fn map_through_history(
    git: &GitRepo,
    target: &Endpoint,
    target_commit: Option<&str>,
    tracked: &[Tracked<'_>],
    sets: &LineSets,
) -> Result<Vec<HistoryOutcome>, SourceError> {
    let mut by_at: BTreeMap<&str, Vec<usize>> = BTreeMap::new();
    for (i, t) in tracked.iter().enumerate() {
        by_at.entry(t.at).or_default().push(i);
    }
    let groups: Vec<(&str, Vec<usize>)> = by_at.into_iter().collect();
    let walked: Vec<Vec<(usize, HistoryOutcome)>> = groups
        .par_iter()
        .map(|(at, members)| {
            // A commit, tree or blob missing between `at` and the revision (a partial or
            // shallow clone) leaves the refs of that `at` without history, not the run without
            // a report.
            let walked = walk_from(git, target, target_commit, tracked, at, members, sets);
            walked.unwrap_or_else(|e| {
                let message = format!(
                    "history unavailable: {e} (following it from {at}; a partial or shallow clone?)"
                );
                members
                    .iter()
                    .map(|&i| (i, HistoryOutcome::Unavailable(message.clone())))
                    .collect()
            })
        })
        .collect();
    let mut outcomes: Vec<Option<HistoryOutcome>> = vec![None; tracked.len()];
    for (i, outcome) in walked.into_iter().flatten() {
        outcomes[i] = Some(outcome);
    }
    Ok(outcomes.into_iter().flatten().collect())
}

/// Maps the tracked refs `members`, which share the `at` commit, along one walk.
fn walk_from(
    git: &GitRepo,
    target: &Endpoint,
    target_commit: Option<&str>,
    tracked: &[Tracked<'_>],
    at: &str,
    members: &[usize],
    sets: &LineSets,
) -> Result<Vec<(usize, HistoryOutcome)>, SourceError> {
    let Some(start) = git.find_commit(at)? else {
        let message =
            format!("history unavailable: commit {at} is not in this repository (shallow clone?)");
        return Ok(members
            .iter()
            .map(|&i| (i, HistoryOutcome::Unavailable(message.clone())))
            .collect());
    };
    let chain = git.chain(&start.id, target_commit.unwrap_or(&start.id))?;
    let mut state: Vec<Mapping> = members
        .iter()
        .map(|&i| Mapping {
            path: tracked[i].path.to_string(),
            lines: Some(tracked[i].lines),
            steps: Vec::new(),
            touched: None,
            file_gone: false,
            deleted_in: None,
            lost: Vec::new(),
            moved: None,
            move_candidates: Vec::new(),
        })
        .collect();
    let mut walk = Walk::new(git, &chain, *target == Endpoint::Worktree, sets);
    let mut step = 0;
    // The mappings still followed, by path. A step changes few files of a year's thousand
    // refs, so it visits only their mappings; the set is made again only when a mapping's path
    // changed or its file went (the walk follows no new path otherwise).
    let mut followed: Option<HashMap<String, Vec<usize>>> = None;
    loop {
        let by_path = match &mut followed {
            Some(by_path) => by_path,
            None => {
                let mut paths: Vec<String> = state
                    .iter()
                    // A file whose cited lines were all deleted is still followed through
                    // renames, so symbol and search relocation look in the file where it is now.
                    .filter(|m| !m.file_gone)
                    .map(|m| m.path.clone())
                    .collect();
                paths.sort();
                paths.dedup();
                if paths.is_empty() {
                    break;
                }
                walk.follow(&paths, step + 1)?;
                let mut by_path: HashMap<String, Vec<usize>> = HashMap::new();
                for (k, m) in state.iter().enumerate().filter(|(_, m)| !m.file_gone) {
                    by_path.entry(m.path.clone()).or_default().push(k);
                }
                followed.insert(by_path)
            }
        };
        let Some(next) = walk.next_after(step) else {
            break;
        };
        step = next;
        let commit = walk.describe(step)?;
        let before = chain.id(step - 1);
        // The step's newer side: a commit, or the working tree after the last one.
        let after = if step < chain.len() {
            chain.id(step)
        } else {
            WORKTREE.to_string()
        };
        let texts = |old_path: &str, new_path: &str| -> Option<(Vec<u8>, Vec<u8>)> {
            let old = git.resolve(&before).ok()?.read(old_path).ok()?;
            let new = git.resolve(&after).ok()?.read(new_path).ok()?;
            Some((old.bytes, new.bytes))
        };
        // (Each mapping moves on its own: the order they are visited in is no matter.)
        let changes = walk.changes(step);
        let mut touched: Vec<usize> = changes
            .keys()
            .filter_map(|path| by_path.get(path))
            .flatten()
            .copied()
            .collect();
        touched.sort_unstable();
        for k in touched {
            let mapping = &mut state[k];
            let Some(change) = changes.get(&mapping.path) else {
                continue;
            };
            let path = mapping.path.clone();
            apply(mapping, change, &commit, &before, &texts);
            if mapping.file_gone || mapping.path != path {
                followed = None;
            }
        }
    }
    Ok(members
        .iter()
        .copied()
        .zip(state.into_iter().map(HistoryOutcome::Mapped))
        .collect())
}

/// Reads a file before and after one step, by its path then and now; `None` when either cannot
/// be read.
type StepTexts<'a> = dyn Fn(&str, &str) -> Option<(Vec<u8>, Vec<u8>)> + 'a;

/// Moves `mapping` over one step's change to its file; `texts` reads a file before and after
/// the step (by its paths then and now), for the rare change that needs the text.
fn apply(
    mapping: &mut Mapping,
    change: &FileChange,
    commit: &Option<CommitInfo>,
    before: &str,
    texts: &StepTexts<'_>,
) {
    if mapping.file_gone {
        return;
    }
    let Some(lines) = mapping.lines else {
        match change {
            FileChange::Renamed { new_path, .. } => mapping.path = new_path.clone(),
            FileChange::Deleted => {
                mapping.file_gone = true;
                mapping.deleted_in = commit.clone().map(Box::new);
            }
            FileChange::Modified { .. } => {}
        }
        return;
    };
    if *change == FileChange::Deleted {
        mapping.file_gone = true;
        mapping.deleted_in = commit.clone().map(Box::new);
    }
    let (path, traced, touch) = match change {
        FileChange::Modified { hunks } => {
            let traced = trace_step(lines, hunks, || texts(&mapping.path, &mapping.path));
            let touch =
                (traced.edited || traced.changes.reindented).then(|| traced.changes.describe());
            (mapping.path.clone(), traced, touch)
        }
        FileChange::Renamed { new_path, hunks } => (
            new_path.clone(),
            trace_step(lines, hunks, || texts(&mapping.path, new_path)),
            Some(format!("{} renamed to {new_path}", mapping.path)),
        ),
        FileChange::Deleted => (
            mapping.path.clone(),
            Traced {
                lines: None,
                edited: true,
                kept: 0,
                changes: Changes::default(),
            },
            Some(format!("{} deleted", mapping.path)),
        ),
    };
    let new_lines = traced.lines;
    let edited = traced.edited;
    if mapping.touched.is_none()
        && let Some(touch) = touch
    {
        mapping.touched = Some(match commit {
            Some(c) => format!("{touch} in {} '{}'", c.short, c.subject),
            None => format!("{touch} in the working tree"),
        });
    }
    // Most cited lines gone (deleted, or rewritten into other code): they may have moved.
    if traced.kept * 2 < lines.len() && mapping.lost.len() < MAX_LOSSES {
        mapping.lost.push(Lost {
            commit: commit.clone(),
            before: before.to_string(),
            path: mapping.path.clone(),
            lines,
        });
    }
    mapping.path = path.clone();
    mapping.lines = new_lines;
    mapping.steps.push(Step {
        commit: commit.clone(),
        path,
        lines: new_lines,
        edited,
    });
}

/// The steps of one walk that changed a followed file, with those changes. Step `i` goes from
/// commit `i - 1` of the chain to commit `i`; with the working tree, one more step goes from
/// the last commit to it. A path joins the followed set the first time the walk needs it (a
/// rename's new name); from then on the steps that changed it are found by comparing tree ids
/// and only those are diffed, in parallel (the diffs and hunks are most of the cost). What a
/// step says of a path does not depend on which other paths are asked for with it, so the
/// results are those of one diff per step.
struct Walk<'g, 'c> {
    git: &'g GitRepo,
    chain: &'c Chain,
    worktree: bool,
    /// Where the line sets of the blobs diffed are kept.
    sets: &'g LineSets,
    known: BTreeMap<usize, HashMap<String, FileChange>>,
    followed: HashSet<String>,
    none: HashMap<String, FileChange>,
}

impl<'g, 'c> Walk<'g, 'c> {
    fn new(git: &'g GitRepo, chain: &'c Chain, worktree: bool, sets: &'g LineSets) -> Self {
        Walk {
            git,
            chain,
            worktree,
            sets,
            known: BTreeMap::new(),
            followed: HashSet::new(),
            none: HashMap::new(),
        }
    }

    /// Follows `paths` from step `from` on (those already followed are known).
    fn follow(&mut self, paths: &[String], from: usize) -> Result<(), SourceError> {
        let new: Vec<String> = paths
            .iter()
            .filter(|p| !self.followed.contains(*p))
            .cloned()
            .collect();
        if new.is_empty() {
            return Ok(());
        }
        // A file changed in place is diffed blob to blob; one that disappeared (or the working
        // tree) needs a tree diff, for the rename search.
        let mut edited: Vec<(usize, String, String, String)> = Vec::new();
        let mut by_step: BTreeMap<usize, Vec<String>> = BTreeMap::new();
        let touched = self.git.touched_steps(self.chain, from - 1, &new)?;
        for (path, touches) in new.iter().zip(touched) {
            for t in touches {
                match (t.old_blob, t.new_blob) {
                    (Some(old), Some(new)) => edited.push((t.step, path.clone(), old, new)),
                    (Some(_), None) => by_step.entry(t.step).or_default().push(path.clone()),
                    // Appearing where it was not followed from: nothing to map.
                    (None, _) => {}
                }
            }
        }
        let worktree_step = self.chain.len();
        if self.worktree && from <= worktree_step {
            by_step.insert(worktree_step, new.clone());
        }
        let (git, chain, sets) = (self.git, self.chain, self.sets);
        let diffed: Vec<(usize, HashMap<String, FileChange>)> = by_step
            .into_par_iter()
            .map(|(step, paths)| {
                let newer = if step == worktree_step {
                    Endpoint::Worktree
                } else {
                    Endpoint::Commit(chain.id(step))
                };
                git.changes(&chain.id(step - 1), &newer, &paths)
                    .map(|c| (step, c))
            })
            .collect::<Result<_, _>>()?;
        // Each path's versions in step order (`edited` lists them path by path), diffed one
        // after another so that a version is read once for the two diffs it is in; the paths
        // in parallel. A path edited often (a large file changed every other week) is cut into
        // stretches diffed in parallel too, each reading its first old version again: as one
        // task it kept one thread diffing alone at the end.
        let runs: Vec<&[(usize, String, String, String)]> = edited
            .chunk_by(|a, b| a.1 == b.1)
            .flat_map(|run| run.chunks(MAX_DIFF_RUN))
            .collect();
        let modified: Vec<(usize, String, FileChange)> = runs
            .into_par_iter()
            .map(|run| {
                let pairs: Vec<(String, String)> = run
                    .iter()
                    .map(|(_, _, old, new)| (old.clone(), new.clone()))
                    .collect();
                let hunks = git.blob_hunks_along(&pairs, sets)?;
                Ok(run
                    .iter()
                    .zip(hunks)
                    .map(|((step, path, _, _), hunks)| {
                        (*step, path.clone(), FileChange::Modified { hunks })
                    })
                    .collect::<Vec<_>>())
            })
            .collect::<Result<Vec<_>, SourceError>>()?
            .into_iter()
            .flatten()
            .collect();
        for (step, changes) in diffed {
            self.known.entry(step).or_default().extend(changes);
        }
        for (step, path, change) in modified {
            self.known.entry(step).or_default().insert(path, change);
        }
        self.followed.extend(new);
        Ok(())
    }

    /// The first step after `step` that changed a followed path.
    fn next_after(&self, step: usize) -> Option<usize> {
        self.known.range(step + 1..).next().map(|(s, _)| *s)
    }

    /// What `step` changed in the followed paths (only changed paths are present).
    fn changes(&self, step: usize) -> &HashMap<String, FileChange> {
        self.known.get(&step).unwrap_or(&self.none)
    }

    /// The commit a step ends at, for people; `None` for the working tree.
    fn describe(&self, step: usize) -> Result<Option<CommitInfo>, SourceError> {
        if step >= self.chain.len() {
            return Ok(None);
        }
        self.git.find_commit(&self.chain.id(step))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn range(a: u32, b: u32) -> LineRange {
        LineRange::new(LineNo::new(a).unwrap(), LineNo::new(b).unwrap()).unwrap()
    }

    /// A hunk whose lines are not known: every line of it counts as rewritten.
    fn hunk(old_start: u32, old_lines: u32, new_start: u32, new_lines: u32) -> Hunk {
        Hunk::at(old_start, old_lines, new_start, new_lines)
    }

    /// A hunk with its lines, written as words.
    fn hunk_of(old_start: u32, old: &[&str], new_start: u32, new: &[&str]) -> Hunk {
        let mut hunk = Hunk::at(old_start, old.len() as u32, new_start, new.len() as u32);
        for line in old {
            hunk.remove(line.as_bytes());
        }
        for line in new {
            hunk.add(line.as_bytes());
        }
        hunk
    }

    #[test]
    fn insertion_above_shifts_the_range() {
        // Two lines inserted after line 3.
        assert_eq!(
            map_range(range(10, 20), &[hunk(3, 0, 4, 2)]),
            Some(range(12, 22))
        );
    }

    #[test]
    fn deletion_above_shifts_the_range_up() {
        assert_eq!(
            map_range(range(10, 20), &[hunk(2, 3, 1, 0)]),
            Some(range(7, 17))
        );
    }

    #[test]
    fn edits_below_leave_it_alone() {
        assert_eq!(
            map_range(range(10, 20), &[hunk(25, 2, 25, 9)]),
            Some(range(10, 20))
        );
        assert_eq!(
            map_range(range(10, 20), &[hunk(20, 0, 21, 4)]),
            Some(range(10, 20))
        );
    }

    #[test]
    fn insertion_inside_grows_the_range() {
        assert_eq!(
            map_range(range(10, 20), &[hunk(12, 0, 13, 3)]),
            Some(range(10, 23))
        );
        // Right after the first line is inside too.
        assert_eq!(
            map_range(range(10, 20), &[hunk(10, 0, 11, 1)]),
            Some(range(10, 21))
        );
    }

    #[test]
    fn edited_ends_keep_only_the_lines_that_replace_cited_ones() {
        let cases = [
            // Lines 8-11 replaced by 6 lines at 8: two of them were cited (10, 11), so the
            // range starts at the last two of the six, not at the hunk's start.
            (range(10, 20), hunk(8, 4, 8, 6), range(12, 22)),
            // Lines 19-24 replaced by 2 lines at 19: the two cited ones become those two.
            (range(10, 20), hunk(19, 6, 19, 2), range(10, 20)),
            // Lines 19-24 replaced by 12 lines: still two of them, not twelve.
            (range(10, 20), hunk(19, 6, 19, 12), range(10, 20)),
            // The last cited line rewritten together with code added after it: one line.
            (range(10, 20), hunk(20, 1, 20, 12), range(10, 20)),
            // The first one rewritten with code added before it: the last of the new lines.
            (range(10, 20), hunk(10, 1, 10, 5), range(14, 24)),
            // A line inside rewritten as three: all three are the range's.
            (range(10, 20), hunk(15, 1, 15, 3), range(10, 22)),
            // The whole range rewritten: all the new lines.
            (range(10, 12), hunk(10, 3, 10, 5), range(10, 14)),
        ];
        for (cited, h, mapped) in cases {
            assert_eq!(
                map_range(cited, std::slice::from_ref(&h)),
                Some(mapped),
                "{cited} through {h:?}"
            );
        }
    }

    #[test]
    fn a_large_hunk_around_unchanged_cited_lines_keeps_them_exact() {
        // A 6-line TLS setting at 351-356 inside a hunk git made of 340-360 -> 340-370: the six
        // lines are removed and added back unchanged, ten lines lower.
        let tls = [
            "cfg := &tls.Config{",
            "MinVersion: tls.VersionTLS12,",
            "ClientAuth: tls.RequireAndVerifyClientCert,",
            "ClientCAs: pool,",
            "}",
            "srv.TLSConfig = cfg",
        ];
        let mut old: Vec<String> = (340..351).map(|i| format!("old {i}")).collect();
        old.extend(tls.iter().map(|l| l.to_string()));
        old.extend((357..=360).map(|i| format!("old {i}")));
        let mut new: Vec<String> = (0..21).map(|i| format!("new {i}")).collect();
        new.extend(tls.iter().map(|l| l.to_string()));
        new.extend((0..4).map(|i| format!("tail {i}")));
        let old: Vec<&str> = old.iter().map(String::as_str).collect();
        let new: Vec<&str> = new.iter().map(String::as_str).collect();
        let h = hunk_of(340, &old, 340, &new);
        assert_eq!(
            map_range(range(351, 356), std::slice::from_ref(&h)),
            Some(range(361, 366))
        );
        assert!(!edits_inside(range(351, 356), &[h]));
    }

    #[test]
    fn a_line_edited_inside_keeps_the_range_and_counts_as_an_edit() {
        let h = hunk_of(12, &["\tif !ok {"], 12, &["\tif !ok || expired {"]);
        assert_eq!(
            map_range(range(10, 15), std::slice::from_ref(&h)),
            Some(range(10, 15))
        );
        assert!(edits_inside(range(10, 15), &[h]));
        // An edit that also adds a line grows it by that line only.
        let h = hunk_of(12, &["a"], 12, &["b", "c"]);
        assert_eq!(map_range(range(10, 15), &[h]), Some(range(10, 16)));
    }

    #[test]
    fn cited_lines_deleted_at_an_end_shrink_the_range() {
        // Lines 9-11 deleted, the first two of them cited: 12-15 remain, three lines up.
        assert_eq!(
            map_range(range(10, 15), &[hunk_of(9, &["x", "a", "b"], 8, &[])]),
            Some(range(9, 12))
        );
    }

    #[test]
    fn edits_inside_ignores_shifts_and_edits_elsewhere() {
        assert!(!edits_inside(
            range(10, 20),
            &[hunk(3, 0, 4, 2), hunk(25, 1, 27, 1)]
        ));
        assert!(
            !edits_inside(range(10, 20), &[hunk(20, 0, 21, 3)]),
            "insertion after the end"
        );
        assert!(edits_inside(range(10, 20), &[hunk(12, 0, 13, 1)]));
        assert!(edits_inside(range(10, 20), &[hunk(20, 1, 20, 1)]));
        assert!(edits_inside(range(10, 20), &[hunk(5, 6, 5, 2)]));
    }

    #[test]
    fn the_changed_lines_are_named_inside_the_range() {
        // Lines 30-50 cited; a commit edits 34, rewrites 40-41 as one line, deletes 42 and
        // inserts two lines after 45, all in one hunk git made of 34-45.
        let old: Vec<String> = (34..=45).map(|i| format!("line {i}")).collect();
        let mut new: Vec<String> = old.clone();
        new[0] = "line 34 edited".into();
        new.splice(6..9, ["lines 40 and 41 joined".to_string()]);
        new.extend(["inserted a".to_string(), "inserted b".to_string()]);
        let old: Vec<&str> = old.iter().map(String::as_str).collect();
        let new: Vec<&str> = new.iter().map(String::as_str).collect();
        let traced = trace(range(30, 50), &[hunk_of(34, &old, 34, &new)]);
        assert_eq!(
            traced.changes.describe(),
            "lines 34 and 40-42 modified, 2 lines inserted after line 45"
        );
        let one = trace(range(30, 50), &[hunk_of(42, &["x"], 42, &["y"])]);
        assert_eq!(one.changes.describe(), "line 42 modified");
        let shift = trace(range(30, 50), &[hunk(3, 0, 4, 2)]);
        assert!(!shift.edited && shift.changes.describe().is_empty());
    }

    #[test]
    fn a_rewritten_line_keeps_to_the_new_line_that_carries_its_code() {
        // Line 20, cited alone, rewritten as eight lines of which the fourth is its successor.
        let h = hunk_of(
            20,
            &["\tif err := checkClientCert(r); err != nil {"],
            20,
            &[
                "\tcert, err := peerCert(r)",
                "\tif cert == nil {",
                "\t\treturn errNoCert",
                "\tif err := checkClientCert(r, cert); err != nil {",
                "\t}",
                "\tmetrics.Inc()",
                "\tlog.Debug(\"checked\")",
                "\t_ = cert",
            ],
        );
        assert_eq!(
            map_range(range(20, 20), std::slice::from_ref(&h)),
            Some(range(23, 23))
        );
        // As the last line of a range: the range ends there, not at the eighth.
        assert_eq!(map_range(range(15, 20), &[h]), Some(range(15, 23)));
    }

    #[test]
    fn a_rewrapped_statement_stays_whole() {
        // The last cited line, a route registration, re-wrapped over five lines.
        let h = hunk_of(
            85,
            &["\tr.HandleFunc(\"/v1/agent\", mw.Auth(agentHandler)).Methods(\"POST\")"],
            85,
            &[
                "\tr.HandleFunc(",
                "\t\t\"/v1/agent\",",
                "\t\tmw.Auth(agentHandler),",
                "\t).Methods(\"POST\")",
                "\tr.HandleFunc(\"/v1/other\", other)",
            ],
        );
        assert_eq!(map_range(range(81, 85), &[h]), Some(range(81, 88)));
        // Joined back onto one line: the one line.
        let h = hunk_of(
            10,
            &["\tsrv := &http.Server{", "\t\tAddr: addr,", "\t}"],
            10,
            &["\tdefer cancel()", "\tsrv := &http.Server{Addr: addr}"],
        );
        assert_eq!(map_range(range(10, 12), &[h]), Some(range(11, 11)));
    }

    #[test]
    fn a_declaration_rewritten_as_two_lines_takes_no_brace() {
        // The first cited line, a declaration, rewritten as two; the `}` before it is not it.
        let h = hunk_of(
            40,
            &["}", "func (s *Server) Serve(l net.Listener) error {"],
            40,
            &[
                "}",
                "",
                "// Serve accepts connections on l.",
                "func (s *Server) Serve(",
                "\tl net.Listener) error {",
            ],
        );
        assert_eq!(map_range(range(41, 45), &[h]), Some(range(43, 48)));
    }

    #[test]
    fn a_one_line_function_grown_to_four_stays_whole() {
        // coredns's `func init() { plugin.Register("tls", setup) }` given a second hook.
        let h = hunk_of(
            17,
            &["func init() { plugin.Register(\"tls\", setup) }"],
            18,
            &[
                "func init() {",
                "\tplugin.Register(\"tls\", setup)",
                "\tcaddy.RegisterEventHook(\"tls-acme\", acmeStartupHook)",
                "}",
            ],
        );
        assert_eq!(map_range(range(17, 17), &[h]), Some(range(18, 21)));
    }

    #[test]
    fn a_return_rewritten_behind_a_new_guard_keeps_to_the_return() {
        // nomad's node branch: its `return` became a guard and another `return`.
        let h = hunk_of(
            583,
            &["\t\treturn acl.ClientACL, nil"],
            746,
            &[
                "\t\tif claims.NodeIdentityClaims == nil || claims.NodeIdentityClaims.NodePool == \"\" {",
                "\t\t\treturn nil, fmt.Errorf(\"node identity claims missing node pool\")",
                "\t\t}",
                "\t\treturn acl.NewClientACL(claims.NodeIdentityClaims.NodePool), nil",
            ],
        );
        assert_eq!(map_range(range(583, 583), &[h]), Some(range(749, 749)));
    }

    #[test]
    fn a_new_line_sharing_a_name_is_not_taken_with_the_successor() {
        // smallstep's renew function given a decorated round tripper built just before it.
        let h = hunk_of(
            136,
            &["\trenewer.RenewCertificate = getRenewFunc(tlsCtx, c, tr, pk) //nolint:contextcheck"],
            136,
            &[
                "",
                "\t// Add decorator if available",
                "\trt := decorateRoundTripper(tr, c.transportDecorator)",
                "\trenewer.RenewCertificate = getRenewFunc(tlsCtx, c, rt, pk) //nolint:contextcheck",
            ],
        );
        assert_eq!(map_range(range(136, 136), &[h]), Some(range(139, 139)));
    }

    #[test]
    fn a_return_rewritten_after_a_new_literal_takes_no_closing_brace() {
        // nomad's `Decrypt`: its `cipher.Open` return became a KMS wrapper's, after a new
        // struct literal holding some of its names. The lines sharing most of its tokens close
        // the literal (`Ciphertext: ciphertext,` and `}`): a run that cuts a construct the
        // one cited line held whole is not its successor, and the return keeps to the return.
        let h = hunk_of(
            307,
            &[
                "	nonceSize := ks.cipher.NonceSize()",
                "	nonce := ciphertext[:nonceSize] // nonce was stored alongside ciphertext",
                "	additional := []byte(keyID)     // keyID was included in the signature inputs",
                "",
                "	return ks.cipher.Open(nil, nonce, ciphertext[nonceSize:], additional)",
            ],
            297,
            &[
                "	additional := kms.WithAad([]byte(keyID)) // keyID was included in the seal inputs",
                "	bi := &kms.BlobInfo{",
                "		Ciphertext: ciphertext, // nonce was stored alongside ciphertext",
                "	}",
                "	return ks.wrapper.Decrypt(ctx, bi, additional)",
            ],
        );
        assert_eq!(map_range(range(311, 311), &[h]), Some(range(301, 301)));
    }

    #[test]
    fn a_block_moved_less_deep_unchanged_is_found_where_it_went() {
        let old = "func f() {\n\tfor next() {\n\t\tif bad {\n\t\t\treturn errBad\n\t\t}\n\n\t\tuse()\n\t}\n}\n";
        let moved = "func f() {\n\tfor next() {\n\t\tg()\n\t}\n}\n\nfunc g() {\n\tif bad {\n\t\treturn errBad\n\t}\n\n\tuse()\n}\n";
        let found = dedented(range(3, 7), old.as_bytes(), moved.as_bytes());
        assert_eq!(found, Some(range(8, 12)));
        // Moved deeper (wrapped in a new construct): left to the line diff.
        let deeper = "func f() {\n\tfor next() {\n\t\tif on {\n\t\t\tif bad {\n\t\t\t\treturn errBad\n\t\t\t}\n\n\t\t\tuse()\n\t\t}\n\t}\n}\n";
        assert_eq!(
            dedented(range(3, 7), old.as_bytes(), deeper.as_bytes()),
            None
        );
        // Not the same lost indentation for every line: not moved as a block.
        let uneven = moved.replace("\t\treturn errBad", "\treturn errBad");
        assert_eq!(
            dedented(range(3, 7), old.as_bytes(), uneven.as_bytes()),
            None
        );
        // A line changed on the way, or a blank line dropped: not every cited line is there.
        let edited = moved.replace("return errBad", "log(errBad)");
        assert_eq!(
            dedented(range(3, 7), old.as_bytes(), edited.as_bytes()),
            None
        );
        let closed_up = moved.replace("\t}\n\n\tuse()", "\t}\n\tuse()");
        assert_eq!(
            dedented(range(3, 7), old.as_bytes(), closed_up.as_bytes()),
            None
        );
        // One line of code found again says little.
        let one = "func f() {\n\tif on {\n\t\tstatus = r.status\n\t}\n}\n";
        let flat = "func f() {\n\tstatus = r.status\n}\n";
        assert_eq!(dedented(range(3, 3), one.as_bytes(), flat.as_bytes()), None);
        // Two places hold it: no choosing between them.
        let twice =
            format!("{moved}\nfunc h() {{\n\tif bad {{\n\t\treturn errBad\n\t}}\n\n\tuse()\n}}\n");
        assert_eq!(
            dedented(range(3, 7), old.as_bytes(), twice.as_bytes()),
            None
        );
        // Already elsewhere in the old file at another depth: not where the cited lines went.
        let old_twin =
            format!("{old}\nfunc h() {{\n\tif bad {{\n\t\treturn errBad\n\t}}\n\n\tuse()\n}}\n");
        assert_eq!(
            dedented(range(3, 7), old_twin.as_bytes(), moved.as_bytes()),
            None
        );
    }

    #[test]
    fn a_step_moving_the_cited_block_less_deep_names_it_re_indented() {
        let old = ["\t\tif bad {", "\t\t\treturn errBad", "\t\t}"];
        let new = ["\tif bad {", "\t\treturn errBad", "\t}"];
        let h = hunk_of(3, &old, 8, &new);
        let text = |lines: &[&str], at: usize| {
            let mut all: Vec<String> = (1..at).map(|i| format!("x{i}")).collect();
            all.extend(lines.iter().map(|l| l.to_string()));
            all.join("\n") + "\n"
        };
        let traced = trace_step(range(3, 5), std::slice::from_ref(&h), || {
            Some((text(&old, 3).into_bytes(), text(&new, 8).into_bytes()))
        });
        assert_eq!(traced.lines, Some(range(8, 10)));
        assert!(!traced.edited, "moved, not edited");
        assert_eq!(traced.changes.describe(), "lines 3-5 re-indented");
        // Lines the hunks do not bring back are not looked for in the texts.
        let other = hunk_of(3, &old, 8, &["\tcheck()"]);
        let traced = trace_step(range(3, 5), &[other], || panic!("read"));
        assert_ne!(traced.lines, Some(range(8, 10)));
    }

    #[test]
    fn fully_deleted_range_is_gone() {
        assert_eq!(map_range(range(10, 20), &[hunk(9, 13, 8, 0)]), None);
    }

    #[test]
    fn several_hunks_compose() {
        let hunks = [hunk(1, 0, 2, 5), hunk(15, 1, 20, 2), hunk(30, 2, 36, 0)];
        assert_eq!(map_range(range(10, 20), &hunks), Some(range(15, 26)));
    }
}
