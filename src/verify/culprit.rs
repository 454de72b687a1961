//! The commit that moved or broke a ref, found along the history mapped from its `at`.

use crate::model::{Commit, Culprit, CulpritKind};
use crate::source::history::CommitInfo;

use super::job::Job;
use super::parses::{Sources, holds_at};

/// A commit as the report describes it.
impl From<&CommitInfo> for Commit {
    fn from(info: &CommitInfo) -> Commit {
        Commit {
            id: info.id.clone(),
            short: info.short.clone(),
            date: info.date.clone(),
            subject: info.subject.clone(),
            author: info.author.clone(),
            pr: crate::model::review::pull_request(&info.subject),
        }
    }
}

/// Says so when history followed the ref's lines into a file git did not pair as a rename.
pub(super) fn moved_detail(job: &Job<'_>) -> Option<String> {
    let moved = job.mapping()?.moved.as_ref()?;
    Some(format!("moved to another file in {}", moved.commit.short))
}

/// The first commit that moved the ref's lines, with `at`.
pub(super) fn moved_in(job: &Job<'_>) -> Option<Culprit> {
    let cited_place = (job.r.path.value.as_str(), Some(job.r.lines.value));
    job.mapping()?
        .steps
        .iter()
        .find(|s| (s.path.as_str(), s.lines) != cited_place)
        .and_then(|s| s.commit.as_ref())
        .map(|c| Culprit {
            kind: CulpritKind::Moved,
            commit: c.into(),
        })
}

/// The first commit at which the ref stopped holding at its mapped place, with `at`.
pub(super) fn broken_since(job: &Job<'_>, src: &Sources<'_>) -> Option<Culprit> {
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
                commit: info.into(),
            });
        }
    }
    None
}

/// True when a commit after `at` edited the ref's cited lines (not merely shifted or renamed
/// them): whether the evidence was weakened there is then worth asking even where it holds.
pub(super) fn cited_lines_edited(job: &Job<'_>) -> bool {
    job.mapping()
        .is_some_and(|m| m.steps.iter().any(|s| s.edited))
}

/// The first commit after `at` that edited the ref's cited lines, as the one that broke it.
pub(super) fn edited_in(job: &Job<'_>) -> Option<Culprit> {
    job.mapping()?
        .steps
        .iter()
        .find(|s| s.edited)
        .and_then(|s| s.commit.as_ref())
        .map(|c| Culprit {
            kind: CulpritKind::Broke,
            commit: c.into(),
        })
}
