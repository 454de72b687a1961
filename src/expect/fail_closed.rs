//! `fail_closed`: an `if` mentioning `when` with a branch that terminates on every path.

use std::borrow::Cow;

use super::{Evidence, ExpectationResult, InPlace, Scope, lines_phrase, nearest_elsewhere};
use crate::anchors::{ExpectationKind, FailClosedSpec};
use crate::go::GoFile;
use crate::go::calls::names_callee;
use crate::go::guards::{Guard, guards, guards_with_sinks};
use crate::go::predicate::Narrowing;
use crate::go::termination::{FailOpen, Termination};
use crate::go::tokens::comments;
use crate::lines::LineRange;

const KIND: ExpectationKind = ExpectationKind::FailClosed;

pub(super) fn evaluate(
    spec: &FailClosedSpec,
    file: &GoFile,
    range: LineRange,
    scope: Scope,
) -> Evidence {
    let (result, in_place) = evaluate_guards(spec, file, range, scope);
    let mut evidence = Evidence::from(result);
    evidence.in_place = in_place;
    evidence
}

/// The result, and how its failure relates to the cited guards: one mentioning `when` falls
/// open in a shape a refusal takes when it is taken out ([`is_weakened`]), or otherwise.
fn evaluate_guards(
    spec: &FailClosedSpec,
    file: &GoFile,
    range: LineRange,
    scope: Scope,
) -> (ExpectationResult, InPlace) {
    let mention = |g: &Guard| g.mentions.iter().find(|m| spec.when.is_match(m)).cloned();
    let sink = |callee: &str| spec.sinks.iter().any(|s| names_callee(s, callee));
    let cited: Cow<'_, [Guard]> = if spec.sinks.is_empty() {
        guards(file, range)
    } else {
        Cow::Owned(guards_with_sinks(file, range, &sink))
    };
    let candidates: Vec<(&Guard, String)> = cited
        .iter()
        .filter_map(|g| mention(g).map(|m| (g, m)))
        .collect();

    let closed: Vec<&(&Guard, String)> = candidates
        .iter()
        .filter(|(g, _)| g.terminating_branch().is_some())
        .collect();
    // A weakened guard fails the claim even when another guard in the range still holds: a
    // `log.Fatal` turned into `log.Printf` must not hide behind the check next to it.
    let weakened = candidates
        .iter()
        .find_map(|(g, name)| match &g.then_branch {
            Termination::Open(open) if g.terminating_branch().is_none() && is_weakened(open) => {
                Some((*g, name, open))
            }
            _ => None,
        });
    if let Some((guard, name, open)) = weakened {
        let result = ExpectationResult::fail(
            KIND,
            format!(
                "line {}: {} mentions {name} but {}: fail-open",
                guard.line(),
                guard.keyword,
                fail_open_reason(open)
            ),
            Some(guard.line()),
        );
        return (result, InPlace::Weakened);
    }
    if let Some((guard, name)) = closed.first() {
        let how = guard
            .terminating_branch()
            .and_then(Termination::terminator)
            .map(|t| format!("{} at line {}", t.what, t.line))
            .unwrap_or_default();
        let result = ExpectationResult::pass(
            KIND,
            format!(
                "line {}: {} mentions {name} and terminates with {how}",
                guard.line(),
                guard.keyword
            ),
            closed.iter().map(|(g, _)| g.lines).collect(),
        );
        return (result, InPlace::Absent);
    }
    if let Some((guard, name)) = candidates.first() {
        // Ordinary branching (a body that does other work and goes on) may be code that moved
        // into the range; only a refusal's shapes say the guard itself was weakened.
        let (reason, weakened) = match &guard.then_branch {
            Termination::Open(open) => (fail_open_reason(open), is_weakened(open)),
            Termination::Terminates(_) => ("no branch terminates".to_string(), false),
        };
        let in_place = if weakened {
            InPlace::Weakened
        } else {
            InPlace::Cited
        };
        let result = ExpectationResult::fail(
            KIND,
            format!(
                "line {}: {} mentions {name} but {reason}: fail-open",
                guard.line(),
                guard.keyword
            ),
            Some(guard.line()),
        );
        return (result, in_place);
    }
    // A guard whose `if` line is above the range is not cited, even when its body is inside.
    let started_before = (scope == Scope::File)
        .then(|| {
            file.cached_guards()
                .iter()
                .filter(|g| g.line() < range.start() && range.overlaps(g.lines))
                .find_map(|g| mention(g).map(|m| (g, m)))
        })
        .flatten();
    if let Some((guard, name)) = started_before {
        let result = ExpectationResult::fail(
            KIND,
            format!(
                "line {}: if mentions {name} but its `if` line is above {} (the guard spans {})",
                guard.line(),
                lines_phrase(range),
                guard.lines
            ),
            Some(guard.line()),
        );
        return (result, InPlace::Absent);
    }
    if let Some(comment) = comments(file, range)
        .iter()
        .find(|c| range.contains(c.lines) && spec.when.is_match(&c.text) && c.text.contains("if "))
    {
        let line = comment.lines.start();
        let result = ExpectationResult::fail(
            KIND,
            format!("line {line}: the guard is commented out"),
            Some(line),
        );
        return (result, InPlace::Absent);
    }
    let missing = format!(
        "no if statement in {} mentions anything matching {}",
        lines_phrase(range),
        spec.when.as_str()
    );
    let elsewhere = nearest_elsewhere(
        file,
        range,
        scope,
        GoFile::cached_guards,
        |g| !range.overlaps(g.lines) && mention(g).is_some(),
        |g| g.lines,
    );
    let result = match elsewhere {
        Some(g) => ExpectationResult::fail_elsewhere(KIND, missing, g.line(), ""),
        None => ExpectationResult::fail(KIND, missing, None),
    };
    (result, InPlace::Absent)
}

