//! Go source as syntax trees: parsing, line bookkeeping and raw queries. The only tree-sitter code.

use std::borrow::Cow;
use std::cell::RefCell;
use std::fmt;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};

use tree_sitter::{Language, Node, Parser, Point, Query, Tree};

use crate::lines::{LineNo, LineRange};

pub(crate) mod ancestry;
pub(crate) mod calls;
pub(crate) mod conditions;
pub(crate) mod guards;
pub(crate) mod highlight;
pub(crate) mod literals;
pub(crate) mod partial;
pub(crate) mod predicate;
pub(crate) mod query;
pub(crate) mod routers;
pub(crate) mod routes;
pub(crate) mod segments;
pub mod symbols;
pub(crate) mod termination;
pub(crate) mod tls;
pub(crate) mod tokens;
pub(crate) mod walk;

/// The Go grammar.
pub fn language() -> Language {
    tree_sitter_go::LANGUAGE.into()
}

/// A node's kind, read from a table made once: tree-sitter's [`Node::kind`] measures the kind's
/// C string and checks it is UTF-8 on every call, and the scans ask it of every node they pass.
pub(crate) trait KindName<'tree> {
    /// The same `&str` as [`Node::kind`].
    fn kind_name(&self) -> &'tree str;
}

impl<'tree> KindName<'tree> for Node<'tree> {
    fn kind_name(&self) -> &'tree str {
        static NAMES: OnceLock<Vec<String>> = OnceLock::new();
        let names = NAMES.get_or_init(|| {
            let language = language();
            (0..language.node_kind_count())
                .map(|id| {
                    u16::try_from(id)
                        .ok()
                        .and_then(|id| language.node_kind_for_id(id))
                        .unwrap_or_default()
                        .to_string()
                })
                .collect()
        });
        // A kind id names the kind of the node's own symbol (tree-sitter gives the symbols of
        // one name one id); an error node's id lies past the table.
        match names.get(usize::from(self.kind_id())) {
            Some(name) if !name.is_empty() => name,
            _ => self.kind(),
        }
    }
}

thread_local! {
    /// One parser per thread: rayon workers each keep theirs.
    static PARSER: RefCell<Option<Parser>> = const { RefCell::new(None) };
}

/// Parses `source` with this thread's parser, reading only the `included` byte ranges (all of
/// it when empty); node positions stay those of the whole source.
fn parse_tree(source: &[u8], included: &[tree_sitter::Range]) -> Result<Tree, GoError> {
    PARSER.with(|cell| {
        let mut slot = cell.borrow_mut();
        if slot.is_none() {
            let mut parser = Parser::new();
            parser
                .set_language(&language())
                .map_err(|e| GoError::Language(e.to_string()))?;
            *slot = Some(parser);
        }
        let parser = slot.as_mut().ok_or(GoError::ParseFailed)?;
        parser
            .set_included_ranges(included)
            .map_err(|_| GoError::ParseFailed)?;
        let tree = parser.parse(source, None);
        if !included.is_empty() {
            // The parser is reused for whole files next.
            parser
                .set_included_ranges(&[])
                .map_err(|_| GoError::ParseFailed)?;
        }
        tree.ok_or(GoError::ParseFailed)
    })
}

/// A parsed Go file: its bytes, syntax tree and line starts.
pub struct GoFile {
    source: Vec<u8>,
    tree: Tree,
    /// Byte offset of the start of each line (0-based rows).
    line_starts: Vec<usize>,
    /// Facts about the whole file, each extracted at most once.
    facts: Facts,
    /// For a tree of the cited declarations alone ([`GoFile::parse_cited`]): set once a
    /// question was asked whose answer the declarations left out may change.
    outside: Option<AtomicBool>,
}

