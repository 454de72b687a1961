//! `not`, `any` and `all`: expectations built from others.

use super::{Evidence, ExpectationResult, InPlace, Scope, evaluate_evidence, evaluate_scoped};
use crate::anchors::{Expectation, ExpectationKind};
use crate::go::GoFile;
use crate::lines::{LineNo, LineRange};

pub(super) fn evaluate_not(inner: &Expectation, file: &GoFile, range: LineRange) -> Evidence {
    const KIND: ExpectationKind = ExpectationKind::Not;
    // A `not` that holds quotes why its inner expectation failed in the range, never a near
    // miss elsewhere: that says nothing about the range, and a partial parse cannot see it.
    let inner = anywhere(inner);
    let result = evaluate_scoped(&inner, file, range, Scope::Range);
    if result.ok {
        let near = result.matches.first().map(|m| m.start());
        // What must not be in the range is: that is about the range, never moved evidence.
        return Evidence::weakened(ExpectationResult {
            kind: KIND.into(),
            ok: false,
            message: format!("{} must not hold but does: {}", result.kind, result.message),
            matches: result.matches,
            near_miss: near,
        });
    }
    ExpectationResult::pass(
        KIND,
        format!(
            "{} does not hold, as required: {}",
            result.kind, result.message
        ),
        Vec::new(),
    )
    .into()
}

/// `inner` as `not` reads it: a call or route registration it forbids is forbidden under any
/// condition too (`not: {call: log.Printf}` fails on a `log.Printf` inside an `if`), so the
/// `call` and `routes` in it (through `any` and `all`) match whatever conditions they run
/// under, unless they name their own `when`.
fn anywhere(inner: &Expectation) -> Expectation {
    let any_condition = || regex::Regex::new("(?s).*").ok();
    match inner {
        Expectation::Call(pattern) if pattern.when.is_none() => {
            let mut lifted = pattern.clone();
            lifted.when = any_condition();
            Expectation::Call(lifted)
        }
        Expectation::Routes(spec) if spec.when.is_none() => {
            let mut lifted = spec.clone();
            lifted.when = any_condition();
            Expectation::Routes(lifted)
        }
        Expectation::Any(items) => Expectation::Any(items.iter().map(anywhere).collect()),
        Expectation::All(items) => Expectation::All(items.iter().map(anywhere).collect()),
        other => other.clone(),
    }
}

pub(super) fn evaluate_any(
    inner: &[Expectation],
    file: &GoFile,
    range: LineRange,
    scope: Scope,
) -> Evidence {
    const KIND: ExpectationKind = ExpectationKind::Any;
    let mut evaluated: Vec<Evidence> = inner
        .iter()
        .map(|e| evaluate_evidence(e, file, range, scope))
        .collect();
    if let Some(first) = evaluated.iter().position(|e| e.result.ok) {
        let ok = evaluated.swap_remove(first);
        let message = format!("{}: {}", ok.result.kind, ok.result.message);
        let result = ExpectationResult::pass(KIND, message, ok.result.matches);
        return Evidence {
            result,
            cited: ok.cited,
            in_place: InPlace::Absent,
        };
    }
    let in_place = evaluated
        .iter()
        .map(|e| e.in_place)
        .max()
        .unwrap_or_default();
    let results: Vec<ExpectationResult> = evaluated.into_iter().map(|e| e.result).collect();
    Evidence {
        result: ExpectationResult::fail(
            KIND,
            format!("none of {} held: {}", results.len(), summarize(&results)),
            results.iter().find_map(|r| r.near_miss),
        ),
        cited: Vec::new(),
        in_place,
    }
}

pub(super) fn evaluate_all(
    inner: &[Expectation],
    file: &GoFile,
    range: LineRange,
    scope: Scope,
) -> Evidence {
    const KIND: ExpectationKind = ExpectationKind::All;
    let evaluated: Vec<Evidence> = inner
        .iter()
        .map(|e| evaluate_evidence(e, file, range, scope))
        .collect();
    let failed: Vec<ExpectationResult> = evaluated
        .iter()
        .filter(|e| !e.result.ok)
        .map(|e| e.result.clone())
        .collect();
    if failed.is_empty() {
        let mut matches: Vec<LineRange> = evaluated
            .iter()
            .flat_map(|e| e.result.matches.iter().copied())
            .collect();
        matches.sort();
        matches.dedup();
        let mut cited: Vec<(LineNo, LineRange)> = evaluated
            .iter()
            .flat_map(|e| e.cited.iter().copied())
            .collect();
        cited.sort();
        cited.dedup();
        let message = format!("all {} held", evaluated.len());
        return Evidence {
            result: ExpectationResult::pass(KIND, message, matches),
            cited,
            in_place: InPlace::Absent,
        };
    }
    Evidence {
        result: ExpectationResult::fail(
            KIND,
            format!(
                "{} of {} failed: {}",
                failed.len(),
                evaluated.len(),
                summarize(&failed)
            ),
            failed.iter().find_map(|r| r.near_miss),
        ),
        cited: Vec::new(),
        in_place: evaluated
            .iter()
            .map(|e| e.in_place)
            .max()
            .unwrap_or_default(),
    }
}

