//! Whole reports kept by commit (`--cache`): a ref whose report needed more than its blob
//! (history from `at`, relocation, the culprit) is answered at an unchanged commit before any
//! history is walked.

use crate::model::{RefReport, Verdict};
use crate::source::history::Endpoint;

use super::cache::{CommitReports, ResultCache};
use super::history::HistoryOutcome;
use super::job::{Job, report_key};
use super::{HistorySource, VerifyOptions};

/// The reports kept for the verified commit.
pub(super) struct KeptReports<'c> {
    cache: &'c ResultCache,
    commit: &'c str,
    known: CommitReports,
}

impl<'c> KeptReports<'c> {
    /// The reports kept for the verified commit, when there is a cache and a commit (not the
    /// working tree) and the run is not `audit`'s, which wants every ref's highlighted lines.
    pub(super) fn load(
        cache: Option<&'c ResultCache>,
        history: Option<&'c HistorySource<'c>>,
        options: &VerifyOptions,
    ) -> Option<Self> {
        let (cache, source) = cache.zip(history)?;
        if options.keep_excerpts || !matches!(source.target, Endpoint::Commit(_)) {
            return None;
        }
        let commit = source.target_commit.as_deref()?;
        Some(KeptReports {
            cache,
            commit,
            known: cache.load_commit(commit),
        })
    }

    /// Removes from `jobs` those whose report is kept, and returns those reports by claim and
    /// ref index.
    pub(super) fn answer(
        &self,
        jobs: &mut Vec<Job<'_>>,
        options: &VerifyOptions,
    ) -> Vec<(usize, usize, RefReport)> {
        let mut reused = Vec::new();
        jobs.retain(
            |job| match report_key(job, options).and_then(|k| self.known.get(&k)) {
                Some(report) => {
                    reused.push((job.claim, job.index, report.clone()));
                    false
                }
                None => true,
            },
        );
        reused
    }

    /// Keeps the reports that looked beyond their blob: history, relocation, other files. Not
    /// those whose history was unavailable (a shallow clone) or that could not read a file:
    /// more history fetched, or a read that works next time, changes them at the same commit.
    pub(super) fn store(
        self,
        jobs: &[Job<'_>],
        evaluated: &[Vec<(usize, RefReport)>],
        options: &VerifyOptions,
    ) {
        let fresh: Vec<(String, RefReport)> = evaluated
            .iter()
            .flatten()
            .filter(|(j, report)| jobs[*j].at.is_some() || report.verdict() != Verdict::Verified)
            .filter(|(_, report)| report.verdict() != Verdict::Error)
            .filter(|(j, _)| {
                !matches!(
                    jobs[*j].history.as_deref(),
                    Some(HistoryOutcome::Unavailable(_))
                )
            })
            .filter_map(|(j, report)| Some((report_key(&jobs[*j], options)?, report.clone())))
            .collect();
        if !fresh.is_empty() {
            self.cache
                .store_commit(self.commit, self.known, fresh.into_iter());
        }
    }
}
