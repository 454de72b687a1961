//! Identifiers, comments and comment-free source text of a region.

use super::{GoFile, KindName, Placement, nodes_of_kinds, nodes_of_kinds_placed};
use crate::lines::{LineNo, LineRange};

/// An identifier-like token used in code (never inside a comment or string).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IdentifierUse {
    pub name: String,
    /// The grammar kind: `identifier`, `field_identifier`, `type_identifier`, `package_identifier`.
    pub kind: &'static str,
    pub line: LineNo,
}

/// A comment with its text, including the `//` or `/* */` markers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Comment {
    pub text: String,
    pub lines: LineRange,
    /// Its bytes in the file.
    pub bytes: std::ops::Range<usize>,
}

const IDENTIFIER_KINDS: [&str; 4] = [
    "identifier",
    "field_identifier",
    "type_identifier",
    "package_identifier",
];

/// Identifier-like tokens lying inside `region`, in source order.
pub fn identifiers(file: &GoFile, region: LineRange) -> &[IdentifierUse] {
    super::cited(file.cached_identifiers(), region, |i| i.line)
}

/// Walks the tree for the identifiers inside `region`.
pub(crate) fn scan_identifiers(file: &GoFile, region: LineRange) -> Vec<IdentifierUse> {
    nodes_of_kinds(file, region, &IDENTIFIER_KINDS)
        .into_iter()
        .map(|node| IdentifierUse {
            name: file.node_text(node),
            kind: match node.kind_name() {
                "field_identifier" => "field_identifier",
                "type_identifier" => "type_identifier",
                "package_identifier" => "package_identifier",
                _ => "identifier",
            },
            line: file.node_lines(node).start(),
        })
        .collect()
}

/// Comments overlapping `region` (a block comment may start before it), in source order.
/// Comments neither nest nor overlap, so both their starts and ends are sorted.
pub fn comments(file: &GoFile, region: LineRange) -> &[Comment] {
    let all = file.cached_comments();
    let from = all.partition_point(|c| c.lines.end() < region.start());
    let to = all.partition_point(|c| c.lines.start() <= region.end());
    &all[from..to.max(from)]
}

/// Walks the tree for the comments overlapping `region`.
pub(crate) fn scan_comments(file: &GoFile, region: LineRange) -> Vec<Comment> {
    nodes_of_kinds_placed(file, region, &["comment"], Placement::Overlapping)
        .into_iter()
        .map(|node| Comment {
            text: file.node_text(node),
            lines: file.node_lines(node),
            bytes: node.byte_range(),
        })
        .collect()
}

/// The source of a region with every comment byte replaced by a space; newlines are kept so
/// offsets still map to the right lines.
#[derive(Clone, Debug)]
pub struct CodeText {
    pub text: String,
    pub first_line: LineNo,
    /// Byte offsets of the newlines in `text`, so mapping many matches to lines stays linear.
    newlines: Vec<usize>,
}

impl CodeText {
    /// The line holding byte `offset` of `text`.
    pub fn line_at(&self, offset: usize) -> LineNo {
        let end = offset.min(self.text.len());
        let newlines = self.newlines.partition_point(|&n| n < end);
        LineNo::from_zero_based(self.first_line.zero_based() + newlines)
    }
}

/// The region's source without comments.
pub fn code_text(file: &GoFile, region: LineRange) -> CodeText {
    let bytes = file.byte_range(region);
    let mut text = file.source()[bytes.clone()].to_vec();
    // From the file's comments found once, so each of many regions (relocation search's
    // windows) costs its own size, not a walk past the file's other declarations.
    for comment in comments(file, region) {
        let start = comment.bytes.start.max(bytes.start) - bytes.start;
        let end = comment.bytes.end.min(bytes.end).saturating_sub(bytes.start);
        for b in text.iter_mut().take(end).skip(start) {
            if *b != b'\n' && *b != b'\r' {
                *b = b' ';
            }
        }
    }
    let text = String::from_utf8_lossy(&text).into_owned();
    let newlines = memchr::memchr_iter(b'\n', text.as_bytes()).collect();
    CodeText {
        text,
        newlines,
        first_line: region.start(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn code_text_blanks_comments_but_keeps_lines() {
        let src = "package a\n/* one\ntwo */ var x = 1 // tail\nvar y = \"// not a comment\"\n";
        let file = GoFile::parse(src.as_bytes().to_vec()).unwrap();
        let code = code_text(&file, file.full_range().unwrap());
        assert_eq!(code.text.lines().count(), 4);
        assert!(!code.text.contains("one") && !code.text.contains("tail"));
        assert!(code.text.contains("\"// not a comment\""));
        let at = code.text.find("var y").unwrap();
        assert_eq!(code.line_at(at).get(), 4);
    }
}

/// A token of code: a leaf of the syntax tree that is not a comment, with its line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CodeToken {
    pub text: String,
    pub line: LineNo,
}

/// The tokens of the code whose first byte lies on a line of `region`, in source order:
/// every leaf of the tree (a string or rune literal whole) except comments and statement
/// terminators (a `;` or the newline Go reads as one), so that reformatting, re-wrapping and
/// comment edits leave the list as it was.
pub fn code_tokens(file: &GoFile, region: LineRange) -> Vec<CodeToken> {
    let mut tokens = Vec::new();
    let bytes = file.byte_range(region);
    let mut cursor = file.root().walk();
    'walk: loop {
        let node = cursor.node();
        let overlaps = node.start_byte() < bytes.end && node.end_byte() > bytes.start
            || node.start_byte() == bytes.start;
        let descend = overlaps && node.kind() != "comment";
        // A literal is one token, quotes and all: its text is its value.
        let whole = matches!(
            node.kind(),
            "interpreted_string_literal" | "raw_string_literal" | "rune_literal"
        );
        if descend && (whole || node.child_count() == 0) {
            if node.start_byte() >= bytes.start && node.start_byte() < bytes.end {
                let text = file.node_text(node);
                let trimmed = text.trim();
                if !trimmed.is_empty() && trimmed != ";" {
                    tokens.push(CodeToken {
                        text,
                        line: file.node_lines(node).start(),
                    });
                }
            }
        } else if descend && cursor.goto_first_child() {
            continue;
        }
        while !cursor.goto_next_sibling() {
            if !cursor.goto_parent() {
                break 'walk;
            }
        }
    }
    tokens
}
