//! Partial parsing: a tree of only the top-level declarations that questions about some line
//! ranges need, with every position still that of the whole file.
//!
//! Parsing dominates a verification run, and a cited range usually sits in one declaration of
//! a much larger file. tree-sitter's included ranges let the parser skip the rest without
//! reading it, so line numbers, byte offsets and node texts are unchanged and every matcher
//! works on the partial tree as on the whole one, as long as it only asks about the kept
//! declarations. Verifying at the cited range asks only that; relocation, near-miss messages
//! and culprit checks look at the whole file, so callers parse it whole for those.

use std::ops::Range;
use std::sync::atomic::AtomicBool;

use tree_sitter::Point;

use super::segments;
use super::{GoError, GoFile, parse_tree};
use crate::lines::LineRange;

/// A partial parse is not worth it when it would read more than this share of the file.
const MAX_SHARE_PERCENT: usize = 75;

/// The two partial parses a first check may make of a file, each `None` when it would read most
/// of the file: every declaration questions about the cited ranges may need
/// ([`GoFile::covering_plan`]), and the cited declarations alone ([`GoFile::parse_cited`]),
/// which answer most questions for less.
pub(crate) struct CoveringPlans {
    pub(crate) full: Option<Vec<Range<usize>>>,
    pub(crate) cited: Option<Vec<Range<usize>>>,
}

/// Whether parsing `plan` of `source` reads little enough of it to be worth a partial parse.
fn worth_it(source: &[u8], plan: &[Range<usize>]) -> bool {
    let kept: usize = plan.iter().map(Range::len).sum();
    kept * 100 <= source.len() * MAX_SHARE_PERCENT
}

/// The 0-based rows (end exclusive) of `ranges`.
fn rows_of(ranges: &[LineRange]) -> Vec<Range<usize>> {
    ranges
        .iter()
        .map(|r| r.start().zero_based()..r.end().zero_based() + 1)
        .collect()
}

impl GoFile {
    /// Parses only the declarations overlapping `ranges` (with the header, imports,
    /// package-level constants and variables, and declarations binding names they use).
    /// `None` when that would not be reliably the same as the whole-file tree there: the
    /// lexical scan was unsure, the partial tree has syntax errors, or it would read most of
    /// the file anyway.
    pub fn parse_covering(source: &[u8], ranges: &[LineRange]) -> Result<Option<GoFile>, GoError> {
        Self::parse_covering_mentions(source, ranges, None)
    }

    /// [`GoFile::parse_covering`], also keeping every top-level declaration whose text
    /// mentions `name`: a declaration's name is in its own text, so the partial tree holds
    /// every declaration of `name` the whole file does, in the same order.
    pub fn parse_covering_mentions(
        source: &[u8],
        ranges: &[LineRange],
        name: Option<&str>,
    ) -> Result<Option<GoFile>, GoError> {
        let Some(segments) = segments::segments(source) else {
            return Ok(None);
        };
        match Self::covering_plan(source, &segments, ranges, name) {
            Some(needed) => Self::parse_included(source, &needed),
            None => Ok(None),
        }
    }

    /// The bytes [`GoFile::parse_covering_mentions`] would parse of `source` (split into
    /// `segments` by [`segments::segments`]); `None` when that is most of the file. Two
    /// partial parses of one source with the same plan are the same tree, so callers asking
    /// for many ranges of one file may share them by plan.
    pub(crate) fn covering_plan(
        source: &[u8],
        segments: &[segments::Segment],
        ranges: &[LineRange],
        name: Option<&str>,
    ) -> Option<Vec<Range<usize>>> {
        let mut rows = rows_of(ranges);
        if let Some(name) = name.filter(|n| !n.is_empty()) {
            let finder = memchr::memmem::Finder::new(name.as_bytes());
            rows.extend(
                segments
                    .iter()
                    .filter(|s| finder.find(&source[s.bytes.clone()]).is_some())
                    .map(|s| s.rows.clone()),
            );
        }
        let needed = segments::needed(source, segments, &rows);
        worth_it(source, &needed).then_some(needed)
    }