/// Whole-file facts, extracted on first use. Matchers answer region questions by filtering
/// these, so evaluating many regions of one file (search relocation, near-miss messages that
/// look outside the range) walks the tree once per kind instead of once per question.
#[derive(Default)]
struct Facts {
    calls: OnceLock<Vec<calls::CallSite>>,
    guards: OnceLock<Vec<guards::Guard>>,
    registrations: OnceLock<Vec<routes::RouteRegistration>>,
    strings: OnceLock<Vec<literals::StringLiteral>>,
    identifiers: OnceLock<Vec<tokens::IdentifierUse>>,
    comments: OnceLock<Vec<tokens::Comment>>,
    tls: OnceLock<Vec<tls::TlsConfig>>,
    package_vars: OnceLock<Vec<String>>,
    declarations: OnceLock<Vec<symbols::Declaration>>,
    /// Lines scanned so far for calls and guards one region at a time, before their whole-file
    /// scans: see [`cited_or_scanned`].
    calls_scanned: AtomicU32,
    guards_scanned: AtomicU32,
}

/// The facts whose head line lies inside `region`, from `facts` sorted by head line: a binary
/// search, so asking about every declaration of a file stays linear in its size.
pub(crate) fn cited<T>(facts: &[T], region: LineRange, head: impl Fn(&T) -> LineNo) -> &[T] {
    let from = facts.partition_point(|f| head(f) < region.start());
    let to = facts.partition_point(|f| head(f) <= region.end());
    &facts[from..to.max(from)]
}

/// The facts of one kind whose head line lies inside `region`, sorted by head line: from the
/// whole-file scan in `slot` when it was made, else from `part`, a scan of the region alone,
/// which must give the same facts in the same order (the whole scan's facts cited by `head`).
///
/// A ref citing a few lines of a file of thousands pays for those lines only. Regions that
/// together reach the file's size (a search evaluating every declaration of a file, many refs
/// to one file) make the whole-file scan instead, counting in `scanned`, so evaluating any
/// number of regions costs at most about two scans of the file. So do regions past the end of
/// the file, where only zero-width nodes error recovery inserts may lie.
fn cited_or_scanned<'f, T: Clone>(
    file: &'f GoFile,
    slot: &'f OnceLock<Vec<T>>,
    scanned: &AtomicU32,
    region: LineRange,
    (whole, part): (
        impl FnOnce(&GoFile, LineRange) -> Vec<T>,
        impl FnOnce(&GoFile, LineRange) -> Vec<T>,
    ),
    head: impl Fn(&T) -> LineNo,
) -> Cow<'f, [T]> {
    if slot.get().is_none() && region.end().get() <= file.line_count() {
        let before = scanned.fetch_add(region.len(), Ordering::Relaxed);
        if before.saturating_add(region.len()) <= file.line_count() {
            return Cow::Owned(part(file, region));
        }
    }
    Cow::Borrowed(cited(cached(file, slot, whole), region, head))
}

/// Runs `scan` over the whole file once, caching the result in `slot`.
fn cached<'f, T>(
    file: &'f GoFile,
    slot: &'f OnceLock<Vec<T>>,
    scan: impl FnOnce(&GoFile, LineRange) -> Vec<T>,
) -> &'f [T] {
    slot.get_or_init(|| match file.full_range() {
        Some(all) => scan(file, all),
        None => Vec::new(),
    })
}

impl fmt::Debug for GoFile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GoFile")
            .field("bytes", &self.source.len())
            .field("lines", &self.line_count())
            .finish()
    }
}

impl GoFile {
    /// Parses Go source. tree-sitter recovers from syntax errors, so this only fails when the
    /// parser itself cannot run.
    pub fn parse(source: Vec<u8>) -> Result<GoFile, GoError> {
        let tree = parse_tree(&source, &[])?;
        Ok(GoFile::from_tree(source, tree))
    }

    fn from_tree(source: Vec<u8>, tree: Tree) -> GoFile {
        let line_starts = line_starts(&source);
        GoFile {
            source,
            tree,
            line_starts,
            facts: Facts::default(),
            outside: None,
        }
    }

    /// Notes, on a tree of the cited declarations alone, that the question being answered
    /// looks at declarations such a tree leaves out (imports, package-level constants and
    /// variables, the declarations binding names): its answer there may not be the whole
    /// file's.
    fn asks_outside(&self) {
        if let Some(outside) = &self.outside {
            outside.store(true, Ordering::Relaxed);
        }
    }

