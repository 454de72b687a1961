//! Running a user's raw tree-sitter query over a region.

use std::ops::ControlFlow;

use tree_sitter::{QueryCursor, QueryCursorOptions, StreamingIterator};

use super::{GoFile, GoQuery};
use crate::lines::LineRange;

/// The in-progress match cap tree-sitter keeps; beyond it matches may be dropped, so the
/// count is reported as unreliable rather than silently low.
pub const MATCH_LIMIT: u32 = 10_000;

/// How many times tree-sitter may report progress (once per fixed amount of matching work)
/// before a query is stopped. Counting work rather than time keeps the outcome the same on
/// every machine and thread count; ordinary queries stay far below it.
pub const WORK_LIMIT: u32 = 20_000;

/// The matches of a query inside a region.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct QueryMatches {
    /// One entry per match: the lines covered by its captures (the region when it has none).
    pub matches: Vec<LineRange>,
    /// True when tree-sitter hit [`MATCH_LIMIT`], so some matches may be missing.
    pub limit_exceeded: bool,
    /// True when the query was stopped after [`WORK_LIMIT`]; the matches are incomplete.
    pub work_exceeded: bool,
}

/// Matches of `query` whose captured nodes all lie inside `region`. The built-in text
/// predicates (`#eq?`, `#match?`, `#any-of?`) are applied because the source is given as the
/// text provider; other predicates are rejected by [`GoQuery::compile`].
pub fn query_matches(file: &GoFile, query: &GoQuery, region: LineRange) -> QueryMatches {
    query_matches_limited(file, query, region, MATCH_LIMIT, WORK_LIMIT)
}

/// [`query_matches`] with an explicit in-progress match limit.
pub fn query_matches_limited(
    file: &GoFile,
    query: &GoQuery,
    region: LineRange,
    limit: u32,
    work_limit: u32,
) -> QueryMatches {
    let mut cursor = QueryCursor::new();
    cursor.set_match_limit(limit);
    cursor.set_containing_point_range(file.point_range(region));
    let mut found = Vec::new();
    let mut checks = 0u32;
    let mut work_exceeded = false;
    let mut progress = |_: &tree_sitter::QueryCursorState| {
        checks += 1;
        if checks > work_limit {
            work_exceeded = true;
            ControlFlow::Break(())
        } else {
            ControlFlow::Continue(())
        }
    };
    let options = QueryCursorOptions::new().progress_callback(&mut progress);
    let mut iter = cursor.matches_with_options(&query.query, file.root(), file.source(), options);
    while let Some(m) = iter.next() {
        let mut lines: Option<LineRange> = None;
        let mut inside = true;
        for capture in m.captures() {
            let node_lines = file.node_lines(capture.node);
            inside &= region.contains(node_lines);
            lines = Some(lines.map_or(node_lines, |l| l.cover(node_lines)));
        }
        if inside {
            found.push(lines.unwrap_or(region));
        }
    }
    drop(iter);
    QueryMatches {
        matches: found,
        limit_exceeded: cursor.did_exceed_match_limit(),
        work_exceeded,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exceeding_the_match_limit_is_reported() {
        let args = vec!["a"; 200].join(", ");
        let src = format!("package a\nvar x = f({args})\n");
        let file = GoFile::parse(src.into_bytes()).unwrap();
        let query = GoQuery::compile("(argument_list (identifier) @a (identifier) @b)").unwrap();
        let region = file.full_range().unwrap();
        assert!(query_matches_limited(&file, &query, region, 2, WORK_LIMIT).limit_exceeded);
        assert!(!query_matches(&file, &query, region).limit_exceeded);
    }

    #[test]
    fn a_query_doing_too_much_work_is_stopped_and_reported() {
        let src = format!(
            "package a\nvar x = {}1{}\n",
            "(".repeat(5000),
            ")".repeat(5000)
        );
        let file = GoFile::parse(src.into_bytes()).unwrap();
        let query = GoQuery::compile("(parenthesized_expression) @p").unwrap();
        let region = file.full_range().unwrap();
        let stopped = query_matches_limited(&file, &query, region, MATCH_LIMIT, 1);
        assert!(stopped.work_exceeded);
        assert!(stopped.matches.len() < 5000);
        let full = query_matches(&file, &query, region);
        assert!(!full.work_exceeded);
        assert_eq!(full.matches.len(), 5000);
    }
}