    /// The plan of [`GoFile::parse_cited`] for `ranges` of `source` (split into `segments`):
    /// the header and the declarations the ranges overlap; `None` when that is most of the
    /// file.
    pub(crate) fn cited_plan(
        source: &[u8],
        segments: &[segments::Segment],
        ranges: &[LineRange],
    ) -> Option<Vec<Range<usize>>> {
        Some(segments::cited(segments, &rows_of(ranges))).filter(|plan| worth_it(source, plan))
    }

    /// [`GoFile::covering_plan`] of `ranges` and `full_only` of `source` (split into
    /// `segments`), with the plan of the cited declarations alone for `ranges` (none when
    /// empty); `None` when both would read most of the file.
    pub(crate) fn covering_plans(
        source: &[u8],
        segments: &[segments::Segment],
        ranges: &[LineRange],
        full_only: &[LineRange],
    ) -> Option<CoveringPlans> {
        let full = if full_only.is_empty() {
            Self::covering_plan(source, segments, ranges, None)
        } else {
            let all: Vec<LineRange> = ranges.iter().chain(full_only).copied().collect();
            Self::covering_plan(source, segments, &all, None)
        };
        let cited = (!ranges.is_empty())
            .then(|| Self::cited_plan(source, segments, ranges))
            .flatten();
        (full.is_some() || cited.is_some()).then_some(CoveringPlans { full, cited })
    }

    /// Parses the `cited` plan of [`GoFile::covering_plans`]: the header and the declarations
    /// the ranges overlap, without the imports, package-level constants and variables and
    /// declarations binding names that the full plan adds for the questions that look them
    /// up. A question answered from the cited declarations alone (a call, a guard) is answered
    /// as on the full plan's tree: every node it reads is in both, the same. The few that look
    /// further (a returned package-level variable, constant strings, route registrations and
    /// TLS settings across the file) note it ([`GoFile::asked_outside`]), and their answer must
    /// be taken from the full plan's tree instead. The declarations listed are those of the
    /// tree: one found is the whole file's, one not found may be in the full plan.
    pub(crate) fn parse_cited(
        source: &[u8],
        cited: &[Range<usize>],
    ) -> Result<Option<GoFile>, GoError> {
        let parsed = Self::parse_included(source, cited)?;
        Ok(parsed.map(|mut file| {
            file.outside = Some(AtomicBool::new(false));
            file
        }))
    }

    /// Parses every top-level declaration of `source` with each function's body left out (its
    /// braces kept, empty): enough for what the declarations declare, their names and
    /// receivers, for a fraction of the whole parse. `None` when that would not be reliably
    /// the whole file's declarations: the lexical scan was unsure, the tree has syntax errors,
    /// or the bodies are too little of the file to be worth leaving out.
    pub fn parse_declaration_heads(source: &[u8]) -> Result<Option<GoFile>, GoError> {
        let Some(segments) = segments::segments(source) else {
            return Ok(None);
        };
        let mut plan: Vec<Range<usize>> = Vec::new();
        let mut keep = |range: Range<usize>| match plan.last_mut() {
            Some(last) if last.end == range.start => last.end = range.end,
            _ => plan.push(range),
        };
        for segment in &segments {
            let bytes = segment.bytes.clone();
            match (segment.kind == segments::SegmentKind::Func)
                .then(|| without_body(source, bytes.clone()))
                .flatten()
            {
                Some([head, tail]) => {
                    keep(head);
                    keep(tail);
                }
                None => keep(bytes),
            }
        }
        if !worth_it(source, &plan) {
            return Ok(None);
        }
        Self::parse_included(source, &plan)
    }

    /// Parses only the `needed` bytes of `source` (a [`GoFile::covering_plan`]); `None` when
    /// the partial tree has syntax errors.
    pub(crate) fn parse_included(
        source: &[u8],
        needed: &[Range<usize>],
    ) -> Result<Option<GoFile>, GoError> {
        // Every newline starts a row here, the one after a final newline too: a range may end
        // at the very end of the file.
        let line_starts: Vec<usize> = std::iter::once(0)
            .chain(super::memchr_newlines(source))
            .collect();
        let point = |byte: usize| {
            let row = line_starts.partition_point(|&s| s <= byte) - 1;
            Point::new(row, byte - line_starts[row])
        };
        let included: Vec<tree_sitter::Range> = needed
            .iter()
            .map(|r| tree_sitter::Range {
                start_byte: r.start,
                end_byte: r.end,
                start_point: point(r.start),
                end_point: point(r.end),
            })
            .collect();
        let tree = parse_tree(source, &included)?;
        if tree.root_node().has_error() {
            return Ok(None);
        }
        Ok(Some(GoFile::from_tree(source.to_vec(), tree)))
    }
}

