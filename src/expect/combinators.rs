//! `not`, `any` and `all`: expectations built from others.

use super::{ExpectationResult, evaluate};
use crate::anchors::Expectation;
use crate::go::GoFile;
use crate::lines::LineRange;

pub(super) fn evaluate_not(
    inner: &Expectation,
    file: &GoFile,
    range: LineRange,
) -> ExpectationResult {
    const KIND: &str = "not";
    let result = evaluate(inner, file, range);
    if result.ok {
        let near = result.matches.first().map(|m| m.start());
        return ExpectationResult {
            kind: KIND,
            ok: false,
            message: format!("{} must not hold but does: {}", result.kind, result.message),
            matches: result.matches,
            near_miss: near,
        };
    }
    ExpectationResult::pass(
        KIND,
        format!(
            "{} does not hold, as required: {}",
            result.kind, result.message
        ),
        Vec::new(),
    )
}

pub(super) fn evaluate_any(
    inner: &[Expectation],
    file: &GoFile,
    range: LineRange,
) -> ExpectationResult {
    const KIND: &str = "any";
    let results: Vec<ExpectationResult> = inner.iter().map(|e| evaluate(e, file, range)).collect();
    if let Some(ok) = results.iter().find(|r| r.ok) {
        return ExpectationResult::pass(
            KIND,
            format!("{}: {}", ok.kind, ok.message),
            ok.matches.clone(),
        );
    }
    ExpectationResult::fail(
        KIND,
        format!("none of {} held: {}", results.len(), summarize(&results)),
        results.iter().find_map(|r| r.near_miss),
    )
}

pub(super) fn evaluate_all(
    inner: &[Expectation],
    file: &GoFile,
    range: LineRange,
) -> ExpectationResult {
    const KIND: &str = "all";
    let results: Vec<ExpectationResult> = inner.iter().map(|e| evaluate(e, file, range)).collect();
    let failed: Vec<ExpectationResult> = results.iter().filter(|r| !r.ok).cloned().collect();
    if failed.is_empty() {
        let mut matches: Vec<LineRange> = results
            .iter()
            .flat_map(|r| r.matches.iter().copied())
            .collect();
        matches.sort();
        matches.dedup();
        return ExpectationResult::pass(KIND, format!("all {} held", results.len()), matches);
    }
    ExpectationResult::fail(
        KIND,
        format!(
            "{} of {} failed: {}",
            failed.len(),
            results.len(),
            summarize(&failed)
        ),
        failed.iter().find_map(|r| r.near_miss),
    )
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
    use super::super::test_support::{all, go, line};
    use super::evaluate;
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
