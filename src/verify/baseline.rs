//! The cited lines as they were where the ref was written (its `at`, `diff`'s base, or the
//! commit where a ref without `at` last held), for the expectations that compare with them: a
//! guard that still holds on its own terms but aborts in fewer cases than it did there
//! (`if isRevoked` became `if isRevoked && !cfg.AllowRevoked`) is weakened in place, so the
//! ref is broken where it is, never verified, drifted or relocated.

use std::rc::Rc;

use crate::expect::{self, Evidence};
use crate::go::GoFile;
use crate::lines::LineRange;
use crate::model::{Culprit, CulpritKind, Draft, Outcome};
use crate::source::Files;

use super::evaluate;
use super::excerpt::excerpt;
use super::job::Job;
use super::parses::Sources;

/// Whether `job` may hold now only because what it cited was narrowed: it has an expectation
/// that compares with `at`, and history says the cited lines changed since (untouched lines
/// are the same guards). A cached check of its range does not answer for it.
pub(super) fn applies(job: &Job<'_>) -> bool {
    job.at.is_some()
        && job.r.expect.iter().any(expect::compares_with_at)
        && job
            .mapping()
            .is_some_and(|m| m.touched.is_some() || m.moved.is_some() || m.path != job.r.path.value)
}

/// The file at `at` and the cited lines in it; `None` when it cannot be read there.
fn was(job: &Job<'_>, src: &Sources<'_>) -> Option<(Rc<GoFile>, LineRange)> {
    let source = src.history?;
    let at = job.at.as_deref()?;
    let cited = job.r.lines.value;
    let blob = source.git.resolve(at).ok()?.read(&job.r.path.value).ok()?;
    Some((src.parses.covering(&blob, cited)?, cited))
}

/// The first expectation of `job`'s ref that finds a guard it cited at `at` (`was`, at
/// `was_lines`) narrowed at `range` of `file`, with its failure.
fn narrowed_against(
    job: &Job<'_>,
    was: &GoFile,
    was_lines: LineRange,
    file: &GoFile,
    range: LineRange,
) -> Option<(usize, Evidence)> {
    job.r.expect.iter().enumerate().find_map(|(i, e)| {
        expect::narrowed(e, was, was_lines, file, range).map(|evidence| (i, evidence))
    })
}

/// For a ref whose expectations all hold at `range` (its mapped place) of `file`: when a guard
/// it cited was narrowed since `at`, makes the report broken there, with that expectation's
/// failure and the commit that narrowed it, and says so.
pub(super) fn settle_narrowed(
    report: &mut Draft,
    job: &Job<'_>,
    src: &Sources<'_>,
    file: &GoFile,
    range: LineRange,
    keep: bool,
) -> bool {
    if !applies(job) {
        return false;
    }
    let Some((was, was_lines)) = was(job, src) else {
        return false;
    };
    let Some((index, evidence)) = narrowed_against(job, &was, was_lines, file, range) else {
        return false;
    };
    debug_assert_eq!(evidence.in_place, expect::InPlace::Weakened);
    if let Some(slot) = report.expectations.get_mut(index) {
        *slot = evidence.result;
    }
    report.excerpt = Some(Box::new(excerpt(file, range, keep)));
    report.outcome = Some(Outcome::Broken {
        culprit: narrowed_since(job, src, &was, was_lines).map(Box::new),
    });
    true
}

/// The first commit along the ref's history at which it no longer held at its mapped place,
/// or held only with a guard narrowed since `at`.
fn narrowed_since(
    job: &Job<'_>,
    src: &Sources<'_>,
    was: &GoFile,
    was_lines: LineRange,
) -> Option<Culprit> {
    let mapping = job.mapping()?;
    let source = src.history?;
    for step in &mapping.steps {
        let Some(info) = &step.commit else { continue };
        let at_step = step.lines.and_then(|lines| {
            let snapshot = source.git.resolve(&info.id).ok()?;
            let file = src
                .parses
                .covering(&snapshot.read(&step.path).ok()?, lines)?;
            Some((file, lines))
        });
        let holds = at_step.is_some_and(|(file, lines)| {
            evaluate::holds(job.r, &file, lines)
                && narrowed_against(job, was, was_lines, &file, lines).is_none()
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
