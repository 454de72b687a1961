//! Verdicts: maps cited ranges through history, reads and parses each file once, evaluates every
//! ref on its one tree, relocates what moved, and assembles the report in anchors.yaml order.

pub mod cache;
mod engine;
#[cfg(test)]
mod excerpt_tests;
pub mod hints;
pub mod history;
mod last_held;
mod moves;
pub mod progress;
pub mod relocate;
pub mod shape;

use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;

use rayon::prelude::*;

use crate::anchors::{AnchorsFile, Claim, Ref};
use crate::docs;
use crate::expect::ExpectationResult;
use crate::go::GoFile;
use crate::go::symbols;
use crate::lines::LineRange;
use crate::report::{
    ClaimReport, Commit, Culprit, CulpritKind, Excerpt, How, Place, RefReport, Relocation, Report,
    Verdict,
};
use crate::source::history::{CommitInfo, Endpoint};
use crate::source::{FileBlob, FileProblem, Files, GitRepo, SourceError, location};
use history::{HistoryOutcome, Mapping, Tracked};
use relocate::{Candidate, OldDeclaration};
use shape::Shape;

/// Why the file a ref is checked at could not be parsed.
#[derive(Clone, Debug)]
enum Unreadable {
    File(FileProblem),
    Parser(String),
}

impl std::fmt::Display for Unreadable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Unreadable::File(problem) => problem.fmt(f),
            Unreadable::Parser(message) => f.write_str(message),
        }
    }
}

/// How many commits back history is looked for, by default, for a ref without `at` that does
/// not hold at its cited place.
pub const DEFAULT_HISTORY_DEPTH: usize = 2_000;

/// What to verify.
#[derive(Clone, Debug)]
pub struct VerifyOptions {
    /// Only these claim ids (all when empty).
    pub claims: Vec<String>,
    /// For `diff`: relocate every ref from this commit as if it were the ref's `at`, and say
    /// which refs the change touched.
    pub base: Option<String>,
    /// Told as each cited file finishes, for a progress bar.
    pub progress: Option<progress::Progress>,
    /// Keep the checked lines of every ref, verified ones too, with Go syntax highlighting, and
    /// the lines at a drifted ref's new place with the expectations evaluated there: what
    /// `audit` shows. Off, only refs that did not verify keep their (plain) lines.
    pub keep_excerpts: bool,
    /// Where to keep results by blob id between runs (`--cache DIR`); off when `None`.
    pub cache: Option<std::path::PathBuf>,
    /// Signs cache files, and makes unsigned or foreign-signed ones ignored.
    pub cache_key: Option<cache::CacheKey>,
    /// Parse every cited file whole, never partially (for differential tests).
    pub whole_files: bool,
    /// For a ref without `at` that does not hold at its cited place: how many commits before
    /// the revision to look through for the newest one at which it held there (0: none).
    pub history_depth: usize,
}

impl Default for VerifyOptions {
    fn default() -> Self {
        VerifyOptions {
            claims: Vec::new(),
            base: None,
            progress: None,
            keep_excerpts: false,
            cache: None,
            cache_key: None,
            whole_files: false,
            history_depth: DEFAULT_HISTORY_DEPTH,
        }
    }
}

/// Why verification could not run at all.
#[derive(Debug, thiserror::Error)]
pub enum VerifyError {
    #[error("no claim with id `{id}` in anchors.yaml{hint}")]
    UnknownClaim { id: String, hint: String },
    /// A run that checks no ref would pass vacuously.
    #[error(
        "nothing to verify: the {claims} selected claim(s) have no refs (a green run must have checked something)"
    )]
    NothingToVerify { claims: usize },
    #[error(transparent)]
    Source(#[from] SourceError),
}

/// Describes the revision being verified, for the report header.
#[derive(Clone, Debug)]
pub struct RevisionInfo {
    pub repo: String,
    pub rev: String,
    pub commit: Option<String>,
}

/// Where history comes from when the files are a git revision.
#[derive(Clone, Debug)]
pub struct HistorySource<'a> {
    pub git: &'a GitRepo,
    /// The revision being verified.
    pub target: Endpoint,
    /// Its commit (HEAD's for the working tree; `None` in an empty repository).
    pub target_commit: Option<String>,
}

/// The claims selected by `options`, in file order; an unknown id is an error, never a pass.
pub fn select_claims<'a>(
    anchors: &'a AnchorsFile,
    options: &VerifyOptions,
) -> Result<Vec<&'a Claim>, VerifyError> {
    let ids: Vec<&str> = anchors.claims.iter().map(|c| c.id.value.as_str()).collect();
    for wanted in &options.claims {
        if !ids.contains(&wanted.as_str()) {
            let hint = crate::anchors::did_you_mean(wanted, &ids)
                .map(|c| format!("; did you mean `{c}`?"))
                .unwrap_or_default();
            return Err(VerifyError::UnknownClaim {
                id: wanted.clone(),
                hint,
            });
        }
    }
    Ok(anchors
        .claims
        .iter()
        .filter(|c| options.claims.is_empty() || options.claims.contains(&c.id.value))
        .collect())
}

/// One ref to verify, with where history says its lines are now.
struct Job<'a> {
    claim: usize,
    index: usize,
    r: &'a Ref,
    history: Option<HistoryOutcome>,
    /// Report how history touched the cited lines (`diff`).
    report_touch: bool,
    /// The commit history starts from: `diff`'s base, else the ref's `at`, else the commit at
    /// which a ref without `at` was found to hold last.
    at: Option<String>,
    /// A ref without `at` whose history may be looked for: when its first check fails it stops
    /// there, and is verified again once history is known.
    defer: bool,
    /// For a ref without `at`: the commit found where it last held (history starts there).
    found_at: Option<String>,
    /// What looking for that commit found, for the report.
    note: Option<String>,
}

