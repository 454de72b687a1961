//! Verdicts: maps cited ranges through history, reads and parses each file once, evaluates every
//! ref on its one tree, relocates what moved, and assembles the report in anchors.yaml order.
//!
//! This file is the public API and the order of a run; each step has its module, and calls
//! only forward (docs/architecture.md): `job` (one ref to verify), `place` (where history
//! takes its cited lines), `engine` (the refs of one path: cache, partial and whole parses),
//! `check` (the first check of one ref and its outcome), `evaluate` (the expectations of a
//! ref on a range, shared by the first check and relocation), `excerpt` (what a report shows
//! of a range), `baseline`
//! (the cited lines at `at`, which a guard must not have narrowed since), `context` and
//! `settle` (relocating a failing ref and settling what was found), `lineage` and `provenance`
//! (what the cited code became since `at`: relocation moves a ref only to where it went, and a
//! cited construct weakened in place leaves the ref broken there), `parses` (parses shared
//! by the refs of one path), `culprit` (the commit that moved or broke a ref), `reuse`
//! (whole reports kept by commit) and `assemble` (the report in anchors.yaml order).

mod assemble;
mod baseline;
pub mod cache;
mod check;
#[cfg(test)]
mod check_tests;
mod context;
mod culprit;
mod engine;
pub(crate) mod evaluate;
mod excerpt;
#[cfg(test)]
mod excerpt_tests;
pub(crate) mod hints;
pub mod history;
mod job;
mod last_held;
mod lineage;
mod moves;
mod parses;
mod place;
pub mod progress;
mod provenance;
pub(crate) mod relocate;
mod reuse;
pub mod review;
mod settle;
pub(crate) mod shape;

use std::collections::{HashMap, HashSet};

use rayon::prelude::*;
use std::sync::Arc;

use crate::budget::{FileBudgets, Metered, WorkBudget};

use crate::anchors::{AnchorsFile, Claim, ExpectationKind};
use crate::docs;
use crate::lines::LineNo;
use crate::model::{CheckKind, How, Outcome, RefReport, Report, Verdict};
use crate::source::history::Endpoint;
use crate::source::{Files, GitRepo, SourceError};
use job::Job;

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
    /// The run's budget of expensive work, in steps (see [`crate::budget`]).
    pub work_budget: u64,
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
            work_budget: crate::budget::DEFAULT_WORK_BUDGET,
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

