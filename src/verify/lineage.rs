//! What the cited code became since the ref's `at`, for a ref history mapped to a place where
//! it no longer holds. Relocation (symbol, package, search) may move such a ref only to where
//! the cited code went:
//!
//! - code that existed at `at` outside the cited lines is never that place (an identical log
//!   call elsewhere in the function, the next block of route registrations);
//! - a construct the cited lines held as evidence that is still in its file, kept or edited,
//!   must be part of the evidence at the new place: when it is not, it was weakened in place
//!   (a wrapper dropped from one registration, a guard commented out), and a wider or other
//!   range that holds only hides it;
//! - the evidence at the new place must descend from the cited lines or be near-identical to
//!   the cited evidence (the same code moved, re-wrapped or re-indented), not merely satisfy
//!   the expectations;
//! - once history saw every cited line deleted (or their file), the evidence at the new place
//!   must descend from code that existed in the commit that deleted them (moved there in that
//!   commit, or copied earlier): code written after it is a new construct, however alike. The
//!   same holds when history mapped the lines but no cited evidence construct is left in their
//!   file (rewritten into other code), from the last commit that edited them.
//!
//! A ref whose every place is refused that way is broken where history mapped it, and the line
//! that changed there is named. Where history mapped it and it holds, but only thanks to lines
//! added since `at` while a cited construct changed and no longer holds, it is broken too
//! ([`Lineage::padded`]): a range does not grow over new code to make up for weakened code.

use std::collections::HashSet;
use std::rc::Rc;

use crate::anchors::{Expectation, Ref};
use crate::expect::{self, Scope};
use crate::go::GoFile;
use crate::lines::{LineNo, LineRange};
use crate::model::{Candidate, Draft};
use crate::source::{FileBlob, Files};

use super::context::declared_name;
use super::job::Job;
use super::parses::Sources;
use super::provenance::{self, Origin, Origins};

/// A construct the cited lines held as evidence at `at` that is still in its file.
#[derive(Clone, Debug)]
struct Survivor {
    /// The index of the expectation it satisfied.
    expectation: usize,
    /// Its lines now (kept or edited), in the file history mapped the ref to.
    now: Vec<LineNo>,
}

/// The cited code at `at` and what became of it in the file history mapped the ref to.
pub(super) struct Lineage<'s> {
    at: String,
    /// The file history mapped the ref to, at the verified revision.
    mapped_path: String,
    /// The cited lines at `at`.
    cited: LineRange,
    /// The cited file's lines at `at`, for naming what a changed line was.
    old_lines: Vec<String>,
    /// Where the mapped file's lines came from, compared with the cited file at `at`.
    origins: Rc<Origins>,
    survivors: Vec<Survivor>,
    /// The step that deleted every cited line, when history saw one; else the last step that
    /// edited them, after which the cited evidence may be gone from them (see [`Lineage::gone`]).
    deleted: Option<Deleted>,
    edited: Option<Deleted>,
    /// The cited file at `at`, and the lines of each construct the cited lines held as
    /// evidence there.
    old: FileBlob,
    evidence_lines: Vec<LineRange>,
    /// The text (without whitespace) of every construct the cited lines held as evidence at
    /// `at`, with the index of its expectation.
    evidence: Vec<(usize, String)>,
    src: &'s Sources<'s>,
}

/// The step of history after which none of the cited code is left in its file: the one that
/// deleted every cited line (or their file), or the last that edited lines rewritten into
/// other code.
struct Deleted {
    /// The commit, and how a message says what it did: `deleted in 4e1c9a2 'subject'`.
    commit: String,
    named: String,
    /// The path history followed the cited file to, in that commit.
    path: String,
}

impl Deleted {
    /// The last step of `mapping`, when it left no cited line and names a commit: history
    /// stops mapping a range once its every line is deleted, so that step deleted them.
    fn of(mapping: &super::history::Mapping) -> Option<Deleted> {
        let last = mapping.steps.last().filter(|s| s.lines.is_none())?;
        Deleted::at(last, "deleted")
    }

    /// The last step of `mapping` that edited the mapped lines: when the cited evidence is
    /// gone from them by then, they were rewritten into other code, and it went nowhere later.
    fn last_edit(mapping: &super::history::Mapping) -> Option<Deleted> {
        let step = mapping
            .steps
            .iter()
            .rev()
            .find(|s| s.edited && s.lines.is_some())?;
        Deleted::at(step, "rewritten into other code")
    }

