//! Syntax highlighting of a line range, classified from the tree already parsed for verification.

use std::collections::HashSet;

use tree_sitter::Node;

use super::walk::descendants_from_row;
use super::{GoFile, KindName};
use crate::lines::LineRange;
use crate::model::{Highlight, TokenClass};

/// Nodes highlighted whole: their children (escape sequences, string content) are not looked at.
fn is_atomic(node: Node<'_>) -> bool {
    matches!(
        node.kind_name(),
        "comment" | "interpreted_string_literal" | "raw_string_literal" | "rune_literal"
    )
}

fn classify(node: Node<'_>, functions: &HashSet<usize>) -> Option<TokenClass> {
    let kind = node.kind_name();
    match kind {
        "comment" => Some(TokenClass::Comment),
        "interpreted_string_literal" | "raw_string_literal" | "rune_literal" => {
            Some(TokenClass::String)
        }
        "int_literal" | "float_literal" | "imaginary_literal" => Some(TokenClass::Number),
        "true" | "false" | "nil" | "iota" => Some(TokenClass::Constant),
        "type_identifier" => Some(TokenClass::Type),
        "identifier" | "field_identifier" if functions.contains(&node.id()) => {
            Some(TokenClass::Function)
        }
        _ if !node.is_named() && super::KEYWORDS.contains(&kind) => Some(TokenClass::Keyword),
        _ => None,
    }
}