    /// Whether any question asked of this tree so far looked at declarations it may lack
    /// (never, for a tree that lacks none).
    pub(crate) fn asked_outside(&self) -> bool {
        self.outside
            .as_ref()
            .is_some_and(|outside| outside.load(Ordering::Relaxed))
    }

    pub(crate) fn cached_calls(&self) -> &[calls::CallSite] {
        cached(self, &self.facts.calls, calls::scan)
    }

    pub(crate) fn cached_guards(&self) -> &[guards::Guard] {
        cached(self, &self.facts.guards, guards::scan_plain)
    }

    /// The calls whose head line lies inside `region` ([`calls::calls`]).
    pub(crate) fn cited_calls(&self, region: LineRange) -> Cow<'_, [calls::CallSite]> {
        let scans = (calls::scan, calls::scan_cited);
        let scanned = &self.facts.calls_scanned;
        cited_or_scanned(self, &self.facts.calls, scanned, region, scans, |c| c.head)
    }

    /// Makes the next call and guard questions scan the whole file (once) rather than their
    /// region: for a caller about to ask about every declaration of the file, whose regions
    /// together stop short of its size (blank lines, comments) and each of which would step
    /// past every declaration before it, so a search of a file of thousands of declarations
    /// walked it thousands of times. The answers are the same either way.
    pub(crate) fn scan_whole_from_now(&self) {
        let past_end = self.line_count().saturating_add(1);
        self.facts
            .calls_scanned
            .fetch_max(past_end, Ordering::Relaxed);
        self.facts
            .guards_scanned
            .fetch_max(past_end, Ordering::Relaxed);
    }

    /// The guards whose `if` (or `case`) line lies inside `region` ([`guards::guards`]).
    pub(crate) fn cited_guards(&self, region: LineRange) -> Cow<'_, [guards::Guard]> {
        let scans = (guards::scan_plain, guards::scan_cited);
        let scanned = &self.facts.guards_scanned;
        cited_or_scanned(self, &self.facts.guards, scanned, region, scans, |g| {
            g.line()
        })
    }

    pub(crate) fn cached_registrations(&self) -> &[routes::RouteRegistration] {
        self.asks_outside();
        cached(self, &self.facts.registrations, routes::scan)
    }

    pub(crate) fn cached_strings(&self) -> &[literals::StringLiteral] {
        cached(self, &self.facts.strings, literals::scan)
    }

    pub(crate) fn cached_identifiers(&self) -> &[tokens::IdentifierUse] {
        cached(self, &self.facts.identifiers, tokens::scan_identifiers)
    }

    pub(crate) fn cached_comments(&self) -> &[tokens::Comment] {
        cached(self, &self.facts.comments, tokens::scan_comments)
    }

    pub(crate) fn cached_tls(&self) -> &[tls::TlsConfig] {
        self.asks_outside();
        cached(self, &self.facts.tls, tls::scan)
    }

    /// The file's top-level declarations ([`symbols::declarations`]), listed once: every ref
    /// naming a symbol asks whether the file declares it, and a file cited ten times would
    /// otherwise be walked ten times.
    pub(crate) fn cached_declarations(&self) -> &[symbols::Declaration] {
        self.facts
            .declarations
            .get_or_init(|| symbols::declarations(self))
    }

    /// The package-level variables this file declares with a value (`var errDenied =
    /// errors.New(...)`), sorted: a returned one is a sentinel, not a local that may be nil.
    pub(crate) fn package_vars(&self) -> &[String] {
        self.asks_outside();
        self.facts.package_vars.get_or_init(|| {
            let mut names: Vec<String> = walk::code_children(self.root())
                .into_iter()
                .filter(|n| n.kind_name() == "var_declaration")
                .flat_map(|d| {
                    walk::descendants_where(d, |n| {
                        matches!(n.kind_name(), "var_declaration" | "var_spec_list")
                    })
                })
                .filter(|n| n.kind_name() == "var_spec" && n.child_by_field_name("value").is_some())
                .flat_map(|spec| {
                    let mut cursor = spec.walk();
                    spec.children_by_field_name("name", &mut cursor)
                        .map(|n| self.node_text(n))
                        .collect::<Vec<_>>()
                })
                .collect();
            names.sort();
            names.dedup();
            names
        })
    }

    pub fn source(&self) -> &[u8] {
        &self.source
    }

    pub fn tree(&self) -> &Tree {
        &self.tree
    }

    pub fn root(&self) -> Node<'_> {
        self.tree.root_node()
    }

    /// Number of lines (a final line without a newline counts).
    pub fn line_count(&self) -> u32 {
        if self.source.is_empty() {
            0
        } else {
            u32::try_from(self.line_starts.len()).unwrap_or(u32::MAX)
        }
    }

    /// The whole file as a range; `None` for an empty file.
    pub fn full_range(&self) -> Option<LineRange> {
        let last = LineNo::new(self.line_count())?;
        LineRange::new(LineNo::new(1)?, last)
    }

    /// The text of each line of `range`, in order (lines past the end are empty).
    pub fn lines_text(&self, range: LineRange) -> Vec<String> {
        (range.start().get()..=range.end().get())
            .filter_map(LineNo::new)
            .map(|l| self.line_text(l))
            .collect()
    }

    /// The text of one line without its line ending (lossy for invalid UTF-8).
    pub fn line_text(&self, line: LineNo) -> String {
        let row = line.zero_based();
        let Some(&start) = self.line_starts.get(row) else {
            return String::new();
        };
        let end = self
            .line_starts
            .get(row + 1)
            .copied()
            .unwrap_or(self.source.len());
        let bytes = &self.source[start..end];
        let bytes = bytes.strip_suffix(b"\n").unwrap_or(bytes);
        let bytes = bytes.strip_suffix(b"\r").unwrap_or(bytes);
        String::from_utf8_lossy(bytes).into_owned()
    }

    /// Byte offsets of the start and end of a 0-based row's content, without its line ending.
    pub(crate) fn line_bounds(&self, row: usize) -> (usize, usize) {
        let len = self.source.len();
        let start = self.line_starts.get(row).copied().unwrap_or(len);
        let mut end = self.line_starts.get(row + 1).copied().unwrap_or(len);
        for ending in [b'\n', b'\r'] {
            if end > start && self.source[end - 1] == ending {
                end -= 1;
            }
        }
        (start, end)
    }

    /// Byte range covering the lines of `range` (clamped to the file).
    pub fn byte_range(&self, range: LineRange) -> std::ops::Range<usize> {
        let start = self
            .line_starts
            .get(range.start().zero_based())
            .copied()
            .unwrap_or(self.source.len());
        let end = self
            .line_starts
            .get(range.end().zero_based() + 1)
            .copied()
            .unwrap_or(self.source.len());
        start..end
    }

    /// tree-sitter points bounding `range`: from its first column to the start of the line after.
    pub fn point_range(&self, range: LineRange) -> std::ops::Range<Point> {
        Point::new(range.start().zero_based(), 0)..Point::new(range.end().zero_based() + 1, 0)
    }

    /// The text of a node (lossy for invalid UTF-8).
    pub fn node_text(&self, node: Node<'_>) -> String {
        String::from_utf8_lossy(&self.source[node.byte_range()]).into_owned()
    }

    /// The text of a node when it is at most `max_bytes` long. Nested expressions repeat their
    /// children's text, so copying every node's text would be quadratic on deep trees.
    pub fn short_text(&self, node: Node<'_>, max_bytes: usize) -> Option<String> {
        (node.byte_range().len() <= max_bytes).then(|| self.node_text(node))
    }

    /// The lines a node spans.
    pub fn node_lines(&self, node: Node<'_>) -> LineRange {
        let start = node.start_position().row;
        let end = node.end_position();
        // A node ending at column 0 ends on the previous line.
        let end_row = if end.column == 0 && end.row > start {
            end.row - 1
        } else {
            end.row
        };
        LineRange::from_zero_based(start, end_row)
    }

    /// True when the node lies wholly inside `range`.
    pub fn node_within(&self, node: Node<'_>, range: LineRange) -> bool {
        range.contains(self.node_lines(node))
    }

    /// The lines of the syntax nodes enclosing `lines` (each distinct once), innermost first,
    /// up to and including the top-level declaration: the statement or construct a citation of
    /// those lines might have meant. Walks down from the root once.
    pub fn enclosing_spans(&self, lines: LineRange) -> Vec<LineRange> {
        let mut spans: Vec<LineRange> = Vec::new();
        let mut cursor = self.root().walk();
        // From the top-level declaration down, into the child holding every line.
        while cursor.goto_first_child() {
            let mut inside = false;
            loop {
                let node = cursor.node();
                let node_lines = self.node_lines(node);
                if node.is_named() && node_lines.contains(lines) {
                    inside = true;
                    break;
                }
                if !cursor.goto_next_sibling() {
                    break;
                }
            }
            if !inside {
                break;
            }
            // A block's or statement list's lines are its statement's, less what makes it one.
            let node = cursor.node();
            let node_lines = self.node_lines(node);
            let part = matches!(
                node.kind_name(),
                "block" | "statement_list" | "literal_value"
            );
            if !part && spans.last() != Some(&node_lines) {
                spans.push(node_lines);
            }
        }
        spans.reverse();
        spans
    }

    /// Lines inside `range` that hold syntax errors (ERROR or MISSING nodes), in order.
    pub fn parse_error_lines(&self, range: LineRange) -> Vec<LineNo> {
        let mut lines = Vec::new();
        if !self.root().has_error() {
            return lines;
        }
        let mut cursor = self.root().walk();
        loop {
            let node = cursor.node();
            let node_range = self.node_lines(node);
            let relevant = node.has_error() && node_range.overlaps(range);
            if relevant && (node.is_error() || node.is_missing()) {
                let line = LineNo::from_zero_based(node.start_position().row);
                if range.contains_line(line) && !lines.contains(&line) {
                    lines.push(line);
                }
            } else if relevant && cursor.goto_first_child() {
                continue;
            }
            while !cursor.goto_next_sibling() {
                if !cursor.goto_parent() {
                    lines.sort();
                    return lines;
                }
            }
        }
    }
}

