//! Turns the places relocation found into an outcome: one is drifted, several are ambiguous
//! (best first), none is broken; and settles a ref history followed into several files at once.
//!
//! Takes a draft report and the places found; gives the draft its outcome.

use crate::go::GoFile;
use crate::model::{Culprit, CulpritKind, Draft, How, Outcome, Place, Relocation};

use super::culprit::{broken_since, moved_detail, moved_in};
use super::evaluate;
use super::excerpt::{excerpt, place};
use super::job::Job;
use super::parses::{Sources, holds_at};
use super::relocate::Candidate;

/// The places relocation found, best first, and how.
pub(super) struct Found {
    pub(super) places: Vec<crate::model::Candidate>,
    pub(super) how: How,
}

/// A place relocation found, with what ranked it: the distance only within the file the ref
/// was looked for in (`same_file`).
pub(super) fn ranked(
    place: Place,
    how: How,
    c: &Candidate,
    same_file: bool,
) -> crate::model::Candidate {
    crate::model::Candidate {
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
pub(super) fn settle(
    report: &mut Draft,
    found: Found,
    current: Option<&GoFile>,
    keep: bool,
    job: &Job<'_>,
    src: &Sources<'_>,
) {
    let Found { mut places, how } = found;
    match places.len() {
        0 => {
            report.outcome = Some(Outcome::Broken {
                culprit: broken_since(job, src).map(Box::new),
            });
        }
        1 => {
            let candidate = places.remove(0);
            let mut relocation = Relocation {
                place: candidate.place,
                how,
                excerpt: None,
                expectations: Vec::new(),
                detail: (how == How::History).then(|| moved_detail(job)).flatten(),
                symbol: None,
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
                    relocation.expectations = evaluate::evaluate_ref(job.r, file, lines);
                }
            }
            // The commit from which the evidence no longer held where history mapped it is the
            // one that moved it: a drifted ref is never said to be broken since a commit.
            let culprit = broken_since(job, src)
                .map(|c| Culprit {
                    kind: CulpritKind::Moved,
                    ..c
                })
                .or_else(|| moved_in(job))
                .map(Box::new);
            report.outcome = Some(Outcome::Drifted {
                relocation: Box::new(relocation),
                culprit,
            });
        }
        _ => report.outcome = Some(Outcome::Ambiguous(places)),
    }
}

/// When history found the ref's lines moved into several files at once (git pairing none),
/// settles it on those where its evidence still holds; false when there are none.
pub(super) fn settle_moved(
    report: &mut Draft,
    job: &Job<'_>,
    src: &Sources<'_>,
    current: Option<&GoFile>,
    keep: bool,
) -> bool {
    let Some(mapping) = job.mapping() else {
        return false;
    };
    // History followed the lines there; no text or declaration was compared.
    let places: Vec<crate::model::Candidate> = mapping
        .move_candidates
        .iter()
        .filter(|(path, lines)| holds_at(job.r, src.files, path, *lines, &src.parses))
        .map(|(path, lines)| crate::model::Candidate {
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
