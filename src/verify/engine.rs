//! Verifies the refs checked at one path: reads the blob once, answers what it can from the
//! result cache, parses only the declarations the remaining cited ranges need, and parses the
//! whole file (once) only for refs that do not hold there and must be relocated.
//!
//! Takes the jobs of one path (placed by `place`); gives each its report, or none for a ref
//! deferred until its history is known.

use std::cell::OnceCell;
use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};

use super::baseline;
use super::cache::{BlobChecks, CachedCheck, ResultCache};
use super::check::{new_report, settle_held, settle_verified, verify_job};
use super::context::declares;
use super::culprit::cited_lines_edited;
use super::excerpt::place;
use super::job::Job;
use super::last_held::{self, CitedText};
use super::parses::{ParseCache, Sources, Unreadable};
use super::provenance::OriginsMemo;
use super::{Run, VerifyOptions, evaluate};
use crate::anchors::Ref;
use crate::budget;
use crate::expect;
use crate::go::GoFile;
use crate::go::partial::CoveringPlans;
use crate::go::segments::{self, Segment};
use crate::lines::LineRange;
use crate::model::{ExpectationResult, How, Outcome, RefReport};
use crate::source::Files;

/// For refs without `at` (deferred: [`Job::defer`]) checked at their cited path, what the look
/// back for where their cited lines were last whole asks of the file at the verified revision
/// ([`last_held::cut_across_texts`]), by job index: worked out where the file is read for their
/// first check, so that look back need not read and lex it again.
#[derive(Default)]
pub(super) struct CitedNow(Mutex<HashMap<usize, CitedText>>);

impl CitedNow {
    fn work_out<'s>(
        &self,
        path: &str,
        members: &[usize],
        jobs: &[Job<'_>],
        bytes: &[u8],
        segments: &dyn Fn() -> Option<&'s [Segment]>,
    ) {
        let asked: Vec<usize> = members
            .iter()
            .copied()
            .filter(|&j| jobs[j].defer && jobs[j].r.path.value == path)
            .collect();
        if asked.is_empty() {
            return;
        }
        let lines: Vec<LineRange> = asked.iter().map(|&j| jobs[j].r.lines.value).collect();
        let texts = last_held::cut_across_texts(bytes, &lines, segments());
        let mut known = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        known.extend(asked.into_iter().zip(texts));
    }

    /// Everything worked out, by job index.
    pub(super) fn take(&self) -> HashMap<usize, CitedText> {
        std::mem::take(&mut *self.0.lock().unwrap_or_else(PoisonError::into_inner))
    }
}

/// The report of a ref whose check at `range` the cache holds: it held there. An entry exists
/// only for a range that lay inside the blob it was stored for.
fn from_cache(job: &Job<'_>, cached: &BlobChecks, range: LineRange) -> Option<RefReport> {
    // Whether it holds depends on the cited lines at `at` too, which the blob does not name.
    if baseline::applies(job) {
        return None;
    }
    let check = cached.get(job.r, range)?;
    let mut report = new_report(job);
    report.expectations = check.expectations.clone();
    report.parse_errors = check.parse_errors.clone();
    settle_verified(&mut report, job, range, None);
    report.settled()
}

/// The report of a ref whose check the work budget cut short: an error saying so, with
/// nothing from the work that was cut (no verdict is made from half a search).
pub(super) fn cut_short<O: From<Outcome>>(report: &mut RefReport<O>, message: String) {
    report.outcome = Outcome::Error(message).into();
    report.expectations.clear();
}