/// A guard the range cited where the ref was written (`was_file` at `was_range`) whose abort
/// condition narrowed since: the guard mentioning `when` at `range` of `file` that continues
/// it aborts in fewer cases (an added `&&` operand, a dropped `||` operand), and no guard
/// there still aborts in every case it did. A guard written with `&&` from the start is
/// judged as written; a condition rewritten otherwise is not judged here.
pub(super) fn narrowed(
    spec: &FailClosedSpec,
    was_file: &GoFile,
    was_range: LineRange,
    file: &GoFile,
    range: LineRange,
) -> Option<Evidence> {
    let mention = |g: &Guard| g.mentions.iter().find(|m| spec.when.is_match(m)).cloned();
    let sink = |callee: &str| spec.sinks.iter().any(|s| names_callee(s, callee));
    let scan = |f: &GoFile, r: LineRange| -> Vec<Guard> {
        if spec.sinks.is_empty() {
            guards(f, r).into_owned()
        } else {
            guards_with_sinks(f, r, &sink)
        }
    };
    let now: Vec<Guard> = scan(file, range)
        .into_iter()
        .filter(|g| mention(g).is_some())
        .collect();
    for old in scan(was_file, was_range) {
        let (Some(name), Some(was)) = (mention(&old), old.parts.as_ref()) else {
            continue;
        };
        let found = if old.then_branch.terminator().is_some() {
            // Aborts when the condition holds: it must hold in no fewer cases.
            let still = now.iter().any(|g| {
                g.then_branch.terminator().is_some()
                    && g.parts.as_ref().is_some_and(|p| p.covers(was))
            });
            (!still)
                .then(|| {
                    now.iter().find_map(|g| {
                        let how = match g.parts.as_ref()?.narrowing(was)? {
                            Narrowing::Requires { added, .. } => {
                                format!("now also requires {}", added.join(" && "))
                            }
                            Narrowing::Drops { was } => {
                                format!("no longer aborts when {}", was.join(" && "))
                            }
                        };
                        Some((g, how))
                    })
                })
                .flatten()
        } else if old
            .else_branch
            .as_ref()
            .is_some_and(|e| e.terminator().is_some())
        {
            // Aborts in its `else`: the condition it goes on under must hold in no more cases.
            let goes_on = |g: &&Guard| {
                g.then_branch.terminator().is_none()
                    && g.else_branch
                        .as_ref()
                        .is_some_and(|e| e.terminator().is_some())
            };
            let still = now
                .iter()
                .filter(goes_on)
                .any(|g| g.parts.as_ref().is_some_and(|p| was.covers(p)));
            (!still)
                .then(|| {
                    now.iter().filter(goes_on).find_map(|g| {
                        let how = match was.narrowing(g.parts.as_ref()?)? {
                            Narrowing::Requires { added, .. } => {
                                format!("no longer requires {} to go on", added.join(" && "))
                            }
                            Narrowing::Drops { was } => {
                                format!("now also goes on when {}", was.join(" && "))
                            }
                        };
                        Some((g, how))
                    })
                })
                .flatten()
        } else {
            None
        };
        let Some((guard, how)) = found else {
            continue;
        };
        let result = ExpectationResult::fail(
            KIND,
            format!(
                "line {}: the guard on {name} {how} (it was `{} {}`): fail-open",
                guard.line(),
                old.keyword,
                old.condition
            ),
            Some(guard.line()),
        );
        return Some(Evidence::weakened(result));
    }
    None
}

/// The shapes a guard takes when its refusal was taken out; a body that does other work and
/// continues (`FallsThrough`) is ordinary branching, not a weakened guard.
fn is_weakened(open: &FailOpen) -> bool {
    !matches!(open, FailOpen::FallsThrough { .. })
}

fn fail_open_reason(open: &FailOpen) -> String {
    match open {
        FailOpen::OnlyLogs { .. } => "its body only logs and continues".to_string(),
        FailOpen::ReturnsNilError { .. } => "returns nil error".to_string(),
        FailOpen::ReturnsWithoutError { .. } => "returns without reporting an error".to_string(),
        FailOpen::ReturnsPossiblyNilError { name, .. } => {
            format!("returns {name}, which nothing on that path proves non-nil")
        }
        FailOpen::ErrorResponseWithoutReturn { callee, .. } => {
            format!("calls {callee} but does not return")
        }
        FailOpen::Empty { .. } => "its body is empty".to_string(),
        FailOpen::FallsThrough { line } => format!("its body can fall through past line {line}"),
    }
}

#[cfg(test)]
#[path = "fail_closed_tests.rs"]
mod tests;