/// Verifies the selected claims against `files` (with `history` when they come from git), and
/// the citations of the docs `pages` (read once by the caller, [`docs::read_pages`]) against
/// the refs. Each distinct path is read and parsed once, files in parallel; the report keeps
/// anchors.yaml order whatever the scheduling.
pub fn verify(
    anchors: &AnchorsFile,
    files: &dyn Files,
    pages: &[docs::Page],
    history: Option<&HistorySource<'_>>,
    revision: RevisionInfo,
    options: &VerifyOptions,
) -> Result<Report, VerifyError> {
    let claims = select_claims(anchors, options)?;
    let budget = WorkBudget::new(options.work_budget);
    // The walks back through history for refs without `at`: one budget per file walked.
    let walks = FileBudgets::new(options.work_budget);
    let mut jobs = job::jobs(&claims, options);
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
    let kept = reuse::KeptReports::load(cache.as_ref(), history, options);
    let reused = match &kept {
        Some(kept) => kept.answer(&mut jobs, options),
        None => Vec::new(),
    };
    place::map_history(&mut jobs, history)?;
    let may_look_back = history.is_some_and(|h| h.target_commit.is_some());
    if may_look_back && options.history_depth > 0 {
        for job in jobs.iter_mut().filter(|job| job.at.is_none()) {
            job.defer = true;
        }
    }
    let all: Vec<usize> = (0..jobs.len()).collect();
    let cited_now = engine::CitedNow::default();
    let declared_names = parses::DeclaredNames::default();
    let declared = context::Declared::default();
    let run = Run {
        files,
        history,
        options,
        cache: cache.as_ref(),
        budget: &budget,
        cited_now: Some(&cited_now),
        declared_names: &declared_names,
        declared: &declared,
    };
    let mut evaluated = check_by_path(&jobs, &all, &run, true);
    let run = Run {
        cited_now: None,
        ..run
    };
    // Refs without `at` that did not hold: find where they last did, follow history from
    // there, and verify them again. Those that held but now cut a construct they held whole
    // at an earlier commit are followed from there too, and moved only if history moves them.
    let deferred = |verified: bool| -> Vec<usize> {
        evaluated
            .iter()
            .flatten()
            .filter(|(j, report)| {
                let held = report.as_ref().map(RefReport::verdict) == Some(Verdict::Verified);
                jobs[*j].defer && held == verified
            })
            .map(|(j, _)| *j)
            .collect()
    };
    let (redo, held) = (deferred(false), deferred(true));
    if let Some(source) = history {
        let mut again_jobs = redo.clone();
        // Jobs following a ref from a rival commit (other code held its cited lines there)
        // are added past the ref's own and removed once weighed.
        let own_jobs = jobs.len();
        let mut rivals = if redo.is_empty() {
            Vec::new()
        } else {
            place::follow_from_last_held(&mut jobs, &redo, source, options.history_depth, &walks)?
        };
        let whole = if held.is_empty() {
            Vec::new()
        } else {
            let mut known = cited_now.take();
            let held: Vec<(usize, Option<last_held::CitedText>)> =
                held.iter().map(|&j| (j, known.remove(&j))).collect();
            place::follow_from_last_whole(
                &mut jobs,
                &held,
                source,
                files,
                options.history_depth,
                &walks,
                &mut rivals,
            )?
        };
        again_jobs.extend(&whole);
        again_jobs.extend(rivals.iter().map(|&(_, rival)| rival));
        let again = if again_jobs.is_empty() {
            Vec::new()
        } else {
            check_by_path(&jobs, &again_jobs, &run, false)
        };
        let whole: HashSet<usize> = whole.into_iter().collect();
        let mut slot: HashMap<usize, (usize, usize)> = HashMap::new();
        for (c, chunk) in evaluated.iter().enumerate() {
            for (i, (j, _)) in chunk.iter().enumerate() {
                slot.insert(*j, (c, i));
            }
        }
        let mut moves = WholeMoves::new(files, source);
        let (again, from_rivals): (Vec<_>, Vec<_>) = again
            .into_iter()
            .flatten()
            .partition(|(j, _)| *j < own_jobs);
        let mut from_rivals: HashMap<usize, Option<RefReport>> = from_rivals.into_iter().collect();
        let mut rivals_of: HashMap<usize, Vec<(String, Option<RefReport>)>> = HashMap::new();
        for (j, rival) in rivals {
            let commit = jobs[rival].at.clone().unwrap_or_default();
            let report = from_rivals.remove(&rival).flatten();
            rivals_of.entry(j).or_default().push((commit, report));
        }
        jobs.truncate(own_jobs);
        for (j, report) in again {
            let Some(&(c, i)) = slot.get(&j) else {
                continue;
            };
            let moved = match (&evaluated[c][i].1, &report) {
                (Some(first), Some(followed)) => moves.moved(first, followed, &jobs[j]),
                _ => false,
            };
            if whole.contains(&j) && !moved {
                jobs[j].forget_history();
                continue;
            }
            // Where other code held the cited lines at another commit it was followed from,
            // the two are weighed: the same place, or ambiguous.
            evaluated[c][i].1 = match rivals_of.remove(&j) {
                Some(rivals) => last_held::weigh_rivals(report, rivals),
                None => report,
            };
        }
    }
    // Every deferred ref was checked again above (none is deferred without history).
    let mut evaluated: Vec<Vec<(usize, RefReport)>> = evaluated
        .into_iter()
        .map(|chunk| {
            chunk
                .into_iter()
                .map(|(j, report)| (j, report.unwrap_or_else(|| unfinished(&jobs[j]))))
                .collect()
        })
        .collect();
    context::relocated_symbols(&jobs, &mut evaluated, files, &declared);
    if let Some(kept) = kept {
        kept.store(&jobs, &evaluated, options);
    }
    // Where each job's report goes; the jobs themselves (hundreds of bytes each, 92 MB at
    // 330,000 refs) are freed before the reports are put in order, when the most is held.
    let places: Vec<assemble::Slot> = jobs
        .iter()
        .map(|job| assemble::Slot {
            claim: job.claim,
            index: job.index,
        })
        .collect();
    drop(jobs);
    let mut report = assemble::report(
        anchors,
        &claims,
        &places,
        evaluated,
        reused,
        assemble::Run {
            revision,
            options,
            refs_without_at,
            pages,
        },
    );
    review::attach(&mut report, anchors, files, history);
    Ok(report)
}