    fn at(step: &super::history::Step, how: &str) -> Option<Deleted> {
        let commit = step.commit.as_ref()?;
        Some(Deleted {
            commit: commit.id.clone(),
            named: format!("{how} in {} '{}'", commit.short, commit.subject),
            path: step.path.clone(),
        })
    }
}

/// A question about a partial tree that reaches past the lines it answers about as the whole
/// file would ([`Lineage::padded`]): the whole file must answer it.
#[derive(Debug)]
pub(super) struct Beyond;

/// Why relocation may not move a ref to a place.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) enum Refusal {
    /// Its evidence at `line` existed at `at` outside the cited lines.
    PreExisting { line: LineNo },
    /// The cited construct now at `line` (still in its file) is not part of its evidence.
    LeftBehind { line: LineNo, kind: &'static str },
    /// Its `kind` evidence, first at `line`, neither descends from the cited lines nor is like
    /// the cited evidence: other code, not the cited code moved.
    Unlike { line: LineNo, kind: &'static str },
    /// Its `kind` evidence, first at `line`, was written after the commit (`deleted`, saying
    /// what it did) after which none of the cited code was left in its file: a new construct,
    /// not the cited code moved.
    WrittenLater {
        line: LineNo,
        kind: &'static str,
        deleted: String,
    },
}

impl Refusal {
    fn describe(&self, place: &str) -> String {
        match self {
            Refusal::PreExisting { line } => format!(
                "not relocated to {place}: its evidence at line {line} was already there at `at`, outside the cited lines"
            ),
            Refusal::LeftBehind { line, kind } => format!(
                "not relocated to {place}: the cited {kind} evidence is still at line {line}, changed, and no longer holds there"
            ),
            Refusal::Unlike { line, kind } => format!(
                "not relocated to {place}: its {kind} evidence at line {line} is other code, not the cited code moved"
            ),
            Refusal::WrittenLater {
                line,
                kind,
                deleted,
            } => format!(
                "not relocated to {place}: its {kind} evidence at line {line} was written after the cited lines were {deleted}, not moved there"
            ),
        }
    }
}

impl<'s> Lineage<'s> {
    /// The lineage of `job`'s cited lines, when history mapped them from `at` and the cited
    /// file can be read there; `current` is the file history mapped them to (`None` when it is
    /// gone). `context_next` says the `at` version's context (`old_context`) is read after it,
    /// whose partial parse is then made here, to be shared.
    pub(super) fn of(
        job: &Job<'_>,
        current: Option<&GoFile>,
        src: &'s Sources<'s>,
        context_next: bool,
    ) -> Option<Lineage<'s>> {
        let mapping = job.mapping()?;
        let at = job.at.as_deref()?;
        let r = job.r;
        let cited = r.lines.value;
        let snapshot = src.history?.git.resolve(at).ok()?;
        let old = snapshot.read(&r.path.value).ok()?;
        if cited.end().get() > crate::go::count_lines(&old.bytes) {
            return None;
        }
        // The partial parse the other refs of the file share, and the `at` version's context
        // when read next (its plan also keeps the declarations mentioning the symbol's name,
        // which answer the questions asked here as the smaller plan does); else a whole one,
        // made here as before (not the cache's: that one is charged for).
        let name = r
            .symbol
            .as_ref()
            .filter(|_| context_next)
            .map(|s| declared_name(&s.value));
        let old_file = match src.parses.partial(&old, &[cited], name) {
            Ok(Some(partial)) => partial,
            _ => match src.parses.get(&old) {
                Some(whole) => whole,
                None => Rc::new(GoFile::parse(old.bytes.clone()).ok()?),
            },
        };
        let origins = match current {
            Some(file) => src.origins.between(Some(&old), file.source()),
            None => Rc::default(),
        };
        let mut survivors = Vec::new();
        let mut texts = Vec::new();
        let mut evidence_lines = Vec::new();
        for (i, e) in positive(r) {
            let evidence = expect::evaluate_evidence(e, &old_file, cited, Scope::Range);
            if !evidence.result.ok {
                continue;
            }
            for (_, lines) in evidence.cited {
                texts.push((i, compact(&old_file.lines_text(lines))));
                evidence_lines.push(lines);
                let now = origins.descendants(lines);
                if !now.is_empty() {
                    survivors.push(Survivor {
                        expectation: i,
                        now,
                    });
                }
            }
        }
        let deleted = Deleted::of(mapping);
        let edited = deleted
            .is_none()
            .then(|| Deleted::last_edit(mapping))
            .flatten();
        Some(Lineage {
            at: at.to_string(),
            mapped_path: mapping.path.clone(),
            cited,
            old_lines: String::from_utf8_lossy(&old.bytes)
                .lines()
                .map(str::to_string)
                .collect(),
            origins,
            survivors,
            deleted,
            edited,
            old,
            evidence_lines,
            evidence: texts,
            src,
        })
    }

    /// For `range` of `file` (the mapped file), where `r` holds: a construct the cited lines
    /// held as evidence at `at`, still in the file but changed so that it is no longer evidence,
    /// while the range holds only thanks to lines new since `at` (a route that lost its wrapper
    /// pushed out of a `min: 5` range by a new one). Then the ref is broken over the range and
    /// that construct, as evaluated without the new lines, pointing at the changed construct.
    ///
    /// `within`, for a partial tree, is the lines it answers about as the whole file would:
    /// [`Beyond`] when a changed construct makes the question reach past them.
    pub(super) fn padded(
        &self,
        r: &Ref,
        file: &GoFile,
        range: LineRange,
        within: Option<LineRange>,
    ) -> Result<Option<(LineRange, Vec<crate::model::ExpectationResult>)>, Beyond> {
        for survivor in &self.survivors {
            let edited = survivor
                .now
                .iter()
                .any(|&l| matches!(self.origins.of(l), Origin::Edited(_)));
            let (Some(&first), Some(&last)) = (survivor.now.first(), survivor.now.last()) else {
                continue;
            };
            if !edited {
                continue;
            }
            let Some(span) = LineRange::new(first, last).map(|lines| lines.cover(range)) else {
                return Ok(None);
            };
            if within.is_some_and(|within| !within.contains(span)) {
                return Err(Beyond);
            }
            let e = &r.expect[survivor.expectation];
            let evidence = expect::evaluate_evidence(e, file, span, Scope::Range);
            let still = evidence.result.ok
                && evidence
                    .cited
                    .iter()
                    .any(|(_, c)| survivor.now.iter().any(|&l| c.contains_line(l)));
            if still {
                continue;
            }
            // Without the lines added since `at`, would the cited code still meet it?
            let added: Vec<LineNo> = (span.start().get()..=span.end().get())
                .filter_map(LineNo::new)
                .filter(|&l| {
                    self.origins.of(l) == Origin::New && !file.line_text(l).trim().is_empty()
                })
                .collect();
            if added.is_empty() {
                continue;
            }
            let Ok(without) = GoFile::parse(blank_lines(file.source(), &added)) else {
                return Ok(None);
            };
            let mut results = super::evaluate::evaluate_ref(r, &without, span);
            if super::evaluate::all_ok(&results) {
                continue;
            }
            let listed: Vec<String> = added.iter().map(|l| l.to_string()).collect();
            let was = self.was(first);
            for result in results.iter_mut().filter(|e| !e.ok) {
                result.near_miss = Some(first);
                result.message.push_str(&format!(
                    "; line {first} changed since `at`{was}, and the range holds only with line {} added since then",
                    listed.join(", ")
                ));
            }
            return Ok(Some((span, results)));
        }
        Ok(None)
    }

    /// `: it was `...`` for a line of the mapped file edited from a line of the cited file.
    fn was(&self, line: LineNo) -> String {
        match self.origins.of(line) {
            Origin::Edited(old) => self
                .old_lines
                .get(old as usize - 1)
                .map(|t| format!(": it was `{}`", t.trim()))
                .unwrap_or_default(),
            _ => String::new(),
        }
    }

    /// `range` (where history mapped the cited lines in `file`, the mapped file) completed to
    /// the whole statements its first and last lines belong to, when history cut one that a
    /// rewrite spread over more lines (a call re-wrapped over five lines keeps only its first
    /// or last line in the mapped range) and the lines taken in are all rewritten or new
    /// since `at`: the same construct, never code that was there or another statement.
    pub(super) fn complete(&self, file: &GoFile, range: LineRange) -> Option<LineRange> {
        // Blank lines carry no code (the diff may pair an added one with any old one).
        let rewritten = |from: u32, to: u32| {
            (from..=to)
                .filter_map(LineNo::new)
                .filter(|l| !file.line_text(*l).trim().is_empty())
                .all(|l| !matches!(self.origins.of(l), Origin::Kept(_)))
        };
        let (a, b) = (range.start(), range.end());
        // Innermost first: the outermost one that qualifies is the whole statement.
        let end = file
            .enclosing_spans(LineRange::single(b))
            .into_iter()
            .filter(|s| s.start() >= a && s.end() > b)
            .filter(|s| rewritten(b.get() + 1, s.end().get()))
            .map(|s| s.end())
            .max()
            .unwrap_or(b);
        let start = file
            .enclosing_spans(LineRange::single(a))
            .into_iter()
            .filter(|s| s.end() <= b && s.start() < a)
            .filter(|s| rewritten(s.start().get(), a.get() - 1))
            .map(|s| s.start())
            .min()
            .unwrap_or(a);
        LineRange::new(start, end).filter(|whole| *whole != range)
    }

    /// The step after which none of the cited evidence was left where history mapped the
    /// cited lines: the one that deleted them all, or the last that edited them when no
    /// construct the cited lines held as evidence at `at` descends into the file it left
    /// (rewritten into other code). Past it, the cited code went nowhere: a place whose
    /// evidence did not exist then is other code.
    fn gone(&self) -> Option<&Deleted> {
        if let Some(deleted) = &self.deleted {
            return Some(deleted);
        }
        let edited = self.edited.as_ref()?;
        if self.evidence_lines.is_empty() {
            return None;
        }
        let then = self
            .src
            .history?
            .git
            .resolve(&edited.commit)
            .ok()?
            .read(&edited.path)
            .ok()?;
        let origins = self.src.origins.between(Some(&self.old), &then.bytes);
        // A line diff misses code moved and re-indented (a block one level deeper): a telling
        // line of the cited evidence found anywhere in that version, as it was but for its
        // indentation, is kept too.
        let text = String::from_utf8_lossy(&then.bytes);
        let present: HashSet<&str> = text.lines().map(str::trim).collect();
        let kept = self.evidence_lines.iter().any(|lines| {
            !origins.descendants(*lines).is_empty()
                || (lines.start().get()..=lines.end().get())
                    .filter_map(|l| self.old_lines.get(l as usize - 1))
                    .map(|l| l.trim())
                    .filter(|l| provenance::is_telling(l))
                    .any(|l| present.contains(l))
        });
        (!kept).then_some(edited)
    }

    /// Keeps the places relocation found that are where the cited code went; the others are
    /// refused, with a note each.
    pub(super) fn vet(
        &self,
        r: &Ref,
        places: Vec<Candidate>,
        current: Option<&GoFile>,
        notes: &mut Vec<String>,
    ) -> Vec<Candidate> {
        // Each other file's lines compared with its version at `at`, or, for a file new since,
        // with the cited file at `at` (then `true`): a function moved into a new file keeps its
        // lines' origins in the cited file, so code moved with the cited lines but from outside
        // them (a twin guard beside them) is told from the cited code.
        let mut other_origins: Vec<(String, Rc<Origins>, bool)> = Vec::new();
        // Each file's lines compared with its version in the commit after which the cited
        // evidence was gone from where history mapped it (see `gone`), when it was.
        let mut since_deleted: Vec<(String, Rc<Origins>)> = Vec::new();
        let gone = (!places.is_empty()).then(|| self.gone()).flatten();
        let deleted_in = gone.as_ref().and_then(|d| {
            let snapshot = self.src.history?.git.resolve(&d.commit).ok()?;
            Some((d, snapshot))
        });
        let mut kept = Vec::new();
        for candidate in places {
            let path = candidate.place.path.as_str();
            let elsewhere;
            let file = if path == self.mapped_path && current.is_some() {
                current
            } else {
                elsewhere = self.src.parses.read_whole(self.src.files, path).ok();
                elsewhere.as_deref()
            };
            let Some(file) = file else {
                kept.push(candidate);
                continue;
            };
            let same_file = path == self.mapped_path;
            if !same_file && !other_origins.iter().any(|(p, _, _)| p == path) {
                let at = self.src.history.and_then(|h| h.git.resolve(&self.at).ok());
                let before = at.as_ref().and_then(|s| s.read(path).ok());
                let new_file = before.is_none();
                let before = before.or_else(|| at.as_ref()?.read(&r.path.value).ok());
                let origins = self.src.origins.between(before.as_ref(), file.source());
                other_origins.push((path.to_string(), origins, new_file));
            }
            let (origins, outside) = if same_file {
                (&self.origins, Some(self.cited))
            } else {
                other_origins
                    .iter()
                    .find(|(p, _, _)| p == path)
                    .map(|(_, o, new_file)| (o, new_file.then_some(self.cited)))
                    .unwrap_or((&self.origins, None))
            };
            let then = deleted_in.as_ref().map(|(deleted, snapshot)| {
                if let Some((_, known)) = since_deleted.iter().find(|(p, _)| p == path) {
                    return Rc::clone(known);
                }
                // The mapped file by the name history followed it to in that commit.
                let name = if same_file { &deleted.path } else { path };
                let before = snapshot.read(name).ok();
                let origins = self.src.origins.between(before.as_ref(), file.source());
                since_deleted.push((path.to_string(), Rc::clone(&origins)));
                origins
            });
            let written = then.as_deref().zip(gone);
            match self.refusal(
                r,
                file,
                candidate.place.lines,
                (origins, outside),
                same_file,
                written,
            ) {
                Some(refusal) => notes.push(refusal.describe(&format!(
                    "{}:{}",
                    candidate.place.path, candidate.place.lines
                ))),
                None => kept.push(candidate),
            }
        }
        kept
    }

    /// Why the evidence of `r` at `lines` of `file` is not where the cited code went, if it
    /// is not; `origins` says where that file's lines came from and, with them, the lines
    /// there that were the cited ones (`None` when that file is another than the cited one at
    /// `at`), `same_file` whether it is the file history mapped the ref to, and `written`,
    /// when history saw every cited line deleted, where they came from compared with that
    /// file in the commit that deleted them.
    fn refusal(
        &self,
        r: &Ref,
        file: &GoFile,
        lines: LineRange,
        (origins, outside): (&Origins, Option<LineRange>),
        same_file: bool,
        written: Option<(&Origins, &Deleted)>,
    ) -> Option<Refusal> {
        for (i, e) in positive(r) {
            let evidence = expect::evaluate_evidence(e, file, lines, Scope::Range);
            let constructs: Vec<LineRange> = evidence.cited.iter().map(|(_, c)| *c).collect();
            for survivor in self.survivors.iter().filter(|s| s.expectation == i) {
                let covered = same_file
                    && constructs
                        .iter()
                        .any(|c| survivor.now.iter().any(|&l| c.contains_line(l)));
                if !covered && let Some(&line) = survivor.now.first() {
                    return Some(Refusal::LeftBehind {
                        line,
                        kind: e.kind(),
                    });
                }
            }
            // Once every cited line was deleted, code that did not exist in that commit is
            // other code, however like the cited evidence it is (the same call, written again
            // in a new function).
            if let Some((then, deleted)) = written
                && let Some(first) = constructs.first()
                && !constructs.iter().any(|c| then.descends_any(*c))
            {
                return Some(Refusal::WrittenLater {
                    line: first.start(),
                    kind: e.kind(),
                    deleted: deleted.named.clone(),
                });
            }
            // Like the cited evidence: descending from the cited lines, or near-identical to
            // what they held (the same code moved, re-wrapped or re-indented).
            let old: Vec<&String> = self
                .evidence
                .iter()
                .filter(|(k, _)| *k == i)
                .map(|(_, t)| t)
                .collect();
            let alike = |c: &LineRange| {
                let from_cited = same_file
                    && (c.start().get()..=c.end().get())
                        .filter_map(LineNo::new)
                        .any(|l| {
                            origins
                                .of(l)
                                .old_line()
                                .and_then(LineNo::new)
                                .is_some_and(|o| self.cited.contains_line(o))
                        });
                let text = compact(&file.lines_text(*c));
                from_cited
                    || old
                        .iter()
                        .any(|t| provenance::normalized_levenshtein(t, &text) >= LIKE_CITED)
            };
            if !old.is_empty()
                && !constructs.iter().any(alike)
                && let Some(first) = constructs.first()
            {
                return Some(Refusal::Unlike {
                    line: first.start(),
                    kind: e.kind(),
                });
            }
            // In another file, any line it held at `at` was already there.
            if let Some(construct) = constructs
                .iter()
                .find(|c| origins.all_from_outside(**c, outside))
            {
                return Some(Refusal::PreExisting {
                    line: construct.start(),
                });
            }
        }
        None
    }

    /// Makes each failing expectation of a broken `report`, checked at `range` of the mapped
    /// file, point at the line that changed there since `at` when it points neither at a
    /// changed line nor into a cited construct that changed: at the changed line of such a
    /// construct, else the first changed line of the range.
    pub(super) fn name_changed_line(&self, report: &mut Draft, file: &GoFile, range: LineRange) {
        // Blank lines are no change worth naming.
        let changed: Vec<(LineNo, Origin)> = (range.start().get()..=range.end().get())
            .filter_map(LineNo::new)
            .map(|l| (l, self.origins.of(l)))
            .filter(|(l, o)| !matches!(o, Origin::Kept(_)) && !file.line_text(*l).trim().is_empty())
            .collect();
        if changed.is_empty() {
            return;
        }
        let is_changed = |l: LineNo| changed.iter().any(|c| c.0 == l);
        for (i, result) in report.expectations.iter_mut().enumerate() {
            // The cited constructs of this expectation that changed.
            let weakened: Vec<&Survivor> = self
                .survivors
                .iter()
                .filter(|s| s.expectation == i && s.now.iter().any(|&l| is_changed(l)))
                .collect();
            let on_it = |l: LineNo| {
                is_changed(l)
                    || weakened.iter().any(|s| {
                        let (first, last) = (s.now[0], s.now[s.now.len() - 1]);
                        first <= l && l <= last
                    })
            };
            if result.ok || result.near_miss.is_some_and(on_it) {
                continue;
            }
            let own = weakened
                .iter()
                .flat_map(|s| s.now.iter())
                .find_map(|l| changed.iter().find(|c| c.0 == *l));
            let Some(&(line, origin)) = own.or_else(|| changed.first()) else {
                continue;
            };
            let was = match origin {
                Origin::Edited(_) => self.was(line),
                _ => String::new(),
            };
            result.near_miss = Some(line);
            result
                .message
                .push_str(&format!("; line {line} changed since `at`{was}"));
        }
    }
}