/// Byte offset of the start of each line; a trailing newline does not start another line.
pub(crate) fn line_starts(source: &[u8]) -> Vec<usize> {
    let mut starts = vec![0];
    starts.extend(memchr_newlines(source));
    if starts.len() > 1 && *starts.last().unwrap_or(&0) == source.len() {
        starts.pop();
    }
    starts
}

/// Lines in `source`, counted as [`GoFile::line_count`] counts them (as many as
/// `line_starts` gives), without parsing or allocating.
pub fn count_lines(source: &[u8]) -> u32 {
    if source.is_empty() {
        return 0;
    }
    let newlines = memchr::memchr_iter(b'\n', source).count();
    let lines = newlines + 1 - usize::from(source.ends_with(b"\n"));
    u32::try_from(lines).unwrap_or(u32::MAX)
}

/// The offset just after each newline.
fn memchr_newlines(source: &[u8]) -> impl Iterator<Item = usize> + '_ {
    memchr::memchr_iter(b'\n', source).map(|i| i + 1)
}

/// A raw tree-sitter query from anchors.yaml, compiled once.
pub struct GoQuery {
    pub(crate) query: Query,
    pub source: String,
}

impl fmt::Debug for GoQuery {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("GoQuery").field(&self.source).finish()
    }
}

/// Why a query did not compile: 0-based row and column inside the query text.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct QueryCompileError {
    pub row: usize,
    pub column: usize,
    pub message: String,
}

