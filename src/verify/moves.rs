//! Moves git does not pair as renames. When history reaches a commit that deleted every cited
//! line (or their file, with no rename found), the cited text is looked for in the files that
//! commit added or changed and, for code copied earlier and deleted from its old place later,
//! in the files changed since `at`. A file holds the move when most of the cited lines are in
//! it, as `git blame -C` decides, and the ref's expectations hold there. One such place is
//! followed on through history; several are listed; none leaves the ref as it was. Never a
//! guess.

use std::collections::{BTreeSet, HashMap};

use rayon::prelude::*;
use similar::{Algorithm, DiffOp};

use super::history::{HistoryOutcome, Lost, Mapping, Moved, Step, Tracked, map_through_history};
use super::{HistorySource, Job, ParseCache, holds_at};
use crate::anchors::Ref;
use crate::lines::{LineNo, LineRange};
use crate::source::history::{ChangedPath, CommitInfo, line_hash};
use crate::source::{Files, Snapshot, SourceError};

/// Of the cited lines holding a letter or digit, the share (in thousandths) that must be found
/// again in a file for it to hold the move.
const MIN_SIMILARITY: usize = 600;
/// The letters and digits those lines must hold together: `git blame -C`'s default, so that a
/// line such as `return err` is never taken for a move.
const MIN_MOVED_CHARS: usize = 40;
/// Moves followed one after another, at most, per ref.
const MAX_MOVES: usize = 8;

/// Follows, for the jobs `members`, every move into another file at the step where their cited
/// lines disappeared.
pub(super) fn follow(
    jobs: &mut [Job<'_>],
    members: &[usize],
    source: &HistorySource<'_>,
) -> Result<(), SourceError> {
    let mut finder = Finder {
        source,
        changed: HashMap::new(),
        hashes: HashMap::new(),
    };
    for &j in members {
        let mut from = jobs[j].at.clone().unwrap_or_default();
        for _ in 0..MAX_MOVES {
            let Some(HistoryOutcome::Mapped(mapping)) = &mut jobs[j].history else {
                break;
            };
            let Some(lost) = mapping.lost.take() else {
                break;
            };
            let Some(commit) = lost.commit.clone() else {
                break;
            };
            let places = finder.places(jobs[j].r, &lost, &commit, &from)?;
            let tracked: Vec<Tracked<'_>> = places
                .iter()
                .map(|(path, lines)| Tracked {
                    path,
                    lines: *lines,
                    at: &commit.id,
                })
                .collect();
            let onward = if tracked.is_empty() {
                Vec::new()
            } else {
                map_through_history(
                    source.git,
                    &source.target,
                    source.target_commit.as_deref(),
                    &tracked,
                )?
            };
            let Some(HistoryOutcome::Mapped(mapping)) = &mut jobs[j].history else {
                break;
            };
            match (places.as_slice(), onward.as_slice()) {
                ([(to, lines)], [HistoryOutcome::Mapped(next)]) => {
                    join(mapping, &lost, &commit, to, *lines, next.clone());
                    from = commit.id.clone();
                }
                _ => {
                    mapping.move_candidates = onward
                        .into_iter()
                        .filter_map(|o| match o {
                            HistoryOutcome::Mapped(m) => Some((m.path, m.lines?)),
                            HistoryOutcome::Unavailable(_) => None,
                        })
                        .collect();
                    break;
                }
            }
        }
    }
    Ok(())
}

/// Continues `mapping` with `next`, the history of the place the lines moved to in `commit`.
fn join(
    mapping: &mut Mapping,
    lost: &Lost,
    commit: &CommitInfo,
    to: &str,
    lines: LineRange,
    next: Mapping,
) {
    // Past the step that lost them, the old file was followed only for relocation there.
    if let Some(at) = mapping
        .steps
        .iter()
        .position(|s| s.commit.as_ref().is_some_and(|c| c.id == commit.id))
    {
        mapping.steps.truncate(at);
    }
    mapping.steps.push(Step {
        commit: Some(commit.clone()),
        path: to.to_string(),
        lines: Some(lines),
    });
    mapping.steps.extend(next.steps);
    mapping.path = next.path;
    mapping.lines = next.lines;
    mapping.file_gone = next.file_gone;
    mapping.lost = next.lost;
    mapping.move_candidates = next.move_candidates;
    mapping.touched = mapping.touched.take().or(next.touched);
    if mapping.moved.is_none() {
        mapping.moved = Some(Moved {
            commit: commit.clone(),
            from: lost.path.clone(),
            to: to.to_string(),
        });
    }
}

/// Looks for moved lines, keeping what several searches share: the files each commit changed,
/// and the hashed lines of each blob read.
struct Finder<'s> {
    source: &'s HistorySource<'s>,
    changed: HashMap<(String, String), Vec<ChangedPath>>,
    hashes: HashMap<String, Vec<u64>>,
}