impl Job<'_> {
    fn mapping(&self) -> Option<&Mapping> {
        match &self.history {
            Some(HistoryOutcome::Mapped(m)) => Some(m),
            _ => None,
        }
    }

    /// The path and lines to check first: the history-mapped place, else the cited one.
    fn primary(&self) -> (&str, Option<LineRange>) {
        match self.mapping() {
            Some(m) => (&m.path, m.lines),
            None => (&self.r.path.value, Some(self.r.lines.value)),
        }
    }
}

/// Verifies the selected claims against `files` (with `history` when they come from git). Each
/// distinct path is read and parsed once, files in parallel; the report keeps anchors.yaml
/// order whatever the scheduling.
pub fn verify(
    anchors: &AnchorsFile,
    files: &dyn Files,
    history: Option<&HistorySource<'_>>,
    revision: RevisionInfo,
    options: &VerifyOptions,
) -> Result<Report, VerifyError> {
    let claims = select_claims(anchors, options)?;
    let mut jobs: Vec<Job<'_>> = claims
        .iter()
        .enumerate()
        .flat_map(|(ci, claim)| {
            claim.refs.iter().enumerate().map(move |(ri, r)| Job {
                claim: ci,
                index: ri,
                r,
                history: None,
                report_touch: options.base.is_some(),
                at: options
                    .base
                    .clone()
                    .or_else(|| r.at.as_ref().map(|a| a.value.clone())),
                defer: false,
                found_at: None,
                note: None,
            })
        })
        .collect();
    if jobs.is_empty() {
        return Err(VerifyError::NothingToVerify {
            claims: claims.len(),
        });
    }
    // `diff` follows every ref from its base, and `fix` writes no `at` at the working tree.
    let at_a_commit = history.is_some_and(|h| matches!(h.target, Endpoint::Commit(_)));
    let refs_without_at = if options.base.is_none() && at_a_commit {
        jobs.iter().filter(|job| job.r.at.is_none()).count()
    } else {
        0
    };
    let cache = options
        .cache
        .as_ref()
        .map(|dir| cache::ResultCache::new(dir, options.cache_key.clone()));
    // Whole reports kept for this commit answer their refs before any history is walked.
    let at_commit = match (&cache, history) {
        (Some(cache), Some(source))
            if !options.keep_excerpts && matches!(source.target, Endpoint::Commit(_)) =>
        {
            let commit = source.target_commit.as_deref();
            commit.map(|c| (cache, c, cache.load_commit(c)))
        }
        _ => None,
    };
    let mut reused: Vec<(usize, usize, RefReport)> = Vec::new();
    if let Some((_, _, known)) = &at_commit {
        jobs.retain(
            |job| match report_key(job, options).and_then(|k| known.get(&k)) {
                Some(report) => {
                    reused.push((job.claim, job.index, report.clone()));
                    false
                }
                None => true,
            },
        );
    }
    map_history(&mut jobs, history)?;
    let may_look_back = history.is_some_and(|h| h.target_commit.is_some());
    if may_look_back && options.history_depth > 0 {
        for job in jobs.iter_mut().filter(|job| job.at.is_none()) {
            job.defer = true;
        }
    }
    let all: Vec<usize> = (0..jobs.len()).collect();
    let mut evaluated = evaluate(&jobs, &all, files, history, options, cache.as_ref(), true);
    // Refs without `at` that did not hold: find where they last did, follow history from
    // there, and verify them again.
    let redo: Vec<usize> = evaluated
        .iter()
        .filter(|(j, report)| jobs[*j].defer && report.verdict != Verdict::Verified)
        .map(|(j, _)| *j)
        .collect();
    if let (Some(source), false) = (history, redo.is_empty()) {
        follow_from_last_held(&mut jobs, &redo, source, options.history_depth)?;
        let again = evaluate(&jobs, &redo, files, history, options, cache.as_ref(), false);
        let mut slot: HashMap<usize, usize> = HashMap::new();
        for (i, (j, _)) in evaluated.iter().enumerate() {
            slot.insert(*j, i);
        }
        for (j, report) in again {
            if let Some(&i) = slot.get(&j) {
                evaluated[i].1 = report;
            }
        }
    }

    if let Some((cache, commit, known)) = at_commit {
        // Reports that looked beyond their blob: history, relocation, other files. Not those
        // whose history was unavailable (a shallow clone) or that could not read a file: more
        // history fetched, or a read that works next time, changes them at the same commit.
        let fresh: Vec<(String, RefReport)> = evaluated
            .iter()
            .filter(|(j, report)| jobs[*j].at.is_some() || report.verdict != Verdict::Verified)
            .filter(|(_, report)| report.verdict != Verdict::Error)
            .filter(|(j, _)| !matches!(jobs[*j].history, Some(HistoryOutcome::Unavailable(_))))
            .filter_map(|(j, report)| Some((report_key(&jobs[*j], options)?, report.clone())))
            .collect();
        if !fresh.is_empty() {
            cache.store_commit(commit, known, fresh.into_iter());
        }
    }

    let mut slots: Vec<Vec<Option<RefReport>>> =
        claims.iter().map(|c| vec![None; c.refs.len()]).collect();
    for (j, report) in evaluated {
        slots[jobs[j].claim][jobs[j].index] = Some(report);
    }
    for (claim, index, report) in reused {
        slots[claim][index] = Some(report);
    }
    let checked = if anchors.docs.is_empty() {
        docs::DocsCheck::default()
    } else {
        check_docs(anchors)
    };
    let offsets = ref_offsets(anchors);
    let claims = claims
        .iter()
        .zip(slots)
        .map(|(claim, refs)| {
            let mut refs: Vec<RefReport> = refs.into_iter().flatten().collect();
            if let Some(&first) = offsets.get(claim.id.value.as_str()) {
                for (i, r) in refs.iter_mut().enumerate() {
                    r.cited_by = checked.cited_by.get(first + i).cloned().unwrap_or_default();
                }
            }
            let verdict = refs
                .iter()
                .map(|r| r.verdict)
                .max()
                // A claim without refs (planned or retired) had nothing checked.
                .unwrap_or(Verdict::Unchecked);
            ClaimReport {
                id: claim.id.value.clone(),
                title: claim.title.clone(),
                status: claim.status,
                owner: claim.owner.clone(),
                verdict,
                refs,
            }
        })
        .collect();
    // The docs must agree with every ref, so disagreements count only when all claims are
    // verified; a page that cannot be read fails every run.
    let docs = if options.claims.is_empty() {
        checked.findings
    } else {
        let unreadable = |f: &docs::DocsFinding| f.is_unreadable_page();
        checked.findings.into_iter().filter(unreadable).collect()
    };
    Ok(Report {
        tool: format!("anchorcheck {}", env!("CARGO_PKG_VERSION")),
        repo: revision.repo,
        rev: revision.rev,
        commit: revision.commit,
        claims,
        docs,
        fix_command: None,
        refs_without_at,
        links: None,
    })
}