impl GoQuery {
    /// Compiles a query. Predicates other than the built-in text ones (`#eq?`, `#match?`,
    /// `#any-of?` and their `not-` forms) are rejected: tree-sitter would silently ignore them,
    /// making the query match more than its author meant.
    pub fn compile(source: &str) -> Result<GoQuery, QueryCompileError> {
        let query = Query::new(&language(), source).map_err(|e| QueryCompileError {
            row: e.row,
            column: e.column,
            message: format!("{:?} error: {}", e.kind, e.message.trim()),
        })?;
        for pattern in 0..query.pattern_count() {
            if let Some(predicate) = query.general_predicates(pattern).first() {
                let (row, column) = crate::lines::zero_based_row_column(
                    source.as_bytes(),
                    query.start_byte_for_pattern(pattern),
                );
                return Err(QueryCompileError {
                    row,
                    column,
                    message: format!(
                        "unsupported predicate #{}: only #eq?, #match?, #any-of? and their not- forms are evaluated",
                        predicate.operator
                    ),
                });
            }
        }
        Ok(GoQuery {
            query,
            source: source.to_string(),
        })
    }
}

/// Whether a node must lie wholly inside a region or merely touch it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Placement {
    Within,
    Overlapping,
}

/// Nodes of the given kinds lying wholly inside `region`, in source order.
///
/// Built-in matchers walk with a cursor instead of running tree-sitter queries: on a
/// 50,000-deep expression a query took 30 s and stopped reporting matches past depth 32,766,
/// while this walk takes 0.1 s and sees every node.
pub(crate) fn nodes_of_kinds<'a>(
    file: &'a GoFile,
    region: LineRange,
    kinds: &[&str],
) -> Vec<Node<'a>> {
    nodes_of_kinds_placed(file, region, kinds, Placement::Within)
}