/// The cited lines of a ref, as the move search compares them.
struct Cited {
    /// Hash of each line, trimmed.
    hashes: Vec<u64>,
    /// Letters and digits on each line.
    chars: Vec<usize>,
}

impl Cited {
    fn of(lines: &[&[u8]]) -> Cited {
        Cited {
            hashes: lines.iter().map(|l| line_hash(l.trim_ascii())).collect(),
            chars: lines
                .iter()
                .map(|l| l.iter().filter(|b| b.is_ascii_alphanumeric()).count())
                .collect(),
        }
    }

    fn significant(&self) -> usize {
        self.chars.iter().filter(|&&c| c > 0).count()
    }

    /// Where the cited lines are in a file with these line hashes, keeping their shape: `None`
    /// unless enough of them are there (see [`MIN_SIMILARITY`] and [`MIN_MOVED_CHARS`]). Also
    /// the tightest span of the lines found, when it differs.
    fn found_in(&self, file: &[u64]) -> Option<(LineRange, LineRange)> {
        let present: std::collections::HashSet<u64> = file.iter().copied().collect();
        let sure = |i: usize| self.chars[i] > 0 && present.contains(&self.hashes[i]);
        if (0..self.hashes.len()).filter(|&i| sure(i)).count() * 1000
            < self.significant() * MIN_SIMILARITY
        {
            return None;
        }
        let mut matched: Vec<(usize, usize)> = Vec::new();
        for op in similar::capture_diff_slices(Algorithm::Patience, &self.hashes, file) {
            if let DiffOp::Equal {
                old_index,
                new_index,
                len,
            } = op
            {
                matched.extend((0..len).map(|k| (old_index + k, new_index + k)));
            }
        }
        let significant: Vec<&(usize, usize)> =
            matched.iter().filter(|(i, _)| self.chars[*i] > 0).collect();
        let chars: usize = significant.iter().map(|(i, _)| self.chars[*i]).sum();
        if significant.len() * 1000 < self.significant() * MIN_SIMILARITY || chars < MIN_MOVED_CHARS
        {
            return None;
        }
        let (&(i1, p1), &(i2, p2)) = (matched.first()?, matched.last()?);
        let line = |row: usize| LineNo::new(u32::try_from(row + 1).ok()?);
        let last_row = file.len().checked_sub(1)?;
        let tight = LineRange::new(line(p1)?, line(p2)?)?;
        // The lines before the first found and after the last keep their offsets.
        let start = p1.saturating_sub(i1);
        let end = (p2 + (self.hashes.len() - 1 - i2)).min(last_row);
        let shaped = LineRange::new(line(start)?, line(end)?)?;
        Some((shaped, tight))
    }
}

/// The lines of `bytes`, without their line endings.
fn split_lines(bytes: &[u8]) -> Vec<&[u8]> {
    let mut lines: Vec<&[u8]> = bytes.split(|b| *b == b'\n').collect();
    if bytes.ends_with(b"\n") {
        lines.pop();
    }
    lines
}