/// The report of a deferred ref that was not checked again: an error, never a gap.
fn unfinished(job: &Job<'_>) -> RefReport {
    check::new_report(job).with_outcome(Outcome::Error(
        "its check waited for its history, which was not followed".to_string(),
    ))
}

/// Decides, for refs that held where cited and were followed from where their lines were
/// last whole, whether history moved them. Each file it reads (at the revision, or at a commit
/// followed from) is read and lexed once for all such refs, and the line origins of one file
/// between two versions worked out once.
struct WholeMoves<'r> {
    files: &'r dyn Files,
    source: &'r HistorySource<'r>,
    /// Files at the verified revision, lexed; `None`: unreadable.
    now: HashMap<String, Option<shape::Lines<'static>>>,
    /// Files at the commits refs were followed from, by (commit, path).
    then: HashMap<(String, String), Option<crate::source::FileBlob>>,
    origins: provenance::OriginsMemo,
}

impl<'r> WholeMoves<'r> {
    fn new(files: &'r dyn Files, source: &'r HistorySource<'r>) -> Self {
        WholeMoves {
            files,
            source,
            now: HashMap::new(),
            then: HashMap::new(),
            origins: provenance::OriginsMemo::default(),
        }
    }

    fn read_now(&mut self, path: &str) {
        if !self.now.contains_key(path) {
            let lines = self
                .files
                .read(path)
                .ok()
                .map(|b| shape::Lines::owned(b.bytes));
            self.now.insert(path.to_string(), lines);
        }
    }

    /// Whether `job`'s ref, which held where cited (`first`) and was followed from
    /// `job.found_at`, is moved by history (`followed`): to whole code ([`shape::cut`]) where
    /// it holds, and only when a construct that gave its evidence where cited descends (kept
    /// or edited, by provenance's line diff) from the lines cited at that commit, or from the
    /// lines as far from where it sits as history moved the citation in the same file: the
    /// cited code was pushed down or pulled up past the cited lines, with the code around it.
    /// Evidence that is all new code since, or code that sat elsewhere then and moved
    /// otherwise, is what a citation written at these lines later cites, and it stays.
    fn moved(&mut self, first: &RefReport, followed: &RefReport, job: &job::Job<'_>) -> bool {
        let Some(moved) = followed.relocated().filter(|r| r.how == How::History) else {
            return false;
        };
        let Some(at) = &job.found_at else {
            return false;
        };
        let (path, place) = (&job.r.path.value, &moved.place);
        self.read_now(path);
        self.read_now(&place.path);
        let whole = self.now[&place.path]
            .as_ref()
            .is_some_and(|l| place.lines.end().get() <= l.count() && l.cut(place.lines) == 0);
        let source = self.source;
        let then = self
            .then
            .entry((at.clone(), path.clone()))
            .or_insert_with(|| {
                source
                    .git
                    .resolve(at)
                    .ok()
                    .and_then(|snapshot| snapshot.read(path).ok())
            });
        let (Some(then), Some(now)) = (then.as_ref(), self.now[path].as_ref()) else {
            return false;
        };
        let cited = job.r.lines.value;
        let origins = self.origins.between(Some(then), now.bytes());
        // The lines where cited that gave the evidence.
        let evidence: Vec<LineNo> = first
            .expectations
            .iter()
            .filter(|e| e.kind != CheckKind::Expectation(ExpectationKind::Not))
            .flat_map(|e| &e.matches)
            .flat_map(|m| m.start().get()..=m.end().get())
            .filter_map(LineNo::new)
            .filter(|&l| cited.contains_line(l))
            .collect();
        // Some construct that gave the evidence where cited descends from the lines cited
        // there, or from lines that sat as far from them as history moved the citation: the
        // code around the cited code was shifted with it, past the cited lines (a whole
        // function pushed down by more than its length leaves none of its own lines where it
        // was cited).
        let shift = (place.path == *path)
            .then(|| i64::from(place.lines.start().get()) - i64::from(cited.start().get()));
        let descends = evidence.iter().any(|&l| {
            origins.of(l).old_line().is_some_and(|old| {
                LineNo::new(old).is_some_and(|old| cited.contains_line(old))
                    || shift.is_some_and(|shift| i64::from(old) + shift == i64::from(l.get()))
            })
        });
        whole && descends
    }
}

