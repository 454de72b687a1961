//! One ref to verify (a job), and where history says its lines are now: mapped from its `at`
//! (or `diff`'s base), or from the commit where a ref without `at` last held.

use crate::anchors::{Claim, Ref};
use crate::budget::FileBudgets;
use crate::lines::LineRange;

use super::history::{self, HistoryOutcome, Mapping, Tracked};
use super::{HistorySource, VerifyError, VerifyOptions, cache, last_held, moves};
use std::collections::HashMap;

use crate::source::{FileProblem, Files};

/// One ref to verify, with where history says its lines are now.
pub(super) struct Job<'a> {
    /// The claim's index among the selected claims, and the ref's among the claim's.
    pub(super) claim: usize,
    pub(super) index: usize,
    pub(super) r: &'a Ref,
    /// Boxed: a mapping is large, and a run holds a job for every ref (330,000 of them).
    pub(super) history: Option<Box<HistoryOutcome>>,
    /// Report how history touched the cited lines (`diff`).
    pub(super) report_touch: bool,
    /// The commit history starts from: `diff`'s base, else the ref's `at`, else the commit at
    /// which a ref without `at` was found to hold last.
    pub(super) at: Option<String>,
    /// A ref without `at` whose history may be looked for: when its first check fails it stops
    /// there, and is verified again once history is known.
    pub(super) defer: bool,
    /// For a ref without `at`: the commit found where it last held (history starts there).
    pub(super) found_at: Option<String>,
    /// What looking for that commit found, for the report.
    pub(super) note: Option<String>,
    /// Set when the work budget ran out while looking for that commit: the ref's report is
    /// this error, whatever its check says.
    pub(super) cut: Option<String>,
}

impl Job<'_> {
    pub(super) fn mapping(&self) -> Option<&Mapping> {
        match self.history.as_deref() {
            Some(HistoryOutcome::Mapped(m)) => Some(m),
            _ => None,
        }
    }

    /// The path and lines to check first: the history-mapped place, else the cited one.
    pub(super) fn primary(&self) -> (&str, Option<LineRange>) {
        match self.mapping() {
            Some(m) => (&m.path, m.lines),
            None => (&self.r.path.value, Some(self.r.lines.value)),
        }
    }
}

/// A job for every ref of `claims`, in anchors.yaml order.
pub(super) fn jobs<'a>(claims: &[&'a Claim], options: &VerifyOptions) -> Vec<Job<'a>> {
    // Sized once: grown by doubling, 330,000 jobs would take room for 524,288.
    let mut jobs = Vec::with_capacity(claims.iter().map(|c| c.refs.len()).sum());
    jobs.extend(claims.iter().enumerate().flat_map(|(ci, claim)| {
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
            cut: None,
        })
    }));
    jobs
}

/// The key of a job's whole report kept by commit: the ref with its `at` as written (or the
/// diff base), and for a ref without `at` how far back its history was looked for.
pub(super) fn report_key(job: &Job<'_>, options: &VerifyOptions) -> Option<String> {
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

/// Maps every ref with `at` (or a diff base) through history; without a git repository they
/// get a note instead.
pub(super) fn map_history(
    jobs: &mut [Job<'_>],
    history: Option<&HistorySource<'_>>,
) -> Result<(), VerifyError> {
    let with_at: Vec<usize> = (0..jobs.len()).filter(|&j| jobs[j].at.is_some()).collect();
    if with_at.is_empty() {
        return Ok(());
    }
    let Some(source) = history else {
        for j in with_at {
            jobs[j].history = Some(Box::new(HistoryOutcome::Unavailable(
                "history unavailable: the files do not come from a git repository".to_string(),
            )));
        }
        return Ok(());
    };
    map_jobs(jobs, &with_at, source)?;
    note_missing_at_base(jobs, source);
    Ok(())
}

/// For `diff`: a ref whose file did not exist at the base has nothing there to be followed
/// from. It is checked where it is cited, and its report says so, naming the base.
fn note_missing_at_base(jobs: &mut [Job<'_>], source: &HistorySource<'_>) {
    let mut snapshots: HashMap<String, Option<crate::source::Snapshot>> = HashMap::new();
    for job in jobs.iter_mut().filter(|job| job.report_touch) {
        let Some(base) = job.at.clone() else {
            continue;
        };
        let snapshot = snapshots
            .entry(base.clone())
            .or_insert_with(|| source.git.resolve(&base).ok());
        let Some(snapshot) = snapshot else {
            continue;
        };
        let path = &job.r.path.value;
        if matches!(snapshot.read(path), Err(FileProblem::Missing)) {
            job.history = None;
            let commit = snapshot.commit.as_deref().unwrap_or(&base);
            let short = &commit[..7.min(commit.len())];
            let named = if base.starts_with(short) {
                short.to_string()
            } else {
                format!("{base} ({short})")
            };
            job.note = Some(format!(
                "{path} did not exist at the base {named}: checked where it is cited"
            ));
        }
    }
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
        jobs[j].history = Some(Box::new(outcome));
    }
    moves::follow(jobs, members, source)?;
    Ok(())
}

/// For refs without `at` that did not hold at their cited place (`redo`): finds the newest
/// commit at which each held there, and maps it from that commit as if it were its `at`.
/// Those for which none is found are verified again without history, with a note saying so.
pub(super) fn follow_from_last_held(
    jobs: &mut [Job<'_>],
    redo: &[usize],
    source: &HistorySource<'_>,
    depth: usize,
    budgets: &FileBudgets,
) -> Result<(), VerifyError> {
    let refs: Vec<&Ref> = redo.iter().map(|&j| jobs[j].r).collect();
    let found = last_held::find(source, &refs, depth, budgets)?;
    let mut followed = Vec::new();
    for (&j, found) in redo.iter().zip(found) {
        let job = &mut jobs[j];
        job.defer = false;
        job.note = Some(found.note);
        job.cut = found.cut;
        if let Some(at) = found.at {
            job.at = Some(at.clone());
            job.found_at = Some(at);
            followed.push(j);
        }
    }
    map_jobs(jobs, &followed, source)
}

/// For refs without `at` that held at their cited place (`held`): those whose cited lines now
/// cut a construct they held whole at an earlier commit are mapped from that commit as if it
/// were their `at` ([`last_held::find_whole`]). Returns the jobs so followed; the caller keeps
/// their first report unless history moves them (see [`Job::forget_history`]).
pub(super) fn follow_from_last_whole(
    jobs: &mut [Job<'_>],
    held: &[usize],
    source: &HistorySource<'_>,
    files: &dyn Files,
    depth: usize,
    budgets: &FileBudgets,
) -> Result<Vec<usize>, VerifyError> {
    let refs: Vec<&Ref> = held.iter().map(|&j| jobs[j].r).collect();
    let found = last_held::find_whole(source, files, &refs, depth, budgets)?;
    let mut followed = Vec::new();
    for (&j, found) in held.iter().zip(found) {
        let job = &mut jobs[j];
        job.defer = false;
        if let Some(at) = found {
            job.note = Some(format!(
                "history from {} (the cited lines held whole constructs there; no `at`)",
                &at[..7.min(at.len())]
            ));
            job.at = Some(at.clone());
            job.found_at = Some(at);
            followed.push(j);
        }
    }
    map_jobs(jobs, &followed, source)?;
    Ok(followed)
}

impl Job<'_> {
    /// Undoes [`follow_from_last_whole`] for a job whose first report is kept.
    pub(super) fn forget_history(&mut self) {
        self.history = None;
        self.at = None;
        self.found_at = None;
        self.note = None;
    }
}