/// `kind: message; kind: message` for the failing results.
fn summarize(results: &[ExpectationResult]) -> String {
    results
        .iter()
        .filter(|r| !r.ok)
        .map(|r| format!("{}: {}", r.kind, r.message))
        .collect::<Vec<_>>()
        .join("; ")
}

#[cfg(test)]
mod tests {
    use super::super::evaluate;
    use super::super::test_support::{all, go, line, lines};
    use crate::anchors::Expectation;

    const SRC: &str = "package a\nfunc f() {\n\tlog.Printf(\"x\")\n}\n";

    fn ident(name: &str) -> Expectation {
        Expectation::Identifier(name.into())
    }

    #[test]
    fn not_inverts_and_points_at_the_violation() {
        let file = go(SRC);
        let r = evaluate(
            &Expectation::Not(Box::new(ident("Printf"))),
            &file,
            all(&file),
        );
        assert!(!r.ok);
        assert_eq!(r.kind, "not");
        assert_eq!(r.near_miss, Some(line(3)));
        assert!(
            r.message.starts_with("identifier must not hold but does"),
            "{}",
            r.message
        );
        assert!(
            evaluate(
                &Expectation::Not(Box::new(ident("Fatal"))),
                &file,
                all(&file)
            )
            .ok
        );
    }

    #[test]
    fn not_that_holds_says_only_what_the_range_holds() {
        // The same call just outside the range must not change the message: a partial parse
        // of the range cannot see it, and it says nothing about the range.
        let printf = || {
            Expectation::Call(crate::anchors::CallPattern {
                name: "log.Printf".into(),
                glob: None,
                args: None,
                when: None,
            })
        };
        let inside = "package a\nfunc f() {\n\tfmt.Printf(\"x\")\n}\n";
        let outside = format!("{inside}func g() {{\n\tlog.Printf(\"y\")\n}}\n");
        let near = evaluate(&printf(), &go(&outside), lines(2, 4));
        assert!(
            near.message
                .ends_with("nearest: line 6 calls log.Printf, outside the range"),
            "{}",
            near.message
        );
        let not = Expectation::Not(Box::new(printf()));
        let alone = evaluate(&not, &go(inside), lines(2, 4));
        let with_outside = evaluate(&not, &go(&outside), lines(2, 4));
        assert!(alone.ok && with_outside.ok);
        assert_eq!(alone.message, with_outside.message);
        assert_eq!(
            alone.message,
            "call does not hold, as required: no call matching log.Printf in lines 2-4; \
             nearest: line 3 calls fmt.Printf"
        );
    }

    #[test]
    fn not_cites_by_head_like_every_kind() {
        // A multi-line call is cited by the line of its name, for `not` too: its arguments
        // alone are not the call.
        let file = go("package a\nfunc f() {\n\tlog.Printf(\"%v\",\n\t\terr)\n\tserve()\n}\n");
        let not = Expectation::Not(Box::new(Expectation::Call(crate::anchors::CallPattern {
            name: "log.Printf".into(),
            glob: None,
            args: None,
            when: None,
        })));
        assert!(evaluate(&not, &file, lines(4, 5)).ok);
        let r = evaluate(&not, &file, lines(3, 3));
        assert!(!r.ok);
        assert_eq!(r.matches, vec![lines(3, 4)]);
    }

    #[test]
    fn any_needs_one_and_all_needs_every_one() {
        let file = go(SRC);
        let any = Expectation::Any(vec![ident("Fatal"), ident("Printf")]);
        assert!(evaluate(&any, &file, all(&file)).ok);
        let none = Expectation::Any(vec![ident("Fatal"), ident("Exit")]);
        let r = evaluate(&none, &file, all(&file));
        assert!(!r.ok);
        assert!(
            r.message
                .starts_with("none of 2 held: identifier: identifier Fatal"),
            "{}",
            r.message
        );
        let both = Expectation::All(vec![ident("log"), ident("Printf")]);
        assert!(evaluate(&both, &file, all(&file)).ok);
        let one_missing = Expectation::All(vec![ident("log"), ident("Exit")]);
        let r = evaluate(&one_missing, &file, all(&file));
        assert!(
            r.message
                .starts_with("1 of 2 failed: identifier: identifier Exit"),
            "{}",
            r.message
        );
    }
}