/// What every file of a run is checked with.
#[derive(Clone, Copy)]
struct Run<'a> {
    files: &'a dyn Files,
    history: Option<&'a HistorySource<'a>>,
    options: &'a VerifyOptions,
    cache: Option<&'a cache::ResultCache>,
    budget: &'a Arc<WorkBudget>,
    /// Where the first check keeps, for refs without `at`, what the look back for where their
    /// lines were last whole asks of the file it read.
    cited_now: Option<&'a engine::CitedNow>,
    /// The names package files declare, for "did you mean", kept for the run.
    declared_names: &'a parses::DeclaredNames,
    /// The symbols the checks found declared in the files they read.
    declared: &'a context::Declared,
}

/// Verifies the jobs `members` (indexes into `jobs`), grouped by the path they are checked at
/// so each file is read and parsed once, files in parallel; with `count`, each finished file is
/// told to the progress callback. The reports come one list per file, never copied into one
/// (at 330,000 refs, hundreds of MB held twice while they were): each list is freed as its
/// reports move into the claims' (see `assemble`).
fn check_by_path(
    jobs: &[Job<'_>],
    members: &[usize],
    run: &Run<'_>,
    count: bool,
) -> Vec<Vec<(usize, Option<RefReport>)>> {
    let Run {
        options, budget, ..
    } = *run;
    let mut by_path: Vec<(&str, Vec<usize>)> = Vec::new();
    let mut path_slot: HashMap<&str, usize> = HashMap::new();
    // A ref whose walk back through history its file's budget cut short is that error, and
    // is not checked (nothing of a check would be kept).
    let (cut, members): (Vec<usize>, Vec<usize>) =
        members.iter().partition(|&&j| jobs[j].cut.is_some());
    let cut: Vec<(usize, Option<RefReport>)> = cut
        .into_iter()
        .filter_map(|j| {
            let error = Outcome::Error(jobs[j].cut.clone()?);
            Some((j, Some(check::new_report(&jobs[j]).with_outcome(error))))
        })
        .collect();
    for &j in &members {
        let (path, _) = jobs[j].primary();
        let slot = *path_slot.entry(path).or_insert_with(|| {
            by_path.push((path, Vec::new()));
            by_path.len() - 1
        });
        by_path[slot].1.push(j);
    }
    let progress = options.progress.as_ref().filter(|_| count);
    let counter = progress::FileCounter::new(progress, by_path.len());
    let mut reports: Vec<Vec<(usize, Option<RefReport>)>> = by_path
        .par_iter()
        .map(|(path, members)| {
            let _metered = Metered::install(budget);
            let reports = engine::verify_path(path, members, jobs, run);
            counter.finished_one();
            reports
        })
        .collect();
    if !cut.is_empty() {
        reports.push(cut);
    }
    reports
}