/// Nodes of the given kinds placed relative to `region` as asked, in source order.
pub(crate) fn nodes_of_kinds_placed<'a>(
    file: &'a GoFile,
    region: LineRange,
    kinds: &[&str],
    placement: Placement,
) -> Vec<Node<'a>> {
    walk::nodes_overlapping(file, region)
        .filter(|n| kinds.contains(&n.kind_name()))
        .filter(|n| placement == Placement::Overlapping || file.node_within(*n, region))
        .collect()
}

/// Go's keywords: highlighted as such, and never the name of a declaration.
pub const KEYWORDS: [&str; 25] = [
    "break",
    "case",
    "chan",
    "const",
    "continue",
    "default",
    "defer",
    "else",
    "fallthrough",
    "for",
    "func",
    "go",
    "goto",
    "if",
    "import",
    "interface",
    "map",
    "package",
    "range",
    "return",
    "select",
    "struct",
    "switch",
    "type",
    "var",
];

/// Longest text copied from one node for names, arguments and values (see [`GoFile::short_text`]).
pub const MAX_NODE_TEXT: usize = 4096;

/// Failures of the parser itself (not syntax errors in the file, which tree-sitter recovers from).
#[derive(Clone, Debug, thiserror::Error)]
pub enum GoError {
    #[error("the Go grammar could not be loaded: {0}")]
    Language(String),
    #[error("tree-sitter gave up parsing the file")]
    ParseFailed,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn range(a: u32, b: u32) -> LineRange {
        LineRange::new(LineNo::new(a).unwrap(), LineNo::new(b).unwrap()).unwrap()
    }

    #[test]
    fn a_kind_read_from_the_table_is_tree_sitters() {
        // Error recovery's nodes (ERROR, missing tokens) and every kind of the fixtures.
        let mut sources = vec![
            b"package p\n\nfunc broken( {\n\tx := [}\n\ty := 1 +\n".to_vec(),
            b"package p\nfunc f() { if x { return }".to_vec(),
        ];
        let testdata = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata");
        let paths = crate::source::local::go_paths(&testdata);
        assert!(paths.len() > 10, "{paths:?}");
        sources.extend(
            paths
                .iter()
                .map(|p| std::fs::read(testdata.join(p)).unwrap()),
        );
        let mut kinds = std::collections::BTreeSet::new();
        let mut errors = 0;
        for src in sources {
            let file = GoFile::parse(src).unwrap();
            for node in walk::descendants(file.root()) {
                assert_eq!(node.kind_name(), node.kind(), "{node:?}");
                kinds.insert(node.kind().to_string());
                errors += usize::from(node.is_error() || node.is_missing());
            }
        }
        assert!(errors > 0 && kinds.len() > 100, "{errors} {}", kinds.len());
    }