/// The name node a call or declaration makes a function: `f` in `f()`, `Fatal` in `log.Fatal()`.
fn function_name(node: Node<'_>) -> Option<Node<'_>> {
    match node.kind_name() {
        "call_expression" => {
            let callee = node.child_by_field_name("function")?;
            match callee.kind_name() {
                "identifier" => Some(callee),
                "selector_expression" => callee.child_by_field_name("field"),
                _ => None,
            }
        }
        "function_declaration" | "method_declaration" => node.child_by_field_name("name"),
        _ => None,
    }
}

/// The classified tokens of each line of `range`, one vector per line (empty for a line with
/// nothing to colour). Tokens spanning lines (block comments, raw strings) are split per line.
/// Walks only the subtrees overlapping `range`.
pub fn highlight(file: &GoFile, range: LineRange) -> Vec<Vec<Highlight>> {
    let first_row = range.start().zero_based();
    let last_row = range.end().zero_based();
    let mut lines: Vec<Vec<Highlight>> = vec![Vec::new(); range.len() as usize];
    let mut functions: HashSet<usize> = HashSet::new();
    let overlaps = |n: Node<'_>| file.node_lines(n).overlaps(range);
    // Nodes come in source order: from the first that reaches the range's first line, and no
    // further than the first that starts after its last (one ref of 330,000 in files of 3,300
    // functions each would otherwise step past all of them).
    let nodes = descendants_from_row(file.root(), first_row, |n| overlaps(n) && !is_atomic(n));
    for node in nodes {
        if node.start_position().row > last_row {
            break;
        }
        if !overlaps(node) {
            continue;
        }
        // Pre-order: a call or declaration is seen before the name inside it.
        if let Some(name) = function_name(node) {
            functions.insert(name.id());
        }
        if node.child_count() > 0 && !is_atomic(node) {
            continue;
        }
        let Some(class) = classify(node, &functions) else {
            continue;
        };
        let (start, end) = (node.start_byte(), node.end_byte());
        let rows = node.start_position().row.max(first_row)..=node.end_position().row.min(last_row);
        for row in rows {
            let (line_start, line_end) = file.line_bounds(row);
            let from = start.max(line_start);
            let to = end.min(line_end);
            if let (true, Ok(start), Ok(end)) = (
                from < to,
                u32::try_from(from - line_start),
                u32::try_from(to - line_start),
            ) {
                lines[row - first_row].push(Highlight { start, end, class });
            }
        }
    }
    // Grown by doubling, a line's tokens would take room for up to twice as many.
    for line in &mut lines {
        line.shrink_to_fit();
    }
    lines
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lines::LineNo;

    fn range(a: u32, b: u32) -> LineRange {
        LineRange::new(LineNo::new(a).unwrap(), LineNo::new(b).unwrap()).unwrap()
    }

    /// `(text, class)` of every token of each line.
    fn classes(file: &GoFile, r: LineRange) -> Vec<Vec<(String, &'static str)>> {
        highlight(file, r)
            .into_iter()
            .enumerate()
            .map(|(i, spans)| {
                let text = file.line_text(LineNo::new(r.start().get() + i as u32).unwrap());
                spans
                    .iter()
                    .map(|h| (text[h.span()].to_string(), h.class.as_str()))
                    .collect()
            })
            .collect()
    }

    #[test]
    fn classifies_keywords_calls_strings_numbers_and_comments() {
        let src = "package a\n\nfunc run(cfg Config) error {\n\tif cfg.MTLS == nil { // off\n\t\tlog.Fatalf(\"no <b>%d</b>\", 42)\n\t}\n\treturn nil\n}\n";
        let file = GoFile::parse(src.as_bytes().to_vec()).unwrap();
        let got = classes(&file, range(3, 7));
        let s = |t: &str, c: &'static str| (t.to_string(), c);
        assert_eq!(
            got[0],
            [
                s("func", "keyword"),
                s("run", "function"),
                s("Config", "type"),
                s("error", "type")
            ]
        );
        assert_eq!(
            got[1],
            [
                s("if", "keyword"),
                s("nil", "constant"),
                s("// off", "comment")
            ]
        );
        assert_eq!(
            got[2],
            [
                s("Fatalf", "function"),
                s("\"no <b>%d</b>\"", "string"),
                s("42", "number")
            ]
        );
        assert!(got[3].is_empty());
        assert_eq!(got[4], [s("return", "keyword"), s("nil", "constant")]);
    }

    #[test]
    fn lines_among_many_declarations_are_highlighted_as_on_their_own() {
        let f =
            |i: usize| format!("func f{i}(x int) error {{\n\treturn check(\"{i}\", 0x{i})\n}}\n");
        let mut src = String::from("package a\n\n");
        for i in 0..50 {
            src.push_str(&f(i));
        }
        let alone = GoFile::parse(format!("package a\n\n{}", f(20)).into_bytes()).unwrap();
        let many = GoFile::parse(src.into_bytes()).unwrap();
        // f20 is lines 63-65 among the fifty, 3-5 alone; a range may also begin mid-function.
        assert_eq!(classes(&many, range(63, 65)), classes(&alone, range(3, 5)));
        assert_eq!(classes(&many, range(64, 64)), classes(&alone, range(4, 4)));
        assert_eq!(
            classes(&many, range(64, 64))[0].len(),
            4,
            "return check \"20\" 0x20"
        );
        // A range from the end of f19 into f20 starts in the declaration before.
        let across = classes(&many, range(61, 63));
        assert_eq!(across[0][0], ("return".to_string(), "keyword"));
        assert_eq!(across[2], classes(&alone, range(3, 3))[0]);
    }

    #[test]
    fn a_range_starting_on_a_blank_line_between_declarations_is_highlighted() {
        let src = "package a\n\nfunc f() {\n\treturn\n}\n\n\nfunc g() {\n\treturn\n}\n";
        let file = GoFile::parse(src.as_bytes().to_vec()).unwrap();
        // Lines 6-7 are blank; g is lines 8-10.
        for first in [2, 6, 7] {
            let got = classes(&file, range(first, 10));
            let g = &got[(8 - first) as usize..];
            assert_eq!(
                g[0][0],
                ("func".to_string(), "keyword"),
                "from line {first}"
            );
            assert_eq!(
                g[1][0],
                ("return".to_string(), "keyword"),
                "from line {first}"
            );
        }
    }

    #[test]
    fn splits_multi_line_tokens_and_clips_them_to_the_range() {
        let src = "package a\n\nvar x = `one\ntwo\nthree` /* a\nb */\n";
        let file = GoFile::parse(src.as_bytes().to_vec()).unwrap();
        let got = classes(&file, range(4, 5));
        assert_eq!(got[0], [("two".to_string(), "string")]);
        assert_eq!(
            got[1],
            [
                ("three`".to_string(), "string"),
                ("/* a".to_string(), "comment")
            ]
        );
    }
}