/// The function declaration `segment` of `source` without its body's inside: from its start
/// through the body's `{`, and from the body's `}` (at the start of its last line of code) to
/// the segment's end. `None` when either is not found surely: a signature holding a comment
/// or a literal (which could hold a brace), a function without a body, or a last line of code
/// not starting with `}` (a block comment after the body, a one-line function). A `}` found
/// that is not the body's leaves braces unbalanced, and the parse then has errors.
fn without_body(source: &[u8], segment: Range<usize>) -> Option<[Range<usize>; 2]> {
    let text = &source[segment.clone()];
    // The body's `{`: the first at depth 0 not opening a struct or interface type (a result
    // type such as `struct{ x int }`); type parameters and parameters are in brackets.
    let (mut depth, mut word, mut open) = (0usize, &text[..0], None);
    let mut i = 0;
    while i < text.len() {
        let b = text[i];
        if segments::is_ident_byte(b) {
            let end = segments::ident_end(text, i);
            word = &text[i..end];
            i = end;
            continue;
        }
        match b {
            b'/' | b'"' | b'`' | b'\'' => return None,
            b'(' | b'[' => depth += 1,
            b')' | b']' => depth = depth.checked_sub(1)?,
            b'{' if depth == 0 && word != b"struct" && word != b"interface" => {
                open = Some(i);
                break;
            }
            b'{' => depth += 1,
            b'}' => depth = depth.checked_sub(1)?,
            _ => {}
        }
        if !b.is_ascii_whitespace() {
            word = &text[..0];
        }
        i += 1;
    }
    let open = open?;
    // The body's `}`: the first byte of the last line that is neither blank nor a line
    // comment (the segment ends with the comments and blank lines after the declaration).
    let close = text
        .split_inclusive(|&b| b == b'\n')
        .scan(0, |start, line| {
            let at = *start;
            *start += line.len();
            Some((at, line))
        })
        .filter(|(_, line)| {
            let code = line.trim_ascii();
            !code.is_empty() && !code.starts_with(b"//")
        })
        .last()
        .and_then(|(at, line)| {
            let indent = line.len() - line.trim_ascii_start().len();
            (line.get(indent) == Some(&b'}')).then_some(at + indent)
        })?;
    (close > open).then(|| {
        [
            segment.start..segment.start + open + 1,
            segment.start + close..segment.end,
        ]
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lines::LineNo;

    fn lines(a: u32, b: u32) -> LineRange {
        LineRange::new(LineNo::new(a).unwrap(), LineNo::new(b).unwrap()).unwrap()
    }

    fn padding(n: usize) -> String {
        (0..n)
            .map(|i| format!("func pad{i}() {{\n\tx := {i}\n\t_ = x\n}}\n\n"))
            .collect()
    }

    #[test]
    fn partial_tree_keeps_whole_file_positions() {
        let src = format!(
            "package a\n\n{}func target() {{\n\tlog.Fatal(\"x\")\n}}\n\n{}",
            padding(20),
            padding(20)
        );
        let line = 2 + 20 * 5 + 1;
        let partial = GoFile::parse_covering(src.as_bytes(), &[lines(line, line + 2)])
            .unwrap()
            .expect("a partial parse");
        let call = crate::go::nodes_of_kinds(&partial, lines(line, line + 2), &["call_expression"]);
        assert_eq!(call.len(), 1);
        assert_eq!(partial.node_text(call[0]), "log.Fatal(\"x\")");
        assert_eq!(partial.node_lines(call[0]), lines(line + 1, line + 1));
        // The padding functions were never parsed.
        let all = partial.full_range().unwrap();
        let funcs = crate::go::nodes_of_kinds(&partial, all, &["function_declaration"]);
        assert_eq!(funcs.len(), 1);
    }

    #[test]
    fn raw_strings_holding_func_lines_do_not_split_declarations() {
        let src = format!(
            "package a\n\nfunc f() {{\n\ts := `\nfunc g() {{\n}}\n`\n\t_ = s\n}}\n\n{}",
            padding(30)
        );
        let partial = GoFile::parse_covering(src.as_bytes(), &[lines(3, 9)])
            .unwrap()
            .expect("a partial parse");
        assert!(!partial.root().has_error());
        let funcs = crate::go::nodes_of_kinds(&partial, lines(1, 9), &["function_declaration"]);
        assert_eq!(funcs.len(), 1);
    }

    #[test]
    fn declarations_binding_used_names_are_kept() {
        let src = format!(
            "package a\n\nfunc routes(mux *http.ServeMux) {{\n\tmux.HandleFunc(pathX, h)\n}}\n\n{}func other() {{\n\tconst pathX = \"/x\"\n}}\n",
            padding(30)
        );
        let partial = GoFile::parse_covering(src.as_bytes(), &[lines(3, 5)])
            .unwrap()
            .expect("a partial parse");
        let all = partial.full_range().unwrap();
        let funcs = crate::go::nodes_of_kinds(&partial, all, &["function_declaration"]);
        assert_eq!(funcs.len(), 2, "routes and the function binding pathX");
    }

    #[test]
    fn comments_before_the_package_clause_are_parsed_only_when_cited() {
        let license: String = (0..14).map(|i| format!("// License line {i}.\n")).collect();
        let src = format!(
            "{license}\n//go:build linux\n\n// Package a does things.\npackage a\n\nfunc target() {{\n\tpanic(1)\n}}\n\n{}",
            padding(30)
        );
        let head = 21;
        let comment_lines = |file: &GoFile| -> usize {
            crate::go::nodes_of_kinds(file, lines(1, 20), &["comment"]).len()
        };
        let partial = GoFile::parse_covering(src.as_bytes(), &[lines(head, head + 2)])
            .unwrap()
            .expect("a partial parse");
        assert_eq!(comment_lines(&partial), 0, "the license was not parsed");
        let funcs =
            crate::go::nodes_of_kinds(&partial, lines(head, head + 2), &["function_declaration"]);
        assert_eq!(funcs.len(), 1);
        assert_eq!(partial.node_lines(funcs[0]), lines(head, head + 2));
        // Asked about lines of the license, the partial tree holds every comment before the
        // package clause, as the whole file's does.
        let asked = GoFile::parse_covering(src.as_bytes(), &[lines(3, 3), lines(head, head + 2)])
            .unwrap()
            .expect("a partial parse");
        let whole = GoFile::parse(src.clone().into_bytes()).unwrap();
        assert_eq!(comment_lines(&asked), comment_lines(&whole));
        assert_eq!(comment_lines(&whole), 16);
    }

    /// A file whose functions `guarded` and `checked` (their line ranges returned) sit among
    /// imports, a package-level variable, a constant and padding.
    fn among_support() -> (String, LineRange, LineRange) {
        let src = format!(
            "package a\n\nimport (\n\t\"errors\"\n\t\"log\"\n)\n\nvar denied = errors.New(\"denied\")\n\nconst limit = 3\n\n{}func guarded(ok bool) error {{\n\tif !ok {{\n\t\treturn denied\n\t}}\n\treturn nil\n}}\n\nfunc checked(n int) {{\n\tif n > limit {{\n\t\tlog.Fatal(\"too many\")\n\t}}\n\tlog.Println(\"checked\")\n}}\n\n{}",
            padding(20),
            padding(20)
        );
        let guarded = 12 + 20 * 5;
        (
            src,
            lines(guarded, guarded + 5),
            lines(guarded + 7, guarded + 12),
        )
    }

    fn fail_closed(when: &str) -> crate::anchors::Expectation {
        crate::anchors::Expectation::FailClosed(crate::anchors::FailClosedSpec {
            when: regex::Regex::new(when).unwrap(),
            sinks: Vec::new(),
        })
    }

    #[test]
    fn the_cited_declarations_alone_leave_out_what_only_some_questions_read() {
        let (src, _, range) = among_support();
        let plans = GoFile::covering_plans(
            src.as_bytes(),
            &segments::segments(src.as_bytes()).unwrap(),
            &[range],
            &[],
        )
        .expect("a partial plan");
        let (full, cited) = (plans.full.unwrap(), plans.cited.unwrap());
        let kept = |plan: &[Range<usize>]| -> String {
            plan.iter()
                .map(|r| &src[r.clone()])
                .collect::<Vec<_>>()
                .concat()
        };
        assert!(kept(&full).contains("import ("));
        assert!(kept(&full).contains("var denied"));
        assert!(!kept(&cited).contains("import ("));
        assert!(!kept(&cited).contains("var denied"));
        assert!(!kept(&cited).contains("const limit"));
        assert!(kept(&cited).starts_with("package a\n"));
        assert!(kept(&cited).contains("func checked("));
        assert!(!kept(&cited).contains("func guarded("));

        // A call and a guard that aborts are read from the function alone: the same answer as
        // the whole file's, and nothing asked outside it.
        let whole = GoFile::parse(src.clone().into_bytes()).unwrap();
        let cited = GoFile::parse_cited(src.as_bytes(), &cited)
            .unwrap()
            .expect("a tree of the cited declarations");
        let call = crate::anchors::Expectation::Call(crate::anchors::CallPattern {
            name: "log.Println".to_string(),
            glob: None,
            args: None,
            when: None,
        });
        for expectation in [call, fail_closed("^n$")] {
            let on_cited = crate::expect::evaluate(&expectation, &cited, range);
            let on_whole = crate::expect::evaluate(&expectation, &whole, range);
            assert!(on_cited.ok, "{}", on_cited.message);
            assert_eq!(on_cited.message, on_whole.message);
            assert_eq!(on_cited.matches, on_whole.matches);
        }
        assert!(!cited.asked_outside());
    }

    #[test]
    fn a_returned_package_variable_is_asked_outside_the_cited_declarations() {
        let (src, range, _) = among_support();
        let plans = GoFile::covering_plans(
            src.as_bytes(),
            &segments::segments(src.as_bytes()).unwrap(),
            &[range],
            &[],
        )
        .expect("a partial plan");
        let cited = GoFile::parse_cited(src.as_bytes(), plans.cited.as_ref().unwrap())
            .unwrap()
            .expect("a tree of the cited declarations");
        // `return denied` refuses only because `denied` is a package-level variable, which
        // the cited declarations do not hold: the question is noted, and the full plan's tree
        // (which holds it) answers as the whole file does.
        let guard = fail_closed("^ok$");
        let _ = crate::expect::evaluate(&guard, &cited, range);
        assert!(cited.asked_outside());
        let full = GoFile::parse_included(src.as_bytes(), plans.full.as_ref().unwrap())
            .unwrap()
            .expect("the full plan's tree");
        let whole = GoFile::parse(src.clone().into_bytes()).unwrap();
        let on_full = crate::expect::evaluate(&guard, &full, range);
        assert!(on_full.ok, "{}", on_full.message);
        assert_eq!(
            on_full.message,
            crate::expect::evaluate(&guard, &whole, range).message
        );
        assert!(
            !full.asked_outside(),
            "a full plan's tree lacks nothing asked"
        );
    }

    #[test]
    fn a_file_of_mostly_imports_and_variables_has_a_plan_of_its_cited_declarations() {
        let imports: String = (0..30)
            .map(|i| format!("\t\"example.com/p{i}\"\n"))
            .collect();
        let vars: String = (0..30)
            .map(|i| format!("var v{i} = p{i}.New()\n"))
            .collect();
        let src = format!(
            "package a\n\nimport (\n{imports})\n\n{vars}\nfunc f() {{\n\tlog.Println(v1)\n}}\n\nfunc g() {{\n}}\n"
        );
        let head = 5 + 30 + 1 + 30 + 2;
        let plans = GoFile::covering_plans(
            src.as_bytes(),
            &segments::segments(src.as_bytes()).unwrap(),
            &[lines(head, head + 2)],
            &[],
        )
        .expect("a plan of the cited declarations");
        assert!(plans.full.is_none(), "the full plan reads most of the file");
        let cited = plans.cited.unwrap();
        let kept: String = cited.iter().map(|r| &src[r.clone()]).collect();
        assert!(kept.starts_with("package a\n"));
        assert!(kept.contains("func f() {\n\tlog.Println(v1)\n}\n"));
        assert!(!kept.contains("func g()"));
    }

    #[test]
    fn unbalanced_or_mostly_cited_files_are_parsed_whole() {
        let unbalanced = format!("package a\n\nfunc f() {{\n{}", padding(30));
        assert!(
            GoFile::parse_covering(unbalanced.as_bytes(), &[lines(3, 3)])
                .unwrap()
                .is_none()
        );
        let small = "package a\n\nfunc f() {\n\tpanic(1)\n}\n";
        assert!(
            GoFile::parse_covering(small.as_bytes(), &[lines(3, 5)])
                .unwrap()
                .is_none()
        );
    }

    /// The names, kinds and receivers of the top-level declarations of `file`.
    fn declared(file: &GoFile) -> Vec<String> {
        crate::go::symbols::declarations(file)
            .into_iter()
            .map(|d| format!("{:?} {} {}", d.kind, d.name, d.pointer_receiver))
            .collect()
    }

    #[test]
    fn declaration_heads_declare_what_the_whole_file_does_without_the_bodies() {
        let src = format!(
            "package a\n\nimport \"fmt\"\n\ntype T struct{{ x int }}\n\nconst (\n\tA = iota\n\tB\n)\n\n\
             var v, w = 1, 2\n\n// f returns a struct.\nfunc f() struct{{ a int }} {{\n\t\
             return struct{{ a int }}{{1}}\n}}\n\n\
             func (t *T) M(x interface{{ N() }}) (r map[string]struct{{}}) {{\n\ts := `\n}}\n`\n\t\
             fmt.Println(s)\n\treturn nil\n}}\n// a comment }}\n\n\
             func G[K comparable, V interface{{ ~int }}](m map[K]V) V {{\n\tfor range m {{\n\t\t\
             fmt.Println(\"}}\")\n\t}}\n\tvar zero V\n\treturn zero\n}}\n\n\
             func (T) Value() int {{ return 1 }}\n\nfunc asm(x int) int\n\n{}",
            padding(30)
        );
        let whole = GoFile::parse(src.clone().into_bytes()).unwrap();
        assert!(!whole.root().has_error());
        let heads = GoFile::parse_declaration_heads(src.as_bytes())
            .unwrap()
            .expect("a parse of the heads");
        assert_eq!(declared(&heads), declared(&whole));
        assert!(declared(&whole).contains(&"Method T.M true".to_string()));
        // Every call is in a body: none was parsed.
        let all = whole.full_range().unwrap();
        let calls = |f: &GoFile| crate::go::nodes_of_kinds(f, all, &["call_expression"]).len();
        assert!(calls(&whole) > 0);
        assert_eq!(calls(&heads), 0);
        // A body's `}` sharing its line with another: braces unbalanced, refused.
        let shared = format!(
            "package a\n\nfunc h() {{\n\tif true {{\n\t\tpanic(1)\n\t}}}}\n\n{}",
            padding(30)
        );
        assert!(
            GoFile::parse_declaration_heads(shared.as_bytes())
                .unwrap()
                .is_none()
        );
    }

    #[test]
    fn declaration_heads_of_the_fixtures_declare_what_their_whole_files_do() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata");
        let mut compared = 0;
        for path in crate::source::local::go_paths(&root) {
            let src = std::fs::read(root.join(&path)).unwrap();
            let whole = GoFile::parse(src.clone()).unwrap();
            if whole.root().has_error() {
                continue;
            }
            if let Some(heads) = GoFile::parse_declaration_heads(&src).unwrap() {
                assert_eq!(declared(&heads), declared(&whole), "{path}");
                compared += 1;
            }
        }
        assert!(compared > 50, "{compared} files compared");
    }
}