/// Verifies `members` (indexes into `jobs`), all checked first at `path`. A ref without a
/// report is deferred: it is checked again once its history is known. Three steps, each for
/// the refs the one before could not answer: the result cache, a partial parse, the whole file.
pub(super) fn verify_path(
    path: &str,
    members: &[usize],
    jobs: &[Job<'_>],
    run: &Run<'_>,
) -> Vec<(usize, Option<RefReport>)> {
    let Run {
        files,
        history,
        options,
        cache,
        cited_now,
        declared_names,
        declared,
        ..
    } = *run;
    // `audit` keeps every ref's highlighted lines, which only a whole parse gives and the
    // cache does not hold.
    let cache = cache.filter(|_| !options.keep_excerpts);
    // A ref whose cited lines were edited since `at` is asked, where it holds, whether it holds
    // only thanks to new lines past a weakened construct: a question of its history, which
    // neither the cache (by blob) nor the partial parse answers.
    let edited = |j: usize| cited_lines_edited(&jobs[j]);
    // When the tree names the blob and the cache answers for every ref, nothing is read.
    let known = match answer_by_tree(path, members, jobs, files, cache, &edited) {
        Ok(reports) => return reports,
        Err(known) => known,
    };
    let src = Sources {
        files,
        history,
        parses: ParseCache::new(),
        origins: OriginsMemo::default(),
        declared_names,
    };
    let blob = match files.read(path) {
        Ok(blob) => blob,
        Err(problem) => {
            let failed = Err(Unreadable::File(problem));
            return members
                .iter()
                .map(|&j| {
                    budget::take_cut();
                    let mut report = verify_job(&jobs[j], &failed, &src, options);
                    if let Some(message) = budget::take_cut_message() {
                        cut_short(&mut report, message);
                    }
                    (j, report.settled())
                })
                .collect();
        }
    };
    let whole_only = options.whole_files || options.keep_excerpts;
    // The file split into top-level declarations, for the partial parse's plans and for
    // lexing no more of the file than the look back asks: scanned once for both, when asked.
    let segments: OnceCell<Option<Vec<Segment>>> = OnceCell::new();
    let segments = || {
        segments
            .get_or_init(|| {
                (!whole_only)
                    .then(|| segments::segments(&blob.bytes))
                    .flatten()
            })
            .as_deref()
    };
    if let Some(cited_now) = cited_now {
        cited_now.work_out(path, members, jobs, &blob.bytes, &segments);
    }
    let line_count = crate::go::count_lines(&blob.bytes);
    // Each ref's first place to check, when it lies inside the file.
    let first = |j: usize| {
        let (_, mapped) = jobs[j].primary();
        mapped.filter(|m| m.end().get() <= line_count)
    };
    let mut answers = Answers {
        out: Vec::with_capacity(members.len()),
        fresh: Vec::new(),
        declaring: Vec::new(),
    };
    let mut pending: Vec<usize> = Vec::new();
    let cached = match (cache, known) {
        (Some(_), Some((id, cached))) if id == blob.id => cached,
        (Some(cache), _) => cache.load(&blob.id),
        (None, _) => BlobChecks::default(),
    };
    for &j in members {
        match first(j)
            .filter(|_| !edited(j))
            .and_then(|range| from_cache(&jobs[j], &cached, range))
        {
            Some(report) => answers.out.push((j, Some(report))),
            None => pending.push(j),
        }
    }
    let whole_needed = check_partial(
        &blob.bytes,
        pending,
        jobs,
        &src,
        &first,
        &edited,
        &segments,
        &mut answers,
    );
    if !whole_needed.is_empty() {
        check_whole(
            blob.bytes,
            whole_needed,
            jobs,
            &src,
            options,
            &first,
            &mut answers,
        );
    }
    let Answers {
        out,
        fresh,
        declaring,
    } = answers;
    for j in declaring {
        if let Some(symbol) = &jobs[j].r.symbol {
            declared.note(path, &symbol.value);
        }
    }
    if let Some(cache) = cache
        && !fresh.is_empty()
    {
        let entries = fresh
            .iter()
            .map(|(j, range, check)| (jobs[*j].r, *range, check.clone()));
        cache.store(&blob.id, cached, entries);
    }
    out
}

/// The reports of the refs of one path so far, the checks to keep by blob, and the refs whose
/// symbol a tree of the file was found to declare.
struct Answers {
    out: Vec<(usize, Option<RefReport>)>,
    fresh: Vec<(usize, LineRange, CachedCheck)>,
    declaring: Vec<usize>,
}

/// The cache step, before anything is read: every ref's report when the tree names the blob
/// and the cache answers for each; else the checks loaded for that blob, if any, for the next
/// steps.
#[allow(clippy::type_complexity)]
fn answer_by_tree(
    path: &str,
    members: &[usize],
    jobs: &[Job<'_>],
    files: &dyn Files,
    cache: Option<&ResultCache>,
    edited: &dyn Fn(usize) -> bool,
) -> Result<Vec<(usize, Option<RefReport>)>, Option<(String, BlobChecks)>> {
    if let Some(cache) = cache
        && let Some(id) = files.blob_id(path)
    {
        let cached = cache.load(&id);
        let hits: Option<Vec<(usize, Option<RefReport>)>> = members
            .iter()
            .map(|&j| {
                if edited(j) {
                    return None;
                }
                Some((
                    j,
                    Some(from_cache(&jobs[j], &cached, jobs[j].primary().1?)?),
                ))
            })
            .collect();
        if let Some(reports) = hits {
            return Ok(reports);
        }
        return Err(Some((id, cached)));
    }
    Err(None)
}

/// The partial-parse step: checks `pending` on a parse of only the declarations their first
/// places need, and returns those that need the whole file (failing there, a symbol declared
/// elsewhere, history to compare with), or all of them when no partial parse is made.
#[allow(clippy::too_many_arguments)]
fn check_partial<'s>(
    bytes: &[u8],
    pending: Vec<usize>,
    jobs: &[Job<'_>],
    src: &Sources<'_>,
    first: &dyn Fn(usize) -> Option<LineRange>,
    edited: &dyn Fn(usize) -> bool,
    segments: &dyn Fn() -> Option<&'s [Segment]>,
    answers: &mut Answers,
) -> Vec<usize> {
    let Answers {
        out,
        fresh,
        declaring,
    } = answers;
    // Cited lines changed where a guard may have been narrowed are compared with `at` on the
    // whole file whatever a partial tree says, unless the ref is deferred, which a failure
    // there would decide: those are not parsed partially first.
    let straight = |j: usize| first(j).is_some() && baseline::applies(&jobs[j]) && !jobs[j].defer;
    // Cited lines edited since `at` may hold only thanks to lines added past a weakened
    // construct: checked on the full plan's tree, and asked there whether they do when the
    // declarations around them tell (`settle_held`); else settled with the whole file.
    let lineaged = |j: usize| {
        first(j).is_some() && edited(j) && !baseline::applies(&jobs[j]) && !jobs[j].defer
    };
    let checked = || {
        pending
            .iter()
            .copied()
            .filter(|&j| !straight(j) && !lineaged(j))
    };
    let ranges: Option<Vec<LineRange>> = checked().map(first).collect();
    let edited_ranges: Vec<LineRange> = pending
        .iter()
        .copied()
        .filter(|&j| lineaged(j))
        .filter_map(first)
        .collect();
    let plans = match ranges {
        // A ref with no place to check goes straight to relocation, which needs the whole file.
        Some(ranges) if !ranges.is_empty() || !edited_ranges.is_empty() => segments()
            .and_then(|segments| GoFile::covering_plans(bytes, segments, &ranges, &edited_ranges)),
        _ => None,
    };
    let cited_answer = checked().all(|j| {
        jobs[j]
            .r
            .expect
            .iter()
            .all(expect::cited_declarations_answer)
    });
    // A ref checked at another place than cited (history mapped it) records that place when
    // checked on the whole file, not here; so only refs checked where cited may be answered
    // from a partial parse of a file the full plan would read most of.
    let where_cited = checked().all(|j| {
        let r = jobs[j].r;
        jobs[j].primary() == (r.path.value.as_str(), Some(r.lines.value))
    });
    let partials = Partials::new(bytes, plans, cited_answer, where_cited);
    let mut whole_needed: Vec<usize> = Vec::new();
    if !partials.any() {
        return pending;
    }
    for &j in &pending {
        let Some(range) = first(j).filter(|_| !straight(j)) else {
            // (Straight to the whole file, or no place to check here.)
            whole_needed.push(j);
            continue;
        };
        let job = &jobs[j];
        budget::take_cut();
        let evaluated = if lineaged(j) {
            let full = partials.full();
            full.map(|file| (file, evaluate::evaluate_ref(job.r, file, range)))
        } else {
            partials.evaluate(job.r, range)
        };
        let Some((file, results)) = evaluated else {
            // No full plan's tree, or one with syntax errors: the whole file says.
            whole_needed.push(j);
            continue;
        };
        if let Some(message) = budget::take_cut_message() {
            let mut report = new_report(job);
            cut_short(&mut report, message);
            out.push((j, report.settled()));
            continue;
        }
        if !evaluate::all_ok(&results) && job.defer {
            // Verified again once its history is known.
            out.push((j, None));
            continue;
        }
        // The partial tree holds the declarations around the range; a symbol declared
        // elsewhere is looked up in the whole file and its package.
        let symbol_here = job
            .r
            .symbol
            .as_ref()
            .is_none_or(|s| declares(file, &s.value));
        if symbol_here && job.r.symbol.is_some() {
            declaring.push(j);
        }
        // A deferred ref whose cited lines were edited, or changed where a guard may have
        // been narrowed, is settled with the whole file, like a failure: `check` compares it
        // with `at` once.
        let compare = !lineaged(j) && (edited(j) || baseline::applies(job));
        if !evaluate::all_ok(&results) || !symbol_here || compare {
            // Failing refs get near-miss messages and relocation from the whole file.
            whole_needed.push(j);
            continue;
        }
        let mut report = new_report(job);
        report.expectations = results;
        report.parse_errors = file.parse_error_lines(range);
        if lineaged(j) {
            let (path, _) = job.primary();
            if path != job.r.path.value || range != job.r.lines.value {
                report.checked = Some(Box::new(place(path, range)));
            }
            let rows = range.start().zero_based()..range.end().zero_based() + 1;
            let within = segments()
                .and_then(|segments| segments::around(segments, rows))
                .map(|rows| LineRange::from_zero_based(rows.start, rows.end - 1));
            let settled = within.is_some_and(|within| {
                settle_held(&mut report, job, file, src, range, false, Some(within))
            });
            if !settled {
                whole_needed.push(j);
                continue;
            }
            if let Some(message) = budget::take_cut_message() {
                cut_short(&mut report, message);
                out.push((j, report.settled()));
                continue;
            }
        } else {
            settle_verified(&mut report, job, range, None);
        }
        fresh.push((j, range, CachedCheck::of(&report)));
        out.push((j, report.settled()));
    }
    whole_needed
}

/// The partial trees of one file its refs' first checks are made on: the cited declarations
/// alone ([`GoFile::parse_cited`]) when every ref's expectations are answered from those
/// ([`expect::cited_declarations_answer`]) and they leave something out, and the full plan's
/// tree ([`GoFile::covering_plan`]) for the refs the cited declarations do not answer as it
/// would, made only if one needs it. When the full plan would read most of the file, the refs
/// the cited declarations do not answer go to the whole file, as every ref of it did before
/// they were tried.
struct Partials<'b> {
    bytes: &'b [u8],
    plans: Option<CoveringPlans>,
    cited: Option<GoFile>,
    full: OnceCell<Option<GoFile>>,
}

impl<'b> Partials<'b> {
    fn new(
        bytes: &'b [u8],
        plans: Option<CoveringPlans>,
        cited_answer: bool,
        where_cited: bool,
    ) -> Self {
        let cited = plans.as_ref().and_then(|p| {
            let cited = p.cited.as_ref()?;
            let worth_it = match &p.full {
                Some(full) => cited != full,
                None => where_cited,
            };
            (cited_answer && worth_it)
                .then(|| GoFile::parse_cited(bytes, cited).ok().flatten())
                .flatten()
        });
        Partials {
            bytes,
            plans,
            cited,
            full: OnceCell::new(),
        }
    }

    /// The full plan's tree; `None` without that plan or when that tree has syntax errors.
    fn full(&self) -> Option<&GoFile> {
        self.full
            .get_or_init(|| {
                let plan = self.plans.as_ref()?.full.as_ref()?;
                GoFile::parse_included(self.bytes, plan).ok().flatten()
            })
            .as_ref()
    }

    /// Whether any partial tree is to be had.
    fn any(&self) -> bool {
        self.cited.is_some() || self.full().is_some()
    }

    /// The tree `r` is checked on at `range` and the results of its expectations there: the
    /// cited declarations' when nothing asked looked outside them (now or for an earlier ref,
    /// whose facts may be shared) and they declare the symbol, else the full plan's tree
    /// (`None` when there is none: the whole file answers).
    fn evaluate(&self, r: &Ref, range: LineRange) -> Option<(&GoFile, Vec<ExpectationResult>)> {
        if let Some(cited) = self.cited.as_ref().filter(|c| !c.asked_outside()) {
            let results = evaluate::evaluate_ref(r, cited, range);
            let symbol_here = r.symbol.as_ref().is_none_or(|s| declares(cited, &s.value));
            if symbol_here && !cited.asked_outside() {
                return Some((cited, results));
            }
        }
        let full = self.full()?;
        Some((full, evaluate::evaluate_ref(r, full, range)))
    }
}

/// The whole-parse step: parses the file once for `whole_needed`, checks each ref on it and
/// relocates those whose evidence is not at their first place.
fn check_whole(
    bytes: Vec<u8>,
    whole_needed: Vec<usize>,
    jobs: &[Job<'_>],
    src: &Sources<'_>,
    options: &VerifyOptions,
    first: &dyn Fn(usize) -> Option<LineRange>,
    answers: &mut Answers,
) {
    let Answers {
        out,
        fresh,
        declaring,
    } = answers;
    let parsed = GoFile::parse(bytes).map_err(Unreadable::Parser);
    for j in whole_needed {
        budget::take_cut();
        let mut report = verify_job(&jobs[j], &parsed, src, options);
        if let Some(message) = budget::take_cut_message() {
            cut_short(&mut report, message);
        }
        // Kept by blob only when the answer depends on nothing but the blob: not when the
        // symbol is declared in another file of the package, or nowhere.
        let symbol_here = jobs[j]
            .r
            .symbol
            .as_ref()
            .is_none_or(|s| parsed.as_ref().is_ok_and(|file| declares(file, &s.value)));
        if symbol_here && jobs[j].r.symbol.is_some() {
            declaring.push(j);
        }
        let held_first = symbol_here
            && match &report.outcome {
                Some(Outcome::Verified) => true,
                Some(Outcome::Drifted { relocation, .. }) => relocation.how == How::History,
                _ => false,
            };
        if let Some(range) = first(j).filter(|_| held_first) {
            fresh.push((j, range, CachedCheck::of(&report)));
        }
        out.push((j, report.settled()));
    }
}