/// Verifies the jobs `members` (indexes into `jobs`), grouped by the path they are checked at
/// so each file is read and parsed once, files in parallel; with `count`, each finished file is
/// told to the progress callback.
fn evaluate(
    jobs: &[Job<'_>],
    members: &[usize],
    files: &dyn Files,
    history: Option<&HistorySource<'_>>,
    options: &VerifyOptions,
    cache: Option<&cache::ResultCache>,
    count: bool,
) -> Vec<(usize, RefReport)> {
    let mut by_path: Vec<(&str, Vec<usize>)> = Vec::new();
    let mut path_slot: HashMap<&str, usize> = HashMap::new();
    for &j in members {
        let (path, _) = jobs[j].primary();
        let slot = *path_slot.entry(path).or_insert_with(|| {
            by_path.push((path, Vec::new()));
            by_path.len() - 1
        });
        by_path[slot].1.push(j);
    }
    let progress = options.progress.as_ref().filter(|_| count);
    let counter = progress::FileCounter::new(progress, by_path.len());
    by_path
        .par_iter()
        .flat_map_iter(|(path, members)| {
            let reports = engine::verify_path(path, members, jobs, files, history, options, cache);
            counter.finished_one();
            reports
        })
        .collect()
}

/// The key of a job's whole report kept by commit: the ref with its `at` as written (or the
/// diff base), and for a ref without `at` how far back its history was looked for.
fn report_key(job: &Job<'_>, options: &VerifyOptions) -> Option<String> {
    let at = options
        .base
        .as_deref()
        .or(job.r.at.as_ref().map(|a| a.value.as_str()));
    let key = cache::report_key(job.r, at, job.report_touch)?;
    Some(match at {
        Some(_) => key,
        None => format!("{key}\u{1f}depth {}", options.history_depth),
    })
}

/// Each claim's first ref's index among all refs of the file, by claim id: one map rather than
/// a scan per claim, which was quadratic on 100,000 claims.
fn ref_offsets(anchors: &AnchorsFile) -> HashMap<&str, usize> {
    let mut offsets = HashMap::with_capacity(anchors.claims.len());
    let mut offset = 0;
    for c in &anchors.claims {
        offsets.entry(c.id.value.as_str()).or_insert(offset);
        offset += c.refs.len();
    }
    offsets
}

fn check_docs(anchors: &AnchorsFile) -> docs::DocsCheck {
    // Findings name files from the root of the repository holding anchors.yaml, whatever
    // directory it is in, so CI can place them; outside any work tree, as anchors.yaml names them.
    let base = anchors.path.parent().unwrap_or(std::path::Path::new("."));
    let root = location::worktree_root(if base.as_os_str().is_empty() {
        std::path::Path::new(".")
    } else {
        base
    });
    let from_root = |full: &std::path::Path, written: &str| -> String {
        root.as_deref()
            .and_then(|root| location::relative_to(root, full))
            .unwrap_or_else(|| written.to_string())
    };
    let pages: Vec<(String, Result<String, String>)> = docs::read_pages(anchors)
        .into_iter()
        .map(|(name, full, text)| (from_root(&full, &name), text))
        .collect();
    let anchors_name = anchors
        .path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "anchors.yaml".to_string());
    let anchors_name = from_root(&anchors.path, &anchors_name);
    let refs: Vec<docs::CitedRef<'_>> = anchors
        .claims
        .iter()
        .flat_map(|c| {
            c.refs.iter().map(|r| docs::CitedRef {
                claim: &c.id.value,
                path: &r.path.value,
                lines: r.lines.value,
                line: r.path.position.line,
                column: r.path.position.column,
            })
        })
        .collect();
    docs::check(&pages, &refs, &anchors_name)
}

