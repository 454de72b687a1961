//! `query`: a raw tree-sitter query matching between `min` and `max` times inside the range.

use super::{ExpectationResult, lines_phrase};
use crate::anchors::{ExpectationKind, QuerySpec};
use crate::go::GoFile;
use crate::go::query::{MAX_MATCHES, WORK_LIMIT, query_matches};
use crate::lines::LineRange;

const KIND: ExpectationKind = ExpectationKind::Query;

pub(super) fn evaluate(spec: &QuerySpec, file: &GoFile, range: LineRange) -> ExpectationResult {
    let found = query_matches(file, &spec.query, range);
    if found.limit_exceeded {
        return ExpectationResult::fail(
            KIND,
            format!(
                "the query exceeded the limit of {} in-progress matches set for {}; the count is unreliable (anchor the pattern or narrow the range)",
                found.match_limit,
                lines_phrase(range)
            ),
            None,
        );
    }
    if found.work_exceeded {
        return ExpectationResult::fail(
            KIND,
            format!(
                "the query was stopped in {} after too much matching work (limits: {WORK_LIMIT} progress checks, {MAX_MATCHES} matches); simplify the pattern",
                lines_phrase(range)
            ),
            None,
        );
    }
    let count = found.matches.len();
    let bounds = match spec.max {
        Some(max) if max == spec.min => format!("exactly {max}"),
        Some(max) => format!("{}-{max}", spec.min),
        None => format!("at least {}", spec.min),
    };
    let within = count >= spec.min && spec.max.is_none_or(|max| count <= max);
    if within {
        let first = found
            .matches
            .first()
            .map(|m| format!(", first at line {}", m.start()))
            .unwrap_or_default();
        return ExpectationResult::pass(
            KIND,
            format!("{count} match(es) (expected {bounds}){first}"),
            found.matches,
        );
    }
    let near = if count > 0 {
        // Too many: point past the allowed ones; too few: at the last one found.
        let index = spec.max.unwrap_or(count).min(count - 1);
        found.matches.get(index).map(|m| m.start())
    } else {
        None
    };
    let at = near.map(|l| format!("; see line {l}")).unwrap_or_default();
    ExpectationResult::fail(
        KIND,
        format!(
            "{count} match(es) in {}, expected {bounds}{at}",
            lines_phrase(range)
        ),
        near,
    )
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::super::evaluate;
    use super::super::test_support::{all, go, lines};
    use crate::anchors::{Expectation, QuerySpec};
    use crate::go::GoQuery;

    fn query(source: &str, min: usize, max: Option<usize>) -> Expectation {
        Expectation::Query(QuerySpec {
            query: Arc::new(GoQuery::compile(source).unwrap()),
            min,
            max,
        })
    }

    const SRC: &str = "package a\nfunc f() {\n\ta()\n\tb()\n\ta()\n}\n";

    #[test]
    fn counts_matches_between_min_and_max() {
        let file = go(SRC);
        assert!(
            evaluate(
                &query("(call_expression) @c", 3, Some(3)),
                &file,
                all(&file)
            )
            .ok
        );
        let r = evaluate(
            &query("(call_expression) @c", 1, Some(2)),
            &file,
            all(&file),
        );
        assert!(!r.ok);
        assert_eq!(
            r.message,
            "3 match(es) in lines 1-6, expected 1-2; see line 5"
        );
        let r = evaluate(&query("(call_expression) @c", 4, None), &file, all(&file));
        assert_eq!(
            r.message,
            "3 match(es) in lines 1-6, expected at least 4; see line 5"
        );
    }

    #[test]
    fn builtin_predicates_are_honoured() {
        let file = go(SRC);
        let eq = "((call_expression function: (identifier) @f) (#eq? @f \"a\"))";
        let r = evaluate(&query(eq, 2, Some(2)), &file, all(&file));
        assert!(r.ok, "{}", r.message);
        assert_eq!(r.matches, vec![lines(3, 3), lines(5, 5)]);
        let any_of = "((call_expression function: (identifier) @f) (#any-of? @f \"b\" \"z\"))";
        assert!(evaluate(&query(any_of, 1, Some(1)), &file, all(&file)).ok);
        let not_match = "((call_expression function: (identifier) @f) (#not-match? @f \"^a$\"))";
        assert!(evaluate(&query(not_match, 1, Some(1)), &file, all(&file)).ok);
    }

    #[test]
    fn matches_must_lie_inside_the_range() {
        let file = go(SRC);
        assert!(
            evaluate(
                &query("(call_expression) @c", 1, Some(1)),
                &file,
                lines(4, 4)
            )
            .ok
        );
        assert!(
            !evaluate(
                &query("(function_declaration) @f", 1, None),
                &file,
                lines(2, 5)
            )
            .ok
        );
    }
}
