//! Moves git does not pair. When history reaches a commit that removed most of the cited
//! lines (deleted them, rewrote them into other code, or deleted their file with no rename
//! found), the cited text is looked for: first in its own file (moved within it), then in the
//! files that commit added or changed, then, for code copied earlier and deleted from its old
//! place later, in the files changed since `at`. A file holds the move when most of the cited
//! lines are in it, together, as `git blame -C` decides, and the ref's expectations hold there;
//! last, the files that commit changed are searched by shape, for code moved with its names
//! renamed ([`renamed`]). A citation too short to tell a move from a coincidence is looked for
//! through the declaration around it, and taken at its offset there. One such place is followed
//! on through history; several are listed; none leaves the ref as it was. Never a guess.

mod cited;
mod renamed;

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};

use rayon::prelude::*;

use super::HistorySource;
use super::history::{HistoryOutcome, Lost, Mapping, Moved, Step, Tracked, map_through_history};
use super::job::Job;
use super::parses::{ParseCache, holds_at};
use super::provenance::Origins;
use crate::anchors::Ref;
use crate::go::{GoFile, symbols};
use crate::lines::{LineNo, LineRange};
use crate::source::history::{ChangedPath, CommitInfo, LineSet, LineSets, hash_lines, line_set};
use crate::source::{FileBlob, Files, Snapshot, SourceError};
use cited::{Cited, Matching, Unit, split_lines};

/// Moves followed one after another, at most, per ref.
const MAX_MOVES: usize = 8;
/// Files compared by shape, at most, in a search by shape: those holding the most of the cited
/// text as it was (a commit that touches every file must not cost a diff of each per ref).
const MAX_SHAPE_CANDIDATES: usize = 16;

/// A move found for one job: the loss it explains, the commit, and the places the lines went.
struct Found {
    job: usize,
    lost: Lost,
    commit: CommitInfo,
    places: Vec<(String, LineRange)>,
}

/// Follows, for the jobs `members`, every move into another file at the steps where their
/// cited lines disappeared. Each round looks, for every job with losses, for the first loss
/// whose lines went elsewhere (jobs in parallel), then follows all the places found onward in
/// one batch of walks; a move followed may itself be lost later, for the next round.
///
/// `walked` holds the run's line sets: those of the blobs the walks diffed (the one that
/// mapped the jobs, and the ones following moves, which add to it), which the search need not
/// read again, and the ones it reads.
pub(super) fn follow(
    jobs: &mut [Job<'_>],
    members: &[usize],
    source: &HistorySource<'_>,
    walked: &LineSets,
) -> Result<(), SourceError> {
    let finder = Finder {
        source,
        changed: Mutex::new(HashMap::new()),
        line_sets: walked,
        declarations: Mutex::new(HashMap::new()),
        around: Mutex::new(HashMap::new()),
    };
    let mut from: HashMap<usize, String> = members
        .iter()
        .map(|&j| (j, jobs[j].at.clone().unwrap_or_default()))
        .collect();
    for _ in 0..MAX_MOVES {
        let mut pending: Vec<(usize, &Ref, Vec<Lost>)> = Vec::new();
        for (j, job) in jobs.iter_mut().enumerate() {
            if let (true, Some(HistoryOutcome::Mapped(mapping))) =
                (from.contains_key(&j), job.history.as_deref_mut())
                && !mapping.lost.is_empty()
            {
                pending.push((j, job.r, std::mem::take(&mut mapping.lost)));
            }
        }
        if pending.is_empty() {
            break;
        }
        // An object missing from a partial clone leaves that ref's move unfound, not the run
        // without a report.
        let found: Vec<Found> = pending
            .par_iter()
            .filter_map(|(j, r, losses)| finder.first_move(*j, r, losses, &from[j]).ok()?)
            .collect();
        if found.is_empty() {
            break;
        }
        let tracked: Vec<Tracked<'_>> = found
            .iter()
            .flat_map(|f| {
                f.places.iter().map(|(path, lines)| Tracked {
                    path,
                    lines: *lines,
                    at: &f.commit.id,
                })
            })
            .collect();
        let mut onward = map_through_history(
            source.git,
            &source.target,
            source.target_commit.as_deref(),
            &tracked,
            walked,
        )?
        .into_iter();
        for f in found {
            let outcomes: Vec<HistoryOutcome> = onward.by_ref().take(f.places.len()).collect();
            let Some(HistoryOutcome::Mapped(mapping)) = jobs[f.job].history.as_deref_mut() else {
                continue;
            };
            if let ([(to, lines)], [HistoryOutcome::Mapped(next)]) =
                (f.places.as_slice(), outcomes.as_slice())
            {
                join(mapping, &f.lost, &f.commit, to, *lines, next.clone());
                from.insert(f.job, f.commit.id.clone());
                continue;
            }
            mapping.lines = None;
            mapping.move_candidates = outcomes
                .into_iter()
                .filter_map(|o| match o {
                    HistoryOutcome::Mapped(m) => Some((m.path, m.lines?)),
                    HistoryOutcome::Unavailable(_) => None,
                })
                .collect();
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
        // Moved, not edited: whether it still holds is checked where it went.
        edited: false,
    });
    mapping.steps.extend(next.steps);
    mapping.path = next.path;
    mapping.lines = next.lines;
    mapping.file_gone = next.file_gone;
    mapping.deleted_in = next.deleted_in;
    mapping.lost = next.lost;
    mapping.move_candidates = next.move_candidates;
    mapping.touched = mapping.touched.take().or(next.touched);
    if mapping.moved.is_none() && to != lost.path {
        mapping.moved = Some(Box::new(Moved {
            commit: commit.clone(),
            from: lost.path.clone(),
            to: to.to_string(),
        }));
    }
}

/// The file the cited lines were lost from, as it was before the commit that lost them, and
/// the lines lost.
struct LostFrom<'b> {
    old: Option<&'b FileBlob>,
    lines: LineRange,
    /// The old file held the lines looked for elsewhere too, outside the lost ones (two
    /// identical guards in one function): a place found for them in another file may be
    /// their twin's, so even a short one must not descend from outside the lost lines.
    twinned: bool,
}