/// Maps every ref with `at` (or a diff base) through history; without a git repository they
/// get a note instead.
fn map_history(
    jobs: &mut [Job<'_>],
    history: Option<&HistorySource<'_>>,
) -> Result<(), VerifyError> {
    let with_at: Vec<usize> = (0..jobs.len()).filter(|&j| jobs[j].at.is_some()).collect();
    if with_at.is_empty() {
        return Ok(());
    }
    let Some(source) = history else {
        for j in with_at {
            jobs[j].history = Some(HistoryOutcome::Unavailable(
                "history unavailable: the files do not come from a git repository".to_string(),
            ));
        }
        return Ok(());
    };
    map_jobs(jobs, &with_at, source)
}

/// Maps the jobs `members`, which all have `at`, from there to the verified revision.
fn map_jobs(
    jobs: &mut [Job<'_>],
    members: &[usize],
    source: &HistorySource<'_>,
) -> Result<(), VerifyError> {
    let tracked: Vec<Tracked<'_>> = members
        .iter()
        .map(|&j| Tracked {
            path: &jobs[j].r.path.value,
            lines: jobs[j].r.lines.value,
            at: jobs[j].at.as_deref().unwrap_or(""),
        })
        .collect();
    let outcomes = history::map_through_history(
        source.git,
        &source.target,
        source.target_commit.as_deref(),
        &tracked,
    )?;
    for (&j, outcome) in members.iter().zip(outcomes) {
        jobs[j].history = Some(outcome);
    }
    moves::follow(jobs, members, source)?;
    Ok(())
}

/// For refs without `at` that did not hold at their cited place (`redo`): finds the newest
/// commit at which each held there, and maps it from that commit as if it were its `at`.
/// Those for which none is found are verified again without history, with a note saying so.
fn follow_from_last_held(
    jobs: &mut [Job<'_>],
    redo: &[usize],
    source: &HistorySource<'_>,
    depth: usize,
) -> Result<(), VerifyError> {
    let refs: Vec<&Ref> = redo.iter().map(|&j| jobs[j].r).collect();
    let found = last_held::find(source, &refs, depth)?;
    let mut followed = Vec::new();
    for (&j, found) in redo.iter().zip(found) {
        let job = &mut jobs[j];
        job.defer = false;
        job.note = Some(found.note);
        if let Some(at) = found.at {
            job.at = Some(at.clone());
            job.found_at = Some(at);
            followed.push(j);
        }
    }
    map_jobs(jobs, &followed, source)
}

/// Where a group of refs (those checked at one path) reads other files and versions from,
/// and the whole-file parses it made of them: refs of one file share their `at` version,
/// their package's files and the versions the culprit search reads, so each is parsed once.
/// Dropped with the group, so memory follows the files in flight, not the repository.
struct Sources<'a> {
    files: &'a dyn Files,
    history: Option<&'a HistorySource<'a>>,
    parses: ParseCache,
    /// Relocation search work the group's refs may still do (their refs run in anchors.yaml
    /// order, so which ref finds it spent is the same on every run).
    search_left: std::cell::Cell<u64>,
}

/// Whole-file parses by blob id; kept only when the group has more than one ref to share them.
struct ParseCache {
    keep: bool,
    files: RefCell<HashMap<String, Rc<GoFile>>>,
}

impl ParseCache {
    fn new(keep: bool) -> Self {
        ParseCache {
            keep,
            files: RefCell::new(HashMap::new()),
        }
    }

    fn get(&self, blob: &FileBlob) -> Option<Rc<GoFile>> {
        self.files.borrow().get(&blob.id).cloned()
    }

    /// The whole-file parse of `blob`, made at most once.
    fn whole(&self, blob: FileBlob) -> Result<Rc<GoFile>, String> {
        if let Some(file) = self.get(&blob) {
            return Ok(file);
        }
        let id = blob.id;
        let file = Rc::new(GoFile::parse(blob.bytes).map_err(|e| e.to_string())?);
        if self.keep {
            self.files.borrow_mut().insert(id, Rc::clone(&file));
        }
        Ok(file)
    }

    fn read_whole(&self, files: &dyn Files, path: &str) -> Result<Rc<GoFile>, String> {
        self.whole(files.read(path).map_err(|p| p.to_string())?)
    }
}

fn place(path: &str, lines: LineRange) -> Place {
    Place {
        path: path.to_string(),
        lines,
    }
}

fn commit(info: &CommitInfo) -> Commit {
    Commit {
        id: info.id.clone(),
        short: info.short.clone(),
        date: info.date.clone(),
        subject: info.subject.clone(),
    }
}

/// A report for `job` with no outcome yet (verdict `error`).
fn new_report(job: &Job<'_>) -> RefReport {
    let r = job.r;
    let mut report = RefReport {
        path: r.path.value.clone(),
        lines: r.lines.value,
        verdict: Verdict::Error,
        error: None,
        relocated: None,
        candidates: Vec::new(),
        expectations: Vec::new(),
        parse_errors: Vec::new(),
        excerpt: None,
        culprit: None,
        notes: Vec::new(),
        touched: None,
        checked: None,
        history_from: job.found_at.clone(),
        cited_by: Vec::new(),
    };
    if let Some(HistoryOutcome::Unavailable(note)) = &job.history {
        report.notes.push(note.clone());
    }
    report.notes.extend(job.note.clone());
    if job.report_touch {
        report.touched = job.mapping().and_then(|m| m.touched.clone());
    }
    report
}

/// Completes a report whose expectations all hold at `range`, the job's (mapped) place:
/// verified there, or drifted when history moved it. With `keep` (the parsed file, for
/// `audit`) the lines are kept; a drifted ref's go with its relocation only, so every
/// excerpt's marks come from expectations evaluated on it.
fn settle_verified(report: &mut RefReport, job: &Job<'_>, range: LineRange, keep: Option<&GoFile>) {
    let (path, _) = job.primary();
    if path == job.r.path.value && range == job.r.lines.value {
        report.verdict = Verdict::Verified;
        report.excerpt = keep.map(|file| excerpt(file, range, true));
    } else {
        report.verdict = Verdict::Drifted;
        report.relocated = Some(Relocation {
            place: place(path, range),
            how: How::History,
            excerpt: keep.map(|file| excerpt(file, range, true)),
            expectations: if keep.is_some() {
                report.expectations.clone()
            } else {
                Vec::new()
            },
            detail: moved_detail(job),
        });
        report.culprit = moved_in(job);
    }
}

/// Verifies one ref: at its mapped place, then by symbol, then by search.
fn verify_job(
    job: &Job<'_>,
    parsed: &Result<GoFile, Unreadable>,
    src: &Sources<'_>,
    options: &VerifyOptions,
) -> RefReport {
    let keep = options.keep_excerpts;
    let r = job.r;
    let cited = r.lines.value;
    let (path, mapped) = job.primary();
    let mut report = new_report(job);
    let file = match parsed {
        Ok(file) => file,
        // Verified again once its history is known.
        Err(_) if job.defer => return report,
        Err(why) => {
            unreadable(&mut report, job, why, src, keep);
            return report;
        }
    };
    let line_count = file.line_count();
    let checkable = mapped.filter(|m| m.end().get() <= line_count);
    if let Some(range) = checkable {
        if path != r.path.value || range != cited {
            report.checked = Some(place(path, range));
        }
        report.expectations = relocate::evaluate_ref(r, file, range);
        report.parse_errors = file.parse_error_lines(range);
        if relocate::all_ok(&report.expectations) {
            settle_verified(&mut report, job, range, keep.then_some(file));
            note_unknown_symbol(&mut report, r, file, path, src);
            return report;
        }
        report.excerpt = Some(excerpt(file, range, keep));
    } else if mapped.is_none() {
        report
            .notes
            .push("every cited line was deleted since `at`".to_string());
    }
    // A range past the end was read and is searched like any failing one.
    let past_end = mapped.filter(|m| m.end().get() > line_count).map(|m| {
        format!(
            "{} past the end: the file now has {line_count} lines",
            past_end_phrase(m)
        )
    });

    if job.defer {
        // Verified again once its history is known.
        return report;
    }
    if settle_moved(&mut report, job, src, Some(file), keep) {
        return report;
    }
    // The evidence is not at its (mapped) place: look for it by symbol, then by search.
    let old = old_context(job, file, src);
    let failed = checkable;
    let in_file = |candidates: Vec<Candidate>, how: How| -> Vec<crate::report::Candidate> {
        candidates
            .into_iter()
            .map(|c| ranked(place(path, c.lines), how, &c, true))
            .collect()
    };
    let mut how = How::Symbol;
    // Evidence weakened where it is was not moved: looking elsewhere would let a weakened
    // guard hide behind another one.
    let history = job.mapping().is_some();
    let weakened = failed.is_some_and(|range| relocate::weakened_in_place(r, file, range, history));
    let mut found = Vec::new();
    if !weakened {
        found = in_file(
            relocate::symbol_candidates(
                r,
                file,
                cited,
                &old.text,
                old.declaration.as_ref(),
                &old.shape,
            ),
            How::Symbol,
        );
    }
    if found.is_empty() && !weakened {
        found = symbol_in_package(r, src, path, cited, &old);
    }
    if found.is_empty() && !weakened {
        let work = relocate::search_work(r, file);
        let left = src.search_left.get();
        if work > relocate::SEARCH_WORK_LIMIT || work > left {
            report.error = Some(format!(
                "the evidence is not at {path}:{} and searching the file's {} top-level declarations for it would exceed the relocation budget ({work} of {} steps{}); cite it again, or add `symbol`",
                checkable.unwrap_or(cited),
                file.root().child_count(),
                relocate::SEARCH_WORK_LIMIT.min(left),
                if left < relocate::SEARCH_WORK_LIMIT {
                    " left for this file"
                } else {
                    ""
                }
            ));
            report.verdict = Verdict::Error;
            return report;
        }
        src.search_left.set(left - work);
        found = in_file(
            relocate::search_candidates(
                r,
                file,
                failed,
                cited,
                &old.text,
                &old.shape,
                old.enclosing.as_deref(),
            ),
            How::Search,
        );
        how = How::Search;
    }
    let found = Found { places: found, how };
    settle(&mut report, found, Some(file), keep, job, src);
    if let Some(past_end) = past_end {
        if report.verdict == Verdict::Broken && report.expectations.is_empty() {
            report.expectations = failed_unchecked(r, &past_end);
        } else {
            report.notes.push(past_end);
        }
    }
    note_unknown_symbol(&mut report, r, file, path, src);
    report
}

/// `line 120 is` or `lines 120-130 are`.
fn past_end_phrase(range: LineRange) -> String {
    if range.len() == 1 {
        format!("line {range} is")
    } else {
        format!("lines {range} are")
    }
}

/// One failed result per expectation of `r` (its symbol's for a ref with none), all saying
/// `message`: for evidence that could not be evaluated because it is gone.
fn failed_unchecked(r: &Ref, message: &str) -> Vec<ExpectationResult> {
    let kinds: Vec<&'static str> = if r.expect.is_empty() {
        vec!["symbol"]
    } else {
        r.expect.iter().map(|e| e.kind()).collect()
    };
    kinds
        .into_iter()
        .map(|kind| ExpectationResult::unchecked(kind, message.to_string()))
        .collect()
}

/// The report of a ref whose file could not be parsed: moved to another file of its package
/// (drifted), deleted since `at` (broken, with the commit), else an error saying why, with the
/// nearest existing paths for a missing one.
fn unreadable(
    report: &mut RefReport,
    job: &Job<'_>,
    why: &Unreadable,
    src: &Sources<'_>,
    keep: bool,
) {
    let r = job.r;
    let (path, _) = job.primary();
    if settle_moved(report, job, src, None, keep) {
        return;
    }
    // A symbol moved to another file of its package is drift, not a missing file.
    let old = OldContext {
        text: Vec::new(),
        declaration: None,
        enclosing: None,
        shape: Shape::of_length(r.lines.value),
    };
    let moved = symbol_in_package(r, src, path, r.lines.value, &old);
    if !moved.is_empty() {
        report.notes.push(format!("{path}: {why}"));
        let found = Found {
            places: moved,
            how: How::Symbol,
        };
        settle(report, found, None, keep, job, src);
        return;
    }
    // History saw the file deleted: the evidence is gone, which is not a read failure.
    if let Some(mapping) = job.mapping().filter(|m| m.file_gone) {
        let when = match &mapping.deleted_in {
            Some(c) => format!("in {} {} '{}'", c.short, c.date, c.subject),
            None => "in the working tree".to_string(),
        };
        report.verdict = Verdict::Broken;
        report.expectations = failed_unchecked(r, &format!("{path} was deleted {when}"));
        report.culprit = mapping.deleted_in.as_ref().map(|c| Culprit {
            kind: CulpritKind::Broke,
            commit: commit(c),
        });
        return;
    }
    let hint = match why {
        Unreadable::File(FileProblem::Missing) => {
            hints::did_you_mean(&hints::similar_paths(path, &src.files.go_paths()))
        }
        _ => String::new(),
    };
    report.error = Some(if path == r.path.value {
        format!("{why}{hint}")
    } else {
        format!("{path} (renamed from {}): {why}{hint}", r.path.value)
    });
}

/// Says so when the ref's `symbol` names no declaration in `file` (at `path`) or its package:
/// first among the reasons of a broken ref, a note otherwise.
fn note_unknown_symbol(
    report: &mut RefReport,
    r: &Ref,
    file: &GoFile,
    path: &str,
    src: &Sources<'_>,
) {
    let Some(symbol) = r.symbol.as_ref().map(|s| s.value.as_str()) else {
        return;
    };
    if declares(file, symbol) {
        return;
    }
    let Some(package) = package_declares(symbol, path, src) else {
        return;
    };
    let mut files: Vec<&GoFile> = vec![file];
    files.extend(package.iter().map(|f| f.as_ref()));
    let suggestions = hints::similar_symbols(symbol, files);
    let Some(message) = hints::unknown_symbol(r, path, &suggestions) else {
        return;
    };
    if report.verdict != Verdict::Broken {
        report.notes.push(message);
        return;
    }
    // A ref naming only its symbol already failed for it: say it once, with the hint.
    report
        .expectations
        .retain(|e| !(e.kind == "symbol" && r.expect.is_empty()));
    report
        .expectations
        .insert(0, ExpectationResult::unchecked("symbol", message));
}

/// True when `symbol` names a declaration of `file`.
fn declares(file: &GoFile, symbol: &str) -> bool {
    symbols::declarations(file)
        .iter()
        .any(|d| d.is_named(symbol))
}

/// Most files of a package read for "did you mean" suggestions.
const MAX_SUGGESTION_FILES: usize = 64;

/// `None` when another file of the package of `path` declares `symbol`; else those files,
/// parsed, to suggest names from.
fn package_declares(symbol: &str, path: &str, src: &Sources<'_>) -> Option<Vec<Rc<GoFile>>> {
    let dir = path.rsplit_once('/').map_or("", |(d, _)| d);
    let name = declared_name(symbol).as_bytes();
    let others: Vec<String> = src
        .files
        .go_files_in(dir)
        .into_iter()
        .filter(|other| other != path)
        .collect();
    let mut parsed = Vec::new();
    // The files mentioning the name first: one of them declares it, or none does.
    for other in &others {
        let Ok(blob) = src.files.read(other) else {
            continue;
        };
        if memchr::memmem::find(&blob.bytes, name).is_none() {
            continue;
        }
        let Ok(file) = src.parses.whole(blob) else {
            continue;
        };
        if declares(&file, symbol) {
            return None;
        }
        parsed.push(file);
    }
    for other in others.iter().take(MAX_SUGGESTION_FILES) {
        let Ok(blob) = src.files.read(other) else {
            continue;
        };
        if memchr::memmem::find(&blob.bytes, name).is_none()
            && let Ok(file) = src.parses.whole(blob)
        {
            parsed.push(file);
        }
    }
    Some(parsed)
}

/// The places relocation found, best first, and how.
struct Found {
    places: Vec<crate::report::Candidate>,
    how: How,
}

/// A place relocation found, with what ranked it: the distance only within the file the ref
/// was looked for in (`same_file`).
fn ranked(place: Place, how: How, c: &Candidate, same_file: bool) -> crate::report::Candidate {
    crate::report::Candidate {
        place,
        how,
        distance: same_file.then_some(c.distance),
        similarity: Some(c.similarity / 10),
        same_declaration: c.same_declaration,
    }
}

/// Turns the places relocation found into the verdict: one is drifted, several are ambiguous
/// (listed best first), none is broken. With `keep`, a drifted ref keeps the lines at its new
/// place and the expectations evaluated there; `current` is the file already parsed at the
/// ref's path, reused when the new place is in it.
fn settle(
    report: &mut RefReport,
    found: Found,
    current: Option<&GoFile>,
    keep: bool,
    job: &Job<'_>,
    src: &Sources<'_>,
) {
    let Found { places, how } = found;
    match places.len() {
        0 => {
            report.verdict = Verdict::Broken;
            report.culprit = broken_since(job, src);
        }
        1 => {
            report.verdict = Verdict::Drifted;
            let Some(candidate) = places.into_iter().next() else {
                return;
            };
            let mut relocation = Relocation {
                place: candidate.place,
                how,
                excerpt: None,
                expectations: Vec::new(),
                detail: (how == How::History).then(|| moved_detail(job)).flatten(),
            };
            if keep {
                let elsewhere;
                let file = if current.is_some() && relocation.place.path == report.path {
                    current
                } else {
                    // Another file of the package: read only for `audit`, which shows it.
                    elsewhere = src
                        .parses
                        .read_whole(src.files, &relocation.place.path)
                        .ok();
                    elsewhere.as_deref()
                };
                if let Some(file) = file {
                    let lines = relocation.place.lines;
                    relocation.excerpt = Some(excerpt(file, lines, true));
                    relocation.expectations = relocate::evaluate_ref(job.r, file, lines);
                }
            }
            report.relocated = Some(relocation);
            report.culprit = broken_since(job, src).or_else(|| moved_in(job));
        }
        _ => {
            report.verdict = Verdict::Ambiguous;
            report.candidates = places;
        }
    }
}

/// What the cited lines held before, for ranking candidates, keeping offsets and shapes.
struct OldContext {
    text: Vec<String>,
    declaration: Option<OldDeclaration>,
    /// The declaration the cited lines were in (`Type.Method`), to rank candidates in it first.
    enclosing: Option<String>,
    /// How the citation sat around its evidence where it last held.
    shape: Shape,
}

fn old_context(job: &Job<'_>, current: &GoFile, src: &Sources<'_>) -> OldContext {
    let r = job.r;
    let cited = r.lines.value;
    let symbol = r.symbol.as_ref().map(|s| s.value.as_str());
    // With `at`, the file as it was there; else the cited lines of the current file. Only the
    // cited lines and the symbol's declaration are asked of it, so a partial parse keeping
    // them (and every declaration mentioning the name) answers when the scan allows one.
    let old_file = match (src.history, job.at.as_deref(), &job.history) {
        (Some(source), Some(at), Some(HistoryOutcome::Mapped(_))) => source
            .git
            .resolve(at)
            .ok()
            .and_then(|snapshot| snapshot.read(&r.path.value).ok())
            .and_then(|blob| {
                if let Some(whole) = src.parses.get(&blob) {
                    return Some(whole);
                }
                let inside = cited.end().get() <= crate::go::count_lines(&blob.bytes);
                let within: Vec<LineRange> = inside.then_some(cited).into_iter().collect();
                let name = symbol.map(declared_name);
                match GoFile::parse_covering_mentions(&blob.bytes, &within, name) {
                    Ok(Some(partial)) => Some(Rc::new(partial)),
                    _ => src.parses.whole(blob).ok(),
                }
            }),
        _ => None,
    };
    let file = old_file.as_deref().unwrap_or(current);
    let text = if cited.end().get() <= file.line_count() {
        file.lines_text(cited)
    } else {
        Vec::new()
    };
    let declaration = match (old_file.as_deref(), symbol) {
        (Some(old), Some(symbol)) => relocate::old_declaration(old, symbol),
        _ => None,
    };
    // Measured where the citation was written for; its length is all that is known else.
    let shape = old_file
        .as_deref()
        .filter(|old| cited.end().get() <= old.line_count())
        .and_then(|old| Shape::of(r, old, cited))
        .unwrap_or_else(|| Shape::of_length(cited));
    let enclosing = (cited.end().get() <= file.line_count())
        .then(|| relocate::enclosing_declaration(file, cited))
        .flatten();
    OldContext {
        text,
        declaration,
        enclosing,
        shape,
    }
}

/// The symbol's declaration in the other files of the same package directory, best first.
fn symbol_in_package(
    r: &Ref,
    src: &Sources<'_>,
    path: &str,
    cited: LineRange,
    old: &OldContext,
) -> Vec<crate::report::Candidate> {
    let Some(symbol) = r.symbol.as_ref().map(|s| s.value.as_str()) else {
        return Vec::new();
    };
    let dir = path.rsplit_once('/').map_or("", |(d, _)| d);
    // A symbol is declared once per package, so more than one file holding it is listed as
    // ambiguous rather than guessed between.
    src.files
        .go_files_in(dir)
        .into_iter()
        .filter(|other| other != path)
        .flat_map(|other| {
            // Most files of a package do not mention the name at all: skip parsing those.
            let Ok(blob) = src.files.read(&other) else {
                return Vec::new();
            };
            if memchr::memmem::find(&blob.bytes, declared_name(symbol).as_bytes()).is_none() {
                return Vec::new();
            }
            let Ok(file) = src.parses.whole(blob) else {
                return Vec::new();
            };
            relocate::symbol_candidates(
                r,
                &file,
                cited,
                &old.text,
                old.declaration.as_ref(),
                &old.shape,
            )
            .into_iter()
            .map(|c| ranked(place(&other, c.lines), How::Symbol, &c, false))
            .collect::<Vec<_>>()
        })
        .collect()
}

/// The identifier a symbol declares: `Method` for `Type.Method` and `(*Type).Method`.
fn declared_name(symbol: &str) -> &str {
    symbol.rsplit('.').next().unwrap_or(symbol)
}

/// Says so when history followed the ref's lines into a file git did not pair as a rename.
fn moved_detail(job: &Job<'_>) -> Option<String> {
    let moved = job.mapping()?.moved.as_ref()?;
    Some(format!("moved to another file in {}", moved.commit.short))
}

/// When history found the ref's lines moved into several files at once (git pairing none),
/// settles it on those where its evidence still holds; false when there are none.
fn settle_moved(
    report: &mut RefReport,
    job: &Job<'_>,
    src: &Sources<'_>,
    current: Option<&GoFile>,
    keep: bool,
) -> bool {
    let Some(mapping) = job.mapping() else {
        return false;
    };
    // History followed the lines there; no text or declaration was compared.
    let places: Vec<crate::report::Candidate> = mapping
        .move_candidates
        .iter()
        .filter(|(path, lines)| holds_at(job.r, src.files, path, *lines, &src.parses))
        .map(|(path, lines)| crate::report::Candidate {
            place: place(path, *lines),
            how: How::History,
            distance: (*path == job.r.path.value).then(|| lines.distance(job.r.lines.value)),
            similarity: None,
            same_declaration: None,
        })
        .collect();
    if places.is_empty() {
        return false;
    }
    let found = Found {
        places,
        how: How::History,
    };
    settle(report, found, current, keep, job, src);
    true
}

/// The first commit that moved the ref's lines, with `at`.
fn moved_in(job: &Job<'_>) -> Option<Culprit> {
    let cited_place = (job.r.path.value.as_str(), Some(job.r.lines.value));
    job.mapping()?
        .steps
        .iter()
        .find(|s| (s.path.as_str(), s.lines) != cited_place)
        .and_then(|s| s.commit.as_ref())
        .map(|c| Culprit {
            kind: CulpritKind::Moved,
            commit: commit(c),
        })
}

/// The first commit at which the ref stopped holding at its mapped place, with `at`.
fn broken_since(job: &Job<'_>, src: &Sources<'_>) -> Option<Culprit> {
    let mapping = job.mapping()?;
    let source = src.history?;
    for step in &mapping.steps {
        let Some(info) = &step.commit else { continue };
        let holds = step.lines.is_some_and(|lines| {
            source
                .git
                .resolve(&info.id)
                .is_ok_and(|snapshot| holds_at(job.r, &snapshot, &step.path, lines, &src.parses))
        });
        if !holds {
            return Some(Culprit {
                kind: CulpritKind::Broke,
                commit: commit(info),
            });
        }
    }
    None
}

/// Whether every expectation of `r` holds at `lines` of `path`. A whole parse already made
/// answers; else a partial parse when it says they hold (where partial and whole-file parsing
/// are proven to agree); else the whole file.
fn holds_at(r: &Ref, files: &dyn Files, path: &str, lines: LineRange, parses: &ParseCache) -> bool {
    let Ok(blob) = files.read(path) else {
        return false;
    };
    if lines.end().get() > crate::go::count_lines(&blob.bytes) {
        return false;
    }
    if let Some(file) = parses.get(&blob) {
        return relocate::holds(r, &file, lines);
    }
    if let Ok(Some(partial)) = GoFile::parse_covering(&blob.bytes, &[lines])
        && relocate::holds(r, &partial, lines)
    {
        return true;
    }
    parses
        .whole(blob)
        .is_ok_and(|file| relocate::holds(r, &file, lines))
}

/// [`relocate::misfit`] of `r` at `lines` of `path`, read and parsed as [`holds_at`] does;
/// `None` when it does not hold there.
fn misfit_at(
    r: &Ref,
    files: &dyn Files,
    path: &str,
    lines: LineRange,
    parses: &ParseCache,
) -> Option<u32> {
    let blob = files.read(path).ok()?;
    if lines.end().get() > crate::go::count_lines(&blob.bytes) {
        return None;
    }
    if let Some(file) = parses.get(&blob) {
        return relocate::misfit(r, &file, lines);
    }
    if let Ok(Some(partial)) = GoFile::parse_covering(&blob.bytes, &[lines])
        && let Some(misfit) = relocate::misfit(r, &partial, lines)
    {
        return Some(misfit);
    }
    let whole = parses.whole(blob).ok()?;
    relocate::misfit(r, &whole, lines)
}

/// The lines of `lines`, with their Go syntax classes when `highlighted` (from the tree already
/// parsed, so nothing is read or parsed twice).
fn excerpt(file: &GoFile, lines: LineRange, highlighted: bool) -> Excerpt {
    Excerpt {
        first_line: lines.start(),
        lines: file.lines_text(lines),
        highlights: highlighted.then(|| crate::go::highlight::highlight(file, lines)),
    }
}
