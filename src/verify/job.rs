//! Plan: one job per selected ref (what to verify, and the commit its history starts from),
//! and the key of its whole report kept by commit. Where history takes its lines is `place`'s.

use crate::anchors::{Claim, Ref};
use crate::lines::LineRange;

use super::history::{HistoryOutcome, Mapping};
use super::{VerifyOptions, cache};

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

impl Job<'_> {
    /// Undoes [`super::place::follow_from_last_whole`] for a job whose first report is kept.
    pub(super) fn forget_history(&mut self) {
        self.history = None;
        self.at = None;
        self.found_at = None;
        self.note = None;
    }
}