impl Finder<'_> {
    /// The places at `commit` holding the lines `lost` describes, with the ref's evidence.
    fn places(
        &mut self,
        r: &Ref,
        lost: &Lost,
        commit: &CommitInfo,
        from: &str,
    ) -> Result<Vec<(String, LineRange)>, SourceError> {
        let git = self.source.git;
        let old = git.resolve(&lost.before).ok();
        let Some(old) = old.and_then(|s| s.read(&lost.path).ok()) else {
            return Ok(Vec::new());
        };
        let old_lines = split_lines(&old.bytes);
        let (a, b) = (
            lost.lines.start().zero_based(),
            lost.lines.end().zero_based(),
        );
        let Some(cited) = old_lines.get(a..=b) else {
            return Ok(Vec::new());
        };
        let cited = Cited::of(cited);
        if cited.chars.iter().sum::<usize>() < MIN_MOVED_CHARS {
            // Too little text to tell a move from a coincidence.
            return Ok(Vec::new());
        }
        let after = git.resolve(&commit.id)?;
        // Still in their own file: moved within it, where symbol and search relocation look.
        if let Ok(same) = after.read(&lost.path) {
            let hashes = hash_lines(&same.bytes);
            if cited.found_in(&hashes).is_some() {
                return Ok(Vec::new());
            }
        }
        let mut paths: BTreeSet<String> = BTreeSet::new();
        let mut pairs = vec![(lost.before.clone(), commit.id.clone())];
        let chain = git.chain(from, &lost.before)?;
        pairs.extend((1..chain.len()).map(|i| (chain.id(i - 1), chain.id(i))));
        for (old, new) in pairs {
            if !self.changed.contains_key(&(old.clone(), new.clone())) {
                let changed = git.changed_paths(&old, &new)?;
                self.changed.insert((old.clone(), new.clone()), changed);
            }
            let changed = &self.changed[&(old, new)];
            paths.extend(
                changed
                    .iter()
                    .filter(|c| c.new_blob.is_some() && c.path.ends_with(".go"))
                    .filter(|c| c.path != lost.path)
                    .map(|c| c.path.clone()),
            );
        }
        let blobs: Vec<(String, String)> = paths
            .into_iter()
            .filter_map(|p| Some((after.blob_id(&p)?, p)))
            .collect();
        self.hash_blobs(&after, &blobs);
        let hashes = &self.hashes;
        let found: Vec<(String, LineRange)> = blobs
            .par_iter()
            .filter_map(|(id, path)| {
                let (shaped, tight) = cited.found_in(hashes.get(id)?)?;
                let parses = ParseCache::new(true);
                [shaped, tight]
                    .into_iter()
                    .find(|lines| holds_at(r, &after, path, *lines, &parses))
                    .map(|lines| (path.clone(), lines))
            })
            .collect();
        Ok(found)
    }

    /// Reads and hashes the lines of the blobs not hashed yet, in parallel.
    fn hash_blobs(&mut self, snapshot: &Snapshot, blobs: &[(String, String)]) {
        let missing: Vec<&(String, String)> = blobs
            .iter()
            .filter(|(id, _)| !self.hashes.contains_key(id))
            .collect();
        let read: Vec<(String, Vec<u64>)> = missing
            .par_iter()
            .filter_map(|(id, path)| {
                let blob = snapshot.read(path).ok()?;
                Some((id.clone(), hash_lines(&blob.bytes)))
            })
            .collect();
        self.hashes.extend(read);
    }
}

/// The hash of each line of `bytes`, trimmed, as [`Cited`] compares them.
fn hash_lines(bytes: &[u8]) -> Vec<u64> {
    split_lines(bytes)
        .iter()
        .map(|l| line_hash(l.trim_ascii()))
        .collect()
}
