//! Running a user's raw tree-sitter query over a region.

use std::ops::ControlFlow;

use tree_sitter::{QueryCursor, QueryCursorOptions, StreamingIterator};

use super::{GoFile, GoQuery};
use crate::lines::LineRange;

/// The largest in-progress match cap tree-sitter keeps; beyond it matches may be dropped, so
/// the count is reported as unreliable rather than silently low.
pub const MATCH_LIMIT: u32 = 10_000;

/// The smallest in-progress match cap, whatever the size of the region.
pub const MIN_MATCH_LIMIT: u32 = 8;

/// Bounds the matching work of a query: the syntax nodes in the region times the square of the
/// in-progress match cap. tree-sitter compares the in-progress matches of a node with each
/// other, so a pattern of unanchored wildcard siblings such as
/// `(_ (_) @a (_) @b (_) @c (_) @d)` costs nodes x cap^2 and reports little progress (a
/// 30-element slice literal took 97 s at the cap of 10,000). The cap is chosen from the
/// region's node count (the same on every machine) to keep that product under this; ordinary
/// queries hold a few in-progress matches and never reach it.
pub const STATE_BUDGET: u64 = 100_000_000;

/// Most matches pulled from one query in one region; past it the query is stopped.
pub const MAX_MATCHES: usize = 100_000;

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
    /// True when the query was stopped after [`WORK_LIMIT`] or [`MAX_MATCHES`]; the matches
    /// are incomplete.
    pub work_exceeded: bool,
    /// The in-progress match cap used for this region.
    pub match_limit: u32,
}

/// The number of syntax nodes lying at least partly inside `region`: whole subtrees are counted
/// from their stored descendant counts, so this costs the depth of the tree, not its size.
pub fn nodes_in(file: &GoFile, region: LineRange) -> u64 {
    let range = file.point_range(region);
    let mut count = 0u64;
    let mut cursor = file.root().walk();
    // Visit the root, then only the children of nodes that straddle the region's ends.
    loop {
        let node = cursor.node();
        let (start, end) = (node.start_position(), node.end_position());
        let outside = end <= range.start || start >= range.end;
        let inside = start >= range.start && end <= range.end;
        let descend = if outside {
            false
        } else if inside {
            count += node.descendant_count() as u64;
            false
        } else {
            count += 1;
            true
        };
        if descend && cursor.goto_first_child() {
            continue;
        }
        while !cursor.goto_next_sibling() {
            if !cursor.goto_parent() {
                return count;
            }
        }
    }
}

/// The in-progress match cap for a region of `nodes` nodes (see [`STATE_BUDGET`]).
pub fn match_limit_for(nodes: u64) -> u32 {
    let limit = (STATE_BUDGET / nodes.max(1)).isqrt();
    u32::try_from(limit)
        .unwrap_or(MATCH_LIMIT)
        .clamp(MIN_MATCH_LIMIT, MATCH_LIMIT)
}

/// Matches of `query` whose captured nodes all lie inside `region`. The built-in text
/// predicates (`#eq?`, `#match?`, `#any-of?`) are applied because the source is given as the
/// text provider; other predicates are rejected by [`GoQuery::compile`].
pub fn query_matches(file: &GoFile, query: &GoQuery, region: LineRange) -> QueryMatches {
    let limit = match_limit_for(nodes_in(file, region));
    query_matches_limited(file, query, region, limit, WORK_LIMIT)
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
        // Each report is a fixed amount of matching work, drawn from the run's budget too.
        if checks > work_limit || !crate::budget::charge(crate::budget::query_progress_steps(limit))
        {
            work_exceeded = true;
            ControlFlow::Break(())
        } else {
            ControlFlow::Continue(())
        }
    };
    let options = QueryCursorOptions::new().progress_callback(&mut progress);
    let mut iter = cursor.matches_with_options(&query.query, file.root(), file.source(), options);
    let mut pulled = 0usize;
    let mut too_many = false;
    while let Some(m) = iter.next() {
        pulled += 1;
        if pulled > MAX_MATCHES {
            too_many = true;
            break;
        }
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
        work_exceeded: work_exceeded || too_many,
        match_limit: limit,
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

    /// Issue 17: four unanchored wildcard siblings over a slice literal took 39 s or more.
    #[test]
    fn wildcard_siblings_over_a_long_literal_hit_a_cap_sized_for_the_region() {
        let elems: Vec<String> = (0..100).map(|i| format!("x{i}")).collect();
        let src = format!("package a\n\nvar s = []int{{{}}}\n", elems.join(", "));
        let file = GoFile::parse(src.into_bytes()).unwrap();
        let region = file.full_range().unwrap();
        let nodes = nodes_in(&file, region);
        assert_eq!(nodes, 317);
        assert_eq!(match_limit_for(nodes), 561);
        let query = GoQuery::compile("(_ (_) @a (_) @b (_) @c (_) @d (func_literal))").unwrap();
        let found = query_matches(&file, &query, region);
        assert!(found.limit_exceeded);
        assert_eq!(found.match_limit, 561);
    }

    #[test]
    fn node_counts_cover_only_the_region() {
        let src = "package a\n\nfunc f() {\n\ta()\n}\n\nfunc g() {\n\tb(1, 2)\n}\n";
        let file = GoFile::parse(src.as_bytes().to_vec()).unwrap();
        let whole = nodes_in(&file, file.full_range().unwrap());
        assert_eq!(whole, file.root().descendant_count() as u64);
        let g = nodes_in(&file, LineRange::parse("7-9").unwrap());
        assert!(g < whole / 2 + 2 && g > 5, "{g} of {whole}");
        assert_eq!(match_limit_for(1), MATCH_LIMIT);
        assert_eq!(match_limit_for(1000), 316);
        assert_eq!(match_limit_for(u64::MAX), MIN_MATCH_LIMIT);
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