    #[test]
    fn counting_without_parsing_agrees_with_the_parsed_file() {
        for src in [
            "",
            "package a",
            "package a\n",
            "a\n\nb",
            "a\n\nb\n",
            "\n",
            "\n\n",
        ] {
            let file = GoFile::parse(src.as_bytes().to_vec()).unwrap();
            assert_eq!(count_lines(src.as_bytes()), file.line_count(), "{src:?}");
        }
    }

    #[test]
    fn counts_lines_with_and_without_final_newline() {
        let f = GoFile::parse(b"package a\n\nfunc f() {}\n".to_vec()).unwrap();
        assert_eq!(f.line_count(), 3);
        let g = GoFile::parse(b"package a\nfunc f() {}".to_vec()).unwrap();
        assert_eq!(g.line_count(), 2);
        assert_eq!(g.line_text(LineNo::new(2).unwrap()), "func f() {}");
        assert_eq!(GoFile::parse(Vec::new()).unwrap().line_count(), 0);
    }

    #[test]
    fn finds_parse_errors_only_inside_the_range() {
        let src = b"package a\n\nfunc f() {\n\tx := \n}\n\nfunc g() {}\n".to_vec();
        let f = GoFile::parse(src).unwrap();
        assert!(!f.parse_error_lines(range(1, 5)).is_empty());
        assert!(f.parse_error_lines(range(7, 7)).is_empty());
    }

    #[test]
    fn reports_query_compile_errors_with_position() {
        let err = GoQuery::compile("(call_expression\n  function: (nonsense_node))").unwrap_err();
        assert_eq!(err.row, 1);
        assert!(GoQuery::compile("(call_expression) @c").is_ok());
    }

    #[test]
    fn rejects_predicates_tree_sitter_would_ignore() {
        let err = GoQuery::compile("\n(identifier) @i (#contains? @i \"x\")").unwrap_err();
        assert_eq!(err.row, 1);
        assert!(err.message.contains("#contains?"), "{}", err.message);
        assert!(GoQuery::compile("((identifier) @i (#eq? @i \"x\"))").is_ok());
        assert!(GoQuery::compile("((identifier) @i (#not-match? @i \"^x\"))").is_ok());
        assert!(GoQuery::compile("((identifier) @i (#any-of? @i \"x\" \"y\"))").is_ok());
    }

    /// Calls and guards in the shapes whose head is not their first line or whose lines run
    /// past a region: chains, arguments over lines, nested literals, cases, `else if`.
    const TRICKY: &str = "package a\n\nfunc f(ctx context.Context) error {\n\tr.PathPrefix(\"/a\").\n\t\tSubrouter().\n\t\tHandleFunc(\"/x\", h)\n\tgo func() {\n\t\tif err := dial(ctx,\n\t\t\taddr); err != nil {\n\t\t\tlog.Fatalf(\"no: %v\",\n\t\t\t\terr)\n\t\t} else if !ok {\n\t\t\treturn\n\t\t}\n\t}()\n\tswitch {\n\tcase a(), b():\n\t\treturn nil\n\tcase c:\n\t}\n\tselect {\n\tcase <-ctx.Done():\n\t\treturn ctx.Err()\n\t}\n\treturn check(func() error { if x { return g() }; return nil }())\n}\n\nvar v = h(1,\n\t2)\n";

    #[test]
    fn scans_of_a_region_cite_what_the_whole_file_scans_cite_there() {
        let file = GoFile::parse(TRICKY.as_bytes().to_vec()).unwrap();
        let n = file.line_count();
        for a in 1..=n + 1 {
            for b in a..=n + 1 {
                let r = range(a, b);
                let whole = cited(file.cached_calls(), r, |c| c.head);
                assert_eq!(calls::scan_cited(&file, r), whole, "calls of {r}");
                let whole = cited(file.cached_guards(), r, |g| g.line());
                assert_eq!(guards::scan_cited(&file, r), whole, "guards of {r}");
            }
        }
        assert_eq!(file.cached_calls().len(), 14);
        assert_eq!(file.cached_guards().len(), 6);
    }

