//! Place: where each job's cited lines are at the verified revision. Takes the jobs (`job`) and
//! the history source; maps each ref with `at` (or `diff`'s base) through the commits since,
//! following moves git does not pair (`moves`), and for refs without `at` first finds the
//! commit to follow them from (`last_held`). Its output is each job's `history` (and `at`,
//! `found_at`, `note`, `cut`), which the check reads.

use crate::anchors::Ref;
use crate::budget::FileBudgets;

use super::history::{self, HistoryOutcome, Tracked};
use super::job::Job;
use super::{HistorySource, VerifyError, last_held, moves};
use std::collections::HashMap;

use crate::source::history::LineSets;
use crate::source::{FileProblem, Files};

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
    // The line sets of the blobs the walk diffs, which the move search asks of many of them.
    let walked = LineSets::default();
    let outcomes = history::map_through_history(
        source.git,
        &source.target,
        source.target_commit.as_deref(),
        &tracked,
        &walked,
    )?;
    for (&j, outcome) in members.iter().zip(outcomes) {
        jobs[j].history = Some(Box::new(outcome));
    }
    moves::follow(jobs, members, source, &walked)?;
    Ok(())
}

/// For refs without `at` that did not hold at their cited place (`redo`): finds the newest
/// commit at which each held there, and maps it from that commit as if it were its `at`.
/// Those for which none is found are verified again without history, with a note saying so.
/// Where the cited lines held other code at other commits of that stretch (its rivals,
/// [`last_held::LastHeld::rivals`]), a job per rival is added at the end of `jobs`, mapped
/// from it: returned as (the ref's job, the rival's job), to be checked with it and compared.
pub(super) fn follow_from_last_held<'a>(
    jobs: &mut Vec<Job<'a>>,
    redo: &[usize],
    source: &HistorySource<'_>,
    depth: usize,
    budgets: &FileBudgets,
) -> Result<Vec<(usize, usize)>, VerifyError> {
    let refs: Vec<&Ref> = redo.iter().map(|&j| jobs[j].r).collect();
    let found = last_held::find(source, &refs, depth, budgets)?;
    let mut followed = Vec::new();
    let mut rivals = Vec::new();
    for (&j, found) in redo.iter().zip(found) {
        let job = &mut jobs[j];
        job.defer = false;
        job.note = Some(found.note);
        job.cut = found.cut;
        if let Some(at) = found.at {
            job.at = Some(at.clone());
            job.found_at = Some(at);
            followed.push(j);
            for rival in found.rivals {
                let note = format!(
                    "history from {} (last verified there; no `at`)",
                    &rival[..7.min(rival.len())]
                );
                rivals.push((j, push_rival(jobs, j, rival, note)));
                followed.push(jobs.len() - 1);
            }
        }
    }
    map_jobs(jobs, &followed, source)?;
    Ok(rivals)
}

/// For refs without `at` that held at their cited place (`held`): those whose cited lines now
/// cut a construct they held whole at an earlier commit are mapped from that commit as if it
/// were their `at` ([`last_held::find_whole`]). Returns the jobs so followed; the caller keeps
/// their first report unless history moves them (see [`Job::forget_history`]).
/// Rivals ([`last_held::Whole::rival`]) are added at the end of `jobs` as
/// [`follow_from_last_held`]'s are, and returned with them. Each held job comes with what the
/// first check worked out of its file for the look back, when it did
/// ([`last_held::cut_across_texts`]).
pub(super) fn follow_from_last_whole(
    jobs: &mut Vec<Job<'_>>,
    held: &[(usize, Option<last_held::CitedText>)],
    source: &HistorySource<'_>,
    files: &dyn Files,
    depth: usize,
    budgets: &FileBudgets,
    rivals: &mut Vec<(usize, usize)>,
) -> Result<Vec<usize>, VerifyError> {
    let refs: Vec<&Ref> = held.iter().map(|(j, _)| jobs[*j].r).collect();
    let known: Vec<Option<last_held::CitedText>> =
        held.iter().map(|(_, known)| known.clone()).collect();
    let found = last_held::find_whole(source, files, &refs, &known, depth, budgets)?;
    let mut followed = Vec::new();
    let mut mapped = Vec::new();
    for (&(j, _), found) in held.iter().zip(found) {
        let job = &mut jobs[j];
        job.defer = false;
        if let Some(last_held::Whole { at, rival }) = found {
            let note = |at: &str| {
                format!(
                    "history from {} (the cited lines held whole constructs there; no `at`)",
                    &at[..7.min(at.len())]
                )
            };
            job.note = Some(note(&at));
            job.at = Some(at.clone());
            job.found_at = Some(at);
            followed.push(j);
            mapped.push(j);
            if let Some(rival) = rival {
                let note = note(&rival);
                rivals.push((j, push_rival(jobs, j, rival, note)));
                mapped.push(jobs.len() - 1);
            }
        }
    }
    map_jobs(jobs, &mapped, source)?;
    Ok(followed)
}

/// A job following `jobs[j]`'s ref from `rival`, added at the end of `jobs`; its index.
fn push_rival<'a>(jobs: &mut Vec<Job<'a>>, j: usize, rival: String, note: String) -> usize {
    let job = &jobs[j];
    let rival = Job {
        claim: job.claim,
        index: job.index,
        r: job.r,
        history: None,
        report_touch: job.report_touch,
        at: Some(rival.clone()),
        defer: false,
        found_at: Some(rival),
        note: Some(note),
        cut: None,
    };
    jobs.push(rival);
    jobs.len() - 1
}