impl<'b> LostFrom<'b> {
    fn new(old: Option<&'b FileBlob>, lines: LineRange, unit: &Unit) -> Self {
        // (The declaration around short lines is found again in its own file less those
        // lines: that is no twin.)
        let twinned = unit.is_cited_lines()
            && old.is_some_and(|old| {
                let mut hashes = hash_lines(&old.bytes);
                let lost = lines.start().zero_based()..lines.end().get() as usize;
                // Lines no other line hashes to: the lost lines cannot be found among them.
                for (k, row) in lost.enumerate() {
                    if let Some(h) = hashes.get_mut(row) {
                        *h = u64::MAX - k as u64;
                    }
                }
                unit.cited.found_in(&hashes).is_some()
            });
        LostFrom {
            old,
            lines,
            twinned,
        }
    }
}

/// Line spans of declarations, shared between searches.
type Spans = Arc<Vec<LineRange>>;

/// The files that differ between two commits, shared between searches.
type ChangedFiles = Arc<Vec<ChangedPath>>;

/// Looks for moved lines, keeping what several searches share: the files each commit changed,
/// and the line hashes (sorted, deduplicated) of each blob read, which answer most files'
/// "could it hold them?" without reading them again.
struct Finder<'s> {
    source: &'s HistorySource<'s>,
    changed: Mutex<HashMap<(String, String), ChangedFiles>>,
    /// The line sets of the run's blobs: the walks' made, the rest read here.
    line_sets: &'s LineSets,
    /// The line spans of the declarations of each blob parsed whole for a short citation, so
    /// that the refs of one file moved away parse it once.
    declarations: Mutex<HashMap<String, Arc<Vec<LineRange>>>>,
    /// The line spans of the declarations around lost lines, by blob and lines.
    around: Mutex<HashMap<(String, LineRange), Spans>>,
}