/// `source` with the `lines` made blank (their line endings kept, so every line keeps its
/// number).
fn blank_lines(source: &[u8], lines: &[LineNo]) -> Vec<u8> {
    let mut out = Vec::with_capacity(source.len());
    for (i, line) in source.split_inclusive(|&b| b == b'\n').enumerate() {
        if lines.contains(&LineNo::from_zero_based(i)) {
            let ending = if line.ends_with(b"\r\n") {
                &b"\r\n"[..]
            } else if line.ends_with(b"\n") {
                &b"\n"[..]
            } else {
                &b""[..]
            };
            out.extend_from_slice(ending);
        } else {
            out.extend_from_slice(line);
        }
    }
    out
}

/// How alike (normalized Levenshtein, whitespace removed) evidence found elsewhere must be to
/// the cited evidence to be the cited code moved.
const LIKE_CITED: f64 = 0.6;

/// Most characters of a construct compared for likeness.
const MAX_COMPARED: usize = 2_000;

/// The text of `lines` without whitespace (so re-wrapping and re-indenting change nothing), at
/// most [`MAX_COMPARED`] characters.
fn compact(lines: &[String]) -> String {
    lines
        .iter()
        .flat_map(|l| l.chars())
        .filter(|c| !c.is_whitespace())
        .take(MAX_COMPARED)
        .collect()
}

/// The expectations of `r` that look for something present (not `not`), with their indexes.
fn positive(r: &Ref) -> impl Iterator<Item = (usize, &Expectation)> {
    r.expect
        .iter()
        .enumerate()
        .filter(|(_, e)| !matches!(e, Expectation::Not(_)))
}
