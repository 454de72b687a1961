//! Running a user's raw tree-sitter query over a region.

use tree_sitter::{QueryCursor, StreamingIterator};

use super::{GoFile, GoQuery};
use crate::lines::LineRange;

/// The in-progress match cap tree-sitter keeps; beyond it matches may be dropped, so the
/// count is reported as unreliable rather than silently low.
pub const MATCH_LIMIT: u32 = 10_000;

/// The matches of a query inside a region.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct QueryMatches {
    /// One entry per match: the lines covered by its captures (the region when it has none).
    pub matches: Vec<LineRange>,
    /// True when tree-sitter hit [`MATCH_LIMIT`], so some matches may be missing.
    pub limit_exceeded: bool,
}

/// Matches of `query` whose captured nodes all lie inside `region`. The built-in text
/// predicates (`#eq?`, `#match?`, `#any-of?`) are applied because the source is given as the
/// text provider; other predicates are rejected by [`GoQuery::compile`].
pub fn query_matches(file: &GoFile, query: &GoQuery, region: LineRange) -> QueryMatches {
    query_matches_limited(file, query, region, MATCH_LIMIT)
}

/// [`query_matches`] with an explicit in-progress match limit.
pub fn query_matches_limited(
    file: &GoFile,
    query: &GoQuery,
    region: LineRange,
    limit: u32,
) -> QueryMatches {
    let mut cursor = QueryCursor::new();
    cursor.set_match_limit(limit);
    cursor.set_containing_point_range(file.point_range(region));
    let mut found = Vec::new();
    let mut iter = cursor.matches(&query.query, file.root(), file.source());
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
        assert!(query_matches_limited(&file, &query, region, 2).limit_exceeded);
        assert!(!query_matches(&file, &query, region).limit_exceeded);
    }
}