impl Finder<'_> {
    /// The first of `losses` whose lines went to other files, with where.
    fn first_move(
        &self,
        job: usize,
        r: &Ref,
        losses: &[Lost],
        from: &str,
    ) -> Result<Option<Found>, SourceError> {
        for lost in losses {
            let Some(commit) = lost.commit.clone() else {
                continue;
            };
            let places = self.places(r, lost, &commit, from)?;
            if !places.is_empty() {
                return Ok(Some(Found {
                    job,
                    lost: lost.clone(),
                    commit,
                    places,
                }));
            }
        }
        Ok(None)
    }

    /// The places at `commit` holding the lines `lost` describes, with the ref's evidence,
    /// looked for as `git blame -C` widens its search, stopping at the first kind of file that
    /// holds them: the files `commit` added or changed (a move in one commit); the files added
    /// since `from` (the `at` the walk started from: a copy into a new file, deleted from the
    /// old one later); the other files changed since `from`; last, the files `commit` added or
    /// changed again, by shape (moved with names renamed). The cited lines are looked for
    /// first, then, when they are too short or found nowhere, the declaration around them.
    fn places(
        &self,
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
        let after = git.resolve(&commit.id)?;
        // The cited lines themselves, when they hold enough text to tell a move from a
        // coincidence.
        if let Some(cited) = Cited::of(&old_lines, a, b)
            && cited.enough_text()
        {
            let unit = Unit::lines(cited);
            let found = self.places_of(r, &unit, lost, &after, commit, from)?;
            if !found.is_empty() {
                return Ok(found);
            }
        }
        // Else the function around them: a line such as `s.True(changed)` is found in its
        // moved function, at its offset there.
        let declarations = self.declarations_around(&old, lost.lines);
        let Some(unit) = Unit::enclosing(&old_lines, &declarations, lost.lines) else {
            return Ok(Vec::new());
        };
        self.places_of(r, &unit, lost, &after, commit, from)
    }

    /// The places at `after` (the tree of `commit`) holding `unit`, with the ref's evidence at
    /// the cited lines' place there; see [`Finder::places`].
    fn places_of(
        &self,
        r: &Ref,
        unit: &Unit,
        lost: &Lost,
        after: &Snapshot,
        commit: &CommitInfo,
        from: &str,
    ) -> Result<Vec<(String, LineRange)>, SourceError> {
        let git = self.source.git;
        // Still in their own file: moved within it (git's diff saw a deletion and an insertion),
        // followed from where they are when the evidence holds there; else left to symbol and
        // search relocation. Code that was already there, outside the lost lines, is a
        // duplicate, not where they went (an identical log call of another guard), and a place
        // taking any of it in is not theirs either.
        if let Ok(same) = after.read(&lost.path)
            && let Some(found) = unit.cited.found_in(&hash_lines(&same.bytes))
        {
            let parses = ParseCache::new();
            let old = git
                .resolve(&lost.before)
                .ok()
                .and_then(|s| s.read(&lost.path).ok());
            let origins = Origins::between(old.as_ref().map(|b| &b.bytes[..]), &same.bytes);
            let theirs: Vec<LineRange> = unit
                .placements(&found)
                .into_iter()
                .filter(|lines| !origins.takes_in_outside(*lines, lost.lines))
                .collect();
            // Only twins that were already there (`if err != nil { return nil, err }` of the
            // next function): the lines did not stay, so they are looked for where they went.
            if !theirs.is_empty() {
                let held = theirs
                    .iter()
                    .copied()
                    .find(|lines| holds_at(r, after, &lost.path, *lines, &parses));
                // The cited lines themselves, every letter of them, moved within their file
                // where the evidence no longer holds (rewritten before the move): that is
                // where they went, and the ref is checked there, not searched for elsewhere.
                let whole_text = unit.is_cited_lines() && found.similarity == 1000;
                let place = held.or_else(|| whole_text.then(|| theirs[0]));
                return Ok(place.map(|l| (lost.path.clone(), l)).into_iter().collect());
            }
        }
        let in_commit = self.changed(&lost.before, &commit.id)?;
        let since = self.changed(from, &commit.id)?;
        let (before, start) = (git.resolve(&lost.before)?, git.resolve(from)?);
        let go = |c: &&ChangedPath| {
            c.new_blob.is_some() && c.path.ends_with(".go") && c.path != lost.path
        };
        // Each path with its blob at `after` (the new side of both lists). A symbolic link is
        // never read (as `read` refuses it), so never a candidate.
        fn with_blob(c: &ChangedPath) -> Option<(&str, &str)> {
            Some((c.path.as_str(), c.new_blob.as_deref()?)).filter(|_| !c.new_link)
        }
        let first: BTreeMap<&str, &str> =
            in_commit.iter().filter(go).filter_map(with_blob).collect();
        let tier = |added: bool| -> BTreeMap<&str, &str> {
            since
                .iter()
                .filter(go)
                .filter(|c| c.old_blob.is_none() == added)
                .filter_map(with_blob)
                .filter(|(p, _)| !first.contains_key(p))
                .collect()
        };
        let (added, changed) = (tier(true), tier(false));
        // Last, the files the commit added or changed, by shape: moved with names renamed.
        let renamed = first.clone();
        let old = before.read(&lost.path).ok();
        let lost_from = LostFrom::new(old.as_ref(), lost.lines, unit);
        for (paths, earlier, how) in [
            (first, &before, Matching::Exact),
            (added, &start, Matching::Exact),
            (changed, &start, Matching::Exact),
            (renamed, &before, Matching::Renamed),
        ] {
            let found = self.search(r, unit, after, earlier, paths, how, &lost_from);
            if !found.is_empty() {
                return Ok(found);
            }
        }
        Ok(Vec::new())
    }

    /// The files among `paths` at `after` that hold the cited lines and the ref's evidence, and
    /// did not already hold them in their version at `earlier` (a duplicate that was always
    /// there is not where the lines went). Of those, the ones holding the most of the cited
    /// text, then of the lines around it: a function with the same body as the cited one is
    /// not it when another file holds the cited lines whole, or with their signature. A place
    /// longer than the lost lines (`from`) taking in code that was in the old file outside them
    /// is not theirs, as in their own file: a guard moved with its function but commented out
    /// on the way must not be found by stretching over the next guard, which moved with it.
    /// (A place no longer than the lost lines is refused so only for its lines that none of
    /// the cited ones reads, such as the message of a like guard beside them: a short line
    /// such as `if err != nil {` is paired across files with any of its twins.)
    #[allow(
        clippy::too_many_arguments,
        reason = "the tier of files (paths, earlier, how) and the file lost from, as the caller has them"
    )]
    fn search(
        &self,
        r: &Ref,
        unit: &Unit,
        after: &Snapshot,
        earlier: &Snapshot,
        paths: BTreeMap<&str, &str>,
        how: Matching,
        from: &LostFrom<'_>,
    ) -> Vec<(String, LineRange)> {
        let blobs: Vec<(String, String)> = paths
            .into_iter()
            .map(|(p, id)| (id.to_string(), p.to_string()))
            .collect();
        let cited = &unit.cited;
        let sets = self.line_sets(&blobs);
        let find = |bytes: &[u8]| match how {
            Matching::Exact => cited.found_in(&hash_lines(bytes)),
            Matching::Renamed => cited.found_renamed_in(&split_lines(bytes)),
        };
        let mut candidates: Vec<(usize, usize)> = blobs
            .iter()
            .enumerate()
            .filter_map(|(k, (id, _))| {
                let set = sets.get(id)?;
                let score = match how {
                    Matching::Exact => cited.mostly_in(set).then_some(0),
                    Matching::Renamed => Some(cited.text_in(set)).filter(|&chars| chars > 0),
                };
                Some((k, score?))
            })
            .collect();
        if how == Matching::Renamed && candidates.len() > MAX_SHAPE_CANDIDATES {
            // Renamed code keeps some of its lines as they were; the files holding the most of
            // the cited text that way are the ones compared by shape.
            candidates.sort_by_key(|&(k, chars)| (std::cmp::Reverse(chars), k));
            candidates.truncate(MAX_SHAPE_CANDIDATES);
            candidates.sort_unstable();
        }
        let found: Vec<(String, LineRange, (usize, usize))> = candidates
            .par_iter()
            .map(|&(k, _)| &blobs[k])
            .filter_map(|(id, path)| {
                let blob = after.read(path).ok()?;
                // Hashed once: found in by them, and asked below which lines none of the cited
                // ones reads.
                let hashes = hash_lines(&blob.bytes);
                let found = match how {
                    Matching::Exact => cited.found_in(&hashes),
                    Matching::Renamed => find(&blob.bytes),
                }?;
                let before = earlier.read(path).ok();
                let had = before.and_then(|b| find(&b.bytes));
                if had.is_some_and(|had| had.similarity >= found.similarity) {
                    return None;
                }
                let parses = ParseCache::new();
                let origins = Origins::between(from.old.map(|b| &b.bytes[..]), &blob.bytes);
                // A line none of the cited ones reads: its pairing with the old file is no
                // twin's.
                let other_code = |l: LineNo| {
                    hashes
                        .get(l.zero_based())
                        .is_some_and(|h| !cited.has_line(*h))
                };
                unit.placements(&found)
                    .into_iter()
                    .filter(|lines| {
                        if lines.len() > from.lines.len() || from.twinned {
                            !origins.takes_in_outside(*lines, from.lines)
                        } else {
                            !origins.takes_in_outside_where(*lines, from.lines, other_code)
                        }
                    })
                    .find(|lines| holds_at(r, after, path, *lines, &parses))
                    .map(|lines| {
                        let context = sets.get(id).map_or(0, |set| cited.context_in(set));
                        (path.clone(), lines, (found.similarity, context))
                    })
            })
            .collect();
        let best = found.iter().map(|f| f.2).max().unwrap_or((0, 0));
        found
            .into_iter()
            .filter(|f| f.2 == best)
            .map(|(path, lines, _)| (path, lines))
            .collect()
    }

    /// The line spans of the declarations of `blob` holding `lines`, in file order: from a
    /// parse of only the top-level declarations those lines touch (which holds every
    /// declaration around them, at the same lines), the whole file when that is refused.
    /// Asked once per blob and lines.
    fn declarations_around(&self, blob: &FileBlob, lines: LineRange) -> Arc<Vec<LineRange>> {
        let key = (blob.id.clone(), lines);
        if let Some(known) = lock(&self.around).get(&key) {
            return Arc::clone(known);
        }
        let spans = spans_around(&blob.bytes, lines).unwrap_or_else(|| {
            self.declarations(blob)
                .iter()
                .copied()
                .filter(|d| d.contains(lines))
                .collect()
        });
        let spans = Arc::new(spans);
        lock(&self.around).insert(key, Arc::clone(&spans));
        spans
    }

    /// The line spans of the declarations of `blob`, parsed whole once.
    fn declarations(&self, blob: &FileBlob) -> Arc<Vec<LineRange>> {
        if let Some(known) = lock(&self.declarations).get(&blob.id) {
            return Arc::clone(known);
        }
        let spans: Vec<LineRange> = GoFile::parse(blob.bytes.clone())
            .map(|file| {
                symbols::declarations(&file)
                    .into_iter()
                    .map(|d| d.lines)
                    .collect()
            })
            .unwrap_or_default();
        let spans = Arc::new(spans);
        lock(&self.declarations).insert(blob.id.clone(), Arc::clone(&spans));
        spans
    }

    /// The files that differ between commits `old` and `new`, computed once.
    fn changed(&self, old: &str, new: &str) -> Result<ChangedFiles, SourceError> {
        let key = (old.to_string(), new.to_string());
        if let Some(known) = lock(&self.changed).get(&key) {
            return Ok(Arc::clone(known));
        }
        let changed = Arc::new(self.source.git.changed_paths(old, new)?);
        lock(&self.changed).insert(key, Arc::clone(&changed));
        Ok(changed)
    }

    /// The line sets of `blobs` (id, path), reading in parallel those not read yet. Searches
    /// running at the same time (one per ref) mostly want the same blobs, the files changed
    /// since `at`: each blob is read by one of them, and the others read the blobs no search
    /// has taken yet rather than wait on it or read it again.
    fn line_sets(&self, blobs: &[(String, String)]) -> HashMap<String, Arc<Vec<u64>>> {
        let slots = self
            .line_sets
            .slots(blobs.iter().map(|(id, _)| id.as_str()));
        let read = |(id, path): &(String, String), slot: &LineSet| {
            let made = slot.get_or_make(|| {
                let set = self.source.git.with_blob(id, path, line_set);
                set.ok().map(Arc::new)
            });
            made.map(Arc::clone)
        };
        // The blobs no search has taken, then those another search is still reading (which
        // `get_or_make` waits for: a read touches nothing else).
        blobs.par_iter().zip(&slots).for_each(|(blob, slot)| {
            if slot.take() {
                read(blob, slot);
            }
        });
        blobs
            .par_iter()
            .zip(&slots)
            .filter_map(|(blob, slot)| Some((blob.0.clone(), read(blob, slot)?)))
            .collect()
    }
}