    /// A large file of which a ref cites one function: its call and guard expectations walk
    /// that function, not the file (the whole-file scans are never made), and answer as the
    /// whole-file scans do.
    #[test]
    fn expectations_on_a_few_lines_of_a_large_file_scan_only_those_lines() {
        let function = "func f{i}(c Config) error {\n\tif err := check{i}(c); err != nil {\n\t\treturn err\n\t}\n\tlog.Printf(\"ok\")\n\treturn nil\n}\n";
        let src: String = std::iter::once("package a\n".to_string())
            .chain((0..500).map(|i| function.replace("{i}", &i.to_string())))
            .collect();
        let parsed = || GoFile::parse(src.clone().into_bytes()).unwrap();
        let (file, reference) = (parsed(), parsed());
        // The reference answers from its whole-file scans.
        let _ = (reference.cached_calls(), reference.cached_guards());
        let expectations = ["call: log.Printf", "fail_closed: { when: '^err$' }"]
            .map(|e| crate::anchors::parse_expectation(e).unwrap());
        // Function 250 is at lines 1752-1758: the `if` at 1753, the call at 1756. (A failure
        // looks for a near miss in the whole file.)
        for r in [range(1752, 1758), range(1753, 1756), range(1753, 1757)] {
            for e in &expectations {
                let regional = crate::expect::evaluate(e, &file, r);
                assert!(regional.ok, "{r}: {}", regional.message);
                assert_eq!(regional, crate::expect::evaluate(e, &reference, r), "{r}");
            }
            assert!(
                file.facts.calls.get().is_none() && file.facts.guards.get().is_none(),
                "a whole-file scan was made for lines {r}"
            );
        }
    }

    #[test]
    fn regions_reaching_the_size_of_the_file_make_the_whole_file_scan() {
        let file = GoFile::parse(TRICKY.as_bytes().to_vec()).unwrap();
        let n = file.line_count();
        assert_eq!(calls::calls(&file, range(1, n - 1)).len(), 14);
        assert!(file.facts.calls.get().is_none());
        assert_eq!(calls::calls(&file, range(3, 4)).len(), 1);
        assert!(file.facts.calls.get().is_some(), "scanned once whole");
        assert_eq!(guards::guards(&file, range(1, n)).len(), 6);
        assert!(file.facts.guards.get().is_none());
        assert_eq!(guards::guards(&file, range(8, 8)).len(), 1);
        assert!(file.facts.guards.get().is_some());
    }

    /// A caller about to ask about every declaration (relocation's search) has the whole-file
    /// scans made at the first question, which answers as the regional scan would.
    #[test]
    fn asked_to_the_whole_file_scans_from_the_first_region() {
        let (file, regional) = (
            GoFile::parse(TRICKY.as_bytes().to_vec()).unwrap(),
            GoFile::parse(TRICKY.as_bytes().to_vec()).unwrap(),
        );
        file.scan_whole_from_now();
        assert_eq!(
            file.cited_calls(range(3, 4)),
            regional.cited_calls(range(3, 4))
        );
        assert!(file.facts.calls.get().is_some() && regional.facts.calls.get().is_none());
        assert_eq!(
            file.cited_guards(range(8, 8)),
            regional.cited_guards(range(8, 8))
        );
        assert!(file.facts.guards.get().is_some() && regional.facts.guards.get().is_none());
    }

    #[test]
    fn kind_walk_sees_nodes_deeper_than_queries_do() {
        let depth = 40_000;
        let src = format!(
            "package a\nvar x = {}1{}\n",
            "f(".repeat(depth),
            ")".repeat(depth)
        );
        let file = GoFile::parse(src.into_bytes()).unwrap();
        let calls = nodes_of_kinds(&file, file.full_range().unwrap(), &["call_expression"]);
        assert_eq!(calls.len(), depth);
    }
}