/// The line spans of the declarations of `source` holding `lines`, in file order, from a parse
/// of only the top-level declarations those lines touch; `None` when no such parse is made.
fn spans_around(source: &[u8], lines: LineRange) -> Option<Vec<LineRange>> {
    let file = GoFile::parse_covering(source, &[lines]).ok()??;
    Some(
        symbols::declarations(&file)
            .into_iter()
            .map(|d| d.lines)
            .filter(|d| d.contains(lines))
            .collect(),
    )
}

/// The data behind a mutex, even when a thread panicked holding it (the caches only ever hold
/// whole entries).
fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The declarations around any lines of a file are the same from the partial parse as
    /// from the whole one: the move search takes the smallest of them.
    #[test]
    fn spans_around_lines_are_those_of_the_whole_parse() {
        let source = std::fs::read(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/testdata/zen-mesh/src/saas/back/internal/identity/spiffe.go"
        ))
        .unwrap();
        let whole: Vec<LineRange> = symbols::declarations(&GoFile::parse(source.clone()).unwrap())
            .into_iter()
            .map(|d| d.lines)
            .collect();
        let count = crate::go::count_lines(&source) as u32;
        let mut partial = 0;
        for a in 1..=count {
            for b in a..=count.min(a + 30) {
                let lines =
                    LineRange::new(LineNo::new(a).unwrap(), LineNo::new(b).unwrap()).unwrap();
                let Some(spans) = spans_around(&source, lines) else {
                    continue;
                };
                partial += 1;
                let expected: Vec<LineRange> = whole
                    .iter()
                    .copied()
                    .filter(|d| d.contains(lines))
                    .collect();
                assert_eq!(spans, expected, "lines {a}-{b}");
            }
        }
        assert!(partial > 0, "no partial parse was made");
    }
}
